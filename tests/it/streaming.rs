//! The streaming paths against the whole-partition ones, on random worlds:
//! a partition built record by record as its pages arrive (in any order,
//! with the repeated ids a moving page boundary gives) is the partition
//! built from its typed resources, and the stores written either way are
//! byte for byte the same; `drift`'s live side that drops the partitions
//! equal to the stored ones gives the diff of the one that keeps them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tether::config::Address;
use tether::inventory::{Partition, PartitionKey, PartitionStatus, Resource};
use tether::problem::{Problem, ProblemKind};
use tether::snapshot::{Encoded, Live, Records, Store, diff, diff_scoped};

use crate::harness::tree;

const T: &str = "2026-01-01T00:00:00Z";

/// splitmix64: the same world for a seed on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn keys() -> Vec<PartitionKey> {
    let mut out = Vec::new();
    for account in ["aws.a", "aws.b", "azure.c", "hcs.d"] {
        let account: Address = account.parse().unwrap();
        for region in ["eu-west-1", "us-east-1"] {
            for kind in ["instance", "vpc", "subnet"] {
                out.push(PartitionKey {
                    account: account.clone(),
                    region: region.into(),
                    kind: kind.into(),
                });
            }
        }
    }
    out
}

/// A resource whose fields depend on `(n, v)`: the same pair, the same
/// resource. Values cover what canonical encoding must settle (floats
/// that are integers, nested objects, non-ASCII text, nulls).
fn resource(k: &PartitionKey, n: u64, v: u64) -> Resource {
    let id = format!("r-{n:05}");
    let mut tags = BTreeMap::from([("owner".to_string(), format!("team-{}", v % 7))]);
    if v % 3 == 0 {
        tags.insert("Name".into(), format!("naïve-{n}-✓"));
    }
    let mut attributes = BTreeMap::from([
        ("size".to_string(), serde_json::json!(v % 5)),
        (
            "ratio".to_string(),
            serde_json::json!(((v % 4) as f64) / 2.0),
        ),
        (
            "nested".to_string(),
            serde_json::json!({"z": v % 2 == 0, "a": [1.0, "x", null], "m": {"k": n}}),
        ),
    ]);
    if v % 4 == 1 {
        attributes.insert("note".into(), serde_json::json!("line\nbreak \"quoted\""));
    }
    Resource {
        address: Resource::address_of(k, &id),
        account: k.account.clone(),
        region: k.region.clone(),
        kind: k.kind.clone(),
        native_type: "X::Y::Z".into(),
        id,
        name: (v % 2 == 0).then(|| format!("name-{n}")),
        status: Some(["running", "stopped"][(v % 2) as usize].into()),
        tags,
        attributes,
    }
}

/// One version of the world: per partition, its state.
#[derive(Clone)]
enum Part {
    /// (resource number, field version) pairs.
    Complete(BTreeMap<u64, u64>),
    Failed,
    Skipped,
}

struct World {
    keys: Vec<PartitionKey>,
    parts: Vec<Part>,
    next: u64,
}

impl World {
    fn new(rng: &mut Rng) -> World {
        let keys = keys();
        let mut next = 0;
        let parts = keys
            .iter()
            .map(|_| {
                let mut m = BTreeMap::new();
                for _ in 0..rng.below(40) {
                    m.insert(next, rng.next() % 1000);
                    next += 1;
                }
                Part::Complete(m)
            })
            .collect();
        World { keys, parts, next }
    }

    /// The next version: half the partitions as they were, in the others
    /// resources changed, added and removed; partitions failing, skipped,
    /// coming back.
    fn step(&mut self, rng: &mut Rng) {
        for p in &mut self.parts {
            if matches!(p, Part::Complete(_)) && rng.chance(50) {
                continue;
            }
            let mut m = match p {
                Part::Complete(m) => std::mem::take(m),
                _ => BTreeMap::new(),
            };
            if rng.chance(8) {
                *p = Part::Failed;
                continue;
            }
            if rng.chance(4) {
                *p = Part::Skipped;
                continue;
            }
            for v in m.values_mut() {
                if rng.chance(10) {
                    *v = rng.next() % 1000;
                }
            }
            m.retain(|_, _| !rng.chance(5));
            for _ in 0..rng.below(4) {
                m.insert(self.next, rng.next() % 1000);
                self.next += 1;
            }
            *p = Part::Complete(m);
        }
    }

