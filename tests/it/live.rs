//! The engine end to end: the real binary against the moto server.

use std::collections::BTreeMap;

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::harness::expect;
use super::moto::World;

const KEY_VAR: &str = "QUICKSTART_API_KEY";

/// Applies the quick-start example from nothing and returns its path.
fn applied(w: &World, key: &str) -> String {
    let stack = w.stack_file("quickstart.kdl", |t| t);
    expect(
        &w.infra(&["apply", &stack, "--auto-approve"], &[(KEY_VAR, key)]),
        0,
    );
    stack
}

fn no_changes(w: &World, stack: &str, key: &str) {
    let plan = w.infra(&["plan", stack, "--detailed-exitcode"], &[(KEY_VAR, key)]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

#[test]
fn apply_from_nothing_then_plan_has_no_changes() {
    let w = World::new("converge");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    let env = [(KEY_VAR, "first-value")];
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &env);
    expect(&plan, 2);
    insta::assert_snapshot!("plan_from_nothing", w.redact(&plan.stdout));
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &env);
    expect(&apply, 0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 6 created, 0 updated, 0 replaced, 0 deleted, 0 adopted."),
        "{}",
        apply.stdout
    );
    no_changes(&w, &stack, "first-value");
}

#[test]
fn one_change_per_kind_plans_exactly_those_changes() {
    let w = World::new("change");
    applied(&w, "first-value");
    let stack = w.stack_file("quickstart.kdl", |t| {
        t.replace("threshold 10", "threshold 25")
            .replace("retention-days 14", "retention-days 30")
            .replace(
                "Key the API signs its tokens with",
                "Key the API signs tokens with",
            )
            .replace(
                "\"${stack.name}.example.net\"",
                "\"${stack.name}-v2.example.net\"",
            )
    });
    let env = [(KEY_VAR, "first-value")];
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &env);
    expect(&plan, 2);
    insta::assert_snapshot!("plan_one_change_per_kind", w.redact(&plan.stdout));
    let comment = w.infra(&["plan", &stack, "--format", "markdown"], &env);
    expect(&comment, 0);
    insta::assert_snapshot!(
        "markdown_plan_one_change_per_kind",
        w.redact(&comment.stdout)
    );
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);
    no_changes(&w, &stack, "first-value");
}

#[test]
fn drift_made_out_of_band_is_planned_and_repaired() {
    let w = World::new("drift");
    let stack = applied(&w, "first-value");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&w.config);
    let secrets = aws_sdk_secretsmanager::Client::new(&w.config);
    let group = format!("/ecs/{}-api", w.stack);
    let secret = format!("{}/api-key", w.stack);
    w.rt.block_on(async {
        logs.put_retention_policy()
            .log_group_name(&group)
            .retention_in_days(7)
            .send()
            .await
            .expect("retention changed out of band");
        secrets
            .put_secret_value()
            .secret_id(&secret)
            .secret_string("changed-by-hand")
            .send()
            .await
            .expect("value changed out of band");
        // A generated value is the operators' from then on: rotating it is not drift.
        secrets
            .put_secret_value()
            .secret_id(format!("{}/db-password", w.stack))
            .secret_string("rotated-by-hand")
            .send()
            .await
            .expect("generated value rotated out of band");
    });
    let env = [(KEY_VAR, "first-value")];
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &env);
    expect(&plan, 2);
    insta::assert_snapshot!("plan_repairs_drift", w.redact(&plan.stdout));
    // The scheduled drift job alerts (exit 2) with the same findings, changing nothing.
    let drift = w.infra(&["drift", &stack], &env);
    expect(&drift, 2);
    insta::assert_snapshot!("drift_report", w.redact(&drift.stdout));
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);
    no_changes(&w, &stack, "first-value");
    let clean = w.infra(&["drift", &stack], &env);
    expect(&clean, 0);
    assert!(clean.stdout.starts_with("No drift"), "{}", clean.stdout);
    let value = w.rt.block_on(async {
        secrets
            .get_secret_value()
            .secret_id(&secret)
            .send()
            .await
            .expect("the secret exists")
            .secret_string()
            .map(str::to_string)
    });
    assert_eq!(value.as_deref(), Some("first-value"));

    // A record whose answer someone changed by hand may no longer be the stack's (its claim
    // could be a leftover beside a record made since): it is not overwritten until adopted.
    upsert(
        &w,
        &format!("www.{}", w.domain),
        RrType::Cname,
        "hand-edited.example.org",
    );
    let refused = w.infra(&["plan", &stack, "--detailed-exitcode"], &env);
    expect(&refused, 1);
    assert!(
        refused.stderr.contains("someone changed it since"),
        "{}",
        refused.stderr
    );
    let adopt = ["--adopt", "record.www"];
    let plan = w.infra(
        &[&["plan", &stack, "--detailed-exitcode"][..], &adopt].concat(),
        &env,
    );
    expect(&plan, 2);
    insta::assert_snapshot!("plan_adopts_a_hand_edited_record", w.redact(&plan.stdout));
    expect(
        &w.infra(
            &[&["apply", &stack, "--auto-approve"][..], &adopt].concat(),
            &env,
        ),
        0,
    );
    no_changes(&w, &stack, "first-value");
}

