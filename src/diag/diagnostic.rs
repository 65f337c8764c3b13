//! Diagnostics: every problem found in a config, with where it is.
//!
//! Validation collects all diagnostics before stopping; rendering (human or
//! JSON) happens in `cli`, from the data here.

use serde::Serialize;

use super::source::{Pos, Sources, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, with an optional location and a hint on how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Short, one line, lower-case start, no trailing period.
    pub summary: String,
    /// Longer explanation, may be several lines.
    pub detail: Option<String>,
    pub help: Option<String>,
    pub span: Option<Span>,
    /// The spanned source may hold a secret: snippets mask it.
    pub sensitive: bool,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: None,
            help: None,
            span: None,
            sensitive: false,
        }
    }

    pub fn warning(summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary)
        }
    }

    pub fn at(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Diagnostic {
        self.span = span;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = Some(detail.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Marks the spanned text as possibly secret: never shown in snippets.
    pub fn sensitive(mut self) -> Diagnostic {
        self.sensitive = true;
        self
    }

    pub fn sensitive_if(mut self, yes: bool) -> Diagnostic {
        self.sensitive |= yes;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A list of diagnostics, in the order found (files in name order, then position).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.0.len() - self.error_count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by file, then position, keeping the order of equal positions.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|d| {
            d.span
                .as_ref()
                .map(|s| (0, s.file, s.range.start))
                .unwrap_or((1, super::source::FileId(0), 0))
        });
    }
}

/// A diagnostic as JSON (`tether validate --format json`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DiagnosticJson {
    pub severity: Severity,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<SnippetJson>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RangeJson {
    pub filename: String,
    pub start: Pos,
    pub end: Pos,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SnippetJson {
    pub start_line: usize,
    pub code: String,
}

impl DiagnosticJson {
    pub fn new(d: &Diagnostic, sources: &Sources) -> DiagnosticJson {
        let range = d.span.as_ref().map(|span| {
            let f = sources.get(span.file);
            RangeJson {
                filename: f.name.clone(),
                start: f.pos(span.range.start),
                end: f.pos(span.range.end),
            }
        });
        let snippet = snippet_line(d, sources).map(|s| SnippetJson {
            start_line: s.line,
            code: s.text,
        });
        DiagnosticJson {
            severity: d.severity,
            summary: d.summary.clone(),
            detail: d.detail.clone(),
            help: d.help.clone(),
            range,
            snippet,
        }
    }
}

/// The source line of a diagnostic as shown in a snippet, with the 0-based
/// character columns to underline. Secret values are masked, long lines cut.
pub struct SnippetLine {
    pub line: usize,
    pub text: String,
    pub from: usize,
    pub to: usize,
}

pub fn snippet_line(d: &Diagnostic, sources: &Sources) -> Option<SnippetLine> {
    let span = d.span.as_ref()?;
    let f = sources.get(span.file);
    let start = f.pos(span.range.start);
    let end = f.pos(span.range.end);
    let raw = f.line_text(start.line);
    let line_start = f.line_start(start.line);
    let from = start.column - 1;
    let single = end.line == start.line;
    // Only the first SNIPPET_MAX characters are shown: every step below
    // works on a bounded piece of the line, so many diagnostics on one
    // huge line cost no more than on short ones.
    let mut to = if single { end.column - 1 } else { usize::MAX };
    let shown = if d.sensitive {
        // Replace the spanned part of the line: the value is never echoed.
        let head = head_chars(&raw[..(start.byte - line_start).min(raw.len())]);
        let tail = if single {
            head_chars(&raw[(end.byte - line_start).min(raw.len())..])
        } else {
            ""
        };
        let mask = "(sensitive value)";
        to = from + mask.chars().count();
        format!("{head}{mask}{tail}")
    } else {
        head_chars(raw).to_string()
    };
    // Tabs and control characters would break the caret line or the terminal.
    let text: String = shown
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    let clipped = clip(&text);
    let width = clipped.chars().count();
    let cut = clipped.len() < text.len();
    let mut text = clipped.to_string();
    if cut {
        text.push_str(" …");
    }
    Some(SnippetLine {
        line: start.line,
        text,
        from: from.min(width),
        to: to.min(width).max(from.min(width) + 1),
    })
}

/// The first `SNIPPET_MAX + 1` characters of `s`: enough to show a snippet
/// and to know whether it was cut.
fn head_chars(s: &str) -> &str {
    match s.char_indices().nth(SNIPPET_MAX + 1) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Longest source line shown in a snippet, in characters.
pub const SNIPPET_MAX: usize = 200;

/// Cuts a line for display so a huge value never floods the terminal.
pub fn clip(line: &str) -> &str {
    match line.char_indices().nth(SNIPPET_MAX) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}
