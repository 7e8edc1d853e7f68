//! An ECR lifecycle policy both ways: the `lifecycle-policy` block of the stack rendered to the JSON
//! ECR takes, and the JSON ECR returns (reformatted its own way) read back into the block's
//! shape, so that the plan compares rules, not text.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::model::Value;

/// The JSON policy of a `lifecycle-policy` block: every rule expires what it selects.
pub fn render(lifecycle: &BTreeMap<String, Value>) -> String {
    let rules: Vec<Json> = rules_of(lifecycle)
        .into_iter()
        .map(|rule| {
            let text = |k: &str| rule.get(k).and_then(Value::as_str);
            let mut selection = serde_json::Map::new();
            if let Some(status) = text("tag-status") {
                selection.insert("tagStatus".into(), json!(status));
            }
            if let Some(prefixes) = rule.get("tag-prefixes").and_then(Value::as_list) {
                let prefixes: Vec<&str> = prefixes.iter().filter_map(Value::as_str).collect();
                selection.insert("tagPrefixList".into(), json!(prefixes));
            }
            if let Some(count_type) = text("count-type") {
                selection.insert("countType".into(), json!(count_type));
            }
            if let Some(unit) = text("unit") {
                selection.insert("countUnit".into(), json!(unit));
            }
            if let Some(count) = rule.get("count").and_then(Value::as_int) {
                selection.insert("countNumber".into(), json!(count));
            }
            let mut out = serde_json::Map::new();
            if let Some(priority) = rule.get("priority").and_then(Value::as_int) {
                out.insert("rulePriority".into(), json!(priority));
            }
            if let Some(description) = text("description") {
                out.insert("description".into(), json!(description));
            }
            out.insert("selection".into(), Json::Object(selection));
            out.insert("action".into(), json!({ "type": "expire" }));
            Json::Object(out)
        })
        .collect();
    json!({ "rules": rules }).to_string()
}

/// The rules of a block, lowest priority number first.
fn rules_of(lifecycle: &BTreeMap<String, Value>) -> Vec<&BTreeMap<String, Value>> {
    let mut rules: Vec<&BTreeMap<String, Value>> = lifecycle
        .get("rule")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_map)
        .collect();
    rules.sort_by_key(|r| r.get("priority").and_then(Value::as_int));
    rules
}

/// The block a policy ECR returned stands for. A policy infra cannot express (another action,
/// a selection field infra does not write, text that is not JSON) is kept as its text: it then
/// differs from any block, and the plan rewrites it.
pub fn parse(text: &str) -> Value {
    match parse_rules(text) {
        Some(rules) => Value::Map(BTreeMap::from([("rule".to_string(), Value::List(rules))])),
        None => Value::String(text.to_string()),
    }
}

fn parse_rules(text: &str) -> Option<Vec<Value>> {
    let doc: Json = serde_json::from_str(text).ok()?;
    let mut out = Vec::new();
    for rule in doc.get("rules")?.as_array()? {
        let rule = rule.as_object()?;
        if rule
            .keys()
            .any(|k| !["rulePriority", "description", "selection", "action"].contains(&k.as_str()))
        {
            return None;
        }
        if rule.get("action")?.get("type")?.as_str()? != "expire" {
            return None;
        }
        let selection = rule.get("selection")?.as_object()?;
        let known = [
            "tagStatus",
            "tagPrefixList",
            "countType",
            "countUnit",
            "countNumber",
        ];
        if selection.keys().any(|k| !known.contains(&k.as_str())) {
            return None;
        }
        let mut block = BTreeMap::new();
        block.insert(
            "priority".to_string(),
            Value::Int(rule.get("rulePriority")?.as_i64()?),
        );
        if let Some(description) = rule.get("description").and_then(Json::as_str) {
            block.insert("description".into(), Value::String(description.into()));
        }
        let text_of = |k: &str| selection.get(k).and_then(Json::as_str).map(str::to_string);
        block.insert("tag-status".into(), Value::String(text_of("tagStatus")?));
        if let Some(prefixes) = selection.get("tagPrefixList") {
            let prefixes = prefixes
                .as_array()?
                .iter()
                .map(|p| p.as_str().map(|p| Value::String(p.to_string())))
                .collect::<Option<Vec<_>>>()?;
            block.insert("tag-prefixes".into(), Value::List(prefixes));
        }
        block.insert("count-type".into(), Value::String(text_of("countType")?));
        if let Some(unit) = text_of("countUnit") {
            block.insert("unit".into(), Value::String(unit));
        }
        block.insert(
            "count".into(),
            Value::Int(selection.get("countNumber")?.as_i64()?),
        );
        out.push(Value::Map(block));
    }
    Some(out)
}

