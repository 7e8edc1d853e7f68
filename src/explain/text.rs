//! `infra explain` for the terminal: the list of kinds, a kind with all of its attributes (blocks
//! nested under their attribute), one attribute, or one computed attribute.

use crate::model::Kind;
use crate::model::schema::{Attr, BlockSchema, Computed, ResourceSchema};

use super::describe::{block_of, default_value, limits, natural_key, type_name, wrap};
use super::topic::{Topic, all_kinds};

/// What an attribute that is `unmanaged_when_omitted` says about its default.
pub const LEFT_TO_AWS: &str = "omitted: left as AWS has it";

/// Lines are wrapped here, like diagnostics.
const WIDTH: usize = 100;

/// The rendering of a resolved topic.
pub fn topic(topic: &Topic) -> String {
    match topic {
        Topic::Kind(kind) => self::kind(*kind),
        Topic::Attribute { kind, chain } => attribute(*kind, chain),
        Topic::Computed { kind, computed } => self::computed(*kind, computed),
    }
}

/// Every kind with its title.
pub fn kinds() -> String {
    let width = all_kinds().map(|k| k.keyword().len()).max().unwrap_or(0);
    let line = |k: Kind| format!("  {:width$}  {}\n", k.keyword(), k.title());
    let mut out = String::from("Resource kinds, written `KIND \"NAME\" { ... }`:\n");
    Kind::MANAGED
        .into_iter()
        .for_each(|k| out.push_str(&line(k)));
    out.push_str("\nLook-ups, read but never owned, written `lookup \"KIND\" \"NAME\" { ... }`:\n");
    Kind::LOOKUPS
        .into_iter()
        .for_each(|k| out.push_str(&line(k)));
    out.push_str(
        "\n`infra explain KIND` lists a kind's attributes; `infra explain KIND.ATTRIBUTE` \
         explains one,\ne.g. `infra explain target-group.health-check.path`.\n",
    );
    out
}

/// A kind: its paragraph, key, rules, attributes and computed attributes.
pub fn kind(kind: Kind) -> String {
    let schema = kind.schema();
    let mut out = format!("{} — {}\n\n", kind.keyword(), schema.title);
    out.push_str(&wrap(schema.doc, WIDTH, ""));
    out.push('\n');
    if kind.is_lookup() {
        out.push_str("Look-up: read, never created, changed or deleted.\n");
    } else {
        out.push_str(&format!("Natural key: {}\n", natural_key(schema)));
    }
    out.push_str(&format!(
        "Default attribute: `{}` (what `(ref)\"{}.NAME\"` reads)\n",
        schema.default_attribute,
        kind.keyword()
    ));
    if !schema.rules_doc.is_empty() {
        out.push('\n');
        out.push_str(&wrap(&format!("Rules: {}", schema.rules_doc), WIDTH, ""));
    }
    out.push_str("\nAttributes:\n");
    attributes(&mut out, schema.body, false, 1);
    computed_list(&mut out, schema);
    out.push_str(&format!(
        "\nMore on one attribute: infra explain {}.ATTRIBUTE\n",
        kind.keyword()
    ));
    out
}

/// One line per attribute of `block`, then its limits and doc; nested blocks below their
/// attribute, one level deeper. `replaced` says whether a parent block is force-new.
fn attributes(out: &mut String, block: &BlockSchema, replaced: bool, depth: usize) {
    let indent = "    ".repeat(depth);
    for attr in block.attrs {
        let replaces = replaced || attr.force_new;
        let mut facts = vec![type_name(&attr.ty), required(attr).into()];
        if let Some(d) = attr.default {
            facts.push(format!("default {}", default_value(d)));
        }
        if attr.unmanaged_when_omitted {
            facts.push(LEFT_TO_AWS.into());
        }
        if replaces {
            facts.push("changing it replaces the resource".into());
        }
        if attr.sensitive {
            facts.push("sensitive".into());
        }
        if block.label == Some(attr.name) {
            facts.push("set by the block's first argument".into());
        }
        out.push_str(&format!(
            "{}{}: {}\n",
            &indent[2..],
            attr.name,
            facts.join(", ")
        ));
        let limits = limits(attr);
        if !limits.is_empty() {
            out.push_str(&wrap(
                &format!("limits: {}", limits.join("; ")),
                WIDTH,
                &indent,
            ));
        }
        out.push_str(&wrap(attr.doc, WIDTH, &indent));
        if let Some(nested) = block_of(attr) {
            attributes(out, nested, replaces, depth + 1);
        }
    }
}

