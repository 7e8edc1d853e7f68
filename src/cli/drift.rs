//! `infra drift`: a read-only report of where live AWS differs from the stack. Exits 0 when
//! nothing drifted and 2 when something did, so a scheduled job can alert.

use std::process::ExitCode;

use super::session::{AwsArgs, Intent, PlanArgs, Session, runtime};
use crate::plan::drift::{drifted, report};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let rt = match runtime(ui) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let mut session = match Session::open(&args.stack, &args.aws, ui).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        session.preflight(&args.plan).await;
        let plan = session.plan(&args.plan, Intent::Report, ui);
        session.report_calls(&args.aws, ui);
        let plan = match plan {
            Ok(p) => p,
            Err(code) => return code,
        };
        ui.out(&report(&plan));
        if drifted(&plan) > 0 {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}
