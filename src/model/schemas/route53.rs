//! Route53 records. Records carry no tags: ownership lives in a companion TXT record.

use std::collections::BTreeMap;

use super::common::{DNS_NAME, TAGS, dns_name};
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::{RefTarget, Reference, Value};

pub static RECORD: ResourceSchema = ResourceSchema {
    title: "Route53 record",
    doc: "A Route53 record: either `values` (with an optional `ttl`, 300 seconds when omitted) or an `alias`. Records carry no tags: infra keeps ownership in a companion TXT record.",
    rules_doc: "exactly one of `values` and `alias`; `weight` and `set-identifier` go together; an alias has no `ttl`; a `CNAME` has one value; `values` fit the `type` (IPv4 addresses for `A`, IPv6 for `AAAA`, `MX`, `SRV` and `CAA` in their formats, TXT strings of at most 255 characters). In an `alias`, `alias (ref)\"load-balancer.<name>\"` is shorthand for that load balancer's `dns-name` and `zone-id`; otherwise give `dns-name` and `zone-id`.",
    body: &RECORD_BODY,
    computed: &[Computed::new(
        "fqdn",
        Type::String,
        "The record's fully qualified name.",
    )],
    default_attribute: "name",
    taggable: false,
    natural_key: &["zone", "name", "type", "set-identifier"],
    delete_phase: 10,
};

pub static HOSTED_ZONE: ResourceSchema = ResourceSchema {
    title: "hosted zone",
    doc: "A public Route53 hosted zone the stack creates, for an environment whose domain has no zone yet. Its `name-servers` are what the domain's registrar (or the parent zone) must delegate to: until then nothing on the internet resolves its records. A public zone of the same name that the stack does not own is a plan error, since two public zones of one name split the domain's answers between them: use `lookup \"hosted-zone\"` for a zone that already exists, or `--adopt` to take it over. Destroy refuses while the zone holds records the stack does not manage, and a zone whose answer was lost while being created is recognised by the caller reference infra gives it, so it is never made twice.",
    rules_doc: "",
    body: &HOSTED_ZONE_BODY,
    computed: &[
        Computed::new(
            "id",
            Type::String,
            "The zone id (Z...), what a record's `zone` takes.",
        ),
        Computed::new(
            "name-servers",
            Type::List(&Type::String),
            "The four name servers to delegate the domain to.",
        ),
    ],
    default_attribute: "id",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 105,
};

static HOSTED_ZONE_BODY: BlockSchema = BlockSchema::new(
    "hosted-zone",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[DNS_NAME, Check::Custom(no_wildcard, "no `*` label")])
            .doc("The zone's domain name (natural key), e.g. \"example.com\"."),
        Attr::string("comment")
            .checks(&[Check::Length(0, 256)])
            .doc("A comment Route53 keeps with the zone."),
        TAGS,
    ],
);

/// A zone is named by a domain, never a wildcard.
fn no_wildcard(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(name) if name.split('.').any(|label| label == "*") => Err((
            format!("`{name}` is a wildcard; a hosted zone is named by its domain"),
            "name the zone by the domain (\"example.com\") and put wildcard records in it".into(),
        )),
        _ => Ok(()),
    }
}

static RECORD_BODY: BlockSchema = BlockSchema::new(
    "record",
    &[
        Attr::string("zone")
            .required()
            .force_new()
            .refs(&[
                RefTo::new(Kind::HostedZone, "id"),
                RefTo::new(Kind::LookupHostedZone, "id"),
            ])
            .doc("Hosted zone id: a reference to a hosted zone of the stack or to a look-up."),
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[DNS_NAME])
            .doc("The record's DNS name."),
        Attr::string("type")
            .required()
            .force_new()
            .checks(&[Check::OneOf(RECORD_TYPES)])
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
    Rule::Custom(values_fit_type),
]);

/// The record types Route53 accepts in a change batch (RRType, without SOA, which belongs to
/// the zone).
pub const RECORD_TYPES: &[&str] = &[
    "A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV", "SSHFP",
    "SVCB", "TLSA", "TXT",
];

