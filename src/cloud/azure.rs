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

use crate::cloud::encode::percent_encode;
use crate::cloud::error::{ErrorKind, VendorError};
use crate::cloud::http::{self, ClientOptions, Failure};
use crate::cloud::list::{self, Connections, Ctx, Record, Sink, too_many_pages};
use crate::cloud::{AzureCredentials, VendorApi};
use crate::config::Vendor;
use crate::hygiene::{Facts, Unchecked};
use crate::inventory::{PartitionKey, Resource};
use crate::secrets::Secret;
use crate::state::model::{Scope, VerifiedIdentity};

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
    /// Seconds; a number from the v2.0 endpoint, a string from older ones.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl Token {
    fn lifetime(&self) -> Option<u64> {
        match self.expires_in.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// A token and when to fetch the next one.
struct Held {
    bearer: Secret,
    refresh_at: std::time::Instant,
}

impl Held {
    /// Refreshed ahead of expiry: five minutes early, or halfway through a
    /// short lifetime; an answer without `expires_in` is taken as the
    /// usual hour.
    fn new(bearer: Secret, lifetime: Option<u64>) -> Held {
        let life = lifetime.unwrap_or(3599);
        let early = (life / 2).min(300);
        Held {
            bearer,
            refresh_at: std::time::Instant::now() + std::time::Duration::from_secs(life - early),
        }
    }
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
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default, rename = "nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct Subscription {
    #[serde(rename = "subscriptionId")]
    subscription_id: String,
    #[serde(default, rename = "displayName")]
    display_name: String,
    #[serde(default)]
    state: String,
}

/// Every item of an ARM list from `first`, following `nextLink` (which
/// must stay on `arm`) for at most [`MAX_PAGES`] pages, each with retries.
async fn arm_pages<T: for<'de> Deserialize<'de>>(
    client: &reqwest::Client,
    arm: &str,
    first: String,
    bearer: &str,
    opts: &ClientOptions,
    what: &'static str,
) -> Result<Vec<T>, VendorError> {
    follow_pages(arm, first, |url| {
        http::retry(opts, Vendor::Azure, what, move |_| {
            let req = client.get(url.as_str()).bearer_auth(bearer);
            async move { arm_call(req, opts).await }
        })
    })
    .await
}

/// Every item of an ARM list from `first`, each page fetched by `fetch`,
/// following `nextLink` (which must stay on `arm`) for at most
/// [`MAX_PAGES`] pages.
async fn follow_pages<T, F, Fut>(arm: &str, first: String, fetch: F) -> Result<Vec<T>, VendorError>
where
    F: Fn(std::sync::Arc<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, VendorError>>,
{
    let mut out = Vec::new();
    let mut next = Some(first);
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
        let page = fetch(std::sync::Arc::new(url)).await?;
        out.extend(page.value);
        next = page.next_link.filter(|l| !l.is_empty());
    }
    Ok(out)
}

/// The management groups API version.
const MANAGEMENT_GROUPS_API: &str = "2020-05-01";

/// One item under a management group: a group or a subscription.
#[derive(Deserialize)]
struct Descendant {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    properties: DescendantProps,
}

#[derive(Deserialize, Default)]
struct DescendantProps {
    #[serde(default, rename = "displayName")]
    display_name: String,
    #[serde(default)]
    parent: Option<ParentRef>,
}

#[derive(Deserialize)]
struct ParentRef {
    #[serde(default)]
    id: String,
}

/// The members of a tenant: every subscription under its root management
/// group (`GET /providers/Microsoft.Management/managementGroups/{tenant}/descendants`),
/// each with its management group chain from the root; its state from
/// `GET /subscriptions` (`not visible` when the application has no role
/// on it).
pub(crate) async fn members(
    creds: &AzureCredentials<'_>,
    endpoint: Option<&str>,
    conns: &Connections,
) -> Result<crate::org::Listed, VendorError> {
    let opts = conns.options();
    let client = &conns.web;
    let (arm, token) = arm_token(creds, endpoint, conns).await?;
    let bearer = token.expose_str().unwrap_or_default();
    let tenant = creds.tenant_id.to_ascii_lowercase();
    let first = format!(
        "{arm}/providers/Microsoft.Management/managementGroups/{}/descendants?api-version={MANAGEMENT_GROUPS_API}",
        percent_encode(&tenant)
    );
    let items: Vec<Descendant> = arm_pages(
        client,
        arm,
        first,
        bearer,
        opts,
        "arm:managementGroups/descendants",
    )
    .await?;
    let visible: Vec<Subscription> = arm_pages(
        client,
        arm,
        format!("{arm}/subscriptions?api-version={SUBSCRIPTIONS_API}"),
        bearer,
        opts,
        "arm:subscriptions",
    )
    .await?;
    let parent_name = |id: &str| {
        id.rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let mut groups: std::collections::HashMap<String, (String, Option<String>)> =
        Default::default();
    for d in items
        .iter()
        .filter(|d| d.kind.ends_with("managementGroups"))
    {
        groups.insert(
            d.name.to_ascii_lowercase(),
            (
                d.properties.display_name.clone(),
                d.properties.parent.as_ref().map(|p| parent_name(&p.id)),
            ),
        );
    }
    let path_of = |mut group: Option<String>| -> String {
        let mut names = Vec::new();
        while let Some(g) = group.take() {
            if g == tenant || names.len() > 8 {
                break;
            }
            match groups.get(&g) {
                Some((name, up)) => {
                    names.push(name.clone());
                    group = up.clone();
                }
                None => names.push(g),
            }
        }
        names.push("Root".to_string());
        names.reverse();
        names.join("/")
    };
    let members = items
        .iter()
        .filter(|d| d.kind.ends_with("/subscriptions"))
        .map(|d| {
            let state = visible
                .iter()
                .find(|s| s.subscription_id.eq_ignore_ascii_case(&d.name))
                .map_or_else(|| "not visible".to_string(), |s| s.state.clone());
            crate::org::Member {
                id: d.name.to_ascii_lowercase(),
                name: d.properties.display_name.clone(),
                path: path_of(d.properties.parent.as_ref().map(|p| parent_name(&p.id))),
                status: state,
            }
        })
        .collect();
    Ok(crate::org::Listed {
        id: tenant,
        members,
    })
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

fn request_id(a: &http::Answer) -> Option<String> {
    a.header(&[
        "x-ms-request-id",
        "x-ms-correlation-request-id",
        "client-request-id",
    ])
}

pub(crate) struct Azure;

impl<'a> VendorApi<'a> for Azure {
    type Credentials = AzureCredentials<'a>;

    async fn verify_identity(
        &self,
        creds: &AzureCredentials<'a>,
        endpoint: Option<&str>,
        conns: &Connections,
    ) -> Result<VerifiedIdentity, VendorError> {
        let opts = conns.options();
        let client = &conns.web;
        let (arm, token) = arm_token(creds, endpoint, conns).await?;
        let bearer = token.expose_str().unwrap_or_default();
        let c = claims(bearer);
        let first = format!("{arm}/subscriptions?api-version={SUBSCRIPTIONS_API}");
        let subs: Vec<Subscription> =
            arm_pages(client, arm, first, bearer, opts, "arm:subscriptions").await?;
        let mut scopes: Vec<Scope> = subs
            .into_iter()
            .map(|s| Scope {
                id: s.subscription_id,
                name: s.display_name,
            })
            .collect();
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
            verified_at: crate::clock::rfc3339_now(),
        })
    }
}

/// ARM's base URL for `endpoint` and an ARM token of the application.
async fn arm_token<'e>(
    creds: &AzureCredentials<'_>,
    endpoint: Option<&'e str>,
    conns: &Connections,
) -> Result<(&'e str, Secret), VendorError> {
    let (login, arm) = match endpoint {
        Some(e) => (e, e),
        None => (LOGIN_ENDPOINT, ARM_ENDPOINT),
    };
    let token_url = format!(
        "{login}/{}/oauth2/v2.0/token",
        percent_encode(creds.tenant_id)
    );
    let (token, _) = fetch_token(&conns.web, &token_url, creds, ARM_SCOPE, conns.options()).await?;
    Ok((arm, token))
}

