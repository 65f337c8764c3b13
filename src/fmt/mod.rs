//! Canonical formatting of HCL config files, keeping every comment.
//!
//! The formatter re-prints the hcl-edit syntax tree: two-space indentation,
//! one space around `=`, `=` aligned in runs of consecutive attributes, at
//! most one blank line in a row, lists and maps in one of two canonical
//! shapes (one line, or one item per line), exactly one newline at the end.
//! Leaf values (strings, heredocs, numbers, calls, references) are copied
//! byte for byte from the source.
//!
//! Invariant: output is produced only when it means the same as the input
//! (equal hcl-rs bodies) and keeps the same comments in the same order;
//! otherwise the file is left alone with an error. Formatting is idempotent.

mod comments;

use hcl::edit::expr::{Array, Expression, Object, ObjectKey, ObjectValueTerminator};
use hcl::edit::structure::{Attribute, Block, Body, Structure};
use hcl::edit::{Decorate, Span};

use comments::{Piece, pieces};

const INDENT: &str = "  ";

/// Why a file could not be formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FmtError {
    /// The file does not parse: 1-based line and column, message.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// The canonical form would change meaning or lose a comment; the file is left alone.
    Unsafe(String),
}

impl std::fmt::Display for FmtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FmtError::Syntax {
                line,
                column,
                message,
            } => write!(f, "{line}:{column}: syntax error: {message}"),
            FmtError::Unsafe(why) => write!(f, "left as it is: {why}"),
        }
    }
}

/// Formats one file's text.
pub fn format_text(text: &str) -> Result<String, FmtError> {
    let body = hcl::edit::parser::parse_body(text).map_err(|e| FmtError::Syntax {
        line: e.location().line(),
        column: e.location().column(),
        message: e.message().lines().next().unwrap_or("").trim().to_string(),
    })?;
    let out = print(text, &body);
    verify(text, &out)?;
    Ok(out)
}

fn print(text: &str, body: &Body) -> String {
    let mut p = Printer {
        src: text,
        out: String::with_capacity(text.len() + text.len() / 8),
    };
    p.body(body, 0, true);
    let mut out = p.out;
    let trimmed = out.trim_end_matches(['\n', ' ']).len();
    out.truncate(trimmed);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The output must mean the same and keep every comment.
fn verify(input: &str, output: &str) -> Result<(), FmtError> {
    let a: hcl::Body = hcl::parse(input).map_err(|e| FmtError::Unsafe(e.to_string()))?;
    let b: hcl::Body = hcl::parse(output)
        .map_err(|e| FmtError::Unsafe(format!("the formatted text does not parse: {e}")))?;
    if a != b {
        return Err(FmtError::Unsafe(
            "the canonical form would change the meaning of the file".into(),
        ));
    }
    if comments::all(input) != comments::all(output) {
        return Err(FmtError::Unsafe(
            "a comment sits where the canonical form cannot keep it".into(),
        ));
    }
    Ok(())
}

struct Printer<'a> {
    src: &'a str,
    out: String,
}

fn raw_of<T: Decorate>(t: &T) -> (String, String) {
    let d = t.decor();
    (
        d.prefix().map(|r| r.to_string()).unwrap_or_default(),
        d.suffix().map(|r| r.to_string()).unwrap_or_default(),
    )
}

