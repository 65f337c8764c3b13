//! Helpers shared by the simulator tests: start a seeded world on loopback.

#![allow(dead_code)]

use tether_sim::{Options, Sim, World};

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
