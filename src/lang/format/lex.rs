//! Splits KDL v2 text into the tokens the formatter arranges: words (every string, number and
//! keyword, kept exactly as written), punctuation, comments, slashdashes, line continuations,
//! whitespace and newlines.
//!
//! The text has already been accepted by the KDL parser, so the lexer only has to find where
//! each token ends; it never judges whether a token is valid.

/// One token. Words and comments borrow their text from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// A string (bare, quoted, raw, multi-line), a number or a keyword, exactly as written.
    Word(&'a str),
    /// `// ...`, without the newline that ends it.
    LineComment(&'a str),
    /// `/* ... */`, nested comments included.
    BlockComment(&'a str),
    /// `/-`: the next node, entry or children block is commented out.
    Slashdash,
    /// `\`: a line continuation.
    Escline,
    OpenBrace,
    CloseBrace,
    OpenParen,
    CloseParen,
    Equals,
    Semicolon,
    /// Horizontal whitespace.
    Space,
    /// One line break of any kind.
    Newline,
}

/// The lexer found text it cannot split (the parser should have rejected it first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
}

const NEWLINES: [&str; 8] = [
    "\r\n", "\r", "\n", "\u{85}", "\u{0B}", "\u{0C}", "\u{2028}", "\u{2029}",
];

fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn newline_len(rest: &str) -> Option<usize> {
    NEWLINES
        .iter()
        .find(|n| rest.starts_with(*n))
        .map(|n| n.len())
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    matches!(
        c,
        '\\' | '/' | '(' | ')' | '{' | '}' | '[' | ']' | ';' | '"' | '=' | '\u{FEFF}'
    ) || is_space(c)
        || newline_len(c.encode_utf8(&mut [0; 4])).is_some()
}

/// Splits `text` into tokens.
pub fn tokens(text: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let (token, len) = next(rest).ok_or(LexError { offset: at })?;
        out.push(token);
        at += len;
    }
    Ok(out)
}

/// The token at the start of `rest` and its length in bytes.
fn next(rest: &str) -> Option<(Token<'_>, usize)> {
    let c = rest.chars().next()?;
    if let Some(len) = newline_len(rest) {
        return Some((Token::Newline, len));
    }
    if is_space(c) {
        let len = rest
            .char_indices()
            .find(|&(_, c)| !is_space(c))
            .map_or(rest.len(), |(i, _)| i);
        return Some((Token::Space, len));
    }
    let single = |t| Some((t, 1));
    match c {
        '{' => single(Token::OpenBrace),
        '}' => single(Token::CloseBrace),
        '(' => single(Token::OpenParen),
        ')' => single(Token::CloseParen),
        '=' => single(Token::Equals),
        ';' => single(Token::Semicolon),
        '\\' => single(Token::Escline),
        '/' if rest.starts_with("//") => {
            let len = (2..=rest.len())
                .find(|&i| rest.is_char_boundary(i) && newline_len(&rest[i..]).is_some())
                .unwrap_or(rest.len());
            Some((Token::LineComment(&rest[..len]), len))
        }
        '/' if rest.starts_with("/*") => {
            let len = block_comment(rest)?;
            Some((Token::BlockComment(&rest[..len]), len))
        }
        '/' if rest.starts_with("/-") => Some((Token::Slashdash, 2)),
        '"' => {
            let len = quoted(rest)?;
            Some((Token::Word(&rest[..len]), len))
        }
        '#' if rest.trim_start_matches('#').starts_with('"') => {
            let len = raw(rest)?;
            Some((Token::Word(&rest[..len]), len))
        }
        _ => {
            // A bare word; `#` may only start one (a keyword such as `#true`).
            let len = rest
                .char_indices()
                .skip(1)
                .find(|&(_, c)| ends_word(c) || c == '#')
                .map_or(rest.len(), |(i, _)| i);
            (!ends_word(c)).then(|| (Token::Word(&rest[..len]), len))
        }
    }
}

/// Length of a (nested) block comment at the start of `rest`.
fn block_comment(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Length of a quoted string (single- or multi-line) at the start of `rest`.
fn quoted(rest: &str) -> Option<usize> {
    let multi = rest.starts_with("\"\"\"");
    let (open, close) = if multi { (3, "\"\"\"") } else { (1, "\"") };
    let bytes = rest.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            // Skip the escaped character (an escaped quote or backslash matters; the rest
            // of an escape, such as `u{..}` or a run of whitespace, holds no quote).
            i += 2;
            continue;
        }
        if bytes[i..].starts_with(close.as_bytes()) {
            return Some(i + close.len());
        }
        i += 1;
    }
    None
}

/// Length of a raw string (`#"..."#`, `##"""..."""##`) at the start of `rest`.
fn raw(rest: &str) -> Option<usize> {
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    let after = &rest[hashes..];
    let quotes = if after.starts_with("\"\"\"") { 3 } else { 1 };
    let close = format!("{}{}", "\"".repeat(quotes), "#".repeat(hashes));
    let body = hashes + quotes;
    rest[body..].find(&close).map(|i| body + i + close.len())
}

#[cfg(test)]
mod tests {
    use super::Token::*;
    use super::*;

    #[test]
    fn words_keep_their_text() {
        let text = r####"node "a \" b" #"raw "x""# ##"""
multi "# line
"""## 0x1F #true key=(ty)-1.5e3"####;
        let words: Vec<_> = tokens(text)
            .unwrap()
            .into_iter()
            .filter_map(|t| match t {
                Word(w) => Some(w),
                _ => None,
            })
            .collect();
        assert_eq!(
            words,
            [
                "node",
                r#""a \" b""#,
                r###"#"raw "x""#"###,
                "##\"\"\"\nmulti \"# line\n\"\"\"##",
                "0x1F",
                "#true",
                "key",
                "ty",
                "-1.5e3",
            ]
        );
    }

    #[test]
    fn comments_slashdashes_and_continuations() {
        let text = "a /* x /* y */ z */ /-b \\ // c\r\n{ } // d";
        assert_eq!(
            tokens(text).unwrap(),
            [
                Word("a"),
                Space,
                BlockComment("/* x /* y */ z */"),
                Space,
                Slashdash,
                Word("b"),
                Space,
                Escline,
                Space,
                LineComment("// c"),
                Newline,
                OpenBrace,
                Space,
                CloseBrace,
                Space,
                LineComment("// d"),
            ]
        );
    }

    #[test]
    fn multi_line_strings_hold_escaped_quotes() {
        let text = "\"\"\"\n  a \\\"\"\" b\n  \"\"\" x";
        let t = tokens(text).unwrap();
        assert_eq!(t[0], Word("\"\"\"\n  a \\\"\"\" b\n  \"\"\""));
        assert_eq!(t[2], Word("x"));
    }

    #[test]
    fn an_unclosed_string_is_an_error_not_a_panic() {
        assert!(tokens("a \"open").is_err());
        assert!(tokens("a /* open").is_err());
        assert!(tokens("a \"\\").is_err());
    }
}
