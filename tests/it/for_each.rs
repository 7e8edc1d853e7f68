//! `for-each` against moto: instances are created, owned and tagged under their keyed
//! addresses, a second plan is empty, removing an item from the middle deletes exactly that
//! instance, and `--target` names one instance.

use super::harness::expect;
use super::moto::World;

/// Log groups, one per function, and an alarm per function that depends on its log group.
fn stack(w: &World, functions: &[&str]) -> String {
    let items: Vec<String> = functions.iter().map(|f| format!("\"{f}\"")).collect();
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness sets it on every run"

variable "functions" type="list(string)" {{
    default {items}
}}

log-group "fn" for-each=(var)"functions" {{
    name "/lambda/${{stack.name}}/${{each.key}}"
    retention-days 7
}}

alarm "errors" for-each=(var)"functions" {{
    name "${{stack.name}}-${{each.key}}-errors"
    namespace "AWS/Lambda"
    metric "Errors"
    dimensions FunctionName="${{each.key}}"
    statistic "Sum"
    period 60
    evaluation-periods 1
    threshold 1
    comparison "GreaterThanThreshold"
    depends-on (ref)"log-group.fn[each.key]"
}}
"#,
        stack = w.stack,
        items = items.join(" "),
    );
    let path = w.dir.join("for-each.kdl");
    std::fs::write(&path, text).expect("the stack is written");
    path.to_string_lossy().into_owned()
}

/// The `infra:address` tag of each log group of this world's stack, by log group name.
fn log_group_tags(w: &World) -> Vec<(String, String)> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&w.config);
    w.rt.block_on(async {
        let groups = logs
            .describe_log_groups()
            .log_group_name_prefix(format!("/lambda/{}/", w.stack))
            .send()
            .await
            .expect("log groups are listed");
        let mut out = Vec::new();
        for g in groups.log_groups() {
            let name = g.log_group_name().unwrap_or_default().to_string();
            let arn = g
                .arn()
                .unwrap_or_default()
                .trim_end_matches(":*")
                .to_string();
            let tags = logs
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .expect("tags are read");
            let address = tags
                .tags()
                .and_then(|t| t.get("infra:address"))
                .cloned()
                .unwrap_or_default();
            out.push((name.replace(&w.stack, "STACK"), address));
        }
        out.sort();
        out
    })
}

#[test]
fn instances_keep_their_addresses_when_an_item_in_the_middle_goes() {
    let w = World::new("foreach");
    let three = stack(&w, &["checkout", "billing", "search"]);
    let apply = w.infra(&["apply", &three, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(
        apply.stdout.contains("6 created"),
        "{}",
        w.redact(&apply.stdout)
    );
    // The tag holds the address in the characters AWS takes in a tag value.
    insta::assert_debug_snapshot!("for_each_tags", log_group_tags(&w));

    let again = w.infra(&["plan", &three, "--detailed-exitcode"], &[]);
    expect(&again, 0);

    let two = stack(&w, &["checkout", "search"]);
    let plan = w.infra(&["plan", &two, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("for_each_middle_item_removed", w.redact(&plan.stdout));

    // One instance alone, its key bare or quoted.
    let targeted = w.infra(
        &[
            "plan",
            &two,
            "--target",
            "log-group.fn[billing]",
            "--detailed-exitcode",
        ],
        &[],
    );
    expect(&targeted, 2);
    let changed: Vec<&str> = targeted
        .stdout
        .lines()
        .filter(|l| l.starts_with(['+', '-', '~']))
        .collect();
    assert_eq!(
        changed,
        ["- log-group.fn[\"billing\"]: delete (no longer in the stack)"],
        "{}",
        targeted.stdout
    );

    let apply = w.infra(
        &[
            "apply",
            &two,
            "--auto-approve",
            "--target",
            "alarm.errors[\"billing\"]",
        ],
        &[],
    );
    expect(&apply, 0);
    let apply = w.infra(&["apply", &two, "--auto-approve"], &[]);
    expect(&apply, 0);
    let last = w.infra(&["plan", &two, "--detailed-exitcode"], &[]);
    expect(&last, 0);
    assert_eq!(
        log_group_tags(&w)
            .into_iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>(),
        ["/lambda/STACK/checkout", "/lambda/STACK/search"]
    );
}
