//! `infra rollback STACK ADDRESS`: points a service back at the newest revision of its task
//! definition family, older than the one it runs, that served when infra deployed it (tagged
//! `infra:outcome=verified`), once its images and secrets are checked to still exist; then the
//! same wait and verdict as apply (exit 3 when it does not serve), the change to commit to the
//! stack so that the next apply does not deploy the rolled-back revision again, and `infra
//! verify`'s checks of what runs then (exit 2 when one fails).

use std::process::ExitCode;

use super::session::{AwsArgs, RunArgs, Session, run_locked};
use crate::known::Known;
use crate::model::{Kind, Value};
use crate::providers::aws::EcsHistory;
use crate::providers::revisions::{RUNNING_TASK_DEFINITION, Revision};
use crate::providers::{EXIT_NOT_SERVING, ProviderError};
use crate::rollback::{StackChange, Verdict, judge, stack_changes};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: super::StackArgs,
    /// The service to roll back, by its address in the stack (`service.api`,
    /// `module.shop.service.this`).
    pub address: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let code = run_locked(
        &args.stack,
        &args.aws,
        &args.run,
        "rollback",
        ui,
        async |session| rollback(session, args, ui).await,
    );
    if code != ExitCode::SUCCESS {
        return code;
    }
    verify_after(args, ui)
}

