//! Load balancing rules across target groups, listeners and listener rules.

use std::collections::BTreeMap;

use super::{Ctx, blocks, text};
use crate::model::{Address, Kind, Resource, Value};

type Body = BTreeMap<String, Value>;

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for tg in ctx.all(Kind::TargetGroup) {
        health_check(ctx, tg);
    }
    one_load_balancer(ctx);
    protocol_versions(ctx);
}

/// The target groups an action forwards to, with the path of each reference.
fn forwards(body: &Body) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    let Some(forward) = body.get("forward").and_then(Value::as_map) else {
        return out;
    };
    if let Some(v) = forward.get("target-group") {
        out.push(("forward.target-group".to_string(), v));
    }
    for (i, t) in blocks(forward, "target") {
        if let Some(v) = t.get("target-group") {
            out.push((format!("forward.target.{i}.target-group"), v));
        }
    }
    out
}

/// Every (listener or rule, path, target group, listener) forward in the stack.
fn edges<'a>(ctx: &Ctx<'a>) -> Vec<(&'a Resource, String, &'a Resource, Option<&'a Resource>)> {
    let mut out = Vec::new();
    for r in ctx
        .resources
        .iter()
        .filter(|r| matches!(r.kind(), Kind::Listener | Kind::ListenerRule))
    {
        let listener = match r.kind() {
            Kind::Listener => Some(r),
            _ => r.attrs.get("listener").and_then(|v| ctx.target(v)),
        };
        for (path, v) in forwards(&r.attrs) {
            if let Some(tg) = ctx.target(v).filter(|t| t.kind() == Kind::TargetGroup) {
                out.push((r, path, tg, listener));
            }
        }
    }
    out
}

/// The target groups a listener or listener rule of the stack forwards to.
pub(super) fn attached(ctx: &Ctx<'_>) -> std::collections::HashSet<Address> {
    edges(ctx)
        .into_iter()
        .map(|(_, _, tg, _)| tg.address.clone())
        .collect()
}

/// The load balancer a listener belongs to: the resource, or the ARN written.
fn load_balancer(ctx: &Ctx<'_>, listener: &Resource) -> Option<String> {
    let v = listener.attrs.get("load-balancer")?;
    match ctx.target(v) {
        Some(lb) => Some(lb.address.to_string()),
        None => v.as_str().map(str::to_string),
    }
}

/// A target group serves one load balancer (TargetGroupAssociationLimit).
fn one_load_balancer(ctx: &mut Ctx<'_>) {
    let mut first: BTreeMap<Address, (String, &Resource, String)> = BTreeMap::new();
    let mut found = Vec::new();
    for (r, path, tg, listener) in edges(ctx) {
        let Some(lb) = listener.and_then(|l| load_balancer(ctx, l)) else {
            continue;
        };
        match first.get(&tg.address) {
            Some((other, by, by_path)) if *other != lb => {
                found.push((r, path, tg, lb, *by, by_path.clone(), other.clone()))
            }
            Some(_) => {}
            None => {
                first.insert(tg.address.clone(), (lb, r, path));
            }
        }
    }
    for (r, path, tg, lb, by, by_path, other) in found {
        let d = crate::lang::Diagnostic::new(
            "infra::rule",
            format!(
                "target group `{}` would serve two load balancers, `{other}` and `{lb}` \
                 (TargetGroupAssociationLimit)",
                tg.address
            ),
        )
        .label(ctx.at(r, &path), format!("forwards from {lb}"))
        .label(ctx.at(by, &by_path), format!("forwards from {other}"))
        .help("a target group belongs to one load balancer: declare a second target group for the other one");
        ctx.push(d);
    }
}

/// gRPC and HTTP/2 target groups need an HTTPS listener.
fn protocol_versions(ctx: &mut Ctx<'_>) {
    for (r, path, tg, listener) in edges(ctx) {
        let version = text(&tg.attrs, "protocol-version").unwrap_or("HTTP1");
        let protocol = listener.and_then(|l| text(&l.attrs, "protocol"));
        if version != "HTTP1" && protocol == Some("HTTP") {
            ctx.error(
                ctx.at(r, &path),
                format!(
                    "target group `{}` speaks {version}, which an HTTP listener cannot forward",
                    tg.address
                ),
                "forwarded from an HTTP listener",
                format!(
                    "forward {version} target groups from an HTTPS listener, or set \
                     `protocol-version \"HTTP1\"` on `{}`",
                    tg.address
                ),
            );
        }
    }
}

/// Health checks: only Lambda targets may switch them off; matchers by protocol version.
fn health_check(ctx: &mut Ctx<'_>, tg: &Resource) {
    let Some(hc) = tg.attrs.get("health-check").and_then(Value::as_map) else {
        return;
    };
    if hc.get("enabled") == Some(&Value::Bool(false)) {
        ctx.error(
            ctx.at(tg, "health-check.enabled"),
            format!(
                "health checks cannot be disabled on a target group of type `{}`",
                text(&tg.attrs, "target-type").unwrap_or("instance")
            ),
            "only Lambda target groups allow this",
            "remove `enabled #false`; to tolerate slow targets raise `interval` and `unhealthy-threshold`".into(),
        );
    }
    // A timeout left to AWS's default (6 s for HTTP, 10 s for HTTPS) must still be shorter
    // than the interval; a written one is checked where the block is decoded.
    if let (Some(timeout), Some(interval)) = (
        hc.get("timeout").and_then(Value::as_int),
        hc.get("interval").and_then(Value::as_int),
    ) && timeout >= interval
    {
        ctx.error(
            ctx.at(tg, "health-check.interval"),
            format!(
                "the health check interval {interval}s is not longer than its default timeout {timeout}s"
            ),
            "interval",
            format!("raise `interval` above {timeout}s, or set a shorter `timeout`"),
        );
    }
    let grpc = text(&tg.attrs, "protocol-version") == Some("GRPC");
    if let Some(matcher) = text(hc, "matcher") {
        let (low, high, what) = if grpc {
            (0, 99, "gRPC status codes 0 to 99")
        } else {
            (200, 499, "HTTP codes 200 to 499")
        };
        let ok = matcher.split(',').all(|part| {
            let mut ends = part.trim().splitn(2, '-');
            let parse = |s: Option<&str>| s.and_then(|s| s.trim().parse::<i64>().ok());
            match (parse(ends.next()), ends.next()) {
                (Some(a), None) => (low..=high).contains(&a),
                (Some(a), b @ Some(_)) => parse(b).is_some_and(|b| {
                    a <= b && (low..=high).contains(&a) && (low..=high).contains(&b)
                }),
                _ => false,
            }
        });
        if !ok {
            ctx.error(
                ctx.at(tg, "health-check.matcher"),
                format!("`{matcher}` is not a valid matcher for this target group"),
                "invalid matcher",
                format!(
                    "a matcher lists {what}, as \"200\", \"200,204\" or \"200-299\"{}",
                    if grpc {
                        " (gRPC: \"12\", \"0-99\")"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}
