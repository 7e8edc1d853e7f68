//! `infra validate` on the corpus of broken stacks in `tests/fixtures/invalid/`: one file per
//! mistake, each rejected with exit code 1 and a diagnostic pinned by a snapshot named after
//! the file. Helper modules live in `tests/fixtures/invalid/modules/` and are not fixtures.

use std::path::Path;

use crate::harness::{files, infra};

const CORPUS: &str = "tests/fixtures/invalid";

/// Fixtures `infra validate` still accepts: each is a check that is missing today. The test
/// pins that they pass (so the snapshot shows the current output); once the check exists,
/// remove the file from this list and accept its new snapshot.
const KNOWN_GAPS: &[&str] = &[];

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_broken_stack_is_rejected_with_a_diagnostic() {
    let fixtures = files(CORPUS, "kdl");
    assert!(
        fixtures.len() >= 45,
        "the corpus has {} fixtures, expected at least 45",
        fixtures.len()
    );
    for gap in KNOWN_GAPS {
        assert!(
            fixtures.iter().any(|p| stem(p) == *gap),
            "KNOWN_GAPS names `{gap}`, which is not in {CORPUS}"
        );
    }

    let mut problems = Vec::new();
    let mut outputs = Vec::new();
    for path in &fixtures {
        let name = stem(path);
        let shown = path.to_string_lossy().replace('\\', "/");
        let out = infra(&["validate", &shown]);
        if out.code == Some(101) || out.stderr.contains("panicked") {
            problems.push(format!("{shown}: infra panicked\n{}", out.stderr));
            continue;
        }
        if KNOWN_GAPS.contains(&name.as_str()) {
            if out.code == Some(0) {
                outputs.push((name, out.stdout));
            } else {
                problems.push(format!(
                    "{shown}: now rejected (exit {:?}); remove it from KNOWN_GAPS",
                    out.code
                ));
            }
            continue;
        }
        if out.code != Some(1) {
            problems.push(format!(
                "{shown}: expected exit code 1, got {:?}\n{}{}",
                out.code, out.stdout, out.stderr
            ));
            continue;
        }
        if !out.stderr.contains("error:") {
            problems.push(format!("{shown}: no `error:` in stderr\n{}", out.stderr));
            continue;
        }
        outputs.push((name, out.stderr));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));

    for (name, text) in outputs {
        insta::assert_snapshot!(name, text);
    }
}
