//! Deploys that cannot lie: apply succeeds only when the revision it registered is the one the
//! service runs.
//!
//! moto never runs containers: a service that wants more tasks than `MOTO_ECS_SERVICE_RUNNING`
//! (two) stays in progress, which leaves the test time to act while apply waits.

use std::time::{Duration, Instant};

use super::harness::expect;
use super::live_ecs::{FAST_POLL, stack_text, write};
use super::moto::World;

/// The test stack's service `app` as moto holds it now, tags included.
fn app(w: &World, ecs: &aws_sdk_ecs::Client) -> Option<aws_sdk_ecs::types::Service> {
    w.rt.block_on(
        ecs.describe_services()
            .cluster(&w.stack)
            .services("app")
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send(),
    )
    .ok()?
    .services()
    .first()
    .cloned()
}

/// The service's task definition as moto holds it now.
fn serving(w: &World, ecs: &aws_sdk_ecs::Client) -> Option<String> {
    app(w, ecs)?.task_definition().map(str::to_string)
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

/// A cluster, two secrets (one set by hand, one from `API_KEY`) and a service whose task reads
/// both.
fn reader_stack(w: &World) -> String {
    let (subnets, sg) = super::live_ecs::network(w);
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness passes it to every plan"

cluster "main" {{
    name "{stack}"
}}

secret "db" {{
    name "{stack}/db"
    value unmanaged=#true allow="operators rotate it"
}}

secret "api-key" {{
    name "{stack}/api-key"
    value from-env="API_KEY"
}}

task-definition "app" {{
    family "{stack}-app"
    cpu 256
    memory 512
    execution-role "arn:aws:iam::123456789012:role/{stack}-execution"
    container "web" {{
        image "nginx:1.27.0"
        secrets {{
            DB_PASSWORD (ref)"secret.db"
            API_KEY (ref)"secret.api-key"
        }}
    }}
}}

service "app" {{
    name "app"
    cluster (ref)"cluster.main"
    task-definition (ref)"task-definition.app"
    desired-count 2
    network {{
        subnets "{a}" "{b}"
        security-groups "{sg}"
    }}
}}
"#,
        stack = w.stack,
        a = subnets[0],
        b = subnets[1],
    );
    let path = w.dir.join("readers.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

/// The version of `secret` the service's tag says its tasks read.
fn recorded_version(w: &World, ecs: &aws_sdk_ecs::Client, secret: &str) -> Option<String> {
    let key = format!("infra:secret:{secret}");
    app(w, ecs)?
        .tags()
        .iter()
        .find(|t| t.key() == Some(key.as_str()))
        .and_then(|t| t.value().map(str::to_string))
}

/// The id of the service's newest deployment (moto starts one on every forced deployment).
fn deployment_id(w: &World, ecs: &aws_sdk_ecs::Client) -> String {
    app(w, ecs)
        .and_then(|svc| svc.deployments().first()?.id().map(str::to_string))
        .expect("the service has a deployment")
}

/// The version AWS serves now of the stack's secret `name`.
fn current_version(w: &World, secrets: &aws_sdk_secretsmanager::Client, name: &str) -> String {
    let described =
        w.rt.block_on(
            secrets
                .describe_secret()
                .secret_id(format!("{}/{name}", w.stack))
                .send(),
        )
        .expect("moto describes the secret");
    described
        .version_ids_to_stages()
        .and_then(|v| {
            v.iter()
                .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
                .map(|(id, _)| id.clone())
        })
        .expect("a current version")
}

/// A secret whose value changes — set or rotated by hand (`put-secret-value`) or written by
/// infra (`from-env`) — restarts the services that read it: the plan says why, apply forces a
/// new deployment and records the version the new tasks read, so the next plan is empty.
#[test]
fn a_changed_secret_restarts_the_services_that_read_it() {
    const FIRST: &str = "first-api-key-9f2c";
    const SECOND: &str = "second-api-key-7b3d";
    const BY_HAND: &str = "db-value-set-by-hand-4e1a";
    const ROTATED: &str = "db-value-rotated-5c6d";
    let w = World::new("readers");
    let stack = reader_stack(&w);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let secrets = aws_sdk_secretsmanager::Client::new(&w.config);
    let mut said = String::new();
    let mut run = |args: &[&str], value: &'static str, code: i32| {
        let out = w.infra(args, &[FAST_POLL, ("API_KEY", value)]);
        said.push_str(&out.stdout);
        said.push_str(&out.stderr);
        expect(&out, code);
        out.stdout
    };
    let put_by_hand = |value: &str| {
        w.rt.block_on(
            secrets
                .put_secret_value()
                .secret_id(format!("{}/db", w.stack))
                .secret_string(value)
                .send(),
        )
        .expect("moto takes the value");
    };

    run(&["apply", &stack, "--auto-approve"], FIRST, 0);
    assert_eq!(
        recorded_version(&w, &ecs, "secret.api-key"),
        Some(current_version(&w, &secrets, "api-key")),
        "the service records the version its tasks read"
    );
    // The hand-set secret has no value yet: nothing to record, nothing to plan.
    assert_eq!(recorded_version(&w, &ecs, "secret.db"), None);
    run(&["plan", &stack, "--detailed-exitcode"], FIRST, 0);

    // Its first value is recorded without a restart (no task read an older one)...
    put_by_hand(BY_HAND);
    let plan = run(&["plan", &stack, "--detailed-exitcode"], FIRST, 2);
    assert!(!plan.contains("restarts"), "{plan}");
    let before = deployment_id(&w, &ecs);
    run(&["apply", &stack, "--auto-approve"], FIRST, 0);
    assert_eq!(deployment_id(&w, &ecs), before, "no restart");
    run(&["plan", &stack, "--detailed-exitcode"], FIRST, 0);

    // ...and its rotation restarts the reader, and only it.
    put_by_hand(ROTATED);
    let plan = run(&["plan", &stack, "--detailed-exitcode"], FIRST, 2);
    assert!(
        plan.contains("~ service.app: update in place")
            && plan.contains(
                "restarts: the value of `secret.db` changed since its tasks started; new tasks \
                 read the current one"
            )
            && plan.contains("Plan: 0 to add, 1 to change, 0 to replace"),
        "{plan}"
    );
    let before = deployment_id(&w, &ecs);
    run(&["apply", &stack, "--auto-approve"], FIRST, 0);
    assert_ne!(deployment_id(&w, &ecs), before, "a new deployment");
    assert_eq!(
        recorded_version(&w, &ecs, "secret.db"),
        Some(current_version(&w, &secrets, "db"))
    );
    run(&["plan", &stack, "--detailed-exitcode"], FIRST, 0);

    // Changed through infra: the plan writes the value and restarts the reader after it.
    let plan = run(&["plan", &stack], SECOND, 0);
    assert!(
        plan.contains("~ secret.api-key: update in place")
            && plan.contains(
                "restarts: this plan writes a new value of `secret.api-key`, which its tasks \
                 read; new tasks read it"
            ),
        "{plan}"
    );
    let before = deployment_id(&w, &ecs);
    run(&["apply", &stack, "--auto-approve"], SECOND, 0);
    assert_ne!(deployment_id(&w, &ecs), before, "a new deployment");
    assert_eq!(
        recorded_version(&w, &ecs, "secret.api-key"),
        Some(current_version(&w, &secrets, "api-key"))
    );
    run(&["plan", &stack, "--detailed-exitcode"], SECOND, 0);

    // The canary: no value was ever printed.
    for value in [FIRST, SECOND, BY_HAND, ROTATED] {
        assert!(!said.contains(value), "a secret value leaked: {said}");
    }
}

/// `infra restart` starts a new deployment of the revision a service runs, waits as apply
/// does, and refuses what is not one of the stack's services.
#[test]
fn a_service_restarts_on_purpose() {
    let w = World::new("restart");
    let stack = reader_stack(&w);
    let env = [FAST_POLL, ("API_KEY", "restart-test-key-1c9e")];
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &env), 0);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let before = deployment_id(&w, &ecs);
    let restart = w.infra(&["restart", &stack, "service.app", "--auto-approve"], &env);
    expect(&restart, 0);
    assert!(
        restart.stdout.contains(&format!(
            "service.app: restarting (a new deployment of `{}-app:1`)",
            w.stack
        )) && restart.stdout.contains("Restart complete"),
        "{}",
        restart.stdout
    );
    assert_ne!(deployment_id(&w, &ecs), before, "a new deployment");
    // Nothing else changed: the next plan is empty.
    expect(&w.infra(&["plan", &stack, "--detailed-exitcode"], &env), 0);

    let typo = w.infra(&["restart", &stack, "service.ap", "--auto-approve"], &env);
    expect(&typo, 1);
    assert!(
        typo.stderr.contains("has no service `service.ap`")
            && typo.stderr.contains("its services are service.app"),
        "{}",
        typo.stderr
    );
    let not_a_service = w.infra(&["restart", &stack, "secret.db", "--auto-approve"], &env);
    expect(&not_a_service, 1);
}

