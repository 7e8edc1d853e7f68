//! `infra status`: one screen of what runs, read from live AWS (nothing judged, nothing
//! written): per service its revision, images, tasks and rollout; per target group the
//! health of its targets; the alarms and their state; the outputs; the last deploy.

pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use crate::known::Known;
use crate::model::{Address, Kind, Stack, Value};
use crate::providers::ALARM_STATE;
use crate::providers::aws::Clients;
use crate::providers::aws::health::{self, ServiceNow, TargetNow, TaskDefinitionNow};
use crate::refresh::Refreshed;

/// What `status` shows.
#[derive(Debug, Clone)]
pub struct Status {
    pub stack: String,
    pub region: String,
    pub services: Vec<ServiceStatus>,
    pub target_groups: Vec<GroupStatus>,
    /// `(address, name, state)`; the state is `None` for an alarm not in AWS.
    pub alarms: Vec<(String, String, Option<String>)>,
    pub outputs: BTreeMap<String, Value>,
}

/// One service of the stack.
#[derive(Debug, Clone)]
pub struct ServiceStatus {
    pub address: String,
    /// Read from ECS, or why not (not created yet, a failed call).
    pub now: Result<ServiceNow, String>,
    /// The task definition it runs, or why it could not be read.
    pub definition: Option<Result<TaskDefinitionNow, String>>,
}

/// One target group a service of the stack registers with.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    pub address: String,
    pub targets: Result<Vec<TargetNow>, String>,
}

/// Reads the status of every service, target group and alarm of the stack.
pub async fn gather(stack: &Stack, refreshed: &Refreshed, clients: &Clients) -> Status {
    let live = |i: usize| refreshed.live.get(i).and_then(Option::as_ref);
    let mut services = Vec::new();
    let mut groups: BTreeSet<Address> = BTreeSet::new();
    for (i, r) in stack.resources.iter().enumerate() {
        if r.kind() != Kind::Service {
            continue;
        }
        if let Some(Value::List(blocks)) = r.attrs.get("load-balancer") {
            for b in blocks {
                if let Some(Value::Ref(tg)) = b.as_map().and_then(|m| m.get("target-group"))
                    && let Some(a) = tg.address()
                {
                    groups.insert(a.clone());
                }
            }
        }
        let address = r.address.to_string();
        let (cluster, name) = match live(i) {
            Some(l) => (l.str("cluster"), l.str("name")),
            None => (None, None),
        };
        let (Some(cluster), Some(name)) = (cluster, name) else {
            services.push(ServiceStatus {
                address,
                now: Err("not in AWS (apply the stack)".into()),
                definition: None,
            });
            continue;
        };
        let now = match health::services(clients, cluster, &[name.to_string()]).await {
            Ok(found) => found
                .into_iter()
                .next()
                .ok_or_else(|| "ECS does not know it".to_string()),
            Err(e) => Err(e.to_string()),
        };
        let definition = match &now {
            Ok(svc) if !svc.task_definition.is_empty() => Some(
                health::task_definition(clients, &svc.task_definition)
                    .await
                    .map_err(|e| e.to_string()),
            ),
            _ => None,
        };
        services.push(ServiceStatus {
            address,
            now,
            definition,
        });
    }
    let mut target_groups = Vec::new();
    for group in groups {
        let arn = stack
            .resources
            .iter()
            .position(|r| r.address == group)
            .and_then(live)
            .and_then(|l| l.computed.get("arn")?.as_str());
        let targets = match arn {
            Some(arn) => health::targets(clients, arn, &[])
                .await
                .map_err(|e| e.to_string()),
            None => Err("not in AWS".into()),
        };
        target_groups.push(GroupStatus {
            address: group.to_string(),
            targets,
        });
    }
    let alarms = stack
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind() == Kind::Alarm)
        .map(|(i, r)| {
            let l = live(i);
            let name = l
                .and_then(|l| l.str("name"))
                .or_else(|| r.attrs.get("name").and_then(Value::as_str))
                .unwrap_or(&r.address.name)
                .to_string();
            let state = l.map(|l| {
                l.private
                    .get(ALARM_STATE)
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string()
            });
            (r.address.to_string(), name, state)
        })
        .collect();
    let known = Known::from_refreshed(stack, refreshed);
    Status {
        stack: stack.name.clone(),
        region: stack.region.clone(),
        services,
        target_groups,
        alarms,
        outputs: crate::outputs::resolve(stack, &known),
    }
}
