//! Target groups.
//!
//! A target group is replaced by creating the new one first (listeners, rules and services
//! then move to it) and deleting the old one afterwards. Target group names are unique, so
//! while both exist the new one carries an alternate AWS name: the declared name with `-b`
//! (or, when the old one has that, the declared name again). Every target group is tagged
//! `infra:name=<declared name>`, and reads report that as its `name`, so the stack sees one
//! target group by its declared name whichever AWS name it has; the AWS name is kept in
//! `Live.private` for messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};
use futures::future::try_join_all;

use super::super::kit;
use super::{By, Elb, PAGE, changed, describe_or_list, int_of, live_arn, resource_part, tags};
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::aws::error::aws;
use crate::providers::{
    BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, desired_tags, owner_from_tags,
    tags_value,
};

/// The tag holding a target group's declared name.
pub const NAME_TAG: &str = "infra:name";
/// Target group names are at most this long.
const MAX_NAME: usize = 32;
const SUFFIX: &str = "-b";
/// `Live.private` key of the AWS name.
const AWS_NAME: &str = "aws-name";

/// Schema attributes kept as target group attributes: name, AWS key.
const ATTRIBUTES: [(&str, &str); 2] = [
    (
        "deregistration-delay",
        "deregistration_delay.timeout_seconds",
    ),
    ("slow-start", "slow_start.duration_seconds"),
];

/// Health check settings AWS applies when none are given (HTTP target groups of HTTP/1.1).
/// Desired target groups always carry a whole health check (the schema fills the defaults
/// that depend on protocol and protocol version); these complete a live one.
const HEALTH_CHECK_DEFAULTS: [(&str, HealthDefault); 9] = [
    ("enabled", HealthDefault::Bool(true)),
    ("path", HealthDefault::Str("/")),
    ("protocol", HealthDefault::Str("HTTP")),
    ("port", HealthDefault::Str("traffic-port")),
    ("interval", HealthDefault::Int(30)),
    ("timeout", HealthDefault::Int(6)),
    ("healthy-threshold", HealthDefault::Int(5)),
    ("unhealthy-threshold", HealthDefault::Int(2)),
    ("matcher", HealthDefault::Str("200")),
];

enum HealthDefault {
    Bool(bool),
    Int(i64),
    Str(&'static str),
}

impl HealthDefault {
    fn value(&self) -> Value {
        match self {
            HealthDefault::Bool(b) => Value::Bool(*b),
            HealthDefault::Int(i) => Value::Int(*i),
            HealthDefault::Str(s) => Value::String(s.to_string()),
        }
    }
}

/// The AWS name a target group declared as `declared` takes when `current` is taken: the
/// declared name, or the declared name with `-b` (cut to fit 32 characters).
pub fn alternate(declared: &str, current: &str) -> String {
    let with_suffix = {
        let keep = MAX_NAME - SUFFIX.len();
        let base: String = declared.chars().take(keep).collect();
        format!("{base}{SUFFIX}")
    };
    if current == declared {
        with_suffix
    } else {
        declared.to_string()
    }
}

/// Both AWS names a target group declared as `declared` can have.
fn aws_names(declared: &str) -> [String; 2] {
    [declared.to_string(), alternate(declared, declared)]
}

/// Whether a target group AWS calls `aws_name`, tagged with `name_tag`, is the one declared
/// as `declared`: the declared name untagged (made before the tag, or by hand), or either
/// name tagged with it.
fn is_declared(declared: &str, aws_name: &str, name_tag: Option<&str>) -> bool {
    match name_tag {
        Some(tag) => tag == declared && aws_names(declared).iter().any(|n| n == aws_name),
        None => aws_name == declared,
    }
}

pub struct TargetGroups {
    elb: Arc<Elb>,
}

impl TargetGroups {
    pub fn new(elb: Arc<Elb>) -> Self {
        TargetGroups { elb }
    }

