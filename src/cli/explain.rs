//! `infra explain`: a kind or one of its attributes, from the schema catalogue.

use std::process::ExitCode;

use crate::explain::{Topic, markdown, resolve, text};
use crate::lang::Diagnostic;
use crate::model::Sources;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to explain: a kind (`service`, `lookup.subnets`) or an attribute at any depth
    /// (`target-group.health-check.path`). Without it, the list of kinds.
    #[arg(value_name = "KIND[.ATTRIBUTE]")]
    pub topic: Option<String>,
    /// Print a kind's reference as the Markdown of `docs/language.md` (its generated region).
    #[arg(long, requires = "topic")]
    pub markdown: bool,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let Some(argument) = &args.topic else {
        ui.out(&text::kinds());
        return ExitCode::SUCCESS;
    };
    // The argument is the source diagnostics point into.
    let mut sources = Sources::default();
    let source = sources.add("argument", argument.as_str());
    let topic = match resolve(argument, source) {
        Ok(topic) => topic,
        Err(diagnostic) => {
            ui.diagnostics(&[diagnostic], &sources);
            return ExitCode::from(1);
        }
    };
    if !args.markdown {
        ui.out(&text::topic(&topic));
        return ExitCode::SUCCESS;
    }
    match topic {
        Topic::Kind(kind) => {
            ui.out(&markdown::kind(kind));
            ExitCode::SUCCESS
        }
        Topic::Attribute { .. } | Topic::Computed { .. } => {
            let whole = sources.text(source).len();
            let d = Diagnostic::new(
                "infra::markdown-of-attribute",
                "--markdown renders whole kinds, not attributes",
            )
            .label(
                crate::model::Span::new(source, (0, whole).into()),
                "an attribute",
            )
            .help(format!(
                "give the kind alone: `infra explain --markdown {}`",
                argument.split('.').next().unwrap_or(argument)
            ));
            ui.diagnostics(&[d], &sources);
            ExitCode::from(1)
        }
    }
}
