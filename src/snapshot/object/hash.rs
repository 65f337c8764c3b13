//! Content hashes: SHA-256 over a partition's framed records, and their hex form.

use sha2::{Digest, Sha256};

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

pub fn hash_of(body: &[u8]) -> Hash {
    Sha256::digest(body).into()
}
