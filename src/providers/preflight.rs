//! Reads that check what a stack uses but does not own, before any write: the images its
//! containers run and the secrets they read.

use super::{BoxFuture, ProviderError};

/// How an image is named in its repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageId {
    Tag(String),
    Digest(String),
}

/// An image as its registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub digest: String,
    /// Environment names the image says it needs (its manifest's `dev.infra.required-env`
    /// annotation, split on commas and white space).
    pub required_env: Vec<String>,
}

/// A secret's state, read without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretState {
    Missing,
    /// In its recovery window: tasks that read it fail to start.
    ScheduledForDeletion,
    /// Exists, but no version is labelled `AWSCURRENT`.
    NoCurrentVersion,
    Current,
}

/// The reads of the preflight, one implementation per cloud (and none in the in-memory fake).
pub trait Preflight: Send + Sync {
    /// Images of one repository of a registry (an AWS account) by tag or digest, in the order
    /// asked; an image that does not exist is `None`. A repository that does not exist is
    /// `ProviderError::NotFound`.
    fn images<'a>(
        &'a self,
        registry: &'a str,
        repository: &'a str,
        ids: &'a [ImageId],
    ) -> BoxFuture<'a, Result<Vec<Option<StoredImage>>, ProviderError>>;

    /// When each image (by digest) was pushed, in whole seconds since the epoch; digests the
    /// repository no longer holds are left out.
    fn pushed_at<'a>(
        &'a self,
        registry: &'a str,
        repository: &'a str,
        digests: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, i64)>, ProviderError>>;

    /// The state of a secret named by ARN or name.
    fn secret<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<SecretState, ProviderError>>;
}
