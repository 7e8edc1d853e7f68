//! Application Auto Scaling: the scaling of one ECS service's desired count.

use std::collections::BTreeMap;

use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

pub static SCALING: ResourceSchema = ResourceSchema {
    title: "scaling",
    doc: "Application Auto Scaling of one ECS service: its scalable target (`min` to `max` \
          tasks), target-tracking policies on CPU, memory or requests per target, and \
          scheduled actions. Once a scaling names a service, the service's `desired-count` is \
          the count it is created with: autoscaling owns it afterwards, so plans never show it \
          as a difference and apply never resets it (as `desired-count-owner \"autoscaling\"` \
          does). Ownership: a scalable target is this stack's when the ECS service it scales carries \
          this stack's ownership tags and a scaling of the stack names that service; a target \
          on another stack's service, or on a service no stack owns, is never touched. infra \
          also tags the target `infra:stack` and `infra:address` where AWS takes tags \
          (RegisterScalableTarget), which is how a target whose scaling left the stack is \
          found and deregistered; where the tags cannot be read (emulators), such a target \
          stays until a scaling names its service again. A target \
          registered by hand on a service of the stack is the stack's as soon as a scaling \
          names that service (AWS keeps one per service). The service is named by its ARN in the long format \
          (`service/<cluster>/<name>`, AWS's default since 2021). Policies and scheduled \
          actions are reconciled one by one: new or changed ones are put, removed ones \
          deleted, and any other policy on the target (step scaling, made by hand) is \
          shown and removed. Scalings take no `tags` of their own.",
    rules_doc: "`min` ≤ `max`; a scheduled action sets `min` or `max` (or both), `min` ≤ `max`; \
                `metric \"requests\"` needs `target-group`, which no other metric takes; a CPU \
                or memory target is a percentage (at most 100); policy and scheduled action \
                names are unique within their scaling; `service` is a reference to a service \
                of the stack, scaled by one scaling only, whose `desired-count` lies within \
                `min`..`max`.",
    body: &SCALING_BODY,
    computed: &[Computed::new(
        "resource-id",
        Type::String,
        "`service/<cluster>/<service>`, Application Auto Scaling's name of the service.",
    )],
    default_attribute: "resource-id",
    taggable: false,
    natural_key: &["service"],
    delete_phase: 45,
};

/// The most tasks one ECS service may run (the ECS quota "tasks per service", which cannot be
/// raised); `desired-count` has the same bound.
pub const MAX_TASKS: i64 = 5000;

/// Target-tracking policies on one scalable target, at most (Application Auto Scaling quota).
pub const MAX_POLICIES: usize = 50;

static SCALING_BODY: BlockSchema = BlockSchema::new(
    "scaling",
    &[
        Attr::string("service")
            .required()
            .force_new()
            .refs(&[RefTo::new(Kind::Service, "arn")])
            .doc("The ECS service scaled (a reference to a service of the stack)."),
        Attr::int("min")
            .required()
            .checks(&[Check::Range(0, MAX_TASKS)])
            .doc("The fewest tasks autoscaling keeps running (0–5,000)."),
        Attr::int("max")
            .required()
            .checks(&[Check::Range(0, MAX_TASKS)])
            .doc("The most tasks autoscaling starts (0–5,000, the ECS tasks-per-service quota)."),
        Attr::blocks("target-tracking", &TARGET_TRACKING)
            .checks(&[Check::Count(0, MAX_POLICIES)])
            .doc("Target-tracking policies, one block per policy (at most 50), labelled by the policy name."),
        Attr::blocks("scheduled", &SCHEDULED)
            .doc("Scheduled actions that change `min` and `max` at given times, labelled by the action name."),
    ],
)
.rules(&[Rule::Custom(min_within_max), Rule::Custom(unique_names)]);

/// Policy and scheduled action names: 1–256 characters, no `:`, `/` or `|`, no control
/// characters, no leading or trailing space (AWS's pattern for scheduled action names, applied
/// to policy names too: both end up in ARNs).
const ACTION_NAME: Check = Check::Custom(
    action_name,
    "1–256 characters; no `:`, `/`, `|` or control characters; no leading or trailing space",
);

static TARGET_TRACKING: BlockSchema = BlockSchema::new(
    "target-tracking",
    &[
        Attr::string("name")
            .required()
            .checks(&[ACTION_NAME])
            .doc("The policy name, unique within the scaling."),
        Attr::string("metric")
            .required()
            .checks(&[Check::OneOf(&["cpu", "memory", "requests"])])
            .doc(
                "What is tracked: `cpu` (ECSServiceAverageCPUUtilization), `memory` \
                 (ECSServiceAverageMemoryUtilization) or `requests` (ALBRequestCountPerTarget, \
                 which needs `target-group`).",
            ),
        Attr::number("target")
            .required()
            .checks(&[Check::Custom(positive, "greater than 0")])
            .doc("The value kept: a percentage for `cpu` and `memory` (above 0, at most 100), requests per target per minute for `requests`."),
        Attr::string("target-group")
            .refs(&[
                RefTo::new(Kind::TargetGroup, "arn"),
                RefTo::new(Kind::TargetGroup, "arn-suffix"),
            ])
            .doc("For `requests`: the target group whose requests per target are counted; it must be attached to a load balancer."),
        Attr::int("scale-in-cooldown")
            .default(Default::Int(300))
            .checks(&[Check::Range(0, i32::MAX as i64)])
            .doc("Seconds after a scale-in before another scale-in."),
        Attr::int("scale-out-cooldown")
            .default(Default::Int(300))
            .checks(&[Check::Range(0, i32::MAX as i64)])
            .doc("Seconds after a scale-out before another scale-out."),
        Attr::bool("disable-scale-in")
            .default(Default::Bool(false))
            .doc("When `#true`, the policy only ever adds tasks."),
    ],
)
.label("name")
.rules(&[Rule::Custom(metric_target)]);

