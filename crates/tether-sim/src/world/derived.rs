//! Attributes that need no memory, derived from a resource's `seq` when it
//! is rendered: addresses, CIDRs, MACs.

use crate::rng::mix;

/// Derived IPv4 address `10.a.b.c` of a resource.
pub fn private_ip(seq: u32) -> String {
    let h = mix(seq as u64);
    format!(
        "10.{}.{}.{}",
        (h >> 8) as u8,
        (h >> 16) as u8,
        4 + (h >> 24) as u8 % 250
    )
}

/// Derived public address in the documentation range.
pub fn public_ip(seq: u32) -> String {
    let h = mix(seq as u64 ^ 0xfeed);
    format!(
        "203.0.{}.{}",
        (h >> 8) as u8 % 114,
        1 + (h >> 16) as u8 % 250
    )
}

/// Derived CIDR: VPCs get a /16, subnets a /24 inside 10.0.0.0/8.
pub fn cidr(seq: u32, prefix: u8) -> String {
    let h = mix(seq as u64);
    match prefix {
        16 => format!("10.{}.0.0/16", h as u8),
        _ => format!("10.{}.{}.0/24", h as u8, (h >> 8) as u8),
    }
}

/// A derived MAC address.
pub fn mac(seq: u32) -> String {
    let h = mix(seq as u64 ^ 0x3ac);
    format!(
        "fa:16:3e:{:02x}:{:02x}:{:02x}",
        h as u8,
        (h >> 8) as u8,
        (h >> 16) as u8
    )
}
