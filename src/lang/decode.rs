//! Decoding KDL nodes into attribute values, driven by a [`BlockSchema`].
//!
//! An attribute may be written as a property (`port=8080`) or as a child node (`port 8080`);
//! lists are a node's arguments, maps are child nodes or properties, blocks are child nodes
//! with children, repeated blocks are repeated child nodes. Every problem becomes a
//! diagnostic; decoding goes on so that all problems are reported at once.

use std::collections::BTreeMap;

use kdl::{KdlEntry, KdlNode, KdlValue};

use super::diagnostic::{Diagnostic, Diagnostics};
use super::interpolate::interpolate;
use super::reference::{Fit, fit, parse_ref, target_type};
use super::scope::Scope;
use super::suggest::did_you_mean;
use crate::model::schema::{Attr, BlockSchema, Check, Rule, Type};
use crate::model::{Reference, Span, Value};

/// The attributes of a block decoded so far, and where each was written.
#[derive(Default)]
struct Decoded {
    values: BTreeMap<String, Value>,
    spans: BTreeMap<&'static str, Span>,
}

/// Where each attribute of a decoded node was written, by path: `cluster`,
/// `load-balancer.0.container` (repeated blocks by position), `container.0.secrets.DB_URL`
/// (map entries by key), `subnets.1` (list items by position). The rules across resources
/// point their diagnostics here.
pub type AttrSpans = BTreeMap<String, Span>;

/// Warnings silenced on the line that causes them: `desired-count 1 allow="staging runs one
/// task"`, by attribute path (as in [`AttrSpans`]), with the reason and where it is written.
pub type Allows = BTreeMap<String, (String, Span)>;

/// The property that silences the warnings about an attribute, with a reason.
pub const ALLOW: &str = "allow";

/// Decoding state: the scope values are read in and the diagnostics collected so far.
pub struct Decoder<'a, 'd> {
    pub scope: Scope<'a>,
    pub diags: &'d mut Diagnostics,
    /// The root stack's variables read so far (a variable never read is a warning).
    pub used: &'d mut std::collections::BTreeSet<String>,
    /// The spans of what was decoded so far.
    pub spans: AttrSpans,
    /// Warnings silenced on the line, by path.
    pub allows: Allows,
    /// The path of the block being decoded, empty at the top.
    pub prefix: String,
}

/// Which parts of a node belong to the block being decoded.
pub struct NodeView<'n> {
    pub node: &'n KdlNode,
    /// Positional arguments already consumed by the caller (e.g. the resource name).
    pub skip_args: usize,
    /// Child node names handled by the caller (`depends-on`, `lifecycle`).
    pub skip_children: &'static [&'static str],
    /// Property names handled by the caller (`for-each`).
    pub skip_props: &'static [&'static str],
    /// Whether the caller took the node's `allow="..."` (a block that is an attribute).
    pub allow_taken: bool,
}

impl<'n> NodeView<'n> {
    pub fn whole(node: &'n KdlNode) -> Self {
        NodeView {
            node,
            skip_args: 0,
            skip_children: &[],
            skip_props: &[],
            allow_taken: false,
        }
    }
}

impl Decoder<'_, '_> {
    /// The path of an attribute of the block being decoded.
    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// Notes that the root stack's variable `name` is read (a module's inputs do not count).
    fn read_var(&mut self, name: &str) {
        if self.scope.module.is_empty() {
            self.used.insert(name.to_string());
        }
    }

    /// Substitutes the variables in `s`, noting each one as read.
    fn interpolate_string(&mut self, s: &str) -> Result<String, super::interpolate::TemplateError> {
        for name in super::interpolate::variables(s) {
            self.read_var(name);
        }
        interpolate(s, &self.scope)
    }

