//! IAM roles: the role, its trust policy, inline policies and managed policy attachments.
//!
//! IAM is global, so ownership is three tags on the role: `infra:stack`, `infra:address` and
//! `infra:region` (the stack's region). A role tagged by the same stack name in another region
//! belongs to `stack@region`, another owner. The tagging index (GetResources) does not cover
//! IAM roles, so `list_owned` pages ListRoles (1,000 roles a call) and asks ListRoleTags for
//! every role but the service-linked ones, all at once under the rate limiter; each owned role
//! then costs ListRolePolicies, one GetRolePolicy per inline policy and
//! ListAttachedRolePolicies. Desired roles not found among them are read by name (GetRole).
//! Policy documents come back URL-encoded; `model::policy` reads and compares them.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{Role, Tag};

use super::error::aws;
use super::kit;
use crate::model::schemas::iam::size_problem;
use crate::model::{Kind, Value, policy};
use crate::providers::{
    BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, desired_tags,
    owner_from_tags, tags_value,
};

/// Tag naming the region of the stack that owns a role (IAM is global).
pub const REGION_TAG: &str = "infra:region";
/// Where AWS files service-linked roles: never created by infra, never listed for tags.
const SERVICE_LINKED_PATH: &str = "/aws-service-role/";
/// Roles ListRoles returns per call at most.
const ROLES_PER_PAGE: i32 = 1000;

pub struct Roles {
    client: Client,
    region: String,
}

type Pairs = Vec<(String, String)>;

impl Roles {
    pub fn new(client: Client, region: String) -> Self {
        Roles { client, region }
    }

    /// Who owns a role with these tags: this stack only when its region tag is ours.
    fn owner(&self, tags: &Pairs) -> Owner {
        owner_in(tags, &self.region)
    }

    async fn get_role(&self, name: &str) -> Result<Option<Role>, ProviderError> {
        match self.client.get_role().role_name(name).send().await {
            Ok(out) => Ok(out.role().cloned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws("GetRole")(e)),
        }
    }

