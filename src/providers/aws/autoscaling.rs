//! Application Auto Scaling of ECS services: the scalable target, its target-tracking policies
//! and its scheduled actions, as one `scaling` resource.
//!
//! Reads are namespace-wide (every ECS scalable target, policy and scheduled action of the
//! region, in pages), so a plan costs a few calls whatever the number of scalings. A target is
//! this stack's when the service it scales is this stack's (its tags, read with
//! DescribeServices) and a scaling of the stack names that service; a target on a service of
//! the stack that no scaling names any more is this stack's when its own `infra:` tags say so
//! (written by RegisterScalableTarget; emulators that keep no tags leave it alone).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTarget,
    ScalableTargetAction, ScalingPolicy, ScheduledAction, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};

use super::error::{aws, build};
use super::kit;
use crate::model::{Kind, Value};
use crate::providers::{
    ADDRESS_TAG, BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, STACK_TAG,
    owner_from_tags,
};

/// `Live::private`: the address of the service the target scales, as its tags said when read.
const SERVICE_ADDRESS: &str = "service-address";
/// `Live::private`: the scaling's address, when ownership came from the service.
const SCALING_ADDRESS: &str = "scaling-address";
/// `Live::private`: `true` when ownership came from the target's own tags.
const TAGGED: &str = "tagged";

const METRICS: [(&str, &str); 3] = [
    ("cpu", "ECSServiceAverageCPUUtilization"),
    ("memory", "ECSServiceAverageMemoryUtilization"),
    ("requests", "ALBRequestCountPerTarget"),
];

/// At most this many resource ids per DescribeScalableTargets call.
const IDS_PER_DESCRIBE: usize = 50;

pub struct Scalings {
    client: Client,
    ecs: aws_sdk_ecs::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    stack: String,
    /// The last namespace-wide listing (`list_owned`), which serves the reads of the same
    /// refresh: a scaling's service is a reference, unknown when the listing runs, so its
    /// target is found by a read in a later round. Any write forgets it.
    listed: Mutex<Option<Arc<Listing>>>,
}

/// Targets with what the other namespace-wide calls say about them.
struct Listing {
    targets: Vec<ScalableTarget>,
    policies: HashMap<String, Vec<ScalingPolicy>>,
    actions: HashMap<String, Vec<ScheduledAction>>,
    /// The owners of the services the targets scale, by resource id.
    services: HashMap<String, Owner>,
}

impl Scalings {
    pub fn new(clients: &super::Clients, stack: String) -> Self {
        Scalings {
            client: clients.autoscaling.clone(),
            ecs: clients.ecs.clone(),
            elbv2: clients.elbv2.clone(),
            stack,
            listed: Mutex::new(None),
        }
    }

    /// Targets (every one of the region, or those of `ids`) with their policies, scheduled
    /// actions and services' owners.
    async fn listing(&self, ids: Option<&[String]>) -> Result<Listing, ProviderError> {
        let targets = self.targets(ids).await?;
        let ids: Vec<String> = targets
            .iter()
            .map(|t| t.resource_id().to_string())
            .collect();
        let (services, policies, actions) =
            futures::future::try_join3(self.service_owners(&ids), self.policies(), self.actions())
                .await?;
        Ok(Listing {
            targets,
            policies,
            actions,
            services,
        })
    }

    /// Forgets the last listing: what it says may have changed.
    fn forget(&self) {
        if let Ok(mut listed) = self.listed.lock() {
            *listed = None;
        }
    }

    /// ECS desired-count targets: every one of the region, or those of `ids`.
    async fn targets(&self, ids: Option<&[String]>) -> Result<Vec<ScalableTarget>, ProviderError> {
        let page = |chunk: Option<Vec<String>>| async move {
            kit::pages(|token| {
                let chunk = chunk.clone();
                async move {
                    let out = self
                        .client
                        .describe_scalable_targets()
                        .service_namespace(ServiceNamespace::Ecs)
                        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                        .set_resource_ids(chunk)
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(aws("DescribeScalableTargets"))?;
                    Ok((
                        out.scalable_targets().to_vec(),
                        out.next_token().map(str::to_string),
                    ))
                }
            })
            .await
        };
        match ids {
            None => page(None).await,
            Some([]) => Ok(Vec::new()),
            Some(ids) => {
                kit::in_chunks(ids, IDS_PER_DESCRIBE, |chunk| page(Some(chunk.to_vec()))).await
            }
        }
    }

