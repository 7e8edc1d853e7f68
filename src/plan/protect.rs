//! `prevent-destroy`: no plan that would delete or replace a protected resource is ever made,
//! whatever the command (apply, a rename, a removal, `destroy`, `destroy --target`).
//!
//! A resource is protected when its stack text says so, or when the live resource carries the
//! protection infra recorded on it (the `infra:prevent-destroy` tag, or a record's claim): the
//! protection outlives the block and the resource's removal from the stack. It is lifted
//! deliberately, by an apply that sets `prevent-destroy #false` (which removes the record of it)
//! before the plan that deletes.

use crate::lang::Diagnostic;
use crate::model::Stack;

use super::{Action, Plan};

/// Every change of `plan` that would delete or replace a protected resource, as diagnostics.
pub fn check(plan: &Plan, stack: &Stack) -> Result<(), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    for change in &plan.changes {
        if !matches!(change.action, Action::Delete | Action::Replace) {
            continue;
        }
        let resource = change.resource.map(|i| &stack.resources[i]);
        let written = resource.and_then(|r| r.lifecycle.prevent_destroy);
        let recorded = change.live.as_ref().is_some_and(|l| l.protected());
        if written.is_none() && !recorded {
            continue;
        }
        let address = &change.address;
        let what = if change.action == Action::Replace {
            "replace"
        } else {
            "delete"
        };
        let mut d = Diagnostic::new(
            "infra::prevent-destroy",
            format!("`{address}` is protected by prevent-destroy, and this plan would {what} it"),
        );
        d = match (written, resource) {
            (Some(span), _) => d.label(span, "prevent-destroy is set here"),
            (None, Some(r)) => d.label(
                r.span,
                "the live resource still carries the protection (tag `infra:prevent-destroy`)",
            ),
            (None, None) => d,
        };
        let lift = "to lift the protection deliberately, set `prevent-destroy #false` (or remove \
                    it) and apply: that removes it from the live resource";
        let help = match (change.action, resource) {
            (Action::Replace, _) => format!(
                "{} forces the replacement: change it back; {lift}, then apply the replacement",
                change.reasons.first().map_or("an attribute", |r| r
                    .trim_end_matches(" forces replacement"))
            ),
            (_, Some(_)) if plan.destroying => {
                format!("leave it out with `--exclude {address}`; or, {lift}, then destroy")
            }
            (_, Some(_)) => format!("{lift}, then apply this plan"),
            (_, None) => "it was removed from the stack, but its live resource is still \
                          protected: keep it in the stack, or put it back with \
                          `prevent-destroy #false` and apply (that lifts the protection), then \
                          remove it"
                .to_string(),
        };
        diags.push(d.help(help));
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}
