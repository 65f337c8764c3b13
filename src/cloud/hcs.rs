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
//! The environment: IAM's answer has no field of that name, but a token's
//! service catalog lists IAM itself (type `identity`) with the region its
//! endpoint is registered in. IAM is the global service of its
//! environment, registered under the environment's own region (on public
//! Huawei Cloud that region is `global`), while ECS and VPC are registered
//! under their regions; tether takes that region as the environment's
//! name. So `verify` asks for the domain-scoped token with its catalog and
//! refuses an answer whose public identity endpoints are not in the
//! declared `environment_name` (ASCII case aside), or that lists none:
//! credentials of one environment are never recorded under another.
//!
//! IAM endpoint: `api_endpoint` when set; otherwise `endpoint` as given when
//! it is a URL, `https://{endpoint}` when it is an IP address, and
//! `https://iam-apigateway-proxy.{endpoint}` for a domain name (HCS's global
//! IAM name). The token lives in a [`Secret`] and is never logged.

use serde::Deserialize;
use serde_json::Value;

use crate::cloud::encode::percent_encode;
use crate::cloud::error::{ErrorKind, VendorError};
use crate::cloud::http::{self, ClientOptions, Failure};
use crate::cloud::list::{Connections, Ctx, MAX_PAGES, Record, Sink, too_many_pages, unreadable};
use crate::cloud::{HcsCredentials, VendorApi};
use crate::config::Vendor;
use crate::hygiene::{Facts, KeyFacts};
use crate::inventory::PartitionKey;
use crate::secrets::Secret;
use crate::state::model::{Scope, VerifiedIdentity};

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
    /// Empty when asked for with `nocatalog=true`.
    #[serde(default)]
    catalog: Vec<Service>,
}

/// One service of a token's catalog (only what the environment check reads).
#[derive(Deserialize)]
struct Service {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    #[serde(default)]
    interface: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    region_id: String,
}

