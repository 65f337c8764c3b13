//! Snapshots: the versioned store of every account's resources (docs/design.md §2),
//! and the diff between two inventories.
//!
//! - [`store`]: [`Store`] (layout, reading, `latest`/`previous`/`~N`),
//!   [`Writer`] (streaming: partitions in one by one, manifest last), the
//!   writer lock.
//! - [`encoded`]: [`Encoded`], a fetched partition in the store's encoding,
//!   what the fetch hands to the writer.
//! - [`object`]: canonical record encoding, content hashes, full and delta
//!   objects.
//! - [`manifest`]: the per-version JSON document (`schemas/snapshot.schema.json`).
//! - `integrity`: what a writer checks before it builds on a version (its
//!   line of parents, the objects it would reuse).
//! - [`diff`]: the diff core over two [`PartitionSource`]s (a stored
//!   [`Version`] or a [`Live`] fetch).
//! - [`rename`]: accounts renamed across versions, and [`Renaming`], a
//!   source seen under the newer names for a diff.

pub mod diff;
pub mod encoded;
mod integrity;
pub mod manifest;
pub mod object;
pub mod rename;
pub mod store;

pub use diff::{Diff, Live, PartitionInfo, PartitionSource, diff, diff_each, diff_scoped};
pub use encoded::Encoded;
pub use manifest::{Manifest, PartitionEntry, Renamed};
pub use object::{Record, Records};
pub use rename::Renaming;
pub use store::{Store, Stored, Version, VersionId, Writer};

/// Version ids as ranges: `1-3, 5, 7-9`.
pub fn id_ranges(ids: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            ids[i].to_string()
        } else {
            format!("{}-{}", ids[i], ids[j])
        });
        i = j + 1;
    }
    out.join(", ")
}
