//! Security group rules in one comparable form, on both sides: what the stack writes
//! (`port 443`, protocol `all`, an IPv6 range in any spelling) and what
//! DescribeSecurityGroupRules returns (one rule per source, protocol `-1` with ports -1) become
//! the same map, so that a re-plan is empty; and that form as the `IpPermission` AWS takes.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, SecurityGroupRule, SecurityGroupRuleRequest,
    UserIdGroupPair,
};

use crate::model::Value;
use crate::providers::ProviderError;

/// The attributes that describe a rule (everything else in a map is left alone).
const RULE_ATTRS: &[&str] = &[
    "protocol",
    "port",
    "from-port",
    "to-port",
    "cidr",
    "ipv6-cidr",
    "prefix-list",
    "security-group",
    "description",
];

/// Puts the rule attributes of `map` in their canonical form: protocol names lowercased with
/// every protocol as `-1` (and no ports), `port` as `from-port` = `to-port`, ICMP without
/// ports as -1/-1, IPv6 ranges compressed, an empty description absent.
pub fn canonicalize(map: &mut BTreeMap<String, Value>) {
    map.retain(|k, v| !(RULE_ATTRS.contains(&k.as_str()) && *v == Value::Null));
    let protocol = match map.get("protocol").and_then(Value::as_str) {
        Some(p) => protocol_name(p),
        None => "tcp".to_string(),
    };
    map.insert("protocol".into(), Value::String(protocol.clone()));
    if let Some(port) = map.remove("port") {
        map.insert("from-port".into(), port.clone());
        map.insert("to-port".into(), port);
    }
    match protocol.as_str() {
        "-1" => {
            map.remove("from-port");
            map.remove("to-port");
        }
        "icmp" | "icmpv6" => {
            map.entry("from-port".into()).or_insert(Value::Int(-1));
            map.entry("to-port".into()).or_insert(Value::Int(-1));
        }
        _ => {}
    }
    if let Some(Value::String(range)) = map.get("ipv6-cidr")
        && let Some((addr, len)) = range.split_once('/')
        && let Ok(addr) = addr.parse::<std::net::Ipv6Addr>()
    {
        let canonical = format!("{addr}/{len}");
        map.insert("ipv6-cidr".into(), Value::String(canonical));
    }
    if map.get("description").and_then(Value::as_str) == Some("") {
        map.remove("description");
    }
}

/// AWS's name of a protocol as a stack or AWS writes it.
fn protocol_name(protocol: &str) -> String {
    match protocol.to_ascii_lowercase().as_str() {
        "all" | "-1" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "58" => "icmpv6".into(),
        other => other.to_string(),
    }
}

/// A list of rule blocks in canonical form, in a fixed order (rules are a set).
pub fn canonical_list(value: &Value) -> Value {
    let mut rules: Vec<Value> = value
        .as_list()
        .unwrap_or_default()
        .iter()
        .map(|rule| {
            let mut map = rule.as_map().cloned().unwrap_or_default();
            canonicalize(&mut map);
            Value::Map(map)
        })
        .collect();
    rules.sort_by_key(|r| r.to_string());
    rules.dedup();
    Value::List(rules)
}

/// What identifies a canonical rule in AWS: everything but its description (two rules that
/// differ only there cannot both exist).
pub fn identity(rule: &BTreeMap<String, Value>) -> String {
    ["protocol", "from-port", "to-port"]
        .iter()
        .chain(crate::model::schemas::ec2::SOURCES)
        .map(|k| rule.get(*k).map(Value::to_string).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("|")
}

/// One rule as DescribeSecurityGroupRules reports it, in canonical form.
pub fn from_sdk(rule: &SecurityGroupRule) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    let s = |v: &str| Value::String(v.to_string());
    map.insert("protocol".into(), s(rule.ip_protocol().unwrap_or("-1")));
    if let Some(from) = rule.from_port() {
        map.insert("from-port".into(), Value::Int(from.into()));
    }
    if let Some(to) = rule.to_port() {
        map.insert("to-port".into(), Value::Int(to.into()));
    }
    if let Some(cidr) = rule.cidr_ipv4() {
        map.insert("cidr".into(), s(cidr));
    }
    if let Some(cidr) = rule.cidr_ipv6() {
        map.insert("ipv6-cidr".into(), s(cidr));
    }
    if let Some(list) = rule.prefix_list_id() {
        map.insert("prefix-list".into(), s(list));
    }
    if let Some(group) = rule.referenced_group_info().and_then(|g| g.group_id()) {
        map.insert("security-group".into(), s(group));
    }
    if let Some(text) = rule.description() {
        map.insert("description".into(), s(text));
    }
    canonicalize(&mut map);
    map
}

