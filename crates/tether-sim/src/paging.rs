//! Pagination over one partition: by last id (opaque tokens, markers) as a
//! `BTreeMap` range, or by page number as a skip. Both touch only the
//! partition being listed.

use std::ops::Bound;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::world::{Partition, Resource};

/// An opaque continuation token for the item `id` (the last one served).
pub fn token(id: &str) -> String {
    B64.encode(format!("v1:{id}"))
}

/// The id inside a token, if it is one of ours.
pub fn untoken(t: &str) -> Option<String> {
    let b = B64.decode(t).ok()?;
    String::from_utf8(b)
        .ok()?
        .strip_prefix("v1:")
        .map(str::to_string)
}

/// Up to `limit` items after `last` that pass `keep`, and whether more remain.
pub fn after<'a>(
    part: &'a Partition,
    last: Option<&str>,
    limit: usize,
    keep: impl Fn(&Resource) -> bool,
) -> (Vec<&'a Resource>, bool) {
    let range = match last {
        Some(t) => part.range::<str, _>((Bound::Excluded(t), Bound::Unbounded)),
        None => part.range::<str, _>(..),
    };
    let mut out = Vec::new();
    for (_, r) in range {
        if !keep(r) {
            continue;
        }
        if out.len() == limit {
            return (out, true);
        }
        out.push(r);
    }
    (out, false)
}

/// Page `page` (from 1) of `size` items that pass `keep`, and the total count.
pub fn numbered(
    part: &Partition,
    page: usize,
    size: usize,
    filtered: bool,
    keep: impl Fn(&Resource) -> bool,
) -> (Vec<&Resource>, usize) {
    let skip = page.saturating_sub(1).saturating_mul(size);
    if !filtered {
        let items = part.values().skip(skip).take(size).collect();
        return (items, part.len());
    }
    let mut total = 0;
    let mut items = Vec::new();
    for r in part.values() {
        if keep(r) {
            if total >= skip && items.len() < size {
                items.push(r);
            }
            total += 1;
        }
    }
    (items, total)
}
