//! Credentials in each vendor's shapes: access key pairs, Azure application
//! secrets, HCS passwords (new accounts and rotations).

use super::Vendor;
use crate::rng::Rng;

pub(super) const UPPER32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub(super) fn new_keys(rng: &mut Rng, v: Vendor) -> (String, String) {
    match v {
        Vendor::Aws => (
            format!("AKIA{}", rng.chars(UPPER32, 16)),
            rng.chars(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
                40,
            ),
        ),
        Vendor::Alibaba => (
            format!("LTAI{}", rng.chars(ALNUM, 20)),
            rng.chars(ALNUM, 30),
        ),
        Vendor::Azure => (
            rng.uuid(),
            format!(
                "{}8Q~{}",
                rng.chars(ALNUM, 3),
                rng.chars(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~",
                    34
                )
            ),
        ),
        Vendor::Hcs => (
            rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 20),
            rng.chars(ALNUM, 40),
        ),
    }
}

pub(super) fn new_password(rng: &mut Rng) -> String {
    format!(
        "{}#{}{}",
        rng.chars(ALNUM, 10),
        rng.digits(2),
        rng.chars(b"!@%^*", 2)
    )
}
