//! What `plan`, `apply` and `destroy` share: loading, connecting to AWS, refreshing and diffing.

use std::collections::BTreeSet;
use std::process::ExitCode;

use crate::apply::lock::Holder;
use crate::graph::Graph;
use crate::model::Stack;
use crate::plan::select::{Selection, select};
use crate::plan::{DiffOptions, Plan};
use crate::providers::Providers;
use crate::providers::aws::lock_table::{LockError, LockTable};
use crate::providers::aws::{CallCounter, Clients, Connection};
use crate::refresh::Refreshed;
use crate::ui::Ui;

use super::aws_failure::{call_diagnostic, confirm_problems, connect_diagnostic};

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
    /// How long one AWS request may take before infra gives up on it, e.g. 30s. A create that
    /// times out is looked up before it is tried again, so it is never made twice.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,
}

/// Choices about what the plan may do.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Take over an existing resource no stack owns, e.g. --adopt record.www (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub adopt: Vec<String>,
    /// Deploy an image pushed before the one that runs now (a rollback on purpose).
    #[arg(long)]
    pub allow_older_image: bool,
    #[command(flatten)]
    pub select: SelectArgs,
}

/// Which part of the stack to act on.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectArgs {
    /// Only this resource or module, e.g. --target module.web (repeatable): with what it
    /// depends on when applying, with what depends on it when destroying (never what it uses).
    #[arg(long, value_name = "ADDRESS")]
    pub target: Vec<String>,
    /// Leave out this resource or module (repeatable): with what depends on it when applying,
    /// with what it depends on when destroying.
    #[arg(long, value_name = "ADDRESS")]
    pub exclude: Vec<String>,
}

impl SelectArgs {
    fn selection(&self, destroy: bool) -> Selection {
        Selection {
            targets: self.target.clone(),
            excludes: self.exclude.clone(),
            destroy,
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
    /// How long the stack's lock outlives this run if it stops renewing it (killed, machine
    /// lost): after that, others see the lock as stale, e.g. 90s.
    #[arg(long, default_value = "90s", value_parser = parse_duration)]
    pub lock_lease: std::time::Duration,
    /// Print event lines only, without the display redrawn under them on a terminal (never
    /// drawn when CI is set, TERM is dumb or stdout is not a terminal).
    #[arg(long)]
    pub no_live: bool,
    /// Under each change still waiting, show what it waits on (in the display drawn on a
    /// terminal).
    #[arg(long)]
    pub explain: bool,
}

/// What taking a stack's lock needs.
#[derive(Debug, Clone, Copy)]
pub struct LockRequest<'a> {
    pub command: &'a str,
    pub timeout: std::time::Duration,
    pub lease: std::time::Duration,
}

impl RunArgs {
    /// Asks `question` (`… ? `) unless `--auto-approve`: `Ok` once the answer is `yes`; the
    /// exit code otherwise (1: stdin is not a terminal, or any other answer, when nothing
    /// changed).
    pub fn approve(&self, ui: &Ui, question: &str) -> Result<(), ExitCode> {
        if self.auto_approve {
            return Ok(());
        }
        if !ui.can_ask() {
            ui.err(
                "error: stdin is not a terminal, so infra cannot ask for confirmation\n  \
                 help: run again with --auto-approve\n",
            );
            return Err(ExitCode::from(1));
        }
        if ui
            .ask(&format!("{question}Only `yes` is accepted: "))
            .as_deref()
            != Some("yes")
        {
            ui.out("Nothing was changed.\n");
            return Err(ExitCode::from(1));
        }
        Ok(())
    }

    pub fn lock<'a>(&self, command: &'a str) -> LockRequest<'a> {
        LockRequest {
            command,
            timeout: self.lock_timeout,
            lease: self.lock_lease.max(std::time::Duration::from_secs(1)),
        }
    }

    pub fn wait_timeout(&self) -> std::time::Duration {
        self.wait_timeout
    }
}