/// A canonical rule as the permission Authorize* takes; every value must be known by now.
pub fn permission(rule: &BTreeMap<String, Value>) -> Result<IpPermission, ProviderError> {
    let text = |k: &str| -> Result<Option<String>, ProviderError> {
        match rule.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ProviderError::Input(format!(
                "the rule's `{k}` is not known yet ({other})"
            ))),
        }
    };
    let port = |k: &str| rule.get(k).and_then(Value::as_int).map(|p| p as i32);
    let description = text("description")?;
    let mut p = IpPermission::builder()
        .ip_protocol(text("protocol")?.unwrap_or_else(|| "-1".into()))
        .set_from_port(port("from-port"))
        .set_to_port(port("to-port"));
    if let Some(cidr) = text("cidr")? {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(cidr) = text("ipv6-cidr")? {
        p = p.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(list) = text("prefix-list")? {
        p = p.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(list)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(group) = text("security-group")? {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(description)
                .build(),
        );
    }
    Ok(p.build())
}

/// What converges `have` (rule id, canonical rule) to `want`: the ids to revoke, the rules to
/// authorise and the rules to describe again. Rules in both are left alone; a rule whose
/// description alone changed keeps its id (AWS identifies a rule without its description).
pub fn changes(
    want: &[BTreeMap<String, Value>],
    have: &[(String, BTreeMap<String, Value>)],
) -> Changes {
    let mut changes = Changes::default();
    for (id, rule) in have {
        if want.contains(rule) {
            continue;
        }
        // The same rule to AWS with another description: described again in place, never
        // revoked (traffic it lets through would stop until it is authorised again).
        let same = want
            .iter()
            .find(|w| identity(w) == identity(rule) && !have.iter().any(|(_, h)| h == *w));
        match same {
            Some(w) if !changes.redescribe.iter().any(|(_, r)| r == w) => {
                changes.redescribe.push((id.clone(), w.clone()));
            }
            _ => changes.revoke.push(id.clone()),
        }
    }
    for rule in want {
        let kept = have.iter().any(|(_, h)| h == rule)
            || changes.redescribe.iter().any(|(_, r)| r == rule);
        if !kept && !changes.add.contains(rule) {
            changes.add.push(rule.clone());
        }
    }
    changes
}

/// How a group's rules of one direction converge: new rules are authorised first, then
/// rules that changed only their description are modified in place, then the rest revoked,
/// so that traffic both the old and new rules allow never stops.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Rule ids to revoke.
    pub revoke: Vec<String>,
    /// Rules to authorise.
    pub add: Vec<BTreeMap<String, Value>>,
    /// Rule ids whose rule stays, with the rule (and its new description) to modify it to.
    pub redescribe: Vec<(String, BTreeMap<String, Value>)>,
}

