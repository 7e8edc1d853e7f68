//! The EFS calls of the file system kind, and the conversion of what they answer into schema
//! values, in one place.

use std::collections::BTreeMap;

use aws_sdk_efs::Client;
use aws_sdk_efs::types::{
    AccessPointDescription, BackupPolicy, CreationInfo, FileSystemDescription, LifecyclePolicy,
    PerformanceMode, PosixUser, RootDirectory, Status, Tag, ThroughputMode,
    TransitionToArchiveRules, TransitionToIaRules, TransitionToPrimaryStorageClassRules,
};

use super::super::error::aws;
use super::super::kit;
use crate::model::Value;
use crate::providers::{Live, Owner, ProviderError, owner_from_tags, tags_value};

type Map = BTreeMap<String, Value>;

/// Key in [`Live::private`]: each subnet's mount target id.
pub const MOUNT_TARGETS: &str = "mount-targets";

fn pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> + Clone {
    tags.iter().map(|t| (t.key(), t.value()))
}

fn sdk_tags(pairs: Vec<(String, String)>) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::Input(format!("a tag: {e}")))
        })
        .collect()
}

fn code_is<E: aws_sdk_efs::error::ProvideErrorMetadata>(
    e: &aws_sdk_efs::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    codes: &[&str],
) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| codes.contains(&c))
}

pub fn owner(fs: &FileSystemDescription) -> Owner {
    owner_from_tags(pairs(fs.tags()))
}

/// Every file system of the region, or the one made with `token`.
pub async fn file_systems(
    client: &Client,
    token: Option<&str>,
) -> Result<Vec<FileSystemDescription>, ProviderError> {
    kit::pages(|marker| async move {
        let page = client
            .describe_file_systems()
            .set_creation_token(token.map(str::to_string))
            .set_marker(marker)
            .max_items(100)
            .send()
            .await
            .map_err(aws("DescribeFileSystems"))?;
        Ok((
            page.file_systems().to_vec(),
            page.next_marker().map(str::to_string),
        ))
    })
    .await
}

/// The file system `id`; `None` when AWS no longer has it.
pub async fn file_system(
    client: &Client,
    id: &str,
) -> Result<Option<FileSystemDescription>, ProviderError> {
    match client
        .describe_file_systems()
        .file_system_id(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.file_systems().first().cloned()),
        Err(e) if code_is(&e, &["FileSystemNotFound"]) => Ok(None),
        Err(e) => Err(aws("DescribeFileSystems")(e)),
    }
}

/// The file system's state and each mount target's id and state.
pub async fn states(
    client: &Client,
    id: &str,
) -> Result<(String, Vec<(String, String)>), ProviderError> {
    let fs = file_system(client, id)
        .await?
        .ok_or_else(|| ProviderError::NotFound(format!("file system {id} is gone")))?;
    let targets = mount_target_states(client, id).await?;
    Ok((fs.life_cycle_state().as_str().to_string(), targets))
}

/// Each mount target of the file system: id and state.
pub async fn mount_target_states(
    client: &Client,
    fs: &str,
) -> Result<Vec<(String, String)>, ProviderError> {
    Ok(mount_targets(client, fs)
        .await?
        .iter()
        .map(|mt| {
            (
                mt.mount_target_id().to_string(),
                mt.life_cycle_state().as_str().to_string(),
            )
        })
        .collect())
}

async fn mount_targets(
    client: &Client,
    fs: &str,
) -> Result<Vec<aws_sdk_efs::types::MountTargetDescription>, ProviderError> {
    kit::pages(|marker| async move {
        let page = client
            .describe_mount_targets()
            .file_system_id(fs)
            .set_marker(marker)
            .send()
            .await
            .map_err(aws("DescribeMountTargets"))?;
        Ok((
            page.mount_targets().to_vec(),
            page.next_marker().map(str::to_string),
        ))
    })
    .await
}

