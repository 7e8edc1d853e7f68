//! How a failure to talk to AWS reads, the same in every command: no credentials, an unknown
//! profile, AWS unreachable, credentials refused, a region the account has not enabled, a
//! denied or throttled call; one diagnostic each, with the help that fits its cause.

use crate::lang::Diagnostic;
use crate::providers::aws::{Clients, ConnectError};
use crate::providers::{Blocker, ProviderError};
use crate::refresh::Refreshed;

/// Why no AWS client could be made.
pub fn connect_diagnostic(error: &ConnectError) -> Diagnostic {
    match error {
        ConnectError::NoCredentials => {
            Diagnostic::new("infra::no-credentials", "no AWS credentials found").help(
                "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); to try infra \
                 without an AWS account, run `scripts/quickstart`, which uses a local emulator",
            )
        }
        ConnectError::UnknownProfile { profile, known } => {
            let defined = match known.as_slice() {
                [] => "no profile is defined there".to_string(),
                known => format!(
                    "the profiles defined there are {}",
                    known
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Diagnostic::new(
                "infra::unknown-profile",
                format!(
                    "the AWS profile `{profile}` that AWS_PROFILE names is not defined in \
                     ~/.aws/config or ~/.aws/credentials"
                ),
            )
            .help(format!(
                "{defined}; set AWS_PROFILE to one of them, or create it with `aws configure \
                 --profile {profile}` (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE move the \
                 files)"
            ))
        }
        ConnectError::Credentials(message) => Diagnostic::new(
            "infra::credentials",
            format!("AWS credentials could not be loaded: {message}"),
        )
        .help("check AWS_PROFILE and the profile's settings in ~/.aws/config"),
    }
}

/// The diagnostic of a failure no call of the run gets past.
pub fn blocker_diagnostic(blocker: &Blocker) -> Diagnostic {
    Diagnostic::new(blocker.code(), blocker.message()).help(blocker.help())
}

/// A credentials refusal in a region is a region the account has not enabled when the same
/// credentials work in the partition's home region: asked there once, only on that failure.
pub async fn confirm(blocker: Blocker, clients: &Clients, region: &str) -> Blocker {
    if blocker.may_be_region() && crate::providers::aws::key_works_elsewhere(clients, region).await
    {
        Blocker::RegionNotEnabled {
            region: region.to_string(),
        }
    } else {
        blocker
    }
}

/// Refresh's blockers, confirmed ([`confirm`]).
pub async fn confirm_problems(refreshed: &mut Refreshed, clients: &Clients, region: &str) {
    for problem in &mut refreshed.problems {
        let Some(blocker) = problem.blocker.take() else {
            continue;
        };
        let blocker = confirm(blocker, clients, region).await;
        problem.message = blocker.message();
        problem.help = Some(blocker.help());
        problem.blocker = Some(blocker);
    }
}

/// A failed call outside refresh (the lock, the account): a blocker as itself, anything else
/// as `what` failed, with the error's own help.
pub async fn call_diagnostic(
    what: &str,
    error: &ProviderError,
    clients: &Clients,
    region: &str,
) -> Diagnostic {
    if let Some(blocker) = Blocker::of(error) {
        return blocker_diagnostic(&confirm(blocker, clients, region).await);
    }
    let diagnostic = Diagnostic::new("infra::aws", format!("{what}: {error}"));
    match error.help() {
        Some(help) => diagnostic.help(help),
        None => diagnostic,
    }
}
