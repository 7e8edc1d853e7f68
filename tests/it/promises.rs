//! The plan is a promise (issue 13): nothing outside the selection or the stack is touched,
//! protections hold whatever the command, and the plan says exactly what will happen. Each
//! test here walks a path where an earlier version broke that promise.

use super::harness::{expect, infra_with_env, root};
use super::inventory::owned;
use super::moto::World;
use super::select::{headlines, prepared};

const REGION: &str = "eu-central-1";

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

/// The example with two services on one load balancer, applied: every service small enough
/// for the emulator to call stable.
fn two_services_live() -> (World, String) {
    let w = prepared();
    let modules = root().join("modules");
    let stack = w.stack_file("web-service.kdl", |t| {
        t.replace("desired-count 3", "desired-count 2")
            .replace("stack \"web-service-demo\"", &format!("stack \"{}\"", w.stack))
            .replace("\"../modules/", &format!("\"{}/", modules.display()))
    });
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &[]), 0);
    (w, stack)
}

/// `destroy --target` takes what depends on the target, never what the target uses: the
/// shared load balancer, listener and cluster stay, and so does the other module.
#[test]
fn a_targeted_destroy_takes_dependents_never_shared_dependencies() {
    let (w, stack) = two_services_live();
    let before = owned(&w, REGION, &w.stack);
    let plan = w.infra(&["destroy", &stack, "--target", "module.shop"], &[]);
    insta::assert_snapshot!("destroy_target_module_shop", w.redact(&plan.stdout));
    let destroy = w.infra(
        &["destroy", &stack, "--target", "module.shop", "--auto-approve"],
        &[],
    );
    expect(&destroy, 0);
    let after = owned(&w, REGION, &w.stack);
    for (address, _) in &before {
        let gone = !after.contains_key(address);
        assert_eq!(
            gone,
            address.starts_with("module.shop."),
            "{address}: {}",
            if gone { "deleted" } else { "kept" }
        );
    }
    // Targeting something others use takes them along, and the plan says why.
    let listener = w.infra(&["destroy", &stack, "--target", "listener.https"], &[]);
    insta::assert_snapshot!(
        "destroy_target_listener",
        headlines(&w.redact(&listener.stdout))
    );
}
