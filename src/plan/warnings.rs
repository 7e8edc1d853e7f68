//! Warnings only live AWS can tell: a secret nobody has given a value (an operator-managed
//! secret about to be created empty, or one that exists without a current version). Tasks that
//! read such a secret fail to start until someone sets it.

use crate::model::{Kind, Stack, Value, Warning};
use crate::providers::{CURRENT_VERSION, Live};
use crate::refresh::Refreshed;

/// Whether a secret's stack text gives infra a value to write (`from-env`, `from-file`,
/// `generate`); `unmanaged` or no `value` block leaves it to operators.
fn written(attrs: &std::collections::BTreeMap<String, Value>) -> bool {
    attrs.get("value").and_then(Value::as_map).is_some_and(|v| {
        v.contains_key("from-env") || v.contains_key("from-file") || v.contains_key("generate")
    })
}

/// The stack's warnings and those of what refresh read.
pub fn of(stack: &Stack, refreshed: &Refreshed, destroy: bool) -> Vec<Warning> {
    // A plan that deletes has nothing to say about how the stack is written.
    if destroy {
        return Vec::new();
    }
    let mut out = stack.warnings.clone();
    for (i, r) in stack.resources.iter().enumerate() {
        let allowed = stack
            .allowed
            .get(&r.address)
            .is_some_and(|paths| paths.contains("value"));
        if r.kind() != Kind::Secret || written(&r.attrs) || allowed {
            continue;
        }
        let name = r.attrs.get("name").and_then(Value::as_str).unwrap_or("?");
        let state = match refreshed.live[i].as_ref() {
            None => "is created without a value",
            Some(live) if empty(live) => "has no value yet",
            Some(_) => continue,
        };
        out.push(Warning {
            code: "infra::secret-without-value",
            address: Some(r.address.to_string()),
            message: format!(
                "secret `{name}` {state}: its value is set by hand, and tasks that read it fail \
                 to start until someone does"
            ),
            help: format!(
                "set it once created: `aws secretsmanager put-secret-value --secret-id {name} \
                 --secret-string …`; or let infra write it (`value from-env=\"…\"`, \
                 `from-file=`, or a `generate` block)"
            ),
            span: Some(r.span),
            location: Some(crate::lang::warnings::location(&stack.sources, r.span)),
        });
    }
    out
}

/// A live secret with no version AWS serves as current.
fn empty(live: &Live) -> bool {
    live.pending_deletion.is_none() && !live.private.contains_key(CURRENT_VERSION)
}
