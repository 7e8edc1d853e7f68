//! Elastic Load Balancing v2: application load balancers, target groups, listeners, rules.

use std::collections::BTreeMap;

use super::common::{LOAD_BALANCER_NAME, PORT, TAGS, TARGET_GROUP_NAME};
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

// ---------------------------------------------------------------- load balancer

pub static LOAD_BALANCER: ResourceSchema = ResourceSchema {
    title: "application load balancer",
    doc: "An application load balancer. Its `arn-suffix` is what CloudWatch dimensions take, its `dns-name` and `zone-id` what Route53 aliases take.",
    rules_doc: "",
    body: &LOAD_BALANCER_BODY,
    computed: &[
        Computed::new("arn", Type::String, "The load balancer's ARN."),
        Computed::new(
            "arn-suffix",
            Type::String,
            "`app/<name>/<id>`, the CloudWatch dimension.",
        ),
        Computed::new("dns-name", Type::String, "The DNS name AWS assigns."),
        Computed::new(
            "zone-id",
            Type::String,
            "The canonical hosted zone id, for aliases.",
        ),
    ],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 80,
};

static LOAD_BALANCER_BODY: BlockSchema = BlockSchema::new(
    "load-balancer",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[LOAD_BALANCER_NAME])
            .doc("The load balancer name (natural key)."),
        Attr::string("scheme")
            .default(Default::Str("internet-facing"))
            .force_new()
            .checks(&[Check::OneOf(&["internet-facing", "internal"])])
            .doc("Reachable from the internet, or only from inside the VPC."),
        Attr::string("ip-address-type")
            .default(Default::Str("ipv4"))
            .checks(&[Check::OneOf(&[
                "ipv4",
                "dualstack",
                "dualstack-without-public-ipv4",
            ])])
            .doc(
                "IPv4 only, IPv4 and IPv6 (`dualstack`), or IPv6 only from the internet \
                 (`dualstack-without-public-ipv4`).",
            ),
        Attr::strings("subnets")
            .required()
            .checks(&[Check::Count(2, 200)])
            .refs(&[RefTo::new(Kind::LookupSubnets, "ids")])
            .doc("At least two subnets in different availability zones."),
        Attr::strings("security-groups")
            .checks(&[Check::Count(0, 5)])
            .refs(&[
                RefTo::new(Kind::LookupSecurityGroups, "ids"),
                RefTo::new(Kind::SecurityGroup, "id"),
            ])
            .doc("Security groups of the load balancer."),
        Attr::int("idle-timeout")
            .default(Default::Int(60))
            .checks(&[Check::Range(1, 4000)])
            .doc("Seconds a connection may stay idle."),
        Attr::bool("deletion-protection")
            .default(Default::Bool(false))
            .doc("While it is on, AWS refuses to delete the load balancer."),
        Attr::bool("http2")
            .default(Default::Bool(true))
            .doc("Accepts HTTP/2 from clients."),
        Attr::bool("drop-invalid-header-fields")
            .default(Default::Bool(false))
            .doc("Drops HTTP headers whose names are not valid."),
        TAGS,
    ],
);

// ---------------------------------------------------------------- target group

pub static TARGET_GROUP: ResourceSchema = ResourceSchema {
    title: "target group",
    doc: "A target group. Fargate services register by IP, so they need `target-type \"ip\"`. A change to a force-new attribute creates the new target group (under an alternate AWS name) before the old one is deleted.",
    rules_doc: "the health check's `timeout` (written or AWS's default) must be shorter than its `interval`; health checks stay enabled; `matcher` lists HTTP codes 200–499, or gRPC codes 0–99 when `protocol-version` is `GRPC`.",
    body: &TARGET_GROUP_BODY,
    computed: &[
        Computed::new("arn", Type::String, "The target group's ARN."),
        Computed::new(
            "arn-suffix",
            Type::String,
            "`targetgroup/<name>/<id>`, for CloudWatch.",
        ),
    ],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 70,
};

