//! Request authentication, one module per scheme: AWS SigV4 ([`sigv4`]),
//! Alibaba v1 HMAC-SHA1 and V3 ACS3-HMAC-SHA256 ([`acs`]), Huawei
//! SDK-HMAC-SHA256 ([`sdk`]) and the bearer tokens the simulator issues
//! ([`token`]: Entra ID access tokens and HCS `X-Subject-Token`s).
//!
//! Invariants:
//! - Each algorithm has exactly one `sign` function. The verifiers rebuild
//!   the canonical request from the header names the client lists and the
//!   values as received, call that same `sign`, and compare in constant time;
//!   the published test vectors run through the same functions.
//! - Secrets never leave this module except as HMAC keys; nothing here logs.

pub mod acs;
pub mod sdk;
pub mod sigv4;
pub mod token;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::encode::pct;

/// The clock-skew window every vendor allows (seconds).
pub const SKEW_SECS: i64 = 15 * 60;

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Raw HMAC-SHA256.
pub fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// Constant-time equality of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Canonical query string shared by SigV4, ACS3 and SDK-HMAC-SHA256: every
/// pair percent-encoded (RFC 3986), sorted by encoded name then value,
/// `name=value` joined by `&`.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut enc: Vec<(String, String)> = pairs.iter().map(|(k, v)| (pct(k), pct(v))).collect();
    enc.sort();
    let mut out = String::new();
    for (i, (k, v)) in enc.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Canonical headers (each line `name:value\n`) for the listed signed header
/// names, from the received headers: values trimmed, inner runs of spaces
/// collapsed, repeated headers joined by `,`. `None` if a listed header is
/// absent from the request.
pub fn canonical_headers(headers: &[(String, String)], signed: &[&str]) -> Option<String> {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| collapse(v))
            .collect();
        if values.is_empty() {
            return None;
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    Some(out)
}

fn collapse(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The six-line canonical request common to the three HMAC-SHA256 schemes.
pub fn canonical_request(
    method: &str,
    uri: &str,
    query: &str,
    headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    format!("{method}\n{uri}\n{query}\n{headers}\n{signed_headers}\n{payload_hash}")
}

/// Parses `K1=v1, K2=v2` or `K1=v1,K2=v2` (Authorization parameters).
pub fn auth_params(s: &str) -> Vec<(&str, &str)> {
    s.split(',')
        .filter_map(|p| p.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// The values of the named parameters of an `Authorization` header's
/// parameter list, in the order named; `None` when one is missing.
pub fn auth_fields<'a, const N: usize>(s: &'a str, names: [&str; N]) -> Option<[&'a str; N]> {
    let params = auth_params(s);
    let mut out = [""; N];
    for (slot, name) in out.iter_mut().zip(names) {
        // The last occurrence wins, as a map built from the list would have it.
        *slot = params.iter().rev().find(|(k, _)| *k == name)?.1;
    }
    Some(out)
}

/// Whether `t` is within the skew window of `now`.
pub fn fresh(t: i64, now: i64) -> bool {
    (t - now).abs() <= SKEW_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_rebuilt_from_the_signed_list() {
        let h = vec![
            ("host".to_string(), " example.com ".to_string()),
            ("x-a".to_string(), "a   b".to_string()),
            ("x-a".to_string(), "c".to_string()),
        ];
        assert_eq!(
            canonical_headers(&h, &["host", "x-a"]).unwrap(),
            "host:example.com\nx-a:a b,c\n"
        );
        assert!(canonical_headers(&h, &["missing"]).is_none());
    }
}
