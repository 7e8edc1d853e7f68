//! Feeds arbitrary text to `infra fmt`'s formatter. Nothing may panic; text the KDL parser
//! accepts is always formatted (never refused as a change of meaning), and formatting the
//! result again changes nothing.
#![no_main]
#![allow(dead_code, unused_imports)]

#[path = "../../src/lang/mod.rs"]
mod lang;
#[path = "../../src/model/mod.rs"]
mod model;
#[path = "../../src/ui.rs"]
mod ui;

use lang::format::{FormatError, format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match format(text) {
        Ok(once) => match format(&once) {
            Ok(twice) => assert_eq!(twice, once, "not idempotent: {text:?}"),
            Err(e) => panic!("formatted text does not format: {e:?}\n{once:?}"),
        },
        Err(FormatError::Syntax(_)) => {}
        Err(FormatError::Unsupported) => panic!("valid KDL refused: {text:?}"),
    }
});
