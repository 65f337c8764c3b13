//! AWS: STS `GetCallerIdentity`, EC2 `DescribeRegions`,
//! `DescribeInstances`, `DescribeVpcs`, `DescribeSubnets`,
//! `DescribeSecurityGroups`, and IAM `ListAccessKeys`,
//! `GetAccessKeyLastUsed` on one endpoint (Query API, path `/`, GET or
//! form POST, XML answers, `MaxResults`/`NextToken` paging).
//!
//! The operation is the `Action` parameter; the error format follows the
//! service (`sts`, `iam`: awsQuery `ErrorResponse` in the service's
//! namespace; else ec2Query `Response/Errors`). The region is the credential
//! scope's region; a region the account has not enabled answers
//! `AuthFailure`, as AWS does. IAM is global: its requests are signed for
//! `us-east-1`, any other region is refused as AWS refuses it.
//!
//! Credential hygiene (see [`crate::admin`]): with the account's `root` set,
//! `GetCallerIdentity` answers `arn:aws:iam::N:root` and the account id as
//! `UserId`, and the IAM answers name no user. `ListAccessKeys` lists the
//! account's one key (`key_created`); `GetAccessKeyLastUsed` answers
//! `key_last_used` (`ec2` in the account's first region), or `N/A` when the
//! key was never used, and `AccessDenied` for a key not the caller's. An API
//! in the account's `denied` set answers EC2 `UnauthorizedOperation` or
//! IAM/STS `AccessDenied` (403). Deniable names: [`DENIABLE`].
//!
//! STS `AssumeRole`: the management account of the world's organization
//! may assume a role a member trusts it with (`OrganizationAccountAccessRole`
//! unless removed); anything else is `AccessDenied` (403). The temporary
//! credentials (`ASIA…` key, secret, session token in
//! `X-Amz-Security-Token`) are kept in [`Engine::sessions`] and act as the
//! member for EC2 and STS until their expiry by the simulator's clock. A
//! request with an `X-Amz-Target` header is AWS Organizations
//! ([`crate::organizations`]).

use std::ops::Bound;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::auth::sigv4::{self, Failure};
use crate::encode::{xml_elem, xml_into};
use crate::faults::Verdict;
use crate::http::{Req, Resp, request_id};
use crate::server::Engine;
use crate::world::{self, Account, Kind, List, Partition, Resource, Vendor};

const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The API names an account's `denied` set may hold (the names the fault
/// layer sees).
pub const DENIABLE: &[&str] = &[
    "GetCallerIdentity",
    "DescribeRegions",
    "DescribeInstances",
    "DescribeVpcs",
    "DescribeSubnets",
    "DescribeSecurityGroups",
    "ListAccessKeys",
    "GetAccessKeyLastUsed",
    "AssumeRole",
    "DescribeOrganization",
    "ListAccounts",
    "ListParents",
    "DescribeOrganizationalUnit",
    "ListRoots",
];

