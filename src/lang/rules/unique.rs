//! Two resources of a stack that AWS would take for one: the same name (and, for services,
//! cluster; for records, zone, type and set identifier), or two listener rules at one priority.

use std::collections::HashMap;

use super::{Ctx, text};
use crate::lang::diagnostic::Diagnostic;
use crate::model::{Kind, Resource, Value};

/// What identifies a resource of each kind in AWS, and how to make two of them differ.
struct Identity {
    kind: Kind,
    /// The attributes of the natural key; the diagnostic points at the last one.
    key: &'static [&'static str],
    aws: &'static str,
    help: &'static str,
}

const IDENTITIES: &[Identity] = &[
    Identity {
        kind: Kind::Cluster,
        key: &["name"],
        aws: "ECS knows a cluster by its name",
        help: "rename one of them",
    },
    Identity {
        kind: Kind::TaskDefinition,
        key: &["family"],
        aws: "both would register revisions of one family",
        help: "give each task definition its own `family`",
    },
    Identity {
        kind: Kind::Service,
        key: &["cluster", "name"],
        aws: "ECS knows a service by its cluster and name",
        help: "rename one of them, or run it in another cluster",
    },
    Identity {
        kind: Kind::LoadBalancer,
        key: &["name"],
        aws: "load balancer names are unique per region and account (DuplicateLoadBalancerName)",
        help: "rename one of them",
    },
    Identity {
        kind: Kind::TargetGroup,
        key: &["name"],
        aws: "target group names are unique per region and account (DuplicateTargetGroupName)",
        help: "rename one of them",
    },
    Identity {
        kind: Kind::Listener,
        key: &["load-balancer", "port"],
        aws: "a load balancer has one listener per port (DuplicateListener)",
        help: "give one of them another `port`, or merge their rules into one listener",
    },
    Identity {
        kind: Kind::Alarm,
        key: &["name"],
        aws: "PutMetricAlarm with an existing name overwrites that alarm",
        help: "rename one of them",
    },
    Identity {
        kind: Kind::Secret,
        key: &["name"],
        aws: "secret names are unique per region and account (ResourceExistsException)",
        help: "rename one of them",
    },
    Identity {
        kind: Kind::LogGroup,
        key: &["name"],
        aws: "log group names are unique per region and account (ResourceAlreadyExistsException)",
        help: "rename one of them",
    },
];

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for identity in IDENTITIES {
        same_key(ctx, identity);
    }
    priorities(ctx);
    records(ctx);
}

/// One part of a natural key, comparable between resources: a text, a number or the
/// resource attribute a reference reads.
fn part(ctx: &Ctx<'_>, value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Ref(_) | Value::List(_) => {
            let (target, attribute) = ctx.target_attr(value)?;
            // A reference to a cluster by name or by ARN names the same cluster.
            let name = target.attrs.get("name").and_then(Value::as_str);
            match (target.kind(), name) {
                (Kind::Cluster, Some(name)) => Some(name.to_string()),
                _ => Some(format!("{}.{attribute}", target.address)),
            }
        }
        _ => None,
    }
}

fn key(ctx: &Ctx<'_>, resource: &Resource, attrs: &[&str]) -> Option<Vec<String>> {
    attrs
        .iter()
        .map(|a| part(ctx, resource.attrs.get(*a)?))
        .collect()
}

fn same_key(ctx: &mut Ctx<'_>, identity: &Identity) {
    let mut seen: HashMap<Vec<String>, &Resource> = HashMap::new();
    let mut found = Vec::new();
    for resource in ctx.all(identity.kind) {
        let Some(key) = key(ctx, resource, identity.key) else {
            continue;
        };
        match seen.get(&key) {
            Some(first) => found.push((*first, resource)),
            None => {
                seen.insert(key, resource);
            }
        }
    }
    let last = identity.key[identity.key.len() - 1];
    for (first, second) in found {
        let shown = text(&second.attrs, last)
            .map(str::to_string)
            .or_else(|| second.attrs.get(last).map(ToString::to_string))
            .unwrap_or_default();
        let d = Diagnostic::new(
            "infra::rule",
            format!(
                "`{}` and `{}` are the same AWS {}: {}",
                first.address,
                second.address,
                identity.kind.title(),
                identity.aws
            ),
        )
        .label(ctx.at(second, last), format!("{last} {shown} again"))
        .label(ctx.at(first, last), "first here")
        .help(identity.help);
        ctx.push(d);
    }
}

