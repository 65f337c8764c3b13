//! Bearer tokens the simulator issues: Entra ID access tokens (a JWT whose
//! claims a client may decode) and HCS IAM `X-Subject-Token`s (opaque).
//!
//! Tokens are stateless: the claims travel inside the token, sealed with an
//! HMAC under the simulator's key, so checking one is a hash, not a look-up,
//! and a million tokens cost no memory. Expiry is `exp` against the clock,
//! and an account can invalidate everything issued before a moment
//! (`tokens_valid_after` in the world).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};

use super::{ct_eq, hmac256};

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience (Azure) or `"hcs"`.
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Tenant id (Azure) or HCS account.
    pub tid: String,
    /// Application id (Azure) or HCS user id.
    pub appid: String,
    /// Object id of the principal.
    pub oid: String,
    /// HCS: the project id the token is scoped to, empty for a domain scope.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// A JWT (`header.payload.signature`, HS256 under `key`).
pub fn issue_jwt(key: &[u8], claims: &Claims) -> String {
    let header = B64.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
    let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let sig = B64.encode(hmac256(key, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

/// The claims of a JWT issued by [`issue_jwt`] under `key`, if its seal holds.
pub fn open_jwt(key: &[u8], token: &str) -> Option<Claims> {
    let (input, sig) = token.rsplit_once('.')?;
    let (_, payload) = input.split_once('.')?;
    let sig = B64.decode(sig).ok()?;
    if !ct_eq(&hmac256(key, input.as_bytes()), &sig) {
        return None;
    }
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

/// An opaque HCS token (`MII…`).
pub fn issue_opaque(key: &[u8], claims: &Claims) -> String {
    let jwt = issue_jwt(key, claims);
    format!("MII{}", B64.encode(jwt.as_bytes()))
}

/// The claims of an opaque HCS token.
pub fn open_opaque(key: &[u8], token: &str) -> Option<Claims> {
    let inner = B64.decode(token.strip_prefix("MII")?).ok()?;
    open_jwt(key, std::str::from_utf8(&inner).ok()?)
}