/// The IAM user whose key a non-root account holds.
const USER: &str = "tether";
const SIZES: &[&str] = &[
    "t3.micro",
    "t3.small",
    "t3.medium",
    "m5.large",
    "m5.xlarge",
    "c5.large",
    "r5.large",
    "t3.large",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Svc {
    Sts,
    Iam,
    Ec2,
}

impl Svc {
    /// The service of an action (EC2 for anything unknown).
    fn of(action: &str) -> Svc {
        match action {
            "GetCallerIdentity" | "AssumeRole" => Svc::Sts,
            "ListAccessKeys" | "GetAccessKeyLastUsed" => Svc::Iam,
            _ => Svc::Ec2,
        }
    }
}

fn xml(status: u16, body: String, rid: &str) -> Resp {
    Resp::new(status, "text/xml;charset=UTF-8", body).with("x-amzn-requestid", rid)
}

fn error(svc: Svc, status: u16, code: &str, message: &str) -> Resp {
    let rid = request_id();
    let mut b = String::with_capacity(256);
    match svc {
        Svc::Sts | Svc::Iam => {
            b.push_str("<ErrorResponse xmlns=\"");
            b.push_str(if svc == Svc::Iam { IAM_NS } else { STS_NS });
            b.push_str("\"><Error><Type>");
            b.push_str(if status >= 500 { "Receiver" } else { "Sender" });
            b.push_str("</Type>");
            xml_elem(&mut b, "Code", code);
            xml_elem(&mut b, "Message", message);
            b.push_str("</Error>");
            xml_elem(&mut b, "RequestId", &rid);
            b.push_str("</ErrorResponse>");
        }
        Svc::Ec2 => {
            b.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>");
            xml_elem(&mut b, "Code", code);
            xml_elem(&mut b, "Message", message);
            b.push_str("</Error></Errors>");
            xml_elem(&mut b, "RequestID", &rid);
            b.push_str("</Response>");
        }
    }
    xml(status, b, &rid)
}

fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Values of `Name.1`, `Name.2`, … in index order.
fn list_param(p: &[(String, String)], name: &str) -> Vec<String> {
    let prefix = format!("{name}.");
    let mut v: Vec<(u32, String)> = p
        .iter()
        .filter_map(|(k, val)| {
            k.strip_prefix(&prefix)
                .and_then(|n| n.parse().ok())
                .map(|n| (n, val.clone()))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, s)| s).collect()
}

/// `Filter.N.Name` with its `Filter.N.Value.M` values.
fn filters(p: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for n in 1..=50 {
        let Some(name) = param(p, &format!("Filter.{n}.Name")) else {
            break;
        };
        out.push((
            name.to_string(),
            list_param(p, &format!("Filter.{n}.Value")),
        ));
    }
    out
}

/// AWS temporary credentials issued by STS `AssumeRole`.
#[derive(Debug, Clone)]
pub struct Session {
    /// Index of the member account into the AWS accounts.
    pub account: u32,
    pub secret: String,
    pub token: String,
    /// Epoch seconds (the simulator's clock).
    pub expires: i64,
    /// `arn:aws:sts::<member>:assumed-role/<role>/<session>`.
    pub arn: String,
    /// `AROA…:<session>`.
    pub user_id: String,
}

/// The most sessions kept at once per vendor (AWS, Alibaba): past it,
/// expired ones are dropped, then the soonest to expire.
pub const MAX_SESSIONS: usize = 10_000;

/// Who signed a request.
pub(crate) struct Caller {
    /// Index into the AWS accounts.
    pub account: u32,
    /// Set for temporary credentials.
    pub session: Option<Session>,
    /// The credential scope's region.
    pub region: String,
}

/// Why a request was not authenticated.
pub(crate) enum AuthError {
    Sig(Failure),
    /// Temporary credentials past their expiry.
    ExpiredToken,
}

/// Verifies the SigV4 signature of a request with a long-term key or
/// temporary credentials (and their session token).
pub(crate) fn authenticate(
    e: &Engine,
    req: &Req,
    vw: &world::VendorWorld,
) -> Result<Caller, AuthError> {
    let now = e.options.check_clock.then(|| e.now());
    let ak = req
        .header("authorization")
        .and_then(sigv4::parse)
        .map(|a| a.access_key);
    let session = ak
        .as_deref()
        .filter(|k| k.starts_with("ASIA"))
        .and_then(|k| e.sessions.lock().ok()?.get(k).cloned());
    let auth = sigv4::verify(req, now, |ak| match &session {
        Some(s) => Some(s.secret.as_str()),
        None => vw
            .by_key
            .get(ak)
            .map(|&i| &vw.accounts[i as usize])
            .filter(|a| !a.revoked)
            .map(|a| a.secret.as_str()),
    })
    .map_err(AuthError::Sig)?;
    if let Some(s) = session {
        let params = req.query_pairs();
        let token = req
            .header("x-amz-security-token")
            .or_else(|| param(&params, "X-Amz-Security-Token"))
            .unwrap_or("");
        if !crate::auth::ct_eq(token.as_bytes(), s.token.as_bytes()) {
            return Err(AuthError::Sig(Failure::UnknownKey));
        }
        if e.now() >= s.expires {
            return Err(AuthError::ExpiredToken);
        }
        return Ok(Caller {
            account: s.account,
            session: Some(s),
            region: auth.region,
        });
    }
    let Some(&ai) = vw.by_key.get(&auth.access_key) else {
        return Err(AuthError::Sig(Failure::UnknownKey));
    };
    Ok(Caller {
        account: ai,
        session: None,
        region: auth.region,
    })
}

/// Serves one request.
pub fn handle(e: &Engine, req: &Req) -> Resp {
    if let Some(target) = req.header("x-amz-target") {
        return crate::organizations::handle(e, req, target);
    }
    let params = req.params();
    let action = param(&params, "Action").unwrap_or("").to_string();
    let scope_svc =
        req.header("authorization")
            .and_then(sigv4::parse)
            .map(|a| match a.service.as_str() {
                "sts" => Svc::Sts,
                "iam" => Svc::Iam,
                _ => Svc::Ec2,
            });
    let svc = scope_svc.unwrap_or(Svc::of(&action));
    if req.method != "GET" && req.method != "POST" {
        return error(
            svc,
            400,
            "InvalidAction",
            "Only GET and POST are supported.",
        );
    }
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Aws);
    let caller = match authenticate(e, req, vw) {
        Ok(c) => c,
        Err(AuthError::Sig(f)) => return auth_error(svc, f),
        // EC2 answers expired temporary credentials as an expired request
        // (its common errors: "…this error can also occur if the
        // credentials have expired").
        Err(AuthError::ExpiredToken) if svc == Svc::Ec2 => {
            return error(svc, 400, "RequestExpired", "Request has expired.");
        }
        Err(AuthError::ExpiredToken) => {
            return error(
                svc,
                403,
                "ExpiredToken",
                "The security token included in the request is expired",
            );
        }
    };
    let ai = caller.account;
    let session = caller.session.as_ref();
    let acct = &vw.accounts[ai as usize];
    if action.is_empty() {
        return error(
            svc,
            400,
            "MissingAction",
            "The request must contain the parameter Action.",
        );
    }
    let region = caller.region.as_str();
    let api: &'static str = match action.as_str() {
        "GetCallerIdentity" => "GetCallerIdentity",
        "DescribeRegions" => "DescribeRegions",
        "DescribeInstances" => "DescribeInstances",
        "DescribeVpcs" => "DescribeVpcs",
        "DescribeSubnets" => "DescribeSubnets",
        "DescribeSecurityGroups" => "DescribeSecurityGroups",
        "ListAccessKeys" => "ListAccessKeys",
        "GetAccessKeyLastUsed" => "GetAccessKeyLastUsed",
        "AssumeRole" => "AssumeRole",
        _ => {
            return error(
                svc,
                400,
                "InvalidAction",
                &format!("The action {action} is not valid for this web service."),
            );
        }
    };
    let svc = Svc::of(api);
    if svc == Svc::Ec2 && acct.region_index(region).is_none() {
        return auth_error(svc, Failure::UnknownKey);
    }
    if svc == Svc::Iam && region != "us-east-1" {
        return error(
            svc,
            403,
            "SignatureDoesNotMatch",
            &format!("Credential should be scoped to a valid region, not '{region}'. "),
        );
    }
    let who = match session {
        Some(s) => s.arn.clone(),
        None => caller_arn(acct),
    };
    if acct.denied.contains(api) {
        return denied(svc, acct, &who, api);
    }
    let scope = if svc == Svc::Iam { "global" } else { region };
    match e.faults.check(Vendor::Aws, ai, scope, api) {
        Verdict::Pass => {}
        Verdict::Throttle(_) if svc != Svc::Ec2 => {
            return error(svc, 400, "Throttling", "Rate exceeded");
        }
        Verdict::Throttle(_) => {
            return error(svc, 503, "RequestLimitExceeded", "Request limit exceeded.");
        }
        Verdict::Error if svc == Svc::Sts => {
            return error(svc, 500, "InternalFailure", "An internal error occurred.");
        }
        Verdict::Error if svc == Svc::Iam => {
            return error(
                svc,
                500,
                "ServiceFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
            );
        }
        Verdict::Error => {
            return error(svc, 500, "InternalError", "An internal error has occurred.");
        }
    }
    match api {
        "GetCallerIdentity" => caller_identity(acct, session),
        "AssumeRole" => assume_role(e, &w, ai, &who, &params),
        "ListAccessKeys" => list_access_keys(acct, &params),
        "GetAccessKeyLastUsed" => access_key_last_used(acct, &params),
        "DescribeRegions" => describe_regions(acct, &params),
        _ => {
            let kind = match api {
                "DescribeInstances" => Kind::Instance,
                "DescribeVpcs" => Kind::Vpc,
                "DescribeSubnets" => Kind::Subnet,
                _ => Kind::SecurityGroup,
            };
            let scope = acct.region_index(region).unwrap_or(0);
            match describe(acct, scope, kind, &params) {
                Ok(r) => r,
                Err((code, msg)) => error(Svc::Ec2, 400, code, &msg),
            }
        }
    }
}

