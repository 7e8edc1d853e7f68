//! `infra secret set STACK ADDRESS`: a new value for a secret the stack owns and operators set
//! (no `value` block), read from stdin and never shown, then every service whose tasks read it
//! restarted and waited for, in one reviewed step. Exit codes as `restart`: 0 when every reader
//! serves with the new value, 3 when a restart was rolled back or replaced, 1 on error.

use std::io::Read;
use std::process::ExitCode;

use futures::future::join_all;

use super::session::{AwsArgs, RunArgs, Session, run_locked};
use crate::known::Known;
use crate::model::{Kind, Value};
use crate::providers::{EXIT_NOT_SERVING, Owner, ProviderError, SECRET_VERSION_TAG};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SecretCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SecretCommand {
    /// Set a secret's value (from stdin, never shown) and restart the services that read it.
    Set(SetArgs),
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// The secret, by its address in the stack (`secret.db-password`).
    pub address: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let SecretCommand::Set(args) = &args.command;
    run_locked(
        &args.stack,
        &args.aws,
        &args.run,
        "secret set",
        ui,
        async |session| set(session, args, ui).await,
    )
}

fn fail(ui: &Ui, message: &str) -> ExitCode {
    ui.err(&format!("error: {message}\n"));
    ExitCode::from(1)
}

async fn set(session: &Session, args: &SetArgs, ui: &Ui) -> ExitCode {
    let stack = &session.stack;
    let Some(i) = stack
        .resources
        .iter()
        .position(|r| r.kind() == Kind::Secret && r.address.to_string() == args.address)
    else {
        let have: Vec<String> = stack
            .resources
            .iter()
            .filter(|r| r.kind() == Kind::Secret)
            .map(|r| r.address.to_string())
            .collect();
        return fail(
            ui,
            &format!(
                "stack `{}` has no secret `{}`\n  help: {}",
                stack.name,
                args.address,
                if have.is_empty() {
                    "the stack declares no secret".to_string()
                } else {
                    format!("its secrets are {}", have.join(", "))
                }
            ),
        );
    };
    let resource = &stack.resources[i];
    if let Some(Value::Map(value)) = resource.attrs.get("value")
        && let Some(source) = ["from-env", "from-file", "generate"]
            .into_iter()
            .find(|k| value.contains_key(*k))
    {
        return fail(
            ui,
            &format!(
                "`{}` takes its value from the stack (`{source}`): the next apply would write \
                 that again\n  help: change the value at its source and run `infra apply`, which \
                 restarts its readers",
                args.address
            ),
        );
    }
    let live = match &session.refreshed.live[i] {
        Some(l) if matches!(&l.owner, Owner::Stack { stack: s, .. } if *s == stack.name) => l,
        Some(_) => {
            return fail(
                ui,
                &format!(
                    "`{}` exists but is not stack `{}`'s: infra sets only what it owns",
                    args.address, stack.name
                ),
            );
        }
        None => {
            return fail(
                ui,
                &format!(
                    "`{}` does not exist in AWS yet\n  help: apply the stack first",
                    args.address
                ),
            );
        }
    };
    let Some(arn) = live.computed.get("arn").and_then(Value::as_str) else {
        return fail(ui, "the live secret has no ARN");
    };
    let name = resource
        .attrs
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    // The services whose tasks read it.
    let known = Known::from_refreshed(stack, &session.refreshed);
    let tag = format!("{SECRET_VERSION_TAG}{}", args.address);
    let readers: Vec<usize> = (0..stack.resources.len())
        .filter(|&s| known.secrets_of(&stack.resources[s]).contains(&i))
        .collect();
    let reader_names: Vec<String> = readers
        .iter()
        .map(|&s| format!("`{}`", stack.resources[s].address))
        .collect();

    let value = if ui.can_ask() {
        ui.ask_hidden(&format!("New value of `{name}` (not shown): "))
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .ok()
            .map(|_| text.strip_suffix('\n').unwrap_or(&text).to_string())
    };
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return fail(
            ui,
            "no value was given on stdin\n  help: `printf %s \"$VALUE\" | infra secret set ...`",
        );
    };
    let restarts = if readers.is_empty() {
        "no service reads it".to_string()
    } else {
        format!("then restarts {}", reader_names.join(", "))
    };
    let question = format!(
        "Set a new value of `{}` ({name}), {restarts}? ",
        args.address
    );
    if let Err(code) = args.run.approve(ui, &question) {
        return code;
    }
    let Some(clients) = session.clients() else {
        return fail(ui, "there is no AWS account behind the in-memory fake");
    };
    let version = match crate::providers::aws::put_secret_value(&clients.secrets, arn, value).await
    {
        Ok(v) => v,
        Err(e) => {
            return fail(
                ui,
                &format!("setting `{}` failed: {}", args.address, e.explained()),
            );
        }
    };
    ui.out(&format!(
        "{}: a new value is current; {restarts}.\n",
        args.address
    ));
    let Some(provider) = session.providers.get(Kind::Service).cloned() else {
        return fail(ui, "services are not supported against this endpoint");
    };
    let restarts = readers.iter().map(|&s| {
        let provider = provider.clone();
        let known = &known;
        let tag = &tag;
        let version = &version;
        async move {
            let address = stack.resources[s].address.to_string();
            let Some(live) = &session.refreshed.live[s] else {
                // Not made yet: its first tasks read the new value.
                return (address, Ok(()));
            };
            let mut desired = known.desired(s);
            if let Some(running) = live.attrs.get("task-definition") {
                desired
                    .attrs
                    .insert("task-definition".into(), running.clone());
            }
            desired
                .attrs
                .insert("wait-for-steady-state".into(), Value::Bool(true));
            if let Some(Value::Map(tags)) = desired.attrs.get_mut("tags") {
                tags.insert(tag.clone(), Value::String(version.clone()));
            }
            let report = |message: String| ui.out(&format!("{address}: {message}\n"));
            let result = match provider.restart(live).await {
                Ok(()) => {
                    provider
                        .wait_stable(&desired, live, args.run.wait_timeout(), &report)
                        .await
                }
                Err(e) => Err(e),
            };
            (address, result)
        }
    });
    let mut code = ExitCode::SUCCESS;
    for (address, result) in join_all(restarts).await {
        match result {
            Ok(()) => ui.out(&format!(
                "{address}: restarted; its tasks read the new value.\n"
            )),
            Err(e) => {
                ui.err(&format!(
                    "error: restart of `{address}` failed: {}\n",
                    e.explained()
                ));
                code = if matches!(e, ProviderError::NotServing(_)) {
                    ExitCode::from(EXIT_NOT_SERVING)
                } else {
                    ExitCode::from(1)
                };
            }
        }
    }
    code
}
