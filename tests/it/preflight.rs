//! What a stack uses but does not own is checked at plan, before any write: the images its
//! containers run (ECR, through moto's `PutImage`) and the secrets they read; and
//! `infra secret set` writes a value and restarts its readers in one step.
//!
//! moto derives an image's digest from its layer digests and keeps `imagePushedAt` in whole
//! seconds: each push here has a layer of its own, and pushes that must be ordered are a
//! second apart.

use std::time::Duration;

use super::harness::expect;
use super::live_ecs::{FAST_POLL, stack_text, write};
use super::moto::World;

const ACCOUNT: &str = "123456789012";

/// A task definition whose container runs `<repo>:${var.tag}` from ECR.
fn image_stack(w: &World, header: &str, image_extra: &str, container_extra: &str) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"{header}

variable "domain" type="string" default="example.com" allow="the test harness passes it to every plan"
variable "tag" type="string" default="v1"

task-definition "api" {{
    family "{stack}-api"
    cpu 256
    memory 512
    execution-role "arn:aws:iam::{ACCOUNT}:role/{stack}-execution"
    container "web" {{
        image "{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{stack}:${{var.tag}}"{image_extra}
        environment {{
            MODE "production"
        }}
{container_extra}    }}
}}
"#,
        stack = w.stack
    );
    let path = w.dir.join("images.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

/// The image the task definition's latest revision registers.
fn registered_image(w: &World) -> Option<String> {
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let family = format!("{}-api", w.stack);
    let td =
        w.rt.block_on(
            ecs.describe_task_definition()
                .task_definition(&family)
                .send(),
        )
        .ok()?;
    td.task_definition()?
        .container_definitions()
        .first()?
        .image()
        .map(str::to_string)
}

fn tag(t: &str) -> String {
    format!("tag={t}")
}

/// main before this registered any tag it was given; a missing one failed only when ECS could
/// not pull it, long after apply said it was done.
#[test]
fn a_missing_image_stops_the_plan_before_any_write() {
    let w = World::new("image-missing");
    w.push_image("us-east-1", &w.stack, "v1", "missing-v1", &[]);
    let path = image_stack(&w, "", "", "");
    let plan = w.infra(&["plan", &path, "--var", &tag("v9")], &[]);
    expect(&plan, 1);
    insta::assert_snapshot!("image_missing", w.redact(&plan.stderr));
    let apply = w.infra(
        &["apply", &path, "--auto-approve", "--var", &tag("v9")],
        &[],
    );
    expect(&apply, 1);
    assert_eq!(registered_image(&w), None, "nothing was registered");
}

/// A deployed tag is registered by digest; an image pushed before the one that runs is refused
/// (seed 002: `.162` deployed after `.165`) unless `--allow-older-image`.
#[test]
fn images_are_pinned_and_an_older_one_is_refused() {
    let w = World::new("image-older");
    let v1 = w.push_image("us-east-1", &w.stack, "v1", "older-v1", &[]);
    std::thread::sleep(Duration::from_millis(1100));
    let v2 = w.push_image("us-east-1", &w.stack, "v2", "older-v2", &[]);
    let path = image_stack(&w, "", "", "");

    let apply = w.infra(
        &["apply", &path, "--auto-approve", "--var", &tag("v2")],
        &[],
    );
    expect(&apply, 0);
    let image = registered_image(&w).expect("a revision is registered");
    assert!(image.ends_with(&format!(":v2@{v2}")), "{image}");
    let again = w.infra(
        &["plan", &path, "--detailed-exitcode", "--var", &tag("v2")],
        &[],
    );
    expect(&again, 0);

    let older = w.infra(&["plan", &path, "--var", &tag("v1")], &[]);
    expect(&older, 1);
    let said = &older.stderr;
    assert!(said.contains("infra::older-image"), "{said}");
    // miette wraps long messages: read them as one line.
    let said = said.replace("\n  │ ", "");
    assert!(
        said.contains(&format!("`{}:v1` (pushed 20", w.stack))
            && said.contains(&format!("{}:v2` (pushed 20", w.stack)),
        "both tags and push times are named: {said}"
    );
    let meant = w.infra(
        &[
            "plan",
            &path,
            "--detailed-exitcode",
            "--allow-older-image",
            "--var",
            &tag("v1"),
        ],
        &[],
    );
    expect(&meant, 2);
    assert!(
        meant.stdout.contains(&format!(":v1@{v1}")),
        "{}",
        meant.stdout
    );
}

/// A tag pushed again names another image: the plan says so (a warning), a production stack
/// stops, and `allow="..."` on the image line accepts it.
#[test]
fn a_moved_tag_is_a_warning_and_stops_a_production_plan() {
    let w = World::new("image-moved");
    w.push_image("us-east-1", &w.stack, "v1", "moved-a", &[]);
    let path = image_stack(&w, "", "", "");
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    std::thread::sleep(Duration::from_millis(1100));
    let moved = w.push_image("us-east-1", &w.stack, "v1", "moved-b", &[]);

    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    assert!(
        plan.stdout.contains("moved since the last deploy"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!(":v1@{moved}")),
        "{}",
        plan.stdout
    );

    let production = image_stack(&w, " production=#true", "", "");
    let refused = w.infra(&["plan", &production], &[]);
    expect(&refused, 1);
    assert!(
        refused.stderr.contains("moved since the last deploy"),
        "{}",
        refused.stderr
    );

    let accepted = image_stack(
        &w,
        " production=#true",
        " allow=\"v1 is rebuilt nightly on purpose\"",
        "",
    );
    let plan = w.infra(&["plan", &accepted, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    assert!(
        !plan.stdout.contains("moved since the last deploy"),
        "{}",
        plan.stdout
    );
}

/// An image may list the environment it needs (`dev.infra.required-env`); a container that
/// does not set a name is stopped at plan (seed 002: AI_MAX_TOKENS_IN missing after a deploy).
/// `requires-env` in the stack says the same without AWS.
#[test]
fn an_image_gets_the_environment_it_requires() {
    let w = World::new("image-env");
    w.push_image(
        "us-east-1",
        &w.stack,
        "v1",
        "env-v1",
        &[("dev.infra.required-env", "AI_MAX_TOKENS_IN, MODE")],
    );
    let path = image_stack(&w, "", "", "");
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 1);
    insta::assert_snapshot!("image_requires_env", w.redact(&plan.stderr));

    let given = image_stack(&w, "", "", "");
    let text = std::fs::read_to_string(&given).expect("the stack file is read");
    std::fs::write(
        &given,
        text.replace(
            "MODE \"production\"",
            "MODE \"production\"\n            AI_MAX_TOKENS_IN \"4000\"",
        ),
    )
    .expect("the stack file is written");
    let plan = w.infra(&["plan", &given, "--detailed-exitcode"], &[]);
    expect(&plan, 2);

    let declared = image_stack(&w, "", "", "        requires-env \"LOG_LEVEL\"\n");
    let validate = w.infra(&["validate", &declared], &[]);
    expect(&validate, 1);
    assert!(
        validate
            .stderr
            .contains("requires `LOG_LEVEL` in its environment"),
        "{}",
        validate.stderr
    );
}

/// A plan that drops an environment name the running revision sets says so on a line of its
/// own.
#[test]
fn a_plan_that_drops_an_environment_name_says_so() {
    let w = World::new("env-dropped");
    let first = write(&w, &stack_text(&w, 2, ""));
    expect(
        &w.infra(&["apply", &first, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    let text = stack_text(&w, 2, "").replace("            MODE \"production\"\n", "");
    let second = write(&w, &text);
    let plan = w.infra(&["plan", &second, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    assert!(
        plan.stdout.contains(
            "removes `MODE` from the environment of container `web`: the running revision sets it"
        ),
        "{}",
        plan.stdout
    );
}

/// A secret read from outside the stack must exist, have a value and not be on its way out;
/// checked with DescribeSecret, never its value.
#[test]
fn secrets_read_from_outside_the_stack_must_be_readable() {
    let w = World::new("secret-contract");
    let missing = format!(
        "arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{}-gone-AbCdEf",
        w.stack
    );
    let text = stack_text(&w, 2, "");
    let ours = w.external_secret(&format!("{}-db", w.stack));
    let path = write(&w, &text.replace(&ours, &missing));
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 1);
    assert!(
        plan.stderr
            .contains("`DB_PASSWORD` of container `web` reads a secret that does not exist"),
        "{}",
        plan.stderr
    );

    let sm = aws_sdk_secretsmanager::Client::new(&w.config);
    w.rt.block_on(
        sm.delete_secret()
            .secret_id(&ours)
            .recovery_window_in_days(7)
            .send(),
    )
    .expect("moto schedules the deletion");
    let path = write(&w, &text);
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 1);
    assert!(
        plan.stderr.contains("is scheduled for deletion"),
        "{}",
        plan.stderr
    );
}

/// `infra secret set` writes the value from stdin (never shown), restarts the service that
/// reads it, and records the version, so the next plan is empty.
#[test]
fn secret_set_writes_the_value_and_restarts_its_readers() {
    use std::io::Write;
    let w = World::new("secret-set");
    let value = "canary-6c1f0e-never-shown";
    let text = stack_text(&w, 2, "").replacen(
        "        secrets {\n",
        "        secrets {\n            TOKEN (ref)\"secret.token\"\n",
        1,
    ) + &format!(
        "\nsecret \"token\" {{\n    name \"{}-token\"\n}}\n",
        w.stack
    );
    let path = write(&w, &text);
    expect(
        &w.infra(&["apply", &path, "--auto-approve"], &[FAST_POLL]),
        0,
    );

    let mut child = w
        .command(
            &["secret", "set", &path, "secret.token", "--auto-approve"],
            &[FAST_POLL],
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("infra starts");
    child
        .stdin
        .take()
        .expect("a stdin")
        .write_all(value.as_bytes())
        .expect("the value is written");
    let out = child.wait_with_output().expect("infra ends");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(value) && !stderr.contains(value),
        "the value is never shown"
    );
    assert!(stdout.contains("service.app: restarted"), "{stdout}");

    let sm = aws_sdk_secretsmanager::Client::new(&w.config);
    let current =
        w.rt.block_on(
            sm.get_secret_value()
                .secret_id(format!("{}-token", w.stack))
                .send(),
        )
        .expect("the secret has a value");
    assert_eq!(current.secret_string(), Some(value));
    let version = current.version_id().expect("a version").to_string();
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let service =
        w.rt.block_on(
            ecs.describe_services()
                .cluster(&w.stack)
                .services("app")
                .include(aws_sdk_ecs::types::ServiceField::Tags)
                .send(),
        )
        .expect("the service is described");
    let recorded = service.services()[0]
        .tags()
        .iter()
        .find(|t| t.key() == Some("infra:secret:secret.token"))
        .and_then(|t| t.value())
        .map(str::to_string);
    assert_eq!(recorded.as_deref(), Some(version.as_str()));
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
}

/// A hand-made secret with the name of the stack's secret is never written by `secret set`:
/// it is not the stack's, so the command refuses and the value stays what it was.
#[test]
fn secret_set_never_writes_a_look_alike_it_does_not_own() {
    use std::io::Write;
    let w = World::new("secret-lookalike");
    let name = format!("{}-token", w.stack);
    let sm = aws_sdk_secretsmanager::Client::new(&w.config);
    w.rt.block_on(
        sm.create_secret()
            .name(&name)
            .secret_string("someone else's value")
            .send(),
    )
    .expect("moto makes the look-alike");
    let path = w.dir.join("lookalike.kdl");
    std::fs::write(
        &path,
        format!(
            "stack \"{}\" region=\"us-east-1\"\n\nvariable \"domain\" type=\"string\" default=\"x\" allow=\"the harness passes it\"\n\nsecret \"token\" {{\n    name \"{name}\"\n}}\n",
            w.stack
        ),
    )
    .expect("the stack file is written");
    let path = path.display().to_string();
    let mut child = w
        .command(
            &["secret", "set", &path, "secret.token", "--auto-approve"],
            &[],
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("infra starts");
    child
        .stdin
        .take()
        .expect("a stdin")
        .write_all(b"canary-look-alike-value")
        .expect("the value is written");
    let out = child.wait_with_output().expect("infra ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not stack"), "{stderr}");
    let kept =
        w.rt.block_on(sm.get_secret_value().secret_id(&name).send())
            .expect("the look-alike still has its value");
    assert_eq!(kept.secret_string(), Some("someone else's value"));
}