fn auth_error(svc: Svc, f: Failure) -> Resp {
    const AUTH: &str = "AWS was not able to validate the provided access credentials";
    match (svc, f) {
        (Svc::Sts | Svc::Iam, Failure::Missing) => error(
            svc,
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ),
        (Svc::Ec2, Failure::Missing) => error(
            svc,
            401,
            "MissingAuthenticationToken",
            "AWS was not able to authenticate the request: access credentials are missing",
        ),
        (_, Failure::Malformed) => error(
            svc,
            400,
            "IncompleteSignature",
            "The request signature does not conform to AWS standards.",
        ),
        (Svc::Sts | Svc::Iam, Failure::UnknownKey) => error(
            svc,
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
        (Svc::Sts | Svc::Iam, Failure::Mismatch) => error(
            svc,
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ),
        (Svc::Sts | Svc::Iam, Failure::Expired) => error(
            svc,
            403,
            "SignatureDoesNotMatch",
            "Signature expired: the request time is outside the 15 minute window.",
        ),
        (Svc::Ec2, Failure::Expired) => error(svc, 400, "RequestExpired", "Request has expired."),
        (Svc::Ec2, _) => error(svc, 401, "AuthFailure", AUTH),
    }
}

/// The ARN of the caller: the root user or the IAM user `tether`.
fn caller_arn(a: &Account) -> String {
    if a.root {
        format!("arn:aws:iam::{}:root", a.id)
    } else {
        format!("arn:aws:iam::{}:user/{USER}", a.id)
    }
}

/// The permission error of a denied API, in its service's format.
fn denied(svc: Svc, a: &Account, arn: &str, api: &str) -> Resp {
    let arn = arn.to_string();
    match svc {
        Svc::Ec2 => error(
            svc,
            403,
            "UnauthorizedOperation",
            &format!(
                "You are not authorized to perform this operation. User: {arn} is not authorized to perform: ec2:{api} because no identity-based policy allows the ec2:{api} action"
            ),
        ),
        Svc::Iam => {
            let resource = if a.root {
                arn.clone()
            } else {
                format!("user {USER}")
            };
            error(
                svc,
                403,
                "AccessDenied",
                &format!(
                    "User: {arn} is not authorized to perform: iam:{api} on resource: {resource} because no identity-based policy allows the iam:{api} action"
                ),
            )
        }
        Svc::Sts => error(
            svc,
            403,
            "AccessDenied",
            &format!(
                "User: {arn} is not authorized to perform: sts:{api} because no identity-based policy allows the sts:{api} action"
            ),
        ),
    }
}

fn caller_identity(a: &Account, session: Option<&Session>) -> Resp {
    let rid = request_id();
    let mut b = String::with_capacity(512);
    b.push_str("<GetCallerIdentityResponse xmlns=\"");
    b.push_str(STS_NS);
    b.push_str("\"><GetCallerIdentityResult>");
    if let Some(s) = session {
        xml_elem(&mut b, "Arn", &s.arn);
        xml_elem(&mut b, "UserId", &s.user_id);
    } else {
        xml_elem(&mut b, "Arn", &caller_arn(a));
        // Root credentials: the account id is the user id.
        xml_elem(&mut b, "UserId", if a.root { &a.id } else { &a.principal });
    }
    xml_elem(&mut b, "Account", &a.id);
    b.push_str("</GetCallerIdentityResult><ResponseMetadata>");
    xml_elem(&mut b, "RequestId", &rid);
    b.push_str("</ResponseMetadata></GetCallerIdentityResponse>");
    xml(200, b, &rid)
}

fn sts_invalid(message: &str) -> Resp {
    error(Svc::Sts, 400, "ValidationError", message)
}

/// STS `AssumeRole`: only a member's management account may assume a role
/// the member trusts it with (`OrganizationAccountAccessRole` unless
/// removed); the answer's temporary credentials act as the member.
fn assume_role(
    e: &Engine,
    w: &world::World,
    caller: u32,
    who: &str,
    params: &[(String, String)],
) -> Resp {
    let role_arn = param(params, "RoleArn").unwrap_or("");
    if role_arn.is_empty() {
        return sts_invalid(
            "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
        );
    }
    let Some(name) = param(params, "RoleSessionName") else {
        return sts_invalid(
            "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
        );
    };
    if !(2..=64).contains(&name.len())
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
    {
        return sts_invalid(&format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        ));
    }
    let duration = match param(params, "DurationSeconds") {
        None => 3600,
        Some(d) => match d.parse::<i64>() {
            Ok(d) if (900..=43_200).contains(&d) => d,
            _ => {
                return sts_invalid(&format!(
                    "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900 and less than or equal to 43200"
                ));
            }
        },
    };
    let parsed = role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":role/"))
        .filter(|(acct, role)| acct.len() == 12 && !role.is_empty());
    let Some((member_id, role_path)) = parsed else {
        return sts_invalid(&format!("{role_arn} is invalid"));
    };
    let role = role_path.rsplit('/').next().unwrap_or(role_path);
    let vw = w.v(Vendor::Aws);
    let trusted = w.org.as_ref().and_then(|org| {
        let &mi = vw.by_id.get(member_id)?;
        let m = org.joined(mi)?;
        (org.management == caller && !m.suspended && m.roles.contains(role)).then_some((mi, org))
    });
    let Some((mi, _)) = trusted else {
        return error(
            Svc::Sts,
            403,
            "AccessDenied",
            &format!(
                "User: {who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            ),
        );
    };
    let member = &vw.accounts[mi as usize];
    let now = e.now();
    let n = e
        .session_seq
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut seed = crate::rng::mix(crate::rng::mix(n) ^ now as u64);
    for b in e.token_key {
        seed = crate::rng::mix(seed ^ b as u64);
    }
    let mut rng = crate::rng::Rng::new(seed);
    const UPPER32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const B64CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let key = format!("ASIA{}", rng.chars(UPPER32, 16));
    let secret = rng.chars(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        40,
    );
    let token = format!("IQoJb3JpZ2luX2VjE{}", rng.chars(B64CHARS, 300));
    // The role id is stable per (member, role).
    let mut h = crate::rng::mix(mi as u64);
    for b in role.bytes() {
        h = crate::rng::mix(h ^ b as u64);
    }
    let role_id = format!("AROA{}", crate::rng::Rng::new(h).chars(UPPER32, 17));
    let session = Session {
        account: mi,
        secret: secret.clone(),
        token: token.clone(),
        expires: now + duration.min(e.options.session_ttl.max(1)),
        arn: format!("arn:aws:sts::{}:assumed-role/{role}/{name}", member.id),
        user_id: format!("{role_id}:{name}"),
    };
    let rid = request_id();
    let mut b = String::with_capacity(1024);
    b.push_str("<AssumeRoleResponse xmlns=\"");
    b.push_str(STS_NS);
    b.push_str("\"><AssumeRoleResult><Credentials>");
    xml_elem(&mut b, "AccessKeyId", &key);
    xml_elem(&mut b, "SecretAccessKey", &secret);
    xml_elem(&mut b, "SessionToken", &token);
    xml_elem(
        &mut b,
        "Expiration",
        &crate::clock::fmt_extended(session.expires),
    );
    b.push_str("</Credentials><AssumedRoleUser>");
    xml_elem(&mut b, "AssumedRoleId", &session.user_id);
    xml_elem(&mut b, "Arn", &session.arn);
    b.push_str("</AssumedRoleUser></AssumeRoleResult><ResponseMetadata>");
    xml_elem(&mut b, "RequestId", &rid);
    b.push_str("</ResponseMetadata></AssumeRoleResponse>");
    crate::server::keep_session(&e.sessions, key, session, now, |s| s.expires);
    xml(200, b, &rid)
}

