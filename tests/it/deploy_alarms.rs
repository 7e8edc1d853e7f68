//! Deployment alarms: a service's `deployment { alarms ...; bake ... }` against moto.
//!
//! ECS's own use of the alarms (stopping and rolling back a deployment) cannot be seen here:
//! moto runs no deployments. What can: the alarms reach `deploymentConfiguration` (moto keeps
//! it only from UpdateService, so create sends it again), the next plan is empty, the plan warns
//! about an alarm already in ALARM, and a bake restores the previous revision when an alarm goes
//! into ALARM after the new one is stable.

use std::time::{Duration, Instant};

use super::harness::expect;
use super::live_ecs::{FAST_POLL, network};
use super::moto::World;

/// A cluster, two alarms and a service of two tasks whose deployments name both alarms;
/// `bake` as written in the deployment block, if any.
fn alarm_stack(w: &World, bake: Option<&str>) -> String {
    let (subnets, sg) = network(w);
    let bake = bake.map_or(String::new(), |b| format!("        bake \"{b}\"\n"));
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness passes it to every plan"
variable "image-tag" type="string" default="1.0.0"

cluster "main" {{
    name "{stack}"
}}

alarm "api-5xx" {{
    name "{stack}-5xx"
    namespace "AWS/ApplicationELB"
    metric "HTTPCode_Target_5XX_Count"
    statistic "Sum"
    period 60
    evaluation-periods 1
    threshold 10
    comparison "GreaterThanThreshold"
}}

alarm "api-p95" {{
    name "{stack}-p95"
    namespace "AWS/ApplicationELB"
    metric "TargetResponseTime"
    percentile "p95"
    period 60
    evaluation-periods 3
    threshold 1.5
    comparison "GreaterThanThreshold"
}}

task-definition "app" {{
    family "{stack}-app"
    cpu 256
    memory 512
    container "web" {{
        image "nginx:${{var.image-tag}}"
        health-check {{
            command "CMD-SHELL" "curl -f http://localhost/ || exit 1"
        }}
    }}
}}

service "app" {{
    name "app"
    cluster (ref)"cluster.main"
    task-definition (ref)"task-definition.app"
    desired-count 2
    network {{
        subnets "{a}" "{b}"
        security-groups "{sg}"
    }}
    deployment {{
        circuit-breaker #true
        rollback #true
        alarms (ref)"alarm.api-5xx" (ref)"alarm.api-p95"
{bake}    }}
}}
"#,
        stack = w.stack,
        a = subnets[0],
        b = subnets[1],
    );
    let path = w.dir.join("alarms.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

/// The test stack's service `app` as moto holds it now.
fn app(w: &World, ecs: &aws_sdk_ecs::Client) -> aws_sdk_ecs::types::Service {
    w.rt.block_on(
        ecs.describe_services()
            .cluster(&w.stack)
            .services("app")
            .send(),
    )
    .expect("moto describes the service")
    .services()
    .first()
    .cloned()
    .expect("the service exists")
}

fn set_alarm(w: &World, name: &str, state: aws_sdk_cloudwatch::types::StateValue) {
    let cw = aws_sdk_cloudwatch::Client::new(&w.config);
    w.rt.block_on(
        cw.set_alarm_state()
            .alarm_name(name)
            .state_value(state)
            .state_reason("set by the test")
            .send(),
    )
    .expect("moto sets the alarm's state");
}

fn no_changes(w: &World, stack: &str) {
    let plan = w.infra(&["plan", stack, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

/// The alarms reach ECS by name, with the block's rollback, and the next plan is empty.
#[test]
fn deploy_alarms_reach_the_service_and_the_next_plan_is_empty() {
    let w = World::new("deploy-alarms");
    let stack = alarm_stack(&w, None);
    expect(
        &w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let svc = app(&w, &ecs);
    let alarms = svc
        .deployment_configuration()
        .and_then(|d| d.alarms())
        .expect("the service has deployment alarms");
    let mut names = alarms.alarm_names().to_vec();
    names.sort();
    assert_eq!(
        names,
        [format!("{}-5xx", w.stack), format!("{}-p95", w.stack)]
    );
    assert!(alarms.enable());
    assert!(alarms.rollback());
    no_changes(&w, &stack);
}

/// An alarm already in ALARM is one ECS ignores for the whole deployment: the plan says so.
#[test]
fn deploy_alarms_already_in_alarm_are_a_plan_warning() {
    let w = World::new("deploy-alarm-firing");
    let stack = alarm_stack(&w, None);
    expect(
        &w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    // The plan before: no warning about alarms in their initial state (OK in moto).
    let quiet = w.infra(&["plan", &stack], &[FAST_POLL]);
    expect(&quiet, 0);
    assert!(
        !quiet.stdout.contains("deployment alarm `"),
        "{}",
        quiet.stdout
    );
    set_alarm(
        &w,
        &format!("{}-p95", w.stack),
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    );
    let plan = w.infra(&["plan", &stack, "--var", "image-tag=2.0.0"], &[FAST_POLL]);
    expect(&plan, 0);
    assert!(
        plan.stdout.contains(&format!(
            "deployment alarm `{}-p95` (alarm.api-p95)",
            w.stack
        )),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains(&format!("`{}-5xx`", w.stack)),
        "only the alarm in ALARM is named: {}",
        plan.stdout
    );
    insta::assert_snapshot!("deploy_alarms_in_alarm_plan", w.redact(&plan.stdout));

    // Said to be fine on the `alarms` line: silenced.
    let line = r#"alarms (ref)"alarm.api-5xx" (ref)"alarm.api-p95""#;
    let text = std::fs::read_to_string(&stack).expect("the stack file reads");
    assert!(text.contains(line), "{text}");
    let allowed = text.replace(
        line,
        &format!(r#"{line} allow="the p95 alarm is being tuned""#),
    );
    std::fs::write(&stack, allowed).expect("the stack file is written");
    let plan = w.infra(&["plan", &stack, "--var", "image-tag=2.0.0"], &[FAST_POLL]);
    expect(&plan, 0);
    assert!(
        !plan.stdout.contains("deployment alarm `"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("update in place"), "{}", plan.stdout);
}

/// An alarm that goes into ALARM while the new revision bakes: apply points the service back
/// at the revision it ran before, waits until that serves, and exits 3 saying so.
#[test]
fn deploy_alarms_firing_during_the_bake_restore_the_previous_revision() {
    let w = World::new("deploy-alarm-bake");
    let stack = alarm_stack(&w, Some("20s"));
    // A create has nothing to restore, so nothing bakes.
    let created = w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&created, 0);
    assert!(!created.stdout.contains("baking"), "{}", created.stdout);
    let family = format!("{}-app", w.stack);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let first = app(&w, &ecs)
        .task_definition()
        .map(str::to_string)
        .expect("the service runs a revision");
    assert!(first.ends_with(&format!("{family}:1")), "{first}");

    let child = w
        .command(
            &[
                "apply",
                &stack,
                "--auto-approve",
                "--var",
                "image-tag=2.0.0",
                "--wait-timeout",
                "60s",
            ],
            &[FAST_POLL],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("infra starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !app(&w, &ecs)
        .task_definition()
        .is_some_and(|td| td.ends_with(&format!("{family}:2")))
    {
        assert!(Instant::now() < deadline, "apply never deployed revision 2");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Revision 2 is deployed and baking: the error rate goes up.
    set_alarm(
        &w,
        &format!("{}-5xx", w.stack),
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    );

    let out = child.wait_with_output().expect("infra ends");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("baking `"), "bake progress is shown: {all}");
    assert!(
        all.contains(&format!(
            "service `app`: alarm `{stack}-5xx` went into ALARM while `{family}:2` baked; the \
             previous revision `{family}:1` was restored and serves",
            stack = w.stack
        )),
        "{all}"
    );
    assert!(!all.contains("Apply complete"), "{all}");
    let serving = app(&w, &ecs)
        .task_definition()
        .map(str::to_string)
        .expect("the service runs a revision");
    assert!(serving.ends_with(&format!("{family}:1")), "{serving}");
}
