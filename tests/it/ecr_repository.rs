//! `ecr-repository` against moto: created from nothing with its lifecycle policy, each group
//! of settings updated, drift repaired, a repository with images never deleted without
//! `force-delete`, and a look-alike of the stack's name refused and left alone.

use aws_sdk_ecr::types::ImageTagMutability;

use super::harness::expect;
use super::moto::World;

const LIFECYCLE: &str = r#"
    lifecycle-policy {
        rule {
            priority 1
            description "expire untagged images"
            tag-status "untagged"
            count-type "sinceImagePushed"
            count 14
            unit "days"
        }
        rule {
            priority 2
            tag-status "tagged"
            tag-prefixes "v"
            count-type "imageCountMoreThan"
            count 30
        }
    }"#;

/// Writes the stack file `file` with `body` inside `ecr-repository "api"` and returns its path.
fn stack(w: &World, file: &str, body: &str) -> String {
    let text = format!(
        "stack \"{stack}\" region=\"us-east-1\"\n\nvariable \"domain\" type=\"string\" allow=\"the tests pass it\"\n\n\
         ecr-repository \"api\" {{\n    name \"{stack}/api\"\n{body}\n}}\n",
        stack = w.stack
    );
    let path = w.dir.join(file);
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

fn ecr(w: &World) -> aws_sdk_ecr::Client {
    aws_sdk_ecr::Client::new(&w.config_in("us-east-1"))
}

/// The repository as ECR reports it: mutability, scan on push.
fn settings(w: &World, name: &str) -> Option<(String, bool)> {
    let out =
        w.rt.block_on(ecr(w).describe_repositories().repository_names(name).send())
            .ok()?;
    let repo = out.repositories().first()?;
    Some((
        repo.image_tag_mutability()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        repo.image_scanning_configuration()
            .is_some_and(|s| s.scan_on_push()),
    ))
}

fn policy(w: &World, name: &str) -> Option<serde_json::Value> {
    let out =
        w.rt.block_on(ecr(w).get_lifecycle_policy().repository_name(name).send())
            .ok()?;
    serde_json::from_str(out.lifecycle_policy_text()?).ok()
}

fn tag(w: &World, name: &str, key: &str) -> Option<String> {
    let arn = format!("arn:aws:ecr:us-east-1:123456789012:repository/{name}");
    let out =
        w.rt.block_on(ecr(w).list_tags_for_resource().resource_arn(arn).send())
            .ok()?;
    out.tags()
        .iter()
        .find(|t| t.key() == key)
        .map(|t| t.value().to_string())
}

fn no_changes(w: &World, stack: &str) {
    let plan = w.infra(&["plan", stack, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
}

/// The plan's changes, without the refresh lines above them.
fn changes(w: &World, stack: &str) -> String {
    let plan = w.infra(&["plan", stack, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    w.redact(&plan.stdout)
}

#[test]
fn a_repository_is_created_updated_repaired_and_never_deleted_with_its_images_unasked() {
    let w = World::new("ecr");
    let name = format!("{}/api", w.stack);
    let first = stack(
        &w,
        "first.kdl",
        &format!(
            "    tag-mutability \"IMMUTABLE\"\n{LIFECYCLE}\n    tags {{\n        team \"web\"\n    }}"
        ),
    );
    expect(&w.infra(&["apply", &first, "--auto-approve"], &[]), 0);
    no_changes(&w, &first);
    assert_eq!(settings(&w, &name), Some(("IMMUTABLE".into(), false)));
    let written = policy(&w, &name).expect("a lifecycle policy");
    assert_eq!(written["rules"][0]["selection"]["countUnit"], "days");
    assert_eq!(written["rules"][1]["selection"]["tagPrefixList"][0], "v");
    assert_eq!(tag(&w, &name, "team").as_deref(), Some("web"));
    assert_eq!(
        tag(&w, &name, "infra:address").as_deref(),
        Some("ecr-repository.api")
    );

    // A lifecycle rule changed: the plan says which.
    let second = stack(
        &w,
        "second.kdl",
        &format!(
            "    tag-mutability \"IMMUTABLE\"\n{}\n    tags {{\n        team \"web\"\n    }}",
            LIFECYCLE.replace("count 30", "count 50")
        ),
    );
    insta::assert_snapshot!("ecr_lifecycle_changed", changes(&w, &second));
    expect(&w.infra(&["apply", &second, "--auto-approve"], &[]), 0);
    no_changes(&w, &second);
    let written = policy(&w, &name).expect("a lifecycle policy");
    assert_eq!(written["rules"][1]["selection"]["countNumber"], 50);

    // Mutability, scanning, tags and force-delete, and no lifecycle policy any more. (Scanning
    // is turned on, not off: the SDK leaves `scanOnPush: false` out, which AWS reads as false
    // and moto ignores.)
    let third = stack(
        &w,
        "third.kdl",
        "    tag-mutability \"MUTABLE\"\n    scan-on-push #true\n    force-delete #true\n    tags {\n        team \"api\"\n    }",
    );
    insta::assert_snapshot!("ecr_settings_changed", changes(&w, &third));
    expect(&w.infra(&["apply", &third, "--auto-approve"], &[]), 0);
    no_changes(&w, &third);
    assert_eq!(settings(&w, &name), Some(("MUTABLE".into(), true)));
    assert_eq!(policy(&w, &name), None);
    assert_eq!(tag(&w, &name, "team").as_deref(), Some("api"));
    assert_eq!(
        tag(&w, &name, "infra:force-delete").as_deref(),
        Some("true")
    );

    // Drift made with the SDK is planned and repaired.
    w.rt.block_on(
        ecr(&w)
            .put_image_tag_mutability()
            .repository_name(&name)
            .image_tag_mutability(ImageTagMutability::Immutable)
            .send(),
    )
    .expect("moto changes the mutability");
    let drift = changes(&w, &third);
    assert!(
        drift.contains("tag-mutability") && drift.contains("\"IMMUTABLE\" → \"MUTABLE\""),
        "{drift}"
    );
    expect(&w.infra(&["apply", &third, "--auto-approve"], &[]), 0);
    no_changes(&w, &third);
    assert_eq!(settings(&w, &name), Some(("MUTABLE".into(), true)));

    // Without force-delete, a repository with an image is not destroyed.
    let guarded = stack(
        &w,
        "guarded.kdl",
        "    tag-mutability \"MUTABLE\"\n    scan-on-push #true\n    tags {\n        team \"api\"\n    }",
    );
    expect(&w.infra(&["apply", &guarded, "--auto-approve"], &[]), 0);
    assert_eq!(tag(&w, &name, "infra:force-delete"), None);
    w.push_image("us-east-1", &name, "v1", "ecr-layer", &[]);
    let refused = w.infra(&["destroy", &guarded, "--auto-approve"], &[]);
    assert_ne!(refused.code, Some(0), "{}", refused.stdout);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(said.contains("holds 1 image"), "{said}");
    assert!(said.contains("force-delete #true"), "{said}");
    assert!(settings(&w, &name).is_some(), "the repository was deleted");

    // With it, the repository goes with its images.
    expect(&w.infra(&["apply", &third, "--auto-approve"], &[]), 0);
    assert_eq!(
        tag(&w, &name, "infra:force-delete").as_deref(),
        Some("true")
    );
    expect(&w.infra(&["destroy", &third, "--auto-approve"], &[]), 0);
    assert_eq!(settings(&w, &name), None);
}

#[test]
fn an_unowned_repository_with_the_stacks_name_is_a_plan_error_and_survives_destroy() {
    let w = World::new("ecr-alike");
    let name = format!("{}/api", w.stack);
    let near = format!("{}/api-by-hand", w.stack);
    for repo in [&name, &near] {
        w.rt.block_on(
            ecr(&w)
                .create_repository()
                .repository_name(repo.as_str())
                .tags(
                    aws_sdk_ecr::types::Tag::builder()
                        .key("made-by")
                        .value("hand")
                        .build()
                        .expect("a tag"),
                )
                .send(),
        )
        .expect("moto creates the look-alike");
    }
    let path = stack(&w, "path.kdl", "    tag-mutability \"IMMUTABLE\"");
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 1);
    assert!(
        plan.stderr.contains(&name) && plan.stderr.contains("no stack owns it"),
        "{}",
        plan.stderr
    );
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 1);
    let _ = w.infra(&["destroy", &path, "--auto-approve"], &[]);
    assert_eq!(settings(&w, &name), Some(("MUTABLE".into(), false)));
    assert_eq!(settings(&w, &near), Some(("MUTABLE".into(), false)));
    assert_eq!(tag(&w, &name, "infra:stack"), None);
}

#[test]
fn lifecycle_rules_ecr_refuses_are_diagnostics_before_any_call() {
    let w = World::new("ecr-rules");
    let path = stack(
        &w,
        "path.kdl",
        r#"    lifecycle-policy {
        rule {
            priority 1
            tag-status "any"
            count-type "sinceImagePushed"
            count 7
        }
        rule {
            priority 2
            tag-status "tagged"
            count-type "imageCountMoreThan"
            count 3
        }
    }"#,
    );
    let out = w.infra(&["validate", &path, "--var", "domain=x"], &[]);
    expect(&out, 1);
    let text = w.redact(&out.stderr.replace(w.dir.to_string_lossy().as_ref(), "DIR"));
    assert!(text.contains("needs `unit \"days\"`"), "{text}");
    assert!(text.contains("needs `tag-prefixes`"), "{text}");
    assert!(text.contains("help:"), "{text}");
}
