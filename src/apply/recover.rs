//! Creates and deletes whose outcome is unclear are settled by looking, not by guessing; and
//! nothing is deleted that is not this stack's at the moment of the delete.
//!
//! A create can fail after AWS acted on it: its answer was lost on the way back or timed out
//! (the SDK does not retry those, see `providers::aws::lost_response`), or the SDK retried a
//! throttled request that had in fact gone through and AWS refused the retry as a duplicate.
//! So when a create fails, the resource is looked up by its natural key first. Found, carrying
//! this stack's ownership for this address, and not the resource a replacement supersedes, it
//! is ours: it is converged (the steps after the lost call never ran) and the step succeeds.
//! Not found, a lost answer is tried again.
//!
//! Before any delete (a resource removed from the stack, destroy, the old half of a
//! replacement), the live resource's ownership is read again, past anything this run cached:
//! it must still be this stack's under the same address, or the delete is refused. A delete
//! that fails and finds the resource gone (or in its recovery window) succeeded.

use std::time::Duration;

use crate::providers::Changed;
use crate::providers::{Desired, Live, Owner, ProviderError, ResourceKind};

/// Creates tried at most this many times when their answers are lost.
const ATTEMPTS: u32 = 3;

/// Creates `desired`; `replacing` is the live resource a create-before-destroy replacement
/// supersedes, which a failed create must never mistake for its own result.
pub async fn create(
    provider: &dyn ResourceKind,
    desired: &Desired,
    stack: &str,
    replacing: Option<&Live>,
) -> Result<Live, ProviderError> {
    let mut attempt = 1;
    loop {
        let error = match provider.create(desired).await {
            Ok(live) => return Ok(live),
            Err(error) => error,
        };
        if let Some(found) = find_ours(provider, desired, stack).await
            && !replacing.is_some_and(|old| same_object(old, &found))
        {
            return provider.update(desired, &found, &Changed::All).await;
        }
        if !error.response_lost() || attempt >= ATTEMPTS {
            return Err(error);
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
}

/// Deletes `live` once AWS confirms it is still this stack's under `address`.
pub async fn delete(
    provider: &dyn ResourceKind,
    live: &Live,
    address: &str,
    stack: &str,
) -> Result<(), ProviderError> {
    let ours = Owner::Stack {
        stack: stack.to_string(),
        address: address.to_string(),
    };
    match provider.owner_now(live).await? {
        // Gone already (deleted by hand, or an earlier attempt whose answer was lost).
        None => return Ok(()),
        Some(owner) if owner == ours => {}
        Some(owner) => {
            return Err(ProviderError::Refused(format!(
                "not deleted: it is no longer this stack's ({}) since the plan read it",
                describe(&owner)
            )));
        }
    }
    let error = match provider.delete(live).await {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    let probe = Desired {
        address: address.to_string(),
        attrs: live.attrs.clone(),
        protected: live.protected(),
        pending: std::collections::BTreeMap::new(),
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

/// "now stack `web` owns it as `secret.db`", "now no stack owns it".
fn describe(owner: &Owner) -> String {
    match owner {
        Owner::Stack { stack, address } => {
            format!("now stack `{stack}` owns it as `{address}`")
        }
        Owner::Nobody => "now no stack owns it".into(),
    }
}

/// Whether two live resources are the same AWS object (the same ARN, where there is one).
fn same_object(a: &Live, b: &Live) -> bool {
    match (a.computed.get("arn"), b.computed.get("arn")) {
        (Some(x), Some(y)) => x == y,
        _ => a.attrs == b.attrs,
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
