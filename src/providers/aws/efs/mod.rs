//! Amazon EFS file systems, with their mount targets and access points.
//!
//! A file system is found by its creation token (derived from the stack and the address) and
//! owned by its tags; its mount targets cannot be tagged and belong to it; its access points
//! carry the same ownership tags, and only the stack's own are read, changed or deleted. The
//! SDK calls are in `calls.rs`, the comparable shape and the reconciling steps in `shape.rs`,
//! the waits in `wait.rs`.

mod calls;
mod shape;
mod wait;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_efs::Client;

use super::kit;
use crate::model::{Kind, Value};
use crate::providers::{
    BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, desired_tags,
};

/// How often a wait asks AWS again.
const POLL: Duration = Duration::from_secs(2);
/// How long a delete waits for its mount targets to go (AWS takes a minute or two).
const DELETE_WAIT: Duration = Duration::from_secs(600);

pub struct FileSystems {
    efs: Client,
    ec2: aws_sdk_ec2::Client,
    stack: String,
}

impl FileSystems {
    pub fn new(efs: Client, ec2: aws_sdk_ec2::Client, stack: String) -> Self {
        FileSystems { efs, ec2, stack }
    }

    fn id(live: &Live) -> Result<&str, ProviderError> {
        live.computed
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::Input("the live file system has no id".into()))
    }

    /// Refuses two subnets of one zone before any write.
    async fn check_zones(&self, desired: &Desired) -> Result<(), ProviderError> {
        let subnets: Vec<String> = shape::mount_targets(&desired.attrs).into_keys().collect();
        let zones = calls::zones(&self.ec2, &subnets).await?;
        shape::one_per_zone(&zones).map_err(ProviderError::Input)
    }

    /// Deletes the mount targets of `subnets` and waits until AWS reports them gone.
    async fn delete_mount_targets(
        &self,
        fs: &str,
        targets: &BTreeMap<String, String>,
        subnets: &[String],
    ) -> Result<(), ProviderError> {
        let ids: Vec<&String> = subnets.iter().filter_map(|s| targets.get(s)).collect();
        if ids.is_empty() {
            return Ok(());
        }
        futures::future::try_join_all(
            ids.iter()
                .map(|id| calls::delete_mount_target(&self.efs, id)),
        )
        .await?;
        wait::until(
            "deleting mount targets",
            DELETE_WAIT,
            POLL,
            &|_| {},
            || async {
                let states = calls::mount_target_states(&self.efs, fs).await?;
                let left: Vec<(String, String)> = states
                    .into_iter()
                    .filter(|(id, _)| ids.contains(&id))
                    .collect();
                Ok(wait::gone(&left))
            },
        )
        .await
    }

    /// Creates the access points `names` of `desired`; returns their ids by name.
    async fn create_access_points(
        &self,
        fs: &str,
        desired: &Desired,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let points = shape::access_points(&desired.attrs);
        let owner = ownership(&desired.attrs);
        let made = futures::future::try_join_all(names.iter().filter_map(|name| {
            let block = points.get(name)?;
            let owner = &owner;
            Some(async move {
                let id = calls::create_access_point(&self.efs, fs, block, owner).await?;
                Ok::<_, ProviderError>((name.clone(), id))
            })
        }))
        .await?;
        Ok(made.into_iter().collect())
    }
}

/// The ownership tags of the file system, which its access points carry too.
fn ownership(attrs: &BTreeMap<String, Value>) -> Vec<(String, String)> {
    desired_tags(attrs)
        .into_iter()
        .filter(|(k, _)| k.starts_with("infra:"))
        .collect()
}

/// The file system's tags as AWS holds them: the stack's tags and `Name`.
fn all_tags(attrs: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    let mut tags = attrs
        .get("tags")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    if let Some(name) = attrs.get("name") {
        tags.insert("Name".into(), name.clone());
    }
    BTreeMap::from([("tags".to_string(), Value::Map(tags))])
}

