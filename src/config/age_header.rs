//! A strict reader of the age v1 header (<https://age-encryption.org/v1>),
//! for validation: a secret that starts with the magic line but is not an
//! age file (a stanza body of plaintext, no MAC line) is refused before any
//! identity is at hand.
//!
//! What is checked, from the spec: the version line; one or more stanzas,
//! each `-> TYPE ARGS…` (arguments of visible ASCII, single spaces) with a
//! body of canonical unpadded base64 wrapped at 64 columns and ended by a
//! line shorter than 64; the `--- MAC` line (43 base64 characters, 32
//! bytes); a payload of at least the 16-byte nonce and one tagged chunk, of
//! a length STREAM can produce. Stanzas tether decrypts are checked in full
//! (`X25519`, `ssh-ed25519`, `ssh-rsa`: argument and body sizes), and at least
//! one of them must be present; `scrypt` (a passphrase) is refused as
//! decrypt refuses it; other types (grease, plugins) are only read.
//! The MAC itself needs the file key, so it is checked when decrypting.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// `age-encryption.org/v1`, the first line.
const VERSION_LINE: &[u8] = b"age-encryption.org/v1";
/// Payload: nonce, then chunks of 64 KiB of plaintext and a 16-byte tag.
const NONCE: u64 = 16;
const TAG: u64 = 16;
const CHUNK: u64 = 64 * 1024 + TAG;

/// Checks `head` (the start of the file, at least the whole header) as an
/// age v1 header, and `total` (the file's length, header included) as a
/// length the payload can have. The error says what is wrong and on which
/// header line. Returns the header's length (where the payload starts).
pub fn check(head: &[u8], total: u64) -> Result<usize, String> {
    let mut lines = Lines {
        b: head,
        at: 0,
        no: 0,
    };
    let first = match lines.next() {
        Some(l) => l,
        None if head.is_empty() => return Err("it is empty".into()),
        None if head.starts_with(VERSION_LINE) => {
            return Err("the header ends after its first line (truncated)".into());
        }
        None => head,
    };
    if first != VERSION_LINE {
        return Err(if first.starts_with(b"age-encryption.org/") {
            "it is an age file of a version other than v1".into()
        } else {
            "it does not start with the age header line `age-encryption.org/v1`".into()
        });
    }
    let mut stanzas = 0usize;
    let mut usable = 0usize;
    let mut scrypt = false;
    loop {
        let no = lines.no + 1;
        let Some(line) = lines.next() else {
            return Err(format!(
                "the header ends at line {no} without its `--- ` MAC line (truncated, or not an age file)"
            ));
        };
        if let Some(mac) = line.strip_prefix(b"--- ") {
            if stanzas == 0 {
                return Err("the header has no recipient stanza".into());
            }
            let mac = decode(mac).filter(|m| m.len() == 32);
            if mac.is_none() {
                return Err(format!(
                    "line {no}: the header MAC is not 43 characters of base64 (32 bytes)"
                ));
            }
            break;
        }
        let Some(rest) = line.strip_prefix(b"-> ") else {
            return Err(format!(
                "line {no}: expected a recipient stanza (`-> …`) or the `--- ` MAC line"
            ));
        };
        let args = stanza_args(rest).ok_or_else(|| {
            format!(
                "line {no}: a stanza line is `-> TYPE ARG…`, each part visible ASCII separated by one space"
            )
        })?;
        let body = stanza_body(&mut lines)?;
        stanzas += 1;
        let kind = args[0];
        let fields = &args[1..];
        let sized = |want_args: &[usize], want_body: Option<usize>| -> Result<(), String> {
            let ok_args = fields.len() == want_args.len()
                && fields
                    .iter()
                    .zip(want_args)
                    .all(|(a, n)| decode(a).is_some_and(|d| d.len() == *n));
            let ok_body = want_body.is_none_or(|n| body.len() == n);
            if ok_args && ok_body {
                Ok(())
            } else {
                Err(format!(
                    "line {no}: the `{}` stanza is malformed (its arguments or body have the wrong size)",
                    String::from_utf8_lossy(kind)
                ))
            }
        };
        match kind {
            b"X25519" => {
                sized(&[32], Some(32))?;
                usable += 1;
            }
            b"ssh-ed25519" => {
                sized(&[4, 32], Some(32))?;
                usable += 1;
            }
            b"ssh-rsa" => {
                sized(&[4], None)?;
                // RSA-OAEP output is the modulus size: 2048 bits or more.
                if body.len() < 256 {
                    return Err(format!(
                        "line {no}: the `ssh-rsa` stanza is malformed (its body is too short)"
                    ));
                }
                usable += 1;
            }
            b"scrypt" => scrypt = true,
            _ => {}
        }
    }
    if scrypt {
        return Err(
            "it is encrypted with a passphrase (scrypt); tether secrets are encrypted to recipients"
                .into(),
        );
    }
    if usable == 0 {
        return Err(
            "no stanza is for an X25519 or SSH recipient, so no tether identity can decrypt it"
                .into(),
        );
    }
    let len = lines.at;
    let payload = total.saturating_sub(len as u64);
    if payload == 0 {
        return Err("it ends right after the header: the encrypted payload is missing".into());
    }
    if payload < NONCE + TAG {
        return Err(format!(
            "the encrypted payload is truncated ({payload} bytes; an age payload has at least {})",
            NONCE + TAG
        ));
    }
    let chunks = payload - NONCE;
    let last = chunks % CHUNK;
    // The last chunk holds at least one byte of plaintext, unless it is the only one.
    if (1..TAG).contains(&last) || (last == TAG && chunks > TAG) {
        return Err(
            "the encrypted payload is truncated or damaged (its length is impossible)".into(),
        );
    }
    Ok(len)
}

