//! CloudWatch Logs log groups.
//!
//! Ownership comes from the shared tag index; attributes from DescribeLogGroups by name
//! prefix, one paged call per folder of names (`/ecs/shop-api` and `/ecs/shop-web` are read
//! together with the prefix `/ecs/shop-`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{LogGroup, LogGroupClass};

use super::error::aws;
use super::kit;
use super::tagging::OwnedIndex;
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::{
    BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, desired_tags, owner_from_tags,
    tags_value,
};

pub struct LogGroups {
    client: Client,
    owned: Arc<OwnedIndex>,
}

impl LogGroups {
    pub fn new(client: Client, owned: Arc<OwnedIndex>) -> Self {
        LogGroups { client, owned }
    }

    /// Describes the named log groups with as few prefix queries as their names allow, all
    /// at once.
    async fn describe(&self, names: &[String]) -> Result<Vec<LogGroup>, ProviderError> {
        let prefixes = prefixes(names);
        let found = futures::future::try_join_all(prefixes.iter().map(|prefix| {
            kit::pages(move |token| async move {
                let page = self
                    .client
                    .describe_log_groups()
                    .log_group_name_prefix(prefix.clone())
                    .limit(50)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(aws("DescribeLogGroups"))?;
                let groups = page
                    .log_groups()
                    .iter()
                    .filter(|g| {
                        g.log_group_name()
                            .is_some_and(|n| names.iter().any(|w| w == n))
                    })
                    .cloned()
                    .collect();
                Ok((groups, page.next_token().map(str::to_string)))
            })
        }))
        .await?;
        Ok(found.into_iter().flatten().collect())
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
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    async fn set_retention(&self, name: &str, days: Option<i64>) -> Result<(), ProviderError> {
        match days {
            Some(days) => {
                self.client
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(days as i32)
                    .send()
                    .await
                    .map_err(aws("PutRetentionPolicy"))?;
            }
            None => {
                self.client
                    .delete_retention_policy()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(aws("DeleteRetentionPolicy"))?;
            }
        }
        Ok(())
    }
}

/// One prefix per folder of names: the longest prefix the names in that folder share.
fn prefixes(names: &[String]) -> Vec<String> {
    let mut folders: BTreeMap<&str, String> = BTreeMap::new();
    for name in names {
        let folder = name.rfind('/').map_or("", |i| &name[..=i]);
        folders
            .entry(folder)
            .and_modify(|p| {
                let common = p
                    .chars()
                    .zip(name.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                p.truncate(p.char_indices().nth(common).map_or(p.len(), |(i, _)| i));
            })
            .or_insert_with(|| name.clone());
    }
    // AWS refuses an empty prefix: names with nothing in common are asked for one by one.
    let mut out = Vec::new();
    for prefix in folders.into_values() {
        if prefix.is_empty() {
            out.extend(
                names
                    .iter()
                    .filter(|n| !n.contains('/'))
                    .cloned()
                    .collect::<std::collections::BTreeSet<_>>(),
            );
        } else {
            out.push(prefix);
        }
    }
    out
}

/// The ARN tagging calls take: without the `:*` DescribeLogGroups puts on `arn`.
fn tagging_arn(group: &LogGroup) -> Option<String> {
    group
        .log_group_arn()
        .map(str::to_string)
        .or_else(|| group.arn().map(|a| a.trim_end_matches(":*").to_string()))
}

fn live_group(group: &LogGroup, tags: &BTreeMap<String, String>) -> Live {
    let mut a = BTreeMap::new();
    a.insert(
        "name".into(),
        Value::String(group.log_group_name().unwrap_or_default().into()),
    );
    if let Some(days) = group.retention_in_days() {
        a.insert("retention-days".into(), Value::Int(days.into()));
    }
    if let Some(key) = group.kms_key_id() {
        a.insert("kms-key".into(), Value::String(key.into()));
    }
    if let Some(class) = group.log_group_class() {
        a.insert("class".into(), Value::String(class.as_str().into()));
    }
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    a.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(a, owner_from_tags(pairs));
    if let Some(arn) = tagging_arn(group) {
        live.computed.insert("arn".into(), Value::String(arn));
    }
    live
}

impl ResourceKind for LogGroups {
    fn kind(&self) -> Kind {
        Kind::LogGroup
    }

    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.owned.warm_up("logs"))
    }

