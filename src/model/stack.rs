//! The resolved stack: every resource with its desired attributes, modules expanded.

use std::collections::BTreeMap;

use super::address::Address;
use super::kind::Kind;
use super::span::{Sources, Span};
use super::value::Value;

/// A stack after loading and resolving: the input of the graph stage.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub region: String,
    /// Default tags applied to every taggable resource.
    pub tags: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
    pub sources: Sources,
    /// What the stack may do but is likely a mistake (`validate` and every plan show them).
    pub warnings: Vec<super::Warning>,
    /// Per resource, the attribute paths whose warnings are silenced with `allow="..."`
    /// (for the warnings only a plan can tell).
    pub allowed: BTreeMap<Address, std::collections::BTreeSet<String>>,
    /// The stack file's own `output` nodes, by name: what apply and `infra output` print.
    pub outputs: BTreeMap<String, Value>,
    /// The stack file's `probe` nodes, in file order: the HTTP checks `infra verify` makes.
    pub probes: Vec<super::Probe>,
    /// Where each resource's attributes are written, by attribute path (`container.0.image`):
    /// what a diagnostic found after loading (at plan) points at.
    pub spans: BTreeMap<Address, BTreeMap<String, super::Span>>,
    /// The stack says it runs production (`stack ... production=#true`): risks that are
    /// warnings elsewhere (a mutable image tag) stop its plans.
    pub production: bool,
}

impl Stack {
    pub fn resource(&self, address: &Address) -> Option<&Resource> {
        self.resources.iter().find(|r| &r.address == address)
    }

    /// Where attribute `path` of resource `r` is written, or else the resource's node.
    pub fn span_of(&self, r: &Resource, path: &str) -> super::Span {
        self.spans
            .get(&r.address)
            .and_then(|s| s.get(path))
            .copied()
            .unwrap_or(r.span)
    }

    /// Whether `allow="..."` silences `path` of `address` (or a block around it).
    pub fn allows(&self, address: &Address, path: &str) -> bool {
        self.allowed.get(address).is_some_and(|paths| {
            paths
                .iter()
                .any(|k| k == path || path.starts_with(&format!("{k}.")))
        })
    }
}

/// One managed resource or look-up.
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: Address,
    /// Desired attributes, with AWS defaults filled in for omitted ones.
    pub attrs: BTreeMap<String, Value>,
    /// Explicit `depends-on` edges.
    pub depends_on: Vec<DependsOn>,
    pub lifecycle: Lifecycle,
    /// The resource's node name in its file.
    pub span: Span,
}

impl Resource {
    pub fn kind(&self) -> Kind {
        self.address.kind
    }
}

#[derive(Debug, Clone)]
pub struct DependsOn {
    pub address: Address,
    pub span: Span,
}

/// Per-resource `lifecycle { ... }` settings.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// Where `prevent-destroy #true` is written: plans that would delete or replace the
    /// resource fail instead (and the protection is recorded on the live resource).
    pub prevent_destroy: Option<Span>,
    /// Attribute paths whose live value wins (`desired-count`, `container.web.image`).
    pub ignore_changes: Vec<String>,
}
