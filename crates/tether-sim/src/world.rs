//! The simulated world: per vendor, accounts with their identity and
//! credentials, regions (Azure: locations and subscriptions; HCS: projects),
//! and resources with realistic attributes and tags.
//!
//! Invariants:
//! - Resources live in partitions keyed by (account, scope, list), where the
//!   scope is what the vendor's list call is per (AWS/Alibaba region, Azure
//!   subscription, HCS project) and the list is the call (one per type; Azure
//!   lists all ARM resources at once). A partition is a `BTreeMap` by id, so
//!   a page is a range query (`NextToken`/`marker` = last id) or a short skip
//!   (page numbers): no request scans more than its partition.
//! - Every id is in the vendor's `index`, so mutations find a resource
//!   without a scan.
//! - The same seed and sizes always give the same world (ChaCha8 per
//!   account); attributes that need no memory (IP addresses, CIDRs, image
//!   ids) are derived from the resource's `seq` when rendered.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::rng::{Rng, mix};
pub use crate::vendor::Vendor;

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

/// The whole simulated world.
pub struct World {
    pub vendors: [VendorWorld; 4],
    rng: Rng,
    next_seq: u32,
}

fn vi(v: Vendor) -> usize {
    match v {
        Vendor::Aws => 0,
        Vendor::Alibaba => 1,
        Vendor::Azure => 2,
        Vendor::Hcs => 3,
    }
}

pub const AWS_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "eu-north-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-south-1",
    "sa-east-1",
    "ca-central-1",
];
pub const ALIBABA_REGIONS: &[&str] = &[
    "cn-hangzhou",
    "cn-shanghai",
    "cn-beijing",
    "cn-shenzhen",
    "cn-hongkong",
    "ap-southeast-1",
    "eu-central-1",
    "us-west-1",
];
pub const AZURE_LOCATIONS: &[&str] = &[
    "eastus",
    "westus2",
    "westeurope",
    "northeurope",
    "southeastasia",
    "japaneast",
];
pub const HCS_REGIONS: &[&str] = &["sc-cd-1", "sc-xa-1", "sc-bj-1", "sc-gz-1"];

const TEAMS: &[&str] = &["platform", "data", "web", "payments", "search"];
const ENVS: &[&str] = &["prod", "staging", "dev"];
const OWNERS: &[&str] = &["alice", "bob", "carol", "dave"];
const ROLES: &[&str] = &["web", "api", "worker", "db", "cache", "batch"];

/// The generation order of types within a scope: a network first, then a mix
/// in which about half the resources are instances.
fn cycle(v: Vendor) -> &'static [Kind] {
    use Kind::*;
    match v {
        Vendor::Aws => &[
            Vpc,
            Subnet,
            SecurityGroup,
            Instance,
            Instance,
            Subnet,
            Instance,
            SecurityGroup,
            Instance,
            Instance,
        ],
        Vendor::Alibaba => &[
            Vpc,
            VSwitch,
            SecurityGroup,
            Instance,
            Instance,
            VSwitch,
            Instance,
            SecurityGroup,
            Instance,
            Instance,
        ],
        Vendor::Azure => &[
            ResourceGroup,
            VirtualNetwork,
            NetworkSecurityGroup,
            VirtualMachine,
            NetworkInterface,
            PublicIp,
            VirtualMachine,
            NetworkInterface,
            VirtualMachine,
            NetworkInterface,
        ],
        Vendor::Hcs => &[
            Vpc, Subnet, Instance, Instance, Subnet, Instance, Instance, Instance, Subnet, Instance,
        ],
    }
}

const UPPER32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

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
}

/// What went wrong changing the world.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    #[error("no {0} account `{1}`")]
    NoAccount(Vendor, String),
    #[error("no {0} resource `{1}`")]
    NoResource(Vendor, String),
    #[error("{0} has no resource type `{1}`")]
    BadType(Vendor, String),
    #[error("{0}: {1}")]
    Invalid(Vendor, String),
}

/// A resource as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceView {
    pub vendor: Vendor,
    pub account: String,
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

/// Fresh credentials after a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    pub vendor: Vendor,
    pub account: String,
    /// AWS/Alibaba/HCS access key id, Azure application id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Scratch state while generating one scope: the networks to attach to.
