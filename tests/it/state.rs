//! The state store, its lock, `tether state …`, `force-unlock`, and rekey of state secrets.
//!
//! There is no `apply` yet, so states are built from the `State` types and written here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tether::config::{Address, Vendor};
use tether::secrets::identity::{self, Origin as IdOrigin};
use tether::secrets::{Ciphertext, Identities, Origin, Recipients, decrypt, encrypt};
use tether::state::{
    AccountState, LastSync, Scope, State, StateStore, StoredSecret, VerifiedIdentity, canonical,
    lock, new_state,
};

use crate::harness::{Output, Run, tether, tree};

const PLAIN: &str = "STATE-CANARY-wJalrXUtnFEMI";

struct Key {
    identity: String,
    recipient: String,
}

fn key() -> Key {
    let id = age::x25519::Identity::generate();
    Key {
        identity: format!("{}\n", id.to_string().expose_secret()),
        recipient: id.to_public().to_string(),
    }
}

fn armored(plain: &str, to: &Key) -> String {
    let r = Recipients::parse([(to.recipient.as_str(), None)]).unwrap();
    encrypt::armored(plain.as_bytes(), &r).unwrap()
}

fn decrypts(ciphertext: &str, with: &Key) -> Result<String, String> {
    let ids = Identities::from_list(identity::parse(&with.identity, &IdOrigin::Given).unwrap());
    let c = Ciphertext {
        origin: Origin {
            address: "test".into(),
            attribute: "test".into(),
            location: "test".into(),
        },
        bytes: ciphertext.as_bytes().to_vec(),
    };
    decrypt::decrypt(&c, &ids)
        .map(|s| s.expose_str().unwrap().to_string())
        .map_err(|e| e.to_string())
}

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn account(vendor: Vendor, secret_attr: &str, ct: &str, deps: &[&str]) -> AccountState {
    let mut attributes = BTreeMap::new();
    attributes.insert("account_name".into(), serde_json::json!("Production"));
    attributes.insert("main_account_id".into(), serde_json::json!("123456789012"));
    attributes.insert("regions".into(), serde_json::json!(["us-east-1"]));
    attributes.insert("tags".into(), serde_json::json!({"team": "platform"}));
    AccountState {
        vendor,
        attributes,
        secret: StoredSecret {
            attribute: secret_attr.into(),
            ciphertext: ct.into(),
            applied: None,
        },
        identity: VerifiedIdentity {
            account_id: "123456789012".into(),
            principal: "arn:aws:iam::123456789012:user/tether".into(),
            scopes: vec![Scope {
                id: "sub-1".into(),
                name: "main".into(),
            }],
            verified_at: "2025-01-02T03:04:05Z".into(),
        },
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        depends_on: deps.iter().map(|d| addr(d)).collect(),
        applied_at: "2025-01-02T03:04:05Z".into(),
        last_sync: Some(LastSync {
            snapshot: 3,
            at: "2025-01-02T04:00:00Z".into(),
        }),
    }
}

/// Three accounts; `azure.corp` depends on `aws.old`.
fn sample(ct: &str) -> State {
    let mut s = new_state();
    s.serial = 7;
    s.accounts.insert(
        addr("aws.prod"),
        account(Vendor::Aws, "secret_access_key", ct, &[]),
    );
    s.accounts.insert(
        addr("aws.old"),
        account(Vendor::Aws, "secret_access_key", ct, &[]),
    );
    s.accounts.insert(
        addr("azure.corp"),
        account(Vendor::Azure, "application_secret", ct, &["aws.old"]),
    );
    s
}

/// A valid config (recipient `to`) with one account whose secret is for `to`.
fn project(to: &Key) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tether.hcl"),
        format!(
            "tether {{\n  recipients = [\"{}\"]\n}}\n\naccount \"aws\" \"prod\" {{\n  main_account_id   = \"123456789012\"\n  account_name      = \"Production\"\n  access_key_id     = \"AKIAEXAMPLE\"\n  secret_access_key = file(\"s.age\")\n}}\n",
            to.recipient
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("s.age"), armored(PLAIN, to)).unwrap();
    dir
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("tether.state.json")
}

