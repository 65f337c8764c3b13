//! A damaged snapshot store: no command loops, panics, or builds a version
//! on it. Damaged packs (a flipped byte, a truncated or a deleted pack) and
//! hand-edited manifests (a version that is its own parent, a cycle of
//! parents, a missing parent) under every command that reads or extends the
//! store: each one refuses with exit 1, says what is damaged and where, and
//! writes nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tether::inventory::{Partition, Resource};
use tether::snapshot::Store;

use crate::apply::Env;
use crate::harness::{Output, Run, tree};
use crate::snapshot::{config_dir, key, part, store_of, three_versions};

/// Longer than any of these commands takes; a run past it is a hang.
const LIMIT: Duration = Duration::from_secs(60);

const T: &str = "2026-01-01T00:00:00Z";

fn snapshots(dir: &Path) -> PathBuf {
    dir.join(".tether/snapshots")
}

fn manifest_path(dir: &Path, id: u64) -> PathBuf {
    snapshots(dir).join(format!("versions/{id:08}.json"))
}

/// Rewrites the parent of version `id` in place, bytes otherwise as written.
fn set_parent(dir: &Path, id: u64, from: u64, to: u64) {
    let path = manifest_path(dir, id);
    let text = std::fs::read_to_string(&path).unwrap();
    let (old, new) = (format!("\"parent\":{from},"), format!("\"parent\":{to},"));
    assert!(text.contains(&old), "{text}");
    std::fs::write(&path, text.replacen(&old, &new, 1)).unwrap();
}

/// `tether ARGS…` in `dir` (with `env`'s identity when given), killed
/// after [`LIMIT`].
fn run(dir: &Path, env: Option<&Env>, args: &[&str]) -> Output {
    let mut r = Run::new(dir).args(args);
    if let Some(env) = env {
        r = r.env("TETHER_AGE_KEY", &env.key);
    }
    r.run_within(LIMIT)
}

/// Runs each command: exit 1, a damaged store named with `what`, no
/// panic, and not one byte changed under `dir`.
fn refused(dir: &Path, env: Option<&Env>, commands: &[&[&str]], what: &[&str]) {
    let before = tree(dir);
    for args in commands {
        let o = run(dir, env, args);
        assert_eq!(o.code, 1, "{args:?}:\n{}\n{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains("damaged snapshot store"),
            "{args:?}: {}",
            o.stderr
        );
        for w in what {
            assert!(o.stderr.contains(w), "{args:?}: no `{w}` in {}", o.stderr);
        }
        assert!(!o.stderr.contains("panicked"), "{args:?}: {}", o.stderr);
        assert_eq!(tree(dir), before, "{args:?} wrote something");
    }
}

/// The snapshot commands that read versions 1 to 3, and walk between them.
const READERS: &[&[&str]] = &[
    &["snapshot", "diff", "1", "2"],
    &["snapshot", "diff", "1", "3"],
    &["snapshot", "diff", "1", "3", "--format", "json"],
    &["snapshot", "show", "2"],
    &["snapshot", "show", "~1"],
    &["snapshot", "list"],
    &["snapshot", "list", "--format", "json"],
    &["snapshot", "export", "2", "--format", "csv"],
];

#[test]
fn snapshot_commands_refuse_a_version_that_is_its_own_parent_instead_of_looping() {
    let dir = config_dir();
    three_versions(dir.path());
    set_parent(dir.path(), 2, 1, 2);
    refused(
        dir.path(),
        None,
        READERS,
        &["00000002.json", "version 2 names itself as its parent"],
    );
}

#[test]
fn snapshot_commands_refuse_a_cycle_of_parents_instead_of_looping() {
    // 3 -> 2 -> 3.
    let dir = config_dir();
    three_versions(dir.path());
    set_parent(dir.path(), 2, 1, 3);
    refused(
        dir.path(),
        None,
        READERS,
        &["00000002.json", "version 2 names the later version 3"],
    );
}

#[test]
fn snapshot_commands_refuse_a_version_whose_parent_is_missing() {
    let dir = config_dir();
    three_versions(dir.path());
    std::fs::remove_file(manifest_path(dir.path(), 2)).unwrap();
    refused(
        dir.path(),
        None,
        &[
            &["snapshot", "diff", "1", "3"],
            &["snapshot", "diff", "previous", "latest"],
            &["snapshot", "show", "3"],
            &["snapshot", "show"],
            &["snapshot", "list"],
            &["snapshot", "export", "latest", "--format", "json"],
        ],
        &["00000003.json", "its parent, version 2, is missing"],
    );
}

