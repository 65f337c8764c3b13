//! Benchmark: `tether drift` as a user runs it (the whole binary, wall
//! time and peak RSS from wait4), on a world of 1,000 accounts and
//! 1,000,000 resources with 1% of them drifted (a tag changed on every
//! 100th resource: half of them `last_scanned`, which one rule ignores,
//! half `owner`; resources of types whose listing carries no tags do not
//! show the change), without and with 500 ignore rules; then the HTML
//! report.
//!
//! Targets: the rules add under 10% to the drift time; the HTML report of
//! 10,000 findings renders in under 1 s and is under 10 MB.
//!
//! The two drift runs alternate (rules, none, rules, …) so the machine's
//! noise falls on both alike; medians of `DRIFT_RUNS` (default 3).
//! Sizes: `DRIFT_ACCOUNTS` per vendor (default 250), `DRIFT_PER_ACCOUNT`
//! resources each (default 1000).
//!
//! Run: `cargo bench --bench drift`.

#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::{median, release_binary, run_rusage, run_rusage_into};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 500 rules as a platform team might have them: one that matches (the
/// scanner's tag), the rest about resources, tags and accounts this run
/// does not have, each evaluated against every finding.
fn rules(accounts: &[String]) -> String {
    let mut s = String::from(
        "ignore \"scanner\" {\n  account   = \"*.*\"\n  attribute = \"tags.last_scanned\"\n  reason    = \"the nightly scanner stamps it\"\n  owner     = \"secops\"\n}\n",
    );
    for i in 1..500 {
        let account = &accounts[i % accounts.len()];
        let body = match i % 5 {
            0 => format!("  resource = \"{account}/*/instance/i-none{i:04}*\""),
            1 => format!("  account = \"{account}\"\n  tag     = \"ticket=T-{i}\""),
            2 => format!("  type      = \"security_group\"\n  attribute = \"attributes.rule_{i}\""),
            3 => format!(
                "  account   = \"{account}\"\n  attribute = \"tags.patch_{i}\"\n  until     = \"2099-12-31\""
            ),
            _ => format!("  resource  = \"*/*/subnet/subnet-none{i}*\"\n  attribute = \"name\""),
        };
        s.push_str(&format!(
            "\nignore \"rule_{i:03}\" {{\n{body}\n  reason = \"known case {i}\"\n}}\n"
        ));
    }
    s
}

