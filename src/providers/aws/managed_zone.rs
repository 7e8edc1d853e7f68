//! Public hosted zones the stack creates (`hosted-zone "main" { name "example.com" }`); the
//! look-up of an existing zone is `hosted_zone.rs`.
//!
//! Ownership is read from the zone's tags. Route53 takes no tags with `CreateHostedZone`, so the
//! caller reference infra gives a new zone also names its stack and address (as a digest): a
//! zone whose tagging never happened (the run was killed between the two calls) is still
//! recognised as the stack's, and tagged on the next apply, rather than made twice.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_route53::Client;
use aws_sdk_route53::types::{HostedZone, HostedZoneConfig, Tag, TagResourceType};
use sha2::{Digest, Sha256};

use super::error::aws;
use super::hosted_zone::{dns_key, zone_id};
use super::kit;
use crate::model::{Kind, Value};
use crate::providers::{
    BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, STACK_TAG, client_token,
    owner_from_tags, tags_value,
};

/// ListTagsForResources takes at most 10 zones per call.
const TAGS_PER_CALL: usize = 10;

/// A zone holds its SOA and NS records from the start; more means records someone made.
const RECORDS_OF_AN_EMPTY_ZONE: i64 = 2;

pub struct ManagedZones {
    client: Client,
    stack: String,
}

impl ManagedZones {
    pub fn new(client: Client, stack: String) -> Self {
        ManagedZones { client, stack }
    }

    /// Public zones named exactly `name`.
    async fn named(&self, name: &str) -> Result<Vec<HostedZone>, ProviderError> {
        let page = self
            .client
            .list_hosted_zones_by_name()
            .dns_name(name)
            .max_items(100)
            .send()
            .await
            .map_err(aws("ListHostedZonesByName"))?;
        Ok(page
            .hosted_zones()
            .iter()
            .filter(|z| dns_key(z.name()) == dns_key(name))
            .filter(|z| !z.config().is_some_and(|c| c.private_zone()))
            .cloned()
            .collect())
    }