static TARGET_GROUP_BODY: BlockSchema = BlockSchema::new(
    "target-group",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[TARGET_GROUP_NAME])
            .doc("The target group name (natural key)."),
        Attr::string("protocol")
            .default(Default::Str("HTTP"))
            .force_new()
            .checks(&[Check::OneOf(&["HTTP", "HTTPS"])])
            .doc("The protocol to the targets."),
        Attr::int("port")
            .required()
            .force_new()
            .checks(PORT)
            .doc("The port the targets receive traffic on."),
        Attr::string("vpc")
            .required()
            .force_new()
            .refs(&[RefTo::new(Kind::LookupVpc, "id")])
            .doc("The VPC id."),
        Attr::string("target-type")
            .default(Default::Str("instance"))
            .force_new()
            .checks(&[Check::Custom(target_type, "`ip` or `instance`")])
            .doc(
                "Fargate services need `ip`. infra cannot register Lambda or load balancer \
                 targets, so `lambda` and `alb` are refused.",
            ),
        Attr::string("protocol-version")
            .default(Default::Str("HTTP1"))
            .force_new()
            .checks(&[Check::OneOf(&["HTTP1", "HTTP2", "GRPC"])])
            .doc("The HTTP version to the targets."),
        Attr::block("health-check", &TARGET_HEALTH_CHECK)
            .doc("How the load balancer checks its targets."),
        Attr::int("deregistration-delay")
            .default(Default::Int(300))
            .checks(&[Check::Range(0, 3600)])
            .doc("Seconds in-flight requests may take to finish before a target is removed."),
        Attr::int("slow-start")
            .default(Default::Int(0))
            .checks(&[Check::Custom(slow_start, "0 or 30–900")])
            .doc("Seconds over which a new target's share of the traffic ramps up; 0 is off."),
        TAGS,
    ],
)
.expand(health_check_defaults);

/// Infra registers targets through ECS services (instances or IP addresses); it has no way
/// to name a Lambda function or a load balancer as a target.
fn target_type(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        None | Some("ip" | "instance") => Ok(()),
        Some(t @ ("lambda" | "alb")) => Err((
            format!("infra cannot manage the targets of a `{t}` target group"),
            "use \"ip\" for ECS services on awsvpc (Fargate) or \"instance\" for EC2".into(),
        )),
        Some(t) => Err((
            format!("\"{t}\" is not a target type"),
            "use \"ip\" or \"instance\"".into(),
        )),
    }
}

/// What AWS uses for an omitted health check setting of an ALB target group, which depends
/// on the target group's protocol and protocol version (CreateTargetGroup): so that omitting
/// a setting equals writing AWS's default, the health check is filled in here.
fn health_check_defaults(body: &mut BTreeMap<String, Value>) {
    let https = body.get("protocol").and_then(Value::as_str) == Some("HTTPS");
    let grpc = body.get("protocol-version").and_then(Value::as_str) == Some("GRPC");
    let defaults = [
        ("timeout", Value::Int(if https { 10 } else { 6 })),
        (
            "path",
            Value::String(if grpc { "/AWS.ALB/healthcheck" } else { "/" }.into()),
        ),
        (
            "matcher",
            Value::String(if grpc { "12" } else { "200" }.into()),
        ),
    ];
    let Value::Map(hc) = body
        .entry("health-check".to_string())
        .or_insert_with(|| Value::Map(BTreeMap::new()))
    else {
        return;
    };
    for (k, v) in defaults {
        hc.entry(k.to_string()).or_insert(v);
    }
    for attr in TARGET_HEALTH_CHECK.attrs {
        if let (Some(d), false) = (attr.default, hc.contains_key(attr.name)) {
            hc.insert(attr.name.to_string(), d.to_value());
        }
    }
}

fn slow_start(value: &Value) -> Result<(), (String, String)> {
    match value.as_int() {
        Some(v) if v != 0 && !(30..=900).contains(&v) => Err((
            format!("{v} is not a valid slow start duration"),
            "slow start is 0 (off) or 30 to 900 seconds".into(),
        )),
        _ => Ok(()),
    }
}

