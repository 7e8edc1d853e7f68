//! Renders the graph as plain text, Graphviz `dot` or Mermaid. Pure functions of the graph.

use std::fmt::Write;

use super::Graph;
use crate::model::Stack;

/// Output formats of `infra graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Dot,
    Mermaid,
}

pub fn render(stack: &Stack, graph: &Graph, format: Format) -> String {
    match format {
        Format::Text => text(stack, graph),
        Format::Dot => dot(stack, graph),
        Format::Mermaid => mermaid(stack, graph),
    }
}

fn sorted_dependencies(stack: &Stack, graph: &Graph, i: usize) -> Vec<String> {
    let mut deps: Vec<String> = graph
        .dependencies(i)
        .map(|j| stack.resources[j].address.to_string())
        .collect();
    deps.sort();
    deps
}

fn text(stack: &Stack, graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "stack {} ({} resources)",
        stack.name,
        stack.resources.len()
    );
    for (level, members) in graph.by_level().iter().enumerate() {
        let _ = writeln!(out, "\nlevel {level}");
        for &i in members {
            let r = &stack.resources[i];
            let _ = writeln!(out, "  {} ({})", r.address, r.kind().title());
            for dep in sorted_dependencies(stack, graph, i) {
                let _ = writeln!(out, "    → {dep}");
            }
        }
    }
    out
}

fn dot(stack: &Stack, graph: &Graph) -> String {
    let mut out = String::from(
        "digraph infra {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for r in &stack.resources {
        let style = if r.kind().is_lookup() {
            ", style=dashed"
        } else {
            ""
        };
        let id = dot_string(&r.address.to_string());
        let _ = writeln!(
            out,
            "  \"{id}\" [label=\"{id}\\n{}\"{style}];",
            r.kind().title()
        );
    }
    for i in 0..stack.resources.len() {
        for dep in sorted_dependencies(stack, graph, i) {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\";",
                dot_string(&stack.resources[i].address.to_string()),
                dot_string(&dep)
            );
        }
    }
    out.push_str("}\n");
    out
}

/// A DOT quoted string's content: the quotes of an instance key escaped.
fn dot_string(text: &str) -> String {
    text.replace('"', "\\\"")
}

fn mermaid_id(address: &str) -> String {
    address
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn mermaid(stack: &Stack, graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for r in &stack.resources {
        let address = r.address.to_string();
        let (open, close) = if r.kind().is_lookup() {
            ("[/", "/]")
        } else {
            ("[", "]")
        };
        let _ = writeln!(
            out,
            "  {}{open}\"{}<br/><small>{}</small>\"{close}",
            mermaid_id(&address),
            // Mermaid ends a quoted label at `"`: an instance key's quotes are an entity.
            address.replace('"', "#quot;"),
            r.kind().title()
        );
    }
    for i in 0..stack.resources.len() {
        let from = mermaid_id(&stack.resources[i].address.to_string());
        for dep in sorted_dependencies(stack, graph, i) {
            let _ = writeln!(out, "  {from} --> {}", mermaid_id(&dep));
        }
    }
    out
}
