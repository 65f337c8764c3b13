//! The wire side of the Azure management groups and the HCS VDCs (the
//! world side: `world/tenancy.rs`): ARM's management-group descendants and
//! Keystone's show project, and what the member flags change in the
//! vendors' other answers.
//!
//! # Azure
//!
//! `GET /providers/Microsoft.Management/managementGroups/{groupId}/descendants?api-version=2020-05-01[&$top=N][&$skiptoken=…]`
//! on the ARM listener, authenticated as every ARM call (API name
//! `managementgroups` for `deny` and faults). Only the first tenant, when
//! the world has an organization, has management groups: its root group
//! (id the tenant id), and `mg-workloads-{k}` under it. Items, in order:
//! for the root, the groups, then the tenant's own subscriptions, then the
//! member subscriptions in the tenant now; for a group, its members.
//!
//! ```json
//! {"value": [
//!   {"id": "/providers/Microsoft.Management/managementGroups/mg-workloads-0",
//!    "type": "Microsoft.Management/managementGroups", "name": "mg-workloads-0",
//!    "properties": {"displayName": "Workloads 0",
//!      "parent": {"id": "/providers/Microsoft.Management/managementGroups/{tenant}"}}},
//!   {"id": "/subscriptions/{sub}", "type": "Microsoft.Management/managementGroups/subscriptions",
//!    "name": "{sub}", "properties": {"displayName": "…", "parent": {"id": "…"}}}],
//!  "nextLink": "{base}/providers/Microsoft.Management/managementGroups/{groupId}/descendants?api-version=…&%24skiptoken=…&%24top=N"}
//! ```
//!
//! `$top` 1 to 1000 (default 1000; otherwise 400 `InvalidTopInQueryString`),
//! `$skiptoken` opaque (otherwise 400 `InvalidSkipToken`); `nextLink` is
//! absent on the last page. An unknown group (or any group of a tenant
//! without an organization) answers 404 `NotFound`
//! (`'/providers/Microsoft.Management/managementGroups/{id}' not found`); a
//! denied `managementgroups` 403 `AuthorizationFailed` for action
//! `Microsoft.Management/managementGroups/descendants/read`.
//!
//! Members (see [`crate::azure`]): a subscription that left the tenant is
//! in no listing and every call about it (`/subscriptions/{id}` and below)
//! answers 404 `SubscriptionNotFound`; one the application holds no role on
//! is left out of `GET /subscriptions` and answers 403
//! `AuthorizationFailed` (still a descendant of its group); a suspended one
//! is listed with `"state": "Disabled"` and reads as before (ARM keeps
//! disabled subscriptions readable).
//!
//! # HCS
//!
//! `GET /v3/projects/{project_id}` (`KeystoneShowProject`, token or AK/SK,
//! deniable as `KeystoneShowProject`): any project of the caller's domain,
//! VDCs and members included:
//! `{"project": {"id", "name", "domain_id", "parent_id", "is_domain": false,
//! "enabled", "description": "", "links": {"self"}}}`; anything else 404
//! `{"error_code": "IAM.0004", "error_msg": "Could not find project: {id}.",
//! "request_id"}`.
//!
//! `GET /v3/auth/projects` lists the account's own projects (parent the
//! domain) and the members the user may use (joined, enabled, a role held),
//! each with its VDC as `parent_id`; `GET /v3/projects` (`KeystoneListProjects`)
//! every project of the domain: own, members still there (`enabled` false
//! when suspended) and the VDCs. A token scoped to a member that was
//! deleted, disabled or where the user lost its role is refused as Keystone
//! refuses an unknown project (401, Keystone body); listings of such a
//! project answer 401 `APIGW.0301` ("The token must be updated.") to a token
//! scoped to it and 403 `APIGW.0302` to any other credential.

use crate::azure::{arm_error, json as arm_json};
use crate::encode::{Json, pct};
use crate::hcs;
use crate::http::{Req, Resp, request_id};
use crate::server::Engine;
use crate::world::{Account, ScopeOrg, Vendor, World};

const MG: &str = "/providers/Microsoft.Management/managementGroups";

/// Descendants per page when `$top` is not given (and the most it may ask).
pub const DESCENDANTS_PAGE: usize = 1000;

fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// One descendant: (a group rather than a subscription, name,
/// displayName, parent id).
type Descendant<'a> = (bool, &'a str, &'a str, &'a str);

/// `GET …/managementGroups/{group}/descendants` for tenant `ti`, once ARM
/// authenticated the caller.
pub(crate) fn descendants(
    e: &Engine,
    w: &World,
    ti: u32,
    group: &str,
    params: &[(String, String)],
    api_version: &str,
) -> Resp {
    let Some(org) = w.azure_org.as_ref().filter(|o| o.account == ti) else {
        return group_not_found(group);
    };
    let under = if group.eq_ignore_ascii_case(&org.root) {
        None
    } else {
        match org.unit_index(group) {
            Some(i) => Some(i),
            None => return group_not_found(group),
        }
    };
    let top = match param(params, "$top") {
        None => None,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=DESCENDANTS_PAGE).contains(&n) => Some(n),
            _ => {
                return arm_error(
                    400,
                    "InvalidTopInQueryString",
                    &format!("The value '{t}' of $top query parameter is not valid."),
                );
            }
        },
    };
    let start = match param(params, "$skiptoken") {
        None => 0,
        Some(t) => match crate::paging::untoken(t).and_then(|s| s.parse::<usize>().ok()) {
            Some(n) => n,
            None => {
                return arm_error(
                    400,
                    "InvalidSkipToken",
                    "The provided skip token is invalid.",
                );
            }
        },
    };
    let Some(acct) = w.v(Vendor::Azure).accounts.get(ti as usize) else {
        return group_not_found(group);
    };
    let items = descendant_items(org, acct, under);
    let page = top.unwrap_or(DESCENDANTS_PAGE);
    let end = start.saturating_add(page).min(items.len());
    let mut j = Json::with_capacity(256 + 400 * (end.saturating_sub(start)));
    j.begin_obj().karr("value");
    for &(group, name, display, parent) in items.iter().take(end).skip(start) {
        let (id, ty) = if group {
            (
                format!("{MG}/{name}"),
                "Microsoft.Management/managementGroups",
            )
        } else {
            (
                format!("/subscriptions/{name}"),
                "Microsoft.Management/managementGroups/subscriptions",
            )
        };
        j.begin_obj()
            .kv("id", &id)
            .kv("type", ty)
            .kv("name", name)
            .kobj("properties")
            .kv("displayName", display)
            .kobj("parent")
            .kv("id", &format!("{MG}/{parent}"))
            .end_obj()
            .end_obj()
            .end_obj();
    }
    j.end_arr();
    if end < items.len() {
        let mut link = format!(
            "{}{MG}/{}/descendants?api-version={}&%24skiptoken={}",
            e.endpoint(Vendor::Azure),
            pct(group),
            pct(api_version),
            pct(&crate::paging::token(&end.to_string()))
        );
        if let Some(t) = top {
            link.push_str(&format!("&%24top={t}"));
        }
        j.kv("nextLink", &link);
    }
    j.end_obj();
    arm_json(200, j.finish())
}

/// The descendants of the root (`under` `None`) or of one group.
fn descendant_items<'a>(
    org: &'a ScopeOrg,
    acct: &'a Account,
    under: Option<usize>,
) -> Vec<Descendant<'a>> {
    let mut items = Vec::new();
    let sub = |i: usize, parent: &'a str| -> Option<Descendant<'a>> {
        acct.subscriptions
            .get(i)
            .map(|s| (false, s.id.as_str(), s.name.as_str(), parent))
    };
    if under.is_none() {
        for u in &org.units {
            items.push((true, u.id.as_str(), u.name.as_str(), org.root.as_str()));
        }
        items.extend((0..org.first as usize).filter_map(|i| sub(i, org.root.as_str())));
    }
    items.extend(
        org.members
            .iter()
            .filter(|m| m.joined && (under.is_none() || m.unit == under))
            .filter_map(|m| sub(m.scope as usize, org.parent_of(m))),
    );
    items
}

fn group_not_found(group: &str) -> Resp {
    arm_error(404, "NotFound", &format!("'{MG}/{group}' not found"))
}

/// A project as Keystone shows it.
pub struct ProjectRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub parent: &'a str,
    pub enabled: bool,
}

