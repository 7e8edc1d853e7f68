//! Every rule in `docs/rules.md` is caught before any call: `infra validate` and `infra plan`
//! (against an endpoint where nothing listens) reject the row's fixture in
//! `tests/fixtures/rules/` with exit code 1 and a diagnostic that says what the row says, with a
//! label in the fixture. The diagnostics are snapshots named after the fixture.

use super::harness::{files, infra, infra_with_env, root};

const FIXTURES: &str = "tests/fixtures/rules";

/// (fixture, what the diagnostic says) for every row of the table of rules caught at validate.
fn rows() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("docs/rules.md")).expect("docs/rules.md");
    let section = text
        .split("## Caught at validate")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| kind "))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let cell = |i: usize| {
                cells
                    .get(i)
                    .map(|c| {
                        c.trim()
                            .trim_matches('|')
                            .trim()
                            .trim_matches('`')
                            .to_string()
                    })
                    .unwrap_or_default()
            };
            (cell(4), cell(5))
        })
        .collect()
}

/// Diagnostics wrap at 100 columns: compare with the wrapping undone.
fn flat(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '│')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_rule_in_the_table_is_a_diagnostic_before_any_call() {
    let rows = rows();
    assert!(rows.len() >= 40, "docs/rules.md lists {} rules", rows.len());
    let mut problems = Vec::new();
    for fixture in files(FIXTURES, "kdl") {
        let stem = fixture
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !rows.iter().any(|(f, _)| *f == stem) {
            problems.push(format!("{stem}: a fixture no row of docs/rules.md names"));
        }
    }
    let mut snapshots = Vec::new();
    for (fixture, says) in &rows {
        let path = format!("{FIXTURES}/{fixture}.kdl");
        if !root().join(&path).exists() {
            problems.push(format!("{fixture}: no such fixture"));
            continue;
        }
        let validate = infra(&["validate", &path]);
        let plan = infra_with_env(
            &["plan", &path, "--endpoint-url", "http://127.0.0.1:9"],
            &[
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        );
        for (command, out) in [("validate", &validate), ("plan", &plan)] {
            let stderr = flat(&out.stderr);
            if out.code != Some(1) {
                problems.push(format!(
                    "{fixture}: {command} exited {:?}\n{}",
                    out.code, out.stderr
                ));
            } else if !stderr.contains(says.as_str()) {
                problems.push(format!(
                    "{fixture}: {command} does not say `{says}`:\n{stderr}"
                ));
            } else if !out.stderr.contains(&format!("{path}:")) {
                problems.push(format!("{fixture}: {command} does not point into the file"));
            } else if stderr.contains("dispatch failure") || stderr.contains("infra::refresh") {
                problems.push(format!("{fixture}: {command} called AWS"));
            }
        }
        if validate.stderr != plan.stderr {
            problems.push(format!("{fixture}: validate and plan say different things"));
        }
        snapshots.push((fixture.clone(), validate.stderr));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (name, text) in snapshots {
        insta::assert_snapshot!(name, text);
    }
}
