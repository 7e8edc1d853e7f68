//! ECS end to end: cluster, task definition and service against the moto server.
//!
//! The harness starts moto with `MOTO_ECS_SERVICE_RUNNING=2`: a new service that wants at most
//! two tasks reports its rollout COMPLETED at once, a larger one stays IN_PROGRESS forever.

use super::harness::expect;
use super::moto::World;

/// Polls quickly: moto's deployments do not move, so there is nothing to wait for.
pub(super) const FAST_POLL: (&str, &str) = ("INFRA_POLL_INTERVAL_MS", "200");

/// The default VPC's first two subnets and its default security group, from moto.
pub(super) fn network(w: &World) -> (Vec<String>, String) {
    let ec2 = aws_sdk_ec2::Client::new(&w.config);
    w.rt.block_on(async {
        let subnets = ec2
            .describe_subnets()
            .send()
            .await
            .expect("moto lists its default subnets");
        let mut ids: Vec<String> = subnets
            .subnets()
            .iter()
            .filter(|s| s.default_for_az() == Some(true))
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect();
        ids.sort();
        ids.truncate(2);
        let groups = ec2
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-name")
                    .values("default")
                    .build(),
            )
            .send()
            .await
            .expect("moto lists its default security group");
        let sg = groups
            .security_groups()
            .iter()
            .find_map(|g| g.group_id().map(str::to_string))
            .expect("a default security group");
        assert_eq!(ids.len(), 2, "moto has default subnets");
        (ids, sg)
    })
}

/// The test stack: a cluster, a log group, a two-container task definition and a service.
pub(super) fn stack_text(w: &World, desired_count: u32, service_extra: &str) -> String {
    let (subnets, sg) = network(w);
    // A secret the stack reads but does not own: it must exist with a value, or plans stop.
    let secret = w.external_secret(&format!("{}-db", w.stack));
    let subnets = subnets
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" default="example.com" allow="the test harness passes it to every plan"
variable "image-tag" type="string" default="1.0.0"

cluster "main" {{
    name "{stack}"
    container-insights "enabled"
    capacity-providers "FARGATE"
}}

log-group "app" {{
    name "/ecs/{stack}"
    retention-days 7
}}

task-definition "app" {{
    family "{stack}-app"
    cpu 512
    memory 1024
    keep-revisions 2
    execution-role "arn:aws:iam::123456789012:role/{stack}-execution"
    container "web" {{
        image "nginx:${{var.image-tag}}"
        port-mapping 8080 name="http" app-protocol="http"
        environment {{
            PORT "8080"
            MODE "production"
        }}
        secrets {{
            DB_PASSWORD "{secret}"
        }}
        log group=(ref)"log-group.app" stream-prefix="web"
        health-check {{
            command "CMD-SHELL" "curl -f http://localhost:8080/ || exit 1"
        }}
    }}
    container "sidecar" {{
        image "busybox:1.36"
        essential #false
        command "sleep" "3600"
        log group=(ref)"log-group.app" stream-prefix="sidecar"
    }}
}}

service "app" {{
    name "app"
    cluster (ref)"cluster.main"
    task-definition (ref)"task-definition.app"
    desired-count {desired_count}
    network {{
        subnets {subnets}
        security-groups "{sg}"
    }}
    deployment {{
        circuit-breaker #true
        rollback #true
    }}
    propagate-tags "SERVICE"
{service_extra}}}
"#,
        stack = w.stack
    )
}

