//! ECS services.
//!
//! Read with DescribeServices, one call per cluster and ten names, tags included. A service
//! AWS is draining or has deleted counts as absent. An existing service the stack does not own
//! is only taken over with `--adopt`: overwriting it would redeploy someone's running tasks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentAlarms, DeploymentCircuitBreaker,
    DeploymentConfiguration, DeploymentRolloutState, LaunchType, LoadBalancer,
    NetworkConfiguration, PropagateTags, Service, ServiceField,
};

use super::super::error::{aws, build};
use super::super::kit;
use super::super::tagging::OwnedIndex;
use super::{
    arn_tail, ecs_tags, fill_defaults, get_blocks, get_bool, get_i32, get_map, get_str,
    get_strings, live_tags, s, sdk_tags, sort_blocks, sort_strings, strings,
};
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::revisions::{Outcome, RUNNING_TASK_DEFINITION};
use crate::providers::{
    BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, SECRET_VERSION_TAG, client_token,
    desired_tags, moved_secrets,
};

type Map = BTreeMap<String, Value>;

/// DescribeServices accepts at most 10 services per call.
const NAMES_PER_DESCRIBE: usize = 10;
/// How often `wait_stable` looks at a deployment unless `INFRA_POLL_INTERVAL_MS` says otherwise.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// DescribeAlarms accepts at most 100 names.
const ALARM_NAMES_PER_DESCRIBE: usize = 100;
/// How often a bake says where it is while no alarm changes.
const BAKE_HEARTBEAT: Duration = Duration::from_secs(30);
/// How many service events and stopped tasks a failed deploy prints.
const EVENTS_SHOWN: usize = 5;
/// What AWS reports for a service without a deployment configuration.
const DEFAULT_DEPLOYMENT: [(&str, Value); 4] = [
    ("minimum-healthy-percent", Value::Int(100)),
    ("maximum-percent", Value::Int(200)),
    ("circuit-breaker", Value::Bool(false)),
    ("rollback", Value::Bool(false)),
];
/// Attributes CreateService may not store (the emulator drops them): set again with
/// UpdateService when the service read back lacks them.
///
/// `deployment` includes its `alarms`: moto (5.2.5) drops the whole `deploymentConfiguration`
/// on CreateService and stores it on UpdateService, so a service created with alarms gets them
/// from this follow-up there, and the next plan is empty. On AWS the follow-up finds nothing
/// that differs and sends nothing.
const SET_AFTER_CREATE: [&str; 3] = [
    "deployment",
    "health-check-grace-period",
    "enable-execute-command",
];
/// `Live::private` of a service apply just updated: the task definition ARN it ran before the
/// update moved it to another revision; what a failed bake restores.
const PREVIOUS_TASK_DEFINITION: &str = "previous-task-definition";
/// `Live::private` of a service apply just updated: the deployment alarms that were in ALARM
/// when the deployment started (ECS ignores them; so does a bake until they leave ALARM).
const ALARMS_IN_ALARM_BEFORE: &str = "alarms-in-alarm-before";
/// `Live::private` of a service apply just updated without starting a deployment (another
/// desired count, tags): its wait records no outcome on the revision, which did not change.
const NO_DEPLOYMENT: &str = "no-deployment";

pub struct Services {
    client: Client,
    /// For the deployment alarms a bake watches.
    cloudwatch: aws_sdk_cloudwatch::Client,
    owned: Arc<OwnedIndex>,
}

impl Services {
    pub fn new(
        client: Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
        owned: Arc<OwnedIndex>,
    ) -> Self {
        Services {
            client,
            cloudwatch,
            owned,
        }
    }

