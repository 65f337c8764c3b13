//! Benchmark: plan 10,000 accounts (no refresh), each with an age-encrypted
//! secret, against a state of 10,000 accounts of which 1% differ (half by an
//! attribute, half by a secret's ciphertext). Prints the median wall time and
//! peak memory of `tether plan` (release binary, separate process, no identity:
//! secrets compared by ciphertext). Targets: under 0.5 s and 200 MB.
//!
//! Run: `cargo bench --bench plan` (`TETHER_BENCH_KEEP=1` keeps the generated
//! config and state for profiling, and prints where).

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::Command;
use std::time::Instant;

use common::{generate, measure, median, ms, pass, release_binary, run, write_state};

const ACCOUNTS: usize = 10_000;
const FILES: usize = 100;
const RUNS: usize = 11;

fn main() {
    let root = std::env::temp_dir().join(format!("tether-bench-plan-{}", std::process::id()));
    let conf = root.join("config");
    std::fs::create_dir_all(conf.join("secrets")).unwrap();
    let t = Instant::now();
    generate(&conf, ACCOUNTS, FILES, false);
    let changed = write_state(&conf);
    println!(
        "== plan: {ACCOUNTS} accounts with file() secrets, state of {ACCOUNTS} with {changed} changed (set up in {:.1?})",
        t.elapsed()
    );
    let tether = release_binary();
    let mut check = Command::new(&tether);
    check
        .arg("-C")
        .arg(&conf)
        .args(["plan", "--detailed-exitcode"]);
    assert!(!run(&mut check).0, "the plan must have changes (exit 2)");

    for (label, args) in [
        ("human", &["plan"][..]),
        ("json", &["plan", "--format", "json"][..]),
    ] {
        let (times, rss) = measure(RUNS, || {
            let mut c = Command::new(&tether);
            c.arg("-C")
                .arg(&conf)
                .args(args)
                .env_remove("TETHER_AGE_KEY");
            c
        });
        let m = median(&times);
        println!(
            "tether plan ({label}): median {:.1} ms over {RUNS} runs (min {:.1} ms, max {:.1} ms), peak RSS {:.1} MB",
            ms(m),
            ms(*times.iter().min().unwrap()),
            ms(*times.iter().max().unwrap()),
            rss as f64 / 1024.0
        );
        println!(
            "  targets: < 500 ms [{}], < 200 MB [{}]",
            pass(ms(m) < 500.0),
            pass((rss as f64 / 1024.0) < 200.0)
        );
    }
    if std::env::var_os("TETHER_BENCH_KEEP").is_some() {
        println!("kept for profiling: {}", conf.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
}
