//! Lowering: one file's syntax tree -> typed pieces of the model, with diagnostics.
//!
//! Each block is checked on its own here (attributes, types, values); checks
//! that need every file (duplicates, references, cycles) run in `check`.
//!
//! One file per kind of piece: [`settings`] (the `tether` block), [`account`]
//! (account blocks, per vendor), [`common`] (the attributes every account
//! takes: regions, resource types, tags, `depends_on`, `api_endpoint`),
//! [`secret`] (secret values are age ciphertext), [`moved`] (`moved`
//! blocks), [`ignore`] (drift's `ignore` rules); [`attrs`] reads a block's
//! attributes for all of them.

mod account;
mod attrs;
mod common;
mod ignore;
mod moved;
mod secret;
mod settings;

use std::path::Path;

use hcl::edit::Span as _;
use hcl::edit::structure::Structure;

use super::eval::Eval;
use super::model::*;
use super::suggest::did_you_mean;
use crate::diag::{Diagnostic, Diagnostics};
use crate::diag::{FileId, SourceFile, Span};

pub use account::{is_project_id, is_role_name, is_uuid};
pub use common::is_region;
pub use settings::check_recipient;

/// Everything lowered from all files, before cross-file checks.
#[derive(Default)]
pub(super) struct Lowered {
    pub settings: Vec<(Settings, Span)>,
    /// Every account block with a well-formed address, valid or not, in file order:
    /// references and duplicates are checked against these.
    pub declared: Vec<Declared>,
    /// The accounts that passed every per-block check.
    pub accounts: Vec<Account>,
    pub moved: Vec<Moved>,
    pub ignore: Vec<IgnoreRule>,
    /// Every `ignore` block's name, valid or not: names are unique.
    pub ignore_declared: Vec<(String, Span)>,
}

/// An account block's address and dependencies, kept even when the block has errors.
pub(super) struct Declared {
    pub address: Address,
    pub span: Span,
    pub depends_on: Vec<(Address, Span)>,
    /// A member's main account (`via`).
    pub via: Option<(Address, Span)>,
}

impl Lowered {
    /// Appends the pieces of a later file.
    pub fn extend(&mut self, other: Lowered) {
        self.settings.extend(other.settings);
        self.declared.extend(other.declared);
        self.accounts.extend(other.accounts);
        self.moved.extend(other.moved);
        self.ignore.extend(other.ignore);
        self.ignore_declared.extend(other.ignore_declared);
    }
}

const TOP_BLOCKS: &[&str] = &["tether", "account", "moved", "ignore"];

/// What of a file is lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// Every block.
    All,
    /// The `tether` settings block only (account and `moved` blocks are
    /// parsed, never checked): for commands that read nothing else.
    Settings,
}

pub(super) fn lower_file(
    dir: &Path,
    id: FileId,
    file: &SourceFile,
    scope: Scope,
    out: &mut Lowered,
    diags: &mut Diagnostics,
) {
    let body = match hcl::edit::parser::parse_body(&file.text) {
        Ok(b) => b,
        Err(e) => {
            diags.push(parse_error(id, file, &e));
            return;
        }
    };
    let mut l = Lower {
        dir,
        src: file,
        ev: Eval {
            file: id,
            text: &file.text,
        },
        diags: Vec::new(),
    };
    for st in body.iter() {
        match st {
            Structure::Attribute(a) => {
                let name = a.key.as_str();
                let mut d =
                    Diagnostic::error(format!("unexpected attribute `{name}` at top level"))
                        .at(l.span(a.span()));
                d = d.help(match name {
                    "state" | "snapshots" | "recipients" | "parallelism" => {
                        format!("`{name}` is a setting: put it inside the `tether {{ … }}` block")
                    }
                    _ => "attributes go inside a `tether` or `account` block".to_string(),
                });
                l.diags.push(d);
            }
            Structure::Block(b) => match b.ident.as_str() {
                "tether" => l.settings(b, out),
                "account" | "moved" | "ignore" if scope == Scope::Settings => {}
                "account" => l.account(b, out),
                "moved" => l.moved(b, out),
                "ignore" => l.ignore(b, out),
                other => {
                    let mut d = Diagnostic::error(format!("unknown block type `{other}`"))
                        .at(l.span(b.ident.span()));
                    d = match did_you_mean(other, TOP_BLOCKS) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("the blocks are `tether`, `account`, `moved` and `ignore`"),
                    };
                    l.diags.push(d);
                }
            },
        }
    }
    for d in l.diags {
        diags.push(d);
    }
}

fn parse_error(id: FileId, file: &SourceFile, e: &hcl::edit::parser::Error) -> Diagnostic {
    let loc = e.location();
    // The parser's location is 1-based line/column; map it back to a byte offset.
    let at = line_col_to_byte(&file.text, loc.line(), loc.column()).unwrap_or(loc.offset());
    let msg = e.message().trim();
    let summary = if msg.is_empty() {
        "syntax error".to_string()
    } else {
        format!("syntax error: {}", first_line(msg))
    };
    Diagnostic::error(summary).at(Span::new(id, at..at))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn line_col_to_byte(text: &str, line: usize, col: usize) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[start..];
    let off = rest
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    Some(start + off)
}

struct Lower<'a> {
    dir: &'a Path,
    src: &'a SourceFile,
    ev: Eval<'a>,
    diags: Vec<Diagnostic>,
}
