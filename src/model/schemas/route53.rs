//! Route53 records. Records carry no tags: ownership lives in a companion TXT record.

use std::collections::BTreeMap;

use super::common::DNS_NAME;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::{RefTarget, Reference, Value};

pub static RECORD: ResourceSchema = ResourceSchema {
    title: "Route53 record",
    doc: "A Route53 record: either `values` (with an optional `ttl`, 300 seconds when omitted) or an `alias`. Records carry no tags: infra keeps ownership in a companion TXT record.",
    rules_doc: "exactly one of `values` and `alias`; `weight` and `set-identifier` go together; an alias has no `ttl`; a `CNAME` has one value. In an `alias`, `alias (ref)\"load-balancer.<name>\"` is shorthand for that load balancer's `dns-name` and `zone-id`; otherwise give `dns-name` and `zone-id`.",
    body: &RECORD_BODY,
    computed: &[Computed::new(
        "fqdn",
        Type::String,
        "The record's fully qualified name.",
    )],
    default_attribute: "name",
    taggable: false,
    natural_key: &["zone", "name", "type", "set-identifier"],
};

static RECORD_BODY: BlockSchema = BlockSchema::new(
    "record",
    &[
        Attr::string("zone")
            .required()
            .force_new()
            .doc("Hosted zone id (usually a look-up)."),
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[DNS_NAME])
            .doc("The record's DNS name."),
        Attr::string("type")
            .required()
            .force_new()
            .checks(&[Check::OneOf(&[
                "A", "AAAA", "CNAME", "TXT", "MX", "NS", "SRV", "CAA", "PTR", "SPF", "DS",
            ])])
            .doc("The record type."),
        Attr::int("ttl")
            .checks(&[Check::Range(0, 2_147_483_647)])
            .doc("Seconds resolvers may cache the answer; 300 when `values` are given without it."),
        Attr::strings("values")
            .checks(&[Check::Count(1, 100)])
            .doc("The record's values, one argument each."),
        Attr::block("alias", &ALIAS)
            .doc("Points the record at a load balancer (or another AWS target) instead of values."),
        Attr::int("weight")
            .checks(&[Check::Range(0, 255)])
            .doc("Share of the answers among weighted records of the same name and type."),
        Attr::string("set-identifier")
            .force_new()
            .checks(&[Check::Length(1, 128)])
            .doc("Tells weighted records of the same name and type apart."),
    ],
)
.rules(&[
    Rule::ExactlyOneOf(&["values", "alias"]),
    Rule::Requires("weight", &["set-identifier"]),
    Rule::Requires("set-identifier", &["weight"]),
    Rule::Custom(ttl_rules),
]);

fn ttl_rules(body: &BTreeMap<String, Value>) -> Option<Violation> {
    if body.contains_key("alias") && body.contains_key("ttl") {
        return Some(Violation {
            attribute: "ttl",
            message: "an alias record has no TTL of its own".into(),
            help: "remove `ttl`; Route53 uses the alias target's TTL".into(),
        });
    }
    if body.get("type").and_then(Value::as_str) == Some("CNAME")
        && body
            .get("values")
            .and_then(Value::as_list)
            .is_some_and(|v| v.len() > 1)
    {
        return Some(Violation {
            attribute: "values",
            message: "a CNAME record has exactly one value".into(),
            help: "keep one value, or use weighted records with set identifiers".into(),
        });
    }
    None
}

/// TTL used when values are given without one.
pub const DEFAULT_TTL: i64 = 300;

static ALIAS: BlockSchema = BlockSchema::new(
    "alias",
    &[
        Attr::string("load-balancer")
            .doc("Shorthand: a reference to a load balancer fills dns-name and zone-id."),
        Attr::string("dns-name").doc("The target's DNS name."),
        Attr::string("zone-id").doc("The target's hosted zone id."),
        Attr::bool("evaluate-target-health")
            .default(Default::Bool(false))
            .doc("Answers with this record only while its target is healthy."),
    ],
)
.label("load-balancer")
.rules(&[
    Rule::AtLeastOneOf(&["load-balancer", "dns-name"]),
    Rule::Requires("dns-name", &["zone-id"]),
])
.expand(expand_alias);

/// `alias (ref)"load-balancer.main"` → the load balancer's `dns-name` and `zone-id`.
fn expand_alias(body: &mut BTreeMap<String, Value>) {
    let Some(Value::Ref(reference)) = body.get("load-balancer") else {
        return;
    };
    let RefTarget::Resource { address, .. } = &reference.target else {
        return;
    };
    if address.kind != crate::model::Kind::LoadBalancer {
        return;
    }
    let to = |attr: &str| {
        Value::Ref(Box::new(Reference {
            target: RefTarget::Resource {
                address: address.clone(),
                attribute: Some(attr.to_string()),
            },
            span: reference.span,
        }))
    };
    let (dns, zone) = (to("dns-name"), to("zone-id"));
    body.remove("load-balancer");
    body.insert("dns-name".into(), dns);
    body.insert("zone-id".into(), zone);
}
