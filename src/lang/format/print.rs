//! Prints a formatter tree in the canonical layout: four spaces per level, one node per line,
//! entries separated by one space, children in braces, at most one blank line between items,
//! no trailing whitespace.

use super::tree::{Document, Item, Node, Part};

const INDENT: &str = "    ";

/// The canonical text of a document (empty, or ending with one newline).
pub fn print(doc: &Document<'_>) -> String {
    let mut out = String::new();
    document(&mut out, doc, 0);
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}

fn document(out: &mut String, doc: &Document<'_>, depth: usize) {
    let last = doc
        .items
        .iter()
        .rposition(|i| !matches!(i, Item::Blank))
        .map_or(0, |i| i + 1);
    let mut previous_blank = true;
    for item in &doc.items[..last] {
        match item {
            Item::Blank => {
                if !previous_blank {
                    out.push('\n');
                }
                previous_blank = true;
                continue;
            }
            Item::Comment {
                text,
                same_line: true,
            } if out.ends_with('\n') => {
                out.pop();
                out.push(' ');
                comment(out, text);
                out.push('\n');
            }
            Item::Comment { text, .. } => {
                indent(out, depth);
                comment(out, text);
                out.push('\n');
            }
            Item::Node { node: n, slashdash } => {
                indent(out, depth);
                if *slashdash {
                    out.push_str("/- ");
                }
                node(out, n, depth);
                // A node that ends in a line continuation leaves an indent behind.
                out.truncate(out.trim_end_matches(' ').len());
                out.push('\n');
            }
        }
        previous_blank = false;
    }
}

/// A comment without trailing whitespace on any of its lines.
fn comment(out: &mut String, text: &str) {
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        out.push_str(first.trim_end());
    }
    for line in lines {
        out.push('\n');
        out.push_str(line.trim_end());
    }
}

fn node(out: &mut String, node: &Node<'_>, depth: usize) {
    // Whether the next part starts a line (no space before it).
    let mut line_start = true;
    for part in &node.parts {
        if !line_start {
            out.push(' ');
        }
        line_start = false;
        match part {
            Part::Entry(text) => out.push_str(text),
            Part::SlashdashEntry(text) => {
                out.push_str("/- ");
                out.push_str(text);
            }
            Part::Comment(text) | Part::LineComment(text) => comment(out, text),
            Part::Continuation(text) => {
                out.push_str("\\ ");
                comment(out, text);
                out.push('\n');
                indent(out, depth + 1);
                line_start = true;
            }
            Part::Children { doc, slashdash } => {
                if *slashdash {
                    out.push_str("/- ");
                }
                out.push('{');
                if doc.items.iter().any(|i| !matches!(i, Item::Blank)) {
                    out.push('\n');
                    document(out, doc, depth + 1);
                    indent(out, depth);
                }
                out.push('}');
            }
        }
    }
}
