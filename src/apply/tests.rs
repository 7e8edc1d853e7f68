//! The engine against the strict in-memory fake provider: refresh → diff → apply → refresh.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::apply::{ApplyOptions, Event, Outcome, execute};
use crate::lang::{LoadOptions, load};
use crate::model::{Kind, Stack, Value};
use crate::plan::{Action, DiffOptions, Plan, diff};
use crate::providers::Providers;
use crate::providers::fake::FakeKind;
use crate::refresh::refresh;

struct Engine {
    stack: Stack,
    graph: crate::graph::Graph,
    providers: Providers,
    logs: FakeKind,
    alarms: FakeKind,
    /// `--adopt` addresses.
    adopt: Vec<String>,
}

fn engine(name: &str, text: &str) -> Engine {
    let dir = std::env::temp_dir().join(format!("infra-engine-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp folder");
    let path = dir.join("stack.kdl");
    std::fs::write(&path, text).expect("the stack is written");
    let stack = match load(&path, &LoadOptions::default()) {
        Ok(s) => s,
        Err(f) => panic!("the test stack loads: {:?}", f.diagnostics),
    };
    let graph = crate::graph::build(&stack).expect("no cycles");
    let logs = FakeKind::new(Kind::LogGroup);
    let alarms = FakeKind::new(Kind::Alarm);
    let mut providers = Providers::default();
    providers.add(Arc::new(logs.clone()));
    providers.add(Arc::new(alarms.clone()));
    Engine {
        stack,
        graph,
        providers,
        logs,
        alarms,
        adopt: Vec::new(),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

impl Engine {
    fn plan(&self) -> (Plan, crate::refresh::Refreshed) {
        let refreshed = block_on(refresh(&self.stack, &self.providers));
        let plan = diff(
            &self.stack,
            &self.graph,
            &refreshed,
            &self.providers,
            &DiffOptions {
                adopt: self.adopt.iter().cloned().collect(),
                ..DiffOptions::default()
            },
        )
        .unwrap_or_else(|d| panic!("the plan is made: {d:?}"));
        (plan, refreshed)
    }

    fn apply(&self) -> (Outcome, Vec<Event>) {
        let (plan, refreshed) = self.plan();
        let mut events = Vec::new();
        let outcome = block_on(execute(
            &self.stack,
            &self.graph,
            &plan,
            &refreshed,
            &self.providers,
            ApplyOptions {
                parallelism: 4,
                wait_timeout: std::time::Duration::from_secs(5),
                stop: Default::default(),
                fence: None,
            },
            &mut |e| events.push(e),
        ));
        (outcome, events)
    }
}

fn actions(plan: &Plan) -> Vec<(String, Action)> {
    plan.changes
        .iter()
        .map(|c| (c.address.clone(), c.action))
        .collect()
}

const STACK: &str = r#"
stack "engine" region="us-east-1"

log-group "a" {
    name "/a"
    retention-days 7
}

log-group "b" {
    name "/b"
}

alarm "on-a" {
    name "on-a"
    description (ref)"log-group.a.arn"
    namespace "AWS/Logs"
    metric "IncomingBytes"
    statistic "Sum"
    period 60
    evaluation-periods 1
    threshold 1
    comparison "GreaterThanThreshold"
}
"#;

#[test]
fn apply_then_plan_is_empty_and_values_flow_downstream() {
    let e = engine("converge", STACK);
    let (plan, _) = e.plan();
    assert_eq!(plan.summary().create, 3);
    let description = plan.changes[2]
        .attrs
        .iter()
        .find(|a| a.name == "description")
        .and_then(|a| a.after.clone());
    assert_eq!(
        description,
        Some(Value::Unknown),
        "an ARN is known after apply"
    );
    let (outcome, events) = e.apply();
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.count(Action::Create), 3);
    // The alarm starts only after the log group it reads from is done.
    let position = |want: &str| {
        events
            .iter()
            .position(|ev| matches!(ev, Event::Started { address, .. } if address == want))
    };
    let finished_a = events
        .iter()
        .position(|ev| matches!(ev, Event::Finished { address, .. } if address == "log-group.a"));
    assert!(finished_a < position("alarm.on-a"));
    let (again, _) = e.plan();
    assert!(!again.has_changes(), "{:?}", actions(&again));
    assert!(e.alarms.calls().contains(&"create alarm.on-a".to_string()));
}

#[test]
fn a_failure_skips_dependents_and_independent_work_finishes() {
    let e = engine("failure", STACK);
    e.logs.fail_on("/a");
    let (outcome, _) = e.apply();
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].0, "log-group.a");
    assert_eq!(
        outcome.skipped,
        vec![(
            "alarm.on-a".to_string(),
            Action::Create,
            "`log-group.a` failed".to_string()
        )]
    );
    assert_eq!(
        outcome.done,
        vec![("log-group.b".to_string(), Action::Create)]
    );
    assert_eq!(e.alarms.names(), Vec::<String>::new());
}

