//! The bytes of stored partitions: canonical records, full objects, deltas.
//!
//! A partition's *content* is its records in id order, each the canonical
//! JSON of the resource without the fields its key implies (address,
//! account, region, type). The content hash is SHA-256 over the framed
//! records ([`Records::body`]): the same resources always give the same
//! bytes and the same hash.
//!
//! An *object* is how content sits in a pack: either `F` + the framed
//! records (full), or `D` + a reference to a base object + operations
//! (remove an id, insert a record, patch a record's top-level fields). A
//! delta is always against the object of the same partition in the parent
//! version, so a chain is that partition's history; chains are bounded by
//! [`MAX_DEPTH`].
//!
//! Decoding never panics: every length is checked against the buffer, and a
//! short or malformed object is an error the store reports as damage.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::inventory::{PartitionKey, Resource};

/// Longest delta chain before a full object is written again.
pub const MAX_DEPTH: u16 = 64;

/// A SHA-256 content hash.
pub type Hash = [u8; 32];

pub fn hex(h: &Hash) -> String {
    hex::encode(h)
}

pub fn parse_hex(s: &str) -> Option<Hash> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

/// Where an object sits: pack `<version>-<segment>.pack`, byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub version: u64,
    pub segment: u32,
    pub offset: u64,
    pub len: u32,
}

/// One stored record: the resource's id and its canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub json: Vec<u8>,
}

/// A resource as stored: what its partition key does not already say.
#[derive(Serialize)]
struct StoredRef<'a> {
    id: &'a str,
    native_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: Cow<'a, BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    id: String,
    native_type: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    attributes: BTreeMap<String, serde_json::Value>,
}

/// Object keys sorted at every depth, whatever map type serde_json uses.
fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<&String, serde_json::Value> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn needs_canonical(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => {
            m.keys().zip(m.keys().skip(1)).any(|(a, b)| a >= b) || m.values().any(needs_canonical)
        }
        serde_json::Value::Array(a) => a.iter().any(needs_canonical),
        _ => false,
    }
}

/// Why a resource cannot be stored in a partition.
pub fn check_belongs(key: &PartitionKey, r: &Resource) -> Result<(), String> {
    if r.account != key.account || r.region != key.region || r.kind != key.kind {
        return Err(format!(
            "resource `{}` is in {}/{}/{}, not in partition {key}",
            r.address, r.account, r.region, r.kind
        ));
    }
    let want = Resource::address_of(key, &r.id);
    if r.address != want {
        return Err(format!(
            "resource `{}` should have the address `{want}`",
            r.address
        ));
    }
    Ok(())
}

/// The canonical stored JSON of one resource.
pub fn encode_resource(r: &Resource) -> Vec<u8> {
    let attributes = if r.attributes.values().any(needs_canonical) {
        Cow::Owned(
            r.attributes
                .iter()
                .map(|(k, v)| (k.clone(), canonical(v)))
                .collect(),
        )
    } else {
        Cow::Borrowed(&r.attributes)
    };
    let s = StoredRef {
        id: &r.id,
        native_type: &r.native_type,
        name: r.name.as_deref(),
        status: r.status.as_deref(),
        tags: &r.tags,
        attributes,
    };
    // Serializing plain strings and JSON values cannot fail.
    serde_json::to_vec(&s).unwrap_or_default()
}

/// A stored record back into a resource of partition `key`.
pub fn decode_resource(key: &PartitionKey, json: &[u8]) -> Result<Resource, String> {
    let s: Stored = serde_json::from_slice(json).map_err(|e| format!("bad record: {e}"))?;
    Ok(Resource {
        address: Resource::address_of(key, &s.id),
        account: key.account.clone(),
        region: key.region.clone(),
        kind: key.kind.clone(),
        native_type: s.native_type,
        id: s.id,
        name: s.name,
        status: s.status,
        tags: s.tags,
        attributes: s.attributes,
    })
}

/// A partition's content: records sorted by id, unique ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records(pub Vec<Record>);

