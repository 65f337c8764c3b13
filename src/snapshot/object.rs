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
    let mut h = [0; 32];
    hex::decode_to_slice(s, &mut h).ok()?;
    Some(h)
}

/// Where an object sits: pack `<version>-<segment>.pack`, byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub version: u64,
    pub segment: u32,
    pub offset: u64,
    pub len: u32,
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

/// One record of a [`Records`]: the resource's id and its canonical JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub id: &'a str,
    pub json: &'a [u8],
}

/// Where one record's frame (`put_bytes(id)`, `put_bytes(json)`) sits in
/// the buffer of its [`Records`].
#[derive(Debug, Clone, Copy)]
struct Span {
    at: usize,
    id_len: u32,
    json_len: u32,
}

impl Span {
    fn id_range(&self) -> std::ops::Range<usize> {
        self.at + 4..self.at + 4 + self.id_len as usize
    }
    fn json_range(&self) -> std::ops::Range<usize> {
        let start = self.at + 8 + self.id_len as usize;
        start..start + self.json_len as usize
    }
    fn frame_range(&self) -> std::ops::Range<usize> {
        self.at..self.at + 8 + self.id_len as usize + self.json_len as usize
    }
}

/// A partition's content: records sorted by id, unique ids.
///
/// The records are held as their frames in one buffer (a full object's body
/// is copied in as it is) plus an index in id order: reading an object is
/// one copy, not two allocations per record, and a delta appends the frames
/// it inserts or patches and rewrites the index. Ids are checked to be UTF-8
/// when a record is added.
#[derive(Debug, Clone, Default)]
pub struct Records {
    buf: Vec<u8>,
    spans: Vec<Span>,
}

impl PartialEq for Records {
    fn eq(&self, other: &Records) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Records {}

impl Records {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn id_at(&self, i: usize) -> &[u8] {
        &self.buf[self.spans[i].id_range()]
    }

    fn json_at(&self, i: usize) -> &[u8] {
        &self.buf[self.spans[i].json_range()]
    }

    fn record(&self, s: &Span) -> Record<'_> {
        Record {
            // Checked when the record was added (`push`, `parse_body`, `apply_delta`).
            id: std::str::from_utf8(&self.buf[s.id_range()]).unwrap_or_default(),
            json: &self.buf[s.json_range()],
        }
    }

    pub fn get(&self, i: usize) -> Option<Record<'_>> {
        self.spans.get(i).map(|s| self.record(s))
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Record<'_>> + Clone + '_ {
        self.spans.iter().map(|s| self.record(s))
    }

    /// A copy with room in the buffer for the frames of a few deltas.
    pub fn clone_with_room(&self) -> Records {
        let mut buf = Vec::with_capacity(self.buf.len() + room(self.buf.len()));
        buf.extend_from_slice(&self.buf);
        Records {
            buf,
            spans: self.spans.clone(),
        }
    }

    /// (id, JSON) of every record, the id as bytes: what a merge-join by id
    /// needs, without checking the ids' UTF-8 again.
    pub fn raw(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans
            .iter()
            .map(|s| (&self.buf[s.id_range()], &self.buf[s.json_range()]))
    }

    /// Appends a record; the caller keeps the id order.
    fn push(&mut self, id: &[u8], json: &[u8]) -> Result<(), String> {
        let span = push_frame(&mut self.buf, id, json)?;
        self.spans.push(span);
        Ok(())
    }

