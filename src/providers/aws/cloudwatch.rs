//! CloudWatch metric alarms.
//!
//! Ownership comes from the shared tag index (DescribeAlarms returns no tags); attributes from
//! DescribeAlarms by up to 100 names per call.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, StandardUnit,
    Statistic, Tag,
};

use super::error::aws;
use super::kit;
use super::tagging::OwnedIndex;
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::{
    ALARM_STATE, BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, owner_from_tags,
    tags_value,
};

/// DescribeAlarms accepts at most 100 names.
const NAMES_PER_DESCRIBE: usize = 100;
const ACTION_LISTS: [&str; 3] = ["actions", "ok-actions", "insufficient-data-actions"];

pub struct Alarms {
    client: Client,
    owned: Arc<OwnedIndex>,
}

impl Alarms {
    pub fn new(client: Client, owned: Arc<OwnedIndex>) -> Self {
        Alarms { client, owned }
    }

    async fn describe(&self, names: &[String]) -> Result<Vec<MetricAlarm>, ProviderError> {
        // One chain of pages per chunk of names, all chunks at once.
        kit::in_chunks(names, NAMES_PER_DESCRIBE, |chunk| {
            self.describe_chunk(chunk)
        })
        .await
    }

    async fn describe_chunk(&self, chunk: &[String]) -> Result<Vec<MetricAlarm>, ProviderError> {
        kit::pages(|token| async move {
            let page = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .max_records(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("DescribeAlarms"))?;
            let alarms = page
                .metric_alarms()
                .iter()
                .filter(|a| a.alarm_name().is_some_and(|n| chunk.iter().any(|c| c == n)))
                .cloned()
                .collect();
            Ok((alarms, page.next_token().map(str::to_string)))
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
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect())
    }

    async fn put(&self, desired: &Desired, with_tags: bool) -> Result<(), ProviderError> {
        let a = &desired.attrs;
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_string);
        let i = |k: &str| a.get(k).and_then(Value::as_int).map(|v| v as i32);
        let list = |k: &str| {
            Some(
                a.get(k)
                    .and_then(Value::as_list)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect::<Vec<_>>(),
            )
        };
        let queries = a.get("query").and_then(Value::as_list).map(|items| {
            items
                .iter()
                .filter_map(Value::as_map)
                .map(query_to_aws)
                .collect::<Vec<_>>()
        });
        let tags = with_tags.then(|| {
            crate::providers::desired_tags(a)
                .into_iter()
                .map(tag)
                .collect()
        });
        self.client
            .put_metric_alarm()
            .set_alarm_name(s("name"))
            .set_alarm_description(s("description"))
            .actions_enabled(a.get("actions-enabled") != Some(&Value::Bool(false)))
            .set_alarm_actions(list("actions"))
            .set_ok_actions(list("ok-actions"))
            .set_insufficient_data_actions(list("insufficient-data-actions"))
            .set_metric_name(s("metric"))
            .set_namespace(s("namespace"))
            .set_statistic(s("statistic").map(|v| Statistic::from(v.as_str())))
            .set_extended_statistic(s("percentile"))
            .set_dimensions(a.get("dimensions").and_then(Value::as_map).map(dimensions))
            .set_period(i("period"))
            .set_unit(s("unit").map(|v| StandardUnit::from(v.as_str())))
            .set_evaluation_periods(i("evaluation-periods"))
            .set_datapoints_to_alarm(i("datapoints-to-alarm"))
            .set_threshold(number(a.get("threshold")))
            .set_comparison_operator(s("comparison").map(|v| ComparisonOperator::from(v.as_str())))
            .set_treat_missing_data(s("treat-missing-data"))
            .set_metrics(queries)
            .set_tags(tags)
            .send()
            .await
            .map_err(aws("PutMetricAlarm"))?;
        Ok(())
    }
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        _ => None,
    }
}

fn dimensions(map: &BTreeMap<String, Value>) -> Vec<Dimension> {
    map.iter()
        .map(|(k, v)| {
            Dimension::builder()
                .name(k)
                .value(v.as_str().unwrap_or_default())
                .build()
        })
        .collect()
}

fn dimensions_value(dims: &[Dimension]) -> Value {
    Value::Map(
        dims.iter()
            .filter_map(|d| Some((d.name()?.to_string(), Value::String(d.value()?.to_string()))))
            .collect(),
    )
}

fn query_to_aws(q: &BTreeMap<String, Value>) -> MetricDataQuery {
    let s = |k: &str| q.get(k).and_then(Value::as_str).map(str::to_string);
    let period = q.get("period").and_then(Value::as_int).map(|p| p as i32);
    let stat = s("metric").map(|metric| {
        MetricStat::builder()
            .metric(
                Metric::builder()
                    .set_namespace(s("namespace"))
                    .metric_name(metric)
                    .set_dimensions(q.get("dimensions").and_then(Value::as_map).map(dimensions))
                    .build(),
            )
            .set_period(period)
            .set_stat(s("stat"))
            .build()
    });
    MetricDataQuery::builder()
        .set_id(s("id"))
        .set_expression(s("expression"))
        .set_label(s("label"))
        .return_data(q.get("return-data") == Some(&Value::Bool(true)))
        .set_metric_stat(stat)
        .set_period(if s("expression").is_some() {
            period
        } else {
            None
        })
        .build()
}