    /// Every ECS scaling policy of the region, by resource id.
    async fn policies(&self) -> Result<HashMap<String, Vec<ScalingPolicy>>, ProviderError> {
        let all = kit::pages(|token| async move {
            let out = self
                .client
                .describe_scaling_policies()
                .service_namespace(ServiceNamespace::Ecs)
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("DescribeScalingPolicies"))?;
            Ok((
                out.scaling_policies().to_vec(),
                out.next_token().map(str::to_string),
            ))
        })
        .await?;
        let mut by_id: HashMap<String, Vec<ScalingPolicy>> = HashMap::new();
        for p in all {
            if p.scalable_dimension() == &ScalableDimension::EcsServiceDesiredCount {
                by_id
                    .entry(p.resource_id().to_string())
                    .or_default()
                    .push(p);
            }
        }
        Ok(by_id)
    }

    /// Every ECS scheduled action of the region, by resource id.
    async fn actions(&self) -> Result<HashMap<String, Vec<ScheduledAction>>, ProviderError> {
        let all = kit::pages(|token| async move {
            let out = self
                .client
                .describe_scheduled_actions()
                .service_namespace(ServiceNamespace::Ecs)
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("DescribeScheduledActions"))?;
            Ok((
                out.scheduled_actions().to_vec(),
                out.next_token().map(str::to_string),
            ))
        })
        .await?;
        let mut by_id: HashMap<String, Vec<ScheduledAction>> = HashMap::new();
        for a in all {
            if a.scalable_dimension() == Some(&ScalableDimension::EcsServiceDesiredCount) {
                by_id
                    .entry(a.resource_id().to_string())
                    .or_default()
                    .push(a);
            }
        }
        Ok(by_id)
    }

    /// The owners of the services behind `ids` (`service/<cluster>/<name>`), read with their
    /// tags, all clusters at once; a service that does not exist is absent.
    async fn service_owners(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Owner>, ProviderError> {
        let mut by_cluster: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for id in ids {
            if let Some((cluster, name)) = split_id(id) {
                by_cluster
                    .entry(cluster)
                    .or_default()
                    .push(name.to_string());
            }
        }
        let found = futures::future::try_join_all(by_cluster.into_iter().map(
            |(cluster, names)| async move {
                let services = super::ecs::active_services(&self.ecs, cluster, &names).await?;
                Ok::<_, ProviderError>(
                    services
                        .iter()
                        .filter_map(|s| {
                            let id = format!("service/{cluster}/{}", s.service_name()?);
                            let owner = owner_from_tags(
                                s.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))),
                            );
                            Some((id, owner))
                        })
                        .collect::<Vec<_>>(),
                )
            },
        ))
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Live scalings of `targets`, each with its owner. `named` says which scaling of this
    /// stack names a target: such a target is this stack's when its service is (the service's
    /// tags). Any other target on a service of this stack is this stack's only when its own
    /// tags say so (an orphan: its scaling left the stack).
    async fn lives(
        &self,
        listing: &Listing,
        only: Option<&[String]>,
        named: &Named,
    ) -> Result<Vec<Live>, ProviderError> {
        let Listing {
            targets,
            policies,
            actions,
            services,
        } = listing;
        let targets: Vec<&ScalableTarget> = targets
            .iter()
            .filter(|t| only.is_none_or(|ids| ids.iter().any(|id| id == t.resource_id())))
            .collect();
        let ours = |owner: Option<&Owner>| matches!(owner, Some(Owner::Stack { stack, .. }) if *stack == self.stack);
        // By resource id, the scaling that names each target, whether its `service` is known
        // (an id) or still a reference (the service's address, which the service's tags carry).
        let named: HashMap<String, String> = targets
            .iter()
            .filter_map(|t| {
                let id = t.resource_id();
                let scaling = named.by_id.get(id).or_else(|| match services.get(id) {
                    Some(Owner::Stack { stack, address }) if *stack == self.stack => {
                        named.by_service.get(address)
                    }
                    _ => None,
                })?;
                Some((id.to_string(), scaling.clone()))
            })
            .collect();
        // Orphans: targets on this stack's services that no scaling names, by their tags.
        let orphans = futures::future::try_join_all(
            targets
                .iter()
                .filter(|t| !named.contains_key(t.resource_id()))
                .filter(|t| ours(services.get(t.resource_id())))
                .filter_map(|t| t.scalable_target_arn())
                .map(|arn| async move { Ok::<_, ProviderError>((arn, self.tags(arn).await)) }),
        )
        .await?;
        let tagged: HashMap<&str, Owner> = orphans
            .into_iter()
            .filter_map(|(arn, tags)| Some((arn, tags?)))
            .collect();
        Ok(targets
            .iter()
            .map(|t| {
                let id = t.resource_id();
                let mut live = live_target(
                    t,
                    policies.get(id).map(Vec::as_slice).unwrap_or_default(),
                    actions.get(id).map(Vec::as_slice).unwrap_or_default(),
                );
                let service = services.get(id).cloned().unwrap_or(Owner::Nobody);
                if let Some(owner) = t.scalable_target_arn().and_then(|arn| tagged.get(arn)) {
                    live.owner = owner.clone();
                    live.private.insert(TAGGED.into(), Value::Bool(true));
                } else {
                    live.owner = self.owner_by_service(&service, named.get(id));
                    if let (Owner::Stack { address, .. }, Some(scaling)) = (&service, named.get(id))
                    {
                        live.private
                            .insert(SERVICE_ADDRESS.into(), Value::String(address.clone()));
                        live.private
                            .insert(SCALING_ADDRESS.into(), Value::String(scaling.clone()));
                    }
                }
                live
            })
            .collect())
    }

    /// The owner a target's tags name; `None` when they name none or cannot be read (an
    /// emulator that does not tag scalable targets): such a target is never taken as ours.
    async fn tags(&self, arn: &str) -> Option<Owner> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .ok()?;
        let tags = out.tags()?;
        match owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Owner::Nobody => None,
            owner => Some(owner),
        }
    }

    /// The rule for a target without ownership tags: this stack's, under the scaling's
    /// address, when its service is this stack's and a scaling of the stack names it; nobody's
    /// otherwise (so a target on another stack's service is never taken).
    fn owner_by_service(&self, service: &Owner, scaling: Option<&String>) -> Owner {
        match (service, scaling) {
            (Owner::Stack { stack, .. }, Some(scaling)) if *stack == self.stack => Owner::Stack {
                stack: stack.clone(),
                address: scaling.clone(),
            },
            _ => Owner::Nobody,
        }
    }

    async fn register(&self, desired: &Desired, tags: bool) -> Result<String, ProviderError> {
        let id = resource_id_of(desired)?;
        let mut call = self
            .client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&id)
            .set_min_capacity(int(&desired.attrs, "min"))
            .set_max_capacity(int(&desired.attrs, "max"));
        if tags {
            call = call
                .tags(STACK_TAG, &self.stack)
                .tags(ADDRESS_TAG, crate::model::address::to_tag(&desired.address));
        }
        let out = call.send().await.map_err(aws("RegisterScalableTarget"))?;
        Ok(out.scalable_target_arn().unwrap_or_default().to_string())
    }

    async fn put_policy(
        &self,
        id: &str,
        policy: &BTreeMap<String, Value>,
    ) -> Result<(), ProviderError> {
        let metric = policy
            .get("metric")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let aws_metric = METRICS
            .iter()
            .find(|(m, _)| *m == metric)
            .map_or(metric, |(_, a)| *a);
        let label = match policy.get("target-group").and_then(Value::as_str) {
            Some(group) if metric == "requests" => Some(self.resource_label(group).await?),
            _ => None,
        };
        let spec = PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::from(aws_metric))
            .set_resource_label(label)
            .build()
            .map_err(build("PutScalingPolicy"))?;
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(policy.get("target").and_then(number).unwrap_or_default())
            .predefined_metric_specification(spec)
            .set_scale_in_cooldown(int(policy, "scale-in-cooldown"))
            .set_scale_out_cooldown(int(policy, "scale-out-cooldown"))
            .set_disable_scale_in(policy.get("disable-scale-in").and_then(bool_of))
            .build()
            .map_err(build("PutScalingPolicy"))?;
        self.client
            .put_scaling_policy()
            .policy_name(
                policy
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(id)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .map_err(aws("PutScalingPolicy"))?;
        Ok(())
    }

    /// `app/<load balancer>/<id>/targetgroup/<name>/<id>`: the request count per target
    /// names the target group and the load balancer in front of it.
    async fn resource_label(&self, group: &str) -> Result<String, ProviderError> {
        let mut call = self.elbv2.describe_target_groups();
        call = if group.starts_with("arn:") {
            call.target_group_arns(group)
        } else {
            call.names(group.split('/').nth(1).unwrap_or(group))
        };
        let out = call.send().await.map_err(aws("DescribeTargetGroups"))?;
        let found = out.target_groups().first();
        let lb = found
            .and_then(|g| g.load_balancer_arns().first())
            .and_then(|arn| arn.split_once(":loadbalancer/").map(|(_, s)| s.to_string()));
        let tg = found
            .and_then(|g| g.target_group_arn())
            .and_then(|arn| arn.split_once(':').map(|_| suffix(arn)));
        match (lb, tg) {
            (Some(lb), Some(tg)) => Ok(format!("{lb}/{tg}")),
            _ => Err(ProviderError::Input(format!(
                "target group `{group}` is attached to no load balancer: requests per target \
                 are counted only behind one"
            ))),
        }
    }

    async fn delete_policy(&self, id: &str, name: &str) -> Result<(), ProviderError> {
        self.client
            .delete_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(id)
            .send()
            .await
            .map_err(aws("DeleteScalingPolicy"))?;
        Ok(())
    }

    async fn put_action(
        &self,
        id: &str,
        action: &BTreeMap<String, Value>,
    ) -> Result<(), ProviderError> {
        let bounds = ScalableTargetAction::builder()
            .set_min_capacity(int(action, "min"))
            .set_max_capacity(int(action, "max"))
            .build();
        self.client
            .put_scheduled_action()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(id)
            .scheduled_action_name(
                action
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )
            .set_schedule(
                action
                    .get("schedule")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_timezone(
                action
                    .get("timezone")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .scalable_target_action(bounds)
            .send()
            .await
            .map_err(aws("PutScheduledAction"))?;
        Ok(())
    }

    async fn delete_action(&self, id: &str, name: &str) -> Result<(), ProviderError> {
        self.client
            .delete_scheduled_action()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(id)
            .scheduled_action_name(name)
            .send()
            .await
            .map_err(aws("DeleteScheduledAction"))?;
        Ok(())
    }

    /// Puts the blocks of `attribute` (policies or actions) that are new or differ from what
    /// `live` holds, and deletes those `live` holds that `desired` no longer has.
    async fn reconcile(
        &self,
        id: &str,
        attribute: &str,
        desired: &BTreeMap<String, Value>,
        live: &BTreeMap<String, Value>,
    ) -> Result<(), ProviderError> {
        let mut want = desired.clone();
        let mut have = live.clone();
        normalize(&mut want);
        normalize(&mut have);
        let want = by_name(&want, attribute);
        let have = by_name(&have, attribute);
        for (name, block) in &want {
            if have.get(name) != Some(block) {
                if attribute == "scheduled" {
                    self.put_action(id, block).await?;
                } else {
                    self.put_policy(id, block).await?;
                }
            }
        }
        for name in have.keys().filter(|n| !want.contains_key(*n)) {
            if attribute == "scheduled" {
                self.delete_action(id, name).await?;
            } else {
                self.delete_policy(id, name).await?;
            }
        }
        Ok(())
    }
}

/// The blocks of a repeated attribute by their names.
fn by_name(
    attrs: &BTreeMap<String, Value>,
    attribute: &str,
) -> BTreeMap<String, BTreeMap<String, Value>> {
    attrs
        .get(attribute)
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_map)
        .filter_map(|b| Some((b.get("name")?.as_str()?.to_string(), b.clone())))
        .collect()
}

