//! Encryption to recipients: armored (inline values, `.age` files tether writes)
//! or binary (to keep a binary `.age` file binary on rekey).

use std::io::Write;

use age::armor::{ArmoredWriter, Format};

use super::recipient::Recipients;
use crate::error::{Error, Result};

/// Encrypts `plaintext` to every recipient; armored text ends with a newline.
pub fn armored(plaintext: &[u8], recipients: &Recipients) -> Result<String> {
    let bytes = encrypt(plaintext, recipients, Format::AsciiArmor)?;
    let mut s = String::from_utf8(bytes).map_err(|_| fail("armor is not UTF-8".into()))?;
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// Encrypts `plaintext` to every recipient, as a binary age file.
pub fn binary(plaintext: &[u8], recipients: &Recipients) -> Result<Vec<u8>> {
    encrypt(plaintext, recipients, Format::Binary)
}

fn encrypt(plaintext: &[u8], recipients: &Recipients, format: Format) -> Result<Vec<u8>> {
    if recipients.is_empty() {
        return Err(Error::NoRecipients {
            hint: super::recipient::NO_RECIPIENTS_HINT.into(),
        });
    }
    let enc =
        age::Encryptor::with_recipients(recipients.iter()).map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let io = |e: std::io::Error| fail(e.to_string());
    let armor = ArmoredWriter::wrap_output(&mut out, format).map_err(io)?;
    let mut w = enc.wrap_output(armor).map_err(io)?;
    w.write_all(plaintext).map_err(io)?;
    w.finish().and_then(|a| a.finish()).map_err(io)?;
    Ok(out)
}

fn fail(reason: String) -> Error {
    Error::Usage(format!("encryption failed: {reason}"))
}
