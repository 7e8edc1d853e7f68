//! Route53 rules across the records of a zone: CNAMEs alone at their name and never at the
//! apex, names inside their zone, weighted and simple records apart, aliases to load balancers.

use std::collections::HashMap;

use super::unique::{dns, record_key};
use super::{Ctx, text};
use crate::model::{Kind, Resource, Value};

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let mut by_name: HashMap<(String, String), Vec<&Resource>> = HashMap::new();
    for record in ctx.all(Kind::Record) {
        in_zone(ctx, record);
        claim_fits(ctx, record);
        alias_type(ctx, record);
        if let Some(key) = record_key(ctx, record) {
            by_name.entry(key).or_default().push(record);
        }
    }
    let mut names: Vec<_> = by_name.into_values().collect();
    names.sort_by_key(|records| records[0].span.offset);
    for records in names {
        cname_alone(ctx, &records);
        routing_apart(ctx, &records);
    }
}

/// The name of the hosted zone a record's `zone` names, when it is a look-up or a zone of the
/// stack.
fn zone_name<'a>(ctx: &Ctx<'a>, record: &Resource) -> Option<&'a str> {
    let lookup = ctx
        .target(record.attrs.get("zone")?)
        .filter(|l| matches!(l.kind(), Kind::LookupHostedZone | Kind::HostedZone))?;
    text(&lookup.attrs, "name")
}

fn in_zone(ctx: &mut Ctx<'_>, record: &Resource) {
    let (Some(zone), Some(name)) = (zone_name(ctx, record), text(&record.attrs, "name")) else {
        return;
    };
    let (zone, full) = (dns(zone), dns(name));
    let inside = full == zone || full.ends_with(&format!(".{zone}"));
    if !inside {
        ctx.error(
            ctx.at(record, "name"),
            format!("`{name}` is not in the hosted zone `{zone}`"),
            "outside the zone",
            format!(
                "write a name that ends in `.{zone}`, such as `{}.{zone}`",
                full.split('.').next().unwrap_or("www")
            ),
        );
        return;
    }
    if full == zone && text(&record.attrs, "type") == Some("CNAME") {
        ctx.error(
            ctx.at(record, "type"),
            format!("a CNAME record cannot be at the zone apex `{zone}`"),
            "CNAME at the apex",
            "use an A (or AAAA) record with `alias` for the apex, or put the CNAME on a subdomain such as `www`".into(),
        );
    }
}

/// The longest DNS name Route53 takes, in characters (255 bytes on the wire).
const MAX_NAME: usize = 253;

/// Beside each record infra writes its ownership claim, `_infra-<type>[-<16 hex digits>].<name>`
/// (`-wildcard` for `*.`): the record's name must leave room for that label.
fn claim_fits(ctx: &mut Ctx<'_>, record: &Resource) {
    let (Some(name), Some(kind)) = (text(&record.attrs, "name"), text(&record.attrs, "type"))
    else {
        return;
    };
    let full = dns(name);
    let (rest, wildcard) = match full.strip_prefix("*.") {
        Some(rest) => (rest.to_string(), true),
        None => (full.clone(), false),
    };
    let label = "_infra-".len()
        + kind.len()
        + if record.attrs.contains_key("set-identifier") {
            17
        } else {
            0
        }
        + if wildcard { "-wildcard".len() } else { 0 };
    let claim = label + 1 + rest.len();
    if claim > MAX_NAME {
        ctx.error(
            ctx.at(record, "name"),
            format!(
                "the name of `{}` ({} characters) leaves no room for its ownership claim, whose \
                 name would be {claim} characters; Route53 takes at most {MAX_NAME}",
                record.address,
                full.len()
            ),
            "too long for its claim",
            format!(
                "infra records who owns a record in a TXT record named `_infra-…` beside it; \
                 shorten the name by {} characters",
                claim - MAX_NAME
            ),
        );
    }
}

/// A CNAME is the only record at its name (RFC 1034; Route53 rejects the second).
fn cname_alone(ctx: &mut Ctx<'_>, records: &[&Resource]) {
    let Some(cname) = records
        .iter()
        .find(|r| text(&r.attrs, "type") == Some("CNAME"))
    else {
        return;
    };
    for other in records
        .iter()
        .filter(|r| text(&r.attrs, "type") != Some("CNAME"))
    {
        let d = crate::lang::Diagnostic::new(
            "infra::rule",
            format!(
                "`{}` is a CNAME, so no other record may share its name, but `{}` is {} record",
                cname.address,
                other.address,
                crate::model::schema::with_article(text(&other.attrs, "type").unwrap_or("another"))
            ),
        )
        .label(ctx.at(other, "name"), "same name as the CNAME")
        .label(ctx.at(cname, "type"), "the CNAME")
        .help("replace the CNAME with an A/AAAA alias record, or give one of them another name");
        ctx.push(d);
    }
}

/// Records of one name and type are either all simple or all routed (set identifiers).
fn routing_apart(ctx: &mut Ctx<'_>, records: &[&Resource]) {
    for simple in records
        .iter()
        .filter(|r| !r.attrs.contains_key("set-identifier"))
    {
        let kind = text(&simple.attrs, "type");
        let Some(routed) = records
            .iter()
            .find(|r| r.attrs.contains_key("set-identifier") && text(&r.attrs, "type") == kind)
        else {
            continue;
        };
        let d = crate::lang::Diagnostic::new(
            "infra::rule",
            format!(
                "`{}` is a simple record, but `{}` of the same name and type is weighted",
                simple.address, routed.address
            ),
        )
        .label(ctx.at(simple, "name"), "no set-identifier")
        .label(ctx.at(routed, "set-identifier"), "weighted")
        .help("give this record a `set-identifier` and a `weight` too, or rename one of them");
        ctx.push(d);
    }
}

/// An alias to a load balancer is an A or AAAA record.
fn alias_type(ctx: &mut Ctx<'_>, record: &Resource) {
    let Some(alias) = record.attrs.get("alias").and_then(Value::as_map) else {
        return;
    };
    let to_lb = alias
        .get("dns-name")
        .and_then(|v| ctx.target(v))
        .is_some_and(|t| t.kind() == Kind::LoadBalancer);
    let kind = text(&record.attrs, "type").unwrap_or_default();
    if to_lb && !matches!(kind, "A" | "AAAA") {
        ctx.error(
            ctx.at(record, "type"),
            format!("an alias to a load balancer cannot be a {kind} record"),
            "alias record type",
            "use `type \"A\"` (and an `AAAA` record for IPv6 when the load balancer is dualstack)"
                .into(),
        );
    }
}