    /// The named services of one cluster that are ACTIVE.
    async fn describe(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<Vec<Service>, ProviderError> {
        active_services(&self.client, cluster, names).await
    }

    /// Services by cluster, each cluster's names described together.
    async fn describe_grouped(
        &self,
        by_cluster: &BTreeMap<String, Vec<String>>,
    ) -> Result<Vec<Service>, ProviderError> {
        let calls = by_cluster
            .iter()
            .map(|(cluster, names)| self.describe(cluster, names));
        let mut out = Vec::new();
        for found in futures::future::join_all(calls).await {
            out.extend(found?);
        }
        Ok(out)
    }

    /// Where the stack names a bare task definition family (`web`), a service running the
    /// family's latest ACTIVE revision (`web:7`, which AWS reports as its ARN) reads as the
    /// family, so the plan sees no change and no deployment starts on every apply; one on an
    /// older revision still reads as that revision (`web:6 → web`: a deployment of the latest).
    /// One DescribeTaskDefinition per such family.
    async fn settle_families(
        &self,
        lives: &mut [Live],
        desired: &[Desired],
    ) -> Result<(), ProviderError> {
        // The services that name a family alone, by name and, where it is known yet (a
        // reference to a cluster of this stack is not while everything is listed), cluster.
        let bare: Vec<(Option<&str>, &str, &str)> = desired
            .iter()
            .filter_map(|d| {
                let family = bare_family(d.str("task-definition")?)?;
                Some((d.str("cluster").map(arn_tail), d.str("name")?, family))
            })
            .collect();
        let mut wanted: Vec<&str> = bare.iter().map(|(_, _, f)| *f).collect();
        wanted.sort();
        wanted.dedup();
        let latest = futures::future::join_all(wanted.iter().map(|f| self.latest_revision(f)))
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let latest: BTreeMap<&str, String> = wanted
            .iter()
            .zip(latest)
            .filter_map(|(f, rev)| Some((*f, rev?)))
            .collect();
        for live in lives.iter_mut() {
            let (cluster, name) = (live.str("cluster").map(arn_tail), live.str("name"));
            let Some(family) = bare
                .iter()
                .find(|(c, n, _)| Some(*n) == name && (c.is_none() || *c == cluster))
                .map(|(_, _, f)| *f)
            else {
                continue;
            };
            let running = live.str("task-definition").map(arn_tail);
            if running.is_some() && running == latest.get(family).map(|r| arn_tail(r)) {
                live.attrs.insert("task-definition".into(), s(family));
            }
        }
        Ok(())
    }

    /// The ARN of a family's latest ACTIVE revision; `None` when it has none.
    async fn latest_revision(&self, family: &str) -> Result<Option<String>, ProviderError> {
        match self
            .client
            .describe_task_definition()
            .task_definition(family)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .task_definition()
                .and_then(|td| td.task_definition_arn())
                .map(str::to_string)),
            // AWS's answer for a family without ACTIVE revisions.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_client_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws("DescribeTaskDefinition")(e)),
        }
    }

    /// The status of a service whatever it is (`DRAINING` while ECS stops the tasks of a
    /// deleted service); `None` when ECS no longer knows it.
    async fn status(&self, cluster: &str, name: &str) -> Result<Option<String>, ProviderError> {
        match self
            .client
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .services()
                .iter()
                .find(|s| s.service_name() == Some(name))
                .and_then(|s| s.status().map(str::to_string))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_cluster_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws("DescribeServices")(e)),
        }
    }

    async fn describe_one(&self, cluster: &str, name: &str) -> Result<Service, ProviderError> {
        self.describe(cluster, &[name.to_string()])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ProviderError::NotFound(format!("service `{name}` is not in cluster `{cluster}`"))
            })
    }

    /// Tags the service with the secret versions its tasks now read (after a restart
    /// serves; idempotent).
    async fn record_secret_versions(
        &self,
        desired: &Desired,
        live: &Live,
    ) -> Result<(), ProviderError> {
        let versions: Vec<(String, String)> = desired_tags(&desired.attrs)
            .into_iter()
            .filter(|(k, _)| k.starts_with(SECRET_VERSION_TAG))
            .collect();
        match live.computed.get("arn").and_then(Value::as_str) {
            Some(arn) => self.tag(arn, versions).await,
            None => Ok(()),
        }
    }

    /// Tags the revision a wait was for with how it ended (see [`outcome_of`]): one
    /// TagResource, none when the wait followed an update that started no deployment.
    async fn record_outcome(
        &self,
        desired: &Desired,
        live: &Live,
        waited: &Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        if live.private.get(NO_DEPLOYMENT) == Some(&Value::Bool(true)) {
            return Ok(());
        }
        let Some(outcome) = outcome_of(waited) else {
            return Ok(());
        };
        // TagResource takes an ARN; a revision named otherwise is not recorded.
        let Some(arn) = desired
            .str("task-definition")
            .filter(|td| td.starts_with("arn:") && td.contains(":task-definition/"))
        else {
            return Ok(());
        };
        super::history::record_outcome(&self.client, arn, outcome)
            .await
            .map_err(|e| ProviderError::While {
                doing: format!(
                    "recording that `{}` {}",
                    arn_tail(arn),
                    match outcome {
                        Outcome::Verified => "serves",
                        Outcome::Failed => "does not serve",
                    }
                ),
                error: Box::new(e),
            })
    }

    /// Sets `tags` on the service (one TagResource; none when there is nothing to set).
    async fn tag(&self, arn: &str, tags: Vec<(String, String)>) -> Result<(), ProviderError> {
        if tags.is_empty() {
            return Ok(());
        }
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sdk_tags(tags)))
            .send()
            .await
            .map_err(aws("TagResource"))?;
        Ok(())
    }

    /// The latest stopped tasks of a service and why each stopped. Best effort: it explains a
    /// failure already found, so its own failure only leaves the explanation shorter.
    async fn stopped_tasks(&self, cluster: &str, name: &str) -> Vec<(String, String)> {
        let Ok(listed) = self
            .client
            .list_tasks()
            .cluster(cluster)
            .service_name(name)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .max_results(EVENTS_SHOWN as i32)
            .send()
            .await
        else {
            return Vec::new();
        };
        let arns = listed.task_arns().to_vec();
        if arns.is_empty() {
            return Vec::new();
        }
        let Ok(described) = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns))
            .send()
            .await
        else {
            return Vec::new();
        };
        described
            .tasks()
            .iter()
            .map(|t| {
                let id = t.task_arn().map_or("a task", arn_tail).to_string();
                let reason = t.stopped_reason().unwrap_or("no reason given").to_string();
                (id, reason)
            })
            .collect()
    }

    /// Waits until the service serves `expected` (see [`stability`]): `NotServing` when it will
    /// not, `Input` when `timeout` runs out first.
    async fn wait_serving(
        &self,
        cluster: &str,
        name: &str,
        expected: &str,
        timeout: Duration,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<(), ProviderError> {
        let interval = poll_interval();
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            let svc = self.describe_one(cluster, name).await?;
            let (state, seen) = stability(&svc, expected);
            if seen != last {
                progress(seen.clone());
                last = seen;
            }
            match state {
                Stability::Stable => return Ok(()),
                Stability::NotServing(why) => {
                    let stopped = self.stopped_tasks(cluster, name).await;
                    return Err(ProviderError::NotServing(format!(
                        "service `{name}`: {why}{}",
                        what_ecs_said(&svc, &stopped)
                    )));
                }
                Stability::Waiting => {}
            }
            if Instant::now() + interval > deadline {
                return Err(ProviderError::TimedOut(format!(
                    "service `{name}` did not become stable within {} (last seen: {last}); \
                     raise --wait-timeout, or set wait-for-steady-state #false",
                    human(timeout)
                )));
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// After an update that moved the service to another revision is stable: watches the
    /// deployment's `alarms` for its `bake` time, one DescribeAlarms per poll. One that goes
    /// into ALARM restores the revision the service ran before (see [`Services::restore`]).
    /// Nothing to do without a bake, alarms, or a previous revision (a create, a restart).
    async fn bake(
        &self,
        desired: &Desired,
        live: &Live,
        timeout: Duration,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<(), ProviderError> {
        let Some(bake) = bake_time(&desired.attrs) else {
            return Ok(());
        };
        let Some(previous) = live
            .private
            .get(PREVIOUS_TASK_DEFINITION)
            .and_then(Value::as_str)
        else {
            return Ok(());
        };
        let watched = get_map(&desired.attrs, "deployment")
            .map(alarm_names)
            .unwrap_or_default();
        if watched.is_empty() {
            return Ok(());
        }
        let name = desired.str("name").unwrap_or_default();
        let deployed = desired.str("task-definition").unwrap_or_default();
        let interval = poll_interval();
        let started = Instant::now();
        let end = started + bake;
        let mut ignored: Vec<String> = live
            .private
            .get(ALARMS_IN_ALARM_BEFORE)
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if !ignored.is_empty() {
            progress(format!(
                "in ALARM before the deployment started, ignored until they leave it: {}",
                ignored.join(", ")
            ));
        }
        let mut last = String::new();
        let mut said = started;
        loop {
            let states = self
                .alarm_states(&watched)
                .await
                .map_err(|e| ProviderError::While {
                    doing: format!(
                        "service `{name}`: reading the alarms while `{}` baked",
                        arn_tail(deployed)
                    ),
                    error: Box::new(e),
                })?;
            let seen = alarm_summary(&watched, &states);
            let now = Instant::now();
            // A line when something changed, and now and then while nothing does.
            if seen != last || now.duration_since(said) >= BAKE_HEARTBEAT {
                let left = end.saturating_duration_since(now).as_secs();
                progress(format!(
                    "baking `{}` ({left}s of {} left): {seen}",
                    arn_tail(deployed),
                    human(bake)
                ));
                last = seen;
                said = now;
            }
            if let Some(alarm) = firing(&watched, &mut ignored, &states) {
                return Err(self
                    .restore(desired, previous, alarm, timeout, progress)
                    .await);
            }
            if now >= end {
                progress(format!(
                    "baked `{}` for {}: no alarm went into ALARM",
                    arn_tail(deployed),
                    human(bake)
                ));
                return Ok(());
            }
            tokio::time::sleep(interval.min(end - now)).await;
        }
    }

    /// A bake failed: points the service back at `previous`, waits until that serves, and
    /// says so. Always an error (`NotServing`, exit 3): the revision apply deployed is gone.
    async fn restore(
        &self,
        desired: &Desired,
        previous: &str,
        alarm: &str,
        timeout: Duration,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> ProviderError {
        let cluster = desired.str("cluster").unwrap_or_default();
        let name = desired.str("name").unwrap_or_default();
        let deployed = desired.str("task-definition").unwrap_or_default();
        let (old, new) = (arn_tail(previous), arn_tail(deployed));
        progress(format!(
            "alarm `{alarm}` is in ALARM: restoring `{old}`, the revision that ran before"
        ));
        let head = format!("service `{name}`: alarm `{alarm}` went into ALARM while `{new}` baked");
        if let Err(e) = self
            .client
            .update_service()
            .cluster(cluster)
            .service(name)
            .task_definition(previous)
            .send()
            .await
            .map_err(aws("UpdateService"))
        {
            return ProviderError::NotServing(format!(
                "{head}; restoring the previous revision `{old}` failed, the service still runs \
                 `{new}`: {e}"
            ));
        }
        match self
            .wait_serving(cluster, name, previous, timeout, progress)
            .await
        {
            Ok(()) => ProviderError::NotServing(format!(
                "{head}; the previous revision `{old}` was restored and serves"
            )),
            Err(e) => ProviderError::NotServing(format!(
                "{head}; the previous revision `{old}` was restored but does not serve: {e}"
            )),
        }
    }

    /// Each named metric alarm CloudWatch knows, with its state (`OK`, `ALARM`, `INSUFFICIENT_DATA`).
    async fn alarm_states(&self, names: &[String]) -> Result<Vec<(String, String)>, ProviderError> {
        let mut out = Vec::new();
        for chunk in names.chunks(ALARM_NAMES_PER_DESCRIBE) {
            let page = self
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(aws("DescribeAlarms"))?;
            out.extend(page.metric_alarms().iter().filter_map(|a| {
                Some((
                    a.alarm_name()?.to_string(),
                    a.state_value()?.as_str().to_string(),
                ))
            }));
        }
        Ok(out)
    }

    /// One UpdateService with every setting that differs, or none when nothing does; `restart`
    /// forces a new deployment (new tasks read the secrets' current values).
    async fn update_service(
        &self,
        desired: &Desired,
        live: &Map,
        only: Option<&[&str]>,
        restart: bool,
    ) -> Result<(), ProviderError> {
        let mut d = desired.attrs.clone();
        let mut l = live.clone();
        normalize(&mut d);
        normalize(&mut l);
        let changed = |k: &str| only.is_none_or(|o| o.contains(&k)) && d.get(k) != l.get(k);
        let fargate = get_str(&d, "launch-type") == Some("FARGATE");
        let mut req = self
            .client
            .update_service()
            .cluster(desired.str("cluster").unwrap_or_default())
            .service(desired.str("name").unwrap_or_default());
        let mut any = false;
        if changed("task-definition") {
            req = req.set_task_definition(desired.str("task-definition").map(str::to_string));
            any = true;
        }
        if changed("desired-count") {
            req = req.set_desired_count(get_i32(&d, "desired-count"));
            any = true;
        }
        if changed("platform-version") && fargate {
            req = req.set_platform_version(get_str(&d, "platform-version").map(str::to_string));
            any = true;
        }
        if changed("network") {
            req = req.set_network_configuration(network(&d)?);
            any = true;
        }
        if changed("load-balancer") {
            req = req.set_load_balancers(Some(load_balancers(&d)));
            any = true;
        }
        if changed("deployment") {
            // Alarms the service had and the stack no longer names are switched off.
            let had_alarms = get_map(&l, "deployment").is_some_and(|m| m.contains_key("alarms"));
            req = req.deployment_configuration(deployment(&d, had_alarms));
            any = true;
        }
        if changed("health-check-grace-period") {
            req = req.health_check_grace_period_seconds(
                get_i32(&d, "health-check-grace-period").unwrap_or(0),
            );
            any = true;
        }
        if changed("enable-execute-command") {
            req = req.set_enable_execute_command(get_bool(&d, "enable-execute-command"));
            any = true;
        }
        if changed("propagate-tags") {
            req = req.set_propagate_tags(get_str(&d, "propagate-tags").map(PropagateTags::from));
            any = true;
        }
        if restart {
            req = req.force_new_deployment(true);
            any = true;
        }
        if any {
            req.send().await.map_err(aws("UpdateService"))?;
        }
        Ok(())
    }
}

fn network(attrs: &Map) -> Result<Option<NetworkConfiguration>, ProviderError> {
    let Some(n) = get_map(attrs, "network") else {
        return Ok(None);
    };
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(get_strings(n, "subnets"))
        .set_security_groups(get_strings(n, "security-groups").filter(|l| !l.is_empty()))
        .assign_public_ip(if get_bool(n, "assign-public-ip") == Some(true) {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(build("CreateService"))?;
    Ok(Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build(),
    ))
}

fn load_balancers(attrs: &Map) -> Vec<LoadBalancer> {
    get_blocks(attrs, "load-balancer")
        .map(|lb| {
            LoadBalancer::builder()
                .set_target_group_arn(get_str(lb, "target-group").map(str::to_string))
                .set_container_name(get_str(lb, "container").map(str::to_string))
                .set_container_port(get_i32(lb, "port"))
                .build()
        })
        .collect()
}

/// The deployment block (AWS's defaults where it is absent) as AWS's configuration. Its
/// `alarms` (names, or ARNs of alarms of the stack) go as `alarms { alarmNames, enable,
/// rollback }`; without any, `clear_alarms` sends alarms switched off (a service that had
/// some), otherwise none are sent.
fn deployment(attrs: &Map, clear_alarms: bool) -> DeploymentConfiguration {
    let empty = Map::new();
    let d = get_map(attrs, "deployment").unwrap_or(&empty);
    let on = |k: &str| get_bool(d, k) == Some(true);
    let names = alarm_names(d);
    let alarms = if !names.is_empty() {
        DeploymentAlarms::builder()
            .set_alarm_names(Some(names))
            .enable(true)
            .rollback(on("rollback"))
            .build()
            .ok()
    } else if clear_alarms {
        DeploymentAlarms::builder()
            .set_alarm_names(Some(Vec::new()))
            .enable(false)
            .rollback(false)
            .build()
            .ok()
    } else {
        None
    };
    DeploymentConfiguration::builder()
        .minimum_healthy_percent(get_i32(d, "minimum-healthy-percent").unwrap_or(100))
        .maximum_percent(get_i32(d, "maximum-percent").unwrap_or(200))
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(on("circuit-breaker"))
                .rollback(on("rollback"))
                .build(),
        )
        .set_alarms(alarms)
        .build()
}

/// The alarm names of a deployment block: references to alarms of the stack resolve to their
/// ARNs (the alarm's default attribute), which ECS does not take; the name is the ARN's tail.
fn alarm_names(deployment: &Map) -> Vec<String> {
    deployment
        .get("alarms")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(|a| alarm_name(a).to_string())
        .collect()
}

/// `arn:aws:cloudwatch:<region>:<account>:alarm:<name>` → `<name>` (a name may hold colons);
/// anything else is a name already.
fn alarm_name(text: &str) -> &str {
    if !text.starts_with("arn:") {
        return text;
    }
    let parts: Vec<&str> = text.splitn(7, ':').collect();
    match parts.as_slice() {
        [_, _, "cloudwatch", _, _, "alarm", name] => name,
        _ => text,
    }
}

/// The deployment's `bake`, if it has one that reads.
fn bake_time(attrs: &Map) -> Option<Duration> {
    let d = get_map(attrs, "deployment")?;
    crate::model::duration::parse(get_str(d, "bake")?)
        .ok()
        .filter(|b| !b.is_zero())
}

/// A service as AWS reports it, in schema terms.
pub(super) fn live_service(svc: &Service) -> Live {
    let mut a = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            a.insert(k.to_string(), v);
        }
    };
    put("name", svc.service_name().map(s));
    put("cluster", svc.cluster_arn().map(s));
    put("task-definition", svc.task_definition().map(s));
    put(
        "desired-count",
        Some(Value::Int(svc.desired_count().into())),
    );
    put("launch-type", svc.launch_type().map(|l| s(l.as_str())));
    put("platform-version", svc.platform_version().map(s));
    put(
        "network",
        svc.network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .map(|v| {
                let mut n = Map::new();
                n.insert("subnets".into(), strings(v.subnets()));
                if !v.security_groups().is_empty() {
                    n.insert("security-groups".into(), strings(v.security_groups()));
                }
                n.insert(
                    "assign-public-ip".into(),
                    Value::Bool(v.assign_public_ip() == Some(&AssignPublicIp::Enabled)),
                );
                Value::Map(n)
            }),
    );
    let lbs: Vec<Value> = svc
        .load_balancers()
        .iter()
        .map(|lb| {
            let mut m = Map::new();
            if let Some(tg) = lb.target_group_arn() {
                m.insert("target-group".into(), s(tg));
            }
            if let Some(c) = lb.container_name() {
                m.insert("container".into(), s(c));
            }
            if let Some(p) = lb.container_port() {
                m.insert("port".into(), Value::Int(p.into()));
            }
            Value::Map(m)
        })
        .collect();
    put(
        "load-balancer",
        (!lbs.is_empty()).then_some(Value::List(lbs)),
    );
    put(
        "deployment",
        svc.deployment_configuration().map(|d| {
            let mut m = Map::new();
            if let Some(v) = d.minimum_healthy_percent() {
                m.insert("minimum-healthy-percent".into(), Value::Int(v.into()));
            }
            if let Some(v) = d.maximum_percent() {
                m.insert("maximum-percent".into(), Value::Int(v.into()));
            }
            if let Some(cb) = d.deployment_circuit_breaker() {
                m.insert("circuit-breaker".into(), Value::Bool(cb.enable()));
                m.insert("rollback".into(), Value::Bool(cb.rollback()));
            }
            if let Some(alarms) = d.alarms().filter(|a| a.enable())
                && !alarms.alarm_names().is_empty()
            {
                m.insert("alarms".into(), strings(alarms.alarm_names()));
            }
            Value::Map(m)
        }),
    );
    put(
        "health-check-grace-period",
        svc.health_check_grace_period_seconds()
            .map(|g| Value::Int(g.into())),
    );
    put(
        "enable-execute-command",
        Some(Value::Bool(svc.enable_execute_command())),
    );
    put(
        "propagate-tags",
        svc.propagate_tags().map(|p| s(p.as_str())),
    );
    let (tags, owner) = live_tags(svc.tags());
    put("tags", Some(tags));
    let mut live = Live::new(a, owner);
    if let Some(arn) = svc.service_arn() {
        live.computed.insert("arn".into(), s(arn));
    }
    if let Some(td) = svc.task_definition() {
        live.private.insert(RUNNING_TASK_DEFINITION.into(), s(td));
    }
    live
}

/// A task definition written as a family alone (`web`, not `web:3` nor an ARN).
fn bare_family(text: &str) -> Option<&str> {
    (!text.is_empty() && !text.starts_with("arn:") && !text.contains(':')).then_some(text)
}

/// The comparable form of a service's attributes (desired or live).
pub(super) fn normalize(attrs: &mut Map) {
    fill_defaults(Kind::Service.schema().body, attrs);
    // Who owns the count is infra's setting, not AWS's.
    attrs.remove("desired-count-owner");
    // How infra applies, not what AWS holds.
    attrs.remove("wait-for-steady-state");
    for key in ["cluster", "task-definition"] {
        if let Some(Value::String(v)) = attrs.get_mut(key) {
            *v = arn_tail(v).to_string();
        }
    }
    if let Some(Value::Map(n)) = attrs.get_mut("network") {
        for key in ["subnets", "security-groups"] {
            if let Some(list) = n.get_mut(key) {
                sort_strings(list);
            }
        }
        if matches!(n.get("security-groups"), Some(Value::List(l)) if l.is_empty()) {
            n.remove("security-groups");
        }
    }
    if let Some(list) = attrs.get_mut("load-balancer") {
        sort_blocks(list, "target-group");
    }
    if matches!(attrs.get("load-balancer"), Some(Value::List(l)) if l.is_empty()) {
        attrs.remove("load-balancer");
    }
    if let Some(Value::Map(d)) = attrs.get_mut("deployment") {
        // How infra applies, not what AWS holds.
        d.remove("bake");
        match d.get("alarms") {
            Some(Value::List(items)) if items.is_empty() => {
                d.remove("alarms");
            }
            // Names, in any order; a list with an unknown name (an alarm this apply creates)
            // stays as it is.
            Some(Value::List(items)) if items.iter().all(|v| v.as_str().is_some()) => {
                let mut names = strings(&alarm_names(d));
                sort_strings(&mut names);
                d.insert("alarms".into(), names);
            }
            _ => {}
        }
    }
    let default: Map = DEFAULT_DEPLOYMENT
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    if attrs.get("deployment").and_then(Value::as_map) == Some(&default) {
        attrs.remove("deployment");
    }
    if attrs.get("health-check-grace-period") == Some(&Value::Int(0)) {
        attrs.remove("health-check-grace-period");
    }
}

/// What a look at a service's deployments says.
#[derive(Debug, PartialEq)]
enum Stability {
    Stable,
    Waiting,
    /// The revision apply asked for is not the one serving, and will not be: its rollout
    /// failed, or the service was pointed elsewhere (a circuit-breaker rollback, another deploy).
    NotServing(String),
}

/// Whether a task definition as AWS names it (an ARN or `family:revision`) is `expected`, the
/// one apply asked for (`family:revision`, or a bare family: its newest revision).
fn is_revision(actual: &str, expected: &str) -> bool {
    let actual = arn_tail(actual);
    let expected = arn_tail(expected);
    if expected.contains(':') {
        actual == expected
    } else {
        actual.split(':').next() == Some(expected)
    }
}

/// Stable: the service runs `expected`, in one deployment, rolled out (where AWS reports the
/// rollout, its COMPLETED is AWS's word for steady), with every task it wants running. Not serving: the deployment of `expected` failed, or the service now runs
/// another revision — a rollback that completed between two looks is caught by the second.
///
/// AWS starts a new PRIMARY deployment in the same call that changes the service's task
/// definition, so the service's own `taskDefinition` is what it serves once one deployment is
/// left. (moto keeps the first deployment's revision after UpdateService, so the deployment's
/// revision is only read where it tells of a failure.)
fn stability(svc: &Service, expected: &str) -> (Stability, String) {
    let deployments = svc.deployments();
    let primary = deployments
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .or(deployments.first());
    let rollout = primary.and_then(|d| d.rollout_state());
    let mut seen = format!(
        "running {}/{}, rollout {}",
        svc.running_count(),
        svc.desired_count(),
        rollout.map_or("not reported", |r| r.as_str())
    );
    if deployments.len() > 1 {
        seen.push_str(&format!(", {} deployments", deployments.len()));
    }
    let serving = svc.task_definition().unwrap_or("(none)");
    let ours = arn_tail(expected);
    if let Some(failed) = deployments.iter().find(|d| {
        d.rollout_state() == Some(&DeploymentRolloutState::Failed)
            && d.task_definition()
                .is_none_or(|td| is_revision(td, expected))
    }) {
        let reason = failed.rollout_state_reason().unwrap_or("no reason given");
        let then = if is_revision(serving, expected) {
            String::new()
        } else {
            format!("; the service runs `{}` again", arn_tail(serving))
        };
        return (
            Stability::NotServing(format!("the deployment of `{ours}` failed: {reason}{then}")),
            seen,
        );
    }
    if !is_revision(serving, expected) {
        return (
            Stability::NotServing(format!(
                "the service runs `{}`, not `{ours}` that this apply deployed: ECS rolled it \
                 back, or another deploy replaced it while infra waited",
                arn_tail(serving)
            )),
            seen,
        );
    }
    let done = match rollout {
        Some(r) => *r == DeploymentRolloutState::Completed,
        None => true,
    };
    // moto reports two running tasks for a service that wants none or one; AWS never runs
    // more than it wants once a rollout is complete. Fewer is never done.
    let state = if deployments.len() <= 1 && done && svc.running_count() >= svc.desired_count() {
        Stability::Stable
    } else {
        Stability::Waiting
    };
    (state, seen)
}

/// The last few things ECS said about a service, newest first, and why its latest tasks
/// stopped: what a user reads first when a deploy did not take.
fn what_ecs_said(svc: &Service, stopped: &[(String, String)]) -> String {
    let mut out = String::new();
    let events: Vec<&str> = svc
        .events()
        .iter()
        .filter_map(|e| e.message())
        .take(EVENTS_SHOWN)
        .collect();
    if events.is_empty() {
        out.push_str("\n  ECS reported no service events");
    } else {
        out.push_str("\n  last service events (newest first):");
        for e in events {
            out.push_str(&format!("\n    {e}"));
        }
    }
    if stopped.is_empty() {
        out.push_str("\n  no stopped tasks to explain it");
    } else {
        out.push_str("\n  why tasks stopped:");
        for (task, reason) in stopped {
            out.push_str(&format!("\n    {task}: {reason}"));
        }
    }
    out
}

/// What the end of a wait says of the revision it waited for: verified when it serves, failed
/// when it does not (its deployment failed, was rolled back or replaced, a bake restored the
/// previous one) or did not within the wait; unknown after any other error (AWS could not be
/// read: the deploy may have served).
fn outcome_of(waited: &Result<(), ProviderError>) -> Option<Outcome> {
    match waited {
        Ok(()) => Some(Outcome::Verified),
        Err(ProviderError::NotServing(_) | ProviderError::TimedOut(_)) => Some(Outcome::Failed),
        Err(_) => None,
    }
}

/// The task definition ARN a service ran before an update that moves it to another revision;
/// `None` when the update leaves the revision alone (a restart, another setting).
fn previous_revision(desired: &Desired, live: &Live) -> Option<String> {
    let running = live
        .private
        .get(RUNNING_TASK_DEFINITION)
        .and_then(Value::as_str)
        .or_else(|| live.str("task-definition"))?;
    let wanted = desired.str("task-definition")?;
    (!is_revision(running, wanted)).then(|| running.to_string())
}

/// The names a DescribeAlarms answer (`(name, state)`) has in ALARM.
fn in_alarm(states: &[(String, String)]) -> Vec<String> {
    states
        .iter()
        .filter(|(_, state)| state == "ALARM")
        .map(|(name, _)| name.clone())
        .collect()
}

/// The first of `watched` that went into ALARM: in ALARM in a DescribeAlarms answer
/// (`(name, state)`), and not among `ignored` (in ALARM since before the deployment). An
/// ignored alarm seen out of ALARM is watched from then on.
fn firing<'a>(
    watched: &[String],
    ignored: &mut Vec<String>,
    states: &'a [(String, String)],
) -> Option<&'a str> {
    ignored.retain(|i| {
        states
            .iter()
            .any(|(name, state)| name == i && state == "ALARM")
    });
    states
        .iter()
        .find(|(name, state)| state == "ALARM" && watched.contains(name) && !ignored.contains(name))
        .map(|(name, _)| name.as_str())
}