    /// A role's tags; `None` when the role is gone (deleted since it was listed).
    async fn tags_of(&self, name: &str) -> Result<Option<Pairs>, ProviderError> {
        let listed = kit::pages(|marker| async move {
            let page = self
                .client
                .list_role_tags()
                .role_name(name)
                .set_marker(marker)
                .send()
                .await
                .map_err(aws("ListRoleTags"))?;
            let next = page
                .is_truncated()
                .then(|| page.marker().map(str::to_string))
                .flatten();
            Ok((pairs(page.tags()), next))
        })
        .await;
        match listed {
            Ok(tags) => Ok(Some(tags)),
            Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The role's inline policies in schema terms, by name.
    async fn inline(&self, name: &str) -> Result<Vec<Value>, ProviderError> {
        let names = kit::pages(|marker| async move {
            let page = self
                .client
                .list_role_policies()
                .role_name(name)
                .set_marker(marker)
                .send()
                .await
                .map_err(aws("ListRolePolicies"))?;
            let next = page
                .is_truncated()
                .then(|| page.marker().map(str::to_string))
                .flatten();
            Ok((page.policy_names().to_vec(), next))
        })
        .await?;
        futures::future::try_join_all(names.iter().map(|policy_name| async move {
            let got = self
                .client
                .get_role_policy()
                .role_name(name)
                .policy_name(policy_name)
                .send()
                .await
                .map_err(aws("GetRolePolicy"))?;
            let statements = policy::parse(got.policy_document()).map_err(|e| {
                ProviderError::Input(format!(
                    "inline policy `{policy_name}` of role `{name}`: {e}"
                ))
            })?;
            Ok::<_, ProviderError>(Value::Map(BTreeMap::from([
                ("name".to_string(), Value::String(policy_name.clone())),
                ("statement".to_string(), Value::List(statements)),
            ])))
        }))
        .await
    }

    /// The ARNs of the managed policies attached to the role.
    async fn attached(&self, name: &str) -> Result<Vec<String>, ProviderError> {
        kit::pages(|marker| async move {
            let page = self
                .client
                .list_attached_role_policies()
                .role_name(name)
                .set_marker(marker)
                .send()
                .await
                .map_err(aws("ListAttachedRolePolicies"))?;
            let next = page
                .is_truncated()
                .then(|| page.marker().map(str::to_string))
                .flatten();
            let arns = page
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect();
            Ok((arns, next))
        })
        .await
    }

    /// The whole live role: what the role says, plus its policies.
    async fn live(&self, role: &Role, tags: &Pairs) -> Result<Live, ProviderError> {
        let name = role.role_name();
        let (inline, attached) =
            futures::future::try_join(self.inline(name), self.attached(name)).await?;
        let mut a = BTreeMap::new();
        a.insert("name".into(), Value::String(name.into()));
        a.insert("path".into(), Value::String(role.path().into()));
        if let Some(d) = role.description().filter(|d| !d.is_empty()) {
            a.insert("description".into(), Value::String(d.into()));
        }
        if let Some(seconds) = role.max_session_duration() {
            a.insert("max-session-duration".into(), Value::Int(seconds.into()));
        }
        if let Some(doc) = role.assume_role_policy_document() {
            let statements = policy::parse(doc).map_err(|e| {
                ProviderError::Input(format!("the trust policy of role `{name}`: {e}"))
            })?;
            a.insert(
                "trust".into(),
                Value::Map(BTreeMap::from([(
                    "statement".to_string(),
                    Value::List(statements),
                )])),
            );
        }
        a.insert(
            "managed-policies".into(),
            Value::List(attached.into_iter().map(Value::String).collect()),
        );
        a.insert("policy".into(), Value::List(inline));
        let shown = tags
            .iter()
            .filter(|(k, _)| k != REGION_TAG)
            .map(|(k, v)| (k.as_str(), v.as_str()));
        a.insert("tags".into(), tags_value(shown));
        let mut live = Live::new(a, self.owner(tags));
        live.computed
            .insert("arn".into(), Value::String(role.arn().into()));
        live.computed
            .insert("id".into(), Value::String(role.role_id().into()));
        Ok(live)
    }

    /// The tags infra writes on a role: the stack's and ownership tags, and the region.
    fn tags_to_write(&self, attrs: &BTreeMap<String, Value>) -> Vec<Tag> {
        let mut tags = desired_tags(attrs);
        tags.push((REGION_TAG.to_string(), self.region.clone()));
        tags.into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect()
    }

    async fn put_policy(&self, role: &str, inline: &Value) -> Result<(), ProviderError> {
        let (policy_name, doc) = rendered_policy(inline)?;
        self.client
            .put_role_policy()
            .role_name(role)
            .policy_name(policy_name)
            .policy_document(doc)
            .send()
            .await
            .map_err(aws("PutRolePolicy"))?;
        Ok(())
    }

    async fn delete_policy(&self, role: &str, policy_name: &str) -> Result<(), ProviderError> {
        self.client
            .delete_role_policy()
            .role_name(role)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(aws("DeleteRolePolicy"))?;
        Ok(())
    }

    async fn attach(&self, role: &str, arn: &str) -> Result<(), ProviderError> {
        self.client
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(aws("AttachRolePolicy"))?;
        Ok(())
    }

    async fn detach(&self, role: &str, arn: &str) -> Result<(), ProviderError> {
        self.client
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(aws("DetachRolePolicy"))?;
        Ok(())
    }

    /// Converges the inline policies: puts those new or different, deletes those gone.
    async fn converge_inline(
        &self,
        role: &str,
        want: &BTreeMap<String, Value>,
        have: &BTreeMap<String, Value>,
    ) -> Result<(), ProviderError> {
        let puts = policies(want)
            .into_iter()
            .filter(|(name, p)| policies(have).get(name) != Some(p))
            .map(|(_, p)| async move { self.put_policy(role, p).await });
        futures::future::try_join_all(puts).await?;
        let wanted = policies(want);
        let deletes = policies(have)
            .into_keys()
            .filter(|name| !wanted.contains_key(name))
            .map(|name| async move { self.delete_policy(role, name).await });
        futures::future::try_join_all(deletes).await?;
        Ok(())
    }

    /// Converges the managed policy attachments one ARN at a time.
    async fn converge_attached(
        &self,
        role: &str,
        want: &BTreeMap<String, Value>,
        have: &BTreeMap<String, Value>,
    ) -> Result<(), ProviderError> {
        let (want, have) = (arns(want), arns(have));
        let attach = want
            .iter()
            .filter(|a| !have.contains(a))
            .map(|arn| self.attach(role, arn));
        futures::future::try_join_all(attach).await?;
        let detach = have
            .iter()
            .filter(|a| !want.contains(a))
            .map(|arn| self.detach(role, arn));
        futures::future::try_join_all(detach).await?;
        Ok(())
    }

    async fn trust_document(attrs: &BTreeMap<String, Value>) -> Result<String, ProviderError> {
        let statements = attrs
            .get("trust")
            .and_then(Value::as_map)
            .and_then(|t| t.get("statement"))
            .and_then(Value::as_list)
            .unwrap_or_default();
        policy::render(statements, false)
            .map_err(|e| ProviderError::Input(format!("the trust policy: {}", e.0)))
    }
}

/// Ownership of a role by its tags, for a stack of `region`.
fn owner_in(tags: &Pairs, region: &str) -> Owner {
    match owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Owner::Stack { stack, address } => {
            let tagged = tags.iter().find(|(k, _)| k == REGION_TAG).map(|(_, v)| v);
            match tagged {
                Some(r) if r == region => Owner::Stack { stack, address },
                Some(r) => Owner::Stack {
                    stack: format!("{stack}@{r}"),
                    address,
                },
                None => Owner::Stack {
                    stack: format!("{stack}@(no region tag)"),
                    address,
                },
            }
        }
        Owner::Nobody => Owner::Nobody,
    }
}

fn pairs(tags: &[Tag]) -> Pairs {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// The inline policies of a role's attributes, by name.
fn policies(attrs: &BTreeMap<String, Value>) -> BTreeMap<&str, &Value> {
    attrs
        .get("policy")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Some((p.as_map()?.get("name")?.as_str()?, p)))
        .collect()
}

fn arns(attrs: &BTreeMap<String, Value>) -> Vec<&str> {
    attrs
        .get("managed-policies")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// An inline policy's name and its JSON.
fn rendered_policy(inline: &Value) -> Result<(&str, String), ProviderError> {
    let map = inline
        .as_map()
        .ok_or_else(|| ProviderError::Input("an inline policy is not a block".into()))?;
    let name = map.get("name").and_then(Value::as_str).unwrap_or_default();
    let statements = map
        .get("statement")
        .and_then(Value::as_list)
        .unwrap_or_default();
    let doc = policy::render(statements, false)
        .map_err(|e| ProviderError::Input(format!("inline policy `{name}`: {}", e.0)))?;
    Ok((name, doc))
}

/// The attributes a create or update sends: the shorthand expanded, lists in order, and the
/// sizes checked with every value known (a reference counts now).
fn prepared(desired: &Desired) -> Result<BTreeMap<String, Value>, ProviderError> {
    let mut attrs = desired.attrs.clone();
    normalize_role(&mut attrs);
    if let Some(problem) = size_problem(&attrs) {
        return Err(ProviderError::Input(format!(
            "{}: {} ({})",
            desired.address, problem.message, problem.help
        )));
    }
    Ok(attrs)
}

/// One comparable form of a role's attributes (see `model::policy::normalize`).
fn normalize_role(attrs: &mut BTreeMap<String, Value>) {
    if let Some(Value::Map(trust)) = attrs.get_mut("trust") {
        policy::expand_trust(trust);
        if let Some(statements) = trust.get_mut("statement") {
            policy::normalize(statements);
        }
    }
    if let Some(Value::List(inline)) = attrs.get_mut("policy") {
        for p in inline.iter_mut() {
            if let Value::Map(p) = p
                && let Some(statements) = p.get_mut("statement")
            {
                policy::normalize(statements);
            }
        }
        inline.sort_by(|a, b| {
            let name = |v: &Value| v.as_map().and_then(|m| m.get("name")).map(Value::to_string);
            name(a).cmp(&name(b))
        });
    }
    if let Some(Value::List(arns)) = attrs.get_mut("managed-policies") {
        arns.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        arns.dedup();
    }
    if matches!(attrs.get("description"), Some(Value::String(d)) if d.is_empty()) {
        attrs.remove("description");
    }
}

impl ResourceKind for Roles {
    fn kind(&self) -> Kind {
        Kind::IamRole
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        normalize_role(attrs);
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let roles = kit::pages(|marker| async move {
                let page = self
                    .client
                    .list_roles()
                    .max_items(ROLES_PER_PAGE)
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(aws("ListRoles"))?;
                let next = page
                    .is_truncated()
                    .then(|| page.marker().map(str::to_string))
                    .flatten();
                Ok((page.roles().to_vec(), next))
            })
            .await?;
            let candidates = roles
                .iter()
                .filter(|r| !r.path().starts_with(SERVICE_LINKED_PATH));
            let tagged = futures::future::try_join_all(candidates.map(|role| async move {
                let tags = self.tags_of(role.role_name()).await?;
                Ok::<_, ProviderError>(tags.map(|t| (role, t)))
            }))
            .await?;
            let ours = tagged.into_iter().flatten().filter(
                |(_, tags)| matches!(self.owner(tags), Owner::Stack { stack: s, .. } if s == stack),
            );
            futures::future::try_join_all(
                ours.map(|(role, tags)| async move { self.live(role, &tags).await }),
            )
            .await
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            futures::future::try_join_all(desired.iter().map(|d| async move {
                let Some(role) = self.get_role(d.str("name").unwrap_or_default()).await? else {
                    return Ok(None);
                };
                // GetRole carries the role's tags (ListRoles does not).
                let tags = pairs(role.tags());
                Ok(Some(self.live(&role, &tags).await?))
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let attrs = prepared(desired)?;
            let name = desired.str("name").unwrap_or_default();
            let trust = Self::trust_document(&attrs).await?;
            let created = self
                .client
                .create_role()
                .role_name(name)
                .path(desired.str("path").unwrap_or("/"))
                .assume_role_policy_document(trust)
                .set_description(desired.str("description").map(str::to_string))
                .set_max_session_duration(
                    attrs
                        .get("max-session-duration")
                        .and_then(Value::as_int)
                        .map(|s| s as i32),
                )
                .set_tags(Some(self.tags_to_write(&attrs)))
                .send()
                .await
                .map_err(aws("CreateRole"))?;
            let empty = BTreeMap::new();
            self.converge_inline(name, &attrs, &empty).await?;
            self.converge_attached(name, &attrs, &empty).await?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            if let Some(role) = created.role() {
                live.computed
                    .insert("arn".into(), Value::String(role.arn().into()));
                live.computed
                    .insert("id".into(), Value::String(role.role_id().into()));
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
            let attrs = prepared(desired)?;
            let mut have = live.attrs.clone();
            normalize_role(&mut have);
            let name = live.str("name").unwrap_or_default();
            if changed.contains("trust") {
                self.client
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(Self::trust_document(&attrs).await?)
                    .send()
                    .await
                    .map_err(aws("UpdateAssumeRolePolicy"))?;
            }
            if changed.any_of(&["description", "max-session-duration"]) {
                self.client
                    .update_role()
                    .role_name(name)
                    .description(desired.str("description").unwrap_or_default())
                    .set_max_session_duration(
                        attrs
                            .get("max-session-duration")
                            .and_then(Value::as_int)
                            .map(|s| s as i32),
                    )
                    .send()
                    .await
                    .map_err(aws("UpdateRole"))?;
            }
            if changed.contains("policy") {
                self.converge_inline(name, &attrs, &have).await?;
            }
            if changed.contains("managed-policies") {
                self.converge_attached(name, &attrs, &have).await?;
            }
            kit::retag(
                &attrs,
                &have,
                &[REGION_TAG],
                |keys| async {
                    self.client
                        .untag_role()
                        .role_name(name)
                        .set_tag_keys(Some(keys))
                        .send()
                        .await
                        .map_err(aws("UntagRole"))?;
                    Ok(())
                },
                |set| async {
                    let mut tags: Vec<Tag> = set
                        .into_iter()
                        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                        .collect();
                    // A role adopted, or tagged by hand, gets its region too.
                    tags.extend(
                        Tag::builder()
                            .key(REGION_TAG)
                            .value(self.region.clone())
                            .build()
                            .ok(),
                    );
                    self.client
                        .tag_role()
                        .role_name(name)
                        .set_tags(Some(tags))
                        .send()
                        .await
                        .map_err(aws("TagRole"))?;
                    Ok(())
                },
            )
            .await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let name = live.str("name").unwrap_or_default();
            // What AWS holds now, not what the plan saw: a policy attached since would keep
            // DeleteRole from succeeding.
            let (attached, inline) =
                futures::future::try_join(self.attached(name), self.inline(name)).await?;
            futures::future::try_join_all(attached.iter().map(|arn| self.detach(name, arn)))
                .await?;
            let names: Vec<&str> = inline
                .iter()
                .filter_map(|p| p.as_map()?.get("name")?.as_str())
                .collect();
            futures::future::try_join_all(names.iter().map(|p| self.delete_policy(name, p)))
                .await?;
            self.client
                .delete_role()
                .role_name(name)
                .send()
                .await
                .map_err(aws("DeleteRole"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let name = live.str("name").unwrap_or_default();
            Ok(self.tags_of(name).await?.map(|tags| self.owner(&tags)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Pairs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// IAM is global: the same stack name in another region is another owner.
    #[test]
    fn a_role_is_ours_only_when_tagged_with_our_region() {
        let ours = tags(&[
            ("infra:stack", "shop"),
            ("infra:address", "iam-role.task"),
            (REGION_TAG, "eu-west-1"),
        ]);
        assert_eq!(
            owner_in(&ours, "eu-west-1"),
            Owner::Stack {
                stack: "shop".into(),
                address: "iam-role.task".into()
            }
        );
        assert_eq!(
            owner_in(&ours, "us-east-1"),
            Owner::Stack {
                stack: "shop@eu-west-1".into(),
                address: "iam-role.task".into()
            }
        );
        let untagged_region = tags(&[("infra:stack", "shop")]);
        assert!(matches!(
            owner_in(&untagged_region, "us-east-1"),
            Owner::Stack { stack, .. } if stack != "shop"
        ));
        assert_eq!(
            owner_in(&tags(&[("team", "x")]), "us-east-1"),
            Owner::Nobody
        );
    }

    /// What the stack writes and what IAM returns (URL-encoded, single values as strings,
    /// lists in another order, the trust shorthand spelled out) normalise to the same.
    #[test]
    fn a_written_role_and_the_role_iam_returns_normalise_alike() {
        let s = |v: &str| Value::String(v.into());
        let list = |items: &[&str]| Value::List(items.iter().map(|i| s(i)).collect());
        let statement = BTreeMap::from([
            ("effect".to_string(), s("Allow")),
            (
                "actions".to_string(),
                list(&[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                ]),
            ),
            (
                "resources".to_string(),
                list(&["arn:aws:secretsmanager:::secret:db"]),
            ),
        ]);
        let mut written = BTreeMap::from([
            (
                "trust".to_string(),
                Value::Map(BTreeMap::from([("service".to_string(), s("ecs-tasks"))])),
            ),
            (
                "policy".to_string(),
                Value::List(vec![Value::Map(BTreeMap::from([
                    ("name".to_string(), s("read-secrets")),
                    (
                        "statement".to_string(),
                        Value::List(vec![Value::Map(statement)]),
                    ),
                ]))]),
            ),
            ("managed-policies".to_string(), list(&["arn:b", "arn:a"])),
            ("description".to_string(), s("")),
        ]);
        let trust = policy::parse(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
        )
        .expect("trust parses");
        let inline = policy::parse(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], "Resource": "arn:aws:secretsmanager:::secret:db"}]}"#,
        )
        .expect("policy parses");
        let mut live = BTreeMap::from([
            (
                "trust".to_string(),
                Value::Map(BTreeMap::from([(
                    "statement".to_string(),
                    Value::List(trust),
                )])),
            ),
            (
                "policy".to_string(),
                Value::List(vec![Value::Map(BTreeMap::from([
                    ("name".to_string(), s("read-secrets")),
                    ("statement".to_string(), Value::List(inline)),
                ]))]),
            ),
            ("managed-policies".to_string(), list(&["arn:a", "arn:b"])),
        ]);
        normalize_role(&mut written);
        normalize_role(&mut live);
        assert_eq!(written, live);
    }
}
