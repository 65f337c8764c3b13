//! The `tether { … }` settings block: `state`, `snapshots`, `recipients`,
//! `parallelism`, `max_key_age`, `secret_expiry_warning`, and the check
//! that a recipient parses.

use hcl::edit::structure::Block;

use super::Lower;
use super::Lowered;
use super::attrs::clip_value;
use crate::config::eval::{Spanned, Value};
use crate::config::model::*;
use crate::diag::Diagnostic;

const SETTINGS_ATTRS: &[&str] = &[
    "state",
    "snapshots",
    "recipients",
    "parallelism",
    "max_key_age",
    "secret_expiry_warning",
    "require_declared_members",
    "backend",
    "pg_schema",
    "workspace",
    // Never accepted: taken only to say where the connection comes from.
    "password",
    "pg_password",
    "conn_str",
    "pg_conn_str",
    "connection_string",
];

/// Attributes that would put the backend's credentials into the config.
const CREDENTIAL_ATTRS: &[&str] = &[
    "password",
    "pg_password",
    "conn_str",
    "pg_conn_str",
    "connection_string",
];

/// Longest `max_key_age` or `secret_expiry_warning`: ten years.
pub const MAX_DAYS: u32 = 3650;

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
                    .help("set at least one of `state`, `snapshots`, `recipients`, `parallelism`, `backend`, or remove the block"),
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
        for (name, days) in [
            ("max_key_age", &mut s.max_key_age),
            ("secret_expiry_warning", &mut s.secret_expiry_warning),
        ] {
            if let Some((v, _)) = a.take(name) {
                match &v.v {
                    Value::Number(n) => match n.parse::<u32>() {
                        Ok(d) if (1..=MAX_DAYS).contains(&d) => *days = d,
                        _ => self.diags.push(
                            Diagnostic::error(format!(
                                "`{name}` must be a whole number of days from 1 to {MAX_DAYS}, found {}",
                                clip_value(n)
                            ))
                            .at(v.span),
                        ),
                    },
                    other => {
                        let d = Diagnostic::error(format!(
                            "`{name}` must be a number of days, found {}",
                            other.type_name()
                        ))
                        .at(v.span.clone());
                        self.diags.push(match other {
                            Value::String(t) => d.help(format!(
                                "write the days as a number: `{name} = {}`",
                                t.trim_end_matches(['d', 'D']).trim()
                            )),
                            _ => d,
                        });
                    }
                }
            }
        }
        if let Some((v, _)) = a.take("require_declared_members") {
            match &v.v {
                Value::Bool(b) => s.require_declared_members = *b,
                other => self.wrong_type("require_declared_members", "bool", other, v.span.clone()),
            }
        }
        for name in CREDENTIAL_ATTRS {
            if let Some((v, _)) = a.take(name) {
                self.diags.push(
                    Diagnostic::error(format!(
                        "`{name}` cannot be set in the config: a connection string or password in a repository is a leaked credential"
                    ))
                    .at(v.span)
                    .sensitive_if(true)
                    .help("the pg backend connects with TETHER_PG_CONN_STR (a libpq URI or key=value string) or the standard PG* variables (PGHOST, PGUSER, PGPASSWORD, …); remove this line and set them in the environment (a CI secret)"),
                );
            }
        }
        if let Some((v, _)) = a.take("backend") {
            match &v.v {
                Value::String(b) if b == "local" => s.backend = BackendKind::Local,
                Value::String(b) if b == "pg" => s.backend = BackendKind::Pg,
                Value::String(b) => self.diags.push(
                    Diagnostic::error(format!(
                        "`backend` must be \"local\" or \"pg\", found \"{}\"",
                        clip_value(b)
                    ))
                    .at(v.span),
                ),
                other => self.wrong_type("backend", "string", other, v.span.clone()),
            }
        }
        if let Some((v, _)) = a.take("pg_schema") {
            let span = v.span.clone();
            if let Some(name) = self.path_setting("pg_schema", v) {
                if is_identifier(&name) {
                    s.pg_schema = name;
                } else {
                    self.diags.push(
                        Diagnostic::error(format!(
                            "`pg_schema` must be a plain PostgreSQL identifier (a lowercase letter or `_`, then up to 62 lowercase letters, digits or `_`), found \"{}\"",
                            clip_value(&name)
                        ))
                        .at(span.clone()),
                    );
                }
            }
        }
        if let Some((v, _)) = a.take("workspace") {
            let span = v.span.clone();
            if let Some(name) = self.path_setting("workspace", v) {
                if is_workspace(&name) {
                    s.workspace = name;
                } else {
                    self.diags.push(
                        Diagnostic::error(format!(
                            "`workspace` must be 1 to 90 letters, digits, `-`, `_` or `.`, found \"{}\"",
                            clip_value(&name)
                        ))
                        .at(span.clone()),
                    );
                }
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

/// A name PostgreSQL takes unquoted: `[a-z_][a-z0-9_]{0,62}`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && s.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

fn is_workspace(s: &str) -> bool {
    (1..=90).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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