/// What a bake sees in one look: each watched alarm and its state, `missing` for one
/// CloudWatch does not know.
fn alarm_summary(watched: &[String], states: &[(String, String)]) -> String {
    watched
        .iter()
        .map(|w| {
            let state = states
                .iter()
                .find(|(n, _)| n == w)
                .map_or("missing", |(_, s)| s.as_str());
            format!("{w} {state}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn poll_interval() -> Duration {
    std::env::var("INFRA_POLL_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(POLL_INTERVAL, Duration::from_millis)
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

impl ResourceKind for Services {
    fn kind(&self) -> Kind {
        Kind::Service
    }

    /// `cluster|name`, the cluster by name whether the stack gives its name or its ARN.
    fn key(&self, attrs: &Map) -> Option<String> {
        let cluster = attrs.get("cluster").and_then(Value::as_str)?;
        let name = attrs.get("name").and_then(Value::as_str)?;
        Some(format!("{}|{name}", arn_tail(cluster)))
    }

    fn normalize(&self, attrs: &mut Map) {
        normalize(attrs);
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            // Service ARNs name their cluster: `service/<cluster>/<name>`.
            let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (rest, _) in self.owned.of("ecs", "service/").await? {
                if let Some((cluster, name)) = rest.split_once('/') {
                    by_cluster
                        .entry(cluster.to_string())
                        .or_default()
                        .push(name.to_string());
                }
            }
            let mut lives: Vec<Live> = self
                .describe_grouped(&by_cluster)
                .await?
                .iter()
                .map(live_service)
                .filter(|l| matches!(&l.owner, Owner::Stack { stack: s, .. } if s == stack))
                .collect();
            self.settle_families(&mut lives, desired).await?;
            Ok(lives)
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for d in desired {
                if let (Some(cluster), Some(name)) = (d.str("cluster"), d.str("name")) {
                    by_cluster
                        .entry(cluster.to_string())
                        .or_default()
                        .push(name.to_string());
                }
            }
            let mut found: Vec<Live> = self
                .describe_grouped(&by_cluster)
                .await?
                .iter()
                .map(live_service)
                .collect();
            self.settle_families(&mut found, desired).await?;
            Ok(desired
                .iter()
                .map(|d| {
                    let key = self.key(&d.attrs)?;
                    found
                        .iter()
                        .find(|l| self.key(&l.attrs).as_deref() == Some(key.as_str()))
                        .cloned()
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let a = &desired.attrs;
            let fargate = get_str(a, "launch-type") == Some("FARGATE");
            let lbs = load_balancers(a);
            let tags = ecs_tags(a);
            let out = self
                .client
                .create_service()
                .client_token(client_token(&desired.address))
                .set_cluster(get_str(a, "cluster").map(str::to_string))
                .set_service_name(get_str(a, "name").map(str::to_string))
                .set_task_definition(get_str(a, "task-definition").map(str::to_string))
                .set_desired_count(get_i32(a, "desired-count"))
                .set_launch_type(get_str(a, "launch-type").map(LaunchType::from))
                .set_platform_version(
                    get_str(a, "platform-version")
                        .filter(|_| fargate)
                        .map(str::to_string),
                )
                .set_network_configuration(network(a)?)
                .set_load_balancers((!lbs.is_empty()).then_some(lbs))
                .set_deployment_configuration(
                    a.contains_key("deployment").then(|| deployment(a, false)),
                )
                .set_health_check_grace_period_seconds(get_i32(a, "health-check-grace-period"))
                .set_enable_execute_command(get_bool(a, "enable-execute-command"))
                .set_propagate_tags(get_str(a, "propagate-tags").map(PropagateTags::from))
                .set_tags((!tags.is_empty()).then_some(tags))
                .send()
                .await
                .map_err(aws("CreateService"))?;
            let created = out.service().map(live_service);
            if let Some(created) = &created {
                // Harmless on AWS, needed where CreateService does not store everything.
                self.update_service(desired, &created.attrs, Some(&SET_AFTER_CREATE), false)
                    .await?;
            }
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            if let Some(arn) = created.as_ref().and_then(|c| c.computed.get("arn")) {
                live.computed.insert("arn".into(), arn.clone());
            }
            Ok(live)
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        _changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let moved = moved_secrets(&desired.attrs, &live.attrs);
            let waits = get_bool(&desired.attrs, "wait-for-steady-state") != Some(false);
            // A bake ignores, as ECS does, the alarms in ALARM when the deployment starts.
            let watched = get_map(&desired.attrs, "deployment")
                .map(alarm_names)
                .unwrap_or_default();
            let before = if waits
                && !watched.is_empty()
                && bake_time(&desired.attrs).is_some()
                && previous_revision(desired, live).is_some()
            {
                let states = self.alarm_states(&watched).await?;
                Some(in_alarm(&states))
            } else {
                None
            };
            self.update_service(desired, &live.attrs, None, !moved.is_empty())
                .await?;
            let mut tagged = desired.attrs.clone();
            if !moved.is_empty() && waits {
                // The secret versions are recorded once the restarted tasks serve
                // (`wait_stable`): a restart that fails must leave the next plan still asking
                // for it. Until then the service keeps the versions it has.
                hold_secret_versions(&mut tagged, &live.attrs);
            }
            super::retag(
                &self.client,
                kit::live_arn(live, "service")?,
                &tagged,
                &live.attrs,
            )
            .await?;
            let mut updated = Live::converged(desired, live);
            if moved.is_empty() && previous_revision(desired, live).is_none() {
                updated
                    .private
                    .insert(NO_DEPLOYMENT.into(), Value::Bool(true));
            }
            if let Some(previous) = previous_revision(desired, live) {
                updated
                    .private
                    .insert(PREVIOUS_TASK_DEFINITION.into(), s(&previous));
                if let Some(before) = before {
                    updated
                        .private
                        .insert(ALARMS_IN_ALARM_BEFORE.into(), strings(&before));
                }
            }
            Ok(updated)
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let cluster = live.str("cluster").unwrap_or_default();
            let name = live.str("name").unwrap_or_default();
            self.client
                .update_service()
                .cluster(cluster)
                .service(name)
                .desired_count(0)
                .send()
                .await
                .map_err(aws("UpdateService"))?;
            self.client
                .delete_service()
                .cluster(cluster)
                .service(name)
                .force(true)
                .send()
                .await
                .map_err(aws("DeleteService"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let cluster = live.str("cluster").unwrap_or_default();
            let name = live.str("name").unwrap_or_default().to_string();
            Ok(self
                .describe(cluster, &[name])
                .await?
                .first()
                .map(|s| live_service(s).owner))
        })
    }

    fn restart<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            self.client
                .update_service()
                .cluster(live.str("cluster").unwrap_or_default())
                .service(live.str("name").unwrap_or_default())
                .force_new_deployment(true)
                .send()
                .await
                .map_err(aws("UpdateService"))?;
            Ok(())
        })
    }

    /// A deleted service drains (its tasks stop) before its name can be used again.
    fn wait_gone<'a>(
        &'a self,
        live: &'a Live,
        timeout: Duration,
        progress: &'a (dyn Fn(String) + Send + Sync),
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let cluster = live.str("cluster").unwrap_or_default();
            let name = live.str("name").unwrap_or_default();
            let interval = poll_interval();
            let deadline = Instant::now() + timeout;
            loop {
                match self.status(cluster, name).await? {
                    None => return Ok(()),
                    Some(status) if status == "INACTIVE" => return Ok(()),
                    Some(status) => progress(format!(
                        "waiting for the old service to be gone before its successor is made \
                         (status {status})"
                    )),
                }
                if Instant::now() + interval > deadline {
                    return Err(ProviderError::Input(format!(
                        "the old service `{name}` was not gone within {}; its successor was not \
                         created (raise --wait-timeout and apply again)",
                        human(timeout)
                    )));
                }
                tokio::time::sleep(interval).await;
            }
        })
    }

    fn wait_stable<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        timeout: Duration,
        progress: &'a (dyn Fn(String) + Send + Sync),
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            if get_bool(&desired.attrs, "wait-for-steady-state") == Some(false) {
                return Ok(());
            }
            let cluster = desired.str("cluster").unwrap_or_default();
            let name = desired.str("name").unwrap_or_default();
            let expected = desired.str("task-definition").unwrap_or_default();
            let waited = async {
                self.wait_serving(cluster, name, expected, timeout, progress)
                    .await?;
                self.bake(desired, live, timeout, progress).await
            }
            .await;
            let recorded = self.record_outcome(desired, live, &waited).await;
            waited?;
            recorded?;
            self.record_secret_versions(desired, live).await
        })
    }
}

