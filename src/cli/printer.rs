//! The one printer: every byte tether writes to stdout or stderr goes through here.
//!
//! Enforced: `clippy.toml` disallows `std::io::stdout`/`stderr` and the
//! library denies the `print!` family (`src/lib.rs`); this module alone is
//! allowed them. The progress bar (indicatif, `cli::progress`) draws on
//! stderr itself, and only when stderr is a terminal.

#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use crate::config::{Diagnostic, Diagnostics, Severity, Sources, snippet_line};
use crate::error::Error;

/// ANSI styles, used only when colour is on.
#[derive(Clone, Copy)]
pub enum Style {
    Red,
    Yellow,
    Green,
    Cyan,
    Bold,
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        use crate::render::palette;
        match self {
            Style::Red => palette::ERROR,
            Style::Yellow => palette::WARNING,
            Style::Green => palette::ADDED,
            Style::Cyan => palette::NOTE,
            Style::Bold => palette::BOLD,
            Style::Dim => palette::DIM,
        }
    }
}

pub struct Printer {
    pub color_out: bool,
    pub color_err: bool,
}

impl Printer {
    /// Colour only on a terminal, and never with `--no-color` or `NO_COLOR`.
    pub fn new(no_color: bool) -> Printer {
        let allowed = !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            color_out: allowed && std::io::stdout().is_terminal(),
            color_err: allowed && std::io::stderr().is_terminal(),
        }
    }

    pub fn plain() -> Printer {
        Printer {
            color_out: false,
            color_err: false,
        }
    }

    pub fn paint(&self, on: bool, style: Style, text: &str) -> String {
        crate::render::palette::paint(on, style.code(), text)
    }

    /// Writes to stdout; a closed pipe is not an error worth a panic.
    pub fn out(&self, text: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(text.as_bytes());
        let _ = o.flush();
    }

    pub fn err(&self, text: &str) {
        stderr_bytes(text.as_bytes());
    }

    /// Prints a failed command's error to stderr.
    pub fn error(&self, e: &Error) {
        match e {
            Error::Config {
                sources,
                diagnostics,
            } => self.err(&self.diagnostics(sources, diagnostics, self.color_err)),
            other => {
                let mut shown = other.to_string();
                let mut s = format!(
                    "{} {shown}\n",
                    self.paint(self.color_err, Style::Red, "error:")
                );
                // Each cause once: one the message already says is not repeated.
                let mut src = std::error::Error::source(other);
                while let Some(cause) = src {
                    let text = cause.to_string();
                    if !shown.contains(&text) {
                        let _ = writeln!(s, "  caused by: {text}");
                        shown.push_str(&text);
                    }
                    src = cause.source();
                }
                self.err(&s);
            }
        }
    }

    /// The warning printed when a lock a dead run left is taken over.
    pub fn lock_takeover(
        &self,
        path: &std::path::Path,
        of: crate::error::LockOf,
        info: &crate::state::LockInfo,
    ) -> String {
        let subject = of.subject();
        let crate::state::LockInfo {
            id,
            holder,
            pid,
            host,
            operation,
            started,
            ..
        } = info;
        let elsewhere = if *host == crate::state::lock::hostname() {
            String::new()
        } else {
            format!(
                "; it names another host, {host}, but a free lock on this local file \
                 means no run holds it"
            )
        };
        let check = if of == crate::error::LockOf::State {
            "; that run may have stopped half-way: `tether plan` shows what is left to do"
        } else {
            ""
        };
        format!(
            "{} took over {subject} lock {} left by a run that is gone: {holder}, pid {pid} on {host}, \
             `{operation}` since {started} (lock ID {id}){elsewhere}{check}\n",
            self.paint(self.color_err, Style::Yellow, "warning:"),
            path.display()
        )
    }

    /// Renders diagnostics as text, rustc style, with a summary line.
    pub fn diagnostics(&self, sources: &Sources, diags: &Diagnostics, color: bool) -> String {
        let mut s = String::new();
        for d in diags.iter() {
            self.diagnostic(&mut s, sources, d, color);
            s.push('\n');
        }
        let (e, w) = (diags.error_count(), diags.warning_count());
        if e > 0 {
            let _ = writeln!(
                s,
                "{} {e} error{}{}",
                self.paint(color, Style::Red, "error:"),
                if e == 1 { "" } else { "s" },
                if w > 0 {
                    format!(", {w} warning{}", if w == 1 { "" } else { "s" })
                } else {
                    String::new()
                }
            );
        }
        s
    }

    fn diagnostic(&self, s: &mut String, sources: &Sources, d: &Diagnostic, color: bool) {
        let (label, style) = match d.severity {
            Severity::Error => ("error:", Style::Red),
            Severity::Warning => ("warning:", Style::Yellow),
        };
        let _ = writeln!(
            s,
            "{} {}",
            self.paint(color, style, label),
            self.paint(color, Style::Bold, &d.summary)
        );
        if let (Some(span), Some(snip)) = (&d.span, snippet_line(d, sources)) {
            let f = sources.get(span.file);
            let start = f.pos(span.range.start);
            let gutter = snip.line.to_string().len();
            let pad = " ".repeat(gutter);
            let _ = writeln!(
                s,
                "{pad}{} {}:{}:{}",
                self.paint(color, Style::Cyan, "-->"),
                f.name,
                start.line,
                start.column
            );
            let bar = self.paint(color, Style::Cyan, "|");
            let _ = writeln!(s, "{pad} {bar}");
            let _ = writeln!(
                s,
                "{} {bar} {}",
                self.paint(color, Style::Cyan, &snip.line.to_string()),
                snip.text
            );
            let carets = "^".repeat(snip.to - snip.from);
            let _ = writeln!(
                s,
                "{pad} {bar} {}{}",
                " ".repeat(snip.from),
                self.paint(color, style, &carets)
            );
        }
        if let Some(detail) = &d.detail {
            for l in detail.lines() {
                let _ = writeln!(s, "  {l}");
            }
        }
        if let Some(help) = &d.help {
            let _ = writeln!(s, "  {} {help}", self.paint(color, Style::Cyan, "help:"));
        }
    }
}

/// Writes bytes to stderr at once (the redacted log sink, progress lines).
pub(crate) fn stderr_bytes(bytes: &[u8]) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(bytes);
    let _ = e.flush();
}

/// Whether stderr is a terminal (a progress bar, or plain lines for CI logs).
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
