//! Comparing two inventories partition by partition.
//!
//! The core works on two [`PartitionSource`]s: a stored [`Version`] or a
//! live fetch held in memory ([`Live`]), so `drift` compares the latest
//! version with what the vendors answer now without writing anything.
//!
//! Invariants:
//! - Partitions with the same content hash are skipped without being read.
//! - A partition that is failed or skipped on either side is never compared:
//!   its resources are not reported as removed (they are "not compared", with
//!   the stale count), because a failed fetch says nothing about deletion.
//! - Resources of an account that is absent from the newer side altogether
//!   are "account removed", counted per account, not listed as removals.
//! - The result is ordered by address.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::encoded::Encoded;
use super::manifest::PartitionEntry;
use super::object::{self, Hash, Records};
use super::store::Version;
use crate::config::Address;
use crate::error::{Error, Result};
use crate::inventory::{Partition, PartitionKey, PartitionStatus, Resource};
use crate::problem::ProblemKind;

/// What a source says about one partition, without reading it.
#[derive(Debug, Clone)]
pub struct PartitionInfo {
    pub key: PartitionKey,
    pub status: PartitionStatus,
    /// Resources carried from an earlier version because this fetch failed.
    pub stale: bool,
    pub resources: u64,
    /// Content hash; `None` when there is no content.
    pub hash: Option<Hash>,
    /// The source's own handle for [`PartitionSource::load`].
    pub slot: usize,
}

/// Two inventories compared by [`diff`] implement this.
pub trait PartitionSource: Sync {
    /// Every partition, in key order.
    fn partitions(&self) -> Vec<PartitionInfo>;
    /// The content of one partition listed by [`PartitionSource::partitions`].
    fn load(&self, p: &PartitionInfo) -> Result<Arc<Records>>;
    /// A hash of every partition's key, status and content, and the number
    /// of partitions, when the source has one and every partition is
    /// complete: equal hashes mean nothing to compare.
    fn complete_content_hash(&self) -> Option<(&str, u64)> {
        None
    }
    /// The stored version behind the source, for reads that know the store's
    /// objects (a delta compared straight with its base).
    fn version(&self) -> Option<&Version<'_>> {
        None
    }
}

impl PartitionSource for Version<'_> {
    fn partitions(&self) -> Vec<PartitionInfo> {
        self.manifest
            .partitions()
            .enumerate()
            .map(|(slot, (key, e))| PartitionInfo {
                key,
                status: e.partition_status(),
                stale: e.stale,
                resources: e.resources,
                hash: e.hash(),
                slot,
            })
            .collect()
    }

    fn complete_content_hash(&self) -> Option<(&str, u64)> {
        let parts = self.manifest.accounts.iter().flat_map(|a| &a.partitions);
        let complete = parts.clone().all(|p| p.status.is_complete());
        let n = parts.count() as u64;
        complete.then_some((self.manifest.content_hash.as_str(), n))
    }

    fn load(&self, p: &PartitionInfo) -> Result<Arc<Records>> {
        self.store().load_entry(entry(self, p)?)
    }

    fn version(&self) -> Option<&Version<'_>> {
        Some(self)
    }
}

fn entry<'v>(v: &'v Version<'_>, p: &PartitionInfo) -> Result<&'v PartitionEntry> {
    v.entry(p.slot).ok_or_else(|| Error::Snapshot {
        reason: format!("no partition {} in version {}", p.key, v.manifest.id),
    })
}

/// A fetch held in memory (what `drift` compares with the latest version).
///
/// Built partition by partition as the fetch goes ([`Live::push`]): a
/// complete partition whose content hash equals the stored one's (the
/// common case) keeps only its key, hash and count, since the diff skips
/// equal hashes without reading either side. So a drift run holds the
/// partitions that drifted, not the inventory.
#[derive(Default)]
pub struct Live {
    parts: Vec<LivePart>,
    /// Where each key is in `parts`.
    at: std::collections::HashMap<PartitionKey, usize>,
}

struct LivePart {
    key: PartitionKey,
    status: PartitionStatus,
    /// `None` once dropped as equal to the stored content.
    records: Option<Arc<Records>>,
    hash: Hash,
    resources: u64,
}

