//! Huawei Cloud / HCS `SDK-HMAC-SHA256` (APIG AK/SK signing).
//!
//! Canonical URI: the decoded path, each segment re-encoded, with a trailing
//! `/` added. Key: the SK as is. Headers: exactly those the client lists.

use super::{canonical_headers, canonical_request, ct_eq, hmac256, sha256_hex};
use crate::encode::{decode, pct};
use crate::http::Req;

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    pub signed_headers: String,
    pub signature: String,
}

/// Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
pub fn parse(header: &str) -> Option<Authorization> {
    let rest = header.strip_prefix("SDK-HMAC-SHA256 ")?;
    let [a, sh, s] = super::auth_fields(rest, ["Access", "SignedHeaders", "Signature"])?;
    Some(Authorization {
        access_key: a.to_string(),
        signed_headers: sh.to_string(),
        signature: s.to_string(),
    })
}

/// Canonical URI with the trailing `/`.
pub fn canonical_uri(path: &str) -> String {
    let decoded = decode(path, false);
    let mut uri = decoded.split('/').map(pct).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Canonical query: sorted by name (values of repeated keys sorted), encoded.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    super::canonical_query(pairs)
}

/// The string to sign.
pub fn string_to_sign(sdk_date: &str, canonical: &str) -> String {
    format!(
        "SDK-HMAC-SHA256\n{sdk_date}\n{}",
        sha256_hex(canonical.as_bytes())
    )
}

/// The signature (hex HMAC-SHA256 with the SK as key). The one signer.
pub fn sign(sk: &str, sdk_date: &str, canonical: &str) -> String {
    hex::encode(hmac256(
        sk.as_bytes(),
        string_to_sign(sdk_date, canonical).as_bytes(),
    ))
}

/// The canonical request of a received request. `None` if a listed header is missing.
pub fn canonical_of(req: &Req, auth: &Authorization) -> Option<String> {
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    let headers = canonical_headers(&req.headers, &signed)?;
    let payload = match req.header("x-sdk-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => "UNSIGNED-PAYLOAD".to_string(),
        _ => sha256_hex(&req.body),
    };
    Some(canonical_request(
        &req.method,
        &canonical_uri(&req.path),
        &canonical_query(&req.query_pairs()),
        &headers,
        &auth.signed_headers,
        &payload,
    ))
}

/// Checks the signature of a received request with `sk`.
pub fn check(req: &Req, auth: &Authorization, sk: &str) -> bool {
    let Some(date) = req.header("x-sdk-date") else {
        return false;
    };
    let Some(canonical) = canonical_of(req, auth) else {
        return false;
    };
    ct_eq(
        sign(sk, date, &canonical).as_bytes(),
        auth.signature.as_bytes(),
    )
}
