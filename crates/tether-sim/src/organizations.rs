//! AWS Organizations (JSON 1.1 protocol on the AWS endpoint): `POST /` with
//! `X-Amz-Target: AWSOrganizationsV20161128.<Operation>`, SigV4 for service
//! `organizations` in `us-east-1`. Operations: `DescribeOrganization`,
//! `ListAccounts` (`MaxResults` 1–20, `NextToken`), `ListParents`,
//! `DescribeOrganizationalUnit`, `ListRoots`.
//!
//! Only the management account may call them: an account in no
//! organization answers `AWSOrganizationsNotInUseException`, a member
//! `AccessDeniedException` (both 400, as Organizations answers). Errors are
//! `{"__type": code, "Message": …}`; the operation names are also the names
//! an account's `denied` set takes.

use serde_json::Value;

use crate::auth::sigv4::Failure;
use crate::aws::{AuthError, authenticate};
use crate::encode::Json;
use crate::faults::Verdict;
use crate::http::{Req, Resp, request_id};
use crate::server::Engine;
use crate::world::{Organization, Vendor, World};

const PREFIX: &str = "AWSOrganizationsV20161128.";
const CT: &str = "application/x-amz-json-1.1";

fn answer(status: u16, body: String) -> Resp {
    Resp::new(status, CT, body).with("x-amzn-requestid", request_id())
}

fn error(status: u16, code: &str, message: &str) -> Resp {
    let mut j = Json::with_capacity(128);
    j.begin_obj()
        .kv("__type", code)
        .kv("Message", message)
        .end_obj();
    answer(status, j.finish())
}

fn invalid(message: &str) -> Resp {
    error(400, "InvalidInputException", message)
}

fn auth_error(e: AuthError) -> Resp {
    match e {
        AuthError::Sig(Failure::Missing) => error(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        AuthError::Sig(Failure::Malformed) => error(
            400,
            "IncompleteSignatureException",
            "The request signature does not conform to AWS standards.",
        ),
        AuthError::Sig(Failure::UnknownKey) => error(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        AuthError::Sig(Failure::Mismatch) => error(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ),
        AuthError::Sig(Failure::Expired) => error(
            403,
            "InvalidSignatureException",
            "Signature expired: the request time is outside the 15 minute window.",
        ),
        AuthError::ExpiredToken => error(
            403,
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ),
    }
}

/// Serves one request with an `X-Amz-Target` header.
pub fn handle(e: &Engine, req: &Req, target: &str) -> Resp {
    let Some(op) = target.strip_prefix(PREFIX) else {
        return error(400, "UnknownOperationException", "");
    };
    if req.method != "POST" {
        return error(400, "UnknownOperationException", "Only POST is supported.");
    }
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Aws);
    let caller = match authenticate(e, req, vw) {
        Ok(c) => c,
        Err(x) => return auth_error(x),
    };
    let api: &'static str = match op {
        "DescribeOrganization" => "DescribeOrganization",
        "ListAccounts" => "ListAccounts",
        "ListParents" => "ListParents",
        "DescribeOrganizationalUnit" => "DescribeOrganizationalUnit",
        "ListRoots" => "ListRoots",
        _ => return error(400, "UnknownOperationException", ""),
    };
    let region = caller.region.as_str();
    if region != "us-east-1" {
        return error(
            403,
            "InvalidSignatureException",
            &format!("Credential should be scoped to a valid region, not '{region}'. "),
        );
    }
    let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return error(
                    400,
                    "SerializationException",
                    "Start of structure or map found where not expected.",
                );
            }
        }
    };
    let ai = caller.account;
    let acct = &vw.accounts[ai as usize];
    let Some(org) = w.org.as_ref() else {
        return not_in_use();
    };
    if org.management != ai {
        if org.joined(ai).is_some() {
            return access_denied();
        }
        return not_in_use();
    }
    if acct.denied.contains(api) {
        return access_denied();
    }
    match e.faults.check(Vendor::Aws, ai, "global", api) {
        Verdict::Pass => {}
        Verdict::Throttle(_) => {
            return error(
                400,
                "TooManyRequestsException",
                "AWS Organizations can't complete your request because another request is already in progress. Try again later.",
            );
        }
        Verdict::Error => {
            return error(
                500,
                "ServiceException",
                "AWS Organizations can't complete your request because of an internal service error. Try again later.",
            );
        }
    }
    let mgmt = acct.id.as_str();
    match api {
        "DescribeOrganization" => {
            let mut j = Json::with_capacity(512);
            j.begin_obj().kobj("Organization");
            j.kv("Id", &org.id)
                .kv("Arn", &org.arn(mgmt))
                .kv("FeatureSet", "ALL")
                .kv("MasterAccountArn", &org.account_arn(mgmt, mgmt))
                .kv("MasterAccountId", mgmt)
                .kv("MasterAccountEmail", &email(mgmt));
            j.end_obj().end_obj();
            answer(200, j.finish())
        }
        "ListAccounts" => list_accounts(&w, org, &body),
        "ListParents" => list_parents(&w, org, &body),
        "DescribeOrganizationalUnit" => {
            let id = str_field(&body, "OrganizationalUnitId");
            let Some(u) = org.unit_index(id).map(|i| &org.units[i]) else {
                return error(
                    400,
                    "OrganizationalUnitNotFoundException",
                    "We can't find an organizational unit (OU) with the OrganizationalUnitId that you specified.",
                );
            };
            let mut j = Json::with_capacity(256);
            j.begin_obj()
                .kobj("OrganizationalUnit")
                .kv("Id", &u.id)
                .kv("Arn", &org.unit_arn(mgmt, &u.id))
                .kv("Name", &u.name)
                .end_obj()
                .end_obj();
            answer(200, j.finish())
        }
        _ => {
            let mut j = Json::with_capacity(256);
            j.begin_obj().karr("Roots").begin_obj();
            j.kv("Id", &org.root)
                .kv("Arn", &org.root_arn(mgmt))
                .kv("Name", "Root")
                .karr("PolicyTypes")
                .end_arr();
            j.end_obj().end_arr().end_obj();
            answer(200, j.finish())
        }
    }
}

