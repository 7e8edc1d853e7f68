//! What a user reads when AWS cannot be talked to: AWS unreachable, no or unknown credentials,
//! credentials refused, a region the account has not enabled, throttling that outlasts the
//! retries, access denied, a secret whose value cannot be read. Each is one sentence and a
//! `help:` line, the same in `plan` and `unlock`, never a debug dump.
//!
//! moto checks neither credentials nor permissions: the fault proxy answers as AWS does.

use std::net::TcpListener;

use super::harness::{Output, command, expect};
use super::moto::World;
use super::proxy::{Fault, Faults, Proxy, Rule};

/// The quick-start stack's world, with infra's calls going through a proxy.
fn world(name: &str) -> (World, Proxy, String) {
    let mut w = World::new(name);
    let proxy = Proxy::start(&w.url, Faults::default());
    w.through(&proxy);
    let stack = w.stack_file("quickstart.kdl", |t| t);
    (w, proxy, stack)
}

const ENV: [(&str, &str); 1] = [("QUICKSTART_API_KEY", "errors-test-value")];

/// Every call of every service meets `fault`.
fn always(fault: Fault) -> Faults {
    only("*", fault)
}

fn only(operation: &str, fault: Fault) -> Faults {
    Faults {
        rules: vec![Rule {
            operation: operation.into(),
            body_contains: None,
            fault,
            times: None,
        }],
        ..Faults::default()
    }
}

/// stderr, with this world's names and the proxy's port redacted.
fn stderr(w: &World, proxy: &Proxy, out: &Output) -> String {
    w.redact(&out.stderr.replace(&proxy.url, "http://127.0.0.1:PORT"))
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("its address").port()
}

/// `plan` fails with one diagnostic, and `unlock` says the same.
fn plan_and_unlock_agree(w: &World, proxy: &Proxy, stack: &str) -> String {
    let plan = w.infra(&["plan", stack], &ENV);
    expect(&plan, 1);
    let said = stderr(w, proxy, &plan);
    assert!(said.ends_with("error: 1 problem found"), "{said}");
    let unlock = w.infra(&["unlock", stack, "0123456789abcdef"], &[]);
    expect(&unlock, 1);
    assert_eq!(
        stderr(w, proxy, &unlock),
        said,
        "unlock says what plan says"
    );
    said
}

#[test]
fn an_endpoint_that_refuses_connections_is_said_once_and_not_retried() {
    let mut w = World::new("refused");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    let port = closed_port();
    w.url = format!("http://127.0.0.1:{port}");
    let plan = w.infra(&["plan", &stack, "-vvv"], &ENV);
    expect(&plan, 1);
    // One attempt per call: a refused connection is not tried again.
    let attempts = plan
        .stderr
        .lines()
        .filter(|l| l.contains("http: Route 53.ListHostedZonesByName ->"))
        .count();
    assert_eq!(attempts, 1, "{}", plan.stderr);
    let plan = w.infra(&["plan", &stack], &ENV);
    let said = w.redact(&plan.stderr.replace(&port.to_string(), "PORT"));
    assert!(!said.contains("DispatchFailure"), "{said}");
    insta::assert_snapshot!("errors-connection-refused", said);
    let unlock = w.infra(&["unlock", &stack, "0123456789abcdef"], &[]);
    expect(&unlock, 1);
    assert_eq!(
        w.redact(&unlock.stderr.replace(&port.to_string(), "PORT")),
        said
    );
}

#[test]
fn a_host_name_that_does_not_resolve_is_said_once() {
    let mut w = World::new("dns");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    // `.invalid` never resolves (RFC 6761).
    w.url = "http://aws-endpoint.invalid".into();
    let plan = w.infra(&["plan", &stack], &ENV);
    expect(&plan, 1);
    insta::assert_snapshot!("errors-dns-not-found", w.redact(&plan.stderr));
}

