//! Snapshot store at scale: a 1,000,000-resource version (1,000 accounts ×
//! 3 regions × 4 types, tags and attributes), then 30 versions at 1% churn
//! each (tags changed, resources added and removed, spread uniformly).
//!
//! Prints: write times and peak RSS, disk of the history against one full
//! version (target < 1.5×), diff of identical versions (target < 50 ms) and
//! of 1%-changed versions (target < 1 s), against `diff -u` of the two JSON
//! exports. Then the same diffs as users run them: the release `tether`
//! binary on a config of 1,000 accounts beside the store (`snapshot diff`,
//! wall time and peak RSS from wait4), identical versions (target < 50 ms)
//! and 1% changed (target: at least 10x faster than `diff -u` of the two
//! sorted exports, timed in the same run). Figures, not pass/fail.
//!
//! `cargo bench --bench snapshot` (SNAPSHOT_BENCH_RESOURCES and
//! SNAPSHOT_BENCH_ACCOUNTS to scale down at the same partition size;
//! SNAPSHOT_BENCH_KEEP=1 leaves the config and store in place and prints
//! where, for profiling `tether snapshot diff` on them).

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

/// The allocator the `tether` binary ships with, so the figures are the binary's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{median, ms, pass};
use tether::config::Address;
use tether::inventory::{Partition, PartitionKey, Resource};
use tether::render::snapshot as render;
use tether::snapshot::{Store, Stored, diff};

/// Default account count (`SNAPSHOT_BENCH_ACCOUNTS` overrides).
const ACCOUNTS_DEFAULT: usize = 1000;
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];
const TYPES: [(&str, &str); 4] = [
    ("instance", "AWS::EC2::Instance"),
    ("vpc", "AWS::EC2::VPC"),
    ("subnet", "AWS::EC2::Subnet"),
    ("security_group", "AWS::EC2::SecurityGroup"),
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The world, compactly: per partition, (resource number, tag version).
struct World {
    keys: Vec<PartitionKey>,
    parts: Vec<Vec<(u64, u32)>>,
    next_id: u64,
}

impl World {
    fn new(total: usize, accounts: usize) -> World {
        let mut keys = Vec::new();
        for a in 0..accounts {
            let account: Address = format!("aws.acct{a:04}").parse().unwrap();
            for r in REGIONS {
                for (t, _) in TYPES {
                    keys.push(PartitionKey {
                        account: account.clone(),
                        region: r.into(),
                        kind: t.into(),
                    });
                }
            }
        }
        let per = total / keys.len();
        let mut next_id = 0;
        let parts = keys
            .iter()
            .map(|_| {
                (0..per)
                    .map(|_| {
                        next_id += 1;
                        (next_id, 0)
                    })
                    .collect()
            })
            .collect();
        World {
            keys,
            parts,
            next_id,
        }
    }

    fn total(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    fn resource(&self, p: usize, (n, tv): (u64, u32)) -> Resource {
        let key = &self.keys[p];
        let native = TYPES.iter().find(|t| t.0 == key.kind).map(|t| t.1).unwrap();
        let id = format!("{}-{:017x}", &key.kind[..3], n.wrapping_mul(0x9E37_79B9));
        let mut tags = BTreeMap::new();
        tags.insert(
            "env".to_string(),
            ["prod", "staging", "dev"][(n % 3) as usize].to_string(),
        );
        tags.insert(
            "owner".to_string(),
            format!("team-{}", (n + u64::from(tv)) % 40),
        );
        tags.insert("cost_center".to_string(), format!("cc-{}", n % 97));
        if tv > 0 {
            tags.insert("revision".to_string(), tv.to_string());
        }
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "vpc_id".to_string(),
            serde_json::json!(format!("vpc-{:08x}", n / 50)),
        );
        attributes.insert(
            "cidr_block".to_string(),
            serde_json::json!(format!("10.{}.{}.0/24", n % 256, (n / 256) % 256)),
        );
        attributes.insert("instance_type".to_string(), serde_json::json!("m5.large"));
        attributes.insert(
            "image_id".to_string(),
            serde_json::json!(format!("ami-{:012x}", n % 1000)),
        );
        attributes.insert(
            "launch_time".to_string(),
            serde_json::json!("2026-01-01T00:00:00Z"),
        );
        Resource {
            address: Resource::address_of(key, &id),
            account: key.account.clone(),
            region: key.region.clone(),
            kind: key.kind.clone(),
            native_type: native.into(),
            id,
            name: Some(format!("{}-{n}", key.kind)),
            status: Some("running".into()),
            tags,
            attributes,
        }
    }

    fn partition(&self, p: usize) -> Partition {
        let rs = self.parts[p].iter().map(|&x| self.resource(p, x)).collect();
        Partition::new(self.keys[p].clone(), rs)
    }

    /// `share` of all resources changed: 80% retagged, 10% removed, 10% added.
    fn churn(&mut self, rng: &mut Rng, share: f64) {
        let n = (self.total() as f64 * share) as usize;
        for i in 0..n {
            let p = rng.below(self.parts.len());
            match i % 10 {
                0 => {
                    self.next_id += 1;
                    self.parts[p].push((self.next_id, 0));
                }
                1 if !self.parts[p].is_empty() => {
                    let j = rng.below(self.parts[p].len());
                    self.parts[p].swap_remove(j);
                }
                _ if !self.parts[p].is_empty() => {
                    let j = rng.below(self.parts[p].len());
                    self.parts[p][j].1 += 1;
                }
                _ => {}
            }
        }
    }
}

fn write_version(store: &Store, world: &World) -> (u64, Duration, [usize; 3]) {
    let lock = store.lock("bench", Duration::ZERO).unwrap();
    let t = Instant::now();
    let parent = store.latest().unwrap();
    let mut w = store.writer(&lock, parent).unwrap();
    let mut counts = [0; 3];
    for p in 0..world.parts.len() {
        match w.add(world.partition(p)).unwrap() {
            Stored::Reused | Stored::Nothing => counts[0] += 1,
            Stored::Full => counts[1] += 1,
            Stored::Delta => counts[2] += 1,
        }
    }
    let m = w.commit().unwrap();
    (m.id, t.elapsed(), counts)
}

fn disk(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut bytes, mut blocks) = (0, 0);
    for sub in ["packs", "versions"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap().flatten() {
            let m = e.metadata().unwrap();
            bytes += m.len();
            blocks += m.blocks() * 512;
        }
    }
    (bytes, blocks)
}