#[test]
fn removed_resources_are_deleted_and_lookalikes_survive_destroy() {
    let w = World::new("prune");
    let stack = applied(&w, "first-value");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&w.config);
    let alarms = aws_sdk_cloudwatch::Client::new(&w.config);
    let lookalike_group = format!("/ecs/{}-api-by-hand", w.stack);
    let foreign_group = format!("/ecs/{}-api-other-stack", w.stack);
    let lookalike_alarm = format!("{}-api-5xx-by-hand", w.stack);
    w.rt.block_on(async {
        logs.create_log_group()
            .log_group_name(&lookalike_group)
            .send()
            .await
            .expect("an untagged look-alike log group");
        logs.create_log_group()
            .log_group_name(&foreign_group)
            .tags("infra:stack", "another-stack")
            .tags("infra:address", "log-group.api")
            .send()
            .await
            .expect("another stack's log group");
        alarms
            .put_metric_alarm()
            .alarm_name(&lookalike_alarm)
            .namespace("AWS/ApplicationELB")
            .metric_name("HTTPCode_Target_5XX_Count")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            )
            .send()
            .await
            .expect("an untagged look-alike alarm");
    });
    upsert(
        &w,
        &format!("api.{}", w.domain),
        RrType::Cname,
        "by-hand.example.org",
    );

    let without = w.stack_file("quickstart.kdl", |t| {
        let start = t
            .find("alarm \"api-errors\"")
            .expect("the alarm is in the example");
        let end = start + t[start..].find("\n}\n").expect("the alarm block ends") + 3;
        format!("{}{}", &t[..start], &t[end..])
    });
    let env = [(KEY_VAR, "first-value")];
    let plan = w.infra(&["plan", &without, "--detailed-exitcode"], &env);
    expect(&plan, 2);
    insta::assert_snapshot!("plan_deletes_removed_resource", w.redact(&plan.stdout));
    // The same plan as a pull-request comment.
    let comment = w.infra(&["plan", &without, "--format", "markdown"], &env);
    expect(&comment, 0);
    insta::assert_snapshot!("markdown_plan_with_a_destroy", w.redact(&comment.stdout));
    expect(&w.infra(&["apply", &without, "--auto-approve"], &env), 0);
    no_changes(&w, &without, "first-value");

    let destroy = w.infra(&["destroy", &stack, "--auto-approve"], &env);
    expect(&destroy, 0);
    insta::assert_snapshot!("destroy", w.redact(&destroy.stdout));

    // What the stack never owned is still there; nothing it owned is left but secrets in
    // their recovery window.
    let (groups, alarm_names) = w.rt.block_on(async {
        let groups = logs
            .describe_log_groups()
            .log_group_name_prefix(format!("/ecs/{}", w.stack))
            .send()
            .await
            .expect("log groups are listed");
        let alarm_list = alarms
            .describe_alarms()
            .alarm_name_prefix(&w.stack)
            .send()
            .await
            .expect("alarms are listed");
        (
            groups
                .log_groups()
                .iter()
                .filter_map(|g| g.log_group_name().map(str::to_string))
                .collect::<Vec<_>>(),
            alarm_list
                .metric_alarms()
                .iter()
                .filter_map(|a| a.alarm_name().map(str::to_string))
                .collect::<Vec<_>>(),
        )
    });
    assert_eq!(groups, vec![lookalike_group, foreign_group]);
    assert_eq!(alarm_names, vec![lookalike_alarm]);
    let records = record_names(&w);
    assert!(
        records.contains(&format!("api.{}.", w.domain)),
        "{records:?}"
    );
    assert!(
        !records
            .iter()
            .any(|r| r.starts_with("www.") || r.starts_with("_infra")),
        "{records:?}"
    );
    let tagging = aws_sdk_resourcegroupstagging::Client::new(&w.config);
    let owned = w.rt.block_on(async {
        tagging
            .get_resources()
            .tag_filters(
                aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                    .key("infra:stack")
                    .values(&w.stack)
                    .build(),
            )
            .send()
            .await
            .expect("tagged resources are listed")
    });
    for mapping in owned.resource_tag_mapping_list() {
        let arn = mapping.resource_arn().unwrap_or_default();
        assert!(
            arn.contains(":secretsmanager:"),
            "{arn} is left after destroy"
        );
    }
    let secrets = aws_sdk_secretsmanager::Client::new(&w.config);
    for name in ["api-key", "db-password"] {
        let described = w.rt.block_on(
            secrets
                .describe_secret()
                .secret_id(format!("{}/{name}", w.stack))
                .send(),
        );
        let described = described.expect("the secret is in its recovery window");
        assert!(
            described.deleted_date().is_some(),
            "{name} is scheduled for deletion"
        );
    }

    // Applying again restores the secrets AWS is deleting instead of failing to create them.
    let again = w.infra(&["plan", &stack, "--detailed-exitcode"], &env);
    expect(&again, 2);
    assert!(
        again
            .stdout
            .contains("~ secret.api-key: update in place (scheduled for deletion ("),
        "{}",
        again.stdout
    );
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);
    no_changes(&w, &stack, "first-value");
}

