//! `${var.name}`, `${stack.name}`, `${stack.region}`, and `${each.key}` and `${each.value}`
//! inside a `for-each`, in strings; `$${` is a literal `${`.

use super::scope::Scope;
use super::suggest::did_you_mean;
use crate::model::Value;

/// Why a template could not be expanded: a message and a help line.
#[derive(Debug, PartialEq)]
pub struct TemplateError {
    pub code: &'static str,
    pub message: String,
    pub help: String,
}

/// Expands every `${...}` in `text`.
pub fn interpolate(text: &str, scope: &Scope<'_>) -> Result<String, TemplateError> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(inner) = tail.strip_prefix("${") {
            let Some(end) = inner.find('}') else {
                return Err(TemplateError {
                    code: "infra::template",
                    message: "unclosed `${` in string".into(),
                    help: "close it with `}`, or write `$${` for a literal `${`".into(),
                });
            };
            out.push_str(&expand(inner[..end].trim(), scope)?);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The variables a string reads (`${var.name}`), for the warning about variables no stack
/// value reads.
pub fn variables(text: &str) -> impl Iterator<Item = &str> {
    text.split("${").skip(1).filter_map(|part| {
        part.split_once('}')
            .and_then(|(expr, _)| expr.trim().strip_prefix("var."))
    })
}

fn expand(expr: &str, scope: &Scope<'_>) -> Result<String, TemplateError> {
    if let Some(name) = expr.strip_prefix("var.") {
        let Some(value) = scope.vars.get(name) else {
            return Err(TemplateError {
                code: "infra::undefined-variable",
                message: format!("undefined variable `{name}`"),
                help: did_you_mean(
                    name,
                    scope.vars.keys().map(String::as_str),
                    "variables in scope",
                ),
            });
        };
        return match value {
            Value::Null => Err(TemplateError {
                code: "infra::broken-variable",
                message: format!("variable `{name}` has no usable value"),
                help: "see the variable's own diagnostic".into(),
            }),
            Value::String(s) => Ok(s.clone()),
            Value::Int(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(TemplateError {
                code: "infra::type",
                message: format!(
                    "variable `{name}` is {} and cannot be put in a string",
                    crate::model::schema::with_article(other.type_name())
                ),
                help: format!("pass it whole with (var)\"{name}\" instead of interpolating it"),
            }),
        };
    }
    let stack_field = |v: Option<&String>, what: &str| {
        v.cloned().ok_or_else(|| TemplateError {
            code: "infra::template",
            message: format!("the stack's {what} is not known here"),
            help: "declare `stack \"<name>\" region=\"<region>\"` in the stack file".into(),
        })
    };
    if let Some(field) = expr.strip_prefix("each.") {
        let Some(each) = scope.each else {
            return Err(TemplateError {
                code: "infra::each",
                message: format!("`${{{expr}}}` is used outside a `for-each`"),
                help: "`each` is the current item of a resource or module with `for-each`; add \
                       `for-each` to this resource or module, or write the value itself"
                    .into(),
            });
        };
        return match field {
            "key" => Ok(each.key.clone()),
            "value" => Ok(each.value.clone()),
            _ => Err(TemplateError {
                code: "infra::each",
                message: format!("`each` has no `{field}`"),
                help: did_you_mean(field, ["key", "value"], "fields of `each`"),
            }),
        };
    }
    match expr {
        "stack.name" => stack_field(scope.stack.name.as_ref(), "name"),
        "stack.region" => stack_field(scope.stack.region.as_ref(), "region"),
        _ => Err(TemplateError {
            code: "infra::template",
            message: format!("`${{{expr}}}` is not something a string can contain"),
            help: "strings can contain ${var.<name>}, ${stack.name}, ${stack.region} and, in a \
                   `for-each`, ${each.key} and ${each.value}; \
                   reference other resources with (ref)\"kind.name.attribute\""
                .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::lang::scope::{Each, StackInfo};
    use crate::model::SourceId;

    fn with_scope<T>(f: impl FnOnce(&Scope<'_>) -> T) -> T {
        let mut vars = BTreeMap::new();
        vars.insert("env".to_string(), Value::String("prod".into()));
        vars.insert("port".to_string(), Value::Int(8080));
        vars.insert("ids".to_string(), Value::List(vec![]));
        let stack = StackInfo {
            name: Some("shop".into()),
            region: Some("eu-west-1".into()),
            production: false,
        };
        f(&Scope {
            source: SourceId(0),
            base: 0,
            module: &[],
            vars: &vars,
            stack: &stack,
            each: None,
        })
    }

    fn with_each<T>(f: impl FnOnce(&Scope<'_>) -> T) -> T {
        let each = Each {
            key: "checkout".into(),
            value: "/fn/checkout".into(),
        };
        with_scope(|s| {
            f(&Scope {
                each: Some(&each),
                ..*s
            })
        })
    }

    #[test]
    fn expands_the_current_item_of_a_for_each() {
        let out = with_each(|s| interpolate("lambda-${each.key}-errors at ${each.value}", s));
        assert_eq!(out.unwrap(), "lambda-checkout-errors at /fn/checkout");
        let err = with_each(|s| interpolate("${each.vaule}", s)).unwrap_err();
        assert_eq!(err.code, "infra::each");
        assert_eq!(err.help, "did you mean `value`?");
    }

    #[test]
    fn each_outside_a_for_each_is_an_error() {
        let err = with_scope(|s| interpolate("lambda-${each.key}", s)).unwrap_err();
        assert_eq!(err.code, "infra::each");
        assert!(
            err.message.contains("outside a `for-each`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn expands_variables_and_stack_fields() {
        let out = with_scope(|s| {
            interpolate("${stack.name}-${var.env}:${var.port} in ${stack.region}", s)
        });
        assert_eq!(out.unwrap(), "shop-prod:8080 in eu-west-1");
    }

    #[test]
    fn keeps_escaped_and_lone_dollars() {
        let out = with_scope(|s| interpolate("$${var.env} costs $5", s));
        assert_eq!(out.unwrap(), "${var.env} costs $5");
    }

    #[test]
    fn rejects_unknown_names_with_a_suggestion() {
        let err = with_scope(|s| interpolate("${var.evn}", s)).unwrap_err();
        assert_eq!(err.code, "infra::undefined-variable");
        assert_eq!(err.help, "did you mean `env`?");
    }

    #[test]
    fn rejects_lists_and_unclosed_templates() {
        assert_eq!(
            with_scope(|s| interpolate("${var.ids}", s))
                .unwrap_err()
                .code,
            "infra::type"
        );
        assert_eq!(
            with_scope(|s| interpolate("${var.env", s))
                .unwrap_err()
                .code,
            "infra::template"
        );
    }
}
