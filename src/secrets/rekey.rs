//! Re-encryption of every secret to the current recipients (`tether secrets rekey`).
//!
//! Everything is decrypted and re-encrypted in memory first ([`plan_config`]);
//! only then are files written ([`apply`]), each atomically. A failure before
//! the first write leaves every file as it was.
//!
//! The state half is [`reencrypt_armored`]: `secrets rekey` passes the armored
//! ciphertexts the state holds and writes what comes back through the state
//! store, under the state lock, after the config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::decrypt::{self, Ciphertext, Origin};
use super::edit::{self, NewValue};
use super::encrypt;
use super::identity::Identities;
use super::recipient::Recipients;
use crate::config::{Config, FileId, SecretSource};
use crate::error::{Error, Result};

/// Re-encrypts each ciphertext to `recipients`: armored input gives armored
/// output, binary gives binary. Output is in input order.
pub fn reencrypt(
    items: &[Ciphertext],
    ids: &Identities,
    recipients: &Recipients,
) -> Result<Vec<Vec<u8>>> {
    let plain = decrypt::decrypt_all(items, ids)?;
    items
        .iter()
        .zip(&plain)
        .map(|(c, p)| {
            let out = if c.is_armored() {
                encrypt::armored(p.expose(), recipients).map(String::into_bytes)
            } else {
                encrypt::binary(p.expose(), recipients)
            };
            out.map_err(|e| c.origin.error(e.to_string()))
        })
        .collect()
}

/// Extension point for the state store: re-encrypts armored ciphertexts (as held
/// in state) to `recipients`, returning armored text in input order. Nothing is
/// written here; the caller writes the state once, atomically, under its lock.
pub fn reencrypt_armored(
    items: &[Ciphertext],
    ids: &Identities,
    recipients: &Recipients,
) -> Result<Vec<String>> {
    reencrypt(items, ids, recipients)?
        .into_iter()
        .zip(items)
        .map(|(b, c)| {
            String::from_utf8(b).map_err(|_| c.origin.error("the ciphertext is not armored text"))
        })
        .collect()
}

/// One file to write.
#[derive(Debug)]
pub struct FileWrite {
    pub path: PathBuf,
    /// As shown to the user (relative to the config dir).
    pub shown: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
}

/// What a rekey of the config will do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Every secret re-encrypted, in address order.
    pub secrets: Vec<Origin>,
    /// The files to write: `.age` files first, then config files.
    pub writes: Vec<FileWrite>,
}

enum Target {
    Inline(FileId, std::ops::Range<usize>),
    File(PathBuf, String),
}

/// Decrypts every secret of `config` and re-encrypts it to `recipients`, in memory.
pub fn plan_config(config: &Config, ids: &Identities, recipients: &Recipients) -> Result<Plan> {
    let items = decrypt::config_ciphertexts(config)?;
    // The same order as config_ciphertexts: accounts with a secret, by address.
    let mut targets = Vec::with_capacity(items.len());
    for account in config.accounts.values() {
        let Some(s) = account.vendor.secret() else {
            continue;
        };
        targets.push(match &s.source {
            SecretSource::Inline { .. } => {
                let span = s.span.clone().ok_or_else(|| {
                    Error::Usage(format!("no source span for `{}`", account.address))
                })?;
                Target::Inline(span.file, span.range)
            }
            SecretSource::File { path, resolved } => {
                Target::File(config.dir.join(resolved), path.clone())
            }
        });
    }
    let fresh = reencrypt(&items, ids, recipients)?;
    let mut plan = Plan {
        secrets: items.iter().map(|c| c.origin.clone()).collect(),
        writes: Vec::new(),
    };
    let mut edits: BTreeMap<FileId, Vec<(std::ops::Range<usize>, String)>> = BTreeMap::new();
    let mut seen_files = std::collections::BTreeSet::new();
    for ((target, bytes), item) in targets.into_iter().zip(fresh).zip(&items) {
        match target {
            Target::File(path, shown) => {
                if seen_files.insert(path.clone()) {
                    plan.writes.push(FileWrite {
                        path,
                        shown,
                        bytes,
                        mode: 0o600,
                    });
                }
            }
            Target::Inline(file, range) => {
                let text = &config.sources.get(file).text;
                let armored = String::from_utf8(bytes)
                    .map_err(|_| item.origin.error("the new ciphertext is not text"))?;
                let indent = edit::line_indent(text, range.start);
                let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
                edits
                    .entry(file)
                    .or_default()
                    .push((range, edit::render(NewValue::Inline(&armored), &indent, nl)));
            }
        }
    }
    for (file, list) in edits {
        let src = config.sources.get(file);
        let text = edit::replace(&src.text, list);
        edit::check_parses(&text, &src.name)?;
        plan.writes.push(FileWrite {
            path: src.path.clone(),
            shown: src.name.clone(),
            bytes: text.into_bytes(),
            mode: crate::fsutil::file_mode(&src.path).unwrap_or(0o644),
        });
    }
    Ok(plan)
}

/// Writes every file of the plan, each atomically.
pub fn apply(plan: &Plan) -> Result<()> {
    for w in &plan.writes {
        tracing::debug!(file = %w.shown, bytes = w.bytes.len(), "writing re-encrypted file");
        crate::fsutil::write_atomic(&w.path, &w.bytes, Some(w.mode))?;
    }
    Ok(())
}
