//! `scaling` end to end against moto: an ECS service scaled by Application Auto Scaling, from
//! nothing to destroyed, the count autoscaling owns, policies and scheduled actions reconciled
//! one by one, drift repaired, and a scalable target the stack does not own left alone.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

use super::harness::expect;
use super::live_ecs::{FAST_POLL, stack_text, write};
use super::moto::World;

/// The service of `live_ecs::stack_text` (two tasks) with a scaling written after it.
fn scaled(w: &World, scaling: &str) -> String {
    format!("{}\n{scaling}", stack_text(w, 2, ""))
}

const FIRST: &str = r#"scaling "app" {
    service (ref)"service.app"
    min 1
    max 4
    target-tracking "cpu" {
        metric "cpu"
        target 60
        scale-out-cooldown 60
    }
}
"#;

/// What moto holds for one service: (min, max), policy names, scheduled action names.
#[derive(Debug, PartialEq)]
struct Scaling {
    bounds: Option<(i32, i32)>,
    policies: Vec<String>,
    actions: Vec<String>,
}

fn read(w: &World, cluster: &str, service: &str) -> Scaling {
    let client = Client::new(&w.config_in("us-east-1"));
    let id = format!("service/{cluster}/{service}");
    w.rt.block_on(async {
        let targets = client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(&id)
            .send()
            .await
            .expect("moto describes scalable targets");
        let bounds = targets
            .scalable_targets()
            .iter()
            .find(|t| t.resource_id() == id)
            .map(|t| (t.min_capacity(), t.max_capacity()));
        let policies = client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&id)
            .send()
            .await
            .expect("moto describes scaling policies");
        let mut policies: Vec<String> = policies
            .scaling_policies()
            .iter()
            .filter(|p| p.resource_id() == id)
            .map(|p| p.policy_name().to_string())
            .collect();
        policies.sort();
        let actions = client
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&id)
            .send()
            .await
            .expect("moto describes scheduled actions");
        let mut actions: Vec<String> = actions
            .scheduled_actions()
            .iter()
            .filter(|a| a.resource_id() == id)
            .map(|a| a.scheduled_action_name().to_string())
            .collect();
        actions.sort();
        Scaling {
            bounds,
            policies,
            actions,
        }
    })
}

fn desired_count(w: &World) -> Option<i32> {
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    w.rt.block_on(async {
        ecs.describe_services()
            .cluster(&w.stack)
            .services("app")
            .send()
            .await
            .expect("moto describes services")
            .services()
            .first()
            .map(|s| s.desired_count())
    })
}

