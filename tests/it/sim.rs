//! Helpers shared by the tests that run tether against the simulator: start a
//! seeded world on loopback, and name its accounts the way tether does.

#![allow(dead_code)]

use tether::config::Address;
use tether::sim::{Options, Sim, Vendor, World};

/// A simulator with `accounts` accounts per vendor and `resources` each.
pub fn start(seed: u64, accounts: usize, resources: usize) -> Sim {
    Sim::start(
        World::generate(seed, accounts, resources),
        Options {
            workers: 2,
            ..Options::default()
        },
    )
    .expect("simulator starts")
}

/// tether's vendor for the simulator's. The two share no types, only the
/// vendors' wire names; this match stops compiling when they part.
pub fn vendor(v: Vendor) -> tether::config::Vendor {
    use tether::config::Vendor as T;
    match v {
        Vendor::Aws => T::Aws,
        Vendor::Alibaba => T::Alibaba,
        Vendor::Azure => T::Azure,
        Vendor::Hcs => T::Hcs,
    }
}

/// The tether address `<vendor>.<name>` of a simulated account.
pub fn address(v: Vendor, name: impl Into<String>) -> Address {
    Address::new(vendor(v), name)
}
