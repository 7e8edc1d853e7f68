//! The runbook names only what exists: every `infra ...` command it prints is a real
//! subcommand, and every log group, secret and alarm it names is one the stack defines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::markdown::shell_quote;
use super::{Invocation, generate};
use crate::lang::LoadOptions;
use crate::model::{Kind, Stack, Value};

/// The reference stacks and the examples (secrets set every way, a service whose count
/// the stack ignores, alarms on metric math), loaded with their default variables.
fn stacks() -> Vec<(String, Stack)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<PathBuf> = ["stacks", "examples"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("the directory exists"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "kdl"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "{paths:?}");
    paths
        .into_iter()
        .map(|p| {
            let stack = crate::lang::load(&p, &LoadOptions::default())
                .unwrap_or_else(|_| panic!("{} loads", p.display()));
            let shown = p
                .strip_prefix(root)
                .map_or_else(|_| p.display().to_string(), |r| r.display().to_string());
            (shown, stack)
        })
        .collect()
}

fn runbook(path: &str, stack: &Stack) -> String {
    let graph = crate::graph::build(stack).expect("the stack has no cycle");
    generate(stack, &graph, &Invocation::new(stack, path, &[]))
}

/// Every command line of the runbook: lines of fenced code blocks and inline code spans.
fn commands(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push(line.trim().to_string());
        } else {
            out.extend(
                line.split('`')
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 1)
                    .map(|(_, span)| span.trim().to_string()),
            );
        }
    }
    out
}

/// The word after `flag` in each command that has it, unquoted.
fn after(commands: &[String], words: &str) -> Vec<String> {
    commands
        .iter()
        .filter_map(|c| c.split_once(words))
        .filter_map(|(_, rest)| rest.split_whitespace().next())
        .map(|w| w.trim_matches('\'').to_string())
        .collect()
}