impl Printer<'_> {
    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.out.push_str(INDENT);
        }
    }

    fn slice(&self, r: Option<std::ops::Range<usize>>) -> &str {
        r.and_then(|r| self.src.get(r)).unwrap_or("")
    }

    /// Leading comments of a structure; returns whether a blank line came before the structure.
    fn leading(&mut self, ps: &[Piece], level: usize, first: bool) {
        let mut pending_blank = false;
        let mut any = false;
        for p in ps {
            match p {
                Piece::Blank => pending_blank = true,
                Piece::Comment(c) => {
                    if pending_blank && (any || !first) {
                        self.out.push('\n');
                    }
                    pending_blank = false;
                    any = true;
                    self.indent(level);
                    self.out.push_str(c);
                    self.out.push('\n');
                }
            }
        }
        if pending_blank && (any || !first) {
            self.out.push('\n');
        }
    }

    fn trailing(&mut self, raw: &str) {
        for p in pieces(raw, false) {
            if let Piece::Comment(c) = p {
                self.out.push(' ');
                self.out.push_str(&c);
            }
        }
    }

    fn body(&mut self, body: &Body, level: usize, top: bool) {
        let (prefix, suffix) = raw_of(body);
        // Top level: the body prefix is the head of the file. In a block: the rest of the `{` line.
        if top {
            self.leading(&pieces(&prefix, true), level, true);
        }
        let items: Vec<&Structure> = body.iter().collect();
        let widths = self.align_widths(&items);
        for (i, st) in items.iter().enumerate() {
            let (pre, suf) = raw_of(*st);
            let ps = pieces(&pre, true);
            self.leading(&ps, level, i == 0);
            self.indent(level);
            match st {
                Structure::Attribute(a) => self.attribute(a, widths[i], level),
                Structure::Block(b) => self.block(b, level),
            }
            self.trailing(&suf);
            self.out.push('\n');
        }
        let tail = pieces(&suffix, true);
        if tail.iter().any(|p| matches!(p, Piece::Comment(_))) {
            let trimmed: Vec<Piece> = trim_trailing_blanks(tail);
            self.leading(&trimmed, level, items.is_empty());
        }
    }

    /// For each attribute, the key width of its alignment run.
    fn align_widths(&self, items: &[&Structure]) -> Vec<usize> {
        let mut widths = vec![0; items.len()];
        let mut run: Vec<usize> = Vec::new();
        let flush = |run: &mut Vec<usize>, widths: &mut Vec<usize>| {
            let w = run.iter().map(|&i| key_len(items[i])).max().unwrap_or(0);
            for &i in run.iter() {
                widths[i] = w;
            }
            run.clear();
        };
        for (i, st) in items.iter().enumerate() {
            let Structure::Attribute(a) = st else {
                flush(&mut run, &mut widths);
                continue;
            };
            let (pre, _) = raw_of(*st);
            let breaks = pieces(&pre, true)
                .iter()
                .any(|p| matches!(p, Piece::Blank | Piece::Comment(_)));
            // A multi-line value stands alone, as in `terraform fmt`.
            if breaks || self.is_multiline(&a.value) {
                flush(&mut run, &mut widths);
            }
            run.push(i);
            if self.is_multiline(&a.value) {
                flush(&mut run, &mut widths);
            }
        }
        flush(&mut run, &mut widths);
        widths
    }

    fn is_multiline(&self, e: &Expression) -> bool {
        self.slice(e.span()).contains('\n')
    }

    fn attribute(&mut self, a: &Attribute, width: usize, level: usize) {
        let key = a.key.as_str();
        self.out.push_str(key);
        for _ in key.chars().count()..width {
            self.out.push(' ');
        }
        self.out.push_str(" = ");
        self.expr(&a.value, level);
    }

    fn block(&mut self, b: &Block, level: usize) {
        self.out.push_str(b.ident.as_str());
        for l in &b.labels {
            self.out.push(' ');
            let raw = self.slice(l.span()).to_string();
            self.out.push_str(&raw);
        }
        let (prefix, suffix) = raw_of(&b.body);
        let open = pieces(&prefix, false);
        let empty = b.body.is_empty()
            && !open
                .iter()
                .chain(pieces(&suffix, true).iter())
                .any(|p| matches!(p, Piece::Comment(_)));
        if empty {
            self.out.push_str(" {}");
            return;
        }
        self.out.push_str(" {");
        // Comments on the `{` line stay there.
        for p in &open {
            if let Piece::Comment(c) = p {
                self.out.push(' ');
                self.out.push_str(c);
            }
        }
        self.out.push('\n');
        self.body(&b.body, level + 1, false);
        self.indent(level);
        self.out.push('}');
    }

    fn expr(&mut self, e: &Expression, level: usize) {
        match e {
            Expression::Array(a) => self.array(a, level),
            Expression::Object(o) => self.object(o, level),
            _ => {
                let raw = self.slice(e.span()).to_string();
                self.out.push_str(&raw);
            }
        }
    }

    fn array(&mut self, a: &Array, level: usize) {
        if a.is_empty() && !has_comment(a.trailing()) {
            self.out.push_str("[]");
            return;
        }
        let multiline = self.slice(a.span()).contains('\n');
        if !multiline {
            self.out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.expr(v, level);
            }
            self.out.push(']');
            return;
        }
        self.out.push('[');
        for (i, v) in a.iter().enumerate() {
            let (pre, _) = raw_of(v);
            self.split_prefix(&pre, level + 1, i == 0);
            self.indent(level + 1);
            self.expr(v, level + 1);
            self.out.push(',');
            let (_, suf) = raw_of(v);
            self.trailing(&suf);
        }
        self.split_prefix(a.trailing(), level + 1, false);
        self.indent(level);
        self.out.push(']');
    }

    /// An item's prefix inside a multi-line list or map: comments before the
    /// first newline end the previous line; the rest lead the item. Ends with
    /// a newline; the caller indents what follows.
    fn split_prefix(&mut self, raw: &str, level: usize, first: bool) {
        let (same, rest) = match raw.find('\n') {
            Some(i) => (&raw[..i], &raw[i + 1..]),
            None => (raw, ""),
        };
        for p in pieces(same, false) {
            if let Piece::Comment(c) = p {
                self.out.push(' ');
                self.out.push_str(&c);
            }
        }
        self.out.push('\n');
        let rest = trim_trailing_blanks(pieces(rest, true));
        self.leading(&rest, level, first);
    }

    /// Decor before a map item (or before the closing `}` when `closing`).
    fn item_prefix(
        &mut self,
        raw: &str,
        level: usize,
        first: bool,
        line_start: bool,
        closing: bool,
    ) {
        if line_start {
            self.out.push('\n');
            let mut ps = pieces(raw, true);
            if closing {
                ps = trim_trailing_blanks(ps);
            }
            self.leading(&ps, level, first);
        } else {
            self.split_prefix(raw, level, first);
        }
    }

    fn object(&mut self, o: &Object, level: usize) {
        if o.is_empty() && !has_comment(o.trailing()) {
            self.out.push_str("{}");
            return;
        }
        let multiline = self.slice(o.span()).contains('\n');
        let items: Vec<(&ObjectKey, &hcl::edit::expr::ObjectValue)> = o.iter().collect();
        if !multiline {
            self.out.push_str("{ ");
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                let key = self.slice(k.span()).to_string();
                self.out.push_str(&key);
                self.out.push_str(" = ");
                self.expr(v.expr(), level);
            }
            self.out.push_str(" }");
            return;
        }
        let width = items
            .iter()
            .map(|(k, _)| self.slice(k.span()).chars().count())
            .max()
            .unwrap_or(0);
        self.out.push('{');
        // After a newline terminator the next key's decor starts at a line start.
        let mut after_newline = false;
        for (i, (k, v)) in items.iter().enumerate() {
            let (pre, _) = raw_of(*k);
            self.item_prefix(&pre, level + 1, i == 0, after_newline, false);
            self.indent(level + 1);
            let key = self.slice(k.span()).to_string();
            self.out.push_str(&key);
            for _ in key.chars().count()..width {
                self.out.push(' ');
            }
            self.out.push_str(" = ");
            self.expr(v.expr(), level + 1);
            let (_, suf) = raw_of(v.expr());
            self.trailing(&suf);
            after_newline = v.terminator() == ObjectValueTerminator::Newline;
        }
        self.item_prefix(o.trailing(), level + 1, false, after_newline, true);
        self.indent(level);
        self.out.push('}');
    }
}

