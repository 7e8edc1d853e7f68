use std::path::{Path, PathBuf};

use super::{FormatError, format};

fn fmt(text: &str) -> String {
    match format(text) {
        Ok(out) => out,
        Err(e) => panic!("cannot format: {e:?}\n{text}"),
    }
}

/// Every `*.kdl` and `*.vars` file under `dir` (relative to the crate root), recursively.
fn files_under(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("directory exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "kdl" || e == "vars") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    out
}

#[test]
fn every_kind_of_comment_stays_in_its_place() {
    let text = "\
// a line comment before everything
/* a block comment
   on two lines */
stack \"demo\" region=\"us-east-1\" // after a node
/-variable \"old\" type=\"string\" {
    default \"x\"
}
alarm \"cpu\" /* between entries */ threshold=80 /-period=60 {    // after the brace
    // inside, on its own line
    name \"cpu\" /-\"old-name\"
    /-statistic \"Average\"
    dimensions /-{
        A \"b\"
    } {
        C \"d\"
    }
    // before the closing brace
} // after the closing brace
log-group \"a\" \\ // a comment in a line continuation
    retention-days=30
";
    let out = fmt(text);
    insta::assert_snapshot!(out, @r#"
    // a line comment before everything
    /* a block comment
       on two lines */
    stack "demo" region="us-east-1" // after a node
    /- variable "old" type="string" {
        default "x"
    }
    alarm "cpu" /* between entries */ threshold=80 /- period=60 { // after the brace
        // inside, on its own line
        name "cpu" /- "old-name"
        /- statistic "Average"
        dimensions /- {
            A "b"
        } {
            C "d"
        }
        // before the closing brace
    } // after the closing brace
    log-group "a" \ // a comment in a line continuation
        retention-days=30
    "#);
    assert_eq!(fmt(&out), out);
}

#[test]
fn a_messy_file_gets_the_canonical_layout() {
    let text = "\n\n\u{feff}stack   \"shop\"   region = \"eu-west-1\"  {  tags { team \"web\" ; tier \"front\" }  }\n\n\n\n\
variable \"image-tag\"\ttype=\"string\"    default=\"v1\"\n\
  \t log-group \"app\"{\n\
        name \"/ecs/app\"   \n\
\n\
\n\
  retention-days   30;tags (var)   \"extra\"\n\
\n\
}\n\
service \"api\" { name ( var )\"name\" ; load-balancer (ref)\"target-group.api\" \\\n      container=\"app\" port = 8080\n\
  cluster \"a\" {}\n\
}   ";
    insta::assert_snapshot!(fmt(text.trim_start_matches('\n')));
}

#[test]
fn multi_line_strings_are_kept_as_written_when_their_node_moves() {
    let text = "container \"a\" {\n  command \"\"\"\n  line one\n    line two\n  \"\"\" 1\n}\n";
    let out = fmt(text);
    assert_eq!(
        out,
        "container \"a\" {\n    command \"\"\"\n  line one\n    line two\n  \"\"\" 1\n}\n"
    );
}

#[test]
fn words_are_kept_exactly_as_written() {
    let text = "n 0x1F 1_000 1.50 #\"raw \\d\"# bare \"quoted\" #true #nan (u8)7 k=#-inf\n";
    assert_eq!(fmt(text), text);
}

#[test]
fn blank_lines_are_kept_one_at_most_and_never_at_the_edge_of_a_block() {
    let text = "a\n\n\n\nb {\n\n    c\n\n\n    d\n\n}\n\n\n";
    assert_eq!(fmt(text), "a\n\nb {\n    c\n\n    d\n}\n");
}

#[test]
fn an_empty_children_block_is_kept_because_it_means_something() {
    assert_eq!(fmt("a {   }\nb { /* c */ }\n"), "a {}\nb { /* c */\n}\n");
}

#[test]
fn a_syntax_error_is_reported_not_formatted() {
    assert!(matches!(
        format("a \"unclosed\n"),
        Err(FormatError::Syntax(_))
    ));
    assert!(matches!(format("a {\n"), Err(FormatError::Syntax(_))));
}

#[test]
fn formatting_twice_changes_nothing_for_every_shipped_and_fixture_file() {
    let mut checked = 0;
    for dir in ["stacks", "modules", "examples", "tests/fixtures/invalid"] {
        for path in files_under(dir) {
            let text = std::fs::read_to_string(&path).expect("readable");
            let once = match format(&text) {
                Ok(once) => once,
                // Some fixtures are invalid KDL on purpose.
                Err(FormatError::Syntax(_)) if dir.starts_with("tests") => continue,
                Err(e) => panic!("{}: {e:?}", path.display()),
            };
            assert_eq!(fmt(&once), once, "{} is not idempotent", path.display());
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} files were checked");
}

#[test]
fn shipped_files_are_already_formatted() {
    for dir in ["stacks", "modules", "examples"] {
        for path in files_under(dir) {
            let text = std::fs::read_to_string(&path).expect("readable");
            assert_eq!(fmt(&text), text, "{} is not formatted", path.display());
        }
    }
}

#[test]
fn unusual_but_valid_layouts_format_and_stay_formatted() {
    let cases = [
        "a 1\r\nb 2\r\n",
        "a\t1\t{\tb\t2\t}\n",
        "/-\n  a 1\nb\n",
        "/- // why\na 1\nb\n",
        "(t)a (u) 1\n/-(t)b\n/- c\n",
        "a \"// not a comment\" \"/* nor this */\" #\"/- nor this\"#\n",
        "\"node name\" \"x\"=1\n",
        "a; b; c {d; e}\n",
        "a /* /* nested */ */ 1\n",
        "a ##\"\"\"\n  raw \"\"\"# still\n  \"\"\"##\n",
        "a 1 \\\n  2 \\\n  3\n",
        "a \\ // one\n  1 \\ // two\n  2\n",
        "a {\n  b 1 // c\n}\n",
        "a /-{\n  x\n}\n",
        "a { /* only a comment */ }\n",
        "// only a comment",
        "",
        "a key = /* c */ 1\n",
        "a { b { c { d { e 1 } } } }\n",
        "a 1 // trailing   \n",
        "(t)/* after the type */a\nb\n",
        "(t /* in the type */)a\n",
        "a (t /* in an entry's type */)1\n",
        "/* before a node */ a 1\n",
    ];
    for text in cases {
        let once = fmt(text);
        assert_eq!(fmt(&once), once, "not idempotent: {text:?} -> {once:?}");
        assert!(
            once.lines().all(|l| l == l.trim_end()),
            "trailing whitespace: {once:?}"
        );
        assert!(once.is_empty() || once.ends_with('\n'), "{once:?}");
        assert!(!once.contains('\t') && !once.contains('\r'), "{once:?}");
    }
}