fn put(dir: &Path, s: &State) {
    std::fs::write(state_path(dir), canonical(s)).unwrap();
}

fn read(dir: &Path) -> State {
    StateStore::open(state_path(dir)).read().unwrap().unwrap()
}

fn code(o: &Output, want: i32) {
    assert_eq!(o.code, want, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn write_read_round_trip_serial_backup_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(state_path(dir.path()));
    assert_eq!(store.read().unwrap(), None, "no file is no state");
    let a = key();
    let mut s = sample(&armored(PLAIN, &a));
    s.serial = 0;
    let guard = store.lock("test", Duration::ZERO).unwrap();
    let w1 = store.write(&s, &guard).unwrap();
    assert_eq!(w1.serial, 1);
    assert_eq!(w1.lineage, s.lineage);
    assert_eq!(store.read().unwrap().as_ref(), Some(&w1));
    assert!(!store.backup_path().exists(), "nothing to back up yet");
    let first = std::fs::read(store.path()).unwrap();
    assert_eq!(first, canonical(&w1));
    assert!(first.ends_with(b"}\n"));
    let text = String::from_utf8(first.clone()).unwrap();
    let positions: Vec<usize> = ["\"aws.old\"", "\"aws.prod\"", "\"azure.corp\""]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "accounts in address order"
    );
    assert_eq!(mode(store.path()), 0o600);

    // The same content again: nothing written, serial unchanged.
    assert_eq!(store.write(&w1, &guard).unwrap().serial, 1);
    assert!(!store.backup_path().exists());

    let mut changed = w1.clone();
    changed.accounts.remove(&addr("aws.old"));
    let w2 = store.write(&changed, &guard).unwrap();
    assert_eq!(w2.serial, 2);
    assert_eq!(w2.lineage, w1.lineage);
    assert_eq!(std::fs::read(store.backup_path()).unwrap(), first);
    assert_eq!(mode(&store.backup_path()), 0o600);
    assert_eq!(mode(store.path()), 0o600);

    // A writer holding an older read is refused, nothing written.
    let before = std::fs::read(store.path()).unwrap();
    let e = store.write(&changed, &guard).unwrap_err();
    assert!(e.to_string().contains("changed since it was read"), "{e}");
    assert_eq!(std::fs::read(store.path()).unwrap(), before);

    // Plaintext never enters the file: a secret that is not age ciphertext is refused.
    let mut plain = w2.clone();
    plain
        .accounts
        .get_mut(&addr("aws.prod"))
        .unwrap()
        .secret
        .ciphertext = PLAIN.into();
    let e = store.write(&plain, &guard).unwrap_err();
    assert!(e.to_string().contains("armored age ciphertext"), "{e}");
    drop(guard);
    for (p, bytes) in tree(dir.path()) {
        let t = String::from_utf8_lossy(&bytes);
        assert!(!t.contains(PLAIN), "{} holds the plaintext", p.display());
    }
    assert!(
        !store.lock_path().exists(),
        "the guard removes its lock file"
    );
}

#[test]
fn foreign_lineage_is_refused_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(state_path(dir.path()));
    let a = key();
    let ours = sample(&armored(PLAIN, &a));
    put(dir.path(), &ours);
    let before = std::fs::read(store.path()).unwrap();

    let e = store
        .read_expecting("00000000-0000-4000-8000-000000000000")
        .unwrap_err();
    assert!(matches!(e, tether::Error::StateForeign { .. }), "{e:?}");
    assert!(e.to_string().contains("lineage"), "{e}");
    assert!(store.read_expecting(&ours.lineage).unwrap().is_some());

    let mut other = sample(&armored(PLAIN, &a));
    other.serial = ours.serial;
    let guard = store.lock("test", Duration::ZERO).unwrap();
    let e = store.write(&other, &guard).unwrap_err();
    assert!(matches!(e, tether::Error::StateForeign { .. }), "{e:?}");
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
    assert!(!store.backup_path().exists());
}

