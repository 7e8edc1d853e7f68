//! The schema of the `stack` header node.

use crate::model::schema::{Attr, BlockSchema, Check};
use crate::model::schemas::common::{REGION, TAGS};
use crate::model::value::Value;

pub static STACK_HEADER: BlockSchema = BlockSchema::new(
    "stack",
    &[
        Attr::string("name").required().checks(&[
            Check::Length(1, 64),
            Check::Custom(stack_name, "letters, digits, `-`, `_`"),
        ]),
        Attr::string("region").required().checks(&[REGION]),
        Attr::bool("production").doc(
            "The stack runs production: a mutable image tag (`latest`, or a tag that moved since \
             the last deploy) stops its plans instead of warning.",
        ),
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
