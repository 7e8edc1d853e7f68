//! The plan as Markdown for a pull-request comment: a summary table, destructive changes
//! called out first, each resource in a collapsible section with its diff, and a size cap
//! that keeps the comment postable however large the plan (GitHub takes 65,536 characters).

use std::fmt::Write;

use super::render::attribute_lines;
use super::{Action, Change, Plan};

/// Characters the comment may take; details beyond it are summarised, never cut mid-block.
pub const DEFAULT_LIMIT: usize = 60_000;

/// Renders `plan` within `limit` characters.
/// The plan's warnings, as a caution block a reviewer cannot miss.
fn warnings(out: &mut String, plan: &Plan) {
    if plan.warnings.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "> [!CAUTION]\n> {} warning{} (each is silenced on its line with `allow=\"why it is fine\"`):",
        plan.warnings.len(),
        if plan.warnings.len() == 1 { "" } else { "s" }
    );
    for w in &plan.warnings {
        let at = w
            .location
            .as_deref()
            .map(|l| format!(" (`{l}`)"))
            .unwrap_or_default();
        let _ = writeln!(out, "> - {}{at}", w.message);
    }
    out.push('\n');
}

pub fn markdown(plan: &Plan, limit: usize) -> String {
    let s = plan.summary();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### infra plan: stack `{}` in {}\n",
        plan.stack, plan.region
    );
    if s.changes() == 0 {
        let _ = writeln!(
            out,
            "No changes: live AWS matches the stack ({} resource{}).",
            s.unchanged,
            if s.unchanged == 1 { "" } else { "s" }
        );
        warnings(&mut out, plan);
        return out;
    }
    out.push_str("| add | change | replace | destroy | adopt |\n|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        s.create, s.update, s.replace, s.delete, s.adopt
    );
    let destructive: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .collect();
    warnings(&mut out, plan);
    if !destructive.is_empty() {
        out.push_str("> [!WARNING]\n> This plan deletes or replaces resources:\n");
        for c in &destructive {
            let _ = writeln!(out, "> - `{}` {}", c.address, why(c));
        }
        out.push('\n');
    }
    // Destructive changes first, then the rest in plan order.
    let ordered = destructive.iter().copied().chain(
        plan.changes
            .iter()
            .filter(|c| !matches!(c.action, Action::Delete | Action::Replace | Action::NoOp)),
    );
    let footer_room = 400;
    let mut omitted = Vec::new();
    for change in ordered {
        let section = section(change);
        if omitted.is_empty() && out.len() + section.len() + footer_room <= limit {
            out.push_str(&section);
        } else {
            omitted.push(change);
        }
    }
    let summary = super::render::summary_line(&s);
    if !omitted.is_empty() {
        let tail = "- …\n\n</details>\n\n".len() + summary.len() + 1;
        let _ = writeln!(
            out,
            "<details><summary>{} more resource{} (details left out to fit the comment; the job \
             log has the full plan)</summary>\n",
            omitted.len(),
            if omitted.len() == 1 { "" } else { "s" }
        );
        for c in omitted {
            let line = format!(
                "- `{} {}` {}\n",
                c.action.sigil(),
                c.address,
                c.action.describe()
            );
            if out.len() + line.len() + tail > limit {
                out.push_str("- …\n");
                break;
            }
            out.push_str(&line);
        }
        out.push_str("\n</details>\n\n");
    }
    let _ = writeln!(out, "{summary}");
    out
}

fn why(change: &Change) -> String {
    if change.reasons.is_empty() {
        change.action.describe().to_string()
    } else {
        format!(
            "{}: {}",
            change.action.describe(),
            change.reasons.join("; ")
        )
    }
}

fn section(change: &Change) -> String {
    let mut out = format!(
        "<details><summary><code>{} {}</code> {}</summary>\n\n",
        change.action.sigil(),
        escape(&change.address),
        escape(&why(change))
    );
    let lines = attribute_lines(change, "");
    if lines.is_empty() {
        out.push_str("(no attribute changes)\n");
    } else {
        // A fence longer than any run of backticks inside keeps values from closing it.
        let longest = longest_backtick_run(&lines);
        let fence = "`".repeat(longest.max(2) + 1);
        let _ = write!(out, "{fence}\n{lines}{fence}\n");
    }
    out.push_str("\n</details>\n\n");
    out
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Value};
    use crate::plan::AttrChange;

    fn change(address: &str, action: Action, attrs: Vec<AttrChange>) -> Change {
        Change {
            address: address.into(),
            kind: Kind::LogGroup,
            resource: None,
            action,
            reasons: Vec::new(),
            attrs,
            live: None,
            create_before_destroy: false,
        }
    }

    fn retention(before: i64, after: i64) -> AttrChange {
        AttrChange {
            name: "retention-days".into(),
            before: Some(Value::Int(before)),
            after: Some(Value::Int(after)),
            sensitive: false,
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
    fn destructive_changes_come_first_and_every_resource_folds() {
        let p = plan(vec![
            change("log-group.api", Action::Update, vec![retention(7, 30)]),
            change("log-group.old", Action::Delete, Vec::new()),
        ]);
        let out = markdown(&p, DEFAULT_LIMIT);
        let warning = out.find("> [!WARNING]").expect("a warning");
        let old = out
            .find("<code>- log-group.old</code>")
            .expect("the delete");
        let api = out
            .find("<code>~ log-group.api</code>")
            .expect("the update");
        assert!(warning < old && old < api, "{out}");
        assert!(out.contains("| 0 | 1 | 0 | 1 | 0 |"), "{out}");
        assert!(out.contains("```\nretention-days  7 → 30\n```"), "{out}");
    }

    #[test]
    fn a_huge_plan_stays_under_the_limit_and_names_what_it_left_out() {
        let changes = (0..2_000)
            .map(|i| {
                change(
                    &format!("log-group.g{i}"),
                    Action::Update,
                    vec![retention(7, 30)],
                )
            })
            .collect();
        let out = markdown(&plan(changes), 20_000);
        assert!(out.len() <= 20_000, "{}", out.len());
        assert!(out.contains("more resources (details left out"), "{out}");
        assert!(out.trim_end().ends_with("0 to adopt."), "{out}");
    }
}