#[test]
fn damaged_state_is_a_clear_error_and_left_untouched() {
    let a = key();
    let dir = project(&a);
    let text = "{\n  \"format_version\": 1,\n  \"serial\": 3\n  \"lineage\": \"x\"\n}\n";
    std::fs::write(state_path(dir.path()), text).unwrap();
    let before = tree(dir.path());
    for args in [
        vec!["state", "list"],
        vec!["state", "show", "aws.prod"],
        vec!["state", "rm", "aws.prod"],
        vec!["state", "mv", "aws.prod", "aws.new"],
        vec!["state", "upgrade"],
    ] {
        let o = tether(dir.path(), &args);
        code(&o, 1);
        assert!(
            o.stderr.contains(
                "damaged state tether.state.json:4:3: not valid JSON: expected `,` or `}`"
            ),
            "{args:?}: {}",
            o.stderr
        );
        assert!(o.stderr.contains("no .backup"), "{}", o.stderr);
        assert_eq!(tree(dir.path()), before, "{args:?} wrote something");
    }
    // With a backup beside it, the message says where to restore from.
    std::fs::write(dir.path().join("tether.state.json.backup"), "{}").unwrap();
    let o = tether(dir.path(), ["state", "list"]);
    assert!(
        o.stderr
            .contains("restore the previous version from tether.state.json.backup"),
        "{}",
        o.stderr
    );

    // Valid JSON of the wrong shape is damaged too, with its position.
    let mut v = serde_json::to_value(sample(&armored(PLAIN, &a))).unwrap();
    v["accounts"]["aws.prod"]["surprise"] = serde_json::json!(1);
    std::fs::write(
        state_path(dir.path()),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
    let o = tether(dir.path(), ["state", "list"]);
    code(&o, 1);
    assert!(
        o.stderr
            .contains("not in the state format: unknown field `surprise`"),
        "{}",
        o.stderr
    );

    // An empty file and a Terraform state.
    std::fs::write(state_path(dir.path()), "").unwrap();
    let o = tether(dir.path(), ["state", "list"]);
    assert!(o.stderr.contains("the file is empty"), "{}", o.stderr);
    std::fs::write(
        state_path(dir.path()),
        r#"{"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "x", "resources": []}"#,
    )
    .unwrap();
    let o = tether(dir.path(), ["state", "rm", "aws.prod"]);
    code(&o, 1);
    assert!(
        o.stderr.contains("this is a Terraform state"),
        "{}",
        o.stderr
    );
}

#[test]
fn other_format_versions_are_refused_until_upgraded_explicitly() {
    let a = key();
    let dir = project(&a);
    let mut v = serde_json::to_value(sample(&armored(PLAIN, &a))).unwrap();
    v["format_version"] = serde_json::json!(99);
    std::fs::write(state_path(dir.path()), serde_json::to_vec(&v).unwrap()).unwrap();
    let before = tree(dir.path());
    for args in [
        vec!["state", "list"],
        vec!["state", "rm", "aws.prod"],
        vec!["state", "upgrade"],
    ] {
        let o = tether(dir.path(), &args);
        code(&o, 1);
        assert!(
            o.stderr.contains(
                "written by a newer tether (format_version 99; this build reads 1); upgrade tether"
            ),
            "{}",
            o.stderr
        );
        assert_eq!(tree(dir.path()), before);
    }

    // Format 1 is the first: 0 is no format tether wrote, and there is nothing to upgrade it from.
    v["format_version"] = serde_json::json!(0);
    std::fs::write(state_path(dir.path()), serde_json::to_vec(&v).unwrap()).unwrap();
    let before = tree(dir.path());
    for args in [vec!["state", "list"], vec!["state", "upgrade"]] {
        let o = tether(dir.path(), &args);
        code(&o, 1);
        assert!(
            o.stderr
                .contains("format_version 0 is not a format any tether wrote"),
            "{}",
            o.stderr
        );
        assert_eq!(tree(dir.path()), before);
    }

    // A current file: upgrade says so and writes nothing.
    put(dir.path(), &sample(&armored(PLAIN, &a)));
    let before = tree(dir.path());
    let o = tether(dir.path(), ["state", "upgrade"]);
    code(&o, 0);
    assert_eq!(
        o.stdout,
        "tether.state.json is already in format_version 1; nothing to do.\n"
    );
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn list_show_rm_mv_on_a_hand_written_state() {
    let a = key();
    let dir = project(&a);
    let s = sample(&armored(PLAIN, &a));
    put(dir.path(), &s);

    let o = tether(dir.path(), ["state", "list"]);
    code(&o, 0);
    assert_eq!(o.stdout, "aws.old\naws.prod\nazure.corp\n");

    let o = tether(dir.path(), ["state", "show", "azure.corp"]);
    code(&o, 0);
    assert!(
        o.stdout
            .starts_with("# azure.corp:\naccount \"azure\" \"corp\" {\n"),
        "{}",
        o.stdout
    );
    for want in [
        "application_secret = (sensitive)",
        "depends_on         = [aws.old]",
        "tags               = { \"team\" = \"platform\" }",
        "resolved_regions   = [\"us-east-1\", \"eu-west-1\"]",
        "account_id = \"123456789012\"",
        "scope \"sub-1\" { name = \"main\" }",
        "# last sync: snapshot 3 at 2025-01-02T04:00:00Z",
    ] {
        assert!(o.stdout.contains(want), "missing {want:?} in\n{}", o.stdout);
    }
    assert!(!o.stdout.contains("AGE ENCRYPTED"));

    let o = tether(
        dir.path(),
        ["state", "show", "aws.prod", "--format", "json"],
    );
    code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(j["address"], "aws.prod");
    assert_eq!(
        j["secret"],
        serde_json::json!({"attribute": "secret_access_key", "sensitive": true})
    );
    assert_eq!(j["serial"], 7);
    assert!(!o.stdout.contains("AGE ENCRYPTED"));

    let o = tether(dir.path(), ["state", "show", "aws.prd"]);
    code(&o, 1);
    assert!(
        o.stderr
            .contains("`aws.prd` is not in state tether.state.json; did you mean `aws.prod`?"),
        "{}",
        o.stderr
    );

    // mv: refusals write nothing.
    let before = tree(dir.path());
    for (args, msg) in [
        (
            ["state", "mv", "aws.old", "azure.old"],
            "an account keeps its vendor",
        ),
        (
            ["state", "mv", "aws.old", "aws.prod"],
            "`aws.prod` is already in state",
        ),
        (
            ["state", "mv", "aws.nope", "aws.new"],
            "`aws.nope` is not in state",
        ),
        (
            ["state", "mv", "aws.old", "aws"],
            "is not an account address",
        ),
    ] {
        let o = tether(dir.path(), args);
        code(&o, 1);
        assert!(o.stderr.contains(msg), "{args:?}: {}", o.stderr);
        assert_eq!(tree(dir.path()), before);
    }
    let o = tether(dir.path(), ["state", "mv", "aws.old", "aws.legacy"]);
    code(&o, 0);
    assert_eq!(
        o.stdout,
        "Moved aws.old to aws.legacy in tether.state.json (serial 8).\n"
    );
    let after = read(dir.path());
    assert_eq!(after.serial, 8);
    assert_eq!(after.lineage, s.lineage);
    assert!(after.accounts.contains_key(&addr("aws.legacy")));
    assert!(!after.accounts.contains_key(&addr("aws.old")));
    assert_eq!(
        after.accounts[&addr("azure.corp")].depends_on,
        vec![addr("aws.legacy")],
        "dependencies follow the move"
    );
    assert_eq!(
        after.accounts[&addr("aws.legacy")],
        s.accounts[&addr("aws.old")]
    );

    // rm: every address must exist before anything is removed.
    let before = tree(dir.path());
    let o = tether(dir.path(), ["state", "rm", "aws.prod", "aws.ghost"]);
    code(&o, 1);
    assert_eq!(tree(dir.path()), before);
    let o = tether(dir.path(), ["state", "rm", "aws.legacy", "aws.prod"]);
    code(&o, 0);
    assert_eq!(
        o.stdout,
        "Removed aws.legacy\nRemoved aws.prod\nRemoved 2 accounts from tether.state.json (serial 9).\n"
    );
    assert!(
        o.stderr
            .contains("note: azure.corp still list `aws.legacy` in depends_on"),
        "{}",
        o.stderr
    );
    let o = tether(dir.path(), ["state", "list"]);
    assert_eq!(o.stdout, "azure.corp\n");
    assert!(dir.path().join("tether.state.json.backup").exists());
    assert!(!dir.path().join("tether.state.json.lock").exists());
}

#[test]
fn list_without_state_says_so() {
    let a = key();
    let dir = project(&a);
    let o = tether(dir.path(), ["state", "list"]);
    code(&o, 0);
    assert_eq!(o.stdout, "");
    assert_eq!(o.stderr, "No state at tether.state.json.\n");
    let o = tether(dir.path(), ["state", "rm", "aws.prod"]);
    code(&o, 1);
    assert!(
        o.stderr.contains("there is no state at tether.state.json"),
        "{}",
        o.stderr
    );
    assert!(!state_path(dir.path()).exists());
}

#[test]
fn a_held_lock_exits_4_after_the_timeout_and_writes_nothing() {
    let a = key();
    let dir = project(&a);
    put(dir.path(), &sample(&armored(PLAIN, &a)));
    let guard = lock::acquire(&state_path(dir.path()), "apply", Duration::ZERO).unwrap();
    let info = guard.info().clone();
    let before = std::fs::read(state_path(dir.path())).unwrap();

    let start = Instant::now();
    let o = tether(
        dir.path(),
        ["--lock-timeout", "1s", "state", "rm", "aws.prod"],
    );
    let took = start.elapsed();
    code(&o, 4);
    assert!(took >= Duration::from_millis(950), "waited only {took:?}");
    for want in [
        "the state is locked by another run:",
        info.holder.as_str(),
        &format!("pid {}", info.pid),
        "`apply` since",
        &format!("lock ID {}", info.id),
        "waited 1s",
        "--lock-timeout",
    ] {
        assert!(o.stderr.contains(want), "missing {want:?} in {}", o.stderr);
    }
    assert_eq!(std::fs::read(state_path(dir.path())).unwrap(), before);

    // Without --lock-timeout it does not wait; reads need no lock.
    let o = tether(dir.path(), ["state", "mv", "aws.prod", "aws.p"]);
    code(&o, 4);
    assert!(
        o.stderr.contains("did not wait (--lock-timeout 0s)"),
        "{}",
        o.stderr
    );
    code(&tether(dir.path(), ["state", "list"]), 0);

    // A live holder's lock cannot be force-unlocked, even with its ID.
    let o = tether(dir.path(), ["force-unlock", &info.id]);
    code(&o, 1);
    assert!(
        o.stderr.contains("held by a running process"),
        "{}",
        o.stderr
    );
    drop(guard);
}

#[test]
fn a_run_waits_for_a_lock_released_within_the_timeout() {
    let a = key();
    let dir = project(&a);
    put(dir.path(), &sample(&armored(PLAIN, &a)));
    let guard = lock::acquire(&state_path(dir.path()), "apply", Duration::ZERO).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(guard);
    });
    let start = Instant::now();
    let o = tether(
        dir.path(),
        ["--lock-timeout", "10s", "state", "rm", "aws.prod"],
    );
    release.join().unwrap();
    code(&o, 0);
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert!(!read(dir.path()).accounts.contains_key(&addr("aws.prod")));
    assert!(!dir.path().join("tether.state.json.lock").exists());
}

