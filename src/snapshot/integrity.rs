//! What a new version may be built on: a sound line of parents and objects
//! that still hold their content.
//!
//! A version reuses what its parent holds: the partitions of accounts not
//! synced, the stale resources of failed partitions, every partition whose
//! content did not change (same hash, same object), and the bases of its
//! deltas. Each of those objects lies in a pack of an earlier version, so a
//! flipped byte, a truncated or a deleted pack there would make the new
//! version unreadable the moment it is committed. [`Store::writer`]
//! therefore checks, before anything is written:
//!
//! - the line of parents below its parent ([`Store::check_chain`]): every
//!   parent is an earlier version that exists, so the walk ends; a cycle
//!   (a version naming itself or a later version) or a missing parent is
//!   damage;
//! - every object its parent refers to ([`Store::verify_objects`]),
//!   materialized and checked against its content hash once per distinct
//!   object, on every core. Those are all a writer can reuse: its
//!   content-addressed index and its delta bases come from the parent's
//!   entries only.
//!
//! Any failure is [`Error::SnapshotDamaged`] naming the pack or manifest
//! and the version that holds it; the writer is never opened, so no pack,
//! no manifest and no state write follow.

use std::collections::HashSet;
use std::io::Read as _;

use rayon::prelude::*;

use super::manifest::{MANIFEST_FORMATS_READ, Manifest};
use super::object::{Hash, ObjectRef};
use super::store::{Store, VersionId};
use crate::error::{Error, Result};
use crate::inventory::PartitionKey;

/// Bytes read from the head of a manifest to find its id and parent.
const HEAD_BYTES: usize = 256;

impl Store {
    /// Checks the line of parents below `m` (whose own link
    /// [`Store::manifest`] has checked): each parent is an earlier version
    /// and exists. Reads only the head of each manifest when it is in the
    /// form the writer produces.
    pub(crate) fn check_chain(&self, m: &Manifest) -> Result<()> {
        let mut child = m.id;
        let mut at = m.parent;
        while let Some(id) = at {
            let parent = self.parent_of(id, child)?;
            if let Some(p) = parent {
                self.check_link(id, p)?;
            }
            child = id;
            at = parent;
        }
        Ok(())
    }

    /// Damage unless `parent`, named by version `id`, is an earlier version.
    /// Parents strictly decrease, so no walk along them can loop.
    pub(crate) fn check_link(&self, id: VersionId, parent: VersionId) -> Result<()> {
        if parent < id {
            return Ok(());
        }
        let what = if parent == id {
            format!("version {id} names itself as its parent")
        } else {
            format!("version {id} names the later version {parent} as its parent")
        };
        Err(Error::SnapshotDamaged {
            path: self.manifest_path(id),
            reason: format!("{what} (a parent is always an earlier version)"),
        })
    }

    /// Damage naming `child` when its parent `parent` has no manifest.
    pub(crate) fn missing_parent(&self, child: VersionId, parent: VersionId) -> Error {
        Error::SnapshotDamaged {
            path: self.manifest_path(child),
            reason: format!(
                "its parent, version {parent}, is missing ({} does not exist)",
                self.manifest_path(parent).display()
            ),
        }
    }

