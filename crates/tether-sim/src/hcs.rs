//! Huawei Cloud Stack: IAM (Keystone v3 password tokens, projects, the
//! user's groups, permanent access keys and their last use), ECS
//! (`cloudservers/detail`, page-number `offset`) and VPC (`vpcs`, `subnets`,
//! `marker` paging) on one endpoint.
//!
//! Requests authenticate with an `X-Auth-Token` issued here or an AK/SK
//! `SDK-HMAC-SHA256` signature. Refusals use the API gateway's body
//! (`error_code`/`error_msg`, `APIGW.*`) or Keystone's for a wrong password.
//!
//! Environments: one listener serves the accounts of every environment
//! (`environment_name` in the world). A token's catalog (unless
//! `nocatalog=true`) says which one an account is in the way Keystone
//! does: IAM, a global service, is registered under the environment's
//! region; ECS and VPC under each region the token reaches.
//!
//! Credential hygiene (see [`crate::admin`]): a token's
//! `user.password_expires_at` is the account's `secret_expires`;
//! `GET /v3/users/{id}/groups` (`ListGroupsForUser`) answers the groups
//! `admin` (when the account's `root` is set) and `readonly_users`;
//! `GET /v3.0/OS-CREDENTIAL/credentials` (`ListPermanentAccessKeys`) the one
//! key (`key_created`); `GET /v5/users/{id}/access-keys/{ak}/last-used`
//! (`ShowAccessKeyLastUsed`) its `key_last_used` (`{}` when never used). A
//! caller may ask only about itself (`IAM.0003` otherwise). An API in the
//! account's `denied` set answers 403 `ECS.0112`/`VPC.0112` (listings) or
//! `IAM.0003` (IAM). Deniable names: [`DENIABLE`].
//!
//! VDCs: `GET /v3/projects/{id}` (`KeystoneShowProject`), the projects'
//! `parent_id`, and what member projects that were deleted, disabled or
//! lost the user's role answer are in [`crate::management`].

use serde_json::Value;

use crate::auth::{fresh, sdk, token};
use crate::clock;
use crate::encode::Json;
use crate::faults::{self, Verdict};
use crate::http::{Req, Resp, request_id};
use crate::paging;
use crate::server::Engine;
use crate::world::{self, Account, Kind, List, Partition, Resource, Vendor, VendorWorld};

/// The API names an account's `denied` set may hold (the names the fault
/// layer sees).
pub const DENIABLE: &[&str] = &[
    "KeystoneListAuthProjects",
    "KeystoneListProjects",
    "KeystoneShowProject",
    "ListServersDetails",
    "ListVpcs",
    "ListSubnets",
    "ListPermanentAccessKeys",
    "ShowAccessKeyLastUsed",
    "ListGroupsForUser",
];

const FLAVORS: &[(&str, &str, &str)] = &[
    ("s6.small.1", "1", "1024"),
    ("s6.medium.2", "1", "2048"),
    ("s6.large.2", "2", "4096"),
    ("c6.large.2", "2", "4096"),
    ("c6.xlarge.2", "4", "8192"),
    ("m6.large.8", "2", "16384"),
    ("s6.xlarge.2", "4", "8192"),
    ("c6.2xlarge.2", "8", "16384"),
];

pub(crate) fn json(status: u16, body: String, rid: &str) -> Resp {
    Resp::new(status, "application/json", body).with("x-request-id", rid)
}

/// API-gateway style error.
pub(crate) fn gateway(status: u16, code: &str, msg: &str) -> Resp {
    let rid = request_id();
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .kv("error_msg", msg)
        .kv("error_code", code)
        .kv("request_id", &rid)
        .end_obj();
    json(status, j.finish(), &rid)
}

/// Keystone style error (IAM password failures).
fn keystone(status: u16, title: &str, msg: &str) -> Resp {
    let rid = request_id();
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .kobj("error")
        .kn("code", status as i64)
        .kv("message", msg)
        .kv("title", title)
        .end_obj()
        .end_obj();
    json(status, j.finish(), &rid)
}

