//! Groups the formatter's tokens into nodes, entries, children blocks and comments, keeping
//! every comment and commented-out (slashdash) item in the order it was written.
//!
//! Entries are assembled into their canonical text here (`key=(type)value`, no space around
//! `=` or after a type annotation); a comment written inside an entry moves in front of it.

use super::lex::Token;

/// A document or the inside of a children block.
#[derive(Debug, Default)]
pub struct Document<'a> {
    pub items: Vec<Item<'a>>,
}

#[derive(Debug)]
pub enum Item<'a> {
    Node {
        node: Node<'a>,
        slashdash: bool,
    },
    /// A comment that is not inside a node: on its own line, or (`same_line`) after the
    /// previous node or after the `{` that opens the block.
    Comment {
        text: &'a str,
        same_line: bool,
    },
    /// One or more empty lines between two items.
    Blank,
}

/// A node: its name and entries, children blocks and comments, in written order.
#[derive(Debug, Default)]
pub struct Node<'a> {
    pub parts: Vec<Part<'a>>,
}

#[derive(Debug)]
pub enum Part<'a> {
    /// The name (with its type annotation), an argument or a property, in canonical text.
    Entry(String),
    /// A commented-out entry, without its `/-`.
    SlashdashEntry(String),
    /// A block comment between entries.
    Comment(&'a str),
    /// A line continuation carrying a line comment: `\ // text`.
    Continuation(&'a str),
    /// The line comment that ends the node.
    LineComment(&'a str),
    Children {
        doc: Document<'a>,
        slashdash: bool,
    },
}

/// The tokens do not form a document (the parser should have rejected them first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeError {
    pub token: usize,
}

/// Builds the document of a token list.
pub fn document<'a>(tokens: &[Token<'a>]) -> Result<Document<'a>, TreeError> {
    let mut p = Parser { tokens, at: 0 };
    let doc = p.document(false)?;
    match p.peek() {
        None => Ok(doc),
        Some(_) => Err(p.error()),
    }
}

