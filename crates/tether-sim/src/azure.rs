//! Azure: the Entra ID client-credentials token endpoint, ARM
//! (subscriptions, resource groups, resources) and one Microsoft Graph call
//! (`GET /v1.0/applications(appId='…')`, the application's
//! `passwordCredentials`) on one endpoint, JSON answers, absolute `nextLink`
//! paging built from the simulator's base URL.
//!
//! Tokens are JWTs sealed by the simulator (see [`crate::auth::token`]) for
//! the audience of the requested scope or resource (ARM
//! `https://management.azure.com`, Graph `https://graph.microsoft.com`).
//! ARM refuses a missing, forged, expired or foreign-tenant token with ARM's
//! codes (it does not check the audience); Graph refuses those and a token
//! of any other audience with Graph's. Path segment names are
//! case-insensitive, as in ARM.
//!
//! Credential hygiene (see [`crate::admin`]): the application's one password
//! credential starts at the account's `key_created` and ends at its
//! `secret_expires`; the caller may read only its own application. An API in
//! the account's `denied` set answers ARM `AuthorizationFailed` or Graph
//! `Authorization_RequestDenied` (403). Deniable names: [`DENIABLE`].
//!
//! Management groups: `GET /providers/Microsoft.Management/managementGroups/{id}/descendants`
//! and what member subscriptions that left, were suspended or lost the
//! application's role answer are in [`crate::management`].

use crate::auth::token::{self, Claims};
use crate::clock;
use crate::encode::{Json, decode, parse_pairs, pct};
use crate::faults::Verdict;
use crate::http::{Req, Resp, request_id};
use crate::paging;
use crate::server::Engine;
use crate::world::{Account, Kind, List, Partition, Resource, Vendor, VendorWorld, World};

/// The API names an account's `denied` set may hold (the names the fault
/// layer sees): ARM's three routes, Graph's applications and the
/// management groups' descendants.
pub const DENIABLE: &[&str] = &[
    "subscriptions",
    "resourcegroups",
    "resources",
    "applications",
    "managementgroups",
];

/// Audiences Graph accepts (its URL and its application id).
const GRAPH_AUDIENCES: &[&str] = &[
    "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
];

const SIZES: &[&str] = &[
    "Standard_B2s",
    "Standard_D2s_v5",
    "Standard_D4s_v5",
    "Standard_E2s_v5",
    "Standard_F2s_v2",
    "Standard_B1ms",
    "Standard_D8s_v5",
    "Standard_E4s_v5",
];

pub(crate) fn json(status: u16, body: String) -> Resp {
    let rid = request_id();
    Resp::new(status, "application/json; charset=utf-8", body)
        .with("x-ms-request-id", rid.clone())
        .with("x-ms-correlation-request-id", rid)
}

/// An Entra ID error answer.
fn entra_error(status: u16, error: &str, code: u32, description: &str) -> Resp {
    let now = clock::now();
    let trace = request_id();
    let corr = request_id();
    let ts = clock::fmt_spaced(now);
    let mut j = Json::with_capacity(512);
    j.begin_obj()
        .kv("error", error)
        .kv(
            "error_description",
            &format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
        )
        .karr("error_codes")
        .num(code as i64)
        .end_arr()
        .kv("timestamp", &ts)
        .kv("trace_id", &trace)
        .kv("correlation_id", &corr)
        .kv("error_uri", &format!("https://login.microsoftonline.com/error?code={code}"))
        .end_obj();
    json(status, j.finish())
}

/// An ARM `CloudError`.
pub(crate) fn arm_error(status: u16, code: &str, message: &str) -> Resp {
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .kobj("error")
        .kv("code", code)
        .kv("message", message)
        .end_obj()
        .end_obj();
    json(status, j.finish())
}

fn unauthorized(code: &str, message: &str) -> Resp {
    arm_error(401, code, message).with(
        "www-authenticate",
        "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"",
    )
}

fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Serves one request.
pub fn handle(e: &Engine, req: &Req) -> Resp {
    let path = decode(&req.path, false);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    match (req.method.as_str(), l.as_slice()) {
        ("POST", [_, "oauth2", "v2.0", "token"]) | ("POST", [_, "oauth2", "token"]) => {
            issue(e, req, segs[0], l.len() == 4)
        }
        ("GET", [_, "v2.0", ".well-known", "openid-configuration"]) => openid(e, segs[0]),
        ("GET", ["subscriptions"]) => arm(e, req, None, Route::Subscriptions),
        ("GET", ["subscriptions", _]) => arm(e, req, Some(segs[1]), Route::Subscription),
        ("GET", ["subscriptions", _, "resourcegroups"]) => {
            arm(e, req, Some(segs[1]), Route::Groups)
        }
        ("GET", ["subscriptions", _, "resources"]) => arm(e, req, Some(segs[1]), Route::Resources),
        (
            "GET",
            [
                "providers",
                "microsoft.management",
                "managementgroups",
                _,
                "descendants",
            ],
        ) => arm(e, req, None, Route::Descendants(segs[3].to_string())),
        ("GET", ["v1.0", app]) if app.starts_with("applications(") => application(e, req, segs[1]),
        _ => arm_error(
            404,
            "InvalidResourceType",
            "The resource type could not be found in the namespace 'Microsoft.Resources'.",
        ),
    }
}

fn find_tenant<'a>(vw: &'a VendorWorld, t: &str) -> Option<(u32, &'a Account)> {
    if let Some(&i) = vw.by_id.get(t) {
        return Some((i, &vw.accounts[i as usize]));
    }
    let name = t.strip_suffix(".onmicrosoft.com").unwrap_or(t);
    vw.accounts
        .iter()
        .enumerate()
        .find(|(_, a)| a.display.eq_ignore_ascii_case(name))
        .map(|(i, a)| (i as u32, a))
}

fn openid(e: &Engine, tenant: &str) -> Resp {
    let base = e.endpoint(Vendor::Azure);
    let mut j = Json::default();
    j.begin_obj()
        .kv(
            "token_endpoint",
            &format!("{base}/{tenant}/oauth2/v2.0/token"),
        )
        .kv(
            "authorization_endpoint",
            &format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        )
        .kv("issuer", &format!("{base}/{tenant}/v2.0"))
        .karr("token_endpoint_auth_methods_supported")
        .str("client_secret_post")
        .str("client_secret_basic")
        .end_arr()
        .end_obj();
    json(200, j.finish())
}

