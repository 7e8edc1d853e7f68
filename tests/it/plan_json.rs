//! `plan --format json` validates against the shipped JSON Schema, with a small validator for
//! the keywords the schema uses (type, const, enum, required, properties,
//! additionalProperties, items, minimum, $ref).

use serde_json::Value as Json;

use super::harness::{expect, root};
use super::moto::World;

fn check(schema: &Json, root_schema: &Json, value: &Json, path: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Json::as_str) {
        let target = reference
            .trim_start_matches("#/")
            .split('/')
            .fold(root_schema, |s, part| &s[part]);
        return check(target, root_schema, value, path, errors);
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Json::String(t) => vec![t.as_str()],
            Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = match value {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        };
        let fits =
            allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !fits {
            errors.push(format!("{path}: {actual} is not {allowed:?}"));
            return;
        }
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        errors.push(format!("{path}: {value} is not {expected}"));
    }
    if let Some(options) = schema.get("enum").and_then(Json::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Json::as_f64), value.as_f64())
        && n < min
    {
        errors.push(format!("{path}: {n} is below {min}"));
    }
    if let Some(object) = value.as_object() {
        for key in schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
        {
            if !object.contains_key(key) {
                errors.push(format!("{path}: `{key}` is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Json::as_object);
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => check(s, root_schema, v, &format!("{path}.{key}"), errors),
                None if schema.get("additionalProperties") == Some(&Json::Bool(false)) => {
                    errors.push(format!("{path}: `{key}` is not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            check(items, root_schema, v, &format!("{path}[{i}]"), errors);
        }
    }
}

fn validate(document: &str) -> Vec<String> {
    let schema: Json = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/plan.schema.json")).expect("the schema ships"),
    )
    .expect("the schema is JSON");
    let value: Json = serde_json::from_str(document).expect("the plan is JSON");
    let mut errors = Vec::new();
    check(&schema, &schema, &value, "$", &mut errors);
    errors
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let errors = validate(r#"{"format_version": 2, "stack": 1, "extra": true}"#);
    assert!(errors.iter().any(|e| e.contains("is not 1")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("`region` is missing")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("$.stack: integer")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("`extra` is not in the schema")),
        "{errors:?}"
    );
}

#[test]
fn json_plans_validate_against_the_shipped_schema() {
    let w = World::new("json");
    let key = "QUICKSTART_API_KEY";
    let stack = w.stack_file("quickstart.kdl", |t| t);
    // A plan of creates (with a sensitive value and a value known after apply).
    let first = w.infra(
        &["plan", &stack, "--format", "json"],
        &[(key, "json-canary-1")],
    );
    expect(&first, 0);
    assert_eq!(validate(&first.stdout), Vec::<String>::new());
    expect(
        &w.infra(
            &["apply", &stack, "--auto-approve"],
            &[(key, "json-canary-1")],
        ),
        0,
    );
    // Updates, a sensitive change and a delete.
    let changed = w.stack_file("quickstart.kdl", |t| {
        let start = t
            .find("record \"spf\"")
            .expect("the spf record is in the example");
        t[..start].replace("retention-days 14", "retention-days 30")
    });
    let second = w.infra(
        &["plan", &changed, "--format", "json"],
        &[(key, "json-canary-2")],
    );
    expect(&second, 0);
    assert_eq!(validate(&second.stdout), Vec::<String>::new());
    let doc: Json = serde_json::from_str(&second.stdout).expect("JSON");
    let actions: Vec<&str> = doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert_eq!(actions, ["update", "update", "delete"], "{}", second.stdout);
    assert!(
        second.stdout.contains(r#""sensitive": true"#),
        "{}",
        second.stdout
    );
    for out in [&first, &second] {
        assert!(
            !out.stdout.contains("json-canary"),
            "a secret value was written"
        );
    }
}
