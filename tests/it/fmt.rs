//! `infra fmt`: the shipped files and the documentation's examples are formatted, `--check`
//! shows a diff and changes nothing, formatting keeps what a stack means, and a file that does
//! not parse gets a diagnostic while the others are still formatted.
//!
//! Because this runs in `cargo test`, `infra fmt --check` over the shipped files is part of
//! `scripts/test`.

use std::path::{Path, PathBuf};

use crate::docs::{is_stack_file, kdl_blocks, kdl_files, temp_dir};
use crate::harness::{command, expect, infra, root};

/// A stack laid out badly in every way the formatter fixes.
const MESSY: &str = "\
// A stack laid out by hand.
stack   \"messy\"  region = \"us-east-1\"



variable \"days\" type=\"int\" default=14 {
      validation min=1 max=3653   
}
log-group \"app\"{
\tname \"/ecs/app\" ; retention-days (var)   \"days\"   // how long
  /-  class \"INFREQUENT_ACCESS\"
  tags { team \"web\"; tier \"front\" }

}
";

/// `text` with the temporary directory `dir` written as `[TMP]`.
fn redact(text: &str, dir: &Path) -> String {
    text.replace(&dir.to_string_lossy().into_owned(), "[TMP]")
}

#[test]
fn the_shipped_stacks_modules_and_examples_are_formatted() {
    let out = infra(&["fmt", "--check", "stacks", "modules", "examples"]);
    expect(&out, 0);
    assert_eq!(
        out.stdout, "",
        "nothing to show when everything is formatted"
    );
}

#[test]
fn the_kdl_examples_of_the_docs_are_formatted() {
    let dir = temp_dir("fmt-docs");
    let mut count = 0;
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.push(root().join("README.md"));
    for doc in &docs {
        let markdown = std::fs::read_to_string(doc).expect("read the markdown file");
        let stem = doc
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into());
        for block in kdl_blocks(&markdown) {
            let file = dir.join(format!("{stem}.md-line-{}.kdl", block.line));
            std::fs::write(&file, &block.body).expect("write the example");
            count += 1;
        }
    }
    let out = infra(&["fmt", "--check", &dir.to_string_lossy()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.code,
        Some(0),
        "examples in the docs are not formatted (file names give the line of the fence):\n{}{}",
        out.stdout,
        out.stderr
    );
    assert!(count >= 20, "only {count} kdl examples were found");
}

