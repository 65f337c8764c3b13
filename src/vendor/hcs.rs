//! Huawei Cloud Stack: an IAM (Keystone v3) password token for the login
//! account, then the projects it can access, over reqwest.
//!
//! The token is domain-scoped: user `account` in domain `account` (an HCS
//! login account is its IAM domain's user of the same name). IAM answers
//! `201` with the token in `X-Subject-Token` and the user and domain in the
//! body; an answer for any other domain is refused here. Then
//! `GET /v3/auth/projects` lists the projects (on HCS named
//! `{region}_{suffix}`), kept when they belong to the token's domain.
//!
//! IAM endpoint: `api_endpoint` when set; otherwise `endpoint` as given when
//! it is a URL, `https://{endpoint}` when it is an IP address, and
//! `https://iam-apigateway-proxy.{endpoint}` for a domain name (HCS's global
//! IAM name). The environment name is a label: IAM does not report it.
//! The token lives in a [`Secret`] and is never logged.

use serde::Deserialize;
use serde_json::Value;

use crate::config::Vendor;
use crate::secrets::Secret;
use crate::state::model::{Scope, VerifiedIdentity};
use crate::vendor::error::{ErrorKind, VendorError};
use crate::vendor::http::{self, ClientOptions, Failure};
use crate::vendor::{HcsCredentials, VendorApi};

/// The IAM base URL for an HCS `endpoint` (no trailing slash).
pub fn iam_url(endpoint: &str) -> String {
    let e = endpoint.trim().trim_end_matches('/');
    if e.contains("://") {
        return e.to_string();
    }
    // The host part: `[v6]:port`, `v6`, `v4:port`, `v4` or a name.
    let bare = match e.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => match e.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => h,
            _ => e,
        },
    };
    if bare.parse::<std::net::Ipv6Addr>().is_ok() && !e.starts_with('[') {
        format!("https://[{e}]")
    } else if bare.parse::<std::net::IpAddr>().is_ok() {
        format!("https://{e}")
    } else {
        format!("https://iam-apigateway-proxy.{e}")
    }
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Deserialize)]
struct TokenInfo {
    user: User,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    domain: Domain,
}

#[derive(Deserialize)]
struct Domain {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Projects {
    #[serde(default)]
    projects: Vec<Project>,
}

#[derive(Deserialize)]
struct Project {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    domain_id: String,
}

/// An IAM or API-gateway error answer as one attempt's failure. Three body
/// styles occur: gateway `{error_code, error_msg}`, service
/// `{"error": {"code": "X.1", "message"}}`, Keystone
/// `{"error": {"code": 401, "message", "title"}}`.
fn failure(
    status: u16,
    body: &[u8],
    rid: Option<String>,
    hint: Option<std::time::Duration>,
) -> Failure {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |x: &Value| x.as_str().unwrap_or("").to_string();
    let (code, message) = if v.get("error_code").is_some() {
        (s(&v["error_code"]), s(&v["error_msg"]))
    } else {
        let e = &v["error"];
        let code = match &e["code"] {
            Value::String(c) => c.clone(),
            _ => s(&e["title"]),
        };
        (code, s(&e["message"]))
    };
    let kind = if code.ends_with(".0308") {
        ErrorKind::Throttled
    } else {
        http::kind_for_status(status)
    };
    let rid = rid.or_else(|| Some(s(&v["request_id"])));
    let message = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        message
    };
    Failure {
        error: VendorError::new(Vendor::Hcs, kind, message)
            .code(code)
            .request_id(rid),
        retry_after: hint,
    }
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(crate) struct Hcs;

impl<'a> VendorApi<'a> for Hcs {
    type Credentials = HcsCredentials<'a>;

