//! AWS Organizations: the organization of the world's first AWS account
//! (the management account) and its member accounts, spread round-robin
//! over organizational units directly under the root; what the admin API
//! changes about them (members leave, join, are suspended; roles removed
//! and restored).
//!
//! Members are full world accounts (regions, resources) with no access key
//! of their own: they are reached only by assuming a role they trust the
//! management account with (`OrganizationAccountAccessRole` by default).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Vendor, World, WorldError};
use crate::rng::{Rng, mix};

/// The role every member trusts its management account with.
pub const ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

const LOWER36: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// An organizational unit (directly under the root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
}

/// One member account of the organization.
#[derive(Debug, Clone)]
pub struct OrgMember {
    /// Index into the AWS accounts.
    pub account: u32,
    /// Index into `units`; `None`: directly under the root.
    pub ou: Option<usize>,
    pub suspended: bool,
    /// `false` once the member left the organization.
    pub joined: bool,
    /// `CREATED` or `INVITED`.
    pub joined_method: &'static str,
    pub joined_at: i64,
    /// Roles that trust the management account.
    pub roles: BTreeSet<String>,
}

/// The world's AWS organization.
#[derive(Debug, Clone)]
pub struct Organization {
    /// `o-` + 10 lowercase alphanumerics.
    pub id: String,
    /// `r-` + 4.
    pub root: String,
    /// Index into the AWS accounts of the management account.
    pub management: u32,
    pub units: Vec<OrgUnit>,
    pub members: Vec<OrgMember>,
}

impl Organization {
    /// A new organization of `management` with `units` OUs (ids from `seed`).
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
            id,
            root,
            management,
            units,
            members: Vec::new(),
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
}

/// `POST /admin/organization/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    pub vendor: Vendor,
    /// The management account.
    pub account: String,
    pub member: String,
    /// `leave`, `join` or `suspend`.
    pub action: String,
    /// For `join`: the OU (default: the first).
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
    /// The OU id, or the root id.
    pub ou: String,
    /// `ACTIVE` or `SUSPENDED`.
    pub status: String,
    /// In the organization now.
    pub joined: bool,
    pub roles: Vec<String>,
}

impl World {
    fn org_member_index(&self, v: Vendor, member: &str) -> Result<(u32, usize), WorldError> {
        let ai = self.account_index(v, member)?;
        let org = self
            .org
            .as_ref()
            .filter(|_| v == Vendor::Aws)
            .ok_or_else(|| WorldError::Invalid(v, "the world has no organization".into()))?;
        let mi = org
            .members
            .iter()
            .position(|m| m.account == ai)
            .ok_or_else(|| {
                WorldError::Invalid(
                    v,
                    format!("account `{member}` is not a member of the organization"),
                )
            })?;
        Ok((ai, mi))
    }

    /// The admin view of a member.
    pub fn member_view(&self, v: Vendor, member: &str) -> Result<MemberView, WorldError> {
        let (_, mi) = self.org_member_index(v, member)?;
        let org = self.org.as_ref().expect("checked");
        let m = &org.members[mi];
        let vw = self.v(Vendor::Aws);
        Ok(MemberView {
            vendor: v,
            account: vw.accounts[org.management as usize].id.clone(),
            member: member.to_string(),
            ou: m
                .ou
                .map_or_else(|| org.root.clone(), |i| org.units[i].id.clone()),
            status: if m.suspended { "SUSPENDED" } else { "ACTIVE" }.into(),
            joined: m.joined,
            roles: m.roles.iter().cloned().collect(),
        })
    }

    /// A member leaves, joins (under `ou`, default the first OU) or is
    /// suspended.
    pub fn update_member(&mut self, u: &MemberUpdate, now: i64) -> Result<MemberView, WorldError> {
        let v = u.vendor;
        let mgmt = self.account_index(v, &u.account)?;
        let (_, mi) = self.org_member_index(v, &u.member)?;
        let org = self.org.as_mut().expect("checked");
        if org.management != mgmt {
            return Err(WorldError::Invalid(
                v,
                format!(
                    "account `{}` is not the management account of the organization",
                    u.account
                ),
            ));
        }
        let ou = match &u.ou {
            Some(id) if *id == org.root => None,
            Some(id) => Some(
                org.unit_index(id)
                    .ok_or_else(|| WorldError::Invalid(v, format!("no OU `{id}`")))?,
            ),
            None => (!org.units.is_empty()).then_some(0),
        };
        let m = &mut org.members[mi];
        match u.action.as_str() {
            "leave" => m.joined = false,
            "join" => {
                if !m.joined {
                    m.joined = true;
                    m.joined_method = "INVITED";
                    m.joined_at = now;
                    m.suspended = false;
                }
                m.ou = ou;
            }
            "suspend" => m.suspended = true,
            other => {
                return Err(WorldError::Invalid(
                    v,
                    format!("unknown action `{other}` (expected leave, join or suspend)"),
                ));
            }
        }
        self.member_view(v, &u.member)
    }

    /// Removes or restores a role the member trusts its management account with.
    pub fn set_member_role(&mut self, u: &RoleUpdate) -> Result<MemberView, WorldError> {
        let v = u.vendor;
        let (_, mi) = self.org_member_index(v, &u.member)?;
        if u.role.is_empty() || u.role.len() > 64 {
            return Err(WorldError::Invalid(
                v,
                "a role name is 1 to 64 characters".into(),
            ));
        }
        let org = self.org.as_mut().expect("checked");
        let roles = &mut org.members[mi].roles;
        if u.present {
            roles.insert(u.role.clone());
        } else {
            roles.remove(&u.role);
        }
        self.member_view(v, &u.member)
    }
}
