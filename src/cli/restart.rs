//! `infra restart STACK ADDRESS`: a new deployment of the revision a service runs, on purpose
//! (its tasks start again and read the secrets' current values), then the same wait and the
//! same verdict as apply: exit 0 when the revision serves again, 3 when ECS rolled the
//! deployment back or another deploy replaced it, 1 on error.

use std::process::ExitCode;

use super::session::{AwsArgs, RunArgs, Session, run_locked};
use crate::known::Known;
use crate::model::{Kind, Value};
use crate::providers::{EXIT_NOT_SERVING, ProviderError};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// The service to restart, by its address in the stack (`service.api`,
    /// `module.shop.service.this`).
    pub address: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    run_locked(
        &args.stack,
        &args.aws,
        &args.run,
        "restart",
        ui,
        async |session| restart(session, args, ui).await,
    )
}

async fn restart(session: &Session, args: &Args, ui: &Ui) -> ExitCode {
    let stack = &session.stack;
    let (i, live) = match session.owned_service(&args.address, "restarts", ui) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let Some(provider) = session.providers.get(Kind::Service).cloned() else {
        ui.err("error: services are not supported against this endpoint\n");
        return ExitCode::from(1);
    };
    // The revision it runs now is the one that must serve again (not the stack's, which a
    // pending apply may change).
    let mut desired = Known::from_refreshed(stack, &session.refreshed).desired(i);
    if let Some(running) = live.attrs.get("task-definition") {
        desired
            .attrs
            .insert("task-definition".into(), running.clone());
    }
    desired
        .attrs
        .insert("wait-for-steady-state".into(), Value::Bool(true));
    // As people name revisions: `family:revision`, not the ARN.
    let revision = desired
        .str("task-definition")
        .and_then(|td| td.rsplit('/').next())
        .unwrap_or("?")
        .to_string();
    let question = format!(
        "Restart `{}` (a new deployment of `{revision}`)? ",
        args.address
    );
    if let Err(code) = args.run.approve(ui, &question) {
        return code;
    }
    ui.out(&format!(
        "{}: restarting (a new deployment of `{revision}`)...\n",
        args.address
    ));
    let address = args.address.as_str();
    let report = |message: String| ui.out(&format!("{address}: {message}\n"));
    let result = match provider.restart(live).await {
        Ok(()) => {
            provider
                .wait_stable(&desired, live, args.run.wait_timeout(), &report)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            ui.out(&format!(
                "Restart complete: `{}` serves `{revision}` again.\n",
                args.address
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            ui.err(&format!(
                "error: restart of `{}` failed: {}\n",
                args.address,
                e.explained()
            ));
            if matches!(e, ProviderError::NotServing(_)) {
                ExitCode::from(EXIT_NOT_SERVING)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
