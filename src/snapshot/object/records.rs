//! [`Records`]: a partition's content in memory, its framed records in one
//! buffer plus an index in id order; the content hash over the frames.

use sha2::{Digest, Sha256};

use super::format::{put_bytes, take_bytes};
use super::hash::{Hash, hash_of};
use super::record::{check_belongs, encode_resource};
use crate::inventory::{PartitionKey, Resource};

/// One record of a [`Records`]: the resource's id and its canonical JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub id: &'a str,
    pub json: &'a [u8],
}

/// Where one record's frame (`put_bytes(id)`, `put_bytes(json)`) sits in
/// the buffer of its [`Records`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub(super) at: usize,
    pub(super) id_len: u32,
    pub(super) json_len: u32,
}

impl Span {
    pub(super) fn id_range(&self) -> std::ops::Range<usize> {
        self.at + 4..self.at + 4 + self.id_len as usize
    }
    pub(super) fn json_range(&self) -> std::ops::Range<usize> {
        let start = self.at + 8 + self.id_len as usize;
        start..start + self.json_len as usize
    }
    pub(super) fn frame_range(&self) -> std::ops::Range<usize> {
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
    pub(super) buf: Vec<u8>,
    pub(super) spans: Vec<Span>,
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

    /// The memory it holds: its buffer and index.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.spans.capacity() * std::mem::size_of::<Span>()
    }

    pub(super) fn id_at(&self, i: usize) -> &[u8] {
        &self.buf[self.spans[i].id_range()]
    }

    pub(super) fn json_at(&self, i: usize) -> &[u8] {
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
            out.push_resource(key, r)?;
        }
        out.finish();
        Ok(out)
    }

    /// Appends the record of `r`, a resource of partition `key`, in any
    /// order: the way a partition is built as its pages arrive, each
    /// resource encoded and dropped. [`Records::finish`] orders them.
    pub fn push_resource(&mut self, key: &PartitionKey, r: &Resource) -> Result<(), String> {
        check_belongs(key, r)?;
        self.push(r.id.as_bytes(), &encode_resource(r))
    }

    /// Orders the records pushed by id (of equal ids the first pushed is
    /// kept) and packs the buffer to exactly their frames, in order, with no
    /// spare capacity: what stays in memory until the partition is stored.
    pub fn finish(&mut self) {
        self.sort_dedup();
        self.compact();
        self.buf.shrink_to_fit();
        self.spans.shrink_to_fit();
    }

    /// The framed records, borrowed when the buffer is exactly them (as
    /// [`Records::finish`] leaves it), copied otherwise.
    pub fn frames(&self) -> std::borrow::Cow<'_, [u8]> {
        if self.is_compact() {
            return std::borrow::Cow::Borrowed(&self.buf);
        }
        std::borrow::Cow::Owned(self.body())
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
    pub(super) fn hash_frames(&self, h: &mut Sha256, from: usize, to: usize, compact: bool) {
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
    pub(super) fn is_compact(&self) -> bool {
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
    pub(super) fn compact(&mut self) {
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
pub(super) fn push_frame(buf: &mut Vec<u8>, id: &[u8], json: &[u8]) -> Result<Span, String> {
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
