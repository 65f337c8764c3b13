//! Alibaba Cloud Resource Directory (product `resourcedirectorymaster`,
//! `Version` 2022-04-19): RPC calls on the Alibaba endpoint, signed and
//! routed by [`crate::alibaba`] like its other products, over the resource
//! directory of the world's first Alibaba account.
//!
//! - `GetResourceDirectory` → `ResourceDirectory` {`ResourceDirectoryId`,
//!   `RootFolderId`, `MasterAccountId`, `MasterAccountName`, `CreateTime`}.
//! - `ListAccounts`: the master account (root folder, `CloudAccount`), then
//!   the members in the directory now (`ResourceAccount`), each with
//!   `FolderId`, `ResourceDirectoryPath` (`rd-…/r-…[/fd-…]/<account id>`),
//!   `JoinMethod` (`created`, `invited`), `Status` (`CreateSuccess`,
//!   `InviteSuccess`), `JoinTime`, `ModifyTime`. Pages by
//!   `PageNumber`/`PageSize` (1–100, default 10) with `TotalCount`, or by
//!   `MaxResults`/`NextToken` (`NextToken` `""` on the last page).
//! - `GetFolder` (`FolderId`, the root folder too) → `Folder` {`FolderId`,
//!   `FolderName`, `ParentFolderId`, `ResourceDirectoryPath`, `CreateTime`}.
//! - `ListFoldersForParent` (`ParentFolderId`, default the root folder;
//!   `PageNumber`/`PageSize`) → `Folders.Folder` [{`FolderId`,
//!   `FolderName`, `CreateTime`}] with `TotalCount`.
//!
//! Only the master account may call them: an account in no resource
//! directory answers 404 `EntityNotExists.ResourceDirectory`, a member
//! (also through an assumed role) 403 `NoPermission`; an unknown folder is
//! 404 `EntityNotExists.Folder`. Times are `YYYY-MM-DDTHH:MM:SS.000Z`.

use crate::alibaba::{Paging, error, json, no_permission, paging, param};
use crate::clock;
use crate::encode::Json;
use crate::http::{Req, Resp, request_id};
use crate::world::{OrgMember, Organization, Vendor, VendorWorld, World};

/// Serves one authenticated Resource Directory call (`api`) of `caller`
/// (an index into the Alibaba accounts).
pub(crate) fn handle(
    req: &Req,
    w: &World,
    caller: u32,
    api: &str,
    params: &[(String, String)],
) -> Resp {
    let Some(rd) = w.alibaba_org.as_ref() else {
        return no_directory(req);
    };
    if rd.management != caller {
        if rd.joined(caller).is_some() {
            return no_permission(req);
        }
        return no_directory(req);
    }
    let vw = w.v(Vendor::Alibaba);
    match api {
        "GetResourceDirectory" => get_directory(rd, vw),
        "ListAccounts" => list_accounts(req, rd, vw, params),
        "GetFolder" => get_folder(req, rd, params),
        _ => list_folders(req, rd, params),
    }
}

fn no_directory(req: &Req) -> Resp {
    error(
        req,
        404,
        "EntityNotExists.ResourceDirectory",
        "The resource directory does not exist.",
    )
}

fn no_folder(req: &Req) -> Resp {
    error(
        req,
        404,
        "EntityNotExists.Folder",
        "The specified folder does not exist.",
    )
}

fn time(t: i64) -> String {
    clock::fmt_millis(t)
}

/// `rd-…/r-…` or `rd-…/r-…/fd-…`.
fn folder_path(rd: &Organization, unit: Option<usize>) -> String {
    match unit {
        Some(i) => format!("{}/{}/{}", rd.id, rd.root, rd.units[i].id),
        None => format!("{}/{}", rd.id, rd.root),
    }
}

/// A folder id: `None` for the root folder, `Some(i)` for a folder.
fn folder(rd: &Organization, id: &str) -> Option<Option<usize>> {
    if id == rd.root {
        Some(None)
    } else {
        rd.unit_index(id).map(Some)
    }
}

fn get_directory(rd: &Organization, vw: &VendorWorld) -> Resp {
    let master = &vw.accounts[rd.management as usize];
    let rid = request_id();
    let mut j = Json::with_capacity(384);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kobj("ResourceDirectory")
        .kv("ResourceDirectoryId", &rd.id)
        .kv("RootFolderId", &rd.root)
        .kv("MasterAccountId", &master.id)
        .kv("MasterAccountName", &master.display)
        .kv("CreateTime", &time(rd.created))
        .kv("ControlPolicyStatus", "Disabled")
        .kv("MemberDeletionStatus", "Disabled")
        .end_obj()
        .end_obj();
    json(200, j.finish(), &rid)
}

