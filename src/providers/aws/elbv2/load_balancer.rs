//! Application load balancers.
//!
//! Owned ones come from the tag index and are described by ARN, 20 per call; others by name,
//! 20 per call. Idle timeout, deletion protection, HTTP/2 and header dropping are load
//! balancer attributes, read per load balancer; an attribute AWS does not report (moto
//! reports few) is at its AWS default, which the plan fills in from the schema.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{
    IpAddressType, LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum,
    LoadBalancerTypeEnum,
};
use futures::future::try_join_all;

use super::super::kit;
use super::{By, Elb, PAGE, describe_or_list, live_arn, resource_part, sort_set, strings, tags};
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::aws::error::aws;
use crate::providers::{
    BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, desired_tags, owner_from_tags,
    tags_value,
};

/// Schema attributes kept as load balancer attributes: name, AWS key, whether boolean.
const ATTRIBUTES: [(&str, &str, bool); 4] = [
    ("idle-timeout", "idle_timeout.timeout_seconds", false),
    ("deletion-protection", "deletion_protection.enabled", true),
    ("http2", "routing.http2.enabled", true),
    (
        "drop-invalid-header-fields",
        "routing.http.drop_invalid_header_fields.enabled",
        true,
    ),
];

pub struct LoadBalancers {
    elb: Arc<Elb>,
}

impl LoadBalancers {
    pub fn new(elb: Arc<Elb>) -> Self {
        LoadBalancers { elb }
    }

    /// Describes load balancers by name or ARN, 20 per call, all at once. AWS fails the
    /// whole call when one of several is missing; then every load balancer is listed (400 per
    /// page) instead.
    async fn describe(&self, keys: &[String], by: By) -> Result<Vec<LoadBalancer>, ProviderError> {
        describe_or_list(
            keys,
            "LoadBalancerNotFound",
            |chunk| async move {
                let request = self.elb.client.describe_load_balancers();
                let request = match by {
                    By::Name => request.set_names(Some(chunk)),
                    By::Arn => request.set_load_balancer_arns(Some(chunk)),
                };
                let page = request.send().await.map_err(aws("DescribeLoadBalancers"))?;
                Ok(page.load_balancers().to_vec())
            },
            || self.all_of(keys, by),
        )
        .await
    }

    /// Every load balancer in the region whose name or ARN is in `keys`.
    async fn all_of(&self, keys: &[String], by: By) -> Result<Vec<LoadBalancer>, ProviderError> {
        kit::pages(|marker| async move {
            let page = self
                .elb
                .client
                .describe_load_balancers()
                .page_size(PAGE)
                .set_marker(marker)
                .send()
                .await
                .map_err(aws("DescribeLoadBalancers"))?;
            let wanted = page
                .load_balancers()
                .iter()
                .filter(|lb| {
                    let key = match by {
                        By::Name => lb.load_balancer_name(),
                        By::Arn => lb.load_balancer_arn(),
                    };
                    key.is_some_and(|k| keys.iter().any(|w| w == k))
                })
                .cloned()
                .collect();
            Ok((wanted, page.next_marker().map(str::to_string)))
        })
        .await
    }

    async fn attributes(&self, arn: &str) -> Result<Vec<LoadBalancerAttribute>, ProviderError> {
        let out = self
            .elb
            .client
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(aws("DescribeLoadBalancerAttributes"))?;
        Ok(out.attributes().to_vec())
    }

    /// Live load balancers with their attributes, given their tags by ARN.
    async fn lives(
        &self,
        found: Vec<LoadBalancer>,
        tags: &HashMap<String, BTreeMap<String, String>>,
    ) -> Result<Vec<Live>, ProviderError> {
        let reads = found.into_iter().filter_map(|lb| {
            let arn = lb.load_balancer_arn()?.to_string();
            let tags = tags.get(&arn).cloned().unwrap_or_default();
            Some(async move {
                let attributes = self.attributes(&arn).await?;
                Ok::<_, ProviderError>(live(&lb, &attributes, &tags))
            })
        });
        try_join_all(reads).await
    }

    async fn set_attributes(
        &self,
        arn: &str,
        attrs: &BTreeMap<String, Value>,
        names: &[&str],
    ) -> Result<(), ProviderError> {
        let attributes = to_attributes(attrs, names);
        if attributes.is_empty() {
            return Ok(());
        }
        self.elb
            .client
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(aws("ModifyLoadBalancerAttributes"))?;
        Ok(())
    }
}

/// The AWS attributes for the schema attributes `names` that `attrs` sets.
fn to_attributes(attrs: &BTreeMap<String, Value>, names: &[&str]) -> Vec<LoadBalancerAttribute> {
    ATTRIBUTES
        .iter()
        .filter(|(name, _, _)| names.contains(name))
        .filter_map(|(name, key, _)| {
            let value = match attrs.get(*name)? {
                Value::Bool(b) => b.to_string(),
                Value::Int(i) => i.to_string(),
                _ => return None,
            };
            Some(
                LoadBalancerAttribute::builder()
                    .key(*key)
                    .value(value)
                    .build(),
            )
        })
        .collect()
}

