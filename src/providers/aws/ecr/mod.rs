//! ECR repositories: settings from DescribeRepositories, ownership from the tag index where it
//! covers ECR (AWS's does) and from ListTagsForResource otherwise, the lifecycle policy from
//! GetLifecyclePolicy (`lifecycle.rs` turns it into the stack's
//! block and back). The image look-ups of the preflight are `aws/preflight.rs`, not this.
//!
//! `force-delete` is the stack's word, not ECR's: it is kept on the repository as the tag
//! [`FORCE_DELETE_TAG`], so that a destroy of a repository that left the stack still knows it.
//! Without it, a repository that holds images is never deleted: the delete is refused with
//! the number of images it holds.

mod lifecycle;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    Repository, Tag,
};

use super::error::aws;
use super::kit;
use super::tagging::{OwnedIndex, Tagged};
use crate::model::{Kind, Value};
use crate::providers::{
    BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, desired_tags,
    owner_from_tags, tags_value,
};

/// The tag (value `true`) that records `force-delete #true` on the repository.
pub const FORCE_DELETE_TAG: &str = "infra:force-delete";

pub struct Repositories {
    client: Client,
    owned: Arc<OwnedIndex>,
}

impl Repositories {
    pub fn new(client: Client, owned: Arc<OwnedIndex>) -> Self {
        Repositories { client, owned }
    }

    /// Every repository of the registry (1000 per page).
    async fn all(&self) -> Result<Vec<Repository>, ProviderError> {
        kit::pages(|token| async move {
            let page = self
                .client
                .describe_repositories()
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("DescribeRepositories"))?;
            Ok((
                page.repositories().to_vec(),
                page.next_token().map(str::to_string),
            ))
        })
        .await
    }

    /// One repository by name; `None` when there is none.
    async fn one(&self, name: &str) -> Result<Option<Repository>, ProviderError> {
        match self
            .client
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .map_err(aws("DescribeRepositories"))
        {
            Ok(out) => Ok(out.repositories().first().cloned()),
            Err(e) if e.code() == Some("RepositoryNotFoundException") => Ok(None),
            Err(e) => Err(e),
        }
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
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }

    async fn policy_of(&self, name: &str) -> Result<Option<String>, ProviderError> {
        match self
            .client
            .get_lifecycle_policy()
            .repository_name(name)
            .send()
            .await
            .map_err(aws("GetLifecyclePolicy"))
        {
            Ok(out) => Ok(out.lifecycle_policy_text().map(str::to_string)),
            Err(e) if e.code() == Some("LifecyclePolicyNotFoundException") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A repository with its tags and, when `with_policy`, its lifecycle policy.
    async fn live(&self, repo: &Repository, with_policy: bool) -> Result<Live, ProviderError> {
        let arn = repo.repository_arn().unwrap_or_default();
        let tags = self.tags_of(arn).await?;
        let policy = match (with_policy, repo.repository_name()) {
            (true, Some(name)) => self.policy_of(name).await?,
            _ => None,
        };
        Ok(live_repository(repo, &tags, policy.as_deref()))
    }

    /// How many images a repository holds.
    async fn image_count(&self, name: &str) -> Result<usize, ProviderError> {
        let ids = kit::pages(|token| async move {
            let page = self
                .client
                .list_images()
                .repository_name(name)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("ListImages"))?;
            Ok((
                page.image_ids().to_vec(),
                page.next_token().map(str::to_string),
            ))
        })
        .await?;
        let mut digests: Vec<&str> = ids.iter().filter_map(|i| i.image_digest()).collect();
        digests.sort_unstable();
        digests.dedup();
        Ok(digests.len())
    }

    async fn put_policy(&self, name: &str, desired: &Desired) -> Result<(), ProviderError> {
        match desired
            .attrs
            .get("lifecycle-policy")
            .and_then(Value::as_map)
        {
            Some(block) => {
                self.client
                    .put_lifecycle_policy()
                    .repository_name(name)
                    .lifecycle_policy_text(lifecycle::render(block))
                    .send()
                    .await
                    .map_err(aws("PutLifecyclePolicy"))?;
            }
            None => match self
                .client
                .delete_lifecycle_policy()
                .repository_name(name)
                .send()
                .await
                .map_err(aws("DeleteLifecyclePolicy"))
            {
                Err(e) if e.code() != Some("LifecyclePolicyNotFoundException") => return Err(e),
                _ => {}
            },
        }
        Ok(())
    }

    async fn tag(&self, arn: &str, pairs: Vec<(String, String)>) -> Result<(), ProviderError> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sdk_tags(pairs)))
            .send()
            .await
            .map_err(aws("TagResource"))?;
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: Vec<String>) -> Result<(), ProviderError> {
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(aws("UntagResource"))?;
        Ok(())
    }
}

