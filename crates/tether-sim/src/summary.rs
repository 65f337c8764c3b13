//! The start-up line: one JSON object with the admin URL and, per vendor,
//! its endpoint and every account with its credentials and sizes. Tests and
//! scripts read it; field names are a contract (fields may be added).

use serde::{Deserialize, Serialize};

use crate::world::{Vendor, World};

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
    pub accounts: Vec<KeyAccount>,
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
