//! The reference of each kind in `docs/language.md`, generated from the schema: the kind's
//! paragraph, its rules, a table of attributes per block and a table of computed attributes.
//!
//! In the document each kind's reference sits between `<!-- generated:kind=KIND -->` and
//! `<!-- end generated -->`, and the table of what references read between
//! `<!-- generated:references -->` and the same end; [`regenerate`] rewrites what is between
//! the markers and leaves every other line (hand-written prose and examples) as it is.

use crate::model::Kind;
use crate::model::schema::{Attr, BlockSchema, ResourceSchema, Type};

use super::describe::{block_of, code, default_value, limits, natural_key, type_name, wrap};
use super::topic::all_kinds;

/// Paragraphs are wrapped like the rest of the document.
const WIDTH: usize = 100;

const START: &str = "<!-- generated:";
const START_END: &str = " -->";
const END: &str = "<!-- end generated -->";

/// A generated region that cannot be rewritten.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegenerateError {
    #[error("line {line}: `{what}` is neither `kind=KIND` nor `references`")]
    Unknown { line: usize, what: String },
    #[error("line {line}: the generated region `{what}` has no `{END}`")]
    Unterminated { line: usize, what: String },
}

/// The reference of one kind, as it stands between its markers.
pub fn kind(kind: Kind) -> String {
    let schema = kind.schema();
    let mut intro = schema.doc.to_string();
    if !kind.is_lookup() {
        intro.push_str(&format!(" Natural key: {}.", natural_key(schema)));
    }
    intro.push_str(&format!(
        " Default attribute {}.",
        code(schema.default_attribute)
    ));
    let mut out = wrap(&intro, WIDTH, "");
    if !schema.rules_doc.is_empty() {
        out.push('\n');
        out.push_str(&wrap(&format!("Rules: {}", schema.rules_doc), WIDTH, ""));
    }
    out.push('\n');
    out.push_str(&table(schema.body, false));
    nested(&mut out, schema.body, &[], false);
    computed(&mut out, kind, schema);
    out
}

/// Rewrites every generated region of `document` from the schema.
pub fn regenerate(document: &str) -> Result<String, RegenerateError> {
    let mut out = String::with_capacity(document.len());
    let mut lines = document.split_inclusive('\n').enumerate();
    while let Some((i, line)) = lines.next() {
        out.push_str(line);
        let Some(what) = line
            .trim_end()
            .strip_prefix(START)
            .and_then(|rest| rest.strip_suffix(START_END))
        else {
            continue;
        };
        let kind = what
            .strip_prefix("kind=")
            .and_then(|word| all_kinds().find(|k| k.keyword() == word));
        let generated = match (kind, what) {
            (Some(kind), _) => self::kind(kind),
            (None, "references") => references(),
            (None, _) => {
                return Err(RegenerateError::Unknown {
                    line: i + 1,
                    what: what.to_string(),
                });
            }
        };
        let end = lines.by_ref().find(|(_, l)| l.trim_end() == END);
        let Some((_, end)) = end else {
            return Err(RegenerateError::Unterminated {
                line: i + 1,
                what: what.to_string(),
            });
        };
        // Blank lines keep the markers apart from the tables in every Markdown renderer.
        out.push('\n');
        out.push_str(&generated);
        out.push('\n');
        out.push_str(end);
    }
    Ok(out)
}

/// What each generated region of `document` holds (`kind=service`, `references`), in order.
pub fn regions(document: &str) -> Vec<String> {
    document
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix(START)?.strip_suffix(START_END))
        .map(str::to_string)
        .collect()
}

/// What a reference to each kind reads: its default attribute and its computed attributes.
pub fn references() -> String {
    let mut out = String::from(
        "| kind | default attribute | computed attributes |\n\
         |---|---|---|\n",
    );
    for kind in all_kinds() {
        let schema = kind.schema();
        let computed: Vec<String> = schema.computed.iter().map(|c| code(c.name)).collect();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            code(kind.keyword()),
            code(schema.default_attribute),
            computed.join(", ")
        ));
    }
    out
}

