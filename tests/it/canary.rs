//! Secrets never leak: unique values set through the environment, plus the value Secrets
//! Manager generates, are searched for in everything every command prints (plans as text,
//! JSON and Markdown, apply progress and summaries, errors, drift, destroy, `-vvv` logs, the
//! runbook) and in every file written (saved plans, a runbook).

use std::path::Path;

use super::harness::Output;
use super::moto::World;
use super::proxy::{Fault, Faults, Proxy, Rule};

const KEY_VAR: &str = "QUICKSTART_API_KEY";

fn canary(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("canary-{name}-{nanos}-{}", std::process::id())
}

/// Every file under `dir`, as text.
fn written(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(written(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    out
}

#[test]
fn secret_values_never_appear_in_any_output_log_error_or_file() {
    let mut w = World::new("canary");
    let proxy = Proxy::start(&w.url, Faults::default());
    w.through(&proxy);
    let first = canary("first");
    let second = canary("second");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    let saved = w.dir.join("first.plan.json").display().to_string();
    let saved_second = w.dir.join("second.plan.json").display().to_string();
    let mut runs: Vec<(String, Output)> = Vec::new();
    let mut run = |args: &[&str], value: &str| {
        let out = w.infra(args, &[(KEY_VAR, value)]);
        runs.push((args.join(" "), out));
        runs.last().map(|(_, o)| o.code).unwrap_or_default()
    };
    assert_eq!(run(&["validate", &stack, "-vvv"], &first), Some(0));
    assert_eq!(run(&["graph", &stack], &first), Some(0));
    assert_eq!(run(&["plan", &stack, "-vvv", "--stats"], &first), Some(0));
    assert_eq!(run(&["plan", &stack, "--format", "json"], &first), Some(0));
    assert_eq!(
        run(&["plan", &stack, "--format", "markdown"], &first),
        Some(0)
    );
    assert_eq!(run(&["plan", &stack, "--out", &saved], &first), Some(0));
    assert_eq!(
        run(&["apply", &saved, "--auto-approve", "-vvv"], &first),
        Some(0)
    );
    // A new value: every plan format, a saved plan, then an apply whose secret write fails.
    assert_eq!(
        run(&["plan", &stack, "--detailed-exitcode", "-vvv"], &second),
        Some(2)
    );
    assert_eq!(run(&["plan", &stack, "--format", "json"], &second), Some(0));
    assert_eq!(
        run(&["plan", &stack, "--format", "markdown"], &second),
        Some(0)
    );
    assert_eq!(
        run(&["plan", &stack, "--out", &saved_second], &second),
        Some(0)
    );
    assert_eq!(run(&["drift", &stack, "-vv"], &second), Some(2));
    proxy.set_faults(Faults {
        rules: ["PutSecretValue", "UpdateSecret"]
            .into_iter()
            .map(|operation| Rule {
                operation: operation.into(),
                body_contains: None,
                fault: Fault::AccessDenied,
                times: None,
            })
            .collect(),
        ..Faults::default()
    });
    assert_eq!(
        run(&["apply", &stack, "--auto-approve", "-vvv"], &second),
        Some(1)
    );
    proxy.set_faults(Faults::default());
    assert_eq!(
        run(&["apply", &saved_second, "--auto-approve", "-vvv"], &second),
        Some(0)
    );
    assert_eq!(
        run(&["plan", &stack, "--detailed-exitcode"], &second),
        Some(0)
    );
    // The value Secrets Manager generated is a secret too.
    let secrets = aws_sdk_secretsmanager::Client::new(&w.config);
    let generated =
        w.rt.block_on(
            secrets
                .get_secret_value()
                .secret_id(format!("{}/db-password", w.stack))
                .send(),
        )
        .expect("the generated secret exists")
        .secret_string()
        .expect("a generated value")
        .to_string();
    assert_eq!(
        run(&["destroy", &stack, "--auto-approve", "-vvv"], &second),
        Some(0)
    );

    // The runbook names each secret and where its value comes from, never the value.
    let runbook = w.dir.join("quickstart.runbook.md").display().to_string();
    assert_eq!(run(&["runbook", &stack], &second), Some(0));
    assert_eq!(
        run(&["runbook", &stack, "--out", &runbook], &second),
        Some(0)
    );

    // verify and status read the destroyed stack: checks fail, nothing secret is said.
    assert_eq!(
        run(&["verify", &stack, "--format", "json"], &second),
        Some(2)
    );
    assert_eq!(run(&["status", &stack, "-vv"], &second), Some(0));
    // The live runbook reads both: what is gathered is said by name only.
    let live = w
        .dir
        .join("quickstart.live.runbook.md")
        .display()
        .to_string();
    assert_eq!(
        run(
            &["runbook", &stack, "--live", "-vv", "--out", &live],
            &second
        ),
        Some(0)
    );
    // The commands that act on one resource refuse what they cannot do here, saying nothing
    // secret: `secret set` of a secret whose value the stack writes (`from-env`), `rollback`
    // and `restart` of a service the stack does not have.
    assert_eq!(
        run(
            &[
                "secret",
                "set",
                &stack,
                "secret.api-key",
                "--auto-approve",
                "-vv"
            ],
            &second
        ),
        Some(1)
    );
    assert_eq!(
        run(
            &["rollback", &stack, "service.none", "--auto-approve", "-vv"],
            &second
        ),
        Some(1)
    );
    assert_eq!(
        run(
            &["restart", &stack, "service.none", "--auto-approve", "-vv"],
            &second
        ),
        Some(1)
    );

    // The runs did what they claim: values were sent, the failure was reported.
    let said = |i: usize| format!("{}{}", runs[i].1.stdout, runs[i].1.stderr);
    assert!(said(7).contains("(sensitive value changed)"), "{}", said(7));
    assert!(said(12).contains("PutSecretValue"), "{}", said(12));
    assert!(
        said(2).contains("[infra] http: "),
        "-vvv logs HTTP: {}",
        said(2)
    );
    assert!(
        said(16).contains("environment variable `QUICKSTART_API_KEY`"),
        "the runbook covers the secrets: {}",
        said(16)
    );
    let files = written(&w.dir);
    assert!(
        files.len() >= 4,
        "the saved plans and the runbook were written: {files:?}"
    );
    let mut checked = 0;
    for secret in [&first, &second, &generated] {
        for (args, out) in &runs {
            assert!(
                !out.stdout.contains(secret.as_str()),
                "`{args}` printed a secret"
            );
            assert!(
                !out.stderr.contains(secret.as_str()),
                "`{args}` logged a secret"
            );
            checked += 2;
        }
        for (path, text) in &files {
            assert!(!text.contains(secret.as_str()), "{path} holds a secret");
            checked += 1;
        }
    }
    assert!(checked > 40);
}
