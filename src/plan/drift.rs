//! The drift report: where live AWS differs from the stack, read-only, for a scheduled job.

use std::fmt::Write;

use super::render::attribute_lines;
use super::{Action, Plan};

/// Resources whose live state differs from the stack.
pub fn drifted(plan: &Plan) -> usize {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .count()
}

/// The report: one block per drifted resource, live value → the stack's value.
pub fn report(plan: &Plan) -> String {
    let n = drifted(plan);
    let mut out = String::new();
    if n == 0 {
        let _ = writeln!(
            out,
            "No drift: live AWS matches stack `{}` in {} ({} resources).",
            plan.stack,
            plan.region,
            plan.changes.len()
        );
        return out;
    }
    let _ = writeln!(
        out,
        "Drift: live AWS differs from stack `{}` in {} for {n} resource{} (live → stack):\n",
        plan.stack,
        plan.region,
        if n == 1 { "" } else { "s" }
    );
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let what = match change.action {
            Action::Create => "missing: declared in the stack, not found in AWS",
            Action::Delete => "owned by the stack but no longer declared",
            Action::Adopt => "exists without the stack's ownership tags",
            Action::Replace => "differs in an attribute that forces replacement",
            Action::Update | Action::NoOp => "changed outside infra",
        };
        let _ = writeln!(out, "{} {}: {what}", change.action.sigil(), change.address);
        if change.action != Action::Create {
            out.push_str(&attribute_lines(change, "    "));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Run `infra apply` to bring AWS back to the stack, or change the stack."
    );
    out
}
