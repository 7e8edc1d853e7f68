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
    let stack = two_services(&w);
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &[]), 0);
    (w, stack)
}

/// The example under this world's names: every AWS name its own, so that tests sharing the
/// emulator (and planning the example itself) never meet.
fn two_services(w: &World) -> String {
    let modules = root().join("modules");
    let n = w.stack.rsplit('-').next().unwrap_or_default().to_string();
    w.stack_file("web-service.kdl", |t| {
        t.replace("desired-count 3", "desired-count 2")
            .replace(
                "stack \"web-service-demo\"",
                &format!("stack \"{}\"", w.stack),
            )
            .replace("\"web-demo\"", &format!("\"{}\"", w.stack))
            .replace("name \"shop\"", &format!("name \"shop{n}\""))
            .replace("name \"blog\"", &format!("name \"blog{n}\""))
            .replace("\"../modules/", &format!("\"{}/", modules.display()))
    })
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
        &[
            "destroy",
            &stack,
            "--target",
            "module.shop",
            "--auto-approve",
        ],
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

const KEY_VAR: &str = "QUICKSTART_API_KEY";

/// The quick start with `prevent-destroy` on its API key and its `www` record.
fn protected(text: String, protect: &str) -> String {
    let lifecycle = format!("    lifecycle {{\n        prevent-destroy {protect}\n    }}\n}}");
    text.replacen(
        "    value from-env=\"QUICKSTART_API_KEY\"\n}",
        &format!("    value from-env=\"QUICKSTART_API_KEY\"\n{lifecycle}"),
        1,
    )
    .replacen(
        "    values \"${stack.name}.example.net\"\n}",
        &format!("    values \"${{stack.name}}.example.net\"\n{lifecycle}"),
        1,
    )
}

/// `prevent-destroy` stops every plan that would delete or replace the resource, whatever
/// the command; the protection is recorded on the live resource, so it outlives the block and
/// the resource's removal from the stack; lifting it takes an apply of its own.
#[test]
fn prevent_destroy_holds_whatever_the_command() {
    let w = World::new("protect");
    let env = [(KEY_VAR, "first-value")];
    let stack = w.stack_file("quickstart.kdl", |t| protected(t, "#true"));
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);
    let everything = owned(&w, "us-east-1", &w.stack);
    assert_eq!(everything.len(), 6, "{everything:?}");
    let kept = |when: &str| assert_eq!(owned(&w, "us-east-1", &w.stack), everything, "{when}");

    let destroy = w.infra(&["destroy", &stack, "--auto-approve"], &env);
    expect(&destroy, 1);
    insta::assert_snapshot!("prevent_destroy_on_destroy", w.redact(&destroy.stderr));
    kept("after destroy");
    let targeted = w.infra(
        &[
            "destroy",
            &stack,
            "--target",
            "secret.api-key",
            "--auto-approve",
        ],
        &env,
    );
    expect(&targeted, 1);
    assert!(
        targeted.stderr.contains("infra::prevent-destroy"),
        "{}",
        targeted.stderr
    );
    kept("after a targeted destroy");
    // Leaving the protected ones out is how a destroy goes ahead.
    let rest = w.infra(
        &[
            "destroy",
            &stack,
            "--exclude",
            "secret.api-key",
            "--exclude",
            "record.www",
        ],
        &env,
    );
    assert!(rest.stdout.contains("4 to destroy"), "{}", rest.stdout);

    // A rename replaces the secret: refused at the lifecycle line.
    let renamed = w.stack_file("quickstart.kdl", |t| {
        protected(t, "#true").replace("/api-key\"", "/api-key-v2\"")
    });
    let plan = w.infra(&["plan", &renamed], &env);
    expect(&plan, 1);
    insta::assert_snapshot!("prevent_destroy_on_rename", w.redact(&plan.stderr));
    // Dropping the block in the same edit does not lift it: the live resource still says so.
    let unblocked = w.stack_file("quickstart.kdl", |t| {
        t.replace("/api-key\"", "/api-key-v2\"")
    });
    let plan = w.infra(&["plan", &unblocked], &env);
    expect(&plan, 1);
    assert!(
        plan.stderr.contains("still carries the protection"),
        "{}",
        plan.stderr
    );
    // Nor does removing the resource from the stack.
    let removed = w.stack_file("quickstart.kdl", |t| {
        let start = t.find("record \"www\"").expect("the www record");
        let end = start + t[start..].find("\n}\n").expect("its end") + 3;
        protected(format!("{}{}", &t[..start], &t[end..]), "#true")
    });
    let plan = w.infra(&["plan", &removed], &env);
    expect(&plan, 1);
    insta::assert_snapshot!("prevent_destroy_on_removal", w.redact(&plan.stderr));
    kept("after the refused plans");

    // Lifting it deliberately: an apply that says so, then the destroy.
    let lifted = w.stack_file("quickstart.kdl", |t| protected(t, "#false"));
    let plan = w.infra(&["plan", &lifted], &env);
    expect(&plan, 0);
    insta::assert_snapshot!("prevent_destroy_lifted", w.redact(&plan.stdout));
    expect(&w.infra(&["apply", &lifted, "--auto-approve"], &env), 0);
    expect(&w.infra(&["destroy", &lifted, "--auto-approve"], &env), 0);
    assert!(owned(&w, "us-east-1", &w.stack).is_empty());
}