/// Writes lock metadata `id` for `operation` at `lock_file`, held by a
/// process of this host that has exited; returns its pid.
fn write_dead_lock(lock_file: &std::path::Path, id: &str, operation: &str) -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let meta = serde_json::json!({
        "id": id,
        "holder": "ci@this-host",
        "pid": dead,
        "host": lock::hostname(),
        "operation": operation,
        "started": "2025-01-02T03:04:05Z",
        "tether_version": "0.1.0",
    });
    std::fs::write(lock_file, meta.to_string()).unwrap();
    dead
}

/// The warning a run prints when it takes over `lock_file` from a dead run.
fn assert_takeover_warning(stderr: &str, lock_file: &str, id: &str, dead: u32, operation: &str) {
    for want in [
        &format!("warning: took over {lock_file} left by a run that is gone:"),
        &format!("ci@this-host, pid {dead} on {}", lock::hostname()),
        &format!("`{operation}` since 2025-01-02T03:04:05Z"),
        &format!("(lock ID {id})"),
    ] {
        assert!(
            stderr.contains(want.as_str()),
            "missing {want:?} in {stderr}"
        );
    }
    assert!(!stderr.contains("force-unlock"), "{stderr}");
}

#[test]
fn a_dead_runs_state_lock_is_taken_over_without_force_unlock() {
    let a = key();
    let dir = project(&a);
    put(dir.path(), &sample(&armored(PLAIN, &a)));
    let id = "5f0c1d1e-8a5b-4f7e-9d38-0b8c2f8e6a11";
    let lock_file = dir.path().join("tether.state.json.lock");
    let dead = write_dead_lock(&lock_file, id, "apply");

    let start = Instant::now();
    let o = tether(
        dir.path(),
        ["--lock-timeout", "30s", "state", "rm", "aws.prod"],
    );
    code(&o, 0);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "a dead run's lock is not waited on"
    );
    assert_takeover_warning(
        &o.stderr,
        "the state lock tether.state.json.lock",
        id,
        dead,
        "apply",
    );
    assert!(
        o.stderr.contains("`tether plan` shows what is left to do"),
        "{}",
        o.stderr
    );
    assert!(!read(dir.path()).accounts.contains_key(&addr("aws.prod")));
    assert!(!lock_file.exists(), "the lock is released after the run");
}

