//! CloudWatch alarm rules that need the stack: metric math that names queries the alarm does
//! not have, query ids used twice, and actions in another region than the alarm.

use super::{Ctx, blocks, text};
use crate::model::{Kind, Resource, Value};

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for alarm in ctx.all(Kind::Alarm) {
        queries(ctx, alarm);
        actions(ctx, alarm);
    }
}

/// The metric ids an expression names: words that start with a lowercase letter, outside
/// quotes (functions such as `MAX` and `METRICS` are uppercase).
fn identifiers(expression: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start: Option<usize> = None;
    let bytes: Vec<(usize, char)> = expression.char_indices().collect();
    for (n, &(i, c)) in bytes.iter().enumerate() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        let word = c.is_ascii_alphanumeric() || c == '_';
        match (start, word) {
            (None, true) => {
                let after_word = n > 0 && {
                    let p = bytes[n - 1].1;
                    p.is_ascii_alphanumeric() || p == '_' || p == '.'
                };
                if !after_word {
                    start = Some(i);
                }
            }
            (Some(s), false) => {
                out.push(&expression[s..i]);
                start = None;
            }
            _ => {}
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
    }
    if let Some(s) = start {
        out.push(&expression[s..]);
    }
    out.into_iter()
        .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .collect()
}

fn queries(ctx: &mut Ctx<'_>, alarm: &Resource) {
    let all: Vec<(usize, &std::collections::BTreeMap<String, Value>)> =
        blocks(&alarm.attrs, "query").collect();
    let ids: Vec<&str> = all.iter().filter_map(|(_, q)| text(q, "id")).collect();
    for (n, (i, q)) in all.iter().enumerate() {
        let Some(id) = text(q, "id") else { continue };
        if ids[..n].contains(&id) {
            ctx.error(
                ctx.at(alarm, &format!("query.{i}.id")),
                format!("two queries of this alarm have the id `{id}`"),
                "id used again",
                "give every query of an alarm its own id".into(),
            );
        }
        let Some(expression) = text(q, "expression") else {
            continue;
        };
        for word in identifiers(expression) {
            if !ids.contains(&word) {
                ctx.error(
                    ctx.at(alarm, &format!("query.{i}.expression")),
                    format!("expression `{id}` names `{word}`, which is not a query of this alarm"),
                    "unknown metric id",
                    format!(
                        "add `query \"{word}\" namespace=... metric=... stat=... period=...`, or {}",
                        crate::lang::did_you_mean(word, ids.iter().copied(), "query ids")
                    ),
                );
            }
        }
    }
}

/// Alarm actions run in the alarm's region.
fn actions(ctx: &mut Ctx<'_>, alarm: &Resource) {
    for key in ["actions", "ok-actions", "insufficient-data-actions"] {
        let Some(list) = alarm.attrs.get(key).and_then(Value::as_list) else {
            continue;
        };
        for (i, action) in list.iter().enumerate() {
            let Some(arn) = action.as_str() else { continue };
            let region = arn.split(':').nth(3).unwrap_or_default();
            if !region.is_empty() && region != ctx.region {
                ctx.error(
                    ctx.at(alarm, &format!("{key}.{i}")),
                    format!(
                        "this action is in {region}, but the alarm is in {}",
                        ctx.region
                    ),
                    "another region",
                    format!("use a topic (or other action) in {}", ctx.region),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::identifiers;

    #[test]
    fn finds_the_metric_ids_of_an_expression() {
        assert_eq!(
            identifiers("100 * errors / MAX([errors, requests])"),
            ["errors", "errors", "requests"]
        );
        assert_eq!(identifiers("m1 + 'm2' + METRICS(\"x\")"), ["m1"]);
        assert!(identifiers("FILL(m1, 0)").contains(&"m1"));
    }
}
