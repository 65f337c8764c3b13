//! The admin API: change the world while it runs. The same operations are
//! methods on [`Engine`] (the library API) and JSON over HTTP at the `admin`
//! URL; the HTTP layer only parses and renders.
//!
//! `account` is the world's identifier: `main_account_id` (AWS, Alibaba),
//! `tenant_id` (Azure) or the HCS login `account`.
//!
//! Routes: `GET /admin/world`, `POST /admin/resources`,
//! `GET|PATCH|DELETE /admin/resources/{vendor}/{id}`, `POST /admin/regions`,
//! `POST /admin/credentials/{revoke,rotate,hygiene}`,
//! `POST /admin/tokens/expire`, `GET|PUT /admin/faults`,
//! `GET /admin/stats`, `POST /admin/stats/reset`,
//! `POST /admin/organization/{members,roles}`.
//!
//! # AWS organization
//!
//! `POST /admin/organization/members` ([`Engine::update_member`]):
//! `{"vendor": "aws", "account": "<management id>", "member": "<id>",
//! "action": "leave" | "join" | "suspend", "ou": "ou-…"}` (`ou` for `join`,
//! default the first OU). A member that left is not listed and cannot be
//! assumed into. `POST /admin/organization/roles`
//! ([`Engine::set_member_role`]): `{"vendor": "aws", "member": "<id>",
//! "role": "OrganizationAccountAccessRole", "present": false}`. Both answer
//! the member: `{"vendor", "account", "member", "ou", "status", "joined",
//! "roles"}`. An unknown account answers 404; an account that is not a
//! member (or not the management account), an unknown OU or action 400.
//!
//! # Alibaba resource directory
//!
//! The same two calls with `"vendor": "alibaba"`: `account` the master
//! account id, `member` a member account id, `action` `leave` or `join`
//! (`suspend` is refused: a resource-directory member has no such state),
//! `ou` a folder id (`fd-…`, or the root folder `r-…`; default the first
//! folder). A member that left is not listed, cannot be assumed into, and
//! sessions already issued for it stop working; one that joins again is
//! `invited` (`InviteSuccess`). Roles: `{"vendor": "alibaba", "member":
//! "<id>", "role": "ResourceDirectoryAccountAccessRole", "present":
//! false}` (names match case-insensitively); without the role the member
//! cannot be assumed into and its sessions stop working. The answer is the
//! member as for AWS, `status` `CreateSuccess` or `InviteSuccess`.
//!
//! # Azure management groups and HCS VDCs
//!
//! The same two calls with `"vendor": "azure"` or `"hcs"` (see
//! [`crate::management`] for what each change does on the wire):
//!
//! - azure: `account` the tenant id, `member` a member subscription id,
//!   `ou` a management group id (`mg-workloads-{k}`, or the tenant id for
//!   the root group). `leave`: the subscription moved to another tenant;
//!   `join`: back (default under the first group); `suspend`: `Disabled`.
//!   Roles: `{"vendor": "azure", "member": "<subscription>", "role":
//!   "Reader", "present": false}` takes the application's role off the
//!   subscription (it reads a member while it holds any role; `Reader` at
//!   first).
//! - hcs: `account` the login `account` (as in every admin call) or the
//!   domain id, `member` a member project id or name, `ou` a VDC project id
//!   (or the domain id). `leave`: the project is deleted; `join`: restored
//!   (default under the first VDC); `suspend`: the project is disabled.
//!   Roles: `present: false` removes the user's roles in the project
//!   whatever the name given; `present: true` grants the named role (the
//!   user starts with `te_admin`).
//!
//! The answer is the member as for AWS: `account` the tenant id / login
//! account, `member` the subscription / project id, `ou` its group / VDC
//! (or the root), `status` `Enabled`/`Disabled` (Azure) or
//! `enabled`/`disabled` (HCS), `joined`, `roles`. An unknown account,
//! subscription or project answers 404; an own subscription or project (not
//! a member), another account, an unknown group, VDC or action 400.
//!
//! # Credential hygiene
//!
//! `POST /admin/credentials/hygiene` ([`Engine::set_hygiene`]) sets what the
//! vendors' credential-hygiene APIs answer for one account; every field but
//! `vendor` and `account` is optional and only the fields given change
//! (a body with just those two answers the current state):
//!
//! ```json
//! {"vendor": "aws", "account": "123456789012",
//!  "root": false,
//!  "key_created": "2026-01-01T00:00:00Z",
//!  "key_last_used": "2026-11-30T00:00:00Z",
//!  "secret_expires": "2027-01-01T00:00:00Z",
//!  "deny": ["ListAccessKeys", "DescribeInstances"]}
//! ```
//!
//! - `root`: the key is the root's (AWS `arn:aws:iam::N:root`, Alibaba
//!   main account, HCS user in the `admin` group). Default: `true` for
//!   Alibaba, `false` for the others.
//! - `key_created`: access key (Azure: application secret) creation.
//!   Default: world creation minus 30 days.
//! - `key_last_used`: last use, `null` for never. Default: world creation
//!   minus 1 day.
//! - `secret_expires`: Azure secret `endDateTime`, HCS
//!   `password_expires_at`. Default: world creation plus 365 days.
//! - `deny`: API names the key may not call, replacing the whole set
//!   (default empty). A denied call, once authenticated, answers the
//!   vendor's permission error before faults and throttling apply. The
//!   names ([`deniable`]; an unknown name is refused with 400):
//!   - aws: `GetCallerIdentity`, `DescribeRegions`, `DescribeInstances`,
//!     `DescribeVpcs`, `DescribeSubnets`, `DescribeSecurityGroups`,
//!     `ListAccessKeys`, `GetAccessKeyLastUsed`, `AssumeRole`,
//!     `DescribeOrganization`, `ListAccounts`, `ListParents`,
//!     `DescribeOrganizationalUnit`, `ListRoots`
//!   - alibaba: `GetCallerIdentity`, `DescribeRegions`,
//!     `DescribeInstances`, `DescribeSecurityGroups`, `DescribeVpcs`,
//!     `DescribeVSwitches`, `ListAccessKeys`, `GetAccessKeyLastUsed`,
//!     `AssumeRole`, `GetResourceDirectory`, `ListAccounts`, `GetFolder`,
//!     `ListFoldersForParent`
//!   - azure: `subscriptions`, `resourcegroups`, `resources`,
//!     `applications`, `managementgroups`
//!   - hcs: `KeystoneListAuthProjects`, `KeystoneListProjects`,
//!     `KeystoneShowProject`, `ListServersDetails`, `ListVpcs`,
//!     `ListSubnets`,
//!     `ListPermanentAccessKeys`, `ShowAccessKeyLastUsed`,
//!     `ListGroupsForUser`
//!
//! The answer (200) is the account's whole state with the same field names,
//! times in RFC 3339 and `key_last_used` `null` when never used. An unknown
//! account answers 404, an unknown vendor or field 400, as the other calls.
//! A rotation gives the account a key created now and never used (and an
//! Azure secret or HCS password expiring in 365 days).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::faults::{Faults, FaultsUpdate};
use crate::http::{Req, Resp};
use crate::server::Engine;
use crate::world::{
    Hygiene, HygieneUpdate, MemberUpdate, MemberView, ResourceView, RoleUpdate, Rotated, Vendor,
    WorldError,
};

