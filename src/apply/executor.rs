//! The executor: a ready set over the plan's changes. Creates and updates wait for what they
//! depend on; deletes of declared resources wait for their dependents; deletes of resources
//! the stack no longer declares run last, records before alarms before secrets. A failure
//! skips everything downstream of it; independent branches still finish.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::{Event, Outcome};
use crate::graph::Graph;
use crate::known::Known;
use crate::model::{Kind, Stack};
use crate::plan::{Action, Plan};
use crate::providers::{Desired, Live, ProviderError, Providers, ResourceKind};
use crate::refresh::Refreshed;

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Calls to AWS in flight at once, at most.
    pub parallelism: usize,
}

/// The order in which orphaned kinds are deleted: what points at others goes first.
const DELETE_ORDER: [Kind; 11] = [
    Kind::Record,
    Kind::Alarm,
    Kind::ListenerRule,
    Kind::Listener,
    Kind::Service,
    Kind::TaskDefinition,
    Kind::TargetGroup,
    Kind::LoadBalancer,
    Kind::Cluster,
    Kind::LogGroup,
    Kind::Secret,
];

fn delete_phase(kind: Kind) -> usize {
    DELETE_ORDER.iter().position(|k| *k == kind).unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

type TaskResult = (usize, Result<Option<Live>, ProviderError>, f64);

/// Applies `plan`. `on_event` sees every start, finish, failure and skip.
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

    let deps = dependencies(graph, plan);
    let n = plan.changes.len();
    let mut state = vec![State::Waiting; n];
    let mut outcome = Outcome::default();
    let mut running: JoinSet<TaskResult> = JoinSet::new();
    let parallelism = options.parallelism.max(1);

    loop {
        // Settle everything whose fate is decided without a call: no-ops and skips.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for node in 0..n {
                if state[node] != State::Waiting {
                    continue;
                }
                if let Some(&bad) = deps[node]
                    .iter()
                    .find(|d| matches!(state[**d], State::Failed | State::Skipped))
                {
                    let change = &plan.changes[node];
                    let because = format!(
                        "`{}` {}",
                        plan.changes[bad].address,
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
                    state[node] = State::Skipped;
                    progressed = true;
                } else if plan.changes[node].action == Action::NoOp
                    && deps[node].iter().all(|d| state[*d] == State::Done)
                {
                    state[node] = State::Done;
                    progressed = true;
                }
            }
        }

        // Start what is ready, up to the parallelism.
        for node in 0..n {
            if running.len() >= parallelism {
                break;
            }
            if state[node] != State::Waiting || !deps[node].iter().all(|d| state[*d] == State::Done)
            {
                continue;
            }
            let change = &plan.changes[node];
            let Some(provider) = providers.get(change.kind).cloned() else {
                state[node] = State::Failed;
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
            let desired = change.resource.map(|i| known.desired(i));
            let live = change.live.clone();
            state[node] = State::Running;
            on_event(Event::Started {
                address: change.address.clone(),
                action: change.action,
            });
            running.spawn(run(node, change.action, provider, desired, live));
        }

        let Some(joined) = running.join_next().await else {
            break;
        };
        let (node, result, seconds) = match joined {
            Ok(r) => r,
            Err(e) => {
                // A panicking task: find which one is still running and fail it.
                let Some(node) = (0..n).find(|i| state[*i] == State::Running) else {
                    break;
                };
                (
                    node,
                    Err(ProviderError::Input(format!("internal error: {e}"))),
                    0.0,
                )
            }
        };
        let change = &plan.changes[node];
        match result {
            Ok(live) => {
                state[node] = State::Done;
                if let (Some(i), Some(live)) = (change.resource, live) {
                    known.set(i, live.computed);
                }
                on_event(Event::Finished {
                    address: change.address.clone(),
                    action: change.action,
                    seconds,
                });
                outcome.done.push((change.address.clone(), change.action));
            }
            Err(error) => {
                state[node] = State::Failed;
                let message = error.to_string();
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
    outcome
}

async fn run(
    node: usize,
    action: Action,
    provider: Arc<dyn ResourceKind>,
    desired: Option<Desired>,
    live: Option<Live>,
) -> TaskResult {
    let started = Instant::now();
    let missing = || ProviderError::Input("the plan lacks what this step needs".into());
    let result = async {
        match action {
            Action::NoOp => Ok(None),
            Action::Create => {
                let desired = desired.as_ref().ok_or_else(missing)?;
                provider.create(desired).await.map(Some)
            }
            Action::Update | Action::Adopt => {
                let desired = desired.as_ref().ok_or_else(missing)?;
                let live = live.as_ref().ok_or_else(missing)?;
                provider.update(desired, live).await.map(Some)
            }
            Action::Replace => {
                let desired = desired.as_ref().ok_or_else(missing)?;
                let live = live.as_ref().ok_or_else(missing)?;
                provider.delete(live).await?;
                provider.create(desired).await.map(Some)
            }
            Action::Delete => {
                let live = live.as_ref().ok_or_else(missing)?;
                provider.delete(live).await.map(|()| None)
            }
        }
    }
    .await;
    (node, result, started.elapsed().as_secs_f64())
}

/// For every change, the changes that must finish before it starts.
fn dependencies(graph: &Graph, plan: &Plan) -> Vec<Vec<usize>> {
    let node_of: HashMap<usize, usize> = plan
        .changes
        .iter()
        .enumerate()
        .filter_map(|(node, c)| Some((c.resource?, node)))
        .collect();
    let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in node_of.keys() {
        for d in graph.dependencies(i) {
            dependents.entry(d).or_default().push(i);
        }
    }
    let declared: Vec<usize> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.resource.is_some() && c.action != Action::Delete)
        .map(|(node, _)| node)
        .collect();
    plan.changes
        .iter()
        .map(|change| match (change.resource, change.action) {
            // Declared and deleted (destroy): after everything that depends on it.
            (Some(i), Action::Delete) => dependents
                .get(&i)
                .map(|ds| ds.iter().filter_map(|d| node_of.get(d).copied()).collect())
                .unwrap_or_default(),
            // Declared: after what it depends on.
            (Some(i), _) => graph
                .dependencies(i)
                .filter_map(|d| node_of.get(&d).copied())
                .collect(),
            // No longer declared: after every declared change, in kind order.
            (None, _) => {
                let phase = delete_phase(change.kind);
                let mut deps = declared.clone();
                deps.extend(
                    plan.changes
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.resource.is_none() && delete_phase(c.kind) < phase)
                        .map(|(node, _)| node),
                );
                deps
            }
        })
        .collect()
}
