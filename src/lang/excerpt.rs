//! What a diagnostic shows of a file: only the lines around its labels, each long line cropped
//! to a window around its label, control characters replaced. `miette` reads a source by
//! scanning it from the start and draws whole lines (a label past column 65,535 makes it
//! panic), so a diagnostic in a 10 MB file, or on a 2 MB line, costs time and screens;
//! [`Excerpt`] is the `SourceCode` miette reads instead, with the original line numbers and
//! columns, and labels moved to its own offsets.

use std::ops::Range;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::bounds::MAX_SHOWN_LINE;

/// Lines of context miette shows before and after a label (its default).
pub const CONTEXT: usize = 1;
/// A label spanning more lines than this is shown on its first lines only.
const MAX_LABEL_LINES: usize = 4;
/// How much of a cropped line is shown before the label.
const LEAD_IN: usize = 40;
const ELLIPSIS: &str = "…";

/// Where each line of a text starts.
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        // A plain loop: iterator adaptors cost several times as much per byte in a debug
        // build, and a file may be 10 MB of short lines.
        let b = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\n' {
                starts.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
            }
            i += 1;
        }
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|s| *s as usize <= offset)
            .saturating_sub(1)
    }

    /// The line's text without its line break.
    fn content(&self, text: &str, line: usize) -> Range<usize> {
        let start = self.starts[line] as usize;
        let mut end = self
            .starts
            .get(line + 1)
            .map_or(text.len(), |s| *s as usize - 1);
        if text.as_bytes()[start..end].ends_with(b"\r") {
            end -= 1;
        }
        start..end
    }
}

/// One line of the excerpt.
struct Shown {
    /// Offset of the line in the excerpt's text.
    start: usize,
    /// Zero-based line number in the file.
    number: usize,
    /// Zero-based column (in characters) in the file of the first character after the lead.
    column: usize,
    /// Bytes of the `…` that starts a cropped line (0 when it is shown from its start).
    lead: usize,
    /// The part of the file's line shown.
    window: Range<usize>,
    /// Lines of one segment are consecutive in the file; segments are not.
    segment: usize,
}

/// The lines of one file a diagnostic shows.
pub struct Excerpt {
    name: String,
    text: String,
    lines: Vec<Shown>,
}

impl Excerpt {
    /// The excerpt of `text` around `spans`, and the spans moved into it.
    pub fn new(
        name: &str,
        text: &str,
        index: &LineIndex,
        spans: &[SourceSpan],
    ) -> (Excerpt, Vec<SourceSpan>) {
        // A final line break ends the last line; it does not start another.
        let mut last = index.starts.len() - 1;
        if last > 0 && index.starts[last] as usize == text.len() {
            last -= 1;
        }
        // Each label: its start, its (capped) end and its lines.
        let labels: Vec<(usize, usize, usize, usize)> = spans
            .iter()
            .map(|span| {
                let start = span.offset().min(text.len());
                let end = (span.offset() + span.len()).clamp(start, text.len());
                let first = index.line_of(start).min(last);
                let mut end_line = index.line_of(end.saturating_sub(1).max(start)).min(last);
                let mut end = end;
                if end_line > first + MAX_LABEL_LINES - 1 {
                    end_line = first + MAX_LABEL_LINES - 1;
                    end = index.content(text, end_line).end;
                }
                (start, end, first, end_line)
            })
            .collect();
        let mut windows: Vec<(usize, usize)> = labels
            .iter()
            .map(|(_, _, a, b)| (a.saturating_sub(CONTEXT), (b + CONTEXT).min(last)))
            .collect();
        windows.sort_unstable();
        let mut segments: Vec<(usize, usize)> = Vec::new();
        for (a, b) in windows {
            match segments.last_mut() {
                Some(seg) if a <= seg.1 + 1 => seg.1 = seg.1.max(b),
                _ => segments.push((a, b)),
            }
        }
        let mut out = Excerpt {
            name: name.to_string(),
            text: String::new(),
            lines: Vec::new(),
        };
        for (segment, (a, b)) in segments.into_iter().enumerate() {
            for number in a..=b {
                let content = index.content(text, number);
                let anchor = labels
                    .iter()
                    .filter(|l| l.2 <= number && number <= l.3)
                    .map(|l| l.0.max(content.start))
                    .min();
                out.push_line(text, number, content, anchor, segment);
            }
        }
        let moved = labels
            .iter()
            .map(|&(start, end, first, end_line)| {
                let s = out.map(first, start);
                let e = out.map(end_line, end).max(s);
                SourceSpan::new(s.into(), e - s)
            })
            .collect();
        (out, moved)
    }

    fn push_line(
        &mut self,
        text: &str,
        number: usize,
        content: Range<usize>,
        anchor: Option<usize>,
        segment: usize,
    ) {
        let window = if content.len() <= MAX_SHOWN_LINE {
            content.clone()
        } else {
            let from = anchor.map_or(content.start, |a| {
                a.saturating_sub(LEAD_IN).max(content.start)
            });
            let from = floor_char(text, from);
            let to = floor_char(text, (from + MAX_SHOWN_LINE).min(content.end));
            from..to
        };
        let start = self.text.len();
        let lead = if window.start > content.start {
            self.text.push_str(ELLIPSIS);
            ELLIPSIS.len()
        } else {
            0
        };
        for c in text[window.clone()].chars() {
            if shown_as_is(c) {
                self.text.push(c);
            } else {
                // Same length, so offsets within the window stay put.
                (0..c.len_utf8()).for_each(|_| self.text.push('?'));
            }
        }
        if window.end < content.end {
            self.text.push_str(ELLIPSIS);
        }
        self.text.push('\n');
        let column = text[content.start..window.start].chars().count();
        self.lines.push(Shown {
            start,
            number,
            column,
            lead,
            window,
            segment,
        });
    }

