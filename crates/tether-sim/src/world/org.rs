//! Organizations: the AWS organization of the world's first AWS account
//! (the management account) and the Alibaba Cloud resource directory of the
//! world's first Alibaba account (its management, or master, account), each
//! with member accounts spread round-robin over units directly under the
//! root (AWS organizational units, Alibaba folders); what the admin API
//! changes about them (members leave, join, are suspended; roles removed
//! and restored).
//!
//! Members are full world accounts (regions, resources) with no access key
//! of their own: they are reached only by assuming a role they trust the
//! management account with (`OrganizationAccountAccessRole`,
//! `ResourceDirectoryAccountAccessRole` by default).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{AccountSpec, OrganizationSpec, ResourcesSpec, Vendor, VendorWorld, World, WorldError};
use crate::rng::{Rng, mix};

/// The role every AWS member trusts its management account with.
pub const ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

/// The role every resource-directory member trusts its master account with.
pub const RD_ACCESS_ROLE: &str = "ResourceDirectoryAccountAccessRole";

const LOWER36: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A unit directly under the root: an AWS organizational unit or an
/// Alibaba folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
}

/// One member account of the organization.
#[derive(Debug, Clone)]
pub struct OrgMember {
    /// Index into the vendor's accounts.
    pub account: u32,
    /// Index into `units`; `None`: directly under the root.
    pub ou: Option<usize>,
    pub suspended: bool,
    /// `false` once the member left the organization.
    pub joined: bool,
    /// How it joined, as the vendor spells it: AWS `CREATED` or `INVITED`,
    /// Alibaba `created` or `invited`.
    pub joined_method: &'static str,
    pub joined_at: i64,
    /// The last change (join, move): Alibaba's `ModifyTime`.
    pub modified_at: i64,
    /// Roles that trust the management account.
    pub roles: BTreeSet<String>,
}

/// The world's AWS organization or Alibaba resource directory.
#[derive(Debug, Clone)]
pub struct Organization {
    /// AWS or Alibaba.
    pub vendor: Vendor,
    /// AWS `o-` + 10 lowercase alphanumerics; Alibaba `rd-` + 6 alphanumerics.
    pub id: String,
    /// AWS `r-` + 4; Alibaba the root folder, `r-` + 6.
    pub root: String,
    /// Index into the vendor's accounts of the management account.
    pub management: u32,
    /// When it was created (Alibaba `CreateTime` of the directory and its folders).
    pub created: i64,
    pub units: Vec<OrgUnit>,
    pub members: Vec<OrgMember>,
}

impl Organization {
    /// A new AWS organization of `management` with `units` OUs (ids from `seed`).
    pub(super) fn new(seed: u64, management: u32, units: usize) -> Organization {
        let mut rng = Rng::new(mix(seed ^ 0x0e9a_5eed));
        let id = format!("o-{}", rng.chars(LOWER36, 10));
        let root = format!("r-{}", rng.chars(LOWER36, 4));
        let units = (0..units)
            .map(|k| OrgUnit {
                id: format!("ou-{}-{}", &root[2..], rng.chars(LOWER36, 8)),
                name: format!("Workloads {k}"),
            })
            .collect();
        Organization {
            vendor: Vendor::Aws,
            id,
            root,
            management,
            created: 0,
            units,
            members: Vec::new(),
        }
    }

    /// A new Alibaba resource directory of `management` with `folders`
    /// folders under the root folder (ids from `seed`), created at `created`.
    pub(super) fn resource_directory(
        seed: u64,
        management: u32,
        folders: usize,
        created: i64,
    ) -> Organization {
        let mut rng = Rng::new(mix(seed ^ 0x0a11_d12e));
        let id = format!("rd-{}", rng.chars(ALNUM, 6));
        let root = format!("r-{}", rng.chars(ALNUM, 6));
        let units = (0..folders)
            .map(|k| OrgUnit {
                id: format!("fd-{}", rng.chars(ALNUM, 10)),
                name: format!("Workloads {k}"),
            })
            .collect();
        Organization {
            vendor: Vendor::Alibaba,
            id,
            root,
            management,
            created,
            units,
            members: Vec::new(),
        }
    }

