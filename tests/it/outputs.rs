//! Outputs: printed after apply, and read live by `infra output` (all, one bare for scripts,
//! or JSON).

use super::harness::expect;
use super::moto::World;

fn stack(w: &World) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string"

log-group "app" {{
    name "/outputs/{stack}"
    retention-days 7
}}

output "url" "https://api.${{var.domain}}"
output "log-group-arn" (ref)"log-group.app.arn"
"#,
        stack = w.stack
    );
    let path = w.dir.join("outputs.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

#[test]
fn outputs_are_printed_after_apply_and_read_live() {
    let w = World::new("outputs");
    let stack = stack(&w);
    let arn = format!(
        "arn:aws:logs:us-east-1:123456789012:log-group:/outputs/{}",
        w.stack
    );

    // Before anything exists: what only AWS can tell is not known yet.
    let before = w.infra(&["output", &stack, "--json"], &[]);
    expect(&before, 0);
    let doc: serde_json::Value = serde_json::from_str(&before.stdout).expect("JSON");
    assert_eq!(doc["url"], format!("https://api.{}", w.domain));
    assert_eq!(doc["log-group-arn"], serde_json::Value::Null);
    let unknown = w.infra(&["output", &stack, "log-group-arn"], &[]);
    expect(&unknown, 1);
    assert!(
        unknown.stderr.contains("is not known yet"),
        "{}",
        unknown.stderr
    );

    let apply = w.infra(&["apply", &stack, "--auto-approve"], &[]);
    expect(&apply, 0);
    insta::assert_snapshot!(
        "outputs_after_apply",
        w.redact(&apply.stdout[apply.stdout.find("Apply complete").unwrap_or(0)..])
    );
    // A run with nothing to change prints them too.
    let again = w.infra(&["apply", &stack, "--auto-approve"], &[]);
    expect(&again, 0);
    assert!(
        again.stdout.contains(&format!("log-group-arn = \"{arn}")),
        "{}",
        again.stdout
    );

    // One value, bare, for scripts.
    let one = w.infra(&["output", &stack, "log-group-arn"], &[]);
    expect(&one, 0);
    assert!(
        one.stdout.starts_with(&arn) && one.stdout.lines().count() == 1,
        "{}",
        one.stdout
    );
    let all = w.infra(&["output", &stack], &[]);
    expect(&all, 0);
    assert!(
        all.stdout.starts_with("Outputs:\n  log-group-arn = \""),
        "{}",
        all.stdout
    );
    // A name the stack does not declare names those it does.
    let typo = w.infra(&["output", &stack, "ulr"], &[]);
    expect(&typo, 1);
    assert!(
        typo.stderr.contains("has no output `ulr`")
            && typo.stderr.contains("its outputs are log-group-arn, url"),
        "{}",
        typo.stderr
    );
}