/// A hand-made service that has the stack's cluster and service names is not the stack's:
/// `infra restart` refuses it and starts no deployment.
#[test]
fn a_lookalike_service_is_never_restarted() {
    let w = World::new("restart-lookalike");
    let stack = reader_stack(&w);
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    w.rt.block_on(async {
        ecs.create_cluster()
            .cluster_name(&w.stack)
            .send()
            .await
            .expect("moto makes the cluster");
        let td = ecs
            .register_task_definition()
            .family("hand-made")
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
            .cluster(&w.stack)
            .service_name("app")
            .task_definition(arn)
            .desired_count(2)
            .send()
            .await
            .expect("moto makes the service");
    });
    let before = deployment_id(&w, &ecs);
    let env = [FAST_POLL, ("API_KEY", "lookalike-key-2d8f")];
    let restart = w.infra(&["restart", &stack, "service.app", "--auto-approve"], &env);
    expect(&restart, 1);
    assert!(
        restart
            .stderr
            .contains("`service.app` exists but is not stack")
            && restart.stderr.contains("infra restarts only what it owns"),
        "{}",
        restart.stderr
    );
    assert_eq!(deployment_id(&w, &ecs), before, "no deployment was started");
}

/// A count autoscaling owns is never reset: the plan with nothing else to do is empty, a
/// deploy keeps the live count and says so (terraform-provider-aws#335: apply resets scaled
/// services).
#[test]
fn a_count_owned_by_autoscaling_is_never_reset() {
    let w = World::new("count-owner");
    let extra = "    desired-count-owner \"autoscaling\"\n";
    let path = write(&w, &stack_text(&w, 2, extra));
    expect(
        &w.infra(&["apply", &path, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    // Scaling in, as Application Auto Scaling would.
    w.rt.block_on(
        ecs.update_service()
            .cluster(&w.stack)
            .service("app")
            .desired_count(1)
            .send(),
    )
    .expect("moto updates the service");
    expect(&w.infra(&["plan", &path, "--detailed-exitcode"], &[]), 0);

    let deploy = ["--var", "image-tag=1.1.0"];
    let plan = w.infra(
        &["plan", &path, "--detailed-exitcode", deploy[0], deploy[1]],
        &[],
    );
    expect(&plan, 2);
    assert!(
        plan.stdout
            .contains("desired-count is set by autoscaling: 1 now, left as it is"),
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
    let count = app(&w, &ecs).map(|s| s.desired_count());
    assert_eq!(count, Some(1), "apply left the scaled count alone");
}