    fn partitions(&self, gone: Option<&Address>) -> Vec<Partition> {
        self.keys
            .iter()
            .zip(&self.parts)
            .filter(|(k, _)| Some(&k.account) != gone)
            .map(|(k, p)| match p {
                Part::Complete(m) => Partition::new(
                    k.clone(),
                    m.iter().map(|(n, v)| resource(k, *n, *v)).collect(),
                ),
                Part::Failed => Partition::failed(
                    k.clone(),
                    Problem::new(ProblemKind::Throttled, "Throttling: slow down"),
                ),
                Part::Skipped => Partition::skipped(k.clone(), "type not listed"),
            })
            .collect()
    }
}

/// As the fetch builds a partition: each resource pushed as its page
/// arrives, pages in any order, a page boundary now and then repeating a
/// resource (the first one seen is kept, as `Partition::new` keeps it).
fn streamed(p: &Partition, rng: &mut Rng) -> Encoded {
    if p.status != PartitionStatus::Complete {
        return Encoded::without_records(p.key.clone(), p.status.clone());
    }
    let mut order: Vec<&Resource> = p.resources.iter().collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut records = Records::default();
    for r in order {
        records.push_resource(&p.key, r).unwrap();
        if rng.chance(10) {
            // The same resource again, as a later page repeats it.
            records.push_resource(&p.key, r).unwrap();
        }
    }
    Encoded::complete(p.key.clone(), records)
}

/// Every file of a store but its lock (which names the process holding it).
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = tree(dir)
        .into_iter()
        .filter(|(p, _)| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains("lock"))
        })
        .map(|(p, bytes)| (p.strip_prefix(dir).unwrap().to_path_buf(), bytes))
        .collect();
    out.sort();
    out
}

#[test]
fn partitions_built_as_pages_arrive_are_the_partitions_of_their_resources() {
    for seed in 0..40 {
        let mut rng = Rng(seed);
        let world = World::new(&mut rng);
        for p in world.partitions(None) {
            let whole = Encoded::from_partition(p.clone()).unwrap();
            let pages = streamed(&p, &mut rng);
            assert_eq!(pages, whole, "seed {seed}, {}", p.key);
            assert_eq!(
                pages.records().frames(),
                whole.records().frames(),
                "seed {seed}, {}: the stored bytes",
                p.key
            );
            assert_eq!(pages.records().hash(), whole.records().hash());
            assert_eq!(pages.resources().unwrap(), p.resources, "seed {seed}");
        }
    }
}

#[test]
fn stores_written_from_streamed_partitions_are_byte_identical() {
    for seed in 0..6 {
        let mut rng = Rng(100 + seed);
        let mut world = World::new(&mut rng);
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (sa, sb) = (Store::open(a.path()), Store::open(b.path()));
        let (ga, gb) = (
            sa.lock("test", std::time::Duration::ZERO).unwrap(),
            sb.lock("test", std::time::Duration::ZERO).unwrap(),
        );
        for v in 0..8 {
            let gone: Option<Address> = (v == 5).then(|| "hcs.d".parse().unwrap());
            let parts = world.partitions(gone.as_ref());
            let mut wa = sa.writer(&ga, sa.latest().unwrap()).unwrap();
            let mut wb = sb.writer(&gb, sb.latest().unwrap()).unwrap();
            for p in parts {
                let e = streamed(&p, &mut rng);
                let (x, y) = (wa.add(p).unwrap(), wb.add_encoded(e).unwrap());
                assert_eq!(x, y, "seed {seed}, version {v}: stored the same way");
            }
            if let Some(g) = &gone {
                wa.remove_account(g);
                wb.remove_account(g);
            }
            wa.commit_at(T).unwrap();
            wb.commit_at(T).unwrap();
            world.step(&mut rng);
        }
        let (fa, fb) = (files(a.path()), files(b.path()));
        assert!(fa.len() > 8, "{} files", fa.len());
        assert_eq!(
            fa.iter().map(|f| &f.0).collect::<Vec<_>>(),
            fb.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "seed {seed}"
        );
        for ((path, x), (_, y)) in fa.iter().zip(&fb) {
            assert!(x == y, "seed {seed}: {} differs", path.display());
        }
        // And so is every version read back, resource by resource (failed
        // partitions are not compared, by design).
        for id in sa.versions().unwrap() {
            let (va, vb) = (sa.version(id).unwrap(), sb.version(id).unwrap());
            let d = diff(&va, &vb).unwrap();
            assert!(d.is_empty(), "{d:?}");
            assert!(d.partitions_unchanged > 0);
        }
    }
}

