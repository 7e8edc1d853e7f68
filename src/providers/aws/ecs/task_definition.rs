//! ECS task definitions: one family per resource, its newest ACTIVE revision as the live one.
//!
//! Revisions are immutable: creating and updating both register a revision (an update gives
//! the resource a new ARN, so dependents see it as known after apply). A change of tags alone
//! tags the current revision instead. After an apply, revisions older than the newest
//! `keep-revisions` are deregistered; deleting the resource deregisters every ACTIVE revision.
//!
//! A family is this stack's while its newest ACTIVE revision carries this stack's tags; only
//! revisions whose own tags name this stack and address are ever deregistered (a family moved
//! to another stack, or revisions registered by hand or by CI, are left alone).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    Compatibility, CpuArchitecture, EphemeralStorage, NetworkMode, OsFamily, RuntimePlatform, Tag,
    TaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
};
use futures::future::join_all;

use super::super::error::aws;
use super::super::kit;
use super::super::tagging::OwnedIndex;
use super::containers::{
    container_from_aws, container_to_aws, normalize, volume_from_aws, volume_to_aws,
};
use super::{ecs_tags, get_blocks, get_i32, get_str, get_strings, live_tags, s, strings};
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::revisions::{DEPLOYED_AT_TAG, DEPLOYED_BY_TAG, OUTCOME_TAG, Outcome};
use crate::providers::{BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind};

pub struct TaskDefinitions {
    client: Client,
    owned: Arc<OwnedIndex>,
    /// The stack's region: where awslogs sends logs unless a container says otherwise.
    region: String,
    /// The stack's name: only its revisions are deregistered.
    stack: String,
}

impl TaskDefinitions {
    pub fn new(client: Client, owned: Arc<OwnedIndex>, region: String, stack: String) -> Self {
        TaskDefinitions {
            client,
            owned,
            region,
            stack,
        }
    }

    /// Of `arns`, those whose own tags say this stack owns them under `address`, read now,
    /// each with the outcome its last deploy recorded (`infra:outcome`).
    async fn ours(
        &self,
        arns: Vec<String>,
        address: &str,
    ) -> Result<Vec<(String, Option<Outcome>)>, ProviderError> {
        let owner = Owner::Stack {
            stack: self.stack.clone(),
            address: address.to_string(),
        };
        let tagged = join_all(arns.into_iter().map(|arn| async move {
            let out = self
                .client
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .map_err(aws("ListTagsForResource"))?;
            let (_, owner) = live_tags(out.tags());
            let outcome = outcome(out.tags());
            Ok::<_, ProviderError>((arn, owner, outcome))
        }))
        .await;
        let mut out = Vec::new();
        for result in tagged {
            let (arn, found, outcome) = result?;
            if found == owner {
                out.push((arn, outcome));
            }
        }
        Ok(out)
    }

    /// The address a live revision is owned under (empty when it is not this stack's).
    fn address_of(&self, live: &Live) -> String {
        match &live.owner {
            Owner::Stack { stack, address } if *stack == self.stack => address.clone(),
            _ => String::new(),
        }
    }

    /// The newest ACTIVE revision of `family` with its tags, if the family has one.
    async fn describe(&self, family: &str) -> Result<Option<Live>, ProviderError> {
        let out = match self
            .client
            .describe_task_definition()
            .task_definition(family)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
        {
            Ok(out) => out,
            // AWS's answer for a family without ACTIVE revisions.
            Err(e) if e.as_service_error().map(|e| e.is_client_exception()) == Some(true) => {
                return Ok(None);
            }
            Err(e) => return Err(aws("DescribeTaskDefinition")(e)),
        };
        Ok(out
            .task_definition()
            .filter(|td| td.status() == Some(&TaskDefinitionStatus::Active))
            .map(|td| live_task_definition(td, out.tags())))
    }

    async fn describe_all(&self, families: &[String]) -> Result<Vec<Option<Live>>, ProviderError> {
        join_all(families.iter().map(|f| self.describe(f)))
            .await
            .into_iter()
            .collect()
    }

