//! Variable (stack) and input (module) declarations, and where their values come from.
//!
//! Precedence, lowest first: the declared default, `INFRA_VAR_<name>`, `--var-file`, `--var`.
//! Module inputs come from the module's instantiation instead.

use std::collections::BTreeMap;

use kdl::KdlNode;
use regex_lite::Regex;

use super::decode::{Decoder, conform};
use super::diagnostic::Diagnostic;
use crate::model::schema::Type;
use crate::model::{Span, Value};

/// A declared variable type: `string`, `int`, `number`, `bool`, `list(string)`, `map(string)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    String,
    Int,
    Number,
    Bool,
    StringList,
    IntList,
    StringMap,
}

impl VarType {
    pub const NAMES: [&'static str; 7] = [
        "string",
        "int",
        "number",
        "bool",
        "list(string)",
        "list(int)",
        "map(string)",
    ];

    pub fn parse(text: &str) -> Option<VarType> {
        Some(match text {
            "string" => VarType::String,
            "int" => VarType::Int,
            "number" => VarType::Number,
            "bool" => VarType::Bool,
            "list(string)" => VarType::StringList,
            "list(int)" => VarType::IntList,
            "map(string)" => VarType::StringMap,
            _ => return None,
        })
    }

    pub fn ty(self) -> &'static Type {
        match self {
            VarType::String => &Type::String,
            VarType::Int => &Type::Int,
            VarType::Number => &Type::Number,
            VarType::Bool => &Type::Bool,
            VarType::StringList => &Type::List(&Type::String),
            VarType::IntList => &Type::List(&Type::Int),
            VarType::StringMap => &Type::Map(&Type::String),
        }
    }

    /// Converts a value given on the command line or in the environment.
    pub fn parse_text(self, text: &str) -> Result<Value, String> {
        let scalar = |ty: VarType, t: &str| -> Result<Value, String> {
            match ty {
                VarType::Int => t
                    .trim()
                    .parse()
                    .map(Value::Int)
                    .map_err(|_| format!("`{t}` is not an integer")),
                VarType::Number => t
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Value::Float)
                    .ok_or_else(|| format!("`{t}` is not a finite number")),
                VarType::Bool => match t.trim() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => Err(format!("`{t}` is not true or false")),
                },
                _ => Ok(Value::String(t.to_string())),
            }
        };
        match self {
            VarType::StringList | VarType::IntList => {
                let inner = if self == VarType::IntList {
                    VarType::Int
                } else {
                    VarType::String
                };
                if text.is_empty() {
                    return Ok(Value::List(Vec::new()));
                }
                text.split(',')
                    .map(|t| scalar(inner, t.trim()))
                    .collect::<Result<_, _>>()
                    .map(Value::List)
            }
            VarType::StringMap => Err("map variables are set in a --var-file".into()),
            other => scalar(other, text),
        }
    }
}

/// One `variable` or `input` declaration.
#[derive(Debug, Clone)]
pub struct VarDecl {
    pub name: String,
    pub ty: VarType,
    pub default: Option<Value>,
    /// A default was written but did not decode (already reported): the variable is known to
    /// be broken, so its uses stay quiet.
    pub default_failed: bool,
    pub description: Option<String>,
    pub validations: Vec<Validation>,
    pub span: Span,
    /// `allow="..."`: why a variable no value reads is kept (silences that warning).
    pub allow: Option<String>,
}

/// A `validation` rule on a variable.
#[derive(Debug, Clone)]
pub struct Validation {
    pub pattern: Option<Regex>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub allowed: Vec<String>,
    pub message: Option<String>,
    pub span: Span,
}

impl Validation {
    fn check_range(&self, n: f64) -> Result<(), String> {
        if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
            return Err(format!(
                "{n} is outside {}..{}",
                self.min.map_or(String::new(), |m| m.to_string()),
                self.max.map_or(String::new(), |m| m.to_string())
            ));
        }
        Ok(())
    }

    /// `Err(reason)` when the value breaks the rule.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        match value {
            Value::List(items) => items.iter().try_for_each(|v| self.check(v)),
            Value::Map(map) => map.values().try_for_each(|v| self.check(v)),
            Value::String(s) => {
                if let Some(re) = &self.pattern
                    && !re.is_match(s)
                {
                    return Err(format!("\"{s}\" does not match /{}/", re.as_str()));
                }
                if !self.allowed.is_empty() && !self.allowed.contains(s) {
                    return Err(format!("\"{s}\" is not one of {}", self.allowed.join(", ")));
                }
                Ok(())
            }
            Value::Int(i) => self.check_range(*i as f64),
            Value::Float(f) => self.check_range(*f),
            _ => Ok(()),
        }
    }
}

