//! The most the front end accepts from any input, whoever wrote it: how large a file may be,
//! how deep blocks may nest, how many entries one top-level node may hold, how many module
//! instances a stack may expand to and how many diagnostics are kept. Each bound is far above
//! what a real stack needs and low enough that a hostile file is refused quickly, in bounded
//! memory, with a diagnostic (`docs/reliability.md`, "Hostile input").

/// Largest stack, module or variable file read, in bytes (10 MiB).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Deepest nesting of `{ }` blocks in a file. The deepest block of any schema is a handful of
/// levels; the parser and the decoder recurse once per level.
pub const MAX_NESTING: usize = 64;

/// Most entries and child nodes (counted as words, strings and blocks) in one top-level node.
/// The parser keeps a few hundred bytes per entry, so this bounds the memory of one node.
pub const MAX_NODE_TOKENS: usize = 100_000;

/// Most module instances a stack may expand to, all levels together.
pub const MAX_MODULE_INSTANCES: usize = 256;

/// Deepest chain of modules instantiating modules.
pub const MAX_MODULE_DEPTH: usize = 16;

/// Most text decoded while expanding a stack: each module instance counts its file's size
/// again (32 MiB).
pub const MAX_EXPANDED_BYTES: u64 = 32 * 1024 * 1024;

/// Most diagnostics kept; the count of the rest is still reported.
pub const MAX_DIAGNOSTICS: usize = 100;

/// Largest top-level node, in bytes (1 MiB): the largest value AWS takes is a 64 KiB secret,
/// and parsing costs time in proportion to a node's size.
pub const MAX_NODE_BYTES: usize = 1024 * 1024;

/// Widest part of a source line a diagnostic shows, in bytes.
pub const MAX_SHOWN_LINE: usize = 160;

/// Human form of a byte count: `10 MiB`.
pub fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// Most items one `for-each` ranges over: each is a resource or module instance decoded anew.
pub const MAX_FOR_EACH_ITEMS: usize = 1024;
