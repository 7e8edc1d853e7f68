//! `infra runbook STACK`: the on-call runbook of a stack, generated from the stack file alone
//! (no AWS call). `--out FILE` writes it; `--check FILE` compares a committed runbook with what
//! would be generated: exit 0 when equal, 1 with a unified diff when not.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
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
    let var_files: Vec<String> = args.stack.var_files.iter().map(|f| display(f)).collect();
    let at = Invocation::new(&stack, &display(&args.stack.stack), &var_files);
    let text = generate(&stack, &graph, &at);
    if let Some(committed) = &args.check {
        return check(committed, &text, &at, ui);
    }
    if let Some(out) = &args.out {
        if let Err(e) = std::fs::write(out, &text) {
            return file_error(ui, "write", out, &e, "check the path and its permissions");
        }
        return ExitCode::SUCCESS;
    }
    ui.out(&text);
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
