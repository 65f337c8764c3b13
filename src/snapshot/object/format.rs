//! The bytes of an object in a pack: `f` + the framed records, or `d` + the
//! base it rests on, its chain depth and the operations, each followed by
//! its checksum (the XXH3-64 of the bytes before it, little-endian).
//! [`ObjectRef`] says where one sits. Parsing checks the checksum and every
//! length against the buffer.
//!
//! Objects written before checksums (`F` and `D`, the same without the
//! checksum) are still read; what only a checksum makes safe (reading a
//! delta's changes without building and hashing its whole content, see
//! [`is_checked`]) falls back to the content hash for them.

use super::records::Records;

/// Where an object sits: pack `<version>-<segment>.pack`, byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub version: u64,
    pub segment: u32,
    pub offset: u64,
    pub len: u32,
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

#[derive(Clone, Copy)]
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

/// Bytes of the checksum that ends an object of kind `f` or `d`.
pub const SUM_LEN: usize = 8;

/// The length of the full object of `body`.
pub fn full_len(body: &[u8]) -> usize {
    1 + body.len() + SUM_LEN
}

/// Appends the full object of `body` to `buf` (a pack being written).
pub fn put_full_object(buf: &mut Vec<u8>, body: &[u8]) {
    let at = buf.len();
    buf.reserve(full_len(body));
    buf.push(b'f');
    buf.extend_from_slice(body);
    seal(buf, at);
}

/// Ends the object that starts at `at` in `buf` with its checksum.
pub(super) fn seal(buf: &mut Vec<u8>, at: usize) {
    let sum = xxhash_rust::xxh3::xxh3_64(&buf[at..]);
    buf.extend_from_slice(&sum.to_le_bytes());
}

/// Whether the object carries a checksum (kinds `f` and `d`).
pub fn is_checked(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(b'f' | b'd'))
}

/// The object's kind and content after the kind byte, its checksum
/// checked and cut off when it has one.
fn open(bytes: &[u8]) -> Result<(u8, &[u8]), String> {
    let (&kind, rest) = bytes.split_first().ok_or("empty object")?;
    match kind {
        b'F' | b'D' => Ok((kind.to_ascii_lowercase(), rest)),
        b'f' | b'd' => {
            let at = bytes
                .len()
                .checked_sub(SUM_LEN)
                .filter(|&at| at >= 1)
                .ok_or("object is truncated")?;
            let (body, sum) = bytes.split_at(at);
            let want = u64::from_le_bytes(sum.try_into().map_err(|_| "object is truncated")?);
            if xxhash_rust::xxh3::xxh3_64(body) != want {
                return Err("the object does not match its checksum".into());
            }
            Ok((kind, &body[1..]))
        }
        other => Err(format!("unknown object kind {other:#x}")),
    }
}

/// The base a delta object names, without reading its operations; `None`
/// for a full object.
pub fn delta_base(bytes: &[u8]) -> Result<Option<ObjectRef>, String> {
    let (&kind, mut rest) = bytes.split_first().ok_or("empty object")?;
    match kind {
        b'F' | b'f' => Ok(None),
        b'D' | b'd' => Ok(Some(ObjectRef {
            version: u64::from_le_bytes(take_n(&mut rest)?),
            segment: u32::from_le_bytes(take_n(&mut rest)?),
            offset: u64::from_le_bytes(take_n(&mut rest)?),
            len: u32::from_le_bytes(take_n(&mut rest)?),
        })),
        other => Err(format!("unknown object kind {other:#x}")),
    }
}

/// The framed records of a full object, its checksum checked (when it has
/// one); `None` for a delta.
pub fn full_body(bytes: &[u8]) -> Result<Option<&[u8]>, String> {
    match open(bytes)? {
        (b'f', body) => Ok(Some(body)),
        _ => Ok(None),
    }
}

pub fn parse_object(bytes: &[u8]) -> Result<Object<'_>, String> {
    let (kind, mut rest) = open(bytes)?;
    match kind {
        b'f' => Ok(Object::Full(Records::parse_body(rest)?)),
        b'd' => {
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

pub(super) fn put_bytes(b: &mut Vec<u8>, s: &[u8]) {
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

pub(super) fn take_bytes<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let n = u32::from_le_bytes(take_n(b)?) as usize;
    if b.len() < n {
        return Err("object is truncated".into());
    }
    let (h, t) = b.split_at(n);
    *b = t;
    Ok(h)
}