    /// "organization" or "resource directory", for messages.
    pub fn kind(&self) -> &'static str {
        kind(self.vendor)
    }

    /// The role members trust the management account with by default.
    pub fn access_role(&self) -> &'static str {
        match self.vendor {
            Vendor::Alibaba => RD_ACCESS_ROLE,
            _ => ACCESS_ROLE,
        }
    }

    /// The vendor's spelling of a join method.
    fn method(&self, invited: bool) -> &'static str {
        match (self.vendor, invited) {
            (Vendor::Alibaba, false) => "created",
            (Vendor::Alibaba, true) => "invited",
            (_, false) => "CREATED",
            (_, true) => "INVITED",
        }
    }

    /// A member's status as the vendor lists it: AWS `ACTIVE` or
    /// `SUSPENDED`; Alibaba `CreateSuccess` or `InviteSuccess`.
    pub fn status(&self, m: &OrgMember) -> &'static str {
        match self.vendor {
            Vendor::Alibaba if m.joined_method == "invited" => "InviteSuccess",
            Vendor::Alibaba => "CreateSuccess",
            _ if m.suspended => "SUSPENDED",
            _ => "ACTIVE",
        }
    }

    /// The member's stored name of `role` if it trusts the management
    /// account with it (Alibaba role names match case-insensitively).
    pub fn trusted_role<'a>(&self, m: &'a OrgMember, role: &str) -> Option<&'a str> {
        match self.vendor {
            Vendor::Alibaba => m
                .roles
                .iter()
                .find(|r| r.eq_ignore_ascii_case(role))
                .map(String::as_str),
            _ => m.roles.get(role).map(String::as_str),
        }
    }

    /// The member entry of an account index (joined or not).
    pub fn member(&self, account: u32) -> Option<&OrgMember> {
        self.members.iter().find(|m| m.account == account)
    }

    /// The member entry of an account index, if it is in the organization now.
    pub fn joined(&self, account: u32) -> Option<&OrgMember> {
        self.member(account).filter(|m| m.joined)
    }

    pub fn unit_index(&self, id: &str) -> Option<usize> {
        self.units.iter().position(|u| u.id == id)
    }

    /// The id of a member's unit, or of the root.
    pub fn unit_of(&self, m: &OrgMember) -> &str {
        m.ou.map_or(self.root.as_str(), |i| self.units[i].id.as_str())
    }

    pub fn arn(&self, mgmt_id: &str) -> String {
        format!("arn:aws:organizations::{mgmt_id}:organization/{}", self.id)
    }

    pub fn account_arn(&self, mgmt_id: &str, account_id: &str) -> String {
        format!(
            "arn:aws:organizations::{mgmt_id}:account/{}/{account_id}",
            self.id
        )
    }

    pub fn root_arn(&self, mgmt_id: &str) -> String {
        format!(
            "arn:aws:organizations::{mgmt_id}:root/{}/{}",
            self.id, self.root
        )
    }

    pub fn unit_arn(&self, mgmt_id: &str, ou: &str) -> String {
        format!("arn:aws:organizations::{mgmt_id}:ou/{}/{ou}", self.id)
    }

    /// Makes the `members` accounts of `vw` from index `first` on members:
    /// no access key of their own, round-robin over the units, each
    /// trusting the management account with the vendor's access role.
    pub(super) fn enrol(&mut self, vw: &mut VendorWorld, first: usize, members: usize, now: i64) {
        let joined_at = now - 90 * 86_400;
        let units = self.units.len();
        for k in 0..members {
            let ai = (first + k) as u32;
            let Some(a) = vw.accounts.get_mut(ai as usize) else {
                break;
            };
            a.org_member = true;
            vw.by_key.remove(&a.key_id);
            a.key_id.clear();
            a.secret.clear();
            a.key_last_used = None;
            self.members.push(OrgMember {
                account: ai,
                ou: (units > 0).then_some(k % units.max(1)),
                suspended: false,
                joined: true,
                joined_method: self.method(false),
                joined_at,
                modified_at: joined_at,
                roles: [self.access_role().to_string()].into(),
            });
        }
    }
}

fn kind(v: Vendor) -> &'static str {
    match v {
        Vendor::Alibaba => "resource directory",
        _ => "organization",
    }
}

/// The vendor's account list with the members of `o` (if any) appended:
/// `member-0001`… with the first account's resource count unless `o` sets one.
pub(super) fn with_members(
    v: Vendor,
    accounts: &[AccountSpec],
    o: Option<&OrganizationSpec>,
) -> Result<Vec<AccountSpec>, WorldError> {
    let mut out = accounts.to_vec();
    let Some(o) = o.filter(|o| o.members > 0) else {
        return Ok(out);
    };
    let Some(first) = accounts.first() else {
        let what = match v {
            Vendor::Alibaba => "a resource directory needs an Alibaba account",
            _ => "an organization needs an AWS account",
        };
        return Err(WorldError::Invalid(v, format!("{what} to manage it")));
    };
    let resources = o.resources.or(match first.resources {
        Some(ResourcesSpec::Count(n)) => Some(n),
        _ => None,
    });
    out.extend((0..o.members).map(|k| AccountSpec {
        name: Some(format!("member-{:04}", k + 1)),
        resources: resources.map(ResourcesSpec::Count),
        ..Default::default()
    }));
    Ok(out)
}

/// `POST /admin/organization/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    pub vendor: Vendor,
    /// The management account.
    pub account: String,
    pub member: String,
    /// `leave`, `join` or (not Alibaba) `suspend`.
    pub action: String,
    /// For `join`: the OU or folder, or the root (default: the first unit).
    #[serde(default)]
    pub ou: Option<String>,
}

/// `POST /admin/organization/roles`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdate {
    pub vendor: Vendor,
    pub member: String,
    pub role: String,
    pub present: bool,
}

