//! `infra destroy`: delete everything the stack owns, dependents first.

use std::process::ExitCode;

use super::apply::{Confirm, converge};
use super::session::{AwsArgs, PlanArgs, Session, runtime};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Destroy without asking for the stack's name (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// At most this many deletions in flight at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let rt = match runtime(ui) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let session = match Session::open(&args.stack, &args.aws, ui).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let plan = match session.plan(&PlanArgs { adopt: Vec::new() }, true, ui) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let code = converge(
            &session,
            &plan,
            args.auto_approve,
            args.parallelism.into(),
            ui,
            Confirm::StackName,
        )
        .await;
        session.report_calls(&args.aws, ui);
        code
    })
}
