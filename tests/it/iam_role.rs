//! The `iam-role` kind against moto: created from nothing with an inline policy that reads a
//! stack secret's ARN (known only after apply), an empty re-plan, updates of an inline
//! policy (shown statement by statement), of managed policies, of tags and settings, drift
//! repaired, look-alikes (an unowned role under the stack's name, the same stack name in
//! another region) left alone, and destroy.

use aws_sdk_iam::Client;

use super::harness::expect;
use super::moto::World;

/// The stack: a secret, and a task role whose inline policy names the secret's ARN.
/// `{actions}`, `{managed}`, `{tags}` and `{settings}` are swapped per step.
const STACK: &str = r#"
stack "STACK" region="us-east-1"

variable "domain" type="string" default="example.com" description="Given by the test harness." allow="the harness sets it for every plan"

secret "db" {
    name "STACK/db"
    value {
        generate length=16
    }
}

iam-role "task" {
    name "STACK-task"
    trust "ecs-tasks"
    {settings}
    managed-policies {managed}
    policy "read-secrets" {
        statement {
            actions {actions}
            resources (ref)"secret.db.arn"
        }
        statement {
            effect "Deny"
            actions "secretsmanager:DeleteSecret"
            resources "*"
            condition {
                test "StringEquals"
                variable "aws:SourceAccount"
                values "123456789012"
            }
        }
    }
    tags {
        {tags}
    }
}
"#;

struct Step {
    actions: &'static str,
    managed: String,
    tags: &'static str,
    settings: &'static str,
}