/// Service style error (`{"error": {"code": "Ecs.0005", …}}`).
fn service(status: u16, code: &str, msg: &str) -> Resp {
    let rid = request_id();
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .kobj("error")
        .kv("code", code)
        .kv("message", msg)
        .end_obj()
        .end_obj();
    json(status, j.finish(), &rid)
}

fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

const AUTH_FAIL: &str = "Incorrect IAM authentication information";

/// Serves one request.
pub fn handle(e: &Engine, req: &Req) -> Resp {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", ["v3", "auth", "tokens"]) => issue(e, req),
        ("GET", ["v3", "auth", "projects"]) => projects(e, req, false),
        ("GET", ["v3", "projects"]) => projects(e, req, true),
        ("GET", ["v3", "projects", id]) => crate::management::show_project(e, req, id),
        ("GET", ["v1", p, "cloudservers", "detail"]) => listing(e, req, p, Kind::Instance),
        ("GET", ["v1", p, "vpcs"]) => listing(e, req, p, Kind::Vpc),
        ("GET", ["v1", p, "subnets"]) => listing(e, req, p, Kind::Subnet),
        ("GET", ["v3", "users", u, "groups"]) => groups(e, req, u),
        ("GET", ["v3.0", "OS-CREDENTIAL", "credentials"]) => credentials(e, req),
        ("GET", ["v5", "users", u, "access-keys", k, "last-used"]) => last_used(e, req, u, k),
        _ => gateway(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
        ),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn issue(e: &Engine, req: &Req) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return keystone(400, "Bad Request", "The request body is not valid JSON.");
    };
    let identity = &body["auth"]["identity"];
    let methods_ok = identity["methods"]
        .as_array()
        .is_some_and(|m| m.iter().any(|x| x == "password"));
    let user = &identity["password"]["user"];
    let (Some(name), Some(password)) = (str_at(user, &["name"]), str_at(user, &["password"]))
    else {
        return keystone(
            400,
            "Bad Request",
            "Expecting to find identity.password.user name and password in auth.",
        );
    };
    if !methods_ok {
        return keystone(
            400,
            "Bad Request",
            "Expecting to find password in identity methods.",
        );
    }
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Hcs);
    let denied = || {
        keystone(
            401,
            "Unauthorized",
            "The request you have made requires authentication.",
        )
    };
    let Some(&ai) = vw.by_id.get(name) else {
        return denied();
    };
    let acct = &vw.accounts[ai as usize];
    let domain_ok = match (
        str_at(user, &["domain", "name"]),
        str_at(user, &["domain", "id"]),
    ) {
        (Some(d), _) => d == acct.id,
        (None, Some(id)) => id == acct.domain_id,
        (None, None) => false,
    };
    if !domain_ok
        || acct.revoked
        || !crate::auth::ct_eq(password.as_bytes(), acct.password.as_bytes())
    {
        return denied();
    }
    let scope = &body["auth"]["scope"];
    let project = if scope.get("project").is_some() {
        let p = acct.projects.iter().enumerate().find(|(_, p)| {
            str_at(scope, &["project", "id"]).is_some_and(|id| id == p.id)
                || str_at(scope, &["project", "name"]).is_some_and(|n| n == p.name)
        });
        match p {
            // A deleted or disabled member project, or one the user has no
            // role in, is refused as an unknown one.
            Some((s, p)) if crate::management::hcs_project_usable(&w, ai, s as u16) => Some(p),
            _ => return denied(),
        }
    } else {
        None
    };
    match e
        .faults
        .check(Vendor::Hcs, ai, "iam", "KeystoneCreateUserTokenByPassword")
    {
        Verdict::Pass => {}
        Verdict::Throttle(_) => return throttled("KeystoneCreateUserTokenByPassword"),
        Verdict::Error => return gateway(500, "APIGW.0201", "Internal server error"),
    }
    let now = e.now();
    let exp = now + e.options.hcs_token_ttl;
    let claims = token::Claims {
        aud: "hcs".into(),
        iss: e.endpoint(Vendor::Hcs).to_string(),
        tid: acct.id.clone(),
        appid: acct.principal.clone(),
        oid: acct.domain_id.clone(),
        scope: project.map(|p| p.id.clone()).unwrap_or_default(),
        iat: now,
        nbf: now,
        exp,
    };
    let tok = token::issue_opaque(&e.token_key, &claims);
    let nocatalog = req
        .query_pairs()
        .iter()
        .any(|(k, v)| k == "nocatalog" && v == "true");
    let rid = request_id();
    let mut j = Json::with_capacity(1024);
    j.begin_obj().kobj("token");
    j.kv("expires_at", &clock::fmt_micros(exp))
        .kv("issued_at", &clock::fmt_micros(now));
    j.karr("methods").str("password").end_arr();
    j.karr("catalog");
    if !nocatalog {
        // IAM is a global service of its environment, registered under the
        // environment's own region (what a client checks the declared
        // `environment_name` against); ECS and VPC under each region the
        // token reaches: the project's, or every region of the account.
        let base = e.endpoint(Vendor::Hcs);
        let regional: Vec<&str> = match project {
            Some(p) => vec![p.region.as_str()],
            None => acct.regions.iter().map(String::as_str).collect(),
        };
        let global = [acct.display.as_str()];
        for (svc, ty, regions) in [
            ("iam", "identity", &global[..]),
            ("ecs", "ecs", &regional[..]),
            ("vpc", "vpc", &regional[..]),
        ] {
            j.begin_obj().karr("endpoints");
            for region in regions {
                j.begin_obj()
                    .kv("id", &format!("{svc}-{region}"))
                    .kv("interface", "public")
                    .kv("region", region)
                    .kv("region_id", region)
                    .kv("url", base)
                    .end_obj();
            }
            j.end_arr()
                .kv("id", svc)
                .kv("name", svc)
                .kv("type", ty)
                .end_obj();
        }
    }
    j.end_arr();
    match project {
        Some(p) => {
            j.kobj("project")
                .kv("id", &p.id)
                .kv("name", &p.name)
                .kobj("domain")
                .kv("id", &acct.domain_id)
                .kv("name", &acct.id)
                .end_obj()
                .end_obj();
        }
        None => {
            j.kobj("domain")
                .kv("id", &acct.domain_id)
                .kv("name", &acct.id)
                .end_obj();
        }
    }
    j.karr("roles")
        .begin_obj()
        .kv("id", "0")
        .kv("name", "te_admin")
        .end_obj()
        .end_arr();
    j.kobj("user")
        .kv("id", &acct.principal)
        .kv("name", &acct.id)
        .kobj("domain")
        .kv("id", &acct.domain_id)
        .kv("name", &acct.id)
        .end_obj()
        .kv(
            "password_expires_at",
            &clock::fmt_micros(acct.secret_expires),
        )
        .end_obj();
    j.end_obj().end_obj();
    json(201, j.finish(), &rid).with("x-subject-token", tok)
}

