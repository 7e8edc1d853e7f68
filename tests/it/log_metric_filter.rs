//! Log metric filters against moto, with the alarm on their metric that notifies the stack's
//! SNS topic: from nothing to destroy through a change of pattern and metric, drift repair,
//! and a filter of the same name in another log group that is never touched.

use super::harness::expect;
use super::moto::World;

/// The stack: a log group, a filter on it, a topic, and an alarm on the filter's metric that
/// notifies the topic.
fn stack(w: &World, pattern: &str, metric: &str) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"
variable "domain" type="string" allow="the test harness sets it"

log-group "app" {{
    name "/{stack}/app"
}}

log-metric-filter "errors" {{
    log-group (ref)"log-group.app.name"
    name "errors"
    pattern "{pattern}"
    metric-name "{metric}"
    metric-namespace "{stack}"
    metric-value "1"
    default-value 0
    unit "Count"
}}

sns-topic "alerts" {{
    name "{stack}-alerts"
}}

alarm "errors" {{
    name "{stack}-errors"
    namespace (ref)"log-metric-filter.errors.metric-namespace"
    metric (ref)"log-metric-filter.errors.metric-name"
    statistic "Sum"
    period 60
    evaluation-periods 1
    threshold 1
    comparison "GreaterThanOrEqualToThreshold"
    actions (ref)"sns-topic.alerts"
}}
"#,
        stack = w.stack
    );
    let path = w.dir.join("stack.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.display().to_string()
}

fn logs(w: &World) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&w.config_in("us-east-1"))
}

/// `pattern → metric` of the filter of this name in `group` (the last listed), if any.
fn filter(w: &World, group: &str, name: &str) -> Option<String> {
    let out =
        w.rt.block_on(
            logs(w)
                .describe_metric_filters()
                .log_group_name(group)
                .filter_name_prefix(name)
                .send(),
        )
        .expect("the log group's filters");
    out.metric_filters()
        .iter()
        .rev()
        .find(|f| f.filter_name() == Some(name))
        .map(|f| {
            let metric = f
                .metric_transformations()
                .first()
                .map(|t| t.metric_name().to_string())
                .unwrap_or_default();
            format!("{} → {metric}", f.filter_pattern().unwrap_or_default())
        })
}

fn put_filter(w: &World, group: &str, pattern: &str) {
    let metric = aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
        .metric_name("Theirs")
        .metric_namespace("Theirs")
        .metric_value("1")
        .build()
        .expect("a complete transformation");
    w.rt.block_on(
        logs(w)
            .put_metric_filter()
            .log_group_name(group)
            .filter_name("errors")
            .filter_pattern(pattern)
            .metric_transformations(metric)
            .send(),
    )
    .expect("moto puts the filter");
}

/// The alarm's metric name and actions.
fn alarm(w: &World) -> Option<(String, Vec<String>)> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&w.config_in("us-east-1"));
    let out =
        w.rt.block_on(
            cloudwatch
                .describe_alarms()
                .alarm_names(format!("{}-errors", w.stack))
                .send(),
        )
        .expect("the alarms");
    let a = out.metric_alarms().first()?;
    Some((
        a.metric_name().unwrap_or_default().to_string(),
        a.alarm_actions().to_vec(),
    ))
}

fn no_changes(w: &World, path: &str) {
    let plan = w.infra(&["plan", path, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

#[test]
fn a_filter_and_the_alarm_on_its_metric_live_from_nothing_to_destroy() {
    let w = World::new("lmf");
    let group = format!("/{}/app", w.stack);
    let topic = format!("arn:aws:sns:us-east-1:123456789012:{}-alerts", w.stack);
    // A filter of the same name in a log group the stack does not own.
    let other = format!("/{}/other", w.stack);
    w.rt.block_on(logs(&w).create_log_group().log_group_name(&other).send())
        .expect("moto makes the other log group");
    put_filter(&w, &other, "theirs");

    // From nothing: the alarm's metric is the filter's, its action the stack's topic.
    let path = stack(&w, "?ERROR ?Exception", "AppErrors");
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("lmf_plan_from_nothing", w.redact(&plan.stdout));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);
    assert_eq!(
        filter(&w, &group, "errors").as_deref(),
        Some("?ERROR ?Exception → AppErrors")
    );
    assert_eq!(
        alarm(&w),
        Some(("AppErrors".to_string(), vec![topic.clone()]))
    );

    // Pattern and metric change; the alarm follows the metric in the same apply.
    let path = stack(&w, "?ERROR ?FATAL", "AppFailures");
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("lmf_pattern_and_metric", w.redact(&plan.stdout));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);
    assert_eq!(
        filter(&w, &group, "errors").as_deref(),
        Some("?ERROR ?FATAL → AppFailures")
    );
    assert_eq!(alarm(&w).map(|a| a.0).as_deref(), Some("AppFailures"));

    // Drift: the filter rewritten by hand is put back.
    put_filter(&w, &group, "tampered");
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("lmf_drift", w.redact(&plan.stdout));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);
    assert_eq!(
        filter(&w, &group, "errors").as_deref(),
        Some("?ERROR ?FATAL → AppFailures")
    );

    // Destroy: the stack's filter is gone; the one in the other log group is untouched.
    expect(&w.infra(&["destroy", &path, "--auto-approve"], &[]), 0);
    assert_eq!(filter(&w, &group, "errors"), None, "the filter is deleted");
    assert_eq!(alarm(&w), None, "the alarm is deleted");
    assert_eq!(
        filter(&w, &other, "errors").as_deref(),
        Some("theirs → Theirs"),
        "the look-alike survives"
    );
}

/// A filter's log group is written as a reference to a log group of the stack: filters carry
/// no tags, and that is how the stack knows them for its own.
#[test]
fn a_filter_in_a_log_group_named_by_hand_is_refused_at_load() {
    let w = World::new("lmfref");
    let text = format!(
        "stack \"{}\" region=\"us-east-1\"\n\nlog-metric-filter \"errors\" {{\n    log-group \"/shared/app\"\n    name \"errors\"\n    pattern \"ERROR\"\n    metric-name \"Errors\"\n    metric-namespace \"App\"\n}}\n",
        w.stack
    );
    let path = w.dir.join("stack.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    let path = path.display().to_string();
    let out = w.infra(&["validate", &path], &[]);
    expect(&out, 1);
    insta::assert_snapshot!("lmf_log_group_by_name", w.redact(&out.stderr));
}