/// `<{op}Response xmlns=IAM><{op}Result>`.
fn iam_open(b: &mut String, op: &str) {
    b.push('<');
    b.push_str(op);
    b.push_str("Response xmlns=\"");
    b.push_str(IAM_NS);
    b.push_str("\"><");
    b.push_str(op);
    b.push_str("Result>");
}

/// `</{op}Result><ResponseMetadata>…</{op}Response>`, answered.
fn iam_close(mut b: String, op: &str, rid: &str) -> Resp {
    b.push_str("</");
    b.push_str(op);
    b.push_str("Result><ResponseMetadata>");
    xml_elem(&mut b, "RequestId", rid);
    b.push_str("</ResponseMetadata></");
    b.push_str(op);
    b.push_str("Response>");
    xml(200, b, rid)
}

/// `UserName`, when given, must name the caller's user.
fn check_user(params: &[(String, String)]) -> Result<(), Resp> {
    match param(params, "UserName") {
        Some(u) if !u.is_empty() && u != USER => Err(error(
            Svc::Iam,
            404,
            "NoSuchEntity",
            &format!("The user with name {u} cannot be found."),
        )),
        _ => Ok(()),
    }
}

/// IAM `ListAccessKeys`: the caller's one key.
fn list_access_keys(a: &Account, params: &[(String, String)]) -> Resp {
    if let Err(r) = check_user(params) {
        return r;
    }
    let rid = request_id();
    let mut b = String::with_capacity(512);
    iam_open(&mut b, "ListAccessKeys");
    b.push_str("<AccessKeyMetadata><member>");
    if !a.root {
        xml_elem(&mut b, "UserName", USER);
    }
    xml_elem(&mut b, "AccessKeyId", &a.key_id);
    xml_elem(&mut b, "Status", "Active");
    xml_elem(
        &mut b,
        "CreateDate",
        &crate::clock::fmt_extended(a.key_created),
    );
    b.push_str("</member></AccessKeyMetadata><IsTruncated>false</IsTruncated>");
    iam_close(b, "ListAccessKeys", &rid)
}