#[test]
fn force_unlock_still_removes_a_dead_runs_lock_by_its_id() {
    let a = key();
    let dir = project(&a);
    put(dir.path(), &sample(&armored(PLAIN, &a)));
    let id = "5f0c1d1e-8a5b-4f7e-9d38-0b8c2f8e6a11";
    let lock_file = dir.path().join("tether.state.json.lock");
    write_dead_lock(&lock_file, id, "apply");

    let o = tether(dir.path(), ["force-unlock", "not-the-id"]);
    code(&o, 1);
    assert!(
        o.stderr.contains(&format!(
            "lock ID `not-the-id` does not match the lock held, `{id}`"
        )),
        "{}",
        o.stderr
    );
    assert!(lock_file.exists());

    force_unlock_removes(dir.path(), id, &lock_file, "tether.state.json");
    code(&tether(dir.path(), ["state", "rm", "aws.prod"]), 0);
}

#[test]
fn a_dead_runs_snapshot_store_lock_is_taken_over_and_force_unlock_still_clears_it() {
    // A sync killed while writing a version leaves the store's writer lock.
    let a = key();
    let dir = project(&a);
    put(dir.path(), &sample(&armored(PLAIN, &a)));
    let id = "0e1b7c55-2f4d-4a8e-b8a4-6a1f3c9d2e70";
    let store = dir.path().join(".tether/snapshots");
    std::fs::create_dir_all(&store).unwrap();
    let lock_file = store.join("store.lock");
    let state_lock = dir.path().join("tether.state.json.lock");
    let dead = write_dead_lock(&lock_file, id, "sync");
    write_dead_lock(&state_lock, "11111111-2222-4333-8444-555555555555", "sync");

    // Both locks of the killed sync are taken over by the next one.
    let o = Run::new(dir.path())
        .args(["sync"])
        .env("TETHER_AGE_KEY", &a.identity)
        .run();
    assert_ne!(o.code, 4, "{}", o.stderr);
    assert_takeover_warning(
        &o.stderr,
        "the snapshot store lock .tether/snapshots/store.lock",
        id,
        dead,
        "sync",
    );
    assert!(
        o.stderr.contains("took over the state lock"),
        "{}",
        o.stderr
    );
    assert!(!lock_file.exists() && !state_lock.exists());

    // force-unlock of the store's lock works as before.
    write_dead_lock(&lock_file, id, "sync");
    force_unlock_removes(
        dir.path(),
        id,
        &lock_file,
        "the snapshot store .tether/snapshots",
    );
}