/// A canonical rule as ModifySecurityGroupRules takes it: every field, since AWS sets the
/// rule to exactly these.
pub fn request(rule: &BTreeMap<String, Value>) -> Result<SecurityGroupRuleRequest, ProviderError> {
    let p = permission(rule)?;
    let description = rule
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(SecurityGroupRuleRequest::builder()
        .set_ip_protocol(p.ip_protocol().map(str::to_string))
        .set_from_port(p.from_port())
        .set_to_port(p.to_port())
        .set_cidr_ipv4(
            p.ip_ranges()
                .first()
                .and_then(|r| r.cidr_ip())
                .map(str::to_string),
        )
        .set_cidr_ipv6(
            p.ipv6_ranges()
                .first()
                .and_then(|r| r.cidr_ipv6())
                .map(str::to_string),
        )
        .set_prefix_list_id(
            p.prefix_list_ids()
                .first()
                .and_then(|r| r.prefix_list_id())
                .map(str::to_string),
        )
        .set_referenced_group_id(
            p.user_id_group_pairs()
                .first()
                .and_then(|r| r.group_id())
                .map(str::to_string),
        )
        .description(description)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn written_and_reported_rules_meet_in_one_form() {
        let mut written = map(&[
            ("protocol", s("tcp")),
            ("port", Value::Int(443)),
            ("cidr", s("10.0.0.0/8")),
            ("description", s("")),
        ]);
        canonicalize(&mut written);
        let reported = from_sdk(
            &SecurityGroupRule::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .cidr_ipv4("10.0.0.0/8")
                .build(),
        );
        assert_eq!(written, reported);

        let mut all = map(&[("protocol", s("all")), ("ipv6-cidr", s("2001:DB8:0::/32"))]);
        canonicalize(&mut all);
        let reported = from_sdk(
            &SecurityGroupRule::builder()
                .ip_protocol("-1")
                .from_port(-1)
                .to_port(-1)
                .cidr_ipv6("2001:db8::/32")
                .build(),
        );
        assert_eq!(all, reported);

        let mut icmp = map(&[("protocol", s("ICMP")), ("cidr", s("0.0.0.0/0"))]);
        canonicalize(&mut icmp);
        assert_eq!(icmp.get("from-port"), Some(&Value::Int(-1)));
        assert_eq!(icmp.get("protocol"), Some(&s("icmp")));
    }

    #[test]
    fn a_list_of_rules_is_a_set() {
        let a = Value::Map(map(&[("port", Value::Int(80)), ("cidr", s("10.0.0.0/8"))]));
        let b = Value::Map(map(&[("port", Value::Int(443)), ("cidr", s("10.0.0.0/8"))]));
        assert_eq!(
            canonical_list(&Value::List(vec![a.clone(), b.clone()])),
            canonical_list(&Value::List(vec![b, a.clone(), a]))
        );
    }

    #[test]
    fn changes_touch_only_what_differs() {
        let rule = |port: i64, text: &str| {
            let mut m = map(&[
                ("port", Value::Int(port)),
                ("cidr", s("10.0.0.0/8")),
                ("description", s(text)),
            ]);
            canonicalize(&mut m);
            m
        };
        let have = vec![
            ("sgr-1".to_string(), rule(80, "web")),
            ("sgr-2".to_string(), rule(443, "tls")),
            ("sgr-3".to_string(), rule(22, "ssh")),
        ];
        let want = vec![rule(80, "web"), rule(443, "https"), rule(8080, "alt")];
        let changes = changes(&want, &have);
        assert_eq!(changes.revoke, ["sgr-3"]);
        assert_eq!(changes.add, [rule(8080, "alt")]);
        assert_eq!(
            changes.redescribe,
            [("sgr-2".to_string(), rule(443, "https"))]
        );
        assert_eq!(identity(&rule(443, "https")), identity(&rule(443, "tls")));
    }

    #[test]
    fn two_rules_that_differ_only_by_description_never_claim_one_new_description_twice() {
        let rule = |text: &str| {
            let mut m = map(&[
                ("port", Value::Int(443)),
                ("cidr", s("10.0.0.0/8")),
                ("description", s(text)),
            ]);
            canonicalize(&mut m);
            m
        };
        // AWS holds one rule per identity; should two be reported, the second is revoked.
        let have = vec![
            ("sgr-1".to_string(), rule("old")),
            ("sgr-2".to_string(), rule("older")),
        ];
        let changes = changes(&[rule("new")], &have);
        assert_eq!(changes.redescribe, [("sgr-1".to_string(), rule("new"))]);
        assert_eq!(changes.revoke, ["sgr-2"]);
        assert!(changes.add.is_empty());
    }

    #[test]
    fn a_modify_request_carries_the_whole_rule() {
        let mut rule = map(&[
            ("port", Value::Int(8080)),
            ("security-group", s("sg-1")),
            ("description", s("from the alb")),
        ]);
        canonicalize(&mut rule);
        let r = request(&rule).expect("a request");
        assert_eq!(r.ip_protocol(), Some("tcp"));
        assert_eq!((r.from_port(), r.to_port()), (Some(8080), Some(8080)));
        assert_eq!(r.referenced_group_id(), Some("sg-1"));
        assert_eq!(r.cidr_ipv4(), None);
        assert_eq!(r.description(), Some("from the alb"));
    }

    #[test]
    fn a_permission_carries_one_source_and_refuses_unknowns() {
        let mut rule = map(&[
            ("protocol", s("all")),
            ("security-group", s("sg-1")),
            ("description", s("from the alb")),
        ]);
        canonicalize(&mut rule);
        let p = permission(&rule).expect("a permission");
        assert_eq!(p.ip_protocol(), Some("-1"));
        assert_eq!(p.from_port(), None);
        assert_eq!(p.user_id_group_pairs()[0].group_id(), Some("sg-1"));
        assert!(p.ip_ranges().is_empty());
        rule.insert("security-group".into(), Value::Unknown);
        assert!(permission(&rule).is_err());
    }
}
