//! Organizations whose members are scopes of one account rather than
//! accounts: the Azure management groups of the first Azure tenant (members
//! are subscriptions of that tenant) and the HCS VDCs of the first HCS
//! account (members are projects of its domain). Both come from the same
//! `--org-members N --org-units K` as the AWS organization (`org.rs`).
//!
//! - Azure: `K` management groups `mg-workloads-{k}` ("Workloads {k}")
//!   directly under the tenant root group (id and name: the tenant id,
//!   "Tenant Root Group"); `N` more subscriptions of the tenant spread
//!   round-robin over them. The tenant's own subscriptions sit directly
//!   under the root group. The application starts with the `Reader` role on
//!   every member.
//! - HCS: `K` VDC projects (`vdc-{k}`, parent the domain) in which the user
//!   has no role, and `N` more projects `{region}_member{NN}` (regions of
//!   the account in turn), each under a VDC round-robin. The user starts
//!   with the role `te_admin` in every member.
//!
//! Members are appended to the account's subscriptions / projects after its
//! own, so a member's scope index never changes and `first..` are the
//! members, in order. Leaving, joining, suspension and roles are flags here;
//! the vendors' handlers ask [`World::scope_member`] before serving a scope.

use std::collections::BTreeSet;

use super::make::{Nets, make_resource};
use super::org::{MemberUpdate, MemberView, OrgUnit, RoleUpdate};
use super::{Kind, Project, ResourcesSpec, Subscription, Vendor, World, WorldError, WorldSpec, vi};
use crate::rng::{Rng, mix};

/// The role the Azure application holds on every member subscription.
pub const READER_ROLE: &str = "Reader";

/// The role the HCS user holds in every member project.
pub const PROJECT_ROLE: &str = "te_admin";

/// One member scope (an Azure subscription, an HCS project).
#[derive(Debug, Clone)]
pub struct ScopeMember {
    /// Index into the account's subscriptions / projects.
    pub scope: u16,
    /// Index into `units`; `None`: directly under the root.
    pub unit: Option<usize>,
    /// `false` once the subscription moved to another tenant / the project
    /// was deleted.
    pub joined: bool,
    /// Azure: the subscription is `Disabled`; HCS: the project is disabled.
    pub suspended: bool,
    /// The caller's roles on the scope; it reads the scope while any is held.
    pub roles: BTreeSet<String>,
}

impl ScopeMember {
    /// The caller may use the scope: it is in the organization, holds a
    /// role there and (HCS) the project is enabled.
    pub fn usable(&self, v: Vendor) -> bool {
        self.joined && !self.roles.is_empty() && !(v == Vendor::Hcs && self.suspended)
    }
}

/// An Azure management-group tree or the VDCs of an HCS domain.
#[derive(Debug, Clone)]
pub struct ScopeOrg {
    pub vendor: Vendor,
    /// Index into the vendor's accounts of the account that holds it.
    pub account: u32,
    /// The root: the tenant id (Azure) or the domain id (HCS).
    pub root: String,
    /// Management groups (ids `mg-workloads-{k}`) or VDC projects.
    pub units: Vec<OrgUnit>,
    /// The scope of the first member.
    pub first: u16,
    pub members: Vec<ScopeMember>,
}

impl ScopeOrg {
    /// The member at scope `scope` of account `account`, if it is one.
    pub fn member(&self, account: u32, scope: u16) -> Option<&ScopeMember> {
        if account != self.account {
            return None;
        }
        scope
            .checked_sub(self.first)
            .and_then(|i| self.members.get(i as usize))
    }

    /// A unit by id (Azure group ids compare case-insensitively).
    pub fn unit_index(&self, id: &str) -> Option<usize> {
        self.units
            .iter()
            .position(|u| u.id.eq_ignore_ascii_case(id))
    }

    /// The id of a member's parent: its unit, or the root.
    pub fn parent_of(&self, m: &ScopeMember) -> &str {
        m.unit
            .map_or(self.root.as_str(), |i| self.units[i].id.as_str())
    }
}

impl World {
    /// The Azure (management groups) or HCS (VDCs) organization, if any.
    pub fn scope_org(&self, v: Vendor) -> Option<&ScopeOrg> {
        match v {
            Vendor::Azure => self.azure_org.as_ref(),
            Vendor::Hcs => self.hcs_org.as_ref(),
            _ => None,
        }
    }

