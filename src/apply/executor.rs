//! The executor: a ready set over the plan's steps. Creates and updates wait for what they
//! depend on; deletes of declared resources wait for their dependents; a replacement that is
//! created before it is destroyed retires the old resource once its dependents have moved;
//! deletes of resources the stack no longer declares run last, records before alarms before
//! secrets. A failure skips everything downstream of it; independent branches still finish.
//! When everything is done, providers finish their clean-ups (old task definition revisions).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Event, Outcome, recover};
use crate::graph::Graph;
use crate::known::Known;
use crate::model::{Kind, Stack};
use crate::plan::{Action, Plan, keep_ignored};
use crate::providers::Changed;
use crate::providers::{Desired, Live, ProviderError, Providers, ResourceKind};
use crate::refresh::Refreshed;

#[derive(Clone)]
pub struct ApplyOptions {
    /// Calls to AWS in flight at once, at most.
    pub parallelism: usize,
    /// How long a resource may take to become stable after a change.
    pub wait_timeout: Duration,
    /// Set (by Ctrl-C or SIGTERM) to start nothing new; what is in flight finishes.
    pub stop: Arc<AtomicBool>,
    /// Checked before each round of writes (the stack's lock is still this run's); a failed
    /// check starts nothing new, as an interruption does.
    pub fence: Option<Arc<dyn super::Fence>>,
}

/// How often a long apply says what is still running: often enough to show it is alive, rare
/// enough that a CI log of a 1,000-resource apply stays readable.
const TICK: Duration = Duration::from_secs(30);

/// Why a step that never started did not: shown in the summary.
pub const INTERRUPTED: &str = "apply was interrupted";

/// The order in which orphaned kinds are deleted: what points at others goes first (each
/// kind states its phase in its schema).
fn delete_phase(kind: Kind) -> u8 {
    kind.schema().delete_phase
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// What a step does with its change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// The change's own action (for a create-before-destroy replacement: the create).
    Main,
    /// Deleting the resource a create-before-destroy replacement superseded.
    Retire,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    change: usize,
    work: Work,
}

type TaskResult = (usize, Result<Option<Live>, ProviderError>, f64);

