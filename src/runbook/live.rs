//! The `--live` section of a runbook: what `infra status` reads and `infra verify` judges, as
//! Markdown, stamped with when it was read. Not deterministic, so never `--check`ed.

use crate::status::Status;
use crate::verify::Report;

/// `## Live (read TIME)`: the status of the stack, then the verify summary and the checks that
/// did not pass. `read_at` is the UTC time the reading started.
pub fn section(status: &Status, report: &Report, read_at: &str) -> String {
    let mut out = format!(
        "\n## Live (read {read_at})\n\nRead from AWS by `infra runbook --live`: true when it was \
         read, not since. `infra status` and `infra verify` read it again.\n\n"
    );
    out.push_str(&crate::status::render::markdown(status, "###"));
    out.push_str(
        "\nThe deploy times are ECS's: infra records no deployer (its tags say which stack owns \
         a resource, not who deployed it).\n",
    );
    out.push_str("\n### Verify\n\n");
    out.push_str(&crate::verify::render::markdown_failures(report));
    out
}

/// Now, in UTC to the second: `2026-12-02T05:10:42Z`.
pub fn now() -> String {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    aws_smithy_types::DateTime::from_secs(now.secs())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| format!("{} s after the Unix epoch", now.secs()))
}
