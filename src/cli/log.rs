//! Log lines (`TETHER_LOG`): tracing to stderr, with credentials redacted.
//!
//! At `trace`, the HTTP stacks tether uses (aws-smithy, hyper, reqwest)
//! print requests with their headers. A request signature or a bearer token
//! is replayable for minutes, so no log line carries one: every line goes
//! through [`redact`] before it reaches stderr. Redacted are the values of
//! `Authorization`-style headers and fields (`Authorization`,
//! `Proxy-Authorization`, `X-Auth-Token`, `X-Subject-Token`,
//! `Ocp-Apim-Subscription-Key`, `X-Amz-Security-Token`, `Signature`, …)
//! in any of the forms they are printed in (`name: value`, `name=value`,
//! `"name": "value"`), and any `Bearer` token.

use std::borrow::Cow;
use std::io::Write;

/// What a redacted value is replaced by.
pub const REDACTED: &str = "(redacted)";

/// Headers whose value is a credential and may hold spaces
/// (`AWS4-HMAC-SHA256 Credential=…, Signature=…`): redacted to the end of
/// the line, or of the quoted value.
const WHOLE_VALUE: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-ms-authorization-auxiliary",
];

/// Names whose value is one credential token: redacted up to the next
/// space or delimiter (or the end of the quoted value).
const TOKEN_VALUE: &[&str] = &[
    "x-auth-token",
    "x-subject-token",
    "ocp-apim-subscription-key",
    "x-amz-security-token",
    "x-acs-security-token",
    "x-security-token",
    "x-amz-signature",
    "signature",
    "cookie",
    "set-cookie",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
];

/// `TETHER_LOG` sets the filter (e.g. `debug`, `tether=trace`); logs go to
/// stderr, each line redacted.
pub fn init() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TETHER_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr::default)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Collects one event's bytes, and writes them redacted to stderr when dropped
/// (the formatter makes one writer per event).
#[derive(Default)]
struct RedactingStderr {
    buf: Vec<u8>,
}

impl Write for RedactingStderr {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingStderr {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let clean = redact(&text);
        super::printer::stderr_bytes(clean.as_bytes());
    }
}

