//! `infra destroy`: delete everything the stack owns, dependents first.

use std::process::ExitCode;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::apply::{Confirm, converge, interrupted};
use super::session::{AwsArgs, Intent, PlanArgs, RunArgs, SelectArgs, Session, runtime};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let rt = match runtime(ui) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let listener = tokio::spawn(interrupted(stop.clone()));
        let lock = Some(args.run.lock("destroy"));
        let session = match Session::open_locked(&args.stack, &args.aws, lock, ui).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let plan = match session.plan(
            &PlanArgs {
                adopt: Vec::new(),
                allow_older_image: false,
                select: args.select.clone(),
            },
            Intent::Destroy,
            ui,
        ) {
            Ok(p) => p,
            Err(code) => {
                session.release_lock(ui).await;
                return code;
            }
        };
        let code = converge(&session, &plan, &args.run, ui, Confirm::StackName, &stop).await;
        listener.abort();
        session.release_lock(ui).await;
        session.report_calls(&args.aws, ui);
        code
    })
}
