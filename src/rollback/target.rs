//! Whether an older revision of a service is where a rollback goes: it must be the stack's own
//! (its ownership tags name the stack and the address of the revision running now: a family is
//! a name another stack can register under too), it must have served when infra deployed it
//! (`infra:outcome` = `verified`), and still be what it was then: its ECR
//! images must exist by digest, each tag it names must still name that digest, and the secrets
//! its containers read must still be readable.

use crate::preflight::{EcrImage, secret_arn};
use crate::providers::preflight::{ImageId, Preflight, SecretState};
use crate::providers::revisions::{Outcome, Revision, RevisionOwner};
use crate::providers::{ProviderError, ProviderError::NotFound};

/// What a rollback makes of one older revision, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The revision to go back to.
    Target,
    /// Not a candidate (why): the rollback looks at the next older one.
    Skip(String),
    /// The candidate, but it cannot run again (why): the rollback stops there.
    Refuse(String),
}

/// Judges `revision` (older than the one running), owned by `owner` to be a candidate, asking
/// ECR and Secrets Manager in `region`.
pub async fn judge(
    revision: &Revision,
    owner: &RevisionOwner,
    preflight: &dyn Preflight,
    region: &str,
) -> Verdict {
    match &revision.owner {
        Some(o) if o == owner => {}
        Some(other) => {
            return Verdict::Skip(format!("it was registered by {other}, not by {owner}"));
        }
        None => return Verdict::Skip("it was not registered by infra (no ownership tags)".into()),
    }
    match revision.outcome {
        Some(Outcome::Verified) => {}
        Some(Outcome::Failed) => return Verdict::Skip("its deploy did not serve".into()),
        None => {
            return Verdict::Skip(
                "no outcome recorded (deployed without a wait, or not by infra)".into(),
            );
        }
    }
    if !revision.active {
        return Verdict::Skip("it is deregistered".into());
    }
    for c in &revision.containers {
        if let Some(verdict) = image(&c.name, &c.image, preflight, region).await {
            return verdict;
        }
    }
    for c in &revision.containers {
        for value_from in &c.secrets {
            if let Some(why) = secret(value_from, preflight, region).await {
                return Verdict::Refuse(format!("container `{}` {why}", c.name));
            }
        }
    }
    Verdict::Target
}

/// What stops a container image from running again, if anything. Images outside ECR or in
/// another region are not checked (the plan warns about the first).
async fn image(
    container: &str,
    image: &str,
    preflight: &dyn Preflight,
    region: &str,
) -> Option<Verdict> {
    let parsed = EcrImage::parse(image)?;
    if parsed.region != region {
        return None;
    }
    let Some(digest) = &parsed.digest else {
        return Some(Verdict::Skip(format!(
            "the image of container `{container}` is not pinned to a digest: what its tag names \
             now may not be what served"
        )));
    };
    let mut ids = vec![ImageId::Digest(digest.clone())];
    if let Some(tag) = &parsed.tag {
        ids.push(ImageId::Tag(tag.clone()));
    }
    let found = match preflight
        .images(&parsed.registry, &parsed.repository, &ids)
        .await
    {
        Ok(found) => found,
        Err(NotFound(why)) => {
            return Some(Verdict::Refuse(format!(
                "the image of container `{container}` is gone: {why}"
            )));
        }
        Err(e) => {
            return Some(Verdict::Refuse(format!(
                "the image of container `{container}` cannot be checked: {}",
                ProviderError::explained(&e)
            )));
        }
    };
    let short = short_digest(digest);
    if !matches!(found.first(), Some(Some(_))) {
        return Some(Verdict::Refuse(format!(
            "the image of container `{container}` (`{}@{short}`) no longer exists in ECR",
            parsed.repository
        )));
    }
    if let Some(tag) = &parsed.tag {
        match found.get(1) {
            Some(Some(now)) if now.digest == *digest => {}
            Some(Some(now)) => {
                return Some(Verdict::Skip(format!(
                    "tag `{}:{tag}` of container `{container}` moved since (from {short} to {})",
                    parsed.repository,
                    short_digest(&now.digest)
                )));
            }
            _ => {
                return Some(Verdict::Skip(format!(
                    "tag `{}:{tag}` of container `{container}` no longer exists",
                    parsed.repository
                )));
            }
        }
    }
    None
}

/// Why a secret a container reads stops its tasks, if it does.
async fn secret(value_from: &str, preflight: &dyn Preflight, region: &str) -> Option<String> {
    let arn = secret_arn(value_from)?;
    if arn.split(':').nth(3) != Some(region) {
        return None;
    }
    let what = match preflight.secret(arn).await {
        Ok(SecretState::Current) => return None,
        Ok(SecretState::Missing) => "does not exist".to_string(),
        Ok(SecretState::ScheduledForDeletion) => "is scheduled for deletion".to_string(),
        Ok(SecretState::NoCurrentVersion) => "has no current value".to_string(),
        Err(e) => format!("cannot be checked ({})", e.explained()),
    };
    Some(format!("reads secret `{arn}`, which {what}"))
}

fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", &hex[..hex.len().min(12)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::BoxFuture;
    use crate::providers::preflight::StoredImage;
    use crate::providers::revisions::RevisionContainer;

    const REPO: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop";
    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// ECR holding `images` (tag or digest → digest); secrets all current but `gone`.
    struct Registry {
        images: Vec<(ImageId, &'static str)>,
        gone: &'static str,
    }

    impl Preflight for Registry {
        fn images<'a>(
            &'a self,
            _registry: &'a str,
            _repository: &'a str,
            ids: &'a [ImageId],
        ) -> BoxFuture<'a, Result<Vec<Option<StoredImage>>, ProviderError>> {
            Box::pin(async move {
                Ok(ids
                    .iter()
                    .map(|id| {
                        self.images
                            .iter()
                            .find(|(i, _)| i == id)
                            .map(|(_, d)| StoredImage {
                                digest: d.to_string(),
                                required_env: Vec::new(),
                            })
                    })
                    .collect())
            })
        }

        fn pushed_at<'a>(
            &'a self,
            _registry: &'a str,
            _repository: &'a str,
            _digests: &'a [String],
        ) -> BoxFuture<'a, Result<Vec<(String, i64)>, ProviderError>> {
            Box::pin(async { Ok(Vec::new()) })
        }

        fn secret<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<SecretState, ProviderError>> {
            Box::pin(async move {
                Ok(if id.ends_with(self.gone) {
                    SecretState::ScheduledForDeletion
                } else {
                    SecretState::Current
                })
            })
        }
    }

    fn revision(outcome: Option<Outcome>, image: &str, secret: &str) -> Revision {
        Revision {
            arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop:2".into(),
            name: "shop:2".into(),
            number: 2,
            outcome,
            active: true,
            containers: vec![RevisionContainer {
                name: "web".into(),
                image: image.into(),
                secrets: vec![format!(
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret}"
                )],
            }],
            owner: Some(owner("shop", "task-definition.web")),
        }
    }

    fn owner(stack: &str, address: &str) -> RevisionOwner {
        RevisionOwner {
            stack: stack.into(),
            address: address.into(),
        }
    }

    fn judged(r: &Revision, registry: &Registry) -> Verdict {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(judge(
                r,
                &owner("shop", "task-definition.web"),
                registry,
                "us-east-1",
            ))
    }

    #[test]
    fn a_revision_of_the_family_registered_by_someone_else_is_skipped() {
        let registry = Registry {
            images: vec![],
            gone: "old-db",
        };
        let verified = || revision(Some(Outcome::Verified), "nginx:1.27.0", "db");
        for (who, expect) in [
            (
                Some(owner("shop-staging", "task-definition.web")),
                "stack `shop-staging`",
            ),
            (
                Some(owner("shop", "task-definition.worker")),
                "`task-definition.worker`",
            ),
            (None, "not registered by infra"),
        ] {
            let r = Revision {
                owner: who,
                ..verified()
            };
            let v = judged(&r, &registry);
            assert!(
                matches!(&v, Verdict::Skip(why) if why.contains(expect)),
                "{v:?}"
            );
        }
        assert_eq!(judged(&verified(), &registry), Verdict::Target);
    }

    #[test]
    fn only_a_verified_revision_whose_image_and_tag_are_unchanged_is_the_target() {
        let registry = Registry {
            images: vec![
                (ImageId::Digest(A.into()), A),
                (ImageId::Tag("v2".into()), A),
                (ImageId::Digest(B.into()), B),
                (ImageId::Tag("v1".into()), A),
            ],
            gone: "old-db",
        };
        let pinned = format!("{REPO}:v2@{A}");
        let verified = Some(Outcome::Verified);
        assert_eq!(
            judged(&revision(verified, &pinned, "db"), &registry),
            Verdict::Target
        );
        assert!(matches!(
            judged(&revision(Some(Outcome::Failed), &pinned, "db"), &registry),
            Verdict::Skip(_)
        ));
        assert!(matches!(
            judged(&revision(None, &pinned, "db"), &registry),
            Verdict::Skip(_)
        ));
        // `v1` names A now, not B it ran.
        let moved = judged(
            &revision(verified, &format!("{REPO}:v1@{B}"), "db"),
            &registry,
        );
        assert!(
            matches!(&moved, Verdict::Skip(why) if why.contains("moved since")),
            "{moved:?}"
        );
        let unpinned = judged(&revision(verified, &format!("{REPO}:v2"), "db"), &registry);
        assert!(
            matches!(&unpinned, Verdict::Skip(why) if why.contains("not pinned")),
            "{unpinned:?}"
        );
        // Outside ECR: not checked.
        assert_eq!(
            judged(&revision(verified, "nginx:1.27.0", "db"), &registry),
            Verdict::Target
        );
    }

    #[test]
    fn a_deleted_image_or_a_secret_going_away_refuses_the_target() {
        let registry = Registry {
            images: vec![(ImageId::Tag("v2".into()), B)],
            gone: "old-db",
        };
        let deleted = judged(
            &revision(Some(Outcome::Verified), &format!("{REPO}:v2@{A}"), "db"),
            &registry,
        );
        assert!(
            matches!(&deleted, Verdict::Refuse(why) if why.contains("no longer exists in ECR")),
            "{deleted:?}"
        );
        let secret = judged(
            &revision(Some(Outcome::Verified), "nginx:1.27.0", "old-db"),
            &registry,
        );
        assert!(
            matches!(&secret, Verdict::Refuse(why) if why.contains("scheduled for deletion")),
            "{secret:?}"
        );
    }
}
