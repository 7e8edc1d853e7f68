//! Faults, crashes and denied permissions, injected by the proxy between infra and moto.
//!
//! - Each reference stack applies from nothing while every operation meets 10 % throttling,
//!   2 % 5xx and 1 % lost responses (the call took effect, its answer never came); the next
//!   plan is empty and every resource exists exactly once.
//! - `infra apply` is SIGKILLed at 20 points chosen by a seed while it builds a reference
//!   stack; the next apply reports the dead run's lock as stale with its holder, and after
//!   `infra unlock` it converges with no duplicate and nothing stray.
//! - SIGTERM finishes what is in flight and reports; the next apply converges.
//! - An `AccessDenied` names the resource, the operation and the IAM permission.
//!
//! Every server here is the test's own, so the figures and the clean slates are exact.
//! `INFRA_SOAK=1` runs more seeds and kills; `INFRA_FAULT_SEED` picks the first seed.
//! Figures go to `target/tmp/reliability-*.txt` for `docs/reliability.md`.

use std::io::Write;
use std::process::Stdio;

use super::harness::expect;
use super::inventory::{assert_exactly_once, declared, owned};
use super::live_ecs::FAST_POLL;
use super::moto::World;
use super::proxy::{Fault, Faults, Proxy, Rule, unit};
use super::reference::{ENV, Reference, SAKE_SENSEI, SASHA, SLEEK_COACH_PROD};

fn soak() -> bool {
    std::env::var("INFRA_SOAK").is_ok_and(|v| v == "1")
}

fn first_seed() -> u64 {
    std::env::var("INFRA_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261124)
}

fn env() -> Vec<(&'static str, &'static str)> {
    let mut env = ENV.to_vec();
    env.push(FAST_POLL);
    env
}

/// Appends a line of figures for `docs/reliability.md`.
pub(super) fn figures(name: &str, line: &str) {
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("reliability-{name}.txt"));
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}

/// A reference stack's world on a server of its own, with infra's calls going through a proxy.
fn world(r: &Reference) -> (World, Proxy, String) {
    let mut w = World::isolated(r.stack);
    r.prepare(&mut w);
    let proxy = Proxy::start(&w.url, Faults::default());
    let moto = w.through(&proxy);
    (w, proxy, moto)
}

/// What the stack declares: the creates of its plan, and the repository its bootstrap made.
fn addresses(w: &World, r: &Reference) -> Vec<String> {
    let plan = w.infra(&["plan", &r.path(), "--format", "json"], &env());
    expect(&plan, 0);
    let mut all = declared(&plan.stdout);
    all.push(r.repository_address.to_string());
    all.sort();
    all
}

fn converges_under_faults(r: &Reference) {
    let (w, proxy, _) = world(r);
    let declared = addresses(&w, r);
    let seeds = if soak() { 5 } else { 1 };
    // Each stack meets its own faults: the same seed would hit the operations the stacks share
    // at the same calls.
    let own = r
        .stack
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31) + u64::from(b));
    for round in 0..seeds {
        let seed = (first_seed() ^ own) + round;
        proxy.reset_tallies();
        proxy.set_faults(Faults::stormy(seed));
        let apply = w.infra(&["apply", &r.path(), "--auto-approve"], &env());
        expect(&apply, 0);
        let during = proxy.totals();
        // The plan after it meets faults too, with another seed.
        proxy.set_faults(Faults::stormy(seed ^ 0x5eed));
        let plan = w.infra(&["plan", &r.path(), "--detailed-exitcode"], &env());
        expect(&plan, 0);
        let all = proxy.totals();
        proxy.set_faults(Faults::default());
        assert_exactly_once(
            &owned(&w, r.region, r.stack),
            &declared,
            &format!("{} after a stormy apply (seed {seed})", r.stack),
        );
        assert!(
            during.throttled + during.server_errors + during.dropped > 0,
            "faults were injected: {during:?}"
        );
        figures(
            "faults",
            &format!(
                "{} seed {seed}: apply and plan made {} requests; injected {} throttles, \
                 {} 5xx, {} lost responses; converged, every resource once",
                r.stack, all.calls, all.throttled, all.server_errors, all.dropped
            ),
        );
        if round + 1 < seeds {
            r.empty_repository(&w);
            expect(
                &w.infra(&["destroy", &r.path(), "--auto-approve"], &env()),
                0,
            );
        }
    }
}

#[test]
fn sasha_converges_under_throttling_5xx_and_lost_responses() {
    converges_under_faults(&SASHA);
}

#[test]
fn sleek_coach_prod_converges_under_throttling_5xx_and_lost_responses() {
    converges_under_faults(&SLEEK_COACH_PROD);
}

