//! Benchmark: validate a generated config of 10,000 accounts across the four
//! vendors in 100 files, every account with an inline age-encrypted secret.
//!
//! Prints the median wall time and peak memory of `tether validate` (release
//! binary, separate process), and of `terraform fmt -check` (an HCL syntax
//! check only) on the same files in the same run, where terraform is
//! installed. Targets: under 300 ms, under 150 MB, at least 8x faster than
//! terraform.
//!
//! Run: `cargo bench --bench validate` (builds the release binary first).

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use common::{generate, measure, median, ms, pass, release_binary, run, which};

const ACCOUNTS: usize = 10_000;
const FILES: usize = 100;
const RUNS: usize = 11;

fn main() {
    // TETHER_BENCH_DIR keeps the generated files for profiling.
    let keep = std::env::var_os("TETHER_BENCH_DIR").map(PathBuf::from);
    let root = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tether-bench-validate-{}", std::process::id()))
    });
    let tether = release_binary();
    let tf = which("terraform");
    // Secrets in their own age files (the usual layout), then every secret inline.
    for (label, inline) in [("file() secrets", false), ("inline armored secrets", true)] {
        let conf = root.join(if inline { "inline" } else { "files" });
        std::fs::create_dir_all(conf.join("secrets")).unwrap();
        let t = Instant::now();
        let bytes = generate(&conf, ACCOUNTS, FILES, inline);
        println!(
            "== {ACCOUNTS} accounts in {FILES} files, {label}: {:.1} MB of HCL (generated in {:.1?})",
            bytes as f64 / 1e6,
            t.elapsed()
        );
        assert!(
            run(Command::new(&tether).arg("-C").arg(&conf).arg("validate")).0,
            "the generated config must validate"
        );
        let (times, rss) = measure(RUNS, || {
            let mut c = Command::new(&tether);
            c.arg("-C").arg(&conf).arg("validate");
            c
        });
        let tether_median = median(&times);
        println!(
            "tether validate: median {:.1} ms over {RUNS} runs (min {:.1} ms, max {:.1} ms), peak RSS {:.1} MB",
            ms(tether_median),
            ms(*times.iter().min().unwrap()),
            ms(*times.iter().max().unwrap()),
            rss as f64 / 1024.0
        );
        println!(
            "  targets: < 300 ms [{}], < 150 MB [{}]",
            pass(ms(tether_median) < 300.0),
            pass((rss as f64 / 1024.0) < 150.0)
        );
        let Some(tf) = &tf else {
            println!("terraform not installed: comparison skipped");
            continue;
        };
        // terraform fmt reads only .tf files: the same bytes under .tf names.
        let tfdir = conf.join("tf");
        std::fs::create_dir_all(&tfdir).unwrap();
        for e in std::fs::read_dir(&conf).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "hcl") {
                let name = e.path().with_extension("tf");
                std::fs::copy(e.path(), tfdir.join(name.file_name().unwrap())).unwrap();
            }
        }
        let (tf_times, tf_rss) = measure(5, || {
            let mut c = Command::new(tf);
            c.args(["fmt", "-check", "-list=false"])
                .arg(&tfdir)
                .env("CHECKPOINT_DISABLE", "1")
                .env("TF_CLI_CONFIG_FILE", "/dev/null");
            c
        });
        let tf_median = median(&tf_times);
        println!(
            "terraform fmt -check (same files as .tf): median {:.1} ms over 5 runs, peak RSS {:.1} MB",
            ms(tf_median),
            tf_rss as f64 / 1024.0
        );
        let ratio = tf_median.as_secs_f64() / tether_median.as_secs_f64();
        println!(
            "  tether is {ratio:.1}x faster (target >= 8x) [{}]",
            pass(ratio >= 8.0)
        );
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
}
