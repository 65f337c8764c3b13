//! Source files of a config directory and byte-offset -> line:col mapping.
//!
//! Every span in the validated model points into a [`SourceFile`] held by
//! [`Sources`], so diagnostics can be rendered long after parsing.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub(crate) usize);

/// A byte range in one source file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub range: Range<usize>,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Span {
        Span { file, range }
    }
}

/// One config file as read from disk (decoded to UTF-8).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown to the user (relative to the config dir when inside it).
    pub name: String,
    /// Absolute or dir-relative path used for I/O.
    pub path: PathBuf,
    pub text: String,
    /// Set when the bytes on disk were not clean UTF-8: (byte offset, message).
    pub problem: Option<(usize, String)>,
    line_starts: Vec<usize>,
    /// Characters before every [`CHAR_MARK_EVERY`]-th byte (made on first
    /// use): a column is found without counting a long line from its start.
    char_marks: std::sync::OnceLock<Vec<(usize, usize)>>,
}

/// Bytes between two entries of a file's character-count index.
const CHAR_MARK_EVERY: usize = 1024;

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
}

impl SourceFile {
    pub fn new(name: String, path: PathBuf, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name,
            path,
            text,
            problem: None,
            line_starts,
            char_marks: std::sync::OnceLock::new(),
        }
    }

    /// How many characters the text has before byte `byte` (a char boundary).
    /// Constant time: counts at most [`CHAR_MARK_EVERY`] bytes.
    fn chars_before(&self, byte: usize) -> usize {
        let marks = self.char_marks.get_or_init(|| {
            let mut marks = Vec::with_capacity(self.text.len() / CHAR_MARK_EVERY + 1);
            let (mut at, mut chars) = (0, 0);
            let mut next = 0;
            while next <= self.text.len() {
                let mut b = next;
                while !self.text.is_char_boundary(b) {
                    b -= 1;
                }
                chars += self.text[at..b].chars().count();
                at = b;
                marks.push((at, chars));
                next += CHAR_MARK_EVERY;
            }
            marks
        });
        let (at, chars) = marks.get(byte / CHAR_MARK_EVERY).copied().unwrap_or((0, 0));
        chars + self.text[at..byte].chars().count()
    }

    /// Byte offset of the start of a 1-based line (the text's end past the last).
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// `file:line:col` of a byte offset (as [`SourceFile::pos`] places it).
    pub fn location(&self, byte: usize) -> String {
        let p = self.pos(byte);
        format!("{}:{}:{}", self.name, p.line, p.column)
    }

    /// Line and column of a byte offset (clamped to the text, snapped to a char boundary).
    pub fn pos(&self, byte: usize) -> Pos {
        let mut byte = byte.min(self.text.len());
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line = match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = self.chars_before(byte) - self.chars_before(start) + 1;
        Pos {
            line: line + 1,
            column,
            byte,
        }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// All files of one config directory, in name order.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `file:line:col` of the start of a span.
    pub fn location(&self, span: &Span) -> String {
        self.get(span.file).location(span.range.start)
    }

    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path).map(FileId)
    }
}
