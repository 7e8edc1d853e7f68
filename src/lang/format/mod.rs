//! `infra fmt`'s formatter: the one canonical layout of stack, module and variable files.
//!
//! Four spaces per level, one node per line, children in braces, one space between entries,
//! `key=value` and `(type)value` without spaces, `/- ` before a commented-out item, at most
//! one blank line between items (none at the start or end of a block), no trailing whitespace,
//! a newline at the end. Every word (string, number, keyword) is kept exactly as written, and
//! so is every comment — line, block and slashdash — in its place.
//!
//! The text is parsed by `kdl` first, so a file with a syntax error gets the parser's
//! diagnostic; the formatted text is parsed again and compared with the original, node by
//! node and value by value, so formatting can never change what a file means. Pure: no files,
//! no output.

mod lex;
mod print;
mod tree;

use kdl::{KdlDocument, KdlError};

/// Why a text was not formatted.
#[derive(Debug)]
pub enum FormatError {
    /// The text is not KDL v2.
    Syntax(KdlError),
    /// The formatter could not lay the text out without changing its meaning; the text is
    /// left as it is.
    Unsupported,
}

/// The canonical layout of a KDL v2 text.
pub fn format(text: &str) -> Result<String, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let before = KdlDocument::parse_v2(text).map_err(FormatError::Syntax)?;
    let tokens = lex::tokens(text).map_err(|_| FormatError::Unsupported)?;
    let doc = tree::document(&tokens).map_err(|_| FormatError::Unsupported)?;
    let formatted = print::print(&doc);
    match KdlDocument::parse_v2(&formatted) {
        Ok(after) if meaning(&before) == meaning(&after) => Ok(formatted),
        _ => Err(FormatError::Unsupported),
    }
}

/// What a document means: its nodes, names, types and values, without layout or comments.
fn meaning(doc: &KdlDocument) -> String {
    let mut doc = doc.clone();
    doc.clear_format_recursive();
    doc.to_string()
}

#[cfg(test)]
mod tests;
