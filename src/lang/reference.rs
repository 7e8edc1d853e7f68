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

/// One dot-separated part of a reference, with the key of a `for-each` instance if it has one:
/// `errors["checkout"]` (or `errors[checkout]`).
#[derive(Debug, PartialEq)]
struct Segment<'t> {
    name: &'t str,
    key: Option<&'t str>,
}

/// Splits a reference at its dots, keeping keys (which may hold dots) whole.
fn segments(text: &str) -> Option<Vec<Segment<'_>>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let name = &rest[..end];
        rest = &rest[end..];
        let mut key = None;
        if let Some(inner) = rest.strip_prefix('[') {
            let (k, after) = match inner.strip_prefix('"') {
                Some(quoted) => {
                    let close = quoted.find('"')?;
                    (&quoted[..close], quoted[close + 1..].strip_prefix(']')?)
                }
                None => {
                    let close = inner.find(']')?;
                    (&inner[..close], &inner[close + 1..])
                }
            };
            key = Some(k);
            rest = after;
        }
        if name.is_empty() || key.is_some_and(str::is_empty) {
            return None;
        }
        out.push(Segment { name, key });
        match rest.strip_prefix('.') {
            Some(after) => rest = after,
            None if rest.is_empty() => return Some(out),
            None => return None,
        }
    }
}

/// Parses a reference written in a file whose module path is `scope`.
pub fn parse_ref(text: &str, scope: &[String]) -> Result<RefTarget, RefError> {
    let not_a_reference = || {
        error(
            "infra::reference",
            format!("`{text}` is not a reference"),
            "write references as `kind.name` or `kind.name.attribute`, e.g. `target-group.api.arn`, \
             and an instance of a `for-each` as `kind.name[\"key\"]`"
                .into(),
        )
    };
    let Some(all) = segments(text) else {
        return Err(not_a_reference());
    };
    let mut module = scope.to_vec();
    let mut rest = &all[..];
    while rest.first().map(|s| s.name) == Some("module") {
        if rest[0].key.is_some() {
            return Err(not_a_reference());
        }
        let Some(name) = rest.get(1) else {
            return Err(error(
                "infra::reference",
                format!("`{text}` names no module"),
                "write `module.<name>.<output>`".into(),
            ));
        };
        module.push(crate::model::address::instance(name.name, name.key));
        rest = &rest[2..];
        if let [output] = rest {
            if output.key.is_some() {
                return Err(not_a_reference());
            }
            return Ok(RefTarget::Output {
                module,
                name: output.name.to_string(),
            });
        }
    }
    // Only a resource's name may carry a key.
    let (kind_part, name_part) = match rest {
        [first, ..] if first.name == "lookup" => (rest.get(..2), rest.get(2)),
        _ => (rest.get(..1), rest.get(1)),
    };
    if kind_part.is_some_and(|k| k.iter().any(|s| s.key.is_some()))
        || rest
            .iter()
            .skip(kind_part.map_or(0, <[_]>::len) + 1)
            .any(|s| s.key.is_some())
    {
        return Err(not_a_reference());
    }
    let key = name_part.and_then(|s| s.key);
    let names: Vec<&str> = rest.iter().map(|s| s.name).collect();
    let rest = &names[..];
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
    let entry;
    let (name, attribute) = match rest {
        [name] => (*name, None),
        [name, attr] => (*name, Some(*attr)),
        // An entry of a computed map: `efs.uploads.access-points.app`.
        [name, map, key] if matches!(kind.schema().readable(map), Some(Type::Map(_))) => {
            entry = format!("{map}.{key}");
            (*name, Some(entry.as_str()))
        }
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
    let mut address = Address::new(module, kind, name);
    address.key = key.map(str::to_string);
    Ok(RefTarget::Resource {
        address,
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
        let entry = parse_ref("efs.uploads.access-points.app", &[]).unwrap();
        assert_eq!(
            target_type(&entry).map(|t| t.describe()),
            Some("a string".to_string())
        );
        assert!(parse_ref("efs.uploads.id.app", &[]).is_err());
        assert!(parse_ref("a..b", &[]).is_err());
    }

    #[test]
    fn parses_instances_of_a_for_each() {
        let r = parse_ref("alarm.errors[\"checkout\"].arn", &[]).unwrap();
        assert_eq!(
            r,
            RefTarget::Resource {
                address: Address::new(vec![], Kind::Alarm, "errors").with_key("checkout"),
                attribute: Some("arn".into())
            }
        );
        let r = parse_ref("log-group.app[/ecs/a.b]", &[]).unwrap();
        assert!(
            matches!(r, RefTarget::Resource { ref address, .. } if address.to_string() == "log-group.app[\"/ecs/a.b\"]")
        );
        let r = parse_ref("module.web[\"eu\"].alarm.errors[\"x\"]", &[]).unwrap();
        assert!(
            matches!(r, RefTarget::Resource { ref address, .. } if address.to_string() == "module.web[\"eu\"].alarm.errors[\"x\"]")
        );
        let r = parse_ref("module.web[eu].url", &[]).unwrap();
        assert_eq!(
            r,
            RefTarget::Output {
                module: vec!["web[\"eu\"]".into()],
                name: "url".into()
            }
        );
    }

    #[test]
    fn keys_only_follow_names() {
        for text in [
            "alarm[\"a\"].errors",
            "alarm.errors.arn[\"a\"]",
            "alarm.errors[]",
            "alarm.errors[\"a\"x",
            "alarm.errors[\"a",
            "module[\"a\"].web.url",
        ] {
            let e = parse_ref(text, &[]).unwrap_err();
            assert_eq!(e.code, "infra::reference", "{text}");
        }
    }

    #[test]
    fn single_values_wrap_into_lists() {
        let strings = Type::List(&Type::String);
        assert_eq!(fit(&strings, &Type::String), Fit::Wrap);
        assert_eq!(fit(&Type::String, &strings), Fit::No);
        assert_eq!(fit(&Type::Number, &Type::Int), Fit::Yes);
    }
}
