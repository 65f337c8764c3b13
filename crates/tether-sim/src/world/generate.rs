//! Seeded generation: accounts (ChaCha8 per account) and their resources,
//! the four vendors built side by side (rayon), from sizes or a world file.

use std::borrow::Cow;
use std::collections::HashMap;

use rayon::prelude::*;

use super::credentials::{UPPER32, new_keys, new_password};
use super::make::{Nets, TEAMS, make_resource, nets_of};
use super::mutate::resolve_scope;
use super::org::{Organization, with_members};
use super::{
    Account, AccountSpec, Kind, OrganizationSpec, Project, ResourcesSpec, Subscription, Vendor,
    VendorWorld, World, WorldError, WorldSpec, vi,
};
use crate::rng::{Rng, mix};

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

/// The generation order of types within a scope: a network first, then a mix
/// in which about half the resources are instances.
pub(super) fn cycle(v: Vendor) -> &'static [Kind] {
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

impl World {
    /// A world of `accounts` accounts per vendor with `resources` resources each.
    pub fn generate(seed: u64, accounts: usize, resources: usize) -> World {
        World::generate_org(seed, accounts, resources, 0, 3)
    }

    /// As [`World::generate`], and with `org_members > 0` an AWS
    /// organization: the first AWS account its management account, that
    /// many more AWS accounts its members over `org_units` OUs; likewise an
    /// Alibaba resource directory of the first Alibaba account, its members
    /// over `org_units` folders (`org.rs`). The same
    /// sizes give the first Azure tenant as many member subscriptions over
    /// management groups and the first HCS account as many member projects
    /// over VDCs (`tenancy.rs`).
    pub fn generate_org(
        seed: u64,
        accounts: usize,
        resources: usize,
        org_members: usize,
        org_units: usize,
    ) -> World {
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
            organization: (org_members > 0).then_some(OrganizationSpec {
                members: org_members,
                units: org_units,
                resources: Some(resources),
            }),
        };
        World::from_spec(&spec).expect("a generated world is valid")
    }

    /// A world from a spec; generated fields come from `spec.seed`, the
    /// credential-hygiene times from the clock now (keys created 30 days
    /// ago, last used a day ago, secrets and passwords expiring in a year).
    pub fn from_spec(spec: &WorldSpec) -> Result<World, WorldError> {
        // Organization members are AWS accounts generated after the others;
        // resource-directory members likewise Alibaba accounts (when the
        // world has one to manage them).
        let org = spec.organization.as_ref().filter(|o| o.members > 0);
        let aws = with_members(Vendor::Aws, &spec.aws, org)?;
        let rd = org.filter(|_| !spec.alibaba.is_empty());
        let alibaba = with_members(Vendor::Alibaba, &spec.alibaba, rd)?;
        let lists = [&aws, &alibaba, &spec.azure, &spec.hcs];
        let seed = spec.seed;
        let now = crate::clock::now();
        // Vendors are independent: build them side by side (in vendor order).
        let built: Vec<Result<VendorWorld, WorldError>> = (0..lists.len())
            .into_par_iter()
            .map(|i| build_vendor(seed, now, Vendor::ALL[i], lists[i]))
            .collect();
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
        let mut vendors = vendors;
        let org = org.map(|o| {
            let mut org = Organization::new(seed, 0, o.units);
            org.enrol(
                &mut vendors[vi(Vendor::Aws)],
                spec.aws.len(),
                o.members,
                now,
            );
            org
        });
        let alibaba_org = rd.map(|o| {
            let mut rd = Organization::resource_directory(seed, 0, o.units, now - 180 * DAY);
            rd.enrol(
                &mut vendors[vi(Vendor::Alibaba)],
                spec.alibaba.len(),
                o.members,
                now,
            );
            rd
        });
        let mut world = World {
            vendors,
            org,
            alibaba_org,
            azure_org: None,
            hcs_org: None,
            rng: Rng::new(mix(seed ^ 0xad31)),
            next_seq,
        };
        // The Azure management groups and HCS VDCs (`tenancy.rs`).
        world.build_scope_orgs(spec)?;
        Ok(world)
    }
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

fn build_vendor(
    seed: u64,
    now: i64,
    v: Vendor,
    specs: &[AccountSpec],
) -> Result<VendorWorld, WorldError> {
    let mut vw = VendorWorld::default();
    let mut seq_base: u32 = 1 + vi(v) as u32 * 1_000_000_000;
    for (i, spec) in specs.iter().enumerate() {
        let mut rng = Rng::new(mix(seed ^ ((vi(v) as u64) << 56) ^ mix(i as u64)));
        let mut acct = new_account(&mut rng, now, v, i, spec)?;
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

/// A day, in seconds.
const DAY: i64 = 86_400;

fn new_account(
    rng: &mut Rng,
    now: i64,
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
        // Alibaba keys are the main account's (what `GetCallerIdentity` has
        // always answered); the others' belong to a user.
        root: v == Vendor::Alibaba,
        key_created: now - 30 * DAY,
        key_last_used: Some(now - DAY),
        secret_expires: now + 365 * DAY,
        denied: Default::default(),
        org_member: false,
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
