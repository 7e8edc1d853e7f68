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

    // Look-ups run in rounds: each round, every look-up whose references to other look-ups
    // are answered runs at once (subnets wait for their VPC). One that depends on a failed
    // look-up is not tried: its own error would only repeat the first one.
    let mut known = Known::new(stack);
    let mut pending: Vec<usize> = (0..n)
        .filter(|i| stack.resources[*i].kind().is_lookup())
        .collect();
    let mut failed: Vec<usize> = Vec::new();
    while !pending.is_empty() {
        let depends_on = |i: usize| -> Vec<usize> {
            let mut deps = Vec::new();
            for value in stack.resources[i].attrs.values() {
                value.visit_refs(&mut |r| {
                    if let Some(a) = r.address()
                        && let Some(j) = stack.resources.iter().position(|x| &x.address == a)
                    {
                        deps.push(j);
                    }
                });
            }
            deps
        };
        let (blocked, rest): (Vec<usize>, Vec<usize>) = pending
            .iter()
            .partition(|i| depends_on(**i).iter().any(|d| failed.contains(d)));
        failed.extend(blocked);
        let (ready, waiting): (Vec<usize>, Vec<usize>) = rest
            .into_iter()
            .partition(|i| depends_on(*i).iter().all(|d| !pending.contains(d)));
        if ready.is_empty() {
            break;
        }
        let calls = ready.iter().map(|&i| {
            let r = &stack.resources[i];
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
                Err(message) => {
                    failed.push(i);
                    out.problems.push(Problem {
                        resource: Some(i),
                        kind: stack.resources[i].kind(),
                        message,
                        help: Some(
                            "check the look-up's attributes against what exists in AWS".into(),
                        ),
                    });
                }
            }
        }
        pending = waiting;
    }

    // Desired resources per kind, references resolved as far as they can be before apply.
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
    let mut reads = Vec::new();
    for provider in providers.kinds() {
        let desired = by_kind.remove(&provider.kind()).unwrap_or_default();
        reads.push(refresh_kind(stack, provider.clone(), desired));
    }
    for (kind, rest) in by_kind {
        for (i, _) in rest {
            out.problems.push(Problem {
                resource: Some(i),
                kind,
                message: format!("{} resources are not supported yet", kind.title()),
                help: None,
            });
        }
    }
    for result in join_all(reads).await {
        for (i, live) in result.live {
            out.live[i] = Some(live);
        }
        out.orphans.extend(result.orphans);
        out.problems.extend(result.problems);
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