static TARGET_HEALTH_CHECK: BlockSchema = BlockSchema::new(
    "health-check",
    &[
        Attr::bool("enabled").default(Default::Bool(true)).doc(
            "Whether health checks run; only Lambda target groups may disable them, so \
                 `#false` is refused.",
        ),
        Attr::string("path")
            .checks(&[Check::Length(1, 1024)])
            .doc("The path requested: \"/\", or \"/AWS.ALB/healthcheck\" for gRPC, when omitted."),
        Attr::string("protocol")
            .default(Default::Str("HTTP"))
            .checks(&[Check::OneOf(&["HTTP", "HTTPS"])])
            .doc("The protocol of the check."),
        Attr::string("port")
            .default(Default::Str("traffic-port"))
            .doc("The port checked; `traffic-port` is the port each target receives traffic on."),
        Attr::int("interval")
            .default(Default::Int(30))
            .checks(&[Check::Range(5, 300)])
            .doc("Seconds between checks of one target."),
        Attr::int("timeout").checks(&[Check::Range(2, 120)]).doc(
            "Seconds without an answer before a check fails: 6 for HTTP and 10 for HTTPS \
                 target groups when omitted.",
        ),
        Attr::int("healthy-threshold")
            .default(Default::Int(5))
            .checks(&[Check::Range(2, 10)])
            .doc("Successful checks in a row before a target is healthy."),
        Attr::int("unhealthy-threshold")
            .default(Default::Int(2))
            .checks(&[Check::Range(2, 10)])
            .doc("Failed checks in a row before a target is unhealthy."),
        Attr::string("matcher").doc(
            "HTTP codes 200–499: \"200\", \"200,204\" or \"200-399\" (\"200\" when omitted); \
             gRPC codes 0–99 for a gRPC target group (\"12\" when omitted).",
        ),
    ],
)
.rules(&[Rule::Custom(timeout_below_interval)]);

fn timeout_below_interval(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let interval = body.get("interval").and_then(Value::as_int)?;
    let timeout = body.get("timeout").and_then(Value::as_int)?;
    (timeout >= interval).then(|| Violation {
        attribute: "timeout",
        message: format!(
            "health check timeout {timeout}s is not shorter than its interval {interval}s"
        ),
        help: "the timeout must be less than the interval".into(),
    })
}

// ---------------------------------------------------------------- actions (listeners, rules)

const TO_TARGET_GROUP: &[RefTo] = &[RefTo::new(Kind::TargetGroup, "arn")];

static FORWARD: BlockSchema = BlockSchema::new(
    "forward",
    &[
        Attr::string("target-group")
            .refs(TO_TARGET_GROUP)
            .doc("The target group's ARN (usually a reference)."),
        Attr::blocks("target", &WEIGHTED_TARGET)
            .checks(&[Check::Count(1, 5)])
            .doc("Target groups sharing the traffic by weight, one block per target group."),
        Attr::int("stickiness")
            .checks(&[Check::Range(1, 604_800)])
            .doc("Group stickiness duration in seconds."),
    ],
)
.label("target-group")
.rules(&[Rule::ExactlyOneOf(&["target-group", "target"])]);

static WEIGHTED_TARGET: BlockSchema = BlockSchema::new(
    "target",
    &[
        Attr::string("target-group")
            .required()
            .refs(TO_TARGET_GROUP)
            .doc("The target group's ARN (usually a reference)."),
        Attr::int("weight")
            .default(Default::Int(1))
            .checks(&[Check::Range(0, 999)])
            .doc("Its share of the traffic, relative to the other targets."),
    ],
)
.label("target-group");

static REDIRECT: BlockSchema = BlockSchema::new(
    "redirect",
    &[
        Attr::string("protocol")
            .default(Default::Str("#{protocol}"))
            .checks(&[Check::OneOf(&["HTTP", "HTTPS", "#{protocol}"])])
            .doc("The protocol of the new URL; `#{protocol}` keeps the request's."),
        Attr::string("port")
            .default(Default::Str("#{port}"))
            .doc("The port of the new URL; `#{port}` keeps the request's."),
        Attr::string("host")
            .default(Default::Str("#{host}"))
            .doc("The host of the new URL; `#{host}` keeps the request's."),
        Attr::string("path")
            .default(Default::Str("/#{path}"))
            .doc("The path of the new URL; the default keeps the request's."),
        Attr::string("query")
            .default(Default::Str("#{query}"))
            .doc("The query of the new URL; `#{query}` keeps the request's."),
        Attr::string("status-code")
            .required()
            .checks(&[Check::OneOf(&["HTTP_301", "HTTP_302"])])
            .doc("Permanent (301) or temporary (302)."),
    ],
)
.rules(&[Rule::Custom(redirect_loop)]);

