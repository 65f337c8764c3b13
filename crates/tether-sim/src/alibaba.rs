//! Alibaba Cloud: STS `GetCallerIdentity`; ECS `DescribeRegions`,
//! `DescribeInstances`, `DescribeSecurityGroups`; VPC `DescribeVpcs`,
//! `DescribeVSwitches`; RAM `ListAccessKeys`, `GetAccessKeyLastUsed` — RPC
//! style on one endpoint, JSON answers, page numbers and (ECS)
//! `MaxResults`/`NextToken`.
//!
//! Both signature schemes are accepted: v1 (`Signature` parameter,
//! HMAC-SHA1) and V3 (`Authorization: ACS3-HMAC-SHA256`). The product is the
//! `Version` (ECS 2014-05-26, VPC 2016-04-28, STS 2015-04-01, RAM
//! 2015-05-01). Nonces are single-use for 15 minutes; timestamps must be
//! within 15 minutes.
//!
//! Credential hygiene (see [`crate::admin`]): `GetCallerIdentity` answers
//! the main account (`acs:ram::N:root`, `Account`) when the account's `root`
//! is set, as by default, else the RAM user `tether` (`RAMUser`, with a user
//! id of its own). `ListAccessKeys` lists the one key (`key_created`);
//! `GetAccessKeyLastUsed` answers `key_last_used` (`{}` when never used) and
//! `EntityNotExist.User.AccessKey` for a key not the caller's. An API in the
//! account's `denied` set answers 403 `Forbidden.RAM` (ECS, VPC, STS) or
//! `NoPermission` (RAM, Resource Directory). Deniable names: [`DENIABLE`].
//!
//! Resource Directory (`Version` 2022-04-19, product
//! `resourcedirectorymaster`) is served by [`crate::resource_directory`].
//!
//! STS `AssumeRole`: the master account of the world's resource directory
//! may assume a role a joined member trusts it with
//! (`ResourceDirectoryAccountAccessRole` unless removed; role names match
//! case-insensitively). The temporary credentials (`STS.…` key, secret,
//! `CAIS…` security token) are kept in [`Engine::alibaba_sessions`]; a
//! request signed with them must carry the token (`SecurityToken`
//! parameter, or the `x-acs-security-token` header with V3) and acts as the
//! member for every API here until `Expiration` by the simulator's clock,
//! and only while the member is in the directory and still trusts the role.

use crate::auth::{acs, fresh};
use crate::clock;
use crate::encode::Json;
use crate::faults::Verdict;
use crate::http::{Req, Resp, request_id};
use crate::paging;
use crate::server::Engine;
use crate::world::{self, Account, Kind, List, Partition, Resource, Vendor, World};

const ECS: &str = "2014-05-26";
const VPC: &str = "2016-04-28";
const STS: &str = "2015-04-01";
const RAM: &str = "2015-05-01";
/// Resource Directory (`resourcedirectorymaster`).
const RD: &str = "2022-04-19";

/// The API names an account's `denied` set may hold (the names the fault
/// layer sees; `DescribeRegions` is ECS's and VPC's).
pub const DENIABLE: &[&str] = &[
    "GetCallerIdentity",
    "DescribeRegions",
    "DescribeInstances",
    "DescribeSecurityGroups",
    "DescribeVpcs",
    "DescribeVSwitches",
    "ListAccessKeys",
    "GetAccessKeyLastUsed",
    "AssumeRole",
    "GetResourceDirectory",
    "ListAccounts",
    "GetFolder",
    "ListFoldersForParent",
];

/// The RAM user whose key a non-root account holds.
const USER: &str = "tether";
const SIZES: &[(&str, i64, i64)] = &[
    ("ecs.g6.large", 2, 8192),
    ("ecs.c6.xlarge", 4, 8192),
    ("ecs.t6-c1m1.large", 2, 2048),
    ("ecs.g7.xlarge", 4, 16384),
    ("ecs.r6.large", 2, 16384),
    ("ecs.c7.large", 2, 4096),
    ("ecs.g6.2xlarge", 8, 32768),
    ("ecs.t5-lc1m2.small", 1, 2048),
];

pub(crate) fn json(status: u16, body: String, rid: &str) -> Resp {
    Resp::new(status, "application/json;charset=utf-8", body).with("x-acs-request-id", rid)
}

/// Alibaba's JSON error (`RequestId`, `HostId`, `Code`, `Message`,
/// `Recommend`) for the product of the request's `Version`.
pub(crate) fn error(req: &Req, status: u16, code: &str, message: &str) -> Resp {
    let rid = request_id();
    let product = match req
        .header("x-acs-version")
        .map(str::to_string)
        .or_else(|| param(&req.params(), "Version").map(str::to_string))
        .as_deref()
    {
        Some(VPC) => "Vpc",
        Some(STS) => "Sts",
        Some(RAM) => "Ram",
        Some(RD) => "ResourceDirectoryMaster",
        _ => "Ecs",
    };
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kv("HostId", req.header("host").unwrap_or(""))
        .kv("Code", code)
        .kv("Message", message)
        .kv(
            "Recommend",
            &format!("https://api.aliyun.com/troubleshoot?q={code}&product={product}"),
        )
        .end_obj();
    json(status, j.finish(), &rid)
}

