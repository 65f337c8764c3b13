//! Benchmark: the PostgreSQL backend side by side with the local one, the
//! release binary as users run it (wall time; peak RSS from wait4):
//!
//! - plan of 10,000 accounts with 1% changed (target: pg within 1.5x of local);
//! - apply of 1,000 new accounts against the simulator at 20 ms latency,
//!   `--parallelism 50`, `--no-sync` (target: within 1.2x);
//! - a first sync of `PG_BENCH_SYNC_RESOURCES` resources (default 1,000,000)
//!   into the store (target: within 1.5x);
//! - the snapshot tables' size after 30 versions at 1% churn of
//!   `PG_BENCH_CHURN_RESOURCES` resources (default 100,000), against one
//!   version (target: under 1.5x).
//!
//! Needs a server: `TETHER_BENCH_PG_URL` (a libpq URI of a role that may
//! create schemas), e.g. the one `scripts/test --serve` prints. Each
//! section works in a schema of its own. `PG_BENCH_ONLY=plan,apply,sync,size`
//! picks sections; `PG_BENCH_RUNS` the runs of plan and apply (7 and 3).
//!
//! Run: `TETHER_BENCH_PG_URL=… cargo bench --bench pg`.

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{generate, median, ms, pass, release_binary, run_rusage, write_state};
use tether_sim::{Faults, FaultsUpdate, Options, Sim, World};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

struct Bench {
    tether: PathBuf,
    url: String,
    key: Option<String>,
}