fn throttled(api: &str) -> Resp {
    let l = faults::limit(Vendor::Hcs, api);
    gateway(
        429,
        "APIGW.0308",
        &format!(
            "The throttling threshold has been reached: policy user over ratelimit,limit:{},time:1 second",
            l.per_sec as u64
        ),
    )
}

/// The caller: account and, for a project-scoped token, its project.
struct Caller {
    account: u32,
    project: Option<String>,
}

fn authenticate(e: &Engine, req: &Req, vw: &VendorWorld) -> Result<Caller, Resp> {
    if let Some(t) = req.header("x-auth-token") {
        let Some(c) = token::open_opaque(&e.token_key, t.trim()) else {
            return Err(gateway(
                401,
                "APIGW.0301",
                &format!("{AUTH_FAIL}: decrypt token fail"),
            ));
        };
        let Some(&ai) = vw.by_id.get(&c.tid) else {
            return Err(gateway(
                401,
                "APIGW.0301",
                &format!("{AUTH_FAIL}: decrypt token fail"),
            ));
        };
        if c.exp <= e.now() || c.iat < vw.accounts[ai as usize].tokens_valid_after {
            return Err(gateway(
                401,
                "APIGW.0301",
                &format!("{AUTH_FAIL}: The token must be updated."),
            ));
        }
        return Ok(Caller {
            account: ai,
            project: (!c.scope.is_empty()).then_some(c.scope),
        });
    }
    let Some(h) = req.header("authorization") else {
        return Err(gateway(
            401,
            "APIGW.0301",
            &format!("{AUTH_FAIL}: no token or AK/SK signature in the request"),
        ));
    };
    let Some(auth) = sdk::parse(h) else {
        return Err(gateway(
            401,
            "APIGW.0301",
            &format!("{AUTH_FAIL}: unsupported authorization header"),
        ));
    };
    let Some(&ai) = vw.by_key.get(&auth.access_key) else {
        return Err(gateway(
            401,
            "APIGW.0301",
            &format!(
                "{AUTH_FAIL}: Get secretKey failed,ak:{},err:ak not exist",
                auth.access_key
            ),
        ));
    };
    let acct = &vw.accounts[ai as usize];
    if acct.revoked || !sdk::check(req, &auth, &acct.secret) {
        return Err(gateway(
            401,
            "APIGW.0301",
            &format!("{AUTH_FAIL}: verify aksk signature fail"),
        ));
    }
    if e.options.check_clock {
        let ok = req
            .header("x-sdk-date")
            .and_then(clock::parse_basic)
            .is_some_and(|t| fresh(t, e.now()));
        if !ok {
            return Err(gateway(
                401,
                "APIGW.0301",
                &format!("{AUTH_FAIL}: x-sdk-date is out of the allowed time range"),
            ));
        }
    }
    Ok(Caller {
        account: ai,
        project: None,
    })
}

