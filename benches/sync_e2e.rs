//! Benchmark: `tether sync` as a user runs it, the whole binary, store
//! written: a first sync into an empty snapshot store and a repeat sync
//! with nothing changed, against the simulator with no added latency, at
//! `--parallelism 128`. Prints each run's wall time and the process's peak
//! RSS (wait4), per inventory size; then `snapshot export` (JSON, CSV) of
//! the latest version and `snapshot diff previous latest` of the two
//! identical versions, medians of 3 runs with the highest peak.
//!
//! Sizes: `SYNC_E2E_RESOURCES` (comma-separated totals, default
//! `250000,1000000`), spread over `SYNC_E2E_ACCOUNTS` accounts per vendor
//! (default 250); `SYNC_E2E_ACCOUNTS=1250 SYNC_E2E_RESOURCES=5000000` is
//! 5M resources at the same 1,000 per account, so the partitions are the
//! same size and only the inventory grows (memory should not).
//! `SYNC_E2E_READS=0` leaves out the exports and the diff. The fetch alone,
//! and `tether sync` at 20 ms latency against its bound, are
//! `benches/sync.rs`.
//! `SYNC_E2E_WRAP` (e.g. `heaptrack -o /tmp/sync`) is put before the
//! `tether sync` command lines, to profile them (the figures are then the
//! wrapper's).
//!
//! Run: `cargo bench --bench sync_e2e`.

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Instant;

use common::{release_binary, run_rusage};

fn main() {
    let per_vendor: usize = std::env::var("SYNC_E2E_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    let sizes: Vec<usize> = std::env::var("SYNC_E2E_RESOURCES")
        .unwrap_or_else(|_| "250000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let tether = release_binary();
    println!(
        "== sync end to end: the tether binary, {} accounts, no added latency, --parallelism 128",
        per_vendor * 4
    );
    for total in sizes {
        let per_account = total / (per_vendor * 4);
        let w = common::written(
            &format!("sync-e2e-{total}"),
            per_vendor as u64,
            per_account as u64,
            &[],
        );
        let wrap: Vec<String> = std::env::var("SYNC_E2E_WRAP")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let tether_in = |args: &[&str]| {
            if args[0] == "sync" && !wrap.is_empty() {
                let mut before: Vec<&str> = wrap[1..].iter().map(String::as_str).collect();
                before.push(tether.to_str().expect("a UTF-8 path"));
                w.command(std::path::Path::new(&wrap[0]), &before, args)
            } else {
                w.command(&tether, &[], args)
            }
        };
        let (ok, _) = run_rusage(&mut tether_in(common::APPLY));
        assert!(ok, "apply works");
        let resources = per_account * per_vendor * 4;
        for run in ["first (empty store)", "repeat (nothing changed)"] {
            let t = Instant::now();
            let (ok, rss) = run_rusage(&mut tether_in(&["sync", "--parallelism", "128"]));
            let wall = t.elapsed();
            assert!(ok, "sync works");
            println!(
                "  {resources} resources, {run}: {:.2} s, peak RSS {:.0} MB",
                wall.as_secs_f64(),
                rss as f64 / 1024.0
            );
        }
        let reads = std::env::var("SYNC_E2E_READS").map_or(true, |v| v != "0");
        // What users run on the store the syncs wrote: exports of the
        // latest version (target under 300 MB peak at 1M) and the diff of
        // the two, which are identical (target under 50 ms), medians of 3.
        for (what, args) in [
            (
                "export --format json",
                &["snapshot", "export", "latest", "--format", "json"][..],
            ),
            (
                "export --format csv",
                &["snapshot", "export", "latest", "--format", "csv"][..],
            ),
            (
                "diff previous latest (identical)",
                &["snapshot", "diff", "previous", "latest"][..],
            ),
        ] {
            if !reads {
                break;
            }
            let mut walls = Vec::new();
            let mut peak = 0;
            for _ in 0..3 {
                let t = Instant::now();
                let (ok, rss) = run_rusage(&mut tether_in(args));
                walls.push(t.elapsed());
                assert!(ok, "{what} works");
                peak = peak.max(rss);
            }
            walls.sort();
            println!(
                "  {resources} resources, snapshot {what}: {:.0} ms, peak RSS {:.0} MB",
                walls[1].as_secs_f64() * 1000.0,
                peak as f64 / 1024.0
            );
        }
    }
}
