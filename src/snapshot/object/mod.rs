//! The bytes of stored partitions: canonical records, full objects, deltas.
//!
//! A partition's *content* is its records in id order, each the canonical
//! JSON of the resource without the fields its key implies (address,
//! account, region, type). The content hash is SHA-256 over the framed
//! records ([`Records::body`]): the same resources always give the same
//! bytes and the same hash.
//!
//! An *object* is how content sits in a pack: either `f` + the framed
//! records (full), or `d` + a reference to a base object + operations
//! (remove an id, insert a record, patch a record's top-level fields), each
//! ending with a checksum of its bytes. A delta is always against the object
//! of the same partition in the parent version, so a chain is that
//! partition's history; chains are bounded by [`MAX_DEPTH`].
//!
//! Two checks, for two reads: a read that builds a partition's records
//! checks them against the content hash; a read of a few records through a
//! chain (a diff of adjacent versions) checks the checksum of every object
//! it opens, which costs a small fraction of hashing the whole content.
//!
//! Decoding never panics: every length is checked against the buffer, and a
//! short or malformed object is an error the store reports as damage.
//!
//! One concept a file: `record.rs` (one resource's canonical JSON),
//! `records.rs` ([`Records`], a partition's framed records), `hash.rs`
//! (content hashes), `format.rs` (the bytes of full and delta objects),
//! `delta.rs` (building, applying and reading deltas), `chain.rs` (a few
//! records read through a delta chain), `patch.rs` (top-level field
//! patches). Everything public is re-exported here.

mod chain;
mod delta;
mod format;
mod hash;
mod patch;
mod record;
mod records;

pub use chain::{Lookup, changes as chain_changes};
pub use delta::{Change, apply_chain, apply_delta, delta_changes, delta_object};
pub use format::{
    Object, ObjectRef, Op, delta_base, full_body, full_len, is_checked, parse_object,
    put_full_object,
};
pub use hash::{Hash, hash_of, hex, parse_hex};
pub use record::{check_belongs, decode_resource, encode_resource};
pub use records::{Record, Records, merge_order};

/// Longest delta chain before a full object is written again.
pub const MAX_DEPTH: u16 = 64;

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::inventory::{PartitionKey, Resource};

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
        let mut deltas: Vec<Vec<u8>> = Vec::new();
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
            deltas.push(d);
            // The whole chain so far in one pass: the same records.
            let parsed: Vec<Vec<Op<'_>>> = deltas
                .iter()
                .map(|d| match parse_object(d).unwrap() {
                    Object::Delta { ops, .. } => ops,
                    Object::Full(_) => panic!("a delta"),
                })
                .collect();
            let chain: Vec<&[Op<'_>]> = parsed.iter().map(Vec::as_slice).collect();
            let once = apply_chain(Records::default(), &chain).unwrap();
            assert_eq!(once, new, "after {} deltas", chain.len());
            assert_eq!(once.hash(), new.hash());
            assert_eq!(state, new);
            assert_eq!(state.hash(), new.hash());
            assert_eq!(state.hash(), hash_of(&state.body()));
            assert_eq!(Records::parse_body(&state.body()).unwrap(), new);
        }
        assert!(next > 50 && state.len() > 20, "{next} {}", state.len());
    }

    /// A chain with a bad delta fails as applying it alone would, naming
    /// that delta: a removal of a record its base does not hold, and
    /// operations out of order.
    #[test]
    fn a_chain_names_the_delta_at_fault() {
        let frame = |ops: &[(u8, &str, &str)]| {
            let mut o = vec![b'D'];
            o.extend_from_slice(&[0; 26]);
            for (op, id, json) in ops {
                o.push(*op);
                format::put_bytes(&mut o, id.as_bytes());
                if *op != b'R' {
                    format::put_bytes(&mut o, json.as_bytes());
                }
            }
            o
        };
        fn parse(d: &[u8]) -> Vec<Op<'_>> {
            match parse_object(d).unwrap() {
                Object::Delta { ops, .. } => ops,
                Object::Full(_) => panic!("a delta"),
            }
        }
        let add = frame(&[(b'I', "a", "{}"), (b'I', "b", "{}")]);
        let drop_c = frame(&[(b'R', "c", "")]);
        let backwards = frame(&[(b'I', "d", "{}"), (b'I', "c", "{}")]);
        let ok = frame(&[(b'R', "a", "")]);
        for (deltas, at, why) in [
            (vec![&add, &ok, &drop_c], 2, "does not hold"),
            (vec![&add, &backwards, &ok], 1, "out of order"),
        ] {
            let parsed: Vec<Vec<Op<'_>>> = deltas.iter().map(|d| parse(d)).collect();
            let chain: Vec<&[Op<'_>]> = parsed.iter().map(Vec::as_slice).collect();
            let (n, e) = apply_chain(Records::default(), &chain).unwrap_err();
            assert_eq!(n, at, "{e}");
            assert!(e.contains(why), "{e}");
            let mut state = Records::default();
            let mut failed = None;
            for (i, ops) in chain.iter().enumerate() {
                match apply_delta(state.clone(), ops) {
                    Ok(s) => state = s,
                    Err(e) => {
                        failed = Some((i, e));
                        break;
                    }
                }
            }
            let (i, e1) = failed.expect("one delta at a time fails too");
            assert_eq!(i, at);
            assert!(e1.contains(why), "{e1}");
        }
    }
}
