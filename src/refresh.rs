//! Reads live state: look-ups first, then every managed kind concurrently, each batched.
//!
//! Per kind, the resources this stack owns are listed first (one or two calls for the whole
//! kind); only desired resources not among them are read by natural key, so a plan with no
//! changes costs a handful of calls however large the stack is. Owned resources no longer in
//! the stack come back as orphans, for the plan to delete.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::future::join_all;

use crate::known::Known;
use crate::model::{Kind, Stack, Value};
use crate::providers::{Desired, Live, Providers, ResourceKind};

/// Something refresh could not do, for one resource or a whole kind.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The resource it concerns; `None` when a whole kind failed (then `kind` says which).
    pub resource: Option<usize>,
    pub kind: Kind,
    pub message: String,
    pub help: Option<String>,
}

/// Live state of one run.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// Per resource: the live resource with the desired one's natural key, if any.
    pub live: Vec<Option<Live>>,
    /// Per look-up: every attribute of what it found.
    pub lookups: Vec<Option<BTreeMap<String, Value>>>,
    /// Resources this stack owns that it no longer declares.
    pub orphans: Vec<(Kind, Live)>,
    pub problems: Vec<Problem>,
}

/// Reads everything the stack declares or owns.
pub async fn refresh(stack: &Stack, providers: &Providers) -> Refreshed {
    let n = stack.resources.len();
    let mut out = Refreshed {
        live: vec![None; n],
        lookups: vec![None; n],
        ..Refreshed::default()
    };

    // Look-ups take only literal attributes, so they all run at once.
    let mut known = Known::new(stack);
    let lookups = stack
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind().is_lookup());
    let calls = lookups.map(|(i, r)| {
        let attrs = known.desired(i).attrs;
        let provider = providers.lookup(r.kind()).cloned();
        async move {
            match provider {
                Some(p) => (i, p.lookup(&attrs).await.map_err(|e| e.to_string())),
                None => (
                    i,
                    Err(format!(
                        "{} look-ups are not supported yet",
                        r.kind().title()
                    )),
                ),
            }
        }
    });
    for (i, result) in join_all(calls).await {
        match result {
            Ok(attrs) => {
                known.set(i, attrs.clone());
                out.lookups[i] = Some(attrs);
            }
            Err(message) => out.problems.push(Problem {
                resource: Some(i),
                kind: stack.resources[i].kind(),
                message,
                help: Some("check the look-up's attributes against what exists in AWS".into()),
            }),
        }
    }

    // Desired resources per kind, references resolved as far as they can be before apply.
    // Kinds whose natural keys refer to other resources (a service's cluster ARN) wait for
    // the kinds read before them: in waves, each wave every kind whose keys are all known,
    // concurrently; when no remaining kind has all its keys, the rest go together.
    let mut remaining: Vec<Arc<dyn ResourceKind>> = providers.kinds().cloned().collect();
    let supported: std::collections::BTreeSet<Kind> = remaining.iter().map(|p| p.kind()).collect();
    for (i, r) in stack.resources.iter().enumerate() {
        if !r.kind().is_lookup() && !supported.contains(&r.kind()) {
            out.problems.push(Problem {
                resource: Some(i),
                kind: r.kind(),
                message: format!("{} resources are not supported yet", r.kind().title()),
                help: None,
            });
        }
    }
    while !remaining.is_empty() {
        let mut by_kind: BTreeMap<Kind, Vec<(usize, Desired)>> = BTreeMap::new();
        for (i, r) in stack.resources.iter().enumerate() {
            if r.kind().is_lookup() {
                continue;
            }
            by_kind
                .entry(r.kind())
                .or_default()
                .push((i, known.desired(i)));
        }
        let keyed = |p: &Arc<dyn ResourceKind>| {
            by_kind
                .get(&p.kind())
                .is_none_or(|ds| ds.iter().all(|(_, d)| p.key(&d.attrs).is_some()))
        };
        let (mut wave, waiting): (Vec<_>, Vec<_>) = remaining.into_iter().partition(keyed);
        remaining = if wave.is_empty() {
            wave = waiting;
            Vec::new()
        } else {
            waiting
        };
        let reads = wave.into_iter().map(|provider| {
            let desired = by_kind.remove(&provider.kind()).unwrap_or_default();
            refresh_kind(stack, provider, desired)
        });
        for result in join_all(reads).await {
            for (i, live) in result.live {
                known.set(i, live.computed.clone());
                out.live[i] = Some(live);
            }
            out.orphans.extend(result.orphans);
            out.problems.extend(result.problems);
        }
    }
    out
}

struct KindResult {
    live: Vec<(usize, Live)>,
    orphans: Vec<(Kind, Live)>,
    problems: Vec<Problem>,
}

async fn refresh_kind(
    stack: &Stack,
    provider: Arc<dyn ResourceKind>,
    desired: Vec<(usize, Desired)>,
) -> KindResult {
    let kind = provider.kind();
    let mut result = KindResult {
        live: Vec::new(),
        orphans: Vec::new(),
        problems: Vec::new(),
    };
    for (i, d) in &desired {
        if let Err(message) = provider.check(d) {
            result.problems.push(Problem {
                resource: Some(*i),
                kind,
                message,
                help: None,
            });
        }
    }
    let keys: Vec<Option<String>> = desired
        .iter()
        .map(|(_, d)| provider.key(&d.attrs))
        .collect();
    let mut first: HashMap<&str, usize> = HashMap::new();
    for ((i, _), key) in desired.iter().zip(&keys) {
        if let Some(key) = key
            && let Some(other) = first.insert(key, *i)
        {
            result.problems.push(Problem {
                resource: Some(*i),
                kind,
                message: format!(
                    "this {} has the same name as `{}`",
                    kind.title(),
                    stack.resources[other].address
                ),
                help: Some("two resources cannot manage one AWS resource; rename one".into()),
            });
        }
    }
    let plain: Vec<Desired> = desired.iter().map(|(_, d)| d.clone()).collect();
    let owned = match provider.list_owned(&stack.name, &plain).await {
        Ok(owned) => owned,
        Err(e) => {
            result.problems.push(kind_problem(kind, e.to_string()));
            return result;
        }
    };
    let mut owned: Vec<Option<Live>> = owned.into_iter().map(Some).collect();
    let owned_keys: Vec<Option<String>> = owned
        .iter()
        .map(|l| l.as_ref().and_then(|l| provider.key(&l.attrs)))
        .collect();
    let mut unread = Vec::new();
    for ((i, d), key) in desired.iter().zip(&keys) {
        let Some(key) = key else { continue };
        match owned_keys.iter().position(|k| k.as_ref() == Some(key)) {
            Some(p) => {
                if let Some(live) = owned[p].take() {
                    result.live.push((*i, live));
                }
            }
            None => unread.push((*i, d.clone())),
        }
    }
    result
        .orphans
        .extend(owned.into_iter().flatten().map(|l| (kind, l)));
    if unread.is_empty() {
        return result;
    }
    let wanted: Vec<Desired> = unread.iter().map(|(_, d)| d.clone()).collect();
    match provider.read(&wanted).await {
        Ok(found) => {
            for ((i, _), live) in unread.iter().zip(found) {
                if let Some(live) = live {
                    result.live.push((*i, live));
                }
            }
        }
        Err(e) => result.problems.push(kind_problem(kind, e.to_string())),
    }
    result
}

fn kind_problem(kind: Kind, message: String) -> Problem {
    Problem {
        resource: None,
        kind,
        message: format!("reading {}s failed: {message}", kind.title()),
        help: Some("check the AWS credentials' permissions and the endpoint".into()),
    }
}
