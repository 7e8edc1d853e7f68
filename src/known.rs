//! What is known about values during a run: references resolved against configured attributes,
//! look-up results and what AWS reported for resources that exist.
//!
//! Refresh uses it to compute natural keys, the diff to compute desired attributes (a reference
//! to something not created yet is [`Value::Unknown`], shown as `(known after apply)`), and the
//! executor to feed values created upstream to dependents.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Address, Kind, Resource, Stack, Value};
use crate::providers::{
    ADDRESS_TAG, Desired, PROTECT_TAG, SECRET_VERSION_TAG, STACK_TAG, VERSION_ID,
};

pub struct Known<'s> {
    stack: &'s Stack,
    index: HashMap<&'s Address, usize>,
    /// Per resource: look-up results, or computed attributes of a live resource that stays.
    aws: Vec<Option<BTreeMap<String, Value>>>,
}

impl<'s> Known<'s> {
    pub fn new(stack: &'s Stack) -> Self {
        Known {
            stack,
            index: stack
                .resources
                .iter()
                .enumerate()
                .map(|(i, r)| (&r.address, i))
                .collect(),
            aws: vec![None; stack.resources.len()],
        }
    }

    /// What refresh read: look-up results and the computed attributes of live resources.
    pub fn from_refreshed(stack: &'s Stack, refreshed: &crate::refresh::Refreshed) -> Self {
        let mut known = Known::new(stack);
        for (i, lookup) in refreshed.lookups.iter().enumerate() {
            if let Some(values) = lookup {
                known.set(i, values.clone());
            }
        }
        for (i, live) in refreshed.live.iter().enumerate() {
            if let Some(live) = live {
                known.set(i, live.computed.clone());
            }
        }
        known
    }

    /// What is known of each resource (for the outputs printed after a run).
    pub fn into_values(self) -> Vec<Option<BTreeMap<String, Value>>> {
        self.aws
    }

    /// Known values handed back by [`Known::into_values`].
    pub fn with_values(stack: &'s Stack, values: Vec<Option<BTreeMap<String, Value>>>) -> Self {
        let mut known = Known::new(stack);
        for (i, v) in values.into_iter().enumerate().take(stack.resources.len()) {
            known.aws[i] = v;
        }
        known
    }

    /// Records what AWS says about resource `i` (look-up attributes or computed attributes).
    pub fn set(&mut self, i: usize, values: BTreeMap<String, Value>) {
        self.aws[i] = Some(values);
    }

    /// Forgets what AWS said about `i`: it is about to be created or replaced.
    pub fn forget(&mut self, i: usize) {
        self.aws[i] = None;
    }

    /// Resolves every reference inside `value`.
    pub fn resolve(&self, value: &Value) -> Value {
        self.resolve_depth(value, 0)
    }

    fn resolve_depth(&self, value: &Value, depth: usize) -> Value {
        match value {
            Value::Ref(r) => {
                let Some(address) = r.address() else {
                    return Value::Unknown;
                };
                let Some(&i) = self.index.get(address) else {
                    return Value::Unknown;
                };
                let resource = &self.stack.resources[i];
                let attr = r
                    .attribute()
                    .unwrap_or(resource.kind().schema().default_attribute);
                if !resource.kind().is_lookup()
                    && let Some(configured) = resource.attrs.get(attr)
                    && depth < self.stack.resources.len()
                {
                    return self.resolve_depth(configured, depth + 1);
                }
                // `map.key` reads one entry of a computed map.
                let found = match attr.split_once('.') {
                    Some((map, key)) => self.aws[i]
                        .as_ref()
                        .and_then(|values| values.get(map))
                        .and_then(Value::as_map)
                        .and_then(|entries| entries.get(key)),
                    None => self.aws[i].as_ref().and_then(|values| values.get(attr)),
                };
                found.cloned().unwrap_or(Value::Unknown)
            }
            Value::List(items) => {
                Value::List(items.iter().map(|v| self.resolve_depth(v, depth)).collect())
            }
            Value::Map(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve_depth(v, depth)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Resolved attributes of resource `i`, with effective tags (stack tags, the resource's
    /// own, and the ownership tags) for taggable kinds.
    pub fn desired(&self, i: usize) -> Desired {
        let resource = &self.stack.resources[i];
        let mut attrs: BTreeMap<String, Value> = resource
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), self.resolve(v)))
            .collect();
        let pending = resource
            .attrs
            .iter()
            .filter(|(k, _)| attrs.get(*k) == Some(&Value::Unknown))
            .filter_map(|(k, v)| match v {
                Value::Ref(r) => Some((k.clone(), r.address()?.to_string())),
                _ => None,
            })
            .collect();
        let address = resource.address.to_string();
        let protected = resource.lifecycle.prevent_destroy.is_some();
        if resource.kind().schema().taggable {
            let mut tags = effective_tags(self.stack, attrs.get("tags"), &address, protected);
            if let Value::Map(tags) = &mut tags {
                for (secret, version) in self.secrets_read(resource) {
                    tags.insert(format!("{SECRET_VERSION_TAG}{secret}"), version);
                }
            }
            attrs.insert("tags".into(), tags);
        }
        Desired {
            address,
            attrs,
            protected,
            pending,
        }
    }
}

impl Known<'_> {
    /// For a service: the stack's secrets (by index) its task definition's containers read.
    pub fn secrets_of(&self, service: &Resource) -> Vec<usize> {
        let mut out = Vec::new();
        if service.kind() != Kind::Service {
            return out;
        }
        let Some(Value::Ref(task)) = service.attrs.get("task-definition") else {
            return out;
        };
        let Some(&t) = task.address().and_then(|a| self.index.get(a)) else {
            return out;
        };
        let Some(Value::List(containers)) = self.stack.resources[t].attrs.get("container") else {
            return out;
        };
        let secrets = containers
            .iter()
            .filter_map(Value::as_map)
            .filter_map(|c| c.get("secrets").and_then(Value::as_map))
            .flat_map(|m| m.values());
        for value in secrets {
            let Value::Ref(r) = value else { continue };
            let Some(&i) = r.address().and_then(|a| self.index.get(a)) else {
                continue;
            };
            if self.stack.resources[i].kind() == Kind::Secret && !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }

    /// For a service: the secrets of the stack its task definition's containers read, each
    /// with the version AWS serves now (unknown while this run changes it).
    fn secrets_read(&self, service: &Resource) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for i in self.secrets_of(service) {
            let version = match &self.aws[i] {
                // Made in this run: its version is AWS's to tell.
                None => Value::Unknown,
                Some(values) => match values.get(VERSION_ID) {
                    Some(version) => version.clone(),
                    // It has no value yet: there is no version to read.
                    None => continue,
                },
            };
            out.insert(self.stack.resources[i].address.to_string(), version);
        }
        out
    }
}

/// Stack tags, then the resource's own tags, then the ownership tags and the protection (which
/// nothing overrides).
pub fn effective_tags(stack: &Stack, own: Option<&Value>, address: &str, protected: bool) -> Value {
    let mut tags: BTreeMap<String, Value> = stack
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if let Some(Value::Map(own)) = own {
        tags.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    tags.insert(STACK_TAG.into(), Value::String(stack.name.clone()));
    // A tag value cannot hold an instance key's brackets and quotes.
    tags.insert(
        ADDRESS_TAG.into(),
        Value::String(crate::model::address::to_tag(address)),
    );
    tags.remove(PROTECT_TAG);
    if protected {
        tags.insert(PROTECT_TAG.into(), Value::String("true".into()));
    }
    Value::Map(tags)
}