fn sdk_tags(pairs: Vec<(String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

/// The tags a repository is created with: the stack's, and the force-delete mark when set.
fn tags_to_write(desired: &Desired) -> Vec<(String, String)> {
    let mut pairs = desired_tags(&desired.attrs);
    if force_delete(&desired.attrs) {
        pairs.push((FORCE_DELETE_TAG.into(), "true".into()));
    }
    pairs
}

/// The repositories the tag index names (by the resource part of their ARN,
/// `repository/<name>`), with the tags it gave; `None` when it names none, for the caller to
/// read every repository's tags instead. A name the index gives that no longer exists is left
/// out.
fn indexed_repositories<'r>(
    all: &'r [Repository],
    indexed: &[(String, Tagged)],
) -> Option<Vec<(&'r Repository, BTreeMap<String, String>)>> {
    if indexed.is_empty() {
        return None;
    }
    Some(
        indexed
            .iter()
            .filter_map(|(name, tagged)| {
                let repo = all
                    .iter()
                    .find(|r| r.repository_name() == Some(name.as_str()))?;
                Some((repo, tagged.tags.clone()))
            })
            .collect(),
    )
}

fn force_delete(attrs: &BTreeMap<String, Value>) -> bool {
    attrs.get("force-delete") == Some(&Value::Bool(true))
}

fn live_repository(
    repo: &Repository,
    tags: &BTreeMap<String, String>,
    policy: Option<&str>,
) -> Live {
    let mut a = BTreeMap::new();
    a.insert(
        "name".into(),
        Value::String(repo.repository_name().unwrap_or_default().into()),
    );
    let mutability = repo
        .image_tag_mutability()
        .map_or("MUTABLE", ImageTagMutability::as_str);
    a.insert("tag-mutability".into(), Value::String(mutability.into()));
    let scan = repo
        .image_scanning_configuration()
        .is_some_and(ImageScanningConfiguration::scan_on_push);
    a.insert("scan-on-push".into(), Value::Bool(scan));
    let encryption = repo
        .encryption_configuration()
        .map_or("AES256", |e| e.encryption_type().as_str());
    a.insert("encryption".into(), Value::String(encryption.into()));
    if let Some(text) = policy {
        a.insert("lifecycle-policy".into(), lifecycle::parse(text));
    }
    a.insert(
        "force-delete".into(),
        Value::Bool(tags.get(FORCE_DELETE_TAG).map(String::as_str) == Some("true")),
    );
    let pairs = tags
        .iter()
        .filter(|(k, _)| k.as_str() != FORCE_DELETE_TAG)
        .map(|(k, v)| (k.as_str(), v.as_str()));
    a.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(a, owner_from_tags(pairs));
    if let Some(arn) = repo.repository_arn() {
        live.computed
            .insert("arn".into(), Value::String(arn.into()));
    }
    if let Some(uri) = repo.repository_uri() {
        live.computed
            .insert("uri".into(), Value::String(uri.into()));
    }
    live
}

impl ResourceKind for Repositories {
    fn kind(&self) -> Kind {
        Kind::EcrRepository
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        if let Some(block) = attrs.get_mut("lifecycle-policy") {
            lifecycle::normalize(block);
        }
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            // ECR cannot list by tag. Where the tag index covers ECR (AWS's does), it names
            // the stack's repositories with their tags; where it names none (an index that
            // leaves ECR out, as the emulator's does, or a stack that owns none yet), every
            // repository's tags are read, all at once. Either way the policy is read only for
            // the stack's own, and a delete asks the repository's tags again first.
            let indexed = async {
                // Whether it holds any ECR is known already (`when_used.rs` asked), so an index
                // without ECR costs no call here.
                if self.owned.holds("ecr").await? {
                    self.owned.of("ecr", "repository/").await
                } else {
                    Ok(Vec::new())
                }
            };
            let (all, indexed) = futures::future::try_join(self.all(), indexed).await?;
            let tagged = match indexed_repositories(&all, &indexed) {
                Some(tagged) => tagged,
                None => {
                    futures::future::try_join_all(all.iter().map(|repo| async move {
                        let arn = repo.repository_arn().unwrap_or_default();
                        Ok::<_, ProviderError>((repo, self.tags_of(arn).await?))
                    }))
                    .await?
                }
            };
            let found =
                futures::future::try_join_all(tagged.into_iter().map(|(repo, tags)| async move {
                    let ours = matches!(
                        owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                        Owner::Stack { stack: ref s, .. } if s == stack
                    );
                    if !ours {
                        return Ok(None);
                    }
                    let name = repo.repository_name().unwrap_or_default();
                    let policy = self.policy_of(name).await?;
                    Ok::<_, ProviderError>(Some(live_repository(repo, &tags, policy.as_deref())))
                }))
                .await?;
            let owned: Vec<Live> = found.into_iter().flatten().collect();
            Ok(owned)
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            // One listing answers for every name (DescribeRepositories by names fails whole
            // when one of them does not exist).
            let all = self.all().await?;
            futures::future::try_join_all(desired.iter().map(|d| {
                let found = all.iter().find(|r| r.repository_name() == d.str("name"));
                async move {
                    match found {
                        Some(repo) => Ok(Some(self.live(repo, true).await?)),
                        None => Ok(None),
                    }
                }
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let name = desired.str("name").unwrap_or_default();
            let encryption = EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::from(
                    desired.str("encryption").unwrap_or("AES256"),
                ))
                .build()
                .map_err(|e| ProviderError::Input(format!("encryption: {e}")))?;
            let out = self
                .client
                .create_repository()
                .repository_name(name)
                .image_tag_mutability(ImageTagMutability::from(
                    desired.str("tag-mutability").unwrap_or("MUTABLE"),
                ))
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(desired.attrs.get("scan-on-push") == Some(&Value::Bool(true)))
                        .build(),
                )
                .encryption_configuration(encryption)
                .set_tags(Some(sdk_tags(tags_to_write(desired))))
                .send()
                .await
                .map_err(aws("CreateRepository"))?;
            if desired.attrs.contains_key("lifecycle-policy") {
                self.put_policy(name, desired).await?;
            }
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            if let Some(repo) = out.repository() {
                for (key, value) in [
                    ("arn", repo.repository_arn()),
                    ("uri", repo.repository_uri()),
                ] {
                    if let Some(value) = value {
                        live.computed
                            .insert(key.into(), Value::String(value.into()));
                    }
                }
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
            let name = desired.str("name").unwrap_or_default();
            if changed.contains("tag-mutability") {
                self.client
                    .put_image_tag_mutability()
                    .repository_name(name)
                    .image_tag_mutability(ImageTagMutability::from(
                        desired.str("tag-mutability").unwrap_or("MUTABLE"),
                    ))
                    .send()
                    .await
                    .map_err(aws("PutImageTagMutability"))?;
            }
            if changed.contains("scan-on-push") {
                self.client
                    .put_image_scanning_configuration()
                    .repository_name(name)
                    .image_scanning_configuration(
                        ImageScanningConfiguration::builder()
                            .scan_on_push(
                                desired.attrs.get("scan-on-push") == Some(&Value::Bool(true)),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(aws("PutImageScanningConfiguration"))?;
            }
            if changed.contains("lifecycle-policy") {
                self.put_policy(name, desired).await?;
            }
            let arn = kit::live_arn(live, "ECR repository")?;
            if changed.contains("force-delete")
                && force_delete(&desired.attrs) != force_delete(&live.attrs)
            {
                if force_delete(&desired.attrs) {
                    self.tag(arn, vec![(FORCE_DELETE_TAG.into(), "true".into())])
                        .await?;
                } else {
                    self.untag(arn, vec![FORCE_DELETE_TAG.into()]).await?;
                }
            }
            kit::retag(
                &desired.attrs,
                &live.attrs,
                &[FORCE_DELETE_TAG],
                |keys| self.untag(arn, keys),
                |pairs| self.tag(arn, pairs),
            )
            .await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let name = live.str("name").unwrap_or_default();
            let force = force_delete(&live.attrs);
            if !force {
                let images = self.image_count(name).await?;
                if images > 0 {
                    return Err(ProviderError::Refused(format!(
                        "the ECR repository `{name}` holds {images} image{}: infra does not \
                         delete images; delete them first, or set `force-delete #true` on the \
                         repository and apply before destroying it",
                        if images == 1 { "" } else { "s" }
                    )));
                }
            }
            self.client
                .delete_repository()
                .repository_name(name)
                .force(force)
                .send()
                .await
                .map_err(aws("DeleteRepository"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let Some(repo) = self.one(live.str("name").unwrap_or_default()).await? else {
                return Ok(None);
            };
            let tags = self
                .tags_of(repo.repository_arn().unwrap_or_default())
                .await?;
            Ok(Some(owner_from_tags(
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str) -> Repository {
        Repository::builder()
            .repository_name(name)
            .repository_arn(format!(
                "arn:aws:ecr:us-east-1:123456789012:repository/{name}"
            ))
            .build()
    }

    fn indexed(name: &str, stack: &str) -> (String, Tagged) {
        let tags = BTreeMap::from([
            ("infra:stack".to_string(), stack.to_string()),
            (
                "infra:address".to_string(),
                format!("ecr-repository.{name}"),
            ),
        ]);
        (
            name.to_string(),
            Tagged {
                arn: format!("arn:aws:ecr:us-east-1:123456789012:repository/{name}"),
                tags,
            },
        )
    }

    #[test]
    fn an_index_that_names_repositories_answers_for_ownership_without_reading_tags() {
        let all = [repo("shop/api"), repo("shop/worker"), repo("other-team")];
        let found =
            indexed_repositories(&all, &[indexed("shop/api", "shop")]).expect("the index answers");
        let names: Vec<_> = found
            .iter()
            .map(|(r, tags)| (r.repository_name(), tags.get("infra:stack").cloned()))
            .collect();
        assert_eq!(names, [(Some("shop/api"), Some("shop".to_string()))]);
    }

    #[test]
    fn an_index_that_names_none_leaves_the_tags_to_be_read() {
        let all = [repo("shop/api")];
        assert!(indexed_repositories(&all, &[]).is_none());
    }

    #[test]
    fn a_repository_the_index_remembers_but_that_is_gone_is_left_out() {
        let all = [repo("shop/api")];
        let found =
            indexed_repositories(&all, &[indexed("shop/old", "shop")]).expect("the index answers");
        assert!(found.is_empty());
    }
}
