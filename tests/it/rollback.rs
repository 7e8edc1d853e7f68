//! `infra rollback`: every revision infra deploys is tagged with how its wait ended, and a
//! rollback goes to the newest older revision that served, once its images are checked to
//! still exist in ECR.
//!
//! moto never runs containers nor evaluates alarms: a deploy fails here the way a bad one does
//! on AWS after its rollout, by its deployment alarm going into ALARM while it bakes
//! (`SetAlarmState`), which restores the revision before it.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;

use super::harness::expect;
use super::live_ecs::{FAST_POLL, network};
use super::moto::World;

const ACCOUNT: &str = "123456789012";

/// A cluster, an alarm, a task definition running `<stack>:${var.image-tag}` from ECR (keeping
/// two revisions) and a service of two tasks that bakes `${var.bake}` watching the alarm.
fn rollback_stack(w: &World) -> String {
    let (subnets, sg) = network(w);
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" default="example.com" allow="the test harness passes it to every plan"
variable "image-tag" type="string" default="v1"
variable "bake" type="string" default="1s"

cluster "main" {{
    name "{stack}"
}}

alarm "errors" {{
    name "{stack}-errors"
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
    keep-revisions 2
    execution-role "arn:aws:iam::{ACCOUNT}:role/{stack}-execution"
    container "web" {{
        image "{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{stack}:${{var.image-tag}}"
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
    deployment {{
        alarms (ref)"alarm.errors"
        bake "${{var.bake}}"
    }}
}}
"#,
        stack = w.stack,
        a = subnets[0],
        b = subnets[1],
    );
    let path = w.dir.join("rollback.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

fn deploy(w: &World, stack: &str, tag: &str, extra: &[&str]) -> super::harness::Output {
    let var = format!("image-tag={tag}");
    let mut args = vec!["apply", stack, "--auto-approve", "--var", &var];
    args.extend_from_slice(extra);
    w.infra(&args, &[FAST_POLL])
}

fn set_alarm(w: &World, name: &str, state: StateValue) {
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

/// `text` with every image digest as `sha256:DIGEST`.
fn digests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        out.push_str(&rest[..at + 7]);
        rest = &rest[at + 7..];
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str("DIGEST");
        rest = &rest[hex..];
    }
    out.push_str(rest);
    out
}

/// The revision (`family:n`) the service runs.
fn serving(w: &World, ecs: &aws_sdk_ecs::Client) -> String {
    let out =
        w.rt.block_on(
            ecs.describe_services()
                .cluster(&w.stack)
                .services("app")
                .send(),
        )
        .expect("moto describes the service");
    let td = out
        .services()
        .first()
        .and_then(|s| s.task_definition())
        .expect("the service runs a task definition");
    td.rsplit('/').next().unwrap_or(td).to_string()
}

/// The `infra:outcome` tag of revision `n`, and whether it is ACTIVE.
fn outcome(w: &World, ecs: &aws_sdk_ecs::Client, n: u32) -> (Option<String>, bool) {
    let out =
        w.rt.block_on(
            ecs.describe_task_definition()
                .task_definition(format!("{}-app:{n}", w.stack))
                .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                .send(),
        )
        .expect("moto describes the revision");
    let tag = out
        .tags()
        .iter()
        .find(|t| t.key() == Some("infra:outcome"))
        .and_then(|t| t.value().map(str::to_string));
    let active = out
        .task_definition()
        .is_some_and(|td| td.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active));
    (tag, active)
}

/// v1 and v2 serve, v3 does not (its alarm fires while it bakes), v4 serves: the rollback from v4 skips
/// the failed v3 and goes to v2, tags survive keep-revisions, and the stack change to commit
/// names the image and the variable it comes from.
#[test]
fn a_rollback_skips_a_failed_revision_and_goes_to_the_newest_that_served() {
    let w = World::new("rollback");
    for (tag, layer) in [
        ("v1", "rb-v1"),
        ("v2", "rb-v2"),
        ("v3", "rb-v3"),
        ("v4", "rb-v4"),
    ] {
        w.push_image("us-east-1", &w.stack, tag, layer, &[]);
    }
    let stack = rollback_stack(&w);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let family = format!("{}-app", w.stack);

    expect(&deploy(&w, &stack, "v1", &[]), 0);
    expect(&deploy(&w, &stack, "v2", &[]), 0);
    // The outcome tag is infra's record, not the stack's: the next plan is empty.
    expect(
        &w.infra(
            &[
                "plan",
                &stack,
                "--detailed-exitcode",
                "--var",
                "image-tag=v2",
            ],
            &[FAST_POLL],
        ),
        0,
    );
    // v3 rolls out, then its error alarm fires while it bakes: v2 is restored.
    let child = w
        .command(
            &[
                "apply",
                &stack,
                "--auto-approve",
                "--var",
                "image-tag=v3",
                "--var",
                "bake=60s",
            ],
            &[FAST_POLL],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("infra starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while serving(&w, &ecs) != format!("{family}:3") {
        assert!(Instant::now() < deadline, "apply never deployed revision 3");
        std::thread::sleep(Duration::from_millis(50));
    }
    let alarm = format!("{}-errors", w.stack);
    set_alarm(&w, &alarm, StateValue::Alarm);
    let failed = child.wait_with_output().expect("infra ends");
    assert_eq!(
        failed.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert_eq!(
        serving(&w, &ecs),
        format!("{family}:2"),
        "the bake restored 2"
    );
    set_alarm(&w, &alarm, StateValue::Ok);
    expect(&deploy(&w, &stack, "v4", &[]), 0);
    assert_eq!(serving(&w, &ecs), format!("{family}:4"));
    assert_eq!(outcome(&w, &ecs, 2), (Some("verified".into()), true));
    assert_eq!(outcome(&w, &ecs, 3), (Some("failed".into()), true));
    assert_eq!(outcome(&w, &ecs, 4), (Some("verified".into()), true));
    // keep-revisions 2 keeps 3 and 4, and 2 as well: the only rollback target.
    assert_eq!(outcome(&w, &ecs, 1), (Some("verified".into()), false));

    let rollback = w.infra(
        &["rollback", &stack, "service.app", "--auto-approve"],
        &[FAST_POLL],
    );
    expect(&rollback, 0);
    assert_eq!(serving(&w, &ecs), format!("{family}:2"), "not the failed 3");
    assert_eq!(outcome(&w, &ecs, 2), (Some("verified".into()), true));
    // The wait's progress varies with timing; what it decided and asks to commit does not.
    let said: Vec<&str> = rollback
        .stdout
        .lines()
        .filter(|l| !l.starts_with("service.app: running "))
        .collect();
    insta::assert_snapshot!("rollback_to_v2", digests(&w.redact(&said.join("\n"))));

    // Applying the stack with what it says to commit runs the same image again (in a new
    // revision, the family's newest), and then the stack and AWS agree.
    // The preflight compares with the revision the service runs (v2 now), not the family's
    // newest (v4): no --allow-older-image.
    expect(&deploy(&w, &stack, "v2", &[]), 0);
    assert_eq!(serving(&w, &ecs), format!("{family}:5"));
    assert_eq!(
        image(&w, &ecs, 5),
        image(&w, &ecs, 2),
        "what runs did not change"
    );
    expect(
        &w.infra(
            &[
                "plan",
                &stack,
                "--detailed-exitcode",
                "--var",
                "image-tag=v2",
            ],
            &[FAST_POLL],
        ),
        0,
    );
}

/// The image of revision `n`'s container.
fn image(w: &World, ecs: &aws_sdk_ecs::Client, n: u32) -> Option<String> {
    let out =
        w.rt.block_on(
            ecs.describe_task_definition()
                .task_definition(format!("{}-app:{n}", w.stack))
                .send(),
        )
        .ok()?;
    out.task_definition()?
        .container_definitions()
        .first()?
        .image()
        .map(str::to_string)
}

/// A service with no older revision that served, or whose target image was deleted from ECR,
/// is not rolled back: the command says why and nothing changes.
#[test]
fn a_rollback_without_a_target_or_its_image_is_refused_and_changes_nothing() {
    let w = World::new("rollback-refused");
    let v1 = w.push_image("us-east-1", &w.stack, "v1", "rbr-v1", &[]);
    w.push_image("us-east-1", &w.stack, "v2", "rbr-v2", &[]);
    let stack = rollback_stack(&w);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let family = format!("{}-app", w.stack);
    let rollback = || {
        w.infra(
            &["rollback", &stack, "service.app", "--auto-approve"],
            &[FAST_POLL],
        )
    };

    expect(&deploy(&w, &stack, "v1", &[]), 0);
    let alone = rollback();
    expect(&alone, 1);
    assert!(
        alone.stderr.contains(&format!(
            "`service.app` has no revision older than `{family}:1` that served"
        )),
        "{}",
        alone.stderr
    );
    assert_eq!(serving(&w, &ecs), format!("{family}:1"));

    expect(&deploy(&w, &stack, "v2", &[]), 0);
    let ecr = aws_sdk_ecr::Client::new(&w.config);
    w.rt.block_on(
        ecr.batch_delete_image()
            .repository_name(&w.stack)
            .image_ids(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(&v1)
                    .build(),
            )
            .send(),
    )
    .expect("moto deletes the image");
    let deleted = rollback();
    expect(&deleted, 1);
    assert!(
        deleted
            .stderr
            .contains(&format!("cannot be rolled back to `{family}:1`"))
            && deleted.stderr.contains("no longer exists in ECR")
            && deleted.stderr.contains("nothing was changed"),
        "{}",
        deleted.stderr
    );
    assert_eq!(serving(&w, &ecs), format!("{family}:2"), "nothing changed");
    assert!(!deleted.stdout.contains("deploying"), "{}", deleted.stdout);
}

/// A revision of the family that another stack registered (its ownership tags name that stack)
/// is never a rollback target, however it is tagged: the family is a name any stack in the
/// account and region can register under.
#[test]
fn a_rollback_never_goes_to_another_stacks_revision_of_the_family() {
    let w = World::new("rollback-lookalike");
    for tag in ["v1", "v2", "v3"] {
        w.push_image("us-east-1", &w.stack, tag, &format!("rbl-{tag}"), &[]);
    }
    let stack = rollback_stack(&w);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let family = format!("{}-app", w.stack);
    for tag in ["v1", "v2", "v3"] {
        expect(&deploy(&w, &stack, tag, &[]), 0);
    }
    assert_eq!(outcome(&w, &ecs, 2), (Some("verified".into()), true));
    // Revision 2 now says it is another stack's (as one registered under the same family
    // would), still tagged verified.
    let arn = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{family}:2");
    w.rt.block_on(
        ecs.tag_resource()
            .resource_arn(&arn)
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key("infra:stack")
                    .value("someone-else")
                    .build(),
            )
            .send(),
    )
    .expect("moto tags the revision");

    let rollback = w.infra(
        &["rollback", &stack, "service.app", "--auto-approve"],
        &[FAST_POLL],
    );
    expect(&rollback, 1);
    assert!(
        rollback.stdout.contains(&format!(
            "skipped `{family}:2`: it was registered by `task-definition.app` of stack \
             `someone-else`"
        )),
        "{}",
        rollback.stdout
    );
    assert!(
        rollback.stderr.contains("nothing was changed"),
        "{}",
        rollback.stderr
    );
    assert_eq!(serving(&w, &ecs), format!("{family}:3"), "nothing changed");
}