    /// Takes `allow="reason"` out of a node's properties: it silences the warnings about the
    /// attribute at `path`. A missing or empty reason is a diagnostic.
    fn take_allow<'e>(&mut self, path: &str, props: Vec<&'e KdlEntry>) -> Vec<&'e KdlEntry> {
        let mut rest = Vec::with_capacity(props.len());
        for p in props {
            if p.name().map(|n| n.value()) != Some(ALLOW) {
                rest.push(p);
                continue;
            }
            let span = self.span(p.span());
            match p.value().as_string().map(str::trim) {
                Some(reason) if !reason.is_empty() => {
                    self.allows
                        .insert(path.to_string(), (reason.to_string(), span));
                }
                _ => self.report(
                    "infra::allow",
                    span,
                    "`allow` needs the reason the warning does not apply".into(),
                    "no reason",
                    "write `allow=\"why this is fine here\"`".into(),
                ),
            }
        }
        rest
    }

    /// Records where the value at `path` was written (the first writing wins).
    fn note(&mut self, path: String, span: Span) {
        self.spans.entry(path).or_insert(span);
    }

    /// Runs `f` inside the block at `segment` of the current path.
    fn nested<T>(&mut self, segment: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let inner = self.path(segment);
        let outer = std::mem::replace(&mut self.prefix, inner);
        let out = f(self);
        self.prefix = outer;
        out
    }

    pub fn span(&self, span: miette::SourceSpan) -> Span {
        let shifted = miette::SourceSpan::new((span.offset() + self.scope.base).into(), span.len());
        Span::new(self.scope.source, shifted)
    }

    fn report(
        &mut self,
        code: &'static str,
        span: Span,
        message: String,
        label: &str,
        help: String,
    ) {
        self.diags
            .push(Diagnostic::new(code, message).label(span, label).help(help));
    }

    /// Decodes a block: label argument, properties and child nodes, then defaults, limits and
    /// rules.
    pub fn block(
        &mut self,
        view: NodeView<'_>,
        schema: &'static BlockSchema,
    ) -> BTreeMap<String, Value> {
        let node = view.node;
        let node_span = self.span(node.name().span());
        let mut decoded = Decoded::default();
        // Attributes that were written, whether or not their value decoded: a bad value is not
        // also a missing one.
        let mut written: std::collections::BTreeSet<&'static str> = Default::default();
        let errors_before = self.diags.len();

        let mut args = node
            .entries()
            .iter()
            .filter(|e| e.name().is_none())
            .skip(view.skip_args);
        if let Some(label) = schema.label.and_then(|l| schema.attr(l))
            && let Some(entry) = args.next()
        {
            let span = self.span(entry.span());
            written.insert(label.name);
            if let Some(v) = self.entry_as(entry, &label.ty) {
                self.set(&mut decoded, label, v, span, span);
            }
        }
        for extra in args {
            let span = self.span(extra.span());
            let help = match schema.label {
                Some(l) => format!("`{}` takes one argument, its {l}", schema.name),
                None => format!(
                    "write attributes of `{}` as child nodes or properties, e.g. `name=value`",
                    schema.name
                ),
            };
            self.report(
                "infra::unexpected-argument",
                span,
                format!("unexpected argument to `{}`", schema.name),
                "not expected here",
                help,
            );
        }

        for entry in node.entries().iter().filter(|e| e.name().is_some()) {
            let Some(key) = entry.name() else { continue };
            if (view.allow_taken && key.value() == ALLOW) || view.skip_props.contains(&key.value())
            {
                continue;
            }
            let span = self.span(entry.span());
            let Some(attr) = self.lookup_attr(schema, key.value(), self.span(key.span())) else {
                continue;
            };
            written.insert(attr.name);
            if let Some(v) = self.property(entry, attr) {
                let value_span = self.span(entry.span());
                self.set(&mut decoded, attr, v, span, value_span);
            }
        }

        for child in node.iter_children() {
            let name = child.name().value();
            if view.skip_children.contains(&name) {
                continue;
            }
            let span = self.span(child.name().span());
            let Some(attr) = self.lookup_attr(schema, name, span) else {
                continue;
            };
            written.insert(attr.name);
            if let Type::Blocks(inner) = attr.ty {
                let index = match decoded.values.get(attr.name) {
                    Some(Value::List(items)) => items.len(),
                    _ => 0,
                };
                let segment = format!("{}.{index}", attr.name);
                let path = self.path(&segment);
                self.note(path, span);
                let item =
                    Value::Map(self.nested(&segment, |d| d.block(NodeView::whole(child), inner)));
                match decoded.values.get_mut(attr.name) {
                    Some(Value::List(items)) => items.push(item),
                    _ => {
                        decoded
                            .values
                            .insert(attr.name.to_string(), Value::List(vec![item]));
                        decoded.spans.insert(attr.name, span);
                    }
                }
                continue;
            }
            if let Some(v) = self.child(child, attr) {
                let value_span = child
                    .entries()
                    .first()
                    .map_or(span, |e| self.span(e.span()));
                self.set(&mut decoded, attr, v, span, value_span);
            }
        }

        // Limits on repeated blocks are checked once all of them are collected.
        for attr in schema
            .attrs
            .iter()
            .filter(|a| matches!(a.ty, Type::Blocks(_)))
        {
            if let (Some(v), Some(span)) =
                (decoded.values.get(attr.name), decoded.spans.get(attr.name))
            {
                let (v, span) = (v.clone(), *span);
                self.check(attr, &v, span);
            }
        }

        for attr in schema.attrs.iter().filter(|a| a.required) {
            if !written.contains(attr.name) {
                let example = example(attr);
                self.report(
                    "infra::missing-attribute",
                    node_span,
                    format!(
                        "`{}` is missing required attribute `{}`",
                        schema.name, attr.name
                    ),
                    &format!("this {} needs `{}`", schema.name, attr.name),
                    format!("add `{example}`"),
                );
            }
        }

        if let Some(expand) = schema.expand {
            expand(&mut decoded.values);
        }
        for attr in schema.attrs {
            if let (Some(default), false) = (attr.default, decoded.values.contains_key(attr.name)) {
                decoded
                    .values
                    .insert(attr.name.to_string(), default.to_value());
            }
        }
        // Rules over a block with a broken attribute would only repeat the first problem.
        if self.diags.len() == errors_before {
            self.rules(schema, &decoded.values, &decoded.spans, node_span);
        }
        decoded.values
    }

    fn lookup_attr(
        &mut self,
        schema: &'static BlockSchema,
        name: &str,
        span: Span,
    ) -> Option<&'static Attr> {
        let found = schema.attr(name);
        if found.is_none() {
            if self.diags.full() {
                // Only counted: a line of 40,000 mistakes must not cost 40,000 suggestions.
                self.diags.count_omitted();
                return None;
            }
            let names = schema.attrs.iter().map(|a| a.name);
            self.report(
                "infra::unknown-attribute",
                span,
                format!("`{}` has no attribute `{name}`", schema.name),
                "unknown attribute",
                did_you_mean(name, names, "attributes"),
            );
        }
        found
    }

    fn set(
        &mut self,
        decoded: &mut Decoded,
        attr: &'static Attr,
        value: Value,
        span: Span,
        value_span: Span,
    ) {
        if let Some(first) = decoded.spans.get(attr.name) {
            self.diags.push(
                Diagnostic::new(
                    "infra::duplicate-attribute",
                    format!("`{}` is set twice", attr.name),
                )
                .label(span, "set again here")
                .label(*first, "first set here")
                .help("keep one of them"),
            );
            return;
        }
        self.check(attr, &value, value_span);
        let path = self.path(attr.name);
        self.note(path, value_span);
        decoded.values.insert(attr.name.to_string(), value);
        decoded.spans.insert(attr.name, span);
    }

    /// An attribute written as a property: `port=8080`.
    fn property(&mut self, entry: &KdlEntry, attr: &'static Attr) -> Option<Value> {
        match attr.ty {
            // An annotated value ((ref) or (var)) may be a whole list; a plain one is one item.
            Type::List(_) if entry.ty().is_some() => self.entry_as(entry, &attr.ty),
            Type::List(inner) => self.entry_as(entry, inner).map(|v| Value::List(vec![v])),
            Type::Map(_) | Type::Block(_) | Type::Blocks(_) => {
                let span = self.span(entry.span());
                self.report(
                    "infra::type",
                    span,
                    format!(
                        "`{}` is {} and cannot be a property",
                        attr.name,
                        attr.ty.describe()
                    ),
                    "written as a property",
                    format!("write it as a child node: `{} {{ ... }}`", attr.name),
                );
                None
            }
            _ => self.entry_as(entry, &attr.ty),
        }
    }

    /// An attribute written as a child node: `port 8080`, `subnets "a" "b"`, `tags { ... }`.
    fn child(&mut self, node: &KdlNode, attr: &'static Attr) -> Option<Value> {
        let span = self.span(node.name().span());
        let (args, props) = arguments_and_properties(node);
        let here = self.path(attr.name);
        let props = self.take_allow(&here, props);
        match attr.ty {
            Type::Block(inner) => Some(Value::Map(self.nested(attr.name, |d| {
                let view = NodeView {
                    allow_taken: true,
                    ..NodeView::whole(node)
                };
                d.block(view, inner)
            }))),
            Type::Map(inner) => self.map(node, &args, &props, attr, inner),
            Type::List(inner) => {
                self.no_children_or_props(node, &props, attr)?;
                if let [single] = args.as_slice()
                    && single.ty().is_some()
                {
                    return self.entry_as(single, &attr.ty);
                }
                let mut items = Vec::with_capacity(args.len());
                for (i, arg) in args.into_iter().enumerate() {
                    let path = self.path(&format!("{}.{i}", attr.name));
                    let span = self.span(arg.span());
                    self.note(path, span);
                    items.push(self.entry_as(arg, inner)?);
                }
                Some(Value::List(items))
            }
            _ => {
                self.no_children_or_props(node, &props, attr)?;
                match args.as_slice() {
                    [single] => self.entry_as(single, &attr.ty),
                    _ => {
                        self.report(
                            "infra::type",
                            span,
                            format!(
                                "`{}` takes exactly one value, found {}",
                                attr.name,
                                args.len()
                            ),
                            "expected one value",
                            format!("write `{}`", example(attr)),
                        );
                        None
                    }
                }
            }
        }
    }

    fn no_children_or_props(
        &mut self,
        node: &KdlNode,
        props: &[&KdlEntry],
        attr: &Attr,
    ) -> Option<()> {
        if let Some(p) = props.first() {
            let span = self.span(p.span());
            self.report(
                "infra::type",
                span,
                format!(
                    "`{}` is {} and takes no properties",
                    attr.name,
                    attr.ty.describe()
                ),
                "unexpected property",
                format!("write `{}`", example(attr)),
            );
            return None;
        }
        if let Some(children) = node.children() {
            let span = self.span(children.span());
            self.report(
                "infra::type",
                span,
                format!(
                    "`{}` is {} and takes no block",
                    attr.name,
                    attr.ty.describe()
                ),
                "unexpected block",
                format!("write `{}`", example(attr)),
            );
            return None;
        }
        Some(())
    }

    fn map(
        &mut self,
        node: &KdlNode,
        args: &[&KdlEntry],
        props: &[&KdlEntry],
        attr: &'static Attr,
        inner: &'static Type,
    ) -> Option<Value> {
        if let [single] = args
            && single.ty().is_some()
            && props.is_empty()
            && node.children().is_none()
        {
            return self.entry_as(single, &attr.ty);
        }
        if let Some(arg) = args.first() {
            let span = self.span(arg.span());
            self.report(
                "infra::type",
                span,
                format!(
                    "`{}` is {} and takes no arguments",
                    attr.name,
                    attr.ty.describe()
                ),
                "unexpected argument",
                format!(
                    "write entries as `{} {{ key \"value\" }}` or `key=\"value\"`",
                    attr.name
                ),
            );
            return None;
        }
        let mut map = BTreeMap::new();
        for p in props {
            let Some(key) = p.name() else { continue };
            if let Some(v) = self.entry_as(p, inner) {
                let path = self.path(&format!("{}.{}", attr.name, key.value()));
                let span = self.span(p.span());
                self.note(path, span);
                map.insert(key.value().to_string(), v);
            }
        }
        for child in node.iter_children() {
            let key = child.name().value().to_string();
            let span = self.span(child.name().span());
            let path = self.path(&format!("{}.{key}", attr.name));
            let entries: Vec<&KdlEntry> = child.entries().iter().collect();
            let entries = self.take_allow(&path, entries);
            match entries.as_slice() {
                [entry] if entry.name().is_none() && child.children().is_none() => {
                    if let Some(v) = self.entry_as(entry, inner) {
                        let path = self.path(&format!("{}.{key}", attr.name));
                        self.note(path, span);
                        map.insert(key, v);
                    }
                }
                _ => self.report(
                    "infra::type",
                    span,
                    format!("entry `{key}` of `{}` needs exactly one value", attr.name),
                    "expected `key value`",
                    format!("write `{key} \"value\"`"),
                ),
            }
        }
        Some(Value::Map(map))
    }

    /// One KDL value, typed by an annotation or by what the attribute expects.
    pub fn entry_as(&mut self, entry: &KdlEntry, ty: &Type) -> Option<Value> {
        let span = self.span(entry.span());
        match entry.ty().map(|t| t.value()) {
            Some("ref") => self.reference(entry, ty, span),
            Some("var") => {
                let name = self.annotated_string(entry, "var", span)?;
                self.read_var(name);
                let Some(value) = self.scope.vars.get(name).cloned() else {
                    let names = self.scope.vars.keys().map(String::as_str);
                    let help = did_you_mean(name, names, "variables in scope");
                    self.report(
                        "infra::undefined-variable",
                        span,
                        format!("undefined variable `{name}`"),
                        "not declared",
                        help,
                    );
                    return None;
                };
                if value == Value::Null {
                    return None; // the variable itself is broken and already reported
                }
                match conform(value, ty) {
                    Ok(v) => Some(v),
                    Err(found) => {
                        self.report(
                            "infra::type",
                            span,
                            format!(
                                "variable `{name}` is {}, but {} is expected here",
                                crate::model::schema::with_article(found),
                                ty.describe()
                            ),
                            "wrong type",
                            "change the variable's type or pass another variable".into(),
                        );
                        None
                    }
                }
            }
            Some(other) => {
                let help = super::suggest::did_you_mean(other, ["ref", "var"], "annotations");
                self.report(
                    "infra::annotation",
                    span,
                    format!("unknown type annotation `({other})`"),
                    "unknown annotation",
                    help,
                );
                None
            }
            None => self.literal(entry.value(), ty, span),
        }
    }

    fn annotated_string<'e>(
        &mut self,
        entry: &'e KdlEntry,
        what: &str,
        span: Span,
    ) -> Option<&'e str> {
        match entry.value().as_string() {
            Some(s) => Some(s),
            None => {
                self.report(
                    "infra::type",
                    span,
                    format!("`({what})` needs a string"),
                    "not a string",
                    format!("write ({what})\"name\""),
                );
                None
            }
        }
    }

    /// The text of a reference with the current `for-each` item put in: `${...}` templates,
    /// and `[each.key]` / `[each.value]` as the key of an instance.
    pub fn ref_text(&mut self, text: &str, span: Span) -> Option<String> {
        let mut text = match self.interpolate_string(text) {
            Ok(t) => t,
            Err(e) if e.code == "infra::broken-variable" => return None,
            Err(e) => {
                self.report(e.code, span, e.message, "in this reference", e.help);
                return None;
            }
        };
        for field in ["key", "value"] {
            let written = format!("[each.{field}]");
            if !text.contains(&written) {
                continue;
            }
            let Some(each) = self.scope.each else {
                self.report(
                    "infra::each",
                    span,
                    format!("`each.{field}` is used outside a `for-each`"),
                    "in this reference",
                    "`each` is the current item of a resource or module with `for-each`; name \
                     the instance's key instead: `kind.name[\"key\"]`"
                        .into(),
                );
                return None;
            };
            let key = if field == "key" {
                &each.key
            } else {
                &each.value
            };
            text = text.replace(&written, &format!("[\"{key}\"]"));
        }
        Some(text)
    }

    fn reference(&mut self, entry: &KdlEntry, ty: &Type, span: Span) -> Option<Value> {
        let written = self.annotated_string(entry, "ref", span)?;
        let text = &self.ref_text(written, span)?;
        let target = match parse_ref(text, self.scope.module) {
            Ok(t) => t,
            Err(e) => {
                self.report(e.code, span, e.message, "in this reference", e.help);
                return None;
            }
        };
        let actual = target_type(&target);
        let value = Value::Ref(Box::new(Reference { target, span }));
        let Some(actual) = actual else {
            return Some(value); // module outputs are checked once substituted
        };
        match fit(ty, &actual) {
            Fit::Yes => Some(value),
            Fit::Wrap => Some(Value::List(vec![value])),
            Fit::No => {
                self.report(
                    "infra::type",
                    span,
                    format!(
                        "`{text}` is {}, but {} is expected here",
                        actual.describe(),
                        ty.describe()
                    ),
                    "wrong type",
                    "reference an attribute of the expected type".into(),
                );
                None
            }
        }
    }

    fn literal(&mut self, value: &KdlValue, ty: &Type, span: Span) -> Option<Value> {
        let wrong = |found: &str| {
            let help = match (ty, value) {
                (Type::Int | Type::Number, KdlValue::String(s)) if s.parse::<f64>().is_ok() => {
                    format!("write the number without quotes: {s}")
                }
                (Type::String, KdlValue::Integer(i)) => format!("write it in quotes: \"{i}\""),
                (Type::Bool, KdlValue::String(s)) if s == "true" || s == "false" => {
                    format!("booleans are written #{s}")
                }
                _ => format!("write {}", ty.describe()),
            };
            (format!("expected {}, found {found}", ty.describe()), help)
        };
        let result = match (ty, value) {
            (Type::String, KdlValue::String(s)) => match self.interpolate_string(s) {
                Ok(s) => Ok(Value::String(s)),
                Err(e) if e.code == "infra::broken-variable" => return None,
                Err(e) => {
                    self.report(e.code, span, e.message, "in this string", e.help);
                    return None;
                }
            },
            (Type::Int, KdlValue::Integer(i)) => match i64::try_from(*i) {
                Ok(i) => Ok(Value::Int(i)),
                Err(_) => Err((
                    format!("{i} is too large"),
                    "use a smaller number".to_string(),
                )),
            },
            (Type::Number, KdlValue::Integer(i)) => Ok(Value::Float(*i as f64)),
            (Type::Number, KdlValue::Float(f)) if !f.is_finite() => Err((
                format!("expected a finite number, found {}", kdl_float(*f)),
                "AWS takes finite numbers only: write a number such as 90 or 0.5".to_string(),
            )),
            (Type::Number, KdlValue::Float(f)) => Ok(Value::Float(*f)),
            (Type::Bool, KdlValue::Bool(b)) => Ok(Value::Bool(*b)),
            (_, KdlValue::String(_)) => Err(wrong("a string")),
            (_, KdlValue::Integer(_)) => Err(wrong("an integer")),
            (_, KdlValue::Float(_)) => Err(wrong("a decimal number")),
            (_, KdlValue::Bool(_)) => Err(wrong("a boolean")),
            (_, KdlValue::Null) => Err((
                format!("expected {}, found #null", ty.describe()),
                "leave the attribute out instead of setting it to #null".to_string(),
            )),
        };
        match result {
            Ok(v) => Some(v),
            Err((message, help)) => {
                self.report("infra::type", span, message, "wrong type", help);
                None
            }
        }
    }

    /// Checks the limits of one attribute value (references are checked once known).
    fn check(&mut self, attr: &Attr, value: &Value, span: Span) {
        for check in attr.checks {
            if let Err((message, help)) = run_check(check, value) {
                self.report(
                    "infra::limit",
                    span,
                    format!("`{}`: {message}", attr.name),
                    "violates an AWS limit",
                    help,
                );
                return;
            }
        }
    }

    fn rules(
        &mut self,
        schema: &'static BlockSchema,
        body: &BTreeMap<String, Value>,
        spans: &BTreeMap<&'static str, Span>,
        node_span: Span,
    ) {
        let at = |name: &str| spans.get(name).copied().unwrap_or(node_span);
        let set = |names: &[&str]| names.iter().filter(|n| body.contains_key(**n)).count();
        let list = |names: &[&str]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for rule in schema.rules {
            let problem = match rule {
                Rule::ExactlyOneOf(names) if set(names) != 1 => {
                    let present: Vec<&str> = names
                        .iter()
                        .copied()
                        .filter(|n| body.contains_key(*n))
                        .collect();
                    let span = present.get(1).map_or(node_span, |n| at(n));
                    Some((
                        span,
                        format!("`{}` needs exactly one of {}", schema.name, list(names)),
                        format!("set one of {}", list(names)),
                    ))
                }
                Rule::AtMostOneOf(names) if set(names) > 1 => {
                    let second = names
                        .iter()
                        .filter(|n| body.contains_key(**n))
                        .nth(1)
                        .copied()
                        .unwrap_or(names[0]);
                    Some((
                        at(second),
                        format!("`{}` takes at most one of {}", schema.name, list(names)),
                        "remove all but one of them".into(),
                    ))
                }
                Rule::AtLeastOneOf(names) if set(names) == 0 => Some((
                    node_span,
                    format!("`{}` needs at least one of {}", schema.name, list(names)),
                    format!("add one of {}", list(names)),
                )),
                Rule::Requires(first, needs) if body.contains_key(*first) => {
                    let missing: Vec<&str> = needs
                        .iter()
                        .copied()
                        .filter(|n| !body.contains_key(*n))
                        .collect();
                    (!missing.is_empty()).then(|| {
                        (
                            at(first),
                            format!("`{first}` needs {}", list(&missing)),
                            format!("add {} or remove `{first}`", list(&missing)),
                        )
                    })
                }
                Rule::Custom(f) => f(body).map(|v| (at(v.attribute), v.message, v.help)),
                _ => None,
            };
            if let Some((span, message, help)) = problem {
                self.report("infra::rule", span, message, "here", help);
            }
        }
    }
}

