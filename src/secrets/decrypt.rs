//! Decryption of secrets: inline armored values and `file()` values (armored or
//! binary), one at a time or many in parallel.
//!
//! Invariants: plaintext only ever lands in a [`Secret`]; every error names the
//! account address, the attribute and `file:line:col` ([`Origin`]), and says
//! which identity source was tried, never the plaintext.

use std::io::Read;
use std::path::Path;

use age::DecryptError;
use age::armor::ArmoredReader;
use rayon::prelude::*;

use super::identity::Identities;
use super::secret::Secret;
use crate::config::{AGE_ARMOR_BEGIN, Account, Config, SecretSource, Sources};
use crate::error::{Error, Result};

/// Largest ciphertext read from a `file()`.
pub const MAX_CIPHERTEXT_BYTES: u64 = 16 * 1024 * 1024;

/// Below this many values, decryption stays on the calling thread.
const PARALLEL_FROM: usize = 32;

/// Where a ciphertext belongs: shown in every error about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Account address (`aws.prod`).
    pub address: String,
    /// Attribute (`secret_access_key`).
    pub attribute: String,
    /// `file:line:col` of the value, or the state file.
    pub location: String,
}

impl Origin {
    pub fn error(&self, reason: impl Into<String>) -> Error {
        Error::Secret {
            address: self.address.clone(),
            attribute: self.attribute.clone(),
            location: self.location.clone(),
            reason: reason.into(),
        }
    }
}

/// A ciphertext and where it belongs.
#[derive(Debug, Clone)]
pub struct Ciphertext {
    pub origin: Origin,
    pub bytes: Vec<u8>,
}

impl Ciphertext {
    /// True when the bytes are ASCII-armored (after leading whitespace).
    pub fn is_armored(&self) -> bool {
        is_armored(&self.bytes)
    }
}

pub fn is_armored(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes[start..].starts_with(AGE_ARMOR_BEGIN.as_bytes())
}

/// Decrypts one age file (armored or binary) with the first identity that matches.
/// The error is a reason without the origin; see [`decrypt`].
pub fn decrypt_bytes(bytes: &[u8], ids: &Identities) -> std::result::Result<Secret, String> {
    let start = if is_armored(bytes) {
        bytes
            .iter()
            .position(|c| !c.is_ascii_whitespace())
            .unwrap_or(0)
    } else {
        0
    };
    let input = ArmoredReader::new(&bytes[start..]);
    let d =
        age::Decryptor::new_buffered(std::io::BufReader::new(input)).map_err(|e| reason(e, ids))?;
    if d.is_scrypt() {
        return Err("it is encrypted with a passphrase; tether secrets use recipients (`tether secrets rekey` after `tether secrets set`)".into());
    }
    let mut r = d.decrypt(ids.iter()).map_err(|e| reason(e, ids))?;
    // The plaintext is never longer than the ciphertext: one allocation, no stray copies.
    let s = Secret::read_from(&mut r, bytes.len()).map_err(|e| io_reason(&e))?;
    Ok(s)
}

/// Decrypts one ciphertext; errors name its origin.
pub fn decrypt(c: &Ciphertext, ids: &Identities) -> Result<Secret> {
    decrypt_bytes(&c.bytes, ids).map_err(|r| c.origin.error(r))
}

/// Decrypts every ciphertext, in parallel when there are many. Results are in
/// input order; on failure the first failing value (in input order) is the error.
pub fn decrypt_all(items: &[Ciphertext], ids: &Identities) -> Result<Vec<Secret>> {
    // At most one worker per PARALLEL_FROM values: fewer stay on this thread.
    let threads = rayon::current_num_threads()
        .min(items.len() / PARALLEL_FROM)
        .max(1);
    let results: Vec<Result<Secret>> = crate::cores::run(|| {
        items
            .par_iter()
            .with_min_len(PARALLEL_FROM)
            .map(|c| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decrypt(c, ids)))
                    .unwrap_or_else(|_| Err(Error::Usage("a decryption thread panicked".into())))
            })
            .collect()
    });
    tracing::debug!(count = items.len(), threads, "decrypted secrets");
    results.into_iter().collect()
}