#[test]
fn sake_sensei_converges_under_throttling_5xx_and_lost_responses() {
    converges_under_faults(&SAKE_SENSEI);
}

/// The first call of each create loses its answer: the step finds the resource by its name.
/// (The random faults of the tests above may not hit every kind; these hit each one.)
#[test]
fn a_create_whose_answer_is_lost_is_found_not_duplicated() {
    let r = &SAKE_SENSEI;
    let (w, proxy, _) = world(r);
    let declared = addresses(&w, r);
    let lost = |operation: &str| Rule {
        operation: operation.into(),
        body_contains: None,
        fault: Fault::DropAfterEffect,
        times: Some(1),
    };
    proxy.set_faults(Faults {
        rules: [
            "CreateSecret",
            "CreateLogGroup",
            "RegisterTaskDefinition",
            "CreateService",
            "CreateTargetGroup",
            "CreateRule",
            "ChangeResourceRecordSets",
            "PutMetricAlarm",
        ]
        .into_iter()
        .map(lost)
        .chain([
            // And a 500 and a 503 (not forwarded): plain retries.
            Rule {
                operation: "CreateCluster".into(),
                body_contains: None,
                fault: Fault::ServerError,
                times: Some(1),
            },
            Rule {
                operation: "CreateListener".into(),
                body_contains: None,
                fault: Fault::Unavailable,
                times: Some(1),
            },
        ])
        .collect(),
        ..Faults::default()
    });
    let apply = w.infra(&["apply", &r.path(), "--auto-approve"], &env());
    expect(&apply, 0);
    let totals = proxy.totals();
    let dropped = totals.dropped;
    assert_eq!(totals.server_errors, 2, "{totals:?}");
    proxy.set_faults(Faults::default());
    expect(
        &w.infra(&["plan", &r.path(), "--detailed-exitcode"], &env()),
        0,
    );
    assert_exactly_once(&owned(&w, r.region, r.stack), &declared, "lost creates");
    assert!(dropped >= 8, "every create lost its answer: {dropped}");
    // A task definition whose registration was lost is one revision, not two.
    let ecs = aws_sdk_ecs::Client::new(&w.config_in(r.region));
    let revisions =
        w.rt.block_on(ecs.list_task_definitions().send())
            .expect("task definitions are listed");
    let mut families: Vec<String> = revisions
        .task_definition_arns()
        .iter()
        .filter_map(|a| a.rsplit('/').next())
        .filter_map(|f| f.split(':').next())
        .map(str::to_string)
        .collect();
    let total = families.len();
    families.dedup();
    assert_eq!(
        total,
        families.len(),
        "one revision per family: {revisions:?}"
    );
}

/// The kill points and how each ended.
#[test]
fn killed_applies_converge_on_the_next_run() {
    let r = &SAKE_SENSEI;
    let (mut w, proxy, moto) = world(r);
    let declared = addresses(&w, r);
    // How many requests a whole apply from nothing makes.
    proxy.reset_tallies();
    expect(&w.infra(&["apply", &r.path(), "--auto-approve"], &env()), 0);
    let whole = proxy.totals().calls;
    let kills: u64 = if soak() { 100 } else { 20 };
    let seed = first_seed();
    let (mut killed, mut stale, mut finished) = (0, 0, 0);
    for i in 0..kills {
        w.reset(&moto);
        r.prepare(&mut w);
        let at = 1 + (unit(seed, "kill", i) * (whole - 1) as f64) as u64;
        let child = start_apply(&w, r);
        proxy.kill_after(at, child.id());
        let out = child.wait_with_output().expect("the apply ends");
        if proxy.killed() {
            killed += 1;
            assert_eq!(
                out.status.code(),
                None,
                "killed by a signal at request {at}"
            );
        } else {
            finished += 1;
            expect_success(&out);
        }
        let mut again = w.infra(&["apply", &r.path(), "--auto-approve"], &env());
        // The dead run's lock lives out its lease (a second) with nobody renewing it.
        let lease_out = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while again.code == Some(1)
            && again.stderr.contains("(alive: heartbeat")
            && std::time::Instant::now() < lease_out
        {
            std::thread::sleep(std::time::Duration::from_millis(300));
            again = w.infra(&["apply", &r.path(), "--auto-approve"], &env());
        }
        if again.code == Some(1) && again.stderr.contains("is locked") {
            stale += 1;
            // The dead run's lock is reported as stale, with who held it and how to free it.
            for part in [
                "(stale: no heartbeat for ",
                "running `apply stacks/sake-sensei.kdl`",
                "infra unlock stacks/sake-sensei.kdl ",
            ] {
                assert!(again.stderr.contains(part), "{part}: {}", again.stderr);
            }
            let id = again
                .stderr
                .split("infra unlock stacks/sake-sensei.kdl ")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
                .expect("the lock id")
                .to_string();
            expect(&w.infra(&["unlock", &r.path(), &id], &[]), 0);
            again = w.infra(&["apply", &r.path(), "--auto-approve"], &env());
        }
        expect(&again, 0);
        expect(
            &w.infra(&["plan", &r.path(), "--detailed-exitcode"], &env()),
            0,
        );
        assert_exactly_once(
            &owned(&w, r.region, r.stack),
            &declared,
            &format!("after a kill at request {at} of {whole}"),
        );
    }
    assert!(
        killed >= kills * 3 / 4,
        "{killed} of {kills} runs were killed"
    );
    figures(
        "kills",
        &format!(
            "sake-sensei: {kills} applies SIGKILLed at requests chosen by seed {seed} out of \
             {whole} ({killed} killed, {finished} finished first, {stale} left a stale lock); \
             every next apply converged, no duplicate, nothing stray"
        ),
    );
}