pub(super) fn write(w: &World, text: &str) -> String {
    let path = w.dir.join("ecs.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

fn no_changes(w: &World, stack: &str, vars: &[&str]) {
    let mut args = vec!["plan", stack, "--detailed-exitcode"];
    args.extend_from_slice(vars);
    let plan = w.infra(&args, &[FAST_POLL]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

fn active_revisions(w: &World, family: &str) -> Vec<String> {
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    w.rt.block_on(async {
        ecs.list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .send()
            .await
            .expect("moto lists task definitions")
            .task_definition_arns()
            .iter()
            .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
            .collect()
    })
}

fn services(w: &World) -> Vec<(String, String, i32)> {
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    w.rt.block_on(async {
        let out = ecs
            .describe_services()
            .cluster(&w.stack)
            .services("app")
            .send()
            .await
            .expect("moto describes services");
        out.services()
            .iter()
            .map(|s| {
                (
                    s.status().unwrap_or_default().to_string(),
                    s.task_definition()
                        .and_then(|t| t.rsplit('/').next())
                        .unwrap_or_default()
                        .to_string(),
                    s.desired_count(),
                )
            })
            .collect()
    })
}

#[test]
fn a_service_deploys_new_images_and_converges() {
    let w = World::new("ecs");
    let family = format!("{}-app", w.stack);
    let stack = write(
        &w,
        &stack_text(
            &w,
            2,
            "    lifecycle {\n        ignore-changes \"desired-count\"\n    }\n",
        ),
    );

    let apply = w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&apply, 0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 4 created, 0 updated, 0 replaced, 0 deleted, 0 adopted."),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains("rollout COMPLETED"),
        "{}",
        apply.stdout
    );
    no_changes(&w, &stack, &[]);

    // Three deploys of new images: the plan shows the image and the service following the
    // new revision; old revisions beyond keep-revisions (2) are deregistered.
    for (i, tag) in ["1.1.0", "1.2.0", "1.3.0"].iter().enumerate() {
        let var = format!("image-tag={tag}");
        let plan = w.infra(
            &["plan", &stack, "--detailed-exitcode", "--var", &var],
            &[FAST_POLL],
        );
        expect(&plan, 2);
        if i == 0 {
            insta::assert_snapshot!("ecs_plan_new_image", w.redact(&plan.stdout));
        }
        expect(
            &w.infra(
                &["apply", &stack, "--auto-approve", "--var", &var],
                &[FAST_POLL],
            ),
            0,
        );
        no_changes(&w, &stack, &["--var", &var]);
    }
    assert_eq!(
        active_revisions(&w, &family),
        [format!("{family}:3"), format!("{family}:4")]
    );
    assert_eq!(
        services(&w),
        [("ACTIVE".to_string(), format!("{family}:4"), 2)]
    );

    // Someone scales the service by hand; ignore-changes keeps their count.
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    w.rt.block_on(
        ecs.update_service()
            .cluster(&w.stack)
            .service("app")
            .desired_count(1)
            .send(),
    )
    .expect("scaled out of band");
    no_changes(&w, &stack, &["--var", "image-tag=1.3.0"]);

    let destroy = w.infra(&["destroy", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&destroy, 0);
    assert!(services(&w).iter().all(|(status, _, _)| status != "ACTIVE"));
    assert!(active_revisions(&w, &family).is_empty());
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 2);
    assert!(
        plan.stdout
            .contains("Plan: 4 to add, 0 to change, 0 to replace, 0 to destroy, 0 to adopt."),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_no_change_plan_costs_a_call_per_kind() {
    let w = World::new("ecs-stats");
    let stack = write(&w, &stack_text(&w, 1, ""));
    expect(
        &w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    let plan = w.infra(
        &["plan", &stack, "--detailed-exitcode", "--stats"],
        &[FAST_POLL],
    );
    expect(&plan, 0);
    // Calls, not HTTP requests: a retry on a busy machine must not change the figures.
    let per_operation: Vec<&str> = plan.stderr.lines().skip(1).collect();
    insta::assert_snapshot!("ecs_no_change_plan_calls", per_operation.join("\n"));
}

#[test]
fn a_service_that_never_settles_fails_apply_after_the_timeout() {
    let w = World::new("ecs-timeout");
    let stack = write(&w, &stack_text(&w, 3, ""));
    let apply = w.infra(
        &["apply", &stack, "--auto-approve", "--wait-timeout", "5s"],
        &[FAST_POLL],
    );
    expect(&apply, 1);
    let all = format!("{}{}", apply.stdout, apply.stderr);
    assert!(
        all.contains("service `app` did not become stable within 5s")
            && all.contains("rollout IN_PROGRESS"),
        "{all}"
    );
}
