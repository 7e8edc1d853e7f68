//! `infra output`: the stack's outputs, read from live AWS (nothing is written). With a name,
//! only that value, bare, for scripts: `curl "$(infra output stacks/shop.kdl url)"`.

use std::process::ExitCode;

use super::session::{AwsArgs, Session, runtime};
use crate::known::Known;
use crate::model::Value;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// Print only this output's value (a string bare, anything else as JSON).
    pub name: Option<String>,
    /// Print the outputs as one JSON object (`null` for a value not known yet).
    #[arg(long)]
    pub json: bool,
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
        session.report_calls(&args.aws, ui);
        let known = Known::from_refreshed(&session.stack, &session.refreshed);
        let outputs = crate::outputs::resolve(&session.stack, &known);
        match &args.name {
            Some(name) => match outputs.get(name) {
                Some(value) if !matches!(value, Value::Unknown | Value::Ref(_)) => {
                    ui.out(&format!("{}\n", crate::outputs::raw(value)));
                    ExitCode::SUCCESS
                }
                Some(_) => {
                    ui.err(&format!(
                        "error: output `{name}` is not known yet: what it reads does not exist \
                         in AWS\n  help: apply the stack first\n"
                    ));
                    ExitCode::from(1)
                }
                None => {
                    let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
                    let have = if names.is_empty() {
                        "the stack declares no outputs".to_string()
                    } else {
                        format!("its outputs are {}", names.join(", "))
                    };
                    ui.err(&format!(
                        "error: stack `{}` has no output `{name}`\n  help: {have}\n",
                        session.stack.name
                    ));
                    ExitCode::from(1)
                }
            },
            None if args.json => {
                ui.out(&format!("{}\n", crate::outputs::json_object(&outputs)));
                ExitCode::SUCCESS
            }
            None => {
                let text = crate::outputs::text(&outputs);
                if text.is_empty() {
                    ui.out(&format!(
                        "Stack `{}` declares no outputs.\n",
                        session.stack.name
                    ));
                } else {
                    ui.out(text.trim_start_matches('\n'));
                }
                ExitCode::SUCCESS
            }
        }
    })
}
