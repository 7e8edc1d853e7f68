//! Single security group rules (`security-group-rule`), owned through the tags AWS keeps on
//! each rule: authorised with `TagSpecifications` (resource type `security-group-rule`), found
//! with DescribeSecurityGroupRules by the stack's tag (owned) or by their group (read), and
//! revoked by rule id.

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{ResourceType, SecurityGroup, SecurityGroupRule};

use super::super::error::aws;
use super::{
    canonical_rule, filter, groups, lacks_description, live_id, retag, rules, rules_where,
    tag_spec, tagged,
};
use crate::model::{Kind, Value};
use crate::providers::{
    BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, STACK_TAG, desired_tags,
    owner_from_tags,
};

pub struct GroupRules {
    client: Client,
}

impl GroupRules {
    pub fn new(client: Client) -> Self {
        GroupRules { client }
    }

    /// Rules as live resources; the groups of rules whose description did not come with them
    /// are read to complete it.
    async fn lives(&self, found: &[SecurityGroupRule]) -> Result<Vec<Live>, ProviderError> {
        let mut lacking: Vec<String> = found
            .iter()
            .filter(|r| lacks_description(r))
            .filter_map(|r| r.group_id().map(str::to_string))
            .collect();
        lacking.sort();
        lacking.dedup();
        let groups = if lacking.is_empty() {
            Vec::new()
        } else {
            groups(&self.client, vec![filter("group-id", lacking)]).await?
        };
        Ok(found.iter().map(|r| live_rule(r, &groups)).collect())
    }
}

/// The rule attributes of a resource in canonical form, with its group and direction.
fn canonical(attrs: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    let mut map = attrs.clone();
    rules::canonicalize(&mut map);
    map
}

/// The natural key: group, direction and what identifies the rule in AWS (not its
/// description); `None` while the group or the source is not known.
fn key_of(attrs: &BTreeMap<String, Value>) -> Option<String> {
    let map = canonical(attrs);
    let unknown = |k: &str| matches!(map.get(k), Some(Value::Unknown | Value::Ref(_)));
    if unknown("group")
        || crate::model::schemas::ec2::SOURCES
            .iter()
            .any(|k| unknown(k))
    {
        return None;
    }
    Some(format!(
        "{}|{}|{}",
        map.get("group").and_then(Value::as_str)?,
        map.get("direction").and_then(Value::as_str)?,
        rules::identity(&map)
    ))
}

fn live_rule(rule: &SecurityGroupRule, groups: &[SecurityGroup]) -> Live {
    let mut a = canonical_rule(groups, rule);
    a.insert(
        "group".into(),
        Value::String(rule.group_id().unwrap_or_default().into()),
    );
    let direction = if rule.is_egress() == Some(true) {
        "egress"
    } else {
        "ingress"
    };
    a.insert("direction".into(), Value::String(direction.into()));
    let owner = tagged(&mut a, rule.tags());
    let mut live = Live::new(a, owner);
    if let Some(id) = rule.security_group_rule_id() {
        live.computed.insert("id".into(), Value::String(id.into()));
    }
    live
}

impl ResourceKind for GroupRules {
    fn kind(&self) -> Kind {
        Kind::SecurityGroupRule
    }

