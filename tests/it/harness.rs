//! A small builder around the `infra` binary: arguments, environment, exit code, output.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root: tests run the binary from here so paths in output are stable.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Asserts the exit code, showing both streams when it is not the one expected.
pub fn expect(out: &Output, code: i32) {
    assert_eq!(
        out.code,
        Some(code),
        "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout,
        out.stderr
    );
}

/// Runs `infra` with `args` from the repository root, without colour and without any
/// `INFRA_VAR_*` from the caller's environment.
pub fn infra(args: &[&str]) -> Output {
    infra_with_env(args, &[])
}

pub fn infra_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = command(args, env).output().expect("the infra binary runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The command [`infra_with_env`] runs, for a test that starts it and signals it.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_infra"));
    cmd.args(args).current_dir(root()).env("NO_COLOR", "1");
    // Nothing from the caller's AWS set-up may leak into a test.
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("INFRA_VAR_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Every file with `extension` under `dir` (relative to the root), sorted.
pub fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("fixture directory exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .map(|p| p.strip_prefix(root()).map(Path::to_path_buf).unwrap_or(p))
        .collect();
    out.sort();
    out
}