/// An Entra ID client-credentials token for `scope` (ARM's, or Microsoft
/// Graph's), held in a [`Secret`].
async fn fetch_token(
    client: &reqwest::Client,
    token_url: &str,
    creds: &AzureCredentials<'_>,
    scope: &str,
    opts: &ClientOptions,
) -> Result<(Secret, Option<u64>), VendorError> {
    http::retry(opts, Vendor::Azure, "entra:token", |_| {
        let req = client.post(token_url).form(&[
            ("client_id", creds.application_id),
            ("scope", scope),
            ("client_secret", creds.application_secret),
            ("grant_type", "client_credentials"),
        ]);
        async move {
            let a = http::send(Vendor::Azure, opts, req).await?;
            let (status, rid) = (a.status, request_id(&a));
            if status == 200 {
                let t: Token = serde_json::from_slice(&a.body).map_err(|e| {
                    VendorError::new(
                        Vendor::Azure,
                        ErrorKind::Other,
                        format!("unreadable token answer: {e}"),
                    )
                })?;
                return Ok((Secret::from_slice(t.access_token.as_bytes()), t.lifetime()));
            }
            let err: TokenError = serde_json::from_slice(&a.body).unwrap_or_default();
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
                retry_after: a.retry_after,
            })
        }
    })
    .await
}

