//! Apply: walks the plan's dependency graph and calls the providers, as much in parallel as the
//! graph and `--parallelism` allow. Each step emits an [`Event`]; the UI renders them.

mod executor;
pub mod lock;
mod recover;

pub use executor::{ApplyOptions, INTERRUPTED, execute, waits_on};

/// What an apply checks before each round of writes: that this run may still write (it holds
/// the stack's lock). `Err(why)` stops the apply before its next write.
pub trait Fence: Send + Sync {
    fn check(&self) -> crate::providers::BoxFuture<'_, Result<(), String>>;
}

use crate::plan::Action;

/// Progress of one resource.
#[derive(Debug, Clone)]
pub enum Event {
    Started {
        address: String,
        action: Action,
    },
    Finished {
        address: String,
        action: Action,
        seconds: f64,
    },
    Failed {
        address: String,
        action: Action,
        message: String,
    },
    Skipped {
        address: String,
        action: Action,
        because: String,
    },
    /// Something seen while waiting (a deployment's running count).
    Progress {
        address: String,
        message: String,
    },
    /// Every few seconds while something runs long: what runs, for how long, and how many
    /// changes are still waiting.
    StillRunning {
        running: Vec<(String, f64)>,
        waiting: usize,
        done: usize,
    },
}

/// What an apply did, failed to do, and did not try.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub done: Vec<(String, Action)>,
    pub failed: Vec<(String, Action, String)>,
    pub skipped: Vec<(String, Action, String)>,
    /// Why the apply stopped writing before the end (its lock was broken), if it did.
    pub halted: Option<String>,
    /// Services whose deploy ended without the revision apply asked for serving.
    pub not_serving: Vec<String>,
    /// What is known of each resource at the end (for the stack's outputs).
    pub known: Vec<Option<std::collections::BTreeMap<String, crate::model::Value>>>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }

    pub fn count(&self, action: Action) -> usize {
        self.done.iter().filter(|(_, a)| *a == action).count()
    }
}

#[cfg(test)]
mod tests;
