//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as EC2 and STS check it.
//!
//! Region and service come from the credential scope in the header, never
//! from the host name, so a client pointed at `127.0.0.1` verifies the same
//! way it would against `ec2.us-east-1.amazonaws.com`.

use super::{canonical_headers, canonical_query, canonical_request, ct_eq, hmac256, sha256_hex};
use crate::encode::pct;
use crate::http::Req;

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: String,
    pub signature: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, SignedHeaders=…, Signature=…`.
pub fn parse(header: &str) -> Option<Authorization> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let [cred, sh, sig] = super::auth_fields(rest, ["Credential", "SignedHeaders", "Signature"])?;
    let scope: Vec<&str> = cred.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return None;
    }
    Some(Authorization {
        access_key: scope[0].to_string(),
        date: scope[1].to_string(),
        region: scope[2].to_string(),
        service: scope[3].to_string(),
        signed_headers: sh.to_string(),
        signature: sig.to_string(),
    })
}

/// The SigV4 signing key: `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac256(&k, region.as_bytes());
    let k = hmac256(&k, service.as_bytes());
    hmac256(&k, b"aws4_request")
}

/// The string to sign for a canonical request.
pub fn string_to_sign(amz_date: &str, region: &str, service: &str, canonical: &str) -> String {
    let date = amz_date.get(..8).unwrap_or(amz_date);
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        sha256_hex(canonical.as_bytes())
    )
}

/// The signature (lower-case hex) of a canonical request: the one SigV4 signer.
pub fn sign(secret: &str, amz_date: &str, region: &str, service: &str, canonical: &str) -> String {
    let date = amz_date.get(..8).unwrap_or(amz_date);
    let key = signing_key(secret, date, region, service);
    hex::encode(hmac256(
        &key,
        string_to_sign(amz_date, region, service, canonical).as_bytes(),
    ))
}

/// Canonical URI: each path segment percent-encoded once more (non-S3 rule).
pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/').map(pct).collect::<Vec<_>>().join("/")
}

/// The canonical request of a received request, rebuilt from the headers it
/// lists as signed. `None` if a listed header is missing.
pub fn canonical_of(req: &Req, auth: &Authorization) -> Option<String> {
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    let headers = canonical_headers(&req.headers, &signed)?;
    let payload = match req.header("x-amz-content-sha256") {
        Some(h) => h.to_string(),
        None => sha256_hex(&req.body),
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

/// Why a SigV4 request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Missing,
    Malformed,
    UnknownKey,
    Mismatch,
    Expired,
}

/// Verifies a request against `secret_of(access_key)`. With `now` set, the
/// `X-Amz-Date` must be within the skew window. Returns the parsed header.
pub fn verify<'s>(
    req: &Req,
    now: Option<i64>,
    secret_of: impl FnOnce(&str) -> Option<&'s str>,
) -> Result<Authorization, Failure> {
    let header = req.header("authorization").ok_or(Failure::Missing)?;
    let auth = parse(header).ok_or(Failure::Malformed)?;
    let amz_date = req
        .header("x-amz-date")
        .ok_or(Failure::Malformed)?
        .to_string();
    let Some(secret) = secret_of(&auth.access_key) else {
        return Err(Failure::UnknownKey);
    };
    if let Some(now) = now {
        let t = crate::clock::parse_basic(&amz_date).ok_or(Failure::Malformed)?;
        if !super::fresh(t, now) {
            return Err(Failure::Expired);
        }
    }
    let canonical = canonical_of(req, &auth).ok_or(Failure::Mismatch)?;
    let expected = sign(secret, &amz_date, &auth.region, &auth.service, &canonical);
    if ct_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(auth)
    } else {
        Err(Failure::Mismatch)
    }
}
