//! Splits a KDL file into its top-level nodes without parsing them.
//!
//! Parsing a whole large stack file at once keeps every node's formatting in memory at the same
//! time (about a hundred times the size of the text). The loader instead parses one top-level
//! node at a time and drops it once decoded. This scanner knows just enough KDL to find node
//! boundaries: strings (plain, raw, multi-line), comments (line, nested block), braces,
//! semicolons and line continuations. When anything looks off it gives up and returns the
//! whole text as one chunk, so that the real parser reports the syntax error.

use std::ops::Range;

use super::bounds::{MAX_NESTING, MAX_NODE_BYTES, MAX_NODE_TOKENS};

/// What a chunk starts with, as far as the passes over a file care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    Stack,
    Variable,
    Input,
    Other,
    /// The rest of the file from where the scanner gave up: every pass visits it.
    Rest,
}

/// One top-level node's place in the file (12 bytes, so that a file of millions of tiny nodes
/// costs little before it is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    start: u32,
    end: u32,
    pub word: Word,
}

impl Chunk {
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Why a file is refused before the parser sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Blocks nest deeper than [`MAX_NESTING`]; `at` is the brace that goes one too deep.
    TooDeep { at: usize },
    /// One top-level node holds more than [`MAX_NODE_TOKENS`] entries; `at` is its start.
    TooLarge { at: usize },
    /// One top-level node is longer than [`MAX_NODE_BYTES`]; `at` is its start.
    TooLong { at: usize },
    /// The scanner found `what` at `at` and the rest of the file holds too many braces to
    /// hand to the parser (which recurses once per brace) safely.
    Unbalanced { at: usize, what: &'static str },
}

/// The top-level nodes of a file, or why it is refused.
pub fn split(text: &str) -> Result<Vec<Chunk>, Refusal> {
    let b = text.as_bytes();
    let mut scan = Scan::default();
    let mut out = Vec::new();
    let mut push = |range: Range<usize>, word: Option<Word>| {
        let word = match word {
            Some(w) => w,
            None => match first_word(&text[range.clone()]) {
                Some(w) => w,
                None => return,
            },
        };
        out.push(Chunk {
            start: range.start as u32,
            end: range.end as u32,
            word,
        });
    };
    loop {
        match scan.step(b) {
            Step::Node(range) => push(range, None),
            Step::End => {
                push(scan.start..b.len(), None);
                break;
            }
            Step::GiveUp { at, what } => {
                let rest = &b[scan.start..];
                if rest.iter().filter(|c| **c == b'{').count() > MAX_NESTING {
                    return Err(Refusal::Unbalanced { at, what });
                }
                if rest.len() > MAX_NODE_BYTES {
                    return Err(Refusal::TooLong { at: scan.start });
                }
                if words(rest) > MAX_NODE_TOKENS {
                    return Err(Refusal::TooLarge { at: scan.start });
                }
                push(scan.start..b.len(), Some(Word::Rest));
                break;
            }
            Step::Refuse(refusal) => return Err(refusal),
        }
    }
    Ok(out)
}

enum Step {
    Node(Range<usize>),
    End,
    GiveUp { at: usize, what: &'static str },
    Refuse(Refusal),
}

#[derive(Default)]
struct Scan {
    i: usize,
    start: usize,
    depth: usize,
    /// Where the current node's outermost block opened.
    opened: usize,
    tokens: usize,
    in_token: bool,
    continued: bool,
}

impl Scan {
    /// Scans up to the end of the next top-level node.
    fn step(&mut self, b: &[u8]) -> Step {
        while self.i < b.len() {
            let i = self.i;
            match b[i] {
                b'"' => {
                    self.token();
                    match skip_string(b, i, 0) {
                        Some(end) => self.i = end,
                        None => return self.give_up(i, "a string that is never closed"),
                    }
                }
                b'#' => {
                    self.token();
                    let hashes = b[i..].iter().take_while(|c| **c == b'#').count();
                    if b.get(i + hashes) == Some(&b'"') {
                        match skip_string(b, i + hashes, hashes) {
                            Some(end) => self.i = end,
                            None => return self.give_up(i, "a string that is never closed"),
                        }
                    } else {
                        self.i += hashes;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    while self.i < b.len() && b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'*') => match skip_block_comment(b, i) {
                    Some(end) => {
                        self.in_token = false;
                        self.i = end;
                    }
                    None => return self.give_up(i, "a comment that is never closed"),
                },
                b'{' => {
                    if self.depth == 0 {
                        self.opened = i;
                    }
                    self.depth += 1;
                    if self.depth > MAX_NESTING {
                        return Step::Refuse(Refusal::TooDeep { at: i });
                    }
                    self.in_token = false;
                    self.tokens += 1;
                    self.i += 1;
                }
                b'}' => {
                    if self.depth == 0 {
                        return self.give_up(i, "a `}` that closes nothing");
                    }
                    self.depth -= 1;
                    self.in_token = false;
                    self.i += 1;
                }
                b'\\' => {
                    self.continued = true;
                    self.token();
                    self.i += 1;
                }
                b'\n' | b';' if self.depth == 0 => {
                    self.i += 1;
                    self.in_token = false;
                    if self.continued && b[i] == b'\n' {
                        self.continued = false;
                    } else {
                        let node = self.start..self.i;
                        self.start = self.i;
                        self.tokens = 0;
                        return Step::Node(node);
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' | b';' => {
                    self.in_token = false;
                    self.i += 1;
                }
                _ => {
                    self.token();
                    self.i += 1;
                }
            }
            if self.tokens > MAX_NODE_TOKENS {
                return Step::Refuse(Refusal::TooLarge { at: self.start });
            }
            if self.i - self.start > MAX_NODE_BYTES {
                return Step::Refuse(Refusal::TooLong { at: self.start });
            }
        }
        if self.depth != 0 {
            return self.give_up(self.opened, "a `{` that is never closed");
        }
        Step::End
    }

    fn token(&mut self) {
        if !self.in_token {
            self.tokens += 1;
            self.in_token = true;
        }
    }

    fn give_up(&mut self, at: usize, what: &'static str) -> Step {
        Step::GiveUp { at, what }
    }
}

/// Whitespace-separated words in `b`, for the part of a file the scanner gave up on.
fn words(b: &[u8]) -> usize {
    let mut n = 0;
    let mut inside = false;
    for c in b {
        let blank = c.is_ascii_whitespace() || *c == b';';
        if !blank && !inside {
            n += 1;
        }
        inside = !blank;
    }
    n
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

/// What the node at the start of a chunk is, skipping blanks and comments; `None` for a
/// chunk with nothing in it.
fn first_word(chunk: &str) -> Option<Word> {
    Some(match first_name(chunk)? {
        "stack" => Word::Stack,
        "variable" => Word::Variable,
        "input" => Word::Input,
        _ => Word::Other,
    })
}

/// The first word of a text (a node name when plain), skipping blanks and comments.
pub fn first_name(text: &str) -> Option<&str> {
    // Byte by byte while the text is ASCII: called once per node, and a file may hold
    // millions of one-word nodes.
    let b = text.as_bytes();
    let mut i = 0;
    loop {
        match b.get(i) {
            None => return None,
            Some(b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b';') => i += 1,
            Some(b'/') if matches!(b.get(i + 1), Some(b'/' | b'*')) => {
                return first_name_chars(&text[i..]);
            }
            Some(c) if c.is_ascii() => break,
            Some(_) => return first_name_chars(&text[i..]),
        }
    }
    let mut end = i;
    while let Some(&c) = b.get(end) {
        match c {
            b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b'{' | b';' => break,
            c if c.is_ascii() => end += 1,
            _ => return first_name_chars(&text[i..]),
        }
    }
    Some(&text[i..end])
}

/// [`first_name`] for any text.
fn first_name_chars(text: &str) -> Option<&str> {
    let mut rest = text;
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
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '{' || c == ';')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The name a node that failed to parse would have declared: its first quoted argument (its
/// second for a `lookup`), so that references to it are not reported as well.
pub fn declared_name(chunk: &str) -> Option<&str> {
    let word = first_name(chunk)?;
    let at = chunk.find(word)? + word.len();
    let mut strings = chunk[at..].split('"').skip(1).step_by(2);
    if word == "lookup" {
        strings.next();
    }
    strings
        .next()
        .filter(|s| !s.is_empty() && !s.contains('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_name_reads_ascii_and_unicode_alike() {
        let texts = [
            "",
            " ",
            ";;\n",
            "x\n",
            "  stack \"a\"",
            "\u{b}\u{c}variable{",
            "a;b",
            "// c\nx",
            "/* c */ input",
            "\u{a0}secret",
            "se\u{e9}cret x",
            "\u{2003}x",
            "x\u{2003}y",
            "caf\u{e9}{",
            "/* unclosed",
        ];
        for text in texts {
            assert_eq!(first_name(text), first_name_chars(text), "{text:?}");
        }
    }

    /// Each chunk's text, trimmed.
    fn texts(text: &str) -> Vec<&str> {
        split(text)
            .expect("accepted")
            .into_iter()
            .map(|c| text[c.range()].trim())
            .collect()
    }

    #[test]
    fn splits_top_level_nodes_only() {
        let text = "stack \"a\" region=\"x\" {\n  tags {\n    k \"v\"\n  }\n}\n\ncluster \"c\" { name \"n\"; }\nlog-group \"l\" name=\"x\"; alarm \"y\"\n";
        let words: Vec<Word> = split(text)
            .expect("accepted")
            .iter()
            .map(|c| c.word)
            .collect();
        assert_eq!(words, [Word::Stack, Word::Other, Word::Other, Word::Other]);
        assert_eq!(texts(text)[2], "log-group \"l\" name=\"x\";");
    }

    #[test]
    fn ignores_braces_in_strings_and_comments() {
        let text =
            "a \"{\" // }\nb #\"}\"\"# /* { /* } */ */\nc \"\"\"\n{\n\"\"\"\n/- d { }\ne \\\n  1\n";
        let starts: Vec<&str> = texts(text).iter().map(|t| &t[..1]).collect();
        assert_eq!(starts, ["a", "b", "c", "/", "e"]);
    }

    #[test]
    fn chunks_parse_to_the_same_nodes_as_the_whole_text() {
        let text = "a 1\nb {\n  c 2\n}\n// comment only\nd \"x\\\"y\"\n";
        let whole = kdl::KdlDocument::parse_v2(text).expect("valid");
        let mut names = Vec::new();
        for c in split(text).expect("accepted") {
            let doc = kdl::KdlDocument::parse_v2(&text[c.range()]).expect("valid");
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
    fn the_rest_from_where_the_scanner_gives_up_is_one_chunk() {
        let chunks = split("a 1\nb {\n c 1\n").expect("accepted");
        assert_eq!(chunks.len(), 2);
        assert_eq!((chunks[1].word, chunks[1].range()), (Word::Rest, 4..13));
        let chunks = split("a 1\nb \"unterminated\n").expect("accepted");
        assert_eq!(chunks[1].word, Word::Rest);
        assert_eq!(split("}\n").expect("accepted")[0].word, Word::Rest);
    }

    #[test]
    fn nesting_deeper_than_the_bound_is_refused_at_the_brace_that_crosses_it() {
        let ok = format!(
            "a {}{}",
            "{ b ".repeat(MAX_NESTING),
            "}".repeat(MAX_NESTING)
        );
        assert!(split(&ok).is_ok());
        let deep = format!("a {}", "{ b ".repeat(100_000));
        assert_eq!(
            split(&deep),
            Err(Refusal::TooDeep {
                at: 2 + 4 * MAX_NESTING
            })
        );
        // Braces in strings and comments do not count.
        let quoted = format!("a \"{}\" /* {} */\n", "{".repeat(1000), "{".repeat(1000));
        assert!(split(&quoted).is_ok());
    }

    #[test]
    fn an_unclosed_file_with_many_braces_is_not_handed_to_the_parser() {
        let text = format!("a {{\n{}", "b { }\n".repeat(MAX_NESTING + 1));
        assert_eq!(
            split(&text),
            Err(Refusal::Unbalanced {
                at: 2,
                what: "a `{` that is never closed"
            })
        );
    }

    #[test]
    fn the_name_of_a_broken_node_is_found() {
        assert_eq!(
            declared_name("// c\nsecret \"db\" {\n x true\n}"),
            Some("db")
        );
        assert_eq!(
            declared_name("lookup \"vpc\" \"main\" default=true"),
            Some("main")
        );
        assert_eq!(declared_name("x 1"), None);
    }

    #[test]
    fn a_node_with_too_many_entries_is_refused() {
        let text = format!("stack \"x\"\nx {}\n", "1 ".repeat(MAX_NODE_TOKENS));
        assert_eq!(split(&text), Err(Refusal::TooLarge { at: 10 }));
        let long = format!("x \"{}\"\n", "s".repeat(MAX_NODE_BYTES));
        assert_eq!(split(&long), Err(Refusal::TooLong { at: 0 }));
        let unclosed = format!("x \"{}\n", "s".repeat(MAX_NODE_BYTES));
        assert_eq!(split(&unclosed), Err(Refusal::TooLong { at: 0 }));
        let many_nodes = "x\n".repeat(MAX_NODE_TOKENS * 2);
        assert_eq!(split(&many_nodes).map(|c| c.len()), Ok(MAX_NODE_TOKENS * 2));
    }
}
