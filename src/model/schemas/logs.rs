//! CloudWatch Logs log groups.

use super::common::TAGS;
use crate::model::schema::{Attr, BlockSchema, Check, Computed, Default, ResourceSchema, Type};
use crate::model::value::Value;

pub static LOG_GROUP: ResourceSchema = ResourceSchema {
    title: "log group",
    doc: "A CloudWatch Logs log group. Its name is what a container's `log group=` takes.",
    rules_doc: "",
    body: &LOG_GROUP_BODY,
    computed: &[Computed::new("arn", Type::String, "The log group's ARN.")],
    default_attribute: "name",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 100,
};

/// The retention values CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

static LOG_GROUP_BODY: BlockSchema = BlockSchema::new(
    "log-group",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[
                Check::Length(1, 512),
                Check::Custom(log_group_name, "letters, digits, `._-/#`"),
            ])
            .doc("The log group name (natural key)."),
        Attr::int("retention-days")
            .checks(&[Check::OneOfInt(RETENTION_DAYS)])
            .doc("Days to keep events; never expire when omitted."),
        Attr::string("kms-key")
            .checks(&[
                Check::Length(1, 256),
                Check::Custom(kms_key_arn, "a KMS key ARN"),
            ])
            .doc("The ARN of the KMS key that encrypts the events (CloudWatch Logs takes no key ids or aliases)."),
        Attr::string("class")
            .default(Default::Str("STANDARD"))
            .force_new()
            .checks(&[Check::OneOf(&[
                "STANDARD",
                "INFREQUENT_ACCESS",
                "DELIVERY",
                "ESSENTIALS",
            ])])
            .doc("The log class; INFREQUENT_ACCESS costs less and offers fewer features."),
        TAGS,
    ],
);

fn kms_key_arn(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(k) if !(k.starts_with("arn:") && k.contains(":kms:")) => Err((
            format!("`{k}` is not a KMS key ARN"),
            "CloudWatch Logs takes the key's ARN: arn:aws:kms:<region>:<account>:key/<key-id>"
                .into(),
        )),
        _ => Ok(()),
    }
}

fn log_group_name(value: &Value) -> Result<(), (String, String)> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/#".contains(*c)))
    {
        Some(bad) => Err((
            format!("log group name `{name}` contains `{bad}`"),
            "log group names use letters, digits and . _ - / #".into(),
        )),
        None => Ok(()),
    }
}