impl Live {
    /// Encodes the partitions (the resources are dropped once encoded).
    pub fn new(partitions: Vec<Partition>) -> Result<Live> {
        let encoded = partitions
            .into_iter()
            .map(Encoded::from_partition)
            .collect::<std::result::Result<Vec<_>, String>>()
            .map_err(|reason| Error::Snapshot { reason })?;
        Ok(Live::from_encoded(encoded))
    }

    /// Partitions as the fetch hands them over, every one kept.
    pub fn from_encoded(partitions: Vec<Encoded>) -> Live {
        let mut live = Live::default();
        for p in &partitions {
            live.push(p, None);
        }
        live
    }

    /// Adds a fetched partition (the first of a key is kept, as a fetch
    /// reports each key once). With `stored`, the content hash the other
    /// side holds for its key: when equal, only key, hash and count are
    /// kept; otherwise its records are copied in.
    pub fn push(&mut self, p: &Encoded, stored: Option<&Hash>) {
        if self.at.contains_key(&p.key) {
            return;
        }
        let complete = p.status == PartitionStatus::Complete;
        let hash = p.hash();
        let records = if complete && stored == Some(&hash) {
            None
        } else if complete {
            Some(Arc::new(p.records().clone()))
        } else {
            Some(Arc::new(Records::default()))
        };
        self.at.insert(p.key.clone(), self.parts.len());
        self.parts.push(LivePart {
            key: p.key.clone(),
            status: p.status.clone(),
            records,
            hash,
            resources: p.len() as u64,
        });
    }

    /// Drops every partition of `account` (it could not be read after all).
    pub fn remove_account(&mut self, account: &Address) {
        self.parts.retain(|x| &x.key.account != account);
        self.at = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, x)| (x.key.clone(), i))
            .collect();
    }
}

impl PartitionSource for Live {
    fn partitions(&self) -> Vec<PartitionInfo> {
        let mut order: Vec<usize> = (0..self.parts.len()).collect();
        order.sort_by(|&a, &b| self.parts[a].key.cmp(&self.parts[b].key));
        order
            .into_iter()
            .map(|slot| {
                let x = &self.parts[slot];
                PartitionInfo {
                    key: x.key.clone(),
                    status: x.status.clone(),
                    stale: false,
                    resources: x.resources,
                    hash: (x.status == PartitionStatus::Complete).then_some(x.hash),
                    slot,
                }
            })
            .collect()
    }

    fn load(&self, p: &PartitionInfo) -> Result<Arc<Records>> {
        match self.parts.get(p.slot).map(|x| &x.records) {
            Some(Some(r)) => Ok(r.clone()),
            // Never an empty partition in its place: that would read as
            // every resource removed.
            _ => Err(Error::Snapshot {
                reason: format!(
                    "internal error: the live records of partition {} were not kept",
                    p.key
                ),
            }),
        }
    }
}

/// The difference between two inventories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Diff {
    /// Resources present only in the newer inventory.
    pub added: Vec<Resource>,
    /// Resources gone from a partition that was read completely on both sides.
    pub removed: Vec<Resource>,
    /// Resources present on both sides with different fields.
    pub changed: Vec<Changed>,
    /// Accounts absent from the newer inventory: their resources left with
    /// them, which is not drift.
    pub accounts_removed: Vec<AccountRemoved>,
    /// Partitions failed or skipped on either side: not compared, never
    /// reported as removals.
    pub not_compared: Vec<NotCompared>,
    /// Partitions skipped because their content hashes are equal.
    pub partitions_unchanged: u64,
    /// Partitions read and compared resource by resource.
    pub partitions_compared: u64,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.accounts_removed.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Changed {
    pub address: String,
    pub account: Address,
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    /// Field paths in order: `native_type`, `name`, `status`, `tags.<key>`,
    /// `attributes.<name>`.
    pub fields: Vec<FieldChange>,
    /// The resource's tags in the newer inventory (what ignore rules and
    /// filters match a change by).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    pub path: String,
    /// Absent when the field was added.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub before: Option<serde_json::Value>,
    /// Absent when the field was removed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub after: Option<serde_json::Value>,
}

