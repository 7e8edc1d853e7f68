//! What `infra explain KIND[.ATTRIBUTE...]` asks about: a kind, an attribute at any depth of its
//! blocks, or an attribute AWS computes. A name that does not exist is a diagnostic pointing at
//! the part of the argument that is wrong, with a suggestion.

use miette::SourceSpan;

use crate::lang::{Diagnostic, closest, did_you_mean};
use crate::model::schema::{Attr, BlockSchema, Computed, with_article};
use crate::model::{Kind, SourceId, Span};

use super::describe::{block_of, type_name};

/// The thing to explain.
#[derive(Debug, Clone)]
pub enum Topic {
    Kind(Kind),
    /// A written attribute; `chain` holds the attributes from the kind's body down to it (the
    /// last one is the attribute itself).
    Attribute {
        kind: Kind,
        chain: Vec<&'static Attr>,
    },
    /// An attribute AWS assigns.
    Computed {
        kind: Kind,
        computed: &'static Computed,
    },
}

/// Every kind, managed ones first, in the order of the reference.
pub fn all_kinds() -> impl Iterator<Item = Kind> {
    Kind::MANAGED.into_iter().chain(Kind::LOOKUPS)
}

/// Resolves `text` (the argument, which is the whole of source `source`).
pub fn resolve(text: &str, source: SourceId) -> Result<Topic, Diagnostic> {
    let segments = segments(text);
    let at = |(offset, word): (usize, &str)| {
        Span::new(source, SourceSpan::new(offset.into(), word.len().max(1)))
    };
    let kind_len = if segments.first().is_some_and(|(_, w)| *w == "lookup") {
        2
    } else {
        1
    };
    let kind_end = segments
        .get(kind_len - 1)
        .map_or(text.len(), |(o, w)| o + w.len());
    let kind_word = &text[..kind_end.min(text.len())];
    let Some(kind) = all_kinds().find(|k| k.keyword() == kind_word) else {
        return Err(unknown_kind(kind_word, at((0, kind_word))));
    };
    let schema = kind.schema();
    let mut block: &'static BlockSchema = schema.body;
    let mut chain: Vec<&'static Attr> = Vec::new();
    let path = |chain: &[&Attr]| chain.iter().map(|a| a.name).collect::<Vec<_>>().join(".");
    for &(offset, word) in segments.iter().skip(kind_len) {
        if let Some(&parent) = chain.last() {
            match block_of(parent) {
                Some(b) => block = b,
                None => {
                    return Err(Diagnostic::new(
                        "infra::not-a-block",
                        format!(
                            "`{kind_word}.{}` is {} and has no attributes of its own",
                            path(&chain),
                            with_article(&type_name(&parent.ty))
                        ),
                    )
                    .label(at((offset, word)), "no such attribute")
                    .help(format!("ask about `{kind_word}.{}` itself", path(&chain))));
                }
            }
        }
        if let Some(attr) = block.attr(word) {
            chain.push(attr);
            continue;
        }
        let top = chain.is_empty();
        if top && let Some(computed) = schema.computed.iter().find(|c| c.name == word) {
            let end = offset + word.len();
            if end == text.len() {
                return Ok(Topic::Computed { kind, computed });
            }
            return Err(Diagnostic::new(
                "infra::not-a-block",
                format!(
                    "`{kind_word}.{word}` is {} and has no attributes of its own",
                    with_article(&type_name(&computed.ty))
                ),
            )
            .label(
                at((end + 1, &text[(end + 1).min(text.len())..])),
                "no such attribute",
            )
            .help(format!("ask about `{kind_word}.{word}` itself")));
        }
        let owner = if top {
            format!("`{kind_word}`")
        } else {
            format!("`{kind_word}.{}`", path(&chain))
        };
        let names: Vec<&str> = if top {
            schema.readable_names().collect()
        } else {
            block.attrs.iter().map(|a| a.name).collect()
        };
        let message = if word.is_empty() {
            format!("an attribute name is missing after {owner}")
        } else {
            format!("{owner} has no attribute `{word}`")
        };
        // An empty name is pointed at by the dot before it.
        let span = if word.is_empty() {
            at((offset.saturating_sub(1), "."))
        } else {
            at((offset, word))
        };
        return Err(Diagnostic::new("infra::unknown-attribute", message)
            .label(span, "unknown attribute")
            .help(did_you_mean(word, names, "attributes")));
    }
    Ok(if chain.is_empty() {
        Topic::Kind(kind)
    } else {
        Topic::Attribute { kind, chain }
    })
}

