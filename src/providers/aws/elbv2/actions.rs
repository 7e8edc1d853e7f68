//! What listeners and rules do with a request (`forward`, `redirect`, `fixed-response`) and
//! which requests a rule takes (`host-header`, `path-pattern`): schema values to SDK types and
//! back, and the one normal form both sides are compared in.
//!
//! AWS reports the same action in several shapes: a single target group as `TargetGroupArn`
//! or as a one-element `ForwardConfig`, redirects with or without their `#{...}` defaults
//! (moto omits them), fixed responses without a content type. The normal form is: one target
//! group as `target-group`, several as `target` blocks sorted by target group with their
//! weights, redirect and fixed-response defaults filled, no empty body.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig,
    HostHeaderConditionConfig, PathPatternConditionConfig, RedirectActionConfig,
    RedirectActionStatusCodeEnum, RuleCondition, TargetGroupStickinessConfig, TargetGroupTuple,
};

use super::int_of;
use crate::model::Value;
use crate::providers::ProviderError;

/// The action blocks; a listener or rule has exactly one.
pub const ACTIONS: [&str; 3] = ["forward", "redirect", "fixed-response"];
/// The condition attributes of a rule.
pub const CONDITIONS: [&str; 2] = ["host-header", "path-pattern"];

/// Redirect parts AWS fills in when they are not given.
const REDIRECT_DEFAULTS: [(&str, &str); 5] = [
    ("protocol", "#{protocol}"),
    ("port", "#{port}"),
    ("host", "#{host}"),
    ("path", "/#{path}"),
    ("query", "#{query}"),
];
/// The content type of a fixed response that names none.
const DEFAULT_CONTENT_TYPE: &str = "text/plain";
/// The weight of a target that names none.
const DEFAULT_WEIGHT: i64 = 1;

fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

/// Puts every action block of `attrs` in normal form.
pub fn normalize_actions(attrs: &mut BTreeMap<String, Value>) {
    if let Some(Value::Map(forward)) = attrs.get_mut("forward") {
        normalize_forward(forward);
    }
    if let Some(Value::Map(redirect)) = attrs.get_mut("redirect") {
        for (k, v) in REDIRECT_DEFAULTS {
            redirect.entry(k.to_string()).or_insert_with(|| string(v));
        }
    }
    if let Some(Value::Map(fixed)) = attrs.get_mut("fixed-response") {
        if let Some(code) = fixed.get("status-code").and_then(int_of) {
            fixed.insert("status-code".into(), Value::Int(code));
        }
        fixed
            .entry("content-type".into())
            .or_insert_with(|| string(DEFAULT_CONTENT_TYPE));
        if matches!(fixed.get("body"), Some(Value::String(b)) if b.is_empty()) {
            fixed.remove("body");
        }
    }
}

/// One target group as `target-group`, several as `target` blocks sorted by target group.
fn normalize_forward(forward: &mut BTreeMap<String, Value>) {
    let mut targets = targets(forward);
    let mut out = BTreeMap::new();
    if targets.len() == 1 {
        out.insert("target-group".to_string(), targets.remove(0).0);
    } else if !targets.is_empty() {
        targets.sort_by_key(|(tg, _)| tg.to_string());
        let list = targets
            .into_iter()
            .map(|(tg, weight)| {
                Value::Map(BTreeMap::from([
                    ("target-group".to_string(), tg),
                    ("weight".to_string(), Value::Int(weight)),
                ]))
            })
            .collect();
        out.insert("target".to_string(), Value::List(list));
    }
    if let Some(seconds) = forward.get("stickiness").and_then(int_of) {
        out.insert("stickiness".to_string(), Value::Int(seconds));
    }
    *forward = out;
}

/// The target groups of a forward block with their weights.
fn targets(forward: &BTreeMap<String, Value>) -> Vec<(Value, i64)> {
    let mut out = Vec::new();
    if let Some(tg) = forward.get("target-group") {
        out.push((tg.clone(), DEFAULT_WEIGHT));
    }
    for target in forward
        .get("target")
        .and_then(Value::as_list)
        .unwrap_or_default()
    {
        let Some(target) = target.as_map() else {
            continue;
        };
        let Some(tg) = target.get("target-group") else {
            continue;
        };
        let weight = target
            .get("weight")
            .and_then(int_of)
            .unwrap_or(DEFAULT_WEIGHT);
        out.push((tg.clone(), weight));
    }
    out
}