fn projects(e: &Engine, req: &Req, by_name: bool) -> Resp {
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Hcs);
    let caller = match authenticate(e, req, vw) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let acct = &vw.accounts[caller.account as usize];
    let api = if by_name {
        "KeystoneListProjects"
    } else {
        "KeystoneListAuthProjects"
    };
    if acct.denied.contains(api) {
        return iam_denied();
    }
    match e.faults.check(Vendor::Hcs, caller.account, "iam", api) {
        Verdict::Pass => {}
        Verdict::Throttle(_) => return throttled(api),
        Verdict::Error => return gateway(500, "APIGW.0201", "Internal server error"),
    }
    let q = req.query_pairs();
    let name = if by_name { param(&q, "name") } else { None };
    let base = e.endpoint(Vendor::Hcs);
    let rid = request_id();
    let mut j = Json::with_capacity(512);
    j.begin_obj()
        .kobj("links")
        .kv("self", &format!("{base}{}", req.path))
        .kraw("previous", "null")
        .kraw("next", "null")
        .end_obj();
    j.karr("projects");
    // The account's projects; with VDCs (see `management`) the members the
    // user may use, or for `GET /v3/projects` every project of the domain.
    for p in crate::management::hcs_projects(&w, caller.account, by_name)
        .iter()
        .filter(|p| name.is_none_or(|n| n == p.name))
    {
        j.begin_obj();
        crate::management::project_json(&mut j, p, &acct.domain_id, base);
        j.end_obj();
    }
    j.end_arr().end_obj();
    json(200, j.finish(), &rid)
}

/// IAM's permission refusal.
fn iam_denied() -> Resp {
    gateway(
        403,
        "IAM.0003",
        "You do not have permission to perform this operation.",
    )
}

/// The start of an IAM call about a user: authentication, the user being
/// the caller (when named), denial and faults. The caller's account.
pub(crate) fn iam_call<'w>(
    e: &Engine,
    req: &Req,
    vw: &'w VendorWorld,
    user: Option<&str>,
    api: &'static str,
) -> Result<&'w Account, Resp> {
    let caller = authenticate(e, req, vw)?;
    let acct = &vw.accounts[caller.account as usize];
    if acct.denied.contains(api) || user.is_some_and(|u| u != acct.principal) {
        return Err(iam_denied());
    }
    match e.faults.check(Vendor::Hcs, caller.account, "iam", api) {
        Verdict::Pass => Ok(acct),
        Verdict::Throttle(_) => Err(throttled(api)),
        Verdict::Error => Err(gateway(500, "APIGW.0201", "Internal server error")),
    }
}

/// A 32-hex-digit id derived from `s`.
fn derived_id(s: &str) -> String {
    crate::auth::sha256_hex(s.as_bytes())[..32].to_string()
}

