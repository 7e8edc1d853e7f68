//! Listener rules, keyed by listener ARN and priority.
//!
//! Rules are not in the tag index either: the ones a stack owns are found on the listeners of
//! the load balancers it owns and on the listeners its rules name, one DescribeRules per
//! listener, ownership from DescribeTags. A rule at a wanted priority that no stack owns is
//! reported as it is, unowned, so that the plan can say the priority is taken. Default rules
//! belong to their listener and are never read as rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::Rule;
use futures::future::try_join_all;

use super::actions::{
    ACTIONS, CONDITIONS, from_actions, from_conditions, normalize_actions, to_action, to_conditions,
};
use super::{Elb, gone_is_done, int_of, live_arn, sort_set, tags};
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::aws::error::aws;
use crate::providers::{
    BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, desired_tags, owner_from_tags,
    tags_value,
};

pub struct Rules {
    elb: Arc<Elb>,
}

impl Rules {
    pub fn new(elb: Arc<Elb>) -> Self {
        Rules { elb }
    }

    /// The rules (default rules left out) of these listeners, with the listener of each.
    async fn on(&self, listeners: BTreeSet<String>) -> Result<Vec<(String, Rule)>, ProviderError> {
        let lists = try_join_all(listeners.iter().map(|arn| async move {
            let rules = self.elb.rules_of(arn).await?;
            Ok::<_, ProviderError>((arn.clone(), rules.unwrap_or_default()))
        }))
        .await?;
        Ok(lists
            .into_iter()
            .flat_map(|(listener, rules)| {
                rules
                    .into_iter()
                    .filter(|r| r.is_default() != Some(true) && priority(r).is_some())
                    .map(move |r| (listener.clone(), r))
            })
            .collect())
    }

    async fn lives(&self, rules: &[(String, Rule)]) -> Result<Vec<Live>, ProviderError> {
        let arns: Vec<String> = rules
            .iter()
            .filter_map(|(_, r)| r.rule_arn().map(str::to_string))
            .collect();
        let tags = self.elb.tags(&arns).await?;
        Ok(rules
            .iter()
            .map(|(listener, r)| live(listener, r, &tags))
            .collect())
    }
}

/// A rule's priority; `None` for the default rule (`"default"`).
fn priority(rule: &Rule) -> Option<i64> {
    rule.priority()?.parse().ok()
}

fn live(listener: &str, rule: &Rule, tags: &HashMap<String, BTreeMap<String, String>>) -> Live {
    let mut a = BTreeMap::new();
    a.insert("listener".to_string(), Value::String(listener.to_string()));
    if let Some(p) = priority(rule) {
        a.insert("priority".into(), Value::Int(p));
    }
    a.extend(from_conditions(rule.conditions()));
    if let Some((name, value)) = from_actions(rule.actions()) {
        a.insert(name.to_string(), value);
    }
    let empty = BTreeMap::new();
    let own = rule
        .rule_arn()
        .and_then(|arn| tags.get(arn))
        .unwrap_or(&empty);
    let pairs = own.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    a.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(a, owner_from_tags(pairs));
    if let Some(arn) = rule.rule_arn() {
        live.computed
            .insert("arn".into(), Value::String(arn.to_string()));
    }
    live
}

/// Listener ARNs written literally in desired rules (a listener of another stack, passed in).
fn named_listeners(desired: &[Desired]) -> impl Iterator<Item = String> + '_ {
    desired
        .iter()
        .filter_map(|d| d.str("listener").map(str::to_string))
}

