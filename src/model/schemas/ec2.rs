//! EC2: security groups, with their rules inline, and single rules of a group as a kind of
//! their own (for groups that reference each other).

use std::collections::BTreeMap;

use super::common::TAGS;
use crate::model::kind::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

type CheckResult = Result<(), (String, String)>;

/// Rules per direction AWS allows by default, for IPv4 and for IPv6 each.
pub const RULES_PER_DIRECTION: usize = 60;

/// The protocols a rule may name; `all` and `-1` mean every protocol.
const PROTOCOLS: &[&str] = &["tcp", "udp", "icmp", "icmpv6", "all", "-1"];

/// The one source (ingress) or destination (egress) of a rule.
pub const SOURCES: &[&str] = &["cidr", "ipv6-cidr", "prefix-list", "security-group"];

pub static SECURITY_GROUP: ResourceSchema = ResourceSchema {
    title: "security group",
    doc: "A VPC security group and its rules. Each `ingress` or `egress` block is one rule with \
          one source; rules are reconciled one by one (an update authorises the new ones first, sets a \
          new description in place, then revokes the ones that are gone, so traffic that \
          both allow never stops; the others are left alone). An omitted `egress` \
          leaves outbound rules to AWS: a new group keeps AWS's default allow-all rule and the \
          plan never compares them; with `egress` blocks the group has exactly those outbound \
          rules (AWS's default one is revoked unless declared). Rules owned by a \
          `security-group-rule` resource (tagged with `infra:stack` or `infra:address`; a \
          group never tags its own) are not the group's and are never touched by it. Two \
          groups that reference each other cannot both say so inline (that is a dependency \
          cycle): write one side as a `security-group-rule`. \
          Ownership: the `infra:stack` and `infra:address` tags on the group; a group of the \
          same name in the same VPC that the stack does not own is a plan error.",
    rules_doc: "each rule has exactly one of `cidr`, `ipv6-cidr`, `prefix-list` or \
                `security-group`; `port` or both `from-port` and `to-port` for `tcp` and `udp` \
                (ports 0–65535, `from-port` ≤ `to-port`); for `icmp` and `icmpv6`, \
                `from-port` is the type and `to-port` the code (-1–255, -1 for all; a type of \
                -1 needs a code of -1), never `port`; no ports with protocol `all`. At most 60 \
                inbound and 60 outbound rules (AWS's default quota, counted for IPv4 and IPv6 \
                apart; a `security-group` or `prefix-list` source counts for both).",
    body: &SECURITY_GROUP_BODY,
    computed: &[
        Computed::new("id", Type::String, "The group id (sg-...)."),
        Computed::new("arn", Type::String, "The group's ARN."),
    ],
    default_attribute: "id",
    taggable: true,
    natural_key: &["vpc", "name"],
    delete_phase: 85,
};

static SECURITY_GROUP_BODY: BlockSchema = BlockSchema::new(
    "security-group",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[
                Check::Length(1, 255),
                Check::Custom(group_name, "1–255 of a–z A–Z 0–9, spaces and `._-:/()#,@[]+=&;{}!$*`; not `sg-…`"),
            ])
            .doc("The group name, unique within its VPC (with `vpc`, the natural key)."),
        Attr::string("description")
            .default(Default::Str("Managed by infra"))
            .force_new()
            .checks(&[
                Check::Length(1, 255),
                Check::Custom(group_description, "a–z A–Z 0–9, spaces and `._-:/()#,@[]+=&;{}!$*`"),
            ])
            .doc("What the group is for. AWS cannot change it: a new description replaces the group."),
        Attr::string("vpc")
            .required()
            .force_new()
            .refs(&[RefTo::new(Kind::LookupVpc, "id")])
            .doc("The VPC id (usually a reference to a VPC look-up); a new VPC replaces the group."),
        Attr::blocks("ingress", &RULE)
            .checks(&[RULE_COUNT])
            .doc("An inbound rule; none when omitted."),
        Attr::blocks("egress", &RULE)
            .checks(&[RULE_COUNT])
            .unmanaged_when_omitted()
            .doc("An outbound rule. When omitted, outbound rules are left to AWS (a new group allows all outbound traffic); when given, the group has exactly these."),
        TAGS,
    ],
);

