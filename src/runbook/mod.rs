//! `infra runbook`: an on-call runbook generated from the loaded stack alone — what runs
//! where, how to deploy, check, restart, rotate a secret, scale, what each alarm means and
//! where the logs are. Deterministic, so it can be committed and kept current with `--check`.
//!
//! `facts` reads what the runbook needs off the resolved stack; `markdown` writes it. `live`
//! adds what AWS says now, for `--live` (never deterministic, never committed).

pub mod facts;
pub mod live;
pub mod markdown;

#[cfg(test)]
mod tests;

use similar::TextDiff;

use crate::graph::{Format, Graph};
use crate::model::Stack;

/// How the stack was named on the command line: the commands the runbook prints repeat it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub stack_name: String,
    pub region: String,
    /// The stack file as given (`stacks/sasha.kdl`).
    pub path: String,
    /// `--var-file` paths, as given: the commands need them too.
    pub var_files: Vec<String>,
}

impl Invocation {
    pub fn new(stack: &Stack, path: &str, var_files: &[String]) -> Invocation {
        Invocation {
            stack_name: stack.name.clone(),
            region: stack.region.clone(),
            path: path.to_string(),
            var_files: var_files.to_vec(),
        }
    }

    /// The arguments every `infra` command of the runbook takes: the stack and its var files.
    pub fn args(&self) -> String {
        let mut args = markdown::shell_quote(&self.path);
        for file in &self.var_files {
            args.push_str(" --var-file ");
            args.push_str(&markdown::shell_quote(file));
        }
        args
    }
}

/// The runbook of a loaded stack, as Markdown.
pub fn generate(stack: &Stack, graph: &Graph, at: &Invocation) -> String {
    let facts = facts::Facts::of(stack);
    let mermaid = crate::graph::render(stack, graph, Format::Mermaid);
    markdown::runbook(&facts, &mermaid, at)
}

/// A unified diff from the committed runbook to the generated one; `None` when equal.
pub fn diff(name: &str, committed: &str, generated: &str) -> Option<String> {
    if committed == generated {
        return None;
    }
    Some(
        TextDiff::from_lines(committed, generated)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name} (generated)"))
            .to_string(),
    )
}
