//! `infra graph`: the dependency graph as text, dot or mermaid.

use std::process::ExitCode;

use crate::graph::Format;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let stack = match args.stack.load(ui) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match crate::graph::build(&stack) {
        Ok(graph) => {
            ui.out(&crate::graph::render(&stack, &graph, args.format));
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            ui.diagnostics(&diagnostics, &stack.sources);
            ExitCode::from(1)
        }
    }
}
