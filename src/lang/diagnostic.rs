//! User-facing diagnostics: a message, labelled spans, a help line.
//!
//! Every stage of the front end appends to [`Diagnostics`] instead of returning on the first
//! problem, so a user with five mistakes sees five. Rendering to text is the `ui` module's job;
//! [`Rendered`] adapts a diagnostic to `miette` with its source files attached.

use std::fmt;

use miette::{LabeledSpan, NamedSource, SourceCode};

use crate::model::{Sources, Span};

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
}

impl Diagnostic {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
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

/// The diagnostic of a KDL syntax error, its span placed by `span` (a file may be parsed a
/// piece at a time). One mistake often yields several parser diagnostics; the first is the
/// useful one.
pub fn syntax_error(
    err: kdl::KdlError,
    span: impl Fn(miette::SourceSpan) -> Span,
) -> Option<Diagnostic> {
    let d = err.diagnostics.into_iter().next()?;
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

/// Diagnostics collected by a stage.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
}

/// A diagnostic together with the sources its spans point into, ready for `miette`.
///
/// Labels in the primary span's file are drawn together; labels in other files (a cycle that
/// crosses a module boundary) become related diagnostics of their own.
pub struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<std::sync::Arc<String>>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Rendered<'a>>,
    message: Option<String>,
}

impl<'a> Rendered<'a> {
    pub fn new(diagnostic: &'a Diagnostic, sources: &Sources) -> Self {
        let Some(primary) = diagnostic.span() else {
            return Rendered {
                diagnostic,
                source: None,
                labels: Vec::new(),
                related: Vec::new(),
                message: None,
            };
        };
        let mut labels = Vec::new();
        let mut related = Vec::new();
        for (i, label) in diagnostic.labels.iter().enumerate() {
            let text = (!label.text.is_empty()).then(|| label.text.clone());
            let span = label.span.to_source_span();
            if label.span.source == primary.source {
                labels.push(if i == 0 {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                });
            } else {
                related.push(Rendered {
                    diagnostic,
                    source: Some(sources.get(label.span.source).named_source()),
                    labels: vec![LabeledSpan::new_primary_with_span(text, span)],
                    related: Vec::new(),
                    message: Some(format!("in {}", sources.get(label.span.source).name)),
                });
            }
        }
        Rendered {
            diagnostic,
            source: Some(sources.get(primary.source).named_source()),
            labels,
            related,
            message: None,
        }
    }
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
