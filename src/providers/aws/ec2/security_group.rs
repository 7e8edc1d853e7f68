//! Security groups with their inline rules.
//!
//! A group is found by its tags (owned) or by VPC and name (DescribeSecurityGroups, names 200
//! at a time); its rules come from DescribeSecurityGroupRules, one rule per source, with ids.
//! Rules tagged with an address belong to `security-group-rule` resources and are not the
//! group's. Updates authorise the new rules, describe again in place those whose description
//! alone changed and then revoke the rules that are gone, per direction;
//! an omitted `egress` is left as AWS has it.

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{ResourceType, SecurityGroup, SecurityGroupRule};

use super::super::error::aws;
use super::{
    canonical_rule, filter, groups, live_id, retag, rules, rules_where, separately_owned, tag_spec,
    tagged,
};
use crate::model::{Kind, Value};
use crate::providers::{
    BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, STACK_TAG, desired_tags,
    owner_from_tags,
};

const DIRECTIONS: [&str; 2] = ["ingress", "egress"];

pub struct SecurityGroups {
    client: Client,
}

impl SecurityGroups {
    pub fn new(client: Client) -> Self {
        SecurityGroups { client }
    }

    /// The groups' own rules (not those of `security-group-rule` resources), by group id.
    async fn rules_of(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, Vec<SecurityGroupRule>>, ProviderError> {
        let mut by_group: BTreeMap<String, Vec<SecurityGroupRule>> = BTreeMap::new();
        if ids.is_empty() {
            return Ok(by_group);
        }
        for rule in rules_where(&self.client, "group-id", ids).await? {
            if separately_owned(&rule) {
                continue;
            }
            if let Some(group) = rule.group_id() {
                by_group.entry(group.to_string()).or_default().push(rule);
            }
        }
        Ok(by_group)
    }

    async fn with_rules(&self, found: Vec<SecurityGroup>) -> Result<Vec<Live>, ProviderError> {
        let ids: Vec<String> = found
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect();
        let rules = self.rules_of(&ids).await?;
        Ok(found
            .iter()
            .map(|g| {
                let none = Vec::new();
                let of = g.group_id().and_then(|id| rules.get(id)).unwrap_or(&none);
                live_group(g, of, &found)
            })
            .collect())
    }

    /// Revokes the rules of `group` that `desired` no longer has and authorises the new ones,
    /// per direction (not `egress` when the stack leaves it to AWS). The rules are read first:
    /// what is revoked is what AWS holds now.
    async fn reconcile(
        &self,
        group: &str,
        desired: &BTreeMap<String, Value>,
    ) -> Result<(), ProviderError> {
        let have = self.rules_of(&[group.to_string()]).await?;
        let have = have.get(group).map(Vec::as_slice).unwrap_or_default();
        let groups = if have.iter().any(super::lacks_description) {
            groups(&self.client, vec![filter("group-id", [group.to_string()])]).await?
        } else {
            Vec::new()
        };
        for direction in DIRECTIONS {
            let Some(wanted) = desired.get(direction).filter(|v| **v != Value::Null) else {
                if direction == "egress" {
                    continue;
                }
                self.converge(group, direction, &[], have, &groups).await?;
                continue;
            };
            let want: Vec<BTreeMap<String, Value>> = rules::canonical_list(wanted)
                .as_list()
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r.as_map().cloned())
                .collect();
            self.converge(group, direction, &want, have, &groups)
                .await?;
        }
        Ok(())
    }

    async fn converge(
        &self,
        group: &str,
        direction: &str,
        want: &[BTreeMap<String, Value>],
        have: &[SecurityGroupRule],
        groups: &[SecurityGroup],
    ) -> Result<(), ProviderError> {
        let egress = direction == "egress";
        let have: Vec<(String, BTreeMap<String, Value>)> = have
            .iter()
            .filter(|r| r.is_egress() == Some(egress))
            .filter_map(|r| {
                Some((
                    r.security_group_rule_id()?.to_string(),
                    canonical_rule(groups, r),
                ))
            })
            .collect();
        let rules::Changes {
            revoke,
            add,
            redescribe,
        } = rules::changes(want, &have);
        // New rules first, then descriptions, then revokes: traffic that both the old and the
        // new rules allow never stops.
        if !add.is_empty() {
            let permissions = add
                .iter()
                .map(rules::permission)
                .collect::<Result<Vec<_>, _>>()?;
            if egress {
                self.client
                    .authorize_security_group_egress()
                    .group_id(group)
                    .set_ip_permissions(Some(permissions))
                    .send()
                    .await
                    .map_err(aws("AuthorizeSecurityGroupEgress"))?;
            } else {
                self.client
                    .authorize_security_group_ingress()
                    .group_id(group)
                    .set_ip_permissions(Some(permissions))
                    .send()
                    .await
                    .map_err(aws("AuthorizeSecurityGroupIngress"))?;
            }
        }
        if !redescribe.is_empty() {
            super::modify_rules(&self.client, group, &redescribe).await?;
        }
        if !revoke.is_empty() {
            if egress {
                self.client
                    .revoke_security_group_egress()
                    .group_id(group)
                    .set_security_group_rule_ids(Some(revoke))
                    .send()
                    .await
                    .map_err(aws("RevokeSecurityGroupEgress"))?;
            } else {
                self.client
                    .revoke_security_group_ingress()
                    .group_id(group)
                    .set_security_group_rule_ids(Some(revoke))
                    .send()
                    .await
                    .map_err(aws("RevokeSecurityGroupIngress"))?;
            }
        }
        Ok(())
    }
}

