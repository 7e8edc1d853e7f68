//! The human rendering of a plan: one block per changed resource with its sigil, reasons and
//! per-attribute before → after, multi-line values as unified diffs, sensitive values masked,
//! and the summary line.

use std::fmt::Write;

use similar::TextDiff;

use super::paths::{PathChange, paths};
use super::{Action, Change, Plan, Summary};
use crate::explain::describe::wrap;
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
    write_text(plan, style, &mut |piece| out.push_str(piece));
    out
}

/// The plan as text, handed to `write` a resource at a time: a plan of thousands of
/// resources is never held as one string.
pub fn write_text(plan: &Plan, style: Style, write: &mut dyn FnMut(&str)) {
    let summary = plan.summary();
    if summary.changes() == 0 {
        write(&format!(
            "No changes: live AWS matches stack `{}` in {} ({} resource{}).\n",
            plan.stack,
            plan.region,
            summary.unchanged,
            if summary.unchanged == 1 { "" } else { "s" }
        ));
        write(&warning_lines(&plan.warnings));
        return;
    }
    write(&format!(
        "infra will make these changes to stack `{}` in {}:\n\n",
        plan.stack, plan.region
    ));
    let mut out = String::new();
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        out.clear();
        resource(&mut out, change, style);
        out.push('\n');
        write(&out);
    }
    write(&summary_line(&summary));
    write("\n");
    write(&warning_lines(&plan.warnings));
}

/// Where the text of a warning wraps.
const WARNING_WIDTH: usize = 100;

/// The warnings of a plan, after its summary: what is likely a mistake, and where.
pub fn warning_lines(warnings: &[crate::model::Warning]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nWarnings ({}; each is silenced on its line with `allow=\"why it is fine\"`):\n",
        warnings.len()
    );
    for w in warnings {
        // Wrapped like the rest of the plan, which stays within 130 columns.
        let message = wrap(&w.message, WARNING_WIDTH, "    ");
        out.push_str("  - ");
        out.push_str(message.get(4..).unwrap_or_default());
        if let Some(at) = &w.location {
            let _ = writeln!(out, "    at {at}");
        }
        out.push_str(&wrap(&format!("help: {}", w.help), WARNING_WIDTH, "    "));
    }
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
    out.push_str(&attribute_lines(change, "    "));
}

/// The changed attributes of one resource, one aligned line per changed path, every line
/// indented.
pub fn attribute_lines(change: &Change, indent: &str) -> String {
    let lines: Vec<(String, String)> = paths(change).iter().flat_map(lines).collect();
    let width = lines
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, text) in lines {
        let pad = width - name.chars().count();
        let _ = writeln!(out, "{indent}{name}{}  {text}", " ".repeat(pad));
    }
    out
}

/// The line (or, for a multi-line value, the lines of a unified diff) of one changed path.
fn lines(p: &PathChange) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if p.sensitive {
        let text = match (&p.before, &p.after) {
            (None, Some(_)) => "(sensitive value)",
            (Some(_), None) => "(sensitive value removed)",
            _ => "(sensitive value changed)",
        };
        out.push((p.path.clone(), text.to_string()));
    } else {
        match (&p.before, &p.after) {
            (None, Some(a)) if p.within_existing => {
                out.push((p.path.clone(), format!("(none) → {}", show(a))));
            }
            (None, Some(a)) => out.push((p.path.clone(), show(a))),
            (Some(b), None) => out.push((p.path.clone(), format!("{} → (none)", show(b)))),
            (Some(Value::String(b)), Some(Value::String(a)))
                if b.contains('\n') || a.contains('\n') =>
            {
                let diff = TextDiff::from_lines(b.as_str(), a.as_str());
                let text = diff.unified_diff().context_radius(3).to_string();
                out.push((p.path.clone(), "(multi-line value changed)".into()));
                for line in text.lines() {
                    out.push((String::new(), format!("  {line}")));
                }
            }
            (Some(b), Some(a)) => {
                out.push((p.path.clone(), format!("{} → {}", show(b), show(a))));
            }
            (None, None) => {}
        }
    }
    if p.forces_replacement
        && let Some(first) = out.first_mut()
    {
        first.1.push_str("  (forces replacement)");
    }
    out
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) if s.contains('\n') => format!("<<{} lines>>", s.lines().count()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::Kind;
    use crate::plan::AttrChange;

    fn change(action: Action, attrs: Vec<AttrChange>) -> Change {
        Change {
            address: "secret.db".into(),
            kind: Kind::Secret,
            resource: Some(0),
            action,
            reasons: Vec::new(),
            attrs,
            live: None,
            create_before_destroy: false,
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
            names: Default::default(),
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            stack: "shop".into(),
            region: "eu-west-1".into(),
            changes,
            destroying: false,
            warnings: Vec::new(),
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
    fn containers_are_shown_by_name_and_only_what_changed() {
        let container = |image: &str, port: i64| {
            Value::Map(BTreeMap::from([
                ("name".to_string(), Value::String("web".into())),
                ("image".to_string(), Value::String(image.into())),
                ("essential".to_string(), Value::Bool(true)),
                (
                    "port-mapping".to_string(),
                    Value::List(vec![Value::Map(BTreeMap::from([
                        ("container-port".to_string(), Value::Int(port)),
                        ("protocol".to_string(), Value::String("tcp".into())),
                    ]))]),
                ),
            ]))
        };
        let mut c = change(
            Action::Update,
            vec![attr(
                "container",
                Some(Value::List(vec![container("api:1", 80)])),
                Some(Value::List(vec![container("api:2", 8080)])),
                false,
            )],
        );
        c.kind = Kind::TaskDefinition;
        let out = text(&plan(vec![c]), Style { color: false });
        let expected = [
            "    container.web.image              \"api:1\" → \"api:2\"",
            "    container.web.port-mapping.80    {protocol = \"tcp\"} → (none)",
            "    container.web.port-mapping.8080  (none) → {protocol = \"tcp\"}",
        ];
        assert!(out.contains(&(expected.join("\n") + "\n")), "{out}");
        assert!(!out.contains("essential"), "{out}");
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