#[test]
fn drift_that_drops_unchanged_partitions_reports_the_diff_of_the_whole_fetch() {
    let mut compared = 0;
    for seed in 0..12 {
        let mut rng = Rng(200 + seed);
        let mut world = World::new(&mut rng);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path());
        let guard = store.lock("test", std::time::Duration::ZERO).unwrap();
        let mut w = store.writer(&guard, None).unwrap();
        for p in world.partitions(None) {
            w.add(p).unwrap();
        }
        let id = w.commit_at(T).unwrap().id;
        let stored = store.version(id).unwrap();
        let baseline: BTreeMap<PartitionKey, _> = stored
            .manifest
            .partitions()
            .filter(|(_, e)| e.status == tether::snapshot::manifest::Status::Complete)
            .filter_map(|(k, e)| Some((k, e.hash()?)))
            .collect();
        world.step(&mut rng);
        let live_parts: Vec<Encoded> = world
            .partitions(None)
            .iter()
            .map(|p| streamed(p, &mut rng))
            .collect();
        let whole = Live::from_encoded(live_parts.clone());
        let mut lean = Live::default();
        for p in live_parts {
            let stored = baseline.get(&p.key);
            lean.push(&p, stored);
        }
        let scope: BTreeSet<Address> = world.keys.iter().map(|k| k.account.clone()).collect();
        let a = diff_scoped(&stored, &whole, Some(&scope)).unwrap();
        let b = diff_scoped(&stored, &lean, Some(&scope)).unwrap();
        assert_eq!(a, b, "seed {seed}");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        compared += a.partitions_compared;
        assert!(
            a.partitions_unchanged > 0,
            "seed {seed}: some partitions stay"
        );
    }
    assert!(compared > 0, "some partitions changed");
}

