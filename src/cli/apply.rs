//! `infra apply`: plan, confirm, then converge live AWS to the stack.

use std::cell::RefCell;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::live;
use super::session::{AwsArgs, Intent, PlanArgs, RunArgs, SelectArgs, Session, runtime};
use crate::apply::{ApplyOptions, Event, Outcome};
use crate::plan::render::{Style, write_text};
use crate::plan::saved;
use crate::plan::{Action, Plan};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Run `infra verify`'s checks even when nothing changed (they run after every apply that
    /// changed something unless --no-verify).
    #[arg(long, overrides_with = "no_verify")]
    pub verify: bool,
    /// Skip the checks `infra verify` runs after an apply that changed something; without it,
    /// a failed check makes apply exit 2 (what was applied stays applied).
    #[arg(long, overrides_with = "verify")]
    pub no_verify: bool,
}

impl Args {
    /// Whether the checks run after an apply that succeeded; `changed` when it changed something,
    /// `targeted` when it applied a selection (`--target`, `--exclude`). Asked for (`--verify`):
    /// always. By default: when something changed, the whole stack was applied and there is live
    /// AWS to read (none behind the benchmarks' in-memory fake). The checks are the whole stack's
    /// health, which a part applied on purpose (the repository of a bootstrap, before its image
    /// is pushed) does not have yet.
    fn verifies(&self, changed: bool, targeted: bool, live: bool) -> bool {
        if self.no_verify {
            false
        } else if self.verify {
            true
        } else {
            changed && !targeted && live
        }
    }
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let rt = match runtime(ui) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        // Ctrl-C or SIGTERM: finish what is in flight, start nothing new, then report.
        let stop = Arc::new(AtomicBool::new(false));
        let listener = tokio::spawn(interrupted(stop.clone()));
        // `infra apply FILE` applies a saved plan: the stack and options it was made with.
        let saved = if saved::is_saved(&args.stack.stack) {
            match saved::read(&args.stack.stack) {
                Ok(s) => Some(s),
                Err(e) => {
                    ui.err(&format!("error: {e}\n"));
                    return ExitCode::from(1);
                }
            }
        } else {
            None
        };
        let (stack_args, plan_args) = match &saved {
            Some(s) => (
                super::StackArgs {
                    stack: s.stack_file().unwrap_or_default().into(),
                    vars: args.stack.vars.clone(),
                    var_files: args.stack.var_files.clone(),
                },
                PlanArgs {
                    adopt: s.strings("adopt"),
                    allow_older_image: s.flag("allow-older-image"),
                    select: SelectArgs {
                        target: s.strings("target"),
                        exclude: s.strings("exclude"),
                    },
                },
            ),
            None => (args.stack.clone(), args.plan.clone()),
        };
        let lock = Some(args.run.lock("apply"));
        let mut session = match Session::open_locked(&stack_args, &args.aws, lock, ui).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        session.preflight(&plan_args).await;
        let (code, changed) =
            apply_locked(&session, saved.as_ref(), &plan_args, args, ui, &stop).await;
        session.release_lock(ui).await;
        listener.abort();
        let live = session.clients().is_some();
        let targeted = !plan_args.select.target.is_empty() || !plan_args.select.exclude.is_empty();
        if code != ExitCode::SUCCESS || !args.verifies(changed, targeted, live) {
            if code == ExitCode::SUCCESS && changed && targeted && live && !args.no_verify {
                ui.out(
                    "\nVerify's checks did not run: they are the whole stack's, and this apply was \
                     a part of it. Run `infra verify` once the rest is applied.\n",
                );
            }
            return code;
        }
        // What was applied, read again: the session above holds what AWS was before.
        ui.out("\n");
        let after = match Session::open(&stack_args, &args.aws, ui).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        match super::verify::verify(after, super::verify::Format::Text, ui).await {
            Ok(0) => ExitCode::SUCCESS,
            Ok(n) => ExitCode::from(n),
            Err(code) => code,
        }
    })
}

