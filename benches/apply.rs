//! Benchmark: apply 1,000 new accounts (250 per vendor) against the simulator
//! answering with 20 ms latency, at `--parallelism 10` and `50`. Each run
//! starts from no state, so every account is decrypted, verified with its
//! vendor's identity API and recorded (one atomic state write per account).
//! Prints the median wall time of the release binary per setting. The sync
//! that apply runs afterwards is left out (`--no-sync`): `benches/sync.rs`
//! measures it.
//!
//! Run: `cargo bench --bench apply`.

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::Command;

use common::{measure, median, ms, release_binary};
use tether_sim::{Faults, FaultsUpdate, Options, Sim, World};

const PER_VENDOR: usize = 250;
const RUNS: usize = 3;

fn main() {
    let sim = Sim::start(World::generate(42, PER_VENDOR, 0), Options::default())
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
    let dir = std::env::temp_dir().join(format!("tether-bench-apply-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let id = age::x25519::Identity::generate();
    tether_sim::config_writer::write(&dir, &[id.to_public().to_string()], &sim.engine().summary())
        .expect("the config is written");
    let key = {
        use age::secrecy::ExposeSecret;
        id.to_string().expose_secret().to_string()
    };
    let tether = release_binary();
    println!(
        "== apply: {} accounts from no state, simulator latency 20 ms",
        PER_VENDOR * 4
    );
    for parallelism in [10, 50] {
        let (times, rss) = measure(RUNS, || {
            for f in ["tether.state.json", "tether.state.json.backup"] {
                let _ = std::fs::remove_file(dir.join(f));
            }
            let mut c = Command::new(&tether);
            c.arg("-C")
                .arg(&dir)
                .args(["apply", "--auto-approve", "--no-sync", "--parallelism"])
                .arg(parallelism.to_string())
                .env("TETHER_AGE_KEY", &key);
            c
        });
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("tether.state.json")).unwrap()).unwrap();
        let recorded = state["accounts"].as_object().map(|m| m.len()).unwrap_or(0);
        println!(
            "--parallelism {parallelism}: median {:.0} ms over {RUNS} runs (min {:.0}, max {:.0}), peak RSS {:.1} MB, {recorded} accounts recorded",
            ms(median(&times)),
            ms(*times.iter().min().unwrap()),
            ms(*times.iter().max().unwrap()),
            rss as f64 / 1024.0
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    sim.stop();
}