/// `GET /v3/users/{user_id}/groups` (`KeystoneListGroupsForUser`).
fn groups(e: &Engine, req: &Req, user: &str) -> Resp {
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Hcs);
    let acct = match iam_call(e, req, vw, Some(user), "ListGroupsForUser") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let base = e.endpoint(Vendor::Hcs);
    let rid = request_id();
    let mut j = Json::with_capacity(512);
    j.begin_obj().karr("groups");
    let mut groups = Vec::with_capacity(2);
    if acct.root {
        groups.push((
            "admin",
            "Administrators, with full permissions for all services",
        ));
    }
    groups.push(("readonly_users", "Read-only permissions for all services"));
    for (name, description) in groups {
        let id = derived_id(&format!("group:{}:{name}", acct.domain_id));
        j.begin_obj()
            .kv("description", description)
            .kv("domain_id", &acct.domain_id)
            .kv("id", &id)
            .kv("name", name)
            .kobj("links")
            .kv("self", &format!("{base}/v3/groups/{id}"))
            .end_obj()
            .end_obj();
    }
    j.end_arr()
        .kobj("links")
        .kv("self", &format!("{base}/v3/users/{user}/groups"))
        .kraw("previous", "null")
        .kraw("next", "null")
        .end_obj()
        .end_obj();
    json(200, j.finish(), &rid)
}

/// `GET /v3.0/OS-CREDENTIAL/credentials[?user_id=…]`
/// (`ListPermanentAccessKeys`): the user's one key.
fn credentials(e: &Engine, req: &Req) -> Resp {
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Hcs);
    let q = req.query_pairs();
    let user = param(&q, "user_id").filter(|u| !u.is_empty());
    let acct = match iam_call(e, req, vw, user, "ListPermanentAccessKeys") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let rid = request_id();
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .karr("credentials")
        .begin_obj()
        .kv("user_id", &acct.principal)
        .kv("access", &acct.key_id)
        .kv("status", "active")
        .kv("create_time", &clock::fmt_micros(acct.key_created))
        .kv("description", "")
        .end_obj()
        .end_arr()
        .end_obj();
    json(200, j.finish(), &rid)
}

/// `GET /v5/users/{user_id}/access-keys/{access_key_id}/last-used`
/// (`ShowAccessKeyLastUsedV5`).
fn last_used(e: &Engine, req: &Req, user: &str, key: &str) -> Resp {
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Hcs);
    let acct = match iam_call(e, req, vw, Some(user), "ShowAccessKeyLastUsed") {
        Ok(a) => a,
        Err(r) => return r,
    };
    if key != acct.key_id {
        return gateway(404, "IAM.0004", "The access key does not exist.");
    }
    let rid = request_id();
    let mut j = Json::with_capacity(128);
    j.begin_obj().kobj("access_key_last_used");
    if let Some(t) = acct.key_last_used {
        j.kv("last_used_at", &clock::fmt_extended(t));
    }
    j.end_obj().end_obj();
    json(200, j.finish(), &rid)
}

