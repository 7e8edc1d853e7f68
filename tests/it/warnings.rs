//! Warnings: what a stack may do but is likely a mistake, shown by `validate` and in every plan
//! (text, Markdown, JSON) without failing anything, and silenced on the line with a reason.

use super::harness::{expect, infra};
use super::moto::World;

#[test]
fn likely_mistakes_are_warnings_and_each_is_silenced_on_its_line() {
    let warned = infra(&["validate", "tests/fixtures/warnings/likely-mistakes.kdl"]);
    expect(&warned, 0);
    insta::assert_snapshot!("likely_mistakes", warned.stderr);
    let allowed = infra(&["validate", "tests/fixtures/warnings/allowed.kdl"]);
    expect(&allowed, 0);
    assert_eq!(allowed.stderr, "", "every warning is allowed on its line");

    // A silence needs its reason.
    let dir = std::env::temp_dir().join(format!("infra-warnings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let path = dir.join("no-reason.kdl");
    let text = std::fs::read_to_string("tests/fixtures/warnings/allowed.kdl")
        .expect("the fixture")
        .replace("allow=\"a staging copy: one task is enough\"", "allow=\"\"");
    std::fs::write(&path, text).expect("the stack is written");
    let no_reason = infra(&["validate", &path.to_string_lossy()]);
    expect(&no_reason, 1);
    assert!(
        no_reason
            .stderr
            .contains("`allow` needs the reason the warning does not apply"),
        "{}",
        no_reason.stderr
    );
}

/// The deploy and availability risks of seed 002 (a liveness-only health path, deploys that
/// stop every task) and their kin are said at validate, each silenced on its line.
#[test]
fn deploy_and_availability_risks_are_warnings() {
    let warned = infra(&["validate", "tests/fixtures/warnings/deploy-risks.kdl"]);
    expect(&warned, 0);
    for code in [
        "infra::liveness-only-health-check",
        "infra::grace-shorter-than-start",
        "infra::single-subnet",
        "infra::no-minimum-healthy",
        "infra::breaker-without-health-check",
    ] {
        assert!(warned.stderr.contains(code), "{code}: {}", warned.stderr);
    }
    // The web service has a health check and two zones: only its grace period is said.
    assert!(
        !warned
            .stderr
            .contains("`service.web` has a circuit breaker")
            && !warned
                .stderr
                .contains("`service.web` places its tasks in one subnet"),
        "{}",
        warned.stderr
    );
    insta::assert_snapshot!("deploy_risks", warned.stderr);
    let allowed = infra(&[
        "validate",
        "tests/fixtures/warnings/deploy-risks-allowed.kdl",
    ]);
    expect(&allowed, 0);
    assert_eq!(allowed.stderr, "", "every warning is allowed on its line");
}

/// A secret operators set by hand is created empty: the plan says so (text, Markdown, JSON),
/// apply says so again, and the warning stays until someone sets it.
#[test]
fn a_secret_without_a_value_is_said_until_someone_sets_it() {
    let w = World::new("unset");
    let text = format!(
        "stack \"{}\" region=\"us-east-1\"\n\nvariable \"domain\" type=\"string\" allow=\"the test harness sets it\"\n\nsecret \"db\" {{\n    name \"{}/db\"\n    value unmanaged=#true\n}}\n",
        w.stack, w.stack
    );
    let path = w.dir.join("unset.kdl");
    std::fs::write(&path, text).expect("the stack is written");
    let stack = path.to_string_lossy().into_owned();
    let plan = w.infra(&["plan", &stack], &[]);
    expect(&plan, 0);
    insta::assert_snapshot!("secret_without_value_plan", w.redact(&plan.stdout));
    let markdown = w.infra(&["plan", &stack, "--format", "markdown"], &[]);
    assert!(
        markdown.stdout.contains("> [!CAUTION]")
            && markdown.stdout.contains("is created without a value"),
        "{}",
        markdown.stdout
    );
    let json = w.infra(&["plan", &stack, "--format", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(
        doc["warnings"][0]["code"], "infra::secret-without-value",
        "{}",
        json.stdout
    );
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &[]);
    expect(&apply, 0);
    let after = apply
        .stdout
        .split("Apply complete")
        .nth(1)
        .unwrap_or_default();
    assert!(
        after.contains("is created without a value"),
        "{}",
        apply.stdout
    );
    let again = w.infra(&["plan", &stack, "--detailed-exitcode"], &[]);
    expect(&again, 0);
    assert!(
        again.stdout.contains("has no value yet"),
        "{}",
        again.stdout
    );
    let secrets = aws_sdk_secretsmanager::Client::new(&w.config);
    w.rt.block_on(
        secrets
            .put_secret_value()
            .secret_id(format!("{}/db", w.stack))
            .secret_string("set-by-hand")
            .send(),
    )
    .expect("an operator sets the value");
    let set = w.infra(&["plan", &stack, "--detailed-exitcode"], &[]);
    expect(&set, 0);
    assert!(!set.stdout.contains("Warnings"), "{}", set.stdout);
}