/// Microsoft Graph (public cloud), where an application's secrets are.
pub const GRAPH_ENDPOINT: &str = "https://graph.microsoft.com";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const GRAPH_GRANT: &str =
    "Microsoft Graph Application.Read.All to the application (or make it an owner of itself)";

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Application {
    password_credentials: Vec<PasswordCredential>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PasswordCredential {
    key_id: String,
    hint: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

/// Credential hygiene of an application secret, with the secret itself
/// (a Graph token for the application, from the recorded tenant's
/// endpoint): when it expires (`passwordCredentials[].endDateTime` of the
/// application, read from Microsoft Graph). The application may hold
/// several secrets; the one in use is the one whose `hint` (its first three
/// characters, which Graph shows) matches, compared here and never shown.
pub(crate) async fn hygiene(
    creds: &AzureCredentials<'_>,
    endpoint: Option<&str>,
    conns: &Connections,
) -> Facts {
    let mut facts = Facts::default();
    let opts = conns.options();
    let (login, graph) = match endpoint {
        Some(e) => (e, e),
        None => (LOGIN_ENDPOINT, GRAPH_ENDPOINT),
    };
    let token_url = format!(
        "{login}/{}/oauth2/v2.0/token",
        percent_encode(creds.tenant_id)
    );
    let token = match fetch_token(&conns.web, &token_url, creds, GRAPH_SCOPE, opts).await {
        Ok((t, _)) => t,
        Err(e) => {
            facts
                .unchecked
                .push(super::unchecked("secret expiry", &e, GRAPH_GRANT));
            return facts;
        }
    };
    let bearer = token.expose_str().unwrap_or_default();
    let url = format!(
        "{graph}/v1.0/applications(appId='{}')?$select=passwordCredentials",
        percent_encode(creds.application_id)
    );
    let app: Result<Application, _> =
        http::retry(opts, Vendor::Azure, "graph:applications", |_| {
            let req = conns.web.get(&url).bearer_auth(bearer);
            async move { arm_call(req, opts).await }
        })
        .await;
    let app = match app {
        Ok(a) => a,
        Err(e) => {
            facts
                .unchecked
                .push(super::unchecked("secret expiry", &e, GRAPH_GRANT));
            return facts;
        }
    };
    let hint: String = creds.application_secret.chars().take(3).collect();
    let mine = app
        .password_credentials
        .into_iter()
        .filter(|c| c.hint.as_deref() == Some(hint.as_str()))
        .filter_map(|c| Some((c.end_date_time?, c.key_id, c.start_date_time)))
        .min_by(|a, b| a.0.cmp(&b.0));
    match mine {
        Some((end, _, _)) => facts.secret_expires = Some(end),
        None => facts.unchecked.push(Unchecked {
            what: "secret expiry",
            code: None,
            message: "none of the application's secrets is the one in use".into(),
            grant: GRAPH_GRANT,
        }),
    }
    facts
}

async fn arm_call<T: for<'de> Deserialize<'de>>(
    req: reqwest::RequestBuilder,
    opts: &ClientOptions,
) -> Result<T, Failure> {
    let a = http::send(Vendor::Azure, opts, req).await?;
    let (status, rid) = (a.status, request_id(&a));
    if status == 200 {
        return serde_json::from_slice(&a.body).map_err(|e| {
            VendorError::new(
                Vendor::Azure,
                ErrorKind::Other,
                format!("unreadable ARM answer: {e}"),
            )
            .request_id(rid)
            .into()
        });
    }
    let err: ArmError = serde_json::from_slice(&a.body).unwrap_or_default();
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
        retry_after: a.retry_after,
    })
}

const RESOURCES_API: &str = "2021-04-01";

/// ARM listing for one tenant's service principal: a token and the
/// subscriptions it sees are fetched at [`Lister::open`], and the token is
/// fetched again ahead of its expiry during a long run; then per
/// subscription `GET .../resourcegroups` and `GET .../resources` with
/// `$top=1000`, following `nextLink` (only on the ARM endpoint, where the
/// bearer token may go). Partitions are per account in [`crate::inventory::model::GLOBAL_REGION`];
/// the subscriptions are fetched concurrently within a partition.
pub(crate) struct Lister {
    arm: String,
    token_url: String,
    application_id: String,
    application_secret: Secret,
    held: std::sync::Mutex<Held>,
    /// One refresh at a time; the others wait for its token.
    refreshing: tokio::sync::Mutex<()>,
    subscriptions: Vec<String>,
}