/// The SDK action for the action block in `attrs`.
pub fn to_action(attrs: &BTreeMap<String, Value>) -> Result<Action, ProviderError> {
    if let Some(Value::Map(forward)) = attrs.get("forward") {
        let stickiness = forward.get("stickiness").and_then(int_of);
        let mut tuples = Vec::new();
        for (tg, weight) in targets(forward) {
            let arn = tg.as_str().ok_or_else(|| {
                ProviderError::Input(format!("the target group {tg} is not known yet"))
            })?;
            tuples.push((arn.to_string(), weight));
        }
        if let ([(arn, _)], None) = (tuples.as_slice(), stickiness) {
            return Ok(Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(arn)
                .build());
        }
        let mut config = ForwardActionConfig::builder();
        for (arn, weight) in tuples {
            config = config.target_groups(
                TargetGroupTuple::builder()
                    .target_group_arn(arn)
                    .weight(weight as i32)
                    .build(),
            );
        }
        if let Some(seconds) = stickiness {
            config = config.target_group_stickiness_config(
                TargetGroupStickinessConfig::builder()
                    .enabled(true)
                    .duration_seconds(seconds as i32)
                    .build(),
            );
        }
        return Ok(Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(config.build())
            .build());
    }
    if let Some(Value::Map(redirect)) = attrs.get("redirect") {
        let part = |k: &str| {
            redirect
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    REDIRECT_DEFAULTS
                        .iter()
                        .find(|(d, _)| *d == k)
                        .map(|(_, v)| v.to_string())
                })
        };
        let code = redirect
            .get("status-code")
            .and_then(Value::as_str)
            .unwrap_or("HTTP_301");
        let config = RedirectActionConfig::builder()
            .set_protocol(part("protocol"))
            .set_port(part("port"))
            .set_host(part("host"))
            .set_path(part("path"))
            .set_query(part("query"))
            .status_code(RedirectActionStatusCodeEnum::from(code))
            .build();
        return Ok(Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(config)
            .build());
    }
    if let Some(Value::Map(fixed)) = attrs.get("fixed-response") {
        let code = fixed
            .get("status-code")
            .and_then(int_of)
            .ok_or_else(|| ProviderError::Input("a fixed response needs a status code".into()))?;
        let config = FixedResponseActionConfig::builder()
            .status_code(code.to_string())
            .content_type(
                fixed
                    .get("content-type")
                    .and_then(Value::as_str)
                    .unwrap_or(DEFAULT_CONTENT_TYPE),
            )
            .set_message_body(
                fixed
                    .get("body")
                    .and_then(Value::as_str)
                    .filter(|b| !b.is_empty())
                    .map(str::to_string),
            )
            .build();
        return Ok(Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(config)
            .build());
    }
    Err(ProviderError::Input(
        "a listener or rule needs one of forward, redirect or fixed-response".into(),
    ))
}

