//! The only module that writes to the terminal: colour decisions, diagnostics, plain output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::lang::{Diagnostic, LineIndexes, LoadFailure, Rendered};
use crate::model::Sources;

/// Width diagnostics are wrapped at; fixed so that output is the same on every terminal.
const WIDTH: usize = 100;

/// How much `-v` asked for: 0 quiet, 1 stages, 2 AWS calls, 3 HTTP attempts.
static VERBOSITY: AtomicU8 = AtomicU8::new(0);

pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// Writes a log line to stderr when `-v` was given at least `level` times. Callers pass
/// names, counts and codes, never attribute values: logs are as secret-free as plans.
pub fn log(level: u8, message: impl FnOnce() -> String) {
    if verbosity() >= level {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "[infra] {}", message());
    }
}

/// Logs how long a stage took when it ends (at `-v`).
pub struct Stage {
    name: &'static str,
    started: Instant,
}

impl Stage {
    pub fn start(name: &'static str) -> Stage {
        log(1, || format!("{name}: started"));
        Stage {
            name,
            started: Instant::now(),
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let seconds = self.started.elapsed().as_secs_f64();
        log(1, || format!("{}: done in {seconds:.2}s", self.name));
    }
}

pub struct Ui {
    color: bool,
    out_color: bool,
}

impl Ui {
    /// Colour only on a terminal and never with `NO_COLOR` set.
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            color: !no_color && std::io::stderr().is_terminal(),
            out_color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    pub fn plain() -> Self {
        Ui {
            color: false,
            out_color: false,
        }
    }

    pub fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    pub fn err(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(text.as_bytes());
    }

    /// Whether stdout is a terminal (where apply may redraw what it shows).
    pub fn out_is_terminal(&self) -> bool {
        std::io::stdout().is_terminal()
    }

    /// Whether what goes to stdout may be coloured.
    pub fn out_color(&self) -> bool {
        self.out_color
    }

    /// Writes a unified diff to stdout, removed lines red and added lines green on a terminal.
    pub fn out_diff(&self, diff: &str) {
        if !self.out_color {
            return self.out(diff);
        }
        let mut text = String::with_capacity(diff.len());
        for line in diff.split_inclusive('\n') {
            let code = match line.as_bytes().first() {
                Some(b'-') => "31",
                Some(b'+') => "32",
                Some(b'@') => "36",
                _ => {
                    text.push_str(line);
                    continue;
                }
            };
            let body = line.trim_end_matches('\n');
            text.push_str(&format!("\x1b[{code}m{body}\x1b[0m"));
            text.push_str(&line[body.len()..]);
        }
        self.out(&text);
    }

    /// Whether stdin is a terminal someone can answer a question on.
    pub fn can_ask(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    /// Asks a question on stdout and reads one line of answer (without its newline).
    pub fn ask(&self, question: &str) -> Option<String> {
        self.out(question);
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_string()),
        }
    }

    /// Asks on stderr for a value that must not be shown, and reads one line of it from the
    /// terminal with echo off (`stty`; restored however the read ends).
    pub fn ask_hidden(&self, question: &str) -> Option<String> {
        let stty = |setting: &str| {
            std::process::Command::new("stty")
                .arg(setting)
                .stdin(std::process::Stdio::inherit())
                .status()
                .is_ok_and(|s| s.success())
        };
        self.err(question);
        let quiet = stty("-echo");
        let mut line = String::new();
        let read = std::io::stdin().read_line(&mut line);
        if quiet {
            stty("echo");
        }
        self.err("\n");
        match read {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_string()),
        }
    }

    /// Writes every diagnostic, then a count.
    pub fn diagnostics(&self, diagnostics: &[Diagnostic], sources: &Sources) {
        self.err(&render_diagnostics(diagnostics, sources, self.color));
    }

    /// Writes a stack's warnings with their sources, then how to silence one.
    pub fn warnings(&self, warnings: &[crate::model::Warning], sources: &Sources) {
        if warnings.is_empty() {
            return;
        }
        let diagnostics: Vec<Diagnostic> = warnings.iter().map(Diagnostic::warning).collect();
        self.err(&render_warnings(&diagnostics, sources, self.color));
    }

    /// Writes why a stack did not load: its diagnostics, then a count that includes those
    /// found beyond the ones kept.
    pub fn load_failure(&self, failure: &LoadFailure) {
        self.err(&render_load_failure(failure, self.color));
    }
}

/// Renders a failed load the way `infra` prints it.
pub fn render_load_failure(failure: &LoadFailure, color: bool) -> String {
    render(
        &failure.diagnostics,
        Omitted {
            count: failure.omitted,
            stopped: failure.stopped,
        },
        &failure.sources,
        color,
    )
}

/// Renders diagnostics the way `infra` prints them (without colour for tests and pipes).
pub fn render_diagnostics(diagnostics: &[Diagnostic], sources: &Sources, color: bool) -> String {
    render(diagnostics, Omitted::default(), sources, color)
}

/// Renders warnings: each with its source, then their count.
pub fn render_warnings(diagnostics: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let mut out = String::new();
    reports(diagnostics, sources, color, &mut out);
    let n = diagnostics.len();
    out.push_str(&format!(
        "warning: {n} thing{} to look at (each is silenced on its line with `allow=\"why it is fine\"`)\n",
        if n == 1 { "" } else { "s" }
    ));
    out
}

/// Diagnostics a failed load found but did not keep.
#[derive(Default)]
struct Omitted {
    count: usize,
    /// It stopped looking: there may be more.
    stopped: bool,
}

/// Each diagnostic with its source, as miette draws it.
fn reports(diagnostics: &[Diagnostic], sources: &Sources, color: bool, out: &mut String) {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(WIDTH)
        .with_links(false);
    let mut indexes = LineIndexes::default();
    for d in diagnostics {
        let rendered = Rendered::new(d, sources, &mut indexes);
        if handler.render_report(out, &rendered).is_err() {
            out.push_str(&d.message);
            out.push('\n');
        }
        out.push('\n');
    }
}

fn render(diagnostics: &[Diagnostic], omitted: Omitted, sources: &Sources, color: bool) -> String {
    let mut out = String::new();
    reports(diagnostics, sources, color, &mut out);
    let n = diagnostics.len() + omitted.count;
    out.push_str(&format!(
        "error: {}{n} problem{} found",
        if omitted.stopped { "more than " } else { "" },
        if n == 1 && !omitted.stopped { "" } else { "s" }
    ));
    if omitted.count > 0 || omitted.stopped {
        out.push_str(&format!(
            " (the first {} are shown; fix them and run again)",
            diagnostics.len()
        ));
    }
    out.push('\n');
    out
}
