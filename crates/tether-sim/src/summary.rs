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
    /// Every account with a key (AWS organization members are not here).
    pub accounts: Vec<KeyAccount>,
    /// AWS: the organization, if the world has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationSummary>,
}

/// The AWS organization: its management account, units and members (those
/// in the organization now).
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
    /// The OU id (the root id when directly under the root).
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureAccount {
    pub name: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub application_id: String,
    pub application_secret: String,
    pub subscriptions: Vec<String>,
    pub locations: Vec<String>,
    pub resources: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HcsVendor {
    pub endpoint: String,
    pub accounts: Vec<HcsAccount>,
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
            organization: None,
        };
        let mut aws = keys(Vendor::Aws, &urls[0]);
        aws.organization = w.org.as_ref().map(|o| {
            let accounts = &w.v(Vendor::Aws).accounts;
            OrganizationSummary {
                id: o.id.clone(),
                root: o.root.clone(),
                management_account_id: accounts[o.management as usize].id.clone(),
                units: o.units.clone(),
                members: o
                    .members
                    .iter()
                    .filter(|m| m.joined)
                    .map(|m| MemberSummary {
                        id: accounts[m.account as usize].id.clone(),
                        name: accounts[m.account as usize].display.clone(),
                        ou: m
                            .ou
                            .map_or_else(|| o.root.clone(), |i| o.units[i].id.clone()),
                    })
                    .collect(),
            }
        });
        Summary {
            admin: urls[4].clone(),
            aws,
            alibaba: keys(Vendor::Alibaba, &urls[1]),
            azure: AzureVendor {
                endpoint: urls[2].clone(),
                accounts: w
                    .v(Vendor::Azure)
                    .accounts
                    .iter()
                    .map(|a| AzureAccount {
                        name: a.name.clone(),
                        tenant_id: a.id.clone(),
                        tenant_name: a.display.clone(),
                        application_id: a.key_id.clone(),
                        application_secret: a.secret.clone(),
                        subscriptions: a.subscriptions.iter().map(|s| s.id.clone()).collect(),
                        locations: a.regions.clone(),
                        resources: a.count(),
                    })
                    .collect(),
            },
            hcs: HcsVendor {
                endpoint: urls[3].clone(),
                accounts: w
                    .v(Vendor::Hcs)
                    .accounts
                    .iter()
                    .map(|a| HcsAccount {
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
                            .map(|p| ProjectRef {
                                id: p.id.clone(),
                                name: p.name.clone(),
                                region: p.region.clone(),
                            })
                            .collect(),
                        resources: a.count(),
                    })
                    .collect(),
            },
        }
    }
}