fn names(stack: &Stack, kind: Kind) -> BTreeSet<String> {
    stack
        .resources
        .iter()
        .filter(|r| r.kind() == kind)
        .filter_map(|r| r.attrs.get("name").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_infra_command_a_runbook_prints_is_a_real_subcommand() {
    let subcommands: BTreeSet<String> = crate::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for (path, stack) in stacks() {
        let text = runbook(&path, &stack);
        let infra: Vec<String> = commands(&text)
            .into_iter()
            .filter(|c| c.starts_with("infra "))
            .collect();
        assert!(infra.len() >= 4, "{path}: {infra:?}");
        let mut seen = BTreeSet::new();
        for command in &infra {
            let word = command.split_whitespace().nth(1).unwrap_or_default();
            assert!(
                subcommands.contains(word),
                "{path}: `{command}` names no subcommand of infra"
            );
            seen.insert(word.to_string());
            // Every command line (not a mention such as `infra apply` in a sentence) names
            // the stack it is about.
            if command.split_whitespace().count() > 2 {
                assert!(command.contains(&path), "{path}: `{command}`");
            }
        }
        for needed in ["plan", "apply", "drift"] {
            assert!(seen.contains(needed), "{path} has no `infra {needed}`");
        }
        let services = stack
            .resources
            .iter()
            .filter(|r| r.kind() == Kind::Service)
            .count();
        let restarts: Vec<String> = after(&infra, &format!("infra restart {path} "));
        let addresses: BTreeSet<String> = stack
            .resources
            .iter()
            .filter(|r| r.kind() == Kind::Service)
            .map(|r| r.address.to_string())
            .collect();
        assert!(restarts.len() >= services, "{path}: {restarts:?}");
        for address in restarts {
            assert!(addresses.contains(&address), "{path}: restart {address}");
        }
    }
}

#[test]
fn every_log_group_secret_and_alarm_a_runbook_names_is_the_stacks() {
    for (path, stack) in stacks() {
        let text = runbook(&path, &stack);
        let commands = commands(&text);
        let groups = names(&stack, Kind::LogGroup);
        let tailed = after(&commands, "aws logs tail ");
        assert!(tailed.len() >= groups.len(), "{path}: {tailed:?}");
        for group in &tailed {
            assert!(groups.contains(group), "{path}: log group `{group}`");
        }
        let secrets = names(&stack, Kind::Secret);
        for id in after(&commands, "--secret-id ") {
            assert!(secrets.contains(&id), "{path}: secret `{id}`");
        }
        let rotated: BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("### `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect();
        assert!(
            rotated.is_superset(&secrets),
            "{path}: every secret has its rotation: {rotated:?}"
        );
        let alarms = names(&stack, Kind::Alarm);
        let section = text
            .split("## Alarms\n")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .unwrap_or_default();
        let rows: BTreeSet<String> = section
            .lines()
            .skip(2)
            .filter_map(|row| row.split('`').nth(1))
            .map(str::to_string)
            .collect();
        assert_eq!(rows, alarms, "{path}: one row per alarm of the stack");
        // Secret names in the service tables are the stack's too.
        for line in text.lines().filter(|l| l.starts_with("| secrets read")) {
            for name in line.split('`').skip(1).step_by(2) {
                assert!(secrets.contains(name), "{path}: secret `{name}`");
            }
        }
    }
}

#[test]
fn each_secret_is_rotated_the_way_its_value_is_set() {
    let all = stacks();
    let find = |name: &str| {
        all.iter()
            .find(|(_, s)| s.name == name)
            .map(|(path, stack)| runbook(path, stack))
            .expect("the stack is there")
    };
    let sleek = find("sleek-coach-prod");
    let env = sleek
        .split("### `sleek-coach-prod/openai-api-key`")
        .nth(1)
        .expect("a section per secret");
    assert!(
        env.contains("environment variable `OPENAI_API_KEY`"),
        "{env}"
    );
    let generated = sleek
        .split("### `sleek-coach-prod/db-password`")
        .nth(1)
        .expect("a section per secret");
    assert!(
        generated.contains(
            "get-random-password --region us-east-1 --password-length 32 --exclude-punctuation"
        ),
        "{generated}"
    );
    assert!(sleek.contains("Read by `module.api.service.this` (as `DATABASE_PASSWORD`)."));
    let sasha = find("sasha");
    assert!(
        sasha.contains(
            "put-secret-value --region us-east-2 --secret-id sasha-aesop4/JWT_SECRET \
             --secret-string file://new-value.txt"
        ),
        "{sasha}"
    );
}

#[test]
fn a_value_from_a_file_and_a_count_the_stack_ignores_say_what_to_change() {
    let all = stacks();
    let find = |name: &str| {
        all.iter()
            .find(|(path, _)| path.ends_with(name))
            .map(|(path, stack)| runbook(path, stack))
            .expect("the example is there")
    };
    let secrets = find("examples/secrets.kdl");
    assert!(
        secrets.contains("infra writes its value from the file `secrets/tls.key`"),
        "{secrets}"
    );
    let lifecycle = find("examples/lifecycle.kdl");
    for says in [
        "| `shop-api` | `service.api` | 2 (`ignore-changes`: see below) |",
        "aws ecs update-service --region us-east-1 --cluster shop --service shop-api --desired-count N",
    ] {
        assert!(lifecycle.contains(says), "missing {says}:\n{lifecycle}");
    }
}

#[test]
fn a_service_shows_where_it_runs_and_what_it_reads() {
    let all = stacks();
    let (path, stack) = all
        .iter()
        .find(|(_, s)| s.name == "sleek-coach-prod")
        .expect("the stack is there");
    let text = runbook(path, stack);
    for says in [
        "| cluster | `sleek-coach-prod` |",
        "| task definition family | `sleek-coach-api` |",
        "| CPU / memory | 512 CPU units / 1024 MiB |",
        "| desired count | 2 |",
        "| health checks | `/health/ready` (target group `sleek-coach-api`) |",
        "| DNS names | `api.sleekcoach.app` |",
        "| log groups | `/ecs/sleek-coach-api` |",
        "| `app` | `123456789012.dkr.ecr.us-east-1.amazonaws.com/sleek-coach-api:2026.11.1` | 8000/tcp |",
        "TargetGroupName=='sleek-coach-api' || TargetGroupName=='sleek-coach-api-b'",
        "| `sleek-coach-prod-rds-cpu-high` |",
        "not a service of this stack: `DBInstanceIdentifier=sleek-coach-prod`",
        "```mermaid\nflowchart LR\n",
    ] {
        assert!(text.contains(says), "missing {says:?}:\n{text}");
    }
    assert_eq!(
        text,
        runbook(path, stack),
        "the same stack, the same runbook"
    );
}

#[test]
fn arguments_are_quoted_only_when_a_shell_needs_it() {
    assert_eq!(shell_quote("stacks/sasha.kdl"), "stacks/sasha.kdl");
    assert_eq!(shell_quote("my stacks/a.kdl"), "'my stacks/a.kdl'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}
