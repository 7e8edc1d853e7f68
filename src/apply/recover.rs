//! Creates and deletes whose outcome is unclear are settled by looking, not by guessing.
//!
//! A create can fail after AWS acted on it: its answer was lost on the way back (the SDK does
//! not retry those, see `providers::aws::lost_response`), or the SDK retried a throttled
//! request that had in fact gone through and AWS refused the retry as a duplicate. So when a
//! create fails, the resource is looked up by its natural key first. Found and carrying this
//! stack's ownership for this address, it is ours: it is converged (the steps after the lost
//! call never ran) and the step succeeds. Not found, a lost answer is tried again.
//! A delete that fails is settled the same way: a resource that is gone is deleted.

use std::time::Duration;

use crate::providers::{Desired, Live, Owner, ProviderError, ResourceKind};

/// Creates tried at most this many times when their answers are lost.
const ATTEMPTS: u32 = 3;

pub async fn create(
    provider: &dyn ResourceKind,
    desired: &Desired,
    stack: &str,
) -> Result<Live, ProviderError> {
    let mut attempt = 1;
    loop {
        let error = match provider.create(desired).await {
            Ok(live) => return Ok(live),
            Err(error) => error,
        };
        if let Some(found) = find_ours(provider, desired, stack).await {
            return provider.update(desired, &found).await;
        }
        if !error.response_lost() || attempt >= ATTEMPTS {
            return Err(error);
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
}

pub async fn delete(
    provider: &dyn ResourceKind,
    live: &Live,
    address: &str,
) -> Result<(), ProviderError> {
    let error = match provider.delete(live).await {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    let probe = Desired {
        address: address.to_string(),
        attrs: live.attrs.clone(),
    };
    match provider.read(std::slice::from_ref(&probe)).await {
        Ok(found) => match found.into_iter().next().flatten() {
            None => Ok(()),
            Some(still) if still.pending_deletion.is_some() => Ok(()),
            Some(_) => Err(error),
        },
        Err(_) => Err(error),
    }
}

/// The resource with `desired`'s natural key, when this stack owns it under this address.
async fn find_ours(provider: &dyn ResourceKind, desired: &Desired, stack: &str) -> Option<Live> {
    let found = provider.read(std::slice::from_ref(desired)).await.ok()?;
    let live = found.into_iter().next().flatten()?;
    let ours = Owner::Stack {
        stack: stack.to_string(),
        address: desired.address.clone(),
    };
    (live.owner == ours && live.pending_deletion.is_none()).then_some(live)
}
