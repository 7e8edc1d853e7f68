//! Plans after a real apply are empty when moto answers the way AWS does.
//!
//! infra's calls go through the proxy with its AWS-shaped layer on ([`super::shape`]): answers
//! carry the defaults AWS fills in, key ARNs where ids were sent, `dualstack.` alias targets,
//! lists in another order and optional fields left out. Every reference stack is applied
//! through it and planned again, which must find nothing to do; then each perpetual diff of
//! that kind that was found and fixed has its own test.

use std::sync::Arc;

use super::harness::expect;
use super::live_ecs::{FAST_POLL, stack_text, write};
use super::moto::World;
use super::proxy::{Faults, Proxy};
use super::reference::{ENV, Reference, SAKE_SENSEI, SASHA, SLEEK_COACH_PROD};
use super::shape::Shape;

/// A world whose infra calls get AWS-shaped answers; set-up and checks still go straight to
/// moto. The proxy stays alive with the returned handle.
fn shaped_world(name: &str, shape: Shape) -> (World, Proxy, Arc<Shape>) {
    let mut w = World::new(name);
    let proxy = Proxy::start(&w.url, Faults::default());
    let shape = proxy.shape_answers(shape);
    w.through(&proxy);
    (w, proxy, shape)
}

fn env() -> Vec<(&'static str, &'static str)> {
    let mut env = ENV.to_vec();
    env.push(FAST_POLL);
    env
}

fn applies_then_plans_nothing(r: &Reference, reshaped: &[&str]) {
    // A server of its own: the reference tests make the same network on the shared one, and a
    // second VPC of that name would make their look-ups ambiguous.
    let mut w = World::isolated(r.stack);
    r.prepare(&mut w);
    let proxy = Proxy::start(&w.url, Faults::default());
    let shape = proxy.shape_answers(Shape::aws());
    w.through(&proxy);
    let path = r.path();
    expect(&w.infra(&["apply", &path, "--auto-approve"], &env()), 0);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &env());
    expect(&plan, 0);
    for file in reshaped {
        assert!(
            shape.applied(file) > 0,
            "{}: the answers {file} describes were reshaped",
            r.stack
        );
    }
    r.empty_repository(&w);
    expect(&w.infra(&["destroy", &path, "--auto-approve"], &env()), 0);
}

/// Every answer shape the reference stacks meet (each has alias records to its load balancer
/// and a task definition with environment variables; the two built from the web-service
/// module have a metric-math alarm).
const COMMON: [&str; 3] = [
    "route53-ListResourceRecordSets.txt",
    "ecs-DescribeTaskDefinition.txt",
    "elasticloadbalancing-DescribeLoadBalancers.txt",
];

#[test]
fn sasha_plans_nothing_after_an_apply_against_aws_shaped_answers() {
    applies_then_plans_nothing(&SASHA, &COMMON);
}

#[test]
fn sleek_coach_prod_plans_nothing_after_an_apply_against_aws_shaped_answers() {
    let mut reshaped = COMMON.to_vec();
    reshaped.push("monitoring-DescribeAlarms.txt");
    applies_then_plans_nothing(&SLEEK_COACH_PROD, &reshaped);
}

#[test]
fn sake_sensei_plans_nothing_after_an_apply_against_aws_shaped_answers() {
    let mut reshaped = COMMON.to_vec();
    reshaped.push("monitoring-DescribeAlarms.txt");
    applies_then_plans_nothing(&SAKE_SENSEI, &reshaped);
}

/// The web-service example names no Container Insights setting for its cluster and no TLS
/// policy for its HTTPS listener: AWS reports the account's setting (`enabled` here) and its
/// default policy, and neither is a change. Its alias records (answered `dualstack.`) and its
/// metric-math alarms plan nothing either.
#[test]
fn settings_the_stack_leaves_to_aws_plan_nothing_when_aws_fills_them_in() {
    let mut w = super::select::prepared();
    let proxy = Proxy::start(&w.url, Faults::default());
    let shape = proxy.shape_answers(Shape::aws());
    w.through(&proxy);
    let stack = super::promises::two_services(&w);
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &[]), 0);
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    for file in [
        "ecs-DescribeClusters.txt",
        "route53-ListResourceRecordSets.txt",
        "monitoring-DescribeAlarms.txt",
    ] {
        assert!(
            shape.applied(file) > 0,
            "the answers {file} describes were reshaped"
        );
    }
    // The stack names neither, and AWS (the emulator too, at CreateListener) filled in a policy.
    let text = std::fs::read_to_string(&stack).expect("the stack file");
    assert!(!text.contains("container-insights") && !text.contains("ssl-policy"));
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&w.config_in("eu-central-1"));
    let policies: Vec<String> = w.rt.block_on(async {
        let lbs = elb
            .describe_load_balancers()
            .names(&w.stack)
            .send()
            .await
            .expect("the load balancer is described");
        let arn = lbs.load_balancers()[0]
            .load_balancer_arn()
            .expect("an ARN")
            .to_string();
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(arn)
            .send()
            .await
            .expect("the listeners are described");
        listeners
            .listeners()
            .iter()
            .filter_map(|l| l.ssl_policy())
            .map(str::to_string)
            .collect()
    });
    assert_eq!(policies, ["ELBSecurityPolicy-2016-08"]);
    expect(&w.infra(&["destroy", &stack, "--auto-approve"], &[]), 0);
}