/// IAM `GetAccessKeyLastUsed` of the caller's own key.
fn access_key_last_used(a: &Account, params: &[(String, String)]) -> Resp {
    let key = param(params, "AccessKeyId").unwrap_or("");
    if key.is_empty() {
        return error(
            Svc::Iam,
            400,
            "ValidationError",
            "1 validation error detected: Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null",
        );
    }
    if key != a.key_id {
        return error(
            Svc::Iam,
            403,
            "AccessDenied",
            &format!(
                "User: {} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key {key}",
                caller_arn(a)
            ),
        );
    }
    let rid = request_id();
    let mut b = String::with_capacity(512);
    iam_open(&mut b, "GetAccessKeyLastUsed");
    b.push_str("<AccessKeyLastUsed>");
    match a.key_last_used {
        Some(t) => {
            xml_elem(&mut b, "LastUsedDate", &crate::clock::fmt_extended(t));
            xml_elem(&mut b, "ServiceName", "ec2");
            xml_elem(
                &mut b,
                "Region",
                a.regions.first().map_or("us-east-1", String::as_str),
            );
        }
        None => b.push_str("<ServiceName>N/A</ServiceName><Region>N/A</Region>"),
    }
    b.push_str("</AccessKeyLastUsed>");
    if !a.root {
        xml_elem(&mut b, "UserName", USER);
    }
    iam_close(b, "GetAccessKeyLastUsed", &rid)
}