impl TokenInfo {
    /// The regions IAM's own public endpoints are registered in: the
    /// environment it serves (see the module docs). Sorted, unique.
    fn environments(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .catalog
            .iter()
            .filter(|s| s.kind == "identity")
            .flat_map(|s| &s.endpoints)
            .filter(|e| e.interface == "public")
            .map(|e| {
                if e.region_id.is_empty() {
                    e.region.as_str()
                } else {
                    e.region_id.as_str()
                }
            })
            .filter(|r| !r.is_empty())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Refuses a token from IAM at `iam` unless its catalog places IAM in the
/// declared environment.
fn check_environment(iam: &str, info: &TokenInfo, declared: &str) -> Result<(), VendorError> {
    let served = info.environments();
    if served.iter().any(|e| e.eq_ignore_ascii_case(declared)) {
        return Ok(());
    }
    let message = if served.is_empty() {
        format!(
            "IAM at {iam} did not say which environment it serves (the token's catalog lists no public identity endpoint), so the declared environment_name `{declared}` cannot be confirmed"
        )
    } else {
        format!(
            "IAM at {iam} serves environment `{}` (the region of its identity endpoint in the token's catalog), not the declared environment_name `{declared}`",
            served.join("`, `")
        )
    };
    // The credentials are not valid for the declared environment: refused
    // like any other credentials that do not belong there (never retried;
    // identity drift on refresh).
    Err(VendorError::new(Vendor::Hcs, ErrorKind::Auth, message).code("EnvironmentMismatch"))
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    domain: Domain,
    /// When the password expires: RFC 3339, or empty when it does not.
    #[serde(default)]
    password_expires_at: Option<String>,
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
    #[serde(default)]
    parent_id: String,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct ShownProject {
    project: Project,
}

/// The members of an HCS login account: the projects it can access
/// (`GET /v3/auth/projects` with a domain-scoped token), each with the
/// chain of parent projects (VDCs) above it, named once each with
/// `GET /v3/projects/{id}`.
pub(crate) async fn members(
    creds: &HcsCredentials<'_>,
    endpoint: Option<&str>,
    conns: &Connections,
    paths: bool,
) -> Result<crate::org::Listed, VendorError> {
    let opts = conns.options();
    let iam = endpoint.map_or_else(|| iam_url(creds.endpoint), str::to_string);
    let token_url = format!("{iam}/v3/auth/tokens?nocatalog=true");
    let scope = serde_json::json!({"domain": {"name": creds.account}});
    let (token, info) = fetch_token(&conns.web, &token_url, creds, &scope, opts).await?;
    let domain = info.user.domain.id;
    let auth = token.expose_str().unwrap_or_default();
    let url = format!("{iam}/v3/auth/projects");
    let list: Projects = http::retry(opts, Vendor::Hcs, "iam:projects", |_| {
        get_once(conns, opts, "iam:projects", &url, auth)
    })
    .await?;
    let projects: Vec<Project> = list
        .projects
        .into_iter()
        .filter(|p| p.domain_id.is_empty() || p.domain_id == domain)
        .collect();
    let mut parents: std::collections::BTreeMap<String, (String, String)> = Default::default();
    let mut pending: Vec<String> = projects
        .iter()
        .map(|p| p.parent_id.clone())
        .filter(|p| paths && !p.is_empty() && *p != domain)
        .collect();
    // Up the tree, each parent asked once, at most 8 levels.
    for _ in 0..8 {
        pending.sort();
        pending.dedup();
        pending.retain(|p| !parents.contains_key(p));
        if pending.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for id in std::mem::take(&mut pending) {
            let url = format!("{iam}/v3/projects/{}", percent_encode(&id));
            let shown: ShownProject = http::retry(opts, Vendor::Hcs, "iam:show-project", |_| {
                get_once(conns, opts, "iam:show-project", &url, auth)
            })
            .await?;
            let up = shown.project.parent_id;
            if !up.is_empty() && up != domain {
                next.push(up.clone());
            }
            parents.insert(id, (shown.project.name, up));
        }
        pending = next;
    }
    let path_of = |mut id: String| -> String {
        let mut names = Vec::new();
        while !id.is_empty() && id != domain && names.len() <= 8 {
            match parents.get(&id) {
                Some((name, up)) => {
                    names.push(name.clone());
                    id = up.clone();
                }
                None => {
                    names.push(id);
                    break;
                }
            }
        }
        names.push("Root".to_string());
        names.reverse();
        names.join("/")
    };
    let members = projects
        .into_iter()
        .map(|p| crate::org::Member {
            path: if paths {
                path_of(p.parent_id)
            } else {
                String::new()
            },
            id: p.id,
            name: p.name,
            status: if p.enabled { "enabled" } else { "disabled" }.to_string(),
        })
        .collect();
    Ok(crate::org::Listed {
        id: domain,
        members,
    })
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

/// An IAM password token (`X-Subject-Token`) scoped to `scope`, and what
/// its body says (the user, the catalog unless `nocatalog=true`).
async fn fetch_token(
    client: &reqwest::Client,
    token_url: &str,
    creds: &HcsCredentials<'_>,
    scope: &Value,
    opts: &ClientOptions,
) -> Result<(Secret, TokenInfo), VendorError> {
    http::retry(opts, Vendor::Hcs, "iam:tokens", |_| {
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
                "scope": scope
            }
        });
        let req = client
            .post(token_url)
            .header("content-type", "application/json;charset=utf8")
            .json(&body);
        async move {
            let a = http::send(Vendor::Hcs, opts, req).await?;
            let rid = a.header(&["x-request-id"]);
            let token = a
                .header(&["x-subject-token"])
                .map(|t| Secret::from_slice(t.as_bytes()));
            if a.status != 201 && a.status != 200 {
                return Err(failure(a.status, &a.body, rid, a.retry_after));
            }
            let unreadable = |m: String| {
                Failure::from(
                    VendorError::new(Vendor::Hcs, ErrorKind::Other, m).request_id(rid.clone()),
                )
            };
            let token = token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| unreadable("IAM answered without an X-Subject-Token".into()))?;
            let b: TokenBody = serde_json::from_slice(&a.body)
                .map_err(|e| unreadable(format!("unreadable token answer: {e}")))?;
            Ok((token, b.token))
        }
    })
    .await
}

pub(crate) struct Hcs;

impl<'a> VendorApi<'a> for Hcs {
    type Credentials = HcsCredentials<'a>;