/// One form for comparing: rules by priority, tag prefixes sorted, an empty description or
/// an empty prefix list the same as none.
pub fn normalize(lifecycle: &mut Value) {
    let Value::Map(block) = lifecycle else { return };
    let Some(Value::List(rules)) = block.get_mut("rule") else {
        return;
    };
    for rule in rules.iter_mut() {
        let Value::Map(rule) = rule else { continue };
        if rule.get("description").and_then(Value::as_str) == Some("") {
            rule.remove("description");
        }
        if let Some(Value::List(prefixes)) = rule.get_mut("tag-prefixes") {
            prefixes.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            prefixes.dedup();
            if prefixes.is_empty() {
                rule.remove("tag-prefixes");
            }
        }
    }
    rules.sort_by_key(|r| {
        r.as_map()
            .and_then(|m| m.get("priority"))
            .and_then(Value::as_int)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn block() -> BTreeMap<String, Value> {
        let tagged = Value::Map(BTreeMap::from([
            ("priority".to_string(), Value::Int(2)),
            ("tag-status".to_string(), s("tagged")),
            (
                "tag-prefixes".to_string(),
                Value::List(vec![s("v"), s("release-")]),
            ),
            ("count-type".to_string(), s("imageCountMoreThan")),
            ("count".to_string(), Value::Int(30)),
        ]));
        let untagged = Value::Map(BTreeMap::from([
            ("priority".to_string(), Value::Int(1)),
            ("description".to_string(), s("drop untagged")),
            ("tag-status".to_string(), s("untagged")),
            ("count-type".to_string(), s("sinceImagePushed")),
            ("unit".to_string(), s("days")),
            ("count".to_string(), Value::Int(14)),
        ]));
        BTreeMap::from([("rule".to_string(), Value::List(vec![tagged, untagged]))])
    }

    #[test]
    fn a_block_renders_to_the_json_ecr_takes() {
        let json: Json = serde_json::from_str(&render(&block())).expect("JSON");
        assert_eq!(
            json,
            json!({"rules": [
                {"rulePriority": 1, "description": "drop untagged",
                 "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                               "countUnit": "days", "countNumber": 14},
                 "action": {"type": "expire"}},
                {"rulePriority": 2,
                 "selection": {"tagStatus": "tagged", "tagPrefixList": ["v", "release-"],
                               "countType": "imageCountMoreThan", "countNumber": 30},
                 "action": {"type": "expire"}}
            ]})
        );
    }

    #[test]
    fn what_ecr_returns_reads_back_as_the_same_block_whatever_its_layout() {
        // ECR reformats: other key order, whitespace, prefixes in another order.
        let returned = r#"{ "rules" : [ { "action":{"type":"expire"}, "selection": {
            "countNumber": 30, "countType": "imageCountMoreThan",
            "tagPrefixList": ["release-", "v"], "tagStatus": "tagged" }, "rulePriority": 2 },
            {"rulePriority":1,"description":"drop untagged","selection":{"tagStatus":"untagged",
            "countType":"sinceImagePushed","countUnit":"days","countNumber":14},
            "action":{"type":"expire"}} ] }"#;
        let mut live = parse(returned);
        let mut desired = Value::Map(block());
        normalize(&mut live);
        normalize(&mut desired);
        assert_eq!(live, desired);
        // And the rendering reads back as itself.
        let mut again = parse(&render(&block()));
        normalize(&mut again);
        assert_eq!(again, desired);
    }

    #[test]
    fn a_policy_infra_cannot_express_is_kept_as_text_and_differs() {
        let other = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged",
            "tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":1},
            "action":{"type":"expire"}}]}"#;
        assert_eq!(parse(other), Value::String(other.into()));
        assert_eq!(parse("not json"), s("not json"));
    }
}