impl Records {
    /// Records of resources already sorted by id with unique ids (a `Partition`'s).
    pub fn from_resources(key: &PartitionKey, resources: &[Resource]) -> Result<Records, String> {
        let mut out = Vec::with_capacity(resources.len());
        for r in resources {
            check_belongs(key, r)?;
            out.push(Record {
                id: r.id.clone(),
                json: encode_resource(r),
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(Records(out))
    }

    /// The framed records: what the content hash covers and a full object holds.
    pub fn body(&self) -> Vec<u8> {
        let size: usize = self.0.iter().map(|r| 8 + r.id.len() + r.json.len()).sum();
        let mut b = Vec::with_capacity(size);
        for r in &self.0 {
            put_bytes(&mut b, r.id.as_bytes());
            put_bytes(&mut b, &r.json);
        }
        b
    }

    /// The content hash: SHA-256 of [`Records::body`], computed without
    /// building the body.
    pub fn hash(&self) -> Hash {
        let mut h = Sha256::new();
        for r in &self.0 {
            // The same framing as `put_bytes`.
            h.update((r.id.len() as u32).to_le_bytes());
            h.update(r.id.as_bytes());
            h.update((r.json.len() as u32).to_le_bytes());
            h.update(&r.json);
        }
        h.finalize().into()
    }

    pub fn parse_body(mut b: &[u8]) -> Result<Records, String> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let id = take_str(&mut b)?;
            let json = take_bytes(&mut b)?.to_vec();
            out.push(Record { id, json });
        }
        if out.windows(2).any(|w| w[0].id >= w[1].id) {
            return Err("records out of order".into());
        }
        Ok(Records(out))
    }
}

/// The step of a merge-join of two sorted sequences: `Less` takes from the
/// left, `Greater` from the right, `Equal` from both. Never both `None`.
pub fn merge_order<T, K: Ord + ?Sized>(
    a: Option<&T>,
    b: Option<&T>,
    key: impl Fn(&T) -> &K,
) -> std::cmp::Ordering {
    match (a, b) {
        (Some(x), Some(y)) => key(x).cmp(key(y)),
        (Some(_), None) => std::cmp::Ordering::Less,
        _ => std::cmp::Ordering::Greater,
    }
}

pub fn hash_of(body: &[u8]) -> Hash {
    Sha256::digest(body).into()
}

/// A parsed object.
pub enum Object {
    Full(Records),
    Delta {
        base: ObjectRef,
        depth: u16,
        ops: Vec<Op>,
    },
}

pub enum Op {
    Remove(String),
    Insert(Record),
    /// Top-level fields replaced; `null` removes a field.
    Patch(String, Vec<u8>),
}

pub fn full_object(body: &[u8]) -> Vec<u8> {
    let mut o = Vec::with_capacity(body.len() + 1);
    o.push(b'F');
    o.extend_from_slice(body);
    o
}

/// A delta from `base` (the records of the object at `base_ref`) to `new`.
/// `None` when it would not be much smaller than the full object.
pub fn delta_object(
    base_ref: ObjectRef,
    depth: u16,
    base: &Records,
    new: &Records,
    full_len: usize,
) -> Option<Vec<u8>> {
    let mut o = vec![b'D'];
    o.extend_from_slice(&base_ref.version.to_le_bytes());
    o.extend_from_slice(&base_ref.segment.to_le_bytes());
    o.extend_from_slice(&base_ref.offset.to_le_bytes());
    o.extend_from_slice(&base_ref.len.to_le_bytes());
    o.extend_from_slice(&depth.to_le_bytes());
    let limit = full_len / 2;
    let (mut i, mut j) = (0, 0);
    let (a, b) = (&base.0, &new.0);
    while i < a.len() || j < b.len() {
        let ord = merge_order(a.get(i), b.get(j), |r| &r.id);
        match ord {
            std::cmp::Ordering::Less => {
                o.push(b'R');
                put_bytes(&mut o, a[i].id.as_bytes());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                o.push(b'I');
                put_bytes(&mut o, b[j].id.as_bytes());
                put_bytes(&mut o, &b[j].json);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if a[i].json != b[j].json {
                    match patch(&a[i].json, &b[j].json) {
                        Some(p) if p.len() < b[j].json.len() => {
                            o.push(b'P');
                            put_bytes(&mut o, b[j].id.as_bytes());
                            put_bytes(&mut o, &p);
                        }
                        _ => {
                            o.push(b'I');
                            put_bytes(&mut o, b[j].id.as_bytes());
                            put_bytes(&mut o, &b[j].json);
                        }
                    }
                }
                i += 1;
                j += 1;
            }
        }
        if o.len() > limit {
            return None;
        }
    }
    Some(o)
}

/// The top-level fields of `new` that differ from `old` (`null` = removed).
fn patch(old: &[u8], new: &[u8]) -> Option<Vec<u8>> {
    let old: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(old).ok()?;
    let new: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(new).ok()?;
    let mut p = BTreeMap::new();
    for (k, v) in &new {
        if old.get(k) != Some(v) {
            p.insert(k.clone(), v.clone());
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) {
            p.insert(k.clone(), serde_json::Value::Null);
        }
    }
    serde_json::to_vec(&p).ok()
}

fn apply_patch(old: &[u8], p: &[u8]) -> Result<Vec<u8>, String> {
    let mut rec: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(old).map_err(|e| format!("bad record under a patch: {e}"))?;
    let p: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(p).map_err(|e| format!("bad patch: {e}"))?;
    for (k, v) in p {
        if v.is_null() {
            rec.remove(&k);
        } else {
            rec.insert(k, v);
        }
    }
    // Re-encode exactly as `encode_resource` would: through the typed record.
    let s: Stored = serde_json::from_value(serde_json::Value::Object(rec.into_iter().collect()))
        .map_err(|e| format!("bad patched record: {e}"))?;
    let attributes = s.attributes;
    let sr = StoredRef {
        id: &s.id,
        native_type: &s.native_type,
        name: s.name.as_deref(),
        status: s.status.as_deref(),
        tags: &s.tags,
        attributes: Cow::Borrowed(&attributes),
    };
    serde_json::to_vec(&sr).map_err(|e| e.to_string())
}

pub fn parse_object(bytes: &[u8]) -> Result<Object, String> {
    let (&kind, mut rest) = bytes.split_first().ok_or("empty object")?;
    match kind {
        b'F' => Ok(Object::Full(Records::parse_body(rest)?)),
        b'D' => {
            let version = u64::from_le_bytes(take_n(&mut rest)?);
            let segment = u32::from_le_bytes(take_n(&mut rest)?);
            let offset = u64::from_le_bytes(take_n(&mut rest)?);
            let len = u32::from_le_bytes(take_n(&mut rest)?);
            let depth = u16::from_le_bytes(take_n(&mut rest)?);
            let mut ops = Vec::new();
            while let Some((&op, r)) = rest.split_first() {
                rest = r;
                ops.push(match op {
                    b'R' => Op::Remove(take_str(&mut rest)?),
                    b'I' => {
                        let id = take_str(&mut rest)?;
                        Op::Insert(Record {
                            id,
                            json: take_bytes(&mut rest)?.to_vec(),
                        })
                    }
                    b'P' => {
                        let id = take_str(&mut rest)?;
                        Op::Patch(id, take_bytes(&mut rest)?.to_vec())
                    }
                    other => return Err(format!("unknown delta operation {other:#x}")),
                });
            }
            Ok(Object::Delta {
                base: ObjectRef {
                    version,
                    segment,
                    offset,
                    len,
                },
                depth,
                ops,
            })
        }
        other => Err(format!("unknown object kind {other:#x}")),
    }
}

/// Applies delta operations (in id order) to the base records (moved, not copied).
pub fn apply_delta(base: Records, ops: Vec<Op>) -> Result<Records, String> {
    let mut out: Vec<Record> = Vec::with_capacity(base.0.len() + ops.len());
    let mut a = base.0.into_iter().peekable();
    for op in ops {
        let id = match &op {
            Op::Remove(id) | Op::Patch(id, _) => id.clone(),
            Op::Insert(r) => r.id.clone(),
        };
        while let Some(r) = a.next_if(|r| r.id < id) {
            out.push(r);
        }
        let here = a.next_if(|r| r.id == id);
        match (op, here) {
            (Op::Remove(_), Some(_)) => {}
            (Op::Insert(r), _) => out.push(r),
            (Op::Patch(id, p), Some(old)) => {
                let json = apply_patch(&old.json, &p)?;
                out.push(Record { id, json });
            }
            _ => return Err(format!("delta names `{id}`, which its base does not hold")),
        }
    }
    out.extend(a);
    if out.windows(2).any(|w| w[0].id >= w[1].id) {
        return Err("delta operations out of order".into());
    }
    Ok(Records(out))
}

fn put_bytes(b: &mut Vec<u8>, s: &[u8]) {
    // Records and ids are far below 4 GiB; a larger one cannot come from a vendor page.
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s);
}

