//! The world file (`--world FILE`): accounts per vendor, each field
//! optional (what is absent is generated), resources as a count or a list.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Project, Subscription};

/// The account-level fields of a world file; anything absent is generated.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub name: Option<String>,
    pub main_account_id: Option<String>,
    pub account_name: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub application_id: Option<String>,
    pub application_secret: Option<String>,
    pub environment_name: Option<String>,
    pub account: Option<String>,
    pub password: Option<String>,
    pub regions: Option<Vec<String>>,
    pub subscriptions: Option<Vec<Subscription>>,
    pub projects: Option<Vec<Project>>,
    pub resources: Option<ResourcesSpec>,
}

/// Resources of an account in a world file: a count to generate, or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ResourcesSpec {
    Count(usize),
    List(Vec<ResourceSpec>),
}

/// One explicit resource of a world file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub subscription: Option<String>,
}

/// A world file (`--world FILE`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub aws: Vec<AccountSpec>,
    #[serde(default)]
    pub alibaba: Vec<AccountSpec>,
    #[serde(default)]
    pub azure: Vec<AccountSpec>,
    #[serde(default)]
    pub hcs: Vec<AccountSpec>,
    /// An AWS organization whose management account is the first AWS account
    /// (and with the same sizes the first Alibaba account's resource
    /// directory, the first Azure tenant's management groups and the first
    /// HCS account's VDCs).
    #[serde(default)]
    pub organization: Option<OrganizationSpec>,
}

/// The AWS organization of a world: `members` accounts generated as members
/// of the first AWS account's organization, round-robin over `units` OUs
/// (and as many Alibaba accounts in the first Alibaba account's resource
/// directory, over as many folders).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSpec {
    #[serde(default)]
    pub members: usize,
    #[serde(default = "default_units")]
    pub units: usize,
    /// Resources per member (default: the vendor's first account's count,
    /// if a count).
    #[serde(default)]
    pub resources: Option<usize>,
}

fn default_units() -> usize {
    3
}
