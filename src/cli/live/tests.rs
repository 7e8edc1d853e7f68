use std::time::{Duration, Instant};

use super::*;

fn secs(base: Instant, s: u64) -> Instant {
    base + Duration::from_secs(s)
}

fn started(address: &str, action: Action) -> Event {
    Event::Started {
        address: address.into(),
        action,
    }
}

fn finished(address: &str, action: Action) -> Event {
    Event::Finished {
        address: address.into(),
        action,
        seconds: 1.0,
    }
}

/// A service rollout in flight: three changes done, the service waiting for its tasks, an alarm
/// and a record waiting on it.
fn rollout(base: Instant) -> State {
    let mut state = State::new(
        vec![
            ("cluster.main".into(), Action::Create, vec![]),
            ("log-group.app".into(), Action::Create, vec![]),
            ("task-definition.app".into(), Action::Create, vec![1]),
            ("service.app".into(), Action::Create, vec![0, 2]),
            ("alarm.cpu".into(), Action::Create, vec![3]),
            ("record.www".into(), Action::Update, vec![3, 4]),
            ("secret.db".into(), Action::Update, vec![]),
        ],
        base,
    );
    let events = [
        (0, started("cluster.main", Action::Create)),
        (0, started("log-group.app", Action::Create)),
        (0, started("secret.db", Action::Update)),
        (1, finished("log-group.app", Action::Create)),
        (1, started("task-definition.app", Action::Create)),
        (2, finished("cluster.main", Action::Create)),
        (2, finished("task-definition.app", Action::Create)),
        (2, started("service.app", Action::Create)),
        (
            5,
            Event::Progress {
                address: "service.app".into(),
                message: "running 0/3, rollout IN_PROGRESS".into(),
            },
        ),
        (
            40,
            Event::Progress {
                address: "service.app".into(),
                message: "running 2/3, rollout IN_PROGRESS".into(),
            },
        ),
    ];
    for (at, event) in &events {
        state.record(event, secs(base, *at));
    }
    state
}

const WIDE: Size = Size {
    width: 100,
    height: 30,
};

#[test]
fn a_frame_shows_what_is_in_flight_and_a_bar_for_the_whole_apply() {
    let base = Instant::now();
    let state = rollout(base);
    let frame = frame(&state, secs(base, 67), WIDE, false);
    insta::assert_snapshot!("rollout", frame);
    assert!(
        frame.contains("running 2/3, rollout IN_PROGRESS"),
        "{frame}"
    );
}

#[test]
fn an_explained_frame_says_what_each_waiting_change_waits_on() {
    let base = Instant::now();
    let state = rollout(base);
    let frame = frame(&state, secs(base, 67), WIDE, true);
    insta::assert_snapshot!("rollout_explained", frame);
    assert!(
        frame.contains("waits on service.app (in flight), alarm.cpu (waiting)"),
        "{frame}"
    );
}

#[test]
fn a_failure_is_counted_in_the_bar() {
    let base = Instant::now();
    let mut state = rollout(base);
    state.record(
        &Event::Failed {
            address: "secret.db".into(),
            action: Action::Update,
            message: "access denied".into(),
        },
        secs(base, 3),
    );
    state.record(
        &Event::Skipped {
            address: "record.www".into(),
            action: Action::Update,
            because: "no".into(),
        },
        secs(base, 3),
    );
    let frame = frame(&state, secs(base, 3_725), WIDE, false);
    insta::assert_snapshot!("failed", frame);
}

#[test]
fn a_frame_is_never_wider_than_the_terminal() {
    let base = Instant::now();
    let long = format!("module.{}.service.this", "nested-module-".repeat(10));
    let mut state = State::new(
        vec![
            (long.clone(), Action::Replace, vec![]),
            ("service.b".into(), Action::Update, vec![]),
            ("alarm.c".into(), Action::Create, vec![0, 1]),
        ],
        base,
    );
    state.record(&started(&long, Action::Replace), base);
    state.record(
        &Event::Progress {
            address: long.clone(),
            message: format!("running 1/2, rollout IN_PROGRESS{}", " and more".repeat(20)),
        },
        base,
    );
    state.record(&started("service.b", Action::Update), base);
    let size = Size {
        width: 50,
        height: 24,
    };
    let frame = frame(&state, secs(base, 9), size, true);
    insta::assert_snapshot!("narrow", frame);
    for line in frame.lines() {
        assert!(line.chars().count() < size.width, "{line}");
    }
}

