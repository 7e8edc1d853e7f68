//! CloudWatch Logs metric filters.
//!
//! Metric filters cannot be tagged, so a filter's ownership is its log group's: a filter is
//! this stack's when its log group carries this stack's ownership tags (the shared tag index at
//! plan time, the group's own tags again before a create or a delete) and its name is the one a
//! declared filter of that log group has. A filter in a log group the stack does not own is
//! nobody's: a plan error unless adopted, never written or deleted. Filters the stack no longer
//! declares are not listed as its own (infra cannot tell a filter it made from one made by hand
//! in the same log group): they go with their log group.
//!
//! PutMetricFilter replaces a filter of the same name, so a create reads the log group first:
//! it must be this stack's now, and hold fewer than the 100 filters CloudWatch Logs allows.
//! Where a listing holds one name twice (an emulator that appends instead of replacing), the
//! last one is the one in force, and a delete repeats until the name is no longer listed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{MetricFilter, MetricTransformation, StandardUnit};

use super::error::aws;
use super::kit;
use super::tagging::OwnedIndex;
use crate::model::schemas::METRIC_FILTERS_PER_LOG_GROUP;
use crate::model::{Kind, Value};
use crate::providers::{
    BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, owner_from_tags,
};

/// Key in [`Live::private`]: the address the filter was read for (its log group's tags name
/// only the log group).
const ADDRESS: &str = "address";

/// How many times a delete is sent while the name is still listed.
const DELETE_ATTEMPTS: usize = 3;

pub struct MetricFilters {
    client: Client,
    owned: Arc<OwnedIndex>,
    stack: String,
}

impl MetricFilters {
    pub fn new(client: Client, owned: Arc<OwnedIndex>, stack: String) -> Self {
        MetricFilters {
            client,
            owned,
            stack,
        }
    }

    /// The names of the log groups this stack owns, from the shared tag index.
    async fn owned_groups(&self) -> Result<BTreeSet<String>, ProviderError> {
        Ok(self
            .owned
            .of("logs", "log-group:")
            .await?
            .into_iter()
            .map(|(name, _)| name.trim_end_matches(":*").to_string())
            .collect())
    }

    /// The metric filters of a log group (whose names start with `prefix`), every page.
    async fn filters_of(
        &self,
        group: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<MetricFilter>, ProviderError> {
        let listed = kit::pages(|token| async move {
            let page = self
                .client
                .describe_metric_filters()
                .log_group_name(group)
                .set_filter_name_prefix(prefix.map(str::to_string))
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("DescribeMetricFilters"))?;
            Ok((
                page.metric_filters().to_vec(),
                page.next_token().map(str::to_string),
            ))
        })
        .await;
        match listed {
            Ok(filters) => Ok(filters),
            // A log group that does not exist holds no filters.
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Who owns a log group now, read past the tag index; `None` when it does not exist.
    async fn group_owner_now(&self, group: &str) -> Result<Option<Owner>, ProviderError> {
        let page = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(group)
            .limit(50)
            .send()
            .await
            .map_err(aws("DescribeLogGroups"))?;
        let Some(found) = page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(group))
        else {
            return Ok(None);
        };
        let Some(arn) = found
            .log_group_arn()
            .map(str::to_string)
            .or_else(|| found.arn().map(|a| a.trim_end_matches(":*").to_string()))
        else {
            return Ok(Some(Owner::Nobody));
        };
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(aws("ListTagsForResource"))?;
        let tags = out.tags().cloned().unwrap_or_default();
        Ok(Some(owner_from_tags(
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )))
    }

    async fn put(&self, desired: &Desired) -> Result<(), ProviderError> {
        let transformation = transformation(&desired.attrs)?;
        self.client
            .put_metric_filter()
            .log_group_name(desired.str("log-group").unwrap_or_default())
            .filter_name(desired.str("name").unwrap_or_default())
            .filter_pattern(desired.str("pattern").unwrap_or_default())
            .metric_transformations(transformation)
            .send()
            .await
            .map_err(aws("PutMetricFilter"))?;
        Ok(())
    }

    /// The live filter for `desired`, owned as its log group is.
    fn live_for(&self, desired: &Desired, filter: &MetricFilter, ours: bool) -> Live {
        let owner = if ours {
            Owner::Stack {
                stack: self.stack.clone(),
                address: desired.address.clone(),
            }
        } else {
            Owner::Nobody
        };
        let mut live = Live::new(filter_attrs(filter), owner);
        live.private
            .insert(ADDRESS.into(), Value::String(desired.address.clone()));
        if !ours {
            live.note = Some(format!(
                "its log group `{}` does not carry this stack's ownership tags",
                desired.str("log-group").unwrap_or_default()
            ));
        }
        live
    }
}

/// The filter of this name in a listing: the last one, where an emulator lists it twice.
fn pick<'a>(filters: &'a [MetricFilter], name: &str) -> Option<&'a MetricFilter> {
    filters.iter().rev().find(|f| f.filter_name() == Some(name))
}