fn open(b: &mut String, op: &str, rid: &str) {
    b.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
    b.push_str(op);
    b.push_str("Response xmlns=\"");
    b.push_str(EC2_NS);
    b.push_str("\">");
    xml_elem(b, "requestId", rid);
}

fn describe_regions(a: &Account, params: &[(String, String)]) -> Resp {
    let rid = request_id();
    let wanted = list_param(params, "RegionName");
    let all = param(params, "AllRegions").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut regions: Vec<(&str, &str)> = a
        .regions
        .iter()
        .map(|r| (r.as_str(), "opt-in-not-required"))
        .collect();
    if all {
        for r in world::AWS_REGIONS {
            if !a.regions.iter().any(|x| x == r) {
                regions.push((r, "not-opted-in"));
            }
        }
    }
    let mut b = String::with_capacity(256 + regions.len() * 160);
    open(&mut b, "DescribeRegions", &rid);
    b.push_str("<regionInfo>");
    for (r, status) in regions {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == r) {
            continue;
        }
        b.push_str("<item>");
        xml_elem(&mut b, "regionName", r);
        xml_elem(&mut b, "regionEndpoint", &format!("ec2.{r}.amazonaws.com"));
        xml_elem(&mut b, "optInStatus", status);
        b.push_str("</item>");
    }
    b.push_str("</regionInfo></DescribeRegionsResponse>");
    xml(200, b, &rid)
}

