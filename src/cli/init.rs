//! `infra init [DIR]`: writes a new stack built on the shipped web-service module, one variable
//! file per environment and the module itself where none is, after asking only what it cannot
//! look up or default (each question also a flag; `--yes` takes the defaults); then loads
//! every environment as `infra validate` does and prints the commands to run next.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::init::{self, Answers};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to write into (made if missing).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// The service's name; each environment's stack is <name>-<environment>.
    #[arg(long)]
    pub name: Option<String>,
    /// The AWS region (default: AWS_REGION or AWS_DEFAULT_REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// The public hosted zone the service answers in, such as example.com.
    #[arg(long)]
    pub domain: Option<String>,
    /// The container image and the tag to deploy first.
    #[arg(long, value_name = "REPOSITORY:TAG")]
    pub image: Option<String>,
    /// The port the container listens on (default 8080).
    #[arg(long)]
    pub port: Option<String>,
    /// An environment, each a stack with its own variable file (repeatable; default staging
    /// and production).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,
    /// The AWS account of the execution role and alarm topic (default: the account of an ECR
    /// image).
    #[arg(long)]
    pub account: Option<String>,
    /// Take the default of every question not answered by a flag.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
}

const DEFAULT_PORT: &str = "8080";
const DEFAULT_ENVIRONMENTS: &str = "staging, production";

pub fn run(args: &Args, ui: &Ui) -> ExitCode {
    let answers = match answers(args, ui) {
        Ok(a) => a,
        Err(message) => return fail(ui, &message),
    };
    let written = match write(args, &answers) {
        Ok(w) => w,
        Err(message) => return fail(ui, &message),
    };
    let paths: Vec<String> = written.iter().map(|p| shown(&args.dir, p)).collect();
    ui.out(&format!("wrote {}\n\n", paths.join(", ")));

    let stack = args.dir.join(answers.stack_file());
    let mut valid = true;
    for environment in &answers.environments {
        let check = super::StackArgs {
            stack: stack.clone(),
            vars: Vec::new(),
            var_files: vec![args.dir.join(Answers::vars_file(environment))],
        };
        valid &= super::validate::check(&check, ui) == ExitCode::SUCCESS;
    }
    if !valid {
        return fail(
            ui,
            "the files written do not load\n  help: fix what is reported above, then run \
             `infra validate` on them",
        );
    }
    let stack_shown = shown(&args.dir, &stack);
    let mut next = format!(
        "\nbefore the first apply, make what the stack looks up (listed at the top of {stack_shown}); then:\n"
    );
    for environment in &answers.environments {
        let vars = shown(&args.dir, &args.dir.join(Answers::vars_file(environment)));
        next.push_str(&format!(
            "  infra plan {stack_shown} --var-file {vars}\n  infra apply {stack_shown} --var-file {vars}\n"
        ));
    }
    ui.out(&next);
    ExitCode::SUCCESS
}

fn fail(ui: &Ui, message: &str) -> ExitCode {
    ui.err(&format!("error: {message}\n"));
    ExitCode::from(1)
}

/// A path as the user would type it: without a leading `./`.
fn shown(dir: &Path, path: &Path) -> String {
    let path = if dir == Path::new(".") {
        path.strip_prefix(".").unwrap_or(path)
    } else {
        path
    };
    path.display().to_string()
}

/// Every answer, from its flag, its default (`--yes`) or the terminal.
fn answers(args: &Args, ui: &Ui) -> Result<Answers, String> {
    let asker = Asker {
        ui,
        yes: args.yes,
        terminal: ui.can_ask(),
    };
    let name = asker.answer(
        "name",
        "Service name",
        args.name.as_deref(),
        default_name(&args.dir),
        init::check_name,
    )?;
    let region_default = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let region = asker.answer(
        "region",
        "AWS region",
        args.region.as_deref(),
        region_default,
        init::check_region,
    )?;
    let domain = asker.answer(
        "domain",
        "Hosted zone the service answers in (such as example.com)",
        args.domain.as_deref(),
        None,
        init::check_domain,
    )?;
    let image = asker.answer(
        "image",
        "Container image (repository:tag)",
        args.image.as_deref(),
        None,
        init::parse_image,
    )?;
    let port = asker.answer(
        "port",
        "Port the container listens on",
        args.port.as_deref(),
        Some(DEFAULT_PORT.to_string()),
        init::check_port,
    )?;
    let given_envs = (!args.envs.is_empty()).then(|| args.envs.join(","));
    let environments = asker.answer(
        "env",
        "Environments (comma-separated)",
        given_envs.as_deref(),
        Some(DEFAULT_ENVIRONMENTS.to_string()),
        environments,
    )?;
    let account = match (args.account.as_deref(), image.ecr_account()) {
        (None, Some(account)) => account.to_string(),
        (given, _) => asker.answer(
            "account",
            "AWS account id of the execution role and alarm topic",
            given,
            None,
            init::check_account,
        )?,
    };
    Ok(Answers {
        name,
        region,
        domain,
        image,
        port,
        environments,
        account,
    })
}

