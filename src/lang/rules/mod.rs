//! Rules AWS enforces across attributes and resources that the schemas of single blocks cannot
//! see: references of the wrong kind, two resources that are one AWS resource, a service's
//! load balancer and its task definition, records next to each other in a zone. They run once
//! the stack is resolved and decoded cleanly, never call AWS, and point every diagnostic at the
//! attribute that breaks the rule. `docs/rules.md` lists them.

mod acm;
mod autoscaling;
mod cloudwatch;
mod ecs;
mod elbv2;
mod refs;
mod route53;
mod unique;

#[cfg(test)]
mod accepted;

use std::collections::HashMap;

use super::decode::AttrSpans;
use super::diagnostic::{Diagnostic, Diagnostics};
use crate::model::schema::{Attr, BlockSchema, Type};
use crate::model::{Address, Kind, Resource, Span, Value};

/// Checks every rule over a resolved stack, appending what breaks them to `diags`.
pub fn check(
    resources: &[Resource],
    spans: &HashMap<Address, AttrSpans>,
    region: &str,
    diags: &mut Diagnostics,
) {
    let mut ctx = Ctx {
        resources,
        index: resources.iter().map(|r| (&r.address, r)).collect(),
        spans,
        region,
        out: Vec::new(),
    };
    refs::check(&mut ctx);
    autoscaling::check(&mut ctx);
    unique::check(&mut ctx);
    ecs::check(&mut ctx);
    elbv2::check(&mut ctx);
    route53::check(&mut ctx);
    acm::check(&mut ctx);
    cloudwatch::check(&mut ctx);
    addresses_fit(&mut ctx);
    for d in ctx.out {
        diags.push(d);
    }
}

/// The longest tag value AWS takes (ECS, ELBv2, CloudWatch, Logs, Secrets Manager).
const MAX_TAG_VALUE: usize = 256;

/// infra tags every resource with its address (`infra:address`): the address must fit a tag.
fn addresses_fit(ctx: &mut Ctx<'_>) {
    for r in ctx.resources {
        let address = r.address.to_string();
        if r.kind().schema().taggable && address.chars().count() > MAX_TAG_VALUE {
            ctx.error(
                r.span,
                format!(
                    "the address of this {} is {} characters long, and infra writes it in the \
                     `infra:address` tag, whose value AWS limits to {MAX_TAG_VALUE}",
                    r.kind().title(),
                    address.chars().count()
                ),
                "too long for its tag",
                "give the resource (or the modules around it) a shorter name".into(),
            );
        }
    }
}

/// The stack as the rules see it, and what they found.
pub(super) struct Ctx<'a> {
    resources: &'a [Resource],
    index: HashMap<&'a Address, &'a Resource>,
    spans: &'a HashMap<Address, AttrSpans>,
    region: &'a str,
    out: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    /// Every resource of a kind, in declaration order.
    fn all(&self, kind: Kind) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.iter().filter(move |r| r.kind() == kind)
    }

    /// Where `path` (`container.0.secrets.DB`) of a resource was written: the path itself, or
    /// the closest enclosing attribute that was (a whole map passed as a variable), or the
    /// resource's name.
    fn at(&self, resource: &Resource, path: &str) -> Span {
        let Some(spans) = self.spans.get(&resource.address) else {
            return resource.span;
        };
        let mut path = path;
        loop {
            if let Some(span) = spans.get(path) {
                return *span;
            }
            match path.rfind('.') {
                Some(i) => path = &path[..i],
                None => return resource.span,
            }
        }
    }

    /// The resource a value refers to, when it is a reference to one in the stack.
    fn target(&self, value: &Value) -> Option<&'a Resource> {
        match value {
            Value::Ref(r) => r.address().and_then(|a| self.index.get(a).copied()),
            Value::List(items) if items.len() == 1 => self.target(&items[0]),
            _ => None,
        }
    }

    /// The resource a value refers to, with the attribute it reads.
    fn target_attr(&self, value: &Value) -> Option<(&'a Resource, &'a str)> {
        let target = self.target(value)?;
        let attribute = match value {
            Value::Ref(r) => r.attribute(),
            Value::List(items) => match items.first() {
                Some(Value::Ref(r)) => r.attribute(),
                _ => None,
            },
            _ => None,
        }
        .unwrap_or(target.kind().schema().default_attribute);
        // The attribute name lives as long as the schema: find it there.
        let schema = target.kind().schema();
        let name = schema
            .readable_names()
            .find(|n| *n == attribute)
            .unwrap_or(schema.default_attribute);
        Some((target, name))
    }

    fn error(&mut self, span: Span, message: String, label: &str, help: String) {
        self.out.push(
            Diagnostic::new("infra::rule", message)
                .label(span, label)
                .help(help),
        );
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.out.push(diagnostic);
    }
}

/// A string attribute of a block.
fn text<'v>(body: &'v std::collections::BTreeMap<String, Value>, key: &str) -> Option<&'v str> {
    body.get(key).and_then(Value::as_str)
}

/// The blocks of a repeated attribute, with their positions.
fn blocks<'v>(
    body: &'v std::collections::BTreeMap<String, Value>,
    key: &str,
) -> impl Iterator<Item = (usize, &'v std::collections::BTreeMap<String, Value>)> {
    body.get(key)
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((i, v.as_map()?)))
}

/// Calls `f` with every attribute value of a block and its path, nested blocks included.
fn walk<'v>(
    schema: &'static BlockSchema,
    body: &'v std::collections::BTreeMap<String, Value>,
    prefix: &str,
    f: &mut impl FnMut(&'static Attr, &'v Value, &str),
) {
    for attr in schema.attrs {
        let Some(value) = body.get(attr.name) else {
            continue;
        };
        let path = if prefix.is_empty() {
            attr.name.to_string()
        } else {
            format!("{prefix}.{}", attr.name)
        };
        match (attr.ty, value) {
            (Type::Block(inner), Value::Map(map)) => walk(inner, map, &path, f),
            (Type::Blocks(inner), Value::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Map(map) = item {
                        walk(inner, map, &format!("{path}.{i}"), f);
                    }
                }
            }
            _ => f(attr, value, &path),
        }
    }
}
