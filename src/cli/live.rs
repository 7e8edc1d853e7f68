//! What a running apply shows: the state of every change, fed by the executor's events, and
//! its renderings, all pure. On a terminal, a frame redrawn under the event lines (what is in
//! flight, for how long and what it last said; a bar for the whole apply; with `--explain`,
//! what each waiting change waits on), never wider or taller than the terminal. Without one
//! (CI), a compact line of counts and names, never over [`LINE_MAX`] characters.
//! `cli::apply` feeds it and writes what it returns; nothing here touches the terminal.

use std::time::{Duration, Instant};

use crate::apply::Event;
use crate::plan::Action;

/// How often the frame is redrawn on a terminal.
pub const REDRAW: Duration = Duration::from_millis(250);
/// How many names a compact line shows at most: the longest-running first.
const NAMES_SHOWN: usize = 5;
/// The longest a compact line gets, however long the addresses.
pub const LINE_MAX: usize = 200;
/// The longest an address gets in a compact line (cropped in the middle beyond it).
const NAME_MAX: usize = 60;
/// The widest the address column of a frame gets.
const COLUMN_MAX: usize = 48;
/// Cells of the bar for the whole apply (fewer on a narrow terminal).
const BAR: usize = 20;

/// The terminal's size in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: usize,
    pub height: usize,
}

impl Size {
    /// `COLUMNS` and `LINES` (what a shell that exports them says), else 80 × 24.
    #[cfg(test)]
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Size {
        Size::from_env_or(
            var,
            Size {
                width: 80,
                height: 24,
            },
        )
    }

    /// `COLUMNS` and `LINES` when set (a deliberate choice: most shells do not export them),
    /// else what `stty size` says of the terminal on stdin, else 80 × 24.
    pub fn of_terminal(var: impl Fn(&str) -> Option<String>) -> Size {
        let fallback = stty_size().unwrap_or(Size {
            width: 80,
            height: 24,
        });
        Size::from_env_or(var, fallback)
    }

    fn from_env_or(var: impl Fn(&str) -> Option<String>, fallback: Size) -> Size {
        let read = |name: &str, default: usize| {
            var(name)
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        Size {
            width: read("COLUMNS", fallback.width),
            height: read("LINES", fallback.height),
        }
    }

    /// `stty size`'s answer: rows, then columns; `None` for anything else (no terminal).
    pub fn parse_stty(text: &str) -> Option<Size> {
        let mut numbers = text.split_whitespace().map(|n| n.parse::<usize>().ok());
        match (numbers.next(), numbers.next(), numbers.next()) {
            (Some(Some(height)), Some(Some(width)), None) if height > 0 && width > 0 => {
                Some(Size { width, height })
            }
            _ => None,
        }
    }
}

/// The size of the terminal on stdin, asked of `stty` (no new dependency for one ioctl).
fn stty_size() -> Option<Size> {
    let out = std::process::Command::new("stty")
        .arg("size")
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Size::parse_stty(&String::from_utf8_lossy(&out.stdout))
}

/// Whether the frame is drawn: stdout is a terminal that understands cursor movement, no CI
/// system is running us, `--no-live` was not given, and no `-v` log lines share the screen.
pub fn wanted(
    stdout_is_terminal: bool,
    no_live: bool,
    verbosity: u8,
    var: impl Fn(&str) -> Option<String>,
) -> bool {
    let term = var("TERM").unwrap_or_default();
    let ci = var("CI").is_some_and(|v| !v.is_empty());
    stdout_is_terminal && !no_live && verbosity == 0 && !ci && !term.is_empty() && term != "dumb"
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// One change of the plan as the apply goes.
#[derive(Debug, Clone)]
struct Tracked {
    address: String,
    action: Action,
    phase: Phase,
    since: Option<Instant>,
    /// What it said last (a deployment's running count).
    note: Option<String>,
    /// Indexes of the changes it waits on.
    waits_on: Vec<usize>,
}

/// Every change the apply makes and where each one is.
#[derive(Debug, Clone)]
pub struct State {
    started: Instant,
    changes: Vec<Tracked>,
    index: std::collections::HashMap<String, usize>,
}

/// One change to track: its address, action and the indexes (in the same list) of those it
/// waits on.
pub type Change = (String, Action, Vec<usize>);

impl State {
    pub fn new(changes: Vec<Change>, started: Instant) -> State {
        let index = changes
            .iter()
            .enumerate()
            .map(|(i, (address, _, _))| (address.clone(), i))
            .collect();
        let changes = changes
            .into_iter()
            .map(|(address, action, waits_on)| Tracked {
                address,
                action,
                phase: Phase::Waiting,
                since: None,
                note: None,
                waits_on,
            })
            .collect();
        State {
            started,
            changes,
            index,
        }
    }

    /// The changes of `plan` that do something, each with those it waits on (`waits`, per
    /// change of the plan, from `apply::waits_on`; empty when not shown).
    pub fn of_plan(plan: &crate::plan::Plan, waits: &[Vec<usize>], started: Instant) -> State {
        let kept: Vec<usize> = (0..plan.changes.len())
            .filter(|c| plan.changes[*c].action != Action::NoOp)
            .collect();
        let position: std::collections::HashMap<usize, usize> =
            kept.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        let changes = kept
            .iter()
            .map(|c| {
                let change = &plan.changes[*c];
                let waits_on = waits
                    .get(*c)
                    .map(|ws| ws.iter().filter_map(|w| position.get(w).copied()).collect())
                    .unwrap_or_default();
                (change.address.clone(), change.action, waits_on)
            })
            .collect();
        State::new(changes, started)
    }

    /// Takes in one event of the executor, seen at `now`.
    pub fn record(&mut self, event: &Event, now: Instant) {
        let (address, phase) = match event {
            Event::Started { address, .. } => (address, Phase::Running),
            Event::Finished { address, .. } => (address, Phase::Done),
            Event::Failed { address, .. } => (address, Phase::Failed),
            Event::Skipped { address, .. } => (address, Phase::Skipped),
            Event::Progress { address, message } => {
                if let Some(&i) = self.index.get(address) {
                    let tracked = &mut self.changes[i];
                    tracked.note = Some(message.clone());
                    if tracked.phase == Phase::Waiting {
                        tracked.phase = Phase::Running;
                        tracked.since = Some(now);
                    }
                }
                return;
            }
            Event::StillRunning { .. } => return,
        };
        if let Some(&i) = self.index.get(address) {
            let tracked = &mut self.changes[i];
            if phase == Phase::Running && tracked.since.is_none() {
                tracked.since = Some(now);
            }
            tracked.phase = phase;
        }
    }

    fn count(&self, phase: Phase) -> usize {
        self.changes.iter().filter(|c| c.phase == phase).count()
    }

    /// What is in flight, the longest-running first (then by address).
    fn longest_first(&self, now: Instant) -> Vec<(&Tracked, Duration)> {
        let mut running: Vec<(&Tracked, Duration)> = self
            .changes
            .iter()
            .filter(|c| c.phase == Phase::Running)
            .map(|c| (c, c.since.map_or(Duration::ZERO, |s| now.duration_since(s))))
            .collect();
        running.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.address.cmp(&b.0.address)));
        running
    }
}