#[test]
fn a_symlinked_lock_file_is_refused_and_never_written_through() {
    let a = key();
    let dir = project(&a);
    put(dir.path(), &sample(&armored(PLAIN, &a)));
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("tether.state.json.lock")).unwrap();
    let before = std::fs::read(state_path(dir.path())).unwrap();

    let o = tether(dir.path(), ["state", "rm", "aws.prod"]);
    code(&o, 1);
    assert!(
        o.stderr
            .contains("tether.state.json.lock: refusing the lock file: it is a symbolic link"),
        "{}",
        o.stderr
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(std::fs::read(state_path(dir.path())).unwrap(), before);
}

/// `force-unlock ID` removes `lock_file` (reported as the lock of `what`);
/// asked again, it finds the state not locked.
fn force_unlock_removes(dir: &std::path::Path, id: &str, lock_file: &std::path::Path, what: &str) {
    let o = tether(dir, ["force-unlock", id]);
    code(&o, 0);
    assert!(
        o.stdout
            .starts_with(&format!("Removed lock {id} of {what}")),
        "{}",
        o.stdout
    );
    assert!(!lock_file.exists());
    let o = tether(dir, ["force-unlock", id]);
    code(&o, 1);
    assert!(o.stderr.contains("the state is not locked"), "{}", o.stderr);
}