/// A thousand changes as modules of five (log group, task definition, service, alarm, record),
/// the last three of each waiting on the one before; one address absurdly long.
fn thousand() -> Vec<Change> {
    let kinds = ["log-group", "task-definition", "service", "alarm", "record"];
    (0..1000usize)
        .map(|i| {
            let address = if i == 997 {
                format!(
                    "module.{}.service.this",
                    "very-long-module-name-".repeat(12)
                )
            } else {
                format!("module.m{}.{}.this", i / 5, kinds[i % 5])
            };
            let waits = match i % 5 {
                0 => vec![],
                4 => vec![i - 2],
                _ => vec![i - 1],
            };
            (address, Action::Create, waits)
        })
        .collect()
}

/// Runs `changes` as the executor would, 50 at once, each taking its own number of seconds,
/// `fail` failing (and what waits on it skipped); calls `look` every second with the state.
fn simulate(changes: &[Change], fail: usize, mut look: impl FnMut(&State, u64)) -> State {
    let base = Instant::now();
    let mut state = State::new(changes.to_vec(), base);
    let n = changes.len();
    let mut ends: Vec<Option<u64>> = vec![None; n];
    let mut phase = vec![Phase::Waiting; n];
    for t in 0..10_000u64 {
        let now = secs(base, t);
        for i in 0..n {
            if phase[i] == Phase::Running && ends[i] == Some(t) {
                let (address, action, _) = &changes[i];
                phase[i] = if i == fail {
                    Phase::Failed
                } else {
                    Phase::Done
                };
                let event = if i == fail {
                    Event::Failed {
                        address: address.clone(),
                        action: *action,
                        message: "boom".into(),
                    }
                } else {
                    finished(address, *action)
                };
                state.record(&event, now);
            }
        }
        let mut skipping = true;
        while skipping {
            skipping = false;
            for i in 0..n {
                if phase[i] == Phase::Waiting
                    && changes[i]
                        .2
                        .iter()
                        .any(|d| matches!(phase[*d], Phase::Failed | Phase::Skipped))
                {
                    phase[i] = Phase::Skipped;
                    skipping = true;
                    let event = Event::Skipped {
                        address: changes[i].0.clone(),
                        action: changes[i].1,
                        because: "a dependency failed".into(),
                    };
                    state.record(&event, now);
                }
            }
        }
        for i in 0..n {
            let running = phase.iter().filter(|p| **p == Phase::Running).count();
            if running >= 50 {
                break;
            }
            if phase[i] == Phase::Waiting && changes[i].2.iter().all(|d| phase[*d] == Phase::Done) {
                phase[i] = Phase::Running;
                ends[i] = Some(t + 1 + (i as u64 * 37) % 90);
                state.record(&started(&changes[i].0, changes[i].1), now);
                if changes[i].0.contains(".service.") {
                    let event = Event::Progress {
                        address: changes[i].0.clone(),
                        message: "running 0/3, rollout IN_PROGRESS".into(),
                    };
                    state.record(&event, now);
                }
            }
        }
        look(&state, t);
        if phase
            .iter()
            .all(|p| !matches!(p, Phase::Waiting | Phase::Running))
        {
            break;
        }
    }
    state
}

#[test]
fn a_thousand_resource_apply_prints_compact_lines_of_at_most_200_characters() {
    let changes = thousand();
    let mut lines = String::new();
    simulate(&changes, 502, |state, t| {
        // Every 30 s, as the executor's ticker says, while something runs.
        if t > 0 && t % 30 == 0 && state.count(Phase::Running) > 0 {
            lines.push_str(&still_running(
                state,
                state.started + Duration::from_secs(t),
            ));
        }
    });
    insta::assert_snapshot!("thousand_compact", lines);
    assert!(lines.lines().count() > 10, "{lines}");
    for line in lines.lines() {
        assert!(
            line.chars().count() <= LINE_MAX,
            "{} > 200: {line}",
            line.len()
        );
        assert!(line.starts_with("Still running: "), "{line}");
    }
    assert!(
        lines.contains("module.very-long-module…-very-long-module-name-.service.this"),
        "{lines}"
    );
}

#[test]
fn a_thousand_resource_frame_fits_the_terminal() {
    let changes = thousand();
    let size = Size {
        width: 120,
        height: 30,
    };
    let mut frames = Vec::new();
    simulate(&changes, 502, |state, t| {
        if t == 120 {
            // The state's clock started when the simulation did.
            frames.push(frame(
                state,
                state.started + Duration::from_secs(t),
                size,
                true,
            ));
        }
    });
    let frame = frames.pop().expect("the apply ran for two minutes");
    insta::assert_snapshot!("thousand_frame", frame);
    assert!(frame.lines().count() < size.height, "{frame}");
    assert!(
        frame.contains("more (") && frame.contains(" in flight, "),
        "{frame}"
    );
    for line in frame.lines() {
        assert!(line.chars().count() < size.width, "{line}");
    }
    // A terminal of two lines: the bar alone, and the cursor under it.
    let mut tiny = Vec::new();
    let size = Size {
        width: 80,
        height: 2,
    };
    simulate(&changes, 502, |state, t| {
        if t == 120 {
            tiny.push(super::frame(
                state,
                state.started + Duration::from_secs(t),
                size,
                true,
            ));
        }
    });
    let tiny = tiny.pop().expect("the apply ran for two minutes");
    assert_eq!(tiny.lines().count(), 1, "{tiny}");
    assert!(tiny.starts_with('['), "{tiny}");
}