fn peak_rss_mb() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru.ru_maxrss as f64 / 1024.0
    }
}

fn export_json(store: &Store, id: u64, path: &Path) {
    let v = store.version(id).unwrap();
    let mut out = render::export_json_head(&v.manifest);
    let mut first = true;
    for (key, e) in v.manifest.partitions() {
        for r in v.resources(&key, e).unwrap() {
            render::export_json_line(&mut out, &r, e.stale, first);
            first = false;
        }
    }
    out.push_str(render::EXPORT_JSON_TAIL);
    std::fs::write(path, out).unwrap();
}

/// CPU time of the process so far (every thread): on a busy machine it
/// moves less than the wall clock.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Median wall and CPU time of `runs` diffs of `a` and `b`, each on a
/// freshly opened store, and the number of changes.
fn time_diff(dir: &Path, a: u64, b: u64, runs: usize) -> (Duration, Duration, usize) {
    let (mut times, mut cpu) = (Vec::new(), Vec::new());
    let mut n = 0;
    for _ in 0..runs {
        let store = Store::open(dir);
        let (t, c) = (Instant::now(), cpu_time());
        let (va, vb) = (store.version(a).unwrap(), store.version(b).unwrap());
        let d = diff(&va, &vb).unwrap();
        times.push(t.elapsed());
        cpu.push(cpu_time().saturating_sub(c));
        n = d.added.len() + d.removed.len() + d.changed.len();
    }
    (median(&times), median(&cpu), n)
}

