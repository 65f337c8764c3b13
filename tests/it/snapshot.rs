//! The snapshot store, writer, diff and `tether snapshot` commands, on
//! versions built through the library with generated resources.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tether::config::Address;
use tether::inventory::{Partition, PartitionKey, Resource};
use tether::problem::{Problem, ProblemKind};
use tether::snapshot::{Live, Store, diff};

use crate::harness::{tether, tree};

const T: &str = "2026-01-01T00:00:00Z";

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

pub(crate) fn key(account: &str, region: &str, kind: &str) -> PartitionKey {
    PartitionKey {
        account: addr(account),
        region: region.into(),
        kind: kind.into(),
    }
}

fn res(k: &PartitionKey, id: &str, owner: &str) -> Resource {
    Resource {
        address: Resource::address_of(k, id),
        account: k.account.clone(),
        region: k.region.clone(),
        kind: k.kind.clone(),
        native_type: "AWS::EC2::Instance".into(),
        id: id.into(),
        name: Some(format!("web-{id}")),
        status: Some("running".into()),
        tags: BTreeMap::from([("owner".into(), owner.into())]),
        attributes: BTreeMap::from([
            ("instance_type".into(), serde_json::json!("t3.micro")),
            ("vpc_id".into(), serde_json::json!("vpc-1")),
        ]),
    }
}

pub(crate) fn part(k: &PartitionKey, ids: &[&str], owner: &str) -> Partition {
    Partition::new(k.clone(), ids.iter().map(|i| res(k, i, owner)).collect())
}

/// A config dir whose store is `.tether/snapshots`.
pub(crate) fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tether.hcl"),
        "tether {\n  parallelism = 4\n}\n",
    )
    .unwrap();
    dir
}

pub(crate) fn store_of(dir: &Path) -> Store {
    Store::open(dir.join(".tether/snapshots"))
}

/// v1: aws.a (instance, vpc), aws.b (instance).
/// v2: aws.a synced (instance: i-2 retagged, i-3 gone, i-4 new; vpc failed); aws.b carried.
/// v3: aws.b removed.
pub(crate) fn three_versions(dir: &Path) -> Store {
    let store = store_of(dir);
    let lock = store.lock("test", Duration::ZERO).unwrap();
    let (ai, av, bi) = (
        key("aws.a", "us-east-1", "instance"),
        key("aws.a", "us-east-1", "vpc"),
        key("aws.b", "eu-west-1", "instance"),
    );
    let mut w = store.writer(&lock, None).unwrap();
    w.add(part(&ai, &["i-1", "i-2", "i-3"], "ops")).unwrap();
    w.add(part(&av, &["vpc-1"], "net")).unwrap();
    w.add(part(&bi, &["i-9"], "ops")).unwrap();
    assert_eq!(w.commit_at(T).unwrap().id, 1);

    let mut w = store.writer(&lock, Some(1)).unwrap();
    let mut p = part(&ai, &["i-1", "i-2", "i-4"], "ops");
    p.resources[1]
        .tags
        .insert("owner".into(), "platform".into());
    w.add(p).unwrap();
    w.add(Partition::failed(
        av.clone(),
        Problem::new(ProblemKind::Throttled, "throttled after 5 attempts"),
    ))
    .unwrap();
    assert_eq!(w.commit_at(T).unwrap().id, 2);

    let mut w = store.writer(&lock, Some(2)).unwrap();
    w.remove_account(&addr("aws.b"));
    assert_eq!(w.commit_at(T).unwrap().id, 3);
    store
}

