//! `for-each` through the whole front end: stacks written to a temporary directory and loaded,
//! instances checked by address, mistakes pinned as diagnostics with their line and column.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::lang::{LoadFailure, LoadOptions, load};
use crate::model::{Stack, Value};

const HEADER: &str = "stack \"fe\" region=\"us-east-1\"\n";

/// A directory of its own for one test, holding `files` (the first is the stack file).
fn write(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("infra-for-each-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("temporary directory");
        }
        std::fs::write(&path, text).expect("temporary file");
    }
    dir.join(files[0].0)
}

fn load_stack(test: &str, body: &str) -> Result<Stack, LoadFailure> {
    let path = write(test, &[("stack.kdl", &format!("{HEADER}{body}"))]);
    load(&path, &LoadOptions::default())
}

fn addresses(stack: &Stack) -> Vec<String> {
    stack
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .collect()
}

fn attr(stack: &Stack, address: &str, name: &str) -> Value {
    stack
        .resources
        .iter()
        .find(|r| r.address.to_string() == address)
        .and_then(|r| r.attrs.get(name).cloned())
        .unwrap_or(Value::Null)
}

/// Every diagnostic as text: code, message, each label at `line:column`, help; in the order of
/// their places in the file (module outputs are checked in no fixed order).
fn shown(failure: &LoadFailure) -> String {
    let mut diagnostics: Vec<_> = failure.diagnostics.iter().collect();
    diagnostics.sort_by_key(|d| d.span().map(|s| (s.source.0, s.offset)));
    let mut out = String::new();
    for d in diagnostics {
        let _ = writeln!(out, "{}: {}", d.code, d.message);
        for label in &d.labels {
            let (line, col) = failure.sources.line_col(label.span);
            let _ = writeln!(out, "  at {line}:{col}: {}", label.text);
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    out
}

fn diagnostics(test: &str, body: &str) -> String {
    match load_stack(test, body) {
        Ok(stack) => panic!("expected diagnostics, loaded {:?}", addresses(&stack)),
        Err(failure) => shown(&failure),
    }
}

const ALARM_BODY: &str = r#"    namespace "AWS/Lambda"
    metric "Errors"
    statistic "Sum"
    period 60
    evaluation-periods 1
    threshold 1
    comparison "GreaterThanThreshold"
"#;

#[test]
fn a_list_makes_one_instance_per_item_keyed_by_the_item() {
    let stack = load_stack(
        "list",
        r#"
variable "functions" type="list(string)" {
    default "checkout" "billing" "search"
}

log-group "fn" for-each=(var)"functions" {
    name "/lambda/${each.key}"
    tags item="${each.value}"
}
"#,
    )
    .expect("loads");
    assert_eq!(
        addresses(&stack),
        [
            "log-group.fn[\"checkout\"]",
            "log-group.fn[\"billing\"]",
            "log-group.fn[\"search\"]"
        ]
    );
    assert_eq!(
        attr(&stack, "log-group.fn[\"billing\"]", "name"),
        Value::String("/lambda/billing".into())
    );
}

#[test]
fn a_map_gives_each_key_its_value_and_references_name_instances() {
    let stack = load_stack(
        "map",
        &format!(
            r##"
log-group "fn" {{
    for-each "checkout" "billing"
    name "/lambda/${{each.key}}"
}}

alarm "errors" {{
    for-each {{
        checkout "5"
        billing "10"
    }}
    name "lambda-${{each.key}}-errors"
    description "over ${{each.value}}"
{ALARM_BODY}    depends-on (ref)"log-group.fn[each.key]"
}}

output "arn" (ref)#"log-group.fn["checkout"].arn"#
"##
        ),
    )
    .expect("loads");
    assert_eq!(
        attr(&stack, "alarm.errors[\"billing\"]", "name"),
        Value::String("lambda-billing-errors".into())
    );
    assert_eq!(
        attr(&stack, "alarm.errors[\"checkout\"]", "description"),
        Value::String("over 5".into())
    );
    let alarm = stack
        .resources
        .iter()
        .find(|r| r.address.to_string() == "alarm.errors[\"billing\"]")
        .expect("alarm");
    assert_eq!(
        alarm.depends_on[0].address.to_string(),
        "log-group.fn[\"billing\"]"
    );
}

#[test]
fn module_instances_are_keyed_and_their_inputs_read_each() {
    let path = write(
        "module",
        &[
            (
                "stack.kdl",
                &format!(
                    "{HEADER}\nmodule \"web\" source=\"web.kdl\" {{\n    for-each eu=\"/eu\" us=\"/us\"\n    prefix \"${{each.value}}\"\n}}\n\noutput \"eu\" (ref)\"module.web[eu].group\"\n"
                ),
            ),
            (
                "web.kdl",
                "input \"prefix\"\n\nlog-group \"app\" name=\"${var.prefix}/app\"\n\noutput \"group\" (ref)\"log-group.app\"\n",
            ),
        ],
    );
    let stack = load(&path, &LoadOptions::default()).expect("loads");
    assert_eq!(
        addresses(&stack),
        [
            "module.web[\"eu\"].log-group.app",
            "module.web[\"us\"].log-group.app"
        ]
    );
    assert_eq!(
        attr(&stack, "module.web[\"us\"].log-group.app", "name"),
        Value::String("/us/app".into())
    );
}

#[test]
fn mistakes_are_diagnostics_at_their_place() {
    let text = diagnostics(
        "mistakes",
        r#"
variable "port" type="int" default=80
variable "names" type="list(string)" {
    default "a" "b c"
}

log-group "outside" name="/x/${each.key}"

log-group "twice" {
    for-each "a" "b" "a"
    name "/twice/${each.key}"
}

log-group "empty" {
    for-each ""
    name "/empty/${each.key}"
}

log-group "scalar" for-each=(var)"port" {
    name "/scalar"
}

log-group "spaces" for-each=(var)"names" {
    name "/spaces/${each.key}"
}

log-group "quoted" {
    for-each "x\"y"
    name "/quoted"
}

log-group "known-later" for-each=(ref)"log-group.outside.arn" {
    name "/later"
}
"#,
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_whole_group_or_a_missing_key_is_named_with_the_keys_it_has() {
    let text = diagnostics(
        "group",
        r#"
log-group "fn" {
    for-each "checkout" "billing"
    name "/lambda/${each.key}"
}

output "whole" (ref)"log-group.fn"
output "typo" (ref)"log-group.fn[chekout]"

log-group "plain" {
    name "/plain"
    depends-on (ref)"log-group.fn[each.key]"
}
"#,
    );
    insta::assert_snapshot!(text);
}

#[test]
fn for_each_files_format_without_changing_meaning() {
    let text = "stack \"fe\" region=\"us-east-1\"\nlog-group \"fn\"   for-each=(var)\"functions\" {\n  name \"/lambda/${each.key}\"\n}\nalarm \"x\" {\n        for-each {\n  a \"1\"\n  }\n}\n";
    let formatted = crate::lang::format::format(text).expect("formats");
    assert_eq!(
        formatted,
        "stack \"fe\" region=\"us-east-1\"\nlog-group \"fn\" for-each=(var)\"functions\" {\n    name \"/lambda/${each.key}\"\n}\nalarm \"x\" {\n    for-each {\n        a \"1\"\n    }\n}\n"
    );
}

#[test]
fn instances_count_against_the_bound_on_expansion() {
    let keys: Vec<String> = (0..1000).map(|i| format!("\"k{i}\"")).collect();
    let comment = "x".repeat(40 * 1024);
    let text = diagnostics(
        "expansion",
        &format!(
            "log-group \"big\" {{\n    for-each {}\n    /* {comment} */\n    name \"/big/${{each.key}}\"\n}}\n",
            keys.join(" ")
        ),
    );
    assert!(
        text.starts_with("infra::limit: `log-group.big` expands to more than 32 MiB"),
        "{text}"
    );
    assert!(text.contains("this `for-each`"), "{text}");
}
