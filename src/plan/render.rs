//! The human rendering of a plan: one block per changed resource with its sigil, reasons and
//! per-attribute before → after, multi-line values as unified diffs, sensitive values masked,
//! and the summary line.

use std::fmt::Write;

use similar::TextDiff;

use super::{Action, AttrChange, Change, Plan, Summary};
use crate::model::Value;

/// ANSI colours, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn action(&self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Replace => "35",
            Action::Delete => "31",
            Action::Adopt => "36",
            Action::NoOp => "0",
        };
        self.paint(code, text)
    }
}

/// The plan as text: changed resources, then the summary line.
pub fn text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let summary = plan.summary();
    if summary.changes() == 0 {
        let _ = writeln!(
            out,
            "No changes: live AWS matches stack `{}` in {} ({} resource{}).",
            plan.stack,
            plan.region,
            summary.unchanged,
            if summary.unchanged == 1 { "" } else { "s" }
        );
        return out;
    }
    let _ = writeln!(
        out,
        "infra will make these changes to stack `{}` in {}:\n",
        plan.stack, plan.region
    );
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        resource(&mut out, change, style);
        out.push('\n');
    }
    out.push_str(&summary_line(&summary));
    out.push('\n');
    out
}

/// `Plan: 2 to add, 1 to change, 0 to replace, 1 to destroy, 0 to adopt.`
pub fn summary_line(s: &Summary) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to replace, {} to destroy, {} to adopt.",
        s.create, s.update, s.replace, s.delete, s.adopt
    )
}

fn resource(out: &mut String, change: &Change, style: Style) {
    let head = format!("{} {}", change.action.sigil(), change.address);
    let _ = write!(
        out,
        "{}: {}",
        style.action(change.action, &head),
        change.action.describe()
    );
    if !change.reasons.is_empty() {
        let _ = write!(out, " ({})", change.reasons.join("; "));
    }
    out.push('\n');
    let width = change
        .attrs
        .iter()
        .flat_map(lines)
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    for attr in &change.attrs {
        for (name, text) in lines(attr) {
            let pad = width - name.chars().count();
            let _ = writeln!(out, "    {name}{}  {text}", " ".repeat(pad));
        }
    }
}

/// One or more lines for an attribute: maps are shown key by key.
fn lines(attr: &AttrChange) -> Vec<(String, String)> {
    if attr.sensitive {
        let text = match (&attr.before, &attr.after) {
            (None, Some(_)) => "(sensitive value)",
            (Some(_), None) => "(sensitive value removed)",
            _ => "(sensitive value changed)",
        };
        return vec![(attr.name.clone(), text.into())];
    }
    let mut out = Vec::new();
    flatten(
        &attr.name,
        attr.before.as_ref(),
        attr.after.as_ref(),
        &mut out,
    );
    if attr.forces_replacement
        && let Some(first) = out.first_mut()
    {
        first.1.push_str("  (forces replacement)");
    }
    out
}

fn flatten(
    name: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<(String, String)>,
) {
    if let (Some(Value::Map(_)) | None, Some(Value::Map(_)) | None) = (before, after)
        && (before.is_some() || after.is_some())
    {
        let empty = Default::default();
        let b = before.and_then(Value::as_map).unwrap_or(&empty);
        let a = after.and_then(Value::as_map).unwrap_or(&empty);
        let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for key in keys {
            let (x, y) = (b.get(key), a.get(key));
            if x != y || before.is_none() {
                flatten(&format!("{name}.{key}"), x, y, out);
            }
        }
        return;
    }
    match (before, after) {
        (None, Some(a)) => out.push((name.to_string(), show(a))),
        (Some(b), None) => out.push((name.to_string(), format!("{} → (none)", show(b)))),
        (Some(Value::String(b)), Some(Value::String(a)))
            if b.contains('\n') || a.contains('\n') =>
        {
            let diff = TextDiff::from_lines(b.as_str(), a.as_str());
            let text = diff.unified_diff().context_radius(3).to_string();
            out.push((name.to_string(), "(multi-line value changed)".into()));
            for line in text.lines() {
                out.push((String::new(), format!("  {line}")));
            }
        }
        (Some(b), Some(a)) => out.push((name.to_string(), format!("{} → {}", show(b), show(a)))),
        (None, None) => {}
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) if s.contains('\n') => format!("<<{} lines>>", s.lines().count()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn change(action: Action, attrs: Vec<AttrChange>) -> Change {
        Change {
            address: "secret.db".into(),
            kind: Kind::Secret,
            resource: Some(0),
            action,
            reasons: Vec::new(),
            attrs,
            live: None,
        }
    }

    fn attr(
        name: &str,
        before: Option<Value>,
        after: Option<Value>,
        sensitive: bool,
    ) -> AttrChange {
        AttrChange {
            name: name.into(),
            before,
            after,
            sensitive,
            forces_replacement: false,
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            stack: "shop".into(),
            region: "eu-west-1".into(),
            changes,
        }
    }

    #[test]
    fn multi_line_values_are_unified_diffs_and_secrets_are_masked() {
        let s = |t: &str| Some(Value::String(t.into()));
        let p = plan(vec![change(
            Action::Update,
            vec![
                attr(
                    "description",
                    s("one\ntwo\nthree\n"),
                    s("one\n2\nthree\n"),
                    false,
                ),
                attr("value", s("old"), s("new"), true),
            ],
        )]);
        let out = text(&p, Style { color: false });
        assert!(out.contains("-two\n"), "{out}");
        assert!(out.contains("+2\n"), "{out}");
        assert!(
            out.contains("value        (sensitive value changed)"),
            "{out}"
        );
        assert!(!out.contains("old") && !out.contains("new"), "{out}");
        assert!(
            out.ends_with("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy, 0 to adopt.\n")
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let p = plan(vec![change(Action::Create, Vec::new())]);
        assert!(!text(&p, Style { color: false }).contains('\x1b'));
        assert!(text(&p, Style { color: true }).contains("\x1b[32m+ secret.db\x1b[0m"));
    }

    #[test]
    fn unknown_values_are_known_after_apply() {
        let p = plan(vec![change(
            Action::Create,
            vec![attr("description", None, Some(Value::Unknown), false)],
        )]);
        assert!(text(&p, Style { color: false }).contains("description  (known after apply)"));
    }
}
