//! Elastic Load Balancing v2: application load balancers, target groups, listeners, rules.

use std::collections::BTreeMap;

use super::common::{PORT, TAGS, load_balancer_name, target_group_name};
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

// ---------------------------------------------------------------- load balancer

pub static LOAD_BALANCER: ResourceSchema = ResourceSchema {
    title: "application load balancer",
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
            .checks(&[Check::Custom(load_balancer_name)]),
        Attr::string("scheme")
            .default(Default::Str("internet-facing"))
            .force_new()
            .checks(&[Check::OneOf(&["internet-facing", "internal"])]),
        Attr::string("ip-address-type")
            .default(Default::Str("ipv4"))
            .checks(&[Check::OneOf(&[
                "ipv4",
                "dualstack",
                "dualstack-without-public-ipv4",
            ])]),
        Attr::strings("subnets")
            .required()
            .checks(&[Check::Count(2, 200)])
            .refs(&[RefTo::new(Kind::LookupSubnets, "ids")])
            .doc("At least two subnets in different availability zones."),
        Attr::strings("security-groups")
            .checks(&[Check::Count(0, 5)])
            .refs(&[RefTo::new(Kind::LookupSecurityGroups, "ids")]),
        Attr::int("idle-timeout")
            .default(Default::Int(60))
            .checks(&[Check::Range(1, 4000)]),
        Attr::bool("deletion-protection").default(Default::Bool(false)),
        Attr::bool("http2").default(Default::Bool(true)),
        Attr::bool("drop-invalid-header-fields").default(Default::Bool(false)),
        TAGS,
    ],
);

// ---------------------------------------------------------------- target group

pub static TARGET_GROUP: ResourceSchema = ResourceSchema {
    title: "target group",
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
            .checks(&[Check::Custom(target_group_name)]),
        Attr::string("protocol")
            .default(Default::Str("HTTP"))
            .force_new()
            .checks(&[Check::OneOf(&["HTTP", "HTTPS"])]),
        Attr::int("port").required().force_new().checks(PORT),
        Attr::string("vpc")
            .required()
            .force_new()
            .refs(&[RefTo::new(Kind::LookupVpc, "id")])
            .doc("The VPC id."),
        Attr::string("target-type")
            .default(Default::Str("instance"))
            .force_new()
            .checks(&[Check::Custom(target_type)])
            .doc("Fargate services need `ip`."),
        Attr::string("protocol-version")
            .default(Default::Str("HTTP1"))
            .force_new()
            .checks(&[Check::OneOf(&["HTTP1", "HTTP2", "GRPC"])]),
        Attr::block("health-check", &TARGET_HEALTH_CHECK),
        Attr::int("deregistration-delay")
            .default(Default::Int(300))
            .checks(&[Check::Range(0, 3600)]),
        Attr::int("slow-start")
            .default(Default::Int(0))
            .checks(&[Check::Custom(slow_start)]),
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
        Attr::bool("enabled").default(Default::Bool(true)),
        Attr::string("path")
            .checks(&[Check::Length(1, 1024)])
            .doc("\"/\", or \"/AWS.ALB/healthcheck\" for gRPC, when omitted."),
        Attr::string("protocol")
            .default(Default::Str("HTTP"))
            .checks(&[Check::OneOf(&["HTTP", "HTTPS"])]),
        Attr::string("port").default(Default::Str("traffic-port")),
        Attr::int("interval")
            .default(Default::Int(30))
            .checks(&[Check::Range(5, 300)]),
        Attr::int("timeout")
            .checks(&[Check::Range(2, 120)])
            .doc("6 s for HTTP and 10 s for HTTPS target groups when omitted."),
        Attr::int("healthy-threshold")
            .default(Default::Int(5))
            .checks(&[Check::Range(2, 10)]),
        Attr::int("unhealthy-threshold")
            .default(Default::Int(2))
            .checks(&[Check::Range(2, 10)]),
        Attr::string("matcher").doc(
            "HTTP codes: \"200\", \"200,204\" or \"200-399\" (gRPC codes, \"12\" when omitted).",
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
        Attr::string("target-group").refs(TO_TARGET_GROUP),
        Attr::blocks("target", &WEIGHTED_TARGET).checks(&[Check::Count(1, 5)]),
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
            .refs(TO_TARGET_GROUP),
        Attr::int("weight")
            .default(Default::Int(1))
            .checks(&[Check::Range(0, 999)]),
    ],
)
.label("target-group");

static REDIRECT: BlockSchema = BlockSchema::new(
    "redirect",
    &[
        Attr::string("protocol")
            .default(Default::Str("#{protocol}"))
            .checks(&[Check::OneOf(&["HTTP", "HTTPS", "#{protocol}"])]),
        Attr::string("port").default(Default::Str("#{port}")),
        Attr::string("host").default(Default::Str("#{host}")),
        Attr::string("path").default(Default::Str("/#{path}")),
        Attr::string("query").default(Default::Str("#{query}")),
        Attr::string("status-code")
            .required()
            .checks(&[Check::OneOf(&["HTTP_301", "HTTP_302"])]),
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
            .checks(&[Check::Custom(fixed_response_status)]),
        Attr::string("content-type").checks(&[Check::OneOf(&[
            "text/plain",
            "text/css",
            "text/html",
            "application/javascript",
            "application/json",
        ])]),
        Attr::string("body").checks(&[Check::Length(0, 1024)]),
    ],
);

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

const FORWARD_ATTR: Attr = Attr::block("forward", &FORWARD);
const REDIRECT_ATTR: Attr = Attr::block("redirect", &REDIRECT);
const FIXED_RESPONSE_ATTR: Attr = Attr::block("fixed-response", &FIXED_RESPONSE);
const ONE_ACTION: Rule = Rule::ExactlyOneOf(&["forward", "redirect", "fixed-response"]);

// ---------------------------------------------------------------- listener

pub static LISTENER: ResourceSchema = ResourceSchema {
    title: "listener",
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
            .refs(&[RefTo::new(Kind::LoadBalancer, "arn")]),
        Attr::int("port").required().force_new().checks(PORT),
        Attr::string("protocol")
            .required()
            .checks(&[Check::OneOf(&["HTTP", "HTTPS"])]),
        Attr::string("certificate")
            .refs(&[RefTo::new(Kind::LookupCertificate, "arn")])
            .doc("ACM certificate ARN; required for HTTPS."),
        Attr::string("ssl-policy"),
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
            .refs(&[RefTo::new(Kind::Listener, "arn")]),
        Attr::int("priority")
            .required()
            .checks(&[Check::Range(1, 50_000)]),
        Attr::strings("host-header").checks(&[Check::Count(1, 5), Check::Custom(condition_values)]),
        Attr::strings("path-pattern")
            .checks(&[Check::Count(1, 5), Check::Custom(condition_values)]),
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
