//! SNS topics and their subscriptions.
//!
//! Ownership comes from the topic's tags (the shared tag index for what the stack owns,
//! ListTagsForResource for a topic read by name). SNS has no describe-by-name: a topic is read
//! by the ARN its name has in this account and region (GetTopicAttributes), the account asked
//! of STS once per run. CreateTopic returns an existing topic of the same name instead of
//! failing, so create reads first and never takes over a topic that is not this stack's.
//! Subscriptions are matched to the stack's blocks by protocol and endpoint (AWS knows no
//! names), and reconciled one by one; a subscription waiting for its owner's confirmation
//! has no ARN yet (`PendingConfirmation`), is never subscribed again, and is recorded in
//! [`PENDING_SUBSCRIPTIONS`] for the plan to warn about.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_sns::Client;
use aws_sdk_sns::types::Tag;
use tokio::sync::OnceCell;

use super::error::aws;
use super::kit;
use super::tagging::OwnedIndex;
use crate::model::{Kind, Value};
use crate::providers::{
    BoxFuture, Changed, Desired, Live, Owner, PENDING_SUBSCRIPTIONS, ProviderError, ResourceKind,
    desired_tags, owner_from_tags, tags_value,
};

/// Key in [`Live::private`]: the ARN of each live subscription, by its label.
const SUBSCRIPTION_ARNS: &str = "subscription-arns";

/// What ListSubscriptionsByTopic says instead of an ARN for a subscription nobody confirmed.
const PENDING: &str = "PendingConfirmation";

pub struct Topics {
    client: Client,
    sts: aws_sdk_sts::Client,
    region: String,
    owned: Arc<OwnedIndex>,
    account: OnceCell<String>,
}

/// One subscription as SNS lists it.
#[derive(Debug, Clone, PartialEq)]
struct Subscribed {
    protocol: String,
    endpoint: String,
    /// `None` while it waits for confirmation.
    arn: Option<String>,
}

/// A topic as read: its attributes, subscriptions and tags.
struct Read {
    arn: String,
    attributes: HashMap<String, String>,
    subscriptions: Vec<Subscribed>,
    tags: BTreeMap<String, String>,
}

impl Topics {
    pub fn new(
        client: Client,
        sts: aws_sdk_sts::Client,
        region: String,
        owned: Arc<OwnedIndex>,
    ) -> Self {
        Topics {
            client,
            sts,
            region,
            owned,
            account: OnceCell::new(),
        }
    }

    /// The ARN a topic of this name has in this account and region.
    async fn arn_of(&self, name: &str) -> Result<String, ProviderError> {
        let account = self
            .account
            .get_or_try_init(|| async {
                let me = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(aws("GetCallerIdentity"))?;
                me.account().map(str::to_string).ok_or_else(|| {
                    ProviderError::Input("GetCallerIdentity returned no account".into())
                })
            })
            .await?;
        let partition = crate::model::regions::partition(&self.region).unwrap_or("aws");
        Ok(format!(
            "arn:{partition}:sns:{}:{account}:{name}",
            self.region
        ))
    }