fn main() {
    let per_vendor = env_or("DRIFT_ACCOUNTS", 250);
    let per_account = env_or("DRIFT_PER_ACCOUNT", 1000);
    let runs = env_or("DRIFT_RUNS", 3).max(1);
    let tether = release_binary();
    let w = common::written("drift", per_vendor as u64, per_account as u64, &[]);
    let dir = w.dir.clone();
    let summary = w.summary.clone();
    let tether_in = |args: &[&str]| w.command(&tether, &[], args);
    let total = per_vendor * 4 * per_account;
    println!(
        "== drift: the tether binary, {} accounts, {total} resources, 1% drifted, --parallelism 128",
        per_vendor * 4
    );
    assert!(run_rusage(&mut tether_in(common::APPLY)).0, "apply works");
    assert!(
        run_rusage(&mut tether_in(&["sync", "--parallelism", "128"])).0,
        "sync works"
    );

    // Every 100th resource drifts: its tags changed through the admin API.
    let csv = tether_in(&["snapshot", "export", "latest", "--format", "csv"])
        .output()
        .expect("export runs");
    assert!(csv.status.success(), "export works");
    let text = String::from_utf8(csv.stdout).expect("UTF-8 CSV");
    let mut picked = Vec::new();
    let mut accounts = std::collections::BTreeSet::new();
    for (n, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.splitn(7, ',').collect();
        if f.len() < 7 || line.starts_with('"') {
            continue;
        }
        accounts.insert(f[1].to_string());
        if n % 100 == 0 {
            let vendor = f[1].split('.').next().unwrap_or("").to_string();
            picked.push((vendor, f[5].trim_matches('"').to_string()));
        }
    }
    drop(text);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let admin = summary.admin.clone();
    let changed = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
        for (i, (vendor, id)) in picked.iter().enumerate() {
            let (client, gate) = (client.clone(), gate.clone());
            let url = format!(
                "{admin}/admin/resources/{vendor}/{}",
                percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
            );
            let tags = if i % 2 == 0 {
                serde_json::json!({"last_scanned": "2026-12-06"})
            } else {
                serde_json::json!({"owner": "drift-bench"})
            };
            set.spawn(async move {
                let _permit = gate.acquire().await.unwrap();
                let r = client
                    .patch(url)
                    .json(&serde_json::json!({"tags": tags, "merge": true}))
                    .send()
                    .await
                    .unwrap();
                r.status().is_success()
            });
        }
        let mut ok = 0;
        while let Some(r) = set.join_next().await {
            ok += usize::from(r.unwrap());
        }
        ok
    });
    println!("  drifted: {changed} resources of {total}");
    let accounts: Vec<String> = accounts.into_iter().collect();
    let rules_path = dir.join("rules.hcl");
    let rules_text = rules(&accounts);

    let mut with = Vec::new();
    let mut without = Vec::new();
    let (mut peak_with, mut peak_without) = (0, 0);
    let mut counts = (0, 0);
    for _ in 0..runs {
        for rules_on in [true, false] {
            if rules_on {
                std::fs::write(&rules_path, &rules_text).unwrap();
            } else {
                let _ = std::fs::remove_file(&rules_path);
            }
            let out = dir.join("drift.json");
            let mut c = tether_in(&["drift", "--parallelism", "128", "--format", "json"]);
            let t = Instant::now();
            let (ok, rss) = run_rusage_into(&mut c, std::fs::File::create(&out).unwrap());
            let wall = t.elapsed();
            assert!(ok, "drift works");
            let report: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
            let items = report["items"].as_array().map_or(0, Vec::len);
            let ignored = report["ignored"].as_array().map_or(0, Vec::len);
            if rules_on {
                with.push(wall);
                peak_with = peak_with.max(rss);
                counts = (items, ignored);
            } else {
                without.push(wall);
                peak_without = peak_without.max(rss);
            }
        }
    }
    let (a, b) = (median(&without), median(&with));
    let ratio = b.as_secs_f64() / a.as_secs_f64();
    println!(
        "  drift, no rules: {:.2} s, peak RSS {:.0} MB",
        a.as_secs_f64(),
        peak_without as f64 / 1024.0
    );
    println!(
        "  drift, 500 rules: {:.2} s, peak RSS {:.0} MB ({} findings shown, {} ignored)",
        b.as_secs_f64(),
        peak_with as f64 / 1024.0,
        counts.0,
        counts.1
    );
    println!(
        "  rules add {:+.1}% (target < 10%: {})",
        (ratio - 1.0) * 100.0,
        common::pass(ratio < 1.10)
    );

    // The HTML report of every finding (no rules: 10,000 changes), against
    // the JSON report of the same run.
    let _ = std::fs::remove_file(&rules_path);
    let mut html_walls = Vec::new();
    let mut json_walls = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        for format in ["html", "json"] {
            let out = dir.join(format!("drift.{format}"));
            let mut c = tether_in(&["drift", "--parallelism", "128", "--format", format]);
            let t = Instant::now();
            let file = std::fs::File::create(&out).unwrap();
            assert!(
                run_rusage_into(&mut c, file).0,
                "drift --format {format} works"
            );
            if format == "html" {
                html_walls.push(t.elapsed());
                size = std::fs::metadata(&out).unwrap().len();
            } else {
                json_walls.push(t.elapsed());
            }
        }
    }
    let extra = median(&html_walls).saturating_sub(median(&json_walls));
    println!(
        "  drift --format html: {:.2} s ({:+.0} ms against --format json), {:.1} MB (target < 10 MB: {})",
        median(&html_walls).as_secs_f64(),
        extra.as_secs_f64() * 1000.0,
        size as f64 / 1e6,
        common::pass(size < 10_000_000)
    );
    // The rendering alone, as the binary does it, on the report's findings.
    let report_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("drift.json")).unwrap()).unwrap();
    let changed: Vec<tether::snapshot::diff::Changed> =
        serde_json::from_value(report_json["resources"]["changed"].clone()).unwrap();
    let n = changed.len();
    let mut renders = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let page = tether::render::html::diff(
            1,
            2,
            &tether::snapshot::Diff {
                changed: changed.clone(),
                ..Default::default()
            },
        );
        renders.push(t.elapsed());
        std::hint::black_box(page);
    }
    let render = median(&renders);
    println!(
        "  HTML rendering of {n} changed resources: {:.0} ms (target < 1 s: {})",
        render.as_secs_f64() * 1000.0,
        common::pass(render < Duration::from_secs(1))
    );
}