pub use crate::model::duration::parse as parse_duration;

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// `plan` and `apply`: converge to the stack.
    Apply,
    /// `destroy`: delete what the stack owns.
    Destroy,
    /// `drift`: read-only, never applied (protections are not checked).
    Report,
}

/// A loaded stack, connected and refreshed.
pub struct Session {
    pub stack: Stack,
    pub graph: Graph,
    pub providers: Providers,
    pub refreshed: Refreshed,
    pub calls: CallCounter,
    /// `None` when planning against the in-memory fake (`INFRA_FAKE_AWS=1` in a build with the
    /// `fake-aws` feature: benchmarks only).
    clients: Option<Clients>,
    /// The apply lock this session holds, renewed while it runs.
    held: Option<HeldLock>,
    /// What the preflight found (images and secrets), once `preflight` ran.
    checked: crate::preflight::Checked,
}

/// The stack's lock while this run holds it: a heartbeat renews it, and whether it was lost
/// (broken by `infra unlock --force`) is known to every write that follows.
struct HeldLock {
    table: LockTable,
    key: String,
    id: String,
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl HeldLock {
    /// Starts renewing the lock every quarter of its lease.
    fn keep(table: LockTable, key: String, id: String, lease: std::time::Duration) -> HeldLock {
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let heartbeat = {
            let (table, key, id, lost) = (table.clone(), key.clone(), id.clone(), lost.clone());
            tokio::spawn(async move {
                let every = (lease / 4).max(std::time::Duration::from_millis(250));
                loop {
                    tokio::time::sleep(every).await;
                    // A failed renewal is tried again; the fence reads the lock before writes.
                    if let Ok(false) = table.renew(&key, &id, lease).await {
                        lost.store(true, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                }
            })
        };
        HeldLock {
            table,
            key,
            id,
            lost,
            heartbeat,
        }
    }

    fn fence(&self) -> LockFence {
        LockFence {
            table: self.table.clone(),
            key: self.key.clone(),
            id: self.id.clone(),
            lost: self.lost.clone(),
        }
    }
}

/// Reads the lock before a round of writes: still ours, or the apply stops.
struct LockFence {
    table: LockTable,
    key: String,
    id: String,
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl crate::apply::Fence for LockFence {
    fn check(&self) -> crate::providers::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let broken = |now: String| {
                format!(
                    "the stack's lock was broken ({now}); nothing more is written: check who \
                     holds it, then apply again"
                )
            };
            if self.lost.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(broken("its heartbeat found it gone".into()));
            }
            match self.table.holder(&self.key).await {
                Ok(Some(h)) if h.id == self.id => Ok(()),
                Ok(Some(h)) => {
                    self.lost.store(true, std::sync::atomic::Ordering::SeqCst);
                    Err(broken(format!("now {h}")))
                }
                Ok(None) => {
                    self.lost.store(true, std::sync::atomic::Ordering::SeqCst);
                    Err(broken("nobody holds it now".into()))
                }
                Err(e) => Err(format!(
                    "the stack's lock could not be read before writing ({}); nothing more is \
                     written",
                    e.explained()
                )),
            }
        })
    }
}

