//! IAM policy documents: statements written as KDL blocks (in schema terms, [`Value`] maps),
//! rendered to IAM's JSON, read back from the JSON IAM returns (URL-encoded or not), and put in
//! one comparable form so that what IAM treats as the same document compares equal.
//!
//! A statement in schema terms is a map with `sid`, `effect`, `actions` / `not-actions`,
//! `resources` / `not-resources` (lists of strings), `principal` (a map of `service`, `aws`,
//! `federated` lists; trust policies only) and `condition` (a list of maps with `test`,
//! `variable` and `values`). Pure: no AWS, no I/O.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::Value;

/// The policy language version infra writes.
pub const VERSION: &str = "2012-10-17";

/// The action a role's trust statement allows.
pub const ASSUME_ROLE: &str = "sts:AssumeRole";

/// Statement keys in schema terms and in IAM's JSON, for the list-valued ones.
const LISTS: [(&str, &str); 4] = [
    ("actions", "Action"),
    ("not-actions", "NotAction"),
    ("resources", "Resource"),
    ("not-resources", "NotResource"),
];

/// Principal kinds in schema terms and in IAM's JSON.
const PRINCIPALS: [(&str, &str); 4] = [
    ("service", "Service"),
    ("aws", "AWS"),
    ("federated", "Federated"),
    ("canonical-user", "CanonicalUser"),
];

/// The full service principal of a trust shorthand: `ecs-tasks` → `ecs-tasks.amazonaws.com`;
/// a name with a dot is taken as written.
pub fn service_principal(short: &str) -> String {
    if short.contains('.') {
        short.to_string()
    } else {
        format!("{short}.amazonaws.com")
    }
}

/// Rewrites a trust block's shorthand (`service`) into the statement it stands for: allow
/// `sts:AssumeRole` to that service principal.
pub fn expand_trust(trust: &mut BTreeMap<String, Value>) {
    let Some(service) = trust.remove("service") else {
        return;
    };
    let principal = match service {
        Value::String(s) => Value::String(service_principal(&s)),
        other => other,
    };
    let statement = BTreeMap::from([
        ("effect".to_string(), Value::String("Allow".into())),
        (
            "actions".to_string(),
            Value::List(vec![Value::String(ASSUME_ROLE.into())]),
        ),
        (
            "principal".to_string(),
            Value::Map(BTreeMap::from([(
                "service".to_string(),
                Value::List(vec![principal]),
            )])),
        ),
    ]);
    let statements = match trust.remove("statement") {
        Some(Value::List(mut list)) => {
            list.insert(0, Value::Map(statement));
            list
        }
        _ => vec![Value::Map(statement)],
    };
    trust.insert("statement".into(), Value::List(statements));
}

/// Why a document cannot be rendered yet or at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrendered(pub String);

/// IAM's JSON of `statements` (a list of statement maps), compact. A value not known yet is an
/// error unless `lenient`, where it counts as an empty string (for size estimates at load).
pub fn render(statements: &[Value], lenient: bool) -> Result<String, Unrendered> {
    let mut out = Vec::new();
    for statement in statements {
        let Some(map) = statement.as_map() else {
            return Err(Unrendered("a statement is not a block".into()));
        };
        out.push(render_statement(map, lenient)?);
    }
    let mut doc = Map::new();
    doc.insert("Version".into(), Json::String(VERSION.into()));
    doc.insert("Statement".into(), Json::Array(out));
    Ok(Json::Object(doc).to_string())
}

