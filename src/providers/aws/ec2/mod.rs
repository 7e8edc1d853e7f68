//! EC2 security groups and their rules: the reads both kinds share (groups by filter, rules
//! of groups by DescribeSecurityGroupRules, which reports one rule per source with its id and
//! tags), and tag writes on `sg-` and `sgr-` ids.

mod group_rule;
mod rules;
mod security_group;

use std::sync::Arc;

use super::tagging::OwnedIndex;
use super::when_used::WhenUsed;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, SecurityGroup, SecurityGroupRule, Tag, TagSpecification};

use super::error::aws;
use super::kit;
use std::collections::BTreeMap;

use crate::model::Value;
use crate::providers::{Live, ProviderError, Providers, owner_from_tags, tags_value};

/// Filter values per DescribeSecurityGroups or DescribeSecurityGroupRules call.
const PER_CALL: usize = 200;
/// The largest page DescribeSecurityGroupRules returns.
const PAGE: i32 = 1000;

/// Adds the security group kinds to `providers`.
pub fn register(providers: &mut Providers, client: &Client, owned: &Arc<OwnedIndex>) {
    providers.add(WhenUsed::wrap(
        Arc::new(security_group::SecurityGroups::new(client.clone())),
        owned,
        "ec2",
    ));
    providers.add(WhenUsed::wrap(
        Arc::new(group_rule::GroupRules::new(client.clone())),
        owned,
        "ec2",
    ));
}

fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

fn pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> + Clone {
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
}