fn int(attrs: &BTreeMap<String, Value>, name: &str) -> Option<i32> {
    attrs
        .get(name)
        .and_then(Value::as_int)
        .and_then(|v| i32::try_from(v).ok())
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn bool_of(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

/// `targetgroup/<name>/<id>` of a target group's ARN, ARN suffix or a resource label.
fn suffix(text: &str) -> String {
    match text.find("targetgroup/") {
        Some(at) => text[at..].to_string(),
        None => text.to_string(),
    }
}

/// `service/<cluster>/<name>` of a service's ARN (long format) or of a resource id.
pub fn resource_id(service: &str) -> Option<String> {
    let rest = match service.split_once(":service/") {
        Some((_, rest)) => rest,
        None => service.strip_prefix("service/")?,
    };
    let (cluster, name) = rest.split_once('/')?;
    (!cluster.is_empty() && !name.is_empty() && !name.contains('/'))
        .then(|| format!("service/{cluster}/{name}"))
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.strip_prefix("service/")?.split_once('/')
}

fn resource_id_of(desired: &Desired) -> Result<String, ProviderError> {
    let service = desired.str("service").unwrap_or_default();
    resource_id(service).ok_or_else(|| {
        ProviderError::Input(format!(
            "`{service}` is not the ARN of an ECS service in the long format \
             (arn:aws:ecs:<region>:<account>:service/<cluster>/<name>)"
        ))
    })
}

/// A number as the plan shows it: whole numbers as integers.
fn plain_number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Value::Int(v as i64)
    } else {
        Value::Float(v)
    }
}

