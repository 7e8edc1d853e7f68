//! Elastic Load Balancing v2: application load balancers, target groups, listeners and rules.
//!
//! The four kinds share one [`Elb`] context: the client, the stack's tag index, and what this
//! run has already read of listeners and rules. Load balancers and target groups are found
//! through the tag index; listeners and rules are not in it (nor is there a way to search
//! them by tag), so they are listed per load balancer and per listener, once per run however
//! many kinds ask, and their ownership read with DescribeTags, 20 ARNs per call.

mod actions;
mod listener;
mod load_balancer;
mod rule;
mod target_group;

pub use target_group::alternate as alternate_target_group_name;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{Listener, Rule, Tag};
use tokio::sync::OnceCell;

use super::error::aws;
use super::kit;
use super::tagging::OwnedIndex;
use super::{Clients, Connection};
use crate::model::{Kind, Value};
use crate::providers::{Live, Owner, ProviderError, Providers, ResourceKind, owner_from_tags};

/// DescribeTags, DescribeLoadBalancers and DescribeTargetGroups take at most 20 names or ARNs.
const PER_CALL: usize = 20;
/// The largest page DescribeLoadBalancers and DescribeTargetGroups return.
const PAGE: i32 = 400;

/// Adds the load-balancing kinds to `providers`.
pub fn register(
    providers: &mut Providers,
    clients: &Clients,
    _connection: &Connection,
    owned: &Arc<OwnedIndex>,
) {
    let elb = Arc::new(Elb::new(clients.elbv2.clone(), owned.clone()));
    providers.add(Arc::new(load_balancer::LoadBalancers::new(elb.clone())));
    providers.add(Arc::new(target_group::TargetGroups::new(elb.clone())));
    providers.add(Arc::new(listener::Listeners::new(elb.clone())));
    providers.add(Arc::new(rule::Rules::new(elb)));
}

/// One listing per key for the whole run: `None` when its parent does not exist.
type Memo<T> = Mutex<HashMap<String, Arc<OnceCell<Option<Vec<T>>>>>>;

/// What the load-balancing kinds share during one run.
pub struct Elb {
    client: Client,
    owned: Arc<OwnedIndex>,
    /// Listeners per load balancer ARN.
    listeners: Memo<Listener>,
    /// Rules per listener ARN.
    rules: Memo<Rule>,
}

impl Elb {
    fn new(client: Client, owned: Arc<OwnedIndex>) -> Self {
        Elb {
            client,
            owned,
            listeners: Mutex::new(HashMap::new()),
            rules: Mutex::new(HashMap::new()),
        }
    }

    fn cell<T>(memo: &Memo<T>, key: &str) -> Arc<OnceCell<Option<Vec<T>>>> {
        match memo.lock() {
            Ok(mut map) => map.entry(key.to_string()).or_default().clone(),
            // A poisoned lock only loses the memo; the listing is made again.
            Err(_) => Arc::new(OnceCell::new()),
        }
    }

    /// ARNs and tags of the load balancers this stack owns, from the tag index.
    async fn owned_load_balancers(
        &self,
    ) -> Result<Vec<(String, BTreeMap<String, String>)>, ProviderError> {
        Ok(self
            .owned
            .of("elasticloadbalancing", "loadbalancer/")
            .await?
            .into_iter()
            .map(|(_, t)| (t.arn, t.tags))
            .collect())
    }

    /// The listeners of a load balancer (`None`: no such load balancer), listed once per run.
    async fn listeners_of(&self, lb_arn: &str) -> Result<Option<Vec<Listener>>, ProviderError> {
        let cell = Elb::cell(&self.listeners, lb_arn);
        let listed = cell
            .get_or_try_init(|| {
                paged("LoadBalancerNotFound", |marker| async move {
                    let page = self
                        .client
                        .describe_listeners()
                        .load_balancer_arn(lb_arn)
                        .set_marker(marker)
                        .send()
                        .await
                        .map_err(aws("DescribeListeners"))?;
                    Ok((
                        page.listeners().to_vec(),
                        page.next_marker().map(str::to_string),
                    ))
                })
            })
            .await?;
        Ok(listed.clone())
    }