    async fn register(&self, desired: &Desired) -> Result<Live, ProviderError> {
        let attrs = &desired.attrs;
        let containers = get_blocks(attrs, "container")
            .map(|c| container_to_aws(c, &self.region))
            .collect::<Result<Vec<_>, _>>()?;
        let volumes = get_blocks(attrs, "volume")
            .map(volume_to_aws)
            .collect::<Result<Vec<_>, _>>()?;
        let tags = ecs_tags(attrs);
        let platform = get_str(attrs, "cpu-architecture").map(|arch| {
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::from(arch))
                .operating_system_family(OsFamily::Linux)
                .build()
        });
        let out = self
            .client
            .register_task_definition()
            .set_family(get_str(attrs, "family").map(str::to_string))
            .set_cpu(get_i32(attrs, "cpu").map(|c| c.to_string()))
            .set_memory(get_i32(attrs, "memory").map(|m| m.to_string()))
            .set_network_mode(get_str(attrs, "network-mode").map(NetworkMode::from))
            .set_requires_compatibilities(
                get_strings(attrs, "requires-compatibilities")
                    .map(|l| l.iter().map(|c| Compatibility::from(c.as_str())).collect()),
            )
            .set_execution_role_arn(get_str(attrs, "execution-role").map(str::to_string))
            .set_task_role_arn(get_str(attrs, "task-role").map(str::to_string))
            .set_runtime_platform(platform)
            .set_ephemeral_storage(
                get_i32(attrs, "ephemeral-storage")
                    .map(|g| EphemeralStorage::builder().size_in_gib(g).build()),
            )
            .set_container_definitions(Some(containers))
            .set_volumes((!volumes.is_empty()).then_some(volumes))
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(aws("RegisterTaskDefinition"))?;
        let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
        if let Some(td) = out.task_definition() {
            set_computed(&mut live, td);
        }
        Ok(live)
    }

    /// ARNs of the family's ACTIVE revisions with their revision numbers, oldest first.
    async fn active_revisions(&self, family: &str) -> Result<Vec<(i64, String)>, ProviderError> {
        active_revisions(&self.client, family).await
    }

    async fn deregister(&self, arns: &[String]) -> Result<(), ProviderError> {
        for arn in arns {
            self.client
                .deregister_task_definition()
                .task_definition(arn)
                .send()
                .await
                .map_err(aws("DeregisterTaskDefinition"))?;
        }
        Ok(())
    }
}

/// ARNs of a family's ACTIVE revisions with their revision numbers, oldest first.
pub(super) async fn active_revisions(
    client: &Client,
    family: &str,
) -> Result<Vec<(i64, String)>, ProviderError> {
    let mut out = kit::pages(|token| async move {
        let page = client
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("ListTaskDefinitions"))?;
        // familyPrefix matches the family exactly on AWS; check anyway.
        let revisions = page
            .task_definition_arns()
            .iter()
            .filter_map(|arn| match family_and_revision(arn) {
                Some((f, rev)) if f == family => Some((rev, arn.clone())),
                _ => None,
            })
            .collect();
        Ok((revisions, page.next_token().map(str::to_string)))
    })
    .await?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// `arn:aws:ecs:r:a:task-definition/web:3` (or `web:3`) → (`web`, 3).
pub(super) fn family_and_revision(arn: &str) -> Option<(&str, i64)> {
    let tail = super::arn_tail(arn);
    let (family, rev) = tail.rsplit_once(':')?;
    Some((family, rev.parse().ok()?))
}

fn set_computed(live: &mut Live, td: &TaskDefinition) {
    if let Some(arn) = td.task_definition_arn() {
        live.computed.insert("arn".into(), s(arn));
    }
    live.computed
        .insert("revision".into(), Value::Int(td.revision().into()));
}

/// A revision as AWS reports it, in schema terms.
pub(super) fn live_task_definition(td: &TaskDefinition, tags: &[Tag]) -> Live {
    let mut a = BTreeMap::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            a.insert(k.to_string(), v);
        }
    };
    let number = |t: Option<&str>| t.and_then(|t| t.trim().parse::<i64>().ok()).map(Value::Int);
    put("family", td.family().map(s));
    put("cpu", number(td.cpu()));
    put("memory", number(td.memory()));
    put("network-mode", td.network_mode().map(|m| s(m.as_str())));
    let compat: Vec<String> = td
        .requires_compatibilities()
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    put(
        "requires-compatibilities",
        (!compat.is_empty()).then(|| strings(&compat)),
    );
    put("execution-role", td.execution_role_arn().map(s));
    put("task-role", td.task_role_arn().map(s));
    put(
        "cpu-architecture",
        td.runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|c| s(c.as_str())),
    );
    put(
        "ephemeral-storage",
        td.ephemeral_storage()
            .map(|e| Value::Int(e.size_in_gib().into())),
    );
    put(
        "container",
        Some(Value::List(
            td.container_definitions()
                .iter()
                .map(container_from_aws)
                .collect(),
        )),
    );
    let volumes: Vec<Value> = td.volumes().iter().map(volume_from_aws).collect();
    put(
        "volume",
        (!volumes.is_empty()).then_some(Value::List(volumes)),
    );
    let (mut tags, owner) = live_tags(tags);
    // The outcome of the revision's deploy is infra's record, not the stack's: never diffed.
    if let Value::Map(m) = &mut tags {
        for k in [OUTCOME_TAG, DEPLOYED_BY_TAG, DEPLOYED_AT_TAG] {
            m.remove(k);
        }
    }
    put("tags", Some(tags));
    let mut live = Live::new(a, owner);
    set_computed(&mut live, td);
    live
}

