//! References of the wrong kind (`secrets { X (ref)"log-group.api" }`) and references written
//! as plain strings (`cluster "cluster.prod"`), wherever an attribute says what it may point at.

use super::{Ctx, walk};
use crate::lang::diagnostic::Diagnostic;
use crate::lang::reference::parse_ref;
use crate::model::schema::{Attr, RefTo, with_article};
use crate::model::{Kind, RefTarget, Resource, Value};

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for resource in ctx.resources {
        let mut found = Vec::new();
        walk(
            resource.kind().schema().body,
            &resource.attrs,
            "",
            &mut |attr, value, path| {
                if !attr.refs.is_empty() {
                    found.push((attr, value, path.to_string()));
                }
            },
        );
        for (attr, value, path) in found {
            wrong_kind(ctx, attr, value);
            plain_strings(ctx, resource, attr, value, &path);
        }
    }
}

/// How to write a reference to what an attribute expects.
fn example(to: &RefTo, name: &str) -> String {
    let default = to.kind.schema().default_attribute;
    if to.attribute == default {
        format!("(ref)\"{}.{name}\"", to.kind.keyword())
    } else {
        format!("(ref)\"{}.{name}.{}\"", to.kind.keyword(), to.attribute)
    }
}

fn expected(attr: &Attr) -> String {
    let mut kinds: Vec<String> = Vec::new();
    for to in attr.refs {
        let what = with_article(to.kind.title());
        if !kinds.contains(&what) {
            kinds.push(what);
        }
    }
    kinds.join(" or ")
}

fn wrong_kind(ctx: &mut Ctx<'_>, attr: &'static Attr, value: &Value) {
    let mut problems = Vec::new();
    value.visit_refs(&mut |r| {
        let RefTarget::Resource { address, attribute } = &r.target else {
            return;
        };
        let attribute = attribute
            .as_deref()
            .unwrap_or(address.kind.schema().default_attribute);
        if attr
            .refs
            .iter()
            .any(|to| to.kind == address.kind && to.attribute == attribute)
        {
            return;
        }
        let same_kind = attr.refs.iter().find(|to| to.kind == address.kind);
        let (message, help) = match same_kind {
            Some(to) => (
                format!(
                    "`{}` takes {}'s `{}`, but this reference reads its `{attribute}`",
                    attr.name,
                    with_article(address.kind.title()),
                    to.attribute
                ),
                format!("write {}", example(to, &address.name)),
            ),
            None => (
                format!(
                    "`{}` takes {}, but `{}` is {}",
                    attr.name,
                    expected(attr),
                    address.local(),
                    with_article(address.kind.title())
                ),
                format!(
                    "reference {}: {}",
                    expected(attr),
                    example(&attr.refs[0], "<name>")
                ),
            ),
        };
        problems.push(
            Diagnostic::new("infra::reference", message)
                .label(r.span, "wrong kind of resource")
                .help(help),
        );
    });
    for p in problems {
        ctx.push(p);
    }
}

/// A plain string that is the address of a resource of an expected kind in the stack.
fn plain_strings(ctx: &mut Ctx<'_>, resource: &Resource, attr: &Attr, value: &Value, path: &str) {
    let items: Vec<(String, &Value)> = match value {
        Value::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{path}.{i}"), v))
            .collect(),
        Value::Map(map) => map
            .iter()
            .map(|(k, v)| (format!("{path}.{k}"), v))
            .collect(),
        v => vec![(path.to_string(), v)],
    };
    for (path, item) in items {
        let Some(text) = item.as_str() else { continue };
        let Ok(RefTarget::Resource { address, .. }) = parse_ref(text, &resource.address.module)
        else {
            continue;
        };
        let kinds: Vec<Kind> = attr.refs.iter().map(|to| to.kind).collect();
        if !kinds.contains(&address.kind) || !ctx.index.contains_key(&address) {
            continue;
        }
        let span = ctx.at(resource, &path);
        ctx.push(
            Diagnostic::new(
                "infra::reference",
                format!("`{text}` is a resource of this stack, written as a plain string"),
            )
            .label(span, "AWS would get this text, not the resource")
            .help(format!("write (ref)\"{text}\"")),
        );
    }
}