fn live_policy(p: &ScalingPolicy) -> Value {
    let mut m = BTreeMap::new();
    m.insert("name".into(), Value::String(p.policy_name().into()));
    let config = p.target_tracking_scaling_policy_configuration();
    let spec = config.and_then(|c| c.predefined_metric_specification());
    let metric = match spec.map(|s| s.predefined_metric_type().as_str()) {
        Some(aws_metric) => METRICS
            .iter()
            .find(|(_, a)| *a == aws_metric)
            .map_or(aws_metric, |(m, _)| *m),
        // A step scaling or custom-metric policy: shown by its type, so that the plan says it
        // goes.
        None => p.policy_type().as_str(),
    };
    m.insert("metric".into(), Value::String(metric.into()));
    if let Some(label) = spec.and_then(|s| s.resource_label()) {
        m.insert("target-group".into(), Value::String(suffix(label)));
    }
    if let Some(c) = config {
        m.insert("target".into(), plain_number(c.target_value()));
        if let Some(v) = c.scale_in_cooldown() {
            m.insert("scale-in-cooldown".into(), Value::Int(v.into()));
        }
        if let Some(v) = c.scale_out_cooldown() {
            m.insert("scale-out-cooldown".into(), Value::Int(v.into()));
        }
        if let Some(v) = c.disable_scale_in() {
            m.insert("disable-scale-in".into(), Value::Bool(v));
        }
    }
    Value::Map(m)
}

