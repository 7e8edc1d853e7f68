//! Warnings the stack alone decides: what it may do but is likely a mistake. A credential
//! written in a container's plain `environment`, a service that runs a single task, an image
//! without a fixed tag, a variable no value reads, deployments that stop every task, one
//! subnet, a liveness-only health path, a grace period shorter than a container's start, a
//! circuit breaker with nothing to judge health by. Each is silenced on the line that causes it,
//! with the reason it does not apply: `allow="..."`.

use std::collections::{BTreeSet, HashMap};

use super::decode::{Allows, AttrSpans};
use super::variables::VarDecl;
use crate::model::{Address, Kind, Resource, Span, Value, Warning};

/// What the warnings read of a loaded stack.
pub struct Input<'a> {
    pub resources: &'a [Resource],
    pub spans: &'a HashMap<Address, AttrSpans>,
    pub allows: &'a HashMap<Address, Allows>,
    pub variables: &'a [VarDecl],
    pub used_vars: &'a BTreeSet<String>,
}

/// Every warning of the stack, in the order of the stack file, each with its location.
pub fn check(input: &Input<'_>, sources: &crate::model::Sources) -> Vec<Warning> {
    let mut out = found(input);
    for w in &mut out {
        w.location = w.span.map(|s| location(sources, s));
    }
    out
}

fn found(input: &Input<'_>) -> Vec<Warning> {
    let mut out = Vec::new();
    let by_address: HashMap<&Address, &Resource> =
        input.resources.iter().map(|r| (&r.address, r)).collect();
    for r in input.resources {
        let at = |path: &str| {
            input
                .spans
                .get(&r.address)
                .and_then(|s| s.get(path))
                .copied()
                .unwrap_or(r.span)
        };
        let allowed = |path: &str| {
            input.allows.get(&r.address).is_some_and(|a| {
                a.contains_key(path) || a.keys().any(|k| path.starts_with(&format!("{k}.")))
            })
        };
        let mut warn = |path: &str, code, message: String, help: String| {
            if !allowed(path) {
                out.push(Warning {
                    code,
                    address: Some(r.address.to_string()),
                    message,
                    help,
                    span: Some(at(path)),
                    location: None,
                });
            }
        };
        match r.kind() {
            Kind::TaskDefinition => containers(r, &mut warn),
            Kind::Service => {
                single_task(r, &mut warn);
                availability(r, &mut warn);
                health(r, &by_address, &mut warn);
            }
            Kind::TargetGroup => liveness_only(r, &mut warn),
            _ => {}
        }
    }
    for v in input.variables {
        if !input.used_vars.contains(&v.name) && v.allow.is_none() {
            out.push(Warning {
                code: "infra::unused-variable",
                address: None,
                message: format!("variable `{}` is declared, but no value reads it", v.name),
                help: format!(
                    "remove it, or say why it stays: `variable \"{}\" ... allow=\"...\"`",
                    v.name
                ),
                span: Some(v.span),
                location: None,
            });
        }
    }
    out.sort_by_key(|w| w.span.map(|s| (s.source, s.offset)));
    out
}

type Warn<'w> = dyn FnMut(&str, &'static str, String, String) + 'w;

/// Credentials in plain environment, and images without a fixed tag.
fn containers(r: &Resource, warn: &mut Warn<'_>) {
    let Some(Value::List(containers)) = r.attrs.get("container") else {
        return;
    };
    for (i, c) in containers.iter().enumerate() {
        let Some(c) = c.as_map() else { continue };
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        if let Some(Value::Map(env)) = c.get("environment") {
            for (key, value) in env {
                let Some(value) = value.as_str() else {
                    continue;
                };
                if looks_like_credential(key, value) {
                    warn(
                        &format!("container.{i}.environment.{key}"),
                        "infra::credential-in-environment",
                        format!(
                            "`{key}` in the environment of container `{name}` looks like a \
                             credential: plain environment values are shown in every plan and \
                             to anyone who can describe the task definition"
                        ),
                        format!(
                            "put it in a secret and read it through `secrets {{ {key} (ref)\"secret.…\" }}`; \
                             if it is not secret, say why: `{key} \"…\" allow=\"not a secret: …\"`"
                        ),
                    );
                }
            }
        }
        if let Some(image) = c.get("image").and_then(Value::as_str)
            && let Some(why) = mutable_tag(image)
        {
            warn(
                &format!("container.{i}.image"),
                "infra::mutable-image-tag",
                format!(
                    "the image of container `{name}` ({image}) {why}: what runs can change without \
                     a change to the stack, and a rollback may bring back the same moved tag"
                ),
                "pin a version tag or a digest (`repo:1.4.2`, `repo@sha256:…`); to keep it, say \
                 why: `image \"…\" allow=\"…\"`"
                    .into(),
            );
        }
    }
}

