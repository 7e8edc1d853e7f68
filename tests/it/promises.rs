//! The plan is a promise (issue 13): nothing outside the selection or the stack is touched,
//! protections hold whatever the command, and the plan says exactly what will happen. Each
//! test here walks a path where an earlier version broke that promise.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::harness::{expect, infra_with_env, root};
use super::inventory::owned;
use super::live_elbv2::{Network, stack as elb_stack};
use super::moto::World;
use super::proxy::{Faults, Proxy};
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
pub(super) fn two_services(w: &World) -> String {
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
    for address in before.keys() {
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

/// A weighted A record of `weight` at `api.<domain>`, answering `value`.
fn weighted(w: &World, action: ChangeAction, id: &str, weight: i64, value: &str) {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let set = ResourceRecordSet::builder()
        .name(format!("api.{}", w.domain))
        .r#type(RrType::A)
        .ttl(60)
        .set_identifier(id)
        .weight(weight)
        .resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .expect("a value"),
        )
        .build()
        .expect("a record set");
    let batch = ChangeBatch::builder()
        .changes(
            Change::builder()
                .action(action)
                .resource_record_set(set)
                .build()
                .expect("a change"),
        )
        .build()
        .expect("a batch");
    w.rt.block_on(
        route53
            .change_resource_record_sets()
            .hosted_zone_id(&w.zone_id)
            .change_batch(batch)
            .send(),
    )
    .expect("moto takes the change");
}

/// Every record set of the world's zone, claims left out: (name, type, set id, values).
fn record_sets(w: &World) -> Vec<(String, String, Option<String>, Vec<String>)> {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let out =
        w.rt.block_on(
            route53
                .list_resource_record_sets()
                .hosted_zone_id(&w.zone_id)
                .max_items(300)
                .send(),
        )
        .expect("the zone is listed");
    let mut sets: Vec<_> = out
        .resource_record_sets()
        .iter()
        .filter(|s| {
            !s.name().starts_with("_infra-")
                && !s.name().starts_with("anchor-")
                && !matches!(s.r#type(), RrType::Ns | RrType::Soa)
        })
        .map(|s| {
            (
                s.name().trim_end_matches('.').to_string(),
                s.r#type().as_str().to_string(),
                s.set_identifier().map(str::to_string),
                s.resource_records()
                    .iter()
                    .map(|r| r.value().to_string())
                    .collect(),
            )
        })
        .collect();
    sets.sort();
    sets
}

/// A stack of weighted records at `api.<domain>`, one per `(address, set id, value)`.
fn weighted_stack(w: &World, region: &str, records: &[(&str, &str, &str)]) -> String {
    let mut text = format!(
        "stack \"{}\" region=\"{region}\"\n\nvariable \"domain\" type=\"string\"\n\nlookup \"hosted-zone\" \"main\" name=(var)\"domain\"\n",
        w.stack
    );
    // The zone is searched for the stack's records only while the stack declares one in it.
    text.push_str(&format!(
        "\nrecord \"anchor\" {{\n    zone (ref)\"lookup.hosted-zone.main\"\n    name \"anchor-{region}.${{var.domain}}\"\n    type \"TXT\"\n    values \"kept\"\n}}\n"
    ));
    for (address, id, value) in records {
        text.push_str(&format!(
            "\nrecord \"{address}\" {{\n    zone (ref)\"lookup.hosted-zone.main\"\n    name \"api.${{var.domain}}\"\n    type \"A\"\n    set-identifier \"{id}\"\n    weight 10\n    ttl 60\n    values \"{value}\"\n}}\n"
        ));
    }
    let path = w
        .dir
        .join(format!("weighted-{region}-{}.kdl", records.len()));
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

/// A claim names exactly one record set: identifiers that differ only in case and punctuation
/// get claims of their own, and a claim left beside a record someone made later does not hand
/// that record to the stack.
#[test]
fn dns_claims_name_exactly_one_record_set() {
    let w = World::new("claims");
    let stack = weighted_stack(&w, "us-east-1", &[("blue", "Blue_1", "192.0.2.10")]);
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &[]), 0);
    // A hand-made record whose identifier a lossy claim name would have merged with ours.
    weighted(&w, ChangeAction::Create, "blue-1", 20, "198.51.100.1");
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    let empty = weighted_stack(&w, "us-east-1", &[]);
    let prune = w.infra(&["plan", &empty], &[]);
    insta::assert_snapshot!(
        "claims_prune_only_the_stacks_record",
        w.redact(&prune.stdout)
    );
    expect(&w.infra(&["apply", &empty, "--auto-approve"], &[]), 0);
    let left = record_sets(&w);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].2.as_deref(), Some("blue-1"), "{left:?}");

    // Ours again; then someone deletes it (its claim stays) and makes their own in its place.
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &[]), 0);
    weighted(&w, ChangeAction::Delete, "Blue_1", 10, "192.0.2.10");
    weighted(&w, ChangeAction::Create, "Blue_1", 10, "203.0.113.9");
    let plan = w.infra(&["plan", &stack], &[]);
    expect(&plan, 1);
    insta::assert_snapshot!(
        "claims_a_leftover_claim_owns_nothing",
        w.redact(&plan.stderr)
    );
    expect(&w.infra(&["apply", &empty, "--auto-approve"], &[]), 0);
    expect(&w.infra(&["destroy", &empty, "--auto-approve"], &[]), 0);
    let theirs: Vec<_> = record_sets(&w).into_iter().map(|s| (s.2, s.3)).collect();
    assert_eq!(
        theirs,
        [
            (Some("Blue_1".to_string()), vec!["203.0.113.9".to_string()]),
            (Some("blue-1".to_string()), vec!["198.51.100.1".to_string()])
        ]
    );
}