static SCHEDULED: BlockSchema = BlockSchema::new(
    "scheduled",
    &[
        Attr::string("name")
            .required()
            .checks(&[ACTION_NAME])
            .doc("The scheduled action name, unique within the scaling."),
        Attr::string("schedule")
            .required()
            .checks(&[
                Check::Length(1, 1600),
                Check::Custom(
                    schedule,
                    "`at(yyyy-mm-ddThh:mm:ss)`, `rate(N unit)` or `cron(` six fields `)`",
                ),
            ])
            .doc("When it runs: `at(2026-12-24T18:00:00)`, `rate(6 hours)` or `cron(0 22 * * ? *)` (minutes, hours, day of month, month, day of week, year)."),
        Attr::string("timezone")
            .default(Default::Str("UTC"))
            .checks(&[Check::Length(1, 1600)])
            .doc("The IANA time zone the schedule is read in (`Europe/Paris`)."),
        Attr::int("min")
            .checks(&[Check::Range(0, MAX_TASKS)])
            .doc("The scaling's `min` from then on."),
        Attr::int("max")
            .checks(&[Check::Range(0, MAX_TASKS)])
            .doc("The scaling's `max` from then on."),
    ],
)
.label("name")
.rules(&[
    Rule::AtLeastOneOf(&["min", "max"]),
    Rule::Custom(min_within_max),
]);

type CheckResult = Result<(), (String, String)>;

