//! The inventory record types (docs/design.md §3: "Each record: address, account,
//! region, type, native type, id, name, status, tags, and normalized
//! attributes").

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::Address;
use crate::problem::Problem;

/// The region of resources that belong to no region (Azure resource groups
/// are listed per subscription; the record's own `location` is kept in
/// `attributes`).
pub const GLOBAL_REGION: &str = "global";

/// One resource as tether records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// `<account>/<region>/<type>/<id>`, e.g.
    /// `aws.prod/eu-west-1/instance/i-0abc…`: unique across a snapshot.
    pub address: String,
    pub account: Address,
    pub region: String,
    /// tether's normalized type: `instance`, `vpc`, `subnet`,
    /// `security_group`, `vswitch`, `resource_group`, `resource`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vendor's own type name (`AWS::EC2::Instance`,
    /// `Microsoft.Compute/virtualMachines`, `ACS::ECS::Instance`, …).
    pub native_type: String,
    /// The vendor's id of the resource.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Normalized attributes by name (`cidr_block`, `vpc_id`,
    /// `instance_type`, `location`, …); values are JSON.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

impl Resource {
    /// The address of a resource with this id in partition `key`.
    pub fn address_of(key: &PartitionKey, id: &str) -> String {
        format!("{}/{}/{}/{}", key.account, key.region, key.kind, id)
    }
}

/// One (account, region, resource type): the unit that is fetched, stored
/// and compared as a whole.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PartitionKey {
    pub account: Address,
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.account, self.region, self.kind)
    }
}

/// How the fetch of one partition ended (docs/design.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "lowercase", deny_unknown_fields)]
pub enum PartitionStatus {
    /// Every page was read.
    Complete,
    /// The vendor's error after retries (or why the fetch stopped), typed;
    /// the resources are not known.
    Failed { error: Problem },
    /// Not fetched, and why (type not listed in `resource_types`, …).
    Skipped { reason: String },
}

/// The outcome of fetching one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub key: PartitionKey,
    pub status: PartitionStatus,
    /// Sorted by id, unique ids; empty unless `Complete`.
    pub resources: Vec<Resource>,
}

impl Partition {
    /// A complete partition; sorts `resources` by id and drops repeated ids
    /// (a page boundary that moved under a concurrent change can repeat one).
    pub fn new(key: PartitionKey, mut resources: Vec<Resource>) -> Partition {
        resources.sort_by(|a, b| a.id.cmp(&b.id));
        resources.dedup_by(|a, b| a.id == b.id);
        Partition {
            key,
            status: PartitionStatus::Complete,
            resources,
        }
    }

    pub fn failed(key: PartitionKey, error: Problem) -> Partition {
        Partition {
            key,
            status: PartitionStatus::Failed { error },
            resources: Vec::new(),
        }
    }

    pub fn skipped(key: PartitionKey, reason: impl Into<String>) -> Partition {
        Partition {
            key,
            status: PartitionStatus::Skipped {
                reason: reason.into(),
            },
            resources: Vec::new(),
        }
    }
}