    /// The topic's attributes; `None` when no topic has this ARN.
    async fn attributes(
        &self,
        arn: &str,
    ) -> Result<Option<HashMap<String, String>>, ProviderError> {
        match self
            .client
            .get_topic_attributes()
            .topic_arn(arn)
            .send()
            .await
            .map_err(aws("GetTopicAttributes"))
        {
            Ok(out) => Ok(Some(out.attributes().cloned().unwrap_or_default())),
            Err(e) if e.code() == Some("NotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn subscriptions(&self, arn: &str) -> Result<Vec<Subscribed>, ProviderError> {
        kit::pages(|token| async move {
            let page = self
                .client
                .list_subscriptions_by_topic()
                .topic_arn(arn)
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("ListSubscriptionsByTopic"))?;
            let items = page
                .subscriptions()
                .iter()
                .filter_map(|s| {
                    let arn = s.subscription_arn()?;
                    // An unsubscribed one is listed as `Deleted` for a while.
                    if arn == "Deleted" {
                        return None;
                    }
                    Some(Subscribed {
                        protocol: s.protocol()?.to_string(),
                        endpoint: s.endpoint()?.to_string(),
                        arn: (arn != PENDING).then(|| arn.to_string()),
                    })
                })
                .collect();
            Ok((items, page.next_token().map(str::to_string)))
        })
        .await
    }

    async fn tags_of(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(aws("ListTagsForResource"))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }

    /// Reads a topic by ARN with its subscriptions; its tags are `tags` when known already.
    async fn read_arn(
        &self,
        arn: &str,
        tags: Option<BTreeMap<String, String>>,
    ) -> Result<Option<Read>, ProviderError> {
        let Some(attributes) = self.attributes(arn).await? else {
            return Ok(None);
        };
        let tags = match tags {
            Some(tags) => tags,
            None => self.tags_of(arn).await?,
        };
        let subscriptions = self.subscriptions(arn).await?;
        Ok(Some(Read {
            arn: arn.to_string(),
            attributes,
            subscriptions,
            tags,
        }))
    }

    async fn set_attribute(&self, arn: &str, name: &str, value: &str) -> Result<(), ProviderError> {
        self.client
            .set_topic_attributes()
            .topic_arn(arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .map_err(aws("SetTopicAttributes"))?;
        Ok(())
    }

    async fn subscribe(
        &self,
        arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), ProviderError> {
        self.client
            .subscribe()
            .topic_arn(arn)
            .protocol(protocol)
            .endpoint(endpoint)
            .send()
            .await
            .map_err(aws("Subscribe"))?;
        Ok(())
    }

    /// Subscribes and unsubscribes until the topic's subscriptions are the stack's.
    async fn reconcile_subscriptions(
        &self,
        arn: &str,
        desired: &BTreeMap<String, Value>,
        live: &Live,
    ) -> Result<(), ProviderError> {
        let want = blocks(desired);
        let have = blocks(&live.attrs);
        let arns = live
            .private
            .get(SUBSCRIPTION_ARNS)
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        for (label, was) in &have {
            if want.get(label) == Some(was) {
                continue;
            }
            // A pending subscription has no ARN to unsubscribe; AWS drops it unconfirmed.
            if let Some(sub) = arns.get(label).and_then(Value::as_str) {
                self.client
                    .unsubscribe()
                    .subscription_arn(sub)
                    .send()
                    .await
                    .map_err(aws("Unsubscribe"))?;
            }
        }
        for (label, (protocol, endpoint)) in &want {
            if have.get(label) != Some(&(protocol.clone(), endpoint.clone())) {
                self.subscribe(arn, protocol, endpoint).await?;
            }
        }
        Ok(())
    }
}

/// The subscription blocks of an attribute map, by label: (protocol, endpoint).
fn blocks(attrs: &BTreeMap<String, Value>) -> BTreeMap<String, (String, String)> {
    attrs
        .get("subscription")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|b| {
            let b = b.as_map()?;
            let get = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
            Some((get("name")?, (get("protocol")?, get("endpoint")?)))
        })
        .collect()
}

/// Live subscriptions as the stack's blocks: each labelled by the declared subscription of the
/// same protocol and endpoint, or, not declared, by `protocol:endpoint`. Returns the blocks,
/// the ARN of each by label, and the subscriptions waiting for confirmation (label and
/// protocol). A pending subscription the stack no longer declares is left out of the blocks:
/// it cannot be unsubscribed, and AWS drops it unconfirmed.
fn label_subscriptions(
    live: &[Subscribed],
    desired: Option<&BTreeMap<String, Value>>,
) -> (Vec<Value>, BTreeMap<String, Value>, Vec<Value>) {
    let declared = desired.map(blocks).unwrap_or_default();
    let mut out = Vec::new();
    let mut arns = BTreeMap::new();
    let mut pending = Vec::new();
    for sub in live {
        let label = declared
            .iter()
            .find(|(_, (p, e))| *p == sub.protocol && *e == sub.endpoint)
            .map(|(label, _)| label.clone());
        let is_declared = label.is_some();
        let label = label.unwrap_or_else(|| format!("{}:{}", sub.protocol, sub.endpoint));
        match &sub.arn {
            Some(arn) => {
                arns.insert(label.clone(), Value::String(arn.clone()));
            }
            None => pending.push(Value::Map(BTreeMap::from([
                ("name".to_string(), Value::String(label.clone())),
                ("protocol".to_string(), Value::String(sub.protocol.clone())),
                ("declared".to_string(), Value::Bool(is_declared)),
            ]))),
        }
        if sub.arn.is_none() && !is_declared {
            continue;
        }
        out.push(Value::Map(BTreeMap::from([
            ("name".to_string(), Value::String(label)),
            ("protocol".to_string(), Value::String(sub.protocol.clone())),
            ("endpoint".to_string(), Value::String(sub.endpoint.clone())),
        ])));
    }
    (out, arns, pending)
}

fn live_topic(read: &Read, desired: Option<&BTreeMap<String, Value>>) -> Live {
    let mut a = BTreeMap::new();
    let name = read.arn.rsplit(':').next().unwrap_or_default();
    a.insert("name".into(), Value::String(name.into()));
    let attr = |k: &str| read.attributes.get(k).filter(|v| !v.is_empty());
    a.insert(
        "fifo".into(),
        Value::Bool(attr("FifoTopic").is_some_and(|v| v == "true")),
    );
    if let Some(display) = attr("DisplayName") {
        a.insert("display-name".into(), Value::String(display.clone()));
    }
    if let Some(key) = attr("KmsMasterKeyId") {
        a.insert("kms-key".into(), Value::String(key.clone()));
    }
    let (subscriptions, arns, pending) = label_subscriptions(&read.subscriptions, desired);
    if !subscriptions.is_empty() {
        a.insert("subscription".into(), Value::List(subscriptions));
    }
    let pairs = read.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    a.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(a, owner_from_tags(pairs));
    live.computed
        .insert("arn".into(), Value::String(read.arn.clone()));
    live.private
        .insert(SUBSCRIPTION_ARNS.into(), Value::Map(arns));
    if !pending.is_empty() {
        live.private
            .insert(PENDING_SUBSCRIPTIONS.into(), Value::List(pending));
    }
    live
}

fn sdk_tags(pairs: Vec<(String, String)>) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::Input(format!("a tag could not be built: {e}")))
        })
        .collect()
}