fn query_value(q: &MetricDataQuery) -> Value {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    let string = |s: Option<&str>| s.map(|s| Value::String(s.into()));
    put("id", string(q.id()));
    put("expression", string(q.expression()));
    put("label", string(q.label()));
    // Settled per alarm (`settle_return_data`) where AWS leaves it out.
    put("return-data", q.return_data().map(Value::Bool));
    if let Some(stat) = q.metric_stat() {
        if let Some(metric) = stat.metric() {
            put("namespace", string(metric.namespace()));
            put("metric", string(metric.metric_name()));
            if !metric.dimensions().is_empty() {
                put("dimensions", Some(dimensions_value(metric.dimensions())));
            }
        }
        put("stat", string(stat.stat()));
        put("period", stat.period().map(|p| Value::Int(p.into())));
    } else {
        put("period", q.period().map(|p| Value::Int(p.into())));
    }
    Value::Map(m)
}

/// Fills in the `return-data` AWS left out of an alarm's queries. An alarm watches exactly one
/// query, and an omitted `ReturnData` means true (MetricDataQuery in the CloudWatch API
/// reference): so when no query says true, the one that says nothing is the watched one (of
/// several, the one expression, whose result an alarm over metric math watches); every other
/// query that says nothing is false, the stack's default.
fn settle_return_data(queries: &mut [Value]) {
    let said = |q: &Value| q.as_map().and_then(|m| m.get("return-data")).cloned();
    let watched = if queries.iter().any(|q| said(q) == Some(Value::Bool(true))) {
        None
    } else {
        let silent: Vec<usize> = (0..queries.len())
            .filter(|i| said(&queries[*i]).is_none())
            .collect();
        let expressions: Vec<usize> = silent
            .iter()
            .copied()
            .filter(|i| {
                queries[*i]
                    .as_map()
                    .is_some_and(|m| m.contains_key("expression"))
            })
            .collect();
        match (silent.as_slice(), expressions.as_slice()) {
            ([one], _) | (_, [one]) => Some(*one),
            _ => None,
        }
    };
    for (i, q) in queries.iter_mut().enumerate() {
        if let Value::Map(m) = q {
            m.entry("return-data".to_string())
                .or_insert(Value::Bool(Some(i) == watched));
        }
    }
}

fn live_alarm(alarm: &MetricAlarm, tags: &BTreeMap<String, String>) -> Live {
    let mut a = BTreeMap::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            a.insert(k.to_string(), v);
        }
    };
    let string = |s: Option<&str>| s.map(|s| Value::String(s.into()));
    let strings = |l: &[String]| Value::List(l.iter().map(|s| Value::String(s.clone())).collect());
    put("name", string(alarm.alarm_name()));
    put("description", string(alarm.alarm_description()));
    put("namespace", string(alarm.namespace()));
    put("metric", string(alarm.metric_name()));
    if !alarm.dimensions().is_empty() {
        put("dimensions", Some(dimensions_value(alarm.dimensions())));
    }
    put(
        "statistic",
        string(alarm.statistic().map(Statistic::as_str)),
    );
    put("percentile", string(alarm.extended_statistic()));
    put("period", alarm.period().map(|p| Value::Int(p.into())));
    put("unit", string(alarm.unit().map(StandardUnit::as_str)));
    if !alarm.metrics().is_empty() {
        let mut queries: Vec<Value> = alarm.metrics().iter().map(query_value).collect();
        settle_return_data(&mut queries);
        put("query", Some(Value::List(queries)));
    }
    put(
        "evaluation-periods",
        alarm.evaluation_periods().map(|p| Value::Int(p.into())),
    );
    put(
        "datapoints-to-alarm",
        alarm.datapoints_to_alarm().map(|p| Value::Int(p.into())),
    );
    put("threshold", alarm.threshold().map(Value::Float));
    put(
        "comparison",
        string(alarm.comparison_operator().map(ComparisonOperator::as_str)),
    );
    put("treat-missing-data", string(alarm.treat_missing_data()));
    put("actions", Some(strings(alarm.alarm_actions())));
    put("ok-actions", Some(strings(alarm.ok_actions())));
    put(
        "insufficient-data-actions",
        Some(strings(alarm.insufficient_data_actions())),
    );
    put("actions-enabled", alarm.actions_enabled().map(Value::Bool));
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    a.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(a, owner_from_tags(pairs));
    if let Some(arn) = alarm.alarm_arn() {
        live.computed
            .insert("arn".into(), Value::String(arn.into()));
    }
    if let Some(state) = alarm.state_value() {
        live.private
            .insert(ALARM_STATE.into(), Value::String(state.as_str().into()));
    }
    live
}

