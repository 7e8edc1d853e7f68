//! Parsing `(ref)"kind.name.attribute"` and checking that the attribute exists and fits.

use super::suggest::did_you_mean;
use crate::model::schema::Type;
use crate::model::{Address, Kind, RefTarget};

/// A reference that does not parse or names a missing attribute.
#[derive(Debug, PartialEq)]
pub struct RefError {
    pub code: &'static str,
    pub message: String,
    pub help: String,
}

fn error(code: &'static str, message: String, help: String) -> RefError {
    RefError {
        code,
        message,
        help,
    }
}

/// Parses a reference written in a file whose module path is `scope`.
pub fn parse_ref(text: &str, scope: &[String]) -> Result<RefTarget, RefError> {
    let segments: Vec<&str> = text.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(error(
            "infra::reference",
            format!("`{text}` is not a reference"),
            "write references as `kind.name` or `kind.name.attribute`, e.g. `target-group.api.arn`"
                .into(),
        ));
    }
    let mut module = scope.to_vec();
    let mut rest = &segments[..];
    while rest.first() == Some(&"module") {
        let Some(name) = rest.get(1) else {
            return Err(error(
                "infra::reference",
                format!("`{text}` names no module"),
                "write `module.<name>.<output>`".into(),
            ));
        };
        module.push((*name).to_string());
        rest = &rest[2..];
        if rest.len() == 1 {
            return Ok(RefTarget::Output {
                module,
                name: rest[0].to_string(),
            });
        }
    }
    let (kind, rest) = match rest {
        ["lookup", word, rest @ ..] => match Kind::from_lookup_word(word) {
            Some(kind) => (kind, rest),
            None => {
                let words = Kind::LOOKUPS.iter().filter_map(|k| k.lookup_word());
                return Err(error(
                    "infra::unknown-reference",
                    format!("`{word}` is not a kind of look-up"),
                    did_you_mean(word, words, "look-ups"),
                ));
            }
        },
        [word, rest @ ..] => match Kind::from_node_name(word) {
            Some(kind) => (kind, rest),
            None => {
                let words = Kind::MANAGED
                    .iter()
                    .map(|k| k.keyword())
                    .chain(["lookup", "module"]);
                return Err(error(
                    "infra::unknown-reference",
                    format!("`{word}` is not a resource kind"),
                    did_you_mean(word, words, "kinds"),
                ));
            }
        },
        // Only `module.<name>` leaves nothing, and that names no output.
        [] => {
            return Err(error(
                "infra::reference",
                format!("`{text}` is not a reference"),
                "write `module.<name>.<output>` to read a module's output".into(),
            ));
        }
    };
    let (name, attribute) = match rest {
        [name] => (*name, None),
        [name, attr] => (*name, Some(*attr)),
        _ => {
            return Err(error(
                "infra::reference",
                format!("`{text}` is not a reference"),
                format!(
                    "write `{}.<name>` or `{}.<name>.<attribute>`",
                    kind.keyword(),
                    kind.keyword()
                ),
            ));
        }
    };
    let schema = kind.schema();
    let attribute = attribute.unwrap_or(schema.default_attribute);
    if schema.readable(attribute).is_none() {
        return Err(error(
            "infra::unknown-attribute",
            format!(
                "{} has no attribute `{attribute}`",
                crate::model::schema::with_article(schema.title)
            ),
            did_you_mean(attribute, schema.readable_names(), "attributes"),
        ));
    }
    Ok(RefTarget::Resource {
        address: Address::new(module, kind, name),
        attribute: Some(attribute.to_string()),
    })
}

/// How a referenced attribute's type fits where it is used.
#[derive(Debug, PartialEq, Eq)]
pub enum Fit {
    Yes,
    /// A single value used where a list is expected: wrapped in a one-item list.
    Wrap,
    No,
}

pub fn fit(expected: &Type, actual: &Type) -> Fit {
    match (expected, actual) {
        (Type::String, Type::String)
        | (Type::Int, Type::Int)
        | (Type::Number, Type::Int | Type::Number)
        | (Type::Bool, Type::Bool) => Fit::Yes,
        (Type::List(e), Type::List(a)) | (Type::Map(e), Type::Map(a)) => match fit(e, a) {
            Fit::Yes => Fit::Yes,
            _ => Fit::No,
        },
        (Type::List(e), a) if a.is_scalar() => match fit(e, a) {
            Fit::Yes => Fit::Wrap,
            _ => Fit::No,
        },
        _ => Fit::No,
    }
}

/// The type of the attribute a resolved reference reads.
pub fn target_type(target: &RefTarget) -> Option<Type> {
    match target {
        RefTarget::Resource { address, attribute } => address.kind.schema().readable(
            attribute
                .as_deref()
                .unwrap_or(address.kind.schema().default_attribute),
        ),
        RefTarget::Output { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_resource_lookup_and_output_references() {
        let scope = vec!["web".to_string()];
        let r = parse_ref("target-group.api", &scope).unwrap();
        assert_eq!(
            r,
            RefTarget::Resource {
                address: Address::new(scope.clone(), Kind::TargetGroup, "api"),
                attribute: Some("arn".into())
            }
        );
        let r = parse_ref("lookup.subnets.private.ids", &[]).unwrap();
        assert!(
            matches!(r, RefTarget::Resource { ref address, .. } if address.kind == Kind::LookupSubnets)
        );
        let r = parse_ref("module.db.endpoint", &[]).unwrap();
        assert_eq!(
            r,
            RefTarget::Output {
                module: vec!["db".into()],
                name: "endpoint".into()
            }
        );
        let r = parse_ref("module.web.service.api.arn", &[]).unwrap();
        assert!(
            matches!(r, RefTarget::Resource { ref address, .. } if address.to_string() == "module.web.service.api")
        );
    }

    #[test]
    fn rejects_unknown_kinds_and_attributes() {
        let e = parse_ref("target-gruop.api", &[]).unwrap_err();
        assert_eq!(e.help, "did you mean `target-group`?");
        let e = parse_ref("load-balancer.main.dns", &[]).unwrap_err();
        assert_eq!(e.code, "infra::unknown-attribute");
        assert!(parse_ref("service", &[]).is_err());
        assert!(parse_ref("a..b", &[]).is_err());
    }

    #[test]
    fn single_values_wrap_into_lists() {
        let strings = Type::List(&Type::String);
        assert_eq!(fit(&strings, &Type::String), Fit::Wrap);
        assert_eq!(fit(&Type::String, &strings), Fit::No);
        assert_eq!(fit(&Type::Number, &Type::Int), Fit::Yes);
    }
}
