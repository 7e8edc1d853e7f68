//! A `probe` node of the stack file: an HTTP request `infra verify` makes and what it expects
//! back, e.g. `probe "ready" { url "https://shop.example.com/health/ready"; expect-status 200 }`.

use std::time::Duration;

use super::{Span, Value};

/// How long a probe waits when the stack does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest `timeout` a probe may have: verify runs in CI and after apply.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// One declared probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub name: String,
    /// The URL (`http://` or `https://`), a string with its variables filled in (kept as a
    /// value, so that a reference could be resolved against live AWS later).
    pub url: Value,
    /// The status the answer must have (200 unless the stack says otherwise).
    pub expect_status: u16,
    /// Text the answer's body must contain, if any.
    pub expect_body: Option<String>,
    pub timeout: Duration,
    /// The node's name in its file.
    pub span: Span,
}