type Fail = (&'static str, String);

/// A resource against the EC2 filters of its kind.
fn matches(a: &Account, r: &Resource, filters: &[(String, Vec<String>)]) -> Result<bool, Fail> {
    for (name, values) in filters {
        let any = |x: &str| values.iter().any(|v| v == x || v == "*");
        let ok = match name.as_str() {
            "vpc-id" => any(r.parent.as_deref().unwrap_or("")),
            "subnet-id" if r.kind == Kind::Instance => any(r.subnet.as_deref().unwrap_or("")),
            "subnet-id" | "instance-id" | "group-id" => any(&r.id),
            "instance-state-name" => any(state(r).1),
            "availability-zone" => any(&az(a, r)),
            "tag-key" => r.tags.iter().any(|(k, _)| any(k)),
            n if n.starts_with("tag:") => {
                let key = &n[4..];
                r.tags.iter().any(|(k, v)| &**k == key && any(v))
            }
            _ => {
                return Err((
                    "InvalidParameterValue",
                    format!("The filter '{name}' is invalid"),
                ));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn state(r: &Resource) -> (u8, &'static str) {
    match r.status {
        0 => (16, "running"),
        1 => (80, "stopped"),
        _ => (0, "pending"),
    }
}

fn az(a: &Account, r: &Resource) -> String {
    format!(
        "{}{}",
        a.region_of(r),
        ["a", "b", "c"][(r.seq % 3) as usize]
    )
}

fn describe(
    a: &Account,
    scope: u16,
    kind: Kind,
    params: &[(String, String)],
) -> Result<Resp, Fail> {
    let (op, set, id_param, not_found) = match kind {
        Kind::Instance => (
            "DescribeInstances",
            "reservationSet",
            "InstanceId",
            "InvalidInstanceID.NotFound",
        ),
        Kind::Vpc => ("DescribeVpcs", "vpcSet", "VpcId", "InvalidVpcID.NotFound"),
        Kind::Subnet => (
            "DescribeSubnets",
            "subnetSet",
            "SubnetId",
            "InvalidSubnetID.NotFound",
        ),
        _ => (
            "DescribeSecurityGroups",
            "securityGroupInfo",
            "GroupId",
            "InvalidGroup.NotFound",
        ),
    };
    let ids = list_param(params, id_param);
    let max = match param(params, "MaxResults") {
        None => None,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (5..=1000).contains(&n) => Some(n),
            _ => {
                return Err((
                    "InvalidParameterValue",
                    format!(
                        "Value ( {m} ) for parameter maxResults is invalid. Expecting a value greater than 5."
                    ),
                ));
            }
        },
    };
    if !ids.is_empty() && max.is_some() {
        let what = if kind == Kind::Instance {
            "instancesSet"
        } else {
            "the id list"
        };
        return Err((
            "InvalidParameterCombination",
            format!("The parameter {what} cannot be used with the parameter maxResults"),
        ));
    }
    let after = match param(params, "NextToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            B64.decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("v1:").map(str::to_string))
                .ok_or((
                    "InvalidPaginationToken",
                    format!("Invalid pagination token: {t}"),
                ))?,
        ),
    };
    let filters = filters(params);
    let empty = Partition::new();
    let part = a.part(scope, List::Of(kind)).unwrap_or(&empty);
    let mut items: Vec<&Resource> = Vec::new();
    let mut next = None;
    if !ids.is_empty() {
        for id in &ids {
            match part.get(id.as_str()) {
                Some(r) => {
                    if matches(a, r, &filters)? {
                        items.push(r)
                    }
                }
                None => return Err((not_found, format!("The ID '{id}' does not exist"))),
            }
        }
    } else {
        let limit = max.unwrap_or(usize::MAX);
        let range = match &after {
            Some(t) => part.range::<str, _>((Bound::Excluded(t.as_str()), Bound::Unbounded)),
            None => part.range::<str, _>(..),
        };
        for (_, r) in range {
            if !matches(a, r, &filters)? {
                continue;
            }
            if items.len() == limit {
                next = items
                    .last()
                    .map(|l: &&Resource| B64.encode(format!("v1:{}", l.id)));
                break;
            }
            items.push(r);
        }
    }
    let rid = request_id();
    let mut b = String::with_capacity(512 + items.len() * 1400);
    open(&mut b, op, &rid);
    b.push('<');
    b.push_str(set);
    b.push('>');
    for r in items {
        match kind {
            Kind::Instance => instance(&mut b, a, r),
            Kind::Vpc => vpc(&mut b, a, r),
            Kind::Subnet => subnet(&mut b, a, r),
            _ => group(&mut b, a, r),
        }
    }
    b.push_str("</");
    b.push_str(set);
    b.push('>');
    if let Some(t) = next {
        xml_elem(&mut b, "nextToken", &t);
    }
    b.push_str("</");
    b.push_str(op);
    b.push_str("Response>");
    Ok(xml(200, b, &rid))
}

fn tags(b: &mut String, r: &Resource) {
    if r.tags.is_empty() {
        b.push_str("<tagSet/>");
        return;
    }
    b.push_str("<tagSet>");
    for (k, v) in &r.tags {
        b.push_str("<item>");
        xml_elem(b, "key", k);
        xml_elem(b, "value", v);
        b.push_str("</item>");
    }
    b.push_str("</tagSet>");
}

fn instance(b: &mut String, a: &Account, r: &Resource) {
    let (code, name) = state(r);
    let ip = world::private_ip(r.seq);
    b.push_str("<item>");
    xml_elem(
        b,
        "reservationId",
        &format!("r-{:017x}", crate::rng::mix(r.seq as u64) >> 4),
    );
    xml_elem(b, "ownerId", &a.id);
    b.push_str("<groupSet/><instancesSet><item>");
    xml_elem(b, "instanceId", &r.id);
    xml_elem(
        b,
        "imageId",
        &format!("ami-{:017x}", crate::rng::mix(r.size as u64) >> 4),
    );
    b.push_str("<instanceState>");
    xml_elem(b, "code", &code.to_string());
    xml_elem(b, "name", name);
    b.push_str("</instanceState>");
    xml_elem(
        b,
        "privateDnsName",
        &format!("ip-{}.ec2.internal", ip.replace('.', "-")),
    );
    b.push_str("<dnsName/><reason/>");
    xml_elem(b, "amiLaunchIndex", "0");
    b.push_str("<productCodes/>");
    xml_elem(b, "instanceType", SIZES[r.size as usize % SIZES.len()]);
    xml_elem(b, "launchTime", &crate::clock::fmt_millis(r.created));
    b.push_str("<placement>");
    xml_elem(b, "availabilityZone", &az(a, r));
    b.push_str("<groupName/><tenancy>default</tenancy></placement><monitoring><state>disabled</state></monitoring>");
    if let Some(s) = &r.subnet {
        xml_elem(b, "subnetId", s);
    }
    if let Some(v) = &r.parent {
        xml_elem(b, "vpcId", v);
    }
    xml_elem(b, "privateIpAddress", &ip);
    if r.status == 0 {
        xml_elem(b, "ipAddress", &world::public_ip(r.seq));
    }
    b.push_str("<sourceDestCheck>true</sourceDestCheck><architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping/><virtualizationType>hvm</virtualizationType><hypervisor>xen</hypervisor><ebsOptimized>false</ebsOptimized>");
    tags(b, r);
    b.push_str("</item></instancesSet></item>");
}

fn vpc(b: &mut String, a: &Account, r: &Resource) {
    let cidr = world::cidr(r.seq, 16);
    b.push_str("<item>");
    xml_elem(b, "vpcId", &r.id);
    xml_elem(b, "ownerId", &a.id);
    b.push_str("<state>available</state>");
    xml_elem(b, "cidrBlock", &cidr);
    b.push_str("<cidrBlockAssociationSet><item>");
    xml_elem(b, "cidrBlock", &cidr);
    xml_elem(
        b,
        "associationId",
        &format!(
            "vpc-cidr-assoc-{:017x}",
            crate::rng::mix(r.seq as u64 ^ 7) >> 4
        ),
    );
    b.push_str("<cidrBlockState><state>associated</state></cidrBlockState></item></cidrBlockAssociationSet>");
    xml_elem(
        b,
        "dhcpOptionsId",
        &format!("dopt-{:017x}", crate::rng::mix(a.regions.len() as u64) >> 4),
    );
    b.push_str("<instanceTenancy>default</instanceTenancy><isDefault>false</isDefault>");
    tags(b, r);
    b.push_str("</item>");
}

fn subnet(b: &mut String, a: &Account, r: &Resource) {
    b.push_str("<item>");
    xml_elem(b, "subnetId", &r.id);
    xml_elem(
        b,
        "subnetArn",
        &format!("arn:aws:ec2:{}:{}:subnet/{}", a.region_of(r), a.id, r.id),
    );
    b.push_str("<state>available</state>");
    xml_elem(b, "ownerId", &a.id);
    if let Some(v) = &r.parent {
        xml_elem(b, "vpcId", v);
    }
    xml_elem(b, "cidrBlock", &world::cidr(r.seq, 24));
    xml_elem(
        b,
        "availableIpAddressCount",
        &(251 - r.seq % 50).to_string(),
    );
    let az = az(a, r);
    xml_elem(b, "availabilityZone", &az);
    xml_elem(
        b,
        "availabilityZoneId",
        &format!("use1-az{}", 1 + r.seq % 6),
    );
    b.push_str(
        "<defaultForAz>false</defaultForAz><mapPublicIpOnLaunch>false</mapPublicIpOnLaunch>",
    );
    tags(b, r);
    b.push_str("</item>");
}

fn group(b: &mut String, a: &Account, r: &Resource) {
    b.push_str("<item>");
    xml_elem(b, "ownerId", &a.id);
    xml_elem(b, "groupId", &r.id);
    xml_elem(b, "groupName", &r.name);
    b.push_str("<groupDescription>");
    xml_into(b, &format!("{} security group", r.name));
    b.push_str("</groupDescription>");
    b.push_str("<ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>443</fromPort><toPort>443</toPort><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissions>");
    b.push_str("<ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissionsEgress>");
    if let Some(v) = &r.parent {
        xml_elem(b, "vpcId", v);
    }
    xml_elem(
        b,
        "securityGroupArn",
        &format!(
            "arn:aws:ec2:{}:{}:security-group/{}",
            a.region_of(r),
            a.id,
            r.id
        ),
    );
    tags(b, r);
    b.push_str("</item>");
}