/// A redirect that keeps every part of the request sends the client back where it was.
fn redirect_loop(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let unchanged = [
        ("protocol", "#{protocol}"),
        ("port", "#{port}"),
        ("host", "#{host}"),
        ("path", "/#{path}"),
        ("query", "#{query}"),
    ]
    .iter()
    .all(|(k, original)| {
        body.get(*k)
            .and_then(Value::as_str)
            .is_none_or(|v| v == *original)
    });
    unchanged.then(|| Violation {
        attribute: "status-code",
        message: "this redirect sends every request back to itself".into(),
        help: "change at least one of protocol, port, host, path or query, e.g. \
               `protocol \"HTTPS\" port \"443\"`"
            .into(),
    })
}

static FIXED_RESPONSE: BlockSchema = BlockSchema::new(
    "fixed-response",
    &[
        Attr::int("status-code")
            .required()
            .checks(&[FIXED_RESPONSE_STATUS])
            .doc("The HTTP status code answered."),
        Attr::string("content-type")
            .checks(&[Check::OneOf(&[
                "text/plain",
                "text/css",
                "text/html",
                "application/javascript",
                "application/json",
            ])])
            .doc("The content type of the body."),
        Attr::string("body")
            .checks(&[Check::Length(0, 1024)])
            .doc("The response body."),
    ],
);

/// The status codes a fixed response may send.
const FIXED_RESPONSE_STATUS: Check = Check::Custom(fixed_response_status, "2XX, 4XX or 5XX");

/// Fixed responses answer 2XX, 4XX or 5XX (FixedResponseActionStatusCode: `^(2|4|5)\d\d$`).
fn fixed_response_status(value: &Value) -> Result<(), (String, String)> {
    match value.as_int() {
        Some(code) if !(200..600).contains(&code) || (300..400).contains(&code) => Err((
            format!("{code} is not a status code a fixed response can send"),
            "fixed responses send 2XX, 4XX or 5XX codes; to send 301 or 302 use `redirect`".into(),
        )),
        _ => Ok(()),
    }
}

const FORWARD_ATTR: Attr =
    Attr::block("forward", &FORWARD).doc("Forwards to one target group, or to several by weight.");
const REDIRECT_ATTR: Attr = Attr::block("redirect", &REDIRECT).doc("Redirects to another URL.");
const FIXED_RESPONSE_ATTR: Attr =
    Attr::block("fixed-response", &FIXED_RESPONSE).doc("Answers with a fixed response.");
const ONE_ACTION: Rule = Rule::ExactlyOneOf(&["forward", "redirect", "fixed-response"]);

// ---------------------------------------------------------------- listener

pub static LISTENER: ResourceSchema = ResourceSchema {
    title: "listener",
    doc: "A load balancer listener with one default action: exactly one of `forward`, `redirect` or `fixed-response`.",
    rules_doc: "an HTTPS listener needs `certificate`; `certificate` and `ssl-policy` are only for HTTPS. `forward` takes exactly one of a `target-group` (its label) or weighted `target` blocks; a `redirect` changes at least one of `protocol`, `port`, `host`, `path` and `query`.",
    body: &LISTENER_BODY,
    computed: &[Computed::new("arn", Type::String, "The listener's ARN.")],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["load-balancer", "port"],
    delete_phase: 40,
};

static LISTENER_BODY: BlockSchema = BlockSchema::new(
    "listener",
    &[
        Attr::string("load-balancer")
            .required()
            .force_new()
            .refs(&[RefTo::new(Kind::LoadBalancer, "arn")])
            .doc("The load balancer's ARN (usually a reference)."),
        Attr::int("port")
            .required()
            .force_new()
            .checks(PORT)
            .doc("The port the listener accepts connections on."),
        Attr::string("protocol")
            .required()
            .checks(&[Check::OneOf(&["HTTP", "HTTPS"])])
            .doc("HTTP, or HTTPS with a certificate."),
        Attr::string("certificate")
            .refs(&[
                RefTo::new(Kind::Certificate, "arn"),
                RefTo::new(Kind::LookupCertificate, "arn"),
            ])
            .doc(
                "ACM certificate ARN, required for HTTPS: a reference to a certificate of the \
                 stack or to a certificate look-up.",
            ),
        Attr::string("ssl-policy")
            .unmanaged_when_omitted()
            .doc(
                "The TLS security policy. When omitted, AWS chooses (`ELBSecurityPolicy-2016-08` through the API, a TLS 1.3 policy in the console) and infra never changes it: an adopted listener keeps its policy.",
            ),
        FORWARD_ATTR,
        REDIRECT_ATTR,
        FIXED_RESPONSE_ATTR,
        TAGS,
    ],
)
.rules(&[ONE_ACTION, Rule::Custom(https_needs_certificate)]);

