//! tether's AWS fetch against moto, timed; half of `benches/moto_sync.sh`
//! (which seeds moto and times boto3 on the same regions in the same run).
//!
//! Env: `TETHER_MOTO_URL` (required; without it the bench says so and
//! exits), `MOTO_SYNC_REGIONS` (comma-separated, default
//! `us-east-1,us-west-2,eu-west-1,ap-southeast-1`), `MOTO_SYNC_RUNS` (5),
//! `MOTO_SYNC_PARALLELISM` (10, the default setting). Prints every run and a final
//! `tether_median_s=` line.

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

/// The allocator the `tether` binary ships with, so the figures are the binary's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use tether::config::{Account, Address, KeyAccount, Vendor, VendorAccount};
use tether::secrets::Secret;
use tether::sync::{self, Event, SyncOptions};

fn main() {
    let Ok(url) = std::env::var("TETHER_MOTO_URL") else {
        println!("skipped: TETHER_MOTO_URL is not set (run benches/moto_sync.sh)");
        return;
    };
    let regions: Vec<String> = std::env::var("MOTO_SYNC_REGIONS")
        .unwrap_or_else(|_| "us-east-1,us-west-2,eu-west-1,ap-southeast-1".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let runs: usize = std::env::var("MOTO_SYNC_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let parallelism: usize = std::env::var("MOTO_SYNC_PARALLELISM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let target = || {
        common::target(
            Account {
                address: Address::new(Vendor::Aws, "moto"),
                vendor: VendorAccount::Aws(KeyAccount {
                    main_account_id: "123456789012".into(),
                    account_name: "moto".into(),
                    access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                    secret_access_key: None,
                }),
                regions: Some(regions.clone()),
                resource_types: None,
                tags: BTreeMap::new(),
                enabled: true,
                via: None,
                depends_on: Vec::new(),
                api_endpoint: Some(url.trim_end_matches('/').to_string()),
                span: None,
            },
            Secret::from_slice(b"moto-accepts-any-secret"),
        )
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut times = Vec::new();
    rt.block_on(async {
        for run in 0..runs {
            let t0 = Instant::now();
            let mut r = sync::start(
                vec![target()],
                SyncOptions {
                    parallelism,
                    ..SyncOptions::default()
                },
            )
            .expect("sync starts");
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            while let Some(e) = r.events.recv().await {
                match e {
                    Event::Partition(p) => {
                        if let tether::inventory::PartitionStatus::Failed { error } = &p.status {
                            eprintln!("{}: {error}", p.key);
                        }
                        *counts.entry(p.key.kind.clone()).or_insert(0) += p.len();
                    }
                    Event::AccountFailed { error, .. } => eprintln!("{error}"),
                    _ => {}
                }
            }
            let d = t0.elapsed();
            println!(
                "tether run {}: {:.3} s {counts:?}",
                run + 1,
                d.as_secs_f64()
            );
            times.push(d);
        }
    });
    println!(
        "tether_median_s={:.3}",
        common::median(&times).as_secs_f64()
    );
}