    fn list_owned<'a>(
        &'a self,
        _stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let owned = self.owned.of("logs", "log-group:").await?;
            let tags: HashMap<String, BTreeMap<String, String>> = owned
                .into_iter()
                .map(|(name, t)| (name.trim_end_matches(":*").to_string(), t.tags))
                .collect();
            let names: Vec<String> = tags.keys().cloned().collect();
            let groups = self.describe(&names).await?;
            Ok(groups
                .iter()
                .filter_map(|g| Some(live_group(g, tags.get(g.log_group_name()?)?)))
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
            let groups = self.describe(&names).await?;
            // Each found group's tags, all at once.
            futures::future::try_join_all(desired.iter().map(|d| {
                let found = groups.iter().find(|g| g.log_group_name() == d.str("name"));
                async move {
                    let Some(group) = found else {
                        return Ok(None);
                    };
                    let tags = match tagging_arn(group) {
                        Some(arn) => self.tags_of(&arn).await?,
                        None => BTreeMap::new(),
                    };
                    Ok(Some(live_group(group, &tags)))
                }
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let name = desired.str("name").unwrap_or_default();
            self.client
                .create_log_group()
                .log_group_name(name)
                .set_kms_key_id(desired.str("kms-key").map(str::to_string))
                .set_log_group_class(desired.str("class").map(LogGroupClass::from))
                .set_tags(Some(desired_tags(&desired.attrs).into_iter().collect()))
                .send()
                .await
                .map_err(aws("CreateLogGroup"))?;
            if let Some(days) = desired.attrs.get("retention-days").and_then(Value::as_int) {
                self.set_retention(name, Some(days)).await?;
            }
            let found = self.describe(&[name.to_string()]).await?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            if let Some(arn) = found.first().and_then(tagging_arn) {
                live.computed.insert("arn".into(), Value::String(arn));
            }
            Ok(live)
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        _changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let name = desired.str("name").unwrap_or_default();
            let changed = |k: &str| desired.attrs.get(k) != live.attrs.get(k);
            if changed("retention-days") {
                let days = desired.attrs.get("retention-days").and_then(Value::as_int);
                self.set_retention(name, days).await?;
            }
            if changed("kms-key") {
                match desired.str("kms-key") {
                    Some(key) => {
                        self.client
                            .associate_kms_key()
                            .log_group_name(name)
                            .kms_key_id(key)
                            .send()
                            .await
                            .map_err(aws("AssociateKmsKey"))?;
                    }
                    None => {
                        self.client
                            .disassociate_kms_key()
                            .log_group_name(name)
                            .send()
                            .await
                            .map_err(aws("DisassociateKmsKey"))?;
                    }
                }
            }
            let arn = kit::live_arn(live, "log group")?;
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
                        .set_tags(Some(pairs.into_iter().collect()))
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
            self.client
                .delete_log_group()
                .log_group_name(live.str("name").unwrap_or_default())
                .send()
                .await
                .map_err(aws("DeleteLogGroup"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let name = live.str("name").unwrap_or_default().to_string();
            let Some(group) = self.describe(&[name]).await?.into_iter().next() else {
                return Ok(None);
            };
            let tags = match tagging_arn(&group) {
                Some(arn) => self.tags_of(&arn).await?,
                None => BTreeMap::new(),
            };
            Ok(Some(owner_from_tags(
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::prefixes;

    #[test]
    fn names_in_one_folder_share_one_prefix() {
        let names = ["/ecs/shop-api", "/ecs/shop-web", "/lambda/x", "plain"]
            .map(String::from)
            .to_vec();
        assert_eq!(prefixes(&names), ["plain", "/ecs/shop-", "/lambda/x"]);
    }

    /// AWS refuses `logGroupNamePrefix: ""`: names without a folder and without a common
    /// prefix are asked for by name.
    #[test]
    fn names_with_nothing_in_common_are_never_an_empty_prefix() {
        let names = ["api", "web", "api-2"].map(String::from).to_vec();
        let got = prefixes(&names);
        assert!(got.iter().all(|p| !p.is_empty()), "{got:?}");
        assert_eq!(got, ["api", "api-2", "web"]);
    }
}