fn render_statement(map: &BTreeMap<String, Value>, lenient: bool) -> Result<Json, Unrendered> {
    let mut out = Map::new();
    if let Some(sid) = map.get("sid") {
        out.insert("Sid".into(), scalar(sid, lenient)?);
    }
    let effect = map
        .get("effect")
        .map_or(Ok(Json::String("Allow".into())), |e| scalar(e, lenient))?;
    out.insert("Effect".into(), effect);
    if let Some(principal) = map.get("principal").and_then(Value::as_map) {
        let mut p = Map::new();
        for (ours, theirs) in PRINCIPALS {
            if let Some(v) = principal.get(ours).filter(|v| !empty(v)) {
                p.insert(theirs.into(), list(v, lenient)?);
            }
        }
        out.insert("Principal".into(), Json::Object(p));
    }
    for (ours, theirs) in LISTS {
        if let Some(v) = map.get(ours).filter(|v| !empty(v)) {
            out.insert(theirs.into(), list(v, lenient)?);
        }
    }
    if let Some(Value::List(conditions)) = map.get("condition")
        && !conditions.is_empty()
    {
        let mut by_test: Map<String, Json> = Map::new();
        for condition in conditions {
            let Some(c) = condition.as_map() else {
                continue;
            };
            let test = c.get("test").map(|t| scalar(t, lenient)).transpose()?;
            let variable = c.get("variable").map(|v| scalar(v, lenient)).transpose()?;
            let (Some(Json::String(test)), Some(Json::String(variable))) = (test, variable) else {
                return Err(Unrendered("a condition needs `test` and `variable`".into()));
            };
            let values = c
                .get("values")
                .map_or(Ok(Json::Array(Vec::new())), |v| list(v, lenient))?;
            if let Json::Object(keys) = by_test
                .entry(test)
                .or_insert_with(|| Json::Object(Map::new()))
            {
                keys.insert(variable, values);
            }
        }
        out.insert("Condition".into(), Json::Object(by_test));
    }
    Ok(Json::Object(out))
}

fn empty(v: &Value) -> bool {
    matches!(v, Value::Null) || matches!(v, Value::List(l) if l.is_empty())
}

fn scalar(v: &Value, lenient: bool) -> Result<Json, Unrendered> {
    match v {
        Value::String(s) => Ok(Json::String(s.clone())),
        Value::Int(i) => Ok(Json::String(i.to_string())),
        Value::Bool(b) => Ok(Json::String(b.to_string())),
        Value::Float(f) => Ok(Json::String(f.to_string())),
        _ if lenient => Ok(Json::String(String::new())),
        other => Err(Unrendered(format!(
            "a policy holds {} that is not known yet",
            other.type_name()
        ))),
    }
}

/// A list as IAM's JSON array (a single value is a one-item list).
fn list(v: &Value, lenient: bool) -> Result<Json, Unrendered> {
    match v {
        Value::List(items) => items
            .iter()
            .map(|i| scalar(i, lenient))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        other => Ok(Json::Array(vec![scalar(other, lenient)?])),
    }
}

/// The text of a document IAM returned: GetRole, GetRolePolicy and ListRoles return it
/// URL-encoded (RFC 3986); a document that already reads as JSON is taken as it is.
pub fn decode(text: &str) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return text.to_string();
    }
    percent_decode(text)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The statements of a document IAM returned, in schema terms (URL-decoded first).