impl ResourceKind for Rules {
    fn kind(&self) -> Kind {
        Kind::ListenerRule
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        if let Some(p) = attrs.get("priority").and_then(int_of) {
            attrs.insert("priority".into(), Value::Int(p));
        }
        for condition in CONDITIONS {
            sort_set(attrs, condition);
        }
        normalize_actions(attrs);
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let lbs = self.elb.owned_load_balancers().await?;
            let on_lbs =
                try_join_all(lbs.iter().map(|(arn, _)| self.elb.listeners_of(arn))).await?;
            let mut listeners: BTreeSet<String> = on_lbs
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|l| l.listener_arn().map(str::to_string))
                .collect();
            listeners.extend(named_listeners(desired));
            let rules = self.on(listeners).await?;
            let lives = self.lives(&rules).await?;
            Ok(lives
                .into_iter()
                .filter(|l| matches!(&l.owner, Owner::Stack { stack: s, .. } if s == stack))
                .collect())
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let rules = self.on(named_listeners(desired).collect()).await?;
            let wanted: Vec<(String, Rule)> = rules
                .into_iter()
                .filter(|(listener, r)| {
                    desired.iter().any(|d| {
                        d.str("listener") == Some(listener.as_str())
                            && d.attrs.get("priority").and_then(int_of) == priority(r)
                    })
                })
                .collect();
            let lives = self.lives(&wanted).await?;
            Ok(desired
                .iter()
                .map(|d| {
                    let key = self.key(&d.attrs);
                    lives
                        .iter()
                        .find(|l| key.is_some() && self.key(&l.attrs) == key)
                        .cloned()
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let mut d = desired.attrs.clone();
            self.normalize(&mut d);
            let listener = d
                .get("listener")
                .and_then(Value::as_str)
                .ok_or_else(|| ProviderError::Input("the listener is not known yet".into()))?;
            let out = self
                .elb
                .client
                .create_rule()
                .listener_arn(listener)
                .set_priority(d.get("priority").and_then(int_of).map(|p| p as i32))
                .set_conditions(Some(to_conditions(&d)))
                .actions(to_action(&d)?)
                .set_tags(Some(tags(desired_tags(&d))))
                .send()
                .await
                .map_err(aws("CreateRule"))?;
            let arn = out
                .rules()
                .first()
                .and_then(|r| r.rule_arn())
                .ok_or_else(|| ProviderError::NotFound("CreateRule returned no rule".into()))?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            live.computed
                .insert("arn".into(), Value::String(arn.to_string()));
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
            if changed.any_of(&CONDITIONS) || changed.any_of(&ACTIONS) {
                self.elb
                    .client
                    .modify_rule()
                    .rule_arn(arn)
                    .set_conditions(Some(to_conditions(&d)))
                    .actions(to_action(&d)?)
                    .send()
                    .await
                    .map_err(aws("ModifyRule"))?;
            }
            self.elb.retag(arn, &d, &live.attrs, &[]).await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let result = self
                .elb
                .client
                .delete_rule()
                .rule_arn(live_arn(live)?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("DeleteRule"));
            // Gone with its parent: what deleting wanted.
            gone_is_done(result, "RuleNotFound")
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
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, HostHeaderConditionConfig, RuleCondition,
    };

    #[test]
    fn rules_compare_with_host_names_in_any_order() {
        let rule = Rule::builder()
            .rule_arn("arn:r")
            .priority("10")
            .conditions(
                RuleCondition::builder()
                    .field("host-header")
                    .host_header_config(
                        HostHeaderConditionConfig::builder()
                            .values("b.example.com")
                            .values("a.example.com")
                            .build(),
                    )
                    .build(),
            )
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn("arn:tg")
                    .build(),
            )
            .build();
        let mut l = live("arn:l", &rule, &HashMap::new()).attrs;
        assert_eq!(l.get("priority"), Some(&Value::Int(10)));
        let text = |s: &str| Value::String(s.to_string());
        let mut d = BTreeMap::from([
            ("listener".to_string(), text("arn:l")),
            ("priority".to_string(), Value::Int(10)),
            (
                "host-header".to_string(),
                Value::List(vec![text("a.example.com"), text("b.example.com")]),
            ),
            (
                "forward".to_string(),
                Value::Map(BTreeMap::from([(
                    "target-group".to_string(),
                    text("arn:tg"),
                )])),
            ),
            ("tags".to_string(), Value::Map(BTreeMap::new())),
        ]);
        let provider = Rules::new(Arc::new(super::super::tests::elb()));
        provider.normalize(&mut l);
        provider.normalize(&mut d);
        assert_eq!(l, d);
        assert_eq!(provider.key(&l).as_deref(), Some("arn:l|10"));
    }

    #[test]
    fn the_default_rule_has_no_priority() {
        let rule = Rule::builder().priority("default").is_default(true).build();
        assert_eq!(priority(&rule), None);
    }
}
