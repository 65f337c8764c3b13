//! `tether::sync` and the vendor listing against the simulator started
//! in-process: a full fetch of all four vendors equals the simulator's
//! world partition by partition (across many pages), declared vs
//! discovered regions, a region added at run time, `resource_types`
//! filters, revoked credentials failing one account only, injected server
//! errors and throttling, and a region that is down for good.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tether::cloud::{ClientOptions, ErrorKind};
use tether::config::Address;
use tether::inventory::model::GLOBAL_REGION;
use tether::inventory::{PartitionStatus, Resource};
use tether::problem::ProblemKind;
use tether::sync::{self, Event, SyncOptions, Target};
use tether_sim::world::List;
use tether_sim::{Faults, FaultsUpdate, Sim, Vendor};

use crate::sim::{address, start};

fn opts() -> SyncOptions {
    SyncOptions {
        parallelism: 16,
        client: ClientOptions {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            max_attempts: 10,
            initial_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(20),
        },
        rate_limits: true,
    }
}

/// Account `i` of vendor `v` pointed at the simulator, with its secret.
fn target(sim: &Sim, v: Vendor, i: usize) -> Target {
    let (account, secret) = crate::cloud::account(sim, v, i);
    let secret = crate::harness::trusted(&account, secret);
    Target {
        account,
        secret,
        claimed: Vec::new(),
    }
}

fn secret_of(sim: &Sim, v: Vendor, i: usize) -> String {
    let s = sim.summary();
    match v {
        Vendor::Aws => s.aws.accounts[i].secret_access_key.clone(),
        Vendor::Alibaba => s.alibaba.accounts[i].secret_access_key.clone(),
        Vendor::Azure => s.azure.accounts[i].application_secret.clone(),
        Vendor::Hcs => s.hcs.accounts[i].password.clone(),
    }
}

/// (region, type) -> sorted ids, as the simulator holds them for account `i`.
type Parts = BTreeMap<(String, String), Vec<String>>;

fn world_parts(sim: &Sim, v: Vendor, i: usize) -> Parts {
    let w = sim.engine().world.read().unwrap();
    let a = &w.v(v).accounts[i];
    let mut out = Parts::new();
    // Every partition the account has, empty ones included.
    let scopes: Vec<String> = match v {
        Vendor::Azure => vec![GLOBAL_REGION.to_string()],
        Vendor::Hcs => a.projects.iter().map(|p| p.region.clone()).collect(),
        _ => a.regions.clone(),
    };
    let types: &[&str] = match v {
        Vendor::Aws => &["instance", "vpc", "subnet", "security_group"],
        Vendor::Alibaba => &["instance", "vpc", "vswitch", "security_group"],
        Vendor::Azure => &["resource_group", "resource"],
        Vendor::Hcs => &["instance", "vpc", "subnet"],
    };
    for s in &scopes {
        for t in types {
            out.insert((s.clone(), t.to_string()), Vec::new());
        }
    }
    for ((scope, list), part) in &a.parts {
        let (region, ty) = match (v, list) {
            (Vendor::Azure, List::Arm) => (GLOBAL_REGION.to_string(), "resource"),
            (Vendor::Azure, _) => (GLOBAL_REGION.to_string(), "resource_group"),
            (Vendor::Hcs, List::Of(k)) => (a.projects[*scope as usize].region.clone(), k.name()),
            (_, List::Of(k)) => (a.regions[*scope as usize].clone(), k.name()),
            (_, List::Arm) => unreachable!("only Azure lists ARM resources"),
        };
        out.entry((region, ty.to_string()))
            .or_default()
            .extend(part.keys().map(|k| k.to_string()));
    }
    for ids in out.values_mut() {
        ids.sort();
        ids.dedup();
    }
    out
}

/// (region, type) -> status and ids, as one account's partitions came out.
type Reported = BTreeMap<(String, String), (PartitionStatus, Vec<String>)>;

/// What a run reported, per account.
#[derive(Default, Debug)]
struct Outcome {
    started: BTreeSet<Address>,
    done: BTreeSet<Address>,
    failed: BTreeMap<Address, tether::cloud::VendorError>,
    regions: BTreeMap<Address, Vec<String>>,
    /// account -> (region, type) -> status and ids.
    parts: BTreeMap<Address, Reported>,
    resources: Vec<Resource>,
}