/// `text` with every credential value replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    // Byte ranges of values to hide, found on the lowercase copy (same offsets).
    let mut hide: Vec<(usize, usize)> = Vec::new();
    for (keys, whole) in [(WHOLE_VALUE, true), (TOKEN_VALUE, false)] {
        for key in keys {
            let mut from = 0;
            while let Some(at) = lower[from..].find(key) {
                let start = from + at;
                from = start + key.len();
                if !boundary_before(&lower, start) || !boundary_after(&lower, from) {
                    continue;
                }
                if let Some(range) = value_after(&lower, from, whole) {
                    hide.push(range);
                }
            }
        }
    }
    let mut from = 0;
    while let Some(at) = lower[from..].find("bearer ") {
        let start = from + at + "bearer ".len();
        from = start;
        if !boundary_before(&lower, start - "bearer ".len()) {
            continue;
        }
        let end = start
            + lower[start..]
                .find(|c: char| !is_token_char(c))
                .unwrap_or(lower.len() - start);
        if end > start {
            hide.push((start, end));
        }
    }
    if hide.is_empty() {
        return Cow::Borrowed(text);
    }
    hide.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e) in hide {
        if e <= at {
            continue;
        }
        let s = s.max(at);
        out.push_str(&text[at..s]);
        out.push_str(REDACTED);
        at = e;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// The name is not the tail of a longer name (`x-amz-signature` is not `signature`).
fn boundary_before(s: &str, at: usize) -> bool {
    s[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// The name is not the head of a longer name (`signature_version` is not `signature`).
fn boundary_after(s: &str, at: usize) -> bool {
    s[at..]
        .chars()
        .next()
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// The byte range of the value that follows a name at `at`: `name: v`,
/// `name=v`, `"name": "v"`, `name="v"`. `None` when no separator follows
/// (the name is only mentioned).
fn value_after(s: &str, mut at: usize, whole: bool) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    if matches!(b.get(at), Some(b'"' | b'\'')) {
        at += 1;
    }
    while b.get(at) == Some(&b' ') {
        at += 1;
    }
    if !matches!(b.get(at), Some(b':' | b'=')) {
        return None;
    }
    at += 1;
    while b.get(at) == Some(&b' ') {
        at += 1;
    }
    // A value in a Debug wrapper: `HeaderValue { _private: H0("…") }`.
    let wrapped = s[at..]
        .char_indices()
        .take(48)
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '{' | '(' | ':')))
        .filter(|(i, c)| *c == '"' && s[at..at + i].ends_with('('));
    if let Some((i, _)) = wrapped {
        at += i;
    }
    match b.get(at) {
        Some(&q @ (b'"' | b'\'')) => {
            let start = at + 1;
            let mut i = start;
            while i < b.len() && b[i] != q && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            let end = i.min(b.len());
            (end > start).then_some((start, end))
        }
        Some(_) => {
            let rest = &s[at..];
            let len = if whole {
                rest.find(['\n', '\r']).unwrap_or(rest.len())
            } else {
                rest.find(|c: char| {
                    c.is_whitespace() || matches!(c, ',' | ';' | '&' | '"' | '\'' | '}' | ']' | ')')
                })
                .unwrap_or(rest.len())
            };
            (len > 0).then_some((at, at + len))
        }
        None => None,
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers_never_reach_a_log_line() {
        let sig = "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        let cases = [
            format!(
                r#"request headers={{"content-type": "x", "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, {sig}", "x-amz-date": "20150830T123600Z"}}"#
            ),
            format!("Authorization: AWS4-HMAC-SHA256 Credential=AKID/x, {sig}\nHost: a"),
            "authorization=Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc next=1".into(),
            "X-Subject-Token: MIIDXQYJKoZIhvcNAQcCoIIDTjCCA0oCAQExDTALBglghkgBZQMEAgEw tail".into(),
            r#"{"x-auth-token": "gAAAAABk", "ocp-apim-subscription-key": "0123abcd"}"#.into(),
            "GET /?Action=x&Signature=abcDEF%2B123&Version=1".into(),
            "x-amz-security-token:IQoJb3JpZ2luX2VjEFAaCXVz\nhost:sts".into(),
            "sending Bearer abc.def-ghi to the API".into(),
        ];
        for line in &cases {
            let out = redact(line);
            for secret in [
                "5d672d79c15b",
                "AKID",
                "eyJhbGci",
                "MIIDXQYJ",
                "gAAAAABk",
                "0123abcd",
                "abcDEF",
                "IQoJb3Jp",
                "abc.def-ghi",
            ] {
                assert!(!out.contains(secret), "{secret} left in {out:?}");
            }
            assert!(out.contains(REDACTED), "{out}");
        }
        let smithy = r#"headers: {"x-amz-date": HeaderValue { _private: H0("20261201T233120Z") }, "authorization": HeaderValue { _private: H0("AWS4-HMAC-SHA256 Credential=AKIAMFHN/20261201/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=6d8459c9860020fe") }, "amz-sdk-request": HeaderValue { _private: H0("attempt=1; max=1") }}"#;
        assert_eq!(
            redact(smithy),
            r#"headers: {"x-amz-date": HeaderValue { _private: H0("20261201T233120Z") }, "authorization": HeaderValue { _private: H0("(redacted)") }, "amz-sdk-request": HeaderValue { _private: H0("attempt=1; max=1") }}"#
        );
        let out = redact(&cases[0]);
        assert!(out.contains(r#""x-amz-date": "20150830T123600Z""#), "{out}");
        assert!(out.contains(r#""authorization": "(redacted)""#), "{out}");
        assert_eq!(
            redact(&cases[1]),
            "Authorization: (redacted)\nHost: a",
            "the next header is kept"
        );
        assert!(redact(&cases[5]).contains("&Version=1"));
        assert!(redact(&cases[6]).ends_with("\nhost:sts"));
    }

    #[test]
    fn lines_without_credentials_are_left_alone() {
        for line in [
            "signed in with the authorization of the account",
            "x-amz-signature-version: 4",
            "signature_version=1.0 SignatureMethod=HMAC-SHA1",
            "vendor=aws call=GetCallerIdentity attempt=1",
            "",
        ] {
            assert!(matches!(redact(line), Cow::Borrowed(_)), "changed: {line}");
        }
    }
}
