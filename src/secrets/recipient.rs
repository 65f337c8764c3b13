//! Recipients: who secrets are encrypted to (`age1…` X25519 keys, `ssh-ed25519` and
//! `ssh-rsa` public keys).
//!
//! They come from the `tether { recipients = […] }` setting (checked at validate
//! time by [`config::check_recipient`], whose messages are reused here) or from
//! `-r` on the command line. [`from_files`] reads the setting straight from the
//! raw files, so `secrets set` and `secrets encrypt` work while the config is
//! otherwise invalid (the plaintext-to-ciphertext migration case).

use std::path::Path;

use hcl::edit::Span as _;
use hcl::edit::expr::Expression;
use hcl::edit::structure::Structure;

use crate::config::{self, SourceFile};
use crate::error::{Error, Result};

/// A recipient tether can encrypt to.
pub type Recipient = Box<dyn age::Recipient + Send + Sync>;

/// Recipients, parsed, with the strings they were parsed from.
pub struct Recipients {
    list: Vec<Recipient>,
    keys: Vec<String>,
}

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.keys).finish()
    }
}

impl Recipients {
    /// Parses `(recipient, location)` pairs; the first that does not parse is the error.
    pub fn parse<'a>(
        items: impl IntoIterator<Item = (&'a str, Option<String>)>,
    ) -> Result<Recipients> {
        let mut list = Vec::new();
        let mut keys = Vec::new();
        for (r, location) in items {
            list.push(parse_one(r, location)?);
            keys.push(r.trim().to_string());
        }
        Ok(Recipients { list, keys })
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Recipient> {
        self.list.iter().map(|r| r.as_ref() as &dyn age::Recipient)
    }

    /// The recipient strings, as written.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Parses one recipient string.
pub fn parse_one(r: &str, location: Option<String>) -> Result<Recipient> {
    let r = r.trim();
    let shown = clip(r);
    let fail = |reason: String| Error::Recipient {
        recipient: shown.clone(),
        location: location.clone(),
        reason,
    };
    if r.starts_with("AGE-SECRET-KEY-") {
        // Never echo a private key back.
        return Err(Error::Recipient {
            recipient: "AGE-SECRET-KEY-…".into(),
            location: location.clone(),
            reason: "this is an age identity (a private key), not a recipient; use its public key (`age-keygen -y`)".into(),
        });
    }
    if let Err(msg) = config::check_recipient(r) {
        return Err(fail(strip_prefix_message(&msg, &shown)));
    }
    if r.starts_with("age1") {
        r.parse::<age::x25519::Recipient>()
            .map(|k| Box::new(k) as Recipient)
            .map_err(|e| fail(e.to_string()))
    } else {
        r.parse::<age::ssh::Recipient>()
            .map(|k| Box::new(k) as Recipient)
            .map_err(|_| fail("not a supported SSH public key".into()))
    }
}

/// `check_recipient` says `recipient "…" is …`; the error variant already names it.
fn strip_prefix_message(msg: &str, shown: &str) -> String {
    msg.strip_prefix(&format!("recipient \"{shown}\" "))
        .unwrap_or(msg)
        .to_string()
}

fn clip(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The hint shown when there is no recipient.
pub const NO_RECIPIENTS_HINT: &str = "add `recipients = [\"age1…\"]` to the `tether { … }` block (`tether secrets keygen` prints a recipient)";

/// The `recipients` setting read from the raw `*.hcl` files of `dir`, without
/// validating the rest of the config. Errors when a file does not parse, when the
/// setting is malformed, or when there is no recipient.
pub fn from_files(dir: &Path) -> Result<Recipients> {
    let sources = config::files::read_dir(dir)?;
    let mut found: Vec<(String, String)> = Vec::new();
    for (_, file) in sources.iter() {
        found.extend(settings_recipients(file)?);
    }
    if found.is_empty() {
        return Err(Error::NoRecipients {
            hint: format!("{NO_RECIPIENTS_HINT}, or pass -r RECIPIENT"),
        });
    }
    Recipients::parse(found.iter().map(|(r, l)| (r.as_str(), Some(l.clone()))))
}

/// `(recipient, file:line:col)` of every entry in the `tether` blocks of one file.
fn settings_recipients(file: &SourceFile) -> Result<Vec<(String, String)>> {
    let at = |byte: usize| file.location(byte);
    let body = super::edit::parse(
        file,
        "the file does not parse; run `tether validate` for details",
    )?;
    let mut out = Vec::new();
    for st in body.iter() {
        let Structure::Block(b) = st else { continue };
        if b.ident.as_str() != "tether" {
            continue;
        }
        let Some(attr) = b.body.get_attribute("recipients") else {
            continue;
        };
        let start = |e: &Expression| e.span().map(|r| r.start).unwrap_or(0);
        let Expression::Array(items) = &attr.value else {
            return Err(Error::Edit {
                location: at(start(&attr.value)),
                reason: "`recipients` must be a list of strings".into(),
            });
        };
        for it in items.iter() {
            match it {
                Expression::String(s) => out.push((s.value().to_string(), at(start(it)))),
                _ => {
                    return Err(Error::Edit {
                        location: at(start(it)),
                        reason: "`recipients` must contain only literal strings".into(),
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x25519_and_ssh_parse_and_garbage_names_where() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        let ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@rust";
        let rs = Recipients::parse([(r.as_str(), None), (ed, None)]).unwrap();
        assert_eq!(rs.len(), 2);
        let e = Recipients::parse([("age1notakey", Some("main.hcl:3:17".into()))]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("main.hcl:3:17: recipient \"age1notakey\""),
            "{msg}"
        );
        let e = Recipients::parse([("AGE-SECRET-KEY-1SECRETCANARY", None)]).unwrap_err();
        assert!(!e.to_string().contains("SECRETCANARY"));
    }
}
