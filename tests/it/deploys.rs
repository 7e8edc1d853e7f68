//! Deploys that cannot lie: apply succeeds only when the revision it registered is the one the
//! service runs.
//!
//! moto never runs containers: a service that wants more tasks than `MOTO_ECS_SERVICE_RUNNING`
//! (two) stays in progress, which leaves the test time to act while apply waits.

use std::time::{Duration, Instant};

use super::harness::expect;
use super::live_ecs::{FAST_POLL, stack_text, write};
use super::moto::World;

/// The service's task definition as moto holds it now.
fn serving(w: &World, ecs: &aws_sdk_ecs::Client) -> Option<String> {
    w.rt.block_on(async {
        ecs.describe_services()
            .cluster(&w.stack)
            .services("app")
            .send()
            .await
            .ok()?
            .services()
            .first()?
            .task_definition()
            .map(str::to_string)
    })
}

/// A deploy replaced while apply waits (what a circuit-breaker rollback that completes between
/// two looks, or a concurrent `UpdateService` from CI, leaves behind) fails apply with exit
/// code 3, naming both revisions. main before this waited out its timeout without saying why
/// (and took a rollback that had settled for success: see `stability`'s unit tests).
#[test]
fn a_deploy_replaced_while_apply_waits_is_not_success() {
    let w = World::new("deploy-replaced");
    let first = write(&w, &stack_text(&w, 3, "    wait-for-steady-state #false\n"));
    expect(
        &w.infra(&["apply", &first, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    let family = format!("{}-app", w.stack);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let old = serving(&w, &ecs).expect("the service runs its first revision");
    assert!(old.ends_with(&format!("{family}:1")), "{old}");

    // A new image, and apply waits for three tasks that moto never starts.
    let second = write(&w, &stack_text(&w, 3, ""));
    let child = w
        .command(
            &[
                "apply",
                &second,
                "--auto-approve",
                "--var",
                "image-tag=2.0.0",
                "--wait-timeout",
                "60s",
            ],
            &[FAST_POLL],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("infra starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !serving(&w, &ecs).is_some_and(|td| td.ends_with(":2")) {
        assert!(Instant::now() < deadline, "apply never deployed revision 2");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Someone else points the service back at revision 1 while apply waits.
    w.rt.block_on(
        ecs.update_service()
            .cluster(&w.stack)
            .service("app")
            .task_definition(&old)
            .send(),
    )
    .expect("moto updates the service");

    let out = child.wait_with_output().expect("infra ends");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains(&format!(
            "service `app`: the service runs `{family}:1`, not `{family}:2` that this apply \
             deployed"
        )),
        "{all}"
    );
    assert!(all.contains("ECS reported no service events"), "{all}");
    // Nothing claims success.
    assert!(!all.contains("Apply complete"), "{all}");
}

/// The same apply left alone settles on the new revision and succeeds: the check above does
/// not fail deploys that worked.
#[test]
fn a_deploy_that_serves_its_revision_succeeds() {
    let w = World::new("deploy-serves");
    let stack = write(&w, &stack_text(&w, 2, ""));
    expect(
        &w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    let apply = w.infra(
        &[
            "apply",
            &stack,
            "--auto-approve",
            "--var",
            "image-tag=2.0.0",
        ],
        &[FAST_POLL],
    );
    expect(&apply, 0);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let td = serving(&w, &ecs).expect("the service runs");
    assert!(td.ends_with(&format!("{}-app:2", w.stack)), "{td}");
}