#[derive(Deserialize)]
struct ListPage {
    #[serde(default)]
    value: Vec<ArmItem>,
    #[serde(default, rename = "nextLink")]
    next_link: Option<String>,
}

impl Lister {
    pub(crate) async fn open(
        conns: &Connections,
        ctx: &Ctx<'_>,
        creds: &AzureCredentials<'_>,
        endpoint: Option<String>,
    ) -> Result<Lister, VendorError> {
        let (login, arm) = match &endpoint {
            Some(e) => (e.as_str(), e.as_str()),
            None => (LOGIN_ENDPOINT, ARM_ENDPOINT),
        };
        let token_url = format!(
            "{login}/{}/oauth2/v2.0/token",
            percent_encode(creds.tenant_id)
        );
        let (token, lifetime) = {
            let _in_flight = ctx.in_flight().await;
            fetch_token(&conns.web, &token_url, creds, ARM_SCOPE, ctx.opts).await?
        };
        let bearer = token.expose_str().unwrap_or_default();
        let key = ctx.key(creds.tenant_id, "subscriptions");
        let first = format!("{arm}/subscriptions?api-version={SUBSCRIPTIONS_API}");
        let listed: Vec<Subscription> = follow_pages(arm, first, |url| {
            let key = &key;
            async move {
                ctx.call(key, "arm:subscriptions", || {
                    let req = conns.web.get(url.as_str()).bearer_auth(bearer);
                    async move { arm_call(req, ctx.opts).await }
                })
                .await
            }
        })
        .await?;
        let mut subscriptions: Vec<String> =
            listed.into_iter().map(|s| s.subscription_id).collect();
        subscriptions.sort();
        subscriptions.dedup();
        let held = Held::new(Secret::from_slice(token.expose()), lifetime);
        Ok(Lister {
            arm: arm.to_string(),
            token_url,
            application_id: creds.application_id.to_string(),
            application_secret: Secret::from_slice(creds.application_secret.as_bytes()),
            held: std::sync::Mutex::new(held),
            refreshing: tokio::sync::Mutex::new(()),
            subscriptions,
        })
    }

    /// A member's session: its one subscription, which the application
    /// must still see.
    pub(crate) fn only(mut self, subscription: &str) -> Result<Lister, VendorError> {
        self.subscriptions
            .retain(|s| s.eq_ignore_ascii_case(subscription));
        if self.subscriptions.is_empty() {
            return Err(crate::cloud::error::scope_gone(Vendor::Azure, subscription));
        }
        Ok(self)
    }

    /// A main account's session without the subscriptions its members
    /// read (each is synced once, as its member).
    pub(crate) fn without(&mut self, claimed: &[String]) {
        self.subscriptions
            .retain(|s| !claimed.iter().any(|c| c.eq_ignore_ascii_case(s)));
    }

    /// The current token, fetched again when it is near its expiry.
    async fn bearer(&self, conns: &Connections, ctx: &Ctx<'_>) -> Result<Secret, VendorError> {
        let current = || {
            let h = self.held.lock().unwrap_or_else(|p| p.into_inner());
            (std::time::Instant::now() < h.refresh_at)
                .then(|| Secret::from_slice(h.bearer.expose()))
        };
        if let Some(t) = current() {
            return Ok(t);
        }
        let _one = self.refreshing.lock().await;
        if let Some(t) = current() {
            return Ok(t);
        }
        let creds = AzureCredentials {
            tenant_id: "",
            application_id: &self.application_id,
            application_secret: self.application_secret.expose_str().unwrap_or_default(),
        };
        let (token, lifetime) = {
            let _in_flight = ctx.in_flight().await;
            fetch_token(&conns.web, &self.token_url, &creds, ARM_SCOPE, ctx.opts).await?
        };
        tracing::debug!("ARM token refreshed ahead of its expiry");
        let out = Secret::from_slice(token.expose());
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Held::new(token, lifetime);
        Ok(out)
    }