#[test]
fn an_unowned_record_with_our_name_is_a_plan_error_and_stays_untouched() {
    let w = World::new("unowned");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    let www = format!("www.{}", w.domain);
    upsert(&w, &www, RrType::Cname, "someone-else.example.org");
    let env = [(KEY_VAR, "first-value")];
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &env);
    expect(&plan, 1);
    let stderr = w.redact(&plan.stderr.replace(w.dir.to_string_lossy().as_ref(), "DIR"));
    insta::assert_snapshot!("unowned_record", stderr);
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &env);
    expect(&apply, 1);
    assert_eq!(
        record_value(&w, &www),
        Some("someone-else.example.org".into())
    );

    // Adopting it is explicit, and then shows what changes.
    let adopt = w.infra(&["plan", &stack, "--adopt", "record.www"], &env);
    expect(&adopt, 0);
    assert!(
        adopt.stdout.contains("<= record.www: adopt"),
        "{}",
        adopt.stdout
    );
    assert!(
        adopt
            .stdout
            .contains("values  [\"someone-else.example.org\"] → ["),
        "{}",
        adopt.stdout
    );
}

#[test]
fn a_no_change_plan_of_two_hundred_resources_costs_a_handful_of_calls() {
    let w = World::isolated("calls");
    let mut text = String::from(
        "stack \"STACK\" region=\"us-east-1\"\n\nvariable \"domain\" type=\"string\"\n\nlookup \"hosted-zone\" \"main\" name=(var)\"domain\"\n\n",
    );
    for i in 0..100 {
        text.push_str(&format!(
            "alarm \"a{i}\" {{\n    name \"${{stack.name}}-alarm-{i}\"\n    namespace \"AWS/ECS\"\n    metric \"CPUUtilization\"\n    dimensions {{\n        ServiceName \"svc-{i}\"\n    }}\n    statistic \"Average\"\n    period 60\n    evaluation-periods 3\n    threshold {}\n    comparison \"GreaterThanThreshold\"\n}}\n",
            50 + i % 40
        ));
    }
    for i in 0..20 {
        text.push_str(&format!(
            "secret \"s{i}\" {{\n    name \"${{stack.name}}/secret-{i}\"\n    value from-env=\"{KEY_VAR}\"\n}}\n"
        ));
        text.push_str(&format!(
            "log-group \"l{i}\" {{\n    name \"/ecs/${{stack.name}}/service-{i}\"\n    retention-days 30\n}}\n"
        ));
    }
    for i in 0..60 {
        text.push_str(&format!(
            "record \"r{i}\" {{\n    zone (ref)\"lookup.hosted-zone.main\"\n    name \"host-{i}.${{var.domain}}\"\n    type \"A\"\n    values \"10.0.{}.{}\"\n}}\n",
            i / 250,
            i % 250 + 1
        ));
    }
    let path = w.dir.join("calls.kdl");
    std::fs::write(&path, text.replace("STACK", &w.stack)).expect("the stack is written");
    let stack = path.to_string_lossy().into_owned();
    let env = [(KEY_VAR, "value")];
    let apply = w.infra(
        &["apply", &stack, "--auto-approve", "--parallelism", "20"],
        &env,
    );
    expect(&apply, 0);
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode", "--stats"], &env);
    expect(&plan, 0);
    let calls: BTreeMap<String, u64> = plan
        .stderr
        .lines()
        .filter_map(|l| {
            let (op, n) = l.trim().split_once(": ")?;
            let n = n.split(' ').next()?;
            Some((op.to_string(), n.parse().ok()?))
        })
        .collect();
    let total = calls
        .get("AWS calls")
        .copied()
        .expect("--stats reports a total");
    assert!(
        total <= 15,
        "a no-change plan of 200 resources made {total} calls: {calls:?}"
    );
    // Calls, not HTTP requests: a retry on a busy machine must not change the figure.
    let per_operation: Vec<&str> = plan.stderr.lines().skip(1).collect();
    insta::assert_snapshot!("no_change_plan_calls", per_operation.join("\n"));
}