/// A store built by apply (snapshot 1), then `syncs` more syncs.
fn synced_env(seed: u64, syncs: usize) -> Env {
    let env = Env::new(seed);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for _ in 0..syncs {
        let out = env.tether(&["sync"]);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    }
    env
}

/// Apply makes snapshot 1; `damage` hits its pack; nothing changes in the
/// simulator, so a sync would reuse every object of it. Sync and
/// `drift --record` refuse, naming the pack and version, and write nothing:
/// no manifest, no pack, no state write (`last_sync` stays).
fn sync_refuses_damaged_pack(seed: u64, damage: impl Fn(&Path), reason: &str) {
    let env = synced_env(seed, 0);
    let pack = snapshots(env.path()).join("packs/00000001-0000.pack");
    assert!(pack.exists());
    damage(&pack);
    refused(
        env.path(),
        Some(&env),
        &[&["sync"], &["drift", "--record"]],
        &["00000001-0000.pack", reason, "of version 1"],
    );
    assert_eq!(store_of(env.path()).versions().unwrap(), [1]);
}

#[test]
fn sync_refuses_to_build_on_a_pack_with_a_flipped_byte() {
    sync_refuses_damaged_pack(
        71,
        |pack| {
            let mut bytes = std::fs::read(pack).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x20;
            std::fs::write(pack, bytes).unwrap();
        },
        "",
    );
}

#[test]
fn sync_refuses_to_build_on_a_truncated_pack() {
    sync_refuses_damaged_pack(
        72,
        |pack| {
            let bytes = std::fs::read(pack).unwrap();
            std::fs::write(pack, &bytes[..bytes.len() / 2]).unwrap();
        },
        "the pack is truncated",
    );
}

#[test]
fn sync_refuses_to_build_on_a_deleted_pack() {
    sync_refuses_damaged_pack(
        73,
        |pack| std::fs::remove_file(pack).unwrap(),
        "the pack is missing",
    );
}

#[test]
fn sync_and_drift_refuse_a_latest_version_that_is_its_own_parent() {
    let env = synced_env(74, 1);
    set_parent(env.path(), 2, 1, 2);
    refused(
        env.path(),
        Some(&env),
        &[&["sync"], &["drift"], &["drift", "--record"]],
        &["00000002.json", "version 2 names itself as its parent"],
    );
}

#[test]
fn sync_refuses_to_extend_a_cycle_of_parents() {
    // 3 -> 2 -> 3, below a latest version (3) whose own link is sound.
    let env = synced_env(75, 2);
    set_parent(env.path(), 2, 1, 3);
    let what = ["00000002.json", "version 2 names the later version 3"];
    refused(
        env.path(),
        Some(&env),
        &[&["sync"], &["drift", "--record"]],
        &what,
    );
    // The same manifest in another layout (read in full, not by its head).
    let path = manifest_path(env.path(), 2);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    refused(env.path(), Some(&env), &[&["sync"]], &what);
}

#[test]
fn sync_and_drift_refuse_a_latest_version_whose_parent_is_missing() {
    let env = synced_env(76, 2);
    std::fs::remove_file(manifest_path(env.path(), 2)).unwrap();
    refused(
        env.path(),
        Some(&env),
        &[&["sync"], &["drift"], &["drift", "--record"]],
        &["00000003.json", "its parent, version 2, is missing"],
    );
}

