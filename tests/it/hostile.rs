//! Hostile input: whatever the files, their sizes, their nesting, their bytes and the
//! environment, `infra` answers with a diagnostic (exit 1; exit 2 for clap's own usage errors)
//! and never panics, overflows its stack, reads without end or echoes a file that is not a
//! stack. Inputs are generated under `target/tmp/hostile/<case>/` and named by relative paths
//! so that snapshots are the same on every machine. How long each case takes and how much
//! memory it needs is measured by `scripts/hostile-bench` (`bench/hostile.md`), not here.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::harness::{Output, command, expect, infra, infra_with_env, root};

/// A dead endpoint: a stack that gets as far as AWS fails there, not before.
const DEAD: &str = "http://127.0.0.1:9";
const CANARY: &str = "canary-9f3k2q7x";

/// A fresh folder for one case, and its path relative to the repository root.
fn case(name: &str) -> (PathBuf, String) {
    let rel = format!("target/tmp/hostile/{name}");
    let dir = root().join(&rel);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("case folder");
    (dir, rel)
}

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), text).expect("write input");
}

/// Exit code 1, no panic, no stack overflow, and a count of problems at the end.
fn rejected(out: &Output) {
    expect(out, 1);
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("overflow"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("problem"), "{}", out.stderr);
}

fn no_canary(out: &Output) {
    assert!(
        !out.stdout.contains(CANARY) && !out.stderr.contains(CANARY),
        "the canary leaked:\n{}\n{}",
        out.stdout,
        out.stderr
    );
}

const HEADER: &str = "stack \"hostile\" region=\"us-east-1\"\n";