fn live_action(a: &ScheduledAction) -> Value {
    let mut m = BTreeMap::new();
    m.insert(
        "name".into(),
        Value::String(a.scheduled_action_name().into()),
    );
    m.insert("schedule".into(), Value::String(a.schedule().into()));
    m.insert(
        "timezone".into(),
        Value::String(a.timezone().unwrap_or("UTC").into()),
    );
    if let Some(bounds) = a.scalable_target_action() {
        if let Some(v) = bounds.min_capacity() {
            m.insert("min".into(), Value::Int(v.into()));
        }
        if let Some(v) = bounds.max_capacity() {
            m.insert("max".into(), Value::Int(v.into()));
        }
    }
    Value::Map(m)
}

fn live_target(
    t: &ScalableTarget,
    policies: &[ScalingPolicy],
    actions: &[ScheduledAction],
) -> Live {
    let mut a = BTreeMap::new();
    a.insert("service".into(), Value::String(t.resource_id().into()));
    a.insert("min".into(), Value::Int(t.min_capacity().into()));
    a.insert("max".into(), Value::Int(t.max_capacity().into()));
    if !policies.is_empty() {
        a.insert(
            "target-tracking".into(),
            Value::List(policies.iter().map(live_policy).collect()),
        );
    }
    if !actions.is_empty() {
        a.insert(
            "scheduled".into(),
            Value::List(actions.iter().map(live_action).collect()),
        );
    }
    let mut live = Live::new(a, Owner::Nobody);
    live.computed
        .insert("resource-id".into(), Value::String(t.resource_id().into()));
    if let Some(arn) = t.scalable_target_arn() {
        live.computed
            .insert("arn".into(), Value::String(arn.into()));
    }
    live
}