impl ResourceKind for Topics {
    fn kind(&self) -> Kind {
        Kind::SnsTopic
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        for key in ["display-name", "kms-key"] {
            if attrs.get(key).and_then(Value::as_str) == Some("") {
                attrs.remove(key);
            }
        }
        match attrs.get_mut("subscription") {
            Some(Value::List(items)) if items.is_empty() => {
                attrs.remove("subscription");
            }
            Some(Value::List(items)) => items.sort_by_key(|b| {
                b.as_map()
                    .and_then(|m| m.get("name"))
                    .map(|v| v.to_string())
            }),
            _ => {}
        }
    }

    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.owned.warm_up("sns"))
    }

    fn list_owned<'a>(
        &'a self,
        _stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let owned = self.owned.of("sns", "").await?;
            let found = futures::future::try_join_all(owned.iter().map(|(name, tagged)| {
                let wanted = desired
                    .iter()
                    .find(|d| d.str("name") == Some(name.as_str()));
                async move {
                    let read = self
                        .read_arn(&tagged.arn, Some(tagged.tags.clone()))
                        .await?;
                    Ok::<_, ProviderError>(read.map(|r| live_topic(&r, wanted.map(|d| &d.attrs))))
                }
            }))
            .await?;
            Ok(found.into_iter().flatten().collect())
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            futures::future::try_join_all(desired.iter().map(|d| async move {
                let Some(name) = d.str("name") else {
                    return Ok(None);
                };
                let arn = self.arn_of(name).await?;
                let read = self.read_arn(&arn, None).await?;
                Ok(read.map(|r| live_topic(&r, Some(&d.attrs))))
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let name = desired.str("name").unwrap_or_default();
            // CreateTopic answers an existing topic of this name with its ARN: read first.
            let arn = self.arn_of(name).await?;
            if let Some(read) = self.read_arn(&arn, None).await? {
                let found = live_topic(&read, Some(&desired.attrs));
                let ours = match (&found.owner, desired_owner(desired)) {
                    (owner, Some(want)) => *owner == want,
                    _ => false,
                };
                if !ours {
                    return Err(ProviderError::Refused(format!(
                        "sns topic `{name}` exists already and is not this resource's (it \
                         appeared since the plan read it): CreateTopic would hand it over, and \
                         infra does not take over what it did not create; plan again"
                    )));
                }
                return self.update(desired, &found, &Changed::All).await;
            }
            let mut attributes = HashMap::new();
            if desired.attrs.get("fifo") == Some(&Value::Bool(true)) {
                attributes.insert("FifoTopic".to_string(), "true".to_string());
            }
            if let Some(display) = desired.str("display-name") {
                attributes.insert("DisplayName".to_string(), display.to_string());
            }
            if let Some(key) = desired.str("kms-key") {
                attributes.insert("KmsMasterKeyId".to_string(), key.to_string());
            }
            let out = self
                .client
                .create_topic()
                .name(name)
                .set_attributes((!attributes.is_empty()).then_some(attributes))
                .set_tags(Some(sdk_tags(desired_tags(&desired.attrs))?))
                .send()
                .await
                .map_err(aws("CreateTopic"))?;
            let arn = out.topic_arn().map(str::to_string).unwrap_or(arn);
            for (protocol, endpoint) in blocks(&desired.attrs).values() {
                self.subscribe(&arn, protocol, endpoint).await?;
            }
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
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
            let arn = kit::live_arn(live, "sns topic")?;
            let differs =
                |k: &str| changed.contains(k) && desired.attrs.get(k) != live.attrs.get(k);
            if differs("display-name") {
                let value = desired.str("display-name").unwrap_or_default();
                self.set_attribute(arn, "DisplayName", value).await?;
            }
            if differs("kms-key") {
                let value = desired.str("kms-key").unwrap_or_default();
                self.set_attribute(arn, "KmsMasterKeyId", value).await?;
            }
            if changed.contains("subscription") {
                self.reconcile_subscriptions(arn, &desired.attrs, live)
                    .await?;
            }
            kit::retag(
                &desired.attrs,
                &live.attrs,
                &[],
                |keys| async {
                    self.client
                        .untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(keys))
                        .send()
                        .await
                        .map_err(aws("UntagResource"))?;
                    Ok(())
                },
                |pairs| async {
                    self.client
                        .tag_resource()
                        .resource_arn(arn)
                        .set_tags(Some(sdk_tags(pairs)?))
                        .send()
                        .await
                        .map_err(aws("TagResource"))?;
                    Ok(())
                },
            )
            .await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let arn = kit::live_arn(live, "sns topic")?;
            self.client
                .delete_topic()
                .topic_arn(arn)
                .send()
                .await
                .map_err(aws("DeleteTopic"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let arn = kit::live_arn(live, "sns topic")?;
            if self.attributes(arn).await?.is_none() {
                return Ok(None);
            }
            let tags = self.tags_of(arn).await?;
            Ok(Some(owner_from_tags(
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )))
        })
    }
}

