//! Reads what the checks need and runs them: per service of the stack its definition (through
//! the plan), its tasks and its target groups' targets; every alarm; every record that aliases
//! a load balancer of the stack; every probe.

use std::collections::BTreeSet;

use super::{Check, Outcome, Report, checks, probe};
use crate::known::Known;
use crate::model::{Address, Kind, Stack, Value};
use crate::plan::{Change, Plan};
use crate::providers::ALARM_STATE;
use crate::providers::aws::Clients;
use crate::providers::aws::health;
use crate::refresh::Refreshed;

/// Every check of the stack. `plan` is a report plan (`Intent::Report`) of the whole stack.
pub async fn verify(
    stack: &Stack,
    refreshed: &Refreshed,
    plan: &Plan,
    clients: &Clients,
) -> Report {
    let mut out = Vec::new();
    let mut seen_groups = BTreeSet::new();
    for (i, r) in stack.resources.iter().enumerate() {
        if r.kind() != Kind::Service {
            continue;
        }
        let address = r.address.to_string();
        let live = refreshed.live.get(i).and_then(Option::as_ref);
        if let Some(td) = referenced(r.attrs.get("task-definition")) {
            let td = td.to_string();
            out.push(checks::definition(&td, change(plan, &td), None));
        }
        let running = live.and_then(|l| l.str("task-definition"));
        out.push(checks::definition(
            &address,
            change(plan, &address),
            running,
        ));
        let Some(live) = live else { continue };
        let (Some(cluster), Some(name)) = (live.str("cluster"), live.str("name")) else {
            continue;
        };
        let wanted = !matches!(live.attrs.get("desired-count"), Some(Value::Int(0)));
        match health::services(clients, cluster, &[name.to_string()]).await {
            Ok(found) => match found.first() {
                Some(svc) => out.push(checks::tasks(&address, svc)),
                None => out.push(Check::new(
                    &address,
                    "tasks",
                    Outcome::Fail,
                    "ECS does not know the service",
                )),
            },
            Err(e) => out.push(Check::new(&address, "tasks", Outcome::Error, e.to_string())),
        }
        // The tasks that run, each expected to be a healthy target of every group.
        let addresses = match health::task_addresses(clients, cluster, name).await {
            Ok(a) => a,
            Err(e) => {
                out.push(Check::new(
                    &address,
                    "targets",
                    Outcome::Error,
                    e.to_string(),
                ));
                Vec::new()
            }
        };
        for (group, port) in target_groups(r.attrs.get("load-balancer")) {
            if !seen_groups.insert(group.clone()) {
                continue;
            }
            let subject = group.to_string();
            let arn = index(stack, &group)
                .and_then(|j| refreshed.live.get(j)?.as_ref())
                .and_then(|l| l.computed.get("arn")?.as_str());
            let Some(arn) = arn else {
                out.push(Check::new(
                    subject,
                    "targets",
                    Outcome::Fail,
                    "the target group does not exist in AWS",
                ));
                continue;
            };
            let expected: Vec<(String, i32)> = match port {
                Some(port) => addresses.iter().map(|a| (a.clone(), port)).collect(),
                None => Vec::new(),
            };
            match health::targets(clients, arn, &expected).await {
                Ok(targets) => out.push(checks::targets(&subject, &targets, wanted)),
                Err(e) => out.push(Check::new(
                    subject,
                    "targets",
                    Outcome::Error,
                    e.to_string(),
                )),
            }
        }
    }
    for (i, r) in stack.resources.iter().enumerate() {
        let live = refreshed.live.get(i).and_then(Option::as_ref);
        let address = r.address.to_string();
        match r.kind() {
            Kind::Alarm => {
                let name = live
                    .and_then(|l| l.str("name"))
                    .or_else(|| r.attrs.get("name").and_then(Value::as_str))
                    .unwrap_or(r.address.name.as_str());
                let state = live.and_then(|l| l.private.get(ALARM_STATE)?.as_str());
                let state = match (live, state) {
                    // Read, but without a state: say so rather than call it missing.
                    (Some(_), None) => Some("of no reported state"),
                    _ => state,
                };
                out.push(checks::alarm(&address, name, state));
            }
            Kind::Record => {
                let alias = r.attrs.get("alias").and_then(Value::as_map);
                let Some(balancer) = referenced(alias.and_then(|a| a.get("dns-name")))
                    .filter(|a| a.kind == Kind::LoadBalancer)
                else {
                    continue;
                };
                let record_alias =
                    live.and_then(|l| l.attrs.get("alias")?.as_map()?.get("dns-name")?.as_str());
                let balancer_dns = index(stack, balancer)
                    .and_then(|j| refreshed.live.get(j)?.as_ref())
                    .and_then(|l| l.computed.get("dns-name")?.as_str());
                out.push(checks::record(
                    &address,
                    record_alias,
                    &balancer.to_string(),
                    balancer_dns,
                ));
            }
            _ => {}
        }
    }
    out.extend(probes(stack, refreshed).await);
    Report {
        stack: stack.name.clone(),
        region: stack.region.clone(),
        checks: out,
    }
}

/// The stack's probes, all at once.
async fn probes(stack: &Stack, refreshed: &Refreshed) -> Vec<Check> {
    let known = Known::from_refreshed(stack, refreshed);
    let calls = stack.probes.iter().map(|p| {
        let url = match known.resolve(&p.url) {
            Value::String(url) => Ok(url),
            _ => Err(Check::new(
                format!("probe.{}", p.name),
                "probe",
                Outcome::Fail,
                "its url is not known: what it reads does not exist in AWS",
            )),
        };
        async move {
            match url {
                Ok(url) => checks::probe(p, &url, &probe::get(&url, p.timeout).await),
                Err(check) => check,
            }
        }
    });
    futures::future::join_all(calls).await
}

fn change<'p>(plan: &'p Plan, address: &str) -> Option<&'p Change> {
    plan.changes.iter().find(|c| c.address == address)
}

fn index(stack: &Stack, address: &Address) -> Option<usize> {
    stack.resources.iter().position(|r| &r.address == address)
}

/// The resource a reference value names.
fn referenced(value: Option<&Value>) -> Option<&Address> {
    match value {
        Some(Value::Ref(r)) => r.address(),
        _ => None,
    }
}

/// The target groups a service's `load-balancer` blocks name by reference, with the container
/// port traffic goes to (how a task is registered).
fn target_groups(blocks: Option<&Value>) -> Vec<(Address, Option<i32>)> {
    let Some(Value::List(blocks)) = blocks else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter_map(|b| {
            let block = b.as_map()?;
            let group = referenced(block.get("target-group"))?;
            let port = match block.get("port") {
                Some(Value::Int(p)) => i32::try_from(*p).ok(),
                _ => None,
            };
            (group.kind == Kind::TargetGroup).then(|| (group.clone(), port))
        })
        .collect()
}