/// `POST /admin/resources`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddResource {
    pub vendor: Vendor,
    pub account: String,
    /// Region (Azure: location; HCS: region, project name or project id).
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Azure: the subscription (default: the tenant's first).
    #[serde(default)]
    pub subscription: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountRef {
    vendor: Vendor,
    account: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionRef {
    vendor: Vendor,
    account: String,
    region: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsPatch {
    tags: BTreeMap<String, String>,
    /// Set these tags on top of the resource's others instead of replacing
    /// the whole set.
    #[serde(default)]
    merge: bool,
}

/// A refused admin call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    World(#[from] WorldError),
    #[error("unknown vendor `{0}` (expected aws, alibaba, azure, hcs or *)")]
    Vendor(String),
    #[error("{0}")]
    Faults(String),
}

impl Engine {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, crate::world::World> {
        self.world.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a resource; answers it with its new id.
    pub fn add_resource(&self, r: &AddResource) -> Result<ResourceView, WorldError> {
        self.write().add_resource(
            r.vendor,
            &r.account,
            &r.region,
            &r.kind,
            r.subscription.as_deref(),
        )
    }

    pub fn resource(&self, v: Vendor, id: &str) -> Result<ResourceView, WorldError> {
        self.world
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .resource(v, id)
    }

    /// Replaces the tags of a resource.
    pub fn set_tags(
        &self,
        v: Vendor,
        id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<ResourceView, WorldError> {
        self.write().set_tags(v, id, tags)
    }

    pub fn delete_resource(&self, v: Vendor, id: &str) -> Result<ResourceView, WorldError> {
        self.write().delete_resource(v, id)
    }

    /// A region the vendor adds to the account.
    pub fn add_region(&self, v: Vendor, account: &str, region: &str) -> Result<(), WorldError> {
        self.write().add_region(v, account, region)
    }

    pub fn revoke(&self, v: Vendor, account: &str) -> Result<(), WorldError> {
        self.write().revoke(v, account)
    }

    /// New credentials; the old ones stop working.
    pub fn rotate(&self, v: Vendor, account: &str) -> Result<Rotated, WorldError> {
        self.write().rotate(v, account)
    }

    /// Every token issued so far to the account is expired from now on.
    pub fn expire_tokens(&self, v: Vendor, account: &str) -> Result<(), WorldError> {
        let now = self.now();
        self.write().expire_tokens(v, account, now)
    }

    /// The credential-hygiene state of an account.
    pub fn hygiene(&self, v: Vendor, account: &str) -> Result<Hygiene, WorldError> {
        self.world
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .hygiene(v, account)
    }

    /// Changes the credential-hygiene state of an account (only the fields
    /// given) and answers the new state. `deny` names must be among the
    /// vendor's [`deniable`] names.
    pub fn set_hygiene(&self, u: &HygieneUpdate) -> Result<Hygiene, WorldError> {
        if let Some(d) = &u.deny {
            let names = deniable(u.vendor);
            if let Some(bad) = d.iter().find(|n| !names.contains(&n.as_str())) {
                return Err(WorldError::Invalid(
                    u.vendor,
                    format!(
                        "`{bad}` is not an API name that can be denied (expected one of: {})",
                        names.join(", ")
                    ),
                ));
            }
        }
        self.write().set_hygiene(u)
    }

    /// An organization member leaves, joins or is suspended
    /// (`POST /admin/organization/members`); Azure and HCS members are
    /// subscriptions and projects (`world/tenancy.rs`).
    pub fn update_member(&self, u: &MemberUpdate) -> Result<MemberView, WorldError> {
        if matches!(u.vendor, Vendor::Azure | Vendor::Hcs) {
            return self.write().update_scope_member(u);
        }
        let now = self.now();
        self.write().update_member(u, now)
    }

    /// Removes or restores a role a member trusts its management account
    /// with (`POST /admin/organization/roles`).
    pub fn set_member_role(&self, u: &RoleUpdate) -> Result<MemberView, WorldError> {
        if matches!(u.vendor, Vendor::Azure | Vendor::Hcs) {
            return self.write().set_scope_member_role(u);
        }
        self.write().set_member_role(u)
    }

    /// Sets the faults of one vendor or, with `"*"`, of all.
    pub fn set_faults(&self, u: &FaultsUpdate) -> Result<(), AdminError> {
        let f = &u.faults;
        if !(0.0..=1.0).contains(&f.error_rate) || !(0.0..=1.0).contains(&f.throttle_rate) {
            return Err(AdminError::Faults(
                "error_rate and throttle_rate are shares between 0 and 1".into(),
            ));
        }
        let v = match u.vendor.as_str() {
            "*" => None,
            s => Some(
                s.parse::<Vendor>()
                    .map_err(|()| AdminError::Vendor(s.to_string()))?,
            ),
        };
        self.faults.set(v, f.clone());
        Ok(())
    }

    /// Makes every request about one scope (AWS/Alibaba region, Azure
    /// subscription, HCS project) answer a server error, or stops that.
    pub fn set_failing_scope(&self, v: Vendor, scope: &str, failing: bool) {
        self.faults.set_failing(v, scope, failing);
    }

    /// The current faults per vendor.
    pub fn faults(&self) -> BTreeMap<Vendor, Faults> {
        Vendor::ALL
            .into_iter()
            .map(|v| (v, self.faults.get(v)))
            .collect()
    }
}

/// The API names `deny` accepts for a vendor: the names each vendor module
/// passes to the fault layer for its calls.
pub fn deniable(v: Vendor) -> &'static [&'static str] {
    match v {
        Vendor::Aws => crate::aws::DENIABLE,
        Vendor::Alibaba => crate::alibaba::DENIABLE,
        Vendor::Azure => crate::azure::DENIABLE,
        Vendor::Hcs => crate::hcs::DENIABLE,
    }
}

fn json_error(status: u16, msg: &str) -> Resp {
    Resp::json(status, &serde_json::json!({ "error": msg }))
}

fn world_error(e: WorldError) -> Resp {
    let status = match e {
        WorldError::NoAccount(..) | WorldError::NoResource(..) => 404,
        _ => 400,
    };
    json_error(status, &e.to_string())
}

fn body<T: for<'de> Deserialize<'de>>(req: &Req) -> Result<T, Resp> {
    serde_json::from_slice(&req.body)
        .map_err(|e| json_error(400, &format!("invalid JSON body: {e}")))
}

/// Serves one admin request.
pub fn handle(e: &Engine, req: &Req) -> Resp {
    match route(e, req) {
        Ok(r) | Err(r) => r,
    }
}

fn route(e: &Engine, req: &Req) -> Result<Resp, Resp> {
    let path = req.path.trim_end_matches('/');
    let m = req.method.as_str();
    Ok(match (m, path) {
        ("GET", "/admin/world") => Resp::json(200, &e.summary()),
        ("POST", "/admin/resources") => {
            let r: AddResource = body(req)?;
            Resp::json(201, &e.add_resource(&r).map_err(world_error)?)
        }
        ("POST", "/admin/regions") => {
            let r: RegionRef = body(req)?;
            e.add_region(r.vendor, &r.account, &r.region)
                .map_err(world_error)?;
            Resp::json(
                201,
                &serde_json::json!({"vendor": r.vendor, "account": r.account, "region": r.region}),
            )
        }
        ("POST", "/admin/credentials/revoke") => {
            let r: AccountRef = body(req)?;
            e.revoke(r.vendor, &r.account).map_err(world_error)?;
            Resp::json(
                200,
                &serde_json::json!({"vendor": r.vendor, "account": r.account, "revoked": true}),
            )
        }
        ("POST", "/admin/credentials/rotate") => {
            let r: AccountRef = body(req)?;
            Resp::json(200, &e.rotate(r.vendor, &r.account).map_err(world_error)?)
        }
        ("POST", "/admin/credentials/hygiene") => {
            let u: HygieneUpdate = body(req)?;
            Resp::json(200, &e.set_hygiene(&u).map_err(world_error)?)
        }
        ("POST", "/admin/tokens/expire") => {
            let r: AccountRef = body(req)?;
            e.expire_tokens(r.vendor, &r.account).map_err(world_error)?;
            Resp::json(
                200,
                &serde_json::json!({"vendor": r.vendor, "account": r.account, "expired": true}),
            )
        }
        ("POST", "/admin/organization/members") => {
            let u: MemberUpdate = body(req)?;
            Resp::json(200, &e.update_member(&u).map_err(world_error)?)
        }
        ("POST", "/admin/organization/roles") => {
            let u: RoleUpdate = body(req)?;
            Resp::json(200, &e.set_member_role(&u).map_err(world_error)?)
        }
        ("GET", "/admin/faults") => Resp::json(200, &e.faults()),
        ("GET", "/admin/stats") => Resp::json(200, &e.load.stats()),
        ("POST", "/admin/stats/reset") => {
            e.load.reset();
            Resp::json(200, &e.load.stats())
        }
        ("PUT", "/admin/faults") => {
            let u: FaultsUpdate = body(req)?;
            e.set_faults(&u)
                .map_err(|x| json_error(400, &x.to_string()))?;
            Resp::json(200, &e.faults())
        }
        (_, p) if p.starts_with("/admin/resources/") => {
            let rest = &p["/admin/resources/".len()..];
            let (v, id) = rest
                .split_once('/')
                .ok_or_else(|| json_error(404, "expected /admin/resources/{vendor}/{id}"))?;
            let v: Vendor = v
                .parse()
                .map_err(|()| json_error(404, &AdminError::Vendor(v.to_string()).to_string()))?;
            let id = crate::encode::decode(id, false);
            match m {
                "GET" => Resp::json(200, &e.resource(v, &id).map_err(world_error)?),
                "PATCH" => {
                    let t: TagsPatch = body(req)?;
                    let tags = if t.merge {
                        let mut all = e.resource(v, &id).map_err(world_error)?.tags;
                        all.extend(t.tags);
                        all
                    } else {
                        t.tags
                    };
                    Resp::json(200, &e.set_tags(v, &id, &tags).map_err(world_error)?)
                }
                "DELETE" => Resp::json(200, &e.delete_resource(v, &id).map_err(world_error)?),
                _ => json_error(405, "method not allowed"),
            }
        }
        _ => json_error(404, &format!("no admin route {m} {path}")),
    })
}
