//! Replacements and creates that must not lie (issue 13): a rename is one replace in every
//! format; a create whose attempt timed out is looked up, not made twice; a replacement never
//! creates before the old one of the same name is gone, and a failed create says so.

use std::time::Duration;

use super::harness::expect;
use super::live_ecs::{FAST_POLL, network};
use super::live_elbv2::{Network, stack as elb_stack, target_groups};
use super::moto::World;
use super::proxy::{Fault, Faults, Proxy, Rule};

const KEY_VAR: &str = "QUICKSTART_API_KEY";

/// A resource whose natural key changes under the same address is replaced: one address, one
/// action, the attribute that forces it, in text, Markdown and JSON; the new one is made before
/// the old one goes.
#[test]
fn a_rename_is_one_replace_in_every_format() {
    let w = World::new("rename");
    let env = [(KEY_VAR, "first-value")];
    let stack = w.stack_file("quickstart.kdl", |t| t);
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);
    let renamed = w.stack_file("quickstart.kdl", |t| {
        t.replace("/api-key\"", "/api-key-v2\"")
    });
    let text = w.infra(&["plan", &renamed, "--detailed-exitcode"], &env);
    expect(&text, 2);
    insta::assert_snapshot!("rename_plan_text", w.redact(&text.stdout));
    let markdown = w.infra(&["plan", &renamed, "--format", "markdown"], &env);
    expect(&markdown, 0);
    assert!(
        markdown.stdout.contains("secret.api-key") && !markdown.stdout.contains("no longer in"),
        "{}",
        markdown.stdout
    );
    let json = w.infra(&["plan", &renamed, "--format", "json"], &env);
    expect(&json, 0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let changes: Vec<&serde_json::Value> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["address"] == "secret.api-key")
        .collect();
    assert_eq!(changes.len(), 1, "{}", json.stdout);
    assert_eq!(changes[0]["action"], "replace", "{}", json.stdout);
    assert_eq!(plan["summary"]["replace"], 1, "{}", json.stdout);
    assert_eq!(plan["summary"]["destroy"], 0, "{}", json.stdout);

    let apply = w.infra(&["apply", &renamed, "--auto-approve"], &env);
    expect(&apply, 0);
    assert!(apply.stdout.contains("1 replaced"), "{}", apply.stdout);
    let plan = w.infra(&["plan", &renamed, "--detailed-exitcode"], &env);
    expect(&plan, 0);
    let secrets = aws_sdk_secretsmanager::Client::new(&w.config);
    let old =
        w.rt.block_on(
            secrets
                .describe_secret()
                .secret_id(format!("{}/api-key", w.stack))
                .send(),
        )
        .expect("the old secret is still described");
    assert!(
        old.deleted_date().is_some(),
        "the old secret is scheduled for deletion"
    );
}

/// A task definition whose registration took effect but whose answer came too late: the
/// attempt timed out, and the revision is found rather than registered twice.
#[test]
fn a_create_that_timed_out_is_found_not_made_twice() {
    let mut w = World::new("timeout");
    let proxy = Proxy::start(
        &w.url,
        Faults {
            rules: vec![Rule {
                operation: "RegisterTaskDefinition".into(),
                body_contains: None,
                fault: Fault::HangAfterEffect(Duration::from_secs(4)),
                times: Some(1),
            }],
            ..Faults::default()
        },
    );
    w.through(&proxy);
    let family = format!("{}-web", w.stack);
    let text = format!(
        "stack \"{}\" region=\"us-east-1\"\n\nvariable \"domain\" type=\"string\"\n\ntask-definition \"web\" {{\n    family \"{family}\"\n    cpu 256\n    memory 512\n    container \"app\" {{\n        image \"nginx:1.27\"\n    }}\n}}\n",
        w.stack
    );
    let stack = w.dir.join("timeout.kdl");
    std::fs::write(&stack, text).expect("the stack file is written");
    let stack = stack.to_string_lossy().into_owned();
    let apply = w.infra(
        &["apply", &stack, "--auto-approve", "--request-timeout", "1s"],
        &[],
    );
    expect(&apply, 0);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let revisions =
        w.rt.block_on(ecs.list_task_definitions().family_prefix(&family).send())
            .expect("the family's revisions are listed");
    assert_eq!(
        revisions.task_definition_arns().len(),
        1,
        "{:?}\n{}",
        revisions.task_definition_arns(),
        apply.stdout
    );
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
}