impl Bench {
    fn cmd(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.tether);
        c.arg("-C")
            .arg(dir)
            .args(args)
            .env("TETHER_PG_CONN_STR", &self.url)
            .env("NO_COLOR", "1");
        match &self.key {
            Some(k) => c.env("TETHER_AGE_KEY", k),
            None => c.env_remove("TETHER_AGE_KEY"),
        };
        c
    }

    /// Wall time and peak RSS (KiB) of one run, which must succeed.
    fn timed(&self, dir: &Path, args: &[&str]) -> (Duration, i64) {
        let t = Instant::now();
        let (ok, rss) = run_rusage(&mut self.cmd(dir, args));
        let wall = t.elapsed();
        if !ok {
            let out = self.cmd(dir, args).output().unwrap();
            panic!(
                "tether {args:?} in {} failed: {}{}",
                dir.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        (wall, rss)
    }

    fn psql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                self.url.as_str(),
                "-XqtA",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

/// Adds the settings of `backend` to the config's `tether` block.
fn select(dir: &Path, backend: &str, schema: &str) {
    // The file that holds the `tether` block (tether.hcl, or the first of many).
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hcl"))
        .collect();
    files.sort();
    let path = files
        .iter()
        .find(|p| std::fs::read_to_string(p).unwrap().contains("tether {\n"))
        .unwrap_or(&files[0])
        .clone();
    let text = std::fs::read_to_string(&path).unwrap();
    let text = if text.contains("backend   = ") {
        text.replace(
            "backend   = \"local\"",
            &format!("backend   = \"{backend}\""),
        )
        .replace("backend   = \"pg\"", &format!("backend   = \"{backend}\""))
    } else if text.contains("tether {\n") {
        text.replacen(
            "tether {\n",
            &format!("tether {{\n  backend   = \"{backend}\"\n  pg_schema = \"{schema}\"\n"),
            1,
        )
    } else {
        format!("tether {{\n  backend   = \"{backend}\"\n  pg_schema = \"{schema}\"\n}}\n\n{text}")
    };
    std::fs::write(&path, text).unwrap();
}

fn schema(section: &str) -> String {
    format!("bench_{section}_{}", std::process::id())
}

fn ratio(pg: Duration, local: Duration) -> f64 {
    pg.as_secs_f64() / local.as_secs_f64().max(1e-9)
}

fn main() {
    let url = std::env::var("TETHER_BENCH_PG_URL").expect(
        "TETHER_BENCH_PG_URL: a PostgreSQL server for the benchmark (scripts/test --serve prints one)",
    );
    let only = std::env::var("PG_BENCH_ONLY").unwrap_or_else(|_| "plan,apply,sync,size".into());
    let tether = release_binary();
    let root = std::env::temp_dir().join(format!("tether-bench-pg-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let mut b = Bench {
        tether,
        url,
        key: None,
    };
    if only.contains("plan") {
        plan(&b, &root.join("plan"));
    }
    if only.contains("apply") {
        apply(&mut b, &root.join("apply"));
    }
    if only.contains("sync") {
        sync(&mut b, &root.join("sync"));
    }
    if only.contains("size") {
        size(&mut b, &root.join("size"));
    }
    let _ = std::fs::remove_dir_all(&root);
}

fn plan(b: &Bench, conf: &Path) {
    const ACCOUNTS: usize = 10_000;
    let runs = env_num("PG_BENCH_RUNS", 7);
    std::fs::create_dir_all(conf.join("secrets")).unwrap();
    generate(conf, ACCOUNTS, 100, false);
    let changed = write_state(conf);
    let s = schema("plan");
    select(conf, "local", &s);
    println!("== plan: {ACCOUNTS} accounts, {changed} changed ({runs} runs each, medians)");
    let mut local = Vec::new();
    let mut rss_l = 0;
    for _ in 0..runs {
        let (t, r) = b.timed(conf, &["plan"]);
        local.push(t);
        rss_l = rss_l.max(r);
    }
    b.timed(conf, &["backend", "migrate", "--to", "pg"]);
    select(conf, "pg", &s);
    let mut pg = Vec::new();
    let mut rss_p = 0;
    for _ in 0..runs {
        let (t, r) = b.timed(conf, &["plan"]);
        pg.push(t);
        rss_p = rss_p.max(r);
    }
    let (l, p) = (median(&local), median(&pg));
    println!(
        "  local {:.0} ms ({:.0} MB), pg {:.0} ms ({:.0} MB): {:.2}x [target 1.5x: {}]",
        ms(l),
        rss_l as f64 / 1024.0,
        ms(p),
        rss_p as f64 / 1024.0,
        ratio(p, l),
        pass(ratio(p, l) <= 1.5)
    );
}

fn sim_config(sim: &Sim, dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let id = age::x25519::Identity::generate();
    tether_sim::config_writer::write(dir, &[id.to_public().to_string()], &sim.engine().summary())
        .expect("the config is written");
    use age::secrecy::ExposeSecret;
    id.to_string().expose_secret().to_string()
}

fn apply(b: &mut Bench, dir: &Path) {
    const PER_VENDOR: usize = 250;
    let runs = env_num("PG_BENCH_RUNS", 3);
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
        .unwrap();
    b.key = Some(sim_config(&sim, dir));
    println!(
        "== apply: {} new accounts, 20 ms latency, --parallelism 50, --no-sync ({runs} runs each, medians)",
        PER_VENDOR * 4
    );
    let args = [
        "apply",
        "--auto-approve",
        "--no-sync",
        "--parallelism",
        "50",
    ];
    let mut local = Vec::new();
    let s0 = schema("apply");
    select(dir, "local", &s0);
    for _ in 0..runs {
        for f in ["tether.state.json", "tether.state.json.backup", ".tether"] {
            let p = dir.join(f);
            let _ = std::fs::remove_file(&p);
            let _ = std::fs::remove_dir_all(&p);
        }
        local.push(b.timed(dir, &args).0);
    }
    let mut pg = Vec::new();
    select(dir, "pg", &s0);
    for run in 0..runs {
        // A fresh schema per run (every account new), migrated before the clock starts.
        let text = std::fs::read_to_string(dir.join("tether.hcl")).unwrap();
        let next = format!("{s0}_{run}");
        // (the simulator's config keeps its `tether` block in tether.hcl)
        let text = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("pg_schema") {
                    format!("  pg_schema = \"{next}\"")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.join("tether.hcl"), text + "\n").unwrap();
        b.timed(dir, &["state", "list"]);
        pg.push(b.timed(dir, &args).0);
    }
    let (l, p) = (median(&local), median(&pg));
    println!(
        "  local {:.2} s, pg {:.2} s: {:.2}x [target 1.2x: {}]",
        l.as_secs_f64(),
        p.as_secs_f64(),
        ratio(p, l),
        pass(ratio(p, l) <= 1.2)
    );
    sim.stop();
}

/// A simulated world of `per_vendor` accounts per vendor with
/// `per_account` resources each, its config on `backend` in a schema of
/// `section`'s, and every account applied (no sync). Returns the schema.
fn applied(
    b: &mut Bench,
    dir: &Path,
    seed: u64,
    per_vendor: usize,
    per_account: usize,
    section: &str,
    backend: &str,
) -> (Sim, String) {
    let sim = Sim::start(
        World::generate(seed, per_vendor, per_account),
        Options::default(),
    )
    .expect("the simulator starts");
    b.key = Some(sim_config(&sim, dir));
    let s = schema(section);
    select(dir, backend, &s);
    b.timed(
        dir,
        &[
            "apply",
            "--auto-approve",
            "--no-sync",
            "--parallelism",
            "50",
        ],
    );
    (sim, s)
}

fn sync(b: &mut Bench, dir: &Path) {
    let total = env_num("PG_BENCH_SYNC_RESOURCES", 1_000_000);
    let per_vendor = 250;
    let per_account = total / (per_vendor * 4);
    let (sim, s) = applied(b, dir, 1, per_vendor, per_account, "sync", "local");
    b.timed(dir, &["backend", "migrate", "--to", "pg"]);
    println!(
        "== sync: a first sync of {} resources, {} accounts, --parallelism 128 (one run each)",
        per_account * per_vendor * 4,
        per_vendor * 4
    );
    let (l, rl) = b.timed(dir, &["sync", "--parallelism", "128"]);
    select(dir, "pg", &s);
    let (p, rp) = b.timed(dir, &["sync", "--parallelism", "128"]);
    println!(
        "  local {:.2} s ({:.0} MB), pg {:.2} s ({:.0} MB): {:.2}x [target 1.5x: {}]",
        l.as_secs_f64(),
        rl as f64 / 1024.0,
        p.as_secs_f64(),
        rp as f64 / 1024.0,
        ratio(p, l),
        pass(ratio(p, l) <= 1.5)
    );
    let (r, rr) = b.timed(dir, &["sync", "--parallelism", "128"]);
    println!(
        "  pg repeat sync (nothing changed): {:.2} s ({:.0} MB)",
        r.as_secs_f64(),
        rr as f64 / 1024.0
    );
    sim.stop();
}

fn size(b: &mut Bench, dir: &Path) {
    let total = env_num("PG_BENCH_CHURN_RESOURCES", 100_000);
    let per_vendor = 25;
    let (sim, s) = applied(
        b,
        dir,
        3,
        per_vendor,
        total / (per_vendor * 4),
        "size",
        "pg",
    );
    b.timed(dir, &["sync", "--parallelism", "64"]);
    let tables = || {
        b.psql(&format!(
            "SELECT pg_total_relation_size('{s}.snapshot_segments') + pg_total_relation_size('{s}.snapshot_versions') + pg_total_relation_size('{s}.snapshot_partitions')"
        ))
        .parse::<i64>()
        .unwrap()
    };
    let one = tables();
    // The ids of every resource, from the first version.
    let out = b
        .cmd(dir, &["snapshot", "export", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<(String, String)> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["account"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let vendor = |v: &str| match v {
        "aws" => tether_sim::Vendor::Aws,
        "alibaba" => tether_sim::Vendor::Alibaba,
        "azure" => tether_sim::Vendor::Azure,
        _ => tether_sim::Vendor::Hcs,
    };
    let step = 100; // 1%
    for round in 1..30 {
        for (i, (v, id)) in ids.iter().enumerate() {
            if (i + round) % step == 0 {
                let mut tags = std::collections::BTreeMap::new();
                tags.insert("round".to_string(), round.to_string());
                sim.engine().set_tags(vendor(v), id, &tags).unwrap();
            }
        }
        b.timed(dir, &["sync", "--parallelism", "64"]);
    }
    let versions = b.psql(&format!("SELECT count(*) FROM {s}.snapshot_versions"));
    let thirty = tables();
    let r = thirty as f64 / one as f64;
    println!(
        "== size: {} resources, {versions} versions at 1% churn: {:.1} MB, one version {:.1} MB: {r:.2}x [target 1.5x: {}]",
        ids.len(),
        thirty as f64 / 1e6,
        one as f64 / 1e6,
        pass(r < 1.5)
    );
    sim.stop();
}
