//! `infra fmt`: rewrites stack, module and variable files in the one canonical layout
//! (`lang::format`), or with `--check` shows what it would change and changes nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use similar::TextDiff;

use crate::lang::Diagnostic;
use crate::lang::diagnostic::syntax_error;
use crate::lang::format::{FormatError, format};
use crate::model::{Sources, Span};
use crate::ui::Ui;

/// File extensions a directory is searched for.
const EXTENSIONS: [&str; 2] = ["kdl", "vars"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Change nothing: print a diff of every file that is not formatted, and exit 1 if any is.
    #[arg(long)]
    pub check: bool,
    /// Files, or directories searched recursively for *.kdl and *.vars files (hidden
    /// directories are skipped). Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let mut diagnostics = Vec::new();
    let mut sources = Sources::default();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let files = files(&paths, &mut diagnostics);
    let mut unformatted = 0;
    for file in &files {
        let name = display(file);
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                diagnostics.push(file_error("read", &name, &e));
                continue;
            }
        };
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let formatted = match format(body) {
            Ok(formatted) => formatted,
            Err(FormatError::Syntax(err)) => {
                let source = sources.add(name.clone(), body);
                let fallback = Diagnostic::new("infra::syntax", "syntax error: invalid KDL")
                    .label(Span::new(source, (0, 0).into()), "in this file")
                    .help("stack files are KDL v2, see docs/language.md");
                diagnostics
                    .push(syntax_error(err, |span| Span::new(source, span)).unwrap_or(fallback));
                continue;
            }
            Err(FormatError::Unsupported) => {
                diagnostics.push(
                    Diagnostic::new(
                        "infra::fmt",
                        format!("cannot format `{name}` without changing what it means"),
                    )
                    .help("the file is left as it is; please report this with the file"),
                );
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        unformatted += 1;
        if args.check {
            ui.out_diff(&diff(&name, &text, &formatted));
        } else if let Err(e) = std::fs::write(file, &formatted) {
            diagnostics.push(file_error("write", &name, &e));
        } else {
            ui.out(&format!("{name}\n"));
        }
    }
    if args.check && unformatted > 0 {
        let files = if unformatted == 1 {
            "file is"
        } else {
            "files are"
        };
        ui.err(&format!(
            "{unformatted} {files} not formatted; run `infra fmt` to format them\n"
        ));
    }
    if !diagnostics.is_empty() {
        ui.diagnostics(&diagnostics, &sources);
        return ExitCode::from(1);
    }
    if args.check && unformatted > 0 {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// The files the paths name, directories searched recursively, each file once.
fn files(paths: &[PathBuf], diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut out, diagnostics),
            Ok(_) => out.push(path.clone()),
            Err(e) => diagnostics.push(file_error("read", &display(path), &e)),
        }
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    out
}

/// Every file with one of [`EXTENSIONS`] under `dir`, in name order; hidden directories and
/// symbolic links to directories are not followed.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return diagnostics.push(file_error("read", &display(dir), &e)),
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                if !hidden {
                    walk(&path, out, diagnostics);
                }
            }
            Ok(_) => {
                let wanted = path
                    .extension()
                    .is_some_and(|e| EXTENSIONS.iter().any(|x| e == *x));
                if wanted && path.is_file() {
                    out.push(path);
                }
            }
            Err(e) => diagnostics.push(file_error("read", &display(&path), &e)),
        }
    }
}

/// A path as the user would write it: without a leading `./`.
fn display(path: &Path) -> String {
    match path.strip_prefix(".") {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.display().to_string(),
        _ => path.display().to_string(),
    }
}

fn file_error(verb: &str, name: &str, e: &std::io::Error) -> Diagnostic {
    Diagnostic::new("infra::file", format!("cannot {verb} `{name}`: {e}"))
        .help("check the path and its permissions")
}

/// A unified diff from the file as it is to the file formatted, with git-style names.
fn diff(name: &str, before: &str, after: &str) -> String {
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}
