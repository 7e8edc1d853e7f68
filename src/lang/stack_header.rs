//! The schema of the `stack` header node.

use crate::model::schema::{Attr, BlockSchema, Check};
use crate::model::schemas::common::TAGS;
use crate::model::value::Value;

pub static STACK_HEADER: BlockSchema = BlockSchema::new(
    "stack",
    &[
        Attr::string("name").required().checks(&[
            Check::Length(1, 64),
            Check::Custom(stack_name, "letters, digits, `-`, `_`"),
        ]),
        Attr::string("region")
            .required()
            .checks(&[Check::Custom(region, "an AWS region such as `us-east-1`")]),
        TAGS,
    ],
)
.label("name");

fn stack_name(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(s)
            if !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Err((
                format!("`{s}` is not a valid stack name"),
                "stack names use letters, digits, hyphens and underscores (they become tag values)"
                    .into(),
            ))
        }
        _ => Ok(()),
    }
}

/// AWS region names look like `us-east-2`, `eu-central-1`, `us-gov-west-1`.
fn region(value: &Value) -> Result<(), (String, String)> {
    let Some(s) = value.as_str() else {
        return Ok(());
    };
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    if ok {
        Ok(())
    } else {
        Err((
            format!("`{s}` is not an AWS region"),
            "write a region such as \"us-east-1\" or \"eu-central-1\"".into(),
        ))
    }
}
