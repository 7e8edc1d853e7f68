//! Saved plans: `plan --out FILE` and `apply FILE`.
//!
//! A saved plan holds the plan (as the JSON of `docs/plan-json.md`), where it was made (stack,
//! region, account, infra version), a fingerprint of the resolved stack (files and variables),
//! and a snapshot of every live resource the plan read, sensitive attributes reduced to a
//! digest. Applying it re-reads AWS and re-plans; it goes ahead only when the stack, every
//! live resource and the resulting plan are what was saved, so what is applied is what was
//! reviewed. Nothing in it is secret: secret material never becomes a value, and sensitive
//! attributes are digests of what the plan compared, not of any secret.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::Plan;
use super::json::{document, value};
use crate::model::{Kind, Stack, Value};
use crate::providers::{CURRENT_VERSION, Live, Owner};
use crate::refresh::Refreshed;

/// Bumped when the file's meaning changes; another version is refused.
pub const FORMAT: u64 = 1;
const MARKER: &str = "infra saved plan";

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    #[error("cannot read the saved plan `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("`{0}` is not a saved infra plan")]
    NotAPlan(String),
    #[error("cannot write the saved plan `{path}`: {message}")]
    Write { path: String, message: String },
}

/// Where a plan was made and how, as stored.
#[derive(Debug, Clone)]
pub struct Saved {
    pub doc: Json,
}

impl Saved {
    pub fn stack_file(&self) -> Option<&str> {
        self.doc["stack_file"].as_str()
    }

    pub fn flag(&self, key: &str) -> bool {
        self.doc["options"][key].as_bool().unwrap_or(false)
    }

    pub fn strings(&self, key: &str) -> Vec<String> {
        self.doc["options"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Whether `path` looks like a saved plan rather than a stack file.
pub fn is_saved(path: &Path) -> bool {
    if path.extension().is_some_and(|e| e == "kdl") {
        return false;
    }
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(MARKER))
}

pub fn read(path: &Path) -> Result<Saved, SavedError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SavedError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let doc: Json = serde_json::from_str(&text).map_err(|_| SavedError::NotAPlan(shown.clone()))?;
    if doc["kind"] != MARKER {
        return Err(SavedError::NotAPlan(shown));
    }
    Ok(Saved { doc })
}

/// What `plan --out` was asked, stored so that apply asks the same.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub adopt: Vec<String>,
    pub targets: Vec<String>,
    pub excludes: Vec<String>,
    pub allow_older_image: bool,
}

