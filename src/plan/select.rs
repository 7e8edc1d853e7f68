//! `--target` and `--exclude`: narrowing a plan to part of the stack.
//!
//! The direction depends on what the plan does. When building (plan, apply), a target brings
//! what it depends on (it cannot be created without it) and an exclusion takes what depends on
//! it (that cannot be changed without it). When destroying, it is the other way round: a
//! target takes what depends on it (what would break without it), never its dependencies
//! (they are usually shared), and an exclusion keeps what it depends on. Both accept module
//! prefixes: `module.web` selects everything the module instantiated, and a resource or module
//! with `for-each` named without a key (`log-group.x`) selects every instance. Keys may be
//! written quoted or bare: `log-group.x["a"]` and `log-group.x[a]` are one address.

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::Graph;
use crate::lang::{Diagnostic, closest};
use crate::model::Stack;

use super::Plan;

/// What the user asked to include and leave out.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub targets: Vec<String>,
    pub excludes: Vec<String>,
    /// The plan destroys: targets bring their dependents, exclusions keep their dependencies.
    pub destroy: bool,
}

impl Selection {
    pub fn is_everything(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }
}

/// `pattern` names `address` itself, a module it is in, or the `for-each` it is an instance of.
fn matches(pattern: &str, address: &str) -> bool {
    address == pattern
        || address.strip_prefix(pattern).is_some_and(|rest| {
            (rest.starts_with('.') && pattern.starts_with("module.")) || rest.starts_with("[\"")
        })
}

/// Keeps the changes `selection` picks; a pattern that matches nothing is a diagnostic.
pub fn select(
    plan: Plan,
    stack: &Stack,
    graph: &Graph,
    selection: &Selection,
) -> Result<Plan, Vec<Diagnostic>> {
    if selection.is_everything() {
        return Ok(plan);
    }
    let normalized = |patterns: &[String]| -> Vec<String> {
        patterns
            .iter()
            .map(|p| crate::model::address::normalize(p))
            .collect()
    };
    let selection = &Selection {
        targets: normalized(&selection.targets),
        excludes: normalized(&selection.excludes),
        destroy: selection.destroy,
    };
    let addresses: Vec<String> = stack
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    // What a pattern may name: addresses, and every module path above them.
    let mut names: BTreeSet<String> = addresses.iter().cloned().collect();
    for r in &stack.resources {
        if r.address.key.is_some() {
            names.insert(r.address.group().to_string());
        }
        for depth in 1..=r.address.module.len() {
            names.insert(
                r.address.module[..depth]
                    .iter()
                    .map(|m| format!("module.{m}"))
                    .collect::<Vec<_>>()
                    .join("."),
            );
        }
    }
    let mut diags = Vec::new();
    let mut pick = |patterns: &[String], flag: &str| -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        for pattern in patterns {
            let hits: Vec<usize> = (0..addresses.len())
                .filter(|i| matches(pattern, &addresses[*i]))
                .collect();
            let orphan = plan
                .changes
                .iter()
                .any(|c| c.resource.is_none() && matches(pattern, &c.address));
            if hits.is_empty() && !orphan {
                let mut d = Diagnostic::new(
                    "infra::unknown-target",
                    format!(
                        "{flag} `{pattern}` matches no resource of stack `{}`",
                        stack.name
                    ),
                );
                d = match closest(pattern, names.iter().map(String::as_str)) {
                    Some(near) => d.help(format!("did you mean `{near}`?")),
                    None => d.help(
                        "give an address such as `service.api`, or a module such as `module.web`",
                    ),
                };
                diags.push(d);
            }
            out.extend(hits);
        }
        out
    };
    let targeted = pick(&selection.targets, "--target");
    let excluded = pick(&selection.excludes, "--exclude");
    if !diags.is_empty() {
        return Err(diags);
    }

    let dependencies = |i: usize| -> Vec<usize> { graph.dependencies(i).collect() };
    let dependents = |i: usize| -> Vec<usize> {
        (0..addresses.len())
            .filter(|j| graph.dependencies(*j).any(|d| d == i))
            .collect()
    };
    // Building: targets bring their dependencies, exclusions take their dependents.
    // Destroying: targets take their dependents, exclusions keep their dependencies.
    let (brought_by_target, taken_by_exclusion): (Walk<'_>, Walk<'_>) = if selection.destroy {
        (&dependents, &dependencies)
    } else {
        (&dependencies, &dependents)
    };
    let mut keep: BTreeMap<usize, Option<usize>> = if selection.targets.is_empty() {
        (0..addresses.len()).map(|i| (i, None)).collect()
    } else {
        closure(targeted, brought_by_target)
    };
    for i in closure(excluded, taken_by_exclusion).into_keys() {
        keep.remove(&i);
    }
    let wanted =
        |pattern_list: &[String], address: &str| pattern_list.iter().any(|p| matches(p, address));
    let changes = plan
        .changes
        .into_iter()
        .filter_map(|mut c| match c.resource {
            Some(i) => {
                let via = keep.get(&i)?;
                // Say why each resource of a targeted destroy goes.
                if selection.destroy && !selection.targets.is_empty() {
                    c.reasons = vec![match via {
                        None => "targeted".to_string(),
                        Some(on) => format!("depends on `{}`, which is destroyed", addresses[*on]),
                    }];
                }
                Some(c)
            }
            // A resource no longer declared: only when named (or everything is targeted).
            None => ((selection.targets.is_empty() || wanted(&selection.targets, &c.address))
                && !wanted(&selection.excludes, &c.address))
            .then_some(c),
        })
        .collect();
    Ok(Plan { changes, ..plan })
}

/// One step through the graph: the resources next to a resource, one way or the other.
type Walk<'a> = &'a dyn Fn(usize) -> Vec<usize>;

/// Everything reachable from `start` through `next`, each with the resource it was reached
/// from (`None` for the starting points).
fn closure(start: BTreeSet<usize>, next: Walk<'_>) -> BTreeMap<usize, Option<usize>> {
    let mut seen: BTreeMap<usize, Option<usize>> = start.iter().map(|i| (*i, None)).collect();
    let mut todo: Vec<usize> = start.into_iter().collect();
    while let Some(i) = todo.pop() {
        for j in next(i) {
            if let std::collections::btree_map::Entry::Vacant(e) = seen.entry(j) {
                e.insert(Some(i));
                todo.push(j);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_name_an_address_or_a_module() {
        assert!(matches("service.api", "service.api"));
        assert!(matches("module.web", "module.web.service.this"));
        assert!(!matches("module.web", "module.webhooks.service.this"));
        assert!(!matches("service.api", "service.api-worker"));
        assert!(!matches("service", "service.api"));
    }

    #[test]
    fn patterns_name_an_instance_or_every_instance() {
        assert!(matches("log-group.x[\"a\"]", "log-group.x[\"a\"]"));
        assert!(!matches("log-group.x[\"a\"]", "log-group.x[\"ab\"]"));
        assert!(matches("log-group.x", "log-group.x[\"a\"]"));
        assert!(!matches("log-group.x", "log-group.xy[\"a\"]"));
        assert!(matches("module.web", "module.web[\"eu\"].alarm.y"));
        assert!(matches("module.web[\"eu\"]", "module.web[\"eu\"].alarm.y"));
        assert!(!matches("module.web[\"eu\"]", "module.web[\"us\"].alarm.y"));
    }
}