/// Lines ending in `\n` (a header line never ends otherwise).
struct Lines<'a> {
    b: &'a [u8],
    at: usize,
    /// Lines read so far.
    no: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.b.get(self.at..)?;
        let end = rest.iter().position(|&c| c == b'\n')?;
        self.at += end + 1;
        self.no += 1;
        Some(&rest[..end])
    }
}

/// The stanza's arguments: type first, each 1+ visible ASCII characters.
fn stanza_args(rest: &[u8]) -> Option<Vec<&[u8]>> {
    let args: Vec<&[u8]> = rest.split(|&c| c == b' ').collect();
    args.iter()
        .all(|a| !a.is_empty() && a.iter().all(|c| (33..=126).contains(c)))
        .then_some(args)
}

/// A stanza body: full 64-column lines, then one shorter (maybe empty) line.
fn stanza_body(lines: &mut Lines<'_>) -> Result<Vec<u8>, String> {
    let mut text = Vec::new();
    loop {
        let no = lines.no + 1;
        let line = lines.next().ok_or_else(|| {
            format!("the header ends at line {no}, inside a stanza body (truncated)")
        })?;
        if line.len() > 64 || !line.iter().all(|c| is_base64(*c)) {
            return Err(format!(
                "line {no}: a stanza body is base64 in lines of 64 characters; this line is not"
            ));
        }
        text.extend_from_slice(line);
        if line.len() < 64 {
            break;
        }
    }
    decode(&text).ok_or_else(|| {
        format!(
            "line {}: a stanza body is not canonical unpadded base64",
            lines.no
        )
    })
}