const KEY_ID: &str = "0a1b2c3d-1111-2222-3333-444455556666";

fn secrets_stack(w: &World, extra: &str) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness passes it to every plan"

secret "by-id" {{
    name "{stack}/by-id"
    value unmanaged=#true allow="only the key is compared here"
    kms-key "{KEY_ID}"
}}
secret "by-arn" {{
    name "{stack}/by-arn"
    value unmanaged=#true allow="only the key is compared here"
    kms-key "arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"
}}
secret "default-key" {{
    name "{stack}/default-key"
    value unmanaged=#true allow="only the key is compared here"
    kms-key "alias/aws/secretsmanager"
}}
secret "no-key" {{
    name "{stack}/no-key"
    value unmanaged=#true allow="only the key is compared here"
}}
{extra}"#,
        stack = w.stack
    );
    let path = w.dir.join("secrets.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

/// AWS reports a secret's key by its ARN, and none for aws/secretsmanager: a key id, its ARN
/// and the default alias plan nothing once applied; an alias, which only KMS could match with
/// the ARN, is planned with a note that says so.
#[test]
fn a_secrets_key_written_as_id_arn_or_default_alias_plans_nothing() {
    let (w, _proxy, shape) = shaped_world("kms", Shape::aws().alias("alias/shop", KEY_ID));
    let path = secrets_stack(&w, "");
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    // The key id became its ARN (moto already leaves the default key out).
    assert!(shape.applied("secretsmanager-ListSecrets.txt") > 0);

    let alias = "secret \"by-alias\" {\n    name \"${stack.name}/by-alias\"\n    value unmanaged=#true allow=\"only the key is compared here\"\n    kms-key \"alias/shop\"\n}\n";
    let path = secrets_stack(&w, alias);
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("kms_alias_compared_by_arn", w.redact(&plan.stdout));
}

/// A metric-math alarm whose answer leaves out `ReturnData` where it is false (sleek-coach-prod
/// and sake-sensei above) compares equal to the stack, whose default is false.
#[test]
fn a_metric_math_alarm_without_return_data_in_the_answer_plans_nothing() {
    let (w, _proxy, shape) = shaped_world("math", Shape::aws());
    let text =
        std::fs::read_to_string(super::harness::root().join("examples/alarm-metric-math.kdl"))
            .expect("the example exists");
    // Its own stack and alarm names: the emulator is shared.
    let text = text
        .replacen(
            "stack \"alarms-demo\"",
            &format!("stack \"{}\"", w.stack),
            1,
        )
        .replace("name \"web-", &format!("name \"{}-", w.stack))
        + "\nvariable \"domain\" type=\"string\"\n";
    let path = w.dir.join("math.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    let path = path.to_string_lossy().into_owned();
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    assert!(shape.applied("monitoring-DescribeAlarms.txt") > 0);
}

/// A service that names its task definition by family runs the family's latest ACTIVE
/// revision: no deployment on every apply; once a newer revision exists, one deployment to it.
#[test]
fn a_service_naming_a_bare_family_plans_nothing_while_it_runs_the_latest_revision() {
    let (w, _proxy, _shape) = shaped_world("family", Shape::aws());
    let text = stack_text(&w, 1, "    depends-on \"task-definition.app\"\n").replace(
        "task-definition (ref)\"task-definition.app\"",
        &format!("task-definition \"{}-app\"", w.stack),
    );
    let path = write(&w, &text);
    expect(
        &w.infra(&["apply", &path, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 0);

    // A new revision: the service, still on the old one, moves to it on the next apply.
    let v2 = ["--var", "image-tag=2.0.0"];
    expect(
        &w.infra(
            &["apply", &path, "--auto-approve", v2[0], v2[1]],
            &[FAST_POLL],
        ),
        0,
    );
    let plan = w.infra(
        &["plan", &path, "--detailed-exitcode", v2[0], v2[1]],
        &[FAST_POLL],
    );
    expect(&plan, 2);
    assert!(
        plan.stdout.contains(&format!(
            "task-definition  \"{}-app:1\" → \"{}-app\"",
            w.stack, w.stack
        )),
        "{}",
        plan.stdout
    );
    expect(
        &w.infra(
            &["apply", &path, "--auto-approve", v2[0], v2[1]],
            &[FAST_POLL],
        ),
        0,
    );
    let plan = w.infra(
        &["plan", &path, "--detailed-exitcode", v2[0], v2[1]],
        &[FAST_POLL],
    );
    expect(&plan, 0);
}
