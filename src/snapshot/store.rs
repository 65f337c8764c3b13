//! The snapshot store: versions on disk, the writer, reading back.
//!
//! Layout under the store directory (`.tether/snapshots` by default):
//!
//! ```text
//! store.lock                    the writer lock (flock sidecar, as for state)
//! packs/<id>-<segment>.pack     objects written by version <id>, 8 MiB segments
//! versions/<id>.json            the manifest of version <id>, written last
//! ```
//!
//! Invariants:
//! - A version exists exactly when its manifest does. Objects are written
//!   first (each segment through `write_atomic`), the manifest last, so a
//!   crash leaves earlier versions intact and no half version visible; the
//!   packs of a version that never got its manifest are removed by the next
//!   writer (under the lock) and their id reused.
//! - Nothing is ever rewritten: a version's packs and manifest are immutable
//!   once its manifest exists.
//! - Every partition read is checked against its content hash; a mismatch,
//!   a missing pack or a malformed object is [`Error::SnapshotDamaged`],
//!   never a panic and never a partial answer.
//! - Every manifest read checks its own link: its parent is an earlier
//!   version that exists. A delta rests on an object of an earlier version,
//!   at most [`MAX_DEPTH`] deep. So no walk along parents or delta chains
//!   can loop, whatever the files say.
//! - A writer opens only on a sound parent: its line of parents and every
//!   object it refers to (what the new version reuses) are checked first
//!   (`integrity.rs`). A writer dropped before its manifest removes the
//!   packs it wrote.
//! - Writes happen only through a [`Writer`], which needs the store's
//!   [`LockGuard`].

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::encoded::Encoded;
use super::manifest::{
    AccountEntry, MANIFEST_FORMAT_VERSION, MANIFEST_FORMATS_READ, Manifest, ManifestHead,
    PartitionEntry, Renamed, Status,
};
use super::object::{self, Hash, MAX_DEPTH, Object, ObjectRef, Records, delta_object};
use crate::config::Address;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::inventory::{Partition, PartitionKey, PartitionStatus, Resource};
use crate::pg::Pg;
use crate::state::LockGuard;
use crate::state::lock;

/// A pack segment is flushed once it reaches this size: the writer's memory
/// stays bounded whatever the size of the sync.
pub const SEGMENT_BYTES: usize = 8 << 20;

/// Materialized partitions kept for reuse (a diff of consecutive versions
/// reads the parent's object, then the child's delta on top of it): at
/// most this many, holding at most [`CACHE_BYTES`] (a partition of large
/// resources is a megabyte; a count alone would let a reader of such
/// partitions, an export, hold hundreds of them).
const CACHE_ENTRIES: usize = 256;
const CACHE_BYTES: usize = 32 << 20;

/// A version id: 1, 2, 3, …
pub type VersionId = u64;

pub struct Store {
    /// The directory; for PostgreSQL, `pg:<schema>/<workspace>` (how
    /// messages name it).
    dir: PathBuf,
    medium: Medium,
    cache: Mutex<Cache>,
}

/// Where the versions are: files under the directory, or the rows of a
/// PostgreSQL workspace (manifests in `snapshot_versions`, pack segments
/// in `snapshot_segments`, the same bytes as the files).
enum Medium {
    Files,
    Pg(Arc<Pg>),
}

/// An object of a chain: where it is, its segment and its byte range there.
type Located = (ObjectRef, Arc<Segment>, std::ops::Range<usize>);

/// The bytes of one pack segment: mapped from its file, or read from its row.
enum Segment {
    Map(memmap2::Mmap),
    Bytes(Vec<u8>),
}

impl std::ops::Deref for Segment {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Segment::Map(m) => m,
            Segment::Bytes(b) => b,
        }
    }
}

/// What the open pack segments may hold resident, in bytes, the least
/// recently used segment let go first beyond it. A segment read from
/// PostgreSQL is all resident (its bytes are in memory); a mapped file is
/// resident only in the pages read, so it counts the pages of the objects
/// read from it (an upper bound: a page read twice counts twice, up to the
/// segment's size). So a walk down delta chains, a few small objects in
/// each of many versions' segments, keeps every segment of the chain open
/// (reopening one costs an open, a map and an unmap per object read),
/// while a reader that goes through whole segments (the writer's integrity
/// check, export) holds a few at a time: a large store's reads do not grow
/// the process with the store.
const RESIDENT_BUDGET: u64 = 64 << 20;

/// Segments kept open at most, however little of them is resident (each
/// mapping is address space and a kernel mapping entry).
const SEGMENTS_OPEN: usize = 512;

/// What a read of a mapped segment counts as resident: the aligned blocks
/// of this size that it touches (the kernel maps the pages around a faulted
/// one, 64 KiB by default, so a read of a few bytes makes more resident).
const PAGE: u64 = 64 << 10;

#[derive(Default)]
struct Cache {
    records: HashMap<ObjectRef, Arc<Records>>,
    order: VecDeque<ObjectRef>,
    /// The sum of the records' buffers.
    record_bytes: usize,
    /// Each open segment, with the bytes of it counted as resident and the
    /// tick of its last use.
    packs: HashMap<(u64, u32), OpenSegment>,
    /// The sum of the segments' resident bytes.
    resident: u64,
    tick: u64,
}

struct OpenSegment {
    segment: Arc<Segment>,
    resident: u64,
    used: u64,
}

impl Cache {
    /// Segment `at` if open, counting the read of `len` bytes at `offset`
    /// and marking it the most recently used.
    fn segment(&mut self, at: (u64, u32), offset: u64, len: u32) -> Option<Arc<Segment>> {
        self.tick += 1;
        let tick = self.tick;
        let open = self.packs.get_mut(&at)?;
        let read = Self::pages(offset, len);
        let grown = (open.resident + read).min(open.segment.len() as u64);
        self.resident += grown - open.resident;
        open.resident = grown;
        open.used = tick;
        let segment = open.segment.clone();
        self.evict(at);
        Some(segment)
    }

    /// The bytes of the whole blocks ([`PAGE`]) that a read of `len` bytes
    /// at `offset` touches.
    fn pages(offset: u64, len: u32) -> u64 {
        let end = offset.saturating_add(u64::from(len));
        (end.div_ceil(PAGE) - offset / PAGE) * PAGE
    }

