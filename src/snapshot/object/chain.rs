//! A few records of an object read through its delta chain, without
//! building the object: what a diff of adjacent versions needs from the
//! older side (the records the newer delta names), and the changes that
//! delta makes.
//!
//! The chain is read newest first ([`Lookup::delta`]), down to the full
//! object at its bottom ([`Lookup::full`]) or until every id is settled: an
//! insert or a removal settles an id; a patch is kept and applied, oldest
//! first, on the record found below it ([`Lookup::finish`]).

use std::borrow::Cow;

use super::delta::Change;
use super::format::{Op, take_bytes};
use super::patch::apply_patch;

/// What is known of one id so far.
#[derive(Clone, Copy)]
enum Found<'a> {
    Pending,
    Present(&'a [u8]),
    Absent,
}

/// Ids (in order) looked up through one chain.
pub struct Lookup<'a> {
    ids: Vec<&'a [u8]>,
    found: Vec<Found<'a>>,
    /// Per id, the patches met so far, newest first.
    patches: Vec<Vec<&'a [u8]>>,
    pending: usize,
}

impl<'a> Lookup<'a> {
    /// Looks up the ids `ops` name (in the order of the operations, which
    /// must be strictly ascending, as a delta holds them).
    pub fn of(ops: &[Op<'a>]) -> Result<Self, String> {
        let ids: Vec<&'a [u8]> = ops.iter().map(Op::id).collect();
        if ids.windows(2).any(|w| w[0] >= w[1]) {
            return Err("delta operations out of order".into());
        }
        Ok(Lookup {
            found: vec![Found::Pending; ids.len()],
            patches: vec![Vec::new(); ids.len()],
            pending: ids.len(),
            ids,
        })
    }

    /// Whether some id is still to be found further down the chain.
    pub fn pending(&self) -> bool {
        self.pending > 0
    }

    /// Reads the next delta down the chain (operations in id order).
    pub fn delta(&mut self, ops: &[Op<'a>]) -> Result<(), String> {
        let mut j = 0;
        let mut prev: Option<&[u8]> = None;
        for op in ops {
            let id = op.id();
            if prev.is_some_and(|p| p >= id) {
                return Err("delta operations out of order".into());
            }
            prev = Some(id);
            while j < self.ids.len() && self.ids[j] < id {
                j += 1;
            }
            if j == self.ids.len() {
                break;
            }
            if self.ids[j] != id || !matches!(self.found[j], Found::Pending) {
                continue;
            }
            match *op {
                Op::Remove(_) => self.settle(j, Found::Absent),
                Op::Insert(_, json) => self.settle(j, Found::Present(json)),
                Op::Patch(_, p) => self.patches[j].push(p),
            }
        }
        Ok(())
    }

    /// Reads the full object at the bottom of the chain (its framed records).
    pub fn full(&mut self, body: &'a [u8]) -> Result<(), String> {
        let mut rest = body;
        let mut j = 0;
        let mut prev: Option<&[u8]> = None;
        while !rest.is_empty() && j < self.ids.len() {
            let id = take_bytes(&mut rest)?;
            let json = take_bytes(&mut rest)?;
            if prev.is_some_and(|p| p >= id) {
                return Err("records out of order".into());
            }
            prev = Some(id);
            while j < self.ids.len() && self.ids[j] < id {
                j += 1;
            }
            if j < self.ids.len() && self.ids[j] == id && matches!(self.found[j], Found::Pending) {
                self.settle(j, Found::Present(json));
            }
        }
        // What the full object does not hold was never there.
        for j in 0..self.ids.len() {
            if matches!(self.found[j], Found::Pending) {
                self.settle(j, Found::Absent);
            }
        }
        Ok(())
    }

    fn settle(&mut self, j: usize, f: Found<'a>) {
        self.found[j] = f;
        self.pending -= 1;
    }

    /// Each id's record at the top of the chain (`None`: not there), in the
    /// order of the ids; errors when an id is still pending.
    pub fn finish(self) -> Result<Vec<Option<Cow<'a, [u8]>>>, String> {
        let mut out = Vec::with_capacity(self.ids.len());
        for ((id, found), patches) in self.ids.iter().zip(self.found).zip(self.patches) {
            let mut rec = match found {
                Found::Pending => return Err("the delta chain ends without a full object".into()),
                Found::Absent if patches.is_empty() => None,
                Found::Absent => {
                    return Err(format!(
                        "a delta patches `{}`, which its base does not hold",
                        String::from_utf8_lossy(id)
                    ));
                }
                Found::Present(json) => Some(Cow::Borrowed(json)),
            };
            for p in patches.iter().rev() {
                if let Some(r) = &rec {
                    rec = Some(Cow::Owned(apply_patch(r, p)?));
                }
            }
            out.push(rec);
        }
        Ok(out)
    }
}

/// What `ops` change, given the records they name as their base holds
/// them (`olds`, from [`Lookup::finish`] on the same operations).
pub fn changes<'x>(
    ops: &[Op<'x>],
    olds: &'x [Option<Cow<'x, [u8]>>],
) -> Result<Vec<Change<'x>>, String> {
    let mut out = Vec::with_capacity(ops.len());
    for (op, old) in ops.iter().zip(olds) {
        let old = old.as_deref();
        out.push(match (*op, old) {
            (Op::Remove(_), Some(old)) => Change::Removed(old),
            (Op::Insert(id, json), old) => {
                std::str::from_utf8(id).map_err(|_| "id is not UTF-8".to_string())?;
                match old {
                    Some(old) => Change::Replaced(old, Cow::Borrowed(json)),
                    None => Change::Added(json),
                }
            }
            (Op::Patch(_, p), Some(old)) => Change::Replaced(old, Cow::Owned(apply_patch(old, p)?)),
            (op, None) => {
                return Err(format!(
                    "delta names `{}`, which its base does not hold",
                    String::from_utf8_lossy(op.id())
                ));
            }
        });
    }
    Ok(out)
}
