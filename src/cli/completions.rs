//! `infra completions SHELL`: a completion script generated from the clap definition.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "infra", &mut script);
    ui.out(&String::from_utf8_lossy(&script));
    ExitCode::SUCCESS
}
