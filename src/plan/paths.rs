//! Attribute changes as paths, the way a reviewer reads them: maps key by key, repeated
//! labelled blocks label by label (`container.web.image`), blocks whose label is a reference
//! by the stack address it names (`load-balancer[target-group.api].container-port`), repeated
//! blocks without a label that are named by position by their number from 1
//! (`policy.read.statement[2].actions`), and only what changed. The text, Markdown and JSON renderings all read these.

use std::collections::{BTreeMap, BTreeSet};

use super::{AttrChange, Change};
use crate::model::Value;
use crate::model::schema::{Attr, BlockSchema, Type};

/// One changed path of an attribute. `None` is "not set".
#[derive(Debug, Clone, PartialEq)]
pub struct PathChange {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub sensitive: bool,
    pub forces_replacement: bool,
    /// A block added to or removed from a block that exists (not a value of a new resource or
    /// attribute): the text shows `(none) → …` so that it reads as a change.
    pub within_existing: bool,
}

/// Every changed path of a change, attribute by attribute, in schema order.
pub fn paths(change: &Change) -> Vec<PathChange> {
    let body = change.kind.schema().body;
    change.attrs.iter().flat_map(|a| of(a, body)).collect()
}

/// The changed paths of one attribute; a sensitive attribute is one path, never looked into.
fn of(attr: &AttrChange, body: &'static BlockSchema) -> Vec<PathChange> {
    if attr.sensitive {
        return vec![PathChange {
            path: attr.name.clone(),
            before: attr.before.clone(),
            after: attr.after.clone(),
            sensitive: true,
            forces_replacement: attr.forces_replacement,
            within_existing: false,
        }];
    }
    let schema = body.attr(&attr.name);
    let before = attr
        .before
        .as_ref()
        .map(|v| by_label(v, schema, &attr.names.before));
    let after = attr
        .after
        .as_ref()
        .map(|v| by_label(v, schema, &attr.names.after));
    let mut out = Vec::new();
    flatten(
        &attr.name,
        before.as_ref(),
        after.as_ref(),
        shape_of(schema),
        &mut out,
    );
    if attr.forces_replacement
        && let Some(first) = out.first_mut()
    {
        first.forces_replacement = true;
    }
    out
}

/// A repeated labelled block as a map from label to block (without the label itself). An
/// item with a name of its own (`[target-group.api]`, the address its label refers to) is
/// keyed by that name.
fn by_label(value: &Value, attr: Option<&'static Attr>, names: &[String]) -> Value {
    let (
        Some(Attr {
            ty: Type::Blocks(block),
            ..
        }),
        Value::List(items),
    ) = (attr, value)
    else {
        return value.clone();
    };
    if block.label.is_none() && block.by_position {
        let mut map = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            map.insert(format!("[{}]", i + 1), item.clone());
        }
        return Value::Map(map);
    }
    let Some(label) = block.label else {
        return value.clone();
    };
    let mut map = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(fields) = item.as_map() else {
            return value.clone();
        };
        let key = match (names.get(i).filter(|n| !n.is_empty()), fields.get(label)) {
            (Some(name), _) => name.clone(),
            (None, Some(Value::String(s))) => s.clone(),
            (None, Some(other)) => other.to_string(),
            (None, None) => return value.clone(),
        };
        let mut rest = fields.clone();
        if !key.starts_with('[') {
            rest.remove(label);
        }
        map.insert(key, Value::Map(rest));
    }
    Value::Map(map)
}

/// What the values being flattened are, so nested labelled blocks can be shown by label.
#[derive(Clone, Copy)]
enum Shape {
    /// A block: keys are attribute names.
    Block(&'static BlockSchema),
    /// Repeated labelled blocks turned into a map: keys are labels, values blocks.
    Labelled(&'static BlockSchema),
    Plain,
}

fn shape_of(attr: Option<&'static Attr>) -> Shape {
    match attr.map(|a| a.ty) {
        Some(Type::Block(b)) => Shape::Block(b),
        Some(Type::Blocks(b)) if b.label.is_some() || b.by_position => Shape::Labelled(b),
        _ => Shape::Plain,
    }
}

/// `container` + `web` → `container.web`; `load-balancer` + `[target-group.api]` →
/// `load-balancer[target-group.api]`.
fn join(name: &str, key: &str) -> String {
    if key.starts_with('[') {
        format!("{name}{key}")
    } else {
        format!("{name}.{key}")
    }
}

fn flatten(
    name: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    shape: Shape,
    out: &mut Vec<PathChange>,
) {
    let leaf = |path: String, before: Option<&Value>, after: Option<&Value>| PathChange {
        path,
        before: before.cloned(),
        after: after.cloned(),
        sensitive: false,
        forces_replacement: false,
        within_existing: false,
    };
    if let (Some(Value::Map(_)) | None, Some(Value::Map(_)) | None) = (before, after)
        && (before.is_some() || after.is_some())
    {
        let empty = BTreeMap::new();
        let b = before.and_then(Value::as_map).unwrap_or(&empty);
        let a = after.and_then(Value::as_map).unwrap_or(&empty);
        let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for key in keys {
            let (x, y) = (b.get(key), a.get(key));
            if x == y && before.is_some() {
                continue;
            }
            let (inner, child) = match shape {
                Shape::Block(block) => {
                    let attr = block.attr(key);
                    (shape_of(attr), attr)
                }
                Shape::Labelled(block) => (Shape::Block(block), None),
                Shape::Plain => (Shape::Plain, None),
            };
            let path = join(name, key);
            // A block added to or removed from something that exists: one path, whole.
            if before.is_some() && after.is_some() && (x.is_none() || y.is_none()) {
                out.push(PathChange {
                    within_existing: true,
                    ..leaf(path, x, y)
                });
                continue;
            }
            let (x, y) = (
                x.map(|v| by_label(v, child, &[])),
                y.map(|v| by_label(v, child, &[])),
            );
            flatten(&path, x.as_ref(), y.as_ref(), inner, out);
        }
        return;
    }
    if before.is_some() || after.is_some() {
        out.push(leaf(name.to_string(), before, after));
    }
}