    /// Keeps `m` as segment `at`, with a read of `len` bytes at `offset`.
    fn keep_segment(&mut self, at: (u64, u32), m: Arc<Segment>, offset: u64, len: u32) {
        self.tick += 1;
        let resident = match &*m {
            Segment::Bytes(b) => b.len() as u64,
            Segment::Map(map) => Self::pages(offset, len).min(map.len() as u64),
        };
        if let Some(old) = self.packs.insert(
            at,
            OpenSegment {
                segment: m,
                resident,
                used: self.tick,
            },
        ) {
            self.resident -= old.resident;
        }
        self.resident += resident;
        self.evict(at);
    }

    /// Lets the least recently used segments go beyond the budget; `used`,
    /// the one just read, always stays. Eviction is rare (a chain walk stays
    /// within the budget; a reader of whole segments lets one go per
    /// segment read), so the oldest is found by a scan of the open ones.
    fn evict(&mut self, used: (u64, u32)) {
        while self.resident > RESIDENT_BUDGET || self.packs.len() > SEGMENTS_OPEN {
            let Some(old) = self
                .packs
                .iter()
                .filter(|(at, _)| **at != used)
                .min_by_key(|(_, o)| o.used)
                .map(|(at, _)| *at)
            else {
                break;
            };
            if let Some(gone) = self.packs.remove(&old) {
                self.resident -= gone.resident;
            }
        }
    }
}