/// The directory's name, when it is a valid service name.
fn default_name(dir: &Path) -> Option<String> {
    let absolute = std::path::absolute(dir).ok()?;
    let name = absolute.components().rev().find_map(|c| match c {
        std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
        _ => None,
    })?;
    init::check_name(&name).ok()
}

/// A list of environments, by commas or spaces, each once.
fn environments(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split([',', ' ']).filter(|w| !w.is_empty()) {
        let environment = init::check_environment(word)?;
        if out.contains(&environment) {
            return Err(format!("environment `{environment}` is named twice"));
        }
        out.push(environment);
    }
    if out.is_empty() {
        return Err("name at least one environment, such as `staging`".into());
    }
    Ok(out)
}

struct Asker<'a> {
    ui: &'a Ui,
    yes: bool,
    terminal: bool,
}

impl Asker<'_> {
    /// The answer to one question: the flag's value, else (with `--yes`) the default, else
    /// what the terminal says (an empty line takes the default; a wrong answer asks again).
    fn answer<T>(
        &self,
        flag: &str,
        question: &str,
        given: Option<&str>,
        default: Option<String>,
        check: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, String> {
        if let Some(given) = given {
            return check(given).map_err(|e| format!("--{flag}: {e}"));
        }
        if self.yes
            && let Some(default) = &default
        {
            return check(default).map_err(|e| format!("--{flag} (default): {e}"));
        }
        if !self.terminal {
            let take = match &default {
                Some(d) => format!(" (or --yes to take `{d}`)"),
                None => String::new(),
            };
            return Err(format!(
                "no answer to `{question}` and no terminal to ask on\n  help: pass --{flag} \
                 <value>{take}"
            ));
        }
        let prompt = match &default {
            Some(d) => format!("{question} [{d}]: "),
            None => format!("{question}: "),
        };
        loop {
            let Some(line) = self.ui.ask(&prompt) else {
                return Err(format!(
                    "no answer to `{question}`\n  help: pass --{flag} <value>"
                ));
            };
            let line = line.trim();
            let text = match (line.is_empty(), &default) {
                (false, _) => line,
                (true, Some(d)) => d.as_str(),
                (true, None) => continue,
            };
            match check(text) {
                Ok(value) => return Ok(value),
                Err(e) => self.ui.err(&format!("{e}\n")),
            }
        }
    }
}

/// Writes the files; refuses (writing nothing) when one exists, unless `--force`. The module is
/// written only where none exists. Returns the paths written.
fn write(args: &Args, answers: &Answers) -> Result<Vec<PathBuf>, String> {
    let files = answers.files();
    let taken: Vec<String> = files
        .iter()
        .map(|f| args.dir.join(&f.path))
        .filter(|p| p.exists())
        .map(|p| format!("`{}`", shown(&args.dir, &p)))
        .collect();
    if !taken.is_empty() && !args.force {
        let (what, verb) = if taken.len() == 1 {
            ("file", "exists")
        } else {
            ("files", "exist")
        };
        return Err(format!(
            "{} {verb}; nothing was written\n  help: choose another directory, or pass --force \
             to overwrite the {what}",
            taken.join(", ")
        ));
    }
    let mut writes: Vec<(PathBuf, &str)> = files
        .iter()
        .map(|f| (args.dir.join(&f.path), f.text.as_str()))
        .collect();
    let module = args.dir.join(init::MODULE_PATH);
    if !module.exists() {
        writes.push((module, init::MODULE));
    }
    let mut written = Vec::new();
    for (path, text) in writes {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot make `{}`: {e}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_are_split_by_commas_or_spaces_and_named_once() {
        assert_eq!(
            environments("staging, production").unwrap(),
            ["staging", "production"]
        );
        assert_eq!(environments("dev qa").unwrap(), ["dev", "qa"]);
        assert!(environments("dev,dev").is_err());
        assert!(environments(" , ").is_err());
        assert!(environments("Dev").is_err());
    }

    #[test]
    fn without_a_terminal_a_missing_answer_names_its_flag() {
        let ui = Ui::plain();
        let asker = Asker {
            ui: &ui,
            yes: false,
            terminal: false,
        };
        let err = asker
            .answer("domain", "Hosted zone", None, None, init::check_domain)
            .unwrap_err();
        assert!(err.contains("help: pass --domain <value>"), "{err}");
        let err = asker
            .answer("port", "Port", None, Some("8080".into()), init::check_port)
            .unwrap_err();
        assert!(err.contains("or --yes to take `8080`"), "{err}");
        let yes = Asker { yes: true, ..asker };
        assert_eq!(
            yes.answer("port", "Port", None, Some("8080".into()), init::check_port),
            Ok(8080)
        );
        assert_eq!(
            yes.answer(
                "port",
                "Port",
                Some("3000"),
                Some("8080".into()),
                init::check_port
            ),
            Ok(3000)
        );
    }
}