#[test]
fn a_failure_skips_its_dependents_and_independent_work_finishes() {
    let w = World::new("failure");
    let zone = w.zone_id.clone();
    let stack = w.stack_file("quickstart.kdl", |t| {
        format!(
            "{t}
// Route53 rejects a record outside its zone: this one fails at apply (validate cannot tell,
// as the zone is given by its id rather than by a look-up).
record \"outside\" {{
    zone \"{zone}\"
    name \"www.elsewhere.invalid\"
    type \"A\"
    values \"192.0.2.1\"
}}

// Fed a value only AWS knows: the log group's ARN, created in the same apply.
record \"arn\" {{
    zone (ref)\"lookup.hosted-zone.main\"
    name \"arn.${{var.domain}}\"
    type \"TXT\"
    values (ref)\"log-group.api.arn\"
}}

log-group \"after-outside\" {{
    name \"/ecs/${{stack.name}}-after-outside\"
    depends-on \"record.outside\"
}}
"
        )
    });
    let env = [(KEY_VAR, "first-value")];
    let plan = w.infra(&["plan", &stack], &env);
    expect(&plan, 0);
    assert!(
        plan.stdout.contains("values  [(known after apply)]"),
        "{}",
        plan.stdout
    );
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &env);
    expect(&apply, 1);
    let summary = apply
        .stdout
        .split("\nApply failed")
        .nth(1)
        .map(|s| format!("Apply failed{s}"))
        .unwrap_or_default();
    insta::assert_snapshot!("apply_failure_summary", w.redact(&summary));
    let arn = record_value(&w, &format!("arn.{}", w.domain)).expect("the ARN record exists");
    assert!(arn.contains(":log-group:/ecs/"), "{arn}");
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let w = World::new("approve");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    let apply = w.infra(&["apply", &stack], &[(KEY_VAR, "x")]);
    expect(&apply, 1);
    assert!(
        apply.stderr.contains("run again with --auto-approve"),
        "{}",
        apply.stderr
    );
    assert!(record_names(&w).iter().all(|r| !r.starts_with("www.")));
}

#[test]
fn a_hosted_zone_that_does_not_exist_is_a_plan_error_at_the_look_up() {
    let w = World::new("nozone");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    let plan = w.infra(
        &["plan", &stack, "--var", "domain=absent.test"],
        &[(KEY_VAR, "x")],
    );
    expect(&plan, 1);
    let stderr = w.redact(&plan.stderr.replace(w.dir.to_string_lossy().as_ref(), "DIR"));
    insta::assert_snapshot!("missing_hosted_zone", stderr);
}

#[test]
fn missing_credentials_are_one_clear_diagnostic() {
    let out = super::harness::infra_with_env(
        &["plan", "examples/quickstart.kdl"],
        &[
            ("HOME", "/nonexistent"),
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    expect(&out, 1);
    insta::assert_snapshot!("missing_credentials", out.stderr);
}

fn upsert(w: &World, name: &str, kind: RrType, value: &str) {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(kind)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .expect("a value"),
        )
        .build()
        .expect("a record set");
    let batch = ChangeBatch::builder()
        .changes(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(set)
                .build()
                .expect("a change"),
        )
        .build()
        .expect("a batch");
    w.rt.block_on(
        route53
            .change_resource_record_sets()
            .hosted_zone_id(&w.zone_id)
            .change_batch(batch)
            .send(),
    )
    .expect("the record is written out of band");
}

fn record_sets(w: &World) -> Vec<ResourceRecordSet> {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    w.rt.block_on(
        route53
            .list_resource_record_sets()
            .hosted_zone_id(&w.zone_id)
            .send(),
    )
    .expect("records are listed")
    .resource_record_sets()
    .to_vec()
}

fn record_names(w: &World) -> Vec<String> {
    record_sets(w)
        .iter()
        .map(|s| s.name().to_string())
        .collect()
}

fn record_value(w: &World, name: &str) -> Option<String> {
    let want = format!("{name}.");
    let sets = record_sets(w);
    let matching: Vec<_> = sets.iter().filter(|s| s.name() == want).collect();
    assert!(
        matching.len() <= 1,
        "{name} exists {} times",
        matching.len()
    );
    matching
        .first()
        .and_then(|s| s.resource_records().first())
        .map(|r| r.value().to_string())
}
