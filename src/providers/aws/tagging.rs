//! Everything a stack owns in one region, from the Resource Groups Tagging API.
//!
//! CloudWatch and CloudWatch Logs cannot list resources by tag and do not return tags from
//! their describe calls, so reading ownership one alarm at a time would cost a call per
//! resource. One paged `GetResources` (100 per page) filtered on `infra:stack` answers for
//! every kind at once; providers share the answer through this index, fetched once per run.

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::types::TagFilter;
use tokio::sync::OnceCell;

use super::error::aws;
use crate::providers::{ProviderError, STACK_TAG, next_page};

/// An owned resource: its ARN and tags.
#[derive(Debug, Clone)]
pub struct Tagged {
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

impl Tagged {
    /// The ARN's service (`cloudwatch`, `logs`) and resource part (`alarm:name`).
    pub fn service_and_resource(&self) -> Option<(&str, &str)> {
        let mut parts = self.arn.splitn(6, ':');
        let (_arn, _partition, service, _region, _account) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        Some((service, parts.next()?))
    }
}

#[derive(Debug)]
pub struct OwnedIndex {
    client: aws_sdk_resourcegroupstagging::Client,
    stack: String,
    resources: OnceCell<Vec<Tagged>>,
}

impl OwnedIndex {
    pub fn new(client: aws_sdk_resourcegroupstagging::Client, stack: String) -> Self {
        OwnedIndex {
            client,
            stack,
            resources: OnceCell::new(),
        }
    }

    /// Owned resources of one service whose resource part starts with `prefix`
    /// (`alarm:`, `log-group:`), with that prefix removed.
    pub async fn of(
        &self,
        service: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Tagged)>, ProviderError> {
        let all = self.resources.get_or_try_init(|| self.fetch()).await?;
        Ok(all
            .iter()
            .filter_map(|t| {
                let (s, resource) = t.service_and_resource()?;
                let rest = resource.strip_prefix(prefix)?;
                (s == service).then(|| (rest.to_string(), t.clone()))
            })
            .collect())
    }

    async fn fetch(&self) -> Result<Vec<Tagged>, ProviderError> {
        let filter = TagFilter::builder()
            .key(STACK_TAG)
            .values(self.stack.clone())
            .build();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_resources()
                .tag_filters(filter.clone())
                .resources_per_page(100)
                .set_pagination_token(token.clone())
                .send()
                .await
                .map_err(aws("GetResources"))?;
            for mapping in page.resource_tag_mapping_list() {
                let Some(arn) = mapping.resource_arn() else {
                    continue;
                };
                let tags: BTreeMap<String, String> = mapping
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                // The filter matches on AWS's side; check again on ours.
                if tags.get(STACK_TAG) == Some(&self.stack) {
                    out.push(Tagged {
                        arn: arn.to_string(),
                        tags,
                    });
                }
            }
            if !next_page(&mut token, page.pagination_token()) {
                break;
            }
        }
        Ok(out)
    }
}
