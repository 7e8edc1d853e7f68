//! `infra verify` and `infra status` against moto: a stack with a service behind a load
//! balancer, an alias record, an alarm and a probe.
//!
//! moto runs no tasks and registers none with target groups: the tests register an IP target
//! themselves (moto reports every registered target healthy). Its services report two running
//! tasks (`MOTO_ECS_SERVICE_RUNNING=2`), so the service wants two.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use super::harness::expect;
use super::live_ecs::FAST_POLL;
use super::live_elbv2::Network;
use super::moto::World;

/// The target the tests register (inside moto's default VPC, 172.31.0.0/16).
const TARGET: &str = "172.31.0.10";

/// A cluster, a task definition, a service registering with target group `api`, a load
/// balancer forwarding to it, a record aliasing the load balancer, an alarm, and `extra`
/// (probes) at the end.
fn stack(w: &World, n: &Network, extra: &str) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness passes it to every plan"

lookup "hosted-zone" "main" name=(var)"domain"

cluster "main" {{
    name "{stack}"
}}

load-balancer "main" {{
    name "{name}"
    subnets "{a}" "{b}"
    security-groups "{sg}"
}}

target-group "api" {{
    name "{name}-api"
    port 8080
    vpc "{vpc}"
    target-type "ip"
}}

listener "http" {{
    load-balancer (ref)"load-balancer.main"
    port 80
    protocol "HTTP"
    forward (ref)"target-group.api"
}}

