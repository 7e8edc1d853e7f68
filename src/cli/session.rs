//! What `plan`, `apply` and `destroy` share: loading, connecting to AWS, refreshing and diffing.

use std::collections::BTreeSet;
use std::process::ExitCode;

use crate::apply::lock::Holder;
use crate::graph::Graph;
use crate::lang::Diagnostic;
use crate::model::Stack;
use crate::plan::select::{Selection, select};
use crate::plan::{DiffOptions, Plan};
use crate::providers::Providers;
use crate::providers::aws::lock_table::{LockError, LockTable};
use crate::providers::aws::{CallCounter, Clients, ConnectError, Connection};
use crate::refresh::Refreshed;
use crate::ui::Ui;

/// How to reach AWS.
#[derive(Debug, clap::Args)]
pub struct AwsArgs {
    /// Send every AWS call to this endpoint, e.g. a local emulator (AWS_ENDPOINT_URL also works).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print the AWS calls made, per operation, when done (on stderr).
    #[arg(long)]
    pub stats: bool,
    /// Requests per second per AWS service, at most; infra slows down below it by itself when
    /// AWS throttles.
    #[arg(long, value_name = "PER_SECOND", env = "INFRA_MAX_RATE", default_value_t = crate::providers::aws::rate::DEFAULT_MAX_RATE)]
    pub max_rate: f64,
}

/// Choices about what the plan may do.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Take over an existing resource no stack owns, e.g. --adopt record.www (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub adopt: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
}

/// Which part of the stack to act on.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectArgs {
    /// Only this resource or module (with what it depends on), e.g. --target module.web
    /// (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub target: Vec<String>,
    /// Leave out this resource or module (with what depends on it) (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub exclude: Vec<String>,
}

impl SelectArgs {
    fn selection(&self) -> Selection {
        Selection {
            targets: self.target.clone(),
            excludes: self.exclude.clone(),
        }
    }
}

/// How apply and destroy run.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Go ahead without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// At most this many changes in flight at once (the per-service rate limit, --max-rate,
    /// keeps AWS from being flooded).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// How long a changed resource may take to become stable (an ECS deployment), e.g. 10m;
    /// at most 24h.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub wait_timeout: std::time::Duration,
    /// How long to wait for another apply of the stack to release its lock, e.g. 5m; at most
    /// 24h.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
}

impl RunArgs {
    pub fn wait_timeout(&self) -> std::time::Duration {
        self.wait_timeout
    }
}

/// The longest `--wait-timeout` or `--lock-timeout`: a day.
pub const MAX_DURATION_SECS: u64 = 24 * 3600;

/// `90s`, `10m`, `1h` or plain seconds, at most [`MAX_DURATION_SECS`].
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let not_a_duration = || format!("`{text}` is not a duration such as 90s, 10m or 1h");
    let too_long = || format!("`{text}` is longer than the maximum of 24h");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    if number.is_empty() {
        return Err(not_a_duration());
    }
    let per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(not_a_duration()),
    };
    // Only digits are left, so a number that does not fit is too long, not malformed.
    let n: u64 = number.parse().map_err(|_| too_long())?;
    match n.checked_mul(per_unit) {
        Some(seconds) if seconds <= MAX_DURATION_SECS => {
            Ok(std::time::Duration::from_secs(seconds))
        }
        _ => Err(too_long()),
    }
}

/// A loaded stack, connected and refreshed.
pub struct Session {
    pub stack: Stack,
    pub graph: Graph,
    pub providers: Providers,
    pub refreshed: Refreshed,
    pub calls: CallCounter,
    /// `None` when planning against the in-memory fake (`INFRA_FAKE_AWS=1`, benchmarks only).
    clients: Option<Clients>,
    /// The apply lock this session holds: table, key, our id.
    held: Option<(LockTable, String, String)>,
}

/// A tokio runtime for one command.
pub fn runtime(ui: &Ui) -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            ui.err(&format!("error: cannot start the async runtime: {e}\n"));
            ExitCode::from(1)
        })
}