/// What a change is doing while it runs.
pub fn ongoing(action: Action) -> &'static str {
    match action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::Delete => "deleting",
        Action::Adopt => "adopting",
        Action::NoOp => "checking",
    }
}

/// `42s`, `3m07s`, `1h05m`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// `text` in at most `max` characters, its end replaced by `…` when it is longer.
fn crop_end(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        out.push('…');
    }
    out
}

/// An address in at most `max` characters: its start and its end (where a module's resource
/// is named) around `…`.
fn crop_middle(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    if max < 8 {
        return crop_end(text, max);
    }
    let head = (max - 1) * 2 / 5;
    let tail = max - 1 - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// The block drawn under the event lines: at most `size.height - 1` lines (the cursor sits on
/// the line below it), each narrower than the terminal, ending with the bar of the whole apply.
pub fn frame(state: &State, now: Instant, size: Size, explain: bool) -> String {
    let width = size.width.saturating_sub(1).max(10);
    let room = size.height.saturating_sub(1).max(1);
    let running = state.longest_first(now);
    // As wide as the longest address among those that can be shown.
    let column = running
        .iter()
        .map(|(c, _)| c.address.chars().count())
        .chain(
            state
                .changes
                .iter()
                .filter(|c| explain && c.phase == Phase::Waiting)
                .map(|c| c.address.chars().count()),
        )
        .take(room)
        .max()
        .unwrap_or(0)
        .min(COLUMN_MAX)
        .min(width / 2);
    // One group of lines per change shown: what is in flight, then (explained) what waits.
    let mut groups: Vec<(bool, Vec<String>)> = Vec::new();
    // Oldest first, so that lines stay in place while the apply goes.
    for (c, d) in &running {
        let doing = match &c.note {
            Some(note) => format!("{}: {note}", ongoing(c.action)),
            None => format!("{}...", ongoing(c.action)),
        };
        let line = format!(
            "  {:<column$}  {:>6}  {doing}",
            crop_middle(&c.address, column),
            elapsed(*d)
        );
        groups.push((true, vec![line]));
    }
    if explain {
        for c in state.changes.iter().filter(|c| c.phase == Phase::Waiting) {
            let pending: Vec<String> = c
                .waits_on
                .iter()
                .map(|w| &state.changes[*w])
                .filter(|w| matches!(w.phase, Phase::Waiting | Phase::Running))
                .map(|w| {
                    let how = if w.phase == Phase::Running {
                        "in flight"
                    } else {
                        "waiting"
                    };
                    format!("{} ({how})", w.address)
                })
                .collect();
            let why = if pending.is_empty() {
                "waits for a free slot (--parallelism)".to_string()
            } else {
                format!("waits on {}", pending.join(", "))
            };
            let line = format!(
                "  {:<column$}  {:>6}  waiting to {}",
                crop_middle(&c.address, column),
                "-",
                c.action.describe()
            );
            groups.push((false, vec![line, format!("      {why}")]));
        }
    }
    let lines_of = |gs: &[(bool, Vec<String>)]| gs.iter().map(|(_, ls)| ls.len()).sum::<usize>();
    // Lines above the bar.
    let above = room - 1;
    let mut shown = groups.len();
    if above == 0 {
        // Room for the bar alone.
        shown = 0;
        groups.clear();
    } else if lines_of(&groups) > above {
        // Keep a line for what is left out.
        let budget = above - 1;
        let mut used = 0;
        shown = 0;
        for (_, lines) in &groups {
            if used + lines.len() > budget {
                break;
            }
            used += lines.len();
            shown += 1;
        }
    }
    let mut out = String::new();
    for (_, lines) in &groups[..shown] {
        for line in lines {
            out.push_str(&crop_end(line, width));
            out.push('\n');
        }
    }
    if shown < groups.len() {
        let hidden = &groups[shown..];
        let flying = hidden.iter().filter(|(r, _)| *r).count();
        let waiting = hidden.len() - flying;
        let what = match (flying, waiting) {
            (_, 0) => format!("{flying} in flight"),
            (0, _) => format!("{waiting} waiting"),
            _ => format!("{flying} in flight, {waiting} waiting"),
        };
        out.push_str(&crop_end(
            &format!("  +{} more ({what})", hidden.len()),
            width,
        ));
        out.push('\n');
    }
    out.push_str(&crop_end(&bar(state, now, width), width));
    out.push('\n');
    out
}

/// `[#####...............] 12/40 done, 1 failed, 3 in flight, 24 waiting, 2m05s`.
fn bar(state: &State, now: Instant, width: usize) -> String {
    let total = state.changes.len();
    let done = state.count(Phase::Done);
    let failed = state.count(Phase::Failed);
    let skipped = state.count(Phase::Skipped);
    let ended = done + failed + skipped;
    let cells = if width < 60 { BAR / 2 } else { BAR };
    let filled = (ended * cells).checked_div(total).unwrap_or(cells);
    let mut line = format!(
        "[{}{}] {done}/{total} done",
        "#".repeat(filled),
        ".".repeat(cells - filled)
    );
    if failed > 0 {
        line.push_str(&format!(", {failed} failed"));
    }
    if skipped > 0 {
        line.push_str(&format!(", {skipped} skipped"));
    }
    line.push_str(&format!(
        ", {} in flight, {} waiting, {}",
        state.count(Phase::Running),
        state.count(Phase::Waiting),
        elapsed(now.duration_since(state.started))
    ));
    line
}

/// The compact line printed every 30 s without a terminal: counts, then the longest-running
/// names (at most [`NAMES_SHOWN`], each cropped to [`NAME_MAX`]), never over [`LINE_MAX`]
/// characters before its newline.
pub fn still_running(state: &State, now: Instant) -> String {
    let running = state.longest_first(now);
    let failed = state.count(Phase::Failed);
    let mut line = format!(
        "Still running: {} in flight, {} waiting, {} done{}: ",
        running.len(),
        state.count(Phase::Waiting),
        state.count(Phase::Done),
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    let mut shown = 0;
    for (c, d) in running.iter().take(NAMES_SHOWN) {
        let time = format!(" ({})", elapsed(*d));
        // Room for ", " and for ", N more" after it.
        let room = LINE_MAX.saturating_sub(line.chars().count() + 2 + 12 + time.len());
        let name = crop_middle(&c.address, NAME_MAX.min(room));
        if shown > 0 && name.chars().count() < c.address.chars().count().min(NAME_MAX) {
            break;
        }
        if shown > 0 {
            line.push_str(", ");
        }
        line.push_str(&name);
        line.push_str(&time);
        shown += 1;
    }
    if running.len() > shown {
        line.push_str(&format!(", {} more", running.len() - shown));
    }
    line.push('\n');
    line
}

/// The frame on the screen: what was drawn last, and the event lines waiting to go above the
/// next one.
#[derive(Debug, Default)]
pub struct Screen {
    drawn: usize,
    pending: String,
}

impl Screen {
    /// An event line, printed above the frame at the next redraw.
    pub fn queue(&mut self, text: &str) {
        self.pending.push_str(text);
    }

    /// What to write to replace the frame on the screen by `frame`: the cursor goes up over
    /// the old one, clearing each line, then the queued event lines, then the new frame.
    pub fn redraw(&mut self, frame: &str) -> String {
        let mut out = self.erase();
        out.push_str(frame);
        self.drawn = frame.lines().count();
        out
    }

    /// What to write when the apply ends: the frame erased, the last event lines in its place.
    pub fn finish(&mut self) -> String {
        self.erase()
    }

    fn erase(&mut self) -> String {
        let mut out = "\x1b[1A\x1b[2K".repeat(self.drawn);
        if self.drawn > 0 {
            out.push('\r');
        }
        self.drawn = 0;
        out.push_str(&std::mem::take(&mut self.pending));
        out
    }
}

#[cfg(test)]
mod tests;