fn issue(e: &Engine, req: &Req, tenant: &str, v2: bool) -> Resp {
    let form = if req.is_form() {
        parse_pairs(&String::from_utf8_lossy(&req.body))
    } else {
        Vec::new()
    };
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Azure);
    let Some((ti, acct)) = find_tenant(vw, tenant) else {
        return entra_error(
            400,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    };
    match param(&form, "grant_type") {
        Some("client_credentials") => {}
        None => {
            return entra_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            );
        }
        Some(g) => {
            return entra_error(
                400,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{g}'."),
            );
        }
    }
    let Some(client) = param(&form, "client_id") else {
        return entra_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let audience = if v2 {
        match param(&form, "scope") {
            None => {
                return entra_error(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'scope'.",
                );
            }
            Some(s) => match s.strip_suffix("/.default") {
                Some(aud) => aud.trim_end_matches('/').to_string(),
                None => {
                    return entra_error(
                        400,
                        "invalid_scope",
                        70011,
                        &format!(
                            "The provided value for the input parameter 'scope' is not valid. The scope {s} is not valid."
                        ),
                    );
                }
            },
        }
    } else {
        param(&form, "resource")
            .unwrap_or("https://management.azure.com")
            .trim_end_matches('/')
            .to_string()
    };
    if acct.key_id != client {
        return entra_error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                acct.display
            ),
        );
    }
    let Some(secret) = param(&form, "client_secret") else {
        return entra_error(
            401,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        );
    };
    if acct.revoked {
        return entra_error(
            401,
            "invalid_client",
            7000222,
            &format!(
                "The provided client secret keys for app '{client}' are expired. Visit the Azure portal to create new keys for your app."
            ),
        );
    }
    if !crate::auth::ct_eq(secret.as_bytes(), acct.secret.as_bytes()) {
        return entra_error(
            401,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client}'."
            ),
        );
    }
    match e.faults.check(Vendor::Azure, ti, &acct.id, "token") {
        Verdict::Pass => {}
        Verdict::Throttle(ms) => {
            return entra_error(
                429,
                "temporarily_unavailable",
                50196,
                "The server is temporarily unavailable.",
            )
            .with("retry-after", ms.div_ceil(1000).max(1).to_string());
        }
        Verdict::Error => {
            return entra_error(
                500,
                "server_error",
                90033,
                "A transient error has occurred. Please try again.",
            );
        }
    }
    let now = e.now();
    let ttl = e.options.azure_token_ttl;
    let claims = Claims {
        aud: audience,
        iss: format!("https://sts.windows.net/{}/", acct.id),
        tid: acct.id.clone(),
        appid: acct.key_id.clone(),
        oid: acct.principal.clone(),
        scope: String::new(),
        iat: now,
        nbf: now,
        exp: now + ttl,
    };
    let tok = token::issue_jwt(&e.token_key, &claims);
    let mut j = Json::with_capacity(tok.len() + 128);
    j.begin_obj()
        .kv("token_type", "Bearer")
        .kn("expires_in", ttl)
        .kn("ext_expires_in", ttl);
    if !v2 {
        j.kv("expires_on", &(now + ttl).to_string())
            .kv("resource", &claims.aud);
    }
    j.kv("access_token", &tok).end_obj();
    json(200, j.finish())
}

enum Route {
    Subscriptions,
    Subscription,
    Groups,
    Resources,
    /// A management group's descendants (see [`crate::management`]).
    Descendants(String),
}

