//! `for-each` on a resource or module instance: reading the collection it ranges over (a
//! literal list or map, or a variable or module input holding one) into the items each
//! instance is decoded with, and the diagnostics of a collection that cannot key addresses.

use kdl::{KdlEntry, KdlNode, KdlValue};

use super::bounds::MAX_FOR_EACH_ITEMS;
use super::decode::{Decoder, arguments_and_properties};
use super::diagnostic::Diagnostic;
use super::scope::Each;
use crate::model::address::{KEY_PUNCTUATION, key_problem};
use crate::model::{Span, Value};

/// The word, as a property (`for-each=(var)"names"`) or a child node (`for-each "a" "b"`).
pub const FOR_EACH: &str = "for-each";

/// The items of a node's `for-each`, each with where it is written: `None` when the node has
/// no `for-each`, `Some(Err(()))` when it has one that was reported as broken.
pub fn items(d: &mut Decoder<'_, '_>, node: &KdlNode) -> Option<Result<Vec<(Each, Span)>, ()>> {
    let property = node
        .entries()
        .iter()
        .find(|e| e.name().is_some_and(|n| n.value() == FOR_EACH));
    let child = node.iter_children().find(|c| c.name().value() == FOR_EACH);
    let items = match (property, child) {
        (None, None) => return None,
        (Some(p), Some(c)) => {
            let span = d.span(c.name().span());
            let first = d.span(p.span());
            d.diags.push(
                Diagnostic::new("infra::for-each", "`for-each` is written twice")
                    .label(span, "written again here")
                    .label(first, "first written here")
                    .help("keep one `for-each`: a property or a child node"),
            );
            return Some(Err(()));
        }
        (Some(p), None) => {
            let span = d.span(p.span());
            collection(d, p, span)
        }
        (None, Some(c)) => child_items(d, c),
    };
    Some(items.and_then(|items| checked(d, items)))
}

/// `for-each "a" "b"`, `for-each a="x" b="y"`, `for-each { a "x" }` or `for-each (var)"names"`.
fn child_items(d: &mut Decoder<'_, '_>, node: &KdlNode) -> Result<Vec<(Each, Span)>, ()> {
    let span = d.span(node.name().span());
    let (args, props) = arguments_and_properties(node);
    let children: Vec<&KdlNode> = node.iter_children().collect();
    if let [single] = args.as_slice()
        && single.ty().is_some()
        && props.is_empty()
        && children.is_empty()
    {
        let span = d.span(single.span());
        return collection(d, single, span);
    }
    if !args.is_empty() && (!props.is_empty() || !children.is_empty()) {
        d.diags.push(
            Diagnostic::new(
                "infra::for-each",
                "`for-each` holds both list items and map entries",
            )
            .label(span, "a list or a map, not both")
            .help(
                "write a list, `for-each \"a\" \"b\"`, or a map, `for-each { a \"x\"; b \"y\" }`",
            ),
        );
        return Err(());
    }
    let mut items = Vec::new();
    let mut ok = true;
    for arg in args {
        let span = d.span(arg.span());
        match text(d, arg, span) {
            Some(key) => items.push((
                Each {
                    value: key.clone(),
                    key,
                },
                span,
            )),
            None => ok = false,
        }
    }
    for prop in props {
        let Some(key) = prop.name().map(|n| n.value().to_string()) else {
            continue;
        };
        let span = d.span(prop.span());
        match text(d, prop, span) {
            Some(value) => items.push((Each { key, value }, span)),
            None => ok = false,
        }
    }
    for child in children {
        let key = child.name().value().to_string();
        let span = d.span(child.name().span());
        let entries: Vec<&KdlEntry> = child.entries().iter().collect();
        match entries.as_slice() {
            [entry] if entry.name().is_none() && child.children().is_none() => {
                match text(d, entry, span) {
                    Some(value) => items.push((Each { key, value }, span)),
                    None => ok = false,
                }
            }
            _ => {
                ok = false;
                d.diags.push(
                    Diagnostic::new(
                        "infra::for-each",
                        format!("entry `{key}` of `for-each` needs exactly one value"),
                    )
                    .label(span, "expected `key \"value\"`")
                    .help(format!("write `{key} \"value\"`")),
                );
            }
        }
    }
    if ok { Ok(items) } else { Err(()) }
}

/// One literal string of a `for-each` list or map (numbers are written as they read).
fn text(d: &mut Decoder<'_, '_>, entry: &KdlEntry, span: Span) -> Option<String> {
    if entry.ty().is_some() {
        d.diags.push(
            Diagnostic::new(
                "infra::for-each",
                "an item of a `for-each` list is a plain value",
            )
            .label(span, "typed value inside a list")
            .help("to range over a variable, write `for-each (var)\"name\"` with nothing else"),
        );
        return None;
    }
    match entry.value() {
        KdlValue::Integer(i) => Some(i.to_string()),
        KdlValue::String(_) => match d.any_entry(entry)? {
            Value::String(s) => Some(s),
            _ => None,
        },
        other => {
            let found = match other {
                KdlValue::Bool(_) => "a boolean",
                KdlValue::Null => "#null",
                _ => "a decimal number",
            };
            d.diags.push(
                Diagnostic::new(
                    "infra::for-each",
                    format!("a `for-each` item is a string, found {found}"),
                )
                .label(span, "not a string")
                .help("items become keys of addresses: write them as strings"),
            );
            None
        }
    }
}

