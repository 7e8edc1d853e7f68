//! Everything a stack owns in one region, from the Resource Groups Tagging API.
//!
//! CloudWatch and CloudWatch Logs cannot list resources by tag and do not return tags from
//! their describe calls, so reading ownership one alarm at a time would cost a call per
//! resource. A paged `GetResources` (100 per page) filtered on `infra:stack` answers instead,
//! once per run: one page for all services when the stack owns fewer than a page of
//! resources; otherwise one chain of pages per service, so that the kinds read their
//! ownership at the same time and none waits for another's pages.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_resourcegroupstagging::types::TagFilter;
use tokio::sync::OnceCell;

use super::error::aws;
use crate::providers::{ProviderError, STACK_TAG};

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
    /// The first page for every service, and whether there are more.
    first: OnceCell<(Vec<Tagged>, bool)>,
    /// By service (`cloudwatch`), each fetched once, when the first page was not all.
    by_type: Mutex<BTreeMap<String, Arc<OnceCell<Vec<Tagged>>>>>,
    /// Which of [`LISTED_WHEN_USED`] hold anything of the stack, when the first page was not
    /// all: one chain of pages for all of them.
    held: OnceCell<Vec<String>>,
}

/// The services of the kinds listed only when used (`aws/when_used.rs`), asked about at once.
pub const LISTED_WHEN_USED: &[&str] = &[
    "iam",
    "ecr",
    "route53",
    "application-autoscaling",
    "elasticfilesystem",
    "ec2",
    "sns",
    "acm",
];

impl OwnedIndex {
    pub fn new(client: aws_sdk_resourcegroupstagging::Client, stack: String) -> Self {
        OwnedIndex {
            client,
            stack,
            first: OnceCell::new(),
            by_type: Mutex::new(BTreeMap::new()),
            held: OnceCell::new(),
        }
    }

    /// Owned resources of one service whose resource part starts with `prefix`
    /// (`alarm:`, `log-group:`), with that prefix removed.
    pub async fn of(
        &self,
        service: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Tagged)>, ProviderError> {
        // By service, not resource type: the type strings differ between AWS (`logs:log-group`)
        // and emulators (`logs:loggroup`); the prefix is matched below either way.
        let (first, more) = self.first_page().await?;
        let cell;
        let all = if *more {
            cell = match self.by_type.lock() {
                Ok(mut cells) => cells.entry(service.to_string()).or_default().clone(),
                Err(_) => Arc::new(OnceCell::new()),
            };
            cell.get_or_try_init(|| self.fetch(service)).await?
        } else {
            first
        };
        Ok(all
            .iter()
            .filter_map(|t| {
                let (s, resource) = t.service_and_resource()?;
                let rest = resource.strip_prefix(prefix)?;
                (s == service).then(|| (rest.to_string(), t.clone()))
            })
            .collect())
    }

    /// Whether the stack owns anything of `service` (one of [`LISTED_WHEN_USED`]). Answered by
    /// the first page when it was all; otherwise by one chain of pages filtered on every
    /// service of that list, shared by all of them.
    pub async fn holds(&self, service: &str) -> Result<bool, ProviderError> {
        let (first, more) = self.first_page().await?;
        let of = |t: &Tagged| t.service_and_resource().map(|(s, _)| s.to_string());
        if first.iter().filter_map(of).any(|s| s == service) {
            return Ok(true);
        }
        if !*more {
            return Ok(false);
        }
        let held = self
            .held
            .get_or_try_init(|| async {
                let mut out = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let (page, next) = self.page(Some(LISTED_WHEN_USED), token.clone()).await?;
                    out.extend(page.iter().filter_map(of));
                    match next {
                        Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                        _ => return Ok::<_, ProviderError>(out),
                    }
                }
            })
            .await?;
        Ok(held.iter().any(|s| s == service))
    }

    async fn first_page(&self) -> Result<&(Vec<Tagged>, bool), ProviderError> {
        self.first
            .get_or_try_init(|| async {
                let (page, next) = self.page(None, None).await?;
                Ok::<_, ProviderError>((page, next.is_some()))
            })
            .await
    }

    /// Fetches a service's owned resources ahead of their first use; a failure is left for
    /// that use to meet and report.
    pub async fn warm_up(&self, service: &str) {
        let _ = self.of(service, "").await;
    }

    /// Every owned resource of one service, page after page.
    async fn fetch(&self, service: &str) -> Result<Vec<Tagged>, ProviderError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (page, next) = self.page(Some(&[service]), token.clone()).await?;
            out.extend(page);
            match next {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// One page of owned resources (of one service, or of all), and the token of the next.
    async fn page(
        &self,
        services: Option<&[&str]>,
        token: Option<String>,
    ) -> Result<(Vec<Tagged>, Option<String>), ProviderError> {
        let filter = TagFilter::builder()
            .key(STACK_TAG)
            .values(self.stack.clone())
            .build();
        let page = self
            .client
            .get_resources()
            .tag_filters(filter)
            .set_resource_type_filters(
                services.map(|all| all.iter().map(|s| s.to_string()).collect()),
            )
            .resources_per_page(100)
            // The most tags a page may hold, so that pages are cut at 100 resources and not
            // at the default 100 tags (25 resources of four tags each).
            .tags_per_page(500)
            .set_pagination_token(token)
            .send()
            .await
            .map_err(aws("GetResources"))?;
        let mut out = Vec::new();
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
        let next = page
            .pagination_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        Ok((out, next))
    }
}