fn access_point_ids(live: &Live) -> BTreeMap<String, String> {
    live.computed
        .get("access-points")
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn mount_target_ids(live: &Live) -> BTreeMap<String, String> {
    live.private
        .get(calls::MOUNT_TARGETS)
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn ids_value(ids: &BTreeMap<String, String>) -> Value {
    Value::Map(
        ids.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

impl ResourceKind for FileSystems {
    fn kind(&self) -> Kind {
        Kind::Efs
    }

    /// The creation token, from the ownership tags: a renamed file system (`name` is a tag)
    /// stays the same file system.
    fn key(&self, attrs: &BTreeMap<String, Value>) -> Option<String> {
        shape::token_of(attrs)
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        shape::normalize(attrs);
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let all = calls::file_systems(&self.efs, None).await?;
            let owned: Vec<_> = all
                .into_iter()
                .filter(
                    |fs| matches!(calls::owner(fs), Owner::Stack { stack: s, .. } if s == stack),
                )
                .collect();
            futures::future::try_join_all(owned.iter().map(|fs| calls::live(&self.efs, fs))).await
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            futures::future::try_join_all(desired.iter().map(|d| async move {
                let Some(token) = shape::token_of(&d.attrs) else {
                    return Ok(None);
                };
                match calls::file_systems(&self.efs, Some(&token)).await?.first() {
                    Some(fs) => Ok(Some(calls::live(&self.efs, fs).await?)),
                    None => Ok(None),
                }
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            self.check_zones(desired).await?;
            let token = shape::token_of(&desired.attrs).ok_or_else(|| {
                ProviderError::Input("the file system has no ownership tags".into())
            })?;
            let tags = desired_tags(&all_tags(&desired.attrs));
            let (id, arn) =
                calls::create_file_system(&self.efs, &token, &desired.attrs, tags).await?;
            // Mount targets need an available file system.
            wait::until(
                "creating the file system",
                DELETE_WAIT,
                POLL,
                &|_| {},
                || async {
                    let states = calls::states(&self.efs, &id).await?;
                    Ok(wait::stable(&states.0, &[]))
                },
            )
            .await?;
            if desired.attrs.contains_key("lifecycle-policy") {
                calls::put_lifecycle(&self.efs, &id, &desired.attrs).await?;
            }
            let mut targets = BTreeMap::new();
            for (subnet, groups) in shape::mount_targets(&desired.attrs) {
                let mt = calls::create_mount_target(&self.efs, &id, &subnet, &groups).await?;
                targets.insert(subnet, mt);
            }
            let names: Vec<String> = shape::access_points(&desired.attrs).into_keys().collect();
            let points = self.create_access_points(&id, desired, &names).await?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            live.computed.insert("id".into(), Value::String(id));
            if let Some(arn) = arn {
                live.computed.insert("arn".into(), Value::String(arn));
            }
            live.computed
                .insert("access-points".into(), ids_value(&points));
            live.private
                .insert(calls::MOUNT_TARGETS.into(), ids_value(&targets));
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
            let id = Self::id(live)?;
            if changed.contains("mount-target") {
                self.check_zones(desired).await?;
            }
            if changed.any_of(&["name", "tags"]) {
                let (want, have) = (all_tags(&desired.attrs), all_tags(&live.attrs));
                kit::retag(
                    &want,
                    &have,
                    &[],
                    |keys| calls::untag(&self.efs, id, keys),
                    |pairs| calls::tag(&self.efs, id, pairs),
                )
                .await?;
            }
            if changed.any_of(&["throughput-mode", "provisioned-mibps"]) {
                calls::update_throughput(&self.efs, id, &desired.attrs).await?;
            }
            if changed.contains("lifecycle-policy") {
                calls::put_lifecycle(&self.efs, id, &desired.attrs).await?;
            }
            if changed.contains("backup") {
                let on = desired.attrs.get("backup") == Some(&Value::Bool(true));
                calls::put_backup(&self.efs, id, on).await?;
            }
            let mut targets = mount_target_ids(live);
            if changed.contains("mount-target") {
                let steps = shape::mount_target_steps(&desired.attrs, &live.attrs);
                self.delete_mount_targets(id, &targets, &steps.delete)
                    .await?;
                for subnet in &steps.delete {
                    targets.remove(subnet);
                }
                for (subnet, groups) in &steps.regroup {
                    if let Some(mt) = targets.get(subnet) {
                        calls::set_security_groups(&self.efs, mt, groups).await?;
                    }
                }
                for (subnet, groups) in &steps.create {
                    let mt = calls::create_mount_target(&self.efs, id, subnet, groups).await?;
                    targets.insert(subnet.clone(), mt);
                }
            }
            let mut points = access_point_ids(live);
            if changed.contains("access-point") {
                let steps = shape::access_point_steps(&desired.attrs, &live.attrs);
                for name in &steps.delete {
                    if let Some(ap) = points.remove(name) {
                        calls::delete_access_point(&self.efs, &ap).await?;
                    }
                }
                points.extend(
                    self.create_access_points(id, desired, &steps.create)
                        .await?,
                );
            }
            let mut updated = Live::converged(desired, live);
            updated
                .computed
                .insert("access-points".into(), ids_value(&points));
            updated
                .private
                .insert(calls::MOUNT_TARGETS.into(), ids_value(&targets));
            Ok(updated)
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let id = Self::id(live)?;
            // Every mount target, the ones made since the plan too: the file system cannot
            // go while one exists.
            let states = calls::mount_target_states(&self.efs, id).await?;
            let targets: BTreeMap<String, String> = states
                .iter()
                .map(|(mt, _)| (mt.clone(), mt.clone()))
                .collect();
            let all: Vec<String> = targets.keys().cloned().collect();
            self.delete_mount_targets(id, &targets, &all).await?;
            for ap in calls::owned_access_points(&self.efs, id, &self.stack).await? {
                calls::delete_access_point(&self.efs, &ap).await?;
            }
            calls::delete_file_system(&self.efs, id).await
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let id = Self::id(live)?;
            Ok(calls::file_system(&self.efs, id)
                .await?
                .map(|fs| calls::owner(&fs)))
        })
    }

    fn wait_stable<'a>(
        &'a self,
        _desired: &'a Desired,
        live: &'a Live,
        timeout: Duration,
        progress: &'a (dyn Fn(String) + Send + Sync),
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let id = Self::id(live)?;
            wait::until(
                "waiting for the file system",
                timeout,
                POLL,
                progress,
                || async {
                    let (fs, targets) = calls::states(&self.efs, id).await?;
                    Ok(wait::stable(&fs, &targets))
                },
            )
            .await
        })
    }
}