/// A service of one task: every deploy and every failed task is an outage.
fn single_task(r: &Resource, warn: &mut Warn<'_>) {
    let owned_elsewhere = r
        .lifecycle
        .ignore_changes
        .iter()
        .any(|p| p == "desired-count");
    if owned_elsewhere || r.attrs.get("desired-count") != Some(&Value::Int(1)) {
        return;
    }
    warn(
        "desired-count",
        "infra::single-task",
        format!(
            "`{}` runs a single task: a deploy, a failed health check or the loss of its \
             availability zone stops the service",
            r.address
        ),
        "run at least two tasks (`desired-count 2`) in two availability zones; if one is \
         enough here, say why: `desired-count 1 allow=\"…\"`"
            .into(),
    );
}

/// Why an image reference can move under the stack, if it can.
/// A service whose deployments stop every task, or whose tasks all land in one zone.
fn availability(r: &Resource, warn: &mut Warn<'_>) {
    let deployment = r.attrs.get("deployment").and_then(Value::as_map);
    if deployment.and_then(|d| d.get("minimum-healthy-percent")) == Some(&Value::Int(0)) {
        warn(
            "deployment.minimum-healthy-percent",
            "infra::no-minimum-healthy",
            format!(
                "`{}` lets a deployment stop every running task (minimum-healthy-percent 0): each \
                 deploy is an outage until the new tasks pass their checks",
                r.address
            ),
            "keep tasks serving during deploys (`minimum-healthy-percent 100`, the default); if \
             the service cannot run two revisions at once, say why: `minimum-healthy-percent 0 \
             allow=\"…\"`"
                .into(),
        );
    }
    let subnets = r
        .attrs
        .get("network")
        .and_then(Value::as_map)
        .and_then(|n| n.get("subnets"));
    // Only a written list can be counted; a look-up's subnets are known at plan.
    if let Some(Value::List(list)) = subnets
        && list.len() == 1
        && matches!(list[0], Value::String(_))
    {
        warn(
            "network.subnets",
            "infra::single-subnet",
            format!(
                "`{}` places its tasks in one subnet, so in one availability zone: the loss of \
                 that zone stops the service",
                r.address
            ),
            "list subnets of at least two availability zones; if one zone is enough here, say \
             why: `subnets \"…\" allow=\"…\"`"
                .into(),
        );
    }
}

/// A service's health settings against its task definition's: a grace period shorter than a
/// container's start period, and a circuit breaker with nothing to judge health by.
fn health(r: &Resource, resources: &HashMap<&Address, &Resource>, warn: &mut Warn<'_>) {
    let Some(Value::Ref(task)) = r.attrs.get("task-definition") else {
        return;
    };
    let Some(task) = task.address().and_then(|a| resources.get(a)) else {
        return;
    };
    let checks: Vec<&std::collections::BTreeMap<String, Value>> = match task.attrs.get("container")
    {
        Some(Value::List(cs)) => cs
            .iter()
            .filter_map(Value::as_map)
            .filter_map(|c| c.get("health-check").and_then(Value::as_map))
            .collect(),
        _ => Vec::new(),
    };
    let start = checks
        .iter()
        .filter_map(|h| h.get("start-period").and_then(Value::as_int))
        .max()
        .unwrap_or(0);
    let balanced = matches!(r.attrs.get("load-balancer"), Some(Value::List(l)) if !l.is_empty());
    let grace = r
        .attrs
        .get("health-check-grace-period")
        .and_then(Value::as_int)
        .unwrap_or(0);
    if balanced && grace < start {
        warn(
            "health-check-grace-period",
            "infra::grace-shorter-than-start",
            format!(
                "`{}` gives new tasks {grace}s before load-balancer health checks count, but a \
                 container of `{}` takes up to {start}s to start: tasks may be killed while \
                 they start, and a deploy never settles",
                r.address, task.address
            ),
            format!(
                "set `health-check-grace-period {start}` or more; if the checks pass sooner, say \
                 why: `health-check-grace-period {grace} allow=\"…\"`"
            ),
        );
    }
    let breaker = r
        .attrs
        .get("deployment")
        .and_then(Value::as_map)
        .and_then(|d| d.get("circuit-breaker"))
        == Some(&Value::Bool(true));
    if breaker && checks.is_empty() && !balanced {
        warn(
            "deployment.circuit-breaker",
            "infra::breaker-without-health-check",
            format!(
                "`{}` has a circuit breaker, but neither a container health check in `{}` nor \
                 a load balancer tells ECS a task is unhealthy: only tasks that exit trip it",
                r.address, task.address
            ),
            "add a `health-check` to the essential container; if exiting is the only failure, \
             say why: `circuit-breaker #true allow=\"…\"`"
                .into(),
        );
    }
}