#[test]
fn a_stack_nested_thirty_thousand_levels_deep_is_refused_where_it_crosses_the_bound() {
    let (dir, rel) = case("deep");
    let depth = 30_000;
    write(
        &dir,
        "stack.kdl",
        format!(
            "{HEADER}secret \"a\" {{\n    name \"a\"\n    tags {}{}\n}}\n",
            "{ x ".repeat(depth),
            "}".repeat(depth)
        ),
    );
    let stack = format!("{rel}/stack.kdl");
    let out = infra(&["validate", &stack]);
    rejected(&out);
    insta::assert_snapshot!("deep-nesting", out.stderr);
    // The same through a module, and through plan.
    write(
        &dir,
        "root.kdl",
        format!("{HEADER}module \"m\" source=\"stack.kdl\"\n"),
    );
    let out = infra(&["plan", &format!("{rel}/root.kdl"), "--endpoint-url", DEAD]);
    rejected(&out);
    assert!(
        out.stderr.contains("blocks nest deeper than 64 levels"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_one_megabyte_line_of_mistakes_is_reported_briefly() {
    let (dir, rel) = case("long-line");
    // 40,000 unknown attributes on one 1 MB line: each a diagnostic pointing into the line
    // (rendering each used to scan the whole file and draw the whole line).
    write(
        &dir,
        "stack.kdl",
        format!(
            "{HEADER}secret \"a\" name=\"a\" {}\n",
            "unknown-attribute-name=1 ".repeat(40_000)
        ),
    );
    let out = infra(&["validate", &format!("{rel}/stack.kdl")]);
    rejected(&out);
    assert!(
        out.stderr.len() < 100_000,
        "{} bytes of output",
        out.stderr.len()
    );
    assert_eq!(out.stderr.matches("infra::unknown-attribute").count(), 100);
    let last = out.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "error: 40000 problems found (the first 100 are shown; fix them and run again)"
    );
    let first: Vec<&str> = out.stderr.lines().take(11).collect();
    insta::assert_snapshot!("long-line-of-mistakes", first.join("\n"));
    // A syntax error at the end of a 1 MB string (miette used to panic on a label beyond
    // column 65,535).
    write(
        &dir,
        "string.kdl",
        format!(
            "{HEADER}secret \"a\" name=\"{}\" {{{{\n",
            "s".repeat(1_000_000)
        ),
    );
    let out = infra(&["validate", &format!("{rel}/string.kdl")]);
    rejected(&out);
    insta::assert_snapshot!("long-line-syntax-error", out.stderr);
    // A 2 MB line is one node longer than the bound: refused before it is parsed.
    write(
        &dir,
        "two-megabytes.kdl",
        format!("{HEADER}secret \"a\" name=\"{}\"\n", "s".repeat(2_000_000)),
    );
    let out = infra(&["validate", &format!("{rel}/two-megabytes.kdl")]);
    rejected(&out);
    insta::assert_snapshot!("long-line-over-the-bound", out.stderr);
}

#[test]
fn millions_of_nodes_stop_at_a_hundred_diagnostics() {
    let (dir, rel) = case("many-nodes");
    write(
        &dir,
        "stack.kdl",
        format!("{HEADER}{}", "x\n".repeat(4_000_000)),
    );
    let out = infra(&["validate", &format!("{rel}/stack.kdl")]);
    rejected(&out);
    assert_eq!(out.stderr.matches("infra::unknown-node").count(), 100);
    assert!(
        out.stderr
            .ends_with("(the first 100 are shown; fix them and run again)\n"),
        "{}",
        &out.stderr[out.stderr.len().saturating_sub(300)..]
    );
}

#[test]
fn a_node_of_a_million_entries_is_refused_before_parsing() {
    let (dir, rel) = case("wide-node");
    write(
        &dir,
        "stack.kdl",
        format!("{HEADER}secret \"a\" {}\n", "1 ".repeat(1_000_000)),
    );
    let out = infra(&["validate", &format!("{rel}/stack.kdl")]);
    rejected(&out);
    insta::assert_snapshot!("wide-node", out.stderr);
}

const WITH_VARIABLE: &str = "variable \"tag\" type=\"string\" default=\"v1\"\n";

#[test]
fn devices_pipes_and_oversized_files_are_refused_as_var_files_and_modules() {
    let (dir, rel) = case("files");
    write(&dir, "stack.kdl", format!("{HEADER}{WITH_VARIABLE}"));
    write(
        &dir,
        "module.kdl",
        format!("{HEADER}module \"zero\" source=\"/dev/zero\"\n"),
    );
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let mut big = vec![b' '; 10 * 1024 * 1024];
    big.extend_from_slice(b"tag \"v2\"\n");
    write(&dir, "big.kdl", big);
    let stack = format!("{rel}/stack.kdl");
    let mut outputs = Vec::new();
    for var_file in [
        "/dev/zero",
        &format!("{rel}/fifo"),
        &format!("{rel}/big.kdl"),
        &rel,
    ] {
        let out = infra(&["validate", &stack, "--var-file", var_file]);
        rejected(&out);
        outputs.push(out.stderr);
    }
    let out = infra(&["plan", &format!("{rel}/module.kdl"), "--endpoint-url", DEAD]);
    rejected(&out);
    outputs.push(out.stderr);
    insta::assert_snapshot!("devices-pipes-and-oversized-files", outputs.join("\n---\n"));
}

#[test]
fn modules_that_each_use_the_next_twice_stop_at_the_bound_on_instances() {
    let (dir, rel) = case("exponential");
    // Twelve levels: 4,096 instances, within the bound on depth.
    let levels = 12;
    for i in 0..levels {
        write(
            &dir,
            &format!("m{i}.kdl"),
            format!(
                "log-group \"l\" {{\n    name \"/x/{i}\"\n}}\n\
                 module \"a\" source=\"m{next}.kdl\"\nmodule \"b\" source=\"m{next}.kdl\"\n",
                next = i + 1
            ),
        );
    }
    write(&dir, &format!("m{levels}.kdl"), "");
    write(
        &dir,
        "stack.kdl",
        format!("{HEADER}module \"top\" source=\"m0.kdl\"\n"),
    );
    let out = infra(&["validate", &format!("{rel}/stack.kdl")]);
    rejected(&out);
    assert!(
        out.stderr.contains("error: 1 problem found"),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("exponential-modules", out.stderr);
}

#[test]
fn a_chain_of_modules_deeper_than_the_bound_is_named() {
    let (dir, rel) = case("chain");
    for i in 0..20 {
        write(
            &dir,
            &format!("m{i}.kdl"),
            format!("module \"m{next}\" source=\"m{next}.kdl\"\n", next = i + 1),
        );
    }
    write(&dir, "m20.kdl", "");
    write(
        &dir,
        "stack.kdl",
        format!("{HEADER}module \"m0\" source=\"m0.kdl\"\n"),
    );
    let out = infra(&["validate", &format!("{rel}/stack.kdl")]);
    rejected(&out);
    insta::assert_snapshot!("deep-module-chain", out.stderr);
}

/// `infra` with extra environment variables whose values are raw bytes.
fn infra_with_raw_env(args: &[&str], env: &[(&str, &[u8])]) -> Output {
    let mut cmd = command(args, &[]);
    for (k, v) in env {
        cmd.env(k, OsString::from_vec(v.to_vec()));
    }
    let out = cmd.output().expect("the infra binary runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn environment_values_that_are_not_utf8_never_panic_and_are_never_shown() {
    let (dir, rel) = case("env");
    write(&dir, "stack.kdl", format!("{HEADER}{WITH_VARIABLE}"));
    let stack = format!("{rel}/stack.kdl");
    let bytes = [CANARY.as_bytes(), b"\xff\xfe"].concat();
    // Unrelated variables: every command still runs (validate succeeds; plan gets as far as
    // the dead endpoint or the missing credentials).
    let out = infra_with_raw_env(&["validate", &stack], &[("SOME_TOKEN", &bytes)]);
    expect(&out, 0);
    no_canary(&out);
    let out = infra_with_raw_env(
        &["plan", &stack, "--endpoint-url", DEAD],
        &[("SOME_TOKEN", &bytes), ("USER", &bytes)],
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    no_canary(&out);
    // A variable of the stack: a diagnostic that names it, not its value.
    let out = infra_with_raw_env(&["validate", &stack], &[("INFRA_VAR_tag", &bytes)]);
    rejected(&out);
    no_canary(&out);
    insta::assert_snapshot!("env-not-utf8", out.stderr);
    // A value of the wrong type from the environment is not shown either.
    write(
        &dir,
        "int.kdl",
        format!("{HEADER}variable \"port\" type=\"int\" default=1\n"),
    );
    let out = infra_with_env(
        &["validate", &format!("{rel}/int.kdl")],
        &[("INFRA_VAR_port", CANARY)],
    );
    rejected(&out);
    no_canary(&out);
    // clap's own environment variable: its usage error, without the value.
    let out = infra_with_raw_env(
        &["plan", &stack, "--endpoint-url", DEAD],
        &[("INFRA_MAX_RATE", &bytes)],
    );
    expect(&out, 2);
    no_canary(&out);
}

#[test]
fn files_that_are_not_kdl_are_never_echoed() {
    let (dir, rel) = case("secrets");
    write(&dir, "stack.kdl", format!("{HEADER}{WITH_VARIABLE}"));
    let secrets = format!("DB_PASSWORD={CANARY}\nAPI_KEY={CANARY}-2\n");
    write(&dir, "secrets.env", &secrets);
    write(&dir, "export.env", format!("export DB_PASSWORD={CANARY}\n"));
    write(
        &dir,
        "secrets.json",
        format!("{{\"password\": \"{CANARY}\"}}\n"),
    );
    write(
        &dir,
        "binary",
        [b"tag \"", CANARY.as_bytes(), b"\"\0\x01\x02"].concat(),
    );
    write(&dir, "deep.env", format!("{CANARY} {}", "{".repeat(1000)));
    let stack = format!("{rel}/stack.kdl");
    let mut outputs = Vec::new();
    let proc_environ = "/proc/self/environ".to_string();
    for file in [
        format!("{rel}/secrets.env"),
        format!("{rel}/export.env"),
        format!("{rel}/secrets.json"),
        format!("{rel}/binary"),
        format!("{rel}/deep.env"),
        proc_environ,
    ] {
        let out = infra_with_env(
            &["validate", &stack, "--var-file", &file],
            &[("DB_PASSWORD", CANARY)],
        );
        rejected(&out);
        no_canary(&out);
        outputs.push(out.stderr);
        // The same file as a module, and as the stack itself.
        write(
            &dir,
            "uses.kdl",
            format!("{HEADER}module \"m\" source=\"{}\"\n", abs(&file)),
        );
        let out = infra_with_env(
            &["plan", &format!("{rel}/uses.kdl"), "--endpoint-url", DEAD],
            &[("DB_PASSWORD", CANARY)],
        );
        rejected(&out);
        no_canary(&out);
        let out = infra_with_env(&["validate", &file], &[("DB_PASSWORD", CANARY)]);
        rejected(&out);
        no_canary(&out);
    }
    insta::assert_snapshot!("not-kdl-files", outputs.join("\n---\n"));
}

/// An absolute path for a module source (sources are relative to the stack's folder).
fn abs(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        root().join(path).display().to_string()
    }
}

#[test]
fn huge_timeouts_are_usage_errors_not_panics() {
    let stack = "stacks/sasha.kdl";
    let mut outputs = Vec::new();
    for (flag, value) in [
        ("--lock-timeout", "99999999999999999999h"),
        ("--wait-timeout", "18446744073709551615s"),
        ("--wait-timeout", "5124095576030432h"),
        ("--lock-timeout", "25h"),
    ] {
        let out = infra(&["apply", stack, flag, value, "--endpoint-url", DEAD]);
        expect(&out, 2);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        outputs.push(out.stderr);
    }
    insta::assert_snapshot!("huge-timeouts", outputs.join("\n---\n"));
    let help = infra(&["apply", "--help"]);
    expect(&help, 0);
    assert_eq!(
        help.stdout.matches("at most 24h").count(),
        2,
        "{}",
        help.stdout
    );
}

/// The fixtures of `tests/fixtures/hostile/`: one real mistake each, reported once.
#[test]
fn one_mistake_is_one_diagnostic_without_follow_on_errors() {
    let mut outputs = Vec::new();
    for name in [
        "bare-true-in-a-referenced-resource",
        "kind-typo-referenced-twice",
        "missing-module-with-inputs-and-outputs",
        "broken-variable-declaration",
        "cycle-far-apart",
    ] {
        let out = infra(&["validate", &format!("tests/fixtures/hostile/{name}.kdl")]);
        rejected(&out);
        assert!(
            out.stderr.ends_with("error: 1 problem found\n"),
            "{name}:\n{}",
            out.stderr
        );
        outputs.push((name, out.stderr));
    }
    for (name, text) in outputs {
        insta::assert_snapshot!(name, text);
    }
}