#[test]
fn only_owned_resources_are_deleted_and_unowned_ones_are_adopted_when_asked() {
    let mut e = engine("owners", STACK);
    let tags = |pairs: &[(&str, &str)]| {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        )
    };
    let group = |name: &str, t: Value| {
        BTreeMap::from([
            ("name".to_string(), Value::String(name.into())),
            ("tags".to_string(), t),
        ])
    };
    e.logs.insert(group(
        "/ours-removed",
        tags(&[
            ("infra:stack", "engine"),
            ("infra:address", "log-group.old"),
        ]),
    ));
    e.logs.insert(group("/by-hand", tags(&[])));
    e.logs.insert(group(
        "/theirs",
        tags(&[("infra:stack", "other"), ("infra:address", "log-group.x")]),
    ));
    e.logs.insert(group("/b", tags(&[("team", "web")])));
    // Unasked, the unowned `/b` is a plan error, not an adoption.
    let refreshed = block_on(refresh(&e.stack, &e.providers));
    let refused = diff(
        &e.stack,
        &e.graph,
        &refreshed,
        &e.providers,
        &DiffOptions::default(),
    )
    .err()
    .unwrap_or_default();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].code, "infra::unowned");
    e.adopt.push("log-group.b".into());
    let (plan, _) = e.plan();
    let mut got = actions(&plan);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("alarm.on-a".to_string(), Action::Create),
            ("log-group.a".to_string(), Action::Create),
            ("log-group.b".to_string(), Action::Adopt),
            ("log-group.old".to_string(), Action::Delete),
        ]
    );
    let (outcome, _) = e.apply();
    assert!(outcome.succeeded(), "{outcome:?}");
    let mut names = e.logs.names();
    names.sort();
    assert_eq!(names, ["/a", "/b", "/by-hand", "/theirs"]);
}

#[test]
fn ignore_changes_keeps_the_live_value_even_when_something_else_changes() {
    let text = STACK.replace(
        "    retention-days 7\n}",
        "    retention-days 7\n    lifecycle {\n        ignore-changes \"retention-days\"\n    }\n}",
    );
    let e = engine("ignore", &text);
    let (outcome, _) = e.apply();
    assert!(outcome.succeeded());
    let changed = text
        .replace("retention-days 7", "retention-days 30")
        .replace(
            "    name \"/a\"\n",
            "    name \"/a\"\n    kms-key \"arn:aws:kms:us-east-1:123456789012:key/logs\"\n",
        );
    let e2 = Engine {
        stack: engine("ignore-2", &changed).stack,
        ..e
    };
    let (plan, _) = e2.plan();
    let names: Vec<&str> = plan
        .changes
        .iter()
        .flat_map(|c| c.attrs.iter().map(|a| a.name.as_str()))
        .collect();
    assert_eq!(names, ["kms-key"], "{:?}", actions(&plan));
    let (outcome, _) = e2.apply();
    assert!(outcome.succeeded(), "{outcome:?}");
    let (after, _) = e2.plan();
    let a = after
        .changes
        .iter()
        .find(|c| c.address == "log-group.a")
        .and_then(|c| c.live.as_ref())
        .and_then(|l| l.attrs.get("retention-days").cloned());
    assert_eq!(a, Some(Value::Int(7)), "the ignored value was not sent");
}

#[test]
fn an_interrupted_apply_starts_nothing_new() {
    let e = engine("stop", STACK);
    let (plan, refreshed) = e.plan();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let outcome = block_on(execute(
        &e.stack,
        &e.graph,
        &plan,
        &refreshed,
        &e.providers,
        ApplyOptions {
            parallelism: 4,
            wait_timeout: std::time::Duration::from_secs(5),
            stop,
            fence: None,
        },
        &mut |_| {},
    ));
    assert!(outcome.done.is_empty(), "{outcome:?}");
    assert_eq!(outcome.skipped.len(), 3);
    assert!(
        outcome
            .skipped
            .iter()
            .all(|(_, _, why)| why == crate::apply::INTERRUPTED)
    );
    assert!(e.logs.names().is_empty());
}

#[test]
fn each_change_waits_on_the_changes_it_depends_on_and_sees_through_no_ops() {
    let e = engine("waits-on", STACK);
    let (plan, _) = e.plan();
    let address = |c: usize| plan.changes[c].address.clone();
    let named = |waits: &[Vec<usize>]| -> Vec<(String, Vec<String>)> {
        waits
            .iter()
            .enumerate()
            .map(|(c, ws)| (address(c), ws.iter().map(|w| address(*w)).collect()))
            .collect()
    };
    assert_eq!(
        named(&crate::apply::waits_on(&e.graph, &plan)),
        vec![
            ("log-group.a".to_string(), vec![]),
            ("log-group.b".to_string(), vec![]),
            ("alarm.on-a".to_string(), vec!["log-group.a".to_string()]),
        ]
    );
    let (outcome, _) = e.apply();
    assert!(outcome.succeeded(), "{outcome:?}");
    // Only the alarm changes: the log group it reads is settled without a call, so the alarm
    // waits on nothing.
    let changed = Engine {
        stack: engine("waits-on-2", &STACK.replace("threshold 1", "threshold 2")).stack,
        ..e
    };
    let (plan, _) = changed.plan();
    let waits = crate::apply::waits_on(&changed.graph, &plan);
    let alarm = plan
        .changes
        .iter()
        .position(|c| c.address == "alarm.on-a")
        .expect("the alarm is planned");
    assert_eq!(plan.changes[alarm].action, Action::Update);
    assert!(waits[alarm].is_empty(), "{waits:?}");
}