/// The schema attributes among AWS's load balancer attributes; absent ones stay absent.
fn from_attributes(attributes: &[LoadBalancerAttribute]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for attribute in attributes {
        let (Some(key), Some(value)) = (attribute.key(), attribute.value()) else {
            continue;
        };
        let Some((name, _, boolean)) = ATTRIBUTES.iter().find(|(_, k, _)| *k == key) else {
            continue;
        };
        let parsed = if *boolean {
            value.parse::<bool>().ok().map(Value::Bool)
        } else {
            value.parse::<i64>().ok().map(Value::Int)
        };
        if let Some(v) = parsed {
            out.insert(name.to_string(), v);
        }
    }
    out
}

/// Security groups the stack leaves unset are AWS's choice (the VPC's default group): the
/// live ones are not compared then.
fn unset_defaults(live: &mut Live, desired: Option<&Desired>) {
    // Groups that are references (made by the same apply) are set, though not known yet.
    let unset = desired.is_some_and(|d| match d.attrs.get("security-groups") {
        None | Some(Value::Null) => true,
        Some(Value::List(items)) => items.is_empty(),
        Some(_) => false,
    });
    if unset {
        live.attrs.remove("security-groups");
    }
}

fn live(
    lb: &LoadBalancer,
    attributes: &[LoadBalancerAttribute],
    tags: &BTreeMap<String, String>,
) -> Live {
    let mut a = BTreeMap::new();
    let text = |s: &str| Value::String(s.to_string());
    if let Some(name) = lb.load_balancer_name() {
        a.insert("name".into(), text(name));
    }
    if let Some(scheme) = lb.scheme() {
        a.insert("scheme".into(), text(scheme.as_str()));
    }
    if let Some(ip) = lb.ip_address_type() {
        a.insert("ip-address-type".into(), text(ip.as_str()));
    }
    let subnets: Vec<Value> = lb
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id().map(text))
        .collect();
    a.insert("subnets".into(), Value::List(subnets));
    let groups: Vec<Value> = lb.security_groups().iter().map(|g| text(g)).collect();
    if !groups.is_empty() {
        a.insert("security-groups".into(), Value::List(groups));
    }
    a.extend(from_attributes(attributes));
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    a.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(a, owner_from_tags(pairs));
    computed(&mut live, lb);
    live
}

fn computed(live: &mut Live, lb: &LoadBalancer) {
    let text = |s: &str| Value::String(s.to_string());
    if let Some(arn) = lb.load_balancer_arn() {
        live.computed.insert("arn".into(), text(arn));
        if let Some(suffix) = resource_part(arn).and_then(|r| r.strip_prefix("loadbalancer/")) {
            live.computed.insert("arn-suffix".into(), text(suffix));
        }
    }
    if let Some(dns) = lb.dns_name() {
        live.computed.insert("dns-name".into(), text(dns));
    }
    if let Some(zone) = lb.canonical_hosted_zone_id() {
        live.computed.insert("zone-id".into(), text(zone));
    }
}

