//! Feeds arbitrary bytes to the stack loader, then renders every diagnostic. Nothing may panic
//! and nothing may take unbounded memory: bad input is a diagnostic.
//!
//! The input is split at lines `----` into up to four parts, each raw bytes (not necessarily
//! UTF-8): the stack file; a module file the stack may use as `source="module.kdl"` (and which
//! may use itself or `other.kdl`, the same file again); a variable file passed as `--var-file`
//! when the part is present; and environment lines `NAME=VALUE`, each given as
//! `INFRA_VAR_NAME`.
#![no_main]
#![allow(dead_code, unused_imports)]

#[path = "../../src/lang/mod.rs"]
mod lang;
#[path = "../../src/model/mod.rs"]
mod model;
#[path = "../../src/ui.rs"]
mod ui;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("infra-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder for the inputs");
        dir
    })
}

/// The parts of an input, split at `\n----\n`.
fn parts(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < 3 {
        match rest.windows(6).position(|w| w == b"\n----\n") {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + 6..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let parts = parts(data);
    let dir = folder();
    let path = dir.join("stack.kdl");
    let module = parts.get(1).copied().unwrap_or_default();
    if std::fs::write(&path, parts[0]).is_err()
        || std::fs::write(dir.join("module.kdl"), module).is_err()
        || std::fs::write(dir.join("other.kdl"), module).is_err()
    {
        return;
    }
    let mut var_files = Vec::new();
    if let Some(vars) = parts.get(2) {
        let file = dir.join("vars.kdl");
        if std::fs::write(&file, vars).is_err() {
            return;
        }
        var_files.push(file);
    }
    let env: Vec<(OsString, OsString)> = parts
        .get(3)
        .map(|lines| {
            lines
                .split(|b| *b == b'\n')
                .filter_map(|line| {
                    let eq = line.iter().position(|b| *b == b'=')?;
                    let mut key = b"INFRA_VAR_".to_vec();
                    key.extend_from_slice(&line[..eq]);
                    Some((
                        OsString::from_vec(key),
                        OsString::from_vec(line[eq + 1..].to_vec()),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let options = lang::LoadOptions {
        vars: vec![("image-tag".into(), "v1".into())],
        var_files,
        ..lang::LoadOptions::default()
    }
    .with_env(env);
    if let Err(failure) = lang::load(&path, &options) {
        let rendered = ui::render_load_failure(&failure, false);
        assert!(!rendered.is_empty());
    }
});
