//! The `tether { … }` settings block: `state`, `snapshots`, `recipients`,
//! `parallelism`, and the check that a recipient parses.

use hcl::edit::structure::Block;

use super::Lower;
use super::Lowered;
use super::attrs::clip_value;
use crate::config::eval::{Spanned, Value};
use crate::config::model::*;
use crate::diag::Diagnostic;

const SETTINGS_ATTRS: &[&str] = &["state", "snapshots", "recipients", "parallelism"];

/// Most accounts one `parallelism` setting may ask for at once.
pub const MAX_PARALLELISM: u64 = 1000;

impl Lower<'_> {
    pub(super) fn settings(&mut self, b: &Block, out: &mut Lowered) {
        let header = self.header_span(b);
        if !b.labels.is_empty() {
            self.diags.push(
                Diagnostic::error("the `tether` block takes no labels")
                    .at(header.clone())
                    .help("write `tether { … }`"),
            );
            return;
        }
        if b.body.is_empty() {
            self.diags.push(
                Diagnostic::error("the `tether` settings block is empty")
                    .at(header)
                    .help("set at least one of `state`, `snapshots`, `recipients`, `parallelism`, or remove the block"),
            );
            return;
        }
        let mut a = self.attrs(
            header.clone(),
            &b.body,
            SETTINGS_ATTRS,
            "the `tether` block",
        );
        let mut s = Settings {
            span: Some(header.clone()),
            ..Settings::default()
        };
        if let Some((v, _)) = a.take("state") {
            if let Some(p) = self.path_setting("state", v) {
                s.state = p.into();
            }
        }
        if let Some((v, _)) = a.take("snapshots") {
            if let Some(p) = self.path_setting("snapshots", v) {
                s.snapshots = p.into();
            }
        }
        if let Some((v, _)) = a.take("parallelism") {
            match &v.v {
                Value::Number(n) => match n.parse::<u64>() {
                    Ok(p) if (1..=MAX_PARALLELISM).contains(&p) => s.parallelism = p as u32,
                    _ => self.diags.push(
                        Diagnostic::error(format!(
                            "`parallelism` must be a whole number from 1 to {MAX_PARALLELISM}, found {}",
                            clip_value(n)
                        ))
                        .at(v.span),
                    ),
                },
                other => self.wrong_type("parallelism", "number", other, v.span.clone()),
            }
        }
        if let Some((v, _)) = a.take("recipients") {
            if let Some(items) = self.string_list("recipients", v) {
                for (r, span) in items {
                    match check_recipient(&r) {
                        Ok(()) => {
                            s.recipients.push(r);
                            s.recipient_spans.push(span);
                        }
                        Err(msg) => self.diags.push(
                            Diagnostic::error(msg)
                                .at(span)
                                .sensitive_if(r.starts_with("AGE-SECRET-KEY-"))
                                .help("use an age recipient (`age1…`, printed by `tether secrets keygen` or `age-keygen -y`) or an SSH public key (`ssh-ed25519 AAAA…`, `ssh-rsa AAAA…`)"),
                        ),
                    }
                }
            }
        }
        out.settings.push((s, a.header));
    }

    fn path_setting(&mut self, name: &str, v: Spanned<Value>) -> Option<String> {
        match v.v {
            Value::String(s) if !s.trim().is_empty() => {
                if s.contains('\0') {
                    self.diags.push(
                        Diagnostic::error(format!("`{name}` contains a NUL byte")).at(v.span),
                    );
                    return None;
                }
                Some(s)
            }
            Value::String(_) => {
                self.diags
                    .push(Diagnostic::error(format!("`{name}` must not be empty")).at(v.span));
                None
            }
            other => {
                self.wrong_type(name, "string", &other, v.span);
                None
            }
        }
    }
}

/// Checks that a recipient string parses as an age or SSH recipient.
pub fn check_recipient(r: &str) -> Result<(), String> {
    let shown = clip_value(r);
    if r.starts_with("age1") {
        r.parse::<age::x25519::Recipient>()
            .map(|_| ())
            .map_err(|e| format!("recipient \"{shown}\" is not a valid age X25519 key: {e}"))
    } else if r.starts_with("ssh-") {
        r.parse::<age::ssh::Recipient>()
            .map(|_| ())
            .map_err(|_| format!("recipient \"{shown}\" is not a supported SSH public key (ssh-ed25519 or ssh-rsa of at least 2048 bits)"))
    } else if r.starts_with("AGE-SECRET-KEY-") {
        // Never echo a private key back.
        Err("this is an age identity (a private key), not a recipient; use its public key (`age-keygen -y`)".into())
    } else {
        Err(format!(
            "recipient \"{shown}\" is neither an age (`age1…`) nor an SSH public key"
        ))
    }
}
