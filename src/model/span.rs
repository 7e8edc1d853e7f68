//! Source files and byte spans into them.
//!
//! Every value a user wrote keeps the span it came from, so that a diagnostic raised by any later
//! stage can point at the file, line and column. Spans are small `Copy` values; the text lives
//! once, in [`Sources`].

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub source: SourceId,
    pub offset: u32,
    pub len: u32,
}

impl Span {
    pub fn new(source: SourceId, span: SourceSpan) -> Self {
        Span {
            source,
            offset: u32::try_from(span.offset()).unwrap_or(u32::MAX),
            len: u32::try_from(span.len()).unwrap_or(0),
        }
    }

    pub fn to_source_span(self) -> SourceSpan {
        SourceSpan::new((self.offset as usize).into(), self.len as usize)
    }
}

/// One loaded file: its display name and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<String>,
}

impl SourceFile {
    pub fn named_source(&self) -> NamedSource<Arc<String>> {
        NamedSource::new(&self.name, Arc::clone(&self.text)).with_language("kdl")
    }
}

/// All files read while loading a stack (the stack file, modules, variable files).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> SourceId {
        let id = SourceId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            name: name.into(),
            text: Arc::new(text.into()),
        });
        id
    }

    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, id: SourceId) -> &str {
        &self.get(id).text
    }

    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        let text = self.text(span.source);
        let start = span.offset as usize;
        let end = start + span.len as usize;
        text.get(start..end).unwrap_or("")
    }

    /// One-based line and column of the start of a span.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let text = self.text(span.source);
        let upto = &text[..(span.offset as usize).min(text.len())];
        let line = upto.matches('\n').count() + 1;
        let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }
}