    fn scope_org_mut(&mut self, v: Vendor) -> Option<&mut ScopeOrg> {
        match v {
            Vendor::Azure => self.azure_org.as_mut(),
            Vendor::Hcs => self.hcs_org.as_mut(),
            _ => None,
        }
    }

    /// The member at a scope of an account (Azure, HCS), joined or not.
    pub fn scope_member(&self, v: Vendor, account: u32, scope: u16) -> Option<&ScopeMember> {
        self.scope_org(v).and_then(|o| o.member(account, scope))
    }

    /// Resources of an account outside its member scopes.
    pub fn own_resource_count(&self, v: Vendor, account: u32) -> usize {
        let Some(a) = self.v(v).accounts.get(account as usize) else {
            return 0;
        };
        match self.scope_org(v).filter(|o| o.account == account) {
            None => a.count(),
            Some(o) => a
                .parts
                .iter()
                .filter(|((s, _), _)| *s < o.first)
                .map(|(_, p)| p.len())
                .sum(),
        }
    }

    /// With an organization in `spec`: the Azure management groups of the
    /// first tenant and the VDCs of the first HCS account, their members
    /// generated with resources (seeded from `spec.seed`).
    pub(super) fn build_scope_orgs(&mut self, spec: &WorldSpec) -> Result<(), WorldError> {
        let Some(o) = spec.organization.as_ref().filter(|o| o.members > 0) else {
            return Ok(());
        };
        for (v, specs) in [(Vendor::Azure, &spec.azure), (Vendor::Hcs, &spec.hcs)] {
            if specs.is_empty() {
                continue;
            }
            let resources = o.resources.or(match specs[0].resources {
                Some(ResourcesSpec::Count(n)) => Some(n),
                _ => None,
            });
            let mut rng = Rng::new(mix(spec.seed ^ 0x7e4a_0c9a ^ ((vi(v) as u64) << 48)));
            let org =
                self.build_scope_org(v, &mut rng, o.members, o.units, resources.unwrap_or(0))?;
            match v {
                Vendor::Azure => self.azure_org = Some(org),
                _ => self.hcs_org = Some(org),
            }
        }
        Ok(())
    }

