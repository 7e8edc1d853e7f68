//! Reads live state: look-ups first, then every managed kind concurrently, each batched.
//!
//! Per kind, the resources this stack owns are listed first (one or two calls for the whole
//! kind); only desired resources not among them are read by natural key, so a plan with no
//! changes costs a handful of calls however large the stack is. Owned resources no longer in
//! the stack come back as orphans, for the plan to delete.

use std::collections::BTreeMap;

use futures::future::join_all;

use crate::known::Known;
use crate::model::{Kind, Stack, Value};
use crate::providers::{Blocker, Desired, Live, Owner, ProviderError, Providers};

/// Something refresh could not do, for one resource or a whole kind.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The resource it concerns; `None` when a whole kind failed (then `kind` says which).
    pub resource: Option<usize>,
    pub kind: Kind,
    pub message: String,
    pub help: Option<String>,
    /// A failure no call of the run gets past (AWS unreachable, credentials refused): said
    /// once for the run, not once per kind.
    pub blocker: Option<Blocker>,
}

impl Problem {
    /// The run-wide problem a blocker is.
    pub fn blocked(kind: Kind, blocker: Blocker) -> Problem {
        Problem {
            resource: None,
            kind,
            message: blocker.message(),
            help: Some(blocker.help()),
            blocker: Some(blocker),
        }
    }
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
    // Meanwhile, providers start what does not need the look-ups' answers (the pages of
    // owned resources from the tagging index): the plan's round trips overlap.
    let kinds: Vec<_> = providers.kinds().cloned().collect();
    let warm_up = join_all(kinds.iter().map(|p| p.prefetch(&stack.name)));
    let lookups = lookup_rounds(stack, providers, &mut known, &mut out);
    futures::join!(lookups, warm_up);
    // Nothing else would get through either.
    if out.problems.iter().all(|p| p.blocker.is_none()) {
        managed_rounds(stack, providers, &mut known, &mut out).await;
    }
    out
}

/// Look-ups, in rounds as their references to other look-ups are answered.
async fn lookup_rounds(
    stack: &Stack,
    providers: &Providers,
    known: &mut Known<'_>,
    out: &mut Refreshed,
) {
    let n = stack.resources.len();
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
                    Some(p) => (i, p.lookup(&attrs).await),
                    None => (
                        i,
                        Err(ProviderError::Input(format!(
                            "{} look-ups are not supported yet",
                            r.kind().title()
                        ))),
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
                Err(error) => {
                    failed.push(i);
                    let kind = stack.resources[i].kind();
                    let problem = match Blocker::of(&error) {
                        Some(blocker) => Problem::blocked(kind, blocker),
                        None => Problem {
                            resource: Some(i),
                            kind,
                            message: error.to_string(),
                            help: Some(error.help().unwrap_or_else(|| {
                                "check the look-up's attributes against what exists in AWS".into()
                            })),
                            blocker: None,
                        },
                    };
                    push_once(&mut out.problems, problem);
                }
            }
        }
        pending = waiting;
    }
}