fn https_needs_certificate(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let https = body.get("protocol").and_then(Value::as_str) == Some("HTTPS");
    if https && !body.contains_key("certificate") {
        return Some(Violation {
            attribute: "protocol",
            message: "an HTTPS listener needs a certificate".into(),
            help: "add `certificate (ref)\"certificate.<name>\"` (a certificate of the stack) or \
                   `certificate (ref)\"lookup.certificate.<name>\"` (one that exists)"
                .into(),
        });
    }
    if !https && (body.contains_key("certificate") || body.contains_key("ssl-policy")) {
        return Some(Violation {
            attribute: if body.contains_key("certificate") {
                "certificate"
            } else {
                "ssl-policy"
            },
            message: "certificates and TLS policies apply only to HTTPS listeners".into(),
            help: "remove it, or set `protocol \"HTTPS\"`".into(),
        });
    }
    None
}

// ---------------------------------------------------------------- listener rule

pub static LISTENER_RULE: ResourceSchema = ResourceSchema {
    title: "listener rule",
    doc: "A rule on a listener: conditions (`host-header`, `path-pattern`; at least one, at most five values in all) and exactly one action, as for a listener.",
    rules_doc: "at least one of `host-header` and `path-pattern`, with at most five values in all; exactly one of `forward`, `redirect` and `fixed-response`; a `redirect` changes at least one of `protocol`, `port`, `host`, `path` and `query`. A rule at the same priority that no stack owns is a plan error.",
    body: &LISTENER_RULE_BODY,
    computed: &[Computed::new("arn", Type::String, "The rule's ARN.")],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["listener", "priority"],
    delete_phase: 30,
};

static LISTENER_RULE_BODY: BlockSchema = BlockSchema::new(
    "listener-rule",
    &[
        Attr::string("listener")
            .required()
            .force_new()
            .refs(&[RefTo::new(Kind::Listener, "arn")])
            .doc("The listener's ARN (usually a reference)."),
        Attr::int("priority")
            .required()
            .checks(&[Check::Range(1, 50_000)])
            .doc("Rules are evaluated from the lowest priority up; unique per listener."),
        Attr::strings("host-header")
            .checks(&[
                Check::Count(1, 5),
                Check::Custom(condition_values, "each ≤ 128 characters"),
            ])
            .doc("Host names the rule matches (`*` and `?` are wildcards)."),
        Attr::strings("path-pattern")
            .checks(&[
                Check::Count(1, 5),
                Check::Custom(condition_values, "each ≤ 128 characters"),
            ])
            .doc("Paths the rule matches (`*` and `?` are wildcards)."),
        FORWARD_ATTR,
        REDIRECT_ATTR,
        FIXED_RESPONSE_ATTR,
        TAGS,
    ],
)
.rules(&[
    ONE_ACTION,
    Rule::AtLeastOneOf(&["host-header", "path-pattern"]),
    Rule::Custom(five_condition_values),
]);

fn condition_values(value: &Value) -> Result<(), (String, String)> {
    for v in value.as_list().unwrap_or_default() {
        if let Some(s) = v.as_str()
            && s.chars().count() > 128
        {
            return Err((
                format!("condition value `{s}` is longer than 128 characters"),
                "host-header and path-pattern values are at most 128 characters".into(),
            ));
        }
    }
    Ok(())
}

fn five_condition_values(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let count = |k: &str| {
        body.get(k)
            .and_then(Value::as_list)
            .map_or(0, <[Value]>::len)
    };
    let total = count("host-header") + count("path-pattern");
    (total > 5).then(|| Violation {
        attribute: "path-pattern",
        message: format!("this rule has {total} condition values; a rule takes at most 5"),
        help: "split the rule into several rules with their own priorities".into(),
    })
}
