//! Accounts renamed across versions.
//!
//! `state mv` and `moved` blocks rename an account in state; the snapshot
//! store follows with a version that carries the account's partitions to
//! the new address ([`super::Writer::rename_account`], recorded in the
//! manifest's `renamed_accounts`). Stored content holds no account, so
//! nothing is rewritten. A diff across such a version compares the old
//! partitions under the new address ([`Renaming`]), so a rename shows no
//! resource as removed and added.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::diff::{PartitionInfo, PartitionSource};
use super::object::Records;
use super::store::{Store, Version, VersionId};
use crate::config::Address;
use crate::error::{Error, Result};

/// A source seen with some accounts under other addresses.
pub struct Renaming<'a> {
    inner: &'a dyn PartitionSource,
    map: BTreeMap<Address, Address>,
}

impl<'a> Renaming<'a> {
    /// `inner` with each account `k` of `map` shown as `map[k]`.
    pub fn new(inner: &'a dyn PartitionSource, map: BTreeMap<Address, Address>) -> Renaming<'a> {
        Renaming { inner, map }
    }
}

impl PartitionSource for Renaming<'_> {
    fn partitions(&self) -> Vec<PartitionInfo> {
        let mut parts = self.inner.partitions();
        if self.map.is_empty() {
            return parts;
        }
        for p in &mut parts {
            if let Some(to) = self.map.get(&p.key.account) {
                p.key.account = to.clone();
            }
        }
        parts.sort_by(|a, b| a.key.cmp(&b.key));
        parts
    }

    fn load(&self, p: &PartitionInfo) -> Result<Arc<Records>> {
        // The slot is the inner source's; content holds no account.
        self.inner.load(p)
    }

    fn complete_content_hash(&self) -> Option<(&str, u64)> {
        if self.map.is_empty() {
            self.inner.complete_content_hash()
        } else {
            None
        }
    }

    /// The stored version behind it: slots and objects are the inner
    /// source's, so a delta is still read straight against its base.
    fn version(&self) -> Option<&Version<'_>> {
        self.inner.version()
    }
}

impl Store {
    /// How the accounts of version `a` are named in version `b`: every
    /// rename recorded on the way from the older to the newer one, composed
    /// (and turned around when `a` is the newer). Versions off that line of
    /// parents contribute nothing.
    pub fn renames_between(
        &self,
        a: VersionId,
        b: VersionId,
    ) -> Result<BTreeMap<Address, Address>> {
        let (old, new) = if a <= b { (a, b) } else { (b, a) };
        // Newest first along the parents, then applied oldest first. Every
        // manifest read checks its own link (an earlier parent that
        // exists), so the walk ends; a cycle or a missing parent is damage.
        let mut steps = Vec::new();
        let mut at = Some(new);
        let mut child = None;
        while let Some(id) = at.filter(|&id| id > old) {
            let m = match (self.manifest_head(id), child) {
                (Err(Error::SnapshotUnknown { .. }), Some(c)) => {
                    return Err(self.missing_parent(c, id));
                }
                (m, _) => m?,
            };
            steps.push(m.renamed_accounts);
            child = Some(id);
            at = m.parent;
        }
        // Old name -> current name.
        let mut map: BTreeMap<Address, Address> = BTreeMap::new();
        for renamed in steps.into_iter().rev() {
            for r in renamed {
                let mut carried = false;
                for to in map.values_mut() {
                    if *to == r.from {
                        *to = r.to.clone();
                        carried = true;
                    }
                }
                if !carried {
                    map.insert(r.from, r.to);
                }
            }
        }
        map.retain(|from, to| from != to);
        if a <= b {
            Ok(map)
        } else {
            Ok(map.into_iter().map(|(from, to)| (to, from)).collect())
        }
    }
}
