//! Feeds arbitrary bytes to the stack loader as a stack file (and, after a line `----`, as a
//! module the stack may use as `source="module.kdl"`), then renders every diagnostic. Nothing
//! may panic: bad input is a diagnostic.
#![no_main]
#![allow(dead_code, unused_imports)]

#[path = "../../src/lang/mod.rs"]
mod lang;
#[path = "../../src/model/mod.rs"]
mod model;
#[path = "../../src/ui.rs"]
mod ui;

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

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (stack, module) = match text.split_once("\n----\n") {
        Some((stack, module)) => (stack.to_string(), module.to_string()),
        None => (text.into_owned(), String::new()),
    };
    let dir = folder();
    let path = dir.join("stack.kdl");
    if std::fs::write(&path, stack).is_err()
        || std::fs::write(dir.join("module.kdl"), module).is_err()
    {
        return;
    }
    let options = lang::LoadOptions {
        vars: vec![("image-tag".into(), "v1".into())],
        ..lang::LoadOptions::default()
    };
    if let Err(failure) = lang::load(&path, &options) {
        let rendered = ui::render_diagnostics(&failure.diagnostics, &failure.sources, false);
        assert!(!rendered.is_empty());
    }
});