fn arm(e: &Engine, req: &Req, sub: Option<&str>, route: Route) -> Resp {
    let Some(h) = req.header("authorization") else {
        return unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        );
    };
    let Some(tok) = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
    else {
        return unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        );
    };
    let Some(claims) = token::open_jwt(&e.token_key, tok.trim()) else {
        return unauthorized("InvalidAuthenticationToken", "The access token is invalid.");
    };
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Azure);
    let Some(&ti) = vw.by_id.get(&claims.tid) else {
        return unauthorized("InvalidAuthenticationToken", "The access token is invalid.");
    };
    let acct = &vw.accounts[ti as usize];
    let now = e.now();
    if claims.exp <= now || claims.iat < acct.tokens_valid_after {
        return unauthorized(
            "ExpiredAuthenticationToken",
            &format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                clock::fmt_extended(claims.exp.min(now)),
                clock::fmt_extended(now)
            ),
        );
    }
    let params = req.query_pairs();
    let Some(api_version) = param(&params, "api-version").map(str::to_string) else {
        return arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    let scope = match sub {
        None => None,
        Some(s) => match vw.by_scope.get(s) {
            // A member subscription that moved to another tenant is not found.
            Some(&(owner, idx))
                if owner == ti
                    && w.scope_member(Vendor::Azure, ti, idx)
                        .is_none_or(|m| m.joined) =>
            {
                Some((s, idx))
            }
            Some(&(owner, _)) if owner != ti => {
                return unauthorized(
                    "InvalidAuthenticationTokenTenant",
                    &format!(
                        "The access token is from the wrong issuer '{}'. It must match the tenant associated with this subscription. Please use the authority (URL) that matches this subscription.",
                        claims.iss
                    ),
                );
            }
            _ => {
                return arm_error(
                    404,
                    "SubscriptionNotFound",
                    &format!("The subscription '{s}' could not be found."),
                );
            }
        },
    };
    let (key, api) = match route {
        Route::Subscriptions | Route::Subscription => (acct.id.as_str(), "subscriptions"),
        Route::Groups => (scope.map_or("", |s| s.0), "resourcegroups"),
        Route::Resources => (scope.map_or("", |s| s.0), "resources"),
        Route::Descendants(_) => (acct.id.as_str(), "managementgroups"),
    };
    // A member subscription the application holds no role on is refused as
    // a denied call.
    let no_role = scope.is_some_and(|s| {
        w.scope_member(Vendor::Azure, ti, s.1)
            .is_some_and(|m| m.roles.is_empty())
    });
    if acct.denied.contains(api) || no_role {
        let action = match route {
            Route::Subscriptions | Route::Subscription => "Microsoft.Resources/subscriptions",
            Route::Groups => "Microsoft.Resources/subscriptions/resourceGroups",
            Route::Resources => "Microsoft.Resources/subscriptions/resources",
            Route::Descendants(_) => "Microsoft.Management/managementGroups/descendants",
        };
        let at = match (&route, scope) {
            (Route::Descendants(g), _) => {
                format!("/providers/Microsoft.Management/managementGroups/{g}")
            }
            (_, Some(s)) => format!("/subscriptions/{}", s.0),
            (_, None) => "/subscriptions".to_string(),
        };
        return arm_error(
            403,
            "AuthorizationFailed",
            &format!(
                "The client '{}' with object id '{}' does not have authorization to perform action '{action}/read' over scope '{at}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                acct.key_id, acct.principal
            ),
        );
    }
    match e.faults.check(Vendor::Azure, ti, key, api) {
        Verdict::Pass => {}
        Verdict::Throttle(ms) => {
            let secs = ms.div_ceil(1000).max(1);
            let (code, what) = if sub.is_some() {
                ("SubscriptionRequestsThrottled", "subscription")
            } else {
                ("TenantRequestsThrottled", "tenant")
            };
            return arm_error(
                429,
                code,
                &format!("Number of 'read' requests for {what} '{key}' actor '{}' exceeded. Please try again after '{secs}' seconds after the additional tokens are available. Refer to https://aka.ms/arm-throttling", acct.principal),
            )
            .with("retry-after", secs.to_string());
        }
        Verdict::Error => {
            return arm_error(
                500,
                "InternalServerError",
                &format!(
                    "Encountered internal server error. Diagnostic information: timestamp '{}'.",
                    clock::fmt_basic(now)
                ),
            );
        }
    }
    match route {
        Route::Subscriptions => subscriptions(&w, ti, acct, None),
        Route::Subscription => subscriptions(&w, ti, acct, scope.map(|s| s.1)),
        Route::Descendants(g) => {
            crate::management::descendants(e, &w, ti, &g, &params, &api_version)
        }
        Route::Groups | Route::Resources => {
            let (sub, idx) = scope.unwrap_or(("", 0));
            let groups = matches!(route, Route::Groups);
            match list(e, acct, sub, idx, groups, &params, &api_version) {
                Ok(r) => r,
                Err((code, msg)) => arm_error(400, code, &msg),
            }
        }
    }
}

/// A Microsoft Graph answer, with Graph's request-id headers.
fn graph_json(status: u16, body: String, rid: &str) -> Resp {
    json(status, body)
        .with("request-id", rid)
        .with("client-request-id", rid)
}

/// A Microsoft Graph error (with Graph's `innerError`).
fn graph_error(status: u16, code: &str, message: &str) -> Resp {
    let rid = request_id();
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .kobj("error")
        .kv("code", code)
        .kv("message", message)
        .kobj("innerError")
        .kv("date", &clock::fmt_extended(clock::now()))
        .kv("request-id", &rid)
        .kv("client-request-id", &rid)
        .end_obj()
        .end_obj()
        .end_obj();
    graph_json(status, j.finish(), &rid)
}