/// The items of a collection written as one value: `(var)"names"`, or a single string.
fn collection(
    d: &mut Decoder<'_, '_>,
    entry: &KdlEntry,
    span: Span,
) -> Result<Vec<(Each, Span)>, ()> {
    let value = d.any_entry(entry).ok_or(())?;
    let not_text = |d: &mut Decoder<'_, '_>, found: &Value| {
        d.diags.push(
            Diagnostic::new(
                "infra::for-each",
                format!(
                    "`for-each` items are strings, and this collection holds {}",
                    crate::model::schema::with_article(found.type_name())
                ),
            )
            .label(span, "not a collection of strings")
            .help("range over a `list(string)`, `list(int)` or `map(string)` variable"),
        );
    };
    match value {
        Value::String(s) => Ok(vec![(
            Each {
                key: s.clone(),
                value: s,
            },
            span,
        )]),
        Value::List(list) => {
            let mut items = Vec::with_capacity(list.len());
            for item in list {
                let key = match item {
                    Value::String(s) => s,
                    Value::Int(i) => i.to_string(),
                    other => {
                        not_text(d, &other);
                        return Err(());
                    }
                };
                items.push((
                    Each {
                        value: key.clone(),
                        key,
                    },
                    span,
                ));
            }
            Ok(items)
        }
        Value::Map(map) => {
            let mut items = Vec::with_capacity(map.len());
            for (key, value) in map {
                let Value::String(value) = value else {
                    not_text(d, &value);
                    return Err(());
                };
                items.push((Each { key, value }, span));
            }
            Ok(items)
        }
        Value::Ref(_) | Value::Unknown => {
            d.diags.push(
                Diagnostic::new(
                    "infra::for-each",
                    "`for-each` ranges over a value known only once AWS has made it",
                )
                .label(span, "a reference")
                .help(
                    "the instances must be known when the stack loads: range over a literal list \
                     or map, a variable, or a module input",
                ),
            );
            Err(())
        }
        other => {
            d.diags.push(
                Diagnostic::new(
                    "infra::for-each",
                    format!(
                        "`for-each` ranges over a list or a map, not {}",
                        crate::model::schema::with_article(other.type_name())
                    ),
                )
                .label(span, "not a collection")
                .help(
                    "write `for-each \"a\" \"b\"`, `for-each { a \"x\" }`, or name a \
                     `list(string)` or `map(string)` variable: `for-each=(var)\"names\"`",
                ),
            );
            Err(())
        }
    }
}

/// Every key must be able to stand in an address, once.
fn checked(d: &mut Decoder<'_, '_>, items: Vec<(Each, Span)>) -> Result<Vec<(Each, Span)>, ()> {
    let mut ok = true;
    if items.len() > MAX_FOR_EACH_ITEMS
        && let Some((_, span)) = items.first()
    {
        d.diags.push(
            Diagnostic::new(
                "infra::limit",
                format!(
                    "`for-each` ranges over {} items, more than {MAX_FOR_EACH_ITEMS}",
                    items.len()
                ),
            )
            .label(*span, "this collection")
            .help("split the collection, or check that it is the one you meant"),
        );
        return Err(());
    }
    let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
    for (each, span) in &items {
        if let Some(problem) = key_problem(&each.key) {
            ok = false;
            let allowed: String = KEY_PUNCTUATION.iter().map(|c| format!(" {c}")).collect();
            d.diags.push(
                Diagnostic::new(
                    "infra::for-each-key",
                    format!(
                        "`for-each` key `{}` cannot key an address: {problem}",
                        each.key.escape_default()
                    ),
                )
                .label(*span, "this key")
                .help(format!(
                    "each key becomes part of an address (`alarm.errors[\"key\"]`) and of its \
                     `infra:address` tag: use letters, digits and{allowed}; a map's keys can \
                     name items whose values hold anything"
                )),
            );
            continue;
        }
        if let Some(first) = seen.get(each.key.as_str()) {
            ok = false;
            let mut diag = Diagnostic::new(
                "infra::for-each-key",
                format!("`for-each` has the key `{}` twice", each.key),
            )
            .label(*span, "repeated here");
            if first != span {
                diag = diag.label(*first, "first here");
            }
            d.diags.push(diag.help(
                "each key is one instance and its address: remove the repeated item, or use a \
                 map to give items their own keys",
            ));
            continue;
        }
        seen.insert(&each.key, *span);
    }
    if ok { Ok(items) } else { Err(()) }
}

#[cfg(test)]
mod tests;