#[test]
fn force_unlock_works_with_a_broken_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tether.hcl"), "account {").unwrap();
    let lock_file = dir.path().join("tether.state.json.lock");
    let meta = serde_json::json!({
        "id": "abc", "holder": "x@y", "pid": 1, "host": "some-other-host",
        "operation": "apply", "started": "2025-01-02T03:04:05Z", "tether_version": "0.1.0",
    });
    std::fs::write(&lock_file, meta.to_string()).unwrap();
    let o = tether(dir.path(), ["force-unlock", "abc"]);
    code(&o, 0);
    assert!(!lock_file.exists());
}

#[test]
fn secrets_rekey_reencrypts_the_state_secrets_under_its_lock() {
    let (a, b) = (key(), key());
    let dir = project(&a);
    let s = sample(&armored(PLAIN, &a));
    put(dir.path(), &s);
    // The recipients become B; A still decrypts the current ciphertexts.
    let hcl = std::fs::read_to_string(dir.path().join("tether.hcl"))
        .unwrap()
        .replace(&a.recipient, &b.recipient);
    std::fs::write(dir.path().join("tether.hcl"), hcl).unwrap();

    // Locked state: nothing at all is written (config included), exit 4.
    let guard = lock::acquire(&state_path(dir.path()), "apply", Duration::ZERO).unwrap();
    let before = tree(dir.path());
    let o = Run::new(dir.path())
        .args(["secrets", "rekey"])
        .env("TETHER_AGE_KEY", &a.identity)
        .run();
    code(&o, 4);
    assert!(tree(dir.path()) == before, "a locked rekey wrote something");
    drop(guard);

    let o = Run::new(dir.path())
        .args(["secrets", "rekey"])
        .env("TETHER_AGE_KEY", &a.identity)
        .env("TETHER_LOG", "trace")
        .run();
    code(&o, 0);
    assert!(
        o.stdout
            .contains("  aws.old secret_access_key (tether.state.json)\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .ends_with("Re-encrypted 4 secrets in 2 files to 1 recipient.\n"),
        "{}",
        o.stdout
    );
    let after = read(dir.path());
    assert_eq!(after.serial, s.serial + 1);
    assert_eq!(after.lineage, s.lineage);
    assert_eq!(after.accounts.len(), 3);
    for (k, acct) in &after.accounts {
        assert_eq!(
            decrypts(&acct.secret.ciphertext, &b).as_deref(),
            Ok(PLAIN),
            "{k}"
        );
        assert!(
            decrypts(&acct.secret.ciphertext, &a).is_err(),
            "{k} still opens with A"
        );
        let mut expect = s.accounts[k].clone();
        expect.secret.ciphertext = acct.secret.ciphertext.clone();
        assert_eq!(acct, &expect, "only the ciphertext changes");
    }
    assert_eq!(
        std::fs::read(dir.path().join("tether.state.json.backup")).unwrap(),
        canonical(&s)
    );
    assert_eq!(mode(&state_path(dir.path())), 0o600);
    // The config's own secret moved too.
    let cfg = std::fs::read_to_string(dir.path().join("s.age")).unwrap();
    assert_eq!(decrypts(&cfg, &b).as_deref(), Ok(PLAIN));

    // Canary: the plaintext is in no file and no output.
    assert!(!o.stdout.contains(PLAIN) && !o.stderr.contains(PLAIN));
    for (p, bytes) in tree(dir.path()) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(PLAIN),
            "{} holds the plaintext",
            p.display()
        );
    }
    assert!(!dir.path().join("tether.state.json.lock").exists());
}