    /// Describes target groups by name or ARN, 20 per call, all at once (a plan's round trips
    /// do not grow with its size). AWS fails the whole call when one of several is missing;
    /// then every target group is listed (400 per page) instead.
    async fn describe(&self, keys: &[String], by: By) -> Result<Vec<TargetGroup>, ProviderError> {
        describe_or_list(
            keys,
            "TargetGroupNotFound",
            |chunk| async move {
                let request = self.elb.client.describe_target_groups();
                let request = match by {
                    By::Name => request.set_names(Some(chunk)),
                    By::Arn => request.set_target_group_arns(Some(chunk)),
                };
                let page = request.send().await.map_err(aws("DescribeTargetGroups"))?;
                Ok(page.target_groups().to_vec())
            },
            || self.all_of(keys, by),
        )
        .await
    }

    async fn all_of(&self, keys: &[String], by: By) -> Result<Vec<TargetGroup>, ProviderError> {
        kit::pages(|marker| async move {
            let page = self
                .elb
                .client
                .describe_target_groups()
                .page_size(PAGE)
                .set_marker(marker)
                .send()
                .await
                .map_err(aws("DescribeTargetGroups"))?;
            let wanted = page
                .target_groups()
                .iter()
                .filter(|tg| {
                    let key = match by {
                        By::Name => tg.target_group_name(),
                        By::Arn => tg.target_group_arn(),
                    };
                    key.is_some_and(|k| keys.iter().any(|w| w == k))
                })
                .cloned()
                .collect();
            Ok((wanted, page.next_marker().map(str::to_string)))
        })
        .await
    }

