//! Reading one block's attributes: evaluation, with unknown, repeated and
//! nested ones reported; typed reads (strings, lists of strings, account
//! references) and the messages about a value of the wrong type.

use std::collections::BTreeMap;

use hcl::edit::Span as _;
use hcl::edit::structure::{Block, Body, Structure};

use super::Lower;
use super::account::vendor_attrs;
use crate::config::eval::{Spanned, Value};
use crate::config::model::*;
use crate::config::suggest::did_you_mean;
use crate::diag::{Diagnostic, Span};

/// The attributes of one block, evaluated, with the block's header span.
pub(super) struct Attrs {
    pub(super) header: Span,
    values: BTreeMap<String, (Spanned<Value>, Span)>,
    /// Attributes present but already reported (bad value, or a typo whose
    /// "did you mean" names them): never also reported as missing.
    reported: std::collections::BTreeSet<String>,
}

impl Attrs {
    pub(super) fn take(&mut self, name: &str) -> Option<(Spanned<Value>, Span)> {
        self.values.remove(name)
    }
}

impl Lower<'_> {
    pub(super) fn span(&self, r: Option<std::ops::Range<usize>>) -> Span {
        self.ev.span_of(r)
    }

    /// Header span: from the block identifier to the end of its last label.
    pub(super) fn header_span(&self, b: &Block) -> Span {
        let start = b.ident.span().map(|r| r.start).unwrap_or(0);
        let end = b
            .labels
            .last()
            .and_then(|l| l.span())
            .or_else(|| b.ident.span())
            .map(|r| r.end)
            .unwrap_or(start);
        Span::new(self.ev.file, start..end)
    }

    /// Evaluates the attributes of `body`; unknown ones, duplicates and nested
    /// blocks are reported. `allowed` lists every known attribute.
    pub(super) fn attrs(
        &mut self,
        header: Span,
        body: &Body,
        allowed: &[&str],
        what: &str,
    ) -> Attrs {
        let mut values: BTreeMap<String, (Spanned<Value>, Span)> = BTreeMap::new();
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        let mut reported = std::collections::BTreeSet::new();
        for st in body.iter() {
            match st {
                Structure::Attribute(a) => {
                    let name = a.key.as_str();
                    let key_span = self.span(a.key.span());
                    if let Some(first) = seen.get(name) {
                        let line = self.src.pos(first.range.start).line;
                        self.diags.push(
                            Diagnostic::error(format!("attribute `{name}` is set twice"))
                                .at(key_span)
                                .detail(format!("first set on line {line}"))
                                .help("remove one of them"),
                        );
                        continue;
                    }
                    seen.insert(name.to_string(), key_span.clone());
                    if !allowed.contains(&name) {
                        let d = Diagnostic::error(format!("unknown attribute `{name}` in {what}"))
                            .at(key_span);
                        if let Some(s) = did_you_mean(name, allowed) {
                            reported.insert(s.to_string());
                        }
                        self.diags.push(self.unknown_attr_help(d, name, allowed));
                        continue;
                    }
                    let mut ds = Vec::new();
                    match self.ev.eval(&a.value, &mut ds) {
                        Some(v) => {
                            values.insert(name.to_string(), (v, key_span));
                        }
                        None => {
                            reported.insert(name.to_string());
                        }
                    }
                    self.diags.extend(ds);
                }
                Structure::Block(b) => {
                    let name = b.ident.as_str();
                    let mut d = Diagnostic::error(format!("unexpected block `{name}` in {what}"))
                        .at(self.span(b.ident.span()));
                    d = if allowed.contains(&name) {
                        d.help(format!("`{name}` is an attribute: write `{name} = …`"))
                    } else {
                        d.help(format!("{what} takes attributes only"))
                    };
                    self.diags.push(d);
                }
            }
        }
        Attrs {
            header,
            values,
            reported,
        }
    }

    fn unknown_attr_help(&self, d: Diagnostic, name: &str, allowed: &[&str]) -> Diagnostic {
        if let Some(s) = did_you_mean(name, allowed) {
            return d.help(format!("did you mean `{s}`?"));
        }
        for v in Vendor::ALL {
            if vendor_attrs(v).contains(&name) {
                return d.help(format!("`{name}` belongs to `{v}` accounts"));
            }
        }
        d.help(format!(
            "the attributes here are: {}",
            allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    pub(super) fn wrong_type(&mut self, name: &str, expected: &str, found: &Value, span: Span) {
        let mut d = Diagnostic::error(format!(
            "`{name}` must be a {expected}, found {}",
            found.type_name()
        ))
        .at(span);
        if expected == "string" {
            if let Value::Number(n) = found {
                d = d.help(format!("quote it: `{name} = \"{}\"`", clip_value(n)));
            }
        }
        self.diags.push(d);
    }

    pub(super) fn string_list(
        &mut self,
        name: &str,
        v: Spanned<Value>,
    ) -> Option<Vec<(String, Span)>> {
        let Value::List(items) = v.v else {
            let mut d = Diagnostic::error(format!(
                "`{name}` must be a list of strings, found {}",
                v.v.type_name()
            ))
            .at(v.span);
            if let Value::String(_) = v.v {
                d = d.help(format!("wrap it in brackets: `{name} = [\"…\"]`"));
            }
            self.diags.push(d);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for it in items {
            match it.v {
                Value::String(s) => out.push((s, it.span)),
                other => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::error(format!(
                            "`{name}` must contain only strings, found {}",
                            other.type_name()
                        ))
                        .at(it.span),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// Span of an attribute's value expression in `body`.
    pub(super) fn value_span(&self, body: &Body, name: &str) -> Span {
        self.span(body.get_attribute(name).and_then(|a| a.value.span()))
    }

    pub(super) fn required_string(
        &mut self,
        a: &mut Attrs,
        addr: &Address,
        attr: &str,
    ) -> Option<String> {
        match a.take(attr) {
            None if a.reported.contains(attr) => None,
            None => {
                self.diags.push(
                    Diagnostic::error(format!("missing required attribute `{attr}` in `{addr}`"))
                        .at(a.header.clone())
                        .help(format!("add `{attr} = \"…\"` to the block")),
                );
                None
            }
            Some((v, _)) => match v.v {
                Value::String(s) if !s.trim().is_empty() => Some(s),
                Value::String(_) => {
                    self.diags
                        .push(Diagnostic::error(format!("`{attr}` must not be empty")).at(v.span));
                    None
                }
                other => {
                    self.wrong_type(attr, "string", &other, v.span);
                    None
                }
            },
        }
    }
}

/// A reference value (`aws.prod` or "aws.prod") as an address; `None` when the value is neither.
pub(super) fn reference(v: &Value) -> Option<Result<Address, AddressError>> {
    match v {
        Value::Ref(parts) => Some(parts.join(".").parse()),
        Value::String(s) => Some(s.parse()),
        _ => None,
    }
}

/// Values echoed in messages are cut so a huge value never floods the output.
pub(super) fn clip_value(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
