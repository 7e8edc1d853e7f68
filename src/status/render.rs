//! `infra status` as text (one screen) and JSON, and as Markdown for `infra runbook --live`.

use std::fmt::Write;

use super::{ServiceStatus, Status};
use crate::verify::checks::arn_tail;

/// The deployment that serves (PRIMARY, else the newest): rollout and since when.
pub fn rollout(svc: &crate::providers::aws::health::ServiceNow) -> (String, Option<String>) {
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

/// What infra recorded of the deploy of a revision: who ran it, when, and how its wait ended.
fn deployed(td: &crate::status::TaskDefinitionNow) -> Option<String> {
    if td.deployed_by.is_none() && td.deployed_at.is_none() {
        return None;
    }
    let mut out = "deployed".to_string();
    if let Some(by) = &td.deployed_by {
        let _ = write!(out, " by {by}");
    }
    if let Some(at) = &td.deployed_at {
        let _ = write!(out, " {at}");
    }
    if let Some(outcome) = &td.outcome {
        let _ = write!(out, " ({outcome})");
    }
    Some(out)
}

/// What is known of the last deploy of each service: infra's record on the revision it runs
/// (who deployed it, when, and its outcome), ECS's deployment and the revision's registration.
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
        if let Some(Ok(td)) = &s.definition
            && let Some(d) = deployed(td)
        {
            let _ = write!(line, "; {d}");
        }
        let _ = writeln!(out, "{line}");
    }
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

/// A Markdown table cell: no line break, no column separator.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// An image with its digest, or a word that it names none (a tag can move).
fn image_cell(container: &str, image: &str) -> String {
    let pinned = if image.contains("@sha256:") {
        ""
    } else {
        " (no digest)"
    };
    format!("`{}`: `{}`{pinned}", cell(container), cell(image))
}

/// The deploy times of a service: ECS's deployment and the registration of its revision.
fn deploy_cell(s: &ServiceStatus) -> String {
    let Ok(svc) = &s.now else {
        return String::new();
    };
    let mut parts = Vec::new();
    match rollout(svc).1 {
        Some(t) => parts.push(format!("deployment updated {t}")),
        None => parts.push("no deployment reported".to_string()),
    }
    if let Some(Ok(td)) = &s.definition {
        let mut registered = format!("`{}`", cell(&td.revision));
        if td.registered_at.is_none() && td.registered_by.is_none() {
            registered.push_str(" (ECS reports no registration)");
        } else {
            registered.push_str(" registered");
        }
        if let Some(at) = &td.registered_at {
            let _ = write!(registered, " {at}");
        }
        if let Some(by) = &td.registered_by {
            let _ = write!(registered, " by {}", cell(by));
        }
        parts.push(registered);
        if let Some(d) = deployed(td) {
            parts.push(cell(&d));
        }
    }
    parts.join("; ")
}

