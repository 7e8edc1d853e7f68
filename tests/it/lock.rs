//! One apply per stack at a time, through a DynamoDB conditional write; the holder renews its
//! lock (a heartbeat), a lock nobody renews is stale, `unlock` releases a stale lock and refuses
//! a live one without `--force`, and a run whose lock was broken stops before its next write.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{expect, root};
use super::live_ecs::{FAST_POLL, stack_text, write};
use super::moto::World;
use super::proxy::{Faults, Proxy};

/// `infra apply` of a stack whose service never stabilises, holding the lock for `wait`, with
/// a lease of two seconds (renewed every half second while it runs).
fn slow_apply(w: &World, stack: &str, wait: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_infra"))
        .args([
            "apply",
            stack,
            "--auto-approve",
            "--wait-timeout",
            wait,
            "--lock-lease",
            "2s",
            "--endpoint-url",
            &w.url,
        ])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(FAST_POLL.0, FAST_POLL.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("infra starts")
}

/// Waits until someone holds the stack's lock (the table exists and has the item).
fn wait_until_locked(w: &World, stack: &str) {
    let ddb = aws_sdk_dynamodb::Client::new(&w.config);
    let key = format!("{stack}@us-east-1");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let got = w.rt.block_on(
            ddb.get_item()
                .table_name("infra-locks")
                .key(
                    "lock_key",
                    aws_sdk_dynamodb::types::AttributeValue::S(key.clone()),
                )
                .send(),
        );
        if got.is_ok_and(|g| g.item().is_some()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nobody took the lock of {stack}");
}

#[test]
fn two_applies_at_once_one_runs_the_other_names_the_holder() {
    let w = World::new("lock");
    let stack = write(&w, &stack_text(&w, 3, ""));
    let first = slow_apply(&w, &stack, "6s");
    wait_until_locked(&w, &w.stack);
    let second = w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&second, 1);
    assert!(
        second
            .stderr
            .contains(&format!("error: stack `{}` is locked: lock ", w.stack)),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("running `apply "),
        "{}",
        second.stderr
    );
    // Waiting for it works too: the first gives up on its service after 6 s and lets go.
    let third = w.infra(
        &[
            "apply",
            &stack,
            "--auto-approve",
            "--lock-timeout",
            "60s",
            "--wait-timeout",
            "1s",
        ],
        &[FAST_POLL],
    );
    assert!(
        third.stderr.contains("Waiting up to 60s for the lock"),
        "{}",
        third.stderr
    );
    assert!(!third.stderr.contains("is locked"), "{}", third.stderr);
    let first = first.wait_with_output().expect("the first apply ends");
    let first_out = String::from_utf8_lossy(&first.stdout);
    assert!(
        first_out.contains("service.app: create failed"),
        "{first_out}"
    );
}

/// A chain of log groups, each made after the one before.
fn chain_text(w: &World, links: usize) -> String {
    let mut text = format!(
        "stack \"{}\" region=\"us-east-1\"\n\nvariable \"domain\" type=\"string\" default=\"example.com\"\n",
        w.stack
    );
    for i in 0..links {
        text.push_str(&format!(
            "\nlog-group \"g{i}\" {{\n    name \"/chain/{}/{i}\"\n",
            w.stack
        ));
        if i > 0 {
            text.push_str(&format!("    depends-on \"log-group.g{}\"\n", i - 1));
        }
        text.push_str("}\n");
    }
    text
}

fn log_group_exists(w: &World, name: &str) -> bool {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&w.config);
    w.rt.block_on(
        logs.describe_log_groups()
            .log_group_name_prefix(name)
            .send(),
    )
    .is_ok_and(|d| {
        d.log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(name))
    })
}