/// A filter's attributes in schema terms.
fn filter_attrs(filter: &MetricFilter) -> BTreeMap<String, Value> {
    let mut a = BTreeMap::new();
    let text = |s: Option<&str>| Value::String(s.unwrap_or_default().to_string());
    a.insert("log-group".into(), text(filter.log_group_name()));
    a.insert("name".into(), text(filter.filter_name()));
    a.insert("pattern".into(), text(filter.filter_pattern()));
    if let Some(t) = filter.metric_transformations().first() {
        a.insert("metric-name".into(), Value::String(t.metric_name().into()));
        a.insert(
            "metric-namespace".into(),
            Value::String(t.metric_namespace().into()),
        );
        a.insert(
            "metric-value".into(),
            Value::String(t.metric_value().into()),
        );
        if let Some(v) = t.default_value() {
            a.insert("default-value".into(), Value::Float(v));
        }
        if let Some(unit) = t.unit() {
            a.insert("unit".into(), Value::String(unit.as_str().into()));
        }
        if let Some(dims) = t.dimensions().filter(|d| !d.is_empty()) {
            a.insert(
                "dimensions".into(),
                Value::Map(
                    dims.iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                ),
            );
        }
    }
    a
}

/// The one metric transformation of a filter, from its attributes.
fn transformation(attrs: &BTreeMap<String, Value>) -> Result<MetricTransformation, ProviderError> {
    let text = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_string);
    let default = match attrs.get("default-value") {
        Some(Value::Int(i)) => Some(*i as f64),
        Some(Value::Float(f)) => Some(*f),
        _ => None,
    };
    let dimensions = attrs.get("dimensions").and_then(Value::as_map).map(|m| {
        m.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    });
    MetricTransformation::builder()
        .set_metric_name(text("metric-name"))
        .set_metric_namespace(text("metric-namespace"))
        .metric_value(text("metric-value").unwrap_or_else(|| "1".into()))
        .set_default_value(default)
        .set_unit(text("unit").map(|u| StandardUnit::from(u.as_str())))
        .set_dimensions(dimensions)
        .build()
        .map_err(|e| ProviderError::Input(format!("the metric transformation is incomplete: {e}")))
}