/// Sorts blocks by name, writes numbers and references the way AWS reports them.
fn normalize(attrs: &mut BTreeMap<String, Value>) {
    if let Some(id) = attrs
        .get("service")
        .and_then(Value::as_str)
        .and_then(resource_id)
    {
        attrs.insert("service".into(), Value::String(id));
    }
    for attribute in ["target-tracking", "scheduled"] {
        let Some(Value::List(items)) = attrs.get_mut(attribute) else {
            continue;
        };
        if items.is_empty() {
            attrs.remove(attribute);
            continue;
        }
        for item in items.iter_mut() {
            let Value::Map(m) = item else { continue };
            if let Some(v) = m.get("target").and_then(number) {
                m.insert("target".into(), plain_number(v));
            }
            if let Some(group) = m.get("target-group").and_then(Value::as_str) {
                let group = suffix(group);
                m.insert("target-group".into(), Value::String(group));
            }
            if attribute == "target-tracking" {
                for (name, default) in [
                    ("scale-in-cooldown", Value::Int(300)),
                    ("scale-out-cooldown", Value::Int(300)),
                    ("disable-scale-in", Value::Bool(false)),
                ] {
                    m.entry(name.to_string()).or_insert(default);
                }
            } else {
                m.entry("timezone".to_string())
                    .or_insert(Value::String("UTC".into()));
            }
        }
        items.sort_by_key(|v| {
            v.as_map()
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        });
    }
}

impl ResourceKind for Scalings {
    fn kind(&self) -> Kind {
        Kind::Scaling
    }

    fn key(&self, attrs: &BTreeMap<String, Value>) -> Option<String> {
        match attrs.get("service")? {
            Value::String(s) => Some(resource_id(s).unwrap_or_else(|| s.clone())),
            _ => None,
        }
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        normalize(attrs);
    }

