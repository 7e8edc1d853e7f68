//! Command-line interface: argument parsing and one function per subcommand.

mod apply;
mod aws_failure;
mod completions;
mod destroy;
mod drift;
mod explain;
mod fmt;
mod graph;
mod init;
mod live;
mod man;
mod output;
mod plan;
mod restart;
mod rollback;
mod runbook;
mod secret;
mod session;
mod status;
mod unlock;
mod validate;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::lang::{LoadFailure, LoadOptions};
use crate::model::Stack;
use crate::ui::Ui;

/// infra: AWS web services (ECS, ALB, Route53, CloudWatch, Secrets Manager) as reviewed KDL stacks.
#[derive(Debug, Parser)]
#[command(name = "infra", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log to stderr: -v stages and their timings, -vv every AWS call and its outcome, -vvv
    /// every HTTP attempt (method, path, status; never bodies or header values).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a new stack (a web service on the shipped module), one variable file per
    /// environment and the module, then validate them: asks only what it cannot default.
    Init(init::Args),
    /// Check a stack file and its modules without calling AWS.
    Validate(validate::Args),
    /// Print the dependency graph of a stack.
    Graph(graph::Args),
    /// Show what apply would change in AWS, and change nothing.
    Plan(plan::Args),
    /// Change AWS to match the stack, after showing the plan and asking.
    Apply(apply::Args),
    /// Delete everything the stack owns, after asking for the stack's name.
    Destroy(destroy::Args),
    /// Report where live AWS differs from the stack; exit 2 when it does (for scheduled jobs).
    Drift(drift::Args),
    /// Check that live AWS runs what the stack says and is healthy (definitions, tasks,
    /// targets, alarms, DNS, probes); exit 2 when a check fails (for CI and scheduled jobs).
    Verify(verify::Args),
    /// One screen of what runs: per service its revision, images, tasks and rollout; target
    /// health; alarms; outputs; the last deploy.
    Status(status::Args),
    /// Restart a service on purpose: a new deployment of the revision it runs, then the wait.
    Restart(restart::Args),
    /// Roll a service back to its newest older revision that served, after checking its
    /// images and secrets still exist; prints the stack change that keeps it.
    Rollback(rollback::Args),
    /// Operate a secret of the stack: `infra secret set STACK ADDRESS` writes a new value (from
    /// stdin, never shown) and restarts the services that read it.
    Secret(secret::Args),
    /// Print the stack's outputs, read from live AWS; with a name, only that value.
    Output(output::Args),
    /// Generate the stack's on-call runbook (Markdown; --live adds what AWS says now); --check
    /// to verify one.
    Runbook(runbook::Args),
    /// Release a stack's apply lock left behind by a run that died.
    Unlock(unlock::Args),
    /// Format stack, module and variable files in the one canonical layout; --check to verify.
    Fmt(fmt::Args),
    /// Explain a kind or an attribute: type, default, limits, whether a change replaces it.
    Explain(explain::Args),
    /// Print a shell completion script: `infra completions bash > /etc/bash_completion.d/infra`.
    Completions(completions::Args),
    /// Print the man page (roff): `infra man | man -l -`.
    Man(man::Args),
}

/// The stack file and where its variables come from.
#[derive(Debug, Clone, clap::Args)]
pub struct StackArgs {
    /// The stack file, e.g. stacks/sasha.kdl (for apply, also a plan saved with plan --out).
    pub stack: PathBuf,
    /// Set a variable: --var image-tag=v1.2.3 (repeatable; wins over files and environment).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read variables from a KDL file of `name value` lines (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

impl StackArgs {
    /// Loads the stack; on failure prints every diagnostic.
    pub fn load(&self, ui: &Ui) -> Result<Stack, ExitCode> {
        let options = LoadOptions {
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
            ..LoadOptions::default()
        }
        .with_env(std::env::vars_os());
        let _stage = crate::ui::Stage::start("load");
        crate::lang::load(&self.stack, &options).map_err(|failure: LoadFailure| {
            ui.load_failure(&failure);
            ExitCode::from(1)
        })
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli, ui: &Ui) -> ExitCode {
    crate::ui::set_verbosity(cli.verbose);
    match cli.command {
        Command::Init(args) => init::run(&args, ui),
        Command::Validate(args) => validate::run(&args, ui),
        Command::Graph(args) => graph::run(&args, ui),
        Command::Plan(args) => plan::run(&args, ui),
        Command::Apply(args) => apply::run(&args, ui),
        Command::Destroy(args) => destroy::run(&args, ui),
        Command::Drift(args) => drift::run(&args, ui),
        Command::Output(args) => output::run(&args, ui),
        Command::Verify(args) => verify::run(&args, ui),
        Command::Status(args) => status::run(&args, ui),
        Command::Restart(args) => restart::run(&args, ui),
        Command::Rollback(args) => rollback::run(&args, ui),
        Command::Secret(args) => secret::run(&args, ui),
        Command::Runbook(args) => runbook::run(&args, ui),
        Command::Unlock(args) => unlock::run(&args, ui),
        Command::Fmt(args) => fmt::run(&args, ui),
        Command::Explain(args) => explain::run(&args, ui),
        Command::Completions(args) => completions::run(&args, ui),
        Command::Man(args) => man::run(&args, ui),
    }
}