impl ResourceKind for MetricFilters {
    fn kind(&self) -> Kind {
        Kind::LogMetricFilter
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        if let Some(Value::Int(i)) = attrs.get("default-value") {
            let f = *i as f64;
            attrs.insert("default-value".into(), Value::Float(f));
        }
        if let Some(Value::Map(d)) = attrs.get("dimensions")
            && d.is_empty()
        {
            attrs.remove("dimensions");
        }
    }

    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.owned.warm_up("logs"))
    }

    fn list_owned<'a>(
        &'a self,
        _stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            if desired.is_empty() {
                return Ok(Vec::new());
            }
            let owned = self.owned_groups().await?;
            // The declared filters' log groups that are this stack's, each listed once.
            let groups: BTreeSet<&str> = desired
                .iter()
                .filter_map(|d| d.str("log-group"))
                .filter(|g| owned.contains(*g))
                .collect();
            let listed = futures::future::try_join_all(groups.iter().map(|g| async move {
                Ok::<_, ProviderError>((*g, self.filters_of(g, None).await?))
            }))
            .await?;
            let mut out = Vec::new();
            for (group, filters) in &listed {
                for d in desired.iter().filter(|d| d.str("log-group") == Some(group)) {
                    if let Some(f) = d.str("name").and_then(|n| pick(filters, n)) {
                        out.push(self.live_for(d, f, true));
                    }
                }
            }
            Ok(out)
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let owned = self.owned_groups().await?;
            let owned = &owned;
            futures::future::try_join_all(desired.iter().map(|d| async move {
                let (Some(group), Some(name)) = (d.str("log-group"), d.str("name")) else {
                    return Ok(None);
                };
                let filters = self.filters_of(group, Some(name)).await?;
                Ok(pick(&filters, name).map(|f| self.live_for(d, f, owned.contains(group))))
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let group = desired.str("log-group").unwrap_or_default();
            let name = desired.str("name").unwrap_or_default();
            // The log group may have been made in this very apply: its tags are read now.
            match self.group_owner_now(group).await? {
                None => {
                    return Err(ProviderError::NotFound(format!(
                        "log group `{group}` does not exist: a metric filter needs its log group"
                    )));
                }
                Some(Owner::Stack { stack, .. }) if stack == self.stack => {}
                Some(_) => {
                    return Err(ProviderError::Refused(format!(
                        "log group `{group}` is not this stack's: infra writes metric filters \
                         only in log groups the stack owns"
                    )));
                }
            }
            let filters = self.filters_of(group, None).await?;
            let names: BTreeSet<&str> = filters.iter().filter_map(|f| f.filter_name()).collect();
            if !names.contains(name) && names.len() >= METRIC_FILTERS_PER_LOG_GROUP {
                return Err(ProviderError::Refused(format!(
                    "log group `{group}` holds {} metric filters, the most CloudWatch Logs \
                     allows: `{name}` was not created",
                    names.len()
                )));
            }
            self.put(desired).await?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            live.private
                .insert(ADDRESS.into(), Value::String(desired.address.clone()));
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
            // One call replaces the pattern and the metric together.
            self.put(desired).await?;
            let mut updated = Live::converged(desired, live);
            updated.private = live.private.clone();
            Ok(updated)
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let group = live.str("log-group").unwrap_or_default();
            let name = live.str("name").unwrap_or_default();
            for _ in 0..DELETE_ATTEMPTS {
                match self
                    .client
                    .delete_metric_filter()
                    .log_group_name(group)
                    .filter_name(name)
                    .send()
                    .await
                    .map_err(aws("DeleteMetricFilter"))
                {
                    Ok(_) => {}
                    Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(()),
                    Err(e) => return Err(e),
                }
                let left = self.filters_of(group, Some(name)).await?;
                if pick(&left, name).is_none() {
                    return Ok(());
                }
            }
            Err(ProviderError::Aws {
                service: "logs",
                operation: "DeleteMetricFilter",
                code: None,
                message: format!("metric filter `{name}` is still listed in `{group}`"),
            })
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let group = live.str("log-group").unwrap_or_default();
            let name = live.str("name").unwrap_or_default();
            let filters = self.filters_of(group, Some(name)).await?;
            if pick(&filters, name).is_none() {
                return Ok(None);
            }
            let address = live
                .private
                .get(ADDRESS)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            Ok(match self.group_owner_now(group).await? {
                None => None,
                Some(Owner::Stack { stack, .. }) => Some(Owner::Stack { stack, address }),
                Some(Owner::Nobody) => Some(Owner::Nobody),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(name: &str, pattern: &str, metric: &str) -> MetricFilter {
        MetricFilter::builder()
            .filter_name(name)
            .filter_pattern(pattern)
            .log_group_name("/app")
            .metric_transformations(
                MetricTransformation::builder()
                    .metric_name(metric)
                    .metric_namespace("App")
                    .metric_value("1")
                    .default_value(0.0)
                    .unit(StandardUnit::Count)
                    .build()
                    .expect("complete"),
            )
            .build()
    }

    #[test]
    fn the_last_listing_of_a_name_is_the_one_in_force() {
        let listed = [
            filter("errors", "ERROR", "Old"),
            filter("other", "x", "Other"),
            filter("errors", "?ERROR ?Exception", "AppErrors"),
        ];
        let got = pick(&listed, "errors").expect("found");
        assert_eq!(got.filter_pattern(), Some("?ERROR ?Exception"));
        assert!(
            pick(&listed, "err").is_none(),
            "names match exactly, not by prefix"
        );
    }

    /// What the stack writes and what AWS reports compare equal after normalisation: a whole
    /// number for `default-value`, AWS's double back.
    #[test]
    fn a_filter_read_back_is_what_was_written() {
        let clients = crate::providers::aws::Clients::offline();
        let p = MetricFilters::new(
            clients.logs.clone(),
            Arc::new(OwnedIndex::new(clients.tagging.clone(), "s".into())),
            "s".into(),
        );
        let s = |v: &str| Value::String(v.into());
        let mut written = BTreeMap::from([
            ("log-group".to_string(), s("/app")),
            ("name".to_string(), s("errors")),
            ("pattern".to_string(), s("?ERROR ?Exception")),
            ("metric-name".to_string(), s("AppErrors")),
            ("metric-namespace".to_string(), s("App")),
            ("metric-value".to_string(), s("1")),
            ("default-value".to_string(), Value::Int(0)),
            ("unit".to_string(), s("Count")),
        ]);
        let t = transformation(&written).expect("complete");
        assert_eq!(t.default_value(), Some(0.0));
        assert_eq!(t.unit(), Some(&StandardUnit::Count));
        let f = MetricFilter::builder()
            .filter_name("errors")
            .filter_pattern("?ERROR ?Exception")
            .log_group_name("/app")
            .metric_transformations(t)
            .build();
        let mut read = filter_attrs(&f);
        p.normalize(&mut written);
        p.normalize(&mut read);
        assert_eq!(written, read);
    }
}
