//! What the world holds: resource types and the list calls that serve them,
//! resources, and per vendor its accounts with their scopes (regions,
//! subscriptions, projects), partitions and lookup indexes.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Vendor;

/// A resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Instance,
    Vpc,
    Subnet,
    SecurityGroup,
    VSwitch,
    ResourceGroup,
    VirtualMachine,
    VirtualNetwork,
    NetworkInterface,
    PublicIp,
    NetworkSecurityGroup,
}

impl Kind {
    /// The types each vendor serves.
    pub fn of(vendor: Vendor) -> &'static [Kind] {
        use Kind::*;
        match vendor {
            Vendor::Aws => &[Instance, Vpc, Subnet, SecurityGroup],
            Vendor::Alibaba => &[Instance, Vpc, VSwitch, SecurityGroup],
            Vendor::Azure => &[
                ResourceGroup,
                VirtualMachine,
                VirtualNetwork,
                NetworkInterface,
                PublicIp,
                NetworkSecurityGroup,
            ],
            Vendor::Hcs => &[Instance, Vpc, Subnet],
        }
    }

    /// tether's name of the type.
    pub fn name(self) -> &'static str {
        use Kind::*;
        match self {
            Instance => "instance",
            Vpc => "vpc",
            Subnet => "subnet",
            SecurityGroup => "security_group",
            VSwitch => "vswitch",
            ResourceGroup => "resource_group",
            VirtualMachine => "virtual_machine",
            VirtualNetwork => "virtual_network",
            NetworkInterface => "network_interface",
            PublicIp => "public_ip",
            NetworkSecurityGroup => "network_security_group",
        }
    }

    /// The ARM resource type (Azure kinds).
    pub fn arm_type(self) -> &'static str {
        use Kind::*;
        match self {
            ResourceGroup => "Microsoft.Resources/resourceGroups",
            VirtualMachine => "Microsoft.Compute/virtualMachines",
            VirtualNetwork => "Microsoft.Network/virtualNetworks",
            NetworkInterface => "Microsoft.Network/networkInterfaces",
            PublicIp => "Microsoft.Network/publicIPAddresses",
            NetworkSecurityGroup => "Microsoft.Network/networkSecurityGroups",
            _ => "",
        }
    }

    /// Parses tether's name, or for Azure the ARM type (case-insensitive).
    pub fn parse(vendor: Vendor, s: &str) -> Option<Kind> {
        Kind::of(vendor).iter().copied().find(|k| {
            k.name() == s || (!k.arm_type().is_empty() && k.arm_type().eq_ignore_ascii_case(s))
        })
    }

    /// The list call that serves this type.
    pub fn list(self) -> List {
        match self {
            Kind::VirtualMachine
            | Kind::VirtualNetwork
            | Kind::NetworkInterface
            | Kind::PublicIp
            | Kind::NetworkSecurityGroup => List::Arm,
            k => List::Of(k),
        }
    }
}

/// Which list call serves a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum List {
    Of(Kind),
    /// Azure `GET /subscriptions/{id}/resources`: every ARM resource.
    Arm,
}

/// One resource.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Shared with the partition key, the id index and children's `parent`.
    pub id: Arc<str>,
    pub name: Box<str>,
    pub kind: Kind,
    /// Index into the account's `regions` (Azure: its locations).
    pub region: u16,
    /// Index into regions / subscriptions / projects: the partition scope.
    pub scope: u16,
    /// Index into the vendor's status list for the kind (0 = the usual one).
    pub status: u8,
    /// Index into the vendor's instance sizes.
    pub size: u8,
    /// Unique per vendor; drives derived attributes.
    pub seq: u32,
    pub created: i64,
    /// VPC id (AWS, Alibaba, HCS) or resource group name (Azure).
    pub parent: Option<Arc<str>>,
    /// An instance's subnet / vSwitch id.
    pub subnet: Option<Arc<str>>,
    /// Sorted by key; generated tags borrow static strings.
    pub tags: Vec<(Tag, Tag)>,
}

/// An Azure subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub name: String,
}

/// An HCS project (bound to one region).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub region: String,
}

pub type Partition = BTreeMap<Arc<str>, Resource>;

/// A tag key or value: static for generated tags, owned for set ones.
pub type Tag = Cow<'static, str>;

/// One account of one vendor.
#[derive(Debug, Clone)]
pub struct Account {
    pub vendor: Vendor,
    /// The account's name in a written tether config (an HCL identifier).
    pub name: String,
    /// `main_account_id`, `tenant_id`, or the HCS login `account`.
    pub id: String,
    /// `account_name`, `tenant_name`, or HCS `environment_name`.
    pub display: String,
    /// Access key id (AWS, Alibaba, HCS AK) or Azure application id.
    pub key_id: String,
    /// Secret access key, application secret, or HCS SK.
    pub secret: String,
    /// HCS password.
    pub password: String,
    /// User id (AWS `AIDA…`, Alibaba user id, Azure object id, HCS user id).
    pub principal: String,
    /// HCS domain id.
    pub domain_id: String,
    /// Credentials revoked: every authentication fails as for an unknown key.
    pub revoked: bool,
    /// Tokens issued before this moment are expired.
    pub tokens_valid_after: i64,
    /// The key is the account's root key (AWS root user, Alibaba main
    /// account, an HCS user in the `admin` group) rather than a user's.
    pub root: bool,
    /// When the access key (Azure: the application secret) was created.
    pub key_created: i64,
    /// When the access key was last used; `None`: never.
    pub key_last_used: Option<i64>,
    /// When the Azure application secret or the HCS password expires.
    pub secret_expires: i64,
    /// API names this account's key may not call: each answers the vendor's
    /// permission error (the names per vendor: [`crate::admin::deniable`]).
    pub denied: BTreeSet<String>,
    /// A member of the AWS organization: no access key of its own, left out
    /// of the summary's accounts and of a written config.
    pub org_member: bool,
    /// Regions (Azure: locations).
    pub regions: Vec<String>,
    pub subscriptions: Vec<Subscription>,
    pub projects: Vec<Project>,
    pub parts: HashMap<(u16, List), Partition>,
}

impl Account {
    /// Number of partition scopes (regions, subscriptions or projects).
    pub fn scopes(&self) -> usize {
        match self.vendor {
            Vendor::Azure => self.subscriptions.len(),
            Vendor::Hcs => self.projects.len(),
            _ => self.regions.len(),
        }
    }

    pub fn count(&self) -> usize {
        self.parts.values().map(BTreeMap::len).sum()
    }

    pub fn part(&self, scope: u16, list: List) -> Option<&Partition> {
        self.parts.get(&(scope, list))
    }

    pub fn region_index(&self, r: &str) -> Option<u16> {
        self.regions.iter().position(|x| x == r).map(|i| i as u16)
    }

    /// The region name of a resource.
    pub fn region_of(&self, r: &Resource) -> &str {
        self.regions
            .get(r.region as usize)
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Everything of one vendor.
#[derive(Debug, Default, Clone)]
pub struct VendorWorld {
    pub accounts: Vec<Account>,
    /// Account identifier -> index.
    pub by_id: HashMap<String, u32>,
    /// Access key id / application id -> index.
    pub by_key: HashMap<String, u32>,
    /// Azure subscription id / HCS project id -> (account, scope).
    pub by_scope: HashMap<String, (u32, u16)>,
    /// Resource id -> (account, scope, list).
    pub index: HashMap<Arc<str>, (u32, u16, List)>,
}
