//! The plan: what apply will do, per resource and per attribute. A plain value computed by
//! [`diff`] and rendered by pure functions in [`render`]; nothing here calls AWS.

mod diff;
pub mod drift;
pub mod json;
pub mod markdown;
pub mod paths;
#[cfg(test)]
mod properties;
pub mod protect;
pub mod render;
pub mod saved;
pub mod select;
pub mod warnings;

pub use diff::{DiffOptions, diff, keep_ignored};

use crate::model::{Kind, Value};
use crate::providers::Live;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    /// Take over a resource that exists with our key but no ownership (and converge it).
    Adopt,
    NoOp,
}

impl Action {
    pub fn sigil(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Adopt => "<=",
            Action::NoOp => " ",
        }
    }

    /// "create", "update in place", ...
    pub fn describe(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update in place",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Adopt => "adopt",
            Action::NoOp => "no change",
        }
    }

    /// The past tense, for progress lines: "created", "updated", ...
    pub fn done(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Update => "updated",
            Action::Replace => "replaced",
            Action::Delete => "deleted",
            Action::Adopt => "adopted",
            Action::NoOp => "unchanged",
        }
    }
}

/// One attribute that changes. `None` is "not set".
#[derive(Debug, Clone)]
pub struct AttrChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub sensitive: bool,
    pub forces_replacement: bool,
    /// For repeated blocks labelled by a reference (a service's `load-balancer` blocks, by
    /// target group): the address each item's label names, before and after.
    pub names: ItemNames,
}

/// What the items of a repeated block are called when their label is a reference:
/// `[target-group.api]`, item by item (empty where the label is a plain value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemNames {
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// One resource's change.
#[derive(Debug, Clone)]
pub struct Change {
    pub address: String,
    pub kind: Kind,
    /// Index into the stack's resources; `None` for a resource the stack no longer declares.
    pub resource: Option<usize>,
    pub action: Action,
    /// Why, in words: "`class` forces replacement", "exists without ownership tags".
    pub reasons: Vec<String>,
    pub attrs: Vec<AttrChange>,
    /// The live resource, for update, replace, delete and adopt.
    pub live: Option<Live>,
    /// For a replacement: the new resource is created before the old one is deleted (its
    /// natural key changed, or the kind can exist twice under an alternate AWS name), so that
    /// dependents move over first; otherwise the old one is deleted, and gone, first.
    pub create_before_destroy: bool,
}

/// Counts per action, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub adopt: usize,
    pub unchanged: usize,
}

impl Summary {
    pub fn changes(&self) -> usize {
        self.create + self.update + self.replace + self.delete + self.adopt
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub stack: String,
    pub region: String,
    /// Declared resources in dependency order, then resources to delete.
    pub changes: Vec<Change>,
    /// A plan of `infra destroy`.
    pub destroying: bool,
    /// What the stack may do but is likely a mistake; shown with the plan, never fatal.
    pub warnings: Vec<crate::model::Warning>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
                Action::Adopt => s.adopt += 1,
                Action::NoOp => s.unchanged += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.summary().changes() > 0
    }
}
