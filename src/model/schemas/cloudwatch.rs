//! CloudWatch metric alarms, on one metric or on metric math.

use std::collections::BTreeMap;

use super::common::{ACTIONS, TAGS};
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

pub static ALARM: ResourceSchema = ResourceSchema {
    title: "CloudWatch alarm",
    doc: "A CloudWatch metric alarm, on one metric (`namespace`, `metric`, `dimensions`, `period` and a `statistic` or `percentile`) or on metric math (`query` blocks).",
    rules_doc: "exactly one of `metric` and `query`; a metric alarm needs `namespace`, `period` and one of `statistic` and `percentile`; `datapoints-to-alarm` ≤ `evaluation-periods`; `evaluation-periods` × `period` may look back at most seven days (one day for periods under an hour); exactly one query has `return-data=#true`; an alarm with `query` blocks sets none of `namespace`, `metric`, `dimensions`, `statistic`, `percentile`, `period` and `unit`. A query has exactly one of `expression` and `metric`, a metric query needs `namespace`, `stat` and `period`, query ids are unique and expressions name only queries of the alarm.",
    body: &ALARM_BODY,
    computed: &[Computed::new("arn", Type::String, "The alarm's ARN.")],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 20,
};

/// An action may name an `sns-topic` of the stack: `(ref)"sns-topic.alerts"`.
const TOPIC_ARN: &[RefTo] = &[RefTo::new(Kind::SnsTopic, "arn")];
const ACTIONS_ARNS: &[Check] = &[ACTIONS[0], Check::Custom(action_arn, "ARNs")];

/// CloudWatch's StandardUnit.
pub(super) const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Alarm actions are ARNs (SNS topics, Auto Scaling policies, EC2 and Lambda actions, ...).
fn action_arn(value: &Value) -> Result<(), (String, String)> {
    for action in value.as_list().unwrap_or_default() {
        if let Some(a) = action.as_str()
            && (a.split(':').count() < 5 || !a.starts_with("arn:"))
        {
            return Err((
                format!("`{a}` is not an ARN"),
                "alarm actions are ARNs, such as arn:aws:sns:<region>:<account>:<topic>".into(),
            ));
        }
    }
    Ok(())
}

const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

static ALARM_BODY: BlockSchema = BlockSchema::new(
    "alarm",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[
                Check::Length(1, 255),
                Check::Custom(no_control_chars, "no control characters"),
            ])
            .doc("The alarm name (natural key)."),
        Attr::string("description")
            .checks(&[Check::Length(0, 1024)])
            .doc("Shown in the console and in notifications."),
        Attr::string("namespace")
            .checks(&[Check::Length(1, 255)])
            .doc("The metric's namespace, e.g. \"AWS/ECS\"."),
        Attr::string("metric")
            .checks(&[Check::Length(1, 255)])
            .doc("The metric name."),
        Attr::string_map("dimensions")
            .checks(&[Check::Count(0, 30)])
            .doc("The metric's dimensions, name → value."),
        Attr::string("statistic")
            .checks(&[Check::OneOf(STATISTICS)])
            .doc("How the datapoints of a period are combined."),
        Attr::string("percentile")
            .checks(&[PERCENTILE])
            .doc("An extended statistic such as \"p95\", \"p99.9\", \"tm99\" or \"TM(10%:90%)\"."),
        Attr::int("period")
            .checks(&[PERIOD])
            .doc("Seconds per datapoint."),
        Attr::string("unit")
            .checks(&[Check::OneOf(UNITS)])
            .doc("The metric's unit, for metrics published with several."),
        Attr::blocks("query", &METRIC_QUERY)
            .checks(&[Check::Count(1, 10)])
            .doc("Metric math: metrics and expressions, one of which the alarm watches."),
        Attr::int("evaluation-periods")
            .required()
            .checks(&[Check::Range(1, 100_000)])
            .doc("How many of the latest periods are evaluated."),
        Attr::int("datapoints-to-alarm")
            .checks(&[Check::Range(1, 100_000)])
            .doc(
                "Breaching datapoints among them that set the alarm off; all of them when omitted.",
            ),
        Attr::number("threshold")
            .required()
            .doc("The value the statistic is compared with."),
        Attr::string("comparison")
            .required()
            .checks(&[Check::OneOf(&[
                "GreaterThanThreshold",
                "GreaterThanOrEqualToThreshold",
                "LessThanThreshold",
                "LessThanOrEqualToThreshold",
            ])])
            .doc("How the statistic is compared with the threshold."),
        Attr::string("treat-missing-data")
            .default(Default::Str("missing"))
            .checks(&[Check::OneOf(&[
                "breaching",
                "notBreaching",
                "ignore",
                "missing",
            ])])
            .doc("How a period without data counts."),
        Attr::strings("actions")
            .checks(ACTIONS_ARNS)
            .refs(TOPIC_ARN)
            .doc("ARNs notified when the alarm goes off (SNS topics, auto scaling policies)."),
        Attr::strings("ok-actions")
            .checks(ACTIONS_ARNS)
            .refs(TOPIC_ARN)
            .doc("ARNs notified when the alarm returns to OK."),
        Attr::strings("insufficient-data-actions")
            .checks(ACTIONS_ARNS)
            .refs(TOPIC_ARN)
            .doc("ARNs notified when the alarm has too little data."),
        Attr::bool("actions-enabled")
            .default(Default::Bool(true))
            .doc("Whether state changes notify the actions."),
        TAGS,
    ],
)
.rules(&[
    Rule::ExactlyOneOf(&["metric", "query"]),
    Rule::Requires("metric", &["namespace", "period"]),
    Rule::AtMostOneOf(&["statistic", "percentile"]),
    Rule::Custom(query_alone),
    Rule::Custom(alarm_rules),
]);

