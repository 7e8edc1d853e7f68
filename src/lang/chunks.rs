//! Splits a KDL file into its top-level nodes without parsing them.
//!
//! Parsing a whole large stack file at once keeps every node's formatting in memory at the same
//! time (about a hundred times the size of the text). The loader instead parses one top-level
//! node at a time and drops it once decoded. This scanner knows just enough KDL to find node
//! boundaries: strings (plain, raw, multi-line), comments (line, nested block), braces,
//! semicolons and line continuations. When anything looks off it gives up and returns the
//! whole text as one chunk, so that the real parser reports the syntax error.

use std::ops::Range;

/// One top-level node's text and the first word of it (the node name, when plain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub range: Range<usize>,
    pub word: String,
}

pub fn split(text: &str) -> Vec<Chunk> {
    match boundaries(text.as_bytes()) {
        Some(ranges) => ranges
            .into_iter()
            .filter_map(|r| {
                let word = first_word(&text[r.clone()])?;
                Some(Chunk { range: r, word })
            })
            .collect(),
        None => vec![Chunk {
            range: 0..text.len(),
            word: String::new(),
        }],
    }
}

fn boundaries(b: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut out = Vec::new();
    let (mut i, mut start, mut depth, mut continued) = (0usize, 0usize, 0usize, false);
    while i < b.len() {
        match b[i] {
            b'"' => i = skip_string(b, i, 0)?,
            b'#' => {
                let hashes = b[i..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + hashes) == Some(&b'"') {
                    i = skip_string(b, i + hashes, hashes)?;
                } else {
                    i += hashes;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i)?,
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            b'\\' => {
                continued = true;
                i += 1;
            }
            b'\n' | b';' if depth == 0 => {
                if continued && b[i] == b'\n' {
                    continued = false;
                } else {
                    out.push(start..i + 1);
                    start = i + 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if depth != 0 {
        return None;
    }
    out.push(start..b.len());
    Some(out)
}

/// Skips a string starting at the quote `b[at]`; `hashes` > 0 for raw strings.
fn skip_string(b: &[u8], at: usize, hashes: usize) -> Option<usize> {
    let triple = b[at..].starts_with(b"\"\"\"");
    let (mut i, close): (usize, &[u8]) = if triple {
        (at + 3, b"\"\"\"")
    } else {
        (at + 1, b"\"")
    };
    while i < b.len() {
        if hashes == 0 && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i..].starts_with(close) {
            let end = i + close.len();
            if b[end..].iter().take(hashes).filter(|c| **c == b'#').count() == hashes {
                return Some(end + hashes);
            }
        }
        i += 1;
    }
    None
}

fn skip_block_comment(b: &[u8], at: usize) -> Option<usize> {
    let (mut i, mut depth) = (at + 2, 1usize);
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The node name at the start of a chunk, skipping blanks and comments; `None` for a chunk
/// with nothing in it.
fn first_word(chunk: &str) -> Option<String> {
    let mut rest = chunk;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |n| &r[n..]);
        } else if rest.starts_with("/*") {
            let end = skip_block_comment(rest.as_bytes(), 0)?;
            rest = &rest[end..];
        } else {
            break;
        }
    }
    if rest.is_empty() {
        return None;
    }
    Some(
        rest.chars()
            .take_while(|c| !c.is_whitespace() && *c != '{' && *c != ';')
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        split(text).into_iter().map(|c| c.word).collect()
    }

    #[test]
    fn splits_top_level_nodes_only() {
        let text = "stack \"a\" region=\"x\" {\n  tags {\n    k \"v\"\n  }\n}\n\ncluster \"c\" { name \"n\"; }\nlog-group \"l\" name=\"x\"; alarm \"y\"\n";
        assert_eq!(words(text), ["stack", "cluster", "log-group", "alarm"]);
    }

    #[test]
    fn ignores_braces_in_strings_and_comments() {
        let text =
            "a \"{\" // }\nb #\"}\"\"# /* { /* } */ */\nc \"\"\"\n{\n\"\"\"\n/- d { }\ne \\\n  1\n";
        assert_eq!(words(text), ["a", "b", "c", "/-", "e"]);
    }

    #[test]
    fn chunks_parse_to_the_same_nodes_as_the_whole_text() {
        let text = "a 1\nb {\n  c 2\n}\n// comment only\nd \"x\\\"y\"\n";
        let whole = kdl::KdlDocument::parse_v2(text).unwrap();
        let mut names = Vec::new();
        for c in split(text) {
            let doc = kdl::KdlDocument::parse_v2(&text[c.range]).unwrap();
            names.extend(doc.nodes().iter().map(|n| n.name().value().to_string()));
        }
        let expected: Vec<String> = whole
            .nodes()
            .iter()
            .map(|n| n.name().value().to_string())
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn unbalanced_text_falls_back_to_one_chunk() {
        assert_eq!(split("a {\n b 1\n").len(), 1);
        assert_eq!(split("a \"unterminated\n").len(), 1);
    }
}