fn write(w: &World, step: &Step) -> String {
    let text = STACK
        .replace("STACK", &w.stack)
        .replace("{actions}", step.actions)
        .replace("{managed}", &step.managed)
        .replace("{tags}", step.tags)
        .replace("{settings}", step.settings);
    let path = w.dir.join("iam.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.display().to_string()
}

/// Output as a snapshot holds it: the test's names and folder replaced.
fn shown(w: &World, text: &str) -> String {
    w.redact(&text.replace(&w.dir.display().to_string(), "DIR"))
}

fn no_changes(w: &World, path: &str) {
    let plan = w.infra(&["plan", path, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

/// A customer managed policy made by the test (moto holds no AWS managed policies).
fn managed_policy(w: &World, iam: &Client, name: &str) -> String {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}"#;
    w.rt.block_on(
        iam.create_policy()
            .policy_name(name)
            .policy_document(doc)
            .send(),
    )
    .expect("moto creates the policy")
    .policy()
    .and_then(|p| p.arn())
    .expect("an ARN")
    .to_string()
}

fn inline_document(w: &World, iam: &Client, role: &str) -> String {
    let got =
        w.rt.block_on(
            iam.get_role_policy()
                .role_name(role)
                .policy_name("read-secrets")
                .send(),
        )
        .expect("the inline policy");
    infra::model::policy::decode(got.policy_document())
}

fn attached(w: &World, iam: &Client, role: &str) -> Vec<String> {
    let got =
        w.rt.block_on(iam.list_attached_role_policies().role_name(role).send())
            .expect("the attached policies");
    let mut arns: Vec<String> = got
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    arns.sort();
    arns
}

fn tags(w: &World, iam: &Client, role: &str) -> Vec<(String, String)> {
    let got =
        w.rt.block_on(iam.list_role_tags().role_name(role).send())
            .expect("the role's tags");
    let mut tags: Vec<(String, String)> = got
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    tags
}

fn role_exists(w: &World, iam: &Client, role: &str) -> bool {
    match w.rt.block_on(iam.get_role().role_name(role).send()) {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            false
        }
        Err(e) => panic!("GetRole failed: {e:?}"),
    }
}

#[test]
fn a_role_is_created_updated_repaired_and_destroyed() {
    let w = World::new("iamrole");
    let iam = Client::new(&w.config);
    let role = format!("{}-task", w.stack);
    let first = managed_policy(&w, &iam, &format!("{}-logs", w.stack));
    let second = managed_policy(&w, &iam, &format!("{}-metrics", w.stack));
    let mut step = Step {
        actions: r#""secretsmanager:GetSecretValue""#,
        managed: format!("\"{first}\""),
        tags: r#"team "payments""#,
        settings: "",
    };

    // Create from nothing: the policy holds the secret's ARN, known only after apply.
    let path = write(&w, &step);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    assert!(plan.stdout.contains("+ iam-role.task"), "{}", plan.stdout);
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let secret_arn =
        w.rt.block_on(
            aws_sdk_secretsmanager::Client::new(&w.config)
                .describe_secret()
                .secret_id(format!("{}/db", w.stack))
                .send(),
        )
        .expect("the secret")
        .arn()
        .expect("its ARN")
        .to_string();
    let doc = inline_document(&w, &iam, &role);
    assert!(doc.contains(&secret_arn), "{doc}");
    assert!(doc.contains("2012-10-17"), "{doc}");
    assert_eq!(attached(&w, &iam, &role), std::slice::from_ref(&first));
    let trust =
        w.rt.block_on(iam.get_role().role_name(&role).send())
            .expect("the role")
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .map(infra::model::policy::decode)
            .unwrap_or_default();
    assert!(trust.contains("ecs-tasks.amazonaws.com"), "{trust}");
    let owned = tags(&w, &iam, &role);
    assert!(
        owned.contains(&("infra:region".into(), "us-east-1".into()))
            && owned.contains(&("infra:stack".into(), w.stack.clone()))
            && owned.contains(&("team".into(), "payments".into())),
        "{owned:?}"
    );
    no_changes(&w, &path);

    // An inline policy's statement changes: the plan names that statement.
    step.actions = r#""secretsmanager:GetSecretValue" "secretsmanager:DescribeSecret""#;
    let path = write(&w, &step);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("iam_inline_policy_statement", shown(&w, &plan.stdout));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    assert!(
        inline_document(&w, &iam, &role).contains("secretsmanager:DescribeSecret"),
        "the new action is in the policy"
    );
    no_changes(&w, &path);

    // Managed policies: one attached, one detached.
    step.managed = format!("\"{second}\"");
    let path = write(&w, &step);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("iam_managed_policies", shown(&w, &plan.stdout));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    assert_eq!(attached(&w, &iam, &role), std::slice::from_ref(&second));
    no_changes(&w, &path);

    // Tags, and the role's settings.
    step.tags = r#"team "billing""#;
    step.settings = r#"description "Task role"
    max-session-duration 7200"#;
    let path = write(&w, &step);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("iam_tags_and_settings", shown(&w, &plan.stdout));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    assert!(tags(&w, &iam, &role).contains(&("team".into(), "billing".into())));
    let got =
        w.rt.block_on(iam.get_role().role_name(&role).send())
            .expect("the role");
    let got = got.role().expect("a role");
    assert_eq!(got.description(), Some("Task role"));
    assert_eq!(got.max_session_duration(), Some(7200));
    no_changes(&w, &path);

    // Drift: the policy edited out of band is planned back, statement by statement.
    let wide = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}"#;
    w.rt.block_on(
        iam.put_role_policy()
            .role_name(&role)
            .policy_name("read-secrets")
            .policy_document(wide)
            .send(),
    )
    .expect("the out-of-band edit");
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    assert!(
        plan.stdout
            .contains("policy.read-secrets.statement[1].actions"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("policy.read-secrets.statement[2]"),
        "{}",
        plan.stdout
    );
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let doc = inline_document(&w, &iam, &role);
    assert!(
        !doc.contains("secretsmanager:*") && doc.contains(&secret_arn),
        "{doc}"
    );
    no_changes(&w, &path);

    // Destroy: the role goes; the managed policies it used stay (they are not the stack's).
    expect(&w.infra(&["destroy", &path, "--auto-approve"], &[]), 0);
    assert!(!role_exists(&w, &iam, &role));
    for arn in [&first, &second] {
        w.rt.block_on(iam.get_policy().policy_arn(arn).send())
            .expect("the managed policy survives");
    }
}

#[test]
fn roles_the_stack_does_not_own_are_never_touched() {
    let w = World::new("iamowner");
    let iam = Client::new(&w.config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let make = |name: &str, tags: &[(&str, &str)]| {
        let tags: Vec<aws_sdk_iam::types::Tag> = tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(*k)
                    .value(*v)
                    .build()
                    .expect("a tag")
            })
            .collect();
        w.rt.block_on(
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .set_tags(Some(tags))
                .send(),
        )
        .expect("moto creates the look-alike");
    };
    // Under the name the stack declares, made by hand.
    let taken = format!("{}-task", w.stack);
    make(&taken, &[("made-by", "hand")]);
    // The same stack name in another region (IAM is global): another owner, never an orphan.
    let elsewhere = format!("{}-task-eu", w.stack);
    make(
        &elsewhere,
        &[
            ("infra:stack", w.stack.as_str()),
            ("infra:address", "iam-role.worker"),
            ("infra:region", "eu-west-1"),
        ],
    );

    let text = |name: &str| {
        format!(
            "stack \"{stack}\" region=\"us-east-1\"\nvariable \"domain\" type=\"string\" default=\"x\" description=\"Given by the test harness.\" allow=\"the harness sets it\"\n\niam-role \"task\" {{\n    name \"{name}\"\n    trust \"ecs-tasks\"\n}}\n",
            stack = w.stack
        )
    };
    let path = w.dir.join("owners.kdl");
    std::fs::write(&path, text(&taken)).expect("the stack file");
    let path = path.display().to_string();
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 1);
    insta::assert_snapshot!("iam_role_not_ours", shown(&w, &plan.stderr));
    expect(&w.infra(&["destroy", &path, "--auto-approve"], &[]), 0);

    // A name of its own: created; the look-alikes are not orphans of this stack.
    std::fs::write(&path, text(&format!("{}-own", w.stack))).expect("the stack file");
    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(
        apply.stdout.contains("1 created") && apply.stdout.contains("0 deleted"),
        "{}",
        apply.stdout
    );
    no_changes(&w, &path);
    expect(&w.infra(&["destroy", &path, "--auto-approve"], &[]), 0);
    assert!(!role_exists(&w, &iam, &format!("{}-own", w.stack)));
    assert!(role_exists(&w, &iam, &taken), "the hand-made role survives");
    assert!(
        role_exists(&w, &iam, &elsewhere),
        "the other region's role survives"
    );
    assert_eq!(
        tags(&w, &iam, &taken),
        [("made-by".to_string(), "hand".to_string())],
        "untouched"
    );
}