fn is_base64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Canonical unpadded standard base64 (no trailing bits, no `=`).
fn decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.iter().all(|c| is_base64(*c)) {
        return None;
    }
    STANDARD_NO_PAD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn encrypt(plain: &[u8]) -> Vec<u8> {
        let id = age::x25519::Identity::generate();
        let r = id.to_public();
        let e =
            age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
        let mut out = Vec::new();
        let mut w = e.wrap_output(&mut out).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap();
        out
    }

    fn check_all(b: &[u8]) -> Result<usize, String> {
        check(b, b.len() as u64)
    }

    #[test]
    fn real_age_files_pass() {
        for len in [0usize, 1, 100, 64 * 1024, 64 * 1024 + 1, 200_000] {
            let f = encrypt(&vec![7u8; len]);
            check_all(&f).unwrap_or_else(|e| panic!("{len}: {e}"));
        }
    }

    #[test]
    fn a_fake_age_file_with_a_plaintext_stanza_body_is_refused() {
        let mac = "A".repeat(43);
        let nonce = "n".repeat(40);
        for (fake, want) in [
            (
                format!("age-encryption.org/v1\n-> X25519 hunter2\nhunter2\n--- {mac}\n{nonce}"),
                "line 3",
            ),
            (
                format!(
                    "age-encryption.org/v1\n-> X25519\nmy password is hunter2\n--- {mac}\n{nonce}"
                ),
                "base64",
            ),
            (
                "age-encryption.org/v1\nmy secret password\n".into(),
                "line 2",
            ),
            ("age-encryption.org/v1\n".into(), "MAC line"),
            ("age-encryption.org/v1".into(), "truncated"),
            (
                format!(
                    "age-encryption.org/v1\n-> X25519 {}\nAAAA\n--- {mac}\n{nonce}",
                    "A".repeat(43)
                ),
                "malformed",
            ),
            (
                format!(
                    "age-encryption.org/v1\n-> X25519 {}\n{}\n",
                    "A".repeat(43),
                    "A".repeat(43)
                ),
                "truncated",
            ),
            (
                format!("age-encryption.org/v1\n--- {mac}\n{nonce}"),
                "no recipient stanza",
            ),
            (
                format!("age-encryption.org/v1\n-> grease x\n\n--- {mac}\n{nonce}"),
                "no stanza is for",
            ),
            (
                format!(
                    "age-encryption.org/v1\n-> scrypt {} 18\n{}\n--- {mac}\n{nonce}",
                    "A".repeat(22),
                    "A".repeat(43)
                ),
                "passphrase",
            ),
            ("age-encryption.org/v2\n".into(), "other than v1"),
        ] {
            let e = check_all(fake.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{fake:?}: {e}");
        }
    }

    #[test]
    fn damage_anywhere_in_a_real_header_is_refused() {
        let f = encrypt(b"secret");
        let h = check_all(&f).unwrap();
        // Every truncation inside the header or payload's minimum.
        for cut in 0..h + 32 {
            assert!(check_all(&f[..cut]).is_err(), "cut at {cut} accepted");
        }
        // A flipped MAC character stays syntactically valid (checked at decrypt);
        // a non-base64 one is not.
        let text = String::from_utf8_lossy(&f[..h]).into_owned();
        let broken = text.replacen("--- ", "--- !", 1);
        let mut b = broken.into_bytes();
        b.extend_from_slice(&f[h..]);
        assert!(check_all(&b).is_err());
        // CRLF line endings are not an age header.
        let crlf = String::from_utf8_lossy(&f[..h]).replace('\n', "\r\n");
        let mut b = crlf.into_bytes();
        b.extend_from_slice(&f[h..]);
        assert!(check_all(&b).is_err());
    }

    #[test]
    fn impossible_payload_lengths_are_refused() {
        let f = encrypt(&vec![1u8; 64 * 1024]);
        let h = check_all(&f).unwrap();
        let header = h as u64;
        // Exactly 64 KiB is one full, final chunk; an empty chunk after it is not age.
        assert!(check(&f, header + NONCE + CHUNK).is_ok());
        assert!(check(&f, header + NONCE + CHUNK + TAG).is_err());
        assert!(check(&f, header + NONCE + CHUNK + 5).is_err());
        assert!(check(&f, header + NONCE + CHUNK + TAG + 1).is_ok());
        assert!(check(&f, header + NONCE + 15).is_err());
        assert!(check(&f, header + NONCE + TAG).is_ok());
    }
}
