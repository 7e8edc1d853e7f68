//! What names mean where a value is written: the module path, the variables in scope, the file.

use std::collections::BTreeMap;

use crate::model::{SourceId, Value};

/// The stack's own name and region, available to every module as `${stack.name}` and
/// `${stack.region}`.
#[derive(Debug, Clone, Default)]
pub struct StackInfo {
    pub name: Option<String>,
    pub region: Option<String>,
    /// `production=#true` on the `stack` node.
    pub production: bool,
}

/// The context in which one file's values are decoded.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub source: SourceId,
    /// Offset of the parsed chunk within the file: spans from the parser are relative to it.
    pub base: usize,
    /// Module path of the file being decoded (empty for the root stack file).
    pub module: &'a [String],
    /// Variables (root) or inputs (module) by name.
    pub vars: &'a BTreeMap<String, Value>,
    pub stack: &'a StackInfo,
    /// The instance being decoded, inside a resource or module with `for-each`.
    pub each: Option<&'a Each>,
}

/// One item of a `for-each`: `${each.key}` and `${each.value}` (the item itself for a list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Each {
    pub key: String,
    pub value: String,
}