pub static SECURITY_GROUP_RULE: ResourceSchema = ResourceSchema {
    title: "security group rule",
    doc: "One rule of a security group, managed apart from the group: how two groups that \
          reference each other (a load balancer's group sending to its tasks' group, which \
          accepts from it) are written without a dependency cycle. Every attribute but \
          `description` and `tags` identifies the rule in AWS, so a change of any other \
          replaces it (revoke, then authorise); a new description is set in place \
          (ModifySecurityGroupRules), the rule kept. \
          Ownership: the `infra:stack` and `infra:address` tags AWS keeps on the rule itself \
          (rules are tagged when authorised); the group the rule belongs to ignores such \
          rules, so a group's inline rules and its separate rules can be mixed.",
    rules_doc: "exactly one of `cidr`, `ipv6-cidr`, `prefix-list` or `security-group`; ports \
                as in a security group's rules.",
    body: &SECURITY_GROUP_RULE_BODY,
    computed: &[Computed::new("id", Type::String, "The rule id (sgr-...).")],
    default_attribute: "id",
    taggable: true,
    natural_key: &[
        "group",
        "direction",
        "protocol",
        "from-port",
        "to-port",
        "cidr",
        "ipv6-cidr",
        "prefix-list",
        "security-group",
    ],
    delete_phase: 83,
};

static SECURITY_GROUP_RULE_BODY: BlockSchema = BlockSchema::new(
    "security-group-rule",
    &[
        Attr::string("group")
            .required()
            .force_new()
            .refs(&[RefTo::new(Kind::SecurityGroup, "id")])
            .checks(&[Check::Custom(group_id, "a security group id, `sg-…`")])
            .doc("The id of the group the rule belongs to."),
        Attr::string("direction")
            .required()
            .force_new()
            .checks(&[Check::OneOf(&["ingress", "egress"])])
            .doc("`ingress` (inbound) or `egress` (outbound)."),
        PROTOCOL.force_new(),
        PORT.force_new(),
        FROM_PORT.force_new(),
        TO_PORT.force_new(),
        CIDR.force_new(),
        IPV6_CIDR.force_new(),
        PREFIX_LIST.force_new(),
        SOURCE_GROUP.force_new(),
        DESCRIPTION,
        TAGS,
    ],
)
.rules(&[Rule::ExactlyOneOf(SOURCES), Rule::Custom(ports)]);

const PROTOCOL: Attr = Attr::string("protocol")
    .default(Default::Str("tcp"))
    .checks(&[Check::OneOf(PROTOCOLS)])
    .doc("`tcp`, `udp`, `icmp`, `icmpv6`, or `all` (also written `-1`) for every protocol.");
const PORT: Attr = Attr::int("port")
    .checks(&[Check::Range(0, 65535)])
    .doc("One port: short for the same `from-port` and `to-port` (tcp and udp).");
const FROM_PORT: Attr = Attr::int("from-port")
    .checks(&[Check::Range(-1, 65535)])
    .doc("The first port of the range; for icmp, the type (-1 for all).");
const TO_PORT: Attr = Attr::int("to-port")
    .checks(&[Check::Range(-1, 65535)])
    .doc("The last port of the range; for icmp, the code (-1 for all).");
const CIDR: Attr = Attr::string("cidr")
    .checks(&[Check::Custom(ipv4_cidr, "an IPv4 network, `10.0.0.0/16`")])
    .doc("An IPv4 range (its network address: no host bits set).");
const IPV6_CIDR: Attr = Attr::string("ipv6-cidr")
    .checks(&[Check::Custom(ipv6_cidr, "an IPv6 network, `2001:db8::/32`")])
    .doc("An IPv6 range (its network address: no host bits set).");
const PREFIX_LIST: Attr = Attr::string("prefix-list")
    .checks(&[Check::Custom(prefix_list, "a prefix list id, `pl-…`")])
    .doc("A managed prefix list id.");
const SOURCE_GROUP: Attr = Attr::string("security-group")
    .refs(&[RefTo::new(Kind::SecurityGroup, "id")])
    .checks(&[Check::Custom(group_id, "a security group id, `sg-…`")])
    .doc("Another security group's id: a reference to a group of the stack, or an id.");
const DESCRIPTION: Attr = Attr::string("description")
    .checks(&[
        Check::Length(0, 255),
        Check::Custom(
            rule_description,
            "a–z A–Z 0–9, spaces and `._-:/()#,@[]+=;{}!$*`",
        ),
    ])
    .doc("What the rule is for.");