fn listing(e: &Engine, req: &Req, project: &str, kind: Kind) -> Resp {
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Hcs);
    let caller = match authenticate(e, req, vw) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = match vw.by_scope.get(project) {
        Some(&(owner, s))
            if owner == caller.account
                && caller.project.as_deref().is_none_or(|p| p == project)
                && crate::management::hcs_project_usable(&w, owner, s) =>
        {
            s
        }
        // A token scoped to a member project since deleted, disabled or
        // without the user's role was revoked with it (see `management`).
        Some(&(owner, _))
            if owner == caller.account && caller.project.as_deref() == Some(project) =>
        {
            return gateway(
                401,
                "APIGW.0301",
                &format!("{AUTH_FAIL}: The token must be updated."),
            );
        }
        _ => {
            return gateway(
                403,
                "APIGW.0302",
                &format!(
                    "{AUTH_FAIL}: the project {project} is not authorized for this credential"
                ),
            );
        }
    };
    let acct = &vw.accounts[caller.account as usize];
    let api = match kind {
        Kind::Instance => "ListServersDetails",
        Kind::Vpc => "ListVpcs",
        _ => "ListSubnets",
    };
    if acct.denied.contains(api) {
        let (svc, action) = match kind {
            Kind::Instance => ("ECS", "ecs:cloudServers:list"),
            Kind::Vpc => ("VPC", "vpc:vpcs:list"),
            _ => ("VPC", "vpc:subnets:get"),
        };
        return gateway(
            403,
            &format!("{svc}.0112"),
            &format!("Policy doesn't allow {action} to be performed."),
        );
    }
    match e.faults.check(Vendor::Hcs, caller.account, project, api) {
        Verdict::Pass => {}
        Verdict::Throttle(_) => return throttled(api),
        Verdict::Error => {
            return service(
                500,
                if kind == Kind::Instance {
                    "Ecs.0000"
                } else {
                    "VPC.0001"
                },
                "Internal server error.",
            );
        }
    }
    let q = req.query_pairs();
    let empty = Partition::new();
    let part = acct.part(scope, List::Of(kind)).unwrap_or(&empty);
    let rid = request_id();
    let int = |name: &str, default: usize, max: usize| -> Result<usize, Resp> {
        match param(&q, name) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(if kind == Kind::Instance {
                    service(
                        400,
                        "Ecs.0005",
                        &format!("Invalid parameter values. {name} is invalid."),
                    )
                } else {
                    service(400, "VPC.0002", &format!("Invalid value for {name}."))
                }),
            },
        }
    };
    if kind == Kind::Instance {
        let (limit, offset) = match (int("limit", 25, 1000), int("offset", 1, usize::MAX)) {
            (Ok(l), Ok(o)) => (l.max(1), o.max(1)),
            (Err(r), _) | (_, Err(r)) => return r,
        };
        let name = param(&q, "name").map(str::to_string);
        let status = param(&q, "status").map(str::to_string);
        let filtered = name.is_some() || status.is_some();
        let keep = |r: &Resource| {
            name.as_ref().is_none_or(|n| r.name.contains(n.as_str()))
                && status.as_ref().is_none_or(|s| s == server_status(r))
        };
        let (items, total) = paging::numbered(part, offset, limit, filtered, keep);
        let mut j = Json::with_capacity(256 + items.len() * 2000);
        j.begin_obj().kn("count", total as i64).karr("servers");
        for r in items {
            server(&mut j, acct, r, project);
        }
        j.end_arr().end_obj();
        return json(200, j.finish(), &rid);
    }
    let limit = match int("limit", 2000, 2000) {
        Ok(l) => l.max(1),
        Err(r) => return r,
    };
    let marker = param(&q, "marker").filter(|m| !m.is_empty());
    let vpc = param(&q, "vpc_id").map(str::to_string);
    let keep = |r: &Resource| {
        vpc.as_ref()
            .is_none_or(|v| r.parent.as_deref() == Some(v.as_str()))
    };
    let (items, _) = paging::after(part, marker, limit, keep);
    let mut j = Json::with_capacity(256 + items.len() * 600);
    j.begin_obj()
        .karr(if kind == Kind::Vpc { "vpcs" } else { "subnets" });
    for r in items {
        if kind == Kind::Vpc {
            j.begin_obj()
                .kv("id", &r.id)
                .kv("name", &r.name)
                .kv("cidr", &world::cidr(r.seq, 16))
                .kv("status", "OK")
                .kv("description", "")
                .karr("routes")
                .end_arr()
                .kv("enterprise_project_id", "0")
                .kv("created_at", &clock::fmt_extended(r.created))
                .kv("updated_at", &clock::fmt_extended(r.created))
                .end_obj();
        } else {
            let cidr = world::cidr(r.seq, 24);
            let gw = cidr.replace(".0/24", ".1");
            j.begin_obj()
                .kv("id", &r.id)
                .kv("name", &r.name)
                .kv("description", "")
                .kv("cidr", &cidr)
                .kv("gateway_ip", &gw)
                .kraw("dhcp_enable", "true")
                .kraw("ipv6_enable", "false")
                .kv("primary_dns", "100.125.1.250")
                .kv("secondary_dns", "100.125.64.250")
                .kv("availability_zone", &format!("{}a", acct.region_of(r)))
                .kv("vpc_id", r.parent.as_deref().unwrap_or(""))
                .kv("status", "ACTIVE")
                .kv("neutron_network_id", &r.id)
                .kv(
                    "neutron_subnet_id",
                    &format!("{:08x}-1111-4000-8000-{:012x}", r.seq, r.seq),
                )
                .end_obj();
        }
    }
    j.end_arr().end_obj();
    json(200, j.finish(), &rid)
}

