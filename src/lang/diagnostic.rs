//! User-facing diagnostics: a message, labelled spans, a help line.
//!
//! Every stage of the front end appends to [`Diagnostics`] instead of returning on the first
//! problem, so a user with five mistakes sees five. Rendering to text is the `ui` module's job;
//! [`Rendered`] adapts a diagnostic to `miette` with its source files attached.

use std::collections::HashMap;
use std::fmt;

use miette::{LabeledSpan, SourceCode, SourceSpan};

use super::bounds::MAX_DIAGNOSTICS;
use super::excerpt::{Excerpt, LineIndex};
use crate::model::{SourceId, Sources, Span};

/// One labelled span.
#[derive(Debug, Clone)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// A problem in the user's stack.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable code, e.g. `infra::unknown-attribute`.
    pub code: &'static str,
    pub message: String,
    /// The first label is the primary one.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// A warning, not an error: shown, never fatal.
    pub warning: bool,
}

impl Diagnostic {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            warning: false,
        }
    }

    /// A warning of the stack as a diagnostic, to be shown with its source.
    pub fn warning(w: &crate::model::Warning) -> Self {
        let mut d = Diagnostic::new(w.code, w.message.clone()).help(w.help.clone());
        if let Some(span) = w.span {
            d = d.label(span, "here");
        }
        d.warning = true;
        d
    }

    pub fn label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

/// The diagnostic of a KDL syntax error in `text`, its span placed by `span` (a file may be
/// parsed a piece at a time). One mistake often yields several parser diagnostics; the first
/// is the useful one. KDL v1's bare keywords get a message that says what is wrong (the
/// parser's own, "expected identifier string", does not).
pub fn syntax_error(
    err: kdl::KdlError,
    text: &str,
    span: impl Fn(miette::SourceSpan) -> Span,
) -> Option<Diagnostic> {
    let d = err.diagnostics.into_iter().next()?;
    let at = d.span.offset();
    let word = text
        .get(at..)
        .map(|rest| {
            rest.split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                .next()
                .unwrap_or("")
        })
        .unwrap_or("");
    if let Some(v2) = v1_keyword(word) {
        return Some(
            Diagnostic::new(
                "infra::syntax",
                format!("syntax error: `{word}` is KDL v1; KDL v2 writes `{v2}`"),
            )
            .label(
                span(miette::SourceSpan::new(at.into(), word.len())),
                format!("write `{v2}`"),
            )
            .help("stack files are KDL v2: booleans are #true and #false, null is #null"),
        );
    }
    let message = d.message.unwrap_or_else(|| "invalid KDL".into());
    let label = d.label.unwrap_or_else(|| "here".into());
    let help = d.help.unwrap_or_else(|| {
        "stack files are KDL v2: strings in quotes, booleans as #true/#false, \
         see docs/language.md"
            .into()
    });
    Some(
        Diagnostic::new("infra::syntax", format!("syntax error: {message}"))
            .label(span(d.span), label)
            .help(help),
    )
}

/// KDL v1's bare keywords and their v2 spelling.
fn v1_keyword(word: &str) -> Option<&'static str> {
    match word {
        "true" => Some("#true"),
        "false" => Some("#false"),
        "null" => Some("#null"),
        _ => None,
    }
}

/// Diagnostics collected by a stage: the first [`MAX_DIAGNOSTICS`], and how many more there
/// were (a file of a million mistakes must not cost a million messages).
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    omitted: usize,
    stopped: bool,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        if self.full() {
            self.omitted += 1;
        } else {
            self.items.push(diagnostic);
        }
    }

    /// Counts one more that would not be kept, without building it (see [`Self::full`]).
    pub fn count_omitted(&mut self) {
        debug_assert!(self.full());
        self.omitted += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// No more will be kept: work that could only find more may stop.
    pub fn full(&self) -> bool {
        self.items.len() >= MAX_DIAGNOSTICS
    }

    /// How many were found beyond those kept.
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    /// Work stopped once no more could be kept: there may be more than were counted.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Drops those found after the first `len` (they are replaced by one about the whole file).
    pub fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
        self.omitted = 0;
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.omitted += other.omitted;
        self.stopped |= other.stopped;
        for d in other.items {
            self.push(d);
        }
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
}

/// Line indexes of the files diagnostics point into, built once per file when first needed.
#[derive(Default)]
pub struct LineIndexes {
    indexes: HashMap<SourceId, LineIndex>,
}

impl LineIndexes {
    fn get(&mut self, id: SourceId, sources: &Sources) -> &LineIndex {
        self.indexes
            .entry(id)
            .or_insert_with(|| LineIndex::new(sources.text(id)))
    }
}

/// A diagnostic together with excerpts of the files its spans point into, ready for `miette`.
///
/// Labels in the primary span's file are drawn together; labels in other files (a cycle that
/// crosses a module boundary) become related diagnostics of their own.
pub struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<Excerpt>,
    labels: Vec<LabeledSpan>,
    related: Vec<Rendered<'a>>,
    message: Option<String>,
}

impl<'a> Rendered<'a> {
    pub fn new(diagnostic: &'a Diagnostic, sources: &Sources, indexes: &mut LineIndexes) -> Self {
        let Some(primary) = diagnostic.span() else {
            return Rendered {
                diagnostic,
                source: None,
                labels: Vec::new(),
                related: Vec::new(),
                message: None,
            };
        };
        let text = |label: &Label| (!label.text.is_empty()).then(|| label.text.clone());
        let here: Vec<&Label> = diagnostic
            .labels
            .iter()
            .filter(|l| l.span.source == primary.source)
            .collect();
        let (source, spans) = excerpt(primary.source, &here, sources, indexes);
        let labels = here
            .iter()
            .zip(spans)
            .enumerate()
            .map(|(i, (label, span))| {
                if i == 0 {
                    LabeledSpan::new_primary_with_span(text(label), span)
                } else {
                    LabeledSpan::new_with_span(text(label), span)
                }
            })
            .collect();
        let related = diagnostic
            .labels
            .iter()
            .filter(|l| l.span.source != primary.source)
            .map(|label| {
                let (source, spans) = excerpt(label.span.source, &[label], sources, indexes);
                Rendered {
                    diagnostic,
                    source: Some(source),
                    labels: spans
                        .into_iter()
                        .map(|s| LabeledSpan::new_primary_with_span(text(label), s))
                        .collect(),
                    related: Vec::new(),
                    message: Some(format!("in {}", sources.get(label.span.source).name)),
                }
            })
            .collect();
        Rendered {
            diagnostic,
            source: Some(source),
            labels,
            related,
            message: None,
        }
    }
}

fn excerpt(
    id: SourceId,
    labels: &[&Label],
    sources: &Sources,
    indexes: &mut LineIndexes,
) -> (Excerpt, Vec<SourceSpan>) {
    let file = sources.get(id);
    let spans: Vec<SourceSpan> = labels.iter().map(|l| l.span.to_source_span()).collect();
    Excerpt::new(&file.name, &file.text, indexes.get(id, sources), &spans)
}
impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("diagnostic", self.diagnostic)
            .finish()
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => f.write_str(&self.diagnostic.message),
        }
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        self.diagnostic.warning.then_some(miette::Severity::Warning)
    }

    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if self.message.is_some() {
            return None;
        }
        Some(Box::new(self.diagnostic.code))
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if self.message.is_some() {
            return None;
        }
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}