    /// The parent of version `id` (the parent named by `child`).
    fn parent_of(&self, id: VersionId, child: VersionId) -> Result<Option<VersionId>> {
        let head = if self.backend().is_some() {
            match self.manifest_bytes(id)? {
                Some(mut b) => {
                    b.truncate(HEAD_BYTES);
                    b
                }
                None => return Err(self.missing_parent(child, id)),
            }
        } else {
            let path = self.manifest_path(id);
            let mut head = Vec::with_capacity(HEAD_BYTES);
            match std::fs::File::open(&path) {
                Ok(f) => {
                    f.take(HEAD_BYTES as u64)
                        .read_to_end(&mut head)
                        .map_err(|e| Error::io(&path, e))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(self.missing_parent(child, id));
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
            head
        };
        match head_link(&head) {
            Some((found, parent)) if found == id => Ok(parent),
            // Another layout (or damage): the whole manifest says what is wrong.
            _ => Ok(self.manifest(id)?.parent),
        }
    }

    /// Checks every object `m` refers to against its content hash, each
    /// distinct (object, hash) once, on every core. The first damaged one
    /// in manifest order is reported, with the partition and version that
    /// hold it.
    pub(crate) fn verify_objects(&self, m: &Manifest) -> Result<()> {
        let mut seen: HashSet<(ObjectRef, Hash)> = HashSet::new();
        let mut work: Vec<(PartitionKey, &super::PartitionEntry)> = Vec::new();
        for (key, e) in m.partitions() {
            match (e.object_ref(), e.hash()) {
                (Some(r), Some(h)) if !seen.insert((r, h)) => {}
                _ => work.push((key, e)),
            }
        }
        // Checked in the order the objects are stored (each pack segment is
        // read once, and a mapped one sequentially); the first damaged
        // entry in manifest order is reported, so the report does not
        // depend on timing.
        let mut order: Vec<usize> = (0..work.len()).collect();
        order.sort_by_key(|&i| {
            work[i]
                .1
                .object_ref()
                .map(|r| (r.version, r.segment, r.offset))
        });
        let failed = crate::cores::run(|| {
            order
                .par_iter()
                .filter_map(|&i| self.load_entry(work[i].1).err().map(|err| (i, err)))
                .min_by_key(|(i, _)| *i)
        });
        match failed {
            None => Ok(()),
            Some((i, Error::SnapshotDamaged { path, reason })) => Err(Error::SnapshotDamaged {
                path,
                reason: format!(
                    "{reason} (partition {} of version {}, which a new version would reuse)",
                    work[i].0, m.id
                ),
            }),
            Some((_, other)) => Err(other),
        }
    }
}

/// `(id, parent)` from the head of a manifest as a writer of any format
/// this build reads serializes it (`{"format_version":4,"id":N,"parent":P,
/// "time":…`); `None` for any other layout.
fn head_link(head: &[u8]) -> Option<(VersionId, Option<VersionId>)> {
    let rest = MANIFEST_FORMATS_READ.iter().find_map(|v| {
        let lead = format!("{{\"format_version\":{v},\"id\":");
        head.strip_prefix(lead.as_bytes())
    })?;
    let (id, rest) = number(rest)?;
    let rest = rest.strip_prefix(b",")?;
    match rest.strip_prefix(b"\"parent\":") {
        Some(rest) => {
            let (parent, rest) = number(rest)?;
            rest.strip_prefix(b",\"time\":")?;
            Some((id, Some(parent)))
        }
        None => {
            rest.strip_prefix(b"\"time\":")?;
            Some((id, None))
        }
    }
}

/// A decimal `u64` at the start of `b`, and what follows it.
fn number(b: &[u8]) -> Option<(u64, &[u8])> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || (n > 1 && b[0] == b'0') {
        return None;
    }
    let v = std::str::from_utf8(&b[..n]).ok()?.parse().ok()?;
    Some((v, &b[n..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_of_a_written_manifest_gives_its_link() {
        assert_eq!(
            head_link(br#"{"format_version":1,"id":3,"parent":2,"time":"x""#),
            Some((3, Some(2)))
        );
        assert_eq!(
            head_link(br#"{"format_version":1,"id":1,"time":"x""#),
            Some((1, None))
        );
        // Formats 4 to 2, and format 1 of a store an older build wrote.
        for v in [2, 3, 4] {
            let head = format!(r#"{{"format_version":{v},"id":4,"parent":3,"time":"x""#);
            assert_eq!(head_link(head.as_bytes()), Some((4, Some(3))));
        }
        // Anything else goes to the full parse.
        for other in [
            &br#"{ "format_version": 1, "id": 3 }"#[..],
            br#"{"format_version":1,"id":3,"parent":2"#,
            br#"{"format_version":1,"id":03,"time":"x""#,
            br#"{"format_version":1,"id":99999999999999999999999,"time":"x""#,
            br#"{"format_version":5,"id":3,"time":"x""#,
            b"",
        ] {
            assert_eq!(head_link(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}
