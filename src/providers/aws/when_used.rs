//! Kinds whose owned resources cost calls in proportion to the account, not the stack, are
//! listed only when the stack has a reason to own one.
//!
//! IAM, ECR and Route53 cannot list by tag: finding what a stack owns means reading the tags of
//! every role, repository or zone in the account. Application Auto Scaling, EFS and EC2 groups
//! cost a few calls more. A stack that declares none of a kind pays none of that when the shared
//! tag index holds nothing of the kind's service for it either. What the index does not cover
//! (IAM everywhere; ECR, Route53 and Application Auto Scaling in emulators) is then not listed
//! once the stack declares none of the kind: the last resource of such a kind removed from a
//! stack stays in AWS (never deleted unasked) until the stack that declares it is destroyed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::tagging::{LISTED_WHEN_USED, OwnedIndex};
use crate::model::{Kind, Value};
use crate::providers::{BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind};

/// `inner`, listed only when used. Every method of [`ResourceKind`] is forwarded, those with
/// a default too, so that the kind behaves as itself in everything but `list_owned`.
pub struct WhenUsed {
    inner: Arc<dyn ResourceKind>,
    owned: Arc<OwnedIndex>,
    /// The service part of the kind's ARNs in the tag index (`iam`, `elasticfilesystem`).
    service: &'static str,
}

impl WhenUsed {
    pub fn wrap(
        inner: Arc<dyn ResourceKind>,
        owned: &Arc<OwnedIndex>,
        service: &'static str,
    ) -> Arc<dyn ResourceKind> {
        debug_assert!(
            LISTED_WHEN_USED.contains(&service),
            "`holds` answers only for the services of LISTED_WHEN_USED"
        );
        Arc::new(WhenUsed {
            inner,
            owned: owned.clone(),
            service,
        })
    }

    /// Whether the stack may own one: it declares one, or the index holds one of the service.
    /// An index that cannot be read is no reason to skip.
    async fn used(&self, desired: &[Desired]) -> bool {
        if !desired.is_empty() {
            return true;
        }
        self.owned.holds(self.service).await.unwrap_or(true)
    }
}

impl ResourceKind for WhenUsed {
    fn kind(&self) -> Kind {
        self.inner.kind()
    }
    fn key(&self, attrs: &BTreeMap<String, Value>) -> Option<String> {
        self.inner.key(attrs)
    }
    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        self.inner.normalize(attrs);
    }
    fn notes(
        &self,
        desired: &BTreeMap<String, Value>,
        live: &BTreeMap<String, Value>,
    ) -> Vec<(&'static str, String)> {
        self.inner.notes(desired, live)
    }
    fn check(&self, desired: &Desired) -> Result<(), String> {
        self.inner.check(desired)
    }
    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            if !self.used(desired).await {
                return Ok(Vec::new());
            }
            self.inner.list_owned(stack, desired).await
        })
    }
    /// Asks the index early whether the kind is used; the kind's own prefetch would read its
    /// service's pages even when it is not.
    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let _ = self.owned.holds(self.service).await;
        })
    }
    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        self.inner.read(desired)
    }
    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        self.inner.create(desired)
    }
    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        self.inner.update(desired, live, changed)
    }
    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.inner.delete(live)
    }
    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        self.inner.owner_now(live)
    }
    fn wait_gone<'a>(
        &'a self,
        live: &'a Live,
        timeout: Duration,
        progress: &'a (dyn Fn(String) + Send + Sync),
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.inner.wait_gone(live, timeout, progress)
    }
    fn update_changes_identity(&self) -> bool {
        self.inner.update_changes_identity()
    }
    fn coexists(&self, old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> bool {
        self.inner.coexists(old, new)
    }
    fn create_before_destroy(&self) -> bool {
        self.inner.create_before_destroy()
    }
    fn restart<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.inner.restart(live)
    }
    fn wait_stable<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        timeout: Duration,
        progress: &'a (dyn Fn(String) + Send + Sync),
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.inner.wait_stable(desired, live, timeout, progress)
    }
    fn finish<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.inner.finish(desired, live)
    }
}