/// A UUID-shaped id derived from `s`.
fn derived_uuid(s: &str) -> String {
    let h = crate::auth::sha256_hex(s.as_bytes());
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// `GET /v1.0/applications(appId='…')`: the caller's own application, with
/// its one password credential.
fn application(e: &Engine, req: &Req, seg: &str) -> Resp {
    let invalid = |m: &str| graph_error(401, "InvalidAuthenticationToken", m);
    let Some(h) = req.header("authorization") else {
        return invalid("Access token is empty.");
    };
    let Some(tok) = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
    else {
        return invalid("Access token is empty.");
    };
    let Some(claims) = token::open_jwt(&e.token_key, tok.trim()) else {
        return invalid("Access token validation failure.");
    };
    if !GRAPH_AUDIENCES.contains(&claims.aud.as_str()) {
        return invalid("Access token validation failure. Invalid audience.");
    }
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Azure);
    let Some(&ti) = vw.by_id.get(&claims.tid) else {
        return invalid("Access token validation failure.");
    };
    let acct = &vw.accounts[ti as usize];
    let now = e.now();
    if claims.exp <= now || claims.iat < acct.tokens_valid_after {
        return invalid("Lifetime validation failed, the token is expired.");
    }
    // `applications(appId='…')`, quotes sent as they are or as `%27`.
    let app_id = seg
        .get("applications(".len()..)
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| r.split_once('='))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("appId"))
        .map(|(_, v)| v.trim().trim_matches(|c| c == '\'' || c == '"'));
    let Some(app_id) = app_id else {
        return graph_error(
            400,
            "BadRequest",
            &format!("Invalid object identifier '{seg}'."),
        );
    };
    if acct.denied.contains("applications") {
        return graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    match e.faults.check(Vendor::Azure, ti, &acct.id, "applications") {
        Verdict::Pass => {}
        Verdict::Throttle(ms) => {
            let secs = ms.div_ceil(1000).max(1);
            return graph_error(
                429,
                "TooManyRequests",
                "Too many requests. Please try again later.",
            )
            .with("retry-after", secs.to_string());
        }
        Verdict::Error => {
            return graph_error(
                503,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry.",
            );
        }
    }
    if app_id != acct.key_id {
        return graph_error(
            404,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{app_id}' does not exist or one of its queried reference-property objects are not present."
            ),
        );
    }
    let params = req.query_pairs();
    let select = param(&params, "$select").filter(|s| !s.trim().is_empty());
    let fields: Vec<String> = match select {
        Some(s) => s
            .split(',')
            .map(|f| f.trim().to_ascii_lowercase())
            .collect(),
        None => ["id", "appid", "displayname", "passwordcredentials"]
            .map(String::from)
            .to_vec(),
    };
    let context = match select {
        Some(s) => format!("https://graph.microsoft.com/v1.0/$metadata#applications({s})/$entity"),
        None => "https://graph.microsoft.com/v1.0/$metadata#applications/$entity".to_string(),
    };
    let mut j = Json::with_capacity(512);
    j.begin_obj().kv("@odata.context", &context);
    for f in &fields {
        match f.as_str() {
            "id" => {
                j.kv("id", &derived_uuid(&format!("application:{}", acct.key_id)));
            }
            "appid" => {
                j.kv("appId", &acct.key_id);
            }
            "displayname" => {
                j.kv("displayName", "tether");
            }
            "passwordcredentials" => {
                let hint: String = acct.secret.chars().take(3).collect();
                j.karr("passwordCredentials")
                    .begin_obj()
                    .kraw("customKeyIdentifier", "null")
                    .kv("displayName", "tether")
                    .kv("endDateTime", &clock::fmt_extended(acct.secret_expires))
                    .kv("hint", &hint)
                    .kv("keyId", &derived_uuid(&format!("secret:{}", acct.secret)))
                    .kraw("secretText", "null")
                    .kv("startDateTime", &clock::fmt_extended(acct.key_created))
                    .end_obj()
                    .end_arr();
            }
            _ => {}
        }
    }
    j.end_obj();
    graph_json(200, j.finish(), &request_id())
}

