//! The chores every AWS provider has, written once: every page of a listing, describe calls
//! that take several keys sent in chunks all at once, tags converged from what AWS holds to
//! what the stack declares, and the live resource's ARN. A kind's provider keeps only what is
//! its own: which SDK call, which fields.

use std::collections::BTreeMap;
use std::future::Future;

use crate::model::Value;
use crate::providers::{Live, ProviderError, next_page, tag_changes};

/// Every item of a paged listing. `page(token)` sends one request (the first with no token)
/// and returns its items and the next token or marker; paging stops at an absent, empty or
/// repeated token (an emulator that answers the same token again does not loop forever).
pub async fn pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, ProviderError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), ProviderError>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (items, next) = page(token.clone()).await?;
        out.extend(items);
        if !next_page(&mut token, next.as_deref()) {
            return Ok(out);
        }
    }
}

/// What `fetch` returns for `keys` sent `per_call` at a time, every chunk at once (a describe
/// call that takes at most so many names or ARNs); the first error fails the whole.
pub async fn in_chunks<'k, K, T, F, Fut>(
    keys: &'k [K],
    per_call: usize,
    fetch: F,
) -> Result<Vec<T>, ProviderError>
where
    F: FnMut(&'k [K]) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let chunks = futures::future::try_join_all(keys.chunks(per_call.max(1)).map(fetch)).await?;
    Ok(chunks.into_iter().flatten().collect())
}

/// Converges a resource's tags from `live` to `desired` (both attribute maps whose `tags` the
/// stack's tags and the ownership tags are in): `untag` gets the keys to remove, except those
/// in `keep` (tags infra manages itself, such as a deploy's outcome), then `tag` the pairs to
/// set. Nothing is sent when nothing differs.
pub async fn retag<U, UF, S, SF>(
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
    keep: &[&str],
    untag: U,
    tag: S,
) -> Result<(), ProviderError>
where
    U: FnOnce(Vec<String>) -> UF,
    UF: Future<Output = Result<(), ProviderError>>,
    S: FnOnce(Vec<(String, String)>) -> SF,
    SF: Future<Output = Result<(), ProviderError>>,
{
    let (set, remove) = tag_changes(desired, live);
    let remove: Vec<String> = remove
        .into_iter()
        .filter(|k| !keep.contains(&k.as_str()))
        .collect();
    if !remove.is_empty() {
        untag(remove).await?;
    }
    if !set.is_empty() {
        tag(set).await?;
    }
    Ok(())
}

/// The ARN AWS reported for a live resource (its computed `arn`).
pub fn live_arn<'a>(live: &'a Live, what: &str) -> Result<&'a str, ProviderError> {
    live.computed
        .get("arn")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::Input(format!("the live {what} has no ARN")))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::providers::Owner;

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(f)
    }

    #[test]
    fn pages_follow_tokens_and_stop_at_a_repeated_one() {
        let sent = Mutex::new(Vec::new());
        let items = run(pages(|token: Option<String>| {
            sent.lock().expect("unpoisoned").push(token.clone());
            async move {
                Ok(match token.as_deref() {
                    None => (vec![1, 2], Some("a".to_string())),
                    Some("a") => (vec![3], Some("b".to_string())),
                    // An emulator that hands the same token back.
                    _ => (vec![4], Some("b".to_string())),
                })
            }
        }))
        .expect("pages");
        assert_eq!(items, [1, 2, 3, 4]);
        assert_eq!(
            *sent.lock().expect("unpoisoned"),
            [None, Some("a".into()), Some("b".into())]
        );
    }

    #[test]
    fn chunks_cover_every_key_and_an_error_fails_the_whole() {
        let keys: Vec<u32> = (0..45).collect();
        let sizes = Mutex::new(Vec::new());
        let all = run(in_chunks(&keys, 20, |chunk| {
            sizes.lock().expect("unpoisoned").push(chunk.len());
            async move { Ok(chunk.to_vec()) }
        }))
        .expect("chunks");
        assert_eq!(all, keys);
        assert_eq!(*sizes.lock().expect("unpoisoned"), [20, 20, 5]);
        let failed = run(in_chunks(&keys, 20, |chunk| async move {
            if chunk.contains(&44) {
                Err(ProviderError::Input("no".into()))
            } else {
                Ok(chunk.to_vec())
            }
        }));
        assert!(failed.is_err());
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, Value> {
        BTreeMap::from([(
            "tags".to_string(),
            Value::Map(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect(),
            ),
        )])
    }

    #[test]
    fn retag_sends_only_what_differs_and_keeps_what_infra_manages() {
        let removed = Mutex::new(Vec::new());
        let set = Mutex::new(Vec::new());
        run(retag(
            &tags(&[("team", "web"), ("env", "prod")]),
            &tags(&[("team", "ops"), ("old", "x"), ("infra:outcome", "verified")]),
            &["infra:outcome"],
            |keys| async {
                removed.lock().expect("unpoisoned").extend(keys);
                Ok(())
            },
            |pairs| async {
                set.lock().expect("unpoisoned").extend(pairs);
                Ok(())
            },
        ))
        .expect("retag");
        assert_eq!(*removed.lock().expect("unpoisoned"), ["old"]);
        let mut set = set.into_inner().expect("unpoisoned");
        set.sort();
        assert_eq!(
            set,
            [
                ("env".to_string(), "prod".to_string()),
                ("team".to_string(), "web".to_string())
            ]
        );
        // Nothing differs: nothing is sent.
        run(retag(
            &tags(&[("team", "web")]),
            &tags(&[("team", "web")]),
            &[],
            |_| async { Err(ProviderError::Input("untag sent".into())) },
            |_| async { Err(ProviderError::Input("tag sent".into())) },
        ))
        .expect("nothing sent");
        let live = Live::new(BTreeMap::new(), Owner::Nobody);
        assert!(live_arn(&live, "alarm").is_err());
    }
}
