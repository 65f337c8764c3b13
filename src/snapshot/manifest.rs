//! The manifest: one small JSON document per version, written last
//! (`schemas/snapshot.schema.json`).
//!
//! Formats: 3 (written) is 2 whose new objects end with a checksum (kinds
//! `f` and `d`, see `object::format`), so a build that reads only 1 and 2
//! refuses the version instead of calling its packs damaged; 2 (read) adds
//! the failure's `kind`, `code` and `request_id` to a failed partition; 1
//! (read) has the message only. A store holds manifests of every format
//! once a newer build adds to an older store, and nothing is rewritten: a
//! format 1 partition reads as a problem of unknown kind, and objects
//! without a checksum are read as before.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::object::{Hash, ObjectRef, hex, parse_hex};
use crate::config::Address;
use crate::inventory::{PartitionKey, PartitionStatus};
use crate::problem::{Problem, ProblemKind};

/// The manifest format this build writes.
/// 4: a failed partition's `kind` may be `denied` (a missing permission).
pub const MANIFEST_FORMAT_VERSION: u32 = 4;

/// Every manifest format this build reads.
pub const MANIFEST_FORMATS_READ: [u32; 4] = [1, 2, 3, MANIFEST_FORMAT_VERSION];

/// One snapshot version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    /// Monotonic: 1, 2, 3, …
    pub id: u64,
    /// The version this one was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// When the version was committed (RFC 3339, UTC).
    pub time: String,
    /// SHA-256 over every partition's key, status and content hash: the same
    /// inventory gives the same content hash, whatever the id or time.
    pub content_hash: String,
    /// Resources in the version, stale ones included.
    pub resources: u64,
    /// Accounts fetched for this version (the others were carried over).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synced_accounts: Vec<Address>,
    /// Accounts dropped in this version ("account removed").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_accounts: Vec<Address>,
    /// Accounts renamed in this version (`state mv`, `moved` blocks): their
    /// partitions carried over under the new address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renamed_accounts: Vec<Renamed>,
    /// Every account's partitions, in address order.
    pub accounts: Vec<AccountEntry>,
}

/// What a walk along the parents reads of a manifest (`renames_between`):
/// the parser skips the partitions without building them, so a walk over
/// many versions costs a scan of each manifest, not its model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ManifestHead {
    pub format_version: u32,
    pub id: u64,
    #[serde(default)]
    pub parent: Option<u64>,
    #[serde(default)]
    pub renamed_accounts: Vec<Renamed>,
}

/// One account renamed in a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Renamed {
    pub from: Address,
    pub to: Address,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    pub account: Address,
    /// In (region, type) order.
    pub partitions: Vec<PartitionEntry>,
}

/// One (account, region, type) of a version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionEntry {
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `complete` when absent.
    #[serde(default, skip_serializing_if = "Status::is_complete")]
    pub status: Status,
    /// The vendor's error (`failed`) or why it was not fetched (`skipped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A failed partition's kind of failure (`auth`, `throttled`, …; format 2).
    #[serde(rename = "kind", default, skip_serializing_if = "Option::is_none")]
    pub problem_kind: Option<ProblemKind>,
    /// The vendor's error code of a failed partition, when it sent one (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The vendor's request id of a failed partition (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The resources are the previous version's, carried because this fetch failed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stale: bool,
    /// Resources held.
    pub resources: u64,
    /// SHA-256 of the content (hex); absent when there is none (failed or
    /// skipped with nothing to carry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Where the content is: `[version, segment, offset, length]` in
    /// `packs/<version>-<segment>.pack`; absent when there are no resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<[u64; 4]>,
    /// Delta chain length of the object (0: a full object).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u16,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(d: &u16) -> bool {
    *d == 0
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Complete,
    Failed,
    Skipped,
}

impl Status {
    pub fn is_complete(&self) -> bool {
        *self == Status::Complete
    }
}

impl PartitionEntry {
    pub fn partition_status(&self) -> PartitionStatus {
        let detail = self.detail.clone().unwrap_or_default();
        match self.status {
            Status::Complete => PartitionStatus::Complete,
            Status::Failed => PartitionStatus::Failed {
                error: Problem {
                    message: detail,
                    kind: self.problem_kind,
                    code: self.code.clone(),
                    request_id: self.request_id.clone(),
                },
            },
            Status::Skipped => PartitionStatus::Skipped { reason: detail },
        }
    }

    pub fn hash(&self) -> Option<Hash> {
        self.hash.as_deref().and_then(parse_hex)
    }

    pub fn object_ref(&self) -> Option<ObjectRef> {
        let [version, segment, offset, len] = self.object?;
        Some(ObjectRef {
            version,
            segment: u32::try_from(segment).ok()?,
            offset,
            len: u32::try_from(len).ok()?,
        })
    }

    pub fn set_object(&mut self, r: Option<ObjectRef>, hash: Option<&Hash>) {
        self.object = r.map(|r| [r.version, u64::from(r.segment), r.offset, u64::from(r.len)]);
        self.hash = hash.map(hex);
    }
}

impl Manifest {
    /// Every partition with its key, in key order.
    pub fn partitions(&self) -> impl Iterator<Item = (PartitionKey, &PartitionEntry)> {
        self.accounts.iter().flat_map(|a| {
            a.partitions.iter().map(move |p| {
                (
                    PartitionKey {
                        account: a.account.clone(),
                        region: p.region.clone(),
                        kind: p.kind.clone(),
                    },
                    p,
                )
            })
        })
    }

    /// Partitions that are not complete.
    pub fn incomplete(&self) -> usize {
        self.partitions()
            .filter(|(_, p)| !p.status.is_complete())
            .count()
    }

    pub fn stale_resources(&self) -> u64 {
        self.partitions()
            .filter(|(_, p)| p.stale)
            .map(|(_, p)| p.resources)
            .sum()
    }
}
