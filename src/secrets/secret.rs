//! [`Secret`]: a plaintext secret in memory.
//!
//! Invariants:
//! - `Debug` and `Display` print `(sensitive)`, never the bytes.
//! - The bytes are zeroed when the value is dropped.
//! - There is no `Serialize` (and no `Clone`): a struct holding a `Secret`
//!   cannot derive `Serialize`, so a secret cannot reach JSON by accident.
//!
//! ```compile_fail
//! #[derive(serde::Serialize)]
//! struct Leaky {
//!     key: tether::secrets::Secret,
//! }
//! ```

use std::fmt;
use std::io::Read;

use zeroize::Zeroizing;

/// What [`Secret`] prints instead of its value.
pub const REDACTED: &str = "(sensitive)";

/// A plaintext secret. Read it with [`Secret::expose`], only where it is used.
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
}

impl Secret {
    /// Takes ownership of bytes that are already in a zeroing buffer.
    pub fn new(bytes: Zeroizing<Vec<u8>>) -> Secret {
        Secret { bytes }
    }

    /// Copies `bytes` into a new secret; the caller zeroes its own copy.
    pub fn from_slice(bytes: &[u8]) -> Secret {
        let mut v = Zeroizing::new(Vec::with_capacity(bytes.len()));
        v.extend_from_slice(bytes);
        Secret { bytes: v }
    }

    /// The plaintext. Keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The plaintext as UTF-8, when it is (vendor credentials are text).
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Drops one trailing line ending (`\n` or `\r\n`), as `echo` and editors add one.
    pub fn trim_line_ending(&mut self) {
        if self.bytes.last() == Some(&b'\n') {
            self.bytes.pop();
            if self.bytes.last() == Some(&b'\r') {
                self.bytes.pop();
            }
        }
    }

    /// Reads `r` to the end without leaving copies behind: the buffer grows by
    /// copying into a new zeroing buffer, and the old one is zeroed on drop.
    pub fn read_from(r: &mut impl Read, size_hint: usize) -> std::io::Result<Secret> {
        let mut buf = Zeroizing::new(Vec::with_capacity(size_hint.max(64)));
        let mut chunk = Zeroizing::new([0u8; 4096]);
        loop {
            let n = match r.read(&mut chunk[..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.len() + n > buf.capacity() {
                let mut bigger = Zeroizing::new(Vec::with_capacity((buf.len() + n) * 2));
                bigger.extend_from_slice(&buf);
                buf = bigger;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok(Secret { bytes: buf })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl PartialEq for Secret {
    /// Constant-time in the length of the shorter value's content.
    fn eq(&self, other: &Secret) -> bool {
        let (a, b) = (self.expose(), other.expose());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::from_slice(b"hunter2-canary");
        assert_eq!(format!("{s:?}"), "(sensitive)");
        assert_eq!(format!("{s}"), "(sensitive)");
        assert_eq!(format!("{:?}", Some(&s)), "Some((sensitive))");
        assert_eq!(s.expose(), b"hunter2-canary");
    }

    #[test]
    fn read_from_grows_and_keeps_every_byte() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let s = Secret::read_from(&mut &data[..], 0).unwrap();
        assert_eq!(s.expose(), &data[..]);
    }

    #[test]
    fn trims_one_line_ending() {
        let mut s = Secret::from_slice(b"abc\r\n");
        s.trim_line_ending();
        assert_eq!(s.expose(), b"abc");
        let mut s = Secret::from_slice(b"abc\n\n");
        s.trim_line_ending();
        assert_eq!(s.expose(), b"abc\n");
    }

    #[test]
    fn equality_compares_content() {
        assert_eq!(Secret::from_slice(b"a"), Secret::from_slice(b"a"));
        assert_ne!(Secret::from_slice(b"a"), Secret::from_slice(b"b"));
        assert_ne!(Secret::from_slice(b"a"), Secret::from_slice(b"ab"));
    }
}
