//! CloudWatch Logs log groups and their metric filters.

use std::collections::BTreeMap;

use super::common::TAGS;
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
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

pub static METRIC_FILTER: ResourceSchema = ResourceSchema {
    title: "log metric filter",
    doc: "A CloudWatch Logs metric filter: log events of a log group that match `pattern` count into a CloudWatch metric (`metric-namespace`, `metric-name`), which an alarm can watch by referring to them (`metric (ref)\"log-metric-filter.errors.metric-name\"`). Metric filters cannot be tagged, so ownership follows the log group: a filter belongs to the stack when its log group does (carries this stack's ownership tags) and its name is the one declared; that is why `log-group` must refer to a log group of the stack. A filter of that name in a log group the stack does not own is an error unless adopted, and infra never writes or deletes a filter there. A filter removed from the stack is not deleted (infra cannot tell a filter it made from one made by hand in the same log group): it goes with its log group, or by hand. PutMetricFilter overwrites a filter of the same name, so infra reads first and never creates over one. A log group holds at most 100 metric filters; a create into a full one is refused before any write.",
    rules_doc: "`log-group` is a reference to a log group of the stack; `default-value` and `dimensions` cannot both be set.",
    body: &METRIC_FILTER_BODY,
    computed: &[],
    default_attribute: "name",
    taggable: false,
    natural_key: &["log-group", "name"],
    delete_phase: 15,
};

/// The most metric filters CloudWatch Logs keeps in one log group.
pub const METRIC_FILTERS_PER_LOG_GROUP: usize = 100;

static METRIC_FILTER_BODY: BlockSchema = BlockSchema::new(
    "log-metric-filter",
    &[
        Attr::string("log-group")
            .required()
            .force_new()
            .checks(&[Check::Length(1, 512)])
            .refs(&[RefTo::new(Kind::LogGroup, "name")])
            .doc("The log group whose events are matched: a reference to a log group of the stack (natural key, with `name`)."),
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[
                Check::Length(1, 512),
                Check::Custom(filter_name, "no `:` or `*`"),
            ])
            .doc("The filter name, unique within its log group (natural key, with `log-group`)."),
        Attr::string("pattern")
            .required()
            .checks(&[Check::Length(0, 1024)])
            .doc("The filter pattern: terms (`?ERROR ?Exception`), a JSON (`{ $.level = \"error\" }`) or space-delimited pattern; an empty pattern matches every event."),
        Attr::string("metric-name")
            .required()
            .checks(&[Check::Length(1, 255), METRIC_CHARS])
            .doc("The metric the matches count into."),
        Attr::string("metric-namespace")
            .required()
            .checks(&[Check::Length(1, 255), METRIC_CHARS])
            .doc("The metric's namespace, e.g. \"App\"."),
        Attr::string("metric-value")
            .default(Default::Str("1"))
            .checks(&[Check::Length(1, 100)])
            .doc("What a match adds to the metric: a number, or a field of the event (`$.latency`)."),
        Attr::number("default-value")
            .doc("What the metric records in a period without matches; nothing when omitted."),
        Attr::string("unit")
            .checks(&[Check::OneOf(super::cloudwatch::UNITS)])
            .doc("The metric's unit."),
        Attr::string_map("dimensions")
            .checks(&[Check::Count(0, 3)])
            .doc("Up to three dimensions, name → a field of the event (`$.service`)."),
    ],
)
.rules(&[
    Rule::AtMostOneOf(&["default-value", "dimensions"]),
    Rule::Custom(log_group_of_the_stack),
]);

fn filter_name(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(name) if name.contains([':', '*']) => Err((
            format!("metric filter name `{name}` contains `:` or `*`"),
            "metric filter names may hold any character but `:` and `*`".into(),
        )),
        _ => Ok(()),
    }
}

/// Metric names and namespaces hold no `:`, `*` or `$` (PutMetricFilter).
const METRIC_CHARS: Check = Check::Custom(metric_chars, "no `:`, `*` or `$`");

fn metric_chars(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(s) if s.contains([':', '*', '$']) => Err((
            format!("`{s}` contains `:`, `*` or `$`"),
            "metric names and namespaces of a metric filter may not hold `:`, `*` or `$`".into(),
        )),
        _ => Ok(()),
    }
}

/// A metric filter cannot be tagged: it is the stack's through its log group, which must
/// therefore be one of the stack's.
fn log_group_of_the_stack(body: &BTreeMap<String, Value>) -> Option<Violation> {
    match body.get("log-group") {
        Some(Value::String(name)) => Some(Violation {
            attribute: "log-group",
            message: format!("`{name}` is written as a name, not a reference to a log group of the stack"),
            help: "metric filters cannot be tagged, so a filter is the stack's through its log group: declare the log group in the stack and write `log-group (ref)\"log-group.<name>.name\"`".into(),
        }),
        _ => None,
    }
}
