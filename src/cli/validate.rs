//! `infra validate`: load, resolve and build the graph; report every problem.

use std::process::ExitCode;

use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let stack = match args.stack.load(ui) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let graph = match crate::graph::build(&stack) {
        Ok(g) => g,
        Err(diagnostics) => {
            ui.diagnostics(&diagnostics, &stack.sources);
            return ExitCode::from(1);
        }
    };
    let lookups = stack
        .resources
        .iter()
        .filter(|r| r.kind().is_lookup())
        .count();
    ui.out(&format!(
        "stack {} ({}) is valid: {} resources, {} look-ups, {} dependencies, {} dependency levels\n",
        stack.name,
        stack.region,
        stack.resources.len() - lookups,
        lookups,
        graph.dag.edge_count(),
        graph.by_level().len(),
    ));
    ExitCode::SUCCESS
}
