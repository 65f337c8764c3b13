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
//!
//! One concept a file: `model.rs` (kinds, resources, accounts, the
//! per-vendor state and its indexes), `spec.rs` (the world file),
//! `generate.rs` (seeded generation), `make.rs` (one resource),
//! `credentials.rs` (keys, secrets, passwords), `mutate.rs` (what the admin
//! API changes), `hygiene.rs` (credential-hygiene state: root key, key
//! creation and last use, secret expiry, denied APIs), `org.rs` (the AWS
//! organization and the Alibaba resource directory: units, members, their
//! roles), `tenancy.rs` (the Azure
//! management groups and HCS VDCs: organizations whose members are
//! subscriptions / projects of one account), `derived.rs`
//! (attributes derived from `seq`). Everything
//! public is re-exported here.

mod credentials;
mod derived;
mod generate;
mod hygiene;
mod make;
mod model;
mod mutate;
mod org;
mod spec;
mod tenancy;

use crate::rng::Rng;
pub use crate::vendor::Vendor;

pub use derived::{cidr, mac, private_ip, public_ip};
pub use generate::{ALIBABA_REGIONS, AWS_REGIONS, AZURE_LOCATIONS, HCS_REGIONS};
pub use hygiene::{Hygiene, HygieneUpdate, parse_rfc3339};
pub use model::{
    Account, Kind, List, Partition, Project, Resource, Subscription, Tag, VendorWorld,
};
pub use mutate::{ResourceView, Rotated};
pub use org::{
    ACCESS_ROLE, MemberUpdate, MemberView, OrgMember, OrgUnit, Organization, RD_ACCESS_ROLE,
    RoleUpdate,
};
pub use spec::{AccountSpec, OrganizationSpec, ResourceSpec, ResourcesSpec, WorldSpec};
pub use tenancy::{PROJECT_ROLE, READER_ROLE, ScopeMember, ScopeOrg};

/// The whole simulated world.
pub struct World {
    pub vendors: [VendorWorld; 4],
    /// The AWS organization of the first AWS account, if any.
    pub org: Option<Organization>,
    /// The resource directory of the first Alibaba account, if any.
    pub alibaba_org: Option<Organization>,
    /// The management groups of the first Azure tenant, if any.
    pub azure_org: Option<ScopeOrg>,
    /// The VDCs of the first HCS account, if any.
    pub hcs_org: Option<ScopeOrg>,
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

impl World {
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
}