pub fn parse(text: &str) -> Result<Vec<Value>, String> {
    let doc: Json = serde_json::from_str(&decode(text))
        .map_err(|e| format!("the policy document is not JSON: {e}"))?;
    let statements = match doc.get("Statement") {
        Some(Json::Array(list)) => list.clone(),
        Some(one @ Json::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements.iter().map(parse_statement).collect()
}

fn parse_statement(json: &Json) -> Result<Value, String> {
    let Json::Object(s) = json else {
        return Err("a statement of the policy document is not an object".into());
    };
    let mut out = BTreeMap::new();
    if let Some(sid) = s
        .get("Sid")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
    {
        out.insert("sid".to_string(), Value::String(sid.into()));
    }
    let effect = s.get("Effect").and_then(Json::as_str).unwrap_or("Allow");
    out.insert("effect".into(), Value::String(effect.into()));
    for (ours, theirs) in LISTS {
        if let Some(v) = s.get(theirs) {
            out.insert(ours.into(), strings(v));
        }
    }
    match s.get("Principal") {
        Some(Json::String(star)) => {
            out.insert(
                "principal".into(),
                Value::Map(BTreeMap::from([(
                    "aws".to_string(),
                    Value::List(vec![Value::String(star.clone())]),
                )])),
            );
        }
        Some(Json::Object(p)) => {
            let mut principal = BTreeMap::new();
            for (ours, theirs) in PRINCIPALS {
                if let Some(v) = p.get(theirs) {
                    principal.insert(ours.to_string(), strings(v));
                }
            }
            out.insert("principal".into(), Value::Map(principal));
        }
        _ => {}
    }
    if let Some(Json::Object(tests)) = s.get("Condition") {
        let mut conditions = Vec::new();
        for (test, keys) in tests {
            let Json::Object(keys) = keys else { continue };
            for (variable, values) in keys {
                conditions.push(Value::Map(BTreeMap::from([
                    ("test".to_string(), Value::String(test.clone())),
                    ("variable".to_string(), Value::String(variable.clone())),
                    ("values".to_string(), strings(values)),
                ])));
            }
        }
        out.insert("condition".into(), Value::List(conditions));
    }
    Ok(Value::Map(out))
}

/// A JSON string or array (of strings, numbers or booleans) as a list of strings.
fn strings(v: &Json) -> Value {
    let one = |j: &Json| match j {
        Json::String(s) => Value::String(s.clone()),
        other => Value::String(other.to_string()),
    };
    match v {
        Json::Array(items) => Value::List(items.iter().map(one).collect()),
        other => Value::List(vec![one(other)]),
    }
}

/// Puts statements in one comparable form: set-like lists (actions, resources, principals,
/// condition values) sorted without duplicates, a single value as a one-item list, conditions
/// in (test, variable) order, empty lists dropped. Statement order is kept: it is how the plan
/// numbers them.
pub fn normalize(statements: &mut Value) {
    let Value::List(list) = statements else {
        return;
    };
    for statement in list.iter_mut() {
        let Value::Map(s) = statement else { continue };
        for (ours, _) in LISTS {
            set_like(s, ours);
        }
        if let Some(Value::Map(p)) = s.get_mut("principal") {
            for (ours, _) in PRINCIPALS {
                set_like(p, ours);
            }
        }
        if let Some(Value::List(conditions)) = s.get_mut("condition") {
            for c in conditions.iter_mut() {
                if let Value::Map(c) = c {
                    set_like(c, "values");
                }
            }
            conditions.sort_by_key(|c| {
                let field = |k: &str| {
                    c.as_map()
                        .and_then(|m| m.get(k))
                        .map(Value::to_string)
                        .unwrap_or_default()
                };
                (field("test"), field("variable"))
            });
        }
        if matches!(s.get("condition"), Some(Value::List(l)) if l.is_empty()) {
            s.remove("condition");
        }
        if matches!(s.get("sid"), Some(Value::String(sid)) if sid.is_empty()) {
            s.remove("sid");
        }
        s.retain(|_, v| *v != Value::Null);
    }
}

/// A set-like list in a map: a single value becomes a list, items sorted (values not known yet
/// last, in their order), duplicates dropped; an empty list is removed.
fn set_like(map: &mut BTreeMap<String, Value>, key: &str) {
    let Some(v) = map.get_mut(key) else { return };
    let mut items = match std::mem::replace(v, Value::Null) {
        Value::List(items) => items,
        Value::Null => Vec::new(),
        one => vec![one],
    };
    let (mut known, unknown): (Vec<Value>, Vec<Value>) =
        items.drain(..).partition(|i| matches!(i, Value::String(_)));
    known.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    known.dedup();
    known.extend(unknown);
    if known.is_empty() {
        map.remove(key);
    } else {
        *v = Value::List(known);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn strs(items: &[&str]) -> Value {
        Value::List(items.iter().map(|i| s(i)).collect())
    }

    fn statement(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn read_secrets() -> Value {
        statement(&[
            ("effect", s("Allow")),
            ("actions", strs(&["secretsmanager:GetSecretValue"])),
            (
                "resources",
                strs(&["arn:aws:secretsmanager:us-east-1:1:secret:db"]),
            ),
            (
                "condition",
                Value::List(vec![statement(&[
                    ("test", s("StringEquals")),
                    ("variable", s("aws:SourceAccount")),
                    ("values", strs(&["123456789012"])),
                ])]),
            ),
        ])
    }

    #[test]
    fn statements_render_to_iam_json_and_read_back_the_same() {
        let doc = render(&[read_secrets()], false).expect("renders");
        assert_eq!(
            doc,
            r#"{"Statement":[{"Action":["secretsmanager:GetSecretValue"],"Condition":{"StringEquals":{"aws:SourceAccount":["123456789012"]}},"Effect":"Allow","Resource":["arn:aws:secretsmanager:us-east-1:1:secret:db"]}],"Version":"2012-10-17"}"#
        );
        let mut back = Value::List(parse(&doc).expect("parses"));
        let mut want = Value::List(vec![read_secrets()]);
        normalize(&mut back);
        normalize(&mut want);
        assert_eq!(back, want);
    }

    #[test]
    fn a_value_not_known_yet_is_not_rendered_but_counts_as_empty_for_sizes() {
        let mut st = read_secrets();
        if let Value::Map(m) = &mut st {
            m.insert("resources".into(), Value::List(vec![Value::Unknown]));
        }
        assert!(render(std::slice::from_ref(&st), false).is_err());
        let lenient = render(&[st], true).expect("renders leniently");
        assert!(lenient.contains(r#""Resource":[""]"#), "{lenient}");
    }

    /// GetRolePolicy and GetRole answer with URL-encoded JSON, laid out as whoever wrote it
    /// chose, single values as strings and lists in any order: all the same document.
    #[test]
    fn url_encoding_whitespace_single_values_and_order_are_no_difference() {
        let aws = "%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22%2C%0A%20%20%22Statement%22%3A%20%7B%22Effect%22%3A%20%22Allow%22%2C%20%22Action%22%3A%20%5B%22s3%3APutObject%22%2C%20%22s3%3AGetObject%22%2C%20%22s3%3AGetObject%22%5D%2C%20%22Resource%22%3A%20%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%0A%7D";
        let mut live = Value::List(parse(aws).expect("decodes and parses"));
        let mut written = Value::List(vec![statement(&[
            ("effect", s("Allow")),
            ("actions", strs(&["s3:GetObject", "s3:PutObject"])),
            ("resources", s("arn:aws:s3:::b/*")),
        ])]);
        normalize(&mut live);
        normalize(&mut written);
        assert_eq!(live, written);
        // A real difference stays one.
        let mut other = Value::List(vec![statement(&[
            ("effect", s("Allow")),
            ("actions", strs(&["s3:GetObject"])),
            ("resources", s("arn:aws:s3:::b/*")),
        ])]);
        normalize(&mut other);
        assert_ne!(live, other);
    }

    #[test]
    fn reordered_conditions_and_principals_compare_equal() {
        let cond = |t: &str, v: &str, vals: &[&str]| {
            statement(&[("test", s(t)), ("variable", s(v)), ("values", strs(vals))])
        };
        let mut a = Value::List(vec![statement(&[
            ("effect", s("Allow")),
            ("actions", strs(&["sts:AssumeRole"])),
            (
                "principal",
                statement(&[("service", strs(&["b.amazonaws.com", "a.amazonaws.com"]))]),
            ),
            (
                "condition",
                Value::List(vec![
                    cond("StringLike", "aws:SourceArn", &["y", "x"]),
                    cond("StringEquals", "aws:SourceAccount", &["1"]),
                ]),
            ),
        ])]);
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["a.amazonaws.com","b.amazonaws.com"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"1"},"StringLike":{"aws:SourceArn":["x","y"]}}}]}"#;
        let mut b = Value::List(parse(doc).expect("parses"));
        normalize(&mut a);
        normalize(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn the_trust_shorthand_is_an_assume_role_statement_for_the_service() {
        let mut short = BTreeMap::from([("service".to_string(), s("ecs-tasks"))]);
        expand_trust(&mut short);
        let mut full = BTreeMap::from([("service".to_string(), s("ecs-tasks.amazonaws.com"))]);
        expand_trust(&mut full);
        assert_eq!(short, full);
        let doc = render(short["statement"].as_list().expect("a list"), false).expect("renders");
        assert_eq!(
            doc,
            r#"{"Statement":[{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"Service":["ecs-tasks.amazonaws.com"]}}],"Version":"2012-10-17"}"#
        );
    }

    #[test]
    fn a_principal_star_reads_as_every_aws_principal() {
        let doc = r#"{"Statement":[{"Effect":"Deny","Principal":"*","NotAction":"iam:*","NotResource":["*"]}]}"#;
        let got = parse(doc).expect("parses");
        let want = statement(&[
            ("effect", s("Deny")),
            ("not-actions", strs(&["iam:*"])),
            ("not-resources", strs(&["*"])),
            ("principal", statement(&[("aws", strs(&["*"]))])),
        ]);
        assert_eq!(got, [want]);
        assert!(parse("%7Bnot json").is_err());
    }
}
