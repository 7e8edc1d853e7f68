//! The file system's attributes in one comparable shape, and what it takes to go from the live
//! mount targets and access points to the desired ones, decided without AWS.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::model::Value;
use crate::providers::{ADDRESS_TAG, STACK_TAG};

type Map = BTreeMap<String, Value>;

/// The creation token of the file system at `address` in `stack`: the same on every run, so
/// that a create tried again finds the first one instead of making a second file system.
pub fn creation_token(stack: &str, address: &str) -> String {
    let digest = Sha256::digest(format!("{stack}|{address}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("infra-{hex}")
}

/// The creation token of a resource whose tags name its stack and address.
pub fn token_of(attrs: &Map) -> Option<String> {
    let tags = attrs.get("tags")?.as_map()?;
    let stack = tags.get(STACK_TAG)?.as_str()?;
    let address = tags.get(ADDRESS_TAG)?.as_str()?;
    Some(creation_token(stack, address))
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value?
        .as_list()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Mount targets one block per subnet, by subnet, each with its security groups sorted; access
/// points by name. Blocks with a value not known yet are left as written.
pub fn normalize(attrs: &mut Map) {
    if let Some(Value::List(blocks)) = attrs.get("mount-target") {
        let mut known = true;
        let mut per_subnet: BTreeMap<String, Value> = BTreeMap::new();
        for block in blocks {
            let Some(map) = block.as_map() else {
                known = false;
                break;
            };
            let (Some(subnets), Some(mut groups)) = (
                strings(map.get("subnets")),
                strings(map.get("security-groups")),
            ) else {
                known = false;
                break;
            };
            groups.sort();
            groups.dedup();
            for subnet in subnets {
                per_subnet.insert(subnet.clone(), mount_target(&subnet, &groups));
            }
        }
        if known {
            attrs.insert(
                "mount-target".into(),
                Value::List(per_subnet.into_values().collect()),
            );
        }
    }
    if let Some(Value::List(points)) = attrs.get_mut("access-point") {
        points.sort_by_key(name_of);
    }
    if matches!(attrs.get("mount-target"), Some(Value::List(l)) if l.is_empty()) {
        attrs.remove("mount-target");
    }
    if matches!(attrs.get("access-point"), Some(Value::List(l)) if l.is_empty()) {
        attrs.remove("access-point");
    }
}

fn name_of(block: &Value) -> Option<String> {
    block.as_map()?.get("name")?.as_str().map(str::to_string)
}

/// One mount target as a block.
pub fn mount_target(subnet: &str, groups: &[String]) -> Value {
    Value::Map(Map::from([
        (
            "subnets".to_string(),
            Value::List(vec![Value::String(subnet.to_string())]),
        ),
        (
            "security-groups".to_string(),
            Value::List(groups.iter().cloned().map(Value::String).collect()),
        ),
    ]))
}

/// The security groups of each subnet's mount target.
pub fn mount_targets(attrs: &Map) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for block in attrs
        .get("mount-target")
        .and_then(Value::as_list)
        .unwrap_or_default()
    {
        let Some(map) = block.as_map() else { continue };
        let mut groups = strings(map.get("security-groups")).unwrap_or_default();
        groups.sort();
        for subnet in strings(map.get("subnets")).unwrap_or_default() {
            out.insert(subnet, groups.clone());
        }
    }
    out
}

/// Each access point's block by name.
pub fn access_points(attrs: &Map) -> BTreeMap<String, Map> {
    attrs
        .get("access-point")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|b| {
            let map = b.as_map()?;
            Some((map.get("name")?.as_str()?.to_string(), map.clone()))
        })
        .collect()
}

/// What reconciling the mount targets takes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MountTargetSteps {
    /// Subnets whose mount target goes (first: a zone is free only once its target is gone).
    pub delete: Vec<String>,
    /// Subnets whose mount target keeps its place but changes its security groups.
    pub regroup: Vec<(String, Vec<String>)>,
    pub create: Vec<(String, Vec<String>)>,
}

pub fn mount_target_steps(desired: &Map, live: &Map) -> MountTargetSteps {
    let (want, have) = (mount_targets(desired), mount_targets(live));
    let mut steps = MountTargetSteps::default();
    for (subnet, groups) in &want {
        match have.get(subnet) {
            None => steps.create.push((subnet.clone(), groups.clone())),
            Some(now) if now != groups => steps.regroup.push((subnet.clone(), groups.clone())),
            Some(_) => {}
        }
    }
    steps.delete = have
        .keys()
        .filter(|s| !want.contains_key(*s))
        .cloned()
        .collect();
    steps
}

/// What reconciling the access points takes: AWS cannot change one, so a changed access
/// point is deleted and created again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AccessPointSteps {
    pub delete: Vec<String>,
    pub create: Vec<String>,
}

