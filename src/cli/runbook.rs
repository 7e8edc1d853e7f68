//! `infra runbook STACK`: the on-call runbook of a stack, generated from the stack file alone
//! (no AWS call). `--out FILE` writes it; `--check FILE` compares a committed runbook with what
//! would be generated: exit 0 when equal, 1 with a unified diff when not. `--live` adds a last
//! section read from AWS (what `infra status` shows and `infra verify`'s summary).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::session::{AwsArgs, Session, runtime};
use crate::lang::Diagnostic;
use crate::model::Sources;
use crate::runbook::{Invocation, diff, generate};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// Write the runbook to this file instead of stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "check")]
    pub out: Option<PathBuf>,
    /// Change nothing: exit 1 and print a diff when this committed runbook is not what would be
    /// generated, 0 when it is.
    #[arg(long, value_name = "RUNBOOK")]
    pub check: Option<PathBuf>,
    /// Add a last section read from AWS now: per service its revision, images, tasks and
    /// rollout, target health, alarm states, outputs, last deploy, and the verify summary.
    #[arg(long, conflicts_with = "check")]
    pub live: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    if args.live {
        return live(args, ui);
    }
    let stack = match args.stack.load(ui) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let graph = match crate::graph::build(&stack) {
        Ok(graph) => graph,
        Err(diagnostics) => {
            ui.diagnostics(&diagnostics, &stack.sources);
            return ExitCode::from(1);
        }
    };
    let at = invocation(args, &stack);
    let text = generate(&stack, &graph, &at);
    if let Some(committed) = &args.check {
        return check(committed, &text, &at, ui);
    }
    write(args, &text, ui)
}

fn invocation(args: &Args, stack: &crate::model::Stack) -> Invocation {
    let var_files: Vec<String> = args.stack.var_files.iter().map(|f| display(f)).collect();
    Invocation::new(stack, &display(&args.stack.stack), &var_files)
}

/// The runbook of the stack as loaded, then what AWS says now: status, then verify (whose
/// preflight pins the stack's images, so the runbook is generated before it).
fn live(args: &Args, ui: &Ui) -> ExitCode {
    let rt = match runtime(ui) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let mut session = match Session::open(&args.stack, &args.aws, ui).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let at = invocation(args, &session.stack);
        let mut text = generate(&session.stack, &session.graph, &at);
        let read_at = crate::runbook::live::now();
        let Some(clients) = session.clients() else {
            ui.err(
                "error: runbook --live reads live AWS; there is none behind the in-memory fake\n",
            );
            return ExitCode::from(1);
        };
        let status = crate::status::gather(&session.stack, &session.refreshed, clients).await;
        let report = match super::verify::report(&mut session, ui).await {
            Ok(report) => report,
            Err(code) => return code,
        };
        session.report_calls(&args.aws, ui);
        text.push_str(&crate::runbook::live::section(&status, &report, &read_at));
        write(args, &text, ui)
    })
}

/// To `--out`, else stdout.
fn write(args: &Args, text: &str, ui: &Ui) -> ExitCode {
    if let Some(out) = &args.out {
        if let Err(e) = std::fs::write(out, text) {
            return file_error(ui, "write", out, &e, "check the path and its permissions");
        }
        return ExitCode::SUCCESS;
    }
    ui.out(text);
    ExitCode::SUCCESS
}

fn check(committed: &Path, generated: &str, at: &Invocation, ui: &Ui) -> ExitCode {
    let name = display(committed);
    let regenerate = format!("infra runbook {} --out {name}", at.args());
    let text = match std::fs::read_to_string(committed) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let d = Diagnostic::new(
                "infra::runbook-missing",
                format!("runbook `{name}` does not exist"),
            )
            .help(format!("generate it with `{regenerate}`"));
            ui.diagnostics(&[d], &Sources::default());
            return ExitCode::from(1);
        }
        Err(e) => return file_error(ui, "read", committed, &e, "check the path"),
    };
    match diff(&name, &text, generated) {
        None => ExitCode::SUCCESS,
        Some(changes) => {
            ui.out_diff(&changes);
            ui.err(&format!(
                "`{name}` is not the runbook of `{}` as it is now; regenerate it with \
                 `{regenerate}`\n",
                at.path
            ));
            ExitCode::from(1)
        }
    }
}

fn file_error(ui: &Ui, verb: &str, path: &Path, e: &std::io::Error, help: &str) -> ExitCode {
    let d = Diagnostic::new(
        "infra::file",
        format!("cannot {verb} `{}`: {e}", display(path)),
    )
    .help(help.to_string());
    ui.diagnostics(&[d], &Sources::default());
    ExitCode::from(1)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