    fn key(&self, attrs: &BTreeMap<String, Value>) -> Option<String> {
        key_of(attrs)
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        rules::canonicalize(attrs);
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let found = rules_where(
                &self.client,
                &format!("tag:{STACK_TAG}"),
                &[stack.to_string()],
            )
            .await?;
            self.lives(&found).await
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let mut groups: Vec<String> = desired
                .iter()
                .filter_map(|d| d.str("group").map(str::to_string))
                .collect();
            groups.sort();
            groups.dedup();
            let found = if groups.is_empty() {
                Vec::new()
            } else {
                rules_where(&self.client, "group-id", &groups).await?
            };
            let lives = self.lives(&found).await?;
            Ok(desired
                .iter()
                .map(|d| {
                    let key = key_of(&d.attrs)?;
                    lives
                        .iter()
                        .find(|l| key_of(&l.attrs).as_ref() == Some(&key))
                        .cloned()
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let rule = canonical(&desired.attrs);
            let group = desired.str("group").unwrap_or_default();
            let permission = rules::permission(&rule)?;
            let tags = tag_spec(
                ResourceType::SecurityGroupRule,
                desired_tags(&desired.attrs),
            );
            let made = if desired.str("direction") == Some("egress") {
                self.client
                    .authorize_security_group_egress()
                    .group_id(group)
                    .ip_permissions(permission)
                    .tag_specifications(tags)
                    .send()
                    .await
                    .map_err(aws("AuthorizeSecurityGroupEgress"))?
                    .security_group_rules()
                    .to_vec()
            } else {
                self.client
                    .authorize_security_group_ingress()
                    .group_id(group)
                    .ip_permissions(permission)
                    .tag_specifications(tags)
                    .send()
                    .await
                    .map_err(aws("AuthorizeSecurityGroupIngress"))?
                    .security_group_rules()
                    .to_vec()
            };
            let id = made
                .first()
                .and_then(|r| r.security_group_rule_id())
                .ok_or_else(|| {
                    ProviderError::Input("AWS authorised the rule but returned no rule id".into())
                })?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            live.computed.insert("id".into(), Value::String(id.into()));
            Ok(live)
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        // Everything but the description and the tags forces a new rule.
        Box::pin(async move {
            let id = live_id(live, "security group rule")?;
            if changed.contains("description") {
                let group = desired.str("group").unwrap_or_default();
                super::modify_rules(
                    &self.client,
                    group,
                    &[(id.to_string(), canonical(&desired.attrs))],
                )
                .await?;
            }
            retag(&self.client, id, &desired.attrs, &live.attrs).await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let id = live_id(live, "security group rule")?.to_string();
            let group = live.str("group").unwrap_or_default();
            if live.str("direction") == Some("egress") {
                self.client
                    .revoke_security_group_egress()
                    .group_id(group)
                    .security_group_rule_ids(id)
                    .send()
                    .await
                    .map_err(aws("RevokeSecurityGroupEgress"))?;
            } else {
                self.client
                    .revoke_security_group_ingress()
                    .group_id(group)
                    .security_group_rule_ids(id)
                    .send()
                    .await
                    .map_err(aws("RevokeSecurityGroupIngress"))?;
            }
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let id = live_id(live, "security group rule")?;
            let group = live.str("group").unwrap_or_default().to_string();
            // By its group: a rule that is gone is then simply absent, not an error.
            let found = rules_where(&self.client, "group-id", &[group]).await?;
            Ok(found
                .iter()
                .find(|r| r.security_group_rule_id() == Some(id))
                .map(|r| owner_from_tags(super::pairs(r.tags()))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn the_key_is_the_rule_as_aws_identifies_it() {
        let s = |t: &str| Value::String(t.into());
        let written = attrs(&[
            ("group", s("sg-1")),
            ("direction", s("egress")),
            ("protocol", s("tcp")),
            ("port", Value::Int(8080)),
            ("security-group", s("sg-2")),
            ("description", s("to the tasks")),
        ]);
        let reported = attrs(&[
            ("group", s("sg-1")),
            ("direction", s("egress")),
            ("protocol", s("tcp")),
            ("from-port", Value::Int(8080)),
            ("to-port", Value::Int(8080)),
            ("security-group", s("sg-2")),
        ]);
        assert_eq!(key_of(&written), key_of(&reported));
        assert!(key_of(&written).is_some());
        let mut pending = written.clone();
        pending.insert("security-group".into(), Value::Unknown);
        assert_eq!(key_of(&pending), None);
        let mut other = written;
        other.insert("direction".into(), s("ingress"));
        assert_ne!(key_of(&other), key_of(&reported));
    }
}
