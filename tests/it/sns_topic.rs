//! SNS topics against moto: from nothing to destroy through each mutable attribute group,
//! drift repair, and a look-alike of the stack's topic name that is never taken over.

use std::collections::BTreeMap;

use super::harness::expect;
use super::moto::World;

/// The stack file with one topic, written into the world's folder; `body` goes in the topic.
fn stack(w: &World, file: &str, body: &str) -> String {
    let text = format!(
        "stack \"{stack}\" region=\"us-east-1\"\nvariable \"domain\" type=\"string\" allow=\"the test harness sets it\"\n\nsns-topic \"alerts\" {{\n    name \"{stack}-alerts\"\n{body}}}\n",
        stack = w.stack
    );
    let path = w.dir.join(file);
    std::fs::write(&path, text).expect("the stack file is written");
    path.display().to_string()
}

fn sns(w: &World) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&w.config_in("us-east-1"))
}

fn arn(name: &str) -> String {
    format!("arn:aws:sns:us-east-1:123456789012:{name}")
}

/// The topic's attributes, or `None` when it does not exist.
fn attributes(w: &World, name: &str) -> Option<BTreeMap<String, String>> {
    let out =
        w.rt.block_on(sns(w).get_topic_attributes().topic_arn(arn(name)).send())
            .ok()?;
    Some(
        out.attributes()
            .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    )
}

/// `protocol endpoint` of every subscription of the topic, sorted.
fn subscriptions(w: &World, name: &str) -> Vec<String> {
    let out =
        w.rt.block_on(
            sns(w)
                .list_subscriptions_by_topic()
                .topic_arn(arn(name))
                .send(),
        )
        .expect("the topic's subscriptions");
    let mut subs: Vec<String> = out
        .subscriptions()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s.protocol().unwrap_or_default(),
                s.endpoint().unwrap_or_default()
            )
        })
        .collect();
    subs.sort();
    subs
}