fn subscription(j: &mut Json, a: &Account, i: usize, state: &str) {
    let s = &a.subscriptions[i];
    j.begin_obj()
        .kv("id", &format!("/subscriptions/{}", s.id))
        .kv("authorizationSource", "RoleBased")
        .karr("managedByTenants")
        .end_arr()
        .kv("subscriptionId", &s.id)
        .kv("tenantId", &a.id)
        .kv("displayName", &s.name)
        .kv("state", state)
        .kobj("subscriptionPolicies")
        .kv("locationPlacementId", "Public_2014-09-01")
        .kv("quotaId", "PayAsYouGo_2014-09-01")
        .kv("spendingLimit", "Off")
        .end_obj()
        .kobj("tags")
        .end_obj()
        .end_obj();
}

/// The subscriptions of tenant `ti` (or one): a member subscription (see
/// [`crate::management`]) is listed while it is in the tenant and the
/// application holds a role on it, `Disabled` once suspended.
fn subscriptions(w: &World, ti: u32, a: &Account, one: Option<u16>) -> Resp {
    let member = |i: usize| w.scope_member(Vendor::Azure, ti, i as u16);
    let state = |i: usize| {
        if member(i).is_some_and(|m| m.suspended) {
            "Disabled"
        } else {
            "Enabled"
        }
    };
    let mut j = Json::with_capacity(512 * (a.subscriptions.len() + 1));
    if let Some(i) = one {
        subscription(&mut j, a, i as usize, state(i as usize));
        return json(200, j.finish());
    }
    j.begin_obj().karr("value");
    let mut listed = 0;
    for i in 0..a.subscriptions.len() {
        if member(i).is_none_or(|m| m.joined && !m.roles.is_empty()) {
            subscription(&mut j, a, i, state(i));
            listed += 1;
        }
    }
    j.end_arr()
        .kobj("count")
        .kv("type", "Total")
        .kn("value", listed)
        .end_obj()
        .end_obj();
    json(200, j.finish())
}