/// Applies `plan`. `on_event` sees every start, finish, failure, skip and progress message.
pub async fn execute(
    stack: &Stack,
    graph: &Graph,
    plan: &Plan,
    refreshed: &Refreshed,
    providers: &Providers,
    options: ApplyOptions,
    on_event: &mut dyn FnMut(Event),
) -> Outcome {
    let mut known = Known::new(stack);
    for (i, lookup) in refreshed.lookups.iter().enumerate() {
        if let Some(values) = lookup {
            known.set(i, values.clone());
        }
    }
    for change in &plan.changes {
        if let (Some(i), Some(live)) = (change.resource, &change.live)
            && !matches!(change.action, Action::Replace | Action::Delete)
        {
            known.set(i, live.computed.clone());
        }
    }

    let steps = steps(plan);
    let deps = dependencies(graph, plan, &steps);
    let n = steps.len();
    let mut state = vec![State::Waiting; n];
    let mut results: BTreeMap<usize, (Desired, Live)> = BTreeMap::new();
    let mut outcome = Outcome::default();
    let mut running: JoinSet<TaskResult> = JoinSet::new();
    let parallelism = options.parallelism.max(1);
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<(usize, String)>();
    let mut started_at: BTreeMap<usize, Instant> = BTreeMap::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.reset();

    loop {
        // Settle everything whose fate is decided without a call: no-ops and skips.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for s in 0..n {
                if state[s] != State::Waiting {
                    continue;
                }
                let change = &plan.changes[steps[s].change];
                if let Some(&bad) = deps[s]
                    .iter()
                    .find(|d| matches!(state[**d], State::Failed | State::Skipped))
                {
                    let because = format!(
                        "`{}` {}",
                        plan.changes[steps[bad].change].address,
                        if state[bad] == State::Failed {
                            "failed"
                        } else {
                            "was skipped"
                        }
                    );
                    on_event(Event::Skipped {
                        address: change.address.clone(),
                        action: change.action,
                        because: because.clone(),
                    });
                    outcome
                        .skipped
                        .push((change.address.clone(), change.action, because));
                    state[s] = State::Skipped;
                    progressed = true;
                } else if change.action == Action::NoOp
                    && deps[s].iter().all(|d| state[*d] == State::Done)
                {
                    state[s] = State::Done;
                    progressed = true;
                }
            }
        }

        // Before a round of writes, the fence: this run may still write.
        let ready = (0..n).any(|s| {
            state[s] == State::Waiting && deps[s].iter().all(|d| state[*d] == State::Done)
        });
        if ready
            && outcome.halted.is_none()
            && let Some(fence) = &options.fence
            && let Err(why) = fence.check().await
        {
            outcome.halted = Some(why);
        }
        // Interrupted, or fenced off: start nothing new; everything not started is skipped.
        let halt = match &outcome.halted {
            Some(why) => Some(why.clone()),
            None => options
                .stop
                .load(Ordering::SeqCst)
                .then(|| INTERRUPTED.to_string()),
        };
        if let Some(because) = halt {
            for s in 0..n {
                if state[s] == State::Waiting {
                    let change = &plan.changes[steps[s].change];
                    on_event(Event::Skipped {
                        address: change.address.clone(),
                        action: change.action,
                        because: because.clone(),
                    });
                    outcome
                        .skipped
                        .push((change.address.clone(), change.action, because.clone()));
                    state[s] = State::Skipped;
                }
            }
        }

        // Start what is ready, up to the parallelism.
        for s in 0..n {
            if running.len() >= parallelism {
                break;
            }
            if state[s] != State::Waiting || !deps[s].iter().all(|d| state[*d] == State::Done) {
                continue;
            }
            let step = steps[s];
            let change = &plan.changes[step.change];
            let Some(provider) = providers.get(change.kind).cloned() else {
                state[s] = State::Failed;
                let message = format!("{} resources are not supported yet", change.kind.title());
                on_event(Event::Failed {
                    address: change.address.clone(),
                    action: change.action,
                    message: message.clone(),
                });
                outcome
                    .failed
                    .push((change.address.clone(), change.action, message));
                continue;
            };
            let live = change.live.clone();
            let desired = change.resource.map(|i| {
                let mut desired = known.desired(i);
                // What the stack leaves alone is never sent, even when something else changes.
                if let (Some(live), Action::Update | Action::Adopt) = (&live, change.action) {
                    keep_ignored(
                        change.kind,
                        &mut desired.attrs,
                        &live.attrs,
                        &stack.resources[i].lifecycle.ignore_changes,
                    );
                }
                desired
            });
            let action = match step.work {
                Work::Retire => Action::Delete,
                // The new half of a create-before-destroy replacement; `live` is the old one.
                Work::Main if change.create_before_destroy && change.action == Action::Replace => {
                    Action::Create
                }
                Work::Main => change.action,
            };
            state[s] = State::Running;
            started_at.insert(s, Instant::now());
            if step.work == Work::Main {
                on_event(Event::Started {
                    address: change.address.clone(),
                    action: change.action,
                });
            } else {
                on_event(Event::Progress {
                    address: change.address.clone(),
                    message: "deleting the resource it replaces".into(),
                });
            }
            let tx = progress_tx.clone();
            let report = move |message: String| {
                let _ = tx.send((s, message));
            };
            running.spawn(run(
                Job {
                    step: s,
                    action,
                    stack: stack.name.clone(),
                    address: change.address.clone(),
                    provider,
                    desired,
                    live,
                    changed: Changed::of(change.attrs.iter().map(|a| a.name.as_str())),
                },
                options.wait_timeout,
                report,
            ));
        }

        let joined = loop {
            tokio::select! {
                biased;
                Some((s, message)) = progress_rx.recv() => {
                    let change = &plan.changes[steps[s].change];
                    on_event(Event::Progress { address: change.address.clone(), message });
                }
                joined = running.join_next() => break joined,
                _ = ticker.tick() => {
                    let running: Vec<(String, f64)> = (0..n)
                        .filter(|s| state[*s] == State::Running)
                        .filter_map(|s| {
                            let secs = started_at.get(&s)?.elapsed().as_secs_f64();
                            Some((plan.changes[steps[s].change].address.clone(), secs))
                        })
                        .collect();
                    if !running.is_empty() {
                        let waiting = state.iter().filter(|s| **s == State::Waiting).count();
                        let done = state.iter().filter(|s| **s == State::Done).count();
                        on_event(Event::StillRunning { running, waiting, done });
                    }
                }
            }
        };
        let Some(joined) = joined else {
            break;
        };
        let (s, result, seconds) = match joined {
            Ok(r) => r,
            Err(e) => {
                // A panicking task: fail the first step still running.
                let Some(s) = (0..n).find(|i| state[*i] == State::Running) else {
                    break;
                };
                (
                    s,
                    Err(ProviderError::Input(format!("internal error: {e}"))),
                    0.0,
                )
            }
        };
        let step = steps[s];
        let change = &plan.changes[step.change];
        match result {
            Ok(live) => {
                state[s] = State::Done;
                if let (Some(i), Some(live)) = (change.resource, live) {
                    known.set(i, live.computed.clone());
                    if let Some(desired) = change.resource.map(|i| known.desired(i)) {
                        results.insert(step.change, (desired, live));
                    }
                }
                let last = !steps
                    .iter()
                    .enumerate()
                    .any(|(o, st)| o != s && st.change == step.change && state[o] != State::Done);
                if last {
                    on_event(Event::Finished {
                        address: change.address.clone(),
                        action: change.action,
                        seconds,
                    });
                    outcome.done.push((change.address.clone(), change.action));
                }
            }
            Err(error) => {
                state[s] = State::Failed;
                if matches!(error, ProviderError::NotServing(_)) {
                    outcome.not_serving.push(change.address.clone());
                }
                let message = error.explained();
                on_event(Event::Failed {
                    address: change.address.clone(),
                    action: change.action,
                    message: message.clone(),
                });
                outcome
                    .failed
                    .push((change.address.clone(), change.action, message));
            }
        }
    }

    // Clean-ups, once everything that depends on each resource is done.
    // A resource created from nothing has no history to clean up.
    let finishing = results.iter().filter_map(|(c, (desired, live))| {
        let change = &plan.changes[*c];
        if change.action == Action::Create {
            return None;
        }
        let provider = providers.get(change.kind)?.clone();
        Some(async move { (c, provider.finish(desired, live).await) })
    });
    for (c, result) in join_all(finishing).await {
        if let Err(error) = result {
            let change = &plan.changes[*c];
            let message = format!("clean-up after the change failed: {}", error.explained());
            on_event(Event::Failed {
                address: change.address.clone(),
                action: change.action,
                message: message.clone(),
            });
            outcome
                .failed
                .push((change.address.clone(), change.action, message));
        }
    }
    outcome.known = known.into_values();
    outcome
}

