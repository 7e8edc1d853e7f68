//! `infra runbook`: the committed runbook of every reference stack is what the stack generates
//! today, `--check` reports a stale or missing runbook, and the commands it prints carry the
//! `--var-file`s it was generated with. No AWS.

use crate::docs::temp_dir;
use crate::harness::{expect, files, infra, root};

/// `stacks/<name>.kdl` → `stacks/<name>.runbook.md`.
fn runbook_of(stack: &str) -> String {
    format!("{}.runbook.md", stack.trim_end_matches(".kdl"))
}

/// Every reference stack has its runbook committed next to it, generated with the stack's
/// default variables. This fails as soon as a stack (or the runbook generator) changes without
/// the runbook; regenerate with `infra runbook stacks/<name>.kdl --out stacks/<name>.runbook.md`
/// for each, or all at once with `INFRA_UPDATE_DOCS=1 cargo test --test it runbook::`.
#[test]
fn the_committed_runbooks_are_what_the_stacks_generate() {
    let stacks = files("stacks", "kdl");
    assert!(stacks.len() >= 3, "{stacks:?}");
    let mut stale = Vec::new();
    for stack in &stacks {
        let stack = stack.display().to_string();
        let runbook = runbook_of(&stack);
        if std::env::var_os("INFRA_UPDATE_DOCS").is_some() {
            expect(&infra(&["runbook", &stack, "--out", &runbook]), 0);
        }
        let out = infra(&["runbook", &stack, "--check", &runbook]);
        if out.code != Some(0) {
            stale.push(format!(
                "{runbook} is out of date; regenerate it with `infra runbook {stack} --out \
                 {runbook}` (or all of them: `INFRA_UPDATE_DOCS=1 cargo test --test it \
                 runbook::`)\n{}{}",
                out.stdout, out.stderr
            ));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

#[test]
fn the_runbook_of_sasha() {
    let out = infra(&["runbook", "stacks/sasha.kdl"]);
    expect(&out, 0);
    assert_eq!(out.stderr, "");
    insta::assert_snapshot!("runbook-sasha", out.stdout);
}

#[test]
fn check_prints_a_diff_of_a_stale_runbook_and_names_a_missing_one() {
    let dir = temp_dir("runbook-check");
    let committed = std::fs::read_to_string(root().join("stacks/sasha.runbook.md"))
        .expect("the committed runbook");
    let stale = dir.join("stale.md");
    std::fs::write(
        &stale,
        committed.replace("| desired count | 1 |", "| desired count | 3 |"),
    )
    .expect("write");
    let stale = stale.display().to_string();
    let out = infra(&["runbook", "stacks/sasha.kdl", "--check", &stale]);
    expect(&out, 1);
    assert!(
        out.stdout
            .contains("-| desired count | 3 |\n+| desired count | 1 |\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "regenerate it with `infra runbook stacks/sasha.kdl --out {stale}`"
        )),
        "{}",
        out.stderr
    );
    let missing = dir.join("missing.md").display().to_string();
    let out = infra(&["runbook", "stacks/sasha.kdl", "--check", &missing]);
    expect(&out, 1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert!(out.stderr.contains("--out"), "{}", out.stderr);
    let written = dir.join("written.md").display().to_string();
    expect(
        &infra(&["runbook", "stacks/sasha.kdl", "--out", &written]),
        0,
    );
    expect(
        &infra(&["runbook", "stacks/sasha.kdl", "--check", &written]),
        0,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_commands_of_a_runbook_carry_its_var_files() {
    let dir = temp_dir("runbook-vars");
    let vars = dir.join("prod.vars");
    std::fs::write(&vars, "image-tag \"v42\"\n").expect("write the var file");
    let vars = vars.display().to_string();
    let out = infra(&["runbook", "stacks/sasha.kdl", "--var-file", &vars]);
    expect(&out, 0);
    for says in [
        format!("infra plan stacks/sasha.kdl --var-file {vars}"),
        format!("infra apply stacks/sasha.kdl --var-file {vars}"),
        format!("infra drift stacks/sasha.kdl --var-file {vars}"),
        format!("infra restart stacks/sasha.kdl --var-file {vars} service.sasha"),
        "/sasha-aesop4:v42`".to_string(),
    ] {
        assert!(
            out.stdout.contains(&says),
            "missing {says}:\n{}",
            out.stdout
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
