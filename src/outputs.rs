//! The stack's outputs (`output "url" ...` in the stack file), resolved against what is known
//! of live AWS: printed after apply and by `infra output`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::known::Known;
use crate::model::{Stack, Value};

/// Each output of the stack by name, resolved; a value AWS has not made yet is
/// [`Value::Unknown`].
pub fn resolve(stack: &Stack, known: &Known<'_>) -> BTreeMap<String, Value> {
    stack
        .outputs
        .iter()
        .map(|(name, value)| (name.clone(), known.resolve(value)))
        .collect()
}

/// `Outputs:` and one aligned `name = value` line per output; nothing without outputs.
pub fn text(outputs: &BTreeMap<String, Value>) -> String {
    if outputs.is_empty() {
        return String::new();
    }
    let width = outputs.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    let mut out = String::from("\nOutputs:\n");
    for (name, value) in outputs {
        let _ = writeln!(out, "  {name:width$} = {}", shown(value));
    }
    out
}

/// One output's value as a script wants it: a string bare, anything else as JSON.
pub fn raw(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => json(other).to_string(),
    }
}

/// The outputs as one JSON object; an unknown value is `null`.
pub fn json_object(outputs: &BTreeMap<String, Value>) -> serde_json::Value {
    serde_json::Value::Object(outputs.iter().map(|(k, v)| (k.clone(), json(v))).collect())
}

/// One output's value as `status` shows it: JSON, or that it is not known yet.
pub fn shown(value: &Value) -> String {
    match value {
        Value::Unknown | Value::Ref(_) => "(not known until the resource exists)".into(),
        other => json(other).to_string(),
    }
}

fn json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null | Value::Unknown | Value::Ref(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(json).collect()),
        Value::Map(map) => {
            serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_read_aligned_and_unknowns_say_so() {
        let outputs: BTreeMap<String, Value> = [
            (
                "url".to_string(),
                Value::String("https://shop.example.com".into()),
            ),
            ("load-balancer-dns".to_string(), Value::Unknown),
            (
                "ports".to_string(),
                Value::List(vec![Value::Int(80), Value::Int(443)]),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            text(&outputs),
            "\nOutputs:\n  load-balancer-dns = (not known until the resource exists)\n  \
             ports             = [80,443]\n  url               = \"https://shop.example.com\"\n"
        );
        assert_eq!(raw(&outputs["url"]), "https://shop.example.com");
        assert_eq!(raw(&outputs["ports"]), "[80,443]");
        assert_eq!(
            json_object(&outputs).to_string(),
            r#"{"load-balancer-dns":null,"ports":[80,443],"url":"https://shop.example.com"}"#
        );
        assert_eq!(text(&BTreeMap::new()), "");
    }
}