/// The same as Markdown, `heading` deep (`####`): services, targets, alarms, outputs and the
/// last deploy, one table each.
pub fn markdown(status: &Status, heading: &str) -> String {
    let mut out = format!("{heading} Services\n\n");
    if status.services.is_empty() {
        out.push_str("No service.\n");
    } else {
        out.push_str(
            "| service | revision | running/desired | rollout | images | last deploy |\n\
             |---|---|---|---|---|---|\n",
        );
    }
    for s in &status.services {
        let svc = match &s.now {
            Ok(svc) => svc,
            Err(why) => {
                let _ = writeln!(out, "| `{}` | {} | | | | |", s.address, cell(why));
                continue;
            }
        };
        let (state, since) = rollout(svc);
        let mut rollout = cell(&state);
        if let Some(t) = since {
            let _ = write!(rollout, " since {t}");
        }
        if svc.deployments.len() > 1 {
            let _ = write!(rollout, ", {} deployments", svc.deployments.len());
        }
        let images = match &s.definition {
            Some(Ok(td)) => td
                .images
                .iter()
                .map(|(c, i)| image_cell(c, i))
                .collect::<Vec<_>>()
                .join("<br>"),
            Some(Err(why)) => format!("not read: {}", cell(why)),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {}/{} ({} pending) | {rollout} | {images} | {} |",
            s.address,
            cell(arn_tail(&svc.task_definition)),
            svc.running,
            svc.desired,
            svc.pending,
            deploy_cell(s)
        );
    }
    if !status.target_groups.is_empty() {
        let _ = write!(
            out,
            "\n{heading} Target health\n\n| target group | targets |\n|---|---|\n"
        );
        for g in &status.target_groups {
            let targets = match &g.targets {
                Ok(targets) if targets.is_empty() => "no target registered".to_string(),
                Ok(targets) => targets
                    .iter()
                    .map(|t| match &t.reason {
                        Some(why) => format!("`{}` {} ({})", t.target, t.state, cell(why)),
                        None => format!("`{}` {}", t.target, t.state),
                    })
                    .collect::<Vec<_>>()
                    .join("<br>"),
                Err(why) => format!("not read: {}", cell(why)),
            };
            let _ = writeln!(out, "| `{}` | {targets} |", g.address);
        }
    }
    if !status.alarms.is_empty() {
        let _ = write!(
            out,
            "\n{heading} Alarms\n\n| alarm | name | state |\n|---|---|---|\n"
        );
        for (address, name, state) in &status.alarms {
            let state = state.as_deref().unwrap_or("not in AWS");
            let _ = writeln!(out, "| `{address}` | `{}` | {} |", cell(name), cell(state));
        }
    }
    if !status.outputs.is_empty() {
        let _ = write!(
            out,
            "\n{heading} Outputs\n\n| output | value |\n|---|---|\n"
        );
        for (name, value) in &status.outputs {
            let _ = writeln!(
                out,
                "| `{name}` | `{}` |",
                cell(&crate::outputs::shown(value))
            );
        }
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
                        "deployed-by": td.deployed_by,
                        "deployed-at": td.deployed_at,
                        "outcome": td.outcome,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::GroupStatus;
    use super::*;
    use crate::providers::aws::health::{DeploymentNow, ServiceNow, TargetNow, TaskDefinitionNow};

    #[test]
    fn the_markdown_has_a_row_per_service_group_and_alarm() {
        let status = Status {
            stack: "shop".into(),
            region: "eu-west-1".into(),
            services: vec![
                ServiceStatus {
                    address: "service.app".into(),
                    now: Ok(ServiceNow {
                        name: "app".into(),
                        task_definition: "arn:aws:ecs:eu-west-1:1:task-definition/shop-app:7"
                            .into(),
                        running: 1,
                        desired: 2,
                        pending: 1,
                        deployments: vec![DeploymentNow {
                            status: "PRIMARY".into(),
                            rollout: Some("IN_PROGRESS".into()),
                            task_definition: "shop-app:7".into(),
                            created_at: Some("2026-01-02T03:04:05Z".into()),
                            updated_at: None,
                        }],
                    }),
                    definition: Some(Ok(TaskDefinitionNow {
                        revision: "shop-app:7".into(),
                        images: vec![
                            ("web".into(), "r/web:v1@sha256:abc".into()),
                            ("side".into(), "r/side:v1".into()),
                        ],
                        registered_at: Some("2026-01-02T03:00:00Z".into()),
                        registered_by: Some("arn:aws:iam::1:user/ci".into()),
                        deployed_by: Some("ci@runner".into()),
                        deployed_at: Some("2026-01-02T03:04:00Z".into()),
                        outcome: Some("verified".into()),
                    })),
                },
                ServiceStatus {
                    address: "service.jobs".into(),
                    now: Err("not in AWS (apply the stack)".into()),
                    definition: None,
                },
            ],
            target_groups: vec![GroupStatus {
                address: "target-group.api".into(),
                targets: Ok(vec![TargetNow {
                    target: "10.0.0.1:8080".into(),
                    state: "unhealthy".into(),
                    reason: Some("Target.Timeout | slow".into()),
                }]),
            }],
            alarms: vec![("alarm.5xx".into(), "shop-5xx".into(), Some("ALARM".into()))],
            outputs: BTreeMap::new(),
        };
        let md = markdown(&status, "###");
        for says in [
            "### Services\n\n| service | revision |",
            "| `service.app` | `shop-app:7` | 1/2 (1 pending) | IN_PROGRESS since \
             2026-01-02T03:04:05Z | `web`: `r/web:v1@sha256:abc`<br>`side`: `r/side:v1` (no \
             digest) | deployment updated 2026-01-02T03:04:05Z; `shop-app:7` registered \
             2026-01-02T03:00:00Z by arn:aws:iam::1:user/ci; deployed by ci@runner \
             2026-01-02T03:04:00Z (verified) |\n",
            "| `service.jobs` | not in AWS (apply the stack) | | | | |\n",
            "| `target-group.api` | `10.0.0.1:8080` unhealthy (Target.Timeout \\| slow) |\n",
            "| `alarm.5xx` | `shop-5xx` | ALARM |\n",
        ] {
            assert!(md.contains(says), "missing {says}:\n{md}");
        }
        assert!(!md.contains("Outputs"), "{md}");
    }
}