type Fail = (&'static str, String);

/// `$filter` clauses we understand: `field eq 'value'` joined by ` and `.
fn filter(f: &str) -> Result<Vec<(String, String)>, Fail> {
    let mut out = Vec::new();
    for clause in f.split(" and ") {
        let parts: Vec<&str> = clause.trim().splitn(3, ' ').collect();
        match parts.as_slice() {
            [field, op, value]
                if op.eq_ignore_ascii_case("eq")
                    && value.starts_with('\'')
                    && value.ends_with('\'')
                    && value.len() >= 2 =>
            {
                out.push((
                    field.to_ascii_lowercase(),
                    value[1..value.len() - 1].to_string(),
                ));
            }
            _ => {
                return Err((
                    "InvalidFilterInQueryString",
                    format!("Invalid $filter '{f}' specified in the query string."),
                ));
            }
        }
    }
    Ok(out)
}

fn list(
    e: &Engine,
    a: &Account,
    sub: &str,
    scope: u16,
    groups: bool,
    params: &[(String, String)],
    api_version: &str,
) -> Result<Resp, Fail> {
    let top = match param(params, "$top") {
        None => None,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Some(n),
            _ => {
                return Err((
                    "InvalidTopInQueryString",
                    format!("The value '{t}' of $top query parameter is not valid."),
                ));
            }
        },
    };
    let after = match param(params, "$skiptoken") {
        None => None,
        Some(t) => Some(paging::untoken(t).ok_or((
            "InvalidSkipToken",
            "The provided skip token is invalid.".to_string(),
        ))?),
    };
    let clauses = match param(params, "$filter") {
        None => Vec::new(),
        Some(f) => filter(f)?,
    };
    for (field, _) in &clauses {
        if !matches!(
            field.as_str(),
            "resourcetype" | "location" | "name" | "resourcegroup" | "tagname" | "tagvalue"
        ) {
            return Err((
                "InvalidFilterInQueryString",
                format!("Unsupported $filter field '{field}'."),
            ));
        }
    }
    let expand = param(params, "$expand").unwrap_or("").to_ascii_lowercase();
    let list = if groups {
        List::Of(Kind::ResourceGroup)
    } else {
        List::Arm
    };
    let empty = Partition::new();
    let part = a.part(scope, list).unwrap_or(&empty);
    let keep = |r: &Resource| {
        clauses.iter().all(|(f, v)| match f.as_str() {
            "resourcetype" => r.kind.arm_type().eq_ignore_ascii_case(v),
            "location" => a.region_of(r).eq_ignore_ascii_case(v),
            "name" => r.name.eq_ignore_ascii_case(v),
            "resourcegroup" => r
                .parent
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(v)),
            "tagname" => r.tags.iter().any(|(k, _)| &**k == v),
            _ => r.tags.iter().any(|(_, tv)| &**tv == v),
        })
    };
    let page = top.unwrap_or(1000);
    let (items, more) = paging::after(part, after.as_deref(), page, keep);
    let mut j = Json::with_capacity(256 + items.len() * 400);
    j.begin_obj().karr("value");
    for r in &items {
        resource(&mut j, a, r, groups, &expand);
    }
    j.end_arr();
    if more && let Some(last) = items.last() {
        let what = if groups {
            "resourcegroups"
        } else {
            "resources"
        };
        let mut link = format!(
            "{}/subscriptions/{sub}/{what}?api-version={}&%24skiptoken={}",
            e.endpoint(Vendor::Azure),
            pct(api_version),
            pct(&paging::token(&last.id))
        );
        if let Some(t) = top {
            link.push_str(&format!("&%24top={t}"));
        }
        if let Some(f) = param(params, "$filter") {
            link.push_str(&format!("&%24filter={}", pct(f)));
        }
        if !expand.is_empty() {
            link.push_str(&format!("&%24expand={}", pct(&expand)));
        }
        j.kv("nextLink", &link);
    }
    j.end_obj();
    Ok(json(200, j.finish()))
}

fn resource(j: &mut Json, a: &Account, r: &Resource, group: bool, expand: &str) {
    j.begin_obj()
        .kv("id", &r.id)
        .kv("name", &r.name)
        .kv("type", r.kind.arm_type())
        .kv("location", a.region_of(r));
    if group {
        j.kraw("managedBy", "null");
    }
    j.kobj("tags");
    for (k, v) in &r.tags {
        j.kv(k, v);
    }
    j.end_obj();
    if group {
        j.kobj("properties")
            .kv("provisioningState", "Succeeded")
            .end_obj();
    } else {
        match r.kind {
            Kind::VirtualMachine => {
                j.kobj("properties")
                    .kv(
                        "vmId",
                        &format!("{:08x}-0000-4000-8000-{:012x}", r.seq, r.seq),
                    )
                    .kobj("hardwareProfile")
                    .kv("vmSize", SIZES[r.size as usize % SIZES.len()])
                    .end_obj()
                    .end_obj();
            }
            Kind::PublicIp => {
                j.kobj("sku")
                    .kv("name", "Standard")
                    .kv("tier", "Regional")
                    .end_obj();
            }
            _ => {}
        }
        j.kraw("kind", "null").kraw("managedBy", "null");
    }
    if expand.contains("createdtime") {
        j.kv("createdTime", &clock::fmt_extended(r.created));
    }
    if expand.contains("changedtime") {
        j.kv("changedTime", &clock::fmt_extended(r.created));
    }
    if expand.contains("provisioningstate") {
        j.kv("provisioningState", "Succeeded");
    }
    j.end_obj();
}
