//! ECS clusters.
//!
//! DescribeClusters takes up to 100 names and returns tags and settings with them, so owned
//! clusters cost one call per hundred; ownership comes from those tags (the shared tag index
//! only says which names to describe).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Cluster, ClusterField, ClusterSetting, ClusterSettingName};

use super::super::error::aws;
use super::super::kit;
use super::super::tagging::OwnedIndex;
use super::{ecs_tags, get_str, get_strings, live_tags, s, sort_strings, strings};
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::{BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind};

/// DescribeClusters accepts at most 100 clusters.
const NAMES_PER_DESCRIBE: usize = 100;

pub struct Clusters {
    client: Client,
    owned: Arc<OwnedIndex>,
}

impl Clusters {
    pub fn new(client: Client, owned: Arc<OwnedIndex>) -> Self {
        Clusters { client, owned }
    }

    /// The named clusters that exist (INACTIVE ones are deleted clusters AWS still shows).
    async fn describe(&self, names: &[String]) -> Result<Vec<Cluster>, ProviderError> {
        // Every chunk of names at once.
        kit::in_chunks(names, NAMES_PER_DESCRIBE, |chunk| async move {
            let page = self
                .client
                .describe_clusters()
                .set_clusters(Some(chunk.to_vec()))
                .include(ClusterField::Tags)
                .include(ClusterField::Settings)
                .send()
                .await
                .map_err(aws("DescribeClusters"))?;
            Ok(page
                .clusters()
                .iter()
                .filter(|c| c.status() != Some("INACTIVE"))
                .cloned()
                .collect::<Vec<_>>())
        })
        .await
    }
}

fn settings(desired: &Desired) -> Vec<ClusterSetting> {
    desired
        .str("container-insights")
        .map(|v| {
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value(v)
                .build()
        })
        .into_iter()
        .collect()
}

pub(super) fn live_cluster(cluster: &Cluster) -> Live {
    let mut a = BTreeMap::new();
    a.insert("name".into(), s(cluster.cluster_name().unwrap_or_default()));
    let insights = cluster
        .settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value());
    if let Some(v) = insights {
        a.insert("container-insights".into(), s(v));
    }
    if !cluster.capacity_providers().is_empty() {
        a.insert(
            "capacity-providers".into(),
            strings(cluster.capacity_providers()),
        );
    }
    let (tags, owner) = live_tags(cluster.tags());
    a.insert("tags".into(), tags);
    let mut live = Live::new(a, owner);
    if let Some(arn) = cluster.cluster_arn() {
        live.computed.insert("arn".into(), s(arn));
    }
    live
}

/// Capacity providers are a set; none is the same as an empty list.
fn normalize(attrs: &mut BTreeMap<String, Value>) {
    if let Some(list) = attrs.get_mut("capacity-providers") {
        sort_strings(list);
    }
    if matches!(attrs.get("capacity-providers"), Some(Value::List(l)) if l.is_empty()) {
        attrs.remove("capacity-providers");
    }
}

impl ResourceKind for Clusters {
    fn kind(&self) -> Kind {
        Kind::Cluster
    }

    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.owned.warm_up("ecs"))
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        normalize(attrs);
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let names: Vec<String> = self
                .owned
                .of("ecs", "cluster/")
                .await?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            if names.is_empty() {
                return Ok(Vec::new());
            }
            let clusters = self.describe(&names).await?;
            Ok(clusters
                .iter()
                .map(live_cluster)
                .filter(|l| matches!(&l.owner, Owner::Stack { stack: s, .. } if s == stack))
                .collect())
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
            let clusters = if names.is_empty() {
                Vec::new()
            } else {
                self.describe(&names).await?
            };
            Ok(desired
                .iter()
                .map(|d| {
                    clusters
                        .iter()
                        .find(|c| c.cluster_name().is_some() && c.cluster_name() == d.str("name"))
                        .map(live_cluster)
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let out = self
                .client
                .create_cluster()
                .cluster_name(desired.str("name").unwrap_or_default())
                .set_settings(Some(settings(desired)))
                .set_capacity_providers(get_strings(&desired.attrs, "capacity-providers"))
                .set_tags(Some(ecs_tags(&desired.attrs)))
                .send()
                .await
                .map_err(aws("CreateCluster"))?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            if let Some(arn) = out.cluster().and_then(Cluster::cluster_arn) {
                live.computed.insert("arn".into(), s(arn));
            }
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
            let name = desired.str("name").unwrap_or_default();
            let mut d = desired.attrs.clone();
            normalize(&mut d);
            // Omitted, the setting is the account's and stays as AWS has it.
            // UpdateCluster rather than UpdateClusterSettings: same effect on AWS, and the
            // emulator the tests run against implements only the former.
            if changed.contains("container-insights") && get_str(&d, "container-insights").is_some()
            {
                self.client
                    .update_cluster()
                    .cluster(name)
                    .set_settings(Some(settings(desired)))
                    .send()
                    .await
                    .map_err(aws("UpdateCluster"))?;
            }
            if changed.contains("capacity-providers") {
                self.client
                    .put_cluster_capacity_providers()
                    .cluster(name)
                    .set_capacity_providers(Some(
                        get_strings(&d, "capacity-providers").unwrap_or_default(),
                    ))
                    .set_default_capacity_provider_strategy(Some(Vec::new()))
                    .send()
                    .await
                    .map_err(aws("PutClusterCapacityProviders"))?;
            }
            super::retag(
                &self.client,
                kit::live_arn(live, "cluster")?,
                &desired.attrs,
                &live.attrs,
            )
            .await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            self.client
                .delete_cluster()
                .cluster(live.str("name").unwrap_or_default())
                .send()
                .await
                .map_err(aws("DeleteCluster"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let name = live.str("name").unwrap_or_default().to_string();
            Ok(self
                .describe(&[name])
                .await?
                .first()
                .map(|c| live_cluster(c).owner))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::Tag;

    #[test]
    fn a_described_cluster_reads_back_in_schema_terms() {
        let cluster = Cluster::builder()
            .cluster_name("web")
            .cluster_arn("arn:aws:ecs:us-east-1:123456789012:cluster/web")
            .status("ACTIVE")
            .settings(
                ClusterSetting::builder()
                    .name(ClusterSettingName::ContainerInsights)
                    .value("enabled")
                    .build(),
            )
            .capacity_providers("FARGATE_SPOT")
            .capacity_providers("FARGATE")
            .tags(Tag::builder().key("infra:stack").value("shop").build())
            .tags(
                Tag::builder()
                    .key("infra:address")
                    .value("cluster.web")
                    .build(),
            )
            .build();
        let mut live = live_cluster(&cluster);
        assert_eq!(
            live.owner,
            Owner::Stack {
                stack: "shop".into(),
                address: "cluster.web".into()
            }
        );
        assert_eq!(live.str("container-insights"), Some("enabled"));
        normalize(&mut live.attrs);
        assert_eq!(
            live.attrs.get("capacity-providers"),
            Some(&strings(&["FARGATE".into(), "FARGATE_SPOT".into()]))
        );
    }
}