/// Whether only the tags differ between desired and live (no new revision needed).
fn only_tags_differ(
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
    region: &str,
) -> bool {
    let mut d = desired.clone();
    let mut l = live.clone();
    for m in [&mut d, &mut l] {
        normalize(m, region);
        m.remove("tags");
    }
    d == l
}

impl ResourceKind for TaskDefinitions {
    fn kind(&self) -> Kind {
        Kind::TaskDefinition
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        normalize(attrs, &self.region);
    }

    fn update_changes_identity(&self) -> bool {
        true
    }

    fn list_owned<'a>(
        &'a self,
        _stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            // The index holds every tagged revision; one describe per family finds the newest.
            let families: BTreeSet<String> = self
                .owned
                .of("ecs", "task-definition/")
                .await?
                .iter()
                .filter_map(|(rest, _)| Some(family_and_revision(rest)?.0.to_string()))
                .collect();
            let families: Vec<String> = families.into_iter().collect();
            // The newest revision decides: a family whose newest revision is another stack's
            // (or nobody's) is not this stack's, whatever its older revisions say.
            Ok(self
                .describe_all(&families)
                .await?
                .into_iter()
                .flatten()
                .filter(|l| matches!(&l.owner, Owner::Stack { stack, .. } if *stack == self.stack))
                .collect())
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let families: Vec<String> = desired
                .iter()
                .map(|d| d.str("family").unwrap_or_default().to_string())
                .collect();
            self.describe_all(&families).await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(self.register(desired))
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        _changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            if !only_tags_differ(&desired.attrs, &live.attrs, &self.region) {
                return self.register(desired).await;
            }
            super::retag(
                &self.client,
                kit::live_arn(live, "task definition")?,
                &desired.attrs,
                &live.attrs,
            )
            .await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let family = live.str("family").unwrap_or_default();
            let address = self.address_of(live);
            if address.is_empty() {
                return Err(ProviderError::Input(format!(
                    "task definition family `{family}` is not this stack's; nothing deregistered"
                )));
            }
            let arns: Vec<String> = self
                .active_revisions(family)
                .await?
                .into_iter()
                .map(|(_, arn)| arn)
                .collect();
            let ours: Vec<String> = self
                .ours(arns, &address)
                .await?
                .into_iter()
                .map(|(arn, _)| arn)
                .collect();
            self.deregister(&ours).await
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            // The family's newest ACTIVE revision decides, as it does when listing.
            let family = live.str("family").unwrap_or_default();
            Ok(self.describe(family).await?.map(|l| l.owner))
        })
    }

    fn finish<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let keep = desired
                .attrs
                .get("keep-revisions")
                .and_then(Value::as_int)
                .unwrap_or(5)
                .max(1);
            let family = desired.str("family").unwrap_or_default();
            let current = live.computed.get("arn").and_then(Value::as_str);
            let revisions = self.active_revisions(family).await?;
            let old = stale_revisions(&revisions, keep, current);
            if old.is_empty() {
                return Ok(());
            }
            let ours = self.ours(old.clone(), &desired.address).await?;
            // A rollback needs a verified revision older than the one in use: when none of
            // those kept is, the newest verified one of those going stays too.
            let kept_older: Vec<String> = revisions
                .iter()
                .filter(|(n, arn)| {
                    !old.contains(arn)
                        && Some(arn.as_str()) != current
                        && current
                            .and_then(family_and_revision)
                            .is_none_or(|(_, c)| *n < c)
                })
                .map(|(_, arn)| arn.clone())
                .collect();
            let target_kept = self
                .ours(kept_older, &desired.address)
                .await?
                .iter()
                .any(|(_, o)| *o == Some(Outcome::Verified));
            let spared = if target_kept {
                None
            } else {
                newest_verified(&revisions, &ours)
            };
            let going: Vec<String> = ours
                .into_iter()
                .map(|(arn, _)| arn)
                .filter(|arn| Some(arn) != spared.as_ref())
                .collect();
            self.deregister(&going).await
        })
    }
}

/// The outcome a revision's tags record.
fn outcome(tags: &[Tag]) -> Option<Outcome> {
    tags.iter()
        .find(|t| t.key() == Some(OUTCOME_TAG))
        .and_then(|t| t.value())
        .and_then(Outcome::parse)
}