/// A manifest may claim any depth; the writer extends the chain that is
/// stored, so the next versions stay readable.
#[test]
fn a_manifest_that_understates_a_delta_chain_never_makes_the_next_version_unreadable() {
    let dir = config_dir();
    let store = store_of(dir.path());
    let lock = store.lock("test", Duration::ZERO).unwrap();
    let k = key("aws.a", "us-east-1", "instance");
    let ids: Vec<String> = (0..100).map(|i| format!("i-{i:04}")).collect();
    let version = |v: usize| -> Vec<Resource> {
        let mut p = part(
            &k,
            &ids.iter().map(String::as_str).collect::<Vec<_>>(),
            "ops",
        );
        p.resources[v % ids.len()]
            .tags
            .insert("owner".into(), format!("team-{v}"));
        p.resources
    };
    // Versions until a chain of the longest depth.
    let mut parent = None;
    let mut v = 0;
    loop {
        let mut w = store.writer(&lock, parent).unwrap();
        w.add(Partition::new(k.clone(), version(v))).unwrap();
        let m = w.commit_at(T).unwrap();
        parent = Some(m.id);
        v += 1;
        if m.accounts[0].partitions[0].depth == 64 {
            break;
        }
        assert!(v < 200, "no chain reached depth 64");
    }
    // The latest manifest now says its object is a full one.
    let id = parent.unwrap();
    let path = manifest_path(dir.path(), id);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"depth\":64"), "{text}");
    std::fs::write(&path, text.replace("\"depth\":64", "\"depth\":0")).unwrap();
    for _ in 0..3 {
        let mut w = store.writer(&lock, parent).unwrap();
        w.add(Partition::new(k.clone(), version(v))).unwrap();
        let m = w.commit_at(T).unwrap();
        parent = Some(m.id);
        let fresh = Store::open(store.dir());
        let ver = fresh.version(m.id).unwrap();
        let (key0, e) = ver.manifest.partitions().next().unwrap();
        assert_eq!(
            ver.resources(&key0, e).unwrap(),
            version(v),
            "version {}",
            m.id
        );
        assert!(e.depth <= 64, "depth {}", e.depth);
        v += 1;
    }
}

/// A writer that stops before its manifest (an error on the way) takes
/// the pack segments it flushed with it.
#[test]
fn a_writer_dropped_before_its_manifest_leaves_no_orphan_pack() {
    let dir = config_dir();
    let store = three_versions(dir.path());
    let lock = store.lock("test", Duration::ZERO).unwrap();
    let packs = snapshots(dir.path()).join("packs");
    let before = tree(&packs);
    let k = key("aws.big", "us-east-1", "instance");
    let ids: Vec<String> = (0..100).map(|i| format!("i-{i:04}")).collect();
    let mut big = part(
        &k,
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
        "ops",
    );
    for r in &mut big.resources {
        r.attributes
            .insert("user_data".into(), serde_json::json!("x".repeat(90_000)));
    }
    {
        let mut w = store.writer(&lock, Some(3)).unwrap();
        w.add(big).unwrap();
        // Over a segment: the first one is flushed to disk.
        w.add(part(
            &key("aws.big", "us-east-1", "vpc"),
            &["vpc-big"],
            "net",
        ))
        .unwrap();
        assert!(
            packs.join("00000004-0000.pack").exists(),
            "a full segment is written as it fills: {:?}",
            std::fs::read_dir(&packs)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(tree(&packs), before);
    assert_eq!(store.versions().unwrap(), [1, 2, 3]);
}

/// A manifest file named after the last possible id leaves no id for the
/// next version: damage, not an arithmetic overflow.
#[test]
fn a_version_id_at_the_end_of_the_range_is_damage_not_a_panic() {
    let dir = config_dir();
    let store = three_versions(dir.path());
    let last = snapshots(dir.path()).join(format!("versions/{}.json", u64::MAX));
    std::fs::write(&last, b"{}").unwrap();
    let lock = store.lock("test", Duration::ZERO).unwrap();
    match store.writer(&lock, Some(3)) {
        Ok(_) => panic!("a writer opened after version {}", u64::MAX),
        Err(e) => {
            assert!(matches!(e, tether::Error::SnapshotDamaged { .. }), "{e}");
            assert!(e.to_string().contains("no version id is left"), "{e}");
        }
    }
}

#[test]
fn a_rename_on_a_damaged_store_leaves_the_state_as_it_was() {
    let env = synced_env(79, 0);
    let pack = snapshots(env.path()).join("packs/00000001-0000.pack");
    let bytes = std::fs::read(&pack).unwrap();
    std::fs::write(&pack, &bytes[..bytes.len() / 2]).unwrap();
    let aws = env.addr("aws");
    // `state mv` and an applied `moved` block both check the store before
    // they write the state.
    refused(
        env.path(),
        Some(&env),
        &[&["state", "mv", &aws, "aws.renamed"]],
        &["the pack is truncated"],
    );
    let moved = env.config().replacen(
        &format!("\"{}\"", aws.split_once('.').unwrap().1),
        "\"renamed\"",
        1,
    ) + &format!("\nmoved {{\n  from = {aws}\n  to   = aws.renamed\n}}\n");
    env.set_config(&moved);
    refused(
        env.path(),
        Some(&env),
        &[&["apply", "--auto-approve", "--no-sync"]],
        &["the pack is truncated"],
    );
}
