//! Deterministic randomness: a seeded ChaCha generator for the world (the
//! same seed always gives the same world), and a stateless mixer for the
//! per-request coin flips of fault injection.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};

/// SplitMix64 finaliser: a good 64-bit hash of a counter.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The world's generator.
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// `n` characters drawn from `alphabet`.
    pub fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }

    pub fn hex(&mut self, n: usize) -> String {
        self.chars(b"0123456789abcdef", n)
    }

    pub fn digits(&mut self, n: usize) -> String {
        let mut s = self.chars(b"0123456789", n);
        if s.starts_with('0') {
            s.replace_range(0..1, "1");
        }
        s
    }

    /// A random UUID (version 4 layout).
    pub fn uuid(&mut self) -> String {
        let a = self.u64();
        let b = self.u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            a & 0xfff,
            0x8000 | (b >> 48) as u16 & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}