/// After a rollback that serves: `infra verify`'s checks on what runs now (tasks, targets,
/// alarms, DNS, probes), exit 2 when one fails. Task definitions are not compared: the stack
/// names the rolled-back image until the change printed above is committed.
fn verify_after(args: &Args, ui: &Ui) -> ExitCode {
    let rt = match super::session::runtime(ui) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let mut after = match Session::open(&args.stack, &args.aws, ui).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        if after.clients().is_none() {
            return ExitCode::SUCCESS;
        }
        let mut report = match super::verify::report(&mut after, ui).await {
            Ok(r) => r,
            Err(code) => return code,
        };
        report.checks.retain(|c| c.what != "definition");
        ui.out("\n");
        ui.out(&crate::verify::render::text(&report));
        ui.out(
            "(task definitions are not compared with the stack until the change above is \
             committed)\n",
        );
        let failed = report
            .checks
            .iter()
            .any(|c| c.outcome != crate::verify::Outcome::Pass);
        if failed {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}

fn fail(ui: &Ui, message: &str) -> ExitCode {
    ui.err(&format!("error: {message}\n"));
    ExitCode::from(1)
}

async fn rollback(session: &Session, args: &Args, ui: &Ui) -> ExitCode {
    let stack = &session.stack;
    let address = args.address.as_str();
    let (i, live) = match session.owned_service(address, "rolls back", ui) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let (Some(clients), Some(preflight), Some(provider)) = (
        session.clients(),
        session.providers.preflight().cloned(),
        session.providers.get(Kind::Service).cloned(),
    ) else {
        return fail(ui, "services cannot be rolled back against this endpoint");
    };
    let history = EcsHistory::new(clients.ecs.clone());
    let Some(running) = live
        .private
        .get(RUNNING_TASK_DEFINITION)
        .and_then(Value::as_str)
        .or_else(|| live.str("task-definition"))
    else {
        return fail(ui, &format!("`{address}` runs no task definition"));
    };
    let current = match history.revision(running).await {
        Ok(r) => r,
        Err(e) => {
            return fail(
                ui,
                &format!("cannot read what `{address}` runs: {}", e.explained()),
            );
        }
    };
    let target = match find_target(
        &history,
        &current,
        preflight.as_ref(),
        &stack.name,
        &stack.region,
        address,
        ui,
    )
    .await
    {
        Ok(t) => t,
        Err(code) => return code,
    };
    let changes = stack_changes(stack, &stack.resources[i], &current, &target);
    let mut preview = format!(
        "{address}: roll back from `{}` to `{}`, the newest older revision that served when \
         infra deployed it\n",
        current.name, target.name
    );
    for c in &target.containers {
        if let Some(now) = current.containers.iter().find(|r| r.name == c.name)
            && now.image != c.image
        {
            preview.push_str(&format!(
                "  container `{}`: {} → {}\n",
                c.name, now.image, c.image
            ));
        }
    }
    ui.out(&preview);
    let question = format!("Roll back `{address}` to `{}`? ", target.name);
    if let Err(code) = args.run.approve(ui, &question) {
        return code;
    }
    let (cluster, name) = (
        live.str("cluster").unwrap_or_default(),
        live.str("name").unwrap_or_default(),
    );
    if let Err(e) = history.deploy(cluster, name, &target.arn).await {
        return fail(
            ui,
            &format!("rollback of `{address}` failed: {}", e.explained()),
        );
    }
    ui.out(&format!("{address}: deploying `{}`...\n", target.name));
    // The same wait as apply's, for the target revision; it records the outcome on it.
    let mut desired = Known::from_refreshed(stack, &session.refreshed).desired(i);
    desired
        .attrs
        .insert("task-definition".into(), Value::String(target.arn.clone()));
    desired
        .attrs
        .insert("wait-for-steady-state".into(), Value::Bool(true));
    let report = |message: String| ui.out(&format!("{address}: {message}\n"));
    match provider
        .wait_stable(&desired, live, args.run.wait_timeout(), &report)
        .await
    {
        Ok(()) => {
            ui.out(&format!(
                "Rollback complete: `{address}` serves `{}`.\n{}",
                target.name,
                to_commit(&changes, &current)
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            ui.err(&format!(
                "error: rollback of `{address}` to `{}` failed: {}\n",
                target.name,
                e.explained()
            ));
            if matches!(e, ProviderError::NotServing(_)) {
                ExitCode::from(EXIT_NOT_SERVING)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The newest revision older than `current` to go back to, saying why each newer one is
/// skipped; fails, saying why, when there is none or it cannot run again.
async fn find_target(
    history: &EcsHistory,
    current: &Revision,
    preflight: &dyn crate::providers::preflight::Preflight,
    stack: &str,
    region: &str,
    address: &str,
    ui: &Ui,
) -> Result<Revision, ExitCode> {
    let family = current
        .name
        .rsplit_once(':')
        .map_or(current.name.as_str(), |(f, _)| f);
    // Only this stack's revisions of the task definition running now: the family is a name
    // any stack (or hand) in the account and region can register under.
    let owner = match &current.owner {
        Some(o) if o.stack == stack => o.clone(),
        _ => {
            return Err(fail(
                ui,
                &format!(
                    "`{address}` runs `{}`, which this stack did not register; nothing was \
                     changed\n  help: apply the stack first, so that the service runs a revision \
                     of its own",
                    current.name
                ),
            ));
        }
    };
    let older = history.older(family, current.number).await.map_err(|e| {
        fail(
            ui,
            &format!("cannot list the revisions of `{family}`: {}", e.explained()),
        )
    })?;
    for arn in older {
        let revision = history
            .revision(&arn)
            .await
            .map_err(|e| fail(ui, &format!("cannot read `{arn}`: {}", e.explained())))?;
        match judge(&revision, &owner, preflight, region).await {
            Verdict::Target => return Ok(revision),
            Verdict::Skip(why) => {
                ui.out(&format!("{address}: skipped `{}`: {why}\n", revision.name));
            }
            Verdict::Refuse(why) => {
                return Err(fail(
                    ui,
                    &format!(
                        "`{address}` cannot be rolled back to `{}`: {why}; nothing was \
                         changed\n  help: push the image again (or restore the secret), or \
                         deploy a fix with `infra apply`",
                        revision.name
                    ),
                ));
            }
        }
    }
    Err(fail(
        ui,
        &format!(
            "`{address}` has no revision older than `{}` that served when infra deployed it \
             (tagged `infra:outcome=verified`); nothing was changed\n  help: deploy a fix with \
             `infra apply` (an older image needs --allow-older-image)",
            current.name
        ),
    ))
}

/// What to commit to the stack so that the next apply keeps the rollback.
fn to_commit(changes: &[StackChange], rolled_back: &Revision) -> String {
    if changes.is_empty() {
        return format!(
            "No image differs from `{}`: `infra plan` shows what the stack would change.\n",
            rolled_back.name
        );
    }
    let mut out = format!(
        "Commit this change to the stack, or the next apply deploys what `{}` ran again:\n",
        rolled_back.name
    );
    for c in changes {
        out.push_str(&format!("  {c}\n"));
    }
    out.push_str(
        "then apply it: the plan compares images with the revision the service runs now, so it \
         goes through without --allow-older-image.\n",
    );
    out
}
