//! Making one resource: its id and name in the vendor's shapes, status,
//! size, tags, and the network (VPC, subnet, resource group) of its scope it
//! attaches to.

use std::borrow::Cow;
use std::sync::Arc;

use super::{Account, Kind, List, Resource, Tag, Vendor};
use crate::rng::Rng;

pub(super) const TEAMS: &[&str] = &["platform", "data", "web", "payments", "search"];
const ENVS: &[&str] = &["prod", "staging", "dev"];
const OWNERS: &[&str] = &["alice", "bob", "carol", "dave"];
const ROLES: &[&str] = &["web", "api", "worker", "db", "cache", "batch"];

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Scratch state while generating one scope: the networks to attach to.
#[derive(Default)]
pub(super) struct Nets {
    vpcs: Vec<Arc<str>>,
    subnets: Vec<(Arc<str>, Arc<str>)>,
    groups: Vec<(Arc<str>, u16)>,
}

pub(super) fn nets_of(acct: &Account, scope: u16) -> Nets {
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

pub(super) fn make_resource(
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