#[test]
fn the_serial_never_wraps_past_its_maximum() {
    let a = key();
    let dir = project(&a);
    let mut s = sample(&armored(PLAIN, &a));
    s.serial = u64::MAX;
    put(dir.path(), &s);
    let before = tree(dir.path());
    let o = tether(dir.path(), ["state", "rm", "aws.old"]);
    code(&o, 1);
    assert!(
        o.stderr.contains(&format!(
            "tether.state.json: the state's serial is {}, the largest there is; tether refuses to write it (the serial would wrap to 0)",
            u64::MAX
        )),
        "{}",
        o.stderr
    );
    assert_eq!(tree(dir.path()), before, "nothing written, no backup");

    // Through the library too: the store refuses, the file keeps its bytes.
    let store = StateStore::open(state_path(dir.path()));
    let guard = store.lock("test", Duration::ZERO).unwrap();
    let mut changed = store.read().unwrap().unwrap();
    changed.accounts.remove(&addr("aws.old"));
    assert!(matches!(
        store.write(&changed, &guard),
        Err(tether::Error::StateSerial {
            serial: u64::MAX,
            ..
        })
    ));
    drop(guard);
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn a_state_entry_whose_vendor_does_not_match_its_address_is_an_error() {
    let a = key();
    let dir = project(&a);
    put(dir.path(), &sample(&armored(PLAIN, &a)));
    // `aws.old` recorded as an Azure account: a hand edit.
    let text = std::fs::read_to_string(state_path(dir.path())).unwrap();
    let at = text.find("\"aws.old\"").unwrap();
    let vendor = at + text[at..].find("\"vendor\": \"aws\"").unwrap();
    let edited = format!(
        "{}\"vendor\": \"azure\"{}",
        &text[..vendor],
        &text[vendor + "\"vendor\": \"aws\"".len()..]
    );
    std::fs::write(state_path(dir.path()), &edited).unwrap();
    let line = text[..at].matches('\n').count() + 1;
    let before = tree(dir.path());
    for cmd in [
        &["state", "list"][..],
        &["plan"],
        &["state", "rm", "aws.prod"],
    ] {
        let o = tether(dir.path(), cmd);
        code(&o, 1);
        for want in [
            &format!(
                "tether.state.json:{line}:5: account `aws.old` has \"vendor\": \"azure\", but its address says aws"
            ),
            "tether will not read or overwrite it",
        ] {
            assert!(
                o.stderr.contains(want),
                "{cmd:?}: missing {want:?} in {}",
                o.stderr
            );
        }
    }
    assert_eq!(tree(dir.path()), before);
}