impl Session {
    /// Loads the stack, connects and reads live state.
    pub async fn open(
        stack_args: &super::StackArgs,
        aws: &AwsArgs,
        ui: &Ui,
    ) -> Result<Session, ExitCode> {
        Session::open_locked(stack_args, aws, None, ui).await
    }

    /// Loads, connects, takes the stack's apply lock when `lock` says so (before reading
    /// anything, so the plan is made against a stack nobody else is changing), and refreshes.
    pub async fn open_locked(
        stack_args: &super::StackArgs,
        aws: &AwsArgs,
        lock: Option<(&str, std::time::Duration)>,
        ui: &Ui,
    ) -> Result<Session, ExitCode> {
        let stack = stack_args.load(ui)?;
        let graph = crate::graph::build(&stack).map_err(|diagnostics| {
            ui.diagnostics(&diagnostics, &stack.sources);
            ExitCode::from(1)
        })?;
        let connection = Connection {
            region: stack.region.clone(),
            endpoint_url: aws.endpoint_url.clone(),
            max_rate: aws.max_rate,
            stack: stack.name.clone(),
            base_dir: stack_args
                .stack
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default(),
        };
        let calls = CallCounter::default();
        // Benchmarks measure the engine without AWS: a plan against empty in-memory providers.
        if lock.is_none() && std::env::var("INFRA_FAKE_AWS").is_ok_and(|v| v == "1") {
            let providers = crate::providers::fake::in_memory();
            let refreshed = crate::refresh::refresh(&stack, &providers).await;
            return Ok(Session {
                stack,
                graph,
                providers,
                refreshed,
                calls,
                clients: None,
                held: None,
            });
        }
        let clients = match crate::providers::aws::connect(&connection, &calls).await {
            Ok(c) => c,
            Err(e) => {
                ui.diagnostics(&[connect_diagnostic(&e)], &stack.sources);
                return Err(ExitCode::from(1));
            }
        };
        let mut held = None;
        if let Some((command, timeout)) = lock {
            let table = LockTable::new(clients.dynamodb.clone());
            let key = format!("{}@{}", stack.name, stack.region);
            let me = Holder::me(&format!("{command} {}", stack_args.stack.display()));
            let mut waiting = |h: &Holder| {
                ui.err(&format!(
                    "Waiting up to {}s for the lock of stack `{}`: {h}\n",
                    timeout.as_secs(),
                    stack.name
                ));
            };
            match table.acquire(&key, &me, timeout, &mut waiting).await {
                Ok(()) => held = Some((table, key, me.id)),
                Err(LockError::Held(h)) if h.stale() => {
                    ui.err(&format!(
                        "error: stack `{}` is locked: {h}\n  help: the run that took it was \
                         killed; once you have checked nobody else is applying, release it with \
                         `infra unlock {} {}` and apply again (the next apply converges whatever \
                         it left half done)\n",
                        stack.name,
                        stack_args.stack.display(),
                        h.id
                    ));
                    return Err(ExitCode::from(1));
                }
                Err(LockError::Held(h)) => {
                    ui.err(&format!(
                        "error: stack `{}` is locked: {h}\n  help: wait for it to finish, retry \
                         with --lock-timeout 10m, or, if that run is dead, `infra unlock {} {}`\n",
                        stack.name,
                        stack_args.stack.display(),
                        h.id
                    ));
                    return Err(ExitCode::from(1));
                }
                Err(LockError::Aws(e)) => {
                    ui.err(&format!("error: cannot take the stack's lock: {e}\n"));
                    return Err(ExitCode::from(1));
                }
            }
        }
        let providers = crate::providers::aws::providers(&clients, &connection);
        let refreshed = {
            let _stage = crate::ui::Stage::start("refresh");
            crate::refresh::refresh(&stack, &providers).await
        };
        Ok(Session {
            stack,
            graph,
            providers,
            refreshed,
            calls,
            clients: Some(clients),
            held,
        })
    }

