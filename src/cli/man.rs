//! `infra man`: the man page (roff), generated from the clap definition.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::lang::{Diagnostic, did_you_mean};
use crate::model::Sources;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A subcommand's own page (`infra man plan`); without it, the page of infra.
    pub subcommand: Option<String>,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let mut infra = super::Cli::command();
    // Building gives subcommands their page names (`infra-plan`) and usage (`infra plan`).
    infra.build();
    let page = match &args.subcommand {
        None => infra,
        Some(name) => match infra.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let mut sources = Sources::default();
                let source = sources.add("argument", name.as_str());
                let names: Vec<&str> = infra.get_subcommands().map(|c| c.get_name()).collect();
                let d = Diagnostic::new(
                    "infra::unknown-subcommand",
                    format!("`{name}` is not a subcommand of infra"),
                )
                .label(
                    crate::model::Span::new(source, (0, name.len()).into()),
                    "unknown subcommand",
                )
                .help(did_you_mean(name, names, "subcommands"));
                ui.diagnostics(&[d], &sources);
                return ExitCode::from(1);
            }
        },
    };
    let mut roff = Vec::new();
    match clap_mangen::Man::new(page).render(&mut roff) {
        Ok(()) => {
            ui.out(&String::from_utf8_lossy(&roff));
            ExitCode::SUCCESS
        }
        Err(e) => {
            ui.err(&format!("error: could not render the man page: {e}\n"));
            ExitCode::from(1)
        }
    }
}
