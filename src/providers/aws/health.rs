//! What `infra verify` and `infra status` read beyond a refresh: a service's counts and
//! deployments, the containers of the task definition it runs, and the health of the targets
//! of a target group. Read-only, answers in plain data for the checks to judge.

use super::Clients;
use super::error::aws;
use crate::providers::ProviderError;

/// DescribeServices accepts at most 10 names.
const NAMES_PER_DESCRIBE: usize = 10;

/// A service as ECS reports it now.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceNow {
    pub name: String,
    /// The task definition the service runs (an ARN).
    pub task_definition: String,
    pub running: i32,
    pub desired: i32,
    pub pending: i32,
    /// Newest first, as ECS lists them.
    pub deployments: Vec<DeploymentNow>,
}

/// One deployment of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentNow {
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// `COMPLETED`, `IN_PROGRESS`, `FAILED`; `None` where AWS does not report rollouts.
    pub rollout: Option<String>,
    pub task_definition: String,
    /// When the deployment was created (RFC 3339).
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// What a task definition revision runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinitionNow {
    /// `family:revision`.
    pub revision: String,
    /// `(container, image)`.
    pub images: Vec<(String, String)>,
    pub registered_at: Option<String>,
    /// The IAM principal that registered it, where AWS says.
    pub registered_by: Option<String>,
    /// infra's record of its last deploy (tags `infra:deployed-by`, `infra:deployed-at`,
    /// `infra:outcome`), when one was kept.
    pub deployed_by: Option<String>,
    pub deployed_at: Option<String>,
    pub outcome: Option<String>,
}

/// One registered target and what the load balancer thinks of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetNow {
    /// `id:port` (an IP address, instance id or Lambda ARN, and its port).
    pub target: String,
    /// `healthy`, `unhealthy`, `initial`, `draining`, `unused`, `unavailable`.
    pub state: String,
    /// AWS's reason code and words, for anything but healthy.
    pub reason: Option<String>,
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

/// The services `names` of `cluster`; a name ECS does not know is left out.
pub async fn services(
    clients: &Clients,
    cluster: &str,
    names: &[String],
) -> Result<Vec<ServiceNow>, ProviderError> {
    let mut out = Vec::new();
    for chunk in names.chunks(NAMES_PER_DESCRIBE) {
        let answer = clients
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(aws("DescribeServices"))?;
        for svc in answer.services() {
            if svc.status() == Some("INACTIVE") {
                continue;
            }
            out.push(ServiceNow {
                name: svc.service_name().unwrap_or_default().to_string(),
                task_definition: svc.task_definition().unwrap_or_default().to_string(),
                running: svc.running_count(),
                desired: svc.desired_count(),
                pending: svc.pending_count(),
                deployments: svc
                    .deployments()
                    .iter()
                    .map(|d| DeploymentNow {
                        status: d.status().unwrap_or_default().to_string(),
                        rollout: d.rollout_state().map(|r| r.as_str().to_string()),
                        task_definition: d.task_definition().unwrap_or_default().to_string(),
                        created_at: time(d.created_at()),
                        updated_at: time(d.updated_at()),
                    })
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// The containers of task definition `arn` (an ARN or `family:revision`).
pub async fn task_definition(
    clients: &Clients,
    arn: &str,
) -> Result<TaskDefinitionNow, ProviderError> {
    let answer = clients
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(aws("DescribeTaskDefinition"))?;
    let tag = |key: &str| {
        answer
            .tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    let Some(td) = answer.task_definition() else {
        return Err(ProviderError::Input(format!(
            "DescribeTaskDefinition returned nothing for `{arn}`"
        )));
    };
    Ok(TaskDefinitionNow {
        revision: format!("{}:{}", td.family().unwrap_or_default(), td.revision()),
        images: td
            .container_definitions()
            .iter()
            .map(|c| {
                (
                    c.name().unwrap_or_default().to_string(),
                    c.image().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        registered_at: time(td.registered_at()),
        registered_by: td.registered_by().map(str::to_string),
        deployed_by: tag(crate::providers::revisions::DEPLOYED_BY_TAG),
        deployed_at: tag(crate::providers::revisions::DEPLOYED_AT_TAG),
        outcome: tag(crate::providers::revisions::OUTCOME_TAG),
    })
}

/// The private IP addresses of the service's tasks that should run and are past starting
/// (awsvpc), as targets are named.
pub async fn task_addresses(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Vec<String>, ProviderError> {
    let listed = clients
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
        .send()
        .await
        .map_err(aws("ListTasks"))?;
    let mut out = Vec::new();
    // DescribeTasks accepts at most 100 tasks.
    for chunk in listed.task_arns().chunks(100) {
        let described = clients
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(aws("DescribeTasks"))?;
        for task in described.tasks() {
            // Not registered yet: ECS registers a task as it activates.
            if matches!(
                task.last_status(),
                Some("PROVISIONING" | "PENDING" | "ACTIVATING")
            ) {
                continue;
            }
            let ips = task
                .attachments()
                .iter()
                .flat_map(|a| a.details())
                .filter(|d| d.name() == Some("privateIPv4Address"))
                .filter_map(|d| d.value());
            out.extend(ips.map(str::to_string));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Every target registered with target group `arn`, with its health, and each of `expected`
/// (`(id, port)`: the service's running tasks) that is not among them, as AWS judges it
/// (`unused`, `Target.NotRegistered` for a task that is not registered).
pub async fn targets(
    clients: &Clients,
    arn: &str,
    expected: &[(String, i32)],
) -> Result<Vec<TargetNow>, ProviderError> {
    let mut out = describe_targets(clients, arn, &[]).await?;
    let missing: Vec<(String, i32)> = expected
        .iter()
        .filter(|(id, port)| !out.iter().any(|t| t.target == format!("{id}:{port}")))
        .cloned()
        .collect();
    if !missing.is_empty() {
        out.extend(describe_targets(clients, arn, &missing).await?);
        out.sort_by(|a, b| a.target.cmp(&b.target));
        out.dedup_by(|a, b| a.target == b.target);
    }
    Ok(out)
}

/// DescribeTargetHealth: every registered target, or only `targets` when given.
async fn describe_targets(
    clients: &Clients,
    arn: &str,
    targets: &[(String, i32)],
) -> Result<Vec<TargetNow>, ProviderError> {
    let described: Vec<aws_sdk_elasticloadbalancingv2::types::TargetDescription> = targets
        .iter()
        .map(|(id, port)| {
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(id)
                .port(*port)
                .build()
        })
        .collect();
    let answer = clients
        .elbv2
        .describe_target_health()
        .target_group_arn(arn)
        .set_targets((!described.is_empty()).then_some(described))
        .send()
        .await
        .map_err(aws("DescribeTargetHealth"))?;
    let mut out: Vec<TargetNow> = answer
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let id = d.target().and_then(|t| t.id()).unwrap_or_default();
            let target = match d.target().and_then(|t| t.port()) {
                Some(port) => format!("{id}:{port}"),
                None => id.to_string(),
            };
            let health = d.target_health();
            let state = health
                .and_then(|h| h.state())
                .map_or("unknown", |s| s.as_str())
                .to_string();
            let reason = health.and_then(|h| {
                let code = h.reason().map(|r| r.as_str().to_string());
                match (code, h.description()) {
                    (Some(c), Some(d)) => Some(format!("{c}: {d}")),
                    (Some(c), None) => Some(c),
                    (None, Some(d)) => Some(d.to_string()),
                    (None, None) => None,
                }
            });
            TargetNow {
                target,
                state,
                reason,
            }
        })
        .collect();
    out.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(out)
}