fn no_changes(w: &World, path: &str) {
    let plan = w.infra(&["plan", path, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

/// Plans the edited stack (exit 2), snapshots the plan, applies it, and checks that the next
/// plan is empty.
fn change(w: &World, text: &str, snapshot: &str) {
    let path = write(w, text);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 2);
    insta::assert_snapshot!(snapshot, w.redact(&plan.stdout));
    expect(
        &w.infra(&["apply", &path, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    no_changes(w, &path);
}

#[test]
fn a_scaled_service_from_nothing_to_destroyed() {
    let w = World::new("scaling");
    let path = write(&w, &scaled(&w, FIRST));
    let apply = w.infra(&["apply", &path, "--auto-approve"], &[FAST_POLL]);
    expect(&apply, 0);
    assert!(
        apply.stdout.contains("5 created"),
        "cluster, log group, task definition, service and scaling: {}",
        apply.stdout
    );
    assert_eq!(
        read(&w, &w.stack, "app"),
        Scaling {
            bounds: Some((1, 4)),
            policies: vec!["cpu".into()],
            actions: vec![],
        }
    );
    no_changes(&w, &path);

    // The autoscaler scales in: the plan shows nothing, a deploy leaves the count alone.
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    w.rt.block_on(
        ecs.update_service()
            .cluster(&w.stack)
            .service("app")
            .desired_count(1)
            .send(),
    )
    .expect("moto updates the service");
    no_changes(&w, &path);
    let deploy = ["--var", "image-tag=1.1.0"];
    let plan = w.infra(
        &["plan", &path, "--detailed-exitcode", deploy[0], deploy[1]],
        &[FAST_POLL],
    );
    expect(&plan, 2);
    assert!(
        plan.stdout
            .contains("desired-count is set by autoscaling: 1 now, left as it is")
            && !plan.stdout.contains("desired-count:"),
        "{}",
        plan.stdout
    );
    expect(
        &w.infra(
            &["apply", &path, "--auto-approve", deploy[0], deploy[1]],
            &[FAST_POLL],
        ),
        0,
    );
    assert_eq!(
        desired_count(&w),
        Some(1),
        "apply left the scaled count alone"
    );

    // Bounds.
    let bounds = FIRST.replace("min 1", "min 2").replace("max 4", "max 6");
    change(&w, &scaled(&w, &bounds), "scaling_bounds");
    assert_eq!(read(&w, &w.stack, "app").bounds, Some((2, 6)));

    // A second policy and a scheduled action.
    let more = bounds.replace(
        "\n}\n",
        r#"
    target-tracking "memory" {
        metric "memory"
        target 75
    }
    scheduled "night" {
        schedule "cron(0 22 * * ? *)"
        timezone "Europe/Paris"
        min 1
        max 2
    }
}
"#,
    );
    change(&w, &scaled(&w, &more), "scaling_policy_and_action_added");
    assert_eq!(
        read(&w, &w.stack, "app"),
        Scaling {
            bounds: Some((2, 6)),
            policies: vec!["cpu".into(), "memory".into()],
            actions: vec!["night".into()],
        }
    );

    // One policy removed.
    let start = more
        .find("    target-tracking \"cpu\"")
        .expect("the cpu policy");
    let end = more[start..].find("    }\n").expect("its end") + start + 6;
    let fewer = format!("{}{}", &more[..start], &more[end..]);
    change(&w, &scaled(&w, &fewer), "scaling_policy_removed");
    assert_eq!(
        read(&w, &w.stack, "app").policies,
        vec!["memory".to_string()]
    );

    // Drift: a policy deleted out of band comes back.
    let client = Client::new(&w.config_in("us-east-1"));
    w.rt.block_on(
        client
            .delete_scaling_policy()
            .policy_name("memory")
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(format!("service/{}/app", w.stack))
            .send(),
    )
    .expect("moto deletes the policy");
    let path = write(&w, &scaled(&w, &fewer));
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 2);
    assert!(plan.stdout.contains("target-tracking"), "{}", plan.stdout);
    expect(
        &w.infra(&["apply", &path, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    assert_eq!(
        read(&w, &w.stack, "app").policies,
        vec!["memory".to_string()]
    );
    no_changes(&w, &path);

    let destroy = w.infra(&["destroy", &path, "--auto-approve"], &[FAST_POLL]);
    expect(&destroy, 0);
    assert_eq!(
        read(&w, &w.stack, "app"),
        Scaling {
            bounds: None,
            policies: vec![],
            actions: vec![],
        },
        "target, policies and actions are gone"
    );
}

/// A scalable target registered by hand on a service of the same name in another cluster is
/// no one's: plans ignore it and destroy leaves it, with its policy.
#[test]
fn a_scalable_target_the_stack_does_not_own_survives() {
    let w = World::new("scaling-lookalike");
    let other = format!("{}-other", w.stack);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let client = Client::new(&w.config_in("us-east-1"));
    let id = format!("service/{other}/app");
    w.rt.block_on(async {
        ecs.create_cluster()
            .cluster_name(&other)
            .send()
            .await
            .expect("moto makes the cluster");
        let td = ecs
            .register_task_definition()
            .family(format!("{other}-hand-made"))
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("web")
                    .image("nginx:1.27.0")
                    .memory(512)
                    .build(),
            )
            .send()
            .await
            .expect("moto registers the task definition");
        let arn = td
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("an ARN")
            .to_string();
        ecs.create_service()
            .cluster(&other)
            .service_name("app")
            .task_definition(arn)
            .desired_count(1)
            .send()
            .await
            .expect("moto makes the service");
        client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&id)
            .min_capacity(1)
            .max_capacity(3)
            .send()
            .await
            .expect("moto registers the target");
        client
            .put_scaling_policy()
            .policy_name("cpu")
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&id)
            .policy_type(aws_sdk_applicationautoscaling::types::PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(
                aws_sdk_applicationautoscaling::types::TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(50.0)
                    .predefined_metric_specification(
                        aws_sdk_applicationautoscaling::types::PredefinedMetricSpecification::builder()
                            .predefined_metric_type(
                                aws_sdk_applicationautoscaling::types::MetricType::EcsServiceAverageCpuUtilization,
                            )
                            .build()
                            .expect("a metric"),
                    )
                    .build()
                    .expect("a configuration"),
            )
            .send()
            .await
            .expect("moto puts the policy");
    });
    let lookalike = Scaling {
        bounds: Some((1, 3)),
        policies: vec!["cpu".into()],
        actions: vec![],
    };
    let path = write(&w, &scaled(&w, FIRST));
    expect(
        &w.infra(&["apply", &path, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    no_changes(&w, &path);
    assert_eq!(read(&w, &other, "app"), lookalike, "untouched by apply");
    expect(
        &w.infra(&["destroy", &path, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    assert_eq!(
        read(&w, &w.stack, "app").bounds,
        None,
        "the stack's is gone"
    );
    assert_eq!(read(&w, &other, "app"), lookalike, "untouched by destroy");
}

/// Checked before any call: the count the service starts with lies within the scaling's
/// bounds.
#[test]
fn a_count_outside_the_bounds_is_a_diagnostic() {
    let w = World::new("scaling-rules");
    let text = scaled(&w, &FIRST.replace("min 1", "min 3"));
    let path = write(&w, &text);
    let out = w.infra(&["validate", &path], &[]);
    expect(&out, 1);
    insta::assert_snapshot!("scaling_rules", w.redact(&out.stderr));
}
