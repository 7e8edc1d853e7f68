//! `infra status` as text (one screen) and JSON.

use std::fmt::Write;

use super::{ServiceStatus, Status};
use crate::verify::checks::arn_tail;

/// The deployment that serves (PRIMARY, else the newest): rollout and since when.
fn rollout(svc: &crate::providers::aws::health::ServiceNow) -> (String, Option<String>) {
    let primary = svc
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
        .or(svc.deployments.first());
    match primary {
        Some(d) => (
            d.rollout.clone().unwrap_or_else(|| "not reported".into()),
            d.updated_at.clone().or_else(|| d.created_at.clone()),
        ),
        None => ("no deployment".into(), None),
    }
}

fn service_lines(out: &mut String, s: &ServiceStatus) {
    let svc = match &s.now {
        Ok(svc) => svc,
        Err(why) => {
            let _ = writeln!(out, "  {}  {why}", s.address);
            return;
        }
    };
    let (state, since) = rollout(svc);
    let since = since.map_or(String::new(), |t| format!(" since {t}"));
    let more = if svc.deployments.len() > 1 {
        format!(", {} deployments", svc.deployments.len())
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  {}  `{}`  running {}/{}  rollout {state}{since}{more}",
        s.address,
        arn_tail(&svc.task_definition),
        svc.running,
        svc.desired
    );
    match &s.definition {
        Some(Ok(td)) => {
            for (container, image) in &td.images {
                let _ = writeln!(out, "    {container}  {image}");
            }
        }
        Some(Err(why)) => {
            let _ = writeln!(out, "    images not read: {why}");
        }
        None => {}
    }
}

/// What is known of the last deploy of each service: ECS's deployment and the registration of
/// the revision it runs. infra tags no deployer of its own.
fn last_deploy(out: &mut String, status: &Status) {
    let _ = writeln!(out, "\nLast deploy:");
    for s in &status.services {
        let Ok(svc) = &s.now else { continue };
        let (_, since) = rollout(svc);
        let mut line = format!("  {}: ", s.address);
        match since {
            Some(t) => {
                let _ = write!(line, "deployment updated {t}");
            }
            None => line.push_str("no deployment reported"),
        }
        if let Some(Ok(td)) = &s.definition {
            match (&td.registered_at, &td.registered_by) {
                (None, None) => {
                    let _ = write!(line, "; `{}` (ECS reports no registration)", td.revision);
                }
                (at, by) => {
                    let _ = write!(line, "; `{}` registered", td.revision);
                    if let Some(at) = at {
                        let _ = write!(line, " {at}");
                    }
                    if let Some(by) = by {
                        let _ = write!(line, " by {by}");
                    }
                }
            }
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "  (infra records no deployer: its tags say which stack owns a resource and which secret \
         versions tasks read, not who deployed or when; the times above are ECS's)"
    );
}

/// The one screen.
pub fn text(status: &Status) -> String {
    let mut out = format!("Stack `{}` in {}\n", status.stack, status.region);
    let _ = writeln!(out, "\nServices:");
    if status.services.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for s in &status.services {
        service_lines(&mut out, s);
    }
    if !status.target_groups.is_empty() {
        let _ = writeln!(out, "\nTargets:");
        for g in &status.target_groups {
            match &g.targets {
                Ok(targets) if targets.is_empty() => {
                    let _ = writeln!(out, "  {}  no target registered", g.address);
                }
                Ok(targets) => {
                    let all: Vec<String> = targets
                        .iter()
                        .map(|t| format!("{} {}", t.target, t.state))
                        .collect();
                    let _ = writeln!(out, "  {}  {}", g.address, all.join(", "));
                }
                Err(why) => {
                    let _ = writeln!(out, "  {}  not read: {why}", g.address);
                }
            }
        }
    }
    if !status.alarms.is_empty() {
        let _ = writeln!(out, "\nAlarms:");
        let width = status.alarms.iter().map(|a| a.0.len()).max().unwrap_or(0);
        for (address, name, state) in &status.alarms {
            let state = state.as_deref().unwrap_or("not in AWS");
            let _ = writeln!(out, "  {address:width$}  {state}  ({name})");
        }
    }
    out.push_str(&crate::outputs::text(&status.outputs));
    if !status.services.is_empty() {
        last_deploy(&mut out, status);
    }
    out
}

/// The same, as JSON.
pub fn json(status: &Status) -> serde_json::Value {
    let services: Vec<serde_json::Value> = status
        .services
        .iter()
        .map(|s| match &s.now {
            Ok(svc) => {
                let (state, since) = rollout(svc);
                let td = match &s.definition {
                    Some(Ok(td)) => serde_json::json!({
                        "revision": td.revision,
                        "images": td.images.iter().map(|(c, i)| serde_json::json!({"container": c, "image": i})).collect::<Vec<_>>(),
                        "registered-at": td.registered_at,
                        "registered-by": td.registered_by,
                    }),
                    _ => serde_json::Value::Null,
                };
                serde_json::json!({
                    "address": s.address,
                    "revision": arn_tail(&svc.task_definition),
                    "running": svc.running,
                    "desired": svc.desired,
                    "pending": svc.pending,
                    "rollout": state,
                    "since": since,
                    "deployments": svc.deployments.len(),
                    "task-definition": td,
                })
            }
            Err(why) => serde_json::json!({"address": s.address, "error": why}),
        })
        .collect();
    let groups: Vec<serde_json::Value> = status
        .target_groups
        .iter()
        .map(|g| match &g.targets {
            Ok(targets) => serde_json::json!({
                "address": g.address,
                "targets": targets.iter().map(|t| serde_json::json!({"target": t.target, "state": t.state, "reason": t.reason})).collect::<Vec<_>>(),
            }),
            Err(why) => serde_json::json!({"address": g.address, "error": why}),
        })
        .collect();
    let alarms: Vec<serde_json::Value> = status
        .alarms
        .iter()
        .map(|(a, n, s)| serde_json::json!({"address": a, "name": n, "state": s}))
        .collect();
    serde_json::json!({
        "stack": status.stack,
        "region": status.region,
        "services": services,
        "target-groups": groups,
        "alarms": alarms,
        "outputs": crate::outputs::json_object(&status.outputs),
    })
}