    async fn verify_identity(
        &self,
        creds: &HcsCredentials<'a>,
        endpoint: Option<&str>,
        opts: &ClientOptions,
    ) -> Result<VerifiedIdentity, VendorError> {
        let iam = endpoint.map_or_else(|| iam_url(creds.endpoint), str::to_string);
        let client = http::client(Vendor::Hcs, opts)?;
        let token_url = format!("{iam}/v3/auth/tokens?nocatalog=true");
        let (token, user) = http::retry(opts, Vendor::Hcs, "iam:tokens", |_| {
            let body = serde_json::json!({
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": creds.account,
                                "password": creds.password,
                                "domain": {"name": creds.account},
                            }
                        }
                    },
                    "scope": {"domain": {"name": creds.account}}
                }
            });
            let req = client
                .post(&token_url)
                .header("content-type", "application/json;charset=utf8")
                .json(&body);
            async move {
                let resp = req
                    .send()
                    .await
                    .map_err(|e| http::transport(Vendor::Hcs, opts, &e))?;
                let status = resp.status().as_u16();
                let hint = http::response_hint(&resp);
                let rid = header(&resp, "x-request-id");
                let token =
                    header(&resp, "x-subject-token").map(|t| Secret::from_slice(t.as_bytes()));
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| http::transport(Vendor::Hcs, opts, &e))?;
                if status != 201 && status != 200 {
                    return Err(failure(status, &body, rid, hint));
                }
                let unreadable = |m: String| {
                    Failure::from(
                        VendorError::new(Vendor::Hcs, ErrorKind::Other, m).request_id(rid.clone()),
                    )
                };
                let token = token
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| unreadable("IAM answered without an X-Subject-Token".into()))?;
                let b: TokenBody = serde_json::from_slice(&body)
                    .map_err(|e| unreadable(format!("unreadable token answer: {e}")))?;
                Ok((token, b.token.user))
            }
        })
        .await?;
        if user.domain.name != creds.account || user.domain.id.is_empty() {
            return Err(VendorError::new(
                Vendor::Hcs,
                ErrorKind::Other,
                format!(
                    "IAM at {iam} issued the token to user `{}` of domain `{}` ({}), not to account `{}`",
                    user.name, user.domain.name, user.domain.id, creds.account
                ),
            )
            .code("IdentityMismatch"));
        }
        let projects_url = format!("{iam}/v3/auth/projects");
        let auth = token.expose_str().unwrap_or_default();
        let list: Projects = http::retry(opts, Vendor::Hcs, "iam:projects", |_| {
            let req = client.get(&projects_url).header("x-auth-token", auth);
            async move {
                let resp = req
                    .send()
                    .await
                    .map_err(|e| http::transport(Vendor::Hcs, opts, &e))?;
                let status = resp.status().as_u16();
                let hint = http::response_hint(&resp);
                let rid = header(&resp, "x-request-id");
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| http::transport(Vendor::Hcs, opts, &e))?;
                if status != 200 {
                    return Err(failure(status, &body, rid, hint));
                }
                serde_json::from_slice(&body).map_err(|e| {
                    VendorError::new(
                        Vendor::Hcs,
                        ErrorKind::Other,
                        format!("unreadable project list: {e}"),
                    )
                    .request_id(rid)
                    .into()
                })
            }
        })
        .await?;
        let mut scopes: Vec<Scope> = list
            .projects
            .into_iter()
            .filter(|p| p.domain_id.is_empty() || p.domain_id == user.domain.id)
            .map(|p| Scope {
                id: p.id,
                name: p.name,
            })
            .collect();
        scopes.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(VerifiedIdentity {
            account_id: user.domain.id,
            principal: user.id,
            scopes,
            verified_at: http::rfc3339(http::now_secs()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_url_from_endpoint() {
        assert_eq!(
            iam_url("hcs.example.com"),
            "https://iam-apigateway-proxy.hcs.example.com"
        );
        assert_eq!(iam_url("10.0.0.5"), "https://10.0.0.5");
        assert_eq!(iam_url("10.0.0.5:8443"), "https://10.0.0.5:8443");
        assert_eq!(iam_url("[fd00::1]:443"), "https://[fd00::1]:443");
        assert_eq!(iam_url("fd00::1"), "https://[fd00::1]");
        assert_eq!(iam_url("http://127.0.0.1:9/"), "http://127.0.0.1:9");
    }

    #[test]
    fn reads_the_three_error_styles() {
        let f = failure(
            429,
            br#"{"error_msg":"The throttling threshold has been reached","error_code":"APIGW.0308","request_id":"r1"}"#,
            None,
            None,
        );
        assert_eq!(f.error.kind, ErrorKind::Throttled);
        assert_eq!(f.error.code.as_deref(), Some("APIGW.0308"));
        assert_eq!(f.error.request_id.as_deref(), Some("r1"));
        let f = failure(
            401,
            br#"{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}"#,
            Some("r2".into()),
            None,
        );
        assert_eq!(f.error.kind, ErrorKind::Auth);
        assert_eq!(f.error.code.as_deref(), Some("Unauthorized"));
        let f = failure(
            500,
            br#"{"error":{"code":"Ecs.0000","message":"x"}}"#,
            None,
            None,
        );
        assert_eq!(f.error.kind, ErrorKind::Retryable);
        assert_eq!(f.error.code.as_deref(), Some("Ecs.0000"));
    }
}