impl Store {
    pub fn open(dir: impl Into<PathBuf>) -> Store {
        Store {
            dir: dir.into(),
            medium: Medium::Files,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The snapshot store of a PostgreSQL workspace.
    pub fn pg(pg: Arc<Pg>) -> Store {
        Store {
            dir: PathBuf::from(pg.shown()),
            medium: Medium::Pg(pg),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The PostgreSQL backend, when the store lives there.
    pub fn backend(&self) -> Option<&Arc<Pg>> {
        match &self.medium {
            Medium::Files => None,
            Medium::Pg(pg) => Some(pg),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the writer lock guards (the lock file is `store.lock` beside
    /// it); `force-unlock` takes it to [`crate::state::lock::force_unlock`].
    pub fn lock_target(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// Takes the writer lock, waiting up to `timeout` (exit 4 when held).
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<LockGuard> {
        if let Medium::Pg(pg) = &self.medium {
            return lock::acquire_pg(
                pg,
                lock::PG_SNAPSHOTS,
                &self.lock_target(),
                crate::error::LockOf::Snapshots,
                operation,
                timeout,
            );
        }
        crate::fsutil::create_dir_all(&self.dir)?;
        lock::acquire_for(
            &self.lock_target(),
            crate::error::LockOf::Snapshots,
            operation,
            timeout,
        )
    }

    fn versions_dir(&self) -> PathBuf {
        self.dir.join("versions")
    }

    fn packs_dir(&self) -> PathBuf {
        self.dir.join("packs")
    }

    pub(crate) fn manifest_path(&self, id: VersionId) -> PathBuf {
        self.versions_dir().join(format!("{id:08}.json"))
    }

    fn pack_path(&self, version: u64, segment: u32) -> PathBuf {
        self.packs_dir()
            .join(format!("{version:08}-{segment:04}.pack"))
    }

    fn damaged(&self, path: impl Into<PathBuf>, reason: impl Into<String>) -> Error {
        Error::SnapshotDamaged {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Every committed version, oldest first. A missing store has none.
    pub fn versions(&self) -> Result<Vec<VersionId>> {
        if let Medium::Pg(pg) = &self.medium {
            return pg.snapshot_ids();
        }
        let dir = self.versions_dir();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut ids = Vec::new();
        for e in rd {
            let e = e.map_err(|e| Error::io(&dir, e))?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name
                .strip_suffix(".json")
                .and_then(|s| s.parse::<u64>().ok())
            {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    pub fn latest(&self) -> Result<Option<VersionId>> {
        Ok(self.versions()?.last().copied())
    }

    /// `latest`, `previous`, `~N` (N before the latest), or an id.
    pub fn resolve(&self, spec: &str) -> Result<VersionId> {
        let ids = self.versions()?;
        if ids.is_empty() {
            return Err(Error::SnapshotEmpty {
                path: self.dir.clone(),
            });
        }
        let back = |n: usize, ids: &[u64]| -> Result<u64> {
            ids.len()
                .checked_sub(n + 1)
                .map(|i| ids[i])
                .ok_or_else(|| Error::SnapshotUnknown {
                    id: spec.to_string(),
                    reason: format!(
                        "the store holds {} version{}",
                        ids.len(),
                        if ids.len() == 1 { "" } else { "s" }
                    ),
                })
        };
        let s = spec.trim();
        if s == "latest" || s == "~0" {
            return back(0, &ids);
        }
        if s == "previous" {
            return back(1, &ids);
        }
        if let Some(n) = s.strip_prefix('~') {
            let n: usize = n.parse().map_err(|_| Error::SnapshotUnknown {
                id: spec.to_string(),
                reason: "`~N` needs a number (`~1` is the version before the latest)".into(),
            })?;
            return back(n, &ids);
        }
        let id: u64 = s.parse().map_err(|_| Error::SnapshotUnknown {
            id: spec.to_string(),
            reason: "a version is a number, `latest`, `previous` or `~N`".into(),
        })?;
        if ids.binary_search(&id).is_ok() {
            Ok(id)
        } else {
            Err(Error::SnapshotUnknown {
                id: spec.to_string(),
                reason: format!("the store holds versions {}", super::id_ranges(&ids)),
            })
        }
    }

    /// The manifest of version `id`.
    pub fn manifest(&self, id: VersionId) -> Result<Manifest> {
        let m: Manifest = self.read_manifest(id)?;
        self.check_manifest(id, m.format_version, m.id, m.parent)?;
        Ok(m)
    }

    /// The head of version `id`'s manifest (its partitions skipped, not
    /// built), with the same checks as [`Store::manifest`].
    pub fn manifest_head(&self, id: VersionId) -> Result<ManifestHead> {
        let m: ManifestHead = self.read_manifest(id)?;
        self.check_manifest(id, m.format_version, m.id, m.parent)?;
        Ok(m)
    }

    /// The bytes of version `id`'s manifest; an unknown version when there
    /// are none.
    fn stored_manifest(&self, id: VersionId) -> Result<Vec<u8>> {
        self.manifest_bytes(id)?
            .ok_or_else(|| Error::SnapshotUnknown {
                id: id.to_string(),
                reason: "no such version".into(),
            })
    }

    fn read_manifest<T: serde::de::DeserializeOwned>(&self, id: VersionId) -> Result<T> {
        let bytes = self.stored_manifest(id)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            self.damaged(
                self.manifest_path(id),
                format!("not a snapshot manifest: {e}"),
            )
        })
    }

    /// What every manifest read checks: a format this build reads, the id
    /// the file is named for, and its own link (the parent is an earlier
    /// version that exists). With every manifest read so, a walk along
    /// parents always ends, at the first version without one or at the
    /// first broken link.
    fn check_manifest(
        &self,
        id: VersionId,
        format_version: u32,
        holds: u64,
        parent: Option<VersionId>,
    ) -> Result<()> {
        let path = self.manifest_path(id);
        if !MANIFEST_FORMATS_READ.contains(&format_version) {
            return Err(self.damaged(
                &path,
                format!(
                    "manifest format_version {format_version} (this build reads {})",
                    MANIFEST_FORMATS_READ.map(|v| v.to_string()).join(" and ")
                ),
            ));
        }
        if holds != id {
            return Err(self.damaged(&path, format!("the file holds version {holds}")));
        }
        if let Some(p) = parent {
            self.check_link(id, p)?;
            if !self.manifest_exists(p)? {
                return Err(self.missing_parent(id, p));
            }
        }
        Ok(())
    }

    /// The bytes of version `id`'s manifest, `None` when it does not exist.
    pub(crate) fn manifest_bytes(&self, id: VersionId) -> Result<Option<Vec<u8>>> {
        if let Medium::Pg(pg) = &self.medium {
            return pg.snapshot_manifest(id);
        }
        let path = self.manifest_path(id);
        match crate::fsutil::read_regular(&path, u64::MAX) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn manifest_exists(&self, id: VersionId) -> Result<bool> {
        if let Medium::Pg(pg) = &self.medium {
            return pg.snapshot_exists(id);
        }
        let path = self.manifest_path(id);
        match std::fs::metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// The bytes of one pack segment, `None` when it does not exist.
    pub(crate) fn segment_bytes(&self, version: u64, segment: u32) -> Result<Option<Vec<u8>>> {
        if let Medium::Pg(pg) = &self.medium {
            return pg.snapshot_segment(version, segment);
        }
        let path = self.pack_path(version, segment);
        match crate::fsutil::read_regular(&path, u64::MAX) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Version `id`, ready to be read partition by partition.
    pub fn version(&self, id: VersionId) -> Result<Version<'_>> {
        let manifest = self.manifest(id)?;
        let slots = manifest
            .accounts
            .iter()
            .enumerate()
            .flat_map(|(a, acc)| (0..acc.partitions.len()).map(move |p| (a, p)))
            .collect();
        Ok(Version {
            store: self,
            manifest,
            slots,
        })
    }

    /// The records of a partition entry, checked against its hash.
    pub(crate) fn load_entry(&self, e: &PartitionEntry) -> Result<Arc<Records>> {
        let Some(r) = e.object_ref() else {
            if e.resources == 0 {
                return Ok(Arc::new(Records::default()));
            }
            return Err(self.damaged(
                self.manifest_dir_hint(),
                "a partition with resources has no object",
            ));
        };
        let want = e
            .hash()
            .ok_or_else(|| self.damaged(self.pack_path(r.version, r.segment), "bad hash"))?;
        self.load_verified(r, &want)
    }

    fn manifest_dir_hint(&self) -> PathBuf {
        self.versions_dir()
    }

    fn load_verified(&self, r: ObjectRef, want: &Hash) -> Result<Arc<Records>> {
        let recs = self.load_ref(r)?;
        self.check(r, &recs.hash(), want)?;
        Ok(recs)
    }

    /// When `eb`'s object is a delta straight on `ea`'s object (adjacent
    /// versions): what the delta changes in `ea`'s records, handed to `f`;
    /// neither side's records are built. `Ok(None)` when the objects are not
    /// related so.
    ///
    /// When every object read carries a checksum (see `object::format`),
    /// the records the delta names are looked up through `ea`'s chain and
    /// each object opened is checked by its checksum. Otherwise (objects of
    /// an older store) `ea`'s records are built and both sides are checked
    /// against their content hashes, whose shared part (the frames before
    /// the first record the delta names) is computed once.
    pub(crate) fn delta_pair<T>(
        &self,
        ea: &PartitionEntry,
        eb: &PartitionEntry,
        f: impl FnOnce(Vec<object::Change<'_>>) -> Result<T>,
    ) -> Result<Option<T>> {
        let (Some(ra), Some(rb), Some(ha), Some(hb)) =
            (ea.object_ref(), eb.object_ref(), ea.hash(), eb.hash())
        else {
            return Ok(None);
        };
        let (map, range) = self.object_bytes(rb)?;
        let bytes = &map[range];
        let damaged_b = |e| self.damaged(self.pack_path(rb.version, rb.segment), e);
        if object::delta_base(bytes).map_err(damaged_b)? != Some(ra) {
            return Ok(None);
        }
        let Object::Delta { ops, .. } = object::parse_object(bytes).map_err(damaged_b)? else {
            return Ok(None);
        };
        if object::is_checked(bytes) {
            let chain = self.chain_below(rb, ra, 1)?;
            if chain
                .iter()
                .all(|(_, map, range)| object::is_checked(&map[range.clone()]))
            {
                let olds = self.lookup(&chain, &ops)?;
                let changes = object::chain_changes(&ops, &olds).map_err(damaged_b)?;
                return f(changes).map(Some);
            }
        }
        let a = self.load_ref(ra)?;
        let from = ops.first().map_or(a.len(), |op| a.position(op.id()));
        let (shared, got) = a.hash_split(from);
        self.check(ra, &got, &ha)?;
        let (got, changes) = object::delta_changes(&a, &ops, shared, from).map_err(damaged_b)?;
        self.check(rb, &got, &hb)?;
        f(changes).map(Some)
    }

    /// The objects of the chain from `top` down to its full object, newest
    /// first, where they sit; `r` is the object whose chain it is (for
    /// errors), `above` the deltas between `r` and `top`. Reads only each
    /// object's header.
    fn chain_below(&self, r: ObjectRef, top: ObjectRef, above: usize) -> Result<Vec<Located>> {
        let mut chain = Vec::new();
        let mut at = top;
        loop {
            let (map, range) = self.object_bytes(at)?;
            let base = object::delta_base(&map[range.clone()])
                .map_err(|e| self.damaged(self.pack_path(at.version, at.segment), e))?;
            chain.push((at, map, range));
            match base {
                None => return Ok(chain),
                Some(base) => {
                    self.chain_step(r, at, base, above + chain.len() - 1)?;
                    at = base;
                }
            }
        }
    }

    /// The records `ops` name as the object at the top of `chain` holds
    /// them, read down the chain only as far as they are settled.
    fn lookup<'c>(
        &self,
        chain: &'c [Located],
        ops: &[object::Op<'c>],
    ) -> Result<Vec<Option<std::borrow::Cow<'c, [u8]>>>> {
        let damaged = |at: ObjectRef, e| self.damaged(self.pack_path(at.version, at.segment), e);
        let mut look = object::Lookup::of(ops).map_err(|e| damaged(chain[0].0, e))?;
        let mut last = chain[0].0;
        for (at, map, range) in chain {
            if !look.pending() {
                break;
            }
            last = *at;
            let bytes = &map[range.clone()];
            let step = match object::full_body(bytes).map_err(|e| damaged(*at, e))? {
                Some(body) => look.full(body),
                None => match object::parse_object(bytes).map_err(|e| damaged(*at, e))? {
                    Object::Delta { ops, .. } => look.delta(&ops),
                    Object::Full(_) => Err("not a delta object".into()),
                },
            };
            step.map_err(|e| damaged(*at, e))?;
        }
        look.finish().map_err(|e| damaged(last, e))
    }

    /// Damage unless the records read at `r` hash to `want`.
    fn check(&self, r: ObjectRef, got: &Hash, want: &Hash) -> Result<()> {
        if got == want {
            return Ok(());
        }
        self.forget(r);
        Err(self.damaged(
            self.pack_path(r.version, r.segment),
            format!(
                "the object at offset {} does not match its content hash {}",
                r.offset,
                object::hex(want)
            ),
        ))
    }

    fn forget(&self, r: ObjectRef) {
        if let Ok(mut c) = self.cache.lock() {
            if let Some(old) = c.records.remove(&r) {
                c.record_bytes -= old.heap_bytes();
                c.order.retain(|o| *o != r);
            }
        }
    }

    /// Materializes the object at `r`: its delta chain applied on its full base.
    fn load_ref(&self, r: ObjectRef) -> Result<Arc<Records>> {
        // Down the chain to a cached state or a full object; the deltas'
        // bytes stay in their mapped packs until they are applied.
        let mut chain = Vec::new();
        let mut at = r;
        let (mut base, hit) = loop {
            if let Some(hit) = self.cached(at) {
                break (hit.clone_with_room(), true);
            }
            let (map, range) = self.object_bytes(at)?;
            let bytes = &map[range.clone()];
            let damaged = |e| self.damaged(self.pack_path(at.version, at.segment), e);
            match object::delta_base(bytes).map_err(damaged)? {
                None => match object::parse_object(bytes).map_err(damaged)? {
                    Object::Full(recs) => break (recs, false),
                    Object::Delta { .. } => return Err(damaged("not a full object".into())),
                },
                Some(base) => {
                    self.chain_step(r, at, base, chain.len())?;
                    chain.push((at, map, range));
                    at = base;
                }
            }
        };
        if chain.is_empty() {
            let base = Arc::new(base);
            if !hit {
                self.remember(at, &base);
            }
            return Ok(base);
        }
        // The deltas, oldest first, applied in one pass: only the object
        // asked for is built, never the states in between.
        chain.reverse();
        let mut deltas = Vec::with_capacity(chain.len());
        for (at, map, range) in &chain {
            let damaged = |e| self.damaged(self.pack_path(at.version, at.segment), e);
            let Object::Delta { ops, .. } =
                object::parse_object(&map[range.clone()]).map_err(damaged)?
            else {
                return Err(damaged("not a delta object".into()));
            };
            deltas.push(ops);
        }
        let ops: Vec<&[object::Op<'_>]> = deltas.iter().map(Vec::as_slice).collect();
        base = object::apply_chain(base, &ops).map_err(|(n, e)| {
            let at = chain[n.min(chain.len() - 1)].0;
            self.damaged(self.pack_path(at.version, at.segment), e)
        })?;
        let base = Arc::new(base);
        self.remember(r, &base);
        Ok(base)
    }

    /// Damage unless the delta at `at`, the `deltas`-th below `r`, may rest
    /// on `base`: a base is always an object of an earlier version (so a
    /// chain cannot loop), and no chain holds more than [`MAX_DEPTH`] deltas.
    fn chain_step(
        &self,
        r: ObjectRef,
        at: ObjectRef,
        base: ObjectRef,
        deltas: usize,
    ) -> Result<()> {
        if base.version >= at.version {
            return Err(self.damaged(
                self.pack_path(at.version, at.segment),
                format!(
                    "the delta at offset {} rests on an object of version {}, not of an earlier version",
                    at.offset, base.version
                ),
            ));
        }
        if deltas >= usize::from(MAX_DEPTH) {
            return Err(self.damaged(
                self.pack_path(r.version, r.segment),
                format!(
                    "the object at offset {} has a delta chain longer than {MAX_DEPTH}",
                    r.offset
                ),
            ));
        }
        Ok(())
    }

    /// How many deltas lie under the object at `r` (0: a full object), read
    /// from the objects' headers; what the writer extends, whatever depth a
    /// manifest claims.
    fn chain_depth(&self, r: ObjectRef) -> Result<u16> {
        let objects = self.chain_below(r, r, 0)?.len();
        // At most MAX_DEPTH deltas and the full object (`chain_step`).
        Ok(u16::try_from(objects - 1).unwrap_or(MAX_DEPTH))
    }

    fn cached(&self, r: ObjectRef) -> Option<Arc<Records>> {
        self.cache.lock().ok()?.records.get(&r).cloned()
    }

    fn remember(&self, r: ObjectRef, recs: &Arc<Records>) {
        if let Ok(mut c) = self.cache.lock() {
            let bytes = recs.heap_bytes();
            if bytes > CACHE_BYTES / 4 {
                return;
            }
            match c.records.insert(r, recs.clone()) {
                Some(old) => c.record_bytes -= old.heap_bytes(),
                None => c.order.push_back(r),
            }
            c.record_bytes += bytes;
            while c.order.len() > CACHE_ENTRIES || c.record_bytes > CACHE_BYTES {
                let Some(old) = c.order.pop_front() else {
                    break;
                };
                if let Some(gone) = c.records.remove(&old) {
                    c.record_bytes -= gone.heap_bytes();
                }
            }
        }
    }

    /// Where the bytes of one object are: its pack's mapping and the range in
    /// it. Packs are mapped into memory once and then read without a system
    /// call or a copy per object (a diff reads every object of two versions'
    /// delta chains); the cache lock is held only to find the mapping, never
    /// during a read.
    fn object_bytes(&self, r: ObjectRef) -> Result<(Arc<Segment>, std::ops::Range<usize>)> {
        let path = || self.pack_path(r.version, r.segment);
        let map = {
            let mut guard = self
                .cache
                .lock()
                .map_err(|_| self.damaged(path(), "reader poisoned"))?;
            let cache = &mut *guard;
            match cache.segment((r.version, r.segment), r.offset, r.len) {
                Some(m) => m,
                None if matches!(self.medium, Medium::Pg(_)) => {
                    let bytes = self
                        .segment_bytes(r.version, r.segment)?
                        .ok_or_else(|| self.damaged(path(), "the pack is missing"))?;
                    let m = Arc::new(Segment::Bytes(bytes));
                    cache.keep_segment((r.version, r.segment), m.clone(), r.offset, r.len);
                    m
                }
                None => {
                    let path = path();
                    let f = crate::fsutil::open_regular(&path).map_err(|e| match e.kind() {
                        std::io::ErrorKind::NotFound => self.damaged(&path, "the pack is missing"),
                        _ => Error::io(&path, e),
                    })?;
                    // SAFETY: a pack is written once (temp file, fsync, rename)
                    // and never modified or truncated afterwards; a writer only
                    // unlinks packs of versions that were never committed, and
                    // an unlinked file stays mapped intact.
                    let m = Arc::new(Segment::Map(
                        unsafe { memmap2::Mmap::map(&f) }.map_err(|e| Error::io(&path, e))?,
                    ));
                    cache.keep_segment((r.version, r.segment), m.clone(), r.offset, r.len);
                    m
                }
            }
        };
        let start = usize::try_from(r.offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(r.len as usize);
        if map.get(start..end).is_none() {
            return Err(self.damaged(path(), format!("the pack is truncated before {}", r.offset)));
        }
        Ok((map, start..end))
    }

    /// Starts a new version on top of `parent` (normally the latest).
    pub fn writer<'a>(
        &'a self,
        guard: &'a LockGuard,
        parent: Option<VersionId>,
    ) -> Result<Writer<'a>> {
        if guard.state_path() != self.lock_target() {
            return Err(Error::Snapshot {
                reason: format!(
                    "the snapshot writer needs the lock of {}, not of {}",
                    self.dir.display(),
                    guard.state_path().display()
                ),
            });
        }
        let latest = self.latest()?;
        let id = latest.unwrap_or(0).checked_add(1).ok_or_else(|| {
            self.damaged(
                self.versions_dir(),
                "no version id is left after the latest",
            )
        })?;
        let parent = parent.map(|p| self.manifest(p)).transpose()?;
        // What the new version would reuse must be sound before anything
        // is written (see `integrity`).
        if let Some(m) = &parent {
            self.check_chain(m)?;
            self.verify_objects(m)?;
        }
        let holding = match &self.medium {
            Medium::Files => None,
            Medium::Pg(_) => Some(guard.holding().ok_or_else(|| Error::Snapshot {
                reason: "internal: a PostgreSQL snapshot store written under a file lock".into(),
            })?),
        };
        self.remove_orphan_packs(id, holding.as_ref())?;
        let mut entries = BTreeMap::new();
        let mut known = HashMap::new();
        if let Some(m) = &parent {
            for (k, e) in m.partitions() {
                let slot = Slot::carried(e).ok_or_else(|| {
                    self.damaged(
                        self.manifest_path(m.id),
                        format!("partition {k} has a malformed content hash or object"),
                    )
                })?;
                if let (Some(h), Some(r)) = (slot.hash, slot.object) {
                    known.insert(h, (r, slot.depth));
                }
                entries.insert(k, slot);
            }
        }
        if let Medium::Files = self.medium {
            crate::fsutil::create_dir_all(&self.packs_dir())?;
            crate::fsutil::create_dir_all(&self.versions_dir())?;
        }
        Ok(Writer {
            store: self,
            holding,
            id,
            parent: parent.map(|m| m.id),
            entries,
            known,
            synced: BTreeSet::new(),
            removed: BTreeSet::new(),
            renamed: Vec::new(),
            segment: 0,
            buf: Vec::new(),
            committed: false,
            _lock: std::marker::PhantomData,
        })
    }

    /// How many pack segments version `id` has.
    pub(crate) fn segment_count(&self, id: VersionId) -> Result<u32> {
        if let Medium::Pg(pg) = &self.medium {
            return pg.snapshot_segment_count(id);
        }
        let mut n = 0;
        while self.pack_path(id, n).is_file() {
            n += 1;
        }
        Ok(n)
    }

    /// Copies version `id` in exactly as `from` stores it (`backend
    /// migrate`): its pack segments, then its manifest, as a writer writes
    /// them, so an interrupted copy leaves no visible half version. The
    /// version must be the next one here and its parent the latest.
    pub fn copy_version(&self, guard: &LockGuard, from: &Store, id: VersionId) -> Result<()> {
        if guard.state_path() != self.lock_target() {
            return Err(Error::Snapshot {
                reason: "internal: copying a version without the store's lock".into(),
            });
        }
        let manifest = from.manifest(id)?;
        let bytes = from
            .manifest_bytes(id)?
            .ok_or_else(|| from.damaged(from.manifest_path(id), "the manifest vanished"))?;
        if manifest.parent != self.latest()? {
            return Err(Error::Snapshot {
                reason: format!(
                    "version {id} rests on version {:?}, not on the latest version here",
                    manifest.parent
                ),
            });
        }
        let holding = guard.holding();
        self.remove_orphan_packs(id, holding.as_ref())?;
        if let Medium::Files = self.medium {
            crate::fsutil::create_dir_all(&self.packs_dir())?;
            crate::fsutil::create_dir_all(&self.versions_dir())?;
        }
        for seg in 0..from.segment_count(id)? {
            let b = from
                .segment_bytes(id, seg)?
                .ok_or_else(|| from.damaged(from.pack_path(id, seg), "the pack is missing"))?;
            match (&self.medium, &holding) {
                (Medium::Pg(pg), Some(h)) => pg.snapshot_put_segment(id, seg, b, h)?,
                _ => write_atomic(&self.pack_path(id, seg), &b, None)?,
            }
        }
        match (&self.medium, &holding) {
            (Medium::Pg(pg), Some(h)) => pg.snapshot_commit(id, manifest.parent, bytes, h)?,
            _ => write_atomic(&self.manifest_path(id), &bytes, None)?,
        }
        Ok(())
    }

    /// SHA-256 of version `id` as stored: its manifest's bytes, then each
    /// pack segment's. Two stores holding the same version byte for byte
    /// give the same digest.
    pub fn stored_digest(&self, id: VersionId) -> Result<String> {
        let mut h = Sha256::new();
        let m = self.stored_manifest(id)?;
        h.update((m.len() as u64).to_be_bytes());
        h.update(&m);
        for seg in 0..self.segment_count(id)? {
            let b = self
                .segment_bytes(id, seg)?
                .ok_or_else(|| self.damaged(self.pack_path(id, seg), "the pack is missing"))?;
            h.update((b.len() as u64).to_be_bytes());
            h.update(&b);
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Packs of versions at or after `next` belong to a writer that never
    /// committed (a crash): nothing refers to them.
    fn remove_orphan_packs(
        &self,
        next: VersionId,
        holding: Option<&crate::pg::lock::Holding>,
    ) -> Result<()> {
        if let (Medium::Pg(pg), Some(h)) = (&self.medium, holding) {
            pg.snapshot_remove_orphans(next, h)?;
            return Ok(());
        }
        let dir = self.packs_dir();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let version = name
                .split('-')
                .next()
                .and_then(|v| v.trim_start_matches('.').parse::<u64>().ok());
            let temp = name.starts_with('.');
            if temp || version.is_some_and(|v| v >= next) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(())
    }
}

/// Builds one version from partitions handed over one by one.
///
/// Starts from the parent's partitions: an added partition replaces the
/// parent's entry of the same key; partitions of accounts not synced carry
/// over; a failed partition keeps the parent's resources, marked stale;
/// [`Writer::remove_account`] drops an account ("account removed").
pub struct Writer<'a> {
    store: &'a Store,
    /// PostgreSQL: what each write checks (the lock is still this run's).
    holding: Option<crate::pg::lock::Holding>,
    id: VersionId,
    parent: Option<VersionId>,
    entries: BTreeMap<PartitionKey, Slot>,
    /// Content hash -> object already stored (parent's and this version's).
    known: HashMap<Hash, (ObjectRef, u16)>,
    synced: BTreeSet<Address>,
    removed: BTreeSet<Address>,
    renamed: Vec<Renamed>,
    segment: u32,
    buf: Vec<u8>,
    /// The manifest is written: the packs belong to a version.
    committed: bool,
    /// The store's lock, held for as long as the writer lives (its packs
    /// are removed on drop under it).
    _lock: std::marker::PhantomData<&'a LockGuard>,
}

/// A writer dropped before its manifest was written (an error on the way)
/// removes the pack segments it wrote: no orphan is left behind.
impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let (Medium::Pg(pg), Some(h)) = (&self.store.medium, &self.holding) {
            if self.segment > 0
                && let Err(e) = pg.snapshot_remove_orphans(self.id, h)
            {
                tracing::warn!(error = %e, "cannot remove the packs of an unfinished version; the next writer removes them");
            }
            return;
        }
        for segment in 0..self.segment {
            let path = self.store.pack_path(self.id, segment);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove the pack of an unfinished version");
            }
        }
    }
}

/// One partition of the version being written, as the writer holds it
/// until the manifest: an entry without the region and type its key
/// already holds, its hash as bytes, and whether this run added it (a
/// partition carried over from the parent was not). A first sync of
/// 40,000 partitions holds a third of what their entries would take.
#[derive(Debug, Clone)]
struct Slot {
    resources: u64,
    hash: Option<Hash>,
    object: Option<ObjectRef>,
    depth: u16,
    stale: bool,
    added: bool,
    /// Complete when `None`.
    trouble: Option<Box<Trouble>>,
}

/// A failed or skipped partition's status and what the manifest says of it.
#[derive(Debug, Clone)]
struct Trouble {
    status: Status,
    detail: Option<String>,
    problem_kind: Option<crate::problem::ProblemKind>,
    code: Option<String>,
    request_id: Option<String>,
}

impl Trouble {
    fn of(s: &PartitionStatus) -> Option<Box<Trouble>> {
        let t = match s {
            PartitionStatus::Complete => return None,
            PartitionStatus::Failed { error } => Trouble {
                status: Status::Failed,
                detail: Some(error.message.clone()),
                problem_kind: error.kind,
                code: error.code.clone(),
                request_id: error.request_id.clone(),
            },
            PartitionStatus::Skipped { reason } => Trouble {
                status: Status::Skipped,
                detail: Some(reason.clone()),
                problem_kind: None,
                code: None,
                request_id: None,
            },
        };
        Some(Box::new(t))
    }
}

impl Slot {
    /// A parent's partition, carried over; `None` when its hash or object
    /// reference does not parse (a damaged manifest).
    fn carried(e: &PartitionEntry) -> Option<Slot> {
        let hash = match &e.hash {
            Some(_) => Some(e.hash()?),
            None => None,
        };
        let object = match e.object {
            Some(_) => Some(e.object_ref()?),
            None => None,
        };
        let trouble = (e.status != Status::Complete).then(|| {
            Box::new(Trouble {
                status: e.status,
                detail: e.detail.clone(),
                problem_kind: e.problem_kind,
                code: e.code.clone(),
                request_id: e.request_id.clone(),
            })
        });
        Some(Slot {
            resources: e.resources,
            hash,
            object,
            depth: e.depth,
            stale: e.stale,
            added: false,
            trouble,
        })
    }

    /// The manifest's entry.
    fn entry(self, region: String, kind: String) -> PartitionEntry {
        let mut e = PartitionEntry {
            region,
            kind,
            resources: self.resources,
            stale: self.stale,
            depth: self.depth,
            ..PartitionEntry::default()
        };
        e.set_object(self.object, self.hash.as_ref());
        if let Some(t) = self.trouble {
            e.status = t.status;
            e.detail = t.detail;
            e.problem_kind = t.problem_kind;
            e.code = t.code;
            e.request_id = t.request_id;
        }
        e
    }
}

/// Why a disabled account's partitions were not fetched.
pub const DISABLED: &str = "the account is disabled (`enabled = false`)";

/// What [`Writer::add`] did with a partition's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Content already in the store (unchanged, or seen elsewhere).
    Reused,
    Full,
    Delta,
    /// Nothing to store: no resources, or failed/skipped.
    Nothing,
}

impl Writer<'_> {
    /// The id this version will have.
    pub fn id(&self) -> VersionId {
        self.id
    }

    /// Adds one partition of typed resources (tests, tools): encoded, then
    /// as [`Writer::add_encoded`].
    pub fn add(&mut self, p: Partition) -> Result<Stored> {
        let e = Encoded::from_partition(p).map_err(|reason| Error::Snapshot { reason })?;
        self.add_encoded(e)
    }

    /// Adds one fetched partition; its records are stored if new, and
    /// dropped. Only key, hash, status and counts stay in memory.
    pub fn add_encoded(&mut self, p: Encoded) -> Result<Stored> {
        let (key, status, records, hash) = p.into_parts();
        self.synced.insert(key.account.clone());
        self.removed.remove(&key.account);
        let prev = self.entries.get(&key).cloned();
        let mut e = Slot {
            resources: 0,
            hash: None,
            object: None,
            depth: 0,
            stale: false,
            added: true,
            trouble: Trouble::of(&status),
        };
        let stored = match status {
            PartitionStatus::Complete => self.store_content(&key, records, hash, prev, &mut e)?,
            PartitionStatus::Failed { .. } => {
                if let Some(prev) = prev.filter(|p| p.resources > 0) {
                    e.resources = prev.resources;
                    e.hash = prev.hash;
                    e.object = prev.object;
                    e.depth = prev.depth;
                    e.stale = true;
                }
                Stored::Nothing
            }
            PartitionStatus::Skipped { .. } => Stored::Nothing,
        };
        self.entries.insert(key, e);
        Ok(stored)
    }

    fn store_content(
        &mut self,
        key: &PartitionKey,
        recs: Records,
        hash: Hash,
        prev: Option<Slot>,
        e: &mut Slot,
    ) -> Result<Stored> {
        e.resources = recs.len() as u64;
        e.hash = Some(hash);
        if recs.is_empty() {
            return Ok(Stored::Nothing);
        }
        if let Some(&(r, depth)) = self.known.get(&hash) {
            e.object = Some(r);
            e.depth = depth;
            return Ok(Stored::Reused);
        }
        let body = recs.frames();
        let full_len = object::full_len(&body);
        let mut delta = None;
        if let Some(prev) = prev.filter(|p| !p.added)
            && let (Some(pr), Some(ph)) = (prev.object, prev.hash)
        {
            // The chain as stored, not the depth the manifest claims.
            let base = match self.store.chain_depth(pr) {
                Ok(depth) if depth >= MAX_DEPTH => Ok(None),
                Ok(depth) => self.store.load_verified(pr, &ph).map(|b| Some((depth, b))),
                Err(err) => Err(err),
            };
            match base {
                Ok(None) => {}
                Ok(Some((depth, base))) => {
                    delta =
                        delta_object(pr, depth + 1, &base, &recs, full_len).map(|d| (d, depth + 1));
                }
                Err(err) => {
                    tracing::warn!(partition = %key, error = %err, "cannot read the previous object; storing in full");
                }
            }
        }
        let (r, depth, kind) = match delta {
            Some((d, depth)) => (
                self.append(d.len(), |buf| buf.extend_from_slice(&d))?,
                depth,
                Stored::Delta,
            ),
            None => (
                self.append(full_len, |buf| object::put_full_object(buf, &body))?,
                0,
                Stored::Full,
            ),
        };
        drop(body);
        drop(recs);
        self.known.insert(hash, (r, depth));
        e.object = Some(r);
        e.depth = depth;
        Ok(kind)
    }

    /// Appends an object of `len` bytes, which `put` writes at the end of
    /// the segment being filled (full objects go there straight from the
    /// records, never through a buffer of their own).
    fn append(&mut self, len: usize, put: impl FnOnce(&mut Vec<u8>)) -> Result<ObjectRef> {
        if !self.buf.is_empty() && self.buf.len() + len > SEGMENT_BYTES {
            self.flush()?;
        }
        let len32 = u32::try_from(len).map_err(|_| Error::Snapshot {
            reason: "a partition larger than 4 GiB cannot be stored".into(),
        })?;
        let r = ObjectRef {
            version: self.id,
            segment: self.segment,
            offset: self.buf.len() as u64,
            len: len32,
        };
        put(&mut self.buf);
        if self.buf.len() - r.offset as usize != len {
            return Err(Error::Snapshot {
                reason: "internal error: an object's bytes differ from its length".into(),
            });
        }
        Ok(r)
    }

    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let (Medium::Pg(pg), Some(h)) = (&self.store.medium, &self.holding) {
            let bytes = std::mem::take(&mut self.buf);
            // Counted before the write: a failed insert may have landed.
            self.segment += 1;
            pg.snapshot_put_segment(self.id, self.segment - 1, bytes, h)?;
            return Ok(());
        }
        let path = self.store.pack_path(self.id, self.segment);
        write_atomic(&path, &self.buf, None)?;
        self.buf.clear();
        self.segment += 1;
        Ok(())
    }

    /// The keys of `account`'s partitions in this version so far.
    pub fn keys_of(&self, account: &Address) -> Vec<PartitionKey> {
        self.entries
            .keys()
            .filter(|k| &k.account == account)
            .cloned()
            .collect()
    }

    /// Drops the partitions of `account` that this fetch did not report (a
    /// region no longer visible, a type no longer listed).
    pub fn keep_only(&mut self, account: &Address, fetched: &BTreeSet<PartitionKey>) {
        self.entries
            .retain(|k, _| &k.account != account || fetched.contains(k));
    }

    /// Carries `from`'s partitions over to `to` (an account renamed in
    /// state): stored content holds no account, so the objects are reused
    /// as they are. Returns how many partitions moved; with none, nothing
    /// is recorded.
    pub fn rename_account(&mut self, from: &Address, to: &Address) -> usize {
        let keys = self.keys_of(from);
        if keys.is_empty() || from == to {
            return 0;
        }
        self.entries.retain(|k, _| &k.account != to);
        for k in &keys {
            if let Some(e) = self.entries.remove(k) {
                let moved = PartitionKey {
                    account: to.clone(),
                    region: k.region.clone(),
                    kind: k.kind.clone(),
                };
                self.entries.insert(moved, e);
            }
        }
        if self.synced.remove(from) {
            self.synced.insert(to.clone());
        }
        self.removed.remove(to);
        self.renamed.push(Renamed {
            from: from.clone(),
            to: to.clone(),
        });
        keys.len()
    }

    /// Keeps `account`'s partitions from the parent, each marked skipped
    /// ("the account is disabled") and its resources stale: a disabled
    /// account is not fetched, and its resources are never reported removed.
    pub fn disable_account(&mut self, account: &Address) {
        for (_, slot) in self
            .entries
            .iter_mut()
            .filter(|(k, _)| &k.account == account)
        {
            slot.stale = slot.resources > 0;
            slot.added = true;
            slot.trouble = Some(Box::new(Trouble {
                status: Status::Skipped,
                detail: Some(DISABLED.to_string()),
                problem_kind: None,
                code: None,
                request_id: None,
            }));
        }
    }

    /// Drops every partition of `account` ("account removed").
    pub fn remove_account(&mut self, account: &Address) {
        self.entries.retain(|k, _| &k.account != account);
        self.synced.remove(account);
        self.removed.insert(account.clone());
    }

    /// Writes the last pack segment, then the manifest: the version exists.
    pub fn commit(self) -> Result<Manifest> {
        let time = crate::clock::rfc3339_now();
        self.commit_at(&time)
    }

    /// [`Writer::commit`] with a given time (RFC 3339), for reproducible tests.
    pub fn commit_at(mut self, time: &str) -> Result<Manifest> {
        self.flush()?;
        let mut h = Sha256::new();
        let mut accounts: Vec<AccountEntry> = Vec::new();
        let mut total = 0;
        for (k, slot) in std::mem::take(&mut self.entries) {
            h.update(format!(
                "{k}\t{}\t{}\t{}\n",
                status_word(slot.trouble.as_ref().map_or(Status::Complete, |t| t.status)),
                slot.stale,
                slot.hash
                    .as_ref()
                    .map_or_else(|| "-".to_string(), object::hex)
            ));
            total += slot.resources;
            let PartitionKey {
                account,
                region,
                kind,
            } = k;
            let e = slot.entry(region, kind);
            match accounts.last_mut() {
                Some(a) if a.account == account => a.partitions.push(e),
                _ => accounts.push(AccountEntry {
                    account,
                    partitions: vec![e],
                }),
            }
        }
        let m = Manifest {
            format_version: MANIFEST_FORMAT_VERSION,
            id: self.id,
            parent: self.parent,
            time: time.to_string(),
            content_hash: hex::encode(h.finalize()),
            resources: total,
            synced_accounts: std::mem::take(&mut self.synced).into_iter().collect(),
            removed_accounts: std::mem::take(&mut self.removed).into_iter().collect(),
            renamed_accounts: std::mem::take(&mut self.renamed),
            accounts,
        };
        let mut bytes = serde_json::to_vec(&m).map_err(|e| Error::Snapshot {
            reason: e.to_string(),
        })?;
        bytes.push(b'\n');
        match (&self.store.medium, &self.holding) {
            (Medium::Pg(pg), Some(h)) => {
                pg.snapshot_commit(self.id, self.parent, bytes, h)?;
            }
            _ => write_atomic(&self.store.manifest_path(self.id), &bytes, None)?,
        }
        self.committed = true;
        Ok(m)
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Complete => "complete",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
    }
}

/// One committed version, readable partition by partition.
pub struct Version<'a> {
    store: &'a Store,
    pub manifest: Manifest,
    /// (account, partition) indexes in manifest order.
    slots: Vec<(usize, usize)>,
}

impl Version<'_> {
    /// The resources of one partition (stale ones included), checked.
    pub fn resources(&self, key: &PartitionKey, e: &PartitionEntry) -> Result<Vec<Resource>> {
        let recs = self.store.load_entry(e)?;
        recs.iter()
            .map(|r| {
                object::decode_resource(key, r.json).map_err(|reason| Error::SnapshotDamaged {
                    path: self.store.manifest_path(self.manifest.id),
                    reason,
                })
            })
            .collect()
    }

    pub(crate) fn store(&self) -> &Store {
        self.store
    }

    pub(crate) fn entry(&self, slot: usize) -> Option<&PartitionEntry> {
        let &(a, p) = self.slots.get(slot)?;
        self.manifest.accounts.get(a)?.partitions.get(p)
    }
}