fn not_in_use() -> Resp {
    error(
        400,
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.",
    )
}

fn access_denied() -> Resp {
    error(
        400,
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
    )
}

fn email(id: &str) -> String {
    format!("aws-{id}@example.com")
}

fn str_field<'a>(body: &'a Value, name: &str) -> &'a str {
    body.get(name).and_then(Value::as_str).unwrap_or("")
}

/// `ListAccounts`: the management account, then the members in the
/// organization now; `NextToken` is the position of the next one.
fn list_accounts(w: &World, org: &Organization, body: &Value) -> Resp {
    let max = match body.get("MaxResults") {
        None | Some(Value::Null) => 20,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=20) => n as usize,
            _ => {
                return invalid(
                    "You provided a value that does not match the required pattern: MaxResults must be between 1 and 20.",
                );
            }
        },
    };
    let start = match body.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => match crate::paging::untoken(t).and_then(|s| s.parse::<usize>().ok()) {
            Some(n) => n,
            None => return invalid("The NextToken value is not valid."),
        },
    };
    let vw = w.v(Vendor::Aws);
    let mgmt = &vw.accounts[org.management as usize];
    let all: Vec<(u32, Option<&crate::world::OrgMember>)> = std::iter::once((org.management, None))
        .chain(
            org.members
                .iter()
                .filter(|m| m.joined)
                .map(|m| (m.account, Some(m))),
        )
        .collect();
    let mut j = Json::with_capacity(256 * max);
    j.begin_obj().karr("Accounts");
    for (ai, m) in all.iter().skip(start).take(max) {
        let a = &vw.accounts[*ai as usize];
        j.begin_obj()
            .kv("Id", &a.id)
            .kv("Arn", &org.account_arn(&mgmt.id, &a.id))
            .kv("Email", &email(&a.id))
            .kv("Name", &a.display)
            .kv(
                "Status",
                if m.is_some_and(|m| m.suspended) {
                    "SUSPENDED"
                } else {
                    "ACTIVE"
                },
            )
            .kv("JoinedMethod", m.map_or("CREATED", |m| m.joined_method))
            .kn(
                "JoinedTimestamp",
                m.map_or(mgmt.key_created, |m| m.joined_at),
            )
            .end_obj();
    }
    j.end_arr();
    if start + max < all.len() {
        j.kv(
            "NextToken",
            &crate::paging::token(&(start + max).to_string()),
        );
    }
    j.end_obj();
    answer(200, j.finish())
}

/// `ListParents`: an OU's parent is the root; an account's its OU or the root.
fn list_parents(w: &World, org: &Organization, body: &Value) -> Resp {
    let child = str_field(body, "ChildId");
    let vw = w.v(Vendor::Aws);
    let parent = if org.unit_index(child).is_some() {
        Some((org.root.as_str(), "ROOT"))
    } else {
        vw.by_id.get(child).and_then(|&ai| {
            if ai == org.management {
                return Some((org.root.as_str(), "ROOT"));
            }
            org.joined(ai).map(|m| match m.ou {
                Some(i) => (org.units[i].id.as_str(), "ORGANIZATIONAL_UNIT"),
                None => (org.root.as_str(), "ROOT"),
            })
        })
    };
    let Some((id, kind)) = parent else {
        return error(
            400,
            "ChildNotFoundException",
            "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
        );
    };
    let mut j = Json::with_capacity(128);
    j.begin_obj()
        .karr("Parents")
        .begin_obj()
        .kv("Id", id)
        .kv("Type", kind)
        .end_obj()
        .end_arr()
        .end_obj();
    answer(200, j.finish())
}
