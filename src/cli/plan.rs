//! `infra plan`: show what apply would change, and change nothing.

use std::process::ExitCode;

use super::session::{AwsArgs, Intent, PlanArgs, Session, runtime};
use crate::plan::json::json;
use crate::plan::markdown::{DEFAULT_LIMIT, markdown};
use crate::plan::render::{Style, write_text};
use crate::plan::saved::{self, Options};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Exit 0 when there is nothing to change, 2 when there is, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan to this file, for `infra apply FILE` to apply exactly it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// How to print the plan: for a terminal, Markdown for a pull-request comment, or JSON
    /// for machines (docs/plan-json.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Renderings of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
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
        let plan = session.plan(&args.plan, Intent::Apply, ui);
        session.report_calls(&args.aws, ui);
        let plan = match plan {
            Ok(p) => p,
            Err(code) => return code,
        };
        if let Some(out) = &args.out {
            let account = match session.account(ui).await {
                Ok(a) => a,
                Err(code) => return code,
            };
            let options = Options {
                adopt: args.plan.adopt.clone(),
                targets: args.plan.select.target.clone(),
                excludes: args.plan.select.exclude.clone(),
                allow_older_image: args.plan.allow_older_image,
            };
            let stack_file = args.stack.stack.display().to_string();
            if let Err(e) = saved::write(
                out,
                &stack_file,
                &session.stack,
                &session.refreshed,
                &plan,
                &account,
                &options,
            ) {
                ui.err(&format!("error: {e}\n"));
                return ExitCode::from(1);
            }
            ui.err(&format!(
                "Saved the plan to {}; `infra apply {}` applies exactly it, or refuses if AWS or \
                 the stack moved since.\n",
                out.display(),
                out.display()
            ));
        }
        match args.format {
            Format::Text => write_text(
                &plan,
                Style {
                    color: ui.out_color(),
                },
                &mut |piece| ui.out(piece),
            ),
            Format::Markdown => ui.out(&markdown(&plan, DEFAULT_LIMIT)),
            Format::Json => ui.out(&json(&plan)),
        }
        if args.detailed_exitcode && plan.has_changes() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}