struct Parser<'t, 'a> {
    tokens: &'t [Token<'a>],
    at: usize,
}

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.at)
    }

    fn bump(&mut self) {
        self.at += 1;
    }

    fn error(&self) -> TreeError {
        TreeError { token: self.at }
    }

    fn document(&mut self, nested: bool) -> Result<Document<'a>, TreeError> {
        let mut items = Vec::new();
        // Line breaks since the last item; two or more make a blank line.
        let mut newlines = 0;
        let mut started = false;
        loop {
            let Some(token) = self.peek() else {
                return if nested {
                    Err(self.error())
                } else {
                    Ok(Document { items })
                };
            };
            let blank = started && newlines >= 2;
            match *token {
                Token::CloseBrace if nested => return Ok(Document { items }),
                Token::CloseBrace => return Err(self.error()),
                Token::Space | Token::Semicolon | Token::Escline => self.bump(),
                Token::Newline => {
                    newlines += 1;
                    self.bump();
                }
                Token::LineComment(text) | Token::BlockComment(text) => {
                    if blank {
                        items.push(Item::Blank);
                    }
                    let same_line = newlines == 0 && (started || nested);
                    items.push(Item::Comment { text, same_line });
                    self.bump();
                    newlines = 0;
                    started = true;
                }
                _ => {
                    if blank {
                        items.push(Item::Blank);
                    }
                    self.node_item(&mut items)?;
                    newlines = 0;
                    started = true;
                }
            }
        }
    }

    /// A node, perhaps commented out, as an item of `items`; comments inside its `/-` or its
    /// name's type annotation go in front of it, each on a line of its own.
    fn node_item(&mut self, items: &mut Vec<Item<'a>>) -> Result<(), TreeError> {
        let slashdash = self.peek() == Some(&Token::Slashdash);
        if slashdash {
            self.bump();
            while let Some(t) = self.peek() {
                match *t {
                    Token::Space | Token::Newline | Token::Escline => self.bump(),
                    Token::LineComment(text) | Token::BlockComment(text) => {
                        items.push(Item::Comment {
                            text,
                            same_line: false,
                        });
                        self.bump();
                    }
                    _ => break,
                }
            }
        }
        let mut before = Vec::new();
        let name = self.value(&mut before)?;
        for part in before {
            if let Part::Comment(text) | Part::Continuation(text) = part {
                items.push(Item::Comment {
                    text,
                    same_line: false,
                });
            }
        }
        let node = self.node(name)?;
        items.push(Item::Node { node, slashdash });
        Ok(())
    }

    /// The rest of a node whose name (with its type) has been read.
    fn node(&mut self, name: String) -> Result<Node<'a>, TreeError> {
        let mut parts = vec![Part::Entry(name)];
        while let Some(token) = self.peek() {
            match *token {
                Token::Newline | Token::CloseBrace => break,
                Token::Semicolon => {
                    self.bump();
                    break;
                }
                Token::LineComment(text) => {
                    self.bump();
                    parts.push(Part::LineComment(text));
                    break;
                }
                Token::Space | Token::BlockComment(_) | Token::Escline => self.gap(&mut parts),
                Token::Slashdash => {
                    self.bump();
                    self.line_space(&mut parts);
                    if self.peek() == Some(&Token::OpenBrace) {
                        let doc = self.children()?;
                        parts.push(Part::Children {
                            doc,
                            slashdash: true,
                        });
                    } else {
                        let entry = self.entry(&mut parts)?;
                        parts.push(Part::SlashdashEntry(entry));
                    }
                }
                Token::OpenBrace => {
                    let doc = self.children()?;
                    parts.push(Part::Children {
                        doc,
                        slashdash: false,
                    });
                }
                _ => {
                    let entry = self.entry(&mut parts)?;
                    parts.push(Part::Entry(entry));
                }
            }
        }
        Ok(Node { parts })
    }

    /// `{ ... }`, starting at the `{`.
    fn children(&mut self) -> Result<Document<'a>, TreeError> {
        self.bump();
        let doc = self.document(true)?;
        match self.peek() {
            Some(Token::CloseBrace) => {
                self.bump();
                Ok(doc)
            }
            _ => Err(self.error()),
        }
    }

    /// Whitespace, block comments and line continuations inside a node; comments go to
    /// `parts`.
    fn gap(&mut self, parts: &mut Vec<Part<'a>>) {
        while let Some(token) = self.peek() {
            match *token {
                Token::Space => self.bump(),
                Token::BlockComment(text) => {
                    parts.push(Part::Comment(text));
                    self.bump();
                }
                Token::Escline => {
                    self.bump();
                    while self.peek() == Some(&Token::Space) {
                        self.bump();
                    }
                    if let Some(&Token::LineComment(text)) = self.peek() {
                        parts.push(Part::Continuation(text));
                        self.bump();
                    }
                    if self.peek() == Some(&Token::Newline) {
                        self.bump();
                    }
                }
                _ => break,
            }
        }
    }

    /// What may follow a `/-`: a gap, and also line breaks and line comments.
    fn line_space(&mut self, parts: &mut Vec<Part<'a>>) {
        loop {
            self.gap(parts);
            match self.peek() {
                Some(Token::Newline) => self.bump(),
                Some(&Token::LineComment(text)) => {
                    parts.push(Part::Continuation(text));
                    self.bump();
                }
                _ => break,
            }
        }
    }

    /// An argument or a property, in canonical text; comments inside it go to `parts`.
    fn entry(&mut self, parts: &mut Vec<Part<'a>>) -> Result<String, TreeError> {
        let first = self.value(parts)?;
        let start = self.at;
        let mut between = Vec::new();
        self.gap(&mut between);
        if self.peek() != Some(&Token::Equals) {
            self.at = start;
            return Ok(first);
        }
        parts.extend(between);
        self.bump();
        self.gap(parts);
        let value = self.value(parts)?;
        Ok(format!("{first}={value}"))
    }

    /// A word with its optional type annotation: `(type)word`.
    fn value(&mut self, parts: &mut Vec<Part<'a>>) -> Result<String, TreeError> {
        let mut text = String::new();
        if self.peek() == Some(&Token::OpenParen) {
            self.bump();
            self.gap(parts);
            let Some(&Token::Word(ty)) = self.peek() else {
                return Err(self.error());
            };
            self.bump();
            self.gap(parts);
            if self.peek() != Some(&Token::CloseParen) {
                return Err(self.error());
            }
            self.bump();
            self.gap(parts);
            text.push('(');
            text.push_str(ty);
            text.push(')');
        }
        let Some(&Token::Word(word)) = self.peek() else {
            return Err(self.error());
        };
        self.bump();
        text.push_str(word);
        Ok(text)
    }
}
