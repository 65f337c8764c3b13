//! Source text and diagnostics: the files a run read, positions in them,
//! and the located messages about them (rustc style, JSON). A leaf module:
//! the config language and the crate's `Error` both build on it.

mod diagnostic;
mod source;

pub use diagnostic::{
    Diagnostic, DiagnosticJson, Diagnostics, RangeJson, SNIPPET_MAX, Severity, SnippetJson,
    SnippetLine, clip, snippet_line,
};
pub use source::{FileId, Pos, SourceFile, Sources, Span};