    /// Records from (id, canonical JSON) pairs in any order; the first of
    /// equal ids is kept.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Records, String> {
        let mut out = Records::default();
        for (id, json) in pairs {
            out.push(id.as_bytes(), json)?;
        }
        out.sort_dedup();
        Ok(out)
    }

    fn sort_dedup(&mut self) {
        let buf = &self.buf;
        if self
            .spans
            .windows(2)
            .any(|w| buf[w[0].id_range()] >= buf[w[1].id_range()])
        {
            // Stable: of equal ids, the first added stays first and is kept.
            self.spans
                .sort_by(|a, b| buf[a.id_range()].cmp(&buf[b.id_range()]));
            self.spans
                .dedup_by(|a, b| buf[a.id_range()] == buf[b.id_range()]);
        }
    }

    /// Records of resources already sorted by id with unique ids (a `Partition`'s).
    pub fn from_resources(key: &PartitionKey, resources: &[Resource]) -> Result<Records, String> {
        let mut out = Records::default();
        for r in resources {
            check_belongs(key, r)?;
            out.push(r.id.as_bytes(), &encode_resource(r))?;
        }
        out.sort_dedup();
        Ok(out)
    }

    /// The index of the first record whose id is not below `id`.
    pub fn position(&self, id: &[u8]) -> usize {
        self.spans.partition_point(|s| &self.buf[s.id_range()] < id)
    }

    /// The SHA-256 state after the first `k` records' frames, and the
    /// content hash: what a delta on these records shares with them.
    pub fn hash_split(&self, k: usize) -> (Sha256, Hash) {
        let mut h = Sha256::new();
        let mut part = None;
        if self.is_compact() {
            let mid = self.spans.get(k).map_or(self.buf.len(), |s| s.at);
            h.update(&self.buf[..mid]);
            part = Some(h.clone());
            h.update(&self.buf[mid..]);
        } else {
            for (i, s) in self.spans.iter().enumerate() {
                if i == k {
                    part = Some(h.clone());
                }
                h.update(&self.buf[s.frame_range()]);
            }
        }
        let part = part.unwrap_or_else(|| h.clone());
        (part, h.finalize().into())
    }

    /// Feeds the frames of records `from..to` to `h` (`compact`: [`Records::is_compact`]).
    fn hash_frames(&self, h: &mut Sha256, from: usize, to: usize, compact: bool) {
        if from >= to {
            return;
        }
        if compact {
            h.update(&self.buf[self.spans[from].at..self.spans[to - 1].frame_range().end]);
        } else {
            for s in &self.spans[from..to] {
                h.update(&self.buf[s.frame_range()]);
            }
        }
    }

    /// Whether the buffer holds exactly the frames, in order: then it is the body.
    fn is_compact(&self) -> bool {
        let mut at = 0;
        for s in &self.spans {
            if s.at != at {
                return false;
            }
            at = s.frame_range().end;
        }
        at == self.buf.len()
    }

    /// Drops the frames no record refers to (replaced by a delta).
    fn compact(&mut self) {
        if self.is_compact() {
            return;
        }
        let mut buf = Vec::with_capacity(self.spans.iter().map(|s| s.frame_range().len()).sum());
        for s in &mut self.spans {
            let r = s.frame_range();
            s.at = buf.len();
            buf.extend_from_slice(&self.buf[r]);
        }
        self.buf = buf;
    }

    /// The framed records: what the content hash covers and a full object holds.
    pub fn body(&self) -> Vec<u8> {
        if self.is_compact() {
            return self.buf.clone();
        }
        let mut b = Vec::with_capacity(self.spans.iter().map(|s| s.frame_range().len()).sum());
        for s in &self.spans {
            b.extend_from_slice(&self.buf[s.frame_range()]);
        }
        b
    }

    /// The content hash: SHA-256 of [`Records::body`], computed without
    /// building the body.
    pub fn hash(&self) -> Hash {
        if self.is_compact() {
            return hash_of(&self.buf);
        }
        let mut h = Sha256::new();
        for s in &self.spans {
            h.update(&self.buf[s.frame_range()]);
        }
        h.finalize().into()
    }

    pub fn parse_body(b: &[u8]) -> Result<Records, String> {
        let mut spans = Vec::new();
        let mut rest = b;
        let mut prev: Option<&[u8]> = None;
        while !rest.is_empty() {
            let at = b.len() - rest.len();
            let id = take_bytes(&mut rest)?;
            std::str::from_utf8(id).map_err(|_| "id is not UTF-8".to_string())?;
            let json = take_bytes(&mut rest)?;
            if prev.is_some_and(|p| p >= id) {
                return Err("records out of order".into());
            }
            prev = Some(id);
            spans.push(Span {
                at,
                id_len: id.len() as u32,
                json_len: json.len() as u32,
            });
        }
        let mut buf = Vec::with_capacity(b.len() + room(b.len()));
        buf.extend_from_slice(b);
        Ok(Records { buf, spans })
    }
}

