//! The start-up line: one JSON object with the admin URL and, per vendor,
//! its endpoint and every account with its credentials and sizes. Tests and
//! scripts read it; field names are a contract (fields may be added).

use serde::{Deserialize, Serialize};

use crate::world::{OrgUnit, Vendor, World};

/// The whole line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub admin: String,
    pub aws: KeyVendor,
    pub alibaba: KeyVendor,
    pub azure: AzureVendor,
    pub hcs: HcsVendor,
}

/// AWS and Alibaba.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyVendor {
    pub endpoint: String,
    /// Every account with a key (organization and resource-directory
    /// members are not here).
    pub accounts: Vec<KeyAccount>,
    /// The AWS organization or the Alibaba resource directory, if the world
    /// has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationSummary>,
}

/// The AWS organization or Alibaba resource directory: its management
/// account, units and members (those in the organization now). Alibaba: `id`
/// is the directory id, `root` the root folder id, `units` the folders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationSummary {
    pub id: String,
    pub root: String,
    pub management_account_id: String,
    pub units: Vec<OrgUnit>,
    pub members: Vec<MemberSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub id: String,
    pub name: String,
    /// The OU or folder id (the root id when directly under the root).
    pub ou: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyAccount {
    /// The account's name in a written config (HCL identifier).
    pub name: String,
    pub main_account_id: String,
    pub account_name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub regions: Vec<String>,
    pub resources: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureVendor {
    pub endpoint: String,
    pub accounts: Vec<AzureAccount>,
    /// The management groups of the first tenant, if the world has an
    /// organization: `id`, `root` and `management_account_id` the tenant id,
    /// `units` the groups, `members` the member subscriptions in the tenant
    /// now (`ou`: the group id, or the tenant id under the root group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureAccount {
    pub name: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub application_id: String,
    pub application_secret: String,
    /// The tenant's own subscriptions (member subscriptions are only in
    /// `organization.members`).
    pub subscriptions: Vec<String>,
    pub locations: Vec<String>,
    pub resources: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HcsVendor {
    pub endpoint: String,
    pub accounts: Vec<HcsAccount>,
    /// The VDCs of the first account, if the world has an organization:
    /// `id`, `root` and `management_account_id` the domain id, `units` the
    /// VDC projects, `members` the member projects not deleted (`ou`: the
    /// VDC id, or the domain id directly under the domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HcsAccount {
    pub name: String,
    pub environment_name: String,
    /// Login account (also the IAM domain name).
    pub account: String,
    pub domain_id: String,
    pub password: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The account's own projects (member projects are only in
    /// `organization.members`).
    pub projects: Vec<ProjectRef>,
    pub resources: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectRef {
    pub id: String,
    pub name: String,
    pub region: String,
}

impl Summary {
    /// `urls`: aws, alibaba, azure, hcs, admin.
    pub fn of(w: &World, urls: &[String; 5]) -> Summary {
        let keys = |v: Vendor, url: &str| KeyVendor {
            endpoint: url.to_string(),
            accounts: w
                .v(v)
                .accounts
                .iter()
                .filter(|a| !a.org_member)
                .map(|a| KeyAccount {
                    name: a.name.clone(),
                    main_account_id: a.id.clone(),
                    account_name: a.display.clone(),
                    access_key_id: a.key_id.clone(),
                    secret_access_key: a.secret.clone(),
                    regions: a.regions.clone(),
                    resources: a.count(),
                })
                .collect(),
            organization: org_summary(w, v),
        };
        Summary {
            admin: urls[4].clone(),
            aws: keys(Vendor::Aws, &urls[0]),
            alibaba: keys(Vendor::Alibaba, &urls[1]),
            azure: AzureVendor {
                endpoint: urls[2].clone(),
                accounts: w
                    .v(Vendor::Azure)
                    .accounts
                    .iter()
                    .enumerate()
                    .map(|(i, a)| AzureAccount {
                        name: a.name.clone(),
                        tenant_id: a.id.clone(),
                        tenant_name: a.display.clone(),
                        application_id: a.key_id.clone(),
                        application_secret: a.secret.clone(),
                        subscriptions: a
                            .subscriptions
                            .iter()
                            .enumerate()
                            .filter(|(s, _)| !is_member(w, Vendor::Azure, i, *s))
                            .map(|(_, s)| s.id.clone())
                            .collect(),
                        locations: a.regions.clone(),
                        resources: w.own_resource_count(Vendor::Azure, i as u32),
                    })
                    .collect(),
                organization: scope_org_summary(w, Vendor::Azure),
            },
            hcs: HcsVendor {
                endpoint: urls[3].clone(),
                accounts: w
                    .v(Vendor::Hcs)
                    .accounts
                    .iter()
                    .enumerate()
                    .map(|(i, a)| HcsAccount {
                        name: a.name.clone(),
                        environment_name: a.display.clone(),
                        account: a.id.clone(),
                        domain_id: a.domain_id.clone(),
                        password: a.password.clone(),
                        access_key_id: a.key_id.clone(),
                        secret_access_key: a.secret.clone(),
                        projects: a
                            .projects
                            .iter()
                            .enumerate()
                            .filter(|(s, _)| !is_member(w, Vendor::Hcs, i, *s))
                            .map(|(_, p)| ProjectRef {
                                id: p.id.clone(),
                                name: p.name.clone(),
                                region: p.region.clone(),
                            })
                            .collect(),
                        resources: w.own_resource_count(Vendor::Hcs, i as u32),
                    })
                    .collect(),
                organization: scope_org_summary(w, Vendor::Hcs),
            },
        }
    }
}

/// Scope `s` of account `ai` is a member subscription / project.
fn is_member(w: &World, v: Vendor, ai: usize, s: usize) -> bool {
    w.scope_member(v, ai as u32, s as u16).is_some()
}

/// The Azure management groups or HCS VDCs as an organization: the root
/// (tenant or domain id) stands for the organization, its root and its
/// management account; members are those in it now.
fn scope_org_summary(w: &World, v: Vendor) -> Option<OrganizationSummary> {
    let o = w.scope_org(v)?;
    let a = w.v(v).accounts.get(o.account as usize)?;
    let members = o
        .members
        .iter()
        .filter(|m| m.joined)
        .filter_map(|m| {
            let i = m.scope as usize;
            let (id, name) = match v {
                Vendor::Azure => a.subscriptions.get(i).map(|s| (&s.id, &s.name))?,
                _ => a.projects.get(i).map(|p| (&p.id, &p.name))?,
            };
            Some(MemberSummary {
                id: id.clone(),
                name: name.clone(),
                ou: o.parent_of(m).to_string(),
            })
        })
        .collect();
    Some(OrganizationSummary {
        id: o.root.clone(),
        root: o.root.clone(),
        management_account_id: o.root.clone(),
        units: o.units.clone(),
        members,
    })
}

/// The AWS organization or the Alibaba resource directory, members those in
/// it now.
fn org_summary(w: &World, v: Vendor) -> Option<OrganizationSummary> {
    let o = w.organization(v)?;
    let accounts = &w.v(v).accounts;
    let account = |ai: u32| accounts.get(ai as usize);
    Some(OrganizationSummary {
        id: o.id.clone(),
        root: o.root.clone(),
        management_account_id: account(o.management)?.id.clone(),
        units: o.units.clone(),
        members: o
            .members
            .iter()
            .filter(|m| m.joined)
            .filter_map(|m| {
                let a = account(m.account)?;
                Some(MemberSummary {
                    id: a.id.clone(),
                    name: a.display.clone(),
                    ou: o.unit_of(m).to_string(),
                })
            })
            .collect(),
    })
}