/// An alarm on metric math describes its metrics in its queries only.
fn query_alone(body: &BTreeMap<String, Value>) -> Option<Violation> {
    // With `metric` too, the rule of exactly one of `metric` and `query` says it already.
    if !body.contains_key("query") || body.contains_key("metric") {
        return None;
    }
    let attribute = [
        "namespace",
        "metric",
        "dimensions",
        "statistic",
        "percentile",
        "period",
        "unit",
    ]
    .into_iter()
    .find(|k| body.contains_key(*k))?;
    Some(Violation {
        attribute,
        message: format!("an alarm with `query` blocks cannot also set `{attribute}`"),
        help: format!(
            "move `{attribute}` into the query it belongs to (`stat` for statistics), or drop \
             the queries"
        ),
    })
}

fn no_control_chars(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(s) if s.chars().any(char::is_control) => Err((
            "alarm name contains a control character".into(),
            "alarm names may not contain ASCII control characters".into(),
        )),
        _ => Ok(()),
    }
}

/// Percentiles and the other extended statistics.
const PERCENTILE: Check = Check::Custom(
    percentile,
    "an extended statistic: `p0`–`p100` (`p99.9`), `tm`/`tc`/`ts`/`wm` and a percentage \
     (`tm99`), `TM(10%:90%)` (and `TC`, `TS`, `WM`, either bound optional), `PR(n:m)`, `IQM`",
);

/// Extended statistics (PutMetricAlarm: ExtendedStatistic): `p99`, `p99.9`, `tm90`, `tc90`,
/// `ts90`, `wm90`, `IQM`, `PR(n:m)` and `TM|TC|TS|WM(a%:b%)` with either bound optional.
fn percentile(value: &Value) -> Result<(), (String, String)> {
    let Some(s) = value.as_str() else {
        return Ok(());
    };
    if extended_statistic(s) {
        Ok(())
    } else {
        Err((
            format!("`{s}` is not a percentile or extended statistic"),
            "write \"p\" and a number from 0 to 100 (\"p95\", \"p99.9\"), a trimmed or \
             winsorized statistic (\"tm90\", \"wm99\", \"TM(10%:90%)\"), \"IQM\" or \"PR(n:m)\""
                .into(),
        ))
    }
}