#[test]
fn carry_over_stale_and_account_removed() {
    let dir = config_dir();
    let store = three_versions(dir.path());
    let (m1, m2, m3) = (
        store.manifest(1).unwrap(),
        store.manifest(2).unwrap(),
        store.manifest(3).unwrap(),
    );
    // aws.b was not synced in v2: carried unchanged.
    assert_eq!(m1.accounts[1], m2.accounts[1]);
    assert_eq!(m2.synced_accounts, vec![addr("aws.a")]);
    // The failed vpc partition keeps v1's resources, stale.
    let vpc = &m2.accounts[0].partitions[1];
    assert!(vpc.stale && vpc.resources == 1);
    assert_eq!(vpc.hash, m1.accounts[0].partitions[1].hash);
    assert_eq!(m2.resources, 5);

    let (v1, v2, v3) = (
        store.version(1).unwrap(),
        store.version(2).unwrap(),
        store.version(3).unwrap(),
    );
    let d = diff(&v1, &v2).unwrap();
    let ids = |rs: &[Resource]| rs.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&d.added), ["i-4"]);
    assert_eq!(ids(&d.removed), ["i-3"], "the failed vpc is never removed");
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].fields[0].path, "tags.owner");
    assert_eq!(d.not_compared.len(), 1);
    assert_eq!(d.not_compared[0].stale_resources, 1);
    assert_eq!(d.partitions_unchanged, 1);

    assert_eq!(m3.removed_accounts, vec![addr("aws.b")]);
    let d = diff(&v2, &v3).unwrap();
    assert!(d.removed.is_empty() && d.added.is_empty());
    assert_eq!(d.accounts_removed.len(), 1);
    assert_eq!(d.accounts_removed[0].resources, 1);
}

#[test]
fn identical_inputs_give_identical_bytes_and_hashes() {
    let (d1, d2) = (config_dir(), config_dir());
    three_versions(d1.path());
    three_versions(d2.path());
    let rel = |d: &Path| {
        let root = d.join(".tether/snapshots");
        tree(&root)
            .into_iter()
            .map(|(p, b)| (p.strip_prefix(&root).unwrap().to_path_buf(), b))
            .collect::<Vec<_>>()
    };
    let (t1, t2) = (rel(d1.path()), rel(d2.path()));
    assert!(t1 == t2, "two stores built alike differ");
    // The same content committed again: same content hash, nothing new stored.
    let store = store_of(d1.path());
    let lock = store.lock("test", Duration::ZERO).unwrap();
    let before = tree(&d1.path().join(".tether/snapshots/packs")).len();
    let mut w = store.writer(&lock, Some(3)).unwrap();
    let mut p = part(
        &key("aws.a", "us-east-1", "instance"),
        &["i-1", "i-2", "i-4"],
        "ops",
    );
    p.resources[1]
        .tags
        .insert("owner".into(), "platform".into());
    // Attribute maps built in another order encode the same.
    p.resources[0].attributes = [
        ("vpc_id".to_string(), serde_json::json!("vpc-1")),
        ("instance_type".to_string(), serde_json::json!("t3.micro")),
    ]
    .into_iter()
    .collect();
    assert_eq!(w.add(p).unwrap(), tether::snapshot::Stored::Reused);
    let m4 = w.commit_at("2026-02-02T00:00:00Z").unwrap();
    assert_eq!(m4.content_hash, store.manifest(3).unwrap().content_hash);
    assert_eq!(
        tree(&d1.path().join(".tether/snapshots/packs")).len(),
        before
    );
}

#[test]
fn a_long_history_reads_back_through_delta_chains() {
    let dir = config_dir();
    let store = store_of(dir.path());
    let lock = store.lock("test", Duration::ZERO).unwrap();
    let k = key("aws.a", "us-east-1", "instance");
    let ids: Vec<String> = (0..200).map(|i| format!("i-{i:04}")).collect();
    let mut owners: Vec<String> = vec!["ops".into(); ids.len()];
    let mut parent = None;
    let mut kinds = Vec::new();
    for v in 0..80 {
        owners[(v * 37) % ids.len()] = format!("team-{v}");
        let rs: Vec<Resource> = ids
            .iter()
            .zip(&owners)
            .filter(|(id, _)| !(v % 5 == 4 && id.ends_with('7')))
            .map(|(id, o)| res(&k, id, o))
            .collect();
        let mut w = store.writer(&lock, parent).unwrap();
        kinds.push(w.add(Partition::new(k.clone(), rs.clone())).unwrap());
        let m = w.commit_at(T).unwrap();
        parent = Some(m.id);
        let fresh = Store::open(store.dir());
        let ver = fresh.version(m.id).unwrap();
        let (key0, e) = ver.manifest.partitions().next().unwrap();
        assert_eq!(ver.resources(&key0, e).unwrap(), rs, "version {}", m.id);
        assert!(e.depth <= 64);
    }
    use tether::snapshot::Stored;
    assert!(kinds.contains(&Stored::Delta));
    assert!(
        kinds.iter().filter(|k| **k == Stored::Full).count() >= 2,
        "chains are bounded"
    );
}