/// `desired`'s tags with each secret-version tag (`infra:secret:<address>`) as `live` has it,
/// or absent when `live` has none: what a service is tagged with before its restart serves.
fn hold_secret_versions(desired: &mut Map, live: &Map) {
    let held = live.get("tags").and_then(Value::as_map);
    if let Some(Value::Map(tags)) = desired.get_mut("tags") {
        tags.retain(|k, _| !k.starts_with(SECRET_VERSION_TAG));
        if let Some(held) = held {
            tags.extend(
                held.iter()
                    .filter(|(k, _)| k.starts_with(SECRET_VERSION_TAG))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
    }
}

/// The ACTIVE services of `cluster` among `names`, with their tags, every chunk of names at once;
/// none when the cluster does not exist. Also read by `aws/autoscaling.rs` for the owners of
/// scaled services.
pub(in crate::providers::aws) async fn active_services(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    names: &[String],
) -> Result<Vec<Service>, ProviderError> {
    // Every chunk of names at once.
    kit::in_chunks(names, NAMES_PER_DESCRIBE, |chunk| async move {
        let page = match client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
        {
            Ok(page) => page,
            // No cluster, no services.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_cluster_not_found_exception()) =>
            {
                return Ok(Vec::new());
            }
            Err(e) => return Err(aws("DescribeServices")(e)),
        };
        Ok(page
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .cloned()
            .collect::<Vec<_>>())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::Deployment;

    fn map(pairs: &[(&str, Value)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_wait_records_verified_failed_or_nothing() {
        assert_eq!(outcome_of(&Ok(())), Some(Outcome::Verified));
        for failed in [
            ProviderError::NotServing("rolled back".into()),
            ProviderError::TimedOut("not stable within 10m".into()),
        ] {
            assert_eq!(outcome_of(&Err(failed)), Some(Outcome::Failed));
        }
        // AWS could not be read: the deploy may have served.
        assert_eq!(
            outcome_of(&Err(ProviderError::Input("no ARN".into()))),
            None
        );
    }

    #[test]
    fn cluster_and_task_definition_compare_by_name_whether_arn_or_not() {
        let mut desired = map(&[
            ("name", s("api")),
            ("cluster", s("shop")),
            (
                "task-definition",
                s("arn:aws:ecs:r:1:task-definition/api:3"),
            ),
            ("wait-for-steady-state", Value::Bool(true)),
            (
                "network",
                Value::Map(map(&[("subnets", strings(&["b".into(), "a".into()]))])),
            ),
        ]);
        let svc = Service::builder()
            .service_name("api")
            .cluster_arn("arn:aws:ecs:r:1:cluster/shop")
            .task_definition("arn:aws:ecs:r:1:task-definition/api:3")
            .desired_count(1)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets("a")
                            .subnets("b")
                            .assign_public_ip(AssignPublicIp::Disabled)
                            .build()
                            .expect("a vpc configuration"),
                    )
                    .build(),
            )
            // What AWS reports for a service created without a deployment block.
            .deployment_configuration(deployment(&Map::new(), false))
            .health_check_grace_period_seconds(0)
            .build();
        let mut live = live_service(&svc).attrs;
        normalize(&mut desired);
        normalize(&mut live);
        live.remove("tags");
        assert_eq!(live, desired);
        assert_eq!(desired.get("cluster"), Some(&s("shop")));
        assert_eq!(desired.get("task-definition"), Some(&s("api:3")));
    }

    #[test]
    fn only_a_family_alone_is_a_bare_family() {
        assert_eq!(bare_family("web"), Some("web"));
        assert_eq!(bare_family("web:3"), None);
        assert_eq!(
            bare_family("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"),
            None
        );
        assert_eq!(bare_family(""), None);
    }

    const OLD: &str = "arn:aws:ecs:r:1:task-definition/api:3";
    const NEW: &str = "arn:aws:ecs:r:1:task-definition/api:4";

    /// A service that runs `serving`, with deployments of (status, revision, rollout state).
    fn service(
        running: i32,
        desired: i32,
        serving: &str,
        rollouts: &[(&str, &str, Option<DeploymentRolloutState>)],
    ) -> Service {
        let mut b = Service::builder()
            .running_count(running)
            .desired_count(desired)
            .task_definition(serving);
        for (status, revision, rollout) in rollouts {
            b = b.deployments(
                Deployment::builder()
                    .status(*status)
                    .task_definition(*revision)
                    .set_rollout_state(rollout.clone())
                    .rollout_state_reason("tasks failed to start")
                    .build(),
            );
        }
        b.build()
    }

    #[test]
    fn stable_means_the_requested_revision_rolled_out_and_running() {
        use DeploymentRolloutState::{Completed, InProgress};
        let (state, seen) = stability(
            &service(2, 2, NEW, &[("PRIMARY", NEW, Some(Completed))]),
            "api:4",
        );
        assert_eq!(state, Stability::Stable);
        assert_eq!(seen, "running 2/2, rollout COMPLETED");
        let (state, seen) = stability(
            &service(
                1,
                2,
                NEW,
                &[
                    ("PRIMARY", NEW, Some(InProgress)),
                    ("ACTIVE", OLD, Some(Completed)),
                ],
            ),
            NEW,
        );
        assert_eq!(state, Stability::Waiting);
        assert_eq!(seen, "running 1/2, rollout IN_PROGRESS, 2 deployments");
        // Without rollout states, the task counts decide.
        assert_eq!(
            stability(&service(2, 2, NEW, &[("PRIMARY", NEW, None)]), NEW).0,
            Stability::Stable
        );
        assert_eq!(
            stability(&service(1, 2, NEW, &[("PRIMARY", NEW, None)]), NEW).0,
            Stability::Waiting
        );
        // A rollout reported complete with tasks missing is not done either.
        assert_eq!(
            stability(
                &service(1, 2, NEW, &[("PRIMARY", NEW, Some(Completed))]),
                NEW
            )
            .0,
            Stability::Waiting
        );
        // A bare family asks for whatever revision is newest: the family decides.
        assert_eq!(
            stability(&service(2, 2, NEW, &[("PRIMARY", NEW, None)]), "api").0,
            Stability::Stable
        );
    }

    #[test]
    fn a_failed_rollout_or_another_revision_serving_is_not_success() {
        use DeploymentRolloutState::{Completed, Failed, InProgress};
        // The circuit breaker is rolling back: the new deployment failed.
        let (state, _) = stability(
            &service(
                2,
                2,
                OLD,
                &[
                    ("PRIMARY", OLD, Some(InProgress)),
                    ("ACTIVE", NEW, Some(Failed)),
                ],
            ),
            NEW,
        );
        assert_eq!(
            state,
            Stability::NotServing(
                "the deployment of `api:4` failed: tasks failed to start; the service runs \
                 `api:3` again"
                    .into()
            )
        );
        // The rollback completed between two looks: one deployment, settled, on the old
        // revision. Today's main called this stable.
        let (state, _) = stability(
            &service(2, 2, OLD, &[("PRIMARY", OLD, Some(Completed))]),
            NEW,
        );
        assert_eq!(
            state,
            Stability::NotServing(
                "the service runs `api:3`, not `api:4` that this apply deployed: ECS rolled it \
                 back, or another deploy replaced it while infra waited"
                    .into()
            )
        );
        // A failed deployment of some other revision (the one being replaced) is not ours.
        assert_eq!(
            stability(
                &service(
                    1,
                    2,
                    NEW,
                    &[
                        ("PRIMARY", NEW, Some(InProgress)),
                        ("ACTIVE", OLD, Some(Failed))
                    ],
                ),
                NEW,
            )
            .0,
            Stability::Waiting
        );
    }

    #[test]
    fn a_failed_deploy_says_what_ecs_said() {
        let svc = Service::builder()
            .events(
                aws_sdk_ecs::types::ServiceEvent::builder()
                    .message("(service api) was unable to place a task")
                    .build(),
            )
            .build();
        let text = what_ecs_said(
            &svc,
            &[("abc123".into(), "Essential container in task exited".into())],
        );
        assert_eq!(
            text,
            "\n  last service events (newest first):\n    (service api) was unable to place a \
             task\n  why tasks stopped:\n    abc123: Essential container in task exited"
        );
        assert_eq!(
            what_ecs_said(&Service::builder().build(), &[]),
            "\n  ECS reported no service events\n  no stopped tasks to explain it"
        );
    }

    const ALARM_ARN: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api:5xx";

    #[test]
    fn an_alarm_reference_names_the_alarm() {
        assert_eq!(alarm_name(ALARM_ARN), "api:5xx");
        assert_eq!(alarm_name("api-p95"), "api-p95");
        // Not an alarm's ARN: sent as written, for AWS to judge.
        assert_eq!(
            alarm_name("arn:aws:sns:us-east-1:1:topic"),
            "arn:aws:sns:us-east-1:1:topic"
        );
    }

    fn with_alarms(alarms: Value, rollback: bool) -> Map {
        map(&[(
            "deployment",
            Value::Map(map(&[
                ("circuit-breaker", Value::Bool(true)),
                ("rollback", Value::Bool(rollback)),
                ("alarms", alarms),
                ("bake", s("5m")),
            ])),
        )])
    }

    #[test]
    fn deployment_alarms_go_to_ecs_by_name_with_the_blocks_rollback() {
        let attrs = with_alarms(Value::List(vec![s(ALARM_ARN), s("api-p95")]), true);
        let config = deployment(&attrs, false);
        let alarms = config.alarms().expect("alarms are sent");
        assert_eq!(alarms.alarm_names(), ["api:5xx", "api-p95"]);
        assert!(alarms.enable());
        assert!(alarms.rollback());
        assert!(
            !deployment(&with_alarms(Value::List(vec![s("a")]), false), false)
                .alarms()
                .expect("alarms are sent")
                .rollback()
        );
        // None named: none sent, unless the service had some, which are switched off.
        assert!(deployment(&Map::new(), false).alarms().is_none());
        let off = deployment(&Map::new(), true);
        let off = off.alarms().expect("alarms switched off");
        assert!(!off.enable());
        assert!(off.alarm_names().is_empty());
    }

    #[test]
    fn deployment_alarms_read_back_compare_equal_and_bake_is_not_compared() {
        let mut desired = with_alarms(Value::List(vec![s("api-p95"), s(ALARM_ARN)]), true);
        let svc = Service::builder()
            .deployment_configuration(deployment(&desired, false))
            .build();
        let mut live = live_service(&svc).attrs;
        let live_deployment = get_map(&live, "deployment").expect("a deployment");
        assert_eq!(
            live_deployment.get("alarms"),
            Some(&Value::List(vec![s("api-p95"), s("api:5xx")]))
        );
        normalize(&mut desired);
        normalize(&mut live);
        assert_eq!(desired.get("deployment"), live.get("deployment"));
        // Alarms switched off read as none, and none is AWS's default.
        let svc = Service::builder()
            .deployment_configuration(deployment(&Map::new(), true))
            .build();
        let mut live = live_service(&svc).attrs;
        normalize(&mut live);
        assert_eq!(live.get("deployment"), None);
    }

    #[test]
    fn an_unknown_alarm_name_stays_unknown() {
        let mut desired = with_alarms(Value::List(vec![Value::Unknown, s("b")]), true);
        normalize(&mut desired);
        assert_eq!(
            get_map(&desired, "deployment").and_then(|d| d.get("alarms")),
            Some(&Value::List(vec![Value::Unknown, s("b")]))
        );
    }

    #[test]
    fn bake_reads_as_a_duration() {
        assert_eq!(
            bake_time(&with_alarms(Value::List(vec![]), true)),
            Some(Duration::from_secs(300))
        );
        assert_eq!(bake_time(&Map::new()), None);
    }

    fn states(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect()
    }

    #[test]
    fn a_bake_fails_on_an_alarm_that_goes_into_alarm_not_one_that_was_there() {
        let watched = vec!["a".to_string(), "b".to_string()];
        let mut ignored = vec!["b".to_string()];
        assert_eq!(
            firing(
                &watched,
                &mut ignored,
                &states(&[("a", "OK"), ("b", "ALARM")])
            ),
            None
        );
        assert_eq!(ignored, ["b"]);
        assert_eq!(
            firing(
                &watched,
                &mut ignored,
                &states(&[("a", "ALARM"), ("b", "ALARM")])
            ),
            Some("a")
        );
        // b leaves ALARM: from then on it counts.
        assert_eq!(
            firing(&watched, &mut ignored, &states(&[("a", "OK"), ("b", "OK")])),
            None
        );
        assert!(ignored.is_empty());
        assert_eq!(
            firing(&watched, &mut ignored, &states(&[("b", "ALARM")])),
            Some("b")
        );
        // An alarm nobody watches does not count.
        assert_eq!(
            firing(&watched, &mut Vec::new(), &states(&[("c", "ALARM")])),
            None
        );
        assert_eq!(
            alarm_summary(&watched, &states(&[("a", "INSUFFICIENT_DATA")])),
            "a INSUFFICIENT_DATA, b missing"
        );
    }

    #[test]
    fn the_previous_revision_is_the_one_running_before_a_new_one() {
        let desired = |td: &str| Desired {
            address: "service.api".into(),
            attrs: map(&[("task-definition", s(td))]),
            protected: false,
            pending: BTreeMap::new(),
        };
        let mut live = Live::new(map(&[("task-definition", s("api"))]), Owner::Nobody);
        // The family read as settled; DescribeServices' ARN is what ran.
        live.private.insert(RUNNING_TASK_DEFINITION.into(), s(OLD));
        assert_eq!(previous_revision(&desired(NEW), &live), Some(OLD.into()));
        // The same revision (a restart, another setting): nothing to restore.
        assert_eq!(previous_revision(&desired(OLD), &live), None);
        assert_eq!(previous_revision(&desired("api:3"), &live), None);
    }

    #[test]
    fn timeouts_read_as_written() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_secs(90)), "90s");
    }
}
