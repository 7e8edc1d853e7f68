//! `infra validate`: load, resolve and build the graph; report every problem.

use std::process::ExitCode;

use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    check(&args.stack, ui)
}

/// Loads a stack and builds its graph, reporting every problem or what it holds (also what
/// `infra init` runs on the files it writes).
pub(super) fn check(args: &super::StackArgs, ui: &Ui) -> ExitCode {
    let stack = match args.load(ui) {
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
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    ui.warnings(&stack.warnings, &stack.sources);
    ui.out(&format!(
        "stack {} ({}) is valid: {}, {}, {}, {}\n",
        stack.name,
        stack.region,
        count(stack.resources.len() - lookups, "resource", "resources"),
        count(lookups, "look-up", "look-ups"),
        count(graph.dag.edge_count(), "dependency", "dependencies"),
        count(
            graph.by_level().len(),
            "dependency level",
            "dependency levels"
        ),
    ));
    ExitCode::SUCCESS
}