fn key_len(st: &Structure) -> usize {
    match st {
        Structure::Attribute(a) => a.key.as_str().chars().count(),
        Structure::Block(_) => 0,
    }
}

fn has_comment(raw: &str) -> bool {
    pieces(raw, false)
        .iter()
        .any(|p| matches!(p, Piece::Comment(_)))
}

fn trim_trailing_blanks(mut v: Vec<Piece>) -> Vec<Piece> {
    while matches!(v.last(), Some(Piece::Blank)) {
        v.pop();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::format_text;

    #[test]
    fn canonical_forms() {
        let cases = [
            ("a=1\n", "a = 1\n"),
            (
                "b {\nx=[1,2]\ny = {k=\"v\"}\n}\n",
                "b {\n  x = [1, 2]\n  y = { k = \"v\" }\n}\n",
            ),
            ("b {}\n\n\n\nc {}", "b {}\n\nc {}\n"),
            ("", ""),
        ];
        for (input, want) in cases {
            let got = format_text(input).unwrap();
            assert_eq!(got, want, "input {input:?}");
            assert_eq!(format_text(&got).unwrap(), got, "not idempotent: {input:?}");
        }
    }

    #[test]
    fn refuses_to_drop_a_comment() {
        // A comment between `=` and the value has no canonical place.
        let input = "a = /* why */ 1\n";
        assert!(format_text(input).is_err() || format_text(input).unwrap().contains("/* why */"));
    }
}