fn tags(w: &World, name: &str) -> BTreeMap<String, String> {
    let out =
        w.rt.block_on(
            sns(w)
                .list_tags_for_resource()
                .resource_arn(arn(name))
                .send(),
        )
        .expect("the topic's tags");
    out.tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn no_changes(w: &World, path: &str) {
    let plan = w.infra(&["plan", path, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

/// Plans (exactly the change the snapshot shows), applies, and plans again: nothing left.
fn change(w: &World, path: &str, snapshot: &str) {
    let plan = w.infra(&["plan", path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!(snapshot, w.redact(&plan.stdout));
    expect(&w.infra(&["apply", path, "--auto-approve"], &[]), 0);
    no_changes(w, path);
}

const ONCALL: &str =
    "    subscription \"oncall\" protocol=\"email\" endpoint=\"oncall@example.com\"\n";
const PAGER: &str =
    "    subscription \"pager\" protocol=\"https\" endpoint=\"https://pager.example.com/hook\"\n";
const BACKUP: &str =
    "    subscription \"backup\" protocol=\"email\" endpoint=\"backup@example.com\"\n";

#[test]
fn a_topic_lives_from_nothing_through_each_change_and_drift_to_destroy() {
    let w = World::new("sns");
    let name = format!("{}-alerts", w.stack);
    // A topic of a similar name that the stack does not own.
    let similar = format!("{}-alerts-old", w.stack);
    w.rt.block_on(sns(&w).create_topic().name(&similar).send())
        .expect("moto makes the look-alike");

    let first = format!(
        "    display-name \"Alerts\"\n{ONCALL}{PAGER}    tags {{\n        team \"ops\"\n    }}\n"
    );
    let path = stack(&w, "stack.kdl", &first);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("sns_plan_from_nothing", w.redact(&plan.stdout));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);
    let attrs = attributes(&w, &name).expect("the topic exists");
    assert_eq!(attrs.get("DisplayName").map(String::as_str), Some("Alerts"));
    assert_eq!(
        subscriptions(&w, &name),
        [
            "email oncall@example.com",
            "https https://pager.example.com/hook"
        ]
    );
    let t = tags(&w, &name);
    assert_eq!(t.get("infra:stack"), Some(&w.stack));
    assert_eq!(
        t.get("infra:address").map(String::as_str),
        Some("sns-topic.alerts")
    );
    assert_eq!(t.get("team").map(String::as_str), Some("ops"));

    // Display name and tags.
    let second = format!(
        "    display-name \"Paging\"\n{ONCALL}{PAGER}    tags {{\n        team \"sre\"\n    }}\n"
    );
    let path = stack(&w, "stack.kdl", &second);
    change(&w, &path, "sns_display_name_and_tags");
    let attrs = attributes(&w, &name).expect("the topic exists");
    assert_eq!(attrs.get("DisplayName").map(String::as_str), Some("Paging"));
    assert_eq!(tags(&w, &name).get("team").map(String::as_str), Some("sre"));

    // One subscription added, one removed.
    let third = format!(
        "    display-name \"Paging\"\n{ONCALL}{BACKUP}    tags {{\n        team \"sre\"\n    }}\n"
    );
    let path = stack(&w, "stack.kdl", &third);
    change(&w, &path, "sns_subscription_added_and_removed");
    assert_eq!(
        subscriptions(&w, &name),
        ["email backup@example.com", "email oncall@example.com"]
    );

    // Drift: the display name changed and a subscription removed by hand.
    let client = sns(&w);
    w.rt.block_on(
        client
            .set_topic_attributes()
            .topic_arn(arn(&name))
            .attribute_name("DisplayName")
            .attribute_value("Tampered")
            .send(),
    )
    .expect("moto changes the display name");
    let listed =
        w.rt.block_on(
            client
                .list_subscriptions_by_topic()
                .topic_arn(arn(&name))
                .send(),
        )
        .expect("the subscriptions");
    let backup = listed
        .subscriptions()
        .iter()
        .find(|s| s.endpoint() == Some("backup@example.com"))
        .and_then(|s| s.subscription_arn())
        .expect("the backup subscription")
        .to_string();
    w.rt.block_on(client.unsubscribe().subscription_arn(backup).send())
        .expect("moto unsubscribes it");
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("sns_drift", w.redact(&plan.stdout));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);
    assert_eq!(
        attributes(&w, &name).and_then(|a| a.get("DisplayName").cloned()),
        Some("Paging".to_string())
    );
    assert_eq!(
        subscriptions(&w, &name),
        ["email backup@example.com", "email oncall@example.com"]
    );

    // Destroy: the topic is gone, the look-alike stays.
    expect(&w.infra(&["destroy", &path, "--auto-approve"], &[]), 0);
    assert!(attributes(&w, &name).is_none(), "the topic is deleted");
    assert!(
        attributes(&w, &similar).is_some(),
        "the look-alike survives"
    );
}

/// CreateTopic would hand back an existing topic of the same name: a topic the stack does not
/// own is a plan error, and neither apply nor destroy touches it.
#[test]
fn an_unowned_topic_of_the_stack_name_is_an_error_and_never_taken_over() {
    let w = World::new("snsown");
    let name = format!("{}-alerts", w.stack);
    w.rt.block_on(
        sns(&w)
            .create_topic()
            .name(&name)
            .attributes("DisplayName", "Theirs")
            .send(),
    )
    .expect("moto makes the look-alike");
    let path = stack(
        &w,
        "stack.kdl",
        &format!("    display-name \"Ours\"\n{ONCALL}"),
    );
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 1);
    insta::assert_snapshot!("sns_unowned_lookalike", w.redact(&plan.stderr));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 1);
    expect(&w.infra(&["destroy", &path, "--auto-approve"], &[]), 0);
    let attrs = attributes(&w, &name).expect("the look-alike survives");
    assert_eq!(attrs.get("DisplayName").map(String::as_str), Some("Theirs"));
    assert!(
        subscriptions(&w, &name).is_empty(),
        "nothing subscribed to it"
    );
    assert!(tags(&w, &name).is_empty(), "never tagged as the stack's");
}