fn take_n<const N: usize>(b: &mut &[u8]) -> Result<[u8; N], String> {
    if b.len() < N {
        return Err("object is truncated".into());
    }
    let (h, t) = b.split_at(N);
    *b = t;
    h.try_into().map_err(|_| "object is truncated".to_string())
}

fn take_bytes<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let n = u32::from_le_bytes(take_n(b)?) as usize;
    if b.len() < n {
        return Err("object is truncated".into());
    }
    let (h, t) = b.split_at(n);
    *b = t;
    Ok(h)
}

fn take_str(b: &mut &[u8]) -> Result<String, String> {
    let s = take_bytes(b)?;
    String::from_utf8(s.to_vec()).map_err(|_| "id is not UTF-8".to_string())
}

#[cfg(test)]
mod hash_tests {
    use super::*;

    /// The streamed content hash is the hash of the framed body.
    #[test]
    fn hash_equals_the_hash_of_the_body() {
        let recs = Records(vec![
            Record {
                id: "a".into(),
                json: br#"{"x":1}"#.to_vec(),
            },
            Record {
                id: "b-\u{e9}".into(),
                json: Vec::new(),
            },
        ]);
        assert_eq!(recs.hash(), hash_of(&recs.body()));
        assert_eq!(Records::default().hash(), hash_of(&[]));
    }
}
