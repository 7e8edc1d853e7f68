//! What a stack uses but does not own, checked between refresh and diff, before any write:
//! the images its containers run (`images`) and the secrets they read (`secrets`). A problem
//! found here is a diagnostic at the line that names the thing, and the plan stops.

mod images;
mod secrets;

pub use images::EcrImage;
pub use secrets::secret_arn;

use crate::lang::Diagnostic;
use crate::model::{Stack, Warning};
use crate::providers::preflight::Preflight;
use crate::refresh::Refreshed;

/// What the preflight found.
#[derive(Debug, Default)]
pub struct Checked {
    /// What stops the plan.
    pub diagnostics: Vec<Diagnostic>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `--allow-older-image`: deploying an image pushed before the running one is meant.
    pub allow_older_image: bool,
}

/// Checks the stack's images (pinning found tags to their digest) and secrets.
pub async fn check(
    stack: &mut Stack,
    refreshed: &Refreshed,
    preflight: &dyn Preflight,
    options: Options,
) -> Checked {
    let mut out = Checked::default();
    let secrets = secrets::check(secrets::collect(stack), preflight);
    let images = images::check(stack, refreshed, preflight, options, &mut out);
    // The two read different services; neither waits for the other.
    let (found, ()) = futures::join!(secrets, images);
    out.diagnostics.extend(found);
    out
}