async fn run(targets: Vec<Target>, o: SyncOptions) -> Outcome {
    let mut r = sync::start(targets, o).expect("run starts");
    let mut out = Outcome::default();
    while let Some(e) = r.events.recv().await {
        match e {
            Event::AccountStarted { account } => {
                out.started.insert(account);
            }
            Event::RegionsResolved {
                account, regions, ..
            } => {
                out.regions.insert(account, regions);
            }
            Event::Partition(p) => {
                let p = p.into_partition().expect("the records decode");
                let ids: Vec<String> = p.resources.iter().map(|r| r.id.clone()).collect();
                for r in &p.resources {
                    assert_eq!(r.address, Resource::address_of(&p.key, &r.id));
                    assert_eq!(r.account, p.key.account);
                    assert_eq!(r.region, p.key.region);
                    assert_eq!(r.kind, p.key.kind);
                    assert!(!r.native_type.is_empty());
                }
                if out.resources.len() < 50_000 {
                    out.resources.extend(p.resources.iter().take(3).cloned());
                }
                let prev = out
                    .parts
                    .entry(p.key.account.clone())
                    .or_default()
                    .insert((p.key.region.clone(), p.key.kind.clone()), (p.status, ids));
                assert!(prev.is_none(), "partition {} reported twice", p.key);
            }
            Event::AccountFailed { account, error } => {
                out.failed.insert(account, error);
            }
            Event::AccountDone { account } => {
                out.done.insert(account);
            }
        }
    }
    let snap = r.progress.snapshot();
    assert_eq!(snap.partitions_done, snap.partitions_total, "{snap:?}");
    out
}

fn complete_ids(out: &Outcome, a: &Address) -> Parts {
    out.parts
        .get(a)
        .unwrap_or_else(|| panic!("no partitions for {a}: {out:?}"))
        .iter()
        .map(|(k, (status, ids))| {
            assert_eq!(*status, PartitionStatus::Complete, "{a} {k:?}");
            (k.clone(), ids.clone())
        })
        .collect()
}

fn faults(sim: &Sim, v: &str, f: Faults) {
    sim.set_faults(&FaultsUpdate {
        vendor: v.to_string(),
        faults: f,
    })
    .expect("faults accepted");
}