async fn access_points(
    client: &Client,
    fs: &str,
) -> Result<Vec<AccessPointDescription>, ProviderError> {
    kit::pages(|token| async move {
        let page = client
            .describe_access_points()
            .file_system_id(fs)
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("DescribeAccessPoints"))?;
        Ok((
            page.access_points().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await
}

/// The ids of the access points of `fs` that `stack` owns.
pub async fn owned_access_points(
    client: &Client,
    fs: &str,
    stack: &str,
) -> Result<Vec<String>, ProviderError> {
    Ok(access_points(client, fs)
        .await?
        .iter()
        .filter(|ap| matches!(owner_from_tags(pairs(ap.tags())), Owner::Stack { stack: s, .. } if s == stack))
        .filter_map(|ap| ap.access_point_id().map(str::to_string))
        .collect())
}

/// A file system as the schema says it, with its mount targets and the access points that
/// share its owner.
pub async fn live(client: &Client, fs: &FileSystemDescription) -> Result<Live, ProviderError> {
    let id = fs.file_system_id();
    let (targets, points, lifecycle, backup) = futures::future::try_join4(
        async {
            let targets = mount_targets(client, id).await?;
            let live: Vec<_> = targets
                .into_iter()
                .filter(|mt| !matches!(mt.life_cycle_state().as_str(), "deleting" | "deleted"))
                .collect();
            futures::future::try_join_all(live.into_iter().map(|mt| async move {
                let groups = client
                    .describe_mount_target_security_groups()
                    .mount_target_id(mt.mount_target_id())
                    .send()
                    .await
                    .map_err(aws("DescribeMountTargetSecurityGroups"))?;
                Ok::<_, ProviderError>((mt, groups.security_groups().to_vec()))
            }))
            .await
        },
        access_points(client, id),
        async {
            let out = client
                .describe_lifecycle_configuration()
                .file_system_id(id)
                .send()
                .await
                .map_err(aws("DescribeLifecycleConfiguration"))?;
            Ok(out.lifecycle_policies().to_vec())
        },
        async {
            match client
                .describe_backup_policy()
                .file_system_id(id)
                .send()
                .await
            {
                Ok(out) => Ok(out
                    .backup_policy()
                    .is_some_and(|p| matches!(p.status(), Status::Enabled | Status::Enabling))),
                Err(e) if code_is(&e, &["PolicyNotFound"]) => Ok(false),
                Err(e) => Err(aws("DescribeBackupPolicy")(e)),
            }
        },
    )
    .await?;
    let owner = owner(fs);
    let mut a = Map::new();
    let s = |v: &str| Value::String(v.to_string());
    a.insert("name".into(), s(fs.name().unwrap_or_default()));
    let encrypted = fs.encrypted().unwrap_or(false);
    a.insert("encrypted".into(), Value::Bool(encrypted));
    if let (true, Some(key)) = (encrypted, fs.kms_key_id()) {
        a.insert("kms-key".into(), s(key));
    }
    a.insert("performance-mode".into(), s(fs.performance_mode().as_str()));
    let mode = fs
        .throughput_mode()
        .map_or("bursting", ThroughputMode::as_str);
    a.insert("throughput-mode".into(), s(mode));
    if let (Some(mibps), "provisioned") = (fs.provisioned_throughput_in_mibps(), mode) {
        a.insert("provisioned-mibps".into(), Value::Int(mibps.round() as i64));
    }
    if let Some(rules) = lifecycle_value(&lifecycle) {
        a.insert("lifecycle-policy".into(), rules);
    }
    a.insert("backup".into(), Value::Bool(backup));
    let mut ids = Map::new();
    let mut blocks = Vec::new();
    for (mt, mut groups) in targets {
        groups.sort();
        ids.insert(mt.subnet_id().to_string(), s(mt.mount_target_id()));
        blocks.push(super::shape::mount_target(mt.subnet_id(), &groups));
    }
    a.insert("mount-target".into(), Value::List(blocks));
    let mut point_ids = Map::new();
    let mut point_blocks = Vec::new();
    for ap in points
        .iter()
        .filter(|ap| owner_from_tags(pairs(ap.tags())) == owner && owner != Owner::Nobody)
    {
        let (Some(name), Some(ap_id)) = (ap.name(), ap.access_point_id()) else {
            continue;
        };
        point_ids.insert(name.to_string(), s(ap_id));
        point_blocks.push(access_point_value(ap));
    }
    if !point_blocks.is_empty() {
        a.insert("access-point".into(), Value::List(point_blocks));
    }
    a.insert(
        "tags".into(),
        tags_value(pairs(fs.tags()).filter(|(k, _)| *k != "Name")),
    );
    super::shape::normalize(&mut a);
    let mut live = Live::new(a, owner);
    live.computed.insert("id".into(), s(id));
    if let Some(arn) = fs.file_system_arn() {
        live.computed.insert("arn".into(), s(arn));
    }
    live.computed
        .insert("access-points".into(), Value::Map(point_ids));
    live.private.insert(MOUNT_TARGETS.into(), Value::Map(ids));
    Ok(live)
}

fn lifecycle_value(policies: &[LifecyclePolicy]) -> Option<Value> {
    let mut m = Map::new();
    for p in policies {
        if let Some(r) = p.transition_to_ia() {
            m.insert("transition-to-ia".into(), Value::String(r.as_str().into()));
        }
        if let Some(r) = p.transition_to_archive() {
            m.insert(
                "transition-to-archive".into(),
                Value::String(r.as_str().into()),
            );
        }
        if let Some(r) = p.transition_to_primary_storage_class() {
            m.insert(
                "transition-to-primary".into(),
                Value::String(r.as_str().into()),
            );
        }
    }
    (!m.is_empty()).then_some(Value::Map(m))
}

fn access_point_value(ap: &AccessPointDescription) -> Value {
    let mut m = Map::new();
    m.insert(
        "name".into(),
        Value::String(ap.name().unwrap_or_default().into()),
    );
    let root = ap.root_directory();
    m.insert(
        "path".into(),
        Value::String(root.and_then(RootDirectory::path).unwrap_or("/").into()),
    );
    if let Some(user) = ap.posix_user() {
        m.insert("uid".into(), Value::Int(user.uid()));
        m.insert("gid".into(), Value::Int(user.gid()));
    }
    if let Some(info) = root.and_then(RootDirectory::creation_info) {
        m.insert(
            "permissions".into(),
            Value::String(info.permissions().into()),
        );
    }
    Value::Map(m)
}

/// Creates the file system (or finds the one an earlier try made with the same token); its id
/// and ARN.
pub async fn create_file_system(
    client: &Client,
    token: &str,
    attrs: &Map,
    tags: Vec<(String, String)>,
) -> Result<(String, Option<String>), ProviderError> {
    let get = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_string);
    let sent = client
        .create_file_system()
        .creation_token(token)
        .set_performance_mode(get("performance-mode").map(|m| PerformanceMode::from(m.as_str())))
        .encrypted(attrs.get("encrypted") == Some(&Value::Bool(true)))
        .set_kms_key_id(get("kms-key"))
        .set_throughput_mode(get("throughput-mode").map(|m| ThroughputMode::from(m.as_str())))
        .set_provisioned_throughput_in_mibps(
            attrs
                .get("provisioned-mibps")
                .and_then(Value::as_int)
                .map(|n| n as f64),
        )
        .backup(attrs.get("backup") == Some(&Value::Bool(true)))
        .set_tags(Some(sdk_tags(tags)?))
        .send()
        .await;
    match sent {
        Ok(out) => Ok((
            out.file_system_id().to_string(),
            out.file_system_arn().map(str::to_string),
        )),
        Err(e) if code_is(&e, &["FileSystemAlreadyExists"]) => {
            let found = file_systems(client, Some(token)).await?;
            let fs = found.first().ok_or_else(|| aws("CreateFileSystem")(e))?;
            Ok((
                fs.file_system_id().to_string(),
                fs.file_system_arn().map(str::to_string),
            ))
        }
        Err(e) => Err(aws("CreateFileSystem")(e)),
    }
}

pub async fn put_lifecycle(client: &Client, id: &str, attrs: &Map) -> Result<(), ProviderError> {
    let rules = attrs.get("lifecycle-policy").and_then(Value::as_map);
    let rule = |k: &str| rules.and_then(|r| r.get(k)).and_then(Value::as_str);
    let mut policies = Vec::new();
    if let Some(r) = rule("transition-to-ia") {
        policies.push(
            LifecyclePolicy::builder()
                .transition_to_ia(TransitionToIaRules::from(r))
                .build(),
        );
    }
    if let Some(r) = rule("transition-to-archive") {
        policies.push(
            LifecyclePolicy::builder()
                .transition_to_archive(TransitionToArchiveRules::from(r))
                .build(),
        );
    }
    if let Some(r) = rule("transition-to-primary") {
        policies.push(
            LifecyclePolicy::builder()
                .transition_to_primary_storage_class(TransitionToPrimaryStorageClassRules::from(r))
                .build(),
        );
    }
    client
        .put_lifecycle_configuration()
        .file_system_id(id)
        .set_lifecycle_policies(Some(policies))
        .send()
        .await
        .map_err(aws("PutLifecycleConfiguration"))?;
    Ok(())
}

pub async fn update_throughput(
    client: &Client,
    id: &str,
    attrs: &Map,
) -> Result<(), ProviderError> {
    let mode = attrs
        .get("throughput-mode")
        .and_then(Value::as_str)
        .unwrap_or("bursting");
    client
        .update_file_system()
        .file_system_id(id)
        .throughput_mode(ThroughputMode::from(mode))
        .set_provisioned_throughput_in_mibps(
            attrs
                .get("provisioned-mibps")
                .and_then(Value::as_int)
                .map(|n| n as f64),
        )
        .send()
        .await
        .map_err(aws("UpdateFileSystem"))?;
    Ok(())
}

pub async fn put_backup(client: &Client, id: &str, on: bool) -> Result<(), ProviderError> {
    let policy = BackupPolicy::builder()
        .status(if on {
            Status::Enabled
        } else {
            Status::Disabled
        })
        .build()
        .map_err(|e| ProviderError::Input(format!("a backup policy: {e}")))?;
    client
        .put_backup_policy()
        .file_system_id(id)
        .backup_policy(policy)
        .send()
        .await
        .map_err(aws("PutBackupPolicy"))?;
    Ok(())
}

pub async fn tag(
    client: &Client,
    id: &str,
    pairs: Vec<(String, String)>,
) -> Result<(), ProviderError> {
    client
        .tag_resource()
        .resource_id(id)
        .set_tags(Some(sdk_tags(pairs)?))
        .send()
        .await
        .map_err(aws("TagResource"))?;
    Ok(())
}

pub async fn untag(client: &Client, id: &str, keys: Vec<String>) -> Result<(), ProviderError> {
    client
        .untag_resource()
        .resource_id(id)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(aws("UntagResource"))?;
    Ok(())
}

/// Creates a mount target; its id.
pub async fn create_mount_target(
    client: &Client,
    fs: &str,
    subnet: &str,
    groups: &[String],
) -> Result<String, ProviderError> {
    let out = client
        .create_mount_target()
        .file_system_id(fs)
        .subnet_id(subnet)
        .set_security_groups(Some(groups.to_vec()))
        .send()
        .await
        .map_err(aws("CreateMountTarget"))?;
    Ok(out.mount_target_id().to_string())
}

pub async fn set_security_groups(
    client: &Client,
    mount_target: &str,
    groups: &[String],
) -> Result<(), ProviderError> {
    client
        .modify_mount_target_security_groups()
        .mount_target_id(mount_target)
        .set_security_groups(Some(groups.to_vec()))
        .send()
        .await
        .map_err(aws("ModifyMountTargetSecurityGroups"))?;
    Ok(())
}

pub async fn delete_mount_target(client: &Client, id: &str) -> Result<(), ProviderError> {
    match client
        .delete_mount_target()
        .mount_target_id(id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code_is(&e, &["MountTargetNotFound"]) => Ok(()),
        Err(e) => Err(aws("DeleteMountTarget")(e)),
    }
}

/// Creates an access point of `block` with the ownership tags `owner` and its name; its id.
pub async fn create_access_point(
    client: &Client,
    fs: &str,
    block: &Map,
    owner: &[(String, String)],
) -> Result<String, ProviderError> {
    let name = block
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let int = |k: &str| block.get(k).and_then(Value::as_int);
    let user = match (int("uid"), int("gid")) {
        (Some(uid), Some(gid)) => Some(
            PosixUser::builder()
                .uid(uid)
                .gid(gid)
                .build()
                .map_err(|e| ProviderError::Input(format!("an access point's user: {e}")))?,
        ),
        _ => None,
    };
    let creation = match (
        int("uid"),
        int("gid"),
        block.get("permissions").and_then(Value::as_str),
    ) {
        (Some(uid), Some(gid), Some(mode)) => Some(
            CreationInfo::builder()
                .owner_uid(uid)
                .owner_gid(gid)
                .permissions(mode)
                .build()
                .map_err(|e| ProviderError::Input(format!("an access point's directory: {e}")))?,
        ),
        _ => None,
    };
    let root = RootDirectory::builder()
        .set_path(
            block
                .get("path")
                .and_then(Value::as_str)
                .map(str::to_string),
        )
        .set_creation_info(creation)
        .build();
    let mut tags = owner.to_vec();
    tags.push(("Name".into(), name.to_string()));
    let out = client
        .create_access_point()
        .client_token(crate::providers::client_token(&format!("{fs}/{name}")))
        .file_system_id(fs)
        .set_posix_user(user)
        .root_directory(root)
        .set_tags(Some(sdk_tags(tags)?))
        .send()
        .await
        .map_err(aws("CreateAccessPoint"))?;
    out.access_point_id()
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Input("CreateAccessPoint returned no id".into()))
}

pub async fn delete_access_point(client: &Client, id: &str) -> Result<(), ProviderError> {
    match client
        .delete_access_point()
        .access_point_id(id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code_is(&e, &["AccessPointNotFound"]) => Ok(()),
        Err(e) => Err(aws("DeleteAccessPoint")(e)),
    }
}

pub async fn delete_file_system(client: &Client, id: &str) -> Result<(), ProviderError> {
    match client.delete_file_system().file_system_id(id).send().await {
        Ok(_) => Ok(()),
        Err(e) if code_is(&e, &["FileSystemNotFound"]) => Ok(()),
        Err(e) => Err(aws("DeleteFileSystem")(e)),
    }
}

/// Each subnet with its availability zone, read from EC2.
pub async fn zones(
    ec2: &aws_sdk_ec2::Client,
    subnets: &[String],
) -> Result<Vec<(String, String)>, ProviderError> {
    if subnets.is_empty() {
        return Ok(Vec::new());
    }
    let out = ec2
        .describe_subnets()
        .set_subnet_ids(Some(subnets.to_vec()))
        .send()
        .await
        .map_err(aws("DescribeSubnets"))?;
    Ok(out
        .subnets()
        .iter()
        .filter_map(|s| {
            Some((
                s.subnet_id()?.to_string(),
                s.availability_zone()?.to_string(),
            ))
        })
        .collect())
}