/// One step's work, handed to the task that runs it.
struct Job {
    step: usize,
    action: Action,
    stack: String,
    address: String,
    provider: Arc<dyn ResourceKind>,
    desired: Option<Desired>,
    live: Option<Live>,
    /// The attributes the plan found different (for an update or an adoption).
    changed: Changed,
}

async fn run(
    job: Job,
    wait_timeout: Duration,
    report: impl Fn(String) + Send + Sync + 'static,
) -> TaskResult {
    let Job {
        step,
        action,
        stack,
        address,
        provider,
        desired,
        live,
        changed,
    } = job;
    let started = Instant::now();
    let missing = || ProviderError::Input("the plan lacks what this step needs".into());
    let result = async {
        let changed = match action {
            Action::NoOp => return Ok(None),
            Action::Delete => {
                let live = live.as_ref().ok_or_else(missing)?;
                return recover::delete(provider.as_ref(), live, &address, &stack)
                    .await
                    .map(|()| None);
            }
            Action::Create => {
                // `live`, if any, is the resource this create replaces.
                let desired = desired.as_ref().ok_or_else(missing)?;
                recover::create(provider.as_ref(), desired, &stack, live.as_ref()).await?
            }
            Action::Update | Action::Adopt => {
                let desired = desired.as_ref().ok_or_else(missing)?;
                let live = live.as_ref().ok_or_else(missing)?;
                provider.update(desired, live, &changed).await?
            }
            Action::Replace => {
                let desired = desired.as_ref().ok_or_else(missing)?;
                let live = live.as_ref().ok_or_else(missing)?;
                // Deleted, and gone, before its successor of the same name is made.
                recover::delete(provider.as_ref(), live, &desired.address, &stack).await?;
                provider.wait_gone(live, wait_timeout, &report).await?;
                recover::create(provider.as_ref(), desired, &stack, None).await?
            }
        };
        let desired = desired.as_ref().ok_or_else(missing)?;
        provider
            .wait_stable(desired, &changed, wait_timeout, &report)
            .await?;
        Ok(Some(changed))
    }
    .await;
    (step, result, started.elapsed().as_secs_f64())
}

