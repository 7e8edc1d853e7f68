//! The plan as JSON for machines: a documented, versioned format (`docs/plan-json.md`, JSON
//! Schema in `docs/plan.schema.json`). Sensitive values are never written, only marked;
//! values known after apply are marked too.

use serde_json::{Map, Value as Json, json};

use super::paths::{PathChange, paths};
use super::{Action, AttrChange, Plan};
use crate::model::Value;

/// Bumped when a field changes meaning or goes away; new fields do not bump it.
pub const FORMAT_VERSION: u64 = 1;

pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::Adopt => "adopt",
        Action::NoOp => "no-op",
    }
}

/// The plan as a JSON document (pretty-printed, with a trailing newline).
pub fn json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(&document(plan)).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// The plan as a JSON value.
pub fn document(plan: &Plan) -> Json {
    let s = plan.summary();
    let changes: Vec<Json> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| {
            json!({
                "address": c.address,
                "kind": c.kind.keyword(),
                "action": action_name(c.action),
                "reasons": c.reasons,
                "attributes": c.attrs.iter().map(attribute).collect::<Vec<_>>(),
                "paths": paths(c).iter().map(path).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "format_version": FORMAT_VERSION,
        "infra_version": env!("CARGO_PKG_VERSION"),
        "stack": plan.stack,
        "region": plan.region,
        "summary": {
            "add": s.create,
            "change": s.update,
            "replace": s.replace,
            "destroy": s.delete,
            "adopt": s.adopt,
            "unchanged": s.unchanged,
        },
        "changes": changes,
        "warnings": plan.warnings.iter().map(|w| json!({
            "code": w.code,
            "address": w.address,
            "message": w.message,
            "help": w.help,
            "location": w.location,
        })).collect::<Vec<_>>(),
    })
}

fn path(p: &PathChange) -> Json {
    let side = |v: &Option<Value>| match v {
        None => Json::Null,
        Some(_) if p.sensitive => json!({ "sensitive": true }),
        Some(v) => value(v),
    };
    json!({
        "path": p.path,
        "before": side(&p.before),
        "after": side(&p.after),
        "sensitive": p.sensitive,
        "forces_replacement": p.forces_replacement,
    })
}

fn attribute(a: &AttrChange) -> Json {
    let side = |v: &Option<Value>| match v {
        None => Json::Null,
        Some(_) if a.sensitive => json!({ "sensitive": true }),
        Some(v) => value(v),
    };
    json!({
        "name": a.name,
        "before": side(&a.before),
        "after": side(&a.after),
        "sensitive": a.sensitive,
        "forces_replacement": a.forces_replacement,
    })
}

/// A value as JSON; what only AWS will know is `{"unknown": true}`.
pub fn value(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(value).collect()),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Unknown | Value::Ref(_) => json!({ "unknown": true }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::plan::Change;

    #[test]
    fn sensitive_values_are_marked_never_written_and_unknowns_are_marked() {
        let plan = Plan {
            stack: "shop".into(),
            region: "eu-west-1".into(),
            changes: vec![Change {
                address: "secret.db".into(),
                kind: Kind::Secret,
                resource: Some(0),
                action: Action::Update,
                reasons: Vec::new(),
                attrs: vec![
                    AttrChange {
                        name: "value".into(),
                        before: Some(Value::String("old-secret".into())),
                        after: Some(Value::String("new-secret".into())),
                        sensitive: true,
                        forces_replacement: false,
                        names: Default::default(),
                    },
                    AttrChange {
                        name: "kms-key".into(),
                        before: None,
                        after: Some(Value::Unknown),
                        sensitive: false,
                        forces_replacement: false,
                        names: Default::default(),
                    },
                ],
                live: None,
                create_before_destroy: false,
            }],
            destroying: false,
            warnings: Vec::new(),
        };
        let text = json(&plan);
        assert!(
            !text.contains("old-secret") && !text.contains("new-secret"),
            "{text}"
        );
        let doc: Json = serde_json::from_str(&text).expect("valid JSON");
        let attrs = &doc["changes"][0]["attributes"];
        assert_eq!(attrs[0]["after"], json!({ "sensitive": true }));
        assert_eq!(attrs[1]["after"], json!({ "unknown": true }));
        assert_eq!(doc["summary"]["change"], json!(1));
    }
}