fn extended_statistic(s: &str) -> bool {
    let percent = |n: &str| n.parse::<f64>().is_ok_and(|n| (0.0..=100.0).contains(&n));
    let short = ["p", "tm", "tc", "ts", "wm"]
        .iter()
        .any(|prefix| s.strip_prefix(prefix).is_some_and(percent));
    if short || s == "IQM" {
        return true;
    }
    let Some((name, inner)) = s.strip_suffix(')').and_then(|s| s.split_once('(')) else {
        return false;
    };
    let Some((low, high)) = inner.split_once(':') else {
        return false;
    };
    match name {
        "PR" => {
            let bound = |b: &str| b.is_empty() || b.parse::<f64>().is_ok();
            bound(low) && bound(high) && !(low.is_empty() && high.is_empty())
        }
        "TM" | "TC" | "TS" | "WM" => {
            let bound = |b: &str| {
                if b.is_empty() {
                    Some(None)
                } else {
                    b.strip_suffix('%')
                        .filter(|n| percent(n))
                        .and_then(|n| n.parse::<f64>().ok())
                        .map(Some)
                }
            };
            match (bound(low), bound(high)) {
                (Some(Some(l)), Some(Some(h))) => l < h,
                (Some(l), Some(h)) => l.is_some() || h.is_some(),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Alarm periods are 10, 20, 30 (high resolution) or a multiple of 60 seconds.
const PERIOD: Check = Check::Custom(period, "10, 20, 30 or a multiple of 60");

fn period(value: &Value) -> Result<(), (String, String)> {
    match value.as_int() {
        Some(p) if !(p == 10 || p == 20 || p == 30 || (p >= 60 && p % 60 == 0)) => Err((
            format!("{p} seconds is not a valid alarm period"),
            "use 10, 20, 30 or a multiple of 60 seconds".into(),
        )),
        _ => Ok(()),
    }
}

fn alarm_rules(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let int = |k: &str| body.get(k).and_then(Value::as_int);
    if body.contains_key("metric")
        && !body.contains_key("statistic")
        && !body.contains_key("percentile")
    {
        return Some(Violation {
            attribute: "metric",
            message: "a metric alarm needs a statistic or a percentile".into(),
            help: "add `statistic \"Average\"` (or Sum, Minimum, Maximum, SampleCount) or \
                   `percentile \"p95\"`"
                .into(),
        });
    }
    if let (Some(points), Some(periods)) = (int("datapoints-to-alarm"), int("evaluation-periods"))
        && points > periods
    {
        return Some(Violation {
            attribute: "datapoints-to-alarm",
            message: format!(
                "{points} datapoints to alarm is more than the {periods} evaluation periods"
            ),
            help: "datapoints-to-alarm must be at most evaluation-periods".into(),
        });
    }
    let period = int("period").or_else(|| {
        body.get("query")?
            .as_list()?
            .iter()
            .filter_map(|q| q.as_map()?.get("period")?.as_int())
            .max()
    });
    if let (Some(period), Some(periods)) = (period, int("evaluation-periods")) {
        // Seven days in all, and one day for periods under an hour (PutMetricAlarm: Period).
        let limit = if period < 3_600 { 86_400 } else { 604_800 };
        if period * periods > limit {
            return Some(Violation {
                attribute: "evaluation-periods",
                message: format!(
                    "{periods} periods of {period}s look back {}s, more than CloudWatch allows",
                    period * periods
                ),
                help: format!(
                    "evaluation-periods × period may be at most {limit}s for this period"
                ),
            });
        }
    }
    if let Some(queries) = body.get("query").and_then(Value::as_list) {
        let returning = queries
            .iter()
            .filter(|q| q.as_map().and_then(|m| m.get("return-data")) == Some(&Value::Bool(true)))
            .count();
        if returning != 1 {
            return Some(Violation {
                attribute: "query",
                message: format!("{returning} queries return data; an alarm needs exactly one"),
                help: "mark the expression the alarm watches with `return-data=#true`".into(),
            });
        }
    }
    None
}

static METRIC_QUERY: BlockSchema = BlockSchema::new(
    "query",
    &[
        Attr::string("id")
            .required()
            .checks(&[
                Check::Length(1, 255),
                Check::Custom(
                    query_id,
                    "starts with a lowercase letter; letters, digits, `_`",
                ),
            ])
            .doc("The query's id, which expressions refer to."),
        Attr::string("expression")
            .checks(&[Check::Length(1, 2048)])
            .doc("A metric math expression over other queries' ids."),
        Attr::string("label").doc("A name shown in the console and in notifications."),
        Attr::bool("return-data")
            .default(Default::Bool(false))
            .doc("Marks the query the alarm watches; exactly one query has it."),
        Attr::string("namespace").doc("The metric's namespace."),
        Attr::string("metric").doc("The metric name."),
        Attr::string_map("dimensions")
            .checks(&[Check::Count(0, 30)])
            .doc("The metric's dimensions, name → value."),
        Attr::string("stat").doc("A statistic or a percentile such as p95."),
        Attr::int("period")
            .checks(&[PERIOD])
            .doc("Seconds per datapoint."),
    ],
)
.label("id")
.rules(&[
    Rule::ExactlyOneOf(&["expression", "metric"]),
    Rule::Requires("metric", &["namespace", "stat", "period"]),
]);

fn query_id(value: &Value) -> Result<(), (String, String)> {
    let Some(id) = value.as_str() else {
        return Ok(());
    };
    let ok = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err((
            format!("`{id}` is not a valid metric query id"),
            "ids start with a lowercase letter and hold letters, digits and underscores".into(),
        ))
    }
}