/// A node's arguments (entries without a name) and properties (`name=value`), each in order.
pub fn arguments_and_properties(node: &KdlNode) -> (Vec<&KdlEntry>, Vec<&KdlEntry>) {
    node.entries().iter().partition(|e| e.name().is_none())
}

/// Checks a value against one limit. References and unknown values pass.
pub fn run_check(check: &Check, value: &Value) -> Result<(), (String, String)> {
    if matches!(value, Value::Ref(_)) {
        return Ok(());
    }
    match (check, value) {
        (Check::Count(min, max), Value::List(items)) => count(items.len(), *min, *max, "items"),
        (Check::Count(min, max), Value::Map(map)) => count(map.len(), *min, *max, "entries"),
        (Check::Custom(f, _), v) => f(v),
        (_, Value::List(items)) => items.iter().try_for_each(|v| run_check(check, v)),
        (Check::Range(min, max), Value::Int(i)) if i < min || i > max => Err((
            format!("{i} is out of range"),
            format!("the value must be between {min} and {max}"),
        )),
        (Check::Length(min, max), Value::String(s)) => {
            let n = s.chars().count();
            if n < *min || n > *max {
                let shown: String = s.chars().take(40).collect();
                let ellipsis = if n > 40 { "…" } else { "" };
                Err((
                    format!("`{shown}{ellipsis}` is {n} characters long"),
                    format!("the length must be between {min} and {max} characters"),
                ))
            } else {
                Ok(())
            }
        }
        (Check::OneOf(allowed), Value::String(s)) if !allowed.contains(&s.as_str()) => {
            let help = match super::suggest::closest(s, allowed.iter().copied()) {
                Some(c) => format!("did you mean \"{c}\"?"),
                None => format!(
                    "use one of: {}",
                    allowed
                        .iter()
                        .map(|a| format!("\"{a}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Err((format!("\"{s}\" is not an allowed value"), help))
        }
        (Check::OneOfInt(allowed), Value::Int(i)) if !allowed.contains(i) => Err((
            format!("{i} is not an allowed value"),
            format!(
                "use one of: {}",
                allowed
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// How KDL writes a float that is not finite.
fn kdl_float(f: f64) -> &'static str {
    if f.is_nan() {
        "#nan"
    } else if f > 0.0 {
        "#inf"
    } else {
        "#-inf"
    }
}

fn count(n: usize, min: usize, max: usize, what: &str) -> Result<(), (String, String)> {
    if n < min || n > max {
        Err((
            format!("has {n} {what}"),
            if min == max {
                format!("exactly {min} {what} are allowed")
            } else {
                format!("between {min} and {max} {what} are allowed")
            },
        ))
    } else {
        Ok(())
    }
}

/// Makes a variable's value fit an attribute type: integers widen to numbers, references are
/// kept (their targets are checked later), single values wrap into lists.
pub fn conform(value: Value, ty: &Type) -> Result<Value, &'static str> {
    match (ty, value) {
        // A reference to one value, passed where a list is expected (a module input given
        // `(ref)"sns-topic.alerts"` and used as alarm `actions`), is a one-item list, as when
        // written there directly.
        (ty, Value::Ref(r)) => match target_type(&r.target).map(|actual| fit(ty, &actual)) {
            Some(Fit::Wrap) => Ok(Value::List(vec![Value::Ref(r)])),
            _ => Ok(Value::Ref(r)),
        },
        (Type::String, v @ Value::String(_))
        | (Type::Int, v @ Value::Int(_))
        | (Type::Bool, v @ Value::Bool(_))
        | (Type::Number, v @ Value::Float(_)) => Ok(v),
        (Type::Number, Value::Int(i)) => Ok(Value::Float(i as f64)),
        (Type::List(inner), Value::List(items)) => items
            .into_iter()
            .map(|v| conform(v, inner))
            .collect::<Result<_, _>>()
            .map(Value::List),
        (Type::List(inner), v) if inner.is_scalar() => {
            conform(v, inner).map(|v| Value::List(vec![v]))
        }
        (Type::Map(inner), Value::Map(map)) => map
            .into_iter()
            .map(|(k, v)| conform(v, inner).map(|v| (k, v)))
            .collect::<Result<_, _>>()
            .map(Value::Map),
        (_, v) => Err(v.type_name()),
    }
}

/// How to write an attribute, for help lines.
fn example(attr: &Attr) -> String {
    match attr.ty {
        Type::String => format!("{} \"...\"", attr.name),
        Type::Int | Type::Number => format!("{} 1", attr.name),
        Type::Bool => format!("{} #true", attr.name),
        Type::List(_) => format!("{} \"...\" \"...\"", attr.name),
        Type::Map(_) => format!("{} {{ key \"value\" }}", attr.name),
        Type::Block(_) | Type::Blocks(_) => format!("{} {{ ... }}", attr.name),
    }
}

impl Decoder<'_, '_> {
    /// A value whose type is not known where it is written (module outputs).
    pub fn any_entry(&mut self, entry: &KdlEntry) -> Option<Value> {
        let span = self.span(entry.span());
        match (entry.ty().map(|t| t.value()), entry.value()) {
            (Some("ref"), KdlValue::String(text)) => {
                match parse_ref(&self.ref_text(text, span)?, self.scope.module) {
                    Ok(target) => Some(Value::Ref(Box::new(Reference { target, span }))),
                    Err(e) => {
                        self.report(e.code, span, e.message, "in this reference", e.help);
                        None
                    }
                }
            }
            (Some("var"), KdlValue::String(name))
                if self.scope.vars.contains_key(name.as_str()) =>
            {
                self.read_var(name);
                self.scope.vars.get(name.as_str()).cloned()
            }
            (Some(_), _) => self.entry_as(entry, &Type::String),
            (None, KdlValue::String(_)) => self.entry_as(entry, &Type::String),
            (None, KdlValue::Integer(_)) => self.entry_as(entry, &Type::Int),
            (None, KdlValue::Float(_)) => self.entry_as(entry, &Type::Number),
            (None, KdlValue::Bool(b)) => Some(Value::Bool(*b)),
            (None, KdlValue::Null) => Some(Value::Null),
        }
    }
}