/// The ownership a desired resource's tags give it.
fn desired_owner(desired: &Desired) -> Option<Owner> {
    let tags = desired_tags(&desired.attrs);
    match owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Owner::Nobody => None,
        owner => Some(owner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(protocol: &str, endpoint: &str, arn: Option<&str>) -> Subscribed {
        Subscribed {
            protocol: protocol.into(),
            endpoint: endpoint.into(),
            arn: arn.map(str::to_string),
        }
    }

    fn declared(items: &[(&str, &str, &str)]) -> BTreeMap<String, Value> {
        let blocks = items
            .iter()
            .map(|(n, p, e)| {
                Value::Map(BTreeMap::from([
                    ("name".to_string(), Value::String(n.to_string())),
                    ("protocol".to_string(), Value::String(p.to_string())),
                    ("endpoint".to_string(), Value::String(e.to_string())),
                ]))
            })
            .collect();
        BTreeMap::from([("subscription".to_string(), Value::List(blocks))])
    }

    /// A subscription waiting for its owner's confirmation is the declared one, as far as the
    /// diff is concerned: no change, no second Subscribe. It is recorded as pending.
    #[test]
    fn a_pending_subscription_is_the_declared_one_and_recorded_as_pending() {
        let want = declared(&[
            ("oncall", "email", "oncall@example.com"),
            ("pager", "https", "https://pager.example.com/hook"),
        ]);
        let live = [
            sub("email", "oncall@example.com", None),
            sub(
                "https",
                "https://pager.example.com/hook",
                Some("arn:aws:sns:us-east-1:1:t:abc"),
            ),
        ];
        let (blocks_read, arns, pending) = label_subscriptions(&live, Some(&want));
        let mut got = BTreeMap::from([("subscription".to_string(), Value::List(blocks_read))]);
        let mut wanted = want.clone();
        let clients = crate::providers::aws::Clients::offline();
        let topics = Topics::new(
            clients.sns.clone(),
            clients.sts.clone(),
            "us-east-1".into(),
            Arc::new(OwnedIndex::new(clients.tagging.clone(), "s".into())),
        );
        topics.normalize(&mut got);
        topics.normalize(&mut wanted);
        assert_eq!(got, wanted, "a pending subscription is no change");
        assert_eq!(arns.len(), 1, "{arns:?}");
        assert!(arns.contains_key("pager"));
        assert_eq!(pending.len(), 1);
        let p = pending[0].as_map().expect("a map");
        assert_eq!(p.get("name"), Some(&Value::String("oncall".into())));
        assert_eq!(p.get("declared"), Some(&Value::Bool(true)));
    }

    #[test]
    fn undeclared_subscriptions_are_labelled_by_protocol_and_endpoint() {
        let want = declared(&[("oncall", "email", "oncall@example.com")]);
        let live = [
            sub("email", "oncall@example.com", Some("arn:1")),
            sub("email", "old@example.com", Some("arn:2")),
            // Pending and no longer declared: it cannot be unsubscribed, so it is no diff.
            sub("email", "gone@example.com", None),
        ];
        let (got, arns, pending) = label_subscriptions(&live, Some(&want));
        let labels: Vec<String> = got
            .iter()
            .filter_map(|b| b.as_map()?.get("name")?.as_str().map(str::to_string))
            .collect();
        assert_eq!(labels, ["oncall", "email:old@example.com"]);
        assert_eq!(
            arns.get("email:old@example.com"),
            Some(&Value::String("arn:2".into()))
        );
        assert_eq!(pending.len(), 1);
        let p = pending[0].as_map().expect("a map");
        assert_eq!(p.get("declared"), Some(&Value::Bool(false)));
    }
}