/// `word` is no kind: suggest a kind, or the kinds that have an attribute of that name.
fn unknown_kind(word: &str, span: Span) -> Diagnostic {
    let lookups = || all_kinds().filter(|k| k.is_lookup()).map(Kind::keyword);
    let message = if word.is_empty() {
        "the argument names no kind".to_string()
    } else {
        format!("`{word}` is not a kind")
    };
    let homes = attribute_homes(word);
    let help = if word == "lookup" {
        format!("look-ups: {}", lookups().collect::<Vec<_>>().join(", "))
    } else if let Some(word) = word.strip_prefix("lookup.") {
        let full: Vec<String> = lookups().map(str::to_string).collect();
        did_you_mean(
            &format!("lookup.{word}"),
            full.iter().map(String::as_str),
            "look-ups",
        )
    } else if !homes.is_empty() && closest(word, all_kinds().map(Kind::keyword)).is_none() {
        let shown: Vec<String> = homes.iter().take(3).map(|h| format!("`{h}`")).collect();
        format!("`{word}` is an attribute: try {}", shown.join(", "))
    } else {
        did_you_mean(word, all_kinds().map(Kind::keyword), "kinds")
    };
    Diagnostic::new("infra::unknown-kind", message)
        .label(span, "unknown kind")
        .help(help)
}

/// Every `kind.path` whose last attribute is named `word`, at any depth.
fn attribute_homes(word: &str) -> Vec<String> {
    fn walk(block: &BlockSchema, prefix: &str, word: &str, out: &mut Vec<String>) {
        for attr in block.attrs {
            let path = format!("{prefix}.{}", attr.name);
            if attr.name == word {
                out.push(path.clone());
            }
            if let Some(inner) = block_of(attr) {
                walk(inner, &path, word, out);
            }
        }
    }
    let mut out = Vec::new();
    for kind in all_kinds() {
        walk(kind.schema().body, kind.keyword(), word, &mut out);
    }
    out
}

/// The dot-separated words of `text` with their byte offsets (empty words included).
fn segments(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for word in text.split('.') {
        out.push((offset, word));
        offset += word.len() + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Topic, Diagnostic> {
        super::resolve(text, SourceId(0))
    }

    #[test]
    fn finds_kinds_lookups_and_nested_attributes() {
        assert!(matches!(resolve("service"), Ok(Topic::Kind(Kind::Service))));
        assert!(matches!(
            resolve("lookup.subnets"),
            Ok(Topic::Kind(Kind::LookupSubnets))
        ));
        match resolve("target-group.health-check.path") {
            Ok(Topic::Attribute { kind, chain }) => {
                assert_eq!(kind, Kind::TargetGroup);
                let names: Vec<&str> = chain.iter().map(|a| a.name).collect();
                assert_eq!(names, ["health-check", "path"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve("load-balancer.dns-name"),
            Ok(Topic::Computed { .. })
        ));
    }

    #[test]
    fn unknown_names_point_at_the_wrong_word_and_suggest() {
        let d = resolve("target-group.helth-check").expect_err("unknown attribute");
        assert_eq!(d.code, "infra::unknown-attribute");
        let span = d.span().expect("a label");
        assert_eq!((span.offset, span.len), (13, 11));
        assert_eq!(d.help.as_deref(), Some("did you mean `health-check`?"));

        let d = resolve("lookup.subnet").expect_err("unknown look-up");
        assert_eq!(d.help.as_deref(), Some("did you mean `lookup.subnets`?"));

        let d = resolve("container").expect_err("an attribute, not a kind");
        assert_eq!(
            d.help.as_deref(),
            Some(
                "`container` is an attribute: try `task-definition.container`, \
                 `service.load-balancer.container`"
            )
        );

        let d = resolve("alarm.threshold.value").expect_err("not a block");
        assert_eq!(d.code, "infra::not-a-block");
        let span = d.span().expect("a label");
        assert_eq!(span.offset, 16);
    }
}
