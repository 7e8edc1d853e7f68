//! Every limit in `docs/limits.md` is checked before any call: `infra validate` and `infra plan`
//! (against an endpoint where nothing listens) reject the row's fixture with exit code 1 and a
//! diagnostic at a line and column that says what the row says.

use super::harness::{infra, infra_with_env, root};

/// (fixture, what the diagnostic says) for every row of the table.
fn rows() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("docs/limits.md")).expect("docs/limits.md");
    text.lines()
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
fn every_limit_in_the_table_is_a_diagnostic_before_any_call() {
    let rows = rows();
    assert!(
        rows.len() >= 45,
        "docs/limits.md lists {} limits",
        rows.len()
    );
    let mut problems = Vec::new();
    for (fixture, says) in &rows {
        let path = format!("tests/fixtures/invalid/{fixture}.kdl");
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
                problems.push(format!("{fixture}: {command} exited {:?}", out.code));
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
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
