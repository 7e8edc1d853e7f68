//! ECS: clusters, task definitions and services.
//!
//! Conversions between SDK types and schema values live next to each kind; what the kinds
//! share (tags, defaults from the schema, value accessors) is here.

mod cluster;
mod containers;
mod history;
mod service;
mod task_definition;

pub use history::History;
pub(super) use service::active_services;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ecs::types::Tag;

use super::error::aws;
use super::kit;
use super::tagging::OwnedIndex;
use super::{Clients, Connection};
use crate::model::Value;
use crate::model::schema::{BlockSchema, Type};
use crate::providers::{
    Owner, ProviderError, Providers, desired_tags, owner_from_tags, tags_value,
};

/// Adds the ECS kinds to `providers`.
pub fn register(
    providers: &mut Providers,
    clients: &Clients,
    connection: &Connection,
    owned: &Arc<OwnedIndex>,
) {
    providers.add(Arc::new(cluster::Clusters::new(
        clients.ecs.clone(),
        owned.clone(),
    )));
    providers.add(Arc::new(task_definition::TaskDefinitions::new(
        clients.ecs.clone(),
        owned.clone(),
        connection.region.clone(),
        connection.stack.clone(),
    )));
    providers.add(Arc::new(service::Services::new(
        clients.ecs.clone(),
        clients.cloudwatch.clone(),
        owned.clone(),
    )));
}

/// The desired tags as ECS tags.
fn ecs_tags(attrs: &BTreeMap<String, Value>) -> Vec<Tag> {
    sdk_tags(desired_tags(attrs))
}

/// Tag pairs as the ECS SDK takes them.
fn sdk_tags(pairs: Vec<(String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Tags as reported by ECS: the `tags` value and the owner they record.
fn live_tags(tags: &[Tag]) -> (Value, Owner) {
    let pairs = || {
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
    };
    (tags_value(pairs()), owner_from_tags(pairs()))
}

/// Fills the schema's AWS defaults into `map` and every block inside it, as the decoder does
/// for desired values, so that live values read from AWS compare the same way.
fn fill_defaults(schema: &BlockSchema, map: &mut BTreeMap<String, Value>) {
    for attr in schema.attrs {
        if let Some(default) = attr.default
            && !matches!(map.get(attr.name), Some(v) if *v != Value::Null)
        {
            map.insert(attr.name.to_string(), default.to_value());
        }
        match (attr.ty, map.get_mut(attr.name)) {
            (Type::Block(inner), Some(Value::Map(m))) => fill_defaults(inner, m),
            (Type::Blocks(inner), Some(Value::List(items))) => {
                for item in items {
                    if let Value::Map(m) = item {
                        fill_defaults(inner, m);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Removes nulls, empty lists and empty maps: AWS reports `[]` where the stack says nothing.
fn prune(map: &mut BTreeMap<String, Value>) {
    map.retain(|_, v| match v {
        Value::Null => false,
        Value::List(l) => !l.is_empty(),
        Value::Map(m) => !m.is_empty(),
        _ => true,
    });
}

/// Sorts a list of strings (a set in AWS's eyes); leaves anything else alone.
fn sort_strings(value: &mut Value) {
    if let Value::List(items) = value
        && items.iter().all(|v| matches!(v, Value::String(_)))
    {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
}

/// Sorts a list of maps by the value at `key` (labelled blocks), ints numerically.
fn sort_blocks(value: &mut Value, key: &str) {
    if let Value::List(items) = value {
        items.sort_by(|a, b| {
            let k = |v: &Value| v.as_map().and_then(|m| m.get(key)).map(sort_key);
            k(a).cmp(&k(b))
        });
    }
}

fn sort_key(v: &Value) -> (i64, String) {
    match v {
        Value::Int(i) => (*i, String::new()),
        other => (
            0,
            other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string),
        ),
    }
}

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn strings(items: &[String]) -> Value {
    Value::List(items.iter().map(|i| s(i)).collect())
}

fn get_str<'a>(map: &'a BTreeMap<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn get_i32(map: &BTreeMap<String, Value>, key: &str) -> Option<i32> {
    map.get(key)
        .and_then(Value::as_int)
        .and_then(|i| i32::try_from(i).ok())
}

fn get_bool(map: &BTreeMap<String, Value>, key: &str) -> Option<bool> {
    match map.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

fn get_strings(map: &BTreeMap<String, Value>, key: &str) -> Option<Vec<String>> {
    map.get(key).and_then(Value::as_list).map(|l| {
        l.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

fn get_map<'a>(map: &'a BTreeMap<String, Value>, key: &str) -> Option<&'a BTreeMap<String, Value>> {
    map.get(key).and_then(Value::as_map)
}

fn get_blocks<'a>(
    map: &'a BTreeMap<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a BTreeMap<String, Value>> {
    map.get(key)
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_map)
}

/// The last part of an ARN's resource path: `arn:...:cluster/web` → `web`. Plain names stay.
fn arn_tail(text: &str) -> &str {
    if text.starts_with("arn:") {
        text.rsplit('/').next().unwrap_or(text)
    } else {
        text
    }
}
/// Converges the tags of the ECS resource `arn` (a cluster, task definition or service) from
/// `live` to `desired`.
async fn retag(
    client: &aws_sdk_ecs::Client,
    arn: &str,
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> Result<(), ProviderError> {
    kit::retag(
        desired,
        live,
        &[],
        |keys| async move {
            client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .map_err(aws("UntagResource"))?;
            Ok(())
        },
        |pairs| async move {
            client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(sdk_tags(pairs)))
                .send()
                .await
                .map_err(aws("TagResource"))?;
            Ok(())
        },
    )
    .await
}