/// The row of scope `s` of HCS account `ai`: own projects always, members
/// while in the domain (and with `usable`, only those the user may use).
fn project_row<'a>(w: &'a World, ai: u32, s: u16, usable: bool) -> Option<ProjectRow<'a>> {
    let acct = w.v(Vendor::Hcs).accounts.get(ai as usize)?;
    let p = acct.projects.get(s as usize)?;
    let (parent, enabled) = match w.hcs_org.as_ref().and_then(|o| Some((o, o.member(ai, s)?))) {
        None => (acct.domain_id.as_str(), true),
        Some((o, m)) => {
            if !m.joined || (usable && !m.usable(Vendor::Hcs)) {
                return None;
            }
            (o.parent_of(m), !m.suspended)
        }
    };
    Some(ProjectRow {
        id: &p.id,
        name: &p.name,
        parent,
        enabled,
    })
}

/// The projects of HCS account `ai`: with `all`, every project of its
/// domain (`GET /v3/projects`: own, members still there, VDCs); otherwise
/// those the user may scope a token to (`GET /v3/auth/projects`).
pub fn hcs_projects(w: &World, ai: u32, all: bool) -> Vec<ProjectRow<'_>> {
    let Some(acct) = w.v(Vendor::Hcs).accounts.get(ai as usize) else {
        return Vec::new();
    };
    let mut rows: Vec<ProjectRow<'_>> = (0..acct.projects.len())
        .filter_map(|s| project_row(w, ai, s as u16, !all))
        .collect();
    if all && let Some(o) = w.hcs_org.as_ref().filter(|o| o.account == ai) {
        rows.extend(o.units.iter().map(|u| ProjectRow {
            id: &u.id,
            name: &u.name,
            parent: &acct.domain_id,
            enabled: true,
        }));
    }
    rows
}

/// Whether the user may scope a token to (and list) scope `s` of `ai`.
pub fn hcs_project_usable(w: &World, ai: u32, s: u16) -> bool {
    w.scope_member(Vendor::Hcs, ai, s)
        .is_none_or(|m| m.usable(Vendor::Hcs))
}

/// `GET /v3/projects/{project_id}` (`KeystoneShowProject`).
pub(crate) fn show_project(e: &Engine, req: &Req, id: &str) -> Resp {
    let w = e.world.read().unwrap_or_else(|p| p.into_inner());
    let vw = w.v(Vendor::Hcs);
    let acct = match hcs::iam_call(e, req, vw, None, "KeystoneShowProject") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(&ai) = vw.by_id.get(&acct.id) else {
        return project_not_found(id);
    };
    let row = match vw.by_scope.get(id) {
        Some(&(owner, s)) if owner == ai => project_row(&w, ai, s, false),
        Some(_) => None,
        None => w
            .hcs_org
            .as_ref()
            .filter(|o| o.account == ai)
            .and_then(|o| o.units.iter().find(|u| u.id == id))
            .map(|u| ProjectRow {
                id: &u.id,
                name: &u.name,
                parent: &acct.domain_id,
                enabled: true,
            }),
    };
    let Some(row) = row else {
        return project_not_found(id);
    };
    let base = e.endpoint(Vendor::Hcs);
    let mut j = Json::with_capacity(512);
    j.begin_obj().kobj("project");
    project_json(&mut j, &row, &acct.domain_id, base);
    j.end_obj().end_obj();
    hcs::json(200, j.finish(), &request_id())
}

/// The fields of one project (Keystone's shape), inside an open object.
pub fn project_json(j: &mut Json, p: &ProjectRow<'_>, domain_id: &str, base: &str) {
    j.kv("id", p.id)
        .kv("name", p.name)
        .kv("domain_id", domain_id)
        .kraw("enabled", if p.enabled { "true" } else { "false" })
        .kraw("is_domain", "false")
        .kv("parent_id", p.parent)
        .kv("description", "")
        .kobj("links")
        .kv("self", &format!("{base}/v3/projects/{}", p.id))
        .end_obj();
}

fn project_not_found(id: &str) -> Resp {
    hcs::gateway(404, "IAM.0004", &format!("Could not find project: {id}."))
}