/// Route53 is global: the same stack name in two regions is two owners. Neither region sees
/// the other's records as its own orphans, and one record set cannot be claimed by both.
#[test]
fn one_stack_name_in_two_regions_keeps_its_records_apart() {
    let w = World::new("regions");
    let east = weighted_stack(&w, "us-east-1", &[("api", "use1", "192.0.2.1")]);
    let west = weighted_stack(&w, "eu-west-1", &[("api", "euw1", "192.0.2.2")]);
    expect(&w.infra(&["apply", &east, "--auto-approve"], &[]), 0);
    expect(&w.infra(&["apply", &west, "--auto-approve"], &[]), 0);
    for stack in [&east, &west] {
        let plan = w.infra(&["plan", stack, "--detailed-exitcode"], &[]);
        expect(&plan, 0);
    }
    // West drops its record: east's stays.
    let west_empty = weighted_stack(&w, "eu-west-1", &[]);
    let prune = w.infra(&["plan", &west_empty], &[]);
    insta::assert_snapshot!("regions_prune_only_their_own", w.redact(&prune.stdout));
    expect(&w.infra(&["destroy", &west, "--auto-approve"], &[]), 0);
    let left: Vec<_> = record_sets(&w).into_iter().map(|s| s.2).collect();
    assert_eq!(left, [Some("use1".to_string())]);
    // The very same record set wanted by both regions: the second is told whose it is.
    let clash = weighted_stack(&w, "eu-west-1", &[("api", "use1", "192.0.2.1")]);
    let plan = w.infra(&["plan", &clash], &[]);
    expect(&plan, 1);
    assert!(
        plan.stderr.contains(&format!("{}@us-east-1", w.stack)),
        "{}",
        plan.stderr
    );
}