#[test]
fn check_shows_a_diff_and_changes_nothing_then_fmt_rewrites_the_file() {
    let dir = temp_dir("fmt-check");
    let file = dir.join("messy.kdl");
    std::fs::write(&file, MESSY).expect("write the file");
    let path = file.to_string_lossy().into_owned();

    let check = infra(&["fmt", "--check", &path]);
    expect(&check, 1);
    insta::assert_snapshot!("check-diff", redact(&check.stdout, &dir));
    assert_eq!(
        check.stderr,
        "1 file is not formatted; run `infra fmt` to format them\n"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), MESSY);

    let fmt = infra(&["fmt", &path]);
    expect(&fmt, 0);
    assert_eq!(redact(&fmt.stdout, &dir), "[TMP]/messy.kdl\n");
    let formatted = std::fs::read_to_string(&file).expect("read");
    assert_ne!(formatted, MESSY);

    let again = infra(&["fmt", "--check", &path]);
    expect(&again, 0);
    assert_eq!(again.stdout, "");
    let rewrite = infra(&["fmt", &path]);
    expect(&rewrite, 0);
    assert_eq!(rewrite.stdout, "", "a formatted file is not rewritten");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_paths_the_current_directory_is_searched_for_kdl_and_vars_files() {
    let dir = temp_dir("fmt-cwd");
    for (name, text) in [
        ("sub/a.kdl", "a   1\n"),
        ("b.vars", "days   7\n"),
        ("c.txt", "not   kdl {\n"),
        (".hidden/d.kdl", "d   1\n"),
        ("e.kdl", "e 1\n"),
    ] {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
        std::fs::write(&path, text).expect("write");
    }
    let out = command(&["fmt"], &[])
        .current_dir(&dir)
        .output()
        .expect("infra runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout, "b.vars\nsub/a.kdl\n");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("read");
    assert_eq!(read("sub/a.kdl"), "a 1\n");
    assert_eq!(read("b.vars"), "days 7\n");
    assert_eq!(read("c.txt"), "not   kdl {\n", "other files are left alone");
    assert_eq!(
        read(".hidden/d.kdl"),
        "d   1\n",
        "hidden directories are skipped"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_does_not_parse_gets_a_diagnostic_and_the_others_are_still_formatted() {
    let dir = temp_dir("fmt-syntax");
    let file = dir.join("messy.kdl");
    std::fs::write(&file, MESSY).expect("write the file");
    let path = file.to_string_lossy().into_owned();
    let bad = "tests/fixtures/invalid/syntax-unterminated-string.kdl";

    let check = infra(&["fmt", "--check", bad, &path]);
    expect(&check, 1);
    assert!(
        check.stdout.contains("+++ b/") && check.stdout.contains("messy.kdl"),
        "the good file is still checked:\n{}",
        check.stdout
    );
    insta::assert_snapshot!("syntax-error", redact(&check.stderr, &dir));

    let fmt = infra(&["fmt", bad, &path]);
    expect(&fmt, 1);
    assert_eq!(redact(&fmt.stdout, &dir), "[TMP]/messy.kdl\n");
    assert_ne!(std::fs::read_to_string(&file).expect("read"), MESSY);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same file, badly laid out but meaning the same: indentation of tabs and spaces,
/// trailing whitespace, doubled blank lines, spaces before an opening brace and `;` after
/// plain nodes. The shipped files hold no multi-line strings or line continuations, whose
/// layout could carry meaning.
fn mess(text: &str) -> String {
    assert!(!text.contains("\"\"\"") && !text.contains("\\\n"));
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let body = line.trim();
        if body.is_empty() {
            out.push_str("\n\n");
            continue;
        }
        out.push_str(["", "\t", "   ", " \t "][i % 4]);
        let plain = !body.contains("//") && !body.contains("/*");
        match body.strip_suffix('{') {
            Some(head) if plain => out.push_str(&format!("{}   {{", head.trim_end())),
            None if plain && !body.ends_with('}') => out.push_str(&format!("{body};")),
            _ => out.push_str(body),
        }
        out.push_str(" \t\n");
    }
    out
}

/// What `infra` says about a stack without AWS: validate and the graph in every format, exit
/// codes included. (Values are compared by the formatter itself, which refuses any output
/// that does not parse back to the same values.)
fn what_infra_says(stack: &Path) -> Vec<String> {
    let stack = stack.to_string_lossy().into_owned();
    let runs: [&[&str]; 3] = [
        &["validate", &stack],
        &["graph", &stack],
        &["graph", &stack, "--format", "dot"],
    ];
    runs.iter()
        .map(|args| {
            let out = crate::harness::infra_with_env(args, &[]);
            let mut stderr = out.stderr;
            if args[0] == "validate" {
                // Warnings quote the lines they are about, which formatting moves: what they
                // say (code and first line) is what must stay.
                stderr = stderr
                    .lines()
                    .filter(|l| l.starts_with("infra::") || l.contains('⚠'))
                    .map(|l| format!("{l}\n"))
                    .collect();
            }
            format!("{:?}\n{}\n{stderr}", out.code, out.stdout)
        })
        .collect()
}

#[test]
fn formatting_keeps_what_every_shipped_stack_means() {
    let dir = temp_dir("fmt-meaning");
    let shipped: Vec<PathBuf> = ["stacks", "modules", "examples"]
        .iter()
        .flat_map(|d| kdl_files(Path::new(d)))
        .collect();
    for file in &shipped {
        let text = std::fs::read_to_string(root().join(file)).expect("read");
        let copy = dir.join(file);
        std::fs::create_dir_all(copy.parent().expect("a parent")).expect("create dirs");
        std::fs::write(&copy, mess(&text)).expect("write the messy copy");
    }
    let stacks: Vec<&PathBuf> = shipped.iter().filter(|p| is_stack_file(p)).collect();
    assert!(stacks.len() >= 10, "only {} stacks", stacks.len());
    let messy: Vec<Vec<String>> = stacks
        .iter()
        .map(|s| what_infra_says(&dir.join(s)))
        .collect();

    let out = infra(&["fmt", &dir.to_string_lossy()]);
    expect(&out, 0);
    assert_eq!(
        out.stdout.lines().count(),
        shipped.len(),
        "every messy copy is rewritten:\n{}",
        out.stdout
    );
    for file in &shipped {
        assert_eq!(
            std::fs::read_to_string(dir.join(file)).expect("read"),
            std::fs::read_to_string(root().join(file)).expect("read"),
            "formatting the messy copy of {} does not give the shipped file back",
            file.display()
        );
    }
    // Paths in the output (there should be none) are compared relative to the copy's root.
    let relative = |outputs: Vec<String>| -> Vec<String> {
        let prefix = format!("{}/", dir.display());
        outputs.iter().map(|s| s.replace(&prefix, "")).collect()
    };
    for (stack, before) in stacks.iter().zip(messy) {
        let original = what_infra_says(stack);
        assert!(
            original[0].starts_with("Some(0)"),
            "{} does not validate: {}",
            stack.display(),
            original[0]
        );
        let after = relative(what_infra_says(&dir.join(stack)));
        assert_eq!(
            relative(before),
            original,
            "{}: the messy copy differs",
            stack.display()
        );
        assert_eq!(
            after,
            original,
            "{}: the formatted copy differs",
            stack.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