/// Spare buffer for the deltas applied on top of a read object: the frames
/// they append then seldom move the whole buffer.
fn room(len: usize) -> usize {
    len / 4 + 4096
}

/// Appends one frame to `buf`.
fn push_frame(buf: &mut Vec<u8>, id: &[u8], json: &[u8]) -> Result<Span, String> {
    std::str::from_utf8(id).map_err(|_| "id is not UTF-8".to_string())?;
    let (Ok(id_len), Ok(json_len)) = (u32::try_from(id.len()), u32::try_from(json.len())) else {
        return Err("a record larger than 4 GiB".into());
    };
    let at = buf.len();
    put_bytes(buf, id);
    put_bytes(buf, json);
    Ok(Span {
        at,
        id_len,
        json_len,
    })
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

/// A parsed object; delta operations borrow the object's bytes.
pub enum Object<'a> {
    Full(Records),
    Delta {
        base: ObjectRef,
        depth: u16,
        ops: Vec<Op<'a>>,
    },
}

pub enum Op<'a> {
    /// The id of a record removed.
    Remove(&'a [u8]),
    /// A record (id, JSON) inserted or replaced whole.
    Insert(&'a [u8], &'a [u8]),
    /// Top-level fields replaced (id, patch); `null` removes a field.
    Patch(&'a [u8], &'a [u8]),
}

impl<'a> Op<'a> {
    pub fn id(&self) -> &'a [u8] {
        match *self {
            Op::Remove(id) | Op::Insert(id, _) | Op::Patch(id, _) => id,
        }
    }
}

/// What a delta does to one record of its base.
#[derive(Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Removed(&'a [u8]),
    Added(&'a [u8]),
    /// Before and after (maybe the same bytes).
    Replaced(&'a [u8], Cow<'a, [u8]>),
}

