//! Simulator benchmark: start-up time, memory and list requests per second.
//!
//! Starts the release `tether-sim` binary on a generated world (default 250
//! accounts per vendor x 1,000 resources = 1,000 accounts, 1,000,000
//! resources), then drives signed list calls of all four vendors over
//! loopback from this process for a fixed time and prints the figures.
//!
//! `cargo bench -p tether-sim --bench sim` (env: `SIM_BENCH_ACCOUNTS`,
//! `SIM_BENCH_RESOURCES`, `SIM_BENCH_SECS`, `SIM_BENCH_CONNS`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tether_sim::auth::{acs, canonical_query, sha256_hex, sigv4};
use tether_sim::clock;
use tether_sim::http::Req;
use tether_sim::summary::Summary;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts the `tether-sim` binary of this build on the generated world of
/// seed 1 and reads its start-up JSON line: the running child and the
/// world's summary.
fn spawn_sim(accounts: u64, resources: u64) -> (std::process::Child, Summary) {
    let (accounts, resources) = (accounts.to_string(), resources.to_string());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether-sim"))
        .args([
            "--seed",
            "1",
            "--accounts",
            &accounts,
            "--resources",
            &resources,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tether-sim starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the JSON line");
    let summary = serde_json::from_str(&line).expect("the JSON line parses");
    (child, summary)
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds used so far by `pid` (clock ticks at 100 Hz).
fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `f[0]` is the state (field 3); utime and stime are fields 14 and 15.
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (tick(11) + tick(12)) as f64 / 100.0
}

/// One prepared list call.
enum Call {
    Aws {
        ak: String,
        sk: String,
        region: String,
    },
    Alibaba {
        ak: String,
        sk: String,
        region: String,
    },
    Azure {
        token: String,
        sub: String,
    },
    Hcs {
        token: String,
        project: String,
    },
}

struct Counters {
    ok: [AtomicU64; 4],
    failed: AtomicU64,
    bytes: AtomicU64,
    micros: AtomicU64,
}

async fn once(c: &reqwest::Client, s: &Summary, call: &Call, nonce: u64) -> (usize, bool, u64) {
    match call {
        Call::Aws { ak, sk, region } => {
            let ep = &s.aws.endpoint;
            let host = ep.trim_start_matches("http://").to_string();
            let body = "Action=DescribeInstances&Version=2016-11-15&MaxResults=100";
            let date = clock::fmt_basic(clock::now());
            let headers = vec![
                (
                    "content-type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                ),
                ("host".to_string(), host),
                ("x-amz-date".to_string(), date.clone()),
            ];
            let req = Req {
                method: "POST".into(),
                path: "/".into(),
                query: String::new(),
                headers,
                body: body.as_bytes().to_vec(),
            };
            let auth = sigv4::Authorization {
                access_key: ak.clone(),
                date: date[..8].into(),
                region: region.clone(),
                service: "ec2".into(),
                signed_headers: "content-type;host;x-amz-date".into(),
                signature: String::new(),
            };
            let sig = sigv4::sign(
                sk,
                &date,
                region,
                "ec2",
                &sigv4::canonical_of(&req, &auth).unwrap(),
            );
            let r = c
                .post(format!("{ep}/"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-amz-date", &date)
                .header(
                    "authorization",
                    format!("AWS4-HMAC-SHA256 Credential={ak}/{}/{region}/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={sig}", &date[..8]),
                )
                .body(body)
                .send()
                .await;
            finish(0, r).await
        }
        Call::Alibaba { ak, sk, region } => {
            let ep = &s.alibaba.endpoint;
            let host = ep.trim_start_matches("http://").to_string();
            let q = canonical_query(&[
                ("MaxResults".into(), "100".into()),
                ("RegionId".into(), region.clone()),
            ]);
            let date = clock::fmt_extended(clock::now());
            let n = format!("{nonce:016x}{:016x}", clock::now());
            let headers = vec![
                ("host".to_string(), host),
                ("x-acs-action".to_string(), "DescribeInstances".to_string()),
                ("x-acs-content-sha256".to_string(), sha256_hex(b"")),
                ("x-acs-date".to_string(), date),
                ("x-acs-signature-nonce".to_string(), n),
                ("x-acs-version".to_string(), "2014-05-26".to_string()),
            ];
            let signed = "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version";
            let req = Req {
                method: "POST".into(),
                path: "/".into(),
                query: q.clone(),
                headers: headers.clone(),
                body: vec![],
            };
            let auth = acs::V3Authorization {
                access_key: ak.clone(),
                signed_headers: signed.into(),
                signature: String::new(),
            };
            let sig = acs::v3_sign(sk, &acs::v3_canonical_of(&req, &auth).unwrap());
            let mut b = c.post(format!("{ep}/?{q}"));
            for (k, v) in headers.into_iter().filter(|(k, _)| k != "host") {
                b = b.header(k, v);
            }
            let r = b
                .header(
                    "authorization",
                    format!(
                        "ACS3-HMAC-SHA256 Credential={ak},SignedHeaders={signed},Signature={sig}"
                    ),
                )
                .send()
                .await;
            finish(1, r).await
        }
        Call::Azure { token, sub } => {
            let r = c
                .get(format!(
                    "{}/subscriptions/{sub}/resources?api-version=2021-04-01",
                    s.azure.endpoint
                ))
                .bearer_auth(token)
                .send()
                .await;
            finish(2, r).await
        }
        Call::Hcs { token, project } => {
            let r = c
                .get(format!(
                    "{}/v1/{project}/cloudservers/detail?offset=1&limit=100",
                    s.hcs.endpoint
                ))
                .header("x-auth-token", token)
                .send()
                .await;
            finish(3, r).await
        }
    }
}

async fn finish(v: usize, r: reqwest::Result<reqwest::Response>) -> (usize, bool, u64) {
    match r {
        Ok(r) => {
            let ok = r.status().is_success();
            let n = r.bytes().await.map(|b| b.len() as u64).unwrap_or(0);
            (v, ok, n)
        }
        Err(_) => (v, false, 0),
    }
}

async fn prepare(c: &reqwest::Client, s: &Summary) -> Vec<Call> {
    let mut calls = Vec::new();
    for a in &s.aws.accounts {
        calls.push(Call::Aws {
            ak: a.access_key_id.clone(),
            sk: a.secret_access_key.clone(),
            region: a.regions[0].clone(),
        });
    }
    for a in &s.alibaba.accounts {
        calls.push(Call::Alibaba {
            ak: a.access_key_id.clone(),
            sk: a.secret_access_key.clone(),
            region: a.regions[0].clone(),
        });
    }
    for a in &s.azure.accounts {
        let r: serde_json::Value = c
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                s.azure.endpoint, a.tenant_id
            ))
            .form(&[
                ("client_id", a.application_id.as_str()),
                ("client_secret", a.application_secret.as_str()),
                ("scope", "https://management.azure.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        calls.push(Call::Azure {
            token: r["access_token"].as_str().unwrap().to_string(),
            sub: a.subscriptions[0].clone(),
        });
    }
    for a in &s.hcs.accounts {
        let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": a.account, "password": a.password, "domain": {"name": a.account}}}},
            "scope": {"project": {"id": a.projects[0].id}}}});
        let r = c
            .post(format!("{}/v3/auth/tokens?nocatalog=true", s.hcs.endpoint))
            .json(&body)
            .send()
            .await
            .unwrap();
        let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
        calls.push(Call::Hcs {
            token,
            project: a.projects[0].id.clone(),
        });
    }
    // Interleave vendors.
    let n = calls.len() / 4;
    let mut out = Vec::with_capacity(calls.len());
    let mut buckets: Vec<Vec<Call>> = vec![Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for (i, c) in calls.into_iter().enumerate() {
        buckets[(i / n.max(1)).min(3)].push(c);
    }
    let mut iters: Vec<_> = buckets.into_iter().map(|b| b.into_iter()).collect();
    loop {
        let mut any = false;
        for it in iters.iter_mut() {
            if let Some(c) = it.next() {
                out.push(c);
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    out
}

fn main() {
    let accounts = env("SIM_BENCH_ACCOUNTS", 250);
    let resources = env("SIM_BENCH_RESOURCES", 1000);
    let secs = env("SIM_BENCH_SECS", 10);
    let conns = env("SIM_BENCH_CONNS", 32) as usize;
    let t0 = Instant::now();
    let (mut child, summary): (_, Summary) = spawn_sim(accounts, resources);
    let startup = t0.elapsed();
    let pid = child.id();
    let rss_start = status_kb(pid, "VmRSS:");
    let total_accounts = summary.aws.accounts.len()
        + summary.alibaba.accounts.len()
        + summary.azure.accounts.len()
        + summary.hcs.accounts.len();
    let total_resources: usize = summary
        .aws
        .accounts
        .iter()
        .map(|a| a.resources)
        .sum::<usize>()
        + summary
            .alibaba
            .accounts
            .iter()
            .map(|a| a.resources)
            .sum::<usize>()
        + summary
            .azure
            .accounts
            .iter()
            .map(|a| a.resources)
            .sum::<usize>()
        + summary
            .hcs
            .accounts
            .iter()
            .map(|a| a.resources)
            .sum::<usize>();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let counters = Arc::new(Counters {
        ok: Default::default(),
        failed: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        micros: AtomicU64::new(0),
    });
    let cpu_before = std::cell::Cell::new(0.0);
    let (elapsed, lat) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(conns)
            .build()
            .unwrap();
        let calls = Arc::new(prepare(&client, &summary).await);
        let summary = Arc::new(summary);
        let stop = Arc::new(AtomicBool::new(false));
        let seq = Arc::new(AtomicU64::new(0));
        cpu_before.set(cpu_secs(pid));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..conns {
            let (client, calls, summary, stop, seq, counters) = (
                client.clone(),
                calls.clone(),
                summary.clone(),
                stop.clone(),
                seq.clone(),
                counters.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let n = seq.fetch_add(1, Ordering::Relaxed);
                    let call = &calls[n as usize % calls.len()];
                    let t = Instant::now();
                    let (v, ok, bytes) = once(&client, &summary, call, n).await;
                    let us = t.elapsed().as_micros() as u64;
                    lat.push(us);
                    counters.micros.fetch_add(us, Ordering::Relaxed);
                    counters.bytes.fetch_add(bytes, Ordering::Relaxed);
                    if ok {
                        counters.ok[v].fetch_add(1, Ordering::Relaxed);
                    } else {
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                lat
            }));
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        (start.elapsed(), lat)
    });
    let mut lat = lat;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let server_cpu = cpu_secs(pid) - cpu_before.get();
    let rss_end = status_kb(pid, "VmRSS:");
    let hwm = status_kb(pid, "VmHWM:");
    let ok: Vec<u64> = counters
        .ok
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    let total: u64 = ok.iter().sum();
    let failed = counters.failed.load(Ordering::Relaxed);
    let secs_f = elapsed.as_secs_f64();
    println!(
        "tether-sim benchmark (one process, loopback, {} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("  world:            {total_accounts} accounts, {total_resources} resources (seed 1)");
    println!(
        "  start-up:         {:.2} s (spawn to JSON line)",
        startup.as_secs_f64()
    );
    println!(
        "  memory:           {:.0} MiB RSS after start, {:.0} MiB after load, {:.0} MiB peak",
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "  load:             {conns} connections for {secs_f:.1} s, list calls of all four vendors, signed/authenticated"
    );
    println!(
        "  requests/s:       {:.0} ({} ok, {failed} failed)",
        total as f64 / secs_f,
        total
    );
    println!(
        "  per vendor:       aws {:.0}/s, alibaba {:.0}/s, azure {:.0}/s, hcs {:.0}/s",
        ok[0] as f64 / secs_f,
        ok[1] as f64 / secs_f,
        ok[2] as f64 / secs_f,
        ok[3] as f64 / secs_f
    );
    println!(
        "  server CPU:       {:.2} cores busy on average, {:.0} requests per server CPU-second (the load generator shares the 2 cores)",
        server_cpu / secs_f,
        total as f64 / server_cpu.max(0.01)
    );
    println!(
        "  latency:          p50 {:.2} ms, p99 {:.2} ms",
        pct(0.5),
        pct(0.99)
    );
    println!(
        "  served:           {:.1} MiB/s of response bodies",
        counters.bytes.load(Ordering::Relaxed) as f64 / secs_f / 1048576.0
    );
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
}