impl ResourceKind for Alarms {
    fn kind(&self) -> Kind {
        Kind::Alarm
    }

    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.owned.warm_up("cloudwatch"))
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        if let Some(Value::Int(i)) = attrs.get("threshold") {
            let f = *i as f64;
            attrs.insert("threshold".into(), Value::Float(f));
        }
        for name in ACTION_LISTS {
            match attrs.get_mut(name) {
                Some(Value::List(items)) if items.is_empty() => {
                    attrs.remove(name);
                }
                Some(Value::List(items)) => items.sort_by_key(|v| v.to_string()),
                _ => {}
            }
        }
        if let Some(Value::Map(d)) = attrs.get("dimensions")
            && d.is_empty()
        {
            attrs.remove("dimensions");
        }
        if let Some(Value::List(queries)) = attrs.get_mut("query") {
            queries.sort_by_key(|q| q.as_map().and_then(|m| m.get("id")).map(|v| v.to_string()));
        }
    }

    fn list_owned<'a>(
        &'a self,
        _stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let owned = self.owned.of("cloudwatch", "alarm:").await?;
            let names: Vec<String> = owned.iter().map(|(n, _)| n.clone()).collect();
            let alarms = self.describe(&names).await?;
            Ok(alarms
                .iter()
                .filter_map(|alarm| {
                    let name = alarm.alarm_name()?;
                    let (_, tagged) = owned.iter().find(|(n, _)| n == name)?;
                    Some(live_alarm(alarm, &tagged.tags))
                })
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
            let alarms = self.describe(&names).await?;
            // Each found alarm's tags, all at once.
            futures::future::try_join_all(desired.iter().map(|d| {
                let found = alarms.iter().find(|a| a.alarm_name() == d.str("name"));
                async move {
                    let Some(alarm) = found else {
                        return Ok(None);
                    };
                    let tags = match alarm.alarm_arn() {
                        Some(arn) => self.tags_of(arn).await?,
                        None => BTreeMap::new(),
                    };
                    Ok(Some(live_alarm(alarm, &tags)))
                }
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            self.put(desired, true).await?;
            // PutMetricAlarm returns nothing; the ARN is read back.
            let name = desired.str("name").unwrap_or_default().to_string();
            let found = self.describe(&[name]).await?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            if let Some(arn) = found.first().and_then(MetricAlarm::alarm_arn) {
                live.computed
                    .insert("arn".into(), Value::String(arn.into()));
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
            if changed.any_besides(&["tags"]) {
                // Tags given to PutMetricAlarm are ignored for an existing alarm.
                self.put(desired, false).await?;
            }
            let arn = kit::live_arn(live, "alarm")?;
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
                        .set_tags(Some(pairs.into_iter().map(tag).collect()))
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
            let name = live
                .str("name")
                .ok_or_else(|| ProviderError::Input("the live alarm has no name".into()))?;
            self.client
                .delete_alarms()
                .alarm_names(name)
                .send()
                .await
                .map_err(aws("DeleteAlarms"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let name = live.str("name").unwrap_or_default().to_string();
            let Some(alarm) = self.describe(&[name]).await?.into_iter().next() else {
                return Ok(None);
            };
            let arn = alarm.alarm_arn().unwrap_or_default();
            let tags = self.tags_of(arn).await?;
            Ok(Some(owner_from_tags(
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )))
        })
    }
}

/// A tag as the CloudWatch SDK takes it.
fn tag((key, value): (String, String)) -> Tag {
    Tag::builder().key(key).value(value).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queries as read from AWS: (id, is an expression, ReturnData as reported).
    fn queries(reported: &[(&str, bool, Option<bool>)]) -> Vec<Value> {
        reported
            .iter()
            .map(|(id, expression, data)| {
                let mut m = BTreeMap::from([("id".to_string(), Value::String(id.to_string()))]);
                if *expression {
                    m.insert("expression".into(), Value::String("errors".into()));
                }
                if let Some(d) = data {
                    m.insert("return-data".into(), Value::Bool(*d));
                }
                Value::Map(m)
            })
            .collect()
    }

    fn settled(reported: &[(&str, bool, Option<bool>)]) -> Vec<bool> {
        let mut q = queries(reported);
        settle_return_data(&mut q);
        q.iter()
            .map(|q| q.as_map().and_then(|m| m.get("return-data")) == Some(&Value::Bool(true)))
            .collect()
    }

    #[test]
    fn an_omitted_return_data_is_true_for_the_one_query_the_alarm_watches() {
        // AWS leaves out the false ones.
        assert_eq!(
            settled(&[
                ("rate", true, Some(true)),
                ("errors", false, None),
                ("requests", false, None)
            ]),
            [true, false, false]
        );
        // AWS leaves out the true one.
        assert_eq!(
            settled(&[
                ("rate", true, None),
                ("errors", false, Some(false)),
                ("requests", false, Some(false))
            ]),
            [true, false, false]
        );
        // AWS leaves out every one: the alarm watches its one expression.
        assert_eq!(
            settled(&[
                ("rate", true, None),
                ("errors", false, None),
                ("requests", false, None)
            ]),
            [true, false, false]
        );
        // Everything said stays as said.
        assert_eq!(
            settled(&[("a", false, Some(false)), ("b", true, Some(true))]),
            [false, true]
        );
        assert_eq!(settled(&[("m", false, None)]), [true]);
    }
}
