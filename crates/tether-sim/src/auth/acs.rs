//! Alibaba Cloud RPC signatures: v1 (`HMAC-SHA1` over the sorted parameters,
//! key `secret + "&"`, Base64) and V3 (`ACS3-HMAC-SHA256` over a canonical
//! request, key the secret as is, hex).
//!
//! v1 signs the union of query and form parameters with the real method; V3
//! signs the headers listed in `SignedHeaders` with their received values.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::{canonical_headers, canonical_query, canonical_request, ct_eq, hmac256, sha256_hex};
use crate::encode::{pct, pct_into};
use crate::http::Req;

/// v1 string to sign: `METHOD&%2F&pct(canonicalized query)`, `Signature` excluded.
pub fn v1_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut canon = String::new();
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            canon.push('&');
        }
        pct_into(&mut canon, k);
        canon.push('=');
        pct_into(&mut canon, v);
    }
    format!("{method}&%2F&{}", pct(&canon))
}

/// v1 signature: Base64(HMAC-SHA1(secret + "&", string to sign)). The one v1 signer.
pub fn v1_sign(secret: &str, string_to_sign: &str) -> String {
    let mut m = <Hmac<Sha1> as KeyInit>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes any key length");
    m.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

/// V3 string to sign.
pub fn v3_string_to_sign(canonical: &str) -> String {
    format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()))
}

/// V3 signature: hex HMAC-SHA256(secret, string to sign). The one V3 signer.
pub fn v3_sign(secret: &str, canonical: &str) -> String {
    hex::encode(hmac256(
        secret.as_bytes(),
        v3_string_to_sign(canonical).as_bytes(),
    ))
}

/// The parsed V3 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Authorization {
    pub access_key: String,
    pub signed_headers: String,
    pub signature: String,
}

/// Parses `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`.
pub fn v3_parse(header: &str) -> Option<V3Authorization> {
    let rest = header.strip_prefix("ACS3-HMAC-SHA256 ")?;
    let (mut c, mut sh, mut s) = (None, None, None);
    for (k, v) in super::auth_params(rest) {
        match k {
            "Credential" => c = Some(v),
            "SignedHeaders" => sh = Some(v),
            "Signature" => s = Some(v),
            _ => {}
        }
    }
    Some(V3Authorization {
        access_key: c?.to_string(),
        signed_headers: sh?.to_string(),
        signature: s?.to_string(),
    })
}

/// Canonical URI for RPC APIs and ROA paths: each segment RFC 3986-encoded.
pub fn v3_canonical_uri(path: &str) -> String {
    let decoded = crate::encode::decode(path, false);
    if decoded.is_empty() {
        return "/".to_string();
    }
    decoded.split('/').map(pct).collect::<Vec<_>>().join("/")
}

/// The V3 canonical request of a received request. `None` if a listed header is missing.
pub fn v3_canonical_of(req: &Req, auth: &V3Authorization) -> Option<String> {
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    let headers = canonical_headers(&req.headers, &signed)?;
    let payload = req
        .header("x-acs-content-sha256")
        .map(str::to_string)
        .unwrap_or_else(|| sha256_hex(&req.body));
    Some(canonical_request(
        &req.method,
        &v3_canonical_uri(&req.path),
        &canonical_query(&req.query_pairs()),
        &headers,
        &auth.signed_headers,
        &payload,
    ))
}

/// Checks a V3 signature (and that `x-acs-content-sha256` matches the body).
pub fn v3_check(req: &Req, auth: &V3Authorization, secret: &str) -> bool {
    if let Some(h) = req.header("x-acs-content-sha256")
        && h != sha256_hex(&req.body)
    {
        return false;
    }
    let Some(canonical) = v3_canonical_of(req, auth) else {
        return false;
    };
    ct_eq(
        v3_sign(secret, &canonical).as_bytes(),
        auth.signature.as_bytes(),
    )
}

/// Checks a v1 signature over the merged parameters.
pub fn v1_check(method: &str, params: &[(String, String)], secret: &str) -> bool {
    let Some((_, sig)) = params.iter().find(|(k, _)| k == "Signature") else {
        return false;
    };
    let expected = v1_sign(secret, &v1_string_to_sign(method, params));
    ct_eq(expected.as_bytes(), sig.as_bytes())
}