    fn check(&self, desired: &Desired) -> Result<(), String> {
        match desired.attrs.get("service") {
            Some(Value::String(_)) => resource_id_of(desired)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            _ => Ok(()),
        }
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let named = named(desired);
            let listing = Arc::new(self.listing(None).await?);
            let lives = self.lives(&listing, None, &named).await?;
            if let Ok(mut listed) = self.listed.lock() {
                *listed = Some(listing);
            }
            Ok(lives
                .into_iter()
                .filter(|l| matches!(&l.owner, Owner::Stack { stack: s, .. } if s == stack))
                .collect())
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let named = named(desired);
            let ids: Vec<String> = named.by_id.keys().cloned().collect();
            let listed = self.listed.lock().ok().and_then(|l| l.clone());
            let listing = match listed {
                Some(listing) => listing,
                None => Arc::new(self.listing(Some(&ids)).await?),
            };
            let lives = self.lives(&listing, Some(&ids), &named).await?;
            Ok(desired
                .iter()
                .map(|d| {
                    let id = d.str("service").and_then(resource_id)?;
                    lives
                        .iter()
                        .find(|l| l.str("service") == Some(&id))
                        .cloned()
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            self.forget();
            let id = resource_id_of(desired)?;
            let arn = self.register(desired, true).await?;
            self.reconcile(&id, "target-tracking", &desired.attrs, &BTreeMap::new())
                .await?;
            self.reconcile(&id, "scheduled", &desired.attrs, &BTreeMap::new())
                .await?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            live.computed
                .insert("resource-id".into(), Value::String(id));
            live.computed.insert("arn".into(), Value::String(arn));
            Ok(live)
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            self.forget();
            let id = resource_id_of(desired)?;
            if changed.any_of(&["min", "max"]) {
                self.register(desired, false).await?;
            }
            if changed.contains("target-tracking") {
                self.reconcile(&id, "target-tracking", &desired.attrs, &live.attrs)
                    .await?;
            }
            if changed.contains("scheduled") {
                self.reconcile(&id, "scheduled", &desired.attrs, &live.attrs)
                    .await?;
            }
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            self.forget();
            let id = live
                .str("service")
                .and_then(resource_id)
                .unwrap_or_default();
            // AWS deletes them with the target; emulators do not: each goes first.
            self.reconcile(&id, "scheduled", &BTreeMap::new(), &live.attrs)
                .await?;
            self.reconcile(&id, "target-tracking", &BTreeMap::new(), &live.attrs)
                .await?;
            self.client
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(&id)
                .send()
                .await
                .map_err(aws("DeregisterScalableTarget"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let Some(id) = live.str("service").and_then(resource_id) else {
                return Ok(None);
            };
            let found = self.targets(Some(std::slice::from_ref(&id))).await?;
            let Some(target) = found.into_iter().find(|t| t.resource_id() == id) else {
                return Ok(None);
            };
            if live.private.get(TAGGED) == Some(&Value::Bool(true)) {
                let owner = match target.scalable_target_arn() {
                    Some(arn) => self.tags(arn).await,
                    None => None,
                };
                return Ok(Some(owner.unwrap_or(Owner::Nobody)));
            }
            let services = self.service_owners(std::slice::from_ref(&id)).await?;
            let text = |key: &str| live.private.get(key).and_then(Value::as_str);
            Ok(Some(
                match (
                    services.get(&id),
                    text(SERVICE_ADDRESS),
                    text(SCALING_ADDRESS),
                ) {
                    (Some(Owner::Stack { stack, address }), Some(was), Some(scaling))
                        if address == was =>
                    {
                        Owner::Stack {
                            stack: stack.clone(),
                            address: scaling.to_string(),
                        }
                    }
                    _ => Owner::Nobody,
                },
            ))
        })
    }
}

/// Which scaling of the stack names which service.
struct Named {
    /// By resource id, where the scaling's `service` is known.
    by_id: HashMap<String, String>,
    /// By the service's address, where it is still a reference (a listing runs before the
    /// services are read).
    by_service: HashMap<String, String>,
}

/// The desired scalings, by the service each names.
fn named(desired: &[Desired]) -> Named {
    let mut named = Named {
        by_id: HashMap::new(),
        by_service: HashMap::new(),
    };
    for d in desired {
        if let Some(id) = d.str("service").and_then(resource_id) {
            named.by_id.insert(id, d.address.clone());
        } else if let Some(service) = d.pending.get("service") {
            named.by_service.insert(service.clone(), d.address.clone());
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaling_names_its_service_by_id_or_while_unread_by_address() {
        let scaling = |address: &str, service: Value, pending: Option<&str>| Desired {
            address: address.into(),
            attrs: BTreeMap::from([("service".to_string(), service)]),
            protected: false,
            pending: pending
                .map(|p| BTreeMap::from([("service".to_string(), p.to_string())]))
                .unwrap_or_default(),
        };
        let named = named(&[
            scaling(
                "scaling.api",
                Value::String("arn:aws:ecs:eu-west-1:123456789012:service/shop/api".into()),
                None,
            ),
            scaling("scaling.worker", Value::Unknown, Some("service.worker")),
            scaling("scaling.lost", Value::Unknown, None),
        ]);
        assert_eq!(
            named.by_id,
            HashMap::from([("service/shop/api".to_string(), "scaling.api".to_string())])
        );
        assert_eq!(
            named.by_service,
            HashMap::from([("service.worker".to_string(), "scaling.worker".to_string())])
        );
    }

    #[test]
    fn resource_ids_come_from_long_service_arns() {
        assert_eq!(
            resource_id("arn:aws:ecs:eu-west-1:123456789012:service/shop/api").as_deref(),
            Some("service/shop/api")
        );
        assert_eq!(
            resource_id("service/shop/api").as_deref(),
            Some("service/shop/api")
        );
        // The short format names no cluster.
        assert_eq!(
            resource_id("arn:aws:ecs:eu-west-1:123456789012:service/api"),
            None
        );
    }

    #[test]
    fn target_groups_compare_by_their_suffix() {
        let arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api/0123";
        let label = "app/web/abcd/targetgroup/api/0123";
        assert_eq!(suffix(arn), suffix(label));
    }

    #[test]
    fn normalised_blocks_are_sorted_with_aws_defaults_and_plain_numbers() {
        let policy = |name: &str, target: Value| {
            let mut m = BTreeMap::new();
            m.insert("name".to_string(), Value::String(name.into()));
            m.insert("metric".to_string(), Value::String("cpu".into()));
            m.insert("target".to_string(), target);
            Value::Map(m)
        };
        let mut desired = BTreeMap::new();
        desired.insert(
            "target-tracking".to_string(),
            Value::List(vec![
                policy("b", Value::Int(60)),
                policy("a", Value::Float(55.5)),
            ]),
        );
        desired.insert("scheduled".to_string(), Value::List(Vec::new()));
        let mut live = BTreeMap::new();
        let mut b = policy("b", Value::Float(60.0));
        if let Value::Map(m) = &mut b {
            m.insert("scale-in-cooldown".into(), Value::Int(300));
            m.insert("scale-out-cooldown".into(), Value::Int(300));
            m.insert("disable-scale-in".into(), Value::Bool(false));
        }
        live.insert(
            "target-tracking".to_string(),
            Value::List(vec![policy("a", Value::Float(55.5)), b]),
        );
        normalize(&mut desired);
        normalize(&mut live);
        assert_eq!(desired, live);
    }
}