/// Paths that answer as soon as the process listens: they say it is alive, not that it can
/// serve (seed 002's `/health/live` passed for nine hours while the app was broken).
const LIVENESS_PATHS: [&str; 7] = [
    "/",
    "/health",
    "/healthz",
    "/health/live",
    "/livez",
    "/ping",
    "/_stcore/health",
];

fn liveness_only(r: &Resource, warn: &mut Warn<'_>) {
    let Some(path) = r
        .attrs
        .get("health-check")
        .and_then(Value::as_map)
        .and_then(|h| h.get("path"))
        .and_then(Value::as_str)
    else {
        return;
    };
    if !LIVENESS_PATHS.contains(&path) {
        return;
    }
    warn(
        "health-check.path",
        "infra::liveness-only-health-check",
        format!(
            "`{}` checks `{path}`, which usually says only that the process is alive: a task \
             that cannot reach its database or lacks its configuration still passes and gets \
             traffic",
            r.address
        ),
        "point it at a readiness path that checks what requests need (`/health/ready`); if \
         this path already does, say so: `path \"…\" allow=\"…\"`"
            .into(),
    );
}

pub(crate) fn mutable_tag(image: &str) -> Option<&'static str> {
    if image.contains("@sha256:") {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("has no tag (it means `latest`)"),
        Some((_, "latest")) => Some("is tagged `latest`"),
        Some(_) => None,
    }
}

/// Names that say credential, or values that look like one (long, random, mixed).
fn looks_like_credential(name: &str, value: &str) -> bool {
    let reference = value.starts_with("arn:")
        || value.starts_with('/')
        || value.starts_with("http://")
        || value.starts_with("https://") && !value.contains('@');
    if value.is_empty() || reference {
        return false;
    }
    let compact: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    const WORDS: [&str; 11] = [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "APIKEY",
        "PRIVATEKEY",
        "ACCESSKEY",
        "CREDENTIAL",
        "AUTHKEY",
        "SIGNINGKEY",
        "CLIENTSECRET",
    ];
    let named = WORDS.iter().any(|w| compact.contains(w));
    named || random(value)
}

/// Long, without spaces, of several classes of characters and high entropy.
fn random(value: &str) -> bool {
    if value.len() < 24 || value.contains(char::is_whitespace) {
        return false;
    }
    let classes = [
        value.chars().any(|c| c.is_ascii_lowercase()),
        value.chars().any(|c| c.is_ascii_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
        value.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let mut counts = std::collections::HashMap::new();
    for c in value.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = value.chars().count() as f64;
    let entropy: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();
    classes >= 3 && entropy >= 4.0
}

/// The span a warning points at, for renderers that cannot read source files.
pub fn location(sources: &crate::model::Sources, span: Span) -> String {
    let (line, col) = sources.line_col(span);
    format!("{}:{line}:{col}", sources.get(span.source).name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_told_by_name_or_by_randomness() {
        assert!(looks_like_credential("JWT_SECRET", "changeme"));
        assert!(looks_like_credential("STRIPE_API_KEY", "sk_live_x"));
        assert!(looks_like_credential("DB_PASSWORD", "hunter2"));
        assert!(looks_like_credential(
            "SETTINGS",
            "q8Fz2LmX9pRt7VwK3nYbHc5DsA0eJgU"
        ));
        assert!(!looks_like_credential("PORT", "8080"));
        assert!(!looks_like_credential("MODE", "production"));
        assert!(!looks_like_credential(
            "DB_PASSWORD_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:db"
        ));
        assert!(!looks_like_credential(
            "GREETING",
            "hello world, this is a long sentence"
        ));
        assert!(!looks_like_credential(
            "TOKEN_URL",
            "https://auth.example.com/token"
        ));
    }

    #[test]
    fn tags_that_can_move_are_told() {
        assert!(mutable_tag("nginx").is_some());
        assert!(mutable_tag("nginx:latest").is_some());
        assert!(mutable_tag("registry.example.com:5000/app").is_some());
        assert!(mutable_tag("nginx:1.27").is_none());
        assert!(mutable_tag("registry.example.com:5000/app:1.2").is_none());
        assert!(mutable_tag("app@sha256:0123").is_none());
    }
}