impl Decoder<'_, '_> {
    /// Decodes `variable "name" type="string" default=... description="..." { validation ... }`.
    pub fn var_decl(&mut self, node: &KdlNode, keyword: &str) -> Option<VarDecl> {
        let name_span = self.span(node.name().span());
        let Some(name) = node.entry(0).and_then(|e| e.value().as_string()) else {
            self.diags.push(
                Diagnostic::new("infra::declaration", format!("`{keyword}` needs a name"))
                    .label(name_span, "unnamed")
                    .help(format!("write `{keyword} \"name\" type=\"string\"`")),
            );
            return None;
        };
        let span = node.entry(0).map_or(name_span, |e| self.span(e.span()));
        let ty = match node.entry("type") {
            None => VarType::String,
            Some(entry) => match entry.value().as_string().and_then(VarType::parse) {
                Some(t) => t,
                None => {
                    let s = self.span(entry.span());
                    self.diags.push(
                        Diagnostic::new(
                            "infra::declaration",
                            format!("`{name}` has an unknown type"),
                        )
                        .label(s, "unknown type")
                        .help(format!("types: {}", VarType::NAMES.join(", "))),
                    );
                    return None;
                }
            },
        };
        let description = node
            .entry("description")
            .and_then(|e| e.value().as_string())
            .map(str::to_string);
        let default_entry = node.entry("default");
        let mut default = default_entry.and_then(|e| match (ty.ty(), e.ty()) {
            // A single plain value is a one-item list, as for attributes.
            (Type::List(inner), None) => self.entry_as(e, inner).map(|v| Value::List(vec![v])),
            (t, _) => self.entry_as(e, t),
        });
        // A misspelled property (`defualt=`) may have been meant as the default.
        let mut default_failed = default_entry.is_some() && default.is_none()
            || node.entries().iter().skip(1).any(|e| {
                e.name().is_some_and(|k| {
                    !["type", "default", "description", "allow"].contains(&k.value())
                })
            });
        let mut validations = Vec::new();
        for entry in node.entries().iter().skip(1) {
            if let Some(key) = entry.name()
                && !["type", "default", "description", "allow"].contains(&key.value())
            {
                let s = self.span(key.span());
                self.diags.push(
                    Diagnostic::new(
                        "infra::declaration",
                        format!("`{keyword}` has no property `{}`", key.value()),
                    )
                    .label(s, "unknown property")
                    .help("declarations take type=, default=, description= and allow="),
                );
            }
        }
        for child in node.iter_children() {
            match child.name().value() {
                "default" => {
                    default = self.var_value(child, ty);
                    default_failed = default.is_none();
                }
                "validation" => {
                    if let Some(v) = self.validation(child) {
                        validations.push(v);
                    }
                }
                other => {
                    let s = self.span(child.name().span());
                    self.diags.push(
                        Diagnostic::new(
                            "infra::declaration",
                            format!("`{keyword}` has no child `{other}`"),
                        )
                        .label(s, "unknown")
                        .help("declarations may contain `default` and `validation`"),
                    );
                }
            }
        }
        let allow = node
            .entry(super::decode::ALLOW)
            .and_then(|e| e.value().as_string())
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        Some(VarDecl {
            name: name.to_string(),
            ty,
            default,
            default_failed,
            description,
            validations,
            span,
            allow,
        })
    }

    /// A node carrying a value of a variable type: `name "x"`, `ids "a" "b"`, `tags { k "v" }`.
    pub fn var_value(&mut self, node: &KdlNode, ty: VarType) -> Option<Value> {
        let args: Vec<_> = node
            .entries()
            .iter()
            .filter(|e| e.name().is_none())
            .collect();
        let span = self.span(node.name().span());
        let t = ty.ty();
        match t {
            Type::Map(inner) => {
                if let [single] = args.as_slice() {
                    return self.entry_as(single, t);
                }
                let mut map = BTreeMap::new();
                for p in node.entries().iter().filter(|e| e.name().is_some()) {
                    if let (Some(k), Some(v)) = (p.name(), self.entry_as(p, inner)) {
                        map.insert(k.value().to_string(), v);
                    }
                }
                for child in node.iter_children() {
                    if let Some(v) = child.entry(0).and_then(|e| self.entry_as(e, inner)) {
                        map.insert(child.name().value().to_string(), v);
                    }
                }
                Some(Value::Map(map))
            }
            Type::List(inner) => {
                if let [single] = args.as_slice()
                    && single.ty().is_some()
                {
                    return self.entry_as(single, t);
                }
                let items: Option<Vec<Value>> =
                    args.iter().map(|a| self.entry_as(a, inner)).collect();
                items.map(Value::List)
            }
            _ => match args.as_slice() {
                [single] => self.entry_as(single, t),
                _ => {
                    self.diags.push(
                        Diagnostic::new(
                            "infra::type",
                            format!("`{}` takes exactly one value", node.name().value()),
                        )
                        .label(span, "expected one value")
                        .help(format!("write `{} <value>`", node.name().value())),
                    );
                    None
                }
            },
        }
    }

