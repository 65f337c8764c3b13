//! Azure: an Entra ID client-credentials token for ARM, then the
//! subscriptions the service principal can see, over reqwest.
//!
//! The token request goes to `{login}/{tenant_id}/oauth2/v2.0/token`, so a
//! token can only come from the declared tenant; its claims (`tid`, `appid`
//! or `azp`) are read, not verified — ARM verifies them — to report which
//! tenant and application it was issued to. Subscriptions are paged by
//! following `nextLink`, which must stay on the ARM endpoint (the bearer
//! token is never sent elsewhere). The token lives in a [`Secret`] and is
//! never logged.
//!
//! With `api_endpoint`, that URL serves both the token endpoint and ARM
//! (the simulator's layout); the token's scope stays ARM's public audience.

use base64::Engine as _;
use serde::Deserialize;

use crate::config::Vendor;
use crate::secrets::Secret;
use crate::state::model::{Scope, VerifiedIdentity};
use crate::vendor::error::{ErrorKind, VendorError};
use crate::vendor::http::{self, ClientOptions, Failure};
use crate::vendor::{AzureCredentials, VendorApi};

/// Entra ID (public cloud).
pub const LOGIN_ENDPOINT: &str = "https://login.microsoftonline.com";
/// Azure Resource Manager (public cloud).
pub const ARM_ENDPOINT: &str = "https://management.azure.com";
const ARM_SCOPE: &str = "https://management.azure.com/.default";
const SUBSCRIPTIONS_API: &str = "2022-12-01";
/// A bound on `nextLink` pages, against a server that never stops paging.
const MAX_PAGES: usize = 1000;

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
    #[serde(default)]
    trace_id: String,
}

#[derive(Deserialize, Default)]
struct Claims {
    #[serde(default)]
    tid: String,
    #[serde(default)]
    appid: String,
    #[serde(default)]
    azp: String,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    value: Vec<Subscription>,
    #[serde(default, rename = "nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct Subscription {
    #[serde(rename = "subscriptionId")]
    subscription_id: String,
    #[serde(default, rename = "displayName")]
    display_name: String,
}

#[derive(Deserialize, Default)]
struct ArmError {
    #[serde(default)]
    error: ArmErrorBody,
}

#[derive(Deserialize, Default)]
struct ArmErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The kind an Entra ID token error stands for.
fn token_kind(status: u16, error: &str) -> ErrorKind {
    match error {
        "invalid_client" | "unauthorized_client" | "invalid_grant" | "invalid_request"
            if status < 500 =>
        {
            ErrorKind::Auth
        }
        "temporarily_unavailable" => ErrorKind::Throttled,
        _ => http::kind_for_status(status),
    }
}

