//! Benchmark: an AWS organization of 1,000 members at 20 ms latency, the
//! whole loop with the release binary: `tether discover --out` (targets:
//! under 5 s), `apply` of the 1,000 members it wrote, each verified through
//! its role (target: within 1.5x of applying 1,000 accounts with keys of
//! their own, measured in the same run), and the `sync` that reads them
//! through their sessions (beside the sync of the same accounts by key).
//! Medians of 3 runs; peak RSS from wait4 of a small wrapper process.
//!
//! Run: `cargo bench --bench org`.

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{measure_isolated, median, ms, release_binary};
use tether_sim::world::{AccountSpec, OrganizationSpec, ResourcesSpec, WorldSpec};
use tether_sim::{Faults, FaultsUpdate, Options, Sim, World};

const MEMBERS: usize = 1000;
const RESOURCES: usize = 10;
const RUNS: usize = 3;

/// A simulator of `spec` answering with 20 ms latency.
fn start(spec: &WorldSpec) -> Sim {
    let sim = Sim::start(World::from_spec(spec).expect("a world"), Options::default())
        .expect("the simulator starts");
    sim.engine()
        .set_faults(&FaultsUpdate {
            vendor: "*".into(),
            faults: Faults {
                latency_ms: 20,
                ..Default::default()
            },
        })
        .expect("faults apply");
    sim
}

fn account() -> AccountSpec {
    AccountSpec {
        resources: Some(ResourcesSpec::Count(RESOURCES)),
        ..Default::default()
    }
}

/// The config of `sim`'s world in a fresh directory, and the age key.
fn config(sim: &Sim, name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("tether-bench-org-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let id = age::x25519::Identity::generate();
    tether_sim::config_writer::write(&dir, &[id.to_public().to_string()], &sim.engine().summary())
        .expect("the config is written");
    use age::secrecy::ExposeSecret;
    (dir, id.to_string().expose_secret().to_string())
}

fn tether(dir: &Path, key: &str, args: &[&str]) -> Command {
    let mut c = Command::new(release_binary());
    c.arg("-C").arg(dir).args(args).env("TETHER_AGE_KEY", key);
    c
}

fn run_ok(mut c: Command) {
    let out = c.output().expect("tether runs");
    assert!(
        out.status.success(),
        "{:?}: {}\n{}",
        c,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn report(what: &str, times: &[Duration], rss: i64) -> f64 {
    let m = ms(median(times));
    println!(
        "{what}: median {m:.0} ms over {} runs (min {:.0}, max {:.0}), peak RSS {:.1} MB",
        times.len(),
        ms(*times.iter().min().unwrap()),
        ms(*times.iter().max().unwrap()),
        rss as f64 / 1024.0
    );
    m
}

/// Removes the state and the snapshot store, or restores `saved` as the state.
fn reset(dir: &Path, saved: Option<&[u8]>) {
    for f in ["tether.state.json", "tether.state.json.backup"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let _ = std::fs::remove_dir_all(dir.join(".tether"));
    if let Some(s) = saved {
        std::fs::write(dir.join("tether.state.json"), s).unwrap();
    }
}

fn main() {
    common::wrap_if_asked();
    println!(
        "== organizations: {MEMBERS} AWS members, {RESOURCES} resources each, simulator latency 20 ms, --parallelism 10"
    );

    // The organization: one management account, its members reached by role.
    let org = start(&WorldSpec {
        seed: 16,
        aws: vec![account()],
        organization: Some(OrganizationSpec {
            members: MEMBERS,
            units: 10,
            resources: Some(RESOURCES),
        }),
        ..Default::default()
    });
    let (dir, key) = config(&org, "members");
    run_ok(tether(
        &dir,
        &key,
        &["apply", "--auto-approve", "--no-sync"],
    ));
    let main_only = std::fs::read(dir.join("tether.state.json")).unwrap();
    let main = {
        let s = org.engine().summary();
        format!("aws.{}", s.aws.accounts[0].name)
    };
    let (times, rss) = measure_isolated(RUNS, || {
        let _ = std::fs::remove_file(dir.join("members.hcl"));
        tether(&dir, &key, &["discover", &main, "--out", "members.hcl"])
    });
    let discover = report("discover --out (1,000 members, OU paths)", &times, rss);
    let written = std::fs::read_to_string(dir.join("members.hcl")).unwrap_or_default();
    let blocks = written.matches("account \"aws\"").count();
    println!(
        "  wrote {blocks} account blocks; target < 5000 ms: {}",
        common::pass(discover < 5000.0 && blocks == MEMBERS)
    );
    let (times, rss) = measure_isolated(RUNS, || {
        reset(&dir, Some(&main_only));
        tether(&dir, &key, &["apply", "--auto-approve", "--no-sync"])
    });
    let members_apply = report("apply, 1,000 members through their role", &times, rss);
    let (times, rss) = measure_isolated(RUNS, || {
        let _ = std::fs::remove_dir_all(dir.join(".tether"));
        tether(&dir, &key, &["sync"])
    });
    let members_sync = report("sync, 1,000 members through their sessions", &times, rss);
    org.stop();
    let _ = std::fs::remove_dir_all(&dir);

    // The same number of accounts, each with a key of its own.
    let own = start(&WorldSpec {
        seed: 17,
        aws: vec![account(); MEMBERS],
        ..Default::default()
    });
    let (dir, key) = config(&own, "keys");
    let (times, rss) = measure_isolated(RUNS, || {
        reset(&dir, None);
        tether(&dir, &key, &["apply", "--auto-approve", "--no-sync"])
    });
    let keys_apply = report("apply, 1,000 accounts with their own keys", &times, rss);
    let (times, rss) = measure_isolated(RUNS, || {
        let _ = std::fs::remove_dir_all(dir.join(".tether"));
        tether(&dir, &key, &["sync"])
    });
    let keys_sync = report("sync, 1,000 accounts with their own keys", &times, rss);
    own.stop();
    let _ = std::fs::remove_dir_all(&dir);

    let ratio = members_apply / keys_apply;
    println!(
        "apply through roles / with own keys: {ratio:.2}x; target <= 1.5x: {}",
        common::pass(ratio <= 1.5)
    );
    println!(
        "sync through sessions / with own keys: {:.2}x",
        members_sync / keys_sync
    );
}