    fn validation(&mut self, node: &KdlNode) -> Option<Validation> {
        let span = self.span(node.name().span());
        let mut v = Validation {
            pattern: None,
            min: None,
            max: None,
            allowed: Vec::new(),
            message: None,
            span,
        };
        for entry in node.entries() {
            let espan = self.span(entry.span());
            let key = entry.name().map(|k| k.value());
            let value = entry.value();
            match key {
                Some("pattern") => match value.as_string().map(Regex::new) {
                    Some(Ok(re)) => v.pattern = Some(re),
                    _ => self.diags.push(
                        Diagnostic::new("infra::declaration", "invalid validation pattern")
                            .label(espan, "not a valid regular expression")
                            .help("write a regular expression such as \"^[a-z0-9-]+$\""),
                    ),
                },
                Some("min") => v.min = value.as_float().or_else(|| value.as_integer().map(|i| i as f64)),
                Some("max") => v.max = value.as_float().or_else(|| value.as_integer().map(|i| i as f64)),
                Some("message") => v.message = value.as_string().map(str::to_string),
                None => {
                    if let Some(s) = value.as_string() {
                        v.allowed.push(s.to_string());
                    }
                }
                Some(other) => self.diags.push(
                    Diagnostic::new("infra::declaration", format!("`validation` has no property `{other}`"))
                        .label(espan, "unknown property")
                        .help("validations take pattern=, min=, max=, message= and allowed values as arguments"),
                ),
            }
        }
        Some(v)
    }
}

/// Checks a value against a declaration's type and validations; `Err((message, help))`.
pub fn validate(decl: &VarDecl, value: Value) -> Result<Value, (String, String)> {
    let value = conform(value, decl.ty.ty()).map_err(|found| {
        (
            format!(
                "variable `{}` expects {}, found {}",
                decl.name,
                decl.ty.ty().describe(),
                crate::model::schema::with_article(found)
            ),
            "pass a value of the declared type".to_string(),
        )
    })?;
    for rule in &decl.validations {
        if let Err(reason) = rule.check(&value) {
            return Err((
                format!("invalid value for variable `{}`: {reason}", decl.name),
                rule.message
                    .clone()
                    .unwrap_or_else(|| "change the value to satisfy the validation".into()),
            ));
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_command_line_text() {
        assert_eq!(VarType::Int.parse_text("42"), Ok(Value::Int(42)));
        assert!(VarType::Int.parse_text("4x").is_err());
        assert_eq!(VarType::Bool.parse_text("true"), Ok(Value::Bool(true)));
        assert_eq!(
            VarType::StringList.parse_text("a, b"),
            Ok(Value::List(vec![
                Value::String("a".into()),
                Value::String("b".into())
            ]))
        );
        assert!(VarType::StringMap.parse_text("a=b").is_err());
    }

    #[test]
    fn validations_check_patterns_ranges_and_allowed_values() {
        let span = Span {
            source: crate::model::SourceId(0),
            offset: 0,
            len: 0,
        };
        let rule = Validation {
            pattern: Regex::new("^v[0-9]+$").ok(),
            min: None,
            max: None,
            allowed: vec![],
            message: None,
            span,
        };
        assert!(rule.check(&Value::String("v12".into())).is_ok());
        assert!(rule.check(&Value::String("latest".into())).is_err());
        let range = Validation {
            pattern: None,
            min: Some(1.0),
            max: Some(10.0),
            allowed: vec![],
            message: None,
            span,
        };
        assert!(range.check(&Value::Int(11)).is_err());
        assert!(range.check(&Value::Int(10)).is_ok());
    }
}
