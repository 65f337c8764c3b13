//! Helpers shared by the tests that run tether against the simulator
//! (`crates/tether-sim`): start a seeded world on loopback, name its accounts
//! the way tether does, and find the `tether-sim` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tether::config::Address;
use tether_sim::{Options, Sim, Vendor, World};

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

/// The `tether-sim` binary, beside the `tether` binary under test.
///
/// The simulator is another package of the workspace: cargo builds its
/// binary only when that package is tested too (`--workspace`), and names
/// no `CARGO_BIN_EXE_tether-sim` here. So the first call builds it with the
/// cargo running the tests, into the target directory and profile of the
/// `tether` binary: a no-op when it is up to date, and never a stale binary
/// when only tether's tests are run.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile_dir = Path::new(crate::harness::TETHER)
            .parent()
            .expect("the tether binary is in a profile directory");
        let target_dir = profile_dir.parent().expect("under a target directory");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let status = Command::new(env!("CARGO"))
            .args(["build", "--locked", "--quiet", "-p", "tether-sim"])
            .args(["--bin", "tether-sim", "--profile", profile, "--target-dir"])
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p tether-sim failed");
        profile_dir.join("tether-sim")
    })
}