/// The exit code, and whether the plan applied had changes (what `--verify` by default needs).
async fn apply_locked(
    session: &Session,
    saved: Option<&saved::Saved>,
    plan_args: &PlanArgs,
    args: &Args,
    ui: &Ui,
    stop: &Arc<AtomicBool>,
) -> (ExitCode, bool) {
    let plan = match session.plan(plan_args, Intent::Apply, ui) {
        Ok(p) => p,
        Err(code) => {
            session.report_calls(&args.aws, ui);
            return (code, false);
        }
    };
    if let Some(saved) = saved {
        let account = match session.account(ui).await {
            Ok(a) => a,
            Err(code) => return (code, false),
        };
        // Applied already (by this plan or another): AWS matches the stack.
        if saved::identity(saved, &session.stack, &account).is_empty()
            && saved::already_applied(saved, &plan)
        {
            ui.out(&format!(
                "The saved plan `{}` has already been applied: live AWS matches stack `{}`; \
                 nothing to do.\n",
                args.stack.stack.display(),
                plan.stack
            ));
            session.report_calls(&args.aws, ui);
            return (ExitCode::SUCCESS, false);
        }
        let moved = saved::staleness(saved, &session.stack, &session.refreshed, &plan, &account);
        if !moved.is_empty() {
            let mut text = format!(
                "error: the saved plan `{}` is stale and was not applied:\n",
                args.stack.stack.display()
            );
            for line in moved {
                text.push_str(&format!("  - {line}\n"));
            }
            text.push_str("  help: plan again, review the new plan, and apply that one\n");
            ui.err(&text);
            return (ExitCode::from(1), false);
        }
    }
    let code = converge(session, &plan, &args.run, ui, Confirm::Yes, stop).await;
    session.report_calls(&args.aws, ui);
    (code, plan.has_changes())
}

/// What the user must type to go ahead.
pub enum Confirm {
    Yes,
    StackName,
}