/// A value that is there, `null` included (a field whose value is `null`
/// is not a field that is absent).
fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AccountRemoved {
    pub account: Address,
    pub resources: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct NotCompared {
    pub account: Address,
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `complete`, `failed`, `skipped`, or `absent`.
    pub before: String,
    pub after: String,
    /// The newer side's error or skip reason (else the older side's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When `detail` is an error: its kind (`auth`, `throttled`, …).
    /// Absent for errors recorded before tether kept them typed.
    #[serde(rename = "kind", skip_serializing_if = "Option::is_none")]
    pub problem_kind: Option<ProblemKind>,
    /// When `detail` is an error: the vendor's error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When `detail` is an error: the vendor's request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Resources the newer side carries from an earlier version.
    pub stale_resources: u64,
}

/// Compares `a` (older) with `b` (newer).
pub fn diff(a: &dyn PartitionSource, b: &dyn PartitionSource) -> Result<Diff> {
    diff_scoped(a, b, None)
}

/// [`diff`] limited to the accounts in `scope` (all when `None`).
pub fn diff_scoped(
    a: &dyn PartitionSource,
    b: &dyn PartitionSource,
    scope: Option<&BTreeSet<Address>>,
) -> Result<Diff> {
    let mut parts = Diff::default();
    let mut d = diff_each(a, b, scope, |p| {
        parts.added.extend(p.added);
        parts.removed.extend(p.removed);
        parts.changed.extend(p.changed);
        Ok(())
    })?;
    d.added = parts.added;
    d.removed = parts.removed;
    d.changed = parts.changed;
    // Already in address order but for partition keys holding a `/`;
    // a sort of sorted lists costs one pass.
    d.added.sort_by(|p, q| p.address.cmp(&q.address));
    d.removed.sort_by(|p, q| p.address.cmp(&q.address));
    d.changed.sort_by(|p, q| p.address.cmp(&q.address));
    Ok(d)
}

/// One partition's work: its resources all removed, all added, or compared.
enum Job<'p> {
    Removed(&'p PartitionInfo),
    Added(&'p PartitionInfo),
    Compare(&'p PartitionInfo, &'p PartitionInfo),
}

impl Job<'_> {
    fn key(&self) -> &PartitionKey {
        match self {
            Job::Removed(p) | Job::Added(p) | Job::Compare(_, p) => &p.key,
        }
    }
}

/// Partitions whose resources are compared at once: enough for every core
/// to stay busy between batches, few enough that what they found is all a
/// diff holds before `each` takes it.
const BATCH: usize = 256;

/// [`diff_scoped`] that hands the resources added, removed and changed to
/// `each` a partition at a time, in address order (partitions in the order
/// of their addresses' prefix `account/region/type/`, resources in id
/// order; a region or type holding a `/` may break it, which
/// [`diff_scoped`] sorts out), and returns the rest: accounts removed,
/// partitions not compared, and the counts. What it holds at once is a few
/// partitions' differences, never the whole diff.
pub fn diff_each(
    a: &dyn PartitionSource,
    b: &dyn PartitionSource,
    scope: Option<&BTreeSet<Address>>,
    mut each: impl FnMut(Diff) -> Result<()> + Send,
) -> Result<Diff> {
    // Two complete versions with the same content: nothing to read.
    if let (None, Some(ha), Some(hb)) =
        (scope, a.complete_content_hash(), b.complete_content_hash())
    {
        if ha.0 == hb.0 {
            return Ok(Diff {
                partitions_unchanged: hb.1,
                ..Diff::default()
            });
        }
    }
    let keep = |p: &PartitionInfo| scope.is_none_or(|s| s.contains(&p.key.account));
    let pa: Vec<PartitionInfo> = a.partitions().into_iter().filter(keep).collect();
    let pb: Vec<PartitionInfo> = b.partitions().into_iter().filter(keep).collect();
    let accounts_b: BTreeSet<&Address> = pb.iter().map(|p| &p.key.account).collect();
    let mut d = Diff::default();
    let mut gone: BTreeMap<Address, u64> = BTreeMap::new();
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < pa.len() || j < pb.len() {
        let ord = object::merge_order(pa.get(i), pb.get(j), |p| &p.key);
        match ord {
            std::cmp::Ordering::Less => {
                let x = &pa[i];
                i += 1;
                if !accounts_b.contains(&x.key.account) {
                    *gone.entry(x.key.account.clone()).or_default() += x.resources;
                } else if is_complete(x) {
                    jobs.push(Job::Removed(x));
                } else {
                    d.not_compared.push(not_compared(&x.key, Some(x), None));
                }
            }
            std::cmp::Ordering::Greater => {
                let y = &pb[j];
                j += 1;
                if is_complete(y) {
                    jobs.push(Job::Added(y));
                } else {
                    d.not_compared.push(not_compared(&y.key, None, Some(y)));
                }
            }
            std::cmp::Ordering::Equal => {
                let (x, y) = (&pa[i], &pb[j]);
                i += 1;
                j += 1;
                if !is_complete(x) || !is_complete(y) {
                    d.not_compared.push(not_compared(&x.key, Some(x), Some(y)));
                } else if x.hash == y.hash {
                    d.partitions_unchanged += 1;
                } else {
                    d.partitions_compared += 1;
                    jobs.push(Job::Compare(x, y));
                }
            }
        }
    }
    // In address order: `aws.a-b/…` sorts before `aws.a/…`, though the
    // key `aws.a` sorts before `aws.a-b`.
    let prefix = |k: &PartitionKey| format!("{}/{}/{}/", k.account, k.region, k.kind);
    jobs.sort_by_cached_key(|j| prefix(j.key()));
    // A batch of partitions is read and compared on every core (one pool
    // for the whole diff), each worker taking the next partition (their
    // sizes vary, and so does what else the machine runs). Results come
    // back in partition order, so the first failure in that order is the
    // one reported.
    crate::cores::run(|| {
        for batch in jobs.chunks(BATCH) {
            let parts: Vec<Result<Diff>> = batch
                .par_iter()
                .with_max_len(1)
                .map(|job| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let mut d = Diff::default();
                        match job {
                            Job::Removed(x) => {
                                for r in a.load(x)?.iter() {
                                    d.removed.push(decode(&x.key, r.json)?);
                                }
                            }
                            Job::Added(y) => {
                                for r in b.load(y)?.iter() {
                                    d.added.push(decode(&y.key, r.json)?);
                                }
                            }
                            Job::Compare(x, y) => compare_partition(a, b, x, y, &mut d)?,
                        }
                        Ok(d)
                    }))
                    .unwrap_or_else(|_| {
                        Err(Error::Snapshot {
                            reason: "a diff worker stopped".into(),
                        })
                    })
                })
                .collect();
            for p in parts {
                each(p?)?;
            }
        }
        Ok::<(), Error>(())
    })?;
    d.accounts_removed = gone
        .into_iter()
        .map(|(account, resources)| AccountRemoved { account, resources })
        .collect();
    Ok(d)
}

