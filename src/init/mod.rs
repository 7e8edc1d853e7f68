//! `infra init`'s answers and the files they make: what a new stack needs to be told (name,
//! region, domain, image, port, environments, account), the check of each answer, and the
//! stack, variable and module files written from them (`template`). Pure: no files, no
//! terminal; `cli::init` asks and writes.

mod answer;
mod template;

pub use answer::{
    Image, check_account, check_domain, check_environment, check_name, check_port, check_region,
    parse_image,
};
pub use template::{MODULE, MODULE_PATH, stack_text, vars_text};

/// Everything a new stack is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// The service's name; each environment's stack is `<name>-<environment>`.
    pub name: String,
    pub region: String,
    /// The public hosted zone the service answers in.
    pub domain: String,
    pub image: Image,
    pub port: u16,
    /// The environments, each a stack of its own with a variable file.
    pub environments: Vec<String>,
    /// The AWS account of the roles and the alarm topic.
    pub account: String,
}

/// One file to write, its path relative to the directory init writes into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub text: String,
}

impl Answers {
    /// The stack file's name.
    pub fn stack_file(&self) -> String {
        format!("{}.kdl", self.name)
    }

    /// The variable file of an environment.
    pub fn vars_file(environment: &str) -> String {
        format!("{environment}.vars")
    }

    /// The stack file, then one variable file per environment (not the module, which is
    /// written only where none exists).
    pub fn files(&self) -> Vec<File> {
        let mut files = vec![File {
            path: self.stack_file(),
            text: stack_text(self),
        }];
        for environment in &self.environments {
            files.push(File {
                path: Self::vars_file(environment),
                text: vars_text(self, environment),
            });
        }
        files
    }
}

/// Whether an environment is production: its stack stops plans on a mutable image tag.
pub fn is_production(environment: &str) -> bool {
    matches!(environment, "production" | "prod")
}