static RULE: BlockSchema = BlockSchema::new(
    "rule",
    &[
        PROTOCOL,
        PORT,
        FROM_PORT,
        TO_PORT,
        CIDR,
        IPV6_CIDR,
        PREFIX_LIST,
        SOURCE_GROUP,
        DESCRIPTION,
    ],
)
.rules(&[Rule::ExactlyOneOf(SOURCES), Rule::Custom(ports)]);

const RULE_COUNT: Check = Check::Custom(
    rule_count,
    "at most 60 rules for IPv4 and 60 for IPv6 (AWS's default quota per direction)",
);

const GROUP_CHARS: &str = "._-:/()#,@[]+=&;{}!$*";
const RULE_DESCRIPTION_CHARS: &str = "._-:/()#,@[]+=;{}!$*";

fn bad_char(text: &str, extra: &str) -> Option<char> {
    text.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == ' ' || extra.contains(*c)))
}

fn group_name(value: &Value) -> CheckResult {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    if name.to_ascii_lowercase().starts_with("sg-") {
        return Err((
            format!("security group name `{name}` starts with `sg-`"),
            "AWS keeps `sg-` for group ids: choose a name that does not start with it".into(),
        ));
    }
    match bad_char(name, GROUP_CHARS) {
        Some(bad) => Err((
            format!("security group name `{name}` contains `{bad}`"),
            format!("VPC security group names use letters, digits, spaces and {GROUP_CHARS}"),
        )),
        None => Ok(()),
    }
}

fn group_description(value: &Value) -> CheckResult {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    match bad_char(text, GROUP_CHARS) {
        Some(bad) => Err((
            format!("the group description contains `{bad}`"),
            format!(
                "VPC security group descriptions use letters, digits, spaces and {GROUP_CHARS}"
            ),
        )),
        None => Ok(()),
    }
}

fn rule_description(value: &Value) -> CheckResult {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    match bad_char(text, RULE_DESCRIPTION_CHARS) {
        Some(bad) => Err((
            format!("the rule description contains `{bad}`"),
            format!("rule descriptions use letters, digits, spaces and {RULE_DESCRIPTION_CHARS}"),
        )),
        None => Ok(()),
    }
}

fn group_id(value: &Value) -> CheckResult {
    match value.as_str() {
        Some(id) if !is_id(id, "sg-") => Err((
            format!("`{id}` is not a security group id"),
            "write the group's id (sg-…) or a reference such as (ref)\"security-group.web.id\""
                .into(),
        )),
        _ => Ok(()),
    }
}

fn prefix_list(value: &Value) -> CheckResult {
    match value.as_str() {
        Some(id) if !is_id(id, "pl-") => Err((
            format!("`{id}` is not a prefix list id"),
            "managed prefix list ids look like pl-0123456789abcdef0".into(),
        )),
        _ => Ok(()),
    }
}

fn is_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit()))
}