#[test]
fn a_crash_before_the_manifest_leaves_no_version_and_the_next_write_succeeds() {
    let dir = config_dir();
    three_versions(dir.path());
    let store = store_of(dir.path());
    // A writer that wrote its objects and died before its manifest.
    let packs = dir.path().join(".tether/snapshots/packs");
    std::fs::write(packs.join("00000004-0000.pack"), b"Fgarbage").unwrap();
    std::fs::write(packs.join(".00000004-0001.pack.tmp-1"), b"half").unwrap();
    assert_eq!(store.versions().unwrap(), [1, 2, 3]);
    let lock = store.lock("test", Duration::ZERO).unwrap();
    let mut w = store.writer(&lock, Some(3)).unwrap();
    w.add(part(&key("aws.c", "us-east-1", "vpc"), &["vpc-7"], "x"))
        .unwrap();
    assert_eq!(w.commit_at(T).unwrap().id, 4);
    let v4 = store.version(4).unwrap();
    let all: usize = v4
        .manifest
        .partitions()
        .map(|(k, e)| v4.resources(&k, e).unwrap().len())
        .sum();
    assert_eq!(all, 5);
    assert!(!packs.join(".00000004-0001.pack.tmp-1").exists());
}

#[test]
fn the_writer_needs_the_store_lock_and_resources_in_their_partition() {
    let dir = config_dir();
    let store = store_of(dir.path());
    let other = tempfile::tempdir().unwrap();
    let foreign = Store::open(other.path())
        .lock("test", Duration::ZERO)
        .unwrap();
    assert!(store.writer(&foreign, None).is_err());
    let lock = store.lock("test", Duration::ZERO).unwrap();
    assert!(matches!(
        store.lock("again", Duration::ZERO),
        Err(tether::Error::Locked { .. })
    ));
    let mut w = store.writer(&lock, None).unwrap();
    let k = key("aws.a", "us-east-1", "instance");
    let mut p = part(&k, &["i-1"], "x");
    p.resources[0].region = "eu-west-1".into();
    let e = w.add(p).unwrap_err().to_string();
    assert!(e.contains("not in partition"), "{e}");
}

#[test]
fn a_live_fetch_diffs_against_the_latest_version_without_writing() {
    let dir = config_dir();
    let store = three_versions(dir.path());
    let before = tree(dir.path());
    let ai = key("aws.a", "us-east-1", "instance");
    let live = Live::new(vec![
        part(&ai, &["i-1", "i-2", "i-4", "i-5"], "ops"),
        part(&key("aws.a", "us-east-1", "vpc"), &["vpc-1"], "net"),
    ])
    .unwrap();
    let d = diff(&store.version(3).unwrap(), &live).unwrap();
    assert_eq!(d.added.len(), 1);
    assert_eq!(d.changed.len(), 1, "i-2 owner back to ops");
    assert_eq!(d.not_compared.len(), 1, "stale vpc on the stored side");
    assert_eq!(tree(dir.path()), before);
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = tether(dir, args);
    assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    o.stdout
}

