//! `infra runbook`: the committed runbook of every reference stack is what the stack generates
//! today, `--check` reports a stale or missing runbook, and the commands it prints carry the
//! `--var-file`s it was generated with. No AWS, but for `--live` (against moto).

use crate::docs::temp_dir;
use crate::harness::{expect, files, infra, root};
use crate::live_elbv2::Network;
use crate::moto::World;

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

/// `--live` reads AWS: its section cannot be compared with a committed runbook.
#[test]
fn check_refuses_live() {
    let out = infra(&[
        "runbook",
        "stacks/sasha.kdl",
        "--live",
        "--check",
        "stacks/sasha.runbook.md",
    ]);
    expect(&out, 2);
    assert!(out.stderr.contains("--live"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

/// A service stack as applied (moto): `--live` adds, after the runbook of the stack file, what
/// `infra status` reads (the revision the service runs, running/desired, the alarm's state) and
/// the verify summary, all checks passing.
#[test]
fn live_adds_what_aws_says_now() {
    let w = World::new("runbook-live");
    let n = Network::of(&w);
    let path = crate::verify::healthy(&w, &n, "");
    let still = w.infra(
        &["runbook", &path, "--var", &format!("domain={}", w.domain)],
        &[],
    );
    expect(&still, 0);
    let out = w.infra(&["runbook", &path, "--live"], &[]);
    expect(&out, 0);
    assert!(
        out.stdout.starts_with(&still.stdout),
        "the runbook of the stack file comes first, unchanged:\n{}",
        out.stdout
    );
    let live = w.redact(&out.stdout[still.stdout.len()..]);
    let (heading, rest) = live
        .trim_start()
        .split_once('\n')
        .expect("a heading and a body");
    assert!(
        heading.starts_with("## Live (read 20") && heading.ends_with("Z)"),
        "{heading}"
    );
    let rest = redact_times(rest);
    for says in [
        "| `service.app` | `STACK-app:1` | 2/2 (0 pending) |",
        "`web`: `nginx:1.27.0` (no digest)",
        "| `alarm.api-5xx` | `STACK-5xx` | ",
        "| `target-group.api` | `172.31.0.10:8080` healthy |",
        "### Verify\n\n",
    ] {
        assert!(rest.contains(says), "missing {says}:\n{rest}");
    }
    assert!(
        rest.trim_end().ends_with(" passed, 0 failed."),
        "every check passed:\n{rest}"
    );
    let alarm = rest
        .lines()
        .find(|l| l.starts_with("| `alarm.api-5xx` |"))
        .expect("the alarm's row");
    assert!(
        ["OK", "ALARM", "INSUFFICIENT_DATA"]
            .iter()
            .any(|s| alarm.ends_with(&format!(" {s} |"))),
        "{alarm}"
    );

    let written = w.dir.join("live.runbook.md");
    let written_path = written.display().to_string();
    expect(
        &w.infra(&["runbook", &path, "--live", "--out", &written_path], &[]),
        0,
    );
    let file = std::fs::read_to_string(&written).expect("the live runbook is written");
    assert!(file.contains("\n## Live (read "), "{file}");
}

/// ISO-8601 times (`2026-12-02T05:10:42Z`, with or without fractions) become `TIME`.
fn redact_times(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let t = word.trim_end_matches([';', ')', ',']);
            let looks = t.len() >= 20 && t.as_bytes().get(4) == Some(&b'-') && t.contains('T');
            if looks {
                word.replacen(t, "TIME", 1)
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
