//! The preflight's reads: images through ECR (`BatchGetImage`, `DescribeImages`) and secrets
//! through `DescribeSecret` (never their values).

use aws_sdk_ecr::types::ImageIdentifier;

use super::error::aws;
use crate::providers::preflight::{ImageId, SecretState, StoredImage};
use crate::providers::{BoxFuture, ProviderError};

/// ECR's limit of image ids per `BatchGetImage` and `DescribeImages` call.
const IDS_PER_CALL: usize = 100;

/// The annotation in which an image lists the environment names it needs.
pub const REQUIRED_ENV_ANNOTATION: &str = "dev.infra.required-env";

pub struct Preflight {
    ecr: aws_sdk_ecr::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

impl Preflight {
    pub fn new(ecr: aws_sdk_ecr::Client, secrets: aws_sdk_secretsmanager::Client) -> Self {
        Preflight { ecr, secrets }
    }
}

fn identifier(id: &ImageId) -> ImageIdentifier {
    match id {
        ImageId::Tag(t) => ImageIdentifier::builder().image_tag(t).build(),
        ImageId::Digest(d) => ImageIdentifier::builder().image_digest(d).build(),
    }
}

fn repository_missing(repository: &str, registry: &str) -> ProviderError {
    ProviderError::NotFound(format!(
        "ECR repository `{repository}` does not exist in account {registry}"
    ))
}

/// The names a manifest's `dev.infra.required-env` annotation lists (OCI manifests and
/// indexes carry `annotations` at the top level); nothing when it has none or is not JSON.
pub fn required_env(manifest: &str) -> Vec<String> {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(manifest) else {
        return Vec::new();
    };
    json.get("annotations")
        .and_then(|a| a.get(REQUIRED_ENV_ANNOTATION))
        .and_then(serde_json::Value::as_str)
        .map(|list| {
            list.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl crate::providers::preflight::Preflight for Preflight {
    fn images<'a>(
        &'a self,
        registry: &'a str,
        repository: &'a str,
        ids: &'a [ImageId],
    ) -> BoxFuture<'a, Result<Vec<Option<StoredImage>>, ProviderError>> {
        Box::pin(async move {
            let calls = ids.chunks(IDS_PER_CALL).map(|chunk| {
                self.ecr
                    .batch_get_image()
                    .registry_id(registry)
                    .repository_name(repository)
                    .set_image_ids(Some(chunk.iter().map(identifier).collect()))
                    .send()
            });
            let mut found: Vec<(ImageId, StoredImage)> = Vec::new();
            for answer in futures::future::join_all(calls).await {
                let answer = match answer {
                    Ok(a) => a,
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_repository_not_found_exception()) =>
                    {
                        return Err(repository_missing(repository, registry));
                    }
                    Err(e) => return Err(aws("BatchGetImage")(e)),
                };
                for image in answer.images() {
                    let Some(id) = image.image_id() else { continue };
                    let Some(digest) = id.image_digest() else {
                        continue;
                    };
                    let stored = StoredImage {
                        digest: digest.to_string(),
                        required_env: image.image_manifest().map(required_env).unwrap_or_default(),
                    };
                    if let Some(tag) = id.image_tag() {
                        found.push((ImageId::Tag(tag.to_string()), stored.clone()));
                    }
                    found.push((ImageId::Digest(digest.to_string()), stored));
                }
            }
            Ok(ids
                .iter()
                .map(|id| found.iter().find(|(f, _)| f == id).map(|(_, s)| s.clone()))
                .collect())
        })
    }

    fn pushed_at<'a>(
        &'a self,
        registry: &'a str,
        repository: &'a str,
        digests: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, i64)>, ProviderError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            // One digest the repository no longer holds fails the whole call: ask one by one
            // only then.
            for chunk in digests.chunks(IDS_PER_CALL) {
                let ids: Vec<ImageIdentifier> = chunk
                    .iter()
                    .map(|d| ImageIdentifier::builder().image_digest(d).build())
                    .collect();
                let answer = self
                    .ecr
                    .describe_images()
                    .registry_id(registry)
                    .repository_name(repository)
                    .set_image_ids(Some(ids))
                    .send()
                    .await;
                let details = match answer {
                    Ok(a) => a.image_details().to_vec(),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_image_not_found_exception())
                            && chunk.len() > 1 =>
                    {
                        let mut details = Vec::new();
                        for d in chunk {
                            if let Ok(a) = self
                                .ecr
                                .describe_images()
                                .registry_id(registry)
                                .repository_name(repository)
                                .image_ids(ImageIdentifier::builder().image_digest(d).build())
                                .send()
                                .await
                            {
                                details.extend(a.image_details().iter().cloned());
                            }
                        }
                        details
                    }
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_image_not_found_exception()) =>
                    {
                        Vec::new()
                    }
                    Err(e) => return Err(aws("DescribeImages")(e)),
                };
                for d in details {
                    if let (Some(digest), Some(at)) = (d.image_digest(), d.image_pushed_at()) {
                        out.push((digest.to_string(), at.secs()));
                    }
                }
            }
            Ok(out)
        })
    }

    fn secret<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<SecretState, ProviderError>> {
        Box::pin(async move {
            let described = match self.secrets.describe_secret().secret_id(id).send().await {
                Ok(d) => d,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    return Ok(SecretState::Missing);
                }
                Err(e) => return Err(aws("DescribeSecret")(e)),
            };
            if described.deleted_date().is_some() {
                return Ok(SecretState::ScheduledForDeletion);
            }
            let current = described.version_ids_to_stages().is_some_and(|versions| {
                versions
                    .values()
                    .any(|stages| stages.iter().any(|s| s == "AWSCURRENT"))
            });
            Ok(if current {
                SecretState::Current
            } else {
                SecretState::NoCurrentVersion
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::required_env;

    #[test]
    fn the_required_env_annotation_is_a_list_of_names() {
        let manifest = r#"{"schemaVersion":2,"annotations":{"dev.infra.required-env":"DB_URL, AI_MAX_TOKENS_IN\nLOG_LEVEL"}}"#;
        assert_eq!(
            required_env(manifest),
            ["DB_URL", "AI_MAX_TOKENS_IN", "LOG_LEVEL"]
        );
        assert!(required_env(r#"{"schemaVersion":2}"#).is_empty());
        assert!(required_env("not json").is_empty());
    }
}
