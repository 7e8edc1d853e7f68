//! `infra explain`, `infra completions` and `infra man`, and the reference of every kind in
//! `docs/language.md`, which is generated from the same schema as `infra explain`. No AWS.

use std::collections::BTreeSet;

use clap::CommandFactory;

use crate::harness::{expect, infra, root};

#[test]
fn explain_a_kind_lists_every_attribute_with_its_facts() {
    let out = infra(&["explain", "service"]);
    expect(&out, 0);
    insta::assert_snapshot!("explain-service", out.stdout);
}

#[test]
fn explain_a_block_lists_the_attributes_inside_it() {
    let out = infra(&["explain", "target-group.health-check"]);
    expect(&out, 0);
    insta::assert_snapshot!("explain-target-group-health-check", out.stdout);
}

#[test]
fn explain_an_attribute() {
    let out = infra(&["explain", "alarm.threshold"]);
    expect(&out, 0);
    insta::assert_snapshot!("explain-alarm-threshold", out.stdout);
}

#[test]
fn explain_without_an_argument_lists_the_kinds() {
    let out = infra(&["explain"]);
    expect(&out, 0);
    insta::assert_snapshot!("explain-kinds", out.stdout);
}

#[test]
fn explain_an_unknown_attribute_points_at_it_and_suggests() {
    let out = infra(&["explain", "target-group.helth-check.path"]);
    expect(&out, 1);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!("explain-unknown-attribute", out.stderr);
}

#[test]
fn explain_an_unknown_kind_suggests_a_kind() {
    let out = infra(&["explain", "lookup.subnet.ids"]);
    expect(&out, 1);
    assert!(
        out.stderr.contains("did you mean `lookup.subnets`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn explain_reaches_look_ups_nested_attributes_and_computed_ones() {
    for (topic, says) in [
        ("lookup.subnets", "Default attribute: `ids`"),
        (
            "task-definition.container.health-check.retries",
            "default    3",
        ),
        ("load-balancer.dns-name", "AWS assigns it"),
        ("secret.value", "sensitive  yes"),
    ] {
        let out = infra(&["explain", topic]);
        expect(&out, 0);
        assert!(out.stdout.contains(says), "{topic}:\n{}", out.stdout);
    }
}

/// The subcommands as clap defines them, `help` aside.
fn subcommands() -> Vec<String> {
    infra::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

#[test]
fn completions_name_every_subcommand_in_every_shell() {
    let names = subcommands();
    assert!(names.len() >= 10, "{names:?}");
    for shell in ["bash", "zsh", "fish"] {
        let out = infra(&["completions", shell]);
        expect(&out, 0);
        for name in &names {
            assert!(
                out.stdout.contains(name.as_str()),
                "the {shell} completions do not mention `{name}`"
            );
        }
    }
}

#[test]
fn bash_accepts_the_bash_completions() {
    let out = infra(&["completions", "bash"]);
    expect(&out, 0);
    let file = std::env::temp_dir().join(format!("infra-completions-{}.bash", std::process::id()));
    std::fs::write(&file, &out.stdout).expect("write the script");
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        check.status.success(),
        "bash -n rejects the script:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(out.stdout.contains("complete -F _infra"), "{}", out.stdout);
}

#[test]
fn the_man_page_is_roff_and_lists_every_subcommand() {
    let out = infra(&["man"]);
    expect(&out, 0);
    assert!(out.stdout.starts_with('.'), "not roff: {}", out.stdout);
    assert!(out.stdout.contains("\n.TH infra 1 "), "{}", out.stdout);
    assert!(out.stdout.contains("\n.SH SUBCOMMANDS\n"), "{}", out.stdout);
    for name in subcommands() {
        // roff escapes hyphens.
        let entry = format!("infra\\-{}(1)", name.replace('-', "\\-"));
        assert!(out.stdout.contains(&entry), "the man page lacks {entry}");
    }
    let plan = infra(&["man", "plan"]);
    expect(&plan, 0);
    assert!(plan.stdout.contains(".TH infra-plan 1 "), "{}", plan.stdout);
    let unknown = infra(&["man", "plna"]);
    expect(&unknown, 1);
    assert!(
        unknown.stderr.contains("did you mean `plan`?"),
        "{}",
        unknown.stderr
    );
}

/// The reference of every kind in `docs/language.md` is what the schema generates.
///
/// This fails as soon as an `Attr` doc, a default, a limit or a kind's paragraph in
/// `src/model/schemas/` changes without the document (checked by hand: editing the doc string of
/// `alarm.threshold` makes it fail). Regenerate the document with
/// `INFRA_UPDATE_DOCS=1 cargo test --test it explain::`.
#[test]
fn the_language_reference_is_generated_from_the_schema() {
    let path = root().join("docs/language.md");
    let document = std::fs::read_to_string(&path).expect("docs/language.md exists");
    let generated = match infra::explain::markdown::regenerate(&document) {
        Ok(text) => text,
        Err(e) => panic!("docs/language.md: {e}"),
    };
    let regions = infra::explain::markdown::regions(&document);
    let mut expected: BTreeSet<String> = infra::explain::all_kinds()
        .map(|k| format!("kind={}", k.keyword()))
        .collect();
    expected.insert("references".into());
    let unique: BTreeSet<String> = regions.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        regions.len(),
        "a region appears twice: {regions:?}"
    );
    assert_eq!(
        unique, expected,
        "every kind, and the references table, has exactly one generated region"
    );
    if generated == document {
        return;
    }
    if std::env::var_os("INFRA_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/language.md");
        return;
    }
    let diff = similar::TextDiff::from_lines(&document, &generated)
        .unified_diff()
        .header("docs/language.md", "generated from the schema")
        .to_string();
    panic!(
        "docs/language.md differs from what the schema generates; run \
         `INFRA_UPDATE_DOCS=1 cargo test --test it explain::` to regenerate it\n\n{diff}"
    );
}

#[test]
fn explain_markdown_prints_the_generated_region_of_a_kind() {
    let document =
        std::fs::read_to_string(root().join("docs/language.md")).expect("docs/language.md exists");
    let out = infra(&["explain", "--markdown", "record"]);
    expect(&out, 0);
    let region = format!(
        "<!-- generated:kind=record -->\n\n{}\n<!-- end generated -->",
        out.stdout
    );
    assert!(document.contains(&region), "{}", out.stdout);
    let attribute = infra(&["explain", "--markdown", "record.ttl"]);
    expect(&attribute, 1);
}
