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
        .send()
        .await
        .map_err(aws("DescribeTaskDefinition"))?;
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
    })
}

/// Every target registered with target group `arn`, with its health.
pub async fn targets(clients: &Clients, arn: &str) -> Result<Vec<TargetNow>, ProviderError> {
    let answer = clients
        .elbv2
        .describe_target_health()
        .target_group_arn(arn)
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
