//! [`Encoded`]: one fetched partition in the store's encoding, what the
//! fetch hands to the writer (and to `drift`'s in-memory [`super::Live`]).
//!
//! A partition being fetched is built record by record as its pages arrive
//! ([`Records::push_resource`]), so neither the fetch nor the queue to the
//! writer ever holds a partition of typed [`Resource`]s: a record in its
//! canonical JSON is a few hundred bytes, where the typed resource is a
//! dozen allocations.

use super::object::{Hash, Records, decode_resource};
use crate::inventory::{Partition, PartitionKey, PartitionStatus, Resource};

/// One partition's outcome, its records encoded (empty unless complete)
/// and their content hash, computed once where the partition is built (a
/// fetch task) for everything downstream: the writer, drift's comparison
/// with the stored hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub key: PartitionKey,
    pub status: PartitionStatus,
    /// Sorted by id, unique ids ([`Records::finish`]).
    records: Records,
    hash: Hash,
}

impl Encoded {
    /// A complete partition of `records`; orders them and drops repeated
    /// ids (a page boundary that moved under a concurrent change can repeat
    /// one), as [`Partition::new`] does.
    pub fn complete(key: PartitionKey, mut records: Records) -> Encoded {
        records.finish();
        Encoded::new(key, PartitionStatus::Complete, records)
    }

    fn new(key: PartitionKey, status: PartitionStatus, records: Records) -> Encoded {
        let hash = records.hash();
        Encoded {
            key,
            status,
            records,
            hash,
        }
    }

    /// A failed or skipped partition: no records.
    pub fn without_records(key: PartitionKey, status: PartitionStatus) -> Encoded {
        Encoded::new(key, status, Records::default())
    }

    /// Encodes a partition of typed resources; an error names a resource
    /// that does not belong to the partition.
    pub fn from_partition(p: Partition) -> Result<Encoded, String> {
        let records = if p.status == PartitionStatus::Complete {
            Records::from_resources(&p.key, &p.resources)?
        } else {
            Records::default()
        };
        Ok(Encoded::new(p.key, p.status, records))
    }

    /// The records, sorted by id.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The content hash of [`Encoded::records`].
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Key, status, records and their hash.
    pub fn into_parts(self) -> (PartitionKey, PartitionStatus, Records, Hash) {
        (self.key, self.status, self.records, self.hash)
    }

    /// How many resources it holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// As a partition of typed resources (tests, small tools; the sync path
    /// never builds one).
    pub fn into_partition(self) -> Result<Partition, String> {
        let resources = self.resources()?;
        Ok(Partition {
            key: self.key,
            status: self.status,
            resources,
        })
    }

    /// The resources, decoded (tests, small tools; the sync path never
    /// builds them).
    pub fn resources(&self) -> Result<Vec<Resource>, String> {
        self.records
            .iter()
            .map(|r| decode_resource(&self.key, r.json))
            .collect()
    }
}
