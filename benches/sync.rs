//! Sync benchmark: fetch a whole simulated world through `tether::sync`.
//!
//! Starts the release `tether-sim` binary on a generated world (default 250
//! accounts per vendor x 1,000 resources = 1,000 accounts, 1,000,000
//! resources), sets 20 ms latency and the published rate limits, and syncs
//! every account from this process; the sink counts and drops partitions.
//! Prints the median wall time of a few runs, the lower bound that the
//! latency, the rate limits and the parallelism allow (computed from the
//! world's page counts per (account, scope, API) and the bucket rates), the
//! ratio (target: within 1.25x), and this process's peak RSS (target: under
//! 500 MB; the simulator runs in its own process).
//!
//! Runs at several `--parallelism` levels (default `10,32,128`: the
//! default setting, then more requests in flight until CPU, not latency,
//! sets the pace); the first run of all is a warm-up that also counts pages.
//!
//! After each timed fetch it runs `tether sync` as a user does, the release
//! binary on the config the simulator wrote (applied once first), each run
//! a first sync into an empty snapshot store (the store written, the state
//! updated), and prints its median wall time against the fetch alone at
//! the same parallelism (target: within 1.5x) and against the bound
//! (target at 10 and 32: within 1.25x), and the binary's peak RSS (wait4).
//! `SYNC_BENCH_E2E=0` leaves that out.
//!
//! `cargo bench --bench sync` (env: `SYNC_BENCH_ACCOUNTS` per vendor,
//! `SYNC_BENCH_RESOURCES` per account, `SYNC_BENCH_RUNS` per level,
//! `SYNC_BENCH_PARALLELISM` (a comma-separated list), `SYNC_BENCH_LATENCY_MS`, `SYNC_BENCH_SIM_WORKERS`).

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

/// The allocator the `tether` binary ships with, so the figures are the binary's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::collections::{BTreeMap, HashMap};

use std::process::Command;
use std::time::Instant;

use tether::cloud::{ClientOptions, published_rate};
use tether::config::{Account, Address, AzureAccount, HcsAccount, KeyAccount, VendorAccount};
use tether::inventory::Partition;
use tether::secrets::Secret;
use tether::sync::{self, Event, SyncOptions, Target};
use tether_sim::summary::Summary;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru.ru_maxrss
    }
}

/// CPU seconds (user + system) used so far by this process.
fn own_cpu() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// CPU seconds used so far by process `pid` (from /proc; 0 when unreadable).
fn cpu_of(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) / hz
}