fn server_status(r: &Resource) -> &'static str {
    match r.status {
        0 => "ACTIVE",
        1 => "SHUTOFF",
        _ => "BUILD",
    }
}

fn server(j: &mut Json, a: &Account, r: &Resource, project: &str) {
    let (flavor, vcpus, ram) = FLAVORS[r.size as usize % FLAVORS.len()];
    let ip = world::private_ip(r.seq);
    let az = format!("{}a", a.region_of(r));
    let (vm_state, power) = match r.status {
        0 => ("active", 1),
        1 => ("stopped", 4),
        _ => ("building", 0),
    };
    let vpc = r.parent.as_deref().unwrap_or("");
    j.begin_obj()
        .kv("id", &r.id)
        .kv("name", &r.name)
        .kv("description", "")
        .kv("status", server_status(r))
        .kv("created", &clock::fmt_extended(r.created))
        .kv("updated", &clock::fmt_extended(r.created))
        .kobj("flavor")
        .kv("id", flavor)
        .kv("name", flavor)
        .kv("disk", "0")
        .kv("vcpus", vcpus)
        .kv("ram", ram)
        .end_obj()
        .kobj("image")
        .kv("id", "2c9f8a4e-3b3d-4d4f-8e8f-0d1e2f3a4b5c")
        .end_obj()
        .kobj("addresses")
        .karr(vpc)
        .begin_obj()
        .kv("version", "4")
        .kv("addr", &ip)
        .kv("OS-EXT-IPS-MAC:mac_addr", &world::mac(r.seq))
        .kv(
            "OS-EXT-IPS:port_id",
            &format!("{:08x}-2222-4000-8000-{:012x}", r.seq, r.seq),
        )
        .kv("OS-EXT-IPS:type", "fixed")
        .end_obj()
        .end_arr()
        .end_obj();
    j.kobj("metadata")
        .kv("vpc_id", vpc)
        .kv("image_name", "CentOS 7.9 64bit")
        .kv("charging_mode", "0")
        .end_obj();
    j.karr("tags");
    for (k, v) in &r.tags {
        j.str(&format!("{k}={v}"));
    }
    j.end_arr();
    j.karr("sys_tags")
        .begin_obj()
        .kv("key", "_sys_enterprise_project_id")
        .kv("value", "0")
        .end_obj()
        .end_arr();
    j.kv("key_name", "")
        .karr("security_groups")
        .begin_obj()
        .kv(
            "id",
            &format!("{:08x}-3333-4000-8000-{:012x}", r.scope, r.scope),
        )
        .kv("name", "default")
        .end_obj()
        .end_arr()
        .kv("OS-EXT-AZ:availability_zone", &az)
        .kv("OS-EXT-STS:vm_state", vm_state)
        .kraw("OS-EXT-STS:task_state", "null")
        .kn("OS-EXT-STS:power_state", power)
        .kv("OS-EXT-SRV-ATTR:host", &format!("cn-host-{}", r.seq % 97))
        .kv(
            "OS-EXT-SRV-ATTR:instance_name",
            &format!("instance-{:08x}", r.seq),
        )
        .kv("OS-EXT-SRV-ATTR:hostname", &r.name)
        .kv("hostId", &format!("{:056x}", r.seq))
        .kv("tenant_id", project)
        .kv("user_id", &a.principal)
        .kv("enterprise_project_id", "0")
        .kraw("locked", "false")
        .kn("progress", 0)
        .kv("accessIPv4", "")
        .kv("accessIPv6", "")
        .kv("config_drive", "")
        .kv("OS-SRV-USG:launched_at", &clock::fmt_extended(r.created))
        .kraw("OS-SRV-USG:terminated_at", "null")
        .karr("os-extended-volumes:volumes_attached")
        .end_arr()
        .kv("host_status", "UP")
        .end_obj();
}
