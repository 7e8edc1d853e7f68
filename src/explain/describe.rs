//! Schema facts in words, shared by the terminal and the Markdown renderings: an attribute's
//! type, its default, its limits, and paragraphs wrapped to a width.

use crate::model::schema::{Attr, BlockSchema, Check, Default, ResourceSchema, Type};

/// The type as the reference writes it: "string", "list of strings", "block".
pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::String => "string".into(),
        Type::Int => "integer".into(),
        Type::Number => "number".into(),
        Type::Bool => "boolean".into(),
        Type::List(item) => format!("list of {}", plural(item)),
        Type::Map(value) => format!("map of {}", plural(value)),
        Type::Block(_) => "block".into(),
        Type::Blocks(_) => "repeated block".into(),
    }
}

fn plural(ty: &Type) -> String {
    match ty {
        Type::Block(_) | Type::Blocks(_) => "blocks".into(),
        other => format!("{}s", type_name(other)),
    }
}

/// The nested block of a block attribute.
pub fn block_of(attr: &Attr) -> Option<&'static BlockSchema> {
    match attr.ty {
        Type::Block(b) | Type::Blocks(b) => Some(b),
        _ => None,
    }
}

/// A default as it is written in KDL: `"disabled"`, `5`, `#true`, `"FARGATE" "EC2"`.
pub fn default_value(default: Default) -> String {
    match default {
        Default::Str(s) => format!("\"{s}\""),
        Default::Int(i) => i.to_string(),
        Default::Bool(b) => if b { "#true" } else { "#false" }.into(),
        Default::StrList(items) => items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Every limit of an attribute in words, or an empty list.
pub fn limits(attr: &Attr) -> Vec<String> {
    let unit = match attr.ty {
        Type::Map(_) => "entries",
        _ => "items",
    };
    attr.checks.iter().map(|c| check(c, unit)).collect()
}

fn check(check: &Check, unit: &str) -> String {
    let listed = |items: Vec<String>| items.join(", ");
    match *check {
        Check::Range(min, max) => format!("{min}–{max}"),
        Check::Length(min, max) => format!("length {min}–{max}"),
        Check::OneOf(allowed) => format!(
            "one of {}",
            listed(allowed.iter().map(|a| format!("`{a}`")).collect())
        ),
        Check::OneOfInt(allowed) => format!(
            "one of {}",
            listed(allowed.iter().map(i64::to_string).collect())
        ),
        Check::Count(0, max) => format!("at most {max} {unit}"),
        Check::Count(min, max) => format!("{min}–{max} {unit}"),
        Check::Custom(_, words) => words.to_string(),
    }
}

/// "`cluster` and `name`"; attributes of the key that may be left out come last, "when set".
pub fn natural_key(schema: &ResourceSchema) -> String {
    let required = |name: &&str| schema.body.attr(name).is_none_or(|a| a.required);
    let (always, optional): (Vec<&str>, Vec<&str>) =
        schema.natural_key.iter().copied().partition(required);
    let list = |names: &[&str]| {
        let names: Vec<String> = names.iter().map(|n| code(n)).collect();
        match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        }
    };
    if optional.is_empty() {
        list(&always)
    } else {
        format!("{} (and {} when set)", list(&always), list(&optional))
    }
}

/// `text` in backticks.
pub fn code(text: &str) -> String {
    format!("`{text}`")
}

/// Words separated by single spaces, broken into lines of at most `width` characters (a word
/// longer than that gets a line of its own), each line starting with `indent`. A word that
/// Markdown would read as the start of a list, quote or heading never starts a line.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let len = |s: &str| s.chars().count();
        if !line.is_empty()
            && !starts_a_block(word)
            && len(indent) + len(&line) + 1 + len(word) > width
        {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `+`, `-`, `*`, `>`, `#...` or `1.` at the start of a line would not be a paragraph's text.
fn starts_a_block(word: &str) -> bool {
    matches!(word, "+" | "-" | "*" | ">")
        || word.starts_with('#')
        || word
            .strip_suffix(['.', ')'])
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_speak_of_entries_for_maps_and_items_for_lists() {
        let map = Attr::string_map("tags").checks(&[Check::Count(0, 50)]);
        let list = Attr::strings("subnets").checks(&[Check::Count(2, 200)]);
        assert_eq!(limits(&map), ["at most 50 entries"]);
        assert_eq!(limits(&list), ["2–200 items"]);
    }

    #[test]
    fn defaults_are_written_as_in_kdl() {
        assert_eq!(default_value(Default::Str("awsvpc")), "\"awsvpc\"");
        assert_eq!(default_value(Default::Bool(false)), "#false");
        assert_eq!(default_value(Default::StrList(&["A", "B"])), "\"A\" \"B\"");
    }

    #[test]
    fn wraps_at_the_width_with_the_indent() {
        let text = "one two three four five six";
        assert_eq!(
            wrap(text, 13, "  "),
            "  one two\n  three four\n  five six\n"
        );
        assert_eq!(wrap("", 10, "  "), "");
        assert_eq!(wrap("a b + c", 4, ""), "a b +\nc\n");
    }
}