record "www" {{
    zone (ref)"lookup.hosted-zone.main"
    name "www.${{var.domain}}"
    type "A"
    alias dns-name=(ref)"load-balancer.main.dns-name" zone-id=(ref)"load-balancer.main.zone-id"
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

task-definition "app" {{
    family "{stack}-app"
    cpu 256
    memory 512
    container "web" {{
        image "nginx:1.27.0"
        // moto's RunTask adds up the containers' memory.
        memory 256
        port-mapping 8080
        environment {{
            MODE "production"
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
    load-balancer (ref)"target-group.api" container="web" port=8080
}}
{extra}"#,
        stack = w.stack,
        name = n.name,
        a = n.subnets[0],
        b = n.subnets[1],
        sg = n.group,
        vpc = vpc_of(w, &n.subnets[0]),
    );
    let path = w.dir.join("verify.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

fn vpc_of(w: &World, subnet: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&w.config);
    w.rt.block_on(ec2.describe_subnets().subnet_ids(subnet).send())
        .expect("moto describes the subnet")
        .subnets()
        .first()
        .and_then(|s| s.vpc_id())
        .expect("the subnet's VPC")
        .to_string()
}

fn elbv2(w: &World) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&w.config)
}

/// The ARN of the stack's target group.
fn group_arn(w: &World, n: &Network) -> String {
    w.rt.block_on(
        elbv2(w)
            .describe_target_groups()
            .names(format!("{}-api", n.name))
            .send(),
    )
    .expect("moto describes the target group")
    .target_groups()
    .first()
    .and_then(|g| g.target_group_arn())
    .expect("the target group exists")
    .to_string()
}

fn target(ip: &str) -> aws_sdk_elasticloadbalancingv2::types::TargetDescription {
    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
        .id(ip)
        .port(8080)
        .build()
}

fn register(w: &World, n: &Network, ip: &str) {
    w.rt.block_on(
        elbv2(w)
            .register_targets()
            .target_group_arn(group_arn(w, n))
            .targets(target(ip))
            .send(),
    )
    .expect("moto registers the target");
}

/// Runs one task of the stack's task definition in its cluster (moto's services start none;
/// moto's ListTasks does not filter by service, so the service counts it as its own) and
/// returns the private IP address moto gave it.
fn run_task(w: &World, n: &Network) -> String {
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let network = aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                .subnets(&n.subnets[0])
                .security_groups(&n.group)
                .build()
                .expect("an awsvpc configuration"),
        )
        .build();
    let ran =
        w.rt.block_on(
            ecs.run_task()
                .cluster(&w.stack)
                .task_definition(format!("{}-app:1", w.stack))
                .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
                .network_configuration(network)
                .send(),
        )
        .expect("moto runs the task");
    ran.tasks()
        .first()
        .into_iter()
        .flat_map(|t| t.attachments())
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .expect("the task has a private IP address")
        .to_string()
}

/// Applies the stack and registers the test's target: a stack that verifies (also the live
/// runbook's, in `runbook.rs`).
pub fn healthy(w: &World, n: &Network, extra: &str) -> String {
    let path = stack(w, n, extra);
    expect(
        &w.infra(&["apply", &path, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    register(w, n, TARGET);
    path
}

/// An HTTP server on 127.0.0.1 answering every request with the status in `status` and a body
/// saying so; returns its base URL.
fn server(status: Arc<AtomicU16>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!(
        "http://{}",
        listener.local_addr().expect("the server's address")
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let code = status.load(Ordering::SeqCst);
            let body = if code == 200 { "ready: ok" } else { "starting" };
            let answer = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}

fn line<'a>(text: &'a str, subject: &str, what: &str) -> &'a str {
    text.lines()
        .find(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.get(1) == Some(&subject) && words.get(2) == Some(&what)
        })
        .unwrap_or_else(|| panic!("no `{subject} {what}` line in:\n{text}"))
}

/// A stack as applied, with a registered target, verifies (exit 0), in every format; its
/// probe against a server answering 200 passes. The probe answering 503 fails (exit 2), and
/// so does a running task whose target was deregistered, named.
#[test]
fn verify_passes_a_healthy_stack_and_fails_a_probe_or_target_that_is_not() {
    let w = World::new("verify-healthy");
    let n = Network::of(&w);
    let status = Arc::new(AtomicU16::new(200));
    let url = server(status.clone());
    let probe = format!(
        "\nprobe \"ready\" {{\n    url \"{url}/health/ready\"\n    expect-status 200\n    \
         expect-body \"ok\"\n    timeout \"2s\"\n}}\n"
    );
    let path = healthy(&w, &n, &probe);

    let out = w.infra(&["verify", &path], &[]);
    expect(&out, 0);
    for (subject, what) in [
        ("task-definition.app", "definition"),
        ("service.app", "definition"),
        ("service.app", "tasks"),
        ("target-group.api", "targets"),
        ("alarm.api-5xx", "alarm"),
        ("record.www", "dns"),
        ("probe.ready", "probe"),
    ] {
        assert!(
            line(&out.stdout, subject, what).starts_with("  pass "),
            "{}",
            out.stdout
        );
    }
    assert!(
        line(&out.stdout, "target-group.api", "targets").contains(&format!("{TARGET}:8080")),
        "{}",
        out.stdout
    );
    let json = w.infra(&["verify", &path, "--format", "json"], &[]);
    expect(&json, 0);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(report["passed"], true, "{}", json.stdout);
    assert_eq!(report["summary"]["fail"], 0, "{}", json.stdout);
    let markdown = w.infra(&["verify", &path, "--format", "markdown"], &[]);
    expect(&markdown, 0);
    assert!(
        markdown.stdout.contains("| ✅ | `probe.ready` | probe |"),
        "{}",
        markdown.stdout
    );

    status.store(503, Ordering::SeqCst);
    let out = w.infra(&["verify", &path], &[]);
    expect(&out, 2);
    let probe_line = line(&out.stdout, "probe.ready", "probe");
    assert!(probe_line.starts_with("  FAIL "), "{}", out.stdout);
    assert!(
        probe_line.contains("status 503, expected 200"),
        "{}",
        out.stdout
    );
    status.store(200, Ordering::SeqCst);

    // A task of the service runs, registered: both targets pass.
    let task = run_task(&w, &n);
    register(&w, &n, &task);
    let out = w.infra(&["verify", &path], &[]);
    expect(&out, 0);
    assert!(
        line(&out.stdout, "target-group.api", "targets").contains("2 healthy"),
        "{}",
        out.stdout
    );

    // The task's target is deregistered while the task runs: AWS forgets the target, but
    // verify asks about every running task by address, and names it.
    w.rt.block_on(
        elbv2(&w)
            .deregister_targets()
            .target_group_arn(group_arn(&w, &n))
            .targets(target(&task))
            .send(),
    )
    .expect("moto deregisters the target");
    let out = w.infra(&["verify", &path], &[]);
    expect(&out, 2);
    let targets = line(&out.stdout, "target-group.api", "targets");
    assert!(targets.starts_with("  FAIL "), "{}", out.stdout);
    assert!(
        targets.contains(&format!("{task}:8080 unused (Target.NotRegistered")),
        "{}",
        out.stdout
    );
    assert!(
        !targets.contains(TARGET),
        "the healthy target is not a failure: {}",
        out.stdout
    );
    assert!(
        line(&out.stdout, "probe.ready", "probe").starts_with("  pass "),
        "{}",
        out.stdout
    );
}

/// A task definition registered and deployed out of band (another image) is not what the
/// stack says: verify fails (exit 2), naming the image it runs and the stack's.
#[test]
fn verify_fails_when_the_service_runs_a_task_definition_from_elsewhere() {
    let w = World::new("verify-td");
    let n = Network::of(&w);
    let path = healthy(&w, &n, "");
    expect(&w.infra(&["verify", &path], &[]), 0);

    // As `aws ecs describe-task-definition --include TAGS`, an edited image, then
    // `register-task-definition` would: the tags (infra's ownership) come along.
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let family = format!("{}-app", w.stack);
    let tags =
        w.rt.block_on(
            ecs.describe_task_definition()
                .task_definition(format!("{family}:1"))
                .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                .send(),
        )
        .expect("moto describes the task definition")
        .tags()
        .to_vec();
    assert!(!tags.is_empty(), "infra tags what it registers");
    let registered =
        w.rt.block_on(
            ecs.register_task_definition()
                .family(&family)
                .cpu("256")
                .memory("512")
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("web")
                        .image("nginx:9.9.9")
                        .build(),
                )
                .set_tags(Some(tags))
                .send(),
        )
        .expect("moto registers the task definition");
    let arn = registered
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("an ARN")
        .to_string();
    w.rt.block_on(
        ecs.update_service()
            .cluster(&w.stack)
            .service("app")
            .task_definition(&arn)
            .send(),
    )
    .expect("moto updates the service");

    let out = w.infra(&["verify", &path], &[]);
    expect(&out, 2);
    let definition = line(&out.stdout, "task-definition.app", "definition");
    assert!(definition.starts_with("  FAIL "), "{}", out.stdout);
    assert!(
        definition.contains("container.web.image (live `nginx:9.9.9`, stack `nginx:1.27.0`)"),
        "{}",
        out.stdout
    );
    assert!(
        line(&out.stdout, "service.app", "definition").contains(&format!("{family}:2")),
        "{}",
        out.stdout
    );
}

/// An alarm of the stack in ALARM fails verify (exit 2); `status` shows the service's line and
/// the alarm's state.
#[test]
fn verify_fails_on_an_alarm_in_alarm_and_status_shows_it() {
    let w = World::new("verify-alarm");
    let n = Network::of(&w);
    let path = healthy(&w, &n, "");
    let cw = aws_sdk_cloudwatch::Client::new(&w.config);
    w.rt.block_on(
        cw.set_alarm_state()
            .alarm_name(format!("{}-5xx", w.stack))
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("set by the test")
            .send(),
    )
    .expect("moto sets the alarm's state");

    let out = w.infra(&["verify", &path], &[]);
    expect(&out, 2);
    let alarm = line(&out.stdout, "alarm.api-5xx", "alarm");
    assert!(alarm.starts_with("  FAIL "), "{}", out.stdout);
    assert!(alarm.contains("is in ALARM"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("1 failed.\n"),
        "only the alarm fails: {}",
        out.stdout
    );

    // apply --verify runs the same checks after a successful apply: exit 2.
    let apply = w.infra(
        &["apply", &path, "--auto-approve", "--verify"],
        &[FAST_POLL],
    );
    expect(&apply, 2);
    assert!(
        line(&apply.stdout, "alarm.api-5xx", "alarm").starts_with("  FAIL "),
        "{}",
        apply.stdout
    );

    let status = w.infra(&["status", &path], &[]);
    expect(&status, 0);
    let times = regex_lite::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
        .expect("a valid pattern");
    let deployer = regex_lite::Regex::new(r"deployed by \S+").expect("a valid pattern");
    let shown = n.scrub(&w, &times.replace_all(&status.stdout, "TIME"));
    let shown = deployer
        .replace_all(&shown, "deployed by USER@HOST")
        .into_owned();
    // The deploy infra waited for is on record: who, when, and how it ended.
    assert!(
        shown.contains("deployed by USER@HOST TIME (verified)"),
        "{shown}"
    );
    insta::assert_snapshot!("verify_status", shown);
    let json = w.infra(&["status", &path, "--json"], &[]);
    expect(&json, 0);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(parsed["alarms"][0]["state"], "ALARM", "{}", json.stdout);
    assert_eq!(parsed["services"][0]["running"], 2, "{}", json.stdout);
}

/// A plain `apply` runs verify's checks after it changed something and prints them; it does not
/// when nothing changed, nor with `--no-verify`. The plain applies call the binary directly:
/// the harness adds `--no-verify` to every apply that does not name the flag.
#[test]
fn apply_verifies_what_it_changed_unless_told_not_to() {
    let w = World::new("verify-apply");
    let n = Network::of(&w);
    let path = stack(&w, &n, "");
    let domain = format!("domain={}", w.domain);
    let plain = || {
        super::harness::infra_with_env(
            &[
                "apply",
                &path,
                "--auto-approve",
                "--endpoint-url",
                &w.url,
                "--var",
                &domain,
            ],
            &[
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                FAST_POLL,
            ],
        )
    };
    let checks = "Verify stack `";

    // Everything created, no checks asked for: none printed.
    let skipped = w.infra(
        &["apply", &path, "--auto-approve", "--no-verify"],
        &[FAST_POLL],
    );
    expect(&skipped, 0);
    assert!(
        skipped.stdout.contains("Apply complete"),
        "{}",
        skipped.stdout
    );
    assert!(!skipped.stdout.contains(checks), "{}", skipped.stdout);
    register(&w, &n, TARGET);

    // Nothing to change: nothing to verify.
    let unchanged = plain();
    expect(&unchanged, 0);
    assert!(!unchanged.stdout.contains(checks), "{}", unchanged.stdout);

    // A change: the checks run after it, every one printed.
    let text = std::fs::read_to_string(&path).expect("the stack file reads");
    std::fs::write(&path, text.replace("threshold 10", "threshold 20"))
        .expect("the stack file is written");
    let changed = plain();
    expect(&changed, 0);
    assert!(
        changed.stdout.contains("Apply complete"),
        "{}",
        changed.stdout
    );
    assert!(changed.stdout.contains(checks), "{}", changed.stdout);
    assert!(
        line(&changed.stdout, "alarm.api-5xx", "alarm").starts_with("  pass "),
        "{}",
        changed.stdout
    );
    assert!(
        line(&changed.stdout, "target-group.api", "targets").starts_with("  pass "),
        "{}",
        changed.stdout
    );

    // A change with --no-verify: applied, no checks.
    std::fs::write(&path, text).expect("the stack file is written");
    let skipped = w.infra(
        &["apply", &path, "--auto-approve", "--no-verify"],
        &[FAST_POLL],
    );
    expect(&skipped, 0);
    assert!(
        skipped.stdout.contains("Apply complete"),
        "{}",
        skipped.stdout
    );
    assert!(!skipped.stdout.contains(checks), "{}", skipped.stdout);
}

/// A probe is read from the stack file and checked there: a URL that is not HTTP, a status
/// that is none, a timeout over a minute and an unknown child are each a diagnostic.
#[test]
fn probes_are_checked_when_the_stack_loads() {
    let w = World::new("verify-probe-lang");
    let path = w.dir.join("probes.kdl");
    std::fs::write(
        &path,
        r#"stack "probes" region="us-east-1"

probe "ready" {
    url "https://shop.example.com/health/ready"
    expect-status 200
    expect-body "ok"
    timeout "5s"
}

probe "bad" {
    url "ftp://shop.example.com"
    expect-status 42
    timeout "2m"
    expect-header "x"
}
"#,
    )
    .expect("the stack file is written");
    let out = w.infra(&["validate", &path.to_string_lossy()], &[]);
    expect(&out, 1);
    for said in [
        "`ftp://shop.example.com` is not an http:// or https:// URL",
        "42 is not an HTTP status",
        "a probe's timeout is between 1s and 60s, not `2m`",
        "a probe has no `expect-header`",
    ] {
        assert!(out.stderr.contains(said), "{said}: {}", out.stderr);
    }
    // The well-formed probe adds nothing.
    assert!(out.stderr.contains("4 problems found"), "{}", out.stderr);
}