fn ipv4_cidr(value: &Value) -> CheckResult {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let invalid = || {
        (
            format!("`{text}` is not an IPv4 CIDR block"),
            "write an address and a prefix length of 0–32: 10.0.0.0/16, 0.0.0.0/0".to_string(),
        )
    };
    let (addr, len) = text.split_once('/').ok_or_else(invalid)?;
    let addr: std::net::Ipv4Addr = addr.parse().map_err(|_| invalid())?;
    let len: u32 = len.parse().map_err(|_| invalid())?;
    if len > 32 || text.contains(' ') {
        return Err(invalid());
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let network = std::net::Ipv4Addr::from(u32::from(addr) & mask);
    if network != addr {
        return Err((
            format!("`{text}` has host bits set"),
            format!("AWS keeps the network address: write {network}/{len}"),
        ));
    }
    Ok(())
}

fn ipv6_cidr(value: &Value) -> CheckResult {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let invalid = || {
        (
            format!("`{text}` is not an IPv6 CIDR block"),
            "write an address and a prefix length of 0–128: 2001:db8::/32, ::/0".to_string(),
        )
    };
    let (addr, len) = text.split_once('/').ok_or_else(invalid)?;
    let addr: std::net::Ipv6Addr = addr.parse().map_err(|_| invalid())?;
    let len: u32 = len.parse().map_err(|_| invalid())?;
    if len > 128 {
        return Err(invalid());
    }
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    let network = std::net::Ipv6Addr::from(u128::from(addr) & mask);
    if network != addr {
        return Err((
            format!("`{text}` has host bits set"),
            format!("AWS keeps the network address: write {network}/{len}"),
        ));
    }
    Ok(())
}

/// At most 60 rules count toward IPv4 and 60 toward IPv6 in one direction.
fn rule_count(value: &Value) -> CheckResult {
    let Some(rules) = value.as_list() else {
        return Ok(());
    };
    let has = |r: &Value, k: &str| r.as_map().is_some_and(|m| m.contains_key(k));
    let v4 = rules.iter().filter(|r| !has(r, "ipv6-cidr")).count();
    let v6 = rules.iter().filter(|r| !has(r, "cidr")).count();
    if v4 > RULES_PER_DIRECTION || v6 > RULES_PER_DIRECTION {
        let (n, family) = if v4 > RULES_PER_DIRECTION {
            (v4, "IPv4")
        } else {
            (v6, "IPv6")
        };
        return Err((
            format!("{n} rules count toward the {family} quota of 60"),
            "AWS allows 60 rules per direction by default (a group or prefix-list source \
             counts for IPv4 and IPv6): merge ranges, use a prefix list, or ask AWS for a \
             higher quota and split the group"
                .into(),
        ));
    }
    Ok(())
}

fn int(body: &BTreeMap<String, Value>, name: &str) -> Option<i64> {
    body.get(name).and_then(Value::as_int)
}

/// Ports as the protocol wants them.
fn ports(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let protocol = body
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("tcp");
    let (port, from, to) = (
        int(body, "port"),
        int(body, "from-port"),
        int(body, "to-port"),
    );
    let broken = |attribute: &'static str, message: String, help: &str| {
        Some(Violation {
            attribute,
            message,
            help: help.to_string(),
        })
    };
    if port.is_some() && (from.is_some() || to.is_some()) {
        return broken(
            "port",
            "`port` and `from-port`/`to-port` are both given".into(),
            "write either `port` for one port or `from-port` and `to-port` for a range",
        );
    }
    if from.is_some() != to.is_some() {
        let missing = if from.is_some() {
            "to-port"
        } else {
            "from-port"
        };
        let given = if from.is_some() {
            "from-port"
        } else {
            "to-port"
        };
        return broken(
            given,
            format!("`{given}` without `{missing}`"),
            "a range needs both ends: add the other, or write `port` for one port",
        );
    }
    match protocol {
        "all" | "-1" => {
            let at = if port.is_some() {
                "port"
            } else if from.is_some() {
                "from-port"
            } else {
                return None;
            };
            broken(
                at,
                "ports are given with protocol `all`".into(),
                "a rule for every protocol covers every port: remove the ports, or name a protocol",
            )
        }
        "icmp" | "icmpv6" => {
            if port.is_some() {
                return broken(
                    "port",
                    format!("`port` is given with protocol `{protocol}`"),
                    "ICMP has types and codes, not ports: write `from-port` (the type) and \
                     `to-port` (the code), or neither for every type",
                );
            }
            if let (Some(from), Some(to)) = (from, to) {
                if !(-1..=255).contains(&from) {
                    return broken(
                        "from-port",
                        format!("ICMP type {from} is out of range"),
                        "ICMP types are 0–255, or -1 for every type",
                    );
                }
                if !(-1..=255).contains(&to) {
                    return broken(
                        "to-port",
                        format!("ICMP code {to} is out of range"),
                        "ICMP codes are 0–255, or -1 for every code",
                    );
                }
                if from == -1 && to != -1 {
                    return broken(
                        "to-port",
                        format!("ICMP code {to} with every type"),
                        "every type (-1) needs every code (-1)",
                    );
                }
            }
            None
        }
        _ => match (port, from, to) {
            (None, None, None) => broken(
                "protocol",
                format!("a `{protocol}` rule without ports"),
                "add `port 443`, or `from-port` and `to-port` for a range",
            ),
            (_, Some(from), _) if from < 0 => broken(
                "from-port",
                format!("port {from} is out of range"),
                "ports are 0–65535",
            ),
            (_, Some(from), Some(to)) if from > to => broken(
                "from-port",
                format!("`from-port` {from} is greater than `to-port` {to}"),
                "a range goes from the lower port to the higher one",
            ),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    fn rule(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn group_names_follow_aws_rules() {
        assert!(group_name(&s("tasks web-1 (prod)")).is_ok());
        assert!(group_name(&s("sg-web")).is_err());
        assert!(group_name(&s("SG-web")).is_err());
        let (message, _) = group_name(&s("web~1")).expect_err("a tilde is refused");
        assert!(message.contains('~'), "{message}");
        assert!(group_description(&s("for the tasks: 443 & 80")).is_ok());
        assert!(group_description(&s("é")).is_err());
        assert!(rule_description(&s("a & b")).is_err());
    }

    #[test]
    fn cidr_blocks_are_networks() {
        assert!(ipv4_cidr(&s("10.0.0.0/16")).is_ok());
        assert!(ipv4_cidr(&s("0.0.0.0/0")).is_ok());
        assert!(ipv4_cidr(&s("10.0.0.0")).is_err());
        assert!(ipv4_cidr(&s("10.0.0.0/33")).is_err());
        assert!(ipv4_cidr(&s("10.0.300.0/24")).is_err());
        let (_, help) = ipv4_cidr(&s("10.1.2.3/16")).expect_err("host bits");
        assert!(help.contains("10.1.0.0/16"), "{help}");
        assert!(ipv6_cidr(&s("2001:db8::/32")).is_ok());
        assert!(ipv6_cidr(&s("::/0")).is_ok());
        assert!(ipv6_cidr(&s("2001:db8::1/32")).is_err());
        assert!(ipv6_cidr(&s("10.0.0.0/8")).is_err());
    }

    #[test]
    fn ids_have_their_prefix() {
        assert!(group_id(&s("sg-0123abcd")).is_ok());
        assert!(group_id(&s("security-group.alb")).is_err());
        assert!(prefix_list(&s("pl-63a5400a")).is_ok());
        assert!(prefix_list(&s("pl-")).is_err());
        assert!(group_id(&Value::Unknown).is_ok());
    }

    #[test]
    fn ports_fit_the_protocol() {
        let ok = |pairs: &[(&str, Value)]| ports(&rule(pairs)).is_none();
        let broken_at = |pairs: &[(&str, Value)]| ports(&rule(pairs)).map(|v| v.attribute);
        assert!(ok(&[("protocol", s("tcp")), ("port", Value::Int(443))]));
        assert!(ok(&[
            ("protocol", s("udp")),
            ("from-port", Value::Int(1000)),
            ("to-port", Value::Int(2000))
        ]));
        assert!(ok(&[("protocol", s("all"))]));
        assert!(ok(&[("protocol", s("icmp"))]));
        assert!(ok(&[
            ("protocol", s("icmp")),
            ("from-port", Value::Int(8)),
            ("to-port", Value::Int(-1))
        ]));
        assert_eq!(broken_at(&[("protocol", s("tcp"))]), Some("protocol"));
        assert_eq!(
            broken_at(&[("protocol", s("-1")), ("port", Value::Int(80))]),
            Some("port")
        );
        assert_eq!(
            broken_at(&[
                ("protocol", s("tcp")),
                ("from-port", Value::Int(90)),
                ("to-port", Value::Int(80))
            ]),
            Some("from-port")
        );
        assert_eq!(
            broken_at(&[("protocol", s("tcp")), ("from-port", Value::Int(80))]),
            Some("from-port")
        );
        assert_eq!(
            broken_at(&[
                ("port", Value::Int(80)),
                ("from-port", Value::Int(80)),
                ("to-port", Value::Int(80))
            ]),
            Some("port")
        );
        assert_eq!(
            broken_at(&[
                ("protocol", s("tcp")),
                ("from-port", Value::Int(-1)),
                ("to-port", Value::Int(80))
            ]),
            Some("from-port")
        );
        assert_eq!(
            broken_at(&[
                ("protocol", s("icmp")),
                ("from-port", Value::Int(-1)),
                ("to-port", Value::Int(3))
            ]),
            Some("to-port")
        );
        assert_eq!(
            broken_at(&[("protocol", s("icmp")), ("port", Value::Int(8))]),
            Some("port")
        );
    }

    #[test]
    fn at_most_sixty_rules_per_family() {
        let v4 = Value::Map(rule(&[("cidr", s("10.0.0.0/8"))]));
        let v6 = Value::Map(rule(&[("ipv6-cidr", s("::/0"))]));
        let group = Value::Map(rule(&[("security-group", s("sg-1"))]));
        let mut rules = vec![v4.clone(); 60];
        rules.extend(vec![v6.clone(); 60]);
        assert!(rule_count(&Value::List(rules.clone())).is_ok());
        rules.push(group);
        assert!(rule_count(&Value::List(rules)).is_err());
        assert!(rule_count(&Value::List(vec![v4; 61])).is_err());
    }
}