    async fn lives(
        &self,
        found: Vec<TargetGroup>,
        tags: &HashMap<String, BTreeMap<String, String>>,
    ) -> Result<Vec<Live>, ProviderError> {
        let reads = found.into_iter().filter_map(|tg| {
            let arn = tg.target_group_arn()?.to_string();
            let tags = tags.get(&arn).cloned().unwrap_or_default();
            Some(async move {
                let out = self
                    .elb
                    .client
                    .describe_target_group_attributes()
                    .target_group_arn(&arn)
                    .send()
                    .await
                    .map_err(aws("DescribeTargetGroupAttributes"))?;
                Ok::<_, ProviderError>(live(&tg, out.attributes(), &tags))
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
        let attributes: Vec<TargetGroupAttribute> = ATTRIBUTES
            .iter()
            .filter(|(name, _)| names.contains(name))
            .filter_map(|(name, key)| {
                let value = attrs.get(*name).and_then(int_of)?;
                Some(
                    TargetGroupAttribute::builder()
                        .key(*key)
                        .value(value.to_string())
                        .build(),
                )
            })
            .collect();
        if attributes.is_empty() {
            return Ok(());
        }
        self.elb
            .client
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(aws("ModifyTargetGroupAttributes"))?;
        Ok(())
    }
}

/// The health check block with AWS's defaults filled in.
fn health_check(attrs: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    let mut hc = attrs
        .get("health-check")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    for (k, default) in &HEALTH_CHECK_DEFAULTS {
        hc.entry(k.to_string()).or_insert_with(|| default.value());
    }
    for k in [
        "interval",
        "timeout",
        "healthy-threshold",
        "unhealthy-threshold",
    ] {
        if let Some(i) = hc.get(k).and_then(int_of) {
            hc.insert(k.to_string(), Value::Int(i));
        }
    }
    hc
}

fn grpc(attrs: &BTreeMap<String, Value>) -> bool {
    attrs.get("protocol-version").and_then(Value::as_str) == Some("GRPC")
}

/// Sets the health check of a create or modify request (both builders have these methods).
/// A gRPC target group's matcher holds gRPC codes, any other's HTTP codes.
macro_rules! with_health_check {
    ($request:expr, $hc:expr, $grpc:expr) => {{
        let hc = $hc;
        let grpc: bool = $grpc;
        let text = |k: &str| hc.get(k).and_then(Value::as_str).map(str::to_string);
        let int = |k: &str| hc.get(k).and_then(int_of).map(|i| i as i32);
        $request
            .set_health_check_enabled(match hc.get("enabled") {
                Some(Value::Bool(b)) => Some(*b),
                _ => None,
            })
            .set_health_check_path(text("path"))
            .set_health_check_protocol(text("protocol").map(|p| ProtocolEnum::from(p.as_str())))
            .set_health_check_port(text("port"))
            .set_health_check_interval_seconds(int("interval"))
            .set_health_check_timeout_seconds(int("timeout"))
            .set_healthy_threshold_count(int("healthy-threshold"))
            .set_unhealthy_threshold_count(int("unhealthy-threshold"))
            .set_matcher(text("matcher").map(|code| {
                if grpc {
                    Matcher::builder().grpc_code(code).build()
                } else {
                    Matcher::builder().http_code(code).build()
                }
            }))
    }};
}

fn live(
    tg: &TargetGroup,
    attributes: &[TargetGroupAttribute],
    tags: &BTreeMap<String, String>,
) -> Live {
    let text = |s: &str| Value::String(s.to_string());
    let aws_name = tg.target_group_name().unwrap_or_default();
    let declared = tags.get(NAME_TAG).map_or(aws_name, String::as_str);
    let mut a = BTreeMap::new();
    a.insert("name".to_string(), text(declared));
    if let Some(p) = tg.protocol() {
        a.insert("protocol".into(), text(p.as_str()));
    }
    if let Some(port) = tg.port() {
        a.insert("port".into(), Value::Int(port.into()));
    }
    if let Some(vpc) = tg.vpc_id() {
        a.insert("vpc".into(), text(vpc));
    }
    if let Some(t) = tg.target_type() {
        a.insert("target-type".into(), text(t.as_str()));
    }
    if let Some(v) = tg.protocol_version() {
        a.insert("protocol-version".into(), text(v));
    }
    let mut hc = BTreeMap::new();
    if let Some(b) = tg.health_check_enabled() {
        hc.insert("enabled".to_string(), Value::Bool(b));
    }
    let strings = [
        ("path", tg.health_check_path()),
        ("protocol", tg.health_check_protocol().map(|p| p.as_str())),
        ("port", tg.health_check_port()),
        (
            "matcher",
            tg.matcher().and_then(|m| m.http_code().or(m.grpc_code())),
        ),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            hc.insert(k.to_string(), text(v));
        }
    }
    let ints = [
        ("interval", tg.health_check_interval_seconds()),
        ("timeout", tg.health_check_timeout_seconds()),
        ("healthy-threshold", tg.healthy_threshold_count()),
        ("unhealthy-threshold", tg.unhealthy_threshold_count()),
    ];
    for (k, v) in ints {
        if let Some(v) = v {
            hc.insert(k.to_string(), Value::Int(v.into()));
        }
    }
    a.insert("health-check".into(), Value::Map(hc));
    for attribute in attributes {
        let (Some(key), Some(value)) = (attribute.key(), attribute.value()) else {
            continue;
        };
        if let Some((name, _)) = ATTRIBUTES.iter().find(|(_, k)| *k == key)
            && let Ok(v) = value.parse::<i64>()
        {
            a.insert(name.to_string(), Value::Int(v));
        }
    }
    let pairs = tags
        .iter()
        .filter(|(k, _)| k.as_str() != NAME_TAG)
        .map(|(k, v)| (k.as_str(), v.as_str()));
    a.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(a, owner_from_tags(pairs));
    live.private.insert(AWS_NAME.into(), text(aws_name));
    live.private.insert(
        NAME_TAG.into(),
        Value::Bool(tags.get(NAME_TAG).map(String::as_str) == Some(declared)),
    );
    computed(&mut live, tg);
    live
}

fn computed(live: &mut Live, tg: &TargetGroup) {
    if let Some(arn) = tg.target_group_arn() {
        live.computed
            .insert("arn".into(), Value::String(arn.to_string()));
        if let Some(suffix) = resource_part(arn) {
            live.computed
                .insert("arn-suffix".into(), Value::String(suffix.to_string()));
        }
    }
}

impl ResourceKind for TargetGroups {
    fn kind(&self) -> Kind {
        Kind::TargetGroup
    }

    fn create_before_destroy(&self) -> bool {
        true
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        let hc = health_check(attrs);
        attrs.insert("health-check".into(), Value::Map(hc));
        for name in ["port", "deregistration-delay", "slow-start"] {
            if let Some(i) = attrs.get(name).and_then(int_of) {
                attrs.insert(name.to_string(), Value::Int(i));
            }
        }
    }

    fn list_owned<'a>(
        &'a self,
        _stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let owned = self
                .elb
                .owned
                .of("elasticloadbalancing", "targetgroup/")
                .await?;
            let arns: Vec<String> = owned.iter().map(|(_, t)| t.arn.clone()).collect();
            let tags: HashMap<String, BTreeMap<String, String>> =
                owned.into_iter().map(|(_, t)| (t.arn, t.tags)).collect();
            let found = self.describe(&arns, By::Arn).await?;
            let mut lives = self.lives(found, &tags).await?;
            // Mid-replacement both target groups exist: the one under the declared name first,
            // so that the other is the orphan.
            lives.sort_by_key(|l| l.private.get(AWS_NAME) != l.attrs.get("name"));
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
                .filter_map(|d| d.str("name"))
                .flat_map(aws_names)
                .collect();
            let found = self.describe(&names, By::Name).await?;
            let arns: Vec<String> = found
                .iter()
                .filter_map(|tg| tg.target_group_arn().map(str::to_string))
                .collect();
            let tags = self.elb.tags(&arns).await?;
            // Only the target groups some desired one is, with their attributes.
            let wanted: Vec<TargetGroup> = found
                .into_iter()
                .filter(|tg| {
                    let aws_name = tg.target_group_name().unwrap_or_default();
                    let tag = tg
                        .target_group_arn()
                        .and_then(|a| tags.get(a))
                        .and_then(|t| t.get(NAME_TAG))
                        .map(String::as_str);
                    desired
                        .iter()
                        .filter_map(|d| d.str("name"))
                        .any(|declared| is_declared(declared, aws_name, tag))
                })
                .collect();
            let mut lives = self.lives(wanted, &tags).await?;
            lives.sort_by_key(|l| l.private.get(AWS_NAME) != l.attrs.get("name"));
            Ok(desired
                .iter()
                .map(|d| {
                    lives
                        .iter()
                        .find(|l| l.str("name") == d.str("name"))
                        .cloned()
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let mut d = desired.attrs.clone();
            self.normalize(&mut d);
            let declared = desired
                .str("name")
                .ok_or_else(|| ProviderError::Input("a target group needs a name".into()))?;
            // A replacement is created while the target group it replaces still exists.
            let taken = self.describe(&[declared.to_string()], By::Name).await?;
            let aws_name = match taken.first().and_then(|tg| tg.target_group_name()) {
                Some(current) => alternate(declared, current),
                None => declared.to_string(),
            };
            let text = |name: &str| d.get(name).and_then(Value::as_str).map(str::to_string);
            let lambda = text("target-type").as_deref() == Some("lambda");
            let mut all_tags = desired_tags(&d);
            all_tags.push((NAME_TAG.to_string(), declared.to_string()));
            let request = self
                .elb
                .client
                .create_target_group()
                .name(&aws_name)
                .set_target_type(text("target-type").map(|t| TargetTypeEnum::from(t.as_str())))
                .set_tags(Some(tags(all_tags)));
            let request = if lambda {
                request
            } else {
                request
                    .set_protocol(text("protocol").map(|p| ProtocolEnum::from(p.as_str())))
                    .set_port(d.get("port").and_then(int_of).map(|p| p as i32))
                    .set_vpc_id(text("vpc"))
                    .set_protocol_version(text("protocol-version"))
            };
            let request = with_health_check!(request, &health_check(&d), grpc(&d));
            let out = request.send().await.map_err(aws("CreateTargetGroup"))?;
            let tg = out.target_groups().first().ok_or_else(|| {
                ProviderError::NotFound("CreateTargetGroup returned no target group".into())
            })?;
            let arn = tg.target_group_arn().ok_or_else(|| super::missing("ARN"))?;
            let changed = changed(self, &d, &BTreeMap::new());
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
            live.private
                .insert(AWS_NAME.into(), Value::String(aws_name.clone()));
            computed(&mut live, tg);
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
            if changed.contains("health-check") {
                let request = self.elb.client.modify_target_group().target_group_arn(arn);
                with_health_check!(request, &health_check(&d), grpc(&d))
                    .send()
                    .await
                    .map_err(aws("ModifyTargetGroup"))?;
            }
            let names = changed.names_in(self.kind());
            self.set_attributes(arn, &d, &names).await?;
            // An adopted target group gets its name tag too.
            let mut want = d.clone();
            if live.private.get(NAME_TAG) != Some(&Value::Bool(true))
                && let (Some(Value::Map(tags)), Some(name)) =
                    (want.get_mut("tags"), desired.str("name"))
            {
                tags.insert(NAME_TAG.into(), Value::String(name.to_string()));
            }
            self.elb.retag(arn, &want, &live.attrs, &[NAME_TAG]).await?;
            let mut updated = Live::converged(desired, live);
            updated.private = live.private.clone();
            Ok(updated)
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            self.elb
                .client
                .delete_target_group()
                .target_group_arn(live_arn(live)?)
                .send()
                .await
                .map_err(aws("DeleteTargetGroup"))?;
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
    fn the_alternate_name_toggles_a_suffix_within_32_characters() {
        assert_eq!(alternate("web", "web"), "web-b");
        assert_eq!(alternate("web", "web-b"), "web");
        let long = "a-target-group-of-32-characters!".replace('!', "x");
        assert_eq!(long.len(), 32);
        let alt = alternate(&long, &long);
        assert_eq!(alt.len(), 32);
        assert_eq!(alt, "a-target-group-of-32-character-b");
        assert_eq!(alternate(&long, &alt), long);
    }

    #[test]
    fn a_target_group_is_declared_by_its_name_or_its_name_tag() {
        assert!(is_declared("web", "web", None));
        assert!(!is_declared("web", "web-b", None));
        assert!(is_declared("web", "web-b", Some("web")));
        assert!(is_declared("web", "web", Some("web")));
        // `web-b` declared by itself is not the alternate of `web`.
        assert!(!is_declared("web", "web-b", Some("web-b")));
        assert!(!is_declared("web", "other", Some("web")));
    }

    #[test]
    fn live_reports_the_declared_name_and_keeps_the_aws_name_private() {
        let tg = TargetGroup::builder()
            .target_group_name("web-b")
            .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-b/1")
            .port(8080)
            .health_check_path("/health")
            .build();
        let tags = BTreeMap::from([
            (NAME_TAG.to_string(), "web".to_string()),
            ("infra:stack".to_string(), "s".to_string()),
        ]);
        let live = live(&tg, &[], &tags);
        assert_eq!(live.str("name"), Some("web"));
        assert_eq!(
            live.private.get(AWS_NAME),
            Some(&Value::String("web-b".into()))
        );
        let shown = live
            .attrs
            .get("tags")
            .and_then(Value::as_map)
            .expect("tags");
        assert!(!shown.contains_key(NAME_TAG));
        assert_eq!(
            live.computed.get("arn-suffix"),
            Some(&Value::String("targetgroup/web-b/1".into()))
        );
    }

    #[test]
    fn health_checks_compare_with_defaults_filled() {
        let provider = TargetGroups::new(Arc::new(super::super::tests::elb()));
        let mut without = BTreeMap::from([("port".to_string(), Value::Int(80))]);
        let mut with = without.clone();
        with.insert(
            "health-check".into(),
            Value::Map(BTreeMap::from([
                ("path".to_string(), Value::String("/".into())),
                ("interval".to_string(), Value::Int(30)),
            ])),
        );
        provider.normalize(&mut without);
        provider.normalize(&mut with);
        assert_eq!(without, with);
    }
}