/// Route53 checks the data of each record against its type.
fn values_fit_type(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let kind = body.get("type").and_then(Value::as_str)?;
    let values = body.get("values")?.as_list()?;
    for v in values.iter().filter_map(Value::as_str) {
        let problem = match kind {
            "A" if v.parse::<std::net::Ipv4Addr>().is_err() => Some((
                format!("`{v}` is not an IPv4 address"),
                "an A record holds IPv4 addresses such as 192.0.2.10; use AAAA for IPv6 and \
                 CNAME (or an alias) for names"
                    .to_string(),
            )),
            "AAAA" if v.parse::<std::net::Ipv6Addr>().is_err() => Some((
                format!("`{v}` is not an IPv6 address"),
                "an AAAA record holds IPv6 addresses such as 2001:db8::10".to_string(),
            )),
            "MX" if !fields_ok(v, &[Field::Int(65_535), Field::Name]) => Some((
                format!("`{v}` is not an MX value"),
                "write an MX value as a priority and a mail server: \"10 mail.example.com\""
                    .to_string(),
            )),
            "SRV"
                if !fields_ok(
                    v,
                    &[
                        Field::Int(65_535),
                        Field::Int(65_535),
                        Field::Int(65_535),
                        Field::Name,
                    ],
                ) =>
            {
                Some((
                    format!("`{v}` is not an SRV value"),
                    "write an SRV value as priority, weight, port and target: \
                     \"10 5 5060 sip.example.com\""
                        .to_string(),
                ))
            }
            "CAA" if !caa(v) => Some((
                format!("`{v}` is not a CAA value"),
                "write a CAA value as flags, tag and quoted value: `0 issue \"amazon.com\"`"
                    .to_string(),
            )),
            "TXT" | "SPF" => txt(v),
            _ => None,
        };
        if let Some((message, help)) = problem {
            return Some(Violation {
                attribute: "values",
                message,
                help,
            });
        }
    }
    None
}

enum Field {
    Int(u32),
    Name,
}

fn fields_ok(value: &str, fields: &[Field]) -> bool {
    let parts: Vec<&str> = value.split_whitespace().collect();
    parts.len() == fields.len()
        && parts.iter().zip(fields).all(|(p, f)| match f {
            Field::Int(max) => p.parse::<u32>().is_ok_and(|n| n <= *max),
            Field::Name => dns_name(&Value::String((*p).to_string())).is_ok() || *p == ".",
        })
}

fn caa(value: &str) -> bool {
    let mut parts = value.splitn(3, ' ');
    let flags = parts.next().and_then(|f| f.parse::<u8>().ok());
    let tag = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    flags.is_some()
        && !tag.is_empty()
        && tag.chars().all(|c| c.is_ascii_alphanumeric())
        && rest.len() >= 2
        && rest.starts_with('"')
        && rest.ends_with('"')
}

/// TXT strings are at most 255 characters; a longer value is written as several quoted
/// strings (infra quotes a value that is not quoted already, and never splits one).
fn txt(value: &str) -> Option<(String, String)> {
    let strings: Vec<usize> = if value.starts_with('"') {
        value
            .split("\" \"")
            .map(|s| s.trim_matches('"').chars().count())
            .collect()
    } else {
        vec![value.chars().count()]
    };
    let longest = strings.into_iter().max().unwrap_or(0);
    (longest > 255).then(|| {
        (
            format!("a TXT string is {longest} characters long; DNS allows 255"),
            "split the value into quoted strings of at most 255 characters, written as one \
             value: \"\\\"first part\\\" \\\"second part\\\"\""
                .to_string(),
        )
    })
}

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
            .refs(&[RefTo::new(Kind::LoadBalancer, "arn")])
            .doc("Shorthand: a reference to a load balancer fills dns-name and zone-id."),
        Attr::string("dns-name")
            .refs(&[
                RefTo::new(Kind::LoadBalancer, "dns-name"),
                RefTo::new(Kind::Record, "fqdn"),
                RefTo::new(Kind::Record, "name"),
            ])
            .doc("The target's DNS name."),
        Attr::string("zone-id")
            .refs(&[
                RefTo::new(Kind::LoadBalancer, "zone-id"),
                RefTo::new(Kind::LookupHostedZone, "id"),
            ])
            .doc("The target's hosted zone id."),
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