/// Resources of the managed kinds: what each kind owns, then the rest by key.
async fn managed_rounds(
    stack: &Stack,
    providers: &Providers,
    known: &mut Known<'_>,
    out: &mut Refreshed,
) {
    let n = stack.resources.len();
    // Every kind lists what the stack owns, all kinds at once.
    let managed: Vec<usize> = (0..n)
        .filter(|i| !stack.resources[*i].kind().is_lookup())
        .collect();
    // The resources of each kind, and their desired attributes (moved into the listing that
    // needs them, never copied: a large stack's attributes are its largest part).
    let mut by_kind: BTreeMap<Kind, Vec<usize>> = BTreeMap::new();
    let mut wanted: BTreeMap<Kind, Vec<Desired>> = BTreeMap::new();
    for &i in &managed {
        let kind = stack.resources[i].kind();
        let desired = known.desired(i);
        let problem = match providers.get(kind) {
            None => Some(format!("{} resources are not supported yet", kind.title())),
            // Local checks (the environment variable a secret's value comes from).
            Some(provider) => provider.check(&desired).err(),
        };
        if let Some(message) = problem {
            out.problems.push(Problem {
                resource: Some(i),
                kind,
                message,
                help: None,
                blocker: None,
            });
        }
        by_kind.entry(kind).or_default().push(i);
        wanted.entry(kind).or_default().push(desired);
    }
    let listings = providers.kinds().map(|provider| {
        let desired: Vec<Desired> = wanted.remove(&provider.kind()).unwrap_or_default();
        let provider = provider.clone();
        async move {
            let owned = provider.list_owned(&stack.name, &desired).await;
            (provider.kind(), owned)
        }
    });
    let mut owned: BTreeMap<Kind, Vec<Option<Live>>> = BTreeMap::new();
    for (kind, result) in join_all(listings).await {
        match result {
            // Whatever a provider's listing returns, only what carries this stack's ownership
            // now counts as owned (and can become an orphan to delete).
            Ok(list) => {
                let ours = |l: &Live| matches!(&l.owner, Owner::Stack { stack: s, .. } if *s == stack.name);
                owned.insert(kind, list.into_iter().filter(ours).map(Some).collect());
            }
            Err(e) => push_once(&mut out.problems, kind_problem(kind, &by_kind, stack, &e)),
        }
    }

    // Then in rounds, as keys become known (a listener's key is its load balancer's ARN):
    // a desired resource is found among the owned ones by key, or read by key, batched per
    // kind. What AWS reports feeds the keys of the next round.
    let mut unresolved: Vec<usize> = managed
        .iter()
        .copied()
        .filter(|i| providers.get(stack.resources[*i].kind()).is_some())
        .collect();
    let mut seen: BTreeMap<(Kind, String), usize> = BTreeMap::new();
    loop {
        let mut reads: BTreeMap<Kind, (Vec<usize>, Vec<Desired>)> = BTreeMap::new();
        let mut progressed = false;
        let mut still = Vec::new();
        for i in unresolved {
            let kind = stack.resources[i].kind();
            let Some(provider) = providers.get(kind) else {
                continue;
            };
            let desired = known.desired(i);
            let Some(key) = provider.key(&desired.attrs) else {
                still.push(i);
                continue;
            };
            progressed = true;
            if let Some(other) = seen.insert((kind, key.clone()), i) {
                out.problems.push(Problem {
                    resource: Some(i),
                    kind,
                    message: format!(
                        "this {} is the same AWS resource as `{}`",
                        kind.title(),
                        stack.resources[other].address
                    ),
                    help: Some("two resources cannot manage one AWS resource; rename one".into()),
                    blocker: None,
                });
                continue;
            }
            let found = owned.get_mut(&kind).and_then(|list| {
                list.iter_mut()
                    .find(|l| {
                        l.as_ref()
                            .is_some_and(|l| provider.key(&l.attrs).as_ref() == Some(&key))
                    })
                    .and_then(Option::take)
            });
            match found {
                Some(live) => {
                    known.set(i, live.computed.clone());
                    out.live[i] = Some(live);
                }
                None => {
                    let (indices, attrs) = reads.entry(kind).or_default();
                    indices.push(i);
                    attrs.push(desired);
                }
            }
        }
        unresolved = still;
        let batches = reads.into_iter().filter_map(|(kind, (indices, desired))| {
            let provider = providers.get(kind)?.clone();
            Some(async move {
                let result = provider.read(&desired).await;
                (kind, indices, result)
            })
        });
        for (kind, indices, result) in join_all(batches).await {
            match result {
                Ok(found) => {
                    for (i, live) in indices.iter().zip(found) {
                        if let Some(live) = live {
                            known.set(*i, live.computed.clone());
                            out.live[*i] = Some(live);
                        }
                    }
                }
                Err(e) => push_once(&mut out.problems, kind_problem(kind, &by_kind, stack, &e)),
            }
        }
        if !progressed || unresolved.is_empty() {
            break;
        }
    }
    for (kind, list) in owned {
        out.orphans
            .extend(list.into_iter().flatten().map(|l| (kind, l)));
    }
}

/// A failed listing or read of a whole kind, naming the stack's resources it leaves unknown.
fn kind_problem(
    kind: Kind,
    by_kind: &BTreeMap<Kind, Vec<usize>>,
    stack: &Stack,
    error: &ProviderError,
) -> Problem {
    if let Some(blocker) = Blocker::of(error) {
        return Problem::blocked(kind, blocker);
    }
    let addresses: Vec<String> = by_kind
        .get(&kind)
        .map(|list| {
            list.iter()
                .map(|i| format!("`{}`", stack.resources[*i].address))
                .collect()
        })
        .unwrap_or_default();
    let shown = match addresses.len() {
        0 => String::new(),
        1..=3 => format!(" (for {})", addresses.join(", ")),
        n => format!(" (for {} and {} more)", addresses[..3].join(", "), n - 3),
    };
    Problem {
        resource: None,
        kind,
        message: format!("reading {}s failed{shown}: {error}", kind.title()),
        help: Some(
            error.help().unwrap_or_else(|| {
                "check the AWS credentials' permissions and the endpoint".into()
            }),
        ),
        blocker: None,
    }
}

/// The same failure met twice (listing, then reading) is reported once, and so is a blocker
/// of one sort whichever kinds met it.
fn push_once(problems: &mut Vec<Problem>, problem: Problem) {
    let code = problem.blocker.as_ref().map(Blocker::code);
    let seen = problems.iter().any(|p| {
        p.message == problem.message
            || (code.is_some() && p.blocker.as_ref().map(Blocker::code) == code)
    });
    if !seen {
        problems.push(problem);
    }
}