/// `tether snapshot diff` prints the resources it finds through temp files,
/// a partition at a time, in the bytes of the whole diff rendered at once,
/// in every format. The accounts' names sort unlike their addresses
/// (`aws.a` before `aws.a-b`, but `aws.a-b/…` before `aws.a/…`), one
/// account is removed and one partition fails.
#[test]
fn diffs_printed_as_found_are_the_diffs_rendered_whole() {
    use tether::render::snapshot as render;
    let mut keys = Vec::new();
    for account in ["aws.a", "aws.a-b", "aws.a_c", "azure.z"] {
        for region in ["eu-west-1", "us-east-1"] {
            for kind in ["instance", "vpc"] {
                keys.push(PartitionKey {
                    account: account.parse().unwrap(),
                    region: region.into(),
                    kind: kind.into(),
                });
            }
        }
    }
    for seed in 0..4 {
        let mut rng = Rng(300 + seed);
        let dir = crate::snapshot::config_dir();
        let store = crate::snapshot::store_of(dir.path());
        let guard = store.lock("test", std::time::Duration::ZERO).unwrap();
        let mut next = 0;
        let mut world: Vec<BTreeMap<u64, u64>> = keys
            .iter()
            .map(|_| {
                (0..5 + rng.below(30))
                    .map(|_| {
                        next += 1;
                        (next, rng.next() % 1000)
                    })
                    .collect()
            })
            .collect();
        let write = |world: &[BTreeMap<u64, u64>], failed: Option<usize>, gone: Option<&str>| {
            let mut w = store.writer(&guard, store.latest().unwrap()).unwrap();
            for (i, (k, part)) in keys.iter().zip(world).enumerate() {
                if gone.is_some_and(|g| k.account.to_string() == g) {
                    continue;
                }
                if failed == Some(i) {
                    let p = Problem::new(ProblemKind::Throttled, "Rate exceeded");
                    w.add(Partition::failed(k.clone(), p)).unwrap();
                    continue;
                }
                let rs = part.iter().map(|(&n, &v)| resource(k, n, v)).collect();
                w.add(Partition::new(k.clone(), rs)).unwrap();
            }
            if let Some(g) = gone {
                w.remove_account(&g.parse().unwrap());
            }
            w.commit_at(T).unwrap().id
        };
        let v1 = write(&world, None, None);
        let before = world.clone();
        for part in &mut world {
            let ids: Vec<u64> = part.keys().copied().collect();
            for n in ids {
                match rng.below(10) {
                    0 => {
                        part.remove(&n);
                    }
                    1 | 2 => {
                        part.insert(n, rng.next() % 1000);
                    }
                    _ => {}
                }
            }
            for _ in 0..rng.below(4) {
                next += 1;
                part.insert(next, rng.next() % 1000);
            }
        }
        let failed = rng.below(keys.len() - 4);
        let v2 = write(&world, Some(failed), Some("azure.z"));
        drop(guard);
        let d = diff(&store.version(v1).unwrap(), &store.version(v2).unwrap()).unwrap();
        assert!(
            !d.added.is_empty() && !d.removed.is_empty() && !d.changed.is_empty(),
            "seed {seed}: {d:?}"
        );
        assert_eq!(d.accounts_removed.len(), 1);
        assert_eq!(d.not_compared.len(), 1);
        let ab = d
            .changed
            .iter()
            .position(|c| c.address.starts_with("aws.a-b/"));
        let a = d
            .changed
            .iter()
            .position(|c| c.address.starts_with("aws.a/"));
        assert!(ab.is_some() && a.is_some() && ab < a, "seed {seed}");
        let (from, to) = (v1.to_string(), v2.to_string());
        let args = |format: &'static str| ["snapshot", "diff", &from, &to, "--format", format];
        let mut json = serde_json::to_string_pretty(&render::DiffJson::new(v1, v2, &d)).unwrap();
        json.push('\n');
        for (format, want) in [
            ("human", render::diff_human(v1, v2, &d)),
            ("json", json),
            (
                "markdown",
                render::diff_markdown(v1, v2, &d, render::DEFAULT_BUDGET),
            ),
        ] {
            let out = crate::harness::tether(dir.path(), args(format));
            assert_eq!(out.code, 0, "{}", out.stderr);
            assert!(
                out.stdout == want,
                "seed {seed}, {format}:\n{}\n---\n{want}",
                out.stdout
            );
        }
        // The export, printed a partition at a time, is the world as
        // written: the failed partition's resources kept from v1, stale.
        let out = crate::harness::tether(
            dir.path(),
            ["snapshot", "export", to.as_str(), "--format", "json"],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let mut got: BTreeMap<String, (Resource, bool)> = BTreeMap::new();
        for r in doc["resources"].as_array().unwrap() {
            let mut r = r.clone();
            let stale = r.as_object_mut().unwrap().remove("stale") == Some(true.into());
            let r: Resource = serde_json::from_value(r).unwrap();
            got.insert(r.address.clone(), (r, stale));
        }
        let mut want: BTreeMap<String, (Resource, bool)> = BTreeMap::new();
        for (i, k) in keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.account.to_string() != "azure.z")
        {
            let part = if i == failed { &before[i] } else { &world[i] };
            for (&n, &v) in part {
                let r = resource(k, n, v);
                want.insert(r.address.clone(), (r, i == failed));
            }
        }
        assert!(got == want, "seed {seed}: the export is not the world");
    }
}