/// A replacement of an ECS service (its launch type changed) deletes the old one and waits
/// until ECS has drained it before the new one of the same name is created: AWS refuses the
/// name while the old service is DRAINING (the emulator drops it at once; the proxy says
/// DRAINING twice, as AWS would).
#[test]
fn a_replaced_service_is_gone_before_its_successor_is_made() {
    let mut w = World::new("drain");
    let (subnets, sg) = network(&w);
    let subnets = subnets
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let name = w.stack.clone();
    let text = |launch: &str| {
        format!(
            r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness passes it to every plan"

cluster "main" {{
    name "{stack}"
}}

task-definition "app" {{
    family "{stack}-app"
    cpu 256
    memory 512
    requires-compatibilities "EC2" "FARGATE"
    container "web" {{
        image "nginx:1.27"
    }}
}}

service "app" {{
    name "app"
    cluster (ref)"cluster.main"
    task-definition (ref)"task-definition.app"
    desired-count 2
    launch-type "{launch}"
    network {{
        subnets {subnets}
        security-groups "{sg}"
    }}
}}
"#,
            stack = name
        )
    };
    let path = w.dir.join("drain.kdl");
    std::fs::write(&path, text("FARGATE")).expect("the stack file is written");
    let stack = path.to_string_lossy().into_owned();
    expect(
        &w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]),
        0,
    );

    let proxy = Proxy::start(
        &w.url,
        Faults {
            rules: vec![Rule {
                operation: "DescribeServices".into(),
                body_contains: None,
                fault: Fault::Rewrite("INACTIVE", "DRAINING"),
                times: Some(2),
            }],
            ..Faults::default()
        },
    );
    w.through(&proxy);
    std::fs::write(&path, text("EC2")).expect("the stack file is written");
    let plan = w.infra(&["plan", &stack], &[FAST_POLL]);
    assert!(
        plan.stdout.contains("service.app: replace"),
        "{}",
        plan.stdout
    );
    proxy.reset_tallies();
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&apply, 0);
    assert!(
        apply
            .stdout
            .contains("waiting for the old service to be gone"),
        "{}",
        apply.stdout
    );
    let calls: Vec<String> = proxy.timeline().into_iter().map(|(_, op)| op).collect();
    let deleted = calls
        .iter()
        .position(|c| c == "ecs.DeleteService")
        .expect("the old service is deleted");
    let created = calls
        .iter()
        .position(|c| c == "ecs.CreateService")
        .expect("the new service is created");
    let polls = calls[deleted..created]
        .iter()
        .filter(|c| *c == "ecs.DescribeServices")
        .count();
    assert!(
        polls >= 3,
        "created after {polls} looks at the old one: {calls:?}"
    );
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 0);
}

/// A target group replaced create-before-destroy whose create fails fails the apply: the old
/// target group is never taken for the new one.
#[test]
fn a_failed_create_before_destroy_fails_loudly() {
    let mut w = World::new("tgfail");
    let n = Network::of(&w);
    let path = elb_stack(&w, &n, |t| t);
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let before = target_groups(&w, &n);
    let proxy = Proxy::start(
        &w.url,
        Faults {
            rules: vec![Rule {
                operation: "CreateTargetGroup".into(),
                body_contains: None,
                fault: Fault::AccessDenied,
                times: None,
            }],
            ..Faults::default()
        },
    );
    w.through(&proxy);
    let path = elb_stack(&w, &n, |t| t.replace("port 8081", "port 8082"));
    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    expect(&apply, 1);
    assert!(
        apply.stdout.contains("CreateTargetGroup failed"),
        "{}",
        apply.stdout
    );
    assert_eq!(target_groups(&w, &n), before, "nothing was replaced");
    let plan = w.infra(&["plan", &path], &[]);
    assert!(plan.stdout.contains("1 to replace"), "{}", plan.stdout);
}
