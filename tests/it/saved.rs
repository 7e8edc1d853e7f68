//! Saved plans: `plan --out` then `apply FILE` applies exactly what was reviewed, or refuses
//! and says what moved.

use super::harness::expect;
use super::moto::World;

const KEY: &str = "QUICKSTART_API_KEY";

#[test]
fn a_saved_plan_applies_exactly_or_refuses_when_anything_moved() {
    let w = World::new("saved");
    let canary = format!("saved-canary-{}", std::process::id());
    let env = [(KEY, canary.as_str())];
    let stack = w.stack_file("quickstart.kdl", |t| t);
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);

    // Reviewed: a retention change. Then someone changes the same log group by hand.
    let changed = w.stack_file("quickstart.kdl", |t| {
        t.replace("retention-days 14", "retention-days 30")
    });
    let file = w.dir.join("plan.infra");
    let file = file.to_string_lossy().into_owned();
    expect(&w.infra(&["plan", &changed, "--out", &file], &env), 0);
    let text = std::fs::read_to_string(&file).expect("the plan file is written");
    assert!(
        !text.contains(&canary),
        "the plan file holds the secret value"
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&w.config);
    w.rt.block_on(
        logs.put_retention_policy()
            .log_group_name(format!("/ecs/{}-api", w.stack))
            .retention_in_days(7)
            .send(),
    )
    .expect("retention changed out of band");
    let stale = w.infra(&["apply", &file, "--auto-approve"], &env);
    expect(&stale, 1);
    let stderr = stale
        .stderr
        .replace(w.dir.to_string_lossy().as_ref(), "DIR");
    insta::assert_snapshot!("stale_saved_plan", w.redact(&stderr));

    // Planned again with nothing moving in between: applied exactly, then nothing to do.
    expect(&w.infra(&["plan", &changed, "--out", &file], &env), 0);
    let applied = w.infra(&["apply", &file, "--auto-approve"], &env);
    expect(&applied, 0);
    assert!(
        applied
            .stdout
            .contains("Apply complete: 0 created, 1 updated"),
        "{}",
        applied.stdout
    );
    let again = w.infra(&["plan", &changed, "--detailed-exitcode"], &env);
    expect(&again, 0);

    // A plan for another stack, and a stack edited after planning, are refused.
    let other = w.dir.join("other.infra");
    std::fs::write(
        &other,
        text.replace(
            &format!("\"stack\": \"{}\"", w.stack),
            "\"stack\": \"someone-else\"",
        ),
    )
    .expect("a doctored plan is written");
    let foreign = w.infra(&["apply", &other.to_string_lossy(), "--auto-approve"], &env);
    expect(&foreign, 1);
    assert!(
        foreign
            .stderr
            .contains("it was made for stack `someone-else`"),
        "{}",
        foreign.stderr
    );
    expect(&w.infra(&["plan", &changed, "--out", &file], &env), 0);
    w.stack_file("quickstart.kdl", |t| {
        t.replace("retention-days 14", "retention-days 60")
    });
    let edited = w.infra(&["apply", &file, "--auto-approve"], &env);
    expect(&edited, 1);
    assert!(
        edited
            .stderr
            .contains("the stack changed since the plan was made"),
        "{}",
        edited.stderr
    );
}

/// A saved plan that was already applied says so in one line; one whose only difference is
/// the local value of a secret (the environment variable it comes from) says that, not that
/// AWS changed.
#[test]
fn a_saved_plan_says_what_moved_on_which_side() {
    let w = World::new("saved-sides");
    let env = [(KEY, "first-value")];
    let stack = w.stack_file("quickstart.kdl", |t| t);
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);
    let changed = w.stack_file("quickstart.kdl", |t| {
        t.replace("retention-days 14", "retention-days 30")
    });
    let file = w.dir.join("sides.infra").to_string_lossy().into_owned();
    expect(&w.infra(&["plan", &changed, "--out", &file], &env), 0);

    let local = w.infra(
        &["apply", &file, "--auto-approve"],
        &[(KEY, "a-new-local-value")],
    );
    expect(&local, 1);
    assert!(
        local.stderr.contains(
            "`secret.api-key`: the local value of `value` (the environment variable or file it \
             comes from) changed since the plan was made; AWS's copy did not"
        ),
        "{}",
        local.stderr
    );
    assert!(!local.stderr.contains("changed in AWS"), "{}", local.stderr);

    expect(&w.infra(&["apply", &file, "--auto-approve"], &env), 0);
    let twice = w.infra(&["apply", &file, "--auto-approve"], &env);
    expect(&twice, 0);
    let text = twice
        .stdout
        .replace(w.dir.to_string_lossy().as_ref(), "DIR");
    assert_eq!(
        w.redact(&text).trim_end(),
        "The saved plan `DIR/sides.infra` has already been applied: live AWS matches stack `STACK`; nothing to do."
    );
}