    /// Releases the lock this session holds, if any.
    pub async fn release_lock(&self, ui: &Ui) {
        let Some((table, key, id)) = &self.held else {
            return;
        };
        match table.release(key, id).await {
            Ok(true) => {}
            // A retried delete whose first attempt went through finds nothing left.
            Ok(false) if matches!(table.holder(key).await, Ok(None)) => {}
            Ok(false) => ui.err(&format!(
                "warning: the lock of stack `{}` was no longer ours to release\n",
                self.stack.name
            )),
            Err(e) => ui.err(&format!(
                "warning: the lock of stack `{}` could not be released ({e}); `infra unlock` \
                 releases it\n",
                self.stack.name
            )),
        }
    }

    /// The AWS account the credentials belong to; on failure prints why.
    pub async fn account(&self, ui: &Ui) -> Result<String, ExitCode> {
        let Some(clients) = &self.clients else {
            ui.err("error: there is no AWS account behind the in-memory fake\n");
            return Err(ExitCode::from(1));
        };
        crate::providers::aws::account(clients).await.map_err(|e| {
            ui.err(&format!(
                "error: cannot tell which AWS account this is: {e}\n"
            ));
            ExitCode::from(1)
        })
    }

    /// Diffs; on failure prints every diagnostic.
    pub fn plan(&self, args: &PlanArgs, destroy: bool, ui: &Ui) -> Result<Plan, ExitCode> {
        let options = DiffOptions {
            adopt: args.adopt.iter().cloned().collect::<BTreeSet<_>>(),
            destroy,
        };
        let _stage = crate::ui::Stage::start("diff");
        crate::plan::diff(
            &self.stack,
            &self.graph,
            &self.refreshed,
            &self.providers,
            &options,
        )
        .and_then(|plan| select(plan, &self.stack, &self.graph, &args.select.selection()))
        .map_err(|diagnostics| {
            ui.diagnostics(&diagnostics, &self.stack.sources);
            ExitCode::from(1)
        })
    }

    /// `--stats`: the AWS calls made, per operation.
    pub fn report_calls(&self, aws: &AwsArgs, ui: &Ui) {
        if !aws.stats {
            return;
        }
        let counts = self.calls.snapshot();
        let total: u64 = counts.values().sum();
        let mut text = format!(
            "AWS calls: {total} ({} HTTP requests with retries)\n",
            self.calls.requests()
        );
        for (op, n) in counts {
            text.push_str(&format!("  {op}: {n}\n"));
        }
        ui.err(&text);
    }
}

fn connect_diagnostic(error: &ConnectError) -> Diagnostic {
    match error {
        ConnectError::NoCredentials => {
            Diagnostic::new("infra::no-credentials", "no AWS credentials found").help(
                "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); to try infra \
                 without an AWS account, run `scripts/quickstart`, which uses a local emulator",
            )
        }
        ConnectError::Credentials(message) => Diagnostic::new(
            "infra::credentials",
            format!("AWS credentials could not be loaded: {message}"),
        )
        .help("check AWS_PROFILE and the profile's settings in ~/.aws/config"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_overflow_checked_and_capped_at_a_day() {
        assert_eq!(
            parse_duration("90s"),
            Ok(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            parse_duration("24h"),
            Ok(std::time::Duration::from_secs(86_400))
        );
        assert_eq!(
            parse_duration("1440m"),
            Ok(std::time::Duration::from_secs(86_400))
        );
        for text in [
            "25h",
            "86401",
            "18446744073709551615s",
            "99999999999999999999h",
            "5124095576030432h",
        ] {
            assert_eq!(
                parse_duration(text),
                Err(format!("`{text}` is longer than the maximum of 24h")),
                "{text}"
            );
        }
        for text in ["", "h", "1d", "-1s", "1.5h", "1 h"] {
            assert!(
                parse_duration(text).is_err_and(|e| e.contains("is not a duration")),
                "{text}"
            );
        }
    }
}