    /// Resource groups or resources of every subscription; with declared
    /// `regions`, only those whose `location` is one of them.
    pub(crate) async fn list(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
        key: &PartitionKey,
        regions: Option<&[String]>,
        out: &mut Sink<'_>,
    ) -> Result<(), VendorError> {
        let groups = key.kind == "resource_group";
        let wanted: Option<Vec<String>> =
            regions.map(|r| r.iter().map(|x| normalize_location(x)).collect());
        let mut keep = |res: Resource| {
            let kept = match &wanted {
                None => true,
                Some(w) => res
                    .attributes
                    .get("location")
                    .and_then(|l| l.as_str())
                    .is_some_and(|l| w.contains(&normalize_location(l))),
            };
            if kept {
                out.push(res);
            }
        };
        let mut kept = Sink::new(&mut keep);
        // One request at a time: a partition is one unit of the run's
        // parallelism, whatever number of subscriptions it spans.
        // A probe asks in one subscription.
        let subs = &self.subscriptions[..self.subscriptions.len().min(if ctx.probe {
            1
        } else {
            usize::MAX
        })];
        for sub in subs {
            self.list_subscription(conns, ctx, key, sub, groups, &mut kept)
                .await?;
        }
        Ok(())
    }

    async fn list_subscription(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
        key: &PartitionKey,
        sub: &str,
        groups: bool,
        out: &mut Sink<'_>,
    ) -> Result<(), VendorError> {
        let arm = self.arm.as_str();
        let (what, api) = if groups {
            ("resourcegroups", "arm:resourcegroups")
        } else {
            ("resources", "arm:resources")
        };
        let bucket = ctx.key(sub, what);
        let mut next = Some(format!(
            "{arm}/subscriptions/{}/{what}?api-version={RESOURCES_API}&%24top={}",
            percent_encode(sub),
            ctx.page_size(1000, 1)
        ));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > list::MAX_PAGES {
                return Err(too_many_pages(Vendor::Azure, what));
            }
            if !url.starts_with(arm) {
                return Err(VendorError::new(
                    Vendor::Azure,
                    ErrorKind::Other,
                    format!("ARM sent a nextLink off {arm}"),
                ));
            }
            let token = self.bearer(conns, ctx).await?;
            let bearer = token.expose_str().unwrap_or_default();
            let page: ListPage = ctx
                .call(&bucket, api, || {
                    let req = conns.web.get(&url).bearer_auth(bearer);
                    async move { arm_call(req, ctx.opts).await }
                })
                .await?;
            for v in page.value {
                if let Some(r) = arm_record(v, sub, groups) {
                    out.push(r.0.into_resource(key, &r.1));
                }
            }
            if ctx.probe {
                return Ok(());
            }
            next = page.next_link.filter(|l| !l.is_empty());
        }
        Ok(())
    }
}

/// `West Europe` and `westeurope` are the same location.
fn normalize_location(l: &str) -> String {
    l.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// One ARM resource group or resource: the fields tether records (the
/// rest, `properties` above all, is skipped without being built).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ArmItem {
    id: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind_name: Option<String>,
    location: Option<String>,
    tags: Option<std::collections::BTreeMap<String, Option<String>>>,
    properties: Option<ArmProperties>,
    #[serde(rename = "provisioningState")]
    provisioning_state: Option<String>,
    sku: Option<serde_json::Value>,
    kind: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ArmProperties {
    #[serde(rename = "provisioningState")]
    provisioning_state: Option<String>,
    #[serde(rename = "hardwareProfile")]
    hardware_profile: Option<HardwareProfile>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HardwareProfile {
    #[serde(rename = "vmSize")]
    vm_size: Option<String>,
}

/// One ARM item (resource group or resource) as a record and its native type.
fn arm_record(v: ArmItem, sub: &str, group: bool) -> Option<(Record, String)> {
    let id = v.id.filter(|i| !i.is_empty())?;
    let native = if group {
        "Microsoft.Resources/resourceGroups".to_string()
    } else {
        v.kind_name.unwrap_or_default()
    };
    let props = v.properties.unwrap_or_default();
    let mut r = Record::new(id.clone());
    r.name = v.name;
    r.status = props.provisioning_state.or(v.provisioning_state);
    if let Some(t) = v.tags {
        r.tags = t
            .into_iter()
            .map(|(k, x)| (k, x.unwrap_or_default()))
            .collect();
    }
    r.attr("location", v.location.unwrap_or_default())
        .attr("subscription_id", sub);
    if !group {
        // `/subscriptions/{s}/resourceGroups/{g}/providers/...`
        let mut parts = id.split('/');
        while let Some(p) = parts.next() {
            if p.eq_ignore_ascii_case("resourcegroups") {
                if let Some(g) = parts.next() {
                    r.attr("resource_group", g);
                }
                break;
            }
        }
        if let Some(size) = props.hardware_profile.and_then(|h| h.vm_size) {
            r.attr("instance_type", size);
        }
        r.value("sku", v.sku.unwrap_or_default())
            .value("kind", v.kind.unwrap_or_default());
    }
    Some((r, native))
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
