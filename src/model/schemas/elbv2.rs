//! Elastic Load Balancing v2: application load balancers, target groups, listeners, rules.

use std::collections::BTreeMap;

use super::common::{ELB_NAME, PORT, TAGS};
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, ResourceSchema, Rule, Type, Violation,
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
};

static LOAD_BALANCER_BODY: BlockSchema = BlockSchema::new(
    "load-balancer",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[ELB_NAME])
            .doc("The load balancer name (natural key)."),
        Attr::string("scheme")
            .default(Default::Str("internet-facing"))
            .force_new()
            .checks(&[Check::OneOf(&["internet-facing", "internal"])])
            .doc("Reachable from the internet, or only from inside the VPC."),
        Attr::string("ip-address-type")
            .default(Default::Str("ipv4"))
            .checks(&[Check::OneOf(&["ipv4", "dualstack"])])
            .doc("IPv4 only, or IPv4 and IPv6."),
        Attr::strings("subnets")
            .required()
            .checks(&[Check::Count(2, 200)])
            .doc("At least two subnets in different availability zones."),
        Attr::strings("security-groups")
            .checks(&[Check::Count(0, 5)])
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
    rules_doc: "the health check's `timeout` must be shorter than its `interval`.",
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
};

static TARGET_GROUP_BODY: BlockSchema = BlockSchema::new(
    "target-group",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[ELB_NAME])
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
            .doc("The VPC id."),
        Attr::string("target-type")
            .default(Default::Str("instance"))
            .force_new()
            .checks(&[Check::OneOf(&["ip", "instance", "lambda", "alb"])])
            .doc("Fargate services need `ip`."),
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
);

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
        Attr::bool("enabled")
            .default(Default::Bool(true))
            .doc("Whether health checks run."),
        Attr::string("path")
            .default(Default::Str("/"))
            .checks(&[Check::Length(1, 1024)])
            .doc("The path requested."),
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
        Attr::int("timeout")
            .default(Default::Int(5))
            .checks(&[Check::Range(2, 120)])
            .doc("Seconds without an answer before a check fails."),
        Attr::int("healthy-threshold")
            .default(Default::Int(5))
            .checks(&[Check::Range(2, 10)])
            .doc("Successful checks in a row before a target is healthy."),
        Attr::int("unhealthy-threshold")
            .default(Default::Int(2))
            .checks(&[Check::Range(2, 10)])
            .doc("Failed checks in a row before a target is unhealthy."),
        Attr::string("matcher")
            .default(Default::Str("200"))
            .doc("HTTP codes: \"200\", \"200,204\" or \"200-399\"."),
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

static FORWARD: BlockSchema = BlockSchema::new(
    "forward",
    &[
        Attr::string("target-group").doc("The target group's ARN (usually a reference)."),
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
);

static FIXED_RESPONSE: BlockSchema = BlockSchema::new(
    "fixed-response",
    &[
        Attr::int("status-code")
            .required()
            .checks(&[Check::Range(200, 599)])
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
    rules_doc: "an HTTPS listener needs `certificate`; `certificate` and `ssl-policy` are only for HTTPS. `forward` takes exactly one of a `target-group` (its label) or weighted `target` blocks.",
    body: &LISTENER_BODY,
    computed: &[Computed::new("arn", Type::String, "The listener's ARN.")],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["load-balancer", "port"],
};

static LISTENER_BODY: BlockSchema = BlockSchema::new(
    "listener",
    &[
        Attr::string("load-balancer")
            .required()
            .force_new()
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
        Attr::string("certificate").doc("ACM certificate ARN; required for HTTPS."),
        Attr::string("ssl-policy")
            .doc("The TLS security policy; AWS's default policy when omitted."),
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
            help: "add `certificate (ref)\"lookup.certificate.<name>\"`".into(),
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
    rules_doc: "at least one of `host-header` and `path-pattern`, with at most five values in all; exactly one of `forward`, `redirect` and `fixed-response`. A rule at the same priority that no stack owns is a plan error.",
    body: &LISTENER_RULE_BODY,
    computed: &[Computed::new("arn", Type::String, "The rule's ARN.")],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["listener", "priority"],
};

static LISTENER_RULE_BODY: BlockSchema = BlockSchema::new(
    "listener-rule",
    &[
        Attr::string("listener")
            .required()
            .force_new()
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