/// Tags as the create call takes them.
fn tag_spec(
    kind: aws_sdk_ec2::types::ResourceType,
    tags: Vec<(String, String)>,
) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Security groups matching every filter, every page.
async fn groups(
    client: &Client,
    filters: Vec<Filter>,
) -> Result<Vec<SecurityGroup>, ProviderError> {
    let filters = &filters;
    kit::pages(|token| async move {
        let page = client
            .describe_security_groups()
            .set_filters(Some(filters.clone()))
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("DescribeSecurityGroups"))?;
        Ok((
            page.security_groups().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await
}

/// Rules matching a filter whose values go `PER_CALL` at a time, every chunk at once.
async fn rules_where(
    client: &Client,
    name: &str,
    values: &[String],
) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    kit::in_chunks(values, PER_CALL, |chunk| async move {
        let filters = vec![filter(name, chunk.to_vec())];
        let filters = &filters;
        kit::pages(|token| async move {
            let page = client
                .describe_security_group_rules()
                .set_filters(Some(filters.clone()))
                .max_results(PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("DescribeSecurityGroupRules"))?;
            Ok((
                page.security_group_rules().to_vec(),
                page.next_token().map(str::to_string),
            ))
        })
        .await
    })
    .await
}

/// Converges the tags of an EC2 resource (`sg-…`, `sgr-…`) from `live` to `desired`.
async fn retag(
    client: &Client,
    id: &str,
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> Result<(), ProviderError> {
    kit::retag(
        desired,
        live,
        &[],
        |keys| async move {
            client
                .delete_tags()
                .resources(id)
                .set_tags(Some(
                    keys.into_iter()
                        .map(|k| Tag::builder().key(k).build())
                        .collect(),
                ))
                .send()
                .await
                .map_err(aws("DeleteTags"))?;
            Ok(())
        },
        |set| async move {
            client
                .create_tags()
                .resources(id)
                .set_tags(Some(
                    set.into_iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .send()
                .await
                .map_err(aws("CreateTags"))?;
            Ok(())
        },
    )
    .await
}

/// Sets rules of `group` (by id) to the canonical rules given, in place: ModifySecurityGroupRules
/// keeps each rule's id, so traffic it lets through never stops.
async fn modify_rules(
    client: &Client,
    group: &str,
    rules: &[(String, BTreeMap<String, Value>)],
) -> Result<(), ProviderError> {
    let updates = rules
        .iter()
        .map(|(id, rule)| {
            Ok(aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
                .security_group_rule_id(id)
                .security_group_rule(rules::request(rule)?)
                .build())
        })
        .collect::<Result<Vec<_>, ProviderError>>()?;
    client
        .modify_security_group_rules()
        .group_id(group)
        .set_security_group_rules(Some(updates))
        .send()
        .await
        .map_err(aws("ModifySecurityGroupRules"))?;
    Ok(())
}

/// Tags and the ownership they record, as a live resource holds them.
fn tagged(attrs: &mut BTreeMap<String, Value>, tags: &[Tag]) -> crate::providers::Owner {
    attrs.insert("tags".into(), tags_value(pairs(tags)));
    owner_from_tags(pairs(tags))
}

/// Whether a rule is a `security-group-rule` resource's (of any stack), not its group's: it
/// carries either ownership tag (a group never tags its own rules). The stack tag alone is
/// enough: the rule kind lists rules by it, so a rule whose address tag was removed by hand is
/// still the rule kind's to repair, and the group must not revoke it at the same time.
fn separately_owned(rule: &SecurityGroupRule) -> bool {
    rule.tags().iter().any(|t| {
        t.key() == Some(crate::providers::ADDRESS_TAG)
            || t.key() == Some(crate::providers::STACK_TAG)
    })
}

/// The id of a live resource (its computed `id`).
fn live_id<'a>(live: &'a Live, what: &str) -> Result<&'a str, ProviderError> {
    live.computed
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::Input(format!("the live {what} has no id")))
}

/// The description of a rule that references another group, from the group's permissions
/// (DescribeSecurityGroups), for when DescribeSecurityGroupRules leaves it out (the moto
/// emulator does for such rules; AWS reports it, so on AWS this is never needed).
fn pair_description(groups: &[SecurityGroup], rule: &SecurityGroupRule) -> Option<String> {
    let other = rule.referenced_group_info()?.group_id()?;
    let group = groups.iter().find(|g| g.group_id() == rule.group_id())?;
    let permissions = if rule.is_egress() == Some(true) {
        group.ip_permissions_egress()
    } else {
        group.ip_permissions()
    };
    permissions
        .iter()
        .filter(|p| {
            p.ip_protocol() == rule.ip_protocol()
                && p.from_port() == rule.from_port()
                && p.to_port() == rule.to_port()
        })
        .flat_map(|p| p.user_id_group_pairs())
        .find(|pair| pair.group_id() == Some(other))
        .and_then(|pair| pair.description())
        .map(str::to_string)
}

/// Whether a rule that references a group came without its description.
fn lacks_description(rule: &SecurityGroupRule) -> bool {
    rule.referenced_group_info().is_some() && rule.description().is_none()
}

/// A rule in canonical form, its description completed from `groups` where it lacks one.
fn canonical_rule(groups: &[SecurityGroup], rule: &SecurityGroupRule) -> BTreeMap<String, Value> {
    let mut map = rules::from_sdk(rule);
    if lacks_description(rule)
        && let Some(text) = pair_description(groups, rule).filter(|t| !t.is_empty())
    {
        map.insert("description".into(), Value::String(text));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tags: &[(&str, &str)]) -> SecurityGroupRule {
        SecurityGroupRule::builder()
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                    .collect(),
            ))
            .build()
    }

    #[test]
    fn a_rule_with_either_ownership_tag_is_not_its_groups() {
        assert!(!separately_owned(&rule(&[])));
        assert!(!separately_owned(&rule(&[("team", "web")])));
        assert!(separately_owned(&rule(&[
            ("infra:stack", "app"),
            ("infra:address", "security-group-rule.in")
        ])));
        // Its address tag removed by hand: still the rule kind's, which lists by stack tag.
        assert!(separately_owned(&rule(&[("infra:stack", "app")])));
        assert!(separately_owned(&rule(&[(
            "infra:address",
            "security-group-rule.in"
        )])));
    }
}
