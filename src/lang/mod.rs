//! The language front end: KDL files → the resolved [`Stack`].
//!
//! `load` reads the stack file and its modules, decodes every node against its kind's schema,
//! binds variables and module inputs, resolves references, and collects every diagnostic
//! before giving up. It never calls AWS and never prints.

pub mod bounds;
mod chunks;
mod decode;
pub mod diagnostic;
mod excerpt;
mod for_each;
pub mod format;
mod interpolate;
mod loader;
mod probe;
pub mod read;
mod reference;
mod resolve;
mod rules;
mod scaled;
mod scope;
mod stack_header;
mod suggest;
mod variables;
pub mod warnings;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use decode::run_check;
pub use diagnostic::{Diagnostic, Diagnostics, LineIndexes, Rendered};
pub use suggest::{closest, did_you_mean};

use crate::model::{Sources, Stack};

/// Where variable values come from, besides declared defaults.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var name=value`, in order; later wins.
    pub vars: Vec<(String, String)>,
    /// `--var-file path`, in order; later wins.
    pub var_files: Vec<PathBuf>,
    /// `INFRA_VAR_<name>` environment variables, keyed by `<name>`.
    pub env: BTreeMap<String, String>,
    /// `<name>` of each `INFRA_VAR_<name>` whose value is not UTF-8 (the value is dropped
    /// unread: it may be a secret).
    pub env_not_text: Vec<String>,
}

impl LoadOptions {
    /// Picks the `INFRA_VAR_*` variables out of an environment, which may hold anything: a
    /// name or value that is not UTF-8 never panics and is never kept.
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        for (key, value) in vars {
            let Some(name) = key.to_str().and_then(|k| k.strip_prefix("INFRA_VAR_")) else {
                continue;
            };
            match value.into_string() {
                Ok(value) => {
                    self.env.insert(name.to_string(), value);
                }
                Err(_) => self.env_not_text.push(name.to_string()),
            }
        }
        self
    }
}

/// Loading failed: every diagnostic found, with the files they point into.
#[derive(Debug)]
pub struct LoadFailure {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    /// Problems found beyond the diagnostics kept.
    pub omitted: usize,
    /// Loading stopped early, once no more diagnostics could be kept.
    pub stopped: bool,
}

/// Loads and resolves a stack file.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Stack, LoadFailure> {
    let mut loader = loader::Loader::new(options);
    loader.load_root(path);
    let mut loaded = loader.out;
    resolve::resolve(&mut loaded);
    // Rules across resources over a stack that did not decode would only repeat its problems.
    if loaded.diags.is_empty() {
        let region = loaded.info.region.clone().unwrap_or_default();
        rules::check(&loaded.resources, &loaded.spans, &region, &mut loaded.diags);
        scaled::hand_counts_to_autoscaling(&mut loaded.resources);
    }
    if !loaded.diags.is_empty() {
        // One written reference can be copied into several attributes (an alias shorthand);
        // its problem is reported once.
        let mut seen = std::collections::HashSet::new();
        let omitted = loaded.diags.omitted();
        let stopped = loaded.diags.stopped();
        let diagnostics = loaded
            .diags
            .into_vec()
            .into_iter()
            .filter(|d| seen.insert((d.code, d.message.clone(), d.span())))
            .collect();
        return Err(LoadFailure {
            sources: loaded.sources,
            diagnostics,
            omitted,
            stopped,
        });
    }
    let warnings = warnings::check(
        &warnings::Input {
            resources: &loaded.resources,
            spans: &loaded.spans,
            allows: &loaded.allows,
            variables: &loaded.variables,
            used_vars: &loaded.used_vars,
        },
        &loaded.sources,
    );
    let allowed = loaded
        .allows
        .iter()
        .map(|(address, a)| (address.clone(), a.keys().cloned().collect()))
        .collect();
    let outputs = loaded
        .outputs
        .iter()
        .filter(|((module, _), _)| module.is_empty())
        .map(|((_, name), (value, _))| (name.clone(), value.clone()))
        .collect();
    let spans = loaded
        .spans
        .into_iter()
        .map(|(address, spans)| (address, spans.into_iter().collect()))
        .collect();
    Ok(Stack {
        allowed,
        outputs,
        probes: loaded.probes,
        spans,
        production: loaded.info.production,
        name: loaded.info.name.unwrap_or_default(),
        region: loaded.info.region.unwrap_or_default(),
        tags: loaded.tags,
        resources: loaded.resources,
        sources: loaded.sources,
        warnings,
    })
}