#[test]
fn a_still_running_line_stays_short_however_many_are_in_flight() {
    let base = Instant::now();
    let changes: Vec<Change> = (0..1000)
        .map(|i| (format!("module.m{i}.service.this"), Action::Create, vec![]))
        .collect();
    let mut state = State::new(changes, base);
    for i in 0..100u64 {
        let address = format!("module.m{i}.service.this");
        if i < 50 {
            state.record(&started(&address, Action::Create), secs(base, 100 - i));
        } else {
            state.record(&finished(&address, Action::Create), base);
        }
    }
    let line = still_running(&state, secs(base, 100));
    assert_eq!(
        line,
        "Still running: 50 in flight, 900 waiting, 50 done: module.m49.service.this (49s), \
         module.m48.service.this (48s), module.m47.service.this (47s), \
         module.m46.service.this (46s), 46 more\n"
    );
    assert!(line.chars().count() <= LINE_MAX);
    // Short addresses: five names.
    let short: Vec<Change> = (0..8)
        .map(|i| (format!("log-group.g{i}"), Action::Create, vec![]))
        .collect();
    let mut state = State::new(short, base);
    for i in 0..8 {
        state.record(&started(&format!("log-group.g{i}"), Action::Create), base);
    }
    assert_eq!(
        still_running(&state, secs(base, 1)),
        "Still running: 8 in flight, 0 waiting, 0 done: log-group.g0 (1s), log-group.g1 (1s), \
         log-group.g2 (1s), log-group.g3 (1s), log-group.g4 (1s), 3 more\n"
    );
    // One very long address is named, cropped in its middle.
    let long = format!("module.{}.service.this", "x".repeat(300));
    let mut state = State::new(vec![(long.clone(), Action::Create, vec![])], base);
    state.record(&started(&long, Action::Create), base);
    let line = still_running(&state, secs(base, 3));
    assert_eq!(
        line,
        format!(
            "Still running: 1 in flight, 0 waiting, 0 done: module.{}…{}.service.this (3s)\n",
            "x".repeat(16),
            "x".repeat(23)
        )
    );
}

#[test]
fn the_screen_redraws_over_its_last_frame() {
    let mut screen = Screen::default();
    // The first frame: nothing to go up over.
    assert_eq!(screen.redraw("a\nbar\n"), "a\nbar\n");
    screen.queue("service.app: created (3.0s)\n");
    let up = "\x1b[1A\x1b[2K";
    assert_eq!(
        screen.redraw("bar\n"),
        format!("{up}{up}\rservice.app: created (3.0s)\nbar\n")
    );
    screen.queue("alarm.cpu: created (0.1s)\n");
    assert_eq!(
        screen.finish(),
        format!("{up}\ralarm.cpu: created (0.1s)\n")
    );
    // Nothing drawn any more.
    assert_eq!(screen.finish(), "");
}

#[test]
fn the_frame_is_drawn_only_on_a_terminal_outside_ci() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let term = env(&[("TERM", "xterm-256color")]);
    assert!(wanted(true, false, 0, term));
    assert!(!wanted(false, false, 0, term), "stdout is not a terminal");
    assert!(!wanted(true, true, 0, term), "--no-live");
    assert!(!wanted(true, false, 1, term), "-v logs share the screen");
    assert!(!wanted(true, false, 0, env(&[("TERM", "dumb")])));
    assert!(!wanted(true, false, 0, env(&[])), "no TERM");
    assert!(!wanted(
        true,
        false,
        0,
        env(&[("TERM", "xterm"), ("CI", "true")])
    ));
}

#[test]
fn the_size_comes_from_columns_and_lines() {
    let size = Size::from_env(|name| match name {
        "COLUMNS" => Some("132".into()),
        "LINES" => Some("nonsense".into()),
        _ => None,
    });
    assert_eq!(
        size,
        Size {
            width: 132,
            height: 24
        }
    );
    assert_eq!(Size::from_env(|_| None).width, 80);
}

#[test]
fn stty_answers_rows_then_columns() {
    assert_eq!(
        Size::parse_stty("50 200\n"),
        Some(Size {
            width: 200,
            height: 50
        })
    );
    for bad in ["", "0 80", "50", "50 200 3", "rows cols"] {
        assert_eq!(Size::parse_stty(bad), None, "{bad:?}");
    }
}
