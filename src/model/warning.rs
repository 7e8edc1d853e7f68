//! Warnings: what a stack may do but is likely a mistake (a credential in plain environment, a
//! single task, a mutable image tag, a secret nobody has set). Shown by `validate` and in every
//! plan (text, Markdown, JSON); never an error, never a change of exit code. Each one is
//! silenced on the line that causes it, with a reason: `allow="..."`.

use super::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Stable code, e.g. `infra::single-task`.
    pub code: &'static str,
    /// The resource it concerns, if any.
    pub address: Option<String>,
    pub message: String,
    /// What to do, and how to say it is fine.
    pub help: String,
    /// Where it is written, if anywhere.
    pub span: Option<Span>,
    /// The same, as `file:line:column`, for renderings that do not read the files.
    pub location: Option<String>,
}