#[derive(Default)]
struct Nets {
    vpcs: Vec<Arc<str>>,
    subnets: Vec<(Arc<str>, Arc<str>)>,
    groups: Vec<(Arc<str>, u16)>,
}

impl World {
    /// A world of `accounts` accounts per vendor with `resources` resources each.
    pub fn generate(seed: u64, accounts: usize, resources: usize) -> World {
        let each = || {
            vec![
                AccountSpec {
                    resources: Some(ResourcesSpec::Count(resources)),
                    ..Default::default()
                };
                accounts
            ]
        };
        let spec = WorldSpec {
            seed,
            aws: each(),
            alibaba: each(),
            azure: each(),
            hcs: each(),
        };
        World::from_spec(&spec).expect("a generated world is valid")
    }

    /// A world from a spec; generated fields come from `spec.seed`.
    pub fn from_spec(spec: &WorldSpec) -> Result<World, WorldError> {
        let lists = [&spec.aws, &spec.alibaba, &spec.azure, &spec.hcs];
        let seed = spec.seed;
        // Vendors are independent: build them on separate threads.
        let built: Vec<Result<VendorWorld, WorldError>> = std::thread::scope(|s| {
            let handles: Vec<_> = Vendor::ALL
                .into_iter()
                .zip(lists)
                .map(|(v, list)| s.spawn(move || build_vendor(seed, v, list)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("world generation does not panic"))
                .collect()
        });
        let mut vendors: Vec<VendorWorld> = Vec::with_capacity(4);
        for b in built {
            vendors.push(b?);
        }
        let next_seq = vendors
            .iter()
            .flat_map(|v| v.accounts.iter())
            .flat_map(|a| a.parts.values())
            .flat_map(|p| p.values())
            .map(|r| r.seq)
            .max()
            .unwrap_or(0)
            + 1;
        let vendors: [VendorWorld; 4] = vendors
            .try_into()
            .map_err(|_| WorldError::Invalid(Vendor::Aws, "vendors".into()))?;
        Ok(World {
            vendors,
            rng: Rng::new(mix(seed ^ 0xad31)),
            next_seq,
        })
    }

    pub fn v(&self, v: Vendor) -> &VendorWorld {
        &self.vendors[vi(v)]
    }

    pub fn v_mut(&mut self, v: Vendor) -> &mut VendorWorld {
        &mut self.vendors[vi(v)]
    }

    /// Total resources.
    pub fn resource_count(&self) -> usize {
        self.vendors.iter().map(|v| v.index.len()).sum()
    }

    fn account_index(&self, v: Vendor, account: &str) -> Result<u32, WorldError> {
        self.v(v)
            .by_id
            .get(account)
            .copied()
            .ok_or_else(|| WorldError::NoAccount(v, account.to_string()))
    }

    /// Adds a resource of `kind` in `region` (Azure: a location, optionally in
    /// `subscription`; HCS: a region, project name or project id).
    pub fn add_resource(
        &mut self,
        v: Vendor,
        account: &str,
        region: &str,
        kind: &str,
        subscription: Option<&str>,
    ) -> Result<ResourceView, WorldError> {
        let ai = self.account_index(v, account)?;
        let kind = Kind::parse(v, kind).ok_or_else(|| WorldError::BadType(v, kind.to_string()))?;
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut rng = Rng::new(mix(self.rng.u64()));
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[ai as usize];
        let (scope, region_idx) = resolve_scope(acct, region, subscription)?;
        let mut nets = nets_of(acct, scope);
        let r = make_resource(&mut rng, acct, kind, scope, region_idx, seq, &mut nets);
        let view = view_of(acct, &r);
        vw.index.insert(r.id.clone(), (ai, scope, kind.list()));
        acct.parts
            .entry((scope, kind.list()))
            .or_default()
            .insert(r.id.clone(), r);
        Ok(view)
    }

    fn locate(&self, v: Vendor, id: &str) -> Result<(u32, u16, List), WorldError> {
        self.v(v)
            .index
            .get(id)
            .copied()
            .ok_or_else(|| WorldError::NoResource(v, id.to_string()))
    }

    /// The admin view of a resource.
    pub fn resource(&self, v: Vendor, id: &str) -> Result<ResourceView, WorldError> {
        let (ai, scope, list) = self.locate(v, id)?;
        let acct = &self.v(v).accounts[ai as usize];
        let r = acct
            .part(scope, list)
            .and_then(|p| p.get(id))
            .ok_or_else(|| WorldError::NoResource(v, id.to_string()))?;
        Ok(view_of(acct, r))
    }

    /// Replaces a resource's tags.
    pub fn set_tags(
        &mut self,
        v: Vendor,
        id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<ResourceView, WorldError> {
        let (ai, scope, list) = self.locate(v, id)?;
        let acct = &mut self.vendors[vi(v)].accounts[ai as usize];
        let r = acct
            .parts
            .get_mut(&(scope, list))
            .and_then(|p| p.get_mut(id))
            .ok_or_else(|| WorldError::NoResource(v, id.to_string()))?;
        r.tags = tags
            .iter()
            .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
            .collect();
        if v == Vendor::Aws
            && let Some(n) = tags.get("Name")
        {
            r.name = n.as_str().into();
        }
        let r = r.clone();
        Ok(view_of(acct, &r))
    }

    /// Removes a resource.
    pub fn delete_resource(&mut self, v: Vendor, id: &str) -> Result<ResourceView, WorldError> {
        let (ai, scope, list) = self.locate(v, id)?;
        let vw = &mut self.vendors[vi(v)];
        vw.index.remove(id);
        let acct = &mut vw.accounts[ai as usize];
        let r = acct
            .parts
            .get_mut(&(scope, list))
            .and_then(|p| p.remove(id))
            .ok_or_else(|| WorldError::NoResource(v, id.to_string()))?;
        Ok(view_of(acct, &r))
    }

    /// Enables a region for an account (Azure: a location; HCS: a region
    /// with a new project `{region}_{account}`).
    pub fn add_region(&mut self, v: Vendor, account: &str, region: &str) -> Result<(), WorldError> {
        if region.is_empty()
            || region.len() > 64
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(WorldError::Invalid(v, format!("invalid region `{region}`")));
        }
        let ai = self.account_index(v, account)?;
        let pid = self.rng.hex(32);
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[ai as usize];
        if acct.region_index(region).is_none() {
            acct.regions.push(region.to_string());
        }
        if v == Vendor::Hcs {
            let ri = acct.region_index(region).unwrap_or(0);
            if !acct.projects.iter().any(|p| p.region == region) {
                let scope = acct.projects.len() as u16;
                acct.projects.push(Project {
                    id: pid.clone(),
                    name: format!("{region}_{}", acct.id),
                    region: region.to_string(),
                });
                let _ = ri;
                vw.by_scope.insert(pid, (ai, scope));
            }
        }
        Ok(())
    }

    /// Revokes an account's credentials: keys become unknown, the secret or
    /// password stops working. Tokens already issued run out normally.
    pub fn revoke(&mut self, v: Vendor, account: &str) -> Result<(), WorldError> {
        let ai = self.account_index(v, account)?;
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[ai as usize];
        acct.revoked = true;
        if v != Vendor::Azure {
            vw.by_key.remove(&acct.key_id);
        }
        Ok(())
    }

    /// Issues new credentials: a new key pair (AWS, Alibaba), a new
    /// application secret (Azure), a new password and key pair (HCS). The old
    /// ones stop working at once.
    pub fn rotate(&mut self, v: Vendor, account: &str) -> Result<Rotated, WorldError> {
        let ai = self.account_index(v, account)?;
        let mut rng = Rng::new(mix(self.rng.u64()));
        let (key_id, secret) = new_keys(&mut rng, v);
        let password = new_password(&mut rng);
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[ai as usize];
        acct.revoked = false;
        let mut out = Rotated {
            vendor: v,
            account: account.to_string(),
            access_key_id: None,
            secret_access_key: None,
            application_secret: None,
            password: None,
        };
        if v == Vendor::Azure {
            acct.secret = secret.clone();
            out.access_key_id = Some(acct.key_id.clone());
            out.application_secret = Some(secret);
        } else {
            vw.by_key.remove(&acct.key_id);
            acct.key_id = key_id.clone();
            acct.secret = secret.clone();
            vw.by_key.insert(key_id.clone(), ai);
            out.access_key_id = Some(key_id);
            out.secret_access_key = Some(secret);
            if v == Vendor::Hcs {
                acct.password = password.clone();
                out.password = Some(password);
            }
        }
        Ok(out)
    }

    /// Expires every token issued to the account so far.
    pub fn expire_tokens(&mut self, v: Vendor, account: &str, now: i64) -> Result<(), WorldError> {
        let ai = self.account_index(v, account)?;
        self.vendors[vi(v)].accounts[ai as usize].tokens_valid_after = now + 1;
        Ok(())
    }
}

fn resolve_scope(
    acct: &mut Account,
    region: &str,
    subscription: Option<&str>,
) -> Result<(u16, u16), WorldError> {
    let v = acct.vendor;
    match v {
        Vendor::Azure => {
            let scope = match subscription {
                Some(s) => acct
                    .subscriptions
                    .iter()
                    .position(|x| x.id == s)
                    .ok_or_else(|| {
                        WorldError::Invalid(v, format!("subscription `{s}` is not in this tenant"))
                    })?,
                None if acct.subscriptions.is_empty() => {
                    return Err(WorldError::Invalid(
                        v,
                        "the tenant has no subscription".into(),
                    ));
                }
                None => 0,
            };
            let ri = match acct.region_index(region) {
                Some(i) => i,
                None => {
                    acct.regions.push(region.to_string());
                    (acct.regions.len() - 1) as u16
                }
            };
            Ok((scope as u16, ri))
        }
        Vendor::Hcs => {
            let p = acct
                .projects
                .iter()
                .position(|p| p.region == region || p.name == region || p.id == region)
                .ok_or_else(|| {
                    WorldError::Invalid(
                        v,
                        format!("no project for region `{region}` (POST /admin/regions first)"),
                    )
                })?;
            let ri = acct
                .region_index(&acct.projects[p].region.clone())
                .unwrap_or(0);
            Ok((p as u16, ri))
        }
        _ => {
            let ri = acct
                .region_index(region)
                .ok_or_else(|| WorldError::Invalid(v, format!("region `{region}` is not enabled for this account (POST /admin/regions first)")))?;
            Ok((ri, ri))
        }
    }
}

fn nets_of(acct: &Account, scope: u16) -> Nets {
    let mut n = Nets::default();
    let first = |list: List| {
        acct.part(scope, list)
            .map(|p| p.values().take(64).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    match acct.vendor {
        Vendor::Azure => {
            for r in first(List::Of(Kind::ResourceGroup)) {
                n.groups.push((r.name.as_ref().into(), r.region));
            }
        }
        _ => {
            for r in first(List::Of(Kind::Vpc)) {
                n.vpcs.push(r.id.clone());
            }
            let sub = if acct.vendor == Vendor::Alibaba {
                Kind::VSwitch
            } else {
                Kind::Subnet
            };
            for r in first(List::Of(sub)) {
                if let Some(p) = &r.parent {
                    n.subnets.push((r.id.clone(), p.clone()));
                }
            }
        }
    }
    n
}

fn view_of(acct: &Account, r: &Resource) -> ResourceView {
    ResourceView {
        vendor: acct.vendor,
        account: acct.id.clone(),
        region: acct.region_of(r).to_string(),
        kind: r.kind.name().to_string(),
        id: r.id.to_string(),
        name: r.name.to_string(),
        tags: r
            .tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn new_keys(rng: &mut Rng, v: Vendor) -> (String, String) {
    match v {
        Vendor::Aws => (
            format!("AKIA{}", rng.chars(UPPER32, 16)),
            rng.chars(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
                40,
            ),
        ),
        Vendor::Alibaba => (
            format!("LTAI{}", rng.chars(ALNUM, 20)),
            rng.chars(ALNUM, 30),
        ),
        Vendor::Azure => (
            rng.uuid(),
            format!(
                "{}8Q~{}",
                rng.chars(ALNUM, 3),
                rng.chars(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~",
                    34
                )
            ),
        ),
        Vendor::Hcs => (
            rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 20),
            rng.chars(ALNUM, 40),
        ),
    }
}

fn new_password(rng: &mut Rng) -> String {
    format!(
        "{}#{}{}",
        rng.chars(ALNUM, 10),
        rng.digits(2),
        rng.chars(b"!@%^*", 2)
    )
}

fn pick_regions(rng: &mut Rng, all: &[&str], first: &str, extra: u64) -> Vec<String> {
    let mut out = vec![first.to_string()];
    let n = 1 + rng.below(extra);
    while (out.len() as u64) < n + 1 {
        let r = rng.pick(all).to_string();
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

fn build_vendor(seed: u64, v: Vendor, specs: &[AccountSpec]) -> Result<VendorWorld, WorldError> {
    let mut vw = VendorWorld::default();
    let mut seq_base: u32 = 1 + vi(v) as u32 * 1_000_000_000;
    for (i, spec) in specs.iter().enumerate() {
        let mut rng = Rng::new(mix(seed ^ ((vi(v) as u64) << 56) ^ mix(i as u64)));
        let mut acct = new_account(&mut rng, v, i, spec)?;
        let ai = vw.accounts.len() as u32;
        if vw.by_id.contains_key(&acct.id) {
            if spec.main_account_id.is_some() || spec.tenant_id.is_some() || spec.account.is_some()
            {
                return Err(WorldError::Invalid(
                    v,
                    format!("account `{}` appears twice", acct.id),
                ));
            }
            acct.id = format!("{}{}", acct.id, i);
        }
        match &spec.resources {
            None => {}
            Some(ResourcesSpec::Count(n)) => {
                let scopes = acct.scopes().max(1);
                let mut nets: Vec<Nets> = (0..scopes).map(|_| Nets::default()).collect();
                let cyc = cycle(v);
                for j in 0..*n {
                    let scope = (j % scopes) as u16;
                    let kind = cyc[(j / scopes) % cyc.len()];
                    if acct.scopes() == 0 {
                        break;
                    }
                    let region = match v {
                        Vendor::Azure => rng.below(acct.regions.len() as u64) as u16,
                        Vendor::Hcs => acct
                            .region_index(&acct.projects[scope as usize].region.clone())
                            .unwrap_or(0),
                        _ => scope,
                    };
                    let r = make_resource(
                        &mut rng,
                        &acct,
                        kind,
                        scope,
                        region,
                        seq_base,
                        &mut nets[scope as usize],
                    );
                    seq_base += 1;
                    vw.index.insert(r.id.clone(), (ai, scope, kind.list()));
                    acct.parts
                        .entry((scope, kind.list()))
                        .or_default()
                        .insert(r.id.clone(), r);
                }
            }
            Some(ResourcesSpec::List(list)) => {
                for rs in list {
                    let kind = Kind::parse(v, &rs.kind)
                        .ok_or_else(|| WorldError::BadType(v, rs.kind.clone()))?;
                    let (scope, region) =
                        resolve_scope(&mut acct, &rs.region, rs.subscription.as_deref())?;
                    let mut nets = nets_of(&acct, scope);
                    let mut r =
                        make_resource(&mut rng, &acct, kind, scope, region, seq_base, &mut nets);
                    seq_base += 1;
                    if let Some(id) = &rs.id {
                        r.id = id.as_str().into();
                    }
                    if let Some(name) = &rs.name {
                        r.name = name.as_str().into();
                    }
                    if !rs.tags.is_empty() {
                        r.tags = rs
                            .tags
                            .iter()
                            .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
                            .collect();
                    }
                    if vw
                        .index
                        .insert(r.id.clone(), (ai, scope, kind.list()))
                        .is_some()
                    {
                        return Err(WorldError::Invalid(
                            v,
                            format!("resource `{}` appears twice", r.id),
                        ));
                    }
                    acct.parts
                        .entry((scope, kind.list()))
                        .or_default()
                        .insert(r.id.clone(), r);
                }
            }
        }
        vw.by_id.insert(acct.id.clone(), ai);
        vw.by_key.insert(acct.key_id.clone(), ai);
        for (s, sub) in acct.subscriptions.iter().enumerate() {
            vw.by_scope.insert(sub.id.clone(), (ai, s as u16));
        }
        for (s, p) in acct.projects.iter().enumerate() {
            vw.by_scope.insert(p.id.clone(), (ai, s as u16));
        }
        vw.accounts.push(acct);
    }
    Ok(vw)
}

/// Account names become the names of the account blocks `--write-config`
/// writes (`account "aws" "<name>"`), addressed bare as `aws.<name>`, so they
/// are ASCII HCL identifiers: a letter or `_`, then letters, digits, `_` and
/// `-`. This is the rule tether's config applies to account names; the
/// simulator keeps its own copy because it depends on nothing of tether, and
/// tether's tests validate the config it writes.
fn is_hcl_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn new_account(
    rng: &mut Rng,
    v: Vendor,
    i: usize,
    spec: &AccountSpec,
) -> Result<Account, WorldError> {
    let n = i + 1;
    let (key_id, secret) = new_keys(rng, v);
    let password = new_password(rng);
    let team = rng.pick(TEAMS).to_string();
    let mut a = Account {
        vendor: v,
        name: spec.name.clone().unwrap_or_else(|| format!("acct-{n:04}")),
        id: String::new(),
        display: String::new(),
        key_id: spec
            .access_key_id
            .clone()
            .or_else(|| spec.application_id.clone())
            .unwrap_or(key_id),
        secret: spec
            .secret_access_key
            .clone()
            .or_else(|| spec.application_secret.clone())
            .unwrap_or(secret),
        password: spec.password.clone().unwrap_or(password),
        principal: String::new(),
        domain_id: String::new(),
        revoked: false,
        tokens_valid_after: 0,
        regions: Vec::new(),
        subscriptions: Vec::new(),
        projects: Vec::new(),
        parts: HashMap::new(),
    };
    if !is_hcl_identifier(&a.name) {
        return Err(WorldError::Invalid(
            v,
            format!("account name `{}` is not an HCL identifier", a.name),
        ));
    }
    match v {
        Vendor::Aws => {
            a.id = spec
                .main_account_id
                .clone()
                .unwrap_or_else(|| rng.digits(12));
            a.display = spec
                .account_name
                .clone()
                .unwrap_or_else(|| format!("{team} {n:04}"));
            a.principal = format!("AIDA{}", rng.chars(UPPER32, 17));
            a.regions = spec
                .regions
                .clone()
                .unwrap_or_else(|| pick_regions(rng, AWS_REGIONS, "us-east-1", 3));
        }
        Vendor::Alibaba => {
            a.id = spec
                .main_account_id
                .clone()
                .unwrap_or_else(|| rng.digits(16));
            a.display = spec
                .account_name
                .clone()
                .unwrap_or_else(|| format!("{team} {n:04}"));
            a.principal = a.id.clone();
            a.regions = spec
                .regions
                .clone()
                .unwrap_or_else(|| pick_regions(rng, ALIBABA_REGIONS, "cn-hangzhou", 2));
        }
        Vendor::Azure => {
            a.id = spec.tenant_id.clone().unwrap_or_else(|| rng.uuid());
            a.display = spec
                .tenant_name
                .clone()
                .unwrap_or_else(|| format!("{team}{n:04}"));
            a.principal = rng.uuid();
            a.regions = spec
                .regions
                .clone()
                .unwrap_or_else(|| pick_regions(rng, AZURE_LOCATIONS, "eastus", 2));
            a.subscriptions = spec.subscriptions.clone().unwrap_or_else(|| {
                (0..1 + rng.below(2))
                    .map(|s| Subscription {
                        id: rng.uuid(),
                        name: format!("{team}-{n:04}-{}", ["prod", "dev"][s as usize]),
                    })
                    .collect()
            });
        }
        Vendor::Hcs => {
            a.id = spec
                .account
                .clone()
                .unwrap_or_else(|| format!("ops-{n:04}"));
            a.display = spec
                .environment_name
                .clone()
                .unwrap_or_else(|| format!("dc{}", 1 + i % 3));
            a.principal = rng.hex(32);
            a.domain_id = rng.hex(32);
            match &spec.projects {
                Some(ps) => {
                    a.projects = ps.clone();
                    for p in &mut a.projects {
                        if p.region.is_empty() {
                            p.region = p.name.split('_').next().unwrap_or("").to_string();
                        }
                    }
                    a.regions = Vec::new();
                    for p in &a.projects {
                        if !a.regions.contains(&p.region) {
                            a.regions.push(p.region.clone());
                        }
                    }
                }
                None => {
                    a.regions = spec
                        .regions
                        .clone()
                        .unwrap_or_else(|| pick_regions(rng, HCS_REGIONS, "sc-cd-1", 2));
                    a.projects = a
                        .regions
                        .iter()
                        .map(|r| Project {
                            id: rng.hex(32),
                            name: format!("{r}_{}", a.id),
                            region: r.clone(),
                        })
                        .collect();
                }
            }
        }
    }
    Ok(a)
}

fn make_resource(
    rng: &mut Rng,
    acct: &Account,
    kind: Kind,
    scope: u16,
    region: u16,
    seq: u32,
    nets: &mut Nets,
) -> Resource {
    let v = acct.vendor;
    let created = 1_672_531_200 + rng.below(60 * 86_400 * 12) as i64;
    let role = *rng.pick(ROLES);
    let mut status = 0u8;
    let mut size = 0u8;
    let mut parent: Option<Arc<str>> = None;
    let mut subnet: Option<Arc<str>> = None;
    let id: String;
    let name: String;
    let hex17 = rng.hex(17);
    let ali = rng.chars(LOWER_ALNUM, 18);
    let uuid = rng.uuid();
    let roll = rng.below(100);
    // Names count within the vendor (sequence numbers are offset per vendor).
    let seq_n = seq % 1_000_000_000;
    match kind {
        Kind::Instance => {
            status = if roll < 80 {
                0
            } else if roll < 95 {
                1
            } else {
                2
            };
            size = rng.below(8) as u8;
            if let Some((s, p)) = (!nets.subnets.is_empty())
                .then(|| nets.subnets[rng.below(nets.subnets.len() as u64) as usize].clone())
            {
                subnet = Some(s);
                parent = Some(p);
            } else if !nets.vpcs.is_empty() {
                parent = Some(nets.vpcs[rng.below(nets.vpcs.len() as u64) as usize].clone());
            }
            id = match v {
                Vendor::Aws => format!("i-{hex17}"),
                Vendor::Alibaba => format!("i-{ali}"),
                _ => uuid,
            };
            name = format!("{role}-{seq_n}");
        }
        Kind::Vpc => {
            id = match v {
                Vendor::Aws => format!("vpc-{hex17}"),
                Vendor::Alibaba => format!("vpc-{ali}"),
                _ => uuid,
            };
            name = format!("vpc-{}-{seq_n}", rng.pick(ENVS));
            nets.vpcs.push(id.as_str().into());
        }
        Kind::Subnet | Kind::VSwitch => {
            if !nets.vpcs.is_empty() {
                parent = Some(nets.vpcs[rng.below(nets.vpcs.len() as u64) as usize].clone());
            }
            id = match v {
                Vendor::Aws => format!("subnet-{hex17}"),
                Vendor::Alibaba => format!("vsw-{ali}"),
                _ => uuid,
            };
            name = format!(
                "{}-{seq_n}",
                ["private", "public", "data"][rng.below(3) as usize]
            );
            if let Some(p) = &parent {
                nets.subnets.push((id.as_str().into(), p.clone()));
            }
        }
        Kind::SecurityGroup => {
            if !nets.vpcs.is_empty() {
                parent = Some(nets.vpcs[rng.below(nets.vpcs.len() as u64) as usize].clone());
            }
            id = match v {
                Vendor::Aws => format!("sg-{hex17}"),
                _ => format!("sg-{ali}"),
            };
            name = format!("sg-{role}-{seq_n}");
        }
        Kind::ResourceGroup => {
            name = format!("rg-{}-{seq_n}", rng.pick(TEAMS));
            let sub = acct
                .subscriptions
                .get(scope as usize)
                .map(|s| s.id.as_str())
                .unwrap_or("");
            id = format!("/subscriptions/{sub}/resourceGroups/{name}");
            nets.groups.push((name.as_str().into(), region));
        }
        _ => {
            // ARM resources, placed in a resource group of the subscription.
            let sub = acct
                .subscriptions
                .get(scope as usize)
                .map(|s| s.id.as_str())
                .unwrap_or("");
            let rg: Arc<str> = if nets.groups.is_empty() {
                "rg-default".into()
            } else {
                nets.groups[rng.below(nets.groups.len() as u64) as usize]
                    .0
                    .clone()
            };
            let prefix = match kind {
                Kind::VirtualMachine => "vm",
                Kind::VirtualNetwork => "vnet",
                Kind::NetworkInterface => "nic",
                Kind::PublicIp => "pip",
                _ => "nsg",
            };
            name = format!("{prefix}-{role}-{seq_n}");
            id = format!(
                "/subscriptions/{sub}/resourceGroups/{rg}/providers/{}/{name}",
                kind.arm_type()
            );
            parent = Some(rg);
            if kind == Kind::VirtualMachine {
                size = rng.below(8) as u8;
                status = if roll < 85 { 0 } else { 1 };
            }
        }
    }
    let mut tags: Vec<(Tag, Tag)> = Vec::new();
    let ntags = rng.below(4);
    if ntags >= 1 {
        tags.push(("env".into(), (*rng.pick(ENVS)).into()));
    }
    if ntags >= 2 {
        tags.push(("team".into(), (*rng.pick(TEAMS)).into()));
    }
    if ntags >= 3 {
        tags.push(("owner".into(), (*rng.pick(OWNERS)).into()));
    }
    if v == Vendor::Aws {
        tags.push(("Name".into(), Cow::Owned(name.clone())));
    }
    tags.sort();
    Resource {
        id: id.into(),
        name: name.into(),
        kind,
        region,
        scope,
        status,
        size,
        seq,
        created,
        parent,
        subnet,
        tags,
    }
}

/// Derived IPv4 address `10.a.b.c` of a resource.
pub fn private_ip(seq: u32) -> String {
    let h = mix(seq as u64);
    format!(
        "10.{}.{}.{}",
        (h >> 8) as u8,
        (h >> 16) as u8,
        4 + (h >> 24) as u8 % 250
    )
}

/// Derived public address in the documentation range.
pub fn public_ip(seq: u32) -> String {
    let h = mix(seq as u64 ^ 0xfeed);
    format!(
        "203.0.{}.{}",
        (h >> 8) as u8 % 114,
        1 + (h >> 16) as u8 % 250
    )
}

/// Derived CIDR: VPCs get a /16, subnets a /24 inside 10.0.0.0/8.
pub fn cidr(seq: u32, prefix: u8) -> String {
    let h = mix(seq as u64);
    match prefix {
        16 => format!("10.{}.0.0/16", h as u8),
        _ => format!("10.{}.{}.0/24", h as u8, (h >> 8) as u8),
    }
}

/// A derived MAC address.
pub fn mac(seq: u32) -> String {
    let h = mix(seq as u64 ^ 0x3ac);
    format!(
        "fa:16:3e:{:02x}:{:02x}:{:02x}",
        h as u8,
        (h >> 8) as u8,
        (h >> 16) as u8
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_spread() {
        let a = World::generate(7, 3, 40);
        let b = World::generate(7, 3, 40);
        for v in Vendor::ALL {
            let (x, y) = (a.v(v), b.v(v));
            assert_eq!(x.accounts.len(), 3);
            for (p, q) in x.accounts.iter().zip(&y.accounts) {
                assert_eq!(p.id, q.id);
                assert_eq!(p.secret, q.secret);
                assert_eq!(p.count(), 40);
                let mut ids: Vec<_> = p.parts.values().flat_map(|m| m.keys()).collect();
                let mut jds: Vec<_> = q.parts.values().flat_map(|m| m.keys()).collect();
                ids.sort();
                jds.sort();
                assert_eq!(ids, jds);
            }
            assert_eq!(x.index.len(), 120);
        }
        let c = World::generate(8, 3, 40);
        assert_ne!(
            a.v(Vendor::Aws).accounts[0].id,
            c.v(Vendor::Aws).accounts[0].id
        );
    }

    #[test]
    fn account_names_are_ascii_hcl_identifiers() {
        for ok in ["prod", "_x", "acct-0001", "a_b-9"] {
            assert!(is_hcl_identifier(ok), "{ok}");
        }
        for bad in ["", "9a", "-a", "a.b", "a b", "é"] {
            assert!(!is_hcl_identifier(bad), "{bad}");
        }
    }
}