    /// Where `offset`, on the file's line `number`, is in the excerpt (clamped to the window).
    fn map(&self, number: usize, offset: usize) -> usize {
        let i = self.lines.partition_point(|l| l.number < number);
        let Some(line) = self.lines.get(i) else {
            return self.text.len();
        };
        let clamped = offset.clamp(line.window.start, line.window.end);
        line.start + line.lead + (clamped - line.window.start)
    }

    /// The excerpt's line holding `offset`.
    fn line_at(&self, offset: usize) -> usize {
        self.lines
            .partition_point(|l| l.start <= offset)
            .saturating_sub(1)
    }

    fn line_end(&self, i: usize) -> usize {
        self.lines.get(i + 1).map_or(self.text.len(), |l| l.start)
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        if self.lines.is_empty() || span.offset() > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first = self.line_at(span.offset());
        let last = self.line_at(
            (span.offset() + span.len())
                .saturating_sub(1)
                .max(span.offset()),
        );
        let segment = self.lines[first].segment;
        if self.lines[last].segment != segment {
            return Err(MietteError::OutOfBounds);
        }
        let mut from = first;
        for _ in 0..context_lines_before {
            if from > 0 && self.lines[from - 1].segment == segment {
                from -= 1;
            }
        }
        let mut to = last;
        for _ in 0..context_lines_after {
            if to + 1 < self.lines.len() && self.lines[to + 1].segment == segment {
                to += 1;
            }
        }
        let (start, column) = if context_lines_before == 0 {
            let line = &self.lines[first];
            let body = line.start + line.lead;
            let column = match self.text.get(body..span.offset()) {
                Some(before) if span.offset() > body => line.column + before.chars().count(),
                _ => line.column,
            };
            (span.offset(), column)
        } else {
            (self.lines[from].start, 0)
        };
        let end = self.line_end(to).max(start);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            &self.text.as_bytes()[start..end],
            SourceSpan::new(start.into(), end - start),
            self.lines[if context_lines_before == 0 {
                first
            } else {
                from
            }]
            .number,
            column,
            to - from + 1,
        )))
    }
}

/// Characters a terminal may be sent as they are: not control characters (which could move
/// the cursor or change colours) and not the bidirectional overrides that reorder text.
fn shown_as_is(c: char) -> bool {
    c == '\t' || !(c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excerpt(text: &str, spans: &[(usize, usize)]) -> (Excerpt, Vec<SourceSpan>) {
        let spans: Vec<SourceSpan> = spans.iter().map(|(o, l)| (*o, *l).into()).collect();
        Excerpt::new("f.kdl", text, &LineIndex::new(text), &spans)
    }

    #[test]
    fn keeps_only_the_lines_around_each_label() {
        let text: String = (1..=100).map(|i| format!("line{i}\n")).collect();
        let at = text.find("line50").expect("line 50");
        let (e, spans) = excerpt(&text, &[(at, 6)]);
        assert_eq!(e.text, "line49\nline50\nline51\n");
        assert_eq!(&e.text[spans[0].offset()..][..6], "line50");
        let contents = e.read_span(&spans[0], 0, 0).expect("readable");
        assert_eq!((contents.line(), contents.column()), (49, 0));
    }

    #[test]
    fn far_apart_labels_are_separate_segments() {
        let text: String = (1..=100).map(|i| format!("l{i}\n")).collect();
        let a = text.find("l10\n").expect("l10");
        let b = text.find("l90\n").expect("l90");
        let (e, spans) = excerpt(&text, &[(a, 3), (b, 3)]);
        assert_eq!(e.text, "l9\nl10\nl11\nl89\nl90\nl91\n");
        let whole = SourceSpan::new(
            spans[0].offset().into(),
            spans[1].offset() - spans[0].offset(),
        );
        assert!(e.read_span(&whole, 1, 1).is_err());
        let second = e.read_span(&spans[1], 1, 1).expect("readable");
        assert_eq!((second.line(), second.line_count()), (88, 3));
    }

    #[test]
    fn a_long_line_is_cropped_around_its_label_with_the_true_column() {
        let text = format!(
            "x \"{}TARGET{}\"\n",
            "a".repeat(100_000),
            "b".repeat(100_000)
        );
        let at = text.find("TARGET").expect("target");
        let (e, spans) = excerpt(&text, &[(at, 6)]);
        assert!(e.text.len() < MAX_SHOWN_LINE + 10, "{}", e.text.len());
        assert!(e.text.starts_with(ELLIPSIS) && e.text.ends_with("…\n"));
        assert_eq!(&e.text[spans[0].offset()..][..6], "TARGET");
        let header = e.read_span(&spans[0], 0, 0).expect("readable");
        assert_eq!((header.line(), header.column()), (0, at));
    }

    #[test]
    fn control_characters_are_not_sent_to_the_terminal() {
        let text = "a \"\u{1b}[31mred\u{202e}\"\n";
        let (e, spans) = excerpt(text, &[(2, 3)]);
        assert_eq!(e.text, "a \"?[31mred???\"\n");
        assert_eq!(spans[0].offset(), 2);
    }
}