/// A member as the admin API answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub vendor: Vendor,
    pub account: String,
    pub member: String,
    /// The OU or folder id, or the root id.
    pub ou: String,
    /// AWS `ACTIVE` or `SUSPENDED`, Alibaba `CreateSuccess` or
    /// `InviteSuccess` (Azure and HCS: `tenancy.rs`).
    pub status: String,
    /// In the organization now.
    pub joined: bool,
    pub roles: Vec<String>,
}

impl World {
    /// The organization of a vendor: the AWS organization or the Alibaba
    /// resource directory.
    pub fn organization(&self, v: Vendor) -> Option<&Organization> {
        match v {
            Vendor::Aws => self.org.as_ref(),
            Vendor::Alibaba => self.alibaba_org.as_ref(),
            _ => None,
        }
    }

    fn organization_mut(&mut self, v: Vendor) -> Option<&mut Organization> {
        match v {
            Vendor::Aws => self.org.as_mut(),
            Vendor::Alibaba => self.alibaba_org.as_mut(),
            _ => None,
        }
    }

    fn org_member_index(&self, v: Vendor, member: &str) -> Result<(u32, usize), WorldError> {
        let ai = self.account_index(v, member)?;
        let org = self
            .organization(v)
            .ok_or_else(|| WorldError::Invalid(v, format!("the world has no {}", kind(v))))?;
        let mi = org
            .members
            .iter()
            .position(|m| m.account == ai)
            .ok_or_else(|| {
                WorldError::Invalid(
                    v,
                    format!("account `{member}` is not a member of the {}", org.kind()),
                )
            })?;
        Ok((ai, mi))
    }

    /// The admin view of a member.
    pub fn member_view(&self, v: Vendor, member: &str) -> Result<MemberView, WorldError> {
        let (_, mi) = self.org_member_index(v, member)?;
        let Some(org) = self.organization(v) else {
            return Err(WorldError::Invalid(
                v,
                format!("the world has no {}", kind(v)),
            ));
        };
        let m = &org.members[mi];
        Ok(MemberView {
            vendor: v,
            account: self.v(v).accounts[org.management as usize].id.clone(),
            member: member.to_string(),
            ou: org.unit_of(m).to_string(),
            status: org.status(m).into(),
            joined: m.joined,
            roles: m.roles.iter().cloned().collect(),
        })
    }

    /// A member leaves, joins (under `ou`, default the first unit) or (AWS)
    /// is suspended.
    pub fn update_member(&mut self, u: &MemberUpdate, now: i64) -> Result<MemberView, WorldError> {
        let v = u.vendor;
        let mgmt = self.account_index(v, &u.account)?;
        let (_, mi) = self.org_member_index(v, &u.member)?;
        let Some(org) = self.organization_mut(v) else {
            return Err(WorldError::Invalid(
                v,
                format!("the world has no {}", kind(v)),
            ));
        };
        if org.management != mgmt {
            return Err(WorldError::Invalid(
                v,
                format!(
                    "account `{}` is not the management account of the {}",
                    u.account,
                    org.kind()
                ),
            ));
        }
        let unit = if v == Vendor::Alibaba { "folder" } else { "OU" };
        let ou = match &u.ou {
            Some(id) if *id == org.root => None,
            Some(id) => Some(
                org.unit_index(id)
                    .ok_or_else(|| WorldError::Invalid(v, format!("no {unit} `{id}`")))?,
            ),
            None => (!org.units.is_empty()).then_some(0),
        };
        let invited = org.method(true);
        let m = &mut org.members[mi];
        match u.action.as_str() {
            "leave" => m.joined = false,
            "join" => {
                if !m.joined {
                    m.joined = true;
                    m.joined_method = invited;
                    m.joined_at = now;
                    m.suspended = false;
                }
                m.ou = ou;
                m.modified_at = now;
            }
            "suspend" if v == Vendor::Aws => m.suspended = true,
            other => {
                let expected = if v == Vendor::Aws {
                    "leave, join or suspend"
                } else {
                    "leave or join"
                };
                return Err(WorldError::Invalid(
                    v,
                    format!("unknown action `{other}` (expected {expected})"),
                ));
            }
        }
        self.member_view(v, &u.member)
    }

    /// Removes or restores a role the member trusts its management account
    /// with (Alibaba role names match case-insensitively).
    pub fn set_member_role(&mut self, u: &RoleUpdate) -> Result<MemberView, WorldError> {
        let v = u.vendor;
        let (_, mi) = self.org_member_index(v, &u.member)?;
        if u.role.is_empty() || u.role.len() > 64 {
            return Err(WorldError::Invalid(
                v,
                "a role name is 1 to 64 characters".into(),
            ));
        }
        let Some(org) = self.organization_mut(v) else {
            return Err(WorldError::Invalid(
                v,
                format!("the world has no {}", kind(v)),
            ));
        };
        let fold = v == Vendor::Alibaba;
        let roles = &mut org.members[mi].roles;
        let same = |r: &String| r == &u.role || (fold && r.eq_ignore_ascii_case(&u.role));
        if u.present {
            if !roles.iter().any(same) {
                roles.insert(u.role.clone());
            }
        } else {
            roles.retain(|r| !same(r));
        }
        self.member_view(v, &u.member)
    }
}