/// `infra` with no AWS credentials anywhere, and the profile files of `home`.
fn without_credentials(args: &[&str], home: &std::path::Path, profile: Option<&str>) -> Output {
    let config = home.join("config");
    let credentials = home.join("credentials");
    let mut env = vec![
        ("HOME", home.to_str().unwrap_or_default()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap_or_default()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.to_str().unwrap_or_default(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ENV[0],
    ];
    if let Some(profile) = profile {
        env.push(("AWS_PROFILE", profile));
    }
    let out = command(args, &env).output().expect("the infra binary runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn missing_credentials_read_the_same_in_plan_and_unlock() {
    let w = World::new("nocreds");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    let plan = without_credentials(&["plan", &stack], &w.dir, None);
    expect(&plan, 1);
    insta::assert_snapshot!("errors-no-credentials", plan.stderr);
    let unlock = without_credentials(&["unlock", &stack, "0123"], &w.dir, None);
    expect(&unlock, 1);
    assert_eq!(unlock.stderr, plan.stderr);
}

#[test]
fn an_unknown_profile_is_named_with_the_profiles_there_are() {
    let w = World::new("profile");
    let stack = w.stack_file("quickstart.kdl", |t| t);
    std::fs::write(
        w.dir.join("config"),
        "[profile dev]\nregion = us-east-1\n\n[profile prod]\nregion = us-east-1\n",
    )
    .expect("the config file is written");
    let plan = without_credentials(&["plan", &stack], &w.dir, Some("staging"));
    expect(&plan, 1);
    insta::assert_snapshot!("errors-unknown-profile", plan.stderr);
    let unlock = without_credentials(&["unlock", &stack, "0123"], &w.dir, Some("staging"));
    assert_eq!(unlock.stderr, plan.stderr);
}

#[test]
fn refused_credentials_say_what_to_check_for_each_answer() {
    let (w, proxy, stack) = world("refusedkeys");
    for (name, status, code, message) in [
        (
            "unrecognized-client",
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            "invalid-client-token-id",
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
        (
            "expired-token",
            400,
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ),
        (
            "signature-does-not-match",
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
        (
            "auth-failure",
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
        ),
    ] {
        proxy.set_faults(always(Fault::Error {
            status,
            code,
            message,
        }));
        let said = plan_and_unlock_agree(&w, &proxy, &stack);
        assert!(said.contains(code), "{said}");
        insta::assert_snapshot!(format!("errors-credentials-{name}"), said);
    }
}

#[test]
fn a_region_the_account_has_not_enabled_is_named() {
    let (w, proxy, _) = world("optin");
    let stack = w.stack_file("quickstart.kdl", |t| {
        t.replace("region=\"us-east-1\"", "region=\"af-south-1\"")
    });
    // AWS refuses the key in the region, and knows it in us-east-1.
    proxy.set_faults(always(Fault::ErrorIn {
        region: "af-south-1",
        status: 403,
        code: "InvalidClientTokenId",
        message: "The security token included in the request is invalid.",
    }));
    let said = plan_and_unlock_agree(&w, &proxy, &stack);
    insta::assert_snapshot!("errors-region-not-enabled", said);
    // Refused everywhere, it is the key.
    proxy.set_faults(always(Fault::Error {
        status: 403,
        code: "InvalidClientTokenId",
        message: "The security token included in the request is invalid.",
    }));
    let said = plan_and_unlock_agree(&w, &proxy, &stack);
    assert!(
        said.contains("AWS does not recognise the access key"),
        "{said}"
    );
}

#[test]
fn throttling_that_outlasts_the_retries_says_so() {
    let (w, proxy, stack) = world("throttled");
    proxy.set_faults(only("ListSecrets", Fault::Throttle));
    let plan = w.infra(&["plan", &stack], &ENV);
    expect(&plan, 1);
    let said = stderr(&w, &proxy, &plan);
    insta::assert_snapshot!("errors-throttled", said);
    assert!(proxy.tallies()["secretsmanager.ListSecrets"].throttled > 1);
}

#[test]
fn access_denied_names_the_action_aws_names_and_where_to_grant_it() {
    let (w, proxy, stack) = world("deniedaction");
    // A read: the help names the permission of the call.
    proxy.set_faults(only("DescribeAlarms", Fault::AccessDenied));
    let plan = w.infra(&["plan", &stack], &ENV);
    expect(&plan, 1);
    insta::assert_snapshot!("errors-denied-read", stderr(&w, &proxy, &plan));
    // A create with tags, denied the tagging permission.
    proxy.set_faults(Faults {
        rules: vec![Rule {
            operation: "CreateSecret".into(),
            body_contains: Some("api-key".into()),
            fault: Fault::Error {
                status: 400,
                code: "AccessDeniedException",
                message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: \
                          secretsmanager:TagResource on resource: \
                          arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key because \
                          no identity-based policy allows the secretsmanager:TagResource action",
            },
            times: None,
        }],
        ..Faults::default()
    });
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &ENV);
    expect(&apply, 1);
    let failed = failed_lines(&w, &apply);
    assert!(failed.contains("tagging permission"), "{failed}");
    insta::assert_snapshot!("errors-denied-tag-on-create", failed);
}

/// The lines of an apply's output that say what failed.
fn failed_lines(w: &World, out: &Output) -> String {
    w.redact(&format!("{}{}", out.stdout, out.stderr))
        .lines()
        .filter(|l| l.contains("failed"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_role_infra_may_not_pass_is_named_with_the_fix() {
    let (w, proxy, _) = world("passrole");
    let text = format!(
        "stack \"{stack}\" region=\"us-east-1\"\n\
         variable \"domain\" type=\"string\" default=\"example.com\"\n\
         task-definition \"api\" {{\n\
         \x20   family \"{stack}-api\"\n\
         \x20   cpu 256\n\
         \x20   memory 512\n\
         \x20   execution-role \"arn:aws:iam::123456789012:role/exec\"\n\
         \x20   container \"api\" {{\n\
         \x20       image \"public.ecr.aws/nginx/nginx:1.27\"\n\
         \x20   }}\n\
         }}\n",
        stack = w.stack
    );
    let stack = w.dir.join("passrole.kdl");
    std::fs::write(&stack, text).expect("the stack file is written");
    let stack = stack.to_string_lossy().into_owned();
    proxy.set_faults(only(
        "RegisterTaskDefinition",
        Fault::Error {
            status: 400,
            code: "AccessDeniedException",
            message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: \
                      iam:PassRole on resource: arn:aws:iam::123456789012:role/exec because no \
                      identity-based policy allows the iam:PassRole action",
        },
    ));
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &[]);
    expect(&apply, 1);
    let failed = failed_lines(&w, &apply);
    assert!(failed.contains("`iam:PassRole` on"), "{failed}");
    insta::assert_snapshot!("errors-denied-pass-role", failed);
}

#[test]
fn a_secret_value_that_cannot_be_read_stops_the_plan_instead_of_rewriting_it() {
    let (w, proxy, stack) = world("secretread");
    expect(&w.infra(&["apply", &stack, "--auto-approve"], &ENV), 0);
    // Denied GetSecretValue on the secret: the plan refuses and names the secret.
    proxy.set_faults(only(
        "BatchGetSecretValue",
        Fault::SecretErrors {
            code: "AccessDeniedException",
            message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: \
                      secretsmanager:GetSecretValue on resource: {id} because no \
                      identity-based policy allows the secretsmanager:GetSecretValue action",
        },
    ));
    let plan = w.infra(&["plan", &stack], &ENV);
    expect(&plan, 1);
    assert!(!plan.stdout.contains("secret.api-key"), "{}", plan.stdout);
    insta::assert_snapshot!("errors-secret-denied", stderr(&w, &proxy, &plan));
    // Its KMS key will not decrypt it.
    proxy.set_faults(only(
        "BatchGetSecretValue",
        Fault::SecretErrors {
            code: "DecryptionFailure",
            message: "Access to KMS is not allowed",
        },
    ));
    let plan = w.infra(&["plan", &stack], &ENV);
    expect(&plan, 1);
    insta::assert_snapshot!("errors-secret-kms", stderr(&w, &proxy, &plan));
    // A secret with no value has nothing to compare: its value is written.
    proxy.set_faults(only(
        "BatchGetSecretValue",
        Fault::SecretErrors {
            code: "ResourceNotFoundException",
            message: "Secrets Manager can't find the specified secret value for staging label: \
                      AWSCURRENT",
        },
    ));
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &ENV);
    expect(&plan, 2);
    assert!(plan.stdout.contains("secret.api-key"), "{}", plan.stdout);
    // Readable again, nothing changed.
    proxy.set_faults(Faults::default());
    expect(&w.infra(&["plan", &stack, "--detailed-exitcode"], &ENV), 0);
}
