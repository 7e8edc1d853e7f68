//! The plan is a promise (issue 13): nothing outside the selection or the stack is touched,
//! protections hold whatever the command, and the plan says exactly what will happen. Each
//! test here walks a path where an earlier version broke that promise.

use super::harness::{expect, infra_with_env};

/// The in-memory fake AWS is a benchmark door: the binary users run never swaps AWS for it.
#[test]
fn the_shipped_binary_has_no_fake_aws() {
    let out = infra_with_env(
        &[
            "plan",
            "examples/quickstart.kdl",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &[
            ("INFRA_FAKE_AWS", "1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    expect(&out, 1);
    assert!(
        !out.stdout.contains("to add"),
        "a plan was made without AWS:\n{}",
        out.stdout
    );
}