pub fn access_point_steps(desired: &Map, live: &Map) -> AccessPointSteps {
    let (want, have) = (access_points(desired), access_points(live));
    let mut steps = AccessPointSteps::default();
    for (name, block) in &have {
        if want.get(name) != Some(block) {
            steps.delete.push(name.clone());
        }
    }
    for (name, block) in &want {
        if have.get(name) != Some(block) {
            steps.create.push(name.clone());
        }
    }
    steps
}

/// Refuses two subnets in one availability zone (AWS allows one mount target per zone).
/// `zones` pairs each subnet with its zone.
pub fn one_per_zone(zones: &[(String, String)]) -> Result<(), String> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (subnet, zone) in zones {
        if let Some(other) = seen.insert(zone, subnet) {
            return Err(format!(
                "subnets {other} and {subnet} are both in {zone}: a file system has at most one \
                 mount target per availability zone; list one subnet per zone"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|i| s(i)).collect())
    }

    fn block(subnets: &[&str], groups: &[&str]) -> Value {
        Value::Map(Map::from([
            ("subnets".to_string(), list(subnets)),
            ("security-groups".to_string(), list(groups)),
        ]))
    }

    fn attrs(blocks: Vec<Value>) -> Map {
        Map::from([("mount-target".to_string(), Value::List(blocks))])
    }

    #[test]
    fn the_token_depends_on_stack_and_address_only() {
        let token = creation_token("shop", "efs.uploads");
        assert_eq!(token, creation_token("shop", "efs.uploads"));
        assert_ne!(token, creation_token("shop", "efs.media"));
        assert_ne!(token, creation_token("shop-2", "efs.uploads"));
        assert!(
            token.len() <= 64,
            "EFS takes creation tokens of at most 64 characters"
        );
    }

    #[test]
    fn mount_targets_compare_one_per_subnet_whatever_the_grouping() {
        let mut written = attrs(vec![
            block(&["subnet-b", "subnet-a"], &["sg-2", "sg-1"]),
            block(&["subnet-c"], &["sg-3"]),
        ]);
        let mut live = attrs(vec![
            block(&["subnet-a"], &["sg-1", "sg-2"]),
            block(&["subnet-c"], &["sg-3"]),
            block(&["subnet-b"], &["sg-2", "sg-1"]),
        ]);
        normalize(&mut written);
        normalize(&mut live);
        assert_eq!(written, live);
        assert_eq!(
            written["mount-target"].as_list().map(<[Value]>::len),
            Some(3)
        );
    }

    #[test]
    fn mount_targets_not_known_yet_are_left_as_written() {
        let mut written = attrs(vec![Value::Map(Map::from([
            ("subnets".to_string(), Value::Unknown),
            ("security-groups".to_string(), list(&["sg-1"])),
        ]))]);
        let before = written.clone();
        normalize(&mut written);
        assert_eq!(written, before);
    }

    #[test]
    fn mount_target_steps_delete_first_regroup_and_create() {
        let desired = attrs(vec![
            block(&["subnet-a"], &["sg-9"]),
            block(&["subnet-c"], &["sg-1"]),
        ]);
        let live = attrs(vec![block(&["subnet-a", "subnet-b"], &["sg-1"])]);
        let steps = mount_target_steps(&desired, &live);
        assert_eq!(steps.delete, ["subnet-b"]);
        assert_eq!(
            steps.regroup,
            [("subnet-a".to_string(), vec!["sg-9".to_string()])]
        );
        assert_eq!(
            steps.create,
            [("subnet-c".to_string(), vec!["sg-1".to_string()])]
        );
        assert_eq!(
            mount_target_steps(&live, &live),
            MountTargetSteps::default()
        );
    }

    fn point(name: &str, path: &str) -> Value {
        Value::Map(Map::from([
            ("name".to_string(), s(name)),
            ("path".to_string(), s(path)),
        ]))
    }

    #[test]
    fn a_changed_access_point_is_deleted_and_created_again() {
        let live = Map::from([(
            "access-point".to_string(),
            Value::List(vec![point("app", "/app"), point("old", "/old")]),
        )]);
        let desired = Map::from([(
            "access-point".to_string(),
            Value::List(vec![point("app", "/srv"), point("new", "/new")]),
        )]);
        let steps = access_point_steps(&desired, &live);
        assert_eq!(steps.delete, ["app", "old"]);
        assert_eq!(steps.create, ["app", "new"]);
        assert_eq!(
            access_point_steps(&live, &live),
            AccessPointSteps::default()
        );
    }

    #[test]
    fn two_subnets_of_one_zone_are_refused() {
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert!(
            one_per_zone(&[
                pair("subnet-a", "us-east-1a"),
                pair("subnet-b", "us-east-1b")
            ])
            .is_ok()
        );
        let err = one_per_zone(&[
            pair("subnet-a", "us-east-1a"),
            pair("subnet-b", "us-east-1a"),
        ])
        .expect_err("one zone twice");
        assert!(
            err.contains("subnet-a and subnet-b are both in us-east-1a"),
            "{err}"
        );
    }
}