    fn build_scope_org(
        &mut self,
        v: Vendor,
        rng: &mut Rng,
        members: usize,
        units: usize,
        resources: usize,
    ) -> Result<ScopeOrg, WorldError> {
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[0];
        let first = acct.scopes();
        if first + members > u16::MAX as usize {
            return Err(WorldError::Invalid(
                v,
                format!("at most {} organization members", u16::MAX as usize - first),
            ));
        }
        let (root, units) = match v {
            Vendor::Azure => (
                acct.id.clone(),
                (0..units)
                    .map(|k| OrgUnit {
                        id: format!("mg-workloads-{k}"),
                        name: format!("Workloads {k}"),
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => (
                acct.domain_id.clone(),
                (0..units)
                    .map(|k| OrgUnit {
                        id: rng.hex(32),
                        name: format!("vdc-{k}"),
                    })
                    .collect(),
            ),
        };
        if v == Vendor::Hcs && acct.regions.is_empty() {
            return Err(WorldError::Invalid(
                v,
                "VDC members need a region of the first HCS account".into(),
            ));
        }
        let team = *rng.pick(super::make::TEAMS);
        let mut out = ScopeOrg {
            vendor: v,
            account: 0,
            root,
            first: first as u16,
            units: units.clone(),
            members: Vec::with_capacity(members),
        };
        for k in 0..members {
            let scope = (first + k) as u16;
            let id = if v == Vendor::Azure {
                let id = rng.uuid();
                acct.subscriptions.push(Subscription {
                    id: id.clone(),
                    name: format!("{team}-member-{:04}", k + 1),
                });
                id
            } else {
                let id = rng.hex(32);
                let region = acct.regions[k % acct.regions.len()].clone();
                acct.projects.push(Project {
                    id: id.clone(),
                    name: format!("{region}_member{:02}", k + 1),
                    region,
                });
                id
            };
            vw.by_scope.insert(id, (0, scope));
            out.members.push(ScopeMember {
                scope,
                unit: (!units.is_empty()).then(|| k % units.len()),
                joined: true,
                suspended: false,
                roles: [if v == Vendor::Azure {
                    READER_ROLE
                } else {
                    PROJECT_ROLE
                }
                .to_string()]
                .into(),
            });
        }
        for m in &out.members {
            self.fill_scope(v, rng, m.scope, resources);
        }
        Ok(out)
    }

    /// `n` generated resources in one scope of the first account, in the
    /// vendor's generation cycle (a network first).
    fn fill_scope(&mut self, v: Vendor, rng: &mut Rng, scope: u16, n: usize) {
        let mut nets = Nets::default();
        let cyc = super::generate::cycle(v);
        for j in 0..n {
            let kind: Kind = cyc[j % cyc.len()];
            let seq = self.next_seq;
            self.next_seq += 1;
            let vw = &mut self.vendors[vi(v)];
            let acct = &mut vw.accounts[0];
            let region = match v {
                Vendor::Azure => rng.below(acct.regions.len() as u64) as u16,
                _ => acct
                    .projects
                    .get(scope as usize)
                    .and_then(|p| acct.region_index(&p.region))
                    .unwrap_or(0),
            };
            let r = make_resource(rng, acct, kind, scope, region, seq, &mut nets);
            vw.index.insert(r.id.clone(), (0, scope, kind.list()));
            acct.parts
                .entry((scope, kind.list()))
                .or_default()
                .insert(r.id.clone(), r);
        }
    }

    /// The account index of `account` for an Azure or HCS organization
    /// call: the tenant id; HCS the login `account` or the domain id.
    fn scope_org_account(&self, v: Vendor, account: &str) -> Result<u32, WorldError> {
        if let Ok(ai) = self.account_index(v, account) {
            return Ok(ai);
        }
        self.v(v)
            .accounts
            .iter()
            .position(|a| v == Vendor::Hcs && !a.domain_id.is_empty() && a.domain_id == account)
            .map(|i| i as u32)
            .ok_or_else(|| WorldError::NoAccount(v, account.to_string()))
    }

    /// The index into the organization's members of a subscription / project
    /// (id, or HCS project name).
    fn scope_member_index(&self, v: Vendor, member: &str) -> Result<usize, WorldError> {
        let vw = self.v(v);
        let at = vw.by_scope.get(member).copied().or_else(|| {
            (v == Vendor::Hcs)
                .then(|| {
                    vw.accounts.iter().enumerate().find_map(|(ai, a)| {
                        a.projects
                            .iter()
                            .position(|p| p.name == member)
                            .map(|s| (ai as u32, s as u16))
                    })
                })
                .flatten()
        });
        let what = if v == Vendor::Azure {
            "subscription"
        } else {
            "project"
        };
        let Some((ai, scope)) = at else {
            return Err(WorldError::NoResource(v, format!("{what} {member}")));
        };
        let org = self
            .scope_org(v)
            .ok_or_else(|| WorldError::Invalid(v, "the world has no organization".into()))?;
        org.member(ai, scope)
            .map(|_| (scope - org.first) as usize)
            .ok_or_else(|| {
                WorldError::Invalid(
                    v,
                    format!("{what} `{member}` is not a member of the organization"),
                )
            })
    }

    /// The admin view of an Azure or HCS member.
    pub fn scope_member_view(&self, v: Vendor, member: &str) -> Result<MemberView, WorldError> {
        let mi = self.scope_member_index(v, member)?;
        let org = self
            .scope_org(v)
            .ok_or_else(|| WorldError::Invalid(v, "the world has no organization".into()))?;
        let m = &org.members[mi];
        let acct = &self.v(v).accounts[org.account as usize];
        let id = match v {
            Vendor::Azure => acct.subscriptions[m.scope as usize].id.clone(),
            _ => acct.projects[m.scope as usize].id.clone(),
        };
        let status = match (v, m.suspended) {
            (Vendor::Azure, false) => "Enabled",
            (Vendor::Azure, true) => "Disabled",
            (_, false) => "enabled",
            (_, true) => "disabled",
        };
        Ok(MemberView {
            vendor: v,
            account: acct.id.clone(),
            member: id,
            ou: org.parent_of(m).to_string(),
            status: status.into(),
            joined: m.joined,
            roles: m.roles.iter().cloned().collect(),
        })
    }

    /// An Azure subscription or HCS project leaves (moves to another
    /// tenant / is deleted), joins (under `ou`, default the first unit; the
    /// root id puts it directly under the root) or is suspended (Azure
    /// `Disabled`, HCS project disabled).
    pub fn update_scope_member(&mut self, u: &MemberUpdate) -> Result<MemberView, WorldError> {
        let v = u.vendor;
        let ai = self.scope_org_account(v, &u.account)?;
        let mi = self.scope_member_index(v, &u.member)?;
        let org = self
            .scope_org_mut(v)
            .ok_or_else(|| WorldError::Invalid(v, "the world has no organization".into()))?;
        if org.account != ai {
            return Err(WorldError::Invalid(
                v,
                format!("account `{}` does not hold the organization", u.account),
            ));
        }
        let unit = match &u.ou {
            Some(id) if id.eq_ignore_ascii_case(&org.root) => None,
            Some(id) => Some(
                org.unit_index(id)
                    .ok_or_else(|| WorldError::Invalid(v, format!("no unit `{id}`")))?,
            ),
            None => (!org.units.is_empty()).then_some(0),
        };
        let m = &mut org.members[mi];
        match u.action.as_str() {
            "leave" => m.joined = false,
            "join" => {
                if !m.joined {
                    m.joined = true;
                    m.suspended = false;
                }
                m.unit = unit;
            }
            "suspend" => m.suspended = true,
            other => {
                return Err(WorldError::Invalid(
                    v,
                    format!("unknown action `{other}` (expected leave, join or suspend)"),
                ));
            }
        }
        let member = u.member.clone();
        self.scope_member_view(v, &member)
    }

    /// Removes or grants the caller's role on an Azure subscription (any
    /// role name; `Reader` at first) or in an HCS project (`present: false`
    /// removes every role of the user there, whatever the name).
    pub fn set_scope_member_role(&mut self, u: &RoleUpdate) -> Result<MemberView, WorldError> {
        let v = u.vendor;
        let mi = self.scope_member_index(v, &u.member)?;
        if u.role.is_empty() || u.role.len() > 64 {
            return Err(WorldError::Invalid(
                v,
                "a role name is 1 to 64 characters".into(),
            ));
        }
        let org = self
            .scope_org_mut(v)
            .ok_or_else(|| WorldError::Invalid(v, "the world has no organization".into()))?;
        let roles = &mut org.members[mi].roles;
        match (u.present, v) {
            (true, _) => {
                roles.insert(u.role.clone());
            }
            (false, Vendor::Hcs) => roles.clear(),
            (false, _) => {
                roles.remove(&u.role);
            }
        }
        let member = u.member.clone();
        self.scope_member_view(v, &member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_generated_after_the_own_scopes_with_resources() {
        let w = World::generate_org(5, 2, 30, 7, 3);
        for v in [Vendor::Azure, Vendor::Hcs] {
            let o = w.scope_org(v).unwrap();
            let a = &w.v(v).accounts[0];
            assert_eq!(o.members.len(), 7);
            assert_eq!(a.scopes(), o.first as usize + 7);
            assert_eq!(w.own_resource_count(v, 0) + 7 * 30, a.count());
            for (k, m) in o.members.iter().enumerate() {
                assert_eq!(m.unit, Some(k % 3));
                assert_eq!(
                    a.parts
                        .iter()
                        .filter(|((s, _), _)| *s == m.scope)
                        .map(|(_, p)| p.len())
                        .sum::<usize>(),
                    30
                );
            }
        }
        let again = World::generate_org(5, 2, 30, 7, 3);
        assert_eq!(
            again.v(Vendor::Hcs).accounts[0].projects.len(),
            w.v(Vendor::Hcs).accounts[0].projects.len()
        );
        assert_eq!(
            again.scope_org(Vendor::Hcs).unwrap().units,
            w.scope_org(Vendor::Hcs).unwrap().units
        );
        // Without members there is none, and the second account never has one.
        let plain = World::generate(5, 2, 30);
        assert!(plain.scope_org(Vendor::Azure).is_none());
        assert_eq!(plain.own_resource_count(Vendor::Azure, 0), 30);
        assert!(w.scope_member(Vendor::Azure, 1, 5).is_none());
    }
}