    /// The tags of each zone, by zone id, 10 zones per call and every call at once.
    async fn tags_of(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, BTreeMap<String, String>>, ProviderError> {
        let sets = kit::in_chunks(ids, TAGS_PER_CALL, |chunk| async move {
            let out = self
                .client
                .list_tags_for_resources()
                .resource_type(TagResourceType::Hostedzone)
                .set_resource_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(aws("ListTagsForResources"))?;
            Ok(out
                .resource_tag_sets()
                .iter()
                .map(|set| {
                    let tags = set
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                        .collect();
                    (set.resource_id().unwrap_or_default().to_string(), tags)
                })
                .collect::<Vec<_>>())
        })
        .await?;
        Ok(sets.into_iter().collect())
    }

    async fn name_servers(&self, id: &str) -> Result<Vec<String>, ProviderError> {
        let out = self
            .client
            .get_hosted_zone()
            .id(id)
            .send()
            .await
            .map_err(aws("GetHostedZone"))?;
        Ok(out
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default())
    }

    /// Each zone as a live resource, with its name servers (one GetHostedZone per zone, all
    /// at once). `address` is the address a desired zone is read for: a zone without tags whose
    /// caller reference names this stack and that address is the stack's.
    async fn live(
        &self,
        zones: Vec<HostedZone>,
        address: Option<&str>,
    ) -> Result<Vec<Live>, ProviderError> {
        let ids: Vec<String> = zones.iter().map(|z| zone_id(z.id()).to_string()).collect();
        let tags = self.tags_of(&ids).await?;
        futures::future::try_join_all(zones.into_iter().map(|zone| {
            let tags = tags.get(zone_id(zone.id())).cloned().unwrap_or_default();
            async move {
                let id = zone_id(zone.id()).to_string();
                let servers = self.name_servers(&id).await?;
                let mut live = live_zone(&zone, &tags, servers);
                if live.owner == Owner::Nobody
                    && let Some(address) = address
                    && zone
                        .caller_reference()
                        .starts_with(&reference_prefix(&self.stack, address))
                {
                    live.owner = Owner::Stack {
                        stack: self.stack.clone(),
                        address: address.to_string(),
                    };
                }
                Ok(live)
            }
        }))
        .await
    }

    async fn retag(&self, id: &str, desired: &Desired, live: &Live) -> Result<(), ProviderError> {
        kit::retag(
            &desired.attrs,
            &live.attrs,
            &[],
            |keys| async move {
                self.client
                    .change_tags_for_resource()
                    .resource_type(TagResourceType::Hostedzone)
                    .resource_id(id)
                    .set_remove_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(aws("ChangeTagsForResource"))?;
                Ok(())
            },
            |pairs| async move {
                let tags = pairs
                    .into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect();
                self.client
                    .change_tags_for_resource()
                    .resource_type(TagResourceType::Hostedzone)
                    .resource_id(id)
                    .set_add_tags(Some(tags))
                    .send()
                    .await
                    .map_err(aws("ChangeTagsForResource"))?;
                Ok(())
            },
        )
        .await
    }
}

/// The start of the caller reference of every zone `address` of `stack` creates: a digest of
/// both (Route53 allows 128 characters; stack and address together may be longer).
fn reference_prefix(stack: &str, address: &str) -> String {
    let digest = Sha256::digest(format!("{stack}|{address}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("infra-{hex}-")
}

/// The caller reference of a new zone: its owner's prefix and this run's token, so that a
/// create tried again in the same run is the same request to Route53.
fn caller_reference(stack: &str, address: &str) -> String {
    let token = client_token(address);
    format!("{}{}", reference_prefix(stack, address), &token[..16])
}

fn live_zone(zone: &HostedZone, tags: &BTreeMap<String, String>, servers: Vec<String>) -> Live {
    let mut attrs = BTreeMap::new();
    attrs.insert("name".into(), Value::String(dns_key(zone.name())));
    if let Some(comment) = zone
        .config()
        .and_then(|c| c.comment())
        .filter(|c| !c.is_empty())
    {
        attrs.insert("comment".into(), Value::String(comment.into()));
    }
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    attrs.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(attrs, owner_from_tags(pairs));
    live.computed
        .insert("id".into(), Value::String(zone_id(zone.id()).to_string()));
    live.computed.insert(
        "name-servers".into(),
        Value::List(servers.into_iter().map(Value::String).collect()),
    );
    live
}

fn id_of(live: &Live) -> Result<&str, ProviderError> {
    live.computed
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::Input("the live hosted zone has no id".into()))
}

impl ResourceKind for ManagedZones {
    fn kind(&self) -> Kind {
        Kind::HostedZone
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        if let Some(Value::String(name)) = attrs.get_mut("name") {
            *name = dns_key(name);
        }
        if attrs.get("comment").and_then(Value::as_str) == Some("") {
            attrs.remove("comment");
        }
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let zones = kit::pages(|marker| async move {
                let page = self
                    .client
                    .list_hosted_zones()
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(aws("ListHostedZones"))?;
                let next = page
                    .is_truncated()
                    .then(|| page.next_marker().map(str::to_string));
                Ok((page.hosted_zones().to_vec(), next.flatten()))
            })
            .await?;
            let public: Vec<HostedZone> = zones
                .into_iter()
                .filter(|z| !z.config().is_some_and(|c| c.private_zone()))
                .collect();
            let ids: Vec<String> = public.iter().map(|z| zone_id(z.id()).to_string()).collect();
            let tags = self.tags_of(&ids).await?;
            let ours: Vec<HostedZone> = public
                .into_iter()
                .filter(|z| {
                    tags.get(zone_id(z.id()))
                        .and_then(|t| t.get(STACK_TAG))
                        .is_some_and(|s| s == stack)
                })
                .collect();
            self.live(ours, None).await
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
                let found = self.live(self.named(name).await?, Some(&d.address)).await?;
                // Several public zones of one name: the stack's own if it is among them,
                // otherwise one that is not, for the plan to report, with the ids of the others
                // when none is owned (adopting one of them would be a guess).
                let ours = |l: &Live| {
                    matches!(&l.owner, Owner::Stack { stack, address }
                        if *stack == self.stack && *address == d.address)
                };
                let pick = match found.iter().position(ours) {
                    Some(at) => Some(at),
                    None if found.is_empty() => None,
                    None => Some(0),
                };
                Ok(pick.map(|at| {
                    let mut live = found[at].clone();
                    if live.owner == Owner::Nobody {
                        live.alike = found
                            .iter()
                            .filter(|l| l.owner == Owner::Nobody)
                            .skip(1)
                            .filter_map(|l| l.computed.get("id").and_then(Value::as_str))
                            .map(str::to_string)
                            .collect();
                    }
                    live
                }))
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let name = desired.str("name").unwrap_or_default();
            let config = HostedZoneConfig::builder()
                .set_comment(desired.str("comment").map(str::to_string))
                .private_zone(false)
                .build();
            let out = self
                .client
                .create_hosted_zone()
                .name(name)
                .caller_reference(caller_reference(&self.stack, &desired.address))
                .hosted_zone_config(config)
                .send()
                .await
                .map_err(aws("CreateHostedZone"))?;
            let zone = out
                .hosted_zone()
                .ok_or_else(|| ProviderError::Input("CreateHostedZone returned no zone".into()))?;
            let servers = out
                .delegation_set()
                .map(|d| d.name_servers().to_vec())
                .unwrap_or_default();
            let untagged = live_zone(zone, &BTreeMap::new(), servers);
            let id = id_of(&untagged)?.to_string();
            self.retag(&id, desired, &untagged).await?;
            Ok(Live::converged(desired, &untagged))
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let id = id_of(live)?;
            if changed.contains("comment") {
                self.client
                    .update_hosted_zone_comment()
                    .id(id)
                    .comment(desired.str("comment").unwrap_or_default())
                    .send()
                    .await
                    .map_err(aws("UpdateHostedZoneComment"))?;
            }
            if changed.contains("tags") {
                self.retag(id, desired, live).await?;
            }
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let id = id_of(live)?;
            let zone = self
                .client
                .get_hosted_zone()
                .id(id)
                .send()
                .await
                .map_err(aws("GetHostedZone"))?;
            let count = zone
                .hosted_zone()
                .and_then(|z| z.resource_record_set_count())
                .unwrap_or_default();
            if count > RECORDS_OF_AN_EMPTY_ZONE {
                let name = live.str("name").unwrap_or_default();
                return Err(ProviderError::Refused(format!(
                    "the hosted zone `{name}` ({id}) still holds {} record set(s) besides its \
                     SOA and NS records that this stack does not manage; infra deletes only its \
                     own records: move or delete those, then destroy again",
                    count - RECORDS_OF_AN_EMPTY_ZONE
                )));
            }
            self.client
                .delete_hosted_zone()
                .id(id)
                .send()
                .await
                .map_err(aws("DeleteHostedZone"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let id = id_of(live)?.to_string();
            let found = self.client.get_hosted_zone().id(&id).send().await;
            let zone = match found {
                Ok(out) => match out.hosted_zone() {
                    Some(zone) => zone.clone(),
                    None => return Ok(None),
                },
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_hosted_zone()) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(aws("GetHostedZone")(e)),
            };
            let tags = self.tags_of(std::slice::from_ref(&id)).await?;
            let tags = tags.get(&id).cloned().unwrap_or_default();
            let owner = owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if owner == Owner::Nobody
                && let Owner::Stack { address, .. } = &live.owner
                && zone
                    .caller_reference()
                    .starts_with(&reference_prefix(&self.stack, address))
            {
                return Ok(Some(live.owner.clone()));
            }
            Ok(Some(owner))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_reference_names_its_stack_and_address_and_fits_route53() {
        let reference = caller_reference("shop-prod", "module.web[\"eu\"].hosted-zone.main");
        assert!(reference.starts_with(&reference_prefix(
            "shop-prod",
            "module.web[\"eu\"].hosted-zone.main"
        )));
        assert!(reference.len() <= 128, "{reference}");
        assert!(
            !reference.starts_with(&reference_prefix("shop-prod", "hosted-zone.main")),
            "another address has another prefix"
        );
        assert!(!reference.starts_with(&reference_prefix("shop-staging", "hosted-zone.main")));
    }

    #[test]
    fn names_compare_without_case_or_final_dot() {
        let zones = ManagedZones::new(
            crate::providers::aws::Clients::offline().route53,
            "s".into(),
        );
        let mut attrs = BTreeMap::from([
            ("name".to_string(), Value::String("Example.COM.".into())),
            ("comment".to_string(), Value::String(String::new())),
        ]);
        zones.normalize(&mut attrs);
        assert_eq!(
            attrs.get("name"),
            Some(&Value::String("example.com".into()))
        );
        assert!(!attrs.contains_key("comment"));
    }
}