/// For every change of the plan, the other changes it waits for before it starts, as the
/// executor orders them (what `apply --explain` shows under a waiting resource). A change that
/// changes nothing is settled without a call, so a change waiting on one waits on what that
/// one waits on.
pub fn waits_on(graph: &Graph, plan: &Plan) -> Vec<Vec<usize>> {
    let steps = steps(plan);
    let deps = dependencies(graph, plan, &steps);
    let mut direct: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); plan.changes.len()];
    for (s, ds) in deps.iter().enumerate() {
        let change = steps[s].change;
        direct[change].extend(ds.iter().map(|d| steps[*d].change).filter(|c| *c != change));
    }
    (0..plan.changes.len())
        .map(|c| {
            let mut out = BTreeSet::new();
            let mut seen = BTreeSet::new();
            let mut todo: Vec<usize> = direct[c].iter().copied().collect();
            while let Some(d) = todo.pop() {
                if !seen.insert(d) {
                    continue;
                }
                if plan.changes[d].action == Action::NoOp {
                    todo.extend(direct[d].iter().copied());
                } else if d != c {
                    out.insert(d);
                }
            }
            out.into_iter().collect()
        })
        .collect()
}

/// One step per change, and a second one for replacements created before they are destroyed.
fn steps(plan: &Plan) -> Vec<Step> {
    let mut out: Vec<Step> = (0..plan.changes.len())
        .map(|change| Step {
            change,
            work: Work::Main,
        })
        .collect();
    for (change, c) in plan.changes.iter().enumerate() {
        if c.action == Action::Replace && c.create_before_destroy {
            out.push(Step {
                change,
                work: Work::Retire,
            });
        }
    }
    out
}

/// For every step, the steps that must finish before it starts.
fn dependencies(graph: &Graph, plan: &Plan, steps: &[Step]) -> Vec<Vec<usize>> {
    let main_of: HashMap<usize, usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, st)| st.work == Work::Main)
        .filter_map(|(s, st)| Some((plan.changes[st.change].resource?, s)))
        .collect();
    let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in main_of.keys() {
        for d in graph.dependencies(i) {
            dependents.entry(d).or_default().push(i);
        }
    }
    let declared: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, st)| {
            let c = &plan.changes[st.change];
            c.resource.is_some() && c.action != Action::Delete
        })
        .map(|(s, _)| s)
        .collect();
    let dependents_of = |i: usize| -> Vec<usize> {
        dependents
            .get(&i)
            .map(|ds| ds.iter().filter_map(|d| main_of.get(d).copied()).collect())
            .unwrap_or_default()
    };
    steps
        .iter()
        .map(|step| {
            let change = &plan.changes[step.change];
            match (step.work, change.resource, change.action) {
                // The superseded resource goes once its own replacement and every dependent
                // have moved on.
                (Work::Retire, Some(i), _) => {
                    let mut deps = dependents_of(i);
                    deps.extend(main_of.get(&i));
                    deps
                }
                // Declared and deleted (destroy): after everything that depends on it.
                (_, Some(i), Action::Delete) => dependents_of(i),
                // Declared: after what it depends on.
                (_, Some(i), _) => graph
                    .dependencies(i)
                    .filter_map(|d| main_of.get(&d).copied())
                    .collect(),
                // No longer declared: after every declared change, in kind order.
                (_, None, _) => {
                    let phase = delete_phase(change.kind);
                    let mut deps = declared.clone();
                    deps.extend(
                        steps
                            .iter()
                            .enumerate()
                            .filter(|(_, st)| {
                                let c = &plan.changes[st.change];
                                c.resource.is_none() && delete_phase(c.kind) < phase
                            })
                            .map(|(s, _)| s),
                    );
                    deps
                }
            }
        })
        .collect()
}