/// Writes the saved plan.
pub fn write(
    path: &Path,
    stack_file: &str,
    stack: &Stack,
    refreshed: &Refreshed,
    plan: &Plan,
    account: &str,
    options: &Options,
) -> Result<(), SavedError> {
    let doc = json!({
        "kind": MARKER,
        "format": FORMAT,
        "infra_version": env!("CARGO_PKG_VERSION"),
        "stack": stack.name,
        "region": stack.region,
        "account": account,
        "stack_file": stack_file,
        "stack_fingerprint": stack_fingerprint(stack),
        "options": {
            "adopt": options.adopt,
            "target": options.targets,
            "exclude": options.excludes,
            "allow-older-image": options.allow_older_image,
        },
        "live": live_snapshot(stack, refreshed),
        "plan": document(plan),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text).map_err(|e| SavedError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Whether the saved plan was made for this infra, stack, region and account; empty when so.
pub fn identity(saved: &Saved, stack: &Stack, account: &str) -> Vec<String> {
    let d = &saved.doc;
    let mut out = Vec::new();
    let mut same = |what: &str, then: &Json, now: &str| {
        if then.as_str() != Some(now) {
            out.push(format!(
                "it was made for {what} `{}`, not `{now}`",
                then.as_str().unwrap_or("?")
            ));
        }
    };
    same(
        "infra version",
        &d["infra_version"],
        env!("CARGO_PKG_VERSION"),
    );
    same("stack", &d["stack"], &stack.name);
    same("region", &d["region"], &stack.region);
    same("AWS account", &d["account"], account);
    if d["format"] != json!(FORMAT) {
        out.push(format!("its format {} is not {FORMAT}", d["format"]));
    }
    out
}

/// Whether the saved plan had changes that are all done now: AWS matches the stack.
pub fn already_applied(saved: &Saved, plan: &Plan) -> bool {
    let had_changes = saved.doc["plan"]["changes"]
        .as_array()
        .is_some_and(|c| !c.is_empty());
    had_changes && !plan.has_changes()
}

/// Everything that moved between the saved plan and now; empty when it may be applied.
pub fn staleness(
    saved: &Saved,
    stack: &Stack,
    refreshed: &Refreshed,
    plan: &Plan,
    account: &str,
) -> Vec<String> {
    let d = &saved.doc;
    let mut out = identity(saved, stack, account);
    if !out.is_empty() {
        return out;
    }
    if d["stack_fingerprint"].as_str() != Some(stack_fingerprint(stack).as_str()) {
        out.push(
            "the stack changed since the plan was made (its files or variables): plan again".into(),
        );
    }
    let then = d["live"].as_object().cloned().unwrap_or_default();
    let now_map = live_snapshot(stack, refreshed);
    let now = now_map.as_object().cloned().unwrap_or_default();
    for (address, before) in &then {
        match now.get(address) {
            None => out.push(format!("`{address}` no longer exists in AWS")),
            Some(after) if after != before => {
                let (b, a) = (attrs_of(before), attrs_of(after));
                let mut names: Vec<&String> = b.keys().chain(a.keys()).collect();
                names.sort();
                names.dedup();
                // A sensitive value whose AWS version stayed the same changed on this side.
                let same_version = before["current_version"] == after["current_version"]
                    && !before["current_version"].is_null();
                for name in names {
                    let (x, y) = (b.get(name), a.get(name));
                    if x == y {
                        continue;
                    }
                    let sensitive = [x, y]
                        .iter()
                        .flatten()
                        .any(|v| v.get("sensitive").is_some());
                    if sensitive && same_version {
                        out.push(format!(
                            "`{address}`: the local value of `{name}` (the environment variable \
                             or file it comes from) changed since the plan was made; AWS's copy \
                             did not"
                        ));
                    } else {
                        out.push(format!(
                            "`{address}`: `{name}` changed in AWS ({} → {})",
                            shown(x),
                            shown(y)
                        ));
                    }
                }
                if before["owner"] != after["owner"] {
                    out.push(format!("`{address}`: its owner changed in AWS"));
                }
            }
            Some(_) => {}
        }
    }
    for address in now.keys().filter(|a| !then.contains_key(*a)) {
        out.push(format!(
            "`{address}` appeared in AWS since the plan was made"
        ));
    }
    if out.is_empty() && d["plan"]["changes"] != document(plan)["changes"] {
        out.push("planning again gives different changes than were saved".into());
    }
    out
}

fn attrs_of(snapshot: &Json) -> serde_json::Map<String, Json> {
    snapshot["attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

fn shown(v: Option<&Json>) -> String {
    match v {
        None => "(none)".into(),
        Some(v) if v.get("sensitive").is_some() => "(sensitive value)".into(),
        Some(v) => v.to_string(),
    }
}

/// Every live resource refresh read, by address: attributes (sensitive ones as digests),
/// computed attributes and owner.
fn live_snapshot(stack: &Stack, refreshed: &Refreshed) -> Json {
    let mut out = BTreeMap::new();
    for (i, live) in refreshed.live.iter().enumerate() {
        if let Some(live) = live {
            let r = &stack.resources[i];
            out.insert(r.address.to_string(), snapshot(r.kind(), live));
        }
    }
    for (kind, live) in &refreshed.orphans {
        let address = match &live.owner {
            Owner::Stack { address, .. } if !address.is_empty() => address.clone(),
            _ => format!("{}.?", kind.keyword()),
        };
        out.insert(address, snapshot(*kind, live));
    }
    json!(out)
}

fn snapshot(kind: Kind, live: &Live) -> Json {
    let body = kind.schema().body;
    let attributes: BTreeMap<&String, Json> = live
        .attrs
        .iter()
        .map(|(k, v)| {
            let sensitive = body.attr(k).is_some_and(|a| a.sensitive);
            let shown = if sensitive {
                json!({ "sensitive": true, "digest": digest(&v.to_string()) })
            } else {
                value(v)
            };
            (k, shown)
        })
        .collect();
    let owner = match &live.owner {
        Owner::Stack { stack, address } => json!({ "stack": stack, "address": address }),
        Owner::Nobody => Json::Null,
    };
    json!({
        "attributes": attributes,
        "computed": live.computed.iter().map(|(k, v)| (k, value(v))).collect::<BTreeMap<_, _>>(),
        "owner": owner,
        "pending_deletion": live.pending_deletion,
        "current_version": live.private.get(CURRENT_VERSION).map(value),
    })
}

/// The resolved stack: every resource's address, attributes, dependencies and lifecycle.
fn stack_fingerprint(stack: &Stack) -> String {
    let mut text = format!("{}\n{}\n", stack.name, stack.region);
    for (k, v) in &stack.tags {
        let _ = writeln!(text, "tag {k}={v}");
    }
    for r in &stack.resources {
        let _ = writeln!(text, "{}", r.address);
        for (k, v) in &r.attrs {
            let _ = writeln!(text, "  {k} = {}", canonical(v));
        }
        for d in &r.depends_on {
            let _ = writeln!(text, "  depends-on {}", d.address);
        }
        let _ = writeln!(
            text,
            "  lifecycle {} {:?}",
            r.lifecycle.prevent_destroy.is_some(),
            r.lifecycle.ignore_changes
        );
    }
    digest(&text)
}

fn canonical(v: &Value) -> String {
    v.to_string()
}

fn digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