    /// The rules of a listener, default rule included (`None`: no such listener).
    async fn rules_of(&self, listener_arn: &str) -> Result<Option<Vec<Rule>>, ProviderError> {
        let cell = Elb::cell(&self.rules, listener_arn);
        let listed = cell
            .get_or_try_init(|| {
                paged("ListenerNotFound", |marker| async move {
                    let page = self
                        .client
                        .describe_rules()
                        .listener_arn(listener_arn)
                        .set_marker(marker)
                        .send()
                        .await
                        .map_err(aws("DescribeRules"))?;
                    Ok((
                        page.rules().to_vec(),
                        page.next_marker().map(str::to_string),
                    ))
                })
            })
            .await?;
        Ok(listed.clone())
    }

    /// Tags of any load-balancing resources, 20 ARNs per call.
    async fn tags(
        &self,
        arns: &[String],
    ) -> Result<HashMap<String, BTreeMap<String, String>>, ProviderError> {
        let unique: Vec<String> = arns
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let pages =
            futures::future::try_join_all(unique.chunks(PER_CALL).map(|chunk| async move {
                self.client
                    .describe_tags()
                    .set_resource_arns(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(aws("DescribeTags"))
            }))
            .await?;
        let mut out = HashMap::new();
        for page in pages {
            for description in page.tag_descriptions() {
                let Some(arn) = description.resource_arn() else {
                    continue;
                };
                out.insert(arn.to_string(), tag_map(description.tags()));
            }
        }
        Ok(out)
    }

    /// Who owns the load-balancing resource `live` now, from its tags read afresh (`None`: it
    /// is gone).
    async fn owner_now(&self, live: &Live) -> Result<Option<Owner>, ProviderError> {
        let arn = live_arn(live)?;
        match self.client.describe_tags().resource_arns(arn).send().await {
            Ok(out) => Ok(out
                .tag_descriptions()
                .iter()
                .find(|d| d.resource_arn() == Some(arn))
                .map(|d| {
                    let tags = tag_map(d.tags());
                    owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                })),
            Err(e) => {
                let error = aws("DescribeTags")(e);
                if error.code().is_some_and(|c| c.ends_with("NotFound")) {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Converges the tags of `arn` from `live` to `desired` (ownership tags included);
    /// `keep` names tags infra manages itself, which are never removed.
    async fn retag(
        &self,
        arn: &str,
        desired: &BTreeMap<String, Value>,
        live: &BTreeMap<String, Value>,
        keep: &[&str],
    ) -> Result<(), ProviderError> {
        kit::retag(
            desired,
            live,
            keep,
            |keys| async {
                self.client
                    .remove_tags()
                    .resource_arns(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(aws("RemoveTags"))?;
                Ok(())
            },
            |pairs| async {
                self.client
                    .add_tags()
                    .resource_arns(arn)
                    .set_tags(Some(tags(pairs)))
                    .send()
                    .await
                    .map_err(aws("AddTags"))?;
                Ok(())
            },
        )
        .await
    }
}

/// Every page of a marker-paged listing; `None` when its parent is gone (`not_found`).
async fn paged<T, F, Fut>(not_found: &str, page: F) -> Result<Option<Vec<T>>, ProviderError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), ProviderError>>,
{
    match kit::pages(page).await {
        Ok(items) => Ok(Some(items)),
        Err(e) if e.code() == Some(not_found) => Ok(None),
        Err(e) => Err(e),
    }
}

/// How load balancers and target groups are asked for.
#[derive(Clone, Copy)]
enum By {
    Name,
    Arn,
}

/// Describes load balancers or target groups by name or ARN, [`PER_CALL`] per call, every
/// chunk at once. AWS fails a whole call when one of several is missing (`not_found`); then
/// `list_all` lists every one there is (keeping those asked for) instead.
async fn describe_or_list<T, F, Fut, L, LFut>(
    keys: &[String],
    not_found: &str,
    describe: F,
    list_all: L,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, ProviderError>>,
    L: FnOnce() -> LFut,
    LFut: std::future::Future<Output = Result<Vec<T>, ProviderError>>,
{
    let pages = futures::future::join_all(
        keys.chunks(PER_CALL)
            .map(|chunk| async { (chunk.len(), describe(chunk.to_vec()).await) }),
    )
    .await;
    let mut out = Vec::new();
    for (size, page) in pages {
        match page {
            Ok(found) => out.extend(found),
            // One missing key alone: it does not exist.
            Err(e) if e.code() == Some(not_found) && size == 1 => {}
            Err(e) if e.code() == Some(not_found) => return list_all().await,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// A delete that found the resource already gone (with its parent) did what it wanted.
fn gone_is_done(result: Result<(), ProviderError>, not_found: &str) -> Result<(), ProviderError> {
    match result {
        Err(e) if e.code() == Some(not_found) => Ok(()),
        other => other,
    }
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Pairs as SDK tags.
fn tags(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The resource part of an ARN (`loadbalancer/app/web/123`, `targetgroup/api/456`).
fn resource_part(arn: &str) -> Option<&str> {
    arn.splitn(6, ':').nth(5)
}

/// A list of strings from a `Value` (absent: empty).
fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Sorts a list of scalars in place and removes it when empty (set-like lists).
fn sort_set(attrs: &mut BTreeMap<String, Value>, name: &str) {
    match attrs.get_mut(name) {
        Some(Value::List(items)) if items.is_empty() => {
            attrs.remove(name);
        }
        Some(Value::List(items)) => {
            items.sort_by_key(|v| v.to_string());
            items.dedup();
        }
        _ => {}
    }
}

/// A number written as a string (AWS returns `"503"`, `"300"`) as an integer.
fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The attributes of `desired` that differ from `live` the way the plan compares them:
/// schema defaults count as set on the live side, and both sides are normalised.
fn changed(
    provider: &dyn ResourceKind,
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> BTreeSet<&'static str> {
    let kind: Kind = provider.kind();
    let mut d = desired.clone();
    let mut l = live.clone();
    for attr in kind.schema().body.attrs {
        if let Some(default) = attr.default {
            l.entry(attr.name.to_string())
                .or_insert_with(|| default.to_value());
        }
    }
    provider.normalize(&mut d);
    provider.normalize(&mut l);
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::List(l)) => l.is_empty(),
        Some(Value::Map(m)) => m.is_empty(),
        _ => false,
    };
    kind.schema()
        .body
        .attrs
        .iter()
        .filter(|attr| {
            let (a, b) = (d.get(attr.name), l.get(attr.name));
            let left_to_aws = attr.unmanaged_when_omitted && empty(desired.get(attr.name));
            !(left_to_aws || a == b || (empty(a) && empty(b)))
        })
        .map(|attr| attr.name)
        .collect()
}

/// A `ProviderError` for a live resource that lacks what a call needs.
fn missing(what: &str) -> ProviderError {
    ProviderError::Input(format!("the live resource has no {what}"))
}

/// The ARN in a live resource's computed attributes.
fn live_arn(live: &crate::providers::Live) -> Result<&str, ProviderError> {
    live.computed
        .get("arn")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("ARN"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A context for pure tests: clients that are never called.
    pub(crate) fn elb() -> Elb {
        let elbv2 = aws_sdk_elasticloadbalancingv2::Config::builder()
            .behavior_version(aws_sdk_elasticloadbalancingv2::config::BehaviorVersion::latest())
            .build();
        let tagging = aws_sdk_resourcegroupstagging::Config::builder()
            .behavior_version(aws_sdk_resourcegroupstagging::config::BehaviorVersion::latest())
            .build();
        Elb::new(
            Client::from_conf(elbv2),
            Arc::new(OwnedIndex::new(
                aws_sdk_resourcegroupstagging::Client::from_conf(tagging),
                "s".into(),
            )),
        )
    }

    #[test]
    fn resource_parts_of_arns() {
        let lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc";
        assert_eq!(resource_part(lb), Some("loadbalancer/app/web/50dc"));
        assert_eq!(resource_part("nonsense"), None);
    }

    #[test]
    fn numbers_written_as_strings_are_integers() {
        assert_eq!(int_of(&Value::String("503".into())), Some(503));
        assert_eq!(int_of(&Value::Int(7)), Some(7));
        assert_eq!(int_of(&Value::String("x".into())), None);
    }

    #[test]
    fn set_like_lists_are_sorted_and_empty_ones_dropped() {
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "subnets".to_string(),
            Value::List(vec![Value::String("b".into()), Value::String("a".into())]),
        );
        attrs.insert("security-groups".to_string(), Value::List(vec![]));
        sort_set(&mut attrs, "subnets");
        sort_set(&mut attrs, "security-groups");
        assert_eq!(
            attrs.get("subnets"),
            Some(&Value::List(vec![
                Value::String("a".into()),
                Value::String("b".into())
            ]))
        );
        assert!(!attrs.contains_key("security-groups"));
    }
}