fn is_complete(p: &PartitionInfo) -> bool {
    p.status == PartitionStatus::Complete
}

fn word(p: Option<&PartitionInfo>) -> String {
    match p.map(|p| &p.status) {
        None => "absent",
        Some(PartitionStatus::Complete) => "complete",
        Some(PartitionStatus::Failed { .. }) => "failed",
        Some(PartitionStatus::Skipped { .. }) => "skipped",
    }
    .to_string()
}

fn not_compared(
    key: &PartitionKey,
    a: Option<&PartitionInfo>,
    b: Option<&PartitionInfo>,
) -> NotCompared {
    // The newer side says why, unless it is complete (or absent).
    let why = [b, a]
        .into_iter()
        .flatten()
        .map(|p| &p.status)
        .find(|s| **s != PartitionStatus::Complete);
    let (detail, error) = match why {
        Some(PartitionStatus::Failed { error }) => (Some(error.message.clone()), Some(error)),
        Some(PartitionStatus::Skipped { reason }) => (Some(reason.clone()), None),
        _ => (None, None),
    };
    NotCompared {
        account: key.account.clone(),
        region: key.region.clone(),
        kind: key.kind.clone(),
        before: word(a),
        after: word(b),
        detail,
        problem_kind: error.and_then(|e| e.kind),
        code: error.and_then(|e| e.code.clone()),
        request_id: error.and_then(|e| e.request_id.clone()),
        stale_resources: b.filter(|p| p.stale).map(|p| p.resources).unwrap_or(0),
    }
}

fn decode(key: &PartitionKey, json: &[u8]) -> Result<Resource> {
    object::decode_resource(key, json).map_err(|reason| Error::SnapshotDamaged {
        path: format!("partition {key}").into(),
        reason,
    })
}