/// The ciphertext of every secret declared in a validated config, in address order.
/// `file()` values are read here; a missing or unreadable file is an error naming
/// the account, the attribute and the value's `file:line:col`.
pub fn config_ciphertexts(config: &Config) -> Result<Vec<Ciphertext>> {
    let mut out = Vec::new();
    for account in config.accounts.values() {
        if let Some(c) = account_ciphertext(config, account)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// The ciphertext of one account's declared secret (`None` when omitted).
pub fn account_ciphertext(config: &Config, account: &Account) -> Result<Option<Ciphertext>> {
    let Some(secret) = account.vendor.secret() else {
        return Ok(None);
    };
    let origin = Origin {
        address: account.address.to_string(),
        attribute: secret.attribute.clone(),
        location: location(&config.sources, secret.span.as_ref()),
    };
    let bytes = match &secret.source {
        SecretSource::Inline { armored } => armored.as_bytes().to_vec(),
        SecretSource::File { path, resolved } => {
            read_ciphertext_file(&config.dir.join(resolved))
                .map_err(|why| origin.error(format!("secret file \"{path}\" {why}")))?
        }
    };
    Ok(Some(Ciphertext { origin, bytes }))
}

/// `file:line:col` of a span, or `(unknown location)`.
pub fn location(sources: &Sources, span: Option<&crate::config::Span>) -> String {
    match span {
        Some(s) if s.file.0 < sources.len() => sources.location(s),
        _ => "(unknown location)".into(),
    }
}

/// Reads an age file, bounded; the error is a reason ("cannot be read: no such file").
pub fn read_ciphertext_file(path: &Path) -> std::result::Result<Vec<u8>, String> {
    // Never blocks on a FIFO; only a regular file is read.
    let f = crate::fsutil::open_regular(path)
        .map_err(|e| format!("cannot be read: {}", io_reason(&e)))?;
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        return Err("cannot be read: it is a directory".into());
    }
    let mut bytes = Vec::new();
    f.take(MAX_CIPHERTEXT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {}", io_reason(&e)))?;
    if bytes.len() as u64 > MAX_CIPHERTEXT_BYTES {
        return Err(format!("is larger than {MAX_CIPHERTEXT_BYTES} bytes"));
    }
    Ok(bytes)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::UnexpectedEof => {
            "the ciphertext is truncated or damaged (it ends early)".into()
        }
        std::io::ErrorKind::InvalidData => {
            format!("the ciphertext is damaged or truncated ({e})")
        }
        _ => e.to_string(),
    }
}

fn reason(e: DecryptError, ids: &Identities) -> String {
    match e {
        DecryptError::NoMatchingKeys => format!(
            "no identity from {} can decrypt it (it is encrypted to other recipients); use a matching identity, or have someone who holds one run `tether secrets rekey`",
            ids.describe()
        ),
        DecryptError::InvalidHeader | DecryptError::UnknownFormat => {
            "the ciphertext is damaged: its age header does not parse".into()
        }
        DecryptError::InvalidMac => {
            "the ciphertext is damaged: its header was modified (MAC mismatch)".into()
        }
        DecryptError::DecryptionFailed => {
            "the ciphertext is damaged or truncated: decryption failed".into()
        }
        DecryptError::Io(io) => io_reason(&io),
        DecryptError::ExcessiveWork { .. } | DecryptError::KeyDecryptionFailed => {
            "it cannot be decrypted with the identities given".into()
        }
        other => format!("decryption failed: {other}"),
    }
}

/// The armored form of age ciphertext: armored input is trimmed, binary input
/// is armored. Armoring is deterministic, so equal bytes give equal text.
pub fn to_armored(bytes: &[u8]) -> String {
    if is_armored(bytes) {
        return String::from_utf8_lossy(bytes).trim().to_string();
    }
    let mut out = Vec::with_capacity(bytes.len() * 4 / 3 + 80);
    {
        use std::io::Write;
        let mut w =
            age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
                .expect("armoring into memory cannot fail");
        w.write_all(bytes)
            .expect("armoring into memory cannot fail");
        w.finish().expect("armoring into memory cannot fail");
    }
    String::from_utf8_lossy(&out).trim().to_string()
}