/// The tables of the blocks inside `block`, depth first, each under its path.
fn nested(out: &mut String, block: &BlockSchema, path: &[&str], replaced: bool) {
    for attr in block.attrs {
        let Some(inner) = block_of(attr) else {
            continue;
        };
        let mut inner_path = path.to_vec();
        inner_path.push(attr.name);
        let label = inner
            .label
            .map(|l| format!(" (label argument: {})", code(l)))
            .unwrap_or_default();
        out.push_str(&format!("\n{}{label}:\n\n", code(&inner_path.join("."))));
        let replaces = replaced || attr.force_new;
        out.push_str(&table(inner, replaces));
        nested(out, inner, &inner_path, replaces);
    }
}

fn table(block: &BlockSchema, replaced: bool) -> String {
    let mut out = String::from(
        "| attribute | type | required | default | limits | force-new | notes |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for attr in block.attrs {
        let yes = |b: bool| if b { "yes" } else { "" }.to_string();
        let cells = [
            code(attr.name),
            markdown_type(attr),
            yes(attr.required),
            if attr.unmanaged_when_omitted {
                super::text::LEFT_TO_AWS.to_string()
            } else {
                attr.default
                    .map(|d| code(&default_value(d)))
                    .unwrap_or_default()
            },
            limits(attr).join("; "),
            yes(replaced || attr.force_new),
            notes(block, attr),
        ];
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

fn markdown_type(attr: &Attr) -> String {
    match attr.ty {
        Type::Block(b) => format!("{} block", code(b.name)),
        Type::Blocks(b) => format!("repeated {} block", code(b.name)),
        ty => type_name(&ty),
    }
}

fn notes(block: &BlockSchema, attr: &Attr) -> String {
    let mut notes = Vec::new();
    if block.label == Some(attr.name) {
        notes.push("Label argument.");
    }
    if attr.sensitive {
        notes.push("Sensitive.");
    }
    if !attr.doc.is_empty() {
        notes.push(attr.doc);
    }
    notes.join(" ")
}

fn computed(out: &mut String, kind: Kind, schema: &ResourceSchema) {
    if schema.computed.is_empty() {
        return;
    }
    let when = if kind.is_lookup() {
        "known once the look-up is read"
    } else {
        "known once the resource exists"
    };
    out.push_str(&format!(
        "\nComputed attributes ({when}):\n\n| attribute | type | notes |\n|---|---|---|\n"
    ));
    for c in schema.computed {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            code(c.name),
            type_name(&c.ty),
            c.doc.replace('|', "\\|")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_between_the_markers_only() {
        let doc = "# Title\n\nprose\n<!-- generated:kind=log-group -->\nstale\n\
                   <!-- end generated -->\nexample\n";
        let out = regenerate(doc).expect("regenerates");
        assert!(out.starts_with("# Title\n\nprose\n<!-- generated:kind=log-group -->\n\nA "));
        assert!(out.ends_with("|\n\n<!-- end generated -->\nexample\n"));
        assert!(!out.contains("stale"));
        assert!(out.contains("| `retention-days` | integer |"));
        assert_eq!(regenerate(&out).as_deref(), Ok(out.as_str()));
        assert_eq!(regions(&out), ["kind=log-group"]);
    }

    #[test]
    fn unknown_kinds_and_missing_ends_are_errors() {
        let unknown = "<!-- generated:kind=database -->\n<!-- end generated -->\n";
        assert!(matches!(
            regenerate(unknown),
            Err(RegenerateError::Unknown { line: 1, .. })
        ));
        let open = "x\n<!-- generated:kind=secret -->\nno end\n";
        assert!(matches!(
            regenerate(open),
            Err(RegenerateError::Unterminated { line: 2, .. })
        ));
    }

    #[test]
    fn pipes_in_docs_are_escaped_in_tables() {
        let out = kind(Kind::TaskDefinition);
        assert!(!out.contains("health || exit 1"));
        assert!(out.contains(r"health \|\| exit 1"));
    }
}