/// The lock of a run that is alive (it renews its lock) is not stale, whatever its host or
/// binary: `unlock` refuses it without `--force`; broken with `--force`, the run notices before
/// its next write and stops.
#[test]
fn a_live_lock_is_kept_and_a_broken_one_stops_its_run_before_the_next_write() {
    let mut w = World::new("fence");
    let proxy = Proxy::start(
        &w.url,
        Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        },
    );
    w.through(&proxy);
    let links = 12;
    let stack = write(&w, &chain_text(&w, links));
    let running = slow_apply(&w, &stack, "10s");
    wait_until_locked(&w, &w.stack);
    let first = format!("/chain/{}/0", w.stack);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log_group_exists(&w, &first) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Longer than the lease: the heartbeat keeps it alive.
    std::thread::sleep(Duration::from_millis(2500));
    let other = w.infra(&["apply", &stack, "--auto-approve"], &[]);
    expect(&other, 1);
    assert!(
        other.stderr.contains("(alive: heartbeat "),
        "{}",
        other.stderr
    );
    let id = other
        .stderr
        .split("is locked: lock ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the holder's lock id is shown")
        .to_string();
    let refused = w.infra(&["unlock", &stack, &id], &[]);
    expect(&refused, 1);
    for part in [
        "(alive: heartbeat ",
        "that run renews its lock, so it is most likely still applying",
        &format!("{id} --force` breaks the lock, and the run stops before its next write"),
    ] {
        assert!(refused.stderr.contains(part), "{part}: {}", refused.stderr);
    }
    let forced = w.infra(&["unlock", &stack, &id, "--force"], &[]);
    expect(&forced, 0);
    let out = running.wait_with_output().expect("the apply ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("stopped: the stack's lock was broken"),
        "{stderr}"
    );
    assert!(
        stdout.contains("skipped because the stack's lock was broken"),
        "{stdout}"
    );
    // The chain stopped where the lock was broken: its end was never written.
    let last = format!("/chain/{}/{}", w.stack, links - 1);
    assert!(!log_group_exists(&w, &last), "{stdout}");
}

#[test]
fn unlock_releases_a_lock_left_by_a_killed_apply() {
    let w = World::new("unlock");
    let stack = write(&w, &stack_text(&w, 3, ""));
    let mut killed = slow_apply(&w, &stack, "60s");
    wait_until_locked(&w, &w.stack);
    killed.kill().expect("the apply is killed");
    let _ = killed.wait();

    let blocked = w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&blocked, 1);
    let id = blocked
        .stderr
        .split("is locked: lock ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the holder's lock id is shown")
        .to_string();
    let wrong = w.infra(&["unlock", &stack, "not-the-id"], &[]);
    expect(&wrong, 1);
    assert!(
        wrong.stderr.contains(&format!("it is lock {id} held by")),
        "{}",
        wrong.stderr
    );
    // Once its lease has run out with no heartbeat, the lock is stale: the next apply says
    // so, and unlock needs no force.
    std::thread::sleep(Duration::from_secs(3));
    let stale = w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&stale, 1);
    assert!(
        stale.stderr.contains("(stale: no heartbeat for "),
        "{}",
        stale.stderr
    );
    let unlock = w.infra(&["unlock", &stack, &id], &[]);
    expect(&unlock, 0);
    let next = w.infra(
        &["apply", &stack, "--auto-approve", "--wait-timeout", "1s"],
        &[FAST_POLL],
    );
    assert!(!next.stderr.contains("is locked"), "{}", next.stderr);
    // And it let go when it finished, whatever the outcome.
    let after = w.infra(&["plan", &stack], &[FAST_POLL]);
    expect(&after, 0);
    let free = w.infra(&["unlock", &stack, &id], &[]);
    assert!(
        free.stderr.contains("the stack is not locked"),
        "{}",
        free.stderr
    );
}

#[test]
fn ctrl_c_finishes_what_is_in_flight_reports_and_releases_the_lock() {
    let w = World::new("sigint");
    let stack = write(&w, &stack_text(&w, 3, ""));
    let child = slow_apply(&w, &stack, "4s");
    wait_until_locked(&w, &w.stack);
    // SAFETY: signalling a child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("the apply ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    // Depending on when the signal lands: before any change, or with the summary of what was
    // done, what failed and what was never started.
    assert!(
        stdout.contains("Interrupted before anything was changed.")
            || stdout.contains("Apply failed:"),
        "{stdout}"
    );
    let ddb = aws_sdk_dynamodb::Client::new(&w.config);
    let item =
        w.rt.block_on(
            ddb.get_item()
                .table_name("infra-locks")
                .key(
                    "lock_key",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!("{}@us-east-1", w.stack)),
                )
                .send(),
        )
        .expect("the lock table is readable");
    assert!(item.item().is_none(), "the lock was released");
}