/// Shows the plan, asks, applies and reports. Shared with `destroy`.
pub async fn converge(
    session: &Session,
    plan: &Plan,
    run: &RunArgs,
    ui: &Ui,
    confirm: Confirm,
    stop: &Arc<AtomicBool>,
) -> ExitCode {
    write_text(
        plan,
        Style {
            color: ui.out_color(),
        },
        &mut |piece| ui.out(piece),
    );
    if !plan.has_changes() {
        if matches!(confirm, Confirm::Yes) {
            let known = crate::known::Known::from_refreshed(&session.stack, &session.refreshed);
            ui.out(&crate::outputs::text(&crate::outputs::resolve(
                &session.stack,
                &known,
            )));
        }
        return ExitCode::SUCCESS;
    }
    if !run.auto_approve {
        if !ui.can_ask() {
            ui.err(
                "error: stdin is not a terminal, so infra cannot ask for confirmation\n  \
                 help: review the plan, then run again with --auto-approve\n",
            );
            return ExitCode::from(1);
        }
        let (question, expected) = match confirm {
            Confirm::Yes => (
                format!(
                    "\nApply these changes to stack `{}`? Only `yes` is accepted: ",
                    plan.stack
                ),
                "yes".to_string(),
            ),
            Confirm::StackName => (
                format!(
                    "\nThis deletes everything stack `{}` owns in {}. Type the stack's name to confirm: ",
                    plan.stack, plan.region
                ),
                plan.stack.clone(),
            ),
        };
        if ui.ask(&question).as_deref() != Some(expected.as_str()) {
            ui.out("Nothing was changed.\n");
            return ExitCode::from(1);
        }
    }
    ui.out("\n");
    if stop.load(Ordering::SeqCst) {
        ui.out("Interrupted before anything was changed.\n");
        return ExitCode::from(130);
    }
    let _stage = crate::ui::Stage::start("apply");
    let outcome = execute_shown(session, plan, run, ui, stop).await;
    let verb = match confirm {
        Confirm::Yes => "Apply",
        Confirm::StackName => "Destroy",
    };
    ui.out(&summary(&outcome, verb));
    if matches!(confirm, Confirm::Yes) {
        let known = crate::known::Known::with_values(&session.stack, outcome.known.clone());
        ui.out(&crate::outputs::text(&crate::outputs::resolve(
            &session.stack,
            &known,
        )));
    }
    // What apply leaves for someone to do by hand, said again where it cannot be missed.
    let left: Vec<crate::model::Warning> = plan
        .warnings
        .iter()
        .filter(|w| w.code == "infra::secret-without-value")
        .cloned()
        .collect();
    ui.out(&crate::plan::render::warning_lines(&left));
    if let Some(why) = &outcome.halted {
        ui.err(&format!("error: {verb} stopped: {why}\n"));
        return ExitCode::from(1);
    }
    if stop.load(Ordering::SeqCst) {
        ExitCode::from(130)
    } else if !outcome.not_serving.is_empty() {
        ExitCode::from(crate::providers::EXIT_NOT_SERVING)
    } else if outcome.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Sets `stop` on the first SIGINT or SIGTERM; ends the process on the second. Listening
/// starts before the lock is taken, so an interruption at any point lets go of it.
pub async fn interrupted(stop: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    for _ in 0..2 {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        if stop.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    }
}

/// Runs the executor, showing what it does: event lines, and on a terminal the live frame
/// under them (redrawn every [`live::REDRAW`]); without one, a compact line every 30 s.
async fn execute_shown(
    session: &Session,
    plan: &Plan,
    run: &RunArgs,
    ui: &Ui,
    stop: &Arc<AtomicBool>,
) -> Outcome {
    let env = |name: &str| std::env::var(name).ok();
    let drawn = live::wanted(
        ui.out_is_terminal(),
        run.no_live,
        crate::ui::verbosity(),
        env,
    );
    let waits = if drawn && run.explain {
        crate::apply::waits_on(&session.graph, plan)
    } else {
        Vec::new()
    };
    let state = RefCell::new(live::State::of_plan(plan, &waits, Instant::now()));
    let screen = RefCell::new(live::Screen::default());
    let mut on_event = |event: Event| {
        let now = Instant::now();
        state.borrow_mut().record(&event, now);
        let line = match &event {
            Event::StillRunning { .. } if drawn => return,
            Event::StillRunning { .. } => live::still_running(&state.borrow(), now),
            other => progress(other),
        };
        if drawn {
            screen.borrow_mut().queue(&line);
        } else {
            ui.out(&line);
        }
    };
    let execute = crate::apply::execute(
        &session.stack,
        &session.graph,
        plan,
        &session.refreshed,
        &session.providers,
        ApplyOptions {
            parallelism: run.parallelism.into(),
            wait_timeout: run.wait_timeout(),
            stop: stop.clone(),
            fence: session.fence(),
        },
        &mut on_event,
    );
    if !drawn {
        return execute.await;
    }
    let size = live::Size::of_terminal(env);
    let mut ticks = tokio::time::interval(live::REDRAW);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(execute);
    let outcome = loop {
        tokio::select! {
            outcome = &mut execute => break outcome,
            _ = ticks.tick() => {
                let frame = live::frame(&state.borrow(), Instant::now(), size, run.explain);
                ui.out(&screen.borrow_mut().redraw(&frame));
            }
        }
    };
    ui.out(&screen.borrow_mut().finish());
    outcome
}

fn progress(event: &Event) -> String {
    match event {
        Event::Started { address, action } => {
            format!("{address}: {}...\n", live::ongoing(*action))
        }
        Event::Finished {
            address,
            action,
            seconds,
        } => format!("{address}: {} ({seconds:.1}s)\n", action.done()),
        Event::Failed {
            address,
            action,
            message,
        } => format!("{address}: {} failed: {message}\n", action.describe()),
        Event::Skipped {
            address, because, ..
        } => format!("{address}: skipped because {because}\n"),
        Event::Progress { address, message } => format!("{address}: {message}\n"),
        // Said by `live::still_running`, from what every event before it said.
        Event::StillRunning { .. } => String::new(),
    }
}

fn summary(outcome: &Outcome, verb: &str) -> String {
    let counts = format!(
        "{} created, {} updated, {} replaced, {} deleted, {} adopted",
        outcome.count(Action::Create),
        outcome.count(Action::Update),
        outcome.count(Action::Replace),
        outcome.count(Action::Delete),
        outcome.count(Action::Adopt),
    );
    if outcome.succeeded() {
        return format!("\n{verb} complete: {counts}.\n");
    }
    let mut out = format!(
        "\n{verb} failed: {counts}; {} failed, {} skipped.\n",
        outcome.failed.len(),
        outcome.skipped.len()
    );
    for (address, action, message) in &outcome.failed {
        out.push_str(&format!(
            "  failed:  {address} ({}): {message}\n",
            action.describe()
        ));
    }
    for (address, action, because) in &outcome.skipped {
        out.push_str(&format!(
            "  skipped: {address} ({}): {because}\n",
            action.describe()
        ));
    }
    out.push_str(&format!(
        "Run {} again once the cause is fixed: it picks up where this one stopped.\n",
        verb.to_lowercase()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        apply: Args,
    }

    fn args(flags: &[&str]) -> Args {
        use clap::Parser;
        let mut all = vec!["infra", "stack.kdl"];
        all.extend_from_slice(flags);
        match Cli::try_parse_from(all) {
            Ok(cli) => cli.apply,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn apply_verifies_after_a_change_unless_told_not_to() {
        // (changed, live AWS) for each flag set: by default only a change against AWS.
        let plain = args(&[]);
        assert!(plain.verifies(true, false, true));
        assert!(!plain.verifies(false, false, true));
        assert!(!plain.verifies(true, false, false));
        // A targeted apply (the repository of a bootstrap) is not the whole stack's health.
        assert!(!plain.verifies(true, true, true));
        assert!(args(&["--verify"]).verifies(true, true, true));
        // --verify: even when nothing changed, as before it was the default.
        assert!(args(&["--verify"]).verifies(false, false, true));
        assert!(!args(&["--no-verify"]).verifies(true, false, true));
        // The last of the two flags wins.
        assert!(!args(&["--verify", "--no-verify"]).verifies(true, false, true));
        assert!(args(&["--no-verify", "--verify"]).verifies(false, false, true));
    }
}
