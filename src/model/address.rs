//! Resource addresses: `service.api`, `lookup.vpc.main`, `module.web.service.api`, and the
//! instances of a `for-each`: `alarm.errors["checkout"]`, `module.web["eu"].service.api`.
//! Also the form an address takes in an AWS tag, whose values cannot hold `[`, `]` or `"`.

use std::fmt;

use super::kind::Kind;

/// Where a resource lives in a stack: its module path, its kind, its name and, for an instance
/// of a `for-each`, its key. A module instance of a `for-each` is one module path segment
/// written with its key, `web["eu"]` (see [`instance`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub module: Vec<String>,
    pub kind: Kind,
    pub name: String,
    pub key: Option<String>,
}

impl Address {
    pub fn new(module: Vec<String>, kind: Kind, name: impl Into<String>) -> Self {
        Address {
            module,
            kind,
            name: name.into(),
            key: None,
        }
    }

    /// The instance of this address under `key` (of a `for-each`).
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The address of the whole `for-each` group this instance belongs to.
    pub fn group(&self) -> Address {
        Address {
            key: None,
            ..self.clone()
        }
    }

    /// The address without its module prefix, as written inside the module.
    pub fn local(&self) -> String {
        format!(
            "{}.{}",
            self.kind.keyword(),
            instance(&self.name, self.key.as_deref())
        )
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.module {
            write!(f, "module.{m}.")?;
        }
        write!(f, "{}", self.local())
    }
}

/// A name with the key of its `for-each` instance: `errors["checkout"]`.
pub fn instance(name: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("{name}[\"{key}\"]"),
        None => name.to_string(),
    }
}

/// The characters a `for-each` key may hold besides letters and digits: each of them fits an
/// AWS tag value and none of them ends a key in an address (`]`, `"`) or in a tag (`+`).
pub const KEY_PUNCTUATION: &[char] = &['-', '_', '.', '/', ':', '@'];

/// Why a `for-each` key cannot be part of an address, if it cannot.
pub fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("a key cannot be empty".into());
    }
    key.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || KEY_PUNCTUATION.contains(c)))
        .map(|c| format!("`{}` cannot be part of an address", c.escape_default()))
}

/// An address as written by a person, with keys quoted or bare (`x[a]`), in the form addresses
/// are displayed (`x["a"]`).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else {
            break;
        };
        let key = &rest[..close];
        let bare = key.strip_prefix('"').and_then(|k| k.strip_suffix('"'));
        out.push('"');
        out.push_str(bare.unwrap_or(key));
        out.push('"');
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// The address in an AWS tag value: `["` and `"]` become `+` (`alarm.errors+checkout+`), since
/// tag values take letters, digits, spaces and `_ . : / = + - @` only.
pub fn to_tag(display: &str) -> String {
    display.replace("[\"", "+").replace("\"]", "+")
}

/// The address a tag value holds, in the form addresses are displayed.
pub fn from_tag(tag: &str) -> String {
    if !tag.contains('+') {
        return tag.to_string();
    }
    let mut out = String::with_capacity(tag.len() + 4);
    for (i, part) in tag.split('+').enumerate() {
        if i > 0 {
            out.push_str(if i % 2 == 1 { "[\"" } else { "\"]" });
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_display_with_their_quoted_key() {
        let a =
            Address::new(vec!["web[\"eu\"]".into()], Kind::Alarm, "errors").with_key("checkout");
        assert_eq!(
            a.to_string(),
            "module.web[\"eu\"].alarm.errors[\"checkout\"]"
        );
        assert_eq!(a.group().to_string(), "module.web[\"eu\"].alarm.errors");
    }

    #[test]
    fn tag_values_round_trip_without_brackets_or_quotes() {
        let shown = "module.web[\"eu\"].alarm.errors[\"a/b.c:d@e\"]";
        let tag = to_tag(shown);
        assert_eq!(tag, "module.web+eu+.alarm.errors+a/b.c:d@e+");
        assert!(!tag.contains(['[', ']', '"']));
        assert_eq!(from_tag(&tag), shown);
        assert_eq!(from_tag("service.api"), "service.api");
    }

    #[test]
    fn bare_keys_are_quoted() {
        assert_eq!(normalize("log-group.x[a]"), "log-group.x[\"a\"]");
        assert_eq!(normalize("log-group.x[\"a\"]"), "log-group.x[\"a\"]");
        assert_eq!(normalize("module.m[k].alarm.y"), "module.m[\"k\"].alarm.y");
        assert_eq!(normalize("service.api"), "service.api");
    }

    #[test]
    fn keys_that_would_break_an_address_are_refused() {
        assert!(key_problem("checkout").is_none());
        assert!(key_problem("/ecs/api-1.2").is_none());
        assert!(key_problem("").is_some());
        assert!(key_problem("a\"b").is_some());
        assert!(key_problem("a b").is_some());
        assert!(key_problem("a+b").is_some());
    }
}