/// A tokio runtime for one command.
/// Runs `act` on a session opened under the stack's lock for `command` (restart, rollback,
/// secret set), and releases the lock whatever it returns.
pub fn run_locked(
    stack: &super::StackArgs,
    aws: &AwsArgs,
    run: &RunArgs,
    command: &str,
    ui: &Ui,
    act: impl AsyncFnOnce(&Session) -> ExitCode,
) -> ExitCode {
    let rt = match runtime(ui) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let lock = Some(run.lock(command));
        let session = match Session::open_locked(stack, aws, lock, ui).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let code = act(&session).await;
        session.release_lock(ui).await;
        code
    })
}

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
        lock: Option<LockRequest<'_>>,
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
            attempt_timeout: aws.request_timeout,
            stack: stack.name.clone(),
            base_dir: stack_args
                .stack
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default(),
        };
        let calls = CallCounter::default();
        // Benchmarks measure the engine without AWS: a plan against empty in-memory providers,
        // only in a build with the `fake-aws` feature (never in what users run).
        #[cfg(feature = "fake-aws")]
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
                checked: Default::default(),
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
        if let Some(LockRequest {
            command,
            timeout,
            lease,
        }) = lock
        {
            let table = LockTable::new(clients.dynamodb.clone());
            let key = format!("{}@{}", stack.name, stack.region);
            let me = Holder::me(&format!("{command} {}", stack_args.stack.display()), lease);
            let mut waiting = |h: &Holder| {
                ui.err(&format!(
                    "Waiting up to {}s for the lock of stack `{}`: {h}\n",
                    timeout.as_secs(),
                    stack.name
                ));
            };
            match table.acquire(&key, &me, timeout, &mut waiting).await {
                Ok(()) => held = Some(HeldLock::keep(table, key, me.id, lease)),
                Err(LockError::Held(h)) if h.stale() => {
                    ui.err(&format!(
                        "error: stack `{}` is locked: {h}\n  help: the run that took it stopped \
                         renewing it; once you have checked nobody else is applying, release it \
                         with `infra unlock {} {}` and apply again (the next apply converges \
                         whatever it left half done)\n",
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
                    let diagnostic = call_diagnostic(
                        "cannot take the stack's lock",
                        &e,
                        &clients,
                        &stack.region,
                    )
                    .await;
                    ui.diagnostics(&[diagnostic], &stack.sources);
                    return Err(ExitCode::from(1));
                }
            }
        }
        let providers = crate::providers::aws::providers(&clients, &connection);
        let refreshed = {
            let _stage = crate::ui::Stage::start("refresh");
            let mut refreshed = crate::refresh::refresh(&stack, &providers).await;
            confirm_problems(&mut refreshed, &clients, &stack.region).await;
            refreshed
        };
        Ok(Session {
            stack,
            graph,
            providers,
            refreshed,
            calls,
            clients: Some(clients),
            held,
            checked: Default::default(),
        })
    }

    /// The index of the service at `address` and what refresh read of it, when it exists and
    /// is this stack's; otherwise says why (`verb`: what the command does, "restarts") and
    /// fails.
    pub fn owned_service(
        &self,
        address: &str,
        verb: &str,
        ui: &Ui,
    ) -> Result<(usize, &crate::providers::Live), ExitCode> {
        let stack = &self.stack;
        let is_service = |r: &&crate::model::Resource| r.kind() == crate::model::Kind::Service;
        let Some(i) = stack
            .resources
            .iter()
            .position(|r| is_service(&r) && r.address.to_string() == address)
        else {
            let services: Vec<String> = stack
                .resources
                .iter()
                .filter(is_service)
                .map(|r| r.address.to_string())
                .collect();
            let have = if services.is_empty() {
                "the stack declares no service".to_string()
            } else {
                format!("its services are {}", services.join(", "))
            };
            ui.err(&format!(
                "error: stack `{}` has no service `{address}`\n  help: {have}\n",
                stack.name
            ));
            return Err(ExitCode::from(1));
        };
        match &self.refreshed.live[i] {
            Some(live) if matches!(&live.owner, crate::providers::Owner::Stack { stack: s, .. } if *s == stack.name) => {
                Ok((i, live))
            }
            Some(_) => {
                ui.err(&format!(
                    "error: `{address}` exists but is not stack `{}`'s: infra {verb} only what it \
                     owns\n",
                    stack.name
                ));
                Err(ExitCode::from(1))
            }
            None => {
                ui.err(&format!(
                    "error: `{address}` does not exist in AWS yet\n  help: apply the stack first\n"
                ));
                Err(ExitCode::from(1))
            }
        }
    }

    /// The check an apply makes before each round of writes: that this session still holds
    /// the stack's lock.
    pub fn fence(&self) -> Option<std::sync::Arc<dyn crate::apply::Fence>> {
        self.held
            .as_ref()
            .map(|h| std::sync::Arc::new(h.fence()) as std::sync::Arc<dyn crate::apply::Fence>)
    }

    /// Releases the lock this session holds, if any.
    pub async fn release_lock(&self, ui: &Ui) {
        let Some(HeldLock {
            table,
            key,
            id,
            heartbeat,
            ..
        }) = &self.held
        else {
            return;
        };
        heartbeat.abort();
        match table.release(key, id).await {
            Ok(true) => {}
            // A retried delete whose first attempt went through finds nothing left.
            Ok(false) if matches!(table.holder(key).await, Ok(None)) => {}
            Ok(false) => ui.err(&format!(
                "warning: the lock of stack `{}` was no longer ours to release\n",
                self.stack.name
            )),
            Err(e) => ui.err(&format!(
                "warning: the lock of stack `{}` could not be released ({}); `infra unlock` \
                 releases it\n",
                self.stack.name,
                e.explained()
            )),
        }
    }

    /// The AWS clients; `None` against the in-memory fake.
    pub fn clients(&self) -> Option<&Clients> {
        self.clients.as_ref()
    }

    /// The AWS account the credentials belong to; on failure prints why.
    pub async fn account(&self, ui: &Ui) -> Result<String, ExitCode> {
        let Some(clients) = &self.clients else {
            ui.err("error: there is no AWS account behind the in-memory fake\n");
            return Err(ExitCode::from(1));
        };
        match crate::providers::aws::account(clients).await {
            Ok(account) => Ok(account),
            Err(e) => {
                let what = "cannot tell which AWS account this is";
                let diagnostic = call_diagnostic(what, &e, clients, &self.stack.region).await;
                ui.diagnostics(&[diagnostic], &self.stack.sources);
                Err(ExitCode::from(1))
            }
        }
    }

    /// Checks what the stack uses before any write (the images its containers run: found,
    /// pinned to their digest, not older than what runs), for a plan that deploys.
    pub async fn preflight(&mut self, args: &PlanArgs) {
        let Some(preflight) = self.providers.preflight().cloned() else {
            return;
        };
        let _stage = crate::ui::Stage::start("preflight");
        let options = crate::preflight::Options {
            allow_older_image: args.allow_older_image,
        };
        self.checked = crate::preflight::check(
            &mut self.stack,
            &self.refreshed,
            preflight.as_ref(),
            options,
        )
        .await;
    }

    /// Diffs and narrows to the selection; a plan that would be applied is checked against
    /// `prevent-destroy`. On failure prints every diagnostic.
    pub fn plan(&self, args: &PlanArgs, intent: Intent, ui: &Ui) -> Result<Plan, ExitCode> {
        let destroy = intent == Intent::Destroy;
        let options = DiffOptions {
            adopt: args
                .adopt
                .iter()
                .map(|a| crate::model::address::normalize(a))
                .collect::<BTreeSet<_>>(),
            destroy,
        };
        let selection = args.select.selection(destroy);
        let preflight = if destroy {
            &[][..]
        } else {
            &self.checked.diagnostics[..]
        };
        let _stage = crate::ui::Stage::start("diff");
        crate::plan::diff(
            &self.stack,
            &self.graph,
            &self.refreshed,
            &self.providers,
            &options,
        )
        .and_then(|plan| select(plan, &self.stack, &self.graph, &selection))
        // What the preflight found is shown with what the diff found, all at once. It reads
        // what task definitions use: a selection that changes none (the repository alone,
        // first, in a new account) does not depend on it.
        .map_err(|found| preflight.iter().cloned().chain(found).collect())
        .and_then(|plan| {
            let uses_checked = selection.is_everything()
                || plan
                    .changes
                    .iter()
                    .any(|c| c.kind == crate::model::Kind::TaskDefinition);
            if uses_checked && !preflight.is_empty() {
                return Err(preflight.to_vec());
            }
            Ok(plan)
        })
        .map(|mut plan| {
            if !destroy {
                plan.warnings.extend(self.checked.warnings.iter().cloned());
            }
            plan
        })
        .and_then(|plan| {
            if intent != Intent::Report {
                crate::plan::protect::check(&plan, &self.stack)?;
            }
            Ok(plan)
        })
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
