//! The dependency graph: a petgraph DAG of every resource and look-up.
//!
//! Edges point from a resource to what it depends on (a reference or `depends-on`), and carry
//! the span where the dependency was written so that a cycle can be shown edge by edge.
//! Topological levels (level 0 depends on nothing) are what later stages schedule by.

mod render;

use std::collections::HashMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

pub use render::{Format, render};

use crate::lang::Diagnostic;
use crate::model::{Address, Span, Stack};

/// Why one resource depends on another.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// Where the reference or `depends-on` entry was written.
    pub span: Span,
}

/// The stack's dependency graph. Node weights index into `Stack::resources`.
#[derive(Debug)]
pub struct Graph {
    pub dag: DiGraph<usize, Edge>,
    nodes: Vec<NodeIndex>,
    /// `levels[i]` is the topological level of resource `i`.
    pub levels: Vec<usize>,
}

impl Graph {
    pub fn node(&self, resource: usize) -> NodeIndex {
        self.nodes[resource]
    }

    /// Indices of the resources `resource` depends on.
    pub fn dependencies(&self, resource: usize) -> impl Iterator<Item = usize> + '_ {
        self.dag
            .neighbors(self.nodes[resource])
            .map(|n| self.dag[n])
    }

    /// Resources grouped by level, in declaration order within a level.
    pub fn by_level(&self) -> Vec<Vec<usize>> {
        let depth = self.levels.iter().copied().max().map_or(0, |m| m + 1);
        let mut out = vec![Vec::new(); depth];
        for (i, level) in self.levels.iter().enumerate() {
            out[*level].push(i);
        }
        out
    }
}

/// Builds the graph; a cycle is a diagnostic listing every edge of it.
pub fn build(stack: &Stack) -> Result<Graph, Vec<Diagnostic>> {
    let mut dag = DiGraph::with_capacity(stack.resources.len(), stack.resources.len() * 2);
    let nodes: Vec<NodeIndex> = (0..stack.resources.len())
        .map(|i| dag.add_node(i))
        .collect();
    let index: HashMap<&Address, usize> = stack
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (&r.address, i))
        .collect();
    for (i, resource) in stack.resources.iter().enumerate() {
        let mut seen = std::collections::HashSet::new();
        let mut add = |target: &Address, span: Span| {
            if let Some(&j) = index.get(target)
                && seen.insert(j)
            {
                dag.add_edge(nodes[i], nodes[j], Edge { span });
            }
        };
        for value in resource.attrs.values() {
            value.visit_refs(&mut |r| {
                if let Some(a) = r.address() {
                    add(a, r.span);
                }
            });
        }
        for dep in &resource.depends_on {
            add(&dep.address, dep.span);
        }
    }
    let cycles = find_cycles(&dag, stack);
    if !cycles.is_empty() {
        return Err(cycles);
    }
    let levels = levels(&dag, &nodes);
    Ok(Graph { dag, nodes, levels })
}

fn levels(dag: &DiGraph<usize, Edge>, nodes: &[NodeIndex]) -> Vec<usize> {
    // Dependencies first: the reverse of a topological order of dependent → dependency edges.
    let order = petgraph::algo::toposort(dag, None).unwrap_or_default();
    let mut levels = vec![0usize; nodes.len()];
    for n in order.into_iter().rev() {
        let level = dag
            .neighbors(n)
            .map(|d| levels[dag[d]] + 1)
            .max()
            .unwrap_or(0);
        levels[dag[n]] = level;
    }
    levels
}

