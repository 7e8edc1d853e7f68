//! What a terminal shows during a long apply: `infra apply` runs in a tmux pane of 120 × 30
//! against moto while a service waits for a third task moto never starts (see `live_ecs.rs`),
//! and the pane is captured then, and again once apply has ended. tmux is required: without
//! it the test fails, never skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::live_ecs::{FAST_POLL, stack_text, write};
use super::moto::World;

/// A tmux server of the test's own (its own socket, no configuration), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("tmux is required by this test and could not run ({e}): install tmux")
            })
    }

    /// Starts `script` in a detached session of `width` × `height`.
    fn start(socket: String, script: &Path, width: u16, height: u16) -> Tmux {
        let tmux = Tmux { socket };
        let command = format!("sh {}", script.display());
        let (w, h) = (width.to_string(), height.to_string());
        let out = tmux.tmux(&[
            "new-session",
            "-d",
            "-s",
            "apply",
            "-x",
            &w,
            "-y",
            &h,
            &command,
        ]);
        assert!(
            out.status.success(),
            "tmux starts a session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    /// The visible pane, line by line, without the blank lines under the cursor.
    fn capture(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "apply"]);
        String::from_utf8_lossy(&out.stdout).trim_end().to_string() + "\n"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A shell script that runs `cmd` as the harness built it (its environment changes, its
/// folder), as a user's terminal would (`COLUMNS`, `LINES`; no `CI`), writes its exit code to
/// `code`, then keeps the pane open.
fn script(cmd: &Command, dir: &Path, code: &Path) -> PathBuf {
    let mut text = String::from("unset CI\nexport COLUMNS=120 LINES=30\n");
    for (k, v) in cmd.get_envs() {
        let k = k.to_string_lossy();
        match v {
            Some(v) => text.push_str(&format!("export {k}={}\n", quote(&v.to_string_lossy()))),
            None => text.push_str(&format!("unset {k}\n")),
        }
    }
    if let Some(folder) = cmd.get_current_dir() {
        text.push_str(&format!("cd {}\n", quote(&folder.to_string_lossy())));
    }
    let mut line = quote(&cmd.get_program().to_string_lossy());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    text.push_str(&format!(
        "{line}\necho $? > {}\nexec sleep 600\n",
        quote(&code.to_string_lossy())
    ));
    let path = dir.join("apply-in-tmux.sh");
    std::fs::write(&path, text).expect("the script is written");
    path
}

/// Waits until `ready` holds of the pane; the pane when it does.
fn wait_for(tmux: &Tmux, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let pane = tmux.capture();
        if ready(&pane) {
            return pane;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what}; the pane:\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pane from the first event line on (the plan above it holds moto's random ids).
fn from_events(pane: &str) -> String {
    let lines: Vec<&str> = pane.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.ends_with(": creating..."))
        .unwrap_or(0);
    lines[first..].join("\n") + "\n"
}

#[test]
fn a_long_apply_on_a_terminal_shows_what_is_in_flight_under_its_event_lines() {
    let w = World::new("live-view");
    // An alarm that waits on the service, for `--explain` to say so.
    let alarm = format!(
        r#"
alarm "cpu" {{
    name "{}-cpu"
    description (ref)"service.app"
    namespace "AWS/ECS"
    metric "CPUUtilization"
    statistic "Average"
    period 60
    evaluation-periods 1
    threshold 90
    comparison "GreaterThanThreshold"
}}
"#,
        w.stack
    );
    let stack = write(&w, &(stack_text(&w, 3, "") + &alarm));
    let cmd = w.command(
        &[
            "apply",
            &stack,
            "--auto-approve",
            "--explain",
            "--wait-timeout",
            "15s",
        ],
        &[FAST_POLL],
    );
    let code = w.dir.join("code");
    let script = script(&cmd, &w.dir, &code);
    let tmux = Tmux::start(format!("infra-it-{}", w.stack), &script, 120, 30);

    // The service waits for its third task: the frame shows it under the event lines, and the
    // alarm waiting on it.
    let pane = wait_for(&tmux, "the service in the live frame", |pane| {
        pane.lines()
            .any(|l| l.starts_with("  service.app ") && l.contains("rollout"))
            && pane
                .lines()
                .any(|l| l.starts_with("[") && l.contains(" in flight"))
    });
    assert!(
        pane.contains("      waits on service.app (in flight)\n"),
        "{pane}"
    );
    for line in pane.lines() {
        assert!(line.chars().count() < 120, "wider than the pane: {line}");
        assert!(!line.contains('\x1b'), "an escape shown as text: {line}");
    }
    // Elapsed times vary from run to run, and so does their padding.
    let times = regex_lite::Regex::new(r" +(\d+m\d{2}s|\d+s)\b").expect("a valid pattern");
    let shown = w.redact(&from_events(&pane));
    insta::assert_snapshot!("pane_while_waiting", times.replace_all(&shown, " [T]"));

    // apply gives up waiting (exit 1); the frame is gone, the summary in its place.
    let deadline = Instant::now() + Duration::from_secs(90);
    let exit = loop {
        if let Ok(text) = std::fs::read_to_string(&code)
            && !text.trim().is_empty()
        {
            break text.trim().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "apply never ended; the pane:\n{}",
            tmux.capture()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let pane = tmux.capture();
    assert_eq!(exit, "1", "{pane}");
    assert!(pane.contains("Apply failed"), "{pane}");
    assert!(
        pane.contains("alarm.cpu: skipped because `service.app` failed"),
        "{pane}"
    );
    assert!(
        !pane
            .lines()
            .any(|l| l.starts_with("[") && l.contains(" in flight")),
        "the frame outlived the apply:\n{pane}"
    );
    // The history stays: every event line is still there, once.
    assert_eq!(
        pane.lines()
            .filter(|l| *l == "service.app: creating...")
            .count(),
        1,
        "{pane}"
    );
}