/// The claims of a JWT, read without verification.
fn claims(token: &str) -> Claims {
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn request_id(r: &reqwest::Response) -> Option<String> {
    [
        "x-ms-request-id",
        "x-ms-correlation-request-id",
        "client-request-id",
    ]
    .iter()
    .find_map(|n| r.headers().get(*n).and_then(|v| v.to_str().ok()))
    .map(str::to_string)
}

pub(crate) struct Azure;

impl<'a> VendorApi<'a> for Azure {
    type Credentials = AzureCredentials<'a>;

    async fn verify_identity(
        &self,
        creds: &AzureCredentials<'a>,
        endpoint: Option<&str>,
        opts: &ClientOptions,
    ) -> Result<VerifiedIdentity, VendorError> {
        let (login, arm) = match endpoint {
            Some(e) => (e, e),
            None => (LOGIN_ENDPOINT, ARM_ENDPOINT),
        };
        let client = http::client(Vendor::Azure, opts)?;
        let token_url = format!(
            "{login}/{}/oauth2/v2.0/token",
            crate::vendor::alibaba::percent_encode(creds.tenant_id)
        );
        let token = http::retry(opts, Vendor::Azure, "entra:token", |_| {
            let req = client.post(&token_url).form(&[
                ("client_id", creds.application_id),
                ("scope", ARM_SCOPE),
                ("client_secret", creds.application_secret),
                ("grant_type", "client_credentials"),
            ]);
            async move {
                let resp = req
                    .send()
                    .await
                    .map_err(|e| http::transport(Vendor::Azure, opts, &e))?;
                let status = resp.status().as_u16();
                let hint = http::response_hint(&resp);
                let rid = request_id(&resp);
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| http::transport(Vendor::Azure, opts, &e))?;
                if status == 200 {
                    let t: Token = serde_json::from_slice(&body).map_err(|e| {
                        VendorError::new(
                            Vendor::Azure,
                            ErrorKind::Other,
                            format!("unreadable token answer: {e}"),
                        )
                    })?;
                    return Ok(Secret::from_slice(t.access_token.as_bytes()));
                }
                let err: TokenError = serde_json::from_slice(&body).unwrap_or_default();
                // The description's first line; trace and correlation ids follow it.
                let first = err.error_description.lines().next().unwrap_or("").trim();
                let first = first
                    .split_once(": ")
                    .filter(|(c, _)| c.starts_with("AADSTS"))
                    .map_or(first, |(_, m)| m);
                let message = if first.is_empty() {
                    format!("HTTP {status} {}", err.error)
                } else {
                    first.to_string()
                };
                let code = match err.error_codes.first() {
                    Some(c) => format!("AADSTS{c}"),
                    None => err.error.clone(),
                };
                let rid = Some(err.trace_id).filter(|t| !t.is_empty()).or(rid);
                Err(Failure {
                    error: VendorError::new(Vendor::Azure, token_kind(status, &err.error), message)
                        .code(code)
                        .request_id(rid),
                    retry_after: hint,
                })
            }
        })
        .await?;
        let bearer = token.expose_str().unwrap_or_default();
        let c = claims(bearer);
        let mut scopes = Vec::new();
        let mut next = Some(format!(
            "{arm}/subscriptions?api-version={SUBSCRIPTIONS_API}"
        ));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES || !url.starts_with(arm) {
                return Err(VendorError::new(
                    Vendor::Azure,
                    ErrorKind::Other,
                    format!("ARM sent a nextLink off {arm} or past {MAX_PAGES} pages"),
                ));
            }
            let page: Page = http::retry(opts, Vendor::Azure, "arm:subscriptions", |_| {
                let req = client.get(&url).bearer_auth(bearer);
                async move { arm_call(req, opts).await }
            })
            .await?;
            scopes.extend(page.value.into_iter().map(|s| Scope {
                id: s.subscription_id,
                name: s.display_name,
            }));
            next = page.next_link.filter(|l| !l.is_empty());
        }
        scopes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(VerifiedIdentity {
            account_id: if c.tid.is_empty() {
                creds.tenant_id.to_string()
            } else {
                c.tid
            },
            principal: [c.appid, c.azp]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or_else(|| creds.application_id.to_string()),
            scopes,
            verified_at: http::rfc3339(http::now_secs()),
        })
    }
}

async fn arm_call<T: for<'de> Deserialize<'de>>(
    req: reqwest::RequestBuilder,
    opts: &ClientOptions,
) -> Result<T, Failure> {
    let resp = req
        .send()
        .await
        .map_err(|e| http::transport(Vendor::Azure, opts, &e))?;
    let status = resp.status().as_u16();
    let hint = http::response_hint(&resp);
    let rid = request_id(&resp);
    let body = resp
        .bytes()
        .await
        .map_err(|e| http::transport(Vendor::Azure, opts, &e))?;
    if status == 200 {
        return serde_json::from_slice(&body).map_err(|e| {
            VendorError::new(
                Vendor::Azure,
                ErrorKind::Other,
                format!("unreadable ARM answer: {e}"),
            )
            .request_id(rid)
            .into()
        });
    }
    let err: ArmError = serde_json::from_slice(&body).unwrap_or_default();
    let kind = if err.error.code.ends_with("Throttled") {
        ErrorKind::Throttled
    } else {
        http::kind_for_status(status)
    };
    let message = if err.error.message.is_empty() {
        format!("HTTP {status}")
    } else {
        err.error.message
    };
    Err(Failure {
        error: VendorError::new(Vendor::Azure, kind, message)
            .code(err.error.code)
            .request_id(rid),
        retry_after: hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_token_claims_without_verifying() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"tid":"t-1","appid":"a-1","aud":"x"}"#);
        let c = claims(&format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig"));
        assert_eq!((c.tid.as_str(), c.appid.as_str()), ("t-1", "a-1"));
        assert!(claims("opaque").tid.is_empty());
    }

    #[test]
    fn token_errors_map_to_kinds() {
        assert_eq!(token_kind(401, "invalid_client"), ErrorKind::Auth);
        assert_eq!(token_kind(400, "unauthorized_client"), ErrorKind::Auth);
        assert_eq!(
            token_kind(429, "temporarily_unavailable"),
            ErrorKind::Throttled
        );
        assert_eq!(token_kind(500, "server_error"), ErrorKind::Retryable);
        assert_eq!(token_kind(400, "invalid_scope"), ErrorKind::Other);
    }
}