/// The records `ops` change in `base`, and the content hash of `base` with
/// `ops` applied, without building those records: `h` is the state after
/// the frames of `base`'s records before `from` (see
/// [`Records::hash_split`]), and no operation may name an id before them.
pub fn delta_changes<'a>(
    base: &'a Records,
    ops: &[Op<'a>],
    mut h: Sha256,
    from: usize,
) -> Result<(Hash, Vec<Change<'a>>), String> {
    let mut out = Vec::with_capacity(ops.len());
    let compact = base.is_compact();
    let mut i = from.min(base.len());
    let mut prev: Option<&[u8]> = (from > 0).then(|| base.id_at(from - 1));
    let frame = |h: &mut Sha256, id: &[u8], json: &[u8]| {
        h.update((id.len() as u32).to_le_bytes());
        h.update(id);
        h.update((json.len() as u32).to_le_bytes());
        h.update(json);
    };
    for op in ops {
        let id = op.id();
        if prev.is_some_and(|p| p >= id) {
            return Err("delta operations out of order".into());
        }
        prev = Some(id);
        let start = i;
        while i < base.len() && base.id_at(i) < id {
            i += 1;
        }
        base.hash_frames(&mut h, start, i, compact);
        let here = (i < base.len() && base.id_at(i) == id).then(|| {
            i += 1;
            base.json_at(i - 1)
        });
        match (op, here) {
            (Op::Remove(_), Some(old)) => out.push(Change::Removed(old)),
            (Op::Insert(id, json), old) => {
                std::str::from_utf8(id).map_err(|_| "id is not UTF-8".to_string())?;
                frame(&mut h, id, json);
                out.push(match old {
                    Some(old) => Change::Replaced(old, Cow::Borrowed(json)),
                    None => Change::Added(json),
                });
            }
            (Op::Patch(id, p), Some(old)) => {
                let json = apply_patch(old, p)?;
                frame(&mut h, id, &json);
                out.push(Change::Replaced(old, Cow::Owned(json)));
            }
            _ => {
                return Err(format!(
                    "delta names `{}`, which its base does not hold",
                    String::from_utf8_lossy(id)
                ));
            }
        }
    }
    base.hash_frames(&mut h, i, base.len(), compact);
    Ok((h.finalize().into(), out))
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
    let (na, nb) = (base.len(), new.len());
    while i < na || j < nb {
        let ord = match (i < na, j < nb) {
            (true, true) => base.id_at(i).cmp(new.id_at(j)),
            (true, false) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                o.push(b'R');
                put_bytes(&mut o, base.id_at(i));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                o.push(b'I');
                put_bytes(&mut o, new.id_at(j));
                put_bytes(&mut o, new.json_at(j));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (old, now) = (base.json_at(i), new.json_at(j));
                if old != now {
                    match patch(old, now) {
                        Some(p) if p.len() < now.len() => {
                            o.push(b'P');
                            put_bytes(&mut o, new.id_at(j));
                            put_bytes(&mut o, &p);
                        }
                        _ => {
                            o.push(b'I');
                            put_bytes(&mut o, new.id_at(j));
                            put_bytes(&mut o, now);
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

/// The fields of a stored record, in the order `StoredRef` writes them.
const FIELDS: [&[u8]; 6] = [
    b"\"id\"",
    b"\"native_type\"",
    b"\"name\"",
    b"\"status\"",
    b"\"tags\"",
    b"\"attributes\"",
];

/// The top-level members (quoted key, value) of a compact JSON object, as
/// raw bytes. `None` for anything else (whitespace included).
pub(crate) fn members(json: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut out = Vec::with_capacity(6);
    if json.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    if json.get(i) == Some(&b'}') {
        return (json.len() == 2).then_some(out);
    }
    loop {
        if json.get(i) != Some(&b'"') {
            return None;
        }
        let k_end = skip_string(json, i)?;
        if json.get(k_end) != Some(&b':') {
            return None;
        }
        let v_end = skip_value(json, k_end + 1)?;
        out.push((&json[i..k_end], &json[k_end + 1..v_end]));
        match json.get(v_end) {
            Some(b',') => i = v_end + 1,
            Some(b'}') if v_end + 1 == json.len() => return Some(out),
            _ => return None,
        }
    }
}

/// The end of the JSON value starting at `start`. Strings and nesting are
/// followed; a scalar runs to the next `,`, `:`, `}` or `]`. Values are not
/// checked further (the content hash is).
fn skip_value(b: &[u8], start: usize) -> Option<usize> {
    let composite = matches!(b.get(start)?, b'"' | b'{' | b'[');
    let mut i = start;
    let mut depth = 0usize;
    loop {
        match *b.get(i)? {
            b'"' => i = skip_string(b, i)?,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' if depth == 0 => break,
            b'}' | b']' => {
                depth -= 1;
                i += 1;
            }
            b',' | b':' if depth == 0 => break,
            b' ' | b'\t' | b'\n' | b'\r' => return None,
            _ => i += 1,
        }
        if composite && depth == 0 {
            return Some(i);
        }
    }
    (i > start && !composite).then_some(i)
}

/// The end of the JSON string whose opening quote is at `i`.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match *b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// A record's fields by `FIELDS` position, or `None` when it is not in the
/// form `encode_resource` writes (unknown or repeated field, out of order).
fn record_fields(json: &[u8]) -> Option<[Option<&[u8]>; 6]> {
    let mut out = [None; 6];
    let mut next = 0;
    for (k, v) in members(json)? {
        let f = FIELDS.iter().position(|f| *f == k)?;
        if f < next {
            return None;
        }
        out[f] = Some(v);
        next = f + 1;
    }
    Some(out)
}

/// The top-level fields of `new` that differ from `old` (`null` = removed),
/// as a JSON object in key order. Values are copied as they are, so the
/// patch applied to `old` gives back exactly `new`.
fn patch(old: &[u8], new: &[u8]) -> Option<Vec<u8>> {
    let (o, n) = (record_fields(old)?, record_fields(new)?);
    // Key order of the object (what a sorted map writes).
    let mut order: Vec<usize> = (0..FIELDS.len()).collect();
    order.sort_by_key(|&f| FIELDS[f]);
    let changed = order.into_iter().filter_map(|f| match (o[f], n[f]) {
        (a, Some(b)) if a != Some(b) => Some((f, b)),
        (Some(_), None) => Some((f, b"null".as_slice())),
        _ => None,
    });
    let mut p = Vec::new();
    put_object(&mut p, changed);
    // Only a patch that gives back `new` exactly is worth storing.
    (apply_patch_raw(old, &p)? == new).then_some(p)
}

/// `old` with the top-level fields of `p` replaced.
fn apply_patch(old: &[u8], p: &[u8]) -> Result<Vec<u8>, String> {
    match apply_patch_raw(old, p) {
        Some(v) => Ok(v),
        None => apply_patch_typed(old, p),
    }
}

/// [`apply_patch`] on the bytes: the record's fields and the patch's values
/// are spliced as they are, in the order `StoredRef` writes them. `None`
/// when either is not in the form the writer produces (the typed path
/// decides then).
fn apply_patch_raw(old: &[u8], p: &[u8]) -> Option<Vec<u8>> {
    let mut fields = record_fields(old)?;
    let mut seen = [false; 6];
    for (k, v) in members(p)? {
        let f = FIELDS.iter().position(|f| *f == k)?;
        if std::mem::replace(&mut seen[f], true) {
            return None;
        }
        fields[f] = (v != b"null").then_some(v);
    }
    // What the typed record would refuse or write differently.
    let [id, native_type, name, status, tags, attributes] = fields;
    if id.is_none()
        || native_type.is_none()
        || [name, status].contains(&Some(b"null".as_slice()))
        || [tags, attributes].contains(&Some(b"{}".as_slice()))
    {
        return None;
    }
    let mut out = Vec::with_capacity(old.len() + p.len());
    put_object(
        &mut out,
        fields
            .iter()
            .enumerate()
            .filter_map(|(f, v)| v.map(|v| (f, v))),
    );
    Some(out)
}

/// Appends `{"field":value,…}`: each of `FIELDS[f]` (already quoted) with
/// its raw JSON value, in the order given.
fn put_object<'v>(out: &mut Vec<u8>, fields: impl Iterator<Item = (usize, &'v [u8])>) {
    out.push(b'{');
    for (i, (f, v)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(FIELDS[f]);
        out.push(b':');
        out.extend_from_slice(v);
    }
    out.push(b'}');
}

/// [`apply_patch`] through the typed record, re-encoded as `encode_resource` would.
fn apply_patch_typed(old: &[u8], p: &[u8]) -> Result<Vec<u8>, String> {
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

/// The base a delta object names, without reading its operations; `None`
/// for a full object.
pub fn delta_base(bytes: &[u8]) -> Result<Option<ObjectRef>, String> {
    let (&kind, mut rest) = bytes.split_first().ok_or("empty object")?;
    match kind {
        b'F' => Ok(None),
        b'D' => Ok(Some(ObjectRef {
            version: u64::from_le_bytes(take_n(&mut rest)?),
            segment: u32::from_le_bytes(take_n(&mut rest)?),
            offset: u64::from_le_bytes(take_n(&mut rest)?),
            len: u32::from_le_bytes(take_n(&mut rest)?),
        })),
        other => Err(format!("unknown object kind {other:#x}")),
    }
}

pub fn parse_object(bytes: &[u8]) -> Result<Object<'_>, String> {
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
                    b'R' => Op::Remove(take_bytes(&mut rest)?),
                    b'I' => {
                        let id = take_bytes(&mut rest)?;
                        Op::Insert(id, take_bytes(&mut rest)?)
                    }
                    b'P' => {
                        let id = take_bytes(&mut rest)?;
                        Op::Patch(id, take_bytes(&mut rest)?)
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

/// Applies delta operations (in id order) to the base records (moved, not
/// copied): kept records stay where they are in the buffer, inserted and
/// patched ones are appended.
pub fn apply_delta(base: Records, ops: &[Op<'_>]) -> Result<Records, String> {
    let Records { mut buf, spans } = base;
    // A patched record is at most its old bytes plus the patch.
    let longest = spans.iter().map(|s| s.json_len as usize).max().unwrap_or(0);
    let need: usize = ops
        .iter()
        .map(|op| match op {
            Op::Remove(_) => 0,
            Op::Insert(id, json) => 8 + id.len() + json.len(),
            Op::Patch(id, p) => 8 + id.len() + p.len() + longest,
        })
        .sum();
    buf.reserve(need);
    let mut out: Vec<Span> = Vec::with_capacity(spans.len() + ops.len());
    let mut a = spans.into_iter().peekable();
    for op in ops {
        let id = op.id();
        while let Some(s) = a.next_if(|s| &buf[s.id_range()] < id) {
            out.push(s);
        }
        let here = a.next_if(|s| &buf[s.id_range()] == id);
        match (op, here) {
            (Op::Remove(_), Some(_)) => {}
            (Op::Insert(id, json), _) => out.push(push_frame(&mut buf, id, json)?),
            (Op::Patch(id, p), Some(old)) => {
                let json = apply_patch(&buf[old.json_range()], p)?;
                out.push(push_frame(&mut buf, id, &json)?);
            }
            _ => {
                return Err(format!(
                    "delta names `{}`, which its base does not hold",
                    String::from_utf8_lossy(id)
                ));
            }
        }
    }
    out.extend(a);
    if out
        .windows(2)
        .any(|w| buf[w[0].id_range()] >= buf[w[1].id_range()])
    {
        return Err("delta operations out of order".into());
    }
    let mut recs = Records { buf, spans: out };
    // Replaced frames are dropped once they outweigh the live ones.
    let live: usize = recs.spans.iter().map(|s| s.frame_range().len()).sum();
    if recs.buf.len() > 2 * live {
        recs.compact();
    }
    Ok(recs)
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

#[cfg(test)]
mod hash_tests {
    use super::*;

    /// The streamed content hash is the hash of the framed body.
    #[test]
    fn hash_equals_the_hash_of_the_body() {
        let recs = Records::from_pairs([
            ("b-\u{e9}", b"".as_slice()),
            ("a", br#"{"x":1}"#.as_slice()),
        ])
        .unwrap();
        assert_eq!(recs.hash(), hash_of(&recs.body()));
        assert_eq!(Records::default().hash(), hash_of(&[]));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// splitmix64: reproducible randomness without a dependency.
    pub(crate) struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    pub(crate) fn key() -> PartitionKey {
        PartitionKey {
            account: "aws.a".parse().unwrap(),
            region: "us-east-1".into(),
            kind: "instance".into(),
        }
    }

    fn value(rng: &mut Rng, depth: usize) -> serde_json::Value {
        use serde_json::json;
        match rng.below(if depth > 1 { 5 } else { 7 }) {
            0 => json!(null),
            1 => json!(rng.below(2) == 0),
            2 => json!(rng.next() as i64),
            3 => json!(rng.below(1000) as f64 / 4.0),
            4 => json!(["x\"y", "\\", "tab\t", "é ü", "\u{1}", ""][rng.below(6)]),
            5 => {
                serde_json::Value::Array((0..rng.below(3)).map(|_| value(rng, depth + 1)).collect())
            }
            _ => serde_json::Value::Object(
                (0..rng.below(4))
                    .map(|i| (format!("k{}{}", rng.below(3), i), value(rng, depth + 1)))
                    .collect(),
            ),
        }
    }

    /// A resource with every optional field sometimes absent or empty.
    pub(crate) fn resource(rng: &mut Rng, id: &str) -> Resource {
        let k = key();
        let pick = |rng: &mut Rng, s: &[&str]| s[rng.below(s.len())].to_string();
        Resource {
            address: Resource::address_of(&k, id),
            account: k.account.clone(),
            region: k.region.clone(),
            kind: k.kind.clone(),
            native_type: pick(rng, &["AWS::EC2::Instance", "AWS::EC2::VPC"]),
            id: id.into(),
            name: (rng.below(4) > 0).then(|| pick(rng, &["web", "db \"main\"", "ü"])),
            status: (rng.below(4) > 0).then(|| pick(rng, &["running", "stopped"])),
            tags: (0..rng.below(4))
                .map(|i| (format!("t{i}"), pick(rng, &["a", "b", "c\\d"])))
                .collect(),
            attributes: (0..rng.below(5))
                .map(|i| (format!("a{}", i + rng.below(3)), value(rng, 0)))
                .collect(),
        }
    }

    /// One of the resource's fields changed, added or dropped at random.
    pub(crate) fn mutate(rng: &mut Rng, r: &Resource) -> Resource {
        let mut n = r.clone();
        let fresh = resource(rng, &r.id);
        match rng.below(6) {
            0 => n.native_type = fresh.native_type,
            1 => n.name = fresh.name,
            2 => n.status = fresh.status,
            3 => n.tags = fresh.tags,
            4 => n.attributes = fresh.attributes,
            _ => n = fresh,
        }
        n
    }

    /// The splice on the bytes gives what the typed re-encoding gives, and
    /// every patch the writer makes gives back the new record exactly.
    #[test]
    fn raw_patch_matches_the_typed_patch() {
        let mut rng = Rng(7);
        let mut patched = 0;
        for i in 0..5000 {
            let old = resource(&mut rng, &format!("i-{i}"));
            let new = mutate(&mut rng, &old);
            let (o, n) = (encode_resource(&old), encode_resource(&new));
            if o == n {
                continue;
            }
            let p = patch(&o, &n).expect("canonical records always patch");
            assert_eq!(apply_patch_raw(&o, &p).as_deref(), Some(n.as_slice()));
            assert_eq!(apply_patch_typed(&o, &p).unwrap(), n);
            patched += 1;
        }
        assert!(patched > 4000);
        // What the typed path refuses, the raw path does not take either.
        let o = encode_resource(&resource(&mut Rng(1), "i-1"));
        for p in [
            br#"{"id":null}"#.as_slice(),
            br#"{"unknown":1}"#,
            br#"{"tags":{}}"#,
            br#"{"name":null,"name":"x"}"#,
            br#"{ "name":"x"}"#,
        ] {
            assert_eq!(
                apply_patch_raw(&o, p),
                None,
                "{}",
                String::from_utf8_lossy(p)
            );
        }
        assert_eq!(members(br#"{}"#), Some(Vec::new()));
        assert_eq!(
            members(br#"{"a":[1,{"b":"}"}],"c":2}"#).map(|m| m.len()),
            Some(2)
        );
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":1}x",
        ] {
            assert_eq!(members(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    /// Random histories: every delta applied to its base gives the next
    /// version's records and content hash.
    #[test]
    fn delta_chains_rebuild_every_version() {
        let mut rng = Rng(11);
        let k = key();
        let mut world: BTreeMap<String, Resource> = BTreeMap::new();
        let mut next = 0;
        let r0 = ObjectRef {
            version: 1,
            segment: 0,
            offset: 0,
            len: 0,
        };
        let mut state = Records::default();
        for _ in 0..60 {
            for _ in 0..rng.below(6) {
                match rng.below(5) {
                    0 | 1 => {
                        next += 1;
                        let id = format!("i-{:05}", rng.below(100_000));
                        world.insert(id.clone(), resource(&mut rng, &id));
                    }
                    2 if !world.is_empty() => {
                        let id = world.keys().nth(rng.below(world.len())).cloned().unwrap();
                        world.remove(&id);
                    }
                    _ if !world.is_empty() => {
                        let id = world.keys().nth(rng.below(world.len())).cloned().unwrap();
                        let r = mutate(&mut rng, &world[&id]);
                        world.insert(id, r);
                    }
                    _ => {}
                }
            }
            let rs: Vec<Resource> = world.values().cloned().collect();
            let new = Records::from_resources(&k, &rs).unwrap();
            let d = delta_object(r0, 1, &state, &new, usize::MAX).unwrap();
            let Object::Delta { ops, .. } = parse_object(&d).unwrap() else {
                panic!("a delta")
            };
            state = apply_delta(state, &ops).unwrap();
            assert_eq!(state, new);
            assert_eq!(state.hash(), new.hash());
            assert_eq!(state.hash(), hash_of(&state.body()));
            assert_eq!(Records::parse_body(&state.body()).unwrap(), new);
        }
        assert!(next > 50 && state.len() > 20, "{next} {}", state.len());
    }
}