/// Durations as `1.23, 4.56` (seconds).
fn seconds(times: &[std::time::Duration]) -> String {
    times
        .iter()
        .map(|t| format!("{:.2}", t.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn targets(s: &Summary) -> Vec<Target> {
    let mut out = Vec::new();
    let base = |address: Address, vendor: VendorAccount, endpoint: &str| Account {
        address,
        vendor,
        regions: None,
        resource_types: None,
        tags: BTreeMap::new(),
        enabled: true,
        via: None,
        depends_on: Vec::new(),
        api_endpoint: Some(endpoint.to_string()),
        span: None,
    };
    for (v, kv) in [
        (tether::config::Vendor::Aws, &s.aws),
        (tether::config::Vendor::Alibaba, &s.alibaba),
    ] {
        for a in &kv.accounts {
            let k = KeyAccount {
                main_account_id: a.main_account_id.clone(),
                account_name: a.account_name.clone(),
                access_key_id: a.access_key_id.clone(),
                secret_access_key: None,
            };
            let va = if v == tether::config::Vendor::Aws {
                VendorAccount::Aws(k)
            } else {
                VendorAccount::Alibaba(k)
            };
            out.push(common::target(
                base(Address::new(v, a.name.clone()), va, &kv.endpoint),
                Secret::from_slice(a.secret_access_key.as_bytes()),
            ));
        }
    }
    for a in &s.azure.accounts {
        out.push(common::target(
            base(
                Address::new(tether::config::Vendor::Azure, a.name.clone()),
                VendorAccount::Azure(AzureAccount {
                    tenant_id: a.tenant_id.clone(),
                    tenant_name: a.tenant_name.clone(),
                    application_id: a.application_id.clone(),
                    application_secret: None,
                    subscription_id: None,
                }),
                &s.azure.endpoint,
            ),
            Secret::from_slice(a.application_secret.as_bytes()),
        ));
    }
    for a in &s.hcs.accounts {
        out.push(common::target(
            base(
                Address::new(tether::config::Vendor::Hcs, a.name.clone()),
                VendorAccount::Hcs(HcsAccount {
                    endpoint: "hcs.example.com".into(),
                    environment_name: a.environment_name.clone(),
                    account: a.account.clone(),
                    password: None,
                    project_id: None,
                }),
                &s.hcs.endpoint,
            ),
            Secret::from_slice(a.password.as_bytes()),
        ));
    }
    out
}

/// Pages per (account, scope, API), from what one run fetched.
#[derive(Default)]
struct Pages {
    /// (account, scope, api) -> resources.
    counts: HashMap<(String, String, &'static str), usize>,
    /// account -> number of regions (for the discovery and sign-in chains).
    accounts: HashMap<String, tether::config::Vendor>,
}

/// The list API and page size of a partition's type.
fn api_of(v: tether::config::Vendor, kind: &str) -> (&'static str, usize) {
    use tether::config::Vendor::*;
    match (v, kind) {
        (Aws, "instance") => ("DescribeInstances", 1000),
        (Aws, "vpc") => ("DescribeVpcs", 1000),
        (Aws, "subnet") => ("DescribeSubnets", 1000),
        (Aws, _) => ("DescribeSecurityGroups", 1000),
        (Alibaba, "instance") => ("DescribeInstances", 100),
        (Alibaba, "security_group") => ("DescribeSecurityGroups", 100),
        (Alibaba, "vpc") => ("DescribeVpcs", 50),
        (Alibaba, _) => ("DescribeVSwitches", 50),
        (Azure, "resource_group") => ("resourcegroups", 1000),
        (Azure, _) => ("resources", 1000),
        (Hcs, "instance") => ("ListServersDetails", 1000),
        (Hcs, "vpc") => ("ListVpcs", 1000),
        (Hcs, _) => ("ListSubnets", 1000),
    }
}

impl Pages {
    fn add(&mut self, p: &Partition) {
        let v = p.key.account.vendor;
        let account = p.key.account.to_string();
        self.accounts.insert(account.clone(), v);
        let (api, _) = api_of(v, &p.key.kind);
        let scope_attr = match v {
            tether::config::Vendor::Azure => Some("subscription_id"),
            tether::config::Vendor::Hcs => Some("project_id"),
            _ => None,
        };
        // An empty partition is still one request per scope.
        self.counts
            .entry((account.clone(), p.key.region.clone(), api))
            .or_insert(0);
        for r in &p.resources {
            let scope = scope_attr
                .and_then(|a| r.attributes.get(a))
                .and_then(|x| x.as_str())
                .unwrap_or(&p.key.region)
                .to_string();
            *self
                .counts
                .entry((account.clone(), scope, api))
                .or_insert(0) += 1;
        }
    }

    /// (lower bound, total requests, the binding per-account chain).
    fn lower_bound(&self, latency: f64, parallelism: usize) -> (f64, u64, f64) {
        let mut chain: HashMap<&str, f64> = HashMap::new();
        let mut requests = 0u64;
        for ((account, _, api), n) in &self.counts {
            let v = self.accounts[account];
            let (_, size) = api_of(
                v,
                match *api {
                    "DescribeInstances" | "ListServersDetails" | "resources" => "instance",
                    "DescribeVpcs" | "ListVpcs" => "vpc",
                    "DescribeSubnets" | "ListSubnets" | "DescribeVSwitches" => "subnet",
                    "resourcegroups" => "resource_group",
                    _ => "security_group",
                },
            );
            let pages = n.div_ceil(size).max(1) as f64;
            requests += pages as u64;
            let rate = published_rate(v, api);
            let t = (pages * latency).max((pages - rate.burst).max(0.0) / rate.per_sec + latency);
            let c = chain.entry(account.as_str()).or_insert(0.0);
            *c = c.max(t);
        }
        // Sign-in and discovery before the first partition.
        let mut longest: f64 = 0.0;
        for (account, t) in &chain {
            let setup = match self.accounts[*account] {
                tether::config::Vendor::Aws | tether::config::Vendor::Alibaba => 1.0,
                tether::config::Vendor::Azure => 2.0,
                tether::config::Vendor::Hcs => 3.0,
            };
            requests += setup as u64;
            longest = longest.max(setup * latency + t);
        }
        let throughput = requests as f64 * latency / parallelism as f64;
        (longest.max(throughput), requests, longest)
    }
}

/// Figures of one parallelism level.
struct Level {
    parallelism: usize,
    times: Vec<std::time::Duration>,
    /// (tether, simulator) CPU seconds per run.
    cpu: Vec<(f64, f64)>,
    /// `tether sync` (the binary, a first sync each run).
    e2e: Vec<std::time::Duration>,
    /// Its highest peak RSS (KiB).
    e2e_rss: i64,
}

fn main() {
    common::wrap_if_asked();
    let accounts = env("SYNC_BENCH_ACCOUNTS", 250);
    let resources = env("SYNC_BENCH_RESOURCES", 1000);
    let runs = env("SYNC_BENCH_RUNS", 3) as usize;
    // The default `parallelism` (10), then more requests in flight until
    // the two processes' CPU, not the latency, sets the pace.
    let levels: Vec<usize> = std::env::var("SYNC_BENCH_PARALLELISM")
        .unwrap_or_else(|_| "10,32,128".into())
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let latency_ms = env("SYNC_BENCH_LATENCY_MS", 20);
    let workers = env("SYNC_BENCH_SIM_WORKERS", 2);
    let workers = workers.to_string();
    let e2e = env("SYNC_BENCH_E2E", 1) == 1;
    let dir = std::env::temp_dir().join(format!("tether-bench-sync-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let id = age::x25519::Identity::generate();
    let (mut child, summary): (_, Summary) = common::spawn_sim(
        accounts,
        resources,
        &[
            "--workers",
            &workers,
            "--write-config",
            dir.to_str().expect("a UTF-8 temp dir"),
            "--recipient",
            &id.to_public().to_string(),
        ],
    );
    let pid = child.id();
    let key = {
        use age::secrecy::ExposeSecret;
        id.to_string().expose_secret().to_string()
    };
    let tether = common::release_binary();
    let tether_in = |args: &[&str]| {
        let mut c = Command::new(&tether);
        c.arg("-C")
            .arg(&dir)
            .args(args)
            .env("TETHER_AGE_KEY", &key)
            .env("NO_COLOR", "1");
        c
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (results, fetched, failed, pages) = rt.block_on(async {
        let http = reqwest::Client::new();
        let r = http
            .put(format!("{}/admin/faults", summary.admin))
            .json(
                &serde_json::json!({"vendor": "*", "latency_ms": latency_ms, "rate_limits": true}),
            )
            .send()
            .await
            .expect("admin answers");
        assert!(r.status().is_success(), "faults: {}", r.status());
        let mut results = Vec::new();
        let mut fetched = 0u64;
        let mut failed = 0u64;
        let mut pages = Pages::default();
        let mut first = true;
        let mut applied = false;
        for &parallelism in &levels {
            let mut level = Level {
                parallelism,
                times: Vec::new(),
                cpu: Vec::new(),
                e2e: Vec::new(),
                e2e_rss: 0,
            };
            // One extra run at the first level: the warm-up that counts pages.
            let extra = usize::from(first && runs > 1);
            for run in 0..runs + extra {
                let opts = SyncOptions {
                    parallelism,
                    client: ClientOptions::default(),
                    rate_limits: true,
                };
                let (c0, s0) = (own_cpu(), cpu_of(pid));
                let t0 = Instant::now();
                let mut r = sync::start(targets(&summary), opts).expect("sync starts");
                let mut n = 0u64;
                while let Some(e) = r.events.recv().await {
                    match e {
                        Event::Partition(p) => {
                            n += p.len() as u64;
                            if matches!(
                                p.status,
                                tether::inventory::PartitionStatus::Failed { .. }
                            ) {
                                failed += 1;
                            }
                            if first {
                                pages.add(&p.into_partition().expect("the records decode"));
                            }
                        }
                        Event::AccountFailed { account, error } => {
                            eprintln!("{account}: {error}");
                            failed += 1;
                        }
                        _ => {}
                    }
                }
                let d = t0.elapsed();
                let (c, sc) = (own_cpu() - c0, cpu_of(pid) - s0);
                eprintln!(
                    "parallelism {parallelism}, run {}: {:.2} s, {n} resources; CPU: tether {c:.2} s, simulator {sc:.2} s",
                    run + 1,
                    d.as_secs_f64()
                );
                // The first run counts pages for the bound; its CPU
                // includes that bookkeeping, so it is not timed.
                let timed = !first || runs == 1;
                if timed {
                    level.times.push(d);
                    level.cpu.push((c, sc));
                }
                first = false;
                fetched = n;
                // `tether sync` right after each timed fetch: the two see
                // the same machine and simulator (both drift over a bench
                // on this shared 2-core machine).
                if e2e && timed {
                    if !applied {
                        let (ok, _) = common::run_rusage(&mut tether_in(common::APPLY));
                        assert!(ok, "apply works");
                        applied = true;
                    }
                    let p = parallelism.to_string();
                    // A first sync each time: what a new team runs.
                    let _ = std::fs::remove_dir_all(dir.join(".tether/snapshots"));
                    // From a fresh copy of this bench: its peak RSS is the
                    // sync's own, not floored by this process's fetches.
                    let (b0, s0) = (own_cpu(), cpu_of(pid));
                    let (ok, rss, d) =
                        common::run_isolated(&tether_in(&["sync", "--parallelism", &p]));
                    assert!(ok, "tether sync works");
                    let (bc, sc) = (own_cpu() - b0, cpu_of(pid) - s0);
                    eprintln!(
                        "parallelism {parallelism}, tether sync run {}: {:.2} s, peak RSS {:.0} MB; CPU meanwhile: simulator {sc:.2} s, this bench {bc:.2} s",
                        level.e2e.len() + 1,
                        d.as_secs_f64(),
                        rss as f64 / 1024.0
                    );
                    level.e2e.push(d);
                    level.e2e_rss = level.e2e_rss.max(rss);
                }
            }
            results.push(level);
        }
        (results, fetched, failed, pages)
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "sync benchmark ({} accounts, {} resources, {latency_ms} ms latency, published rate limits, {cores} cores)",
        accounts * 4,
        fetched,
    );
    for level in &results {
        let parallelism = level.parallelism;
        let median = common::median(&level.times);
        let (bound, requests, chain) = pages.lower_bound(latency_ms as f64 / 1000.0, parallelism);
        let ratio = median.as_secs_f64() / bound;
        println!("  parallelism {parallelism}:");
        println!(
            "    wall time:      median {:.2} s over {} runs ({})",
            median.as_secs_f64(),
            level.times.len(),
            seconds(&level.times)
        );
        println!(
            "    lower bound:    {bound:.2} s ({requests} requests x {latency_ms} ms / {parallelism} in flight; longest per-account chain {chain:.2} s)"
        );
        println!(
            "    ratio:          {ratio:.2}x (target <= 1.25x: {})",
            common::pass(ratio <= 1.25)
        );
        // Client and simulator share this machine's cores: their CPU time
        // over the cores is a second lower bound that the latency bound
        // ignores.
        let mut cpu_sorted: Vec<f64> = level.cpu.iter().map(|(c, s)| c + s).collect();
        cpu_sorted.sort_by(f64::total_cmp);
        let cpu_med = cpu_sorted[cpu_sorted.len() / 2];
        let (tc, sc) = level.cpu[level.cpu.len() / 2];
        println!(
            "    CPU:            tether {tc:.2} s + simulator {sc:.2} s (a middle run); on {cores} cores the CPU alone needs {:.2} s, so the wall time is {:.2}x that",
            cpu_med / cores as f64,
            median.as_secs_f64() / (cpu_med / cores as f64)
        );
        if !level.e2e.is_empty() {
            let e = common::median(&level.e2e).as_secs_f64();
            let to_fetch = e / median.as_secs_f64();
            let to_bound = e / bound;
            let bound_target = if parallelism <= 32 {
                format!(
                    "; target <= 1.25x at this parallelism: {}",
                    common::pass(to_bound <= 1.25)
                )
            } else {
                String::new()
            };
            println!(
                "    tether sync:    median {e:.2} s over {} runs ({}), first sync, store written; {to_fetch:.2}x the fetch alone (target <= 1.5x: {}), {to_bound:.2}x the bound{bound_target}; peak RSS {:.0} MB",
                level.e2e.len(),
                seconds(&level.e2e),
                common::pass(to_fetch <= 1.5),
                level.e2e_rss as f64 / 1024.0
            );
        }
    }
    let rss_mb = peak_rss_kib() as f64 / 1024.0;
    println!(
        "  peak RSS:         {rss_mb:.0} MB (target < 500 MB: {})",
        common::pass(rss_mb < 500.0)
    );
    println!("  failures:         {failed}");
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