pub(crate) fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Checks a signature against a secret.
type Check<'a> = Box<dyn Fn(&str) -> bool + 'a>;

/// Alibaba temporary credentials issued by STS `AssumeRole`.
#[derive(Debug, Clone)]
pub struct Session {
    /// Index of the member account into the Alibaba accounts.
    pub account: u32,
    pub secret: String,
    /// The `SecurityToken` (`CAIS…`).
    pub token: String,
    /// Epoch seconds (the simulator's clock).
    pub expires: i64,
    /// The member's role, as the member names it.
    pub role: String,
    /// `RoleSessionName`.
    pub name: String,
    /// The role's id (digits).
    pub role_id: String,
}

impl Session {
    /// `acs:ram::<member>:assumed-role/<role>/<session>`.
    pub fn arn(&self, member: &str) -> String {
        format!("acs:ram::{member}:assumed-role/{}/{}", self.role, self.name)
    }
}

/// Who is calling, once authenticated.
struct Caller {
    /// Index into the Alibaba accounts (the member, for a session).
    account: u32,
    action: String,
    version: String,
    /// Set for temporary credentials.
    session: Option<Session>,
}

fn authenticate(
    e: &Engine,
    req: &Req,
    params: &[(String, String)],
    w: &World,
) -> Result<Caller, Resp> {
    let vw = w.v(Vendor::Alibaba);
    let now = e.now();
    let (key, time, nonce, action, version): (String, String, String, String, String);
    let check: Check<'_>;
    if let Some(h) = req
        .header("authorization")
        .filter(|h| h.starts_with("ACS3-HMAC-SHA256"))
    {
        let auth = acs::v3_parse(h).ok_or_else(|| {
            error(
                req,
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        })?;
        key = auth.access_key.clone();
        time = req.header("x-acs-date").unwrap_or("").to_string();
        nonce = req
            .header("x-acs-signature-nonce")
            .unwrap_or("")
            .to_string();
        action = req.header("x-acs-action").unwrap_or("").to_string();
        version = req.header("x-acs-version").unwrap_or("").to_string();
        check = Box::new(move |secret| acs::v3_check(req, &auth, secret));
    } else if param(params, "Signature").is_some() {
        key = param(params, "AccessKeyId").unwrap_or("").to_string();
        time = param(params, "Timestamp").unwrap_or("").to_string();
        nonce = param(params, "SignatureNonce").unwrap_or("").to_string();
        action = param(params, "Action").unwrap_or("").to_string();
        version = param(params, "Version").unwrap_or("").to_string();
        if param(params, "SignatureMethod") != Some("HMAC-SHA1") {
            return Err(error(
                req,
                400,
                "InvalidSignatureMethod",
                "Specified signature method is not valid.",
            ));
        }
        let method = req.method.clone();
        check = Box::new(move |secret| acs::v1_check(&method, params, secret));
    } else if param(params, "AccessKeyId").is_some() {
        return Err(error(
            req,
            400,
            "MissingSignature",
            "Signature is mandatory for this action.",
        ));
    } else {
        return Err(error(
            req,
            400,
            "MissingAccessKeyId",
            "AccessKeyId is mandatory for this action.",
        ));
    }
    if key.is_empty() {
        return Err(error(
            req,
            400,
            "MissingAccessKeyId",
            "AccessKeyId is mandatory for this action.",
        ));
    }
    let Some(t) = clock::parse_extended(&time) else {
        return Err(error(
            req,
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        ));
    };
    if nonce.is_empty() {
        return Err(error(
            req,
            400,
            "MissingSignatureNonce",
            "SignatureNonce is mandatory for this action.",
        ));
    }
    let not_found = || {
        error(
            req,
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    };
    let session = key
        .starts_with("STS.")
        .then(|| e.alibaba_sessions.lock().ok()?.get(&key).cloned())
        .flatten();
    let (ai, secret) = match &session {
        Some(s) => (s.account, s.secret.as_str()),
        None => {
            let Some(&ai) = vw.by_key.get(&key) else {
                return Err(not_found());
            };
            let acct = &vw.accounts[ai as usize];
            if acct.revoked {
                return Err(not_found());
            }
            (ai, acct.secret.as_str())
        }
    };
    if !check(secret) {
        return Err(error(
            req,
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        ));
    }
    if let Some(s) = &session {
        let token = req
            .header("x-acs-security-token")
            .or_else(|| param(params, "SecurityToken"))
            .unwrap_or("");
        check_token(req, s, token, now)?;
    }
    if e.options.check_clock && !fresh(t, now) {
        return Err(error(
            req,
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    let fresh_nonce = e
        .nonces
        .lock()
        .map(|mut n| n.fresh(&format!("{key}/{nonce}"), now))
        .unwrap_or(true);
    if !fresh_nonce {
        return Err(error(
            req,
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    if let Some(s) = &session
        && !still_trusted(w, s)
    {
        return Err(no_permission(req));
    }
    Ok(Caller {
        account: ai,
        action,
        version,
        session,
    })
}

/// The security token of a request signed with temporary credentials.
fn check_token(req: &Req, s: &Session, token: &str, now: i64) -> Result<(), Resp> {
    let refuse = |code: &str, message: &str| Err(error(req, 400, code, message));
    if token.is_empty() {
        return refuse(
            "MissingSecurityToken",
            "SecurityToken is mandatory for this action.",
        );
    }
    let well_formed = token.len() > 4
        && token.starts_with("CAIS")
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
    if !well_formed {
        return refuse(
            "InvalidSecurityToken.Malformed",
            "Specified SecurityToken is malformed.",
        );
    }
    if !crate::auth::ct_eq(token.as_bytes(), s.token.as_bytes()) {
        return refuse(
            "InvalidSecurityToken.Mismatch",
            "Specified SecurityToken is mismatch with the AccessKey.",
        );
    }
    if now >= s.expires {
        return refuse(
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        );
    }
    Ok(())
}

/// A session acts as its member only while the member is in the resource
/// directory and still trusts the master with the role.
fn still_trusted(w: &World, s: &Session) -> bool {
    w.alibaba_org.as_ref().is_some_and(|rd| {
        rd.joined(s.account)
            .is_some_and(|m| rd.trusted_role(m, &s.role).is_some())
    })
}

/// 403 `NoPermission`, as RAM answers a call it does not allow.
pub(crate) fn no_permission(req: &Req) -> Resp {
    error(
        req,
        403,
        "NoPermission",
        "You are not authorized to do this action. You should be authorized by RAM.",
    )
}

/// Serves one request.
pub fn handle(e: &Engine, req: &Req) -> Resp {
    let params = req.params();
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Alibaba);
    let caller = match authenticate(e, req, &params, &w) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let acct = &vw.accounts[caller.account as usize];
    let api: &'static str = match (caller.version.as_str(), caller.action.as_str()) {
        (STS, "GetCallerIdentity") => "GetCallerIdentity",
        (ECS | VPC, "DescribeRegions") => "DescribeRegions",
        (ECS, "DescribeInstances") => "DescribeInstances",
        (ECS, "DescribeSecurityGroups") => "DescribeSecurityGroups",
        (VPC, "DescribeVpcs") => "DescribeVpcs",
        (VPC, "DescribeVSwitches") => "DescribeVSwitches",
        (RAM, "ListAccessKeys") => "ListAccessKeys",
        (RAM, "GetAccessKeyLastUsed") => "GetAccessKeyLastUsed",
        (STS, "AssumeRole") => "AssumeRole",
        (RD, "GetResourceDirectory") => "GetResourceDirectory",
        (RD, "ListAccounts") => "ListAccounts",
        (RD, "GetFolder") => "GetFolder",
        (RD, "ListFoldersForParent") => "ListFoldersForParent",
        (ECS | VPC | STS | RAM | RD, _) => {
            return error(
                req,
                404,
                "InvalidApi.NotFound",
                "Specified api is not found, please check your url and method.",
            );
        }
        _ => {
            return error(
                req,
                400,
                "InvalidVersion",
                "Specified parameter Version is not valid.",
            );
        }
    };
    if acct.denied.contains(api) {
        return if caller.version == RAM || caller.version == RD {
            no_permission(req)
        } else {
            error(
                req,
                403,
                "Forbidden.RAM",
                "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
            )
        };
    }
    let region = param(&params, "RegionId").unwrap_or("");
    let listing = matches!(
        api,
        "DescribeInstances" | "DescribeSecurityGroups" | "DescribeVpcs" | "DescribeVSwitches"
    );
    if listing && region.is_empty() {
        return error(
            req,
            400,
            "MissingRegionId",
            "RegionId is mandatory for this action.",
        );
    }
    let scope = acct.region_index(region);
    if listing && scope.is_none() {
        return error(
            req,
            404,
            "InvalidRegionId.NotFound",
            "The specified RegionId does not exist.",
        );
    }
    match e.faults.check(
        Vendor::Alibaba,
        caller.account,
        if listing { region } else { "global" },
        api,
    ) {
        Verdict::Pass => {}
        Verdict::Throttle(ms) => {
            return error(
                req,
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
            )
            .with("x-acs-retry-after", ms.to_string());
        }
        Verdict::Error => {
            return error(
                req,
                500,
                "InternalError",
                "The request processing has failed due to some unknown error, exception or failure.",
            );
        }
    }
    let scope = scope.unwrap_or(0);
    let result = match api {
        "GetCallerIdentity" => Ok(caller_identity(acct, caller.session.as_ref())),
        "AssumeRole" => return assume_role(e, req, &w, caller.account, &params),
        "GetResourceDirectory" | "ListAccounts" | "GetFolder" | "ListFoldersForParent" => {
            return crate::resource_directory::handle(req, &w, caller.account, api, &params);
        }
        "ListAccessKeys" => {
            return list_access_keys(req, acct, caller.session.is_none(), &params);
        }
        "GetAccessKeyLastUsed" => return access_key_last_used(req, acct, &params),
        "DescribeRegions" => Ok(regions(acct, &caller.version)),
        "DescribeInstances" => instances(acct, scope, &params),
        "DescribeSecurityGroups" => groups(acct, scope, &params),
        "DescribeVpcs" => vpcs(acct, scope, &params),
        _ => vswitches(acct, scope, &params),
    };
    match result {
        Ok(body) => json(200, body.0, &body.1),
        Err((code, msg)) => error(req, 400, code, &msg),
    }
}

type Body = (String, String);
/// A refused parameter: the error code and message (answered 400).
pub(crate) type Fail = (&'static str, String);

/// The id of the RAM user `tether` of a non-root account: 18 digits,
/// derived from the account (the main account's user id is its own id).
fn ram_user_id(a: &Account) -> String {
    let h =
        a.id.bytes()
            .fold(0x7a11_u64, |h, b| crate::rng::mix(h ^ b as u64));
    format!("2{:017}", h % 100_000_000_000_000_000)
}

fn caller_identity(a: &Account, session: Option<&Session>) -> Body {
    let rid = request_id();
    let (user, arn, kind) = if let Some(s) = session {
        (
            format!("{}:{}", s.role_id, s.name),
            s.arn(&a.id),
            "AssumedRoleUser",
        )
    } else if a.root {
        (
            a.principal.clone(),
            format!("acs:ram::{}:root", a.id),
            "Account",
        )
    } else {
        (
            ram_user_id(a),
            format!("acs:ram::{}:user/{USER}", a.id),
            "RAMUser",
        )
    };
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kv("AccountId", &a.id)
        .kv("UserId", &user)
        .kv("Arn", &arn)
        .kv("IdentityType", kind)
        .kv("PrincipalId", &user);
    if let Some(s) = session {
        j.kv("RoleId", &s.role_id);
    }
    j.end_obj();
    (j.finish(), rid)
}

/// `UserName`, when given, must name the caller's user.
fn check_user(req: &Req, params: &[(String, String)]) -> Result<(), Resp> {
    match param(params, "UserName") {
        Some(u) if !u.is_empty() && u != USER => Err(error(
            req,
            404,
            "EntityNotExist.User",
            "The user does not exist.",
        )),
        _ => Ok(()),
    }
}

/// RAM `ListAccessKeys`: the caller's one key (none for a role session).
fn list_access_keys(req: &Req, a: &Account, has_key: bool, params: &[(String, String)]) -> Resp {
    if let Err(r) = check_user(req, params) {
        return r;
    }
    let rid = request_id();
    let mut j = Json::with_capacity(256);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kobj("AccessKeys")
        .karr("AccessKey");
    if has_key {
        j.begin_obj()
            .kv("AccessKeyId", &a.key_id)
            .kv("Status", "Active")
            .kv("CreateDate", &clock::fmt_extended(a.key_created))
            .end_obj();
    }
    j.end_arr().end_obj().end_obj();
    json(200, j.finish(), &rid)
}

/// RAM `GetAccessKeyLastUsed` of the caller's own key.
fn access_key_last_used(req: &Req, a: &Account, params: &[(String, String)]) -> Resp {
    if let Err(r) = check_user(req, params) {
        return r;
    }
    let key = param(params, "UserAccessKeyId").unwrap_or("");
    if key.is_empty() {
        return error(
            req,
            400,
            "MissingUserAccessKeyId",
            "UserAccessKeyId is mandatory for this action.",
        );
    }
    if key != a.key_id {
        return error(
            req,
            404,
            "EntityNotExist.User.AccessKey",
            "The AccessKey does not exist.",
        );
    }
    let rid = request_id();
    let mut j = Json::with_capacity(160);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kobj("AccessKeyLastUsed");
    if let Some(t) = a.key_last_used {
        j.kv("LastUsedDate", &clock::fmt_extended(t));
    }
    j.end_obj().end_obj();
    json(200, j.finish(), &rid)
}

/// STS `AssumeRole`: only the master account of the resource directory may
/// assume a role a joined member trusts it with; the answer's temporary
/// credentials act as the member (see the module doc).
fn assume_role(e: &Engine, req: &Req, w: &World, caller: u32, params: &[(String, String)]) -> Resp {
    let given = |name: &str| param(params, name).filter(|v| !v.is_empty());
    let Some(role_arn) = given("RoleArn") else {
        return error(
            req,
            400,
            "MissingRoleArn",
            "RoleArn is mandatory for this action.",
        );
    };
    let Some(name) = given("RoleSessionName") else {
        return error(
            req,
            400,
            "MissingRoleSessionName",
            "RoleSessionName is mandatory for this action.",
        );
    };
    if !(2..=64).contains(&name.len())
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
    {
        return error(
            req,
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrong.",
        );
    }
    let duration = match given("DurationSeconds") {
        None => 3600,
        Some(d) => match d.parse::<i64>() {
            Ok(d) if (900..=3600).contains(&d) => d,
            _ => {
                return error(
                    req,
                    400,
                    "InvalidParameter.DurationSeconds",
                    "The Min/Max value of DurationSeconds is 15min/1hr.",
                );
            }
        },
    };
    let parsed = role_arn
        .strip_prefix("acs:ram::")
        .and_then(|r| r.split_once(":role/"))
        .filter(|(acct, role)| {
            !acct.is_empty()
                && acct.bytes().all(|b| b.is_ascii_digit())
                && (1..=64).contains(&role.len())
                && !role.contains('/')
        });
    let Some((member_id, role)) = parsed else {
        return error(
            req,
            400,
            "InvalidParameter.RoleArn",
            "The parameter RoleArn is wrong.",
        );
    };
    let vw = w.v(Vendor::Alibaba);
    let found = w.alibaba_org.as_ref().and_then(|rd| {
        let &mi = vw.by_id.get(member_id)?;
        let m = rd.member(mi)?;
        Some((rd, m, rd.trusted_role(m, role)?))
    });
    let Some((rd, m, stored)) = found else {
        return error(
            req,
            404,
            "EntityNotExist.Role",
            &format!("The role not exists: acs:ram::{member_id}:role/{role}."),
        );
    };
    if rd.management != caller || !m.joined {
        return no_permission(req);
    }
    let now = e.now();
    let n = e
        .session_seq
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // The counter and the clock mixed apart: `n ^ now` alone repeats when
    // consecutive sessions straddle a second.
    let mut seed = crate::rng::mix(crate::rng::mix(n ^ 0xa11b_aba0) ^ now as u64);
    for b in e.token_key {
        seed = crate::rng::mix(seed ^ b as u64);
    }
    let mut rng = crate::rng::Rng::new(seed);
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const B64CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let key = format!("STS.{}", rng.chars(ALNUM, 25));
    // The role id is stable per (member, role).
    let member = &vw.accounts[m.account as usize];
    let h = member
        .id
        .bytes()
        .chain(stored.bytes().map(|b| b.to_ascii_lowercase()))
        .fold(0x0a55_0e5d_u64, |h, b| crate::rng::mix(h ^ b as u64));
    let session = Session {
        account: m.account,
        secret: rng.chars(ALNUM, 44),
        token: format!("CAIS{}", rng.chars(B64CHARS, 300)),
        expires: now + duration.min(e.options.session_ttl.max(1)),
        role: stored.to_string(),
        name: name.to_string(),
        role_id: format!("3{:018}", h % 1_000_000_000_000_000_000),
    };
    let rid = request_id();
    let mut j = Json::with_capacity(1024);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kobj("Credentials")
        .kv("AccessKeyId", &key)
        .kv("AccessKeySecret", &session.secret)
        .kv("SecurityToken", &session.token)
        .kv("Expiration", &clock::fmt_extended(session.expires))
        .end_obj()
        .kobj("AssumedRoleUser")
        .kv(
            "Arn",
            &format!(
                "acs:ram::{}:role/{}/{}",
                member.id, session.role, session.name
            ),
        )
        .kv(
            "AssumedRoleId",
            &format!("{}:{}", session.role_id, session.name),
        )
        .end_obj()
        .end_obj();
    crate::server::keep_session(&e.alibaba_sessions, key, session, now, |s| s.expires);
    json(200, j.finish(), &rid)
}

fn regions(a: &Account, version: &str) -> Body {
    let rid = request_id();
    let product = if version == VPC { "vpc" } else { "ecs" };
    let mut j = Json::with_capacity(256 + a.regions.len() * 120);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kobj("Regions")
        .karr("Region");
    for r in &a.regions {
        j.begin_obj()
            .kv("RegionId", r)
            .kv("LocalName", r)
            .kv("RegionEndpoint", &format!("{product}.{r}.aliyuncs.com"))
            .kv("Status", "available")
            .end_obj();
    }
    j.end_arr().end_obj().end_obj();
    (j.finish(), rid)
}

/// Paging parameters: page mode, or token mode when `MaxResults`/`NextToken` is sent.
pub(crate) enum Paging {
    Page { number: usize, size: usize },
    Token { after: Option<String>, max: usize },
}

/// The paging of a request (`PageSize`/`MaxResults` up to `max_page`; token
/// mode only if `tokens`).
pub(crate) fn paging(
    params: &[(String, String)],
    max_page: usize,
    tokens: bool,
) -> Result<Paging, Fail> {
    let int = |name: &str, default: usize, max: usize| -> Result<usize, Fail> {
        match param(params, name) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err((
                    "InvalidParameter",
                    format!("The specified parameter \"{name}\" is not valid."),
                )),
            },
        }
    };
    if tokens
        && (param(params, "MaxResults").is_some()
            || param(params, "NextToken").is_some_and(|t| !t.is_empty()))
    {
        let after = match param(params, "NextToken").filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => Some(paging::untoken(t).ok_or((
                "InvalidNextToken.Malformed",
                "The specified parameter NextToken is not valid.".to_string(),
            ))?),
        };
        return Ok(Paging::Token {
            after,
            max: int("MaxResults", 10, 100)?,
        });
    }
    Ok(Paging::Page {
        number: int("PageNumber", 1, usize::MAX)?,
        size: int("PageSize", 10, max_page)?,
    })
}

/// Lists one partition; writes the envelope and calls `item` per resource.
#[allow(clippy::too_many_arguments)]
fn list(
    a: &Account,
    scope: u16,
    kind: Kind,
    params: &[(String, String)],
    max_page: usize,
    tokens: bool,
    outer: &str,
    inner: &str,
    keep: &dyn Fn(&Resource) -> bool,
    filtered: bool,
    item: fn(&mut Json, &Account, &Resource),
) -> Result<Body, Fail> {
    let p = paging(params, max_page, tokens)?;
    let empty = Partition::new();
    let part = a.part(scope, List::Of(kind)).unwrap_or(&empty);
    let rid = request_id();
    let (items, total, next, number, size) = match p {
        Paging::Page { number, size } => {
            let (items, total) = paging::numbered(part, number, size, filtered, keep);
            (items, total, None, number, size)
        }
        Paging::Token { after, max } => {
            let (items, more) = paging::after(part, after.as_deref(), max, keep);
            let next = Some(if more {
                items
                    .last()
                    .map(|r| paging::token(&r.id))
                    .unwrap_or_default()
            } else {
                String::new()
            });
            (items, part.len(), next, 1, max)
        }
    };
    let mut j = Json::with_capacity(512 + items.len() * 1200);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kn("TotalCount", total as i64)
        .kn("PageNumber", number as i64)
        .kn("PageSize", size as i64);
    if let Some(t) = &next {
        j.kv("NextToken", t);
    }
    j.kv(
        "RegionId",
        a.regions
            .get(scope as usize)
            .map(String::as_str)
            .unwrap_or(""),
    );
    j.kobj(outer).karr(inner);
    for r in items {
        item(&mut j, a, r);
    }
    j.end_arr().end_obj().end_obj();
    Ok((j.finish(), rid))
}

/// `["a","b"]` JSON-array parameters (`InstanceIds`, `SecurityGroupIds`).
fn id_list(params: &[(String, String)], name: &str) -> Result<Option<Vec<String>>, Fail> {
    match param(params, name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => serde_json::from_str::<Vec<String>>(v)
            .map(Some)
            .map_err(|_| {
                (
                    "InvalidParameter",
                    format!("The specified parameter \"{name}\" is not valid."),
                )
            }),
    }
}

/// `Tag.N.Key` / `Tag.N.Value` filters.
fn tag_filters(params: &[(String, String)]) -> Vec<(String, Option<String>)> {
    (1..=20)
        .filter_map(|n| {
            param(params, &format!("Tag.{n}.Key")).map(|k| {
                (
                    k.to_string(),
                    param(params, &format!("Tag.{n}.Value")).map(str::to_string),
                )
            })
        })
        .collect()
}

fn has_tags(r: &Resource, tags: &[(String, Option<String>)]) -> bool {
    tags.iter().all(|(k, v)| {
        r.tags
            .iter()
            .any(|(rk, rv)| &**rk == k && v.as_ref().is_none_or(|v| &**rv == v))
    })
}

fn status(r: &Resource) -> &'static str {
    match r.status {
        0 => "Running",
        1 => "Stopped",
        _ => "Starting",
    }
}

/// The id without its type prefix (`i-abc` -> `abc`).
fn tail(id: &str) -> &str {
    id.split_once('-').map_or(id, |(_, t)| t)
}

fn zone(a: &Account, r: &Resource) -> String {
    format!(
        "{}-{}",
        a.region_of(r),
        ["g", "h", "i"][(r.seq % 3) as usize]
    )
}

fn ecs_tags(j: &mut Json, r: &Resource) {
    j.kobj("Tags").karr("Tag");
    for (k, v) in &r.tags {
        j.begin_obj().kv("TagKey", k).kv("TagValue", v).end_obj();
    }
    j.end_arr().end_obj();
}

fn vpc_tags(j: &mut Json, r: &Resource) {
    j.kobj("Tags").karr("Tag");
    for (k, v) in &r.tags {
        j.begin_obj().kv("Key", k).kv("Value", v).end_obj();
    }
    j.end_arr().end_obj();
}

fn instances(a: &Account, scope: u16, params: &[(String, String)]) -> Result<Body, Fail> {
    let ids = id_list(params, "InstanceIds")?;
    let vpc = param(params, "VpcId").map(str::to_string);
    let vsw = param(params, "VSwitchId").map(str::to_string);
    let st = param(params, "Status").map(str::to_string);
    let name = param(params, "InstanceName").map(str::to_string);
    let tags = tag_filters(params);
    let filtered = ids.is_some()
        || vpc.is_some()
        || vsw.is_some()
        || st.is_some()
        || name.is_some()
        || !tags.is_empty();
    let keep = move |r: &Resource| {
        ids.as_ref().is_none_or(|l| l.iter().any(|i| *i == *r.id))
            && vpc
                .as_ref()
                .is_none_or(|v| r.parent.as_deref() == Some(v.as_str()))
            && vsw
                .as_ref()
                .is_none_or(|v| r.subnet.as_deref() == Some(v.as_str()))
            && st.as_ref().is_none_or(|s| s == status(r))
            && name.as_ref().is_none_or(|n| *n == *r.name)
            && has_tags(r, &tags)
    };
    list(
        a,
        scope,
        Kind::Instance,
        params,
        100,
        true,
        "Instances",
        "Instance",
        &keep,
        filtered,
        instance,
    )
}

fn instance(j: &mut Json, a: &Account, r: &Resource) {
    let (size, cpu, mem) = SIZES[r.size as usize % SIZES.len()];
    let ip = world::private_ip(r.seq);
    let region = a.region_of(r);
    j.begin_obj()
        .kv("InstanceId", &r.id)
        .kv("InstanceName", &r.name)
        .kv("HostName", &format!("iZ{}Z", tail(&r.id)))
        .kv("Description", "")
        .kv("Status", status(r))
        .kv("RegionId", region)
        .kv("ZoneId", &zone(a, r))
        .kv("InstanceType", size)
        .kn("Cpu", cpu)
        .kn("Memory", mem)
        .kv("OSName", "Alibaba Cloud Linux 3.2104 LTS 64位")
        .kv("OSType", "linux")
        .kv("ImageId", "aliyun_3_x64_20G_alibase_20240528.vhd")
        .kv("CreationTime", &clock::fmt_minutes(r.created))
        .kv("ExpiredTime", "2099-12-31T15:59Z")
        .kv("InstanceChargeType", "PostPaid")
        .kv("InternetChargeType", "PayByTraffic")
        .kv("InstanceNetworkType", "vpc")
        .kv(
            "SerialNumber",
            &format!("{:08x}-0000-4000-8000-{:012x}", r.seq, r.seq),
        )
        .kv("ResourceGroupId", "");
    j.kobj("VpcAttributes")
        .kv("VpcId", r.parent.as_deref().unwrap_or(""))
        .kv("VSwitchId", r.subnet.as_deref().unwrap_or(""))
        .kobj("PrivateIpAddress")
        .karr("IpAddress")
        .str(&ip)
        .end_arr()
        .end_obj()
        .kv("NatIpAddress", "")
        .end_obj();
    j.kobj("PublicIpAddress").karr("IpAddress");
    if r.status == 0 {
        j.str(&world::public_ip(r.seq));
    }
    j.end_arr().end_obj();
    j.kobj("InnerIpAddress")
        .karr("IpAddress")
        .end_arr()
        .end_obj();
    j.kobj("EipAddress")
        .kv("AllocationId", "")
        .kv("IpAddress", "")
        .kn("Bandwidth", 0)
        .kv("InternetChargeType", "")
        .end_obj();
    j.kobj("SecurityGroupIds")
        .karr("SecurityGroupId")
        .end_arr()
        .end_obj();
    j.kobj("NetworkInterfaces")
        .karr("NetworkInterface")
        .begin_obj()
        .kv("NetworkInterfaceId", &format!("eni-{}", tail(&r.id)))
        .kv(
            "MacAddress",
            &world::mac(r.seq).replace("fa:16:3e", "00:16:3e"),
        )
        .kv("PrimaryIpAddress", &ip)
        .end_obj()
        .end_arr()
        .end_obj();
    ecs_tags(j, r);
    j.end_obj();
}

fn groups(a: &Account, scope: u16, params: &[(String, String)]) -> Result<Body, Fail> {
    let ids = id_list(params, "SecurityGroupIds")?;
    let vpc = param(params, "VpcId").map(str::to_string);
    let name = param(params, "SecurityGroupName").map(str::to_string);
    let tags = tag_filters(params);
    let filtered = ids.is_some() || vpc.is_some() || name.is_some() || !tags.is_empty();
    let keep = move |r: &Resource| {
        ids.as_ref().is_none_or(|l| l.iter().any(|i| *i == *r.id))
            && vpc
                .as_ref()
                .is_none_or(|v| r.parent.as_deref() == Some(v.as_str()))
            && name.as_ref().is_none_or(|n| *n == *r.name)
            && has_tags(r, &tags)
    };
    list(
        a,
        scope,
        Kind::SecurityGroup,
        params,
        50,
        true,
        "SecurityGroups",
        "SecurityGroup",
        &keep,
        filtered,
        group,
    )
}

fn group(j: &mut Json, _a: &Account, r: &Resource) {
    j.begin_obj()
        .kv("SecurityGroupId", &r.id)
        .kv("SecurityGroupName", &r.name)
        .kv("Description", &format!("{} security group", r.name))
        .kv("VpcId", r.parent.as_deref().unwrap_or(""))
        .kv("SecurityGroupType", "normal")
        .kv("CreationTime", &clock::fmt_extended(r.created))
        .kv("ResourceGroupId", "")
        .kraw("ServiceManaged", "false");
    ecs_tags(j, r);
    j.end_obj();
}

fn vpcs(a: &Account, scope: u16, params: &[(String, String)]) -> Result<Body, Fail> {
    let ids: Option<Vec<String>> = param(params, "VpcId")
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let name = param(params, "VpcName").map(str::to_string);
    let filtered = ids.is_some() || name.is_some();
    let keep = move |r: &Resource| {
        ids.as_ref().is_none_or(|l| l.iter().any(|i| *i == *r.id))
            && name.as_ref().is_none_or(|n| *n == *r.name)
    };
    list(
        a,
        scope,
        Kind::Vpc,
        params,
        50,
        false,
        "Vpcs",
        "Vpc",
        &keep,
        filtered,
        vpc,
    )
}

fn vpc(j: &mut Json, a: &Account, r: &Resource) {
    j.begin_obj()
        .kv("VpcId", &r.id)
        .kv("VpcName", &r.name)
        .kv("RegionId", a.region_of(r))
        .kv("Status", "Available")
        .kv("CidrBlock", &world::cidr(r.seq, 16))
        .kraw("IsDefault", "false")
        .kv("CreationTime", &clock::fmt_extended(r.created))
        .kv("Description", "")
        .kv("VRouterId", &format!("vrt-{}", tail(&r.id)))
        .kv("ResourceGroupId", "");
    j.kobj("VSwitchIds").karr("VSwitchId").end_arr().end_obj();
    j.kobj("UserCidrs").karr("UserCidr").end_arr().end_obj();
    vpc_tags(j, r);
    j.end_obj();
}

fn vswitches(a: &Account, scope: u16, params: &[(String, String)]) -> Result<Body, Fail> {
    let vpc = param(params, "VpcId")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let id = param(params, "VSwitchId")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let z = param(params, "ZoneId")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let filtered = vpc.is_some() || id.is_some() || z.is_some();
    let region = a.regions.get(scope as usize).cloned().unwrap_or_default();
    let keep = move |r: &Resource| {
        vpc.as_ref()
            .is_none_or(|v| r.parent.as_deref() == Some(v.as_str()))
            && id.as_ref().is_none_or(|i| *i == *r.id)
            && z.as_ref()
                .is_none_or(|z| *z == format!("{region}-{}", ["g", "h", "i"][(r.seq % 3) as usize]))
    };
    list(
        a,
        scope,
        Kind::VSwitch,
        params,
        50,
        false,
        "VSwitches",
        "VSwitch",
        &keep,
        filtered,
        vswitch,
    )
}

fn vswitch(j: &mut Json, a: &Account, r: &Resource) {
    j.begin_obj()
        .kv("VSwitchId", &r.id)
        .kv("VSwitchName", &r.name)
        .kv("VpcId", r.parent.as_deref().unwrap_or(""))
        .kv("Status", "Available")
        .kv("CidrBlock", &world::cidr(r.seq, 24))
        .kv("ZoneId", &zone(a, r))
        .kn("AvailableIpAddressCount", 251 - (r.seq % 50) as i64)
        .kv("Description", "")
        .kv("CreationTime", &clock::fmt_extended(r.created))
        .kraw("IsDefault", "false")
        .kv("ResourceGroupId", "");
    vpc_tags(j, r);
    j.end_obj();
}