fn find_cycles(dag: &DiGraph<usize, Edge>, stack: &Stack) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for scc in tarjan_scc(dag) {
        let self_loop = scc.len() == 1 && dag.find_edge(scc[0], scc[0]).is_some();
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min_by_key(|n| dag[**n]).unwrap_or(&scc[0]);
        let path = cycle_from(dag, start, &members);
        let names: Vec<String> = path
            .iter()
            .map(|(from, _)| stack.resources[dag[*from]].address.to_string())
            .chain(std::iter::once(
                stack.resources[dag[start]].address.to_string(),
            ))
            .collect();
        let mut d = Diagnostic::new(
            "infra::cycle",
            format!("dependency cycle: {}", names.join(" → ")),
        );
        for (from, edge) in &path {
            let target = dag.edge_endpoints(*edge).map(|(_, t)| t).unwrap_or(*from);
            d = d.label(
                dag[*edge].span,
                format!(
                    "`{}` depends on `{}` here",
                    stack.resources[dag[*from]].address, stack.resources[dag[target]].address
                ),
            );
        }
        out.push(
            d.help("break the cycle: one of these references must go, or be replaced by a value"),
        );
    }
    out
}

/// One simple cycle through `start`, inside the strongly connected component `members`.
fn cycle_from(
    dag: &DiGraph<usize, Edge>,
    start: NodeIndex,
    members: &std::collections::HashSet<NodeIndex>,
) -> Vec<(NodeIndex, petgraph::graph::EdgeIndex)> {
    // Depth-first search for a path back to `start`.
    let mut stack = vec![(
        start,
        dag.edges(start)
            .map(|e| (e.id(), e.target()))
            .collect::<Vec<_>>(),
    )];
    let mut path: Vec<(NodeIndex, petgraph::graph::EdgeIndex)> = Vec::new();
    let mut visited = std::collections::HashSet::new();
    visited.insert(start);
    while let Some((node, edges)) = stack.last_mut() {
        let node = *node;
        match edges.pop() {
            Some((edge, target)) if target == start => {
                path.push((node, edge));
                return path;
            }
            Some((edge, target)) if members.contains(&target) && visited.insert(target) => {
                path.push((node, edge));
                let next = dag.edges(target).map(|e| (e.id(), e.target())).collect();
                stack.push((target, next));
            }
            Some(_) => {}
            None => {
                stack.pop();
                path.pop();
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::{LoadOptions, load};

    fn stack(body: &str) -> Stack {
        let dir =
            std::env::temp_dir().join(format!("infra-graph-{}-{}", std::process::id(), body.len()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("stack.kdl");
        std::fs::write(&path, format!("stack \"g\" region=\"us-east-1\"\n{body}")).expect("write");
        let stack = load(&path, &LoadOptions::default()).expect("loads");
        let _ = std::fs::remove_dir_all(&dir);
        stack
    }

    #[test]
    fn levels_follow_the_longest_dependency_chain() {
        let s = stack(
            r#"
lookup "vpc" "main" id="vpc-1"
target-group "tg" name="tg" port=80 vpc=(ref)"lookup.vpc.main"
log-group "a" name="/a"
log-group "b" name="/b" { depends-on "target-group.tg" "log-group.a" }
"#,
        );
        let g = build(&s).expect("acyclic");
        let level = |name: &str| {
            let i = s
                .resources
                .iter()
                .position(|r| r.address.to_string() == name)
                .expect("exists");
            g.levels[i]
        };
        assert_eq!(level("lookup.vpc.main"), 0);
        assert_eq!(level("target-group.tg"), 1);
        assert_eq!(level("log-group.a"), 0);
        assert_eq!(level("log-group.b"), 2);
        assert_eq!(g.by_level().len(), 3);
    }

    #[test]
    fn a_cycle_lists_every_edge() {
        let s = stack(
            r#"
log-group "a" name="/a" { depends-on "log-group.b" }
log-group "b" name="/b" { depends-on "log-group.c" }
log-group "c" name="/c" { depends-on "log-group.a" }
log-group "d" name="/d" { depends-on "log-group.a" }
"#,
        );
        let errors = build(&s).expect_err("cycle");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].labels.len(), 3);
        assert!(
            errors[0]
                .message
                .contains("log-group.a → log-group.b → log-group.c → log-group.a"),
            "{}",
            errors[0].message
        );
    }
}
