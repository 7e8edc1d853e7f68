//! The documentation and the shipped stacks stay true: every example in `docs/language.md`
//! validates, every stack under `stacks/` and `examples/` validates, and the reference stack's
//! graph has the edges the architecture relies on.
//!
//! Code blocks in `docs/language.md` are told apart by their info string:
//!
//! - ```` ```kdl ```` — a complete stack file, validated with `infra validate`;
//! - ```` ```kdl fragment ```` — validated after `stack "doc" region="us-east-1"` is put in front;
//! - ```` ```kdl module ```` (a module file) and ```` ```kdl vars ```` (a `--var-file`) — parsed as
//!   KDL v2 only.
//!
//! Examples are written to a temporary directory, so a module `source="<file>"` given as a bare
//! file name cannot be found next to them: the test rewrites it to the absolute path of
//! `examples/modules/<file>`, and the documentation's module examples are those files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::harness::{infra, root};

/// One fenced `kdl` code block of a Markdown file.
#[derive(Debug)]
pub struct Block {
    pub info: String,
    pub body: String,
    /// 1-based line of the opening fence.
    pub line: usize,
}

pub fn kdl_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match open.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```")
                    && (info == "kdl" || info.starts_with("kdl "))
                {
                    open = Some(Block {
                        info: info.trim().to_string(),
                        body: String::new(),
                        line: i + 1,
                    });
                }
            }
            Some(block) => {
                if line.trim_end() == "```" {
                    blocks.extend(open.take());
                } else {
                    block.body.push_str(line);
                    block.body.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "a ```kdl block is not closed");
    blocks
}

/// Points bare `source="<file>"` module paths at `examples/modules/<file>`.
fn absolute_module_sources(text: &str) -> String {
    let modules = root().join("examples").join("modules");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("source=\"") {
        let (before, after) = rest.split_at(at + "source=\"".len());
        out.push_str(before);
        let end = after.find('"').unwrap_or(after.len());
        let source = &after[..end];
        if Path::new(source).is_relative() {
            out.push_str(&modules.join(source).to_string_lossy());
        } else {
            out.push_str(source);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(purpose: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("infra-{purpose}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

#[test]
fn every_example_in_the_language_reference_validates() {
    let path = root().join("docs/language.md");
    let markdown = std::fs::read_to_string(&path).expect("docs/language.md exists");
    let blocks = kdl_blocks(&markdown);
    let dir = temp_dir("docs");
    let mut failures = Vec::new();
    for block in &blocks {
        let stack = match block.info.as_str() {
            "kdl" => block.body.clone(),
            "kdl fragment" => format!("stack \"doc\" region=\"us-east-1\"\n{}", block.body),
            "kdl module" | "kdl vars" => {
                if let Err(e) = kdl::KdlDocument::parse_v2(&block.body) {
                    failures.push(format!("line {}: not valid KDL v2: {e:?}", block.line));
                }
                continue;
            }
            other => {
                failures.push(format!(
                    "line {}: unknown info string `{other}`; use kdl, kdl fragment, kdl module \
                     or kdl vars",
                    block.line
                ));
                continue;
            }
        };
        let file = dir.join(format!("line-{}.kdl", block.line));
        std::fs::write(&file, absolute_module_sources(&stack)).expect("write the example");
        let out = infra(&["validate", &file.to_string_lossy()]);
        if out.code != Some(0) {
            failures.push(format!(
                "line {} ({}): exit {:?}\n{}",
                block.line, block.info, out.code, out.stderr
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} of {} examples in docs/language.md fail:\n\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
    assert!(
        blocks.len() >= 20,
        "docs/language.md has only {} kdl examples",
        blocks.len()
    );
}

/// Every `.kdl` file under `dir` (relative to the root), recursively, sorted.
pub fn kdl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![root().join(dir)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("directory exists") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "kdl") {
                out.push(
                    path.strip_prefix(root())
                        .map_or(path.clone(), Path::to_path_buf),
                );
            }
        }
    }
    out.sort();
    out
}

/// Whether a file is a stack (it has a top-level `stack` node) rather than a module.
pub fn is_stack_file(path: &Path) -> bool {
    let text = std::fs::read_to_string(root().join(path)).expect("read the file");
    let doc = kdl::KdlDocument::parse_v2(&text)
        .unwrap_or_else(|e| panic!("{} is not valid KDL v2: {e:?}", path.display()));
    doc.nodes().iter().any(|n| n.name().value() == "stack")
}

#[test]
fn every_reference_stack_and_example_validates() {
    let stacks: Vec<PathBuf> = ["stacks", "examples"]
        .iter()
        .flat_map(|dir| kdl_files(Path::new(dir)))
        .filter(|p| is_stack_file(p))
        .collect();
    let mut failures = Vec::new();
    for stack in &stacks {
        let out = infra(&["validate", &stack.to_string_lossy()]);
        if out.code != Some(0) {
            failures.push(format!(
                "{}: exit {:?}\n{}",
                stack.display(),
                out.code,
                out.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for expected in [
        "stacks/sasha.kdl",
        "stacks/sake-sensei.kdl",
        "stacks/sleek-coach-prod.kdl",
        "examples/modules/stack.kdl",
    ] {
        assert!(
            stacks.iter().any(|s| s == Path::new(expected)),
            "{expected} was not validated"
        );
    }
    assert!(
        !stacks.iter().any(|s| s.ends_with("worker.kdl")),
        "module files are not stacks"
    );
}

#[test]
fn the_variables_example_takes_its_variable_file() {
    let out = infra(&[
        "validate",
        "examples/variables.kdl",
        "--var-file",
        "examples/variables.prod.vars",
        "--var",
        "cpu-threshold=90",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

/// The kind of a graph node's address: `module.api.record.this` → `record`,
/// `lookup.vpc.main` → `lookup.vpc`.
fn kind_of(address: &str) -> String {
    let mut parts: Vec<&str> = address.split('.').collect();
    while parts.first() == Some(&"module") && parts.len() > 2 {
        parts.drain(..2);
    }
    match parts.as_slice() {
        ["lookup", kind, ..] => format!("lookup.{kind}"),
        [kind, ..] => (*kind).to_string(),
        [] => String::new(),
    }
}

#[test]
fn the_mermaid_graph_of_sleek_coach_has_the_expected_edges() {
    let out = infra(&[
        "graph",
        "stacks/sleek-coach-prod.kdl",
        "--format",
        "mermaid",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Node lines: `  id["address<br/>..."]` (look-ups: `id[/"address<br/>..."/]`).
    let mut kinds = std::collections::HashMap::new();
    for line in out.stdout.lines() {
        let line = line.trim();
        if let Some((id, rest)) = line.split_once('[')
            && let Some(address) = rest.trim_start_matches('/').strip_prefix('"')
            && let Some((address, _)) = address.split_once("<br/>")
        {
            kinds.insert(id.to_string(), kind_of(address));
        }
    }
    let edges: BTreeSet<(String, String)> = out
        .stdout
        .lines()
        .filter_map(|line| line.trim().split_once(" --> "))
        .map(|(from, to)| {
            let kind = |id: &str| kinds.get(id).cloned().unwrap_or_else(|| id.to_string());
            (kind(from), kind(to))
        })
        .collect();
    for (from, to) in [
        ("record", "load-balancer"),
        ("listener-rule", "target-group"),
        ("service", "target-group"),
        ("service", "task-definition"),
        ("task-definition", "secret"),
        ("task-definition", "log-group"),
    ] {
        assert!(
            edges.contains(&(from.to_string(), to.to_string())),
            "no edge {from} → {to} in:\n{}",
            out.stdout
        );
    }
}
