//! Deltas between two versions of a partition's records: building one
//! ([`delta_object`], patches where they are smaller), applying one
//! ([`apply_delta`]) and reading only what it changes, with the content hash
//! ([`delta_changes`]).

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::format::{ObjectRef, Op, put_bytes, seal};
use super::hash::Hash;
use super::patch::{apply_patch, patch};
use super::records::{Records, Span, push_frame};

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

/// A delta from `base` (the records of the object at `base_ref`) to `new`.
/// `None` when it would not be much smaller than the full object.
pub fn delta_object(
    base_ref: ObjectRef,
    depth: u16,
    base: &Records,
    new: &Records,
    full_len: usize,
) -> Option<Vec<u8>> {
    let mut o = vec![b'd'];
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
    seal(&mut o, 0);
    Some(o)
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

/// Applies a chain of deltas, oldest first, to the base records in one pass:
/// the records no operation names stay where they are, and each record
/// that some do gets its operations in chain order. The outcome is that of
/// [`apply_delta`] once per delta, with the same errors for a delta whose
/// operations are out of order or name a record its own base does not
/// hold, at a cost of the base plus the operations, not of the base times
/// the chain's length. An error comes with the place in `chain` of the
/// delta at fault.
pub fn apply_chain(base: Records, chain: &[&[Op<'_>]]) -> Result<Records, (usize, String)> {
    match chain {
        [] => return Ok(base),
        [one] => return apply_delta(base, one).map_err(|e| (0, e)),
        _ => {}
    }
    // Every operation with the place of its delta in the chain, by id and
    // then chain order.
    let mut ops: Vec<(usize, &Op<'_>)> = Vec::with_capacity(chain.iter().map(|d| d.len()).sum());
    for (n, delta) in chain.iter().enumerate() {
        if delta.windows(2).any(|w| w[0].id() >= w[1].id()) {
            return Err((n, "delta operations out of order".into()));
        }
        ops.extend(delta.iter().map(|op| (n, op)));
    }
    ops.sort_by(|a, b| a.1.id().cmp(b.1.id()).then(a.0.cmp(&b.0)));
    let Records { mut buf, spans } = base;
    let mut out: Vec<Span> = Vec::with_capacity(spans.len() + ops.len());
    let mut a = spans.into_iter().peekable();
    let mut k = 0;
    while k < ops.len() {
        let id = ops[k].1.id();
        let end = k + ops[k..].iter().take_while(|(_, op)| op.id() == id).count();
        while let Some(s) = a.next_if(|s| &buf[s.id_range()] < id) {
            out.push(s);
        }
        let here = a.next_if(|s| &buf[s.id_range()] == id);
        // The record as each delta of its operations leaves it.
        let mut now: Option<Cow<'_, [u8]>> = here.map(|s| Cow::Owned(buf[s.json_range()].to_vec()));
        for &(n, op) in &ops[k..end] {
            now = match (op, now) {
                (Op::Remove(_), Some(_)) => None,
                (Op::Insert(_, json), _) => Some(Cow::Borrowed(*json)),
                (Op::Patch(_, p), Some(old)) => {
                    Some(Cow::Owned(apply_patch(&old, p).map_err(|e| (n, e))?))
                }
                _ => {
                    return Err((
                        n,
                        format!(
                            "delta names `{}`, which its base does not hold",
                            String::from_utf8_lossy(id)
                        ),
                    ));
                }
            };
        }
        match (now, here) {
            // Named, and left as it was: the frame stays where it is.
            (Some(json), Some(s)) if *json == buf[s.json_range()] => out.push(s),
            (Some(json), _) => {
                let n = ops[end - 1].0;
                out.push(push_frame(&mut buf, id, &json).map_err(|e| (n, e))?);
            }
            (None, _) => {}
        }
        k = end;
    }
    out.extend(a);
    let mut recs = Records { buf, spans: out };
    let live: usize = recs.spans.iter().map(|s| s.frame_range().len()).sum();
    if recs.buf.len() > 2 * live {
        recs.compact();
    }
    Ok(recs)
}