/// A task-definition family is this stack's while its newest ACTIVE revision is: a family
/// another stack took over is left alone, with every revision of it.
#[test]
fn a_task_definition_family_taken_over_elsewhere_is_never_deregistered() {
    let w = World::new("family");
    let family = format!("{}-web", w.stack);
    let with_task = |declared: bool| {
        let mut text = format!(
            "stack \"{}\" region=\"us-east-1\"\n\nvariable \"domain\" type=\"string\"\n",
            w.stack
        );
        if declared {
            text.push_str(&format!(
                "\ntask-definition \"web\" {{\n    family \"{family}\"\n    cpu 256\n    memory 512\n    container \"app\" {{\n        image \"nginx:1.27\"\n    }}\n}}\n"
            ));
        }
        let path = w.dir.join(format!("family-{declared}.kdl"));
        std::fs::write(&path, text).expect("the stack file is written");
        path.to_string_lossy().into_owned()
    };
    expect(
        &w.infra(&["apply", &with_task(true), "--auto-approve"], &[]),
        0,
    );
    // Another stack registers the next revision of the family.
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let tag = |k: &str, v: &str| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build();
    let theirs =
        w.rt.block_on(
            ecs.register_task_definition()
                .family(&family)
                .cpu("256")
                .memory("512")
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("app")
                        .image("nginx:1.28")
                        .build(),
                )
                .tags(tag("infra:stack", "another-stack"))
                .tags(tag("infra:address", "task-definition.web"))
                .send(),
        )
        .expect("moto registers the revision")
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("an ARN")
        .to_string();
    // Dropping the task definition from this stack deletes nothing: the family is theirs now.
    let removed = with_task(false);
    let plan = w.infra(&["plan", &removed, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    expect(&w.infra(&["destroy", &removed, "--auto-approve"], &[]), 0);
    let status =
        w.rt.block_on(
            ecs.describe_task_definition()
                .task_definition(&theirs)
                .send(),
        )
        .expect("the revision is described")
        .task_definition()
        .and_then(|t| t.status().cloned());
    assert_eq!(
        status,
        Some(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
    );
}

/// Log groups `first..last` in a chain (each made after the one before), and `old` if asked.
fn chain_stack(w: &World, first: usize, last: usize, old: bool) -> String {
    let mut text = format!(
        "stack \"{}\" region=\"us-east-1\"\n\nvariable \"domain\" type=\"string\"\n",
        w.stack
    );
    for i in first..last {
        text.push_str(&format!(
            "\nlog-group \"g{i}\" {{\n    name \"/chain/{}/{i}\"\n",
            w.stack
        ));
        if i > first {
            text.push_str(&format!("    depends-on \"log-group.g{}\"\n", i - 1));
        }
        text.push_str("}\n");
    }
    if old {
        text.push_str(&format!(
            "\nlog-group \"old\" {{\n    name \"/chain/{}/old\"\n}}\n",
            w.stack
        ));
    }
    let path = w.dir.join(format!("chain-{first}-{last}-{old}.kdl"));
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

/// Before a delete, the live resource's ownership is read again: a resource that became
/// another stack's since the plan read it is not deleted.
#[test]
fn ownership_is_read_again_before_every_delete() {
    let mut w = World::new("recheck");
    expect(
        &w.infra(
            &["apply", &chain_stack(&w, 0, 1, true), "--auto-approve"],
            &[],
        ),
        0,
    );
    let proxy = Proxy::start(
        &w.url,
        Faults {
            latency: std::time::Duration::from_millis(250),
            ..Faults::default()
        },
    );
    w.through(&proxy);
    // The orphan goes last, after a chain of creates that takes a few seconds.
    let without_old = chain_stack(&w, 0, 12, false);
    let running = w
        .command(&["apply", &without_old, "--auto-approve"], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("infra starts");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&w.config);
    let first_new = format!("/chain/{}/1", w.stack);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let made =
            w.rt.block_on(
                logs.describe_log_groups()
                    .log_group_name_prefix(&first_new)
                    .send(),
            )
            .is_ok_and(|d| !d.log_groups().is_empty());
        if made {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Meanwhile another stack takes the old log group over.
    let old = format!("/chain/{}/old", w.stack);
    #[allow(deprecated)]
    w.rt.block_on(
        logs.tag_log_group()
            .log_group_name(&old)
            .tags("infra:stack", "another-stack")
            .tags("infra:address", "log-group.old")
            .send(),
    )
    .expect("the log group is retagged");
    let out = running.wait_with_output().expect("the apply ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("log-group.old: delete failed: not deleted: it is no longer this stack's (now stack `another-stack` owns it as `log-group.old`)"),
        "{stdout}"
    );
    let still =
        w.rt.block_on(
            logs.describe_log_groups()
                .log_group_name_prefix(&old)
                .send(),
        )
        .expect("log groups are described");
    assert_eq!(
        still.log_groups().len(),
        1,
        "the other stack's log group is kept"
    );
}

/// A cluster, a task definition exposing three ports and a service behind the two target
/// groups of the load-balancing test stack, the second on `port`.
fn two_target_groups(n: &Network, port: u16) -> String {
    format!(
        r#"
cluster "main" {{
    name "{name}"
}}

task-definition "app" {{
    family "{name}-app"
    cpu 256
    memory 512
    container "web" {{
        image "nginx:1.27"
        port-mapping 8080
        port-mapping 8081
        port-mapping 8082
    }}
}}

service "app" {{
    name "app"
    cluster (ref)"cluster.main"
    task-definition (ref)"task-definition.app"
    desired-count 2
    network {{
        subnets "{a}" "{b}"
        security-groups "{group}"
    }}
    load-balancer (ref)"target-group.blue" container="web" port=8080
    load-balancer (ref)"target-group.green" container="web" port={port}
    depends-on "listener.https"
}}
"#,
        name = n.name,
        a = n.subnets[0],
        b = n.subnets[1],
        group = n.group
    )
}

/// The lines of one resource's block in a text plan.
fn block_of(plan: &str, head: &str) -> String {
    let start = plan.find(head).expect("the resource is in the plan");
    let rest = &plan[start..];
    rest[..rest.find("\n\n").unwrap_or(rest.len())].to_string()
}

/// Blocks labelled by a reference are named by the address it names, never by an ARN: two
/// load balancers of a service whose target groups are not made yet stay two, and a change
/// of one reads as one short line, in text, Markdown and JSON.
#[test]
fn plans_name_blocks_by_the_address_their_label_refers_to() {
    let w = World::new("labels");
    let n = Network::of(&w);
    let path = elb_stack(&w, &n, |t| format!("{t}{}", two_target_groups(&n, 8081)));
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 0);
    let service = block_of(&plan.stdout, "+ service.app");
    // The subnets are sorted by their random ids.
    let service = n.scrub(&w, &service).replace(
        "[\"SUBNET-B\", \"SUBNET-A\"]",
        "[\"SUBNET-A\", \"SUBNET-B\"]",
    );
    insta::assert_snapshot!("labels_two_unknown_target_groups", service);
    let markdown = w.infra(&["plan", &path, "--format", "markdown"], &[]);
    for address in ["[target-group.blue]", "[target-group.green]"] {
        assert!(plan.stdout.contains(address), "{}", plan.stdout);
        assert!(markdown.stdout.contains(address), "{}", markdown.stdout);
    }
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);

    let path = elb_stack(&w, &n, |t| format!("{t}{}", two_target_groups(&n, 8082)));
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 0);
    let service = block_of(&plan.stdout, "~ service.app");
    assert_eq!(
        service.lines().nth(1).map(str::trim),
        Some("load-balancer[target-group.green].port  8081 → 8082"),
        "{service}"
    );
    for line in plan.stdout.lines() {
        assert!(line.chars().count() <= 130, "{line}");
    }
    let json = w.infra(&["plan", &path, "--format", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let paths: Vec<serde_json::Value> = doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["address"] == "service.app")
        .flat_map(|c| c["paths"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(paths.len(), 1, "{}", json.stdout);
    assert_eq!(paths[0]["path"], "load-balancer[target-group.green].port");
    assert_eq!(paths[0]["before"], 8081);
    assert_eq!(paths[0]["after"], 8082);
}

/// A resource whose address changes while its natural key stays (found by the generated
/// blast-radius test at seed 13): the plan says it moved, its ownership is rewritten to the new
/// address (a record's claim too), and a targeted apply of the new address touches nothing else.
#[test]
fn a_moved_address_is_said_and_its_ownership_follows() {
    let w = World::new("moved");
    let env = [(KEY_VAR, "first-value")];
    let stack = w.stack_file("quickstart.kdl", |t| t);
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);
    let moved = w.stack_file("quickstart.kdl", |t| {
        t.replace("record \"www\" {", "record \"web\" {")
            .replace("log-group \"api\" {", "log-group \"api-logs\" {")
    });
    let plan = w.infra(&["plan", &moved, "--target", "record.web"], &env);
    expect(&plan, 0);
    insta::assert_snapshot!("moved_address", w.redact(&plan.stdout));
    expect(
        &w.infra(
            &["apply", &moved, "--target", "record.web", "--auto-approve"],
            &env,
        ),
        0,
    );
    let owners = owned(&w, "us-east-1", &w.stack);
    assert!(owners.contains_key("record.web"), "{owners:?}");
    assert!(!owners.contains_key("record.www"), "{owners:?}");
    assert!(
        owners.contains_key("log-group.api"),
        "untargeted: {owners:?}"
    );
    expect(&w.infra(&["apply", &moved, "--auto-approve"], &env), 0);
    let plan = w.infra(&["plan", &moved, "--detailed-exitcode"], &env);
    expect(&plan, 0);
    let owners = owned(&w, "us-east-1", &w.stack);
    assert!(owners.contains_key("log-group.api-logs"), "{owners:?}");
}