fn required(attr: &Attr) -> &'static str {
    if attr.required {
        "required"
    } else {
        "optional"
    }
}

fn computed_list(out: &mut String, schema: &ResourceSchema) {
    if schema.computed.is_empty() {
        return;
    }
    out.push_str("\nComputed by AWS, known once it exists (readable by references):\n");
    for c in schema.computed {
        out.push_str(&format!("  {}: {}\n", c.name, type_name(&c.ty)));
        out.push_str(&wrap(c.doc, WIDTH, "    "));
    }
}

/// One attribute: its facts as a table, its doc, and the attributes of its block.
fn attribute(kind: Kind, chain: &[&'static Attr]) -> String {
    let Some(attr) = chain.last().copied() else {
        return self::kind(kind);
    };
    let schema = kind.schema();
    let path: Vec<&str> = chain.iter().map(|a| a.name).collect();
    let mut out = format!("{}.{}\n\n", kind.keyword(), path.join("."));
    if !attr.doc.is_empty() {
        out.push_str(&wrap(attr.doc, WIDTH, ""));
        out.push('\n');
    }
    let mut rows: Vec<(&str, String)> = vec![
        ("type", type_name(&attr.ty)),
        ("required", if attr.required { "yes" } else { "no" }.into()),
        (
            "default",
            if attr.unmanaged_when_omitted {
                LEFT_TO_AWS.into()
            } else {
                attr.default.map_or_else(|| "none".into(), default_value)
            },
        ),
    ];
    if !kind.is_lookup() {
        let replaces = chain.iter().any(|a| a.force_new);
        rows.push((
            "on change",
            if replaces {
                format!(
                    "the {} is replaced (deleted and created again)",
                    schema.title
                )
            } else {
                format!("the {} is updated in place", schema.title)
            },
        ));
    }
    let limits = limits(attr);
    rows.push((
        "limits",
        if limits.is_empty() {
            "none".into()
        } else {
            limits.join("; ")
        },
    ));
    if attr.sensitive {
        rows.push((
            "sensitive",
            "yes: never shown in plans, logs or errors".into(),
        ));
    }
    if let Some(block) = block_of(attr)
        && let Some(label) = block.label
    {
        rows.push((
            "label",
            format!("the block's first argument sets `{label}`"),
        ));
    }
    for (key, value) in rows {
        out.push_str(&row(key, &value));
    }
    if let Some(block) = block_of(attr) {
        out.push_str("\nAttributes of the block:\n");
        attributes(&mut out, block, chain.iter().any(|a| a.force_new), 1);
    }
    out
}

fn computed(kind: Kind, computed: &Computed) -> String {
    let schema = kind.schema();
    let mut out = format!("{}.{}\n\n", kind.keyword(), computed.name);
    out.push_str(&wrap(computed.doc, WIDTH, ""));
    out.push('\n');
    out.push_str(&row("type", &type_name(&computed.ty)));
    let when = if kind.is_lookup() {
        "known once the look-up is read".to_string()
    } else {
        format!("AWS assigns it; known once the {} exists", schema.title)
    };
    out.push_str(&row("computed", &format!("yes: {when}")));
    out
}

/// `  key        value`, the value wrapped under itself.
fn row(key: &str, value: &str) -> String {
    let prefix = format!("  {key:10} ");
    let wrapped = wrap(value, WIDTH, &" ".repeat(prefix.len()));
    match wrapped.get(prefix.len()..) {
        Some(rest) => format!("{prefix}{rest}"),
        None => format!("{prefix}\n"),
    }
}