fn live_group(group: &SecurityGroup, rules: &[SecurityGroupRule], all: &[SecurityGroup]) -> Live {
    let s = |v: Option<&str>| Value::String(v.unwrap_or_default().to_string());
    let mut a = BTreeMap::new();
    a.insert("name".into(), s(group.group_name()));
    a.insert("description".into(), s(group.description()));
    a.insert("vpc".into(), s(group.vpc_id()));
    for direction in DIRECTIONS {
        let egress = direction == "egress";
        let list = rules
            .iter()
            .filter(|r| r.is_egress() == Some(egress))
            .map(|r| Value::Map(canonical_rule(all, r)))
            .collect();
        a.insert(direction.into(), rules::canonical_list(&Value::List(list)));
    }
    let owner = tagged(&mut a, group.tags());
    let mut live = Live::new(a, owner);
    if let Some(id) = group.group_id() {
        live.computed.insert("id".into(), Value::String(id.into()));
    }
    if let Some(arn) = group.security_group_arn() {
        live.computed
            .insert("arn".into(), Value::String(arn.into()));
    }
    live
}

impl ResourceKind for SecurityGroups {
    fn kind(&self) -> Kind {
        Kind::SecurityGroup
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        for direction in DIRECTIONS {
            if let Some(list) = attrs.get(direction).filter(|v| **v != Value::Null) {
                let canonical = rules::canonical_list(list);
                attrs.insert(direction.into(), canonical);
            }
        }
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let found = groups(
                &self.client,
                vec![filter(&format!("tag:{STACK_TAG}"), [stack.to_string()])],
            )
            .await?;
            self.with_rules(found).await
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
            let vpcs: Vec<String> = desired
                .iter()
                .filter_map(|d| d.str("vpc").map(str::to_string))
                .collect();
            let found = super::super::kit::in_chunks(&names, super::PER_CALL, |chunk| {
                let filters = vec![
                    filter("group-name", chunk.to_vec()),
                    filter("vpc-id", vpcs.clone()),
                ];
                groups(&self.client, filters)
            })
            .await?;
            let wanted: Vec<SecurityGroup> = found
                .into_iter()
                .filter(|g| {
                    desired
                        .iter()
                        .any(|d| d.str("name") == g.group_name() && d.str("vpc") == g.vpc_id())
                })
                .collect();
            let lives = self.with_rules(wanted).await?;
            Ok(desired
                .iter()
                .map(|d| {
                    lives
                        .iter()
                        .find(|l| l.str("name") == d.str("name") && l.str("vpc") == d.str("vpc"))
                        .cloned()
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let made = self
                .client
                .create_security_group()
                .group_name(desired.str("name").unwrap_or_default())
                .description(desired.str("description").unwrap_or_default())
                .vpc_id(desired.str("vpc").unwrap_or_default())
                .tag_specifications(tag_spec(
                    ResourceType::SecurityGroup,
                    desired_tags(&desired.attrs),
                ))
                .send()
                .await
                .map_err(aws("CreateSecurityGroup"))?;
            let id = made
                .group_id()
                .ok_or_else(|| ProviderError::Input("CreateSecurityGroup returned no id".into()))?;
            self.reconcile(id, &desired.attrs).await?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            live.computed.insert("id".into(), Value::String(id.into()));
            if let Some(arn) = made.security_group_arn() {
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
            let id = live_id(live, "security group")?;
            if changed.any_of(&DIRECTIONS) {
                self.reconcile(id, &desired.attrs).await?;
            }
            retag(&self.client, id, &desired.attrs, &live.attrs).await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            self.client
                .delete_security_group()
                .group_id(live_id(live, "security group")?)
                .send()
                .await
                .map_err(aws("DeleteSecurityGroup"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let id = live_id(live, "security group")?.to_string();
            let found = groups(&self.client, vec![filter("group-id", [id])]).await?;
            Ok(found
                .first()
                .map(|g| owner_from_tags(super::pairs(g.tags()))))
        })
    }
}
