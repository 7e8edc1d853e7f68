//! `infra verify`: whether live AWS runs what the stack says and is healthy: per service its
//! task definition and revision (through the plan, images pinned by the preflight), its tasks
//! and its targets; the stack's alarms; its records aliasing its load balancers; its probes.
//! Exits 0 when every check passed, 2 when one failed, 1 when one could not be made.

use std::process::ExitCode;

use super::session::{AwsArgs, Intent, PlanArgs, SelectArgs, Session, runtime};
use crate::ui::Ui;
use crate::verify::render;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// How to write the report: one line per check, JSON for CI, or a Markdown table.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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
        let code = verify(session, args.format, ui).await;
        code.map_or_else(|c| c, ExitCode::from)
    })
}

/// Runs the checks of an open session and prints them; the exit code they call for.
pub async fn verify(mut session: Session, format: Format, ui: &Ui) -> Result<u8, ExitCode> {
    let report = report(&mut session, ui).await?;
    match format {
        Format::Text => ui.out(&render::text(&report)),
        Format::Json => ui.out(&format!("{:#}\n", render::json(&report))),
        Format::Markdown => ui.out(&render::markdown(&report)),
    }
    Ok(report.exit_code())
}

/// Runs the checks of an open session (`verify`, and `runbook --live`'s summary); prints only
/// why they could not be run.
pub async fn report(session: &mut Session, ui: &Ui) -> Result<crate::verify::Report, ExitCode> {
    // The images the stack names, pinned as a plan would pin them; an image older than the one
    // running is not refused here: verify reports the difference.
    let plan_args = PlanArgs {
        adopt: Vec::new(),
        allow_older_image: true,
        select: SelectArgs::default(),
    };
    session.preflight(&plan_args).await;
    let plan = session.plan(&plan_args, Intent::Report, ui)?;
    let Some(clients) = session.clients() else {
        ui.err("error: verify reads live AWS; there is none behind the in-memory fake\n");
        return Err(ExitCode::from(1));
    };
    let _stage = crate::ui::Stage::start("verify");
    Ok(crate::verify::gather::verify(&session.stack, &session.refreshed, &plan, clients).await)
}