fn action_name(value: &Value) -> CheckResult {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let length = name.chars().count();
    if !(1..=256).contains(&length) {
        return Err((
            format!("the name `{name}` is {length} characters long"),
            "names of policies and scheduled actions are 1 to 256 characters".into(),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| matches!(c, ':' | '/' | '|') || c.is_control())
    {
        return Err((
            format!("the name `{name}` contains {bad:?}"),
            "Application Auto Scaling refuses `:`, `/`, `|` and control characters in names".into(),
        ));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err((
            format!("the name `{name}` starts or ends with a space"),
            "remove the space".into(),
        ));
    }
    Ok(())
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn positive(value: &Value) -> CheckResult {
    match number(value) {
        Some(v) if v <= 0.0 => Err((
            format!("a target of {v} is not above 0"),
            "the tracked value must be greater than 0".into(),
        )),
        _ => Ok(()),
    }
}

/// Whether a schedule is written the way Application Auto Scaling reads it.
fn schedule(value: &Value) -> CheckResult {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    match schedule_problem(text) {
        None => Ok(()),
        Some(problem) => Err((
            format!("`{text}` is not a schedule: {problem}"),
            "write `at(2026-12-24T18:00:00)`, `rate(6 hours)` or `cron(0 22 * * ? *)`".into(),
        )),
    }
}

fn schedule_problem(text: &str) -> Option<String> {
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(at) = inner("at(") {
        let ok = at.len() == 19
            && at.char_indices().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == 'T',
                13 | 16 => c == ':',
                _ => c.is_ascii_digit(),
            });
        return (!ok).then(|| "`at(...)` takes a time as yyyy-mm-ddThh:mm:ss".to_string());
    }
    if let Some(rate) = inner("rate(") {
        let mut words = rate.split_whitespace();
        let (Some(n), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Some("`rate(...)` takes a number and a unit".into());
        };
        let Ok(n) = n.parse::<u64>() else {
            return Some(format!("`{n}` is not a whole number"));
        };
        let units: &[&str] = if n == 1 {
            &["minute", "hour", "day"]
        } else {
            &["minutes", "hours", "days"]
        };
        if n == 0 || !units.contains(&unit) {
            return Some(format!(
                "a rate is a positive number and one of {}",
                units.join(", ")
            ));
        }
        return None;
    }
    if let Some(cron) = inner("cron(") {
        let fields = cron.split_whitespace().count();
        return (fields != 6).then(|| {
            format!(
                "`cron(...)` takes six fields (minutes, hours, day of month, month, day of \
                 week, year), not {fields}"
            )
        });
    }
    Some("it starts with neither `at(`, `rate(` nor `cron(`, or lacks its closing `)`".into())
}

/// `min` ≤ `max`, for the scalable target and for a scheduled action that sets both.
fn min_within_max(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let min = body.get("min").and_then(Value::as_int)?;
    let max = body.get("max").and_then(Value::as_int)?;
    (min > max).then(|| Violation {
        attribute: "min",
        message: format!("`min` {min} is above `max` {max}"),
        help: "`min` is at most `max`".into(),
    })
}

/// A CPU or memory target is a percentage; only request counting names a target group, and
/// it needs one.
fn metric_target(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let metric = body.get("metric").and_then(Value::as_str)?;
    let has_group = body.contains_key("target-group");
    match metric {
        "requests" if !has_group => Some(Violation {
            attribute: "metric",
            message: "counting requests per target needs the target group they reach".into(),
            help: "add `target-group (ref)\"target-group.<name>\"`".into(),
        }),
        "cpu" | "memory" if has_group => Some(Violation {
            attribute: "target-group",
            message: format!("the `{metric}` metric takes no target group"),
            help: "remove `target-group`, or track `metric \"requests\"`".into(),
        }),
        "cpu" | "memory" => {
            let target = body.get("target").and_then(number)?;
            (target > 100.0).then(|| Violation {
                attribute: "target",
                message: format!("a {metric} target of {target}% is above 100%"),
                help: "the average utilisation of the service is a percentage: 1 to 100".into(),
            })
        }
        _ => None,
    }
}

/// Names of policies, and of scheduled actions, are each unique within a scaling.
fn unique_names(body: &BTreeMap<String, Value>) -> Option<Violation> {
    for attribute in ["target-tracking", "scheduled"] {
        let mut seen = std::collections::BTreeSet::new();
        let items = body
            .get(attribute)
            .and_then(Value::as_list)
            .unwrap_or_default();
        for name in items
            .iter()
            .filter_map(|v| v.as_map()?.get("name")?.as_str())
        {
            if !seen.insert(name) {
                return Some(Violation {
                    attribute: if attribute == "scheduled" {
                        "scheduled"
                    } else {
                        "target-tracking"
                    },
                    message: format!("two `{attribute}` blocks are named `{name}`"),
                    help: "give each its own name".into(),
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn schedules_are_at_rate_or_six_field_cron() {
        for good in [
            "cron(0 22 * * ? *)",
            "at(2026-12-24T18:00:00)",
            "rate(1 hour)",
            "rate(6 hours)",
        ] {
            assert_eq!(schedule_problem(good), None, "{good}");
        }
        for bad in [
            "cron(0 22 * * ?)",
            "cron(0 22 * * ? * *)",
            "at(2026-12-24 18:00)",
            "rate(0 minutes)",
            "rate(1 hours)",
            "rate(5 weeks)",
            "0 22 * * ? *",
            "cron(0 22 * * ? *",
        ] {
            assert!(schedule_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn names_refuse_separators_and_outer_spaces() {
        let s = |t: &str| Value::String(t.into());
        assert!(action_name(&s("cpu")).is_ok());
        assert!(action_name(&s("night shift")).is_ok());
        for bad in ["a:b", "a/b", "a|b", " a", "a ", ""] {
            assert!(action_name(&s(bad)).is_err(), "{bad:?}");
        }
        assert!(action_name(&s(&"x".repeat(257))).is_err());
        assert!(action_name(&s(&"x".repeat(256))).is_ok());
    }

    #[test]
    fn min_is_at_most_max() {
        let v = min_within_max(&map(&[("min", Value::Int(3)), ("max", Value::Int(2))]));
        assert_eq!(v.map(|v| v.attribute), Some("min"));
        assert!(min_within_max(&map(&[("min", Value::Int(2)), ("max", Value::Int(2))])).is_none());
        // A scheduled action may set one bound only.
        assert!(min_within_max(&map(&[("max", Value::Int(2))])).is_none());
    }

    #[test]
    fn targets_are_positive_and_utilisation_at_most_a_hundred() {
        assert!(positive(&Value::Int(0)).is_err());
        assert!(positive(&Value::Float(0.5)).is_ok());
        let cpu = |t: Value| {
            metric_target(&map(&[
                ("metric", Value::String("cpu".into())),
                ("target", t),
            ]))
        };
        assert_eq!(cpu(Value::Int(101)).map(|v| v.attribute), Some("target"));
        assert!(cpu(Value::Int(100)).is_none());
        let requests = map(&[
            ("metric", Value::String("requests".into())),
            ("target", Value::Int(1000)),
        ]);
        assert_eq!(
            metric_target(&requests).map(|v| v.attribute),
            Some("metric")
        );
        let mut with_group = requests.clone();
        with_group.insert("target-group".into(), Value::String("arn".into()));
        assert!(metric_target(&with_group).is_none());
    }

    #[test]
    fn policy_names_are_unique() {
        let policy = |n: &str| Value::Map(map(&[("name", Value::String(n.into()))]));
        let body = map(&[(
            "target-tracking",
            Value::List(vec![policy("cpu"), policy("cpu")]),
        )]);
        assert!(unique_names(&body).is_some());
        let body = map(&[(
            "target-tracking",
            Value::List(vec![policy("cpu"), policy("memory")]),
        )]);
        assert!(unique_names(&body).is_none());
    }
}