/// Adds what differs between partition `x` of `a` and `y` of `b` to `d`.
fn compare_partition(
    a: &dyn PartitionSource,
    b: &dyn PartitionSource,
    x: &PartitionInfo,
    y: &PartitionInfo,
    d: &mut Diff,
) -> Result<()> {
    // Adjacent versions: `y`'s object is usually a delta on `x`'s, whose
    // operations name the records that changed.
    if let (Some(va), Some(vb)) = (a.version(), b.version())
        && std::ptr::eq(va.store(), vb.store())
        && let Some(()) = vb
            .store()
            .delta_pair(entry(va, x)?, entry(vb, y)?, |changes| {
                compare_changes(&y.key, &changes, d)
            })?
    {
        return Ok(());
    }
    let (ra, rb) = (a.load(x)?, b.load(y)?);
    compare(&x.key, &ra, &rb, d)
}

/// What a delta changes, as a diff (the same as [`compare`] of its base and
/// the delta applied).
fn compare_changes(key: &PartitionKey, changes: &[object::Change<'_>], d: &mut Diff) -> Result<()> {
    for c in changes {
        match c {
            object::Change::Removed(json) => d.removed.push(decode(key, json)?),
            object::Change::Added(json) => d.added.push(decode(key, json)?),
            object::Change::Replaced(old, new) => {
                if *old != new.as_ref() {
                    changed(key, old, new, d)?;
                }
            }
        }
    }
    Ok(())
}

/// Merge-join of two partitions' records by id; only differing bytes are decoded.
fn compare(key: &PartitionKey, a: &Records, b: &Records, d: &mut Diff) -> Result<()> {
    let (mut a, mut b) = (a.raw().peekable(), b.raw().peekable());
    loop {
        let ord = match (a.peek(), b.peek()) {
            (None, None) => return Ok(()),
            (x, y) => object::merge_order(x, y, |r| r.0),
        };
        match ord {
            std::cmp::Ordering::Less => {
                let Some((_, x)) = a.next() else { continue };
                d.removed.push(decode(key, x)?);
            }
            std::cmp::Ordering::Greater => {
                let Some((_, y)) = b.next() else { continue };
                d.added.push(decode(key, y)?);
            }
            std::cmp::Ordering::Equal => {
                let (Some((_, x)), Some((_, y))) = (a.next(), b.next()) else {
                    continue;
                };
                if x != y {
                    changed(key, x, y, d)?;
                }
            }
        }
    }
}

/// A resource present on both sides with different bytes.
fn changed(key: &PartitionKey, a: &[u8], b: &[u8], d: &mut Diff) -> Result<()> {
    let (x, y) = (decode(key, a)?, decode(key, b)?);
    let fields = field_changes(&x, &y);
    if !fields.is_empty() {
        d.changed.push(Changed {
            address: y.address,
            account: y.account,
            region: y.region,
            kind: y.kind,
            id: y.id,
            fields,
            tags: y.tags,
        });
    }
    Ok(())
}

/// The fields that differ between two versions of one resource.
pub fn field_changes(a: &Resource, b: &Resource) -> Vec<FieldChange> {
    use serde_json::Value;
    let mut out = Vec::new();
    let s = |v: &Option<String>| v.as_ref().map(|s| Value::String(s.clone()));
    let mut one = |path: String, before: Option<Value>, after: Option<Value>| {
        if before != after {
            out.push(FieldChange {
                path,
                before,
                after,
            });
        }
    };
    one(
        "native_type".into(),
        Some(Value::String(a.native_type.clone())),
        Some(Value::String(b.native_type.clone())),
    );
    one("name".into(), s(&a.name), s(&b.name));
    one("status".into(), s(&a.status), s(&b.status));
    let keys: BTreeSet<&String> = a.tags.keys().chain(b.tags.keys()).collect();
    for k in keys {
        one(
            format!("tags.{k}"),
            a.tags.get(k).map(|v| Value::String(v.clone())),
            b.tags.get(k).map(|v| Value::String(v.clone())),
        );
    }
    let keys: BTreeSet<&String> = a.attributes.keys().chain(b.attributes.keys()).collect();
    for k in keys {
        one(
            format!("attributes.{k}"),
            a.attributes.get(k).cloned(),
            b.attributes.get(k).cloned(),
        );
    }
    out
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // damage and fixtures are written as they are
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::snapshot::object::tests::{Rng, mutate, resource};
    use crate::snapshot::store::Store;

    /// A version read only through `load`: the general path of the diff.
    struct Slow<'a>(&'a Version<'a>);

    impl PartitionSource for Slow<'_> {
        fn partitions(&self) -> Vec<PartitionInfo> {
            self.0.partitions()
        }
        fn load(&self, p: &PartitionInfo) -> Result<Arc<Records>> {
            self.0.load(p)
        }
    }

    fn rekey(r: &Resource, key: &PartitionKey) -> Resource {
        Resource {
            address: Resource::address_of(key, &r.id),
            account: key.account.clone(),
            region: key.region.clone(),
            kind: key.kind.clone(),
            ..r.clone()
        }
    }

    /// Random histories: the diff through the deltas of adjacent versions
    /// is the diff of the whole records, for adjacent and distant versions.
    #[test]
    fn delta_diffs_match_record_diffs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path());
        let lock = store.lock("test", Duration::ZERO).unwrap();
        let mut rng = Rng(3);
        let keys: Vec<PartitionKey> = ["us-east-1", "eu-west-1", "ap-south-1"]
            .iter()
            .map(|r| PartitionKey {
                account: "aws.a".parse().unwrap(),
                region: (*r).into(),
                kind: "instance".into(),
            })
            .collect();
        let mut world: Vec<BTreeMap<String, Resource>> = keys
            .iter()
            .map(|k| {
                (0..40)
                    .map(|i| {
                        let id = format!("i-{i:04}");
                        (id.clone(), rekey(&resource(&mut rng, &id), k))
                    })
                    .collect()
            })
            .collect();
        let mut next = 1000;
        let mut deltas = 0;
        for v in 0..25 {
            let mut w = store.writer(&lock, store.latest().unwrap()).unwrap();
            for (p, k) in keys.iter().enumerate() {
                if v > 0 {
                    for _ in 0..rng.below(4) {
                        let part = &mut world[p];
                        let id = part.keys().nth(rng.below(part.len())).cloned().unwrap();
                        match rng.below(5) {
                            0 => {
                                next += 1;
                                let id = format!("i-{next:04}");
                                part.insert(id.clone(), rekey(&resource(&mut rng, &id), k));
                            }
                            1 => {
                                part.remove(&id);
                            }
                            _ => {
                                let r = rekey(&mutate(&mut rng, &part[&id]), k);
                                part.insert(id, r);
                            }
                        }
                    }
                }
                let rs = world[p].values().cloned().collect();
                if w.add(Partition::new(k.clone(), rs)).unwrap() == crate::snapshot::Stored::Delta {
                    deltas += 1;
                }
            }
            w.commit().unwrap();
        }
        assert!(deltas > 30, "{deltas} deltas");
        let ids = store.versions().unwrap();
        let mut fast = 0;
        for (i, &a) in ids.iter().enumerate() {
            for &b in &ids[i + 1..] {
                let (va, vb) = (store.version(a).unwrap(), store.version(b).unwrap());
                let want = diff(&Slow(&va), &Slow(&vb)).unwrap();
                assert_eq!(diff(&va, &vb).unwrap(), want, "{a} -> {b}");
                for ((_, ea), (_, eb)) in va.manifest.partitions().zip(vb.manifest.partitions()) {
                    if store.delta_pair(ea, eb, |_| Ok(())).unwrap().is_some() {
                        fast += 1;
                    }
                }
            }
        }
        assert!(fast > 30, "{fast} partitions through their delta");
    }

    fn aws_key(account: &str, region: &str) -> PartitionKey {
        PartitionKey {
            account: account.parse().unwrap(),
            region: region.into(),
            kind: "instance".into(),
        }
    }

    /// A byte flipped in any object a diff of adjacent versions opens (the
    /// newer delta, a delta under it, the full object at the bottom, even in
    /// a record no delta names) is damage naming its pack, never a diff.
    #[test]
    fn a_flipped_byte_under_an_adjacent_diff_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path());
        let lock = store.lock("test", Duration::ZERO).unwrap();
        let mut rng = Rng(5);
        let k = aws_key("aws.a", "us-east-1");
        let mut part: BTreeMap<String, Resource> = (0..50)
            .map(|i| {
                let id = format!("i-{i:04}");
                (id.clone(), rekey(&resource(&mut rng, &id), &k))
            })
            .collect();
        for v in 0..3 {
            if v > 0 {
                let id = format!("i-{:04}", 10 * v);
                part.get_mut(&id).unwrap().name = Some(format!("renamed in {v}"));
            }
            let mut w = store.writer(&lock, store.latest().unwrap()).unwrap();
            w.add(Partition::new(k.clone(), part.values().cloned().collect()))
                .unwrap();
            w.commit().unwrap();
        }
        drop(lock);
        let refs: Vec<crate::snapshot::object::ObjectRef> = (1..=3)
            .map(|v| {
                let v = store.version(v).unwrap();
                v.entry(0).unwrap().object_ref().unwrap()
            })
            .collect();
        let pack = |r: &crate::snapshot::object::ObjectRef| {
            dir.path()
                .join(format!("packs/{:08}-{:04}.pack", r.version, r.segment))
        };
        let good = diff(&store.version(2).unwrap(), &store.version(3).unwrap()).unwrap();
        assert_eq!(good.changed.len(), 1, "{good:?}");
        // The newer delta, the delta under it, and the full object's last
        // record (the deltas name records 10 and 20, not 49).
        for (r, at) in [
            (refs[2], refs[2].len as u64 / 2),
            (refs[1], refs[1].len as u64 / 2),
            (refs[0], refs[0].len as u64 - 20),
        ] {
            let path = pack(&r);
            let bytes = std::fs::read(&path).unwrap();
            let mut bad = bytes.clone();
            bad[(r.offset + at) as usize] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            // A fresh store: nothing cached from the good read.
            let store = Store::open(dir.path());
            let err = diff(&store.version(2).unwrap(), &store.version(3).unwrap()).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::SnapshotDamaged { .. }), "{text}");
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(text.contains(&name) && text.contains("checksum"), "{text}");
            std::fs::write(&path, &bytes).unwrap();
        }
        let store = Store::open(dir.path());
        assert_eq!(
            diff(&store.version(2).unwrap(), &store.version(3).unwrap()).unwrap(),
            good
        );
    }

    /// A store written before objects had checksums: a version added to it
    /// rests its deltas on unchecked objects, and the diff through them
    /// (built and checked by content hash) is the diff of the whole records.
    #[test]
    fn adjacent_diffs_on_objects_without_checksums_use_the_content_hash() {
        let dir = tempfile::tempdir().unwrap();
        let fixture =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshot-v1");
        for sub in ["packs", "versions"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            for f in std::fs::read_dir(fixture.join(sub)).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), dir.path().join(sub).join(f.file_name())).unwrap();
            }
        }
        let store = Store::open(dir.path());
        let v2 = store.version(2).unwrap();
        let info = v2
            .partitions()
            .into_iter()
            .find(|p| p.key == aws_key("aws.a", "us-east-1") && is_complete(p))
            .unwrap();
        let slot = info.slot;
        let old = v2.entry(slot).unwrap().object_ref().unwrap();
        let pack = std::fs::read(
            dir.path()
                .join(format!("packs/{:08}-0000.pack", old.version)),
        )
        .unwrap();
        let at = old.offset as usize;
        assert!(!crate::snapshot::object::is_checked(
            &pack[at..at + old.len as usize]
        ));
        let recs = v2.load(&info).unwrap();
        let mut rs: Vec<Resource> = recs
            .iter()
            .map(|r| decode(&info.key, r.json).unwrap())
            .collect();
        rs[0].name = Some("renamed".into());
        drop(v2);
        let lock = store.lock("test", Duration::ZERO).unwrap();
        let mut w = store.writer(&lock, Some(2)).unwrap();
        assert_eq!(
            w.add(Partition::new(info.key.clone(), rs)).unwrap(),
            crate::snapshot::Stored::Delta
        );
        w.commit().unwrap();
        drop(lock);
        let (v2, v3) = (store.version(2).unwrap(), store.version(3).unwrap());
        let want = diff(&Slow(&v2), &Slow(&v3)).unwrap();
        assert_eq!(want.changed.len(), 1, "{want:?}");
        assert_eq!(diff(&v2, &v3).unwrap(), want);
        let (ea, eb) = (v2.entry(slot).unwrap(), v3.entry(slot).unwrap());
        assert!(store.delta_pair(ea, eb, |_| Ok(())).unwrap().is_some());
    }
}