#[test]
fn cli_list_show_diff_export() {
    let dir = config_dir();
    three_versions(dir.path());
    let d = dir.path();
    insta::assert_snapshot!("snapshot_list", ok(d, &["snapshot", "list"]));
    insta::assert_snapshot!(
        "snapshot_list_json",
        ok(d, &["snapshot", "list", "--format", "json"])
    );
    insta::assert_snapshot!("snapshot_show_2", ok(d, &["snapshot", "show", "2"]));
    insta::assert_snapshot!(
        "snapshot_show_filtered_json",
        ok(
            d,
            &[
                "snapshot",
                "show",
                "~1",
                "--type",
                "instance",
                "--tag",
                "owner=platform",
                "--format",
                "json"
            ]
        )
    );
    insta::assert_snapshot!("snapshot_diff_1_2", ok(d, &["snapshot", "diff", "1", "2"]));
    insta::assert_snapshot!(
        "snapshot_diff_2_3",
        ok(d, &["snapshot", "diff", "previous", "latest"])
    );
    insta::assert_snapshot!(
        "snapshot_diff_1_2_json",
        ok(d, &["snapshot", "diff", "1", "2", "--format", "json"])
    );
    insta::assert_snapshot!(
        "snapshot_diff_1_3_markdown",
        ok(d, &["snapshot", "diff", "1", "3", "--format", "markdown"])
    );
    insta::assert_snapshot!(
        "snapshot_export_csv",
        ok(d, &["snapshot", "export", "2", "--format", "csv"])
    );
    let j = ok(d, &["snapshot", "export", "2", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["resources"].as_array().unwrap().len(), 5);
    insta::assert_snapshot!("snapshot_export_json", j);
}

#[test]
fn cli_errors_exit_1_and_write_nothing() {
    let dir = config_dir();
    let d = dir.path();
    let o = tether(d, ["snapshot", "show"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no snapshot versions"), "{}", o.stderr);
    three_versions(d);
    let o = tether(d, ["snapshot", "diff", "1", "7"]);
    assert_eq!(o.code, 1);
    insta::assert_snapshot!("snapshot_unknown_id", o.stderr);
    let o = tether(d, ["snapshot", "show", "~5"]);
    assert_eq!(o.code, 1);

    // Damage one object: every reader says so, exit 1, nothing written.
    let pack = d.join(".tether/snapshots/packs/00000001-0000.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    // Inside the first record of aws.a's instances ("AWS::EC2…" changes case).
    bytes[50] ^= 0x20;
    std::fs::write(&pack, &bytes).unwrap();
    let before = tree(d);
    for args in [
        &["snapshot", "show", "1"][..],
        &["snapshot", "diff", "1", "2"],
        &["snapshot", "export", "1", "--format", "csv"],
    ] {
        let o = tether(d, args);
        assert_eq!(o.code, 1, "{args:?}");
        assert!(o.stderr.contains("damaged snapshot store"), "{}", o.stderr);
        assert!(!o.stderr.contains("panicked"));
    }
    // Truncated pack and garbage manifest.
    std::fs::write(&pack, &bytes[..3]).unwrap();
    let o = tether(d, ["snapshot", "show", "1"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("damaged snapshot store"), "{}", o.stderr);
    std::fs::write(d.join(".tether/snapshots/versions/00000003.json"), b"{nope").unwrap();
    let o = tether(d, ["snapshot", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("not a snapshot manifest"), "{}", o.stderr);
    let mut after = before;
    after.retain(|(p, _)| !p.ends_with("00000003.json") && !p.ends_with("00000001-0000.pack"));
    let mut now = tree(d);
    now.retain(|(p, _)| !p.ends_with("00000003.json") && !p.ends_with("00000001-0000.pack"));
    assert_eq!(now, after);
}

/// The snapshot commands read only the settings: an account block with
/// errors does not stop them (they send and decrypt nothing), but a syntax
/// error anywhere, or a bad `tether` block, does, with its location, and
/// the store the settings name is the one read.
#[test]
fn snapshot_commands_read_only_the_settings_of_the_config() {
    let dir = config_dir();
    let d = dir.path();
    three_versions(d);
    let list = ok(d, &["snapshot", "list"]);
    std::fs::write(
        d.join("accounts.hcl"),
        "account \"aws\" \"broken\" {\n  main_account_id = \"12\"\n}\n",
    )
    .unwrap();
    let o = tether(d, ["validate"]);
    assert_eq!(o.code, 1, "the account block is invalid: {}", o.stdout);
    assert_eq!(ok(d, &["snapshot", "list"]), list);
    ok(d, &["snapshot", "diff", "1", "3"]);

    std::fs::write(d.join("accounts.hcl"), "account \"aws\" \"broken\" {\n").unwrap();
    let o = tether(d, ["snapshot", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("accounts.hcl:"), "{}", o.stderr);
    std::fs::remove_file(d.join("accounts.hcl")).unwrap();

    std::fs::write(d.join("tether.hcl"), "tether {\n  snapshots = 7\n}\n").unwrap();
    let o = tether(d, ["snapshot", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("tether.hcl:2:"), "{}", o.stderr);
    std::fs::write(
        d.join("tether.hcl"),
        "tether {\n  snapshots = \"elsewhere\"\n}\n",
    )
    .unwrap();
    let o = tether(d, ["snapshot", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("No snapshot versions"), "{}", o.stderr);
}

/// `tests/fixtures/snapshot-v1`: a store as a build that wrote manifest
/// format 1 left it (messages only: a partition's own failure with the
/// address in front, an account's without).
fn v1_store() -> tempfile::TempDir {
    let dir = config_dir();
    crate::harness::copy_dir(
        &crate::harness::repo().join("tests/fixtures/snapshot-v1"),
        &dir.path().join(".tether/snapshots"),
    );
    dir
}

/// What the build that wrote format 1 printed for the fixture.
const V1_SHOW_2: &str = r#"Snapshot 2 (2026-01-02T00:00:00Z), parent 1
  content hash 8496c639ff583809f9daa5b5a85e152dd12023e666c2647d585923b6fd1360f0
  4 resources in 4 partitions, 2 stale

  skipped aws.a/us-east-1/subnet: type not in the account's `resource_types`
  failed aws.a/us-east-1/vpc: aws.a: AWS kept throttling the requests (5 attempts): Throttling: Rate exceeded (request id 5b1c6a9e-7d1f-4a57-9c3e-2f0d8e4b6a11) (1 stale resource kept)
  failed aws.b/eu-west-1/instance: AWS refused the credentials: InvalidClientTokenId: The security token included in the request is invalid. (request id 0c9e2d4f-3b8a-4e61-a7d5-91f2c6b0e834) (1 stale resource kept)

aws.a/us-east-1/instance/i-1  name="web-i-1"  status=running  tags: owner=ops
aws.a/us-east-1/instance/i-2  name="web-i-2"  status=running  tags: owner=platform
aws.a/us-east-1/vpc/vpc-1  name="web-vpc-1"  status=running  tags: owner=net  (stale)
aws.b/eu-west-1/instance/i-9  name="web-i-9"  status=running  tags: owner=ops  (stale)

4 resources shown.
"#;
const V1_DIFF_1_2: &str = r#"Snapshot 1 -> 2

  ~ aws.a/us-east-1/instance/i-2
      ~ tags.owner: "ops" -> "platform"

  not compared: aws.a/us-east-1/subnet (skipped -> skipped): type not in the account's `resource_types`
  not compared: aws.a/us-east-1/vpc (complete -> failed): aws.a: AWS kept throttling the requests (5 attempts): Throttling: Rate exceeded (request id 5b1c6a9e-7d1f-4a57-9c3e-2f0d8e4b6a11); 1 stale resource kept from an earlier version
  not compared: aws.b/eu-west-1/instance (complete -> failed): AWS refused the credentials: InvalidClientTokenId: The security token included in the request is invalid. (request id 0c9e2d4f-3b8a-4e61-a7d5-91f2c6b0e834); 1 stale resource kept from an earlier version

0 added, 1 changed, 0 removed; 3 partitions not compared (failed or skipped).
"#;

#[test]
fn a_store_of_manifest_format_1_reads_as_before_and_takes_new_versions() {
    let dir = v1_store();
    let d = dir.path();
    let before = tree(&d.join(".tether/snapshots"));
    // Read as before: the same lines, the errors as recorded, untyped.
    assert_eq!(ok(d, &["snapshot", "show", "2"]), V1_SHOW_2);
    assert_eq!(ok(d, &["snapshot", "diff", "1", "2"]), V1_DIFF_1_2);
    let list: serde_json::Value =
        serde_json::from_str(&ok(d, &["snapshot", "list", "--format", "json"])).unwrap();
    assert_eq!(list["versions"].as_array().unwrap().len(), 2, "{list:#}");
    let show: serde_json::Value =
        serde_json::from_str(&ok(d, &["snapshot", "show", "2", "--format", "json"])).unwrap();
    let failed: Vec<&serde_json::Value> = show["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 2, "{show:#}");
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("aws.a: AWS kept throttling the requests"),
        "{show:#}"
    );
    for p in &failed {
        assert!(p["detail"].as_str().unwrap().contains("(request id "));
        for k in ["kind", "code", "request_id"] {
            assert!(p.get(k).is_none(), "not known for format 1: {p:#}");
        }
    }
    let diff: serde_json::Value =
        serde_json::from_str(&ok(d, &["snapshot", "diff", "1", "2", "--format", "json"])).unwrap();
    let nc = diff["not_compared"].as_array().unwrap();
    assert_eq!(nc.len(), 3, "{diff:#}");
    assert!(nc.iter().all(|n| n.get("kind").is_none()), "{diff:#}");
    // Reading wrote nothing.
    assert_eq!(tree(&d.join(".tether/snapshots")), before);

    // A new version on top: written in format 2, typed; the old manifests
    // are kept as they are and still read.
    let store = store_of(d);
    let lock = store.lock("test", Duration::ZERO).unwrap();
    let mut w = store.writer(&lock, Some(2)).unwrap();
    w.add(part(
        &key("aws.a", "us-east-1", "vpc"),
        &["vpc-1", "vpc-2"],
        "net",
    ))
    .unwrap();
    let mut refused = Problem::new(
        ProblemKind::Auth,
        "AWS refused the credentials: AuthFailure: AWS was not able to validate the provided access credentials (request id 7d0e)",
    );
    refused.code = Some("AuthFailure".into());
    refused.request_id = Some("7d0e".into());
    w.add(Partition::failed(
        key("aws.b", "eu-west-1", "instance"),
        refused.clone(),
    ))
    .unwrap();
    assert_eq!(w.commit_at(T).unwrap().id, 3);
    drop(lock);
    let raw: serde_json::Value = serde_json::from_slice(
        &std::fs::read(d.join(".tether/snapshots/versions/00000003.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(raw["format_version"], 4);
    for id in [1, 2] {
        assert_eq!(store.manifest(id).unwrap().format_version, 1);
        let name = format!("versions/{id:08}.json");
        assert_eq!(
            std::fs::read(d.join(".tether/snapshots").join(&name)).unwrap(),
            std::fs::read(
                crate::harness::repo()
                    .join("tests/fixtures/snapshot-v1")
                    .join(&name)
            )
            .unwrap(),
            "{name} was rewritten"
        );
    }
    let show: serde_json::Value =
        serde_json::from_str(&ok(d, &["snapshot", "show", "--format", "json"])).unwrap();
    let b = show["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["account"] == "aws.b")
        .unwrap();
    assert_eq!(b["status"], "failed");
    assert_eq!(b["detail"], refused.message.as_str());
    assert_eq!(b["kind"], "auth");
    assert_eq!(b["code"], "AuthFailure");
    assert_eq!(b["request_id"], "7d0e");
    assert_eq!(
        b["stale"], true,
        "its resources carried from format 1: {b:#}"
    );
    let diff: serde_json::Value =
        serde_json::from_str(&ok(d, &["snapshot", "diff", "1", "3", "--format", "json"])).unwrap();
    assert_eq!(diff["added"].as_array().unwrap().len(), 1, "{diff:#}");
    let nc = &diff["not_compared"];
    let b = nc
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["account"] == "aws.b")
        .unwrap();
    assert_eq!(
        (&b["kind"], &b["code"]),
        (&"auth".into(), &"AuthFailure".into())
    );
}