const ALL: [Vendor; 4] = [Vendor::Aws, Vendor::Alibaba, Vendor::Azure, Vendor::Hcs];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_fetch_equals_the_world_for_all_four_vendors() {
    // 6,000 resources per account: several pages in every vendor's lists
    // (AWS pages of 1,000 instances, Alibaba of 100/50, ARM of 1,000).
    let sim = start(61, 2, 6_000);
    let targets: Vec<Target> = ALL
        .iter()
        .flat_map(|&v| (0..2).map(move |i| (v, i)))
        .map(|(v, i)| target(&sim, v, i))
        .collect();
    let out = run(targets, opts()).await;
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    let mut total = 0;
    for v in ALL {
        for i in 0..2 {
            let a = address(v, format!("a{i}"));
            assert!(out.started.contains(&a) && out.done.contains(&a), "{a}");
            let want = world_parts(&sim, v, i);
            let got = complete_ids(&out, &a);
            assert_eq!(got.len(), want.len(), "{a}: partitions");
            for (k, ids) in &want {
                let g = got.get(k).unwrap_or_else(|| panic!("{a}: missing {k:?}"));
                assert_eq!(g.len(), ids.len(), "{a} {k:?}: count");
                assert_eq!(g, ids, "{a} {k:?}: ids");
                total += ids.len();
            }
        }
    }
    assert_eq!(total, 8 * 6_000);
    // Records are normalized: instances carry a type and a network.
    let inst = out
        .resources
        .iter()
        .find(|r| r.kind == "instance" && r.account.vendor == tether::config::Vendor::Aws)
        .expect("an AWS instance");
    assert_eq!(inst.native_type, "AWS::EC2::Instance");
    assert!(inst.attributes.contains_key("instance_type"), "{inst:?}");
    assert!(inst.attributes.contains_key("vpc_id"), "{inst:?}");
    assert!(inst.status.is_some(), "{inst:?}");
    let az = out
        .resources
        .iter()
        .find(|r| r.kind == "resource")
        .expect("an ARM resource");
    assert!(az.native_type.starts_with("Microsoft."), "{az:?}");
    assert!(az.attributes.contains_key("location"), "{az:?}");
    assert!(az.attributes.contains_key("subscription_id"), "{az:?}");
    // No record carries a secret.
    let text = serde_json::to_string(&out.resources).unwrap();
    for v in ALL {
        for i in 0..2 {
            assert!(!text.contains(&secret_of(&sim, v, i)));
        }
    }
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_regions_are_fetched_and_absent_ones_discovered() {
    let sim = start(62, 1, 400);
    let mut targets = Vec::new();
    let mut declared = BTreeMap::new();
    for v in [Vendor::Aws, Vendor::Alibaba, Vendor::Hcs] {
        let all: BTreeSet<String> = world_parts(&sim, v, 0)
            .keys()
            .map(|(r, _)| r.clone())
            .collect();
        assert!(all.len() >= 2, "{v}: {all:?}");
        // Declared: the first region only.
        let first = all.iter().next().unwrap().clone();
        let mut t = target(&sim, v, 0);
        t.account.address = address(v, "declared");
        t.account.regions = Some(vec![first.clone()]);
        declared.insert(t.account.address.clone(), (v, first));
        targets.push(t);
        targets.push(target(&sim, v, 0));
    }
    let out = run(targets, opts()).await;
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    for v in [Vendor::Aws, Vendor::Alibaba, Vendor::Hcs] {
        let want = world_parts(&sim, v, 0);
        let discovered = address(v, "a0");
        assert_eq!(complete_ids(&out, &discovered), want, "{discovered}");
        let all: Vec<String> = want
            .keys()
            .map(|(r, _)| r.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(out.regions[&discovered], all);
    }
    for (a, (v, region)) in declared {
        assert_eq!(out.regions[&a], vec![region.clone()]);
        let want: Parts = world_parts(&sim, v, 0)
            .into_iter()
            .filter(|((r, _), _)| *r == region)
            .collect();
        assert_eq!(complete_ids(&out, &a), want, "{a}");
    }
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_added_at_run_time_is_found_by_the_next_sync() {
    let sim = start(63, 1, 200);
    for (v, region) in [
        (Vendor::Aws, "ap-southeast-7"),
        (Vendor::Alibaba, "me-central-1"),
        (Vendor::Hcs, "sc-new-1"),
    ] {
        let before = run(vec![target(&sim, v, 0)], opts()).await;
        let a = address(v, "a0");
        assert!(!before.regions[&a].contains(&region.to_string()));
        sim.add_region(v, &crate::cloud::world_id(&sim, v, 0), region)
            .unwrap();
        let after = run(vec![target(&sim, v, 0)], opts()).await;
        assert!(after.regions[&a].contains(&region.to_string()), "{v}");
        let got = complete_ids(&after, &a);
        assert_eq!(got, world_parts(&sim, v, 0), "{v}");
        assert!(got.contains_key(&(region.to_string(), "vpc".to_string())));
    }
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_outside_resource_types_are_skipped() {
    let sim = start(64, 1, 300);
    let mut targets = Vec::new();
    for v in ALL {
        let mut t = target(&sim, v, 0);
        let keep = if v == Vendor::Azure {
            "resource_group"
        } else {
            "vpc"
        };
        t.account.resource_types = Some(vec![keep.to_string()]);
        targets.push(t);
    }
    let out = run(targets, opts()).await;
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    for v in ALL {
        let a = address(v, "a0");
        let want = world_parts(&sim, v, 0);
        let got = &out.parts[&a];
        assert_eq!(got.len(), want.len(), "{a}");
        for ((region, ty), ids) in &want {
            let (status, got_ids) = &got[&(region.clone(), ty.clone())];
            if ty == "vpc" || ty == "resource_group" {
                assert_eq!(*status, PartitionStatus::Complete);
                assert_eq!(got_ids, ids);
            } else {
                assert!(
                    matches!(status, PartitionStatus::Skipped { .. }),
                    "{a} {region} {ty}: {status:?}"
                );
                assert!(got_ids.is_empty());
            }
        }
    }
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_fails_its_account_only() {
    let sim = start(65, 2, 200);
    let mut declared = target(&sim, Vendor::Aws, 0);
    declared.account.address = address(Vendor::Aws, "declared");
    declared.account.regions = Some(vec![
        world_parts(&sim, Vendor::Aws, 0)
            .keys()
            .next()
            .unwrap()
            .0
            .clone(),
    ]);
    let mut targets = vec![declared];
    for v in ALL {
        targets.push(target(&sim, v, 0));
        targets.push(target(&sim, v, 1));
        sim.revoke(v, &crate::cloud::world_id(&sim, v, 0)).unwrap();
    }
    let out = run(targets, opts()).await;
    for v in ALL {
        let bad = address(v, "a0");
        let e = out
            .failed
            .get(&bad)
            .unwrap_or_else(|| panic!("{bad} should fail: {:?}", out.failed));
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.account, bad);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(&secret_of(&sim, v, 0)), "{shown}");
        assert!(!out.done.contains(&bad));
        let good = address(v, "a1");
        assert_eq!(complete_ids(&out, &good), world_parts(&sim, v, 1), "{good}");
        assert!(out.done.contains(&good));
    }
    // With declared regions there is no discovery call: the partitions
    // find out, and the account still fails as one event.
    let d = address(Vendor::Aws, "declared");
    assert_eq!(out.failed[&d].kind, ErrorKind::Auth);
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_throttling_still_fetch_everything() {
    let sim = start(66, 2, 1_500);
    faults(
        &sim,
        "*",
        Faults {
            error_rate: 0.15,
            throttle_rate: 0.15,
            ..Faults::default()
        },
    );
    let targets: Vec<Target> = ALL
        .iter()
        .flat_map(|&v| (0..2).map(move |i| (v, i)))
        .map(|(v, i)| target(&sim, v, i))
        .collect();
    let out = run(targets, opts()).await;
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    for v in ALL {
        for i in 0..2 {
            let a = address(v, format!("a{i}"));
            assert_eq!(complete_ids(&out, &a), world_parts(&sim, v, i), "{a}");
        }
    }
    // The published rate limits enforced by the simulator: paced, nothing throttled to failure.
    faults(
        &sim,
        "*",
        Faults {
            rate_limits: true,
            ..Faults::default()
        },
    );
    let targets: Vec<Target> = ALL.iter().map(|&v| target(&sim, v, 0)).collect();
    let out = run(targets, opts()).await;
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    for v in ALL {
        let a = address(v, "a0");
        assert_eq!(complete_ids(&out, &a), world_parts(&sim, v, 0), "{a}");
    }
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_down_for_good_fails_only_its_partitions() {
    let sim = start(67, 2, 600);
    let aws = world_parts(&sim, Vendor::Aws, 0);
    let region = aws.keys().next().unwrap().0.clone();
    sim.set_failing_scope(Vendor::Aws, &region, true);
    let hcs_project = {
        let w = sim.engine().world.read().unwrap();
        w.v(Vendor::Hcs).accounts[0].projects[0].clone()
    };
    sim.set_failing_scope(Vendor::Hcs, &hcs_project.id, true);
    let mut o = opts();
    o.client.max_attempts = 3;
    let targets = vec![
        target(&sim, Vendor::Aws, 0),
        target(&sim, Vendor::Aws, 1),
        target(&sim, Vendor::Hcs, 0),
    ];
    let out = run(targets, o).await;
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    for (v, down) in [(Vendor::Aws, &region), (Vendor::Hcs, &hcs_project.region)] {
        let a = address(v, "a0");
        let want = world_parts(&sim, v, 0);
        let got = &out.parts[&a];
        assert_eq!(got.len(), want.len());
        for ((r, ty), ids) in &want {
            let (status, got_ids) = &got[&(r.clone(), ty.clone())];
            if r == down {
                match status {
                    PartitionStatus::Failed { error } => {
                        assert!(error.message.contains("3 attempts"), "{error}");
                        assert_eq!(error.kind, Some(ProblemKind::Retryable), "{error:?}");
                        assert!(!format!("{error:?}").contains(&secret_of(&sim, v, 0)));
                    }
                    s => panic!("{a} {r} {ty}: {s:?}"),
                }
                assert!(got_ids.is_empty());
            } else {
                assert_eq!(*status, PartitionStatus::Complete, "{a} {r} {ty}");
                assert_eq!(got_ids, ids);
            }
        }
        assert!(out.done.contains(&a));
    }
    // Another account's region of the same name is its own scope in the
    // simulator only by name; AWS account 1 fails there too if it has it.
    let b = address(Vendor::Aws, "a1");
    for ((r, _), (status, _)) in &out.parts[&b] {
        assert_eq!(
            matches!(status, PartitionStatus::Failed { .. }),
            *r == region,
            "{b} {r}"
        );
    }
    sim.stop();
}

/// An ARM token that expires in the middle of a fetch is fetched again
/// ahead of its expiry: every page is read, none is refused as expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arm_token_is_refreshed_before_it_expires_mid_fetch() {
    let ttl = 6;
    let sim = Sim::start(
        tether_sim::World::generate(71, 1, 14_000),
        tether_sim::Options {
            workers: 2,
            azure_token_ttl: ttl,
            ..tether_sim::Options::default()
        },
    )
    .expect("simulator starts");
    faults(
        &sim,
        "azure",
        Faults {
            latency_ms: 1000,
            ..Faults::default()
        },
    );
    let started = std::time::Instant::now();
    let out = run(vec![target(&sim, Vendor::Azure, 0)], opts()).await;
    let took = started.elapsed();
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    let a = address(Vendor::Azure, "a0");
    let want = world_parts(&sim, Vendor::Azure, 0);
    let got = complete_ids(&out, &a);
    assert_eq!(got, want);
    // The fetch outlived the first token: without a refresh its last
    // pages would have been refused.
    assert!(
        took > Duration::from_secs(ttl as u64 + 1),
        "the fetch took {took:?}, not longer than the token lives"
    );
    sim.stop();
}
