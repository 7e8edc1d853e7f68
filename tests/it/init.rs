//! `infra init`: run with flags and `--yes` (no terminal), it writes a stack on the shipped
//! web-service module, one variable file per environment and the module, which validate and
//! are formatted; it never overwrites a file without `--force`, and a question it cannot ask
//! without a terminal is an error naming its flag. No AWS.

use std::path::Path;

use crate::docs::temp_dir;
use crate::harness::{expect, infra, infra_with_env, root};

const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:1.0.0";

/// `infra init <dir>` with every answer a flag but the port, which `--yes` defaults.
fn init(dir: &Path, extra: &[&str]) -> crate::harness::Output {
    let dir = dir.to_string_lossy();
    let mut args = vec![
        "init",
        &dir,
        "--name",
        "shop",
        "--region",
        "eu-west-1",
        "--domain",
        "example.com",
        "--image",
        IMAGE,
        "--yes",
    ];
    args.extend_from_slice(extra);
    infra(&args)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("init wrote the file")
}

fn redact(text: &str, dir: &Path) -> String {
    text.replace(&dir.to_string_lossy().into_owned(), "[DIR]")
}

#[test]
fn init_writes_a_stack_per_environment_that_validates_and_is_formatted() {
    let dir = temp_dir("init").join("shop");
    let out = init(&dir, &[]);
    expect(&out, 0);
    insta::assert_snapshot!("init_output", redact(&out.stdout, &dir));
    insta::assert_snapshot!("init_stack", read(&dir.join("shop.kdl")));
    insta::assert_snapshot!("init_staging_vars", read(&dir.join("staging.vars")));
    insta::assert_snapshot!("init_production_vars", read(&dir.join("production.vars")));
    assert_eq!(
        read(&dir.join("modules/web-service.kdl")),
        read(&root().join("modules/web-service.kdl")),
        "the module written is the shipped one"
    );
    assert!(
        out.stdout
            .contains("stack shop-staging (eu-west-1) is valid")
    );
    assert!(
        out.stdout
            .contains("stack shop-production (eu-west-1) is valid")
    );

    let stack = dir.join("shop.kdl").to_string_lossy().into_owned();
    for environment in ["staging", "production"] {
        let vars = dir.join(format!("{environment}.vars"));
        let validate = infra(&["validate", &stack, "--var-file", &vars.to_string_lossy()]);
        expect(&validate, 0);
        assert!(
            validate
                .stdout
                .starts_with(&format!("stack shop-{environment} (eu-west-1) is valid")),
            "{}",
            validate.stdout
        );
    }
    expect(&infra(&["fmt", "--check", &dir.to_string_lossy()]), 0);
}

#[test]
fn init_refuses_to_overwrite_a_file_without_force() {
    let dir = temp_dir("init-again");
    expect(&init(&dir, &[]), 0);
    let stack = dir.join("shop.kdl");
    std::fs::write(&stack, "// edited by hand\n").expect("the stack is edited");

    let again = init(&dir, &[]);
    expect(&again, 1);
    insta::assert_snapshot!("init_refuses", redact(&again.stderr, &dir));
    assert_eq!(
        read(&stack),
        "// edited by hand\n",
        "nothing was overwritten"
    );

    expect(&init(&dir, &["--force"]), 0);
    assert!(read(&stack).starts_with("// shop: a web service"));
}

#[test]
fn a_missing_answer_without_a_terminal_names_its_flag() {
    let dir = temp_dir("init-missing").join("shop");
    let dir_text = dir.to_string_lossy();
    let out = infra(&[
        "init",
        &dir_text,
        "--name",
        "shop",
        "--region",
        "eu-west-1",
        "--image",
        IMAGE,
    ]);
    expect(&out, 1);
    insta::assert_snapshot!("init_missing_domain", out.stderr);
    assert!(
        !dir.exists(),
        "nothing is written before every answer is in"
    );

    // An image outside ECR names no account, so the account is asked for too.
    let out = infra(&[
        "init",
        &dir_text,
        "--name",
        "shop",
        "--region",
        "eu-west-1",
        "--domain",
        "example.com",
        "--image",
        "nginx:1.27",
        "--yes",
    ]);
    expect(&out, 1);
    assert!(
        out.stderr.contains("help: pass --account <value>"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_region_defaults_from_the_environment_and_environments_from_flags() {
    let dir = temp_dir("init-env");
    let dir_text = dir.to_string_lossy();
    let out = infra_with_env(
        &[
            "init",
            &dir_text,
            "--name",
            "shop",
            "--domain",
            "example.com",
            "--image",
            IMAGE,
            "--env",
            "dev",
            "--env",
            "prod",
            "--port",
            "3000",
            "--yes",
        ],
        &[("AWS_REGION", "ap-southeast-2")],
    );
    expect(&out, 0);
    let stack = read(&dir.join("shop.kdl"));
    assert!(stack.contains("stack \"shop-${var.environment}\" region=\"ap-southeast-2\""));
    assert!(stack.contains("validation \"dev\" \"prod\""));
    assert!(stack.contains("    port 3000\n"));
    assert!(read(&dir.join("prod.vars")).contains("production #true"));
    assert!(!read(&dir.join("dev.vars")).contains("production"));
    assert!(!dir.join("staging.vars").exists());
}