/// Of `candidates` (ARN and outcome), the newest verified one by its place in `revisions`
/// (oldest first).
fn newest_verified(
    revisions: &[(i64, String)],
    candidates: &[(String, Option<Outcome>)],
) -> Option<String> {
    revisions
        .iter()
        .rev()
        .find(|(_, arn)| {
            candidates
                .iter()
                .any(|(c, o)| c == arn && *o == Some(Outcome::Verified))
        })
        .map(|(_, arn)| arn.clone())
}

/// ARNs beyond the newest `keep` revisions (oldest first in `revisions`); never the newest
/// one, nor the one in use.
fn stale_revisions(revisions: &[(i64, String)], keep: i64, current: Option<&str>) -> Vec<String> {
    let keep = usize::try_from(keep.max(1)).unwrap_or(1);
    let cut = revisions.len().saturating_sub(keep);
    revisions[..cut]
        .iter()
        .filter(|(_, arn)| Some(arn.as_str()) != current)
        .map(|(_, arn)| arn.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{
        ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, PortMapping, Secret,
        TransportProtocol,
    };

    const REGION: &str = "eu-west-1";

    #[test]
    fn the_newest_verified_revision_is_the_one_spared() {
        let revisions: Vec<(i64, String)> = (1..=4).map(|n| (n, format!("f:{n}"))).collect();
        let going = [
            ("f:1".to_string(), Some(Outcome::Verified)),
            ("f:2".to_string(), Some(Outcome::Verified)),
            ("f:3".to_string(), Some(Outcome::Failed)),
        ];
        assert_eq!(newest_verified(&revisions, &going), Some("f:2".to_string()));
        let none = [
            ("f:1".to_string(), None),
            ("f:3".to_string(), Some(Outcome::Failed)),
        ];
        assert_eq!(newest_verified(&revisions, &none), None);
    }

    fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// What the decoder makes of a two-container task definition (defaults it fills included).
    fn stack_side(image: &str) -> BTreeMap<String, Value> {
        let web = map(&[
            ("name", s("web")),
            ("image", s(image)),
            ("essential", Value::Bool(true)),
            ("cpu", Value::Int(0)),
            ("readonly-root-filesystem", Value::Bool(false)),
            (
                "port-mapping",
                Value::List(vec![Value::Map(map(&[
                    ("container-port", Value::Int(8080)),
                    ("protocol", s("tcp")),
                    ("name", s("http")),
                ]))]),
            ),
            (
                "environment",
                Value::Map(map(&[("PORT", s("8080")), ("MODE", s("prod"))])),
            ),
            ("secrets", Value::Map(map(&[("DB", s("arn:secret:db"))]))),
            (
                "log",
                Value::Map(map(&[
                    ("driver", s("awslogs")),
                    ("group", s("/ecs/web")),
                    ("stream-prefix", s("web")),
                ])),
            ),
        ]);
        let sidecar = map(&[
            ("name", s("agent")),
            ("image", s("busybox")),
            ("essential", Value::Bool(false)),
            ("cpu", Value::Int(0)),
            ("readonly-root-filesystem", Value::Bool(false)),
        ]);
        map(&[
            ("family", s("web")),
            ("cpu", Value::Int(512)),
            ("memory", Value::Int(1024)),
            ("network-mode", s("awsvpc")),
            ("requires-compatibilities", strings(&["FARGATE".into()])),
            ("cpu-architecture", s("X86_64")),
            ("keep-revisions", Value::Int(3)),
            (
                "container",
                Value::List(vec![Value::Map(web), Value::Map(sidecar)]),
            ),
            (
                "tags",
                Value::Map(map(&[("infra:stack", s("shop")), ("team", s("web"))])),
            ),
        ])
    }

    /// The same task definition as AWS (and moto) describe it: strings for sizes, containers
    /// in another order, environment reversed, defaults spelt out, `volumesFrom: []`.
    fn aws_side(image: &str) -> TaskDefinition {
        let web = ContainerDefinition::builder()
            .name("web")
            .image(image)
            .cpu(0)
            .essential(true)
            .port_mappings(
                PortMapping::builder()
                    .container_port(8080)
                    .host_port(8080)
                    .protocol(TransportProtocol::Tcp)
                    .name("http")
                    .build(),
            )
            .environment(KeyValuePair::builder().name("MODE").value("prod").build())
            .environment(KeyValuePair::builder().name("PORT").value("8080").build())
            .secrets(
                Secret::builder()
                    .name("DB")
                    .value_from("arn:secret:db")
                    .build()
                    .expect("a secret"),
            )
            .log_configuration(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", "/ecs/web")
                    .options("awslogs-stream-prefix", "web")
                    .options("awslogs-region", REGION)
                    .build()
                    .expect("a log configuration"),
            )
            .set_volumes_from(Some(Vec::new()))
            .set_mount_points(Some(Vec::new()))
            .build();
        let agent = ContainerDefinition::builder()
            .name("agent")
            .image("busybox")
            .cpu(0)
            .essential(false)
            .set_volumes_from(Some(Vec::new()))
            .build();
        TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7")
            .family("web")
            .revision(7)
            .status(TaskDefinitionStatus::Active)
            .cpu("512")
            .memory("1024")
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .compatibilities(Compatibility::Ec2)
            .compatibilities(Compatibility::Fargate)
            .container_definitions(agent)
            .container_definitions(web)
            .build()
    }

    fn tags() -> Vec<Tag> {
        vec![
            Tag::builder().key("team").value("web").build(),
            Tag::builder().key("infra:stack").value("shop").build(),
        ]
    }

    fn normalized(mut attrs: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
        normalize(&mut attrs, REGION);
        attrs
    }

    #[test]
    fn what_aws_reports_compares_equal_to_the_stack() {
        let live = live_task_definition(&aws_side("nginx:1"), &tags());
        assert_eq!(
            live.computed.get("arn"),
            Some(&s(
                "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7"
            ))
        );
        assert_eq!(live.computed.get("revision"), Some(&Value::Int(7)));
        assert!(matches!(live.owner, Owner::Stack { .. }));
        assert_eq!(normalized(live.attrs), normalized(stack_side("nginx:1")));
    }

    #[test]
    fn a_new_image_differs_in_its_container_only() {
        let live = normalized(live_task_definition(&aws_side("nginx:1"), &tags()).attrs);
        let desired = normalized(stack_side("nginx:2"));
        let differing: Vec<&String> = desired
            .keys()
            .filter(|k| desired.get(*k) != live.get(*k))
            .collect();
        assert_eq!(differing, ["container"]);
        assert!(!only_tags_differ(&stack_side("nginx:2"), &live, REGION));
        assert!(only_tags_differ(&stack_side("nginx:1"), &live, REGION));
    }

    #[test]
    fn containers_go_to_aws_and_back_unchanged() {
        let desired = stack_side("nginx:1");
        let containers: Vec<ContainerDefinition> = get_blocks(&desired, "container")
            .map(|c| container_to_aws(c, REGION).expect("a container definition"))
            .collect();
        let web = &containers[0];
        assert_eq!(web.environment().len(), 2);
        let log = web.log_configuration().expect("a log configuration");
        assert_eq!(
            log.options()
                .and_then(|o| o.get("awslogs-region"))
                .map(String::as_str),
            Some(REGION),
            "awslogs needs a region: the stack's unless the container says otherwise"
        );
        let mut back = desired.clone();
        back.insert(
            "container".into(),
            Value::List(containers.iter().map(container_from_aws).collect()),
        );
        assert_eq!(normalized(back), normalized(desired));
    }

    #[test]
    fn efs_volumes_go_to_aws_and_back_unchanged() {
        let volume = map(&[
            ("name", s("data")),
            (
                "efs",
                Value::Map(map(&[
                    ("file-system", s("fs-1234")),
                    ("root-directory", s("/data")),
                    ("transit-encryption", Value::Bool(true)),
                    ("access-point", s("fsap-1")),
                    ("iam", Value::Bool(true)),
                ])),
            ),
        ]);
        let aws = volume_to_aws(&volume).expect("a volume");
        assert_eq!(volume_from_aws(&aws), Value::Map(volume));
    }

    #[test]
    fn older_revisions_beyond_the_kept_ones_go_never_the_newest() {
        let revs: Vec<(i64, String)> = (1..=5).map(|r| (r, format!("web:{r}"))).collect();
        assert_eq!(
            stale_revisions(&revs, 2, Some("web:5")),
            ["web:1", "web:2", "web:3"]
        );
        assert_eq!(
            stale_revisions(&revs, 0, None),
            ["web:1", "web:2", "web:3", "web:4"]
        );
        assert_eq!(stale_revisions(&revs, 10, None), Vec::<String>::new());
        // The revision the apply just registered stays, whatever its place.
        assert_eq!(stale_revisions(&revs, 2, Some("web:2")), ["web:1", "web:3"]);
        assert_eq!(
            family_and_revision("arn:aws:ecs:r:1:task-definition/a-b:12"),
            Some(("a-b", 12))
        );
    }
}