fn main() {
    common::wrap_if_asked();
    let total: usize = std::env::var("SNAPSHOT_BENCH_RESOURCES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    // Where the config below finds it (the default `snapshots` setting).
    let dir = tmp.path().join(".tether/snapshots");
    let store = Store::open(&dir);
    let accounts: usize = std::env::var("SNAPSHOT_BENCH_ACCOUNTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(ACCOUNTS_DEFAULT);
    let mut world = World::new(total, accounts);
    let mut rng = Rng(42);
    println!(
        "snapshot bench: {} resources in {} partitions ({accounts} accounts x {} regions x {} types)",
        world.total(),
        world.keys.len(),
        REGIONS.len(),
        TYPES.len()
    );

    let (v1, t1, _) = write_version(&store, &world);
    let (full_bytes, full_blocks) = disk(&dir);
    println!(
        "  version 1 (full): written in {:.1} s, {:.1} MB on disk ({:.1} MB allocated), peak RSS so far {:.0} MB",
        t1.as_secs_f64(),
        full_bytes as f64 / 1e6,
        full_blocks as f64 / 1e6,
        peak_rss_mb()
    );

    let mut times = Vec::new();
    let mut last = v1;
    let mut deltas = 0;
    let mut fulls = 0;
    for _ in 0..30 {
        world.churn(&mut rng, 0.01);
        let (id, t, c) = write_version(&store, &world);
        times.push(t);
        fulls += c[1];
        deltas += c[2];
        last = id;
    }
    let (bytes, blocks) = disk(&dir);
    let manifest = std::fs::metadata(dir.join(format!("versions/{last:08}.json")))
        .unwrap()
        .len();
    let ratio = bytes as f64 / full_bytes as f64;
    println!(
        "  30 versions at 1% churn: median write {:.1} s; {deltas} delta and {fulls} full objects written",
        ms(median(&times)) / 1000.0
    );
    println!(
        "  disk: {:.1} MB for 31 versions = {ratio:.2}x one full version (allocated {:.2}x) [target < 1.5x: {}]; one manifest {:.0} KB",
        bytes as f64 / 1e6,
        blocks as f64 / full_blocks as f64,
        pass(ratio < 1.5),
        manifest as f64 / 1e3
    );

    // Identical versions: one more version with no change.
    let (same, _, _) = write_version(&store, &world);
    let (t_same, c_same, n_same) = time_diff(&dir, last, same, 11);
    println!(
        "  diff identical versions: median {:.1} ms, cpu {:.1} ms ({n_same} changes) [target < 50 ms: {}]",
        ms(t_same),
        ms(c_same),
        pass(t_same < Duration::from_millis(50))
    );
    world.churn(&mut rng, 0.01);
    let (changed, _, _) = write_version(&store, &world);
    let (t_changed, c_changed, n_changed) = time_diff(&dir, same, changed, 5);
    println!(
        "  diff 1%-changed versions: median {:.0} ms, cpu {:.0} ms ({n_changed} resources added/removed/changed) [target < 1 s: {}]",
        ms(t_changed),
        ms(c_changed),
        pass(t_changed < Duration::from_secs(1))
    );
    let (t_far, c_far, n_far) = time_diff(&dir, v1, changed, 3);
    println!(
        "  diff first vs last (32 versions apart): median {:.0} ms, cpu {:.0} ms ({n_far} changes)",
        ms(t_far),
        ms(c_far)
    );

    let (ja, jb) = (tmp.path().join("a.json"), tmp.path().join("b.json"));
    export_json(&store, same, &ja);
    export_json(&store, changed, &jb);
    if common::which("diff").is_some() {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let _ = std::process::Command::new("diff")
                .arg("-u")
                .arg(&ja)
                .arg(&jb)
                .stdout(std::process::Stdio::null())
                .status();
            runs.push(t.elapsed());
        }
        let t_u = median(&runs);
        println!(
            "  `diff -u` of the two JSON exports ({:.0} MB each): median {:.0} ms; tether diff is {:.1}x faster",
            std::fs::metadata(&ja).unwrap().len() as f64 / 1e6,
            ms(t_u),
            t_u.as_secs_f64() / t_changed.as_secs_f64()
        );
        binary_diffs(tmp.path(), [last, same, changed, v1], t_u);
    }
    println!("  peak RSS of the whole bench: {:.0} MB", peak_rss_mb());
    if std::env::var_os("SNAPSHOT_BENCH_KEEP").is_some() {
        let kept = tmp.keep();
        println!(
            "  kept: {} (versions {v1} first, {same} and {changed} 1% apart)",
            kept.display()
        );
    }
}

/// `tether snapshot diff` as users run it: the release binary in a config
/// directory of 1,000 accounts (inline age secrets) whose store is the one
/// written above; `v` is [identical pair's older, its newer, 1% changed,
/// the first version]; `t_u` is `diff -u` of the 1%-changed exports.
fn binary_diffs(cfg: &Path, v: [u64; 4], t_u: Duration) {
    let [old, same, changed, first] = v;
    common::generate(cfg, 1000, 10, true);
    let tether = common::release_binary();
    let run = |a: u64, b: u64, format: &str, n: usize| {
        let (a, b) = (a.to_string(), b.to_string());
        let (times, rss) = common::measure_isolated(n, || {
            let mut c = std::process::Command::new(&tether);
            c.arg("-C")
                .arg(cfg)
                .args(["snapshot", "diff", &a, &b, "--format", format])
                .env("NO_COLOR", "1");
            c
        });
        (median(&times), rss as f64 / 1024.0)
    };
    let (t, rss) = run(old, same, "human", 11);
    println!(
        "  tether snapshot diff (binary), identical versions: median {:.1} ms, peak RSS {rss:.0} MB [target < 50 ms: {}]",
        ms(t),
        pass(t < Duration::from_millis(50))
    );
    for format in ["human", "json"] {
        let (t, rss) = run(same, changed, format, 5);
        let x = t_u.as_secs_f64() / t.as_secs_f64();
        println!(
            "  tether snapshot diff (binary), 1% changed, --format {format}: median {:.0} ms, peak RSS {rss:.0} MB; {x:.1}x faster than `diff -u` [target >= 10x: {}]",
            ms(t),
            pass(x >= 10.0)
        );
    }
    let (t, rss) = run(first, changed, "human", 3);
    println!(
        "  tether snapshot diff (binary), first vs last (32 versions apart): median {:.0} ms, peak RSS {rss:.0} MB; {:.1}x faster than `diff -u` of adjacent versions",
        ms(t),
        t_u.as_secs_f64() / t.as_secs_f64()
    );
}