/// The action block of an action AWS reports, if it is one infra manages.
fn action_value(action: &Action) -> Option<(&'static str, Value)> {
    match action.r#type()? {
        ActionTypeEnum::Forward => {
            let mut forward = BTreeMap::new();
            match action.forward_config() {
                Some(config) if !config.target_groups().is_empty() => {
                    let tuples: Vec<(String, i64)> = config
                        .target_groups()
                        .iter()
                        .filter_map(|t| {
                            Some((
                                t.target_group_arn()?.to_string(),
                                t.weight().map_or(DEFAULT_WEIGHT, i64::from),
                            ))
                        })
                        .collect();
                    if let [(arn, _)] = tuples.as_slice() {
                        forward.insert("target-group".to_string(), string(arn));
                    } else {
                        let list = tuples
                            .into_iter()
                            .map(|(arn, weight)| {
                                Value::Map(BTreeMap::from([
                                    ("target-group".to_string(), Value::String(arn)),
                                    ("weight".to_string(), Value::Int(weight)),
                                ]))
                            })
                            .collect();
                        forward.insert("target".to_string(), Value::List(list));
                    }
                    if let Some(stickiness) = config.target_group_stickiness_config()
                        && stickiness.enabled() == Some(true)
                        && let Some(seconds) = stickiness.duration_seconds()
                    {
                        forward.insert("stickiness".to_string(), Value::Int(seconds.into()));
                    }
                }
                _ => {
                    forward.insert(
                        "target-group".to_string(),
                        string(action.target_group_arn()?),
                    );
                }
            }
            Some(("forward", Value::Map(forward)))
        }
        ActionTypeEnum::Redirect => {
            let config = action.redirect_config()?;
            let mut redirect = BTreeMap::new();
            let parts = [
                ("protocol", config.protocol()),
                ("port", config.port()),
                ("host", config.host()),
                ("path", config.path()),
                ("query", config.query()),
                ("status-code", config.status_code().map(|c| c.as_str())),
            ];
            for (k, v) in parts {
                if let Some(v) = v {
                    redirect.insert(k.to_string(), string(v));
                }
            }
            Some(("redirect", Value::Map(redirect)))
        }
        ActionTypeEnum::FixedResponse => {
            let config = action.fixed_response_config()?;
            let mut fixed = BTreeMap::new();
            if let Some(code) = config.status_code() {
                let code = string(code);
                fixed.insert(
                    "status-code".to_string(),
                    int_of(&code).map_or(code, Value::Int),
                );
            }
            if let Some(t) = config.content_type() {
                fixed.insert("content-type".to_string(), string(t));
            }
            if let Some(b) = config.message_body() {
                fixed.insert("body".to_string(), string(b));
            }
            Some(("fixed-response", Value::Map(fixed)))
        }
        _ => None,
    }
}

/// The action block of the last action infra manages in an action list (authentication
/// actions come first; the last one is what answers the request).
pub fn from_actions(actions: &[Action]) -> Option<(&'static str, Value)> {
    let mut sorted: Vec<&Action> = actions.iter().collect();
    sorted.sort_by_key(|a| a.order().unwrap_or(i32::MAX));
    sorted.into_iter().rev().find_map(action_value)
}

/// The SDK conditions for the condition attributes in `attrs`.
pub fn to_conditions(attrs: &BTreeMap<String, Value>) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    let values = |name: &str| super::strings(attrs.get(name));
    let hosts = values("host-header");
    if !hosts.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(hosts))
                        .build(),
                )
                .build(),
        );
    }
    let paths = values("path-pattern");
    if !paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(paths))
                        .build(),
                )
                .build(),
        );
    }
    out
}

