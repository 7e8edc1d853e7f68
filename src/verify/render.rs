//! The verify report as text (one line per check), JSON (for CI) and Markdown (for a
//! pull-request or incident comment).

use std::fmt::Write;

use super::{Outcome, Report};

/// `N checks, P passed, F failed[, E could not be made]`.
pub fn summary(report: &Report) -> String {
    let n = report.checks.len();
    let failed = report.count(Outcome::Fail);
    let errors = report.count(Outcome::Error);
    let mut s = format!(
        "{n} check{}, {} passed, {failed} failed",
        if n == 1 { "" } else { "s" },
        report.count(Outcome::Pass)
    );
    if errors > 0 {
        let _ = write!(s, ", {errors} could not be made");
    }
    s
}

/// One aligned line per check: outcome, subject, what, why; then the summary.
pub fn text(report: &Report) -> String {
    let mut out = format!("Verify stack `{}` in {}:\n", report.stack, report.region);
    let subject = report
        .checks
        .iter()
        .map(|c| c.subject.chars().count())
        .max()
        .unwrap_or(0);
    let what = report
        .checks
        .iter()
        .map(|c| c.what.len())
        .max()
        .unwrap_or(0);
    for c in &report.checks {
        let _ = writeln!(
            out,
            "  {:5}  {:subject$}  {:what$}  {}",
            c.outcome.word(),
            c.subject,
            c.what,
            c.detail
        );
    }
    let _ = writeln!(out, "{}.", summary(report));
    out
}

/// `{"stack", "region", "passed", "summary": {...}, "checks": [...]}`.
pub fn json(report: &Report) -> serde_json::Value {
    let checks: Vec<serde_json::Value> = report
        .checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "subject": c.subject,
                "check": c.what,
                "outcome": match c.outcome {
                    Outcome::Pass => "pass",
                    Outcome::Fail => "fail",
                    Outcome::Error => "error",
                },
                "detail": c.detail,
            })
        })
        .collect();
    serde_json::json!({
        "stack": report.stack,
        "region": report.region,
        "passed": report.exit_code() == 0,
        "summary": {
            "pass": report.count(Outcome::Pass),
            "fail": report.count(Outcome::Fail),
            "error": report.count(Outcome::Error),
        },
        "checks": checks,
    })
}

/// A heading, the summary and a table, failures first.
pub fn markdown(report: &Report) -> String {
    let mut out = format!(
        "### infra verify: `{}` ({})\n\n{}.\n\n",
        report.stack,
        report.region,
        summary(report)
    );
    table(&mut out, report.checks.iter());
    out
}

/// The summary and a table of the checks that did not pass (none: no table), for
/// `infra runbook --live`.
pub fn markdown_failures(report: &Report) -> String {
    let mut out = format!("{}.\n", summary(report));
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .collect();
    if !failing.is_empty() {
        out.push('\n');
        table(&mut out, failing.into_iter());
    }
    out
}

/// One row per check, failures first.
fn table<'a>(out: &mut String, checks: impl Iterator<Item = &'a super::Check>) {
    out.push_str("| | subject | check | detail |\n|---|---|---|---|\n");
    let mut rows: Vec<_> = checks.collect();
    rows.sort_by_key(|c| match c.outcome {
        Outcome::Fail => 0,
        Outcome::Error => 1,
        Outcome::Pass => 2,
    });
    for c in rows {
        let mark = match c.outcome {
            Outcome::Pass => "✅",
            Outcome::Fail => "❌",
            Outcome::Error => "⚠️",
        };
        let _ = writeln!(
            out,
            "| {mark} | `{}` | {} | {} |",
            c.subject,
            c.what,
            c.detail.replace('|', "\\|")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::Check;
    use super::*;

    #[test]
    fn the_report_reads_one_line_per_check_and_a_summary() {
        let report = Report {
            stack: "shop".into(),
            region: "eu-west-1".into(),
            checks: vec![
                Check::new("service.app", "tasks", Outcome::Pass, "running 2/2"),
                Check::new(
                    "alarm.5xx",
                    "alarm",
                    Outcome::Fail,
                    "`shop-5xx` is in ALARM",
                ),
            ],
        };
        assert_eq!(
            text(&report),
            "Verify stack `shop` in eu-west-1:\n  pass   service.app  tasks  running 2/2\n  \
             FAIL   alarm.5xx    alarm  `shop-5xx` is in ALARM\n2 checks, 1 passed, 1 failed.\n"
        );
        assert_eq!(report.exit_code(), 2);
        assert_eq!(json(&report)["summary"]["fail"], 1);
        let md = markdown(&report);
        assert!(md.find("alarm.5xx") < md.find("service.app"), "{md}");
        let failures = markdown_failures(&report);
        assert!(
            failures.starts_with("2 checks, 1 passed, 1 failed.\n\n"),
            "{failures}"
        );
        assert!(
            failures.contains("| ❌ | `alarm.5xx` | alarm |"),
            "{failures}"
        );
        assert!(!failures.contains("service.app"), "{failures}");
    }
}
