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
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentRolloutState, LaunchType, LoadBalancer, NetworkConfiguration, PropagateTags, Service,
    ServiceField, Tag,
};

use super::super::error::{aws, build};
use super::super::tagging::OwnedIndex;
use super::{
    arn_tail, ecs_tags, fill_defaults, get_blocks, get_bool, get_i32, get_map, get_str,
    get_strings, live_tags, s, sort_blocks, sort_strings, strings,
};
use crate::model::{Kind, Value};
use crate::providers::{
    BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, SECRET_VERSION_TAG, client_token,
    desired_tags, moved_secrets, tag_changes,
};

type Map = BTreeMap<String, Value>;

/// DescribeServices accepts at most 10 services per call.
const NAMES_PER_DESCRIBE: usize = 10;
/// How often `wait_stable` looks at a deployment unless `INFRA_POLL_INTERVAL_MS` says otherwise.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
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
const SET_AFTER_CREATE: [&str; 3] = [
    "deployment",
    "health-check-grace-period",
    "enable-execute-command",
];

pub struct Services {
    client: Client,
    owned: Arc<OwnedIndex>,
}

impl Services {
    pub fn new(client: Client, owned: Arc<OwnedIndex>) -> Self {
        Services { client, owned }
    }

    /// The named services of one cluster that are ACTIVE.
    async fn describe(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<Vec<Service>, ProviderError> {
        let mut out = Vec::new();
        for chunk in names.chunks(NAMES_PER_DESCRIBE) {
            let page = match self
                .client
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
            out.extend(
                page.services()
                    .iter()
                    .filter(|s| s.status() == Some("ACTIVE"))
                    .cloned(),
            );
        }
        Ok(out)
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

    /// Sets `tags` on the service (one TagResource; none when there is nothing to set).
    async fn tag(&self, arn: &str, tags: Vec<(String, String)>) -> Result<(), ProviderError> {
        if tags.is_empty() {
            return Ok(());
        }
        let tags = tags
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
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
            req = req.deployment_configuration(deployment(&d));
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

/// The deployment block (AWS's defaults where it is absent) as AWS's configuration.
fn deployment(attrs: &Map) -> DeploymentConfiguration {
    let empty = Map::new();
    let d = get_map(attrs, "deployment").unwrap_or(&empty);
    let on = |k: &str| get_bool(d, k) == Some(true);
    DeploymentConfiguration::builder()
        .minimum_healthy_percent(get_i32(d, "minimum-healthy-percent").unwrap_or(100))
        .maximum_percent(get_i32(d, "maximum-percent").unwrap_or(200))
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(on("circuit-breaker"))
                .rollback(on("rollback"))
                .build(),
        )
        .build()
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
    live
}

/// A task definition written as a family alone (`web`, not `web:3` nor an ARN).
fn bare_family(text: &str) -> Option<&str> {
    (!text.is_empty() && !text.starts_with("arn:") && !text.contains(':')).then_some(text)
}

/// The comparable form of a service's attributes (desired or live).
pub(super) fn normalize(attrs: &mut Map) {
    fill_defaults(Kind::Service.schema().body, attrs);
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
                .set_deployment_configuration(a.contains_key("deployment").then(|| deployment(a)))
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
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let moved = moved_secrets(&desired.attrs, &live.attrs);
            let waits = get_bool(&desired.attrs, "wait-for-steady-state") != Some(false);
            self.update_service(desired, &live.attrs, None, !moved.is_empty())
                .await?;
            let arn = || {
                live.computed
                    .get("arn")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ProviderError::Input("the live service has no ARN".into()))
            };
            let (mut set, remove) = tag_changes(&desired.attrs, &live.attrs);
            if !moved.is_empty() && waits {
                // Recorded once the restarted tasks serve (`wait_stable`): a restart that
                // fails must leave the next plan still asking for it.
                set.retain(|(k, _)| !k.starts_with(SECRET_VERSION_TAG));
            }
            if !remove.is_empty() {
                self.client
                    .untag_resource()
                    .resource_arn(arn()?)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(aws("UntagResource"))?;
            }
            if !set.is_empty() {
                self.tag(arn()?, set).await?;
            }
            Ok(Live::converged(desired, live))
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
            let interval = poll_interval();
            let deadline = Instant::now() + timeout;
            let expected = desired.str("task-definition").unwrap_or_default();
            let mut last = String::new();
            loop {
                let svc = self.describe_one(cluster, name).await?;
                let (state, seen) = stability(&svc, expected);
                if seen != last {
                    progress(seen.clone());
                    last = seen;
                }
                match state {
                    Stability::Stable => return self.record_secret_versions(desired, live).await,
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
                    return Err(ProviderError::Input(format!(
                        "service `{name}` did not become stable within {} (last seen: {last}); \
                         raise --wait-timeout, or set wait-for-steady-state #false",
                        human(timeout)
                    )));
                }
                tokio::time::sleep(interval).await;
            }
        })
    }
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
            .deployment_configuration(deployment(&Map::new()))
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

    #[test]
    fn timeouts_read_as_written() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_secs(90)), "90s");
    }
}