/// The condition attributes of the conditions AWS reports (values of repeated fields merged;
/// the `*Config` form preferred over the legacy `Values`).
pub fn from_conditions(conditions: &[RuleCondition]) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for condition in conditions {
        let (field, configured) = match condition.field() {
            Some("host-header") => (
                "host-header",
                condition.host_header_config().map(|c| c.values()),
            ),
            Some("path-pattern") => (
                "path-pattern",
                condition.path_pattern_config().map(|c| c.values()),
            ),
            _ => continue,
        };
        let values = match configured {
            Some(v) if !v.is_empty() => v,
            _ => condition.values(),
        };
        out.entry(field.to_string())
            .or_default()
            .extend(values.iter().cloned());
    }
    out.into_iter()
        .map(|(k, v)| (k, Value::List(v.into_iter().map(Value::String).collect())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn attrs(name: &str, block: Value) -> BTreeMap<String, Value> {
        BTreeMap::from([(name.to_string(), block)])
    }

    fn normalized(mut a: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
        normalize_actions(&mut a);
        a
    }

    fn weighted(targets: &[(&str, i64)]) -> Value {
        map(&[(
            "target",
            Value::List(
                targets
                    .iter()
                    .map(|(tg, w)| map(&[("target-group", string(tg)), ("weight", Value::Int(*w))]))
                    .collect(),
            ),
        )])
    }

    #[test]
    fn weighted_forward_round_trips_in_normal_form() {
        let desired = attrs("forward", weighted(&[("tg-b", 1), ("tg-a", 3)]));
        let action = to_action(&desired).expect("an action");
        let config = action.forward_config().expect("a forward config");
        assert_eq!(config.target_groups().len(), 2);
        let (name, value) = from_actions(&[action]).expect("a managed action");
        assert_eq!(name, "forward");
        assert_eq!(normalized(attrs(name, value)), normalized(desired.clone()));
        // Sorted by target group.
        assert_eq!(
            normalized(desired).get("forward"),
            Some(&weighted(&[("tg-a", 3), ("tg-b", 1)]))
        );
    }

    #[test]
    fn one_weighted_target_is_the_same_as_a_plain_forward() {
        let one = normalized(attrs("forward", weighted(&[("tg-a", 1)])));
        let plain = normalized(attrs("forward", map(&[("target-group", string("tg-a"))])));
        assert_eq!(one, plain);
        // AWS's one-element ForwardConfig reads back as the plain form.
        let aws = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn("tg-a")
            .forward_config(
                ForwardActionConfig::builder()
                    .target_groups(
                        TargetGroupTuple::builder()
                            .target_group_arn("tg-a")
                            .weight(1)
                            .build(),
                    )
                    .target_group_stickiness_config(
                        TargetGroupStickinessConfig::builder()
                            .enabled(false)
                            .build(),
                    )
                    .build(),
            )
            .build();
        let (name, value) = from_actions(&[aws]).expect("a managed action");
        assert_eq!(normalized(attrs(name, value)), plain);
    }

    #[test]
    fn stickiness_needs_a_forward_config() {
        let desired = attrs(
            "forward",
            map(&[
                ("target-group", string("tg-a")),
                ("stickiness", Value::Int(300)),
            ]),
        );
        let action = to_action(&desired).expect("an action");
        let stickiness = action
            .forward_config()
            .and_then(|c| c.target_group_stickiness_config())
            .expect("stickiness");
        assert_eq!(stickiness.enabled(), Some(true));
        assert_eq!(stickiness.duration_seconds(), Some(300));
        let (name, value) = from_actions(&[action]).expect("a managed action");
        assert_eq!(normalized(attrs(name, value)), normalized(desired));
    }

    #[test]
    fn a_redirect_without_its_defaults_equals_one_with_them() {
        // What moto reports: only what was given.
        let aws = Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build();
        let (name, value) = from_actions(&[aws]).expect("a managed action");
        // What the stack decodes to: schema defaults filled.
        let desired = attrs(
            "redirect",
            map(&[
                ("protocol", string("HTTPS")),
                ("port", string("443")),
                ("host", string("#{host}")),
                ("path", string("/#{path}")),
                ("query", string("#{query}")),
                ("status-code", string("HTTP_301")),
            ]),
        );
        assert_eq!(normalized(attrs(name, value)), normalized(desired.clone()));
        let sent = to_action(&desired).expect("an action");
        let config = sent.redirect_config().expect("a redirect config");
        assert_eq!(config.host(), Some("#{host}"));
        assert_eq!(
            config.status_code(),
            Some(&RedirectActionStatusCodeEnum::Http301)
        );
    }

    #[test]
    fn fixed_responses_compare_with_numeric_codes_and_a_default_content_type() {
        let aws = Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code("503")
                    .build(),
            )
            .build();
        let (name, value) = from_actions(&[aws]).expect("a managed action");
        let desired = attrs(
            "fixed-response",
            map(&[("status-code", Value::Int(503)), ("body", string(""))]),
        );
        assert_eq!(normalized(attrs(name, value)), normalized(desired.clone()));
        let sent = to_action(&desired).expect("an action");
        let config = sent.fixed_response_config().expect("a fixed response");
        assert_eq!(config.status_code(), Some("503"));
        assert_eq!(config.content_type(), Some("text/plain"));
        assert_eq!(config.message_body(), None);
    }

    #[test]
    fn unknown_target_groups_are_not_sent() {
        let desired = attrs("forward", map(&[("target-group", Value::Unknown)]));
        assert!(to_action(&desired).is_err());
        // ... but normalise as they are, for plans.
        assert_eq!(
            normalized(desired.clone()).get("forward"),
            desired.get("forward")
        );
    }

    #[test]
    fn conditions_round_trip_and_accept_the_legacy_form() {
        let desired = BTreeMap::from([
            (
                "host-header".to_string(),
                Value::List(vec![string("a.example.com")]),
            ),
            (
                "path-pattern".to_string(),
                Value::List(vec![string("/api/*")]),
            ),
        ]);
        let sent = to_conditions(&desired);
        assert_eq!(sent.len(), 2);
        assert_eq!(from_conditions(&sent), desired);
        let legacy = RuleCondition::builder()
            .field("host-header")
            .values("a.example.com")
            .build();
        assert_eq!(
            from_conditions(&[legacy]).get("host-header"),
            desired.get("host-header")
        );
    }
}
