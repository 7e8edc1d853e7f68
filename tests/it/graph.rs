//! `infra graph` and `infra validate` output for the reference stacks, pinned by snapshots.

use crate::harness::infra;

#[test]
fn graph_formats_of_sleek_coach_prod() {
    for format in ["text", "dot", "mermaid"] {
        let out = infra(&["graph", "stacks/sleek-coach-prod.kdl", "--format", format]);
        assert_eq!(
            out.code,
            Some(0),
            "graph --format {format} failed: {}",
            out.stderr
        );
        insta::assert_snapshot!(format!("graph-sleek-coach-prod-{format}"), out.stdout);
    }
}

#[test]
fn validate_reports_a_summary_on_success() {
    let out = infra(&["validate", "stacks/sleek-coach-prod.kdl"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @"stack sleek-coach-prod (us-east-1) is valid: 26 resources, 3 look-ups, 41 dependencies, 6 dependency levels");
}

/// `infra validate` of the sleek-coach stack with extra arguments and an `INFRA_VAR_image_tag`.
fn validate_sleek_coach(extra: &[&str], env_image_tag: Option<&str>) -> crate::harness::Output {
    let mut args = vec!["validate", "stacks/sleek-coach-prod.kdl"];
    args.extend_from_slice(extra);
    let env: Vec<(&str, &str)> = env_image_tag
        .map(|tag| ("INFRA_VAR_image_tag", tag))
        .into_iter()
        .collect();
    crate::harness::infra_with_env(&args, &env)
}

#[test]
fn variables_come_from_flags_files_and_the_environment() {
    let dir = std::env::temp_dir().join(format!("infra-vars-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("vars.kdl");
    std::fs::write(&file, "image-tag \"from-file\"\n").expect("write var file");
    let file = file.to_string_lossy().into_owned();
    // An invalid value names where it came from, which shows which source won.
    let bad = validate_sleek_coach(&[], Some("not a tag!"));
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr.contains("from INFRA_VAR_image-tag"),
        "{}",
        bad.stderr
    );
    let file_wins = validate_sleek_coach(&["--var-file", &file], Some("not a tag!"));
    assert_eq!(file_wins.code, Some(0), "{}", file_wins.stderr);
    let flag_wins =
        validate_sleek_coach(&["--var-file", &file, "--var", "image-tag=bad tag"], None);
    assert_eq!(flag_wins.code, Some(1));
    assert!(
        flag_wins.stderr.contains("from --var image-tag"),
        "{}",
        flag_wins.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_variables_on_the_command_line_are_errors() {
    let out = infra(&[
        "validate",
        "stacks/sleek-coach-prod.kdl",
        "--var",
        "image-tga=v1",
    ]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("did you mean `image-tag`?"),
        "{}",
        out.stderr
    );
}
