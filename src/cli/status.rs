//! `infra status`: one screen of what runs in AWS for a stack, read-only.

use std::process::ExitCode;

use super::session::{AwsArgs, Session, runtime};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// Print the status as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
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
        let Some(clients) = session.clients() else {
            ui.err("error: status reads live AWS; there is none behind the in-memory fake\n");
            return ExitCode::from(1);
        };
        let status = crate::status::gather(&session.stack, &session.refreshed, clients).await;
        session.report_calls(&args.aws, ui);
        if args.json {
            ui.out(&format!("{:#}\n", crate::status::render::json(&status)));
        } else {
            ui.out(&crate::status::render::text(&status));
        }
        ExitCode::SUCCESS
    })
}
