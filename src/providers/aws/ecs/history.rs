//! A service's deploy history, kept on its task definition revisions: the outcome infra tags on
//! each revision once the wait after its deploy ends (`infra:outcome`, with who and when), and the
//! reads and the
//! one write `infra rollback` makes.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Tag, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus};

use super::super::error::aws;
use super::task_definition::{active_revisions, family_and_revision};
use crate::providers::revisions::{
    DEPLOYED_AT_TAG, DEPLOYED_BY_TAG, OUTCOME_TAG, Outcome, Revision, RevisionContainer,
    RevisionOwner, deployer,
};
use crate::providers::{ADDRESS_TAG, ProviderError, STACK_TAG};

/// Tags a revision with how the wait after its deploy ended (one TagResource).
pub(super) async fn record_outcome(
    client: &Client,
    arn: &str,
    outcome: Outcome,
) -> Result<(), ProviderError> {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    let tag = |k: &str, v: String| Tag::builder().key(k).value(v).build();
    client
        .tag_resource()
        .resource_arn(arn)
        .tags(tag(OUTCOME_TAG, outcome.as_str().to_string()))
        .tags(tag(DEPLOYED_BY_TAG, deployer()))
        .tags(tag(DEPLOYED_AT_TAG, now))
        .send()
        .await
        .map_err(aws("TagResource"))?;
    Ok(())
}

/// The reads and the write of `infra rollback`.
pub struct History {
    client: Client,
}

impl History {
    pub fn new(client: Client) -> Self {
        History { client }
    }

    /// One revision (by ARN or `family:revision`) with its tags.
    pub async fn revision(&self, id: &str) -> Result<Revision, ProviderError> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(id)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(aws("DescribeTaskDefinition"))?;
        let td = out.task_definition().ok_or_else(|| {
            ProviderError::NotFound(format!("task definition `{id}` was not found"))
        })?;
        let tag = |key: &str| {
            out.tags()
                .iter()
                .find(|t| t.key() == Some(key))
                .and_then(|t| t.value())
                .map(str::to_string)
        };
        let outcome = tag(OUTCOME_TAG).as_deref().and_then(Outcome::parse);
        let owner = match (tag(STACK_TAG), tag(ADDRESS_TAG)) {
            (None, None) => None,
            (stack, address) => Some(RevisionOwner {
                stack: stack.unwrap_or_default(),
                address: address.unwrap_or_default(),
            }),
        };
        revision(td, outcome, owner)
            .ok_or_else(|| ProviderError::NotFound(format!("task definition `{id}` has no ARN")))
    }

    /// The ARNs of the ACTIVE revisions of `family` older than revision `below`, newest first.
    pub async fn older(&self, family: &str, below: i64) -> Result<Vec<String>, ProviderError> {
        let mut older: Vec<(i64, String)> = active_revisions(&self.client, family)
            .await?
            .into_iter()
            .filter(|(n, _)| *n < below)
            .collect();
        older.sort_by_key(|r| std::cmp::Reverse(r.0));
        Ok(older.into_iter().map(|(_, arn)| arn).collect())
    }

    /// Points a service at the revision `arn` (one UpdateService; nothing else changes).
    pub async fn deploy(
        &self,
        cluster: &str,
        service: &str,
        arn: &str,
    ) -> Result<(), ProviderError> {
        self.client
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(arn)
            .send()
            .await
            .map_err(aws("UpdateService"))?;
        Ok(())
    }
}

/// A revision as DescribeTaskDefinition reports it.
fn revision(
    td: &TaskDefinition,
    outcome: Option<Outcome>,
    owner: Option<RevisionOwner>,
) -> Option<Revision> {
    let arn = td.task_definition_arn()?.to_string();
    let (family, number) = family_and_revision(&arn)?;
    let name = format!("{family}:{number}");
    let containers = td
        .container_definitions()
        .iter()
        .map(|c| RevisionContainer {
            name: c.name().unwrap_or_default().to_string(),
            image: c.image().unwrap_or_default().to_string(),
            secrets: c
                .secrets()
                .iter()
                .map(|s| s.value_from().to_string())
                .collect(),
        })
        .collect();
    Some(Revision {
        name,
        number,
        arn,
        outcome,
        active: td.status() != Some(&TaskDefinitionStatus::Inactive),
        containers,
        owner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{ContainerDefinition, Secret};

    #[test]
    fn a_revision_reads_its_images_secrets_and_outcome() {
        let td = TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/shop-app:7")
            .status(TaskDefinitionStatus::Active)
            .container_definitions(
                ContainerDefinition::builder()
                    .name("web")
                    .image("repo:v1@sha256:abc")
                    .secrets(
                        Secret::builder()
                            .name("DB")
                            .value_from("arn:aws:secretsmanager:us-east-1:1:secret:db-AbC")
                            .build()
                            .expect("a secret"),
                    )
                    .build(),
            )
            .build();
        let r = revision(&td, Some(Outcome::Verified), None).expect("a revision");
        assert_eq!((r.name.as_str(), r.number), ("shop-app:7", 7));
        assert_eq!(r.outcome, Some(Outcome::Verified));
        assert!(r.active);
        assert_eq!(r.containers[0].image, "repo:v1@sha256:abc");
        assert_eq!(
            r.containers[0].secrets,
            ["arn:aws:secretsmanager:us-east-1:1:secret:db-AbC"]
        );
    }
}