/// Listener rules: one priority per listener.
fn priorities(ctx: &mut Ctx<'_>) {
    let mut by_listener: HashMap<String, Vec<(&Resource, i64)>> = HashMap::new();
    for rule in ctx.all(Kind::ListenerRule) {
        let (Some(listener), Some(priority)) = (
            rule.attrs.get("listener").and_then(|v| part(ctx, v)),
            rule.attrs.get("priority").and_then(Value::as_int),
        ) else {
            continue;
        };
        by_listener
            .entry(listener)
            .or_default()
            .push((rule, priority));
    }
    let mut listeners: Vec<_> = by_listener.into_values().collect();
    listeners.sort_by_key(|rules| rules[0].0.span.offset);
    for rules in listeners {
        let taken: Vec<i64> = rules.iter().map(|(_, p)| *p).collect();
        for (i, (rule, priority)) in rules.iter().enumerate() {
            let Some((first, _)) = rules[..i].iter().find(|(_, p)| p == priority) else {
                continue;
            };
            let free = (priority + 1..=50_000)
                .find(|p| !taken.contains(p))
                .unwrap_or(1);
            let d = Diagnostic::new(
                "infra::rule",
                format!(
                    "`{}` and `{}` have the same priority on one listener (PriorityInUse)",
                    first.address, rule.address
                ),
            )
            .label(
                ctx.at(rule, "priority"),
                format!("priority {priority} again"),
            )
            .label(ctx.at(first, "priority"), "first here")
            .help(format!(
                "give `{}` another priority: {free} is free on this listener",
                rule.address
            ));
            ctx.push(d);
        }
    }
}

/// A record's zone, name, type and set identifier, as Route53 compares them.
pub(super) fn record_key(ctx: &Ctx<'_>, record: &Resource) -> Option<(String, String)> {
    let zone = zone_key(ctx, record.attrs.get("zone")?)?;
    let name = dns(text(&record.attrs, "name")?);
    Some((zone, name))
}

/// A zone: its id, or the name and visibility of the hosted zone (looked up or the stack's)
/// it names.
fn zone_key(ctx: &Ctx<'_>, zone: &Value) -> Option<String> {
    if let Some(lookup) = ctx.target(zone)
        && matches!(lookup.kind(), Kind::LookupHostedZone | Kind::HostedZone)
    {
        let name = dns(text(&lookup.attrs, "name")?);
        let private = lookup.attrs.get("private") == Some(&Value::Bool(true));
        return Some(format!("{name} private={private}"));
    }
    part(ctx, zone)
}

/// A DNS name as Route53 compares it: lowercase, without the final dot.
pub(super) fn dns(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn records(ctx: &mut Ctx<'_>) {
    let mut seen: HashMap<(String, String, String, String), &Resource> = HashMap::new();
    let mut found = Vec::new();
    for record in ctx.all(Kind::Record) {
        let Some((zone, name)) = record_key(ctx, record) else {
            continue;
        };
        let Some(kind) = text(&record.attrs, "type") else {
            continue;
        };
        let set = text(&record.attrs, "set-identifier").unwrap_or_default();
        let key = (zone, name, kind.to_string(), set.to_string());
        match seen.get(&key) {
            Some(first) => found.push((*first, record)),
            None => {
                seen.insert(key, record);
            }
        }
    }
    for (first, second) in found {
        let d = Diagnostic::new(
            "infra::rule",
            format!(
                "`{}` and `{}` are the same Route53 record: a zone holds one record set per \
                 name, type and set identifier",
                first.address, second.address
            ),
        )
        .label(ctx.at(second, "name"), "same name and type again")
        .label(ctx.at(first, "name"), "first here")
        .help(
            "merge their values into one record, or route between them: give each a \
             `set-identifier` and a `weight`",
        );
        ctx.push(d);
    }
}
