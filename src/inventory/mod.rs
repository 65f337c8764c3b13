//! Inventory: the resources of an account, as tether records them (docs/design.md §3).
//!
//! This module holds the record types every part of the sync shares:
//!
//! - [`Resource`]: one normalized resource record (address, account, region,
//!   type, native type, id, name, status, tags, attributes).
//! - [`PartitionKey`]: the unit of fetching and of storage, one
//!   (account, region, resource type).
//! - [`PartitionStatus`] and [`Partition`]: what one fetch of a partition
//!   produced: every resource, or the vendor's error (a typed
//!   [`crate::problem::Problem`]), or a reason it was skipped. A failed
//!   partition is never an empty one.
//!
//! Invariants:
//! - Resources in a [`Partition`] are sorted by `id` and ids are unique
//!   within it; [`Partition::new`] sorts and de-duplicates.
//! - A record holds no secret: vendors' list APIs return none, and no
//!   credential field is ever copied into `attributes`.

pub mod model;

pub use model::{Partition, PartitionKey, PartitionStatus, Resource};
