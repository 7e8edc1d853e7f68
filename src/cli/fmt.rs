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
    let mut count = 0;
    for file in &files {
        let name = display(file);
        let (text, formatted) = match read_and_format(file, &name, &mut sources) {
            Ok(Some(both)) => both,
            Ok(None) => continue,
            Err(d) => {
                diagnostics.push(d);
                continue;
            }
        };
        count += 1;
        if args.check {
            ui.out_diff(&diff(&name, &text, &formatted));
        } else if let Err(e) = std::fs::write(file, &formatted) {
            diagnostics.push(file_error("write", &name, &e));
        } else {
            ui.out(&format!("{name}\n"));
        }
    }
    let failed = !diagnostics.is_empty();
    if failed {
        ui.diagnostics(&diagnostics, &sources);
    }
    let unformatted = args.check && count > 0;
    if unformatted {
        let files = if count == 1 { "file is" } else { "files are" };
        ui.err(&format!(
            "{count} {files} not formatted; run `infra fmt` to format them\n"
        ));
    }
    if failed || unformatted {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A file's text and its formatted text when they differ, `None` when it is formatted; a
/// file that cannot be read or parsed is a diagnostic (its text goes to `sources`).
fn read_and_format(
    file: &Path,
    name: &str,
    sources: &mut Sources,
) -> Result<Option<(String, String)>, Diagnostic> {
    // Bounded, regular files only, like every file the loader reads.
    let text = crate::lang::read::read_text(file).map_err(|e| {
        Diagnostic::new("infra::file", format!("cannot read `{name}`: {e}"))
            .help("infra fmt formats KDL stack, module and variable files")
    })?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match format(body) {
        Ok(formatted) if formatted == text => Ok(None),
        Ok(formatted) => Ok(Some((text, formatted))),
        Err(FormatError::Syntax(err)) => {
            let source = sources.add(name, body);
            let fallback = Diagnostic::new("infra::syntax", "syntax error: invalid KDL")
                .label(Span::new(source, (0, 0).into()), "in this file")
                .help("stack files are KDL v2, see docs/language.md");
            Err(syntax_error(err, body, |span| Span::new(source, span)).unwrap_or(fallback))
        }
        Err(FormatError::Unsupported) => Err(Diagnostic::new(
            "infra::fmt",
            format!("cannot format `{name}` without changing what it means"),
        )
        .help("the file is left as it is; please report this with the file")),
    }
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