impl ResourceKind for LoadBalancers {
    fn kind(&self) -> Kind {
        Kind::LoadBalancer
    }

    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.elb.owned.warm_up("elasticloadbalancing"))
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        sort_set(attrs, "subnets");
        sort_set(attrs, "security-groups");
    }

    fn list_owned<'a>(
        &'a self,
        _stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let owned = self.elb.owned_load_balancers().await?;
            let arns: Vec<String> = owned.iter().map(|(arn, _)| arn.clone()).collect();
            let tags: HashMap<String, BTreeMap<String, String>> = owned.into_iter().collect();
            let found = self.describe(&arns, By::Arn).await?;
            let mut lives = self.lives(found, &tags).await?;
            for live in &mut lives {
                let declared = desired.iter().find(|d| d.str("name") == live.str("name"));
                unset_defaults(live, declared);
            }
            Ok(lives)
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let names: Vec<String> = desired
                .iter()
                .filter_map(|d| d.str("name").map(str::to_string))
                .collect();
            let mut found = self.describe(&names, By::Name).await?;
            // moto answers a second create with the same name with a second load balancer;
            // one per name is what AWS would have.
            let mut seen = std::collections::BTreeSet::new();
            found.retain(|lb| seen.insert(lb.load_balancer_name().unwrap_or_default().to_string()));
            let arns: Vec<String> = found
                .iter()
                .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
                .collect();
            let tags = self.elb.tags(&arns).await?;
            let lives = self.lives(found, &tags).await?;
            Ok(desired
                .iter()
                .map(|d| {
                    let mut live = lives
                        .iter()
                        .find(|l| l.str("name") == d.str("name"))
                        .cloned()?;
                    unset_defaults(&mut live, Some(d));
                    Some(live)
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let mut d = desired.attrs.clone();
            self.normalize(&mut d);
            let text = |name: &str| d.get(name).and_then(Value::as_str);
            let groups = strings(d.get("security-groups"));
            let out = self
                .elb
                .client
                .create_load_balancer()
                .set_name(text("name").map(str::to_string))
                .set_subnets(Some(strings(d.get("subnets"))))
                .set_security_groups((!groups.is_empty()).then_some(groups))
                .set_scheme(text("scheme").map(LoadBalancerSchemeEnum::from))
                .set_ip_address_type(text("ip-address-type").map(IpAddressType::from))
                .r#type(LoadBalancerTypeEnum::Application)
                .set_tags(Some(tags(desired_tags(&d))))
                .send()
                .await
                .map_err(aws("CreateLoadBalancer"))?;
            let lb = out.load_balancers().first().ok_or_else(|| {
                ProviderError::NotFound("CreateLoadBalancer returned no load balancer".into())
            })?;
            let arn = lb
                .load_balancer_arn()
                .ok_or_else(|| super::missing("ARN"))?;
            // Only what differs from AWS's defaults needs a call.
            let changed = super::changed(self, &d, &BTreeMap::new());
            let names: Vec<&str> = changed.into_iter().collect();
            self.set_attributes(arn, &d, &names).await?;
            let mut live = Live::new(
                desired.attrs.clone(),
                owner_from_tags(
                    desired_tags(&d)
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>(),
                ),
            );
            computed(&mut live, lb);
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
            let arn = live_arn(live)?;
            let mut d = desired.attrs.clone();
            self.normalize(&mut d);
            let client = &self.elb.client;
            if changed.contains("subnets") {
                client
                    .set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(strings(d.get("subnets"))))
                    .send()
                    .await
                    .map_err(aws("SetSubnets"))?;
            }
            let groups = strings(d.get("security-groups"));
            if changed.contains("security-groups") && !groups.is_empty() {
                client
                    .set_security_groups()
                    .load_balancer_arn(arn)
                    .set_security_groups(Some(groups))
                    .send()
                    .await
                    .map_err(aws("SetSecurityGroups"))?;
            }
            if changed.contains("ip-address-type")
                && let Some(ip) = d.get("ip-address-type").and_then(Value::as_str)
            {
                client
                    .set_ip_address_type()
                    .load_balancer_arn(arn)
                    .ip_address_type(IpAddressType::from(ip))
                    .send()
                    .await
                    .map_err(aws("SetIpAddressType"))?;
            }
            let names = changed.names_in(self.kind());
            self.set_attributes(arn, &d, &names).await?;
            self.elb.retag(arn, &d, &live.attrs, &[]).await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            self.elb
                .client
                .delete_load_balancer()
                .load_balancer_arn(live_arn(live)?)
                .send()
                .await
                .map_err(aws("DeleteLoadBalancer"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(self.elb.owner_now(live))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_convert_both_ways_and_absent_ones_stay_absent() {
        let attrs = BTreeMap::from([
            ("idle-timeout".to_string(), Value::Int(120)),
            ("http2".to_string(), Value::Bool(false)),
            ("name".to_string(), Value::String("web".into())),
        ]);
        let sent = to_attributes(&attrs, &["idle-timeout", "http2", "deletion-protection"]);
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].key(), Some("idle_timeout.timeout_seconds"));
        assert_eq!(sent[0].value(), Some("120"));
        let back = from_attributes(&sent);
        assert_eq!(back.get("idle-timeout"), Some(&Value::Int(120)));
        assert_eq!(back.get("http2"), Some(&Value::Bool(false)));
        assert!(!back.contains_key("deletion-protection"));
        // What moto reports by default: none of ours but deletion protection.
        let moto = [
            LoadBalancerAttribute::builder()
                .key("access_logs.s3.bucket")
                .value("")
                .build(),
            LoadBalancerAttribute::builder()
                .key("deletion_protection.enabled")
                .value("false")
                .build(),
        ];
        assert_eq!(
            from_attributes(&moto),
            BTreeMap::from([("deletion-protection".to_string(), Value::Bool(false))])
        );
    }

    #[test]
    fn security_groups_the_stack_leaves_unset_are_not_compared() {
        let groups = Value::List(vec![Value::String("sg-default".into())]);
        let mut live = Live::new(
            BTreeMap::from([("security-groups".to_string(), groups.clone())]),
            crate::providers::Owner::Nobody,
        );
        let mut declared = Desired {
            address: "load-balancer.main".into(),
            attrs: BTreeMap::from([("security-groups".to_string(), groups)]),
            protected: false,
            pending: BTreeMap::new(),
        };
        unset_defaults(&mut live, Some(&declared));
        assert!(live.attrs.contains_key("security-groups"));
        declared.attrs.remove("security-groups");
        unset_defaults(&mut live, Some(&declared));
        assert!(!live.attrs.contains_key("security-groups"));
    }
}