/// `ListAccounts`: the master account, then the members in the directory
/// now, in generation order.
fn list_accounts(
    req: &Req,
    rd: &Organization,
    vw: &VendorWorld,
    params: &[(String, String)],
) -> Resp {
    let (start, size, number, tokens) = match paging(params, 100, true) {
        Ok(Paging::Page { number, size }) => (
            number.saturating_sub(1).saturating_mul(size),
            size,
            number,
            false,
        ),
        Ok(Paging::Token { after, max }) => match after.map(|t| t.parse::<usize>()) {
            None => (0, max, 1, true),
            Some(Ok(n)) => (n, max, 1, true),
            Some(Err(_)) => {
                return error(
                    req,
                    400,
                    "InvalidNextToken.Malformed",
                    "The specified parameter NextToken is not valid.",
                );
            }
        },
        Err((code, message)) => return error(req, 400, code, &message),
    };
    let all: Vec<(u32, Option<&OrgMember>)> = std::iter::once((rd.management, None))
        .chain(
            rd.members
                .iter()
                .filter(|m| m.joined)
                .map(|m| (m.account, Some(m))),
        )
        .collect();
    let rid = request_id();
    let mut j = Json::with_capacity(512 + 448 * size.min(all.len()));
    j.begin_obj()
        .kv("RequestId", &rid)
        .kn("PageNumber", number as i64)
        .kn("PageSize", size as i64)
        .kn("TotalCount", all.len() as i64);
    if tokens {
        let more = start.saturating_add(size) < all.len();
        let next = if more {
            crate::paging::token(&(start + size).to_string())
        } else {
            String::new()
        };
        j.kv("NextToken", &next);
    }
    j.kobj("Accounts").karr("Account");
    for (ai, m) in all.iter().skip(start).take(size) {
        let Some(a) = vw.accounts.get(*ai as usize) else {
            continue;
        };
        let unit = m.and_then(|m| m.ou);
        let (method, status, kind) = match m {
            Some(m) => (m.joined_method, rd.status(m), "ResourceAccount"),
            None => ("created", "CreateSuccess", "CloudAccount"),
        };
        j.begin_obj()
            .kv("AccountId", &a.id)
            .kv("DisplayName", &a.display)
            .kv("FolderId", m.map_or(rd.root.as_str(), |m| rd.unit_of(m)))
            .kv("ResourceDirectoryId", &rd.id)
            .kv(
                "ResourceDirectoryPath",
                &format!("{}/{}", folder_path(rd, unit), a.id),
            )
            .kv("JoinMethod", method)
            .kv("Status", status)
            .kv("Type", kind)
            .kv("JoinTime", &time(m.map_or(rd.created, |m| m.joined_at)))
            .kv("ModifyTime", &time(m.map_or(rd.created, |m| m.modified_at)))
            .end_obj();
    }
    j.end_arr().end_obj().end_obj();
    json(200, j.finish(), &rid)
}

fn get_folder(req: &Req, rd: &Organization, params: &[(String, String)]) -> Resp {
    let id = param(params, "FolderId").unwrap_or("");
    if id.is_empty() {
        return error(
            req,
            400,
            "MissingFolderId",
            "FolderId is mandatory for this action.",
        );
    }
    let Some(unit) = folder(rd, id) else {
        return no_folder(req);
    };
    let (name, parent) = match unit {
        Some(i) => (rd.units[i].name.as_str(), rd.root.as_str()),
        None => ("Root", ""),
    };
    let rid = request_id();
    let mut j = Json::with_capacity(384);
    j.begin_obj()
        .kv("RequestId", &rid)
        .kobj("Folder")
        .kv("FolderId", id)
        .kv("FolderName", name)
        .kv("ParentFolderId", parent)
        .kv("ResourceDirectoryPath", &folder_path(rd, unit))
        .kv("CreateTime", &time(rd.created))
        .end_obj()
        .end_obj();
    json(200, j.finish(), &rid)
}

/// `ListFoldersForParent`: the folders are all directly under the root
/// folder, so any other parent has none.
fn list_folders(req: &Req, rd: &Organization, params: &[(String, String)]) -> Resp {
    let parent = param(params, "ParentFolderId")
        .filter(|p| !p.is_empty())
        .unwrap_or(&rd.root);
    let Some(unit) = folder(rd, parent) else {
        return no_folder(req);
    };
    let (number, size) = match paging(params, 100, false) {
        Ok(Paging::Page { number, size }) => (number, size),
        Ok(Paging::Token { max, .. }) => (1, max),
        Err((code, message)) => return error(req, 400, code, &message),
    };
    let children: &[crate::world::OrgUnit] = if unit.is_none() { &rd.units } else { &[] };
    let rid = request_id();
    let mut j = Json::with_capacity(256 + 160 * size.min(children.len()));
    j.begin_obj()
        .kv("RequestId", &rid)
        .kn("PageNumber", number as i64)
        .kn("PageSize", size as i64)
        .kn("TotalCount", children.len() as i64)
        .kobj("Folders")
        .karr("Folder");
    let skip = number.saturating_sub(1).saturating_mul(size);
    for u in children.iter().skip(skip).take(size) {
        j.begin_obj()
            .kv("FolderId", &u.id)
            .kv("FolderName", &u.name)
            .kv("CreateTime", &time(rd.created))
            .end_obj();
    }
    j.end_arr().end_obj().end_obj();
    json(200, j.finish(), &rid)
}
