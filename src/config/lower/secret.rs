//! Secret values: inline armored age ciphertext or `file("….age")`, checked
//! to be well-formed age files (never plaintext) without an identity.

use std::io::Read;
use std::path::Path;

use super::Lower;
use super::attrs::clip_value;
use crate::config::eval::{Spanned, Value};
use crate::config::model::*;
use crate::config::{AGE_ARMOR_BEGIN, AGE_ARMOR_END, AGE_HEADER};
use crate::diag::Diagnostic;

impl Lower<'_> {
    pub(super) fn secret(
        &mut self,
        addr: &Address,
        attr: &str,
        v: Spanned<Value>,
    ) -> Option<SecretRef> {
        let how = format!(
            "encrypt it with `tether secrets set {addr} {attr}` (reads the value from stdin), or `tether secrets encrypt < plain > secret.age` and write `{attr} = file(\"secret.age\")`"
        );
        match v.v {
            Value::String(s) => {
                let t = s.trim();
                if t.starts_with(AGE_ARMOR_BEGIN) {
                    if let Err(why) = check_armored(t) {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "`{attr}` of `{addr}` is damaged age ciphertext: {why}"
                            ))
                            .at(v.span)
                            .sensitive()
                            .help(format!("re-encrypt the secret: {how}")),
                        );
                        return None;
                    }
                    return Some(SecretRef {
                        attribute: attr.to_string(),
                        source: SecretSource::Inline {
                            armored: t.to_string(),
                        },
                        span: Some(v.span),
                    });
                }
                self.diags.push(
                    Diagnostic::error(format!(
                        "`{attr}` of `{addr}` is plaintext; secrets must be age-encrypted"
                    ))
                    .at(v.span)
                    .sensitive()
                    .help(how),
                );
                None
            }
            Value::File(p) => {
                let resolved = self.dir.join(&p);
                match check_secret_file(&resolved) {
                    Ok(()) => Some(SecretRef {
                        attribute: attr.to_string(),
                        source: SecretSource::File {
                            path: p.clone(),
                            resolved: Path::new(&p).to_path_buf(),
                        },
                        span: Some(v.span),
                    }),
                    Err(FileProblem::Missing(e)) => {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "secret file \"{}\" of `{addr}` cannot be read: {e}",
                                clip_value(&p)
                            ))
                            .at(v.span)
                            .help("paths in `file()` are relative to the config directory"),
                        );
                        None
                    }
                    Err(FileProblem::Plaintext) => {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "secret file \"{}\" of `{addr}` is not age-encrypted",
                                clip_value(&p)
                            ))
                            .at(v.span)
                            .help(format!(
                                "encrypt it: `tether secrets encrypt < {p} > {p}.age`, then point `file()` at the .age file and delete the plaintext"
                            )),
                        );
                        None
                    }
                    Err(FileProblem::Damaged(why)) => {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "secret file \"{}\" of `{addr}` is damaged age ciphertext: {why}",
                                clip_value(&p)
                            ))
                            .at(v.span),
                        );
                        None
                    }
                }
            }
            other => {
                self.diags.push(
                    Diagnostic::error(format!(
                        "`{attr}` must be age ciphertext (armored text or `file(\"….age\")`), found {}",
                        other.type_name()
                    ))
                    .at(v.span)
                    .sensitive()
                    .help(how),
                );
                None
            }
        }
    }
}

/// Largest age header read when checking a `file()` secret (many recipients
/// make a long header; a megabyte is thousands of them).
const MAX_AGE_HEADER: u64 = 1024 * 1024;

/// An armored value must decode to a well-formed age file (header and payload length).
fn check_armored(t: &str) -> Result<(), String> {
    if !t.ends_with(AGE_ARMOR_END) {
        return Err("the `-----END AGE ENCRYPTED FILE-----` line is missing".into());
    }
    let mut r = age::armor::ArmoredReader::new(t.as_bytes());
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "it is truncated".to_string(),
        _ => format!("the armor does not decode ({e})"),
    })?;
    if !bytes.starts_with(AGE_HEADER.as_bytes()) {
        return Err("the armor does not hold an age file".into());
    }
    crate::config::age_header::check(&bytes, bytes.len() as u64).map(|_| ())
}

enum FileProblem {
    Missing(String),
    Plaintext,
    Damaged(String),
}

/// A `file()` secret must be a regular file holding a well-formed age file,
/// binary or armored. Opened without blocking (a FIFO or `/dev/stdin` is
/// refused, never waited on) and read once, bounded.
fn check_secret_file(path: &Path) -> Result<(), FileProblem> {
    let f = crate::fsutil::open_regular(path).map_err(|e| FileProblem::Missing(io_reason(&e)))?;
    let total = f
        .metadata()
        .map_err(|e| FileProblem::Missing(io_reason(&e)))?
        .len();
    let mut head = Vec::with_capacity(1024);
    (&f).take(MAX_AGE_HEADER)
        .read_to_end(&mut head)
        .map_err(|e| FileProblem::Missing(io_reason(&e)))?;
    if head.starts_with(AGE_HEADER.as_bytes()) {
        return crate::config::age_header::check(&head, total)
            .map(|_| ())
            .map_err(|why| {
                if head.len() as u64 >= MAX_AGE_HEADER && why.starts_with("the header ends") {
                    FileProblem::Damaged(format!(
                        "its age header is longer than the {MAX_AGE_HEADER} bytes tether reads"
                    ))
                } else {
                    FileProblem::Damaged(why)
                }
            });
    }
    let start = head
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(head.len());
    if head[start..].starts_with(AGE_ARMOR_BEGIN.as_bytes()) {
        if total > crate::config::files::MAX_FILE_BYTES {
            return Err(FileProblem::Damaged(format!(
                "it is {total} bytes, larger than the {} bytes tether reads",
                crate::config::files::MAX_FILE_BYTES
            )));
        }
        (&f).take(crate::config::files::MAX_FILE_BYTES)
            .read_to_end(&mut head)
            .map_err(|e| FileProblem::Damaged(io_reason(&e)))?;
        let all = std::str::from_utf8(&head)
            .map_err(|_| FileProblem::Damaged("the armor is not ASCII text".into()))?;
        return check_armored(all.trim()).map_err(FileProblem::Damaged);
    }
    Err(FileProblem::Plaintext)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