    async fn verify_identity(
        &self,
        creds: &HcsCredentials<'a>,
        endpoint: Option<&str>,
        conns: &Connections,
    ) -> Result<VerifiedIdentity, VendorError> {
        let opts = conns.options();
        let iam = endpoint.map_or_else(|| iam_url(creds.endpoint), str::to_string);
        let client = &conns.web;
        // With its catalog: that is where the environment shows.
        let token_url = format!("{iam}/v3/auth/tokens");
        let scope = serde_json::json!({"domain": {"name": creds.account}});
        let (token, info) = fetch_token(client, &token_url, creds, &scope, opts).await?;
        let user = &info.user;
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
        check_environment(&iam, &info, creds.environment)?;
        let user = info.user;
        let projects_url = format!("{iam}/v3/auth/projects");
        let auth = token.expose_str().unwrap_or_default();
        let list: Projects = http::retry(opts, Vendor::Hcs, "iam:projects", |_| {
            let req = client.get(&projects_url).header("x-auth-token", auth);
            async move {
                let a = http::send(Vendor::Hcs, opts, req).await?;
                let rid = a.header(&["x-request-id"]);
                if a.status != 200 {
                    return Err(failure(a.status, &a.body, rid, a.retry_after));
                }
                serde_json::from_slice(&a.body).map_err(|e| {
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
            verified_at: crate::clock::rfc3339_now(),
        })
    }
}

/// The region of an HCS project: its name up to the first `_`
/// (`sc-cd-1_ops` -> `sc-cd-1`; on Huawei Cloud the name is the region).
fn project_region(name: &str) -> &str {
    name.split('_').next().unwrap_or(name)
}

/// Page size of the ECS and VPC lists.
const LIMIT: usize = 1000;

/// ECS and VPC listing for one login account: a domain-scoped IAM token
/// and the projects at [`Lister::open`], then per project a
/// project-scoped token (fetched once, on first use) for
/// `GET /v1/{project}/cloudservers/detail` (page-number `offset`, until
/// `count` is reached or a page comes back short) and
/// `GET /v1/{project}/vpcs` / `subnets` (`marker` = last id, until a page
/// comes back short). A region's partition covers all its projects.
/// Endpoints: `api_endpoint` for everything, else `https://ecs.{region}.{endpoint}`
/// and `https://vpc.{region}.{endpoint}` (an IP `endpoint` serves all).
pub(crate) struct Lister {
    iam: String,
    endpoint: String,
    api_endpoint: Option<String>,
    account: String,
    password: Secret,
    /// (region, project id, its token once fetched).
    projects: Vec<(String, String, tokio::sync::OnceCell<Secret>)>,
}

impl Lister {
    pub(crate) async fn open(
        conns: &Connections,
        ctx: &Ctx<'_>,
        creds: &HcsCredentials<'_>,
        endpoint: Option<String>,
    ) -> Result<Lister, VendorError> {
        let iam = endpoint.clone().unwrap_or_else(|| iam_url(creds.endpoint));
        let token_url = format!("{iam}/v3/auth/tokens?nocatalog=true");
        let scope = serde_json::json!({"domain": {"name": creds.account}});
        let (token, TokenInfo { user, .. }) = {
            let _in_flight = ctx.in_flight().await;
            fetch_token(&conns.web, &token_url, creds, &scope, ctx.opts).await?
        };
        if user.domain.name != creds.account || user.domain.id.is_empty() {
            return Err(VendorError::new(
                Vendor::Hcs,
                ErrorKind::Other,
                format!(
                    "IAM at {iam} issued the token to domain `{}`, not to account `{}`",
                    user.domain.name, creds.account
                ),
            )
            .code("IdentityMismatch"));
        }
        let url = format!("{iam}/v3/auth/projects");
        let key = ctx.key("iam", "KeystoneListAuthProjects");
        let list: Projects = get_json(conns, ctx, &key, "iam:projects", &url, &token).await?;
        let mut projects: Vec<(String, String, tokio::sync::OnceCell<Secret>)> = list
            .projects
            .into_iter()
            .filter(|p| p.domain_id.is_empty() || p.domain_id == user.domain.id)
            .map(|p| {
                (
                    project_region(&p.name).to_string(),
                    p.id,
                    tokio::sync::OnceCell::new(),
                )
            })
            .collect();
        projects.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(Lister {
            iam,
            endpoint: creds.endpoint.to_string(),
            api_endpoint: endpoint,
            account: creds.account.to_string(),
            password: Secret::from_slice(creds.password.as_bytes()),
            projects,
        })
    }

    /// A member's session: its one project, which the login account must
    /// still have access to.
    pub(crate) fn only(mut self, project: &str) -> Result<Lister, VendorError> {
        self.projects.retain(|p| p.1 == project);
        if self.projects.is_empty() {
            return Err(crate::cloud::error::scope_gone(Vendor::Hcs, project));
        }
        Ok(self)
    }

    /// A main account's session without the projects its members read
    /// (each is synced once, as its member).
    pub(crate) fn without(&mut self, claimed: &[String]) {
        self.projects.retain(|p| !claimed.contains(&p.1));
    }

    /// The regions of the projects the account can access.
    pub(crate) fn regions(&self) -> Vec<String> {
        self.projects.iter().map(|p| p.0.clone()).collect()
    }

    fn service(&self, svc: &str, region: &str) -> String {
        if let Some(e) = &self.api_endpoint {
            return e.clone();
        }
        let e = self.endpoint.trim().trim_end_matches('/');
        let bare = e
            .trim_start_matches('[')
            .split([']', ':'])
            .next()
            .unwrap_or(e);
        if e.contains("://") || bare.parse::<std::net::IpAddr>().is_ok() || e.starts_with('[') {
            iam_url(e)
        } else {
            format!("https://{svc}.{region}.{e}")
        }
    }

    async fn project_token<'a>(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
        cell: &'a tokio::sync::OnceCell<Secret>,
        project: &str,
    ) -> Result<&'a Secret, VendorError> {
        cell.get_or_try_init(|| async {
            let creds = HcsCredentials {
                endpoint: &self.endpoint,
                environment: "",
                account: &self.account,
                password: self.password.expose_str().unwrap_or_default(),
            };
            let token_url = format!("{}/v3/auth/tokens?nocatalog=true", self.iam);
            let scope = serde_json::json!({"project": {"id": project}});
            let _in_flight = ctx.in_flight().await;
            fetch_token(&conns.web, &token_url, &creds, &scope, ctx.opts)
                .await
                .map(|(t, _)| t)
        })
        .await
    }

    pub(crate) async fn list(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
        key: &PartitionKey,
        out: &mut Sink<'_>,
    ) -> Result<(), VendorError> {
        let mut any = false;
        for (region, project, cell) in &self.projects {
            if *region != key.region {
                continue;
            }
            any = true;
            let token = self.project_token(conns, ctx, cell, project).await?;
            self.list_project(conns, ctx, key, project, token, out)
                .await?;
            if ctx.probe {
                // One project is enough to learn the permission.
                return Ok(());
            }
        }
        if !any {
            return Err(VendorError::new(
                Vendor::Hcs,
                ErrorKind::Other,
                format!("the account has no project in region `{}`", key.region),
            ));
        }
        Ok(())
    }

    async fn list_project(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
        key: &PartitionKey,
        project: &str,
        token: &Secret,
        out: &mut Sink<'_>,
    ) -> Result<(), VendorError> {
        let pid = percent_encode(project);
        if key.kind == "instance" {
            let base = self.service("ecs", &key.region);
            let bucket = ctx.key(project, "ListServersDetails");
            let mut seen = 0usize;
            for offset in 1..=MAX_PAGES {
                let url = format!(
                    "{base}/v1/{pid}/cloudservers/detail?limit={}&offset={offset}",
                    ctx.page_size(LIMIT, 1)
                );
                let page: ServerPage =
                    get_json(conns, ctx, &bucket, "ecs:ListServersDetails", &url, token).await?;
                let got = page.servers.len();
                seen += got;
                for v in page.servers {
                    if let Some(r) = server_record(v, project) {
                        out.push(r.into_resource(key, "HCS::ECS::CloudServer"));
                    }
                }
                if ctx.probe || got < LIMIT || seen >= page.count.unwrap_or(0) as usize {
                    return Ok(());
                }
            }
            return Err(too_many_pages(Vendor::Hcs, "ListServersDetails"));
        }
        let (what, api, native) = if key.kind == "vpc" {
            ("vpcs", "ListVpcs", "HCS::VPC::VPC")
        } else {
            ("subnets", "ListSubnets", "HCS::VPC::Subnet")
        };
        let base = self.service("vpc", &key.region);
        let bucket = ctx.key(project, api);
        let mut marker = String::new();
        for _ in 0..MAX_PAGES {
            let mut url = format!("{base}/v1/{pid}/{what}?limit={}", ctx.page_size(LIMIT, 1));
            if !marker.is_empty() {
                url.push_str("&marker=");
                url.push_str(&percent_encode(&marker));
            }
            let page: NetworkPage = get_json(conns, ctx, &bucket, api, &url, token).await?;
            let items = if key.kind == "vpc" {
                page.vpcs
            } else {
                page.subnets
            };
            let got = items.len();
            let last = items.last().and_then(|v| v.id.clone()).unwrap_or_default();
            for v in items {
                let Some(id) = v.id.filter(|i| !i.is_empty()) else {
                    continue;
                };
                let mut r = Record::new(id);
                r.name = v.name;
                r.status = v.status;
                r.attr("cidr_block", v.cidr.unwrap_or_default())
                    .attr("project_id", project);
                if key.kind == "subnet" {
                    r.attr("vpc_id", v.vpc_id.unwrap_or_default())
                        .attr("availability_zone", v.availability_zone.unwrap_or_default())
                        .attr("gateway_ip", v.gateway_ip.unwrap_or_default());
                }
                out.push(r.into_resource(key, native));
            }
            if ctx.probe || got < LIMIT || last.is_empty() {
                return Ok(());
            }
            if last == marker {
                return Err(VendorError::new(
                    Vendor::Hcs,
                    ErrorKind::Other,
                    format!("{api} answered the same page twice"),
                ));
            }
            marker = last;
        }
        Err(too_many_pages(Vendor::Hcs, api))
    }
}

/// A page of ECS `ListServersDetails`: only the fields tether records are
/// read; the rest of each server is skipped without being built.
#[derive(Deserialize)]
struct ServerPage {
    #[serde(default)]
    servers: Vec<Server>,
    #[serde(default)]
    count: Option<u64>,
}

#[derive(Deserialize)]
struct Server {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// `key=value` strings.
    #[serde(default)]
    tags: Option<Vec<Option<String>>>,
    #[serde(default)]
    flavor: Option<Named>,
    #[serde(default)]
    metadata: Option<ServerMetadata>,
    /// Network name to its addresses; the first network (by name) gives the
    /// private IP.
    #[serde(default)]
    addresses: Option<std::collections::BTreeMap<String, Vec<ServerAddress>>>,
    #[serde(default, rename = "OS-EXT-AZ:availability_zone")]
    availability_zone: Option<String>,
    /// An object, or `""` for a server booted from a volume.
    #[serde(default)]
    image: Option<Loose<Named>>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct ServerMetadata {
    #[serde(default)]
    vpc_id: Option<String>,
}

#[derive(Deserialize)]
struct ServerAddress {
    #[serde(default)]
    addr: Option<String>,
}

/// A value of the expected shape, or anything else (ignored).
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose<T> {
    Is(T),
    Other(serde::de::IgnoredAny),
}

/// A page of VPC `ListVpcs` or `ListSubnets`.
#[derive(Deserialize)]
struct NetworkPage {
    #[serde(default)]
    vpcs: Vec<Network>,
    #[serde(default)]
    subnets: Vec<Network>,
}

#[derive(Deserialize)]
struct Network {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    cidr: Option<String>,
    #[serde(default)]
    vpc_id: Option<String>,
    #[serde(default)]
    availability_zone: Option<String>,
    #[serde(default)]
    gateway_ip: Option<String>,
}

/// One ECS `ServerDetail` as a record.
fn server_record(v: Server, project: &str) -> Option<Record> {
    let id = v.id.filter(|i| !i.is_empty())?;
    let mut r = Record::new(id);
    r.name = v.name;
    r.status = v.status;
    for t in v.tags.unwrap_or_default().into_iter().flatten() {
        let (k, val) = t.split_once('=').unwrap_or((&t, ""));
        if !k.is_empty() {
            r.tags.insert(k.to_string(), val.to_string());
        }
    }
    let ip = v
        .addresses
        .and_then(|m| m.into_values().next())
        .and_then(|a| a.into_iter().next())
        .and_then(|a| a.addr)
        .unwrap_or_default();
    let flavor = v.flavor.and_then(|f| f.name.or(f.id)).unwrap_or_default();
    let image = match v.image {
        Some(Loose::Is(i)) => i.id.unwrap_or_default(),
        _ => String::new(),
    };
    r.attr("instance_type", flavor)
        .attr(
            "vpc_id",
            v.metadata.and_then(|m| m.vpc_id).unwrap_or_default(),
        )
        .attr("availability_zone", v.availability_zone.unwrap_or_default())
        .attr("private_ip", ip)
        .attr("image_id", image)
        .attr("project_id", project);
    Some(r)
}

const IAM_GRANT: &str =
    "IAM read-only access to the user itself (Tenant Guest, or IAM ReadOnlyAccess)";

#[derive(Deserialize, Default)]
#[serde(default)]
struct Groups {
    groups: Vec<Group>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Group {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Credentials {
    credentials: Vec<Credential>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Credential {
    access: String,
    status: String,
    create_time: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LastUsed {
    access_key_last_used: LastUsedAt,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LastUsedAt {
    last_used_at: Option<String>,
}

/// Credential hygiene of an HCS sign-in, with the account's own password,
/// at its recorded IAM endpoint: whether the user is the domain's
/// administrator (a member of the `admin` group), when the password
/// expires (the token's `password_expires_at`), and the age and last use
/// of the user's permanent access keys (`ListPermanentAccessKeys`,
/// `ShowAccessKeyLastUsedV5`).
pub(crate) async fn hygiene(
    creds: &HcsCredentials<'_>,
    endpoint: Option<&str>,
    conns: &Connections,
) -> Facts {
    let mut facts = Facts::default();
    let opts = conns.options();
    let iam = endpoint.map_or_else(|| iam_url(creds.endpoint), str::to_string);
    let token_url = format!("{iam}/v3/auth/tokens?nocatalog=true");
    let scope = serde_json::json!({"domain": {"name": creds.account}});
    let (token, info) = match fetch_token(&conns.web, &token_url, creds, &scope, opts).await {
        Ok(t) => t,
        Err(e) => {
            facts
                .unchecked
                .push(super::unchecked("the credentials", &e, IAM_GRANT));
            return facts;
        }
    };
    facts.secret_expires = info
        .user
        .password_expires_at
        .filter(|e| !e.trim().is_empty());
    let user = percent_encode(&info.user.id);
    match iam_get(
        conns,
        opts,
        "iam:ListGroupsForUser",
        format!("{iam}/v3/users/{user}/groups"),
        &token,
    )
    .await
    .map(|g: Groups| g.groups.iter().any(|g| g.name == "admin"))
    {
        Ok(admin) => facts.root = admin,
        Err(e) => facts
            .unchecked
            .push(super::unchecked("root key", &e, IAM_GRANT)),
    }
    let keys: Credentials = match iam_get(
        conns,
        opts,
        "iam:ListPermanentAccessKeys",
        format!("{iam}/v3.0/OS-CREDENTIAL/credentials?user_id={user}"),
        &token,
    )
    .await
    {
        Ok(k) => k,
        Err(e) => {
            facts
                .unchecked
                .push(super::unchecked("key age", &e, IAM_GRANT));
            return facts;
        }
    };
    for k in keys
        .credentials
        .into_iter()
        .filter(|k| k.status.eq_ignore_ascii_case("active"))
    {
        let url = format!(
            "{iam}/v5/users/{user}/access-keys/{}/last-used",
            percent_encode(&k.access)
        );
        let used = iam_get(conns, opts, "iam:ShowAccessKeyLastUsedV5", url, &token)
            .await
            .map(|u: LastUsed| u.access_key_last_used.last_used_at);
        let last_used = super::last_use(used, &mut facts, IAM_GRANT);
        facts.keys.push(KeyFacts {
            id: k.access,
            created: k.create_time,
            last_used,
        });
    }
    facts
}

/// One GET of IAM with `X-Auth-Token` (with retries), parsed as JSON.
async fn iam_get<T: for<'de> Deserialize<'de>>(
    conns: &Connections,
    opts: &ClientOptions,
    what: &'static str,
    url: String,
    token: &Secret,
) -> Result<T, VendorError> {
    let auth = token.expose_str().unwrap_or_default();
    http::retry(opts, Vendor::Hcs, what, |_| {
        get_once(conns, opts, what, &url, auth)
    })
    .await
}

/// One GET with `X-Auth-Token`, its answer parsed as JSON.
async fn get_once<T: for<'de> Deserialize<'de>>(
    conns: &Connections,
    opts: &ClientOptions,
    what: &'static str,
    url: &str,
    auth: &str,
) -> Result<T, Failure> {
    let req = conns.web.get(url).header("x-auth-token", auth);
    let a = http::send(Vendor::Hcs, opts, req).await?;
    if a.status != 200 {
        let rid = a.header(&["x-request-id"]);
        return Err(failure(a.status, &a.body, rid, a.retry_after));
    }
    serde_json::from_slice(&a.body).map_err(|e| unreadable(Vendor::Hcs, what, e))
}

/// One paced GET with `X-Auth-Token`, parsed as JSON.
async fn get_json<T: for<'de> Deserialize<'de>>(
    conns: &Connections,
    ctx: &Ctx<'_>,
    key: &crate::cloud::BucketKey,
    what: &'static str,
    url: &str,
    token: &Secret,
) -> Result<T, VendorError> {
    let auth = token.expose_str().unwrap_or_default();
    ctx.call(key, what, || get_once(conns, ctx.opts, what, url, auth))
        .await
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