/// `infra apply` of the reference stack, started for a test to signal; its lock lives a second
/// past its last heartbeat.
fn start_apply(w: &World, r: &Reference) -> std::process::Child {
    w.command(
        &["apply", &r.path(), "--auto-approve", "--lock-lease", "1s"],
        &env(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("infra starts")
}

fn expect_success(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigterm_finishes_the_calls_in_flight_and_the_next_apply_converges() {
    let r = &SAKE_SENSEI;
    let (w, proxy, _) = world(r);
    let declared = addresses(&w, r);
    proxy.set_faults(Faults {
        latency: std::time::Duration::from_millis(150),
        ..Faults::default()
    });
    let child = start_apply(&w, r);
    // Into the apply proper: past the lock and the refresh, some creates sent.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while proxy
        .tallies()
        .iter()
        .filter(|(op, _)| op.contains(".Create"))
        .map(|(_, t)| t.calls)
        .sum::<u64>()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never got going"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: signalling a child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().expect("the apply ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("Apply failed:"), "{stdout}");
    assert!(stdout.contains("apply was interrupted"), "{stdout}");
    proxy.set_faults(Faults::default());
    expect(&w.infra(&["apply", &r.path(), "--auto-approve"], &env()), 0);
    expect(
        &w.infra(&["plan", &r.path(), "--detailed-exitcode"], &env()),
        0,
    );
    assert_exactly_once(&owned(&w, r.region, r.stack), &declared, "after SIGTERM");
}

#[test]
fn access_denied_names_the_resource_the_operation_and_the_permission() {
    let mut w = World::new("denied");
    let proxy = Proxy::start(&w.url, Faults::default());
    w.through(&proxy);
    let stack = w.stack_file("quickstart.kdl", |t| t);
    let env = [("QUICKSTART_API_KEY", "denied-test-value")];
    // One resource's create is denied: the others are made, the summary says what to grant.
    proxy.set_faults(Faults {
        rules: vec![Rule {
            operation: "CreateSecret".into(),
            body_contains: Some("api-key".into()),
            fault: Fault::AccessDenied,
            times: None,
        }],
        ..Faults::default()
    });
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &env);
    expect(&apply, 1);
    let all = format!("{}{}", apply.stdout, apply.stderr);
    for part in [
        "secret.api-key",
        "CreateSecret failed: AccessDeniedException",
        "IAM permission `secretsmanager:CreateSecret`",
    ] {
        assert!(all.contains(part), "{part}:\n{all}");
    }
    assert!(all.contains("log-group.api"), "the rest went ahead:\n{all}");
    // A denied read stops the plan and says which kind and permission.
    proxy.set_faults(Faults {
        rules: vec![Rule {
            operation: "DescribeAlarms".into(),
            body_contains: None,
            fault: Fault::AccessDenied,
            times: None,
        }],
        ..Faults::default()
    });
    let plan = w.infra(&["plan", &stack], &env);
    expect(&plan, 1);
    // Diagnostics wrap at 100 columns: compare with the wrapping undone.
    let all = format!("{}{}", plan.stdout, plan.stderr)
        .split(|c: char| c.is_whitespace() || c == '│')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    for part in [
        "reading CloudWatch alarms failed (for `alarm.api-errors`)",
        "error: 1 problem found",
        "DescribeAlarms failed: AccessDenied",
        "IAM permission `cloudwatch:DescribeAlarms`",
    ] {
        assert!(all.contains(part), "{part}:\n{all}");
    }
}
