//! `infra unlock`: releases a stack's apply lock left behind by a run that died. A lock whose
//! holder still renews it is refused without `--force`; a run whose lock was broken notices
//! before its next write and stops.

use std::process::ExitCode;

use super::aws_failure::{call_diagnostic, connect_diagnostic};
use super::session::runtime;
use crate::providers::ProviderError;
use crate::providers::aws::lock_table::{LockError, LockTable};
use crate::providers::aws::{CallCounter, Connection};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// The lock's id, as the blocked apply printed it.
    pub id: String,
    /// Send every AWS call to this endpoint, e.g. a local emulator.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Break the lock even though its holder renewed it recently (a frozen machine): that run
    /// stops before its next write.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let stack = match args.stack.load(ui) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime(ui) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let connection = Connection {
            region: stack.region.clone(),
            endpoint_url: args.endpoint_url.clone(),
            max_rate: crate::providers::aws::rate::DEFAULT_MAX_RATE,
            attempt_timeout: crate::providers::aws::DEFAULT_ATTEMPT_TIMEOUT,
            stack: stack.name.clone(),
            base_dir: Default::default(),
        };
        let clients =
            match crate::providers::aws::connect(&connection, &CallCounter::default()).await {
                Ok(c) => c,
                Err(e) => {
                    ui.diagnostics(&[connect_diagnostic(&e)], &stack.sources);
                    return ExitCode::from(1);
                }
            };
        let table = LockTable::new(clients.dynamodb.clone());
        let key = format!("{}@{}", stack.name, stack.region);
        // Whatever stops the reads and writes below is said the way `plan` says it.
        let failed = |what: &'static str, error: ProviderError| {
            let (clients, region) = (&clients, &stack.region);
            async move {
                let diagnostic = call_diagnostic(what, &error, clients, region).await;
                ui.diagnostics(&[diagnostic], &stack.sources);
                ExitCode::from(1)
            }
        };
        let now = match table.holder(&key).await {
            Ok(now) => now,
            Err(e) => return failed("cannot read the stack's lock", e).await,
        };
        if !args.force
            && let Some(holder) = now
            && holder.id == args.id
            && !holder.stale()
        {
            ui.err(&format!(
                "error: stack `{}` is {holder}\n  help: that run renews its lock, so it is \
                 most likely still applying: wait for it. If you are sure it is not (its machine \
                 froze), `infra unlock {} {} --force` breaks the lock, and the run stops before \
                 its next write\n",
                stack.name,
                args.stack.stack.display(),
                args.id
            ));
            return ExitCode::from(1);
        }
        match table.release(&key, &args.id).await {
            Ok(true) => {
                ui.out(&format!(
                    "Released lock {} of stack `{}`.\n",
                    args.id, stack.name
                ));
                ExitCode::SUCCESS
            }
            Ok(false) => {
                let now = match table.holder(&key).await {
                    Ok(Some(h)) => format!("it is {h}"),
                    Ok(None) => "the stack is not locked".into(),
                    Err(e) => format!("the lock cannot be read: {}", e.explained()),
                };
                ui.err(&format!(
                    "error: lock {} does not hold stack `{}`: {now}\n",
                    args.id, stack.name
                ));
                ExitCode::from(1)
            }
            Err(LockError::Aws(e)) => failed("cannot release the lock", e).await,
            Err(e) => {
                ui.err(&format!("error: cannot release the lock: {e}\n"));
                ExitCode::from(1)
            }
        }
    })
}
