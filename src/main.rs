use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = infra::cli::Cli::parse();
    let ui = infra::ui::Ui::from_env();
    infra::cli::run(cli, &ui)
}
