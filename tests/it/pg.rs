//! The PostgreSQL backend (`backend = "pg"`) against a real server: the one
//! `scripts/test` starts (`TETHER_TEST_PG_URL`). Without it these tests
//! fail; none is skipped. Each test works in a schema of its own.
//!
//! Also here: what both backends share (`Backend`, [`both_backends!`]).

#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Local,
    Pg,
}

/// Runs each named test function (`fn name(b: Backend)`) twice, as
/// `name::local` and `name::pg`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn local() {
                    super::$name($crate::pg::Backend::Local)
                }
                #[test]
                fn pg() {
                    super::$name($crate::pg::Backend::Pg)
                }
            }
        )*
    };
}

/// The server of the test run.
pub fn url() -> String {
    match std::env::var("TETHER_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "TETHER_TEST_PG_URL is not set: the PostgreSQL tests need the server scripts/test \
             starts (run the tests with scripts/test)"
        ),
    }
}

/// The server's URL, or nothing for tests of the local backend.
pub fn url_if_any() -> String {
    std::env::var("TETHER_TEST_PG_URL").unwrap_or_default()
}

/// A schema name no other test of any run uses.
pub fn fresh_schema() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("t{}_{n}_{nanos}", std::process::id())
}

/// The rows `sql` returns on the test server, one line each (columns
/// separated by `|`).
pub fn psql(sql: &str) -> Vec<String> {
    psql_at(&url(), sql)
}

pub fn psql_at(url: &str, sql: &str) -> Vec<String> {
    let out = Command::new("psql")
        .args([
            url,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs (Debian's postgresql-client)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

use std::time::{Duration, Instant};

use crate::apply::Env;

fn env(seed: u64) -> Env {
    Env::on(Backend::Pg, seed, 1, 3)
}

fn schema_of(env: &Env) -> &str {
    env.schema.as_deref().unwrap()
}

fn slow(env: &Env, latency_ms: u64) {
    env.sim
        .engine()
        .set_faults(&tether_sim::FaultsUpdate {
            vendor: "*".into(),
            faults: tether_sim::Faults {
                latency_ms,
                ..Default::default()
            },
        })
        .unwrap();
}

fn serials(env: &Env) -> Vec<u64> {
    psql_at(
        &env.pg_url,
        &format!(
            "SELECT serial FROM {}.state_history ORDER BY serial",
            schema_of(env)
        ),
    )
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

/// The library's view of the test server, for a test that holds a lock
/// itself.
fn library(schema: &str, workspace: &str) -> std::sync::Arc<tether::pg::Pg> {
    let url = url();
    tether::pg::Pg::open(
        &tether::pg::Target {
            schema: schema.into(),
            workspace: workspace.into(),
        },
        &tether::pg::conn::Environment::from_pairs([("TETHER_PG_CONN_STR", url.as_str())]),
    )
    .unwrap()
}

/// Replaces the config's name for an AWS account (an update of one account).
fn rename_aws(env: &Env, to: &str) {
    let summary = env.sim.engine().summary();
    let text = env.config().replace(
        &format!(
            "account_name      = {:?}",
            summary.aws.accounts[0].account_name
        ),
        &format!("account_name      = {to:?}"),
    );
    env.set_config(&text);
}

#[test]
fn history_pull_and_push_keep_lineage_and_serial_honest() {
    let env = env(501);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let h = env.tether(&["state", "history", "--format", "json"]);
    assert_eq!(h.code, 0, "{}", h.stderr);
    let doc: serde_json::Value = serde_json::from_str(&h.stdout).unwrap();
    let versions = doc["versions"].as_array().unwrap();
    assert!(!versions.is_empty());
    let applied: Vec<_> = versions
        .iter()
        .filter(|v| v["operation"] == "apply")
        .collect();
    assert!(!applied.is_empty(), "{}", h.stdout);
    // The writes that record verified accounts name their plan.
    let hashes: Vec<&str> = applied
        .iter()
        .filter_map(|v| v["plan_hash"].as_str())
        .collect();
    assert!(!hashes.is_empty(), "{}", h.stdout);
    assert!(hashes.iter().all(|h| h.len() == 64), "{hashes:?}");
    let human = env.tether(&["state", "history"]);
    assert!(human.stdout.starts_with("SERIAL"), "{}", human.stdout);
    // pull prints the stored document; pushing it back writes nothing.
    let text = env.state_text().unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    let serial = state["serial"].as_u64().unwrap();
    assert_eq!(serials(&env).last(), Some(&serial));
    let first = env.tether(&[
        "state",
        "pull",
        "--serial",
        &versions[0]["serial"].to_string(),
    ]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_ne!(first.stdout, text);
    std::fs::write(env.path().join("same.json"), &text).unwrap();
    let same = env.tether(&["state", "push", "same.json"]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert!(same.stdout.contains("nothing to do"), "{}", same.stdout);
    // An older serial, another lineage: refused, nothing written.
    let older = env.tether(&[
        "state",
        "pull",
        "--serial",
        &versions[0]["serial"].to_string(),
    ]);
    std::fs::write(env.path().join("older.json"), &older.stdout).unwrap();
    let out = env.tether(&["state", "push", "older.json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("older than the current"),
        "{}",
        out.stderr
    );
    let mut foreign = state.clone();
    foreign["lineage"] = "00000000-0000-4000-8000-000000000000".into();
    foreign["serial"] = (serial + 5).into();
    std::fs::write(
        env.path().join("foreign.json"),
        serde_json::to_string_pretty(&foreign).unwrap(),
    )
    .unwrap();
    let out = env.tether(&["state", "push", "foreign.json"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("it is another state"), "{}", out.stderr);
    assert_eq!(serials(&env).last(), Some(&serial));
    // A plaintext secret is refused whatever --force says.
    let mut plain = state.clone();
    let addr = env.addr("aws");
    plain["accounts"][&addr]["secret"]["ciphertext"] = "not-ciphertext".into();
    std::fs::write(
        env.path().join("plain.json"),
        serde_json::to_string_pretty(&plain).unwrap(),
    )
    .unwrap();
    let out = env.tether(&["state", "push", "--force", "plain.json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(serials(&env).last(), Some(&serial));
    // --force writes the older document as the next serial.
    let out = env.tether(&["state", "push", "--force", "older.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(serials(&env).last(), Some(&(serial + 1)));
    let now: serde_json::Value = serde_json::from_str(&env.state_text().unwrap()).unwrap();
    let old: serde_json::Value = serde_json::from_str(&older.stdout).unwrap();
    assert_eq!(now["accounts"], old["accounts"]);
    assert_eq!(now["serial"].as_u64(), Some(serial + 1));
}

#[test]
fn ten_runners_with_saved_plans_of_one_serial_apply_exactly_once() {
    let env = env(502);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    rename_aws(&env, "Renamed by ten");
    for i in 0..10 {
        let out = env.tether(&["plan", "--out", &format!("p{i}.json")]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let before = serials(&env);
    let children: Vec<_> = (0..10)
        .map(|i| {
            env.run(&[
                "--lock-timeout",
                "60s",
                "apply",
                "--no-sync",
                &format!("p{i}.json"),
            ])
            .spawn()
        })
        .collect();
    let codes: Vec<i32> = children.into_iter().map(|c| c.wait().code).collect();
    let ok = codes.iter().filter(|&&c| c == 0).count();
    let stale = codes.iter().filter(|&&c| c == 5).count();
    assert_eq!((ok, stale), (1, 9), "{codes:?}");
    let after = serials(&env);
    assert_eq!(after.len(), before.len() + 1, "{before:?} -> {after:?}");
}

#[test]
fn ten_runners_with_lock_timeout_0s_one_applies_nine_exit_4() {
    let env = env(503);
    slow(&env, 300);
    let children: Vec<_> = (0..10)
        .map(|_| {
            env.run(&[
                "--lock-timeout",
                "0s",
                "apply",
                "--auto-approve",
                "--no-sync",
            ])
            .spawn()
        })
        .collect();
    let outs: Vec<_> = children.into_iter().map(|c| c.wait()).collect();
    let ok = outs.iter().filter(|o| o.code == 0).count();
    let locked: Vec<_> = outs.iter().filter(|o| o.code == 4).collect();
    assert_eq!(
        (ok, locked.len()),
        (1, 9),
        "{:?}",
        outs.iter().map(|o| (o.code, &o.stderr)).collect::<Vec<_>>()
    );
    for o in locked {
        assert!(
            o.stderr.contains("the state is locked by another run"),
            "{}",
            o.stderr
        );
        assert!(o.stderr.contains("`apply` since"), "{}", o.stderr);
        assert!(o.stderr.contains("lock ID "), "{}", o.stderr);
    }
}

#[test]
fn a_runner_killed_holding_the_lock_frees_it_within_two_seconds() {
    let env = env(504);
    assert_eq!(
        env.tether(&["apply", "--auto-approve", "--no-sync"]).code,
        0
    );
    slow(&env, 400);
    let mut child = env.spawn(&["sync", "--parallelism", "1"]);
    let locks = format!("SELECT count(*) FROM {}.locks", schema_of(&env));
    let begun = Instant::now();
    while psql_at(&env.pg_url, &locks) != ["2"] {
        assert!(
            begun.elapsed() < Duration::from_secs(20),
            "sync never held both locks"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    slow(&env, 0);
    // No force-unlock: the server ended the dead session and its locks.
    let out = loop {
        let out = env.tether(&["--lock-timeout", "0s", "state", "upgrade"]);
        if out.code != 4 || killed.elapsed() > Duration::from_secs(2) {
            break out;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let waited = killed.elapsed();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert!(
        out.stderr.contains(&format!(
            "warning: took over the state lock pg:{}/default left by a run that is gone:",
            schema_of(&env)
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`sync` since"), "{}", out.stderr);
    // The next sync takes over the snapshot store's lock the same way.
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: took over the snapshot store lock"),
        "{}",
        out.stderr
    );
    assert_eq!(psql_at(&env.pg_url, &locks), ["0"]);
}

#[test]
fn a_server_restart_mid_apply_fails_cleanly_and_the_next_plan_shows_the_rest() {
    let spare = std::env::var("TETHER_TEST_PG_SPARE_URL")
        .expect("TETHER_TEST_PG_SPARE_URL: the spare server scripts/test starts");
    let restart = std::env::var("TETHER_TEST_PG_SPARE_RESTART")
        .expect("TETHER_TEST_PG_SPARE_RESTART: how scripts/test restarts the spare server");
    let mut env = Env::with(505, 1, 3);
    let schema = fresh_schema();
    let text = env.config().replacen(
        "tether {\n",
        &format!("tether {{\n  backend   = \"pg\"\n  pg_schema = \"{schema}\"\n"),
        1,
    );
    env.set_config(&text);
    env.backend = Backend::Pg;
    env.schema = Some(schema.clone());
    env.pg_url = spare.clone();
    slow(&env, 400);
    let mut child = env.spawn(&["apply", "--auto-approve", "--parallelism", "1", "--no-sync"]);
    let begun = Instant::now();
    let history = format!("SELECT count(*) FROM {schema}.state_history");
    loop {
        let n = Command::new("psql")
            .args([spare.as_str(), "-XqtA", "-c", &history])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&n.stdout).trim() == "1" {
            break;
        }
        assert!(
            begun.elapsed() < Duration::from_secs(30),
            "no account was recorded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("sh").args(["-c", &restart]).status().unwrap();
    assert!(status.success(), "restart: {restart}");
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(1), "the run must fail");
    slow(&env, 0);
    let recorded = env.state()["accounts"].as_object().unwrap().len();
    assert!((1..4).contains(&recorded), "{recorded}");
    let plan = env.tether(&["plan", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let creates = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .count();
    assert_eq!(creates, 4 - recorded, "{}", plan.stdout);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

fn exports(env: &Env, ids: &[u64]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            let out = env.tether(&["snapshot", "export", "--format", "json", &id.to_string()]);
            assert_eq!(out.code, 0, "{}", out.stderr);
            out.stdout
        })
        .collect()
}

fn set_backend(env: &mut Env, b: Backend) {
    let text = env.config();
    let text = match b {
        Backend::Pg => text.replace("backend   = \"local\"", "backend   = \"pg\""),
        Backend::Local => text.replace("backend   = \"pg\"", "backend   = \"local\""),
    };
    env.set_config(&text);
    env.backend = b;
}

#[test]
fn migration_local_to_pg_to_local_keeps_every_byte() {
    let mut env = Env::with(506, 1, 6);
    let schema = fresh_schema();
    let text = env.config().replacen(
        "tether {\n",
        &format!("tether {{\n  backend   = \"local\"\n  pg_schema = \"{schema}\"\n"),
        1,
    );
    env.set_config(&text);
    env.schema = Some(schema.clone());
    env.pg_url = url();
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let summary = env.sim.engine().summary();
    for i in 0..4 {
        env.sim
            .engine()
            .add_resource(&tether_sim::AddResource {
                vendor: tether_sim::Vendor::Aws,
                account: crate::cloud::world_id(&env.sim, tether_sim::Vendor::Aws, 0),
                region: summary.aws.accounts[0].regions[i % summary.aws.accounts[0].regions.len()]
                    .clone(),
                kind: "vpc".into(),
                subscription: None,
            })
            .unwrap();
        assert_eq!(env.tether(&["sync"]).code, 0);
    }
    let ids: Vec<u64> = (1..=5).collect();
    let local_exports = exports(&env, &ids);
    let state_bytes = std::fs::read(env.path().join("tether.state.json")).unwrap();
    let audit_bytes = std::fs::read(env.path().join(".tether/audit.jsonl")).unwrap();
    let drift = env.tether(&["drift", "--since-last"]);
    assert_eq!(drift.code, 0, "{}{}", drift.stdout, drift.stderr);
    let drift_bytes = std::fs::read(env.path().join(".tether/drift-last.json")).unwrap();
    let list = env.tether(&["snapshot", "list"]);
    assert!(list.stdout.contains("     5  "), "{}", list.stdout);

    let out = env.tether(&["backend", "migrate", "--to", "pg"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("5 snapshot versions (5 copied, 0 already there)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("set `backend = \"pg\"`"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("`pg_schema = "), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("the last drift record (`drift --since-last`) copied"),
        "{}",
        out.stdout
    );
    // The source is untouched; a second run finds everything there.
    assert_eq!(
        std::fs::read(env.path().join("tether.state.json")).unwrap(),
        state_bytes
    );
    let again = env.tether(&["backend", "migrate", "--to", "pg"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("(0 copied, 5 already there)"),
        "{}",
        again.stdout
    );
    // As if the first run had died after version 3 (versions land whole, the
    // audit log and the state last): the next run copies only the rest.
    psql(&format!(
        "DELETE FROM {schema}.snapshot_versions WHERE id >= 4;
         DELETE FROM {schema}.snapshot_segments WHERE version = 5;
         DELETE FROM {schema}.state_history; DELETE FROM {schema}.audit;
         UPDATE {schema}.workspaces SET serial = NULL, lineage = NULL"
    ));
    let resumed = env.tether(&["backend", "migrate", "--to", "pg"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed.stdout.contains("(2 copied, 3 already there)"),
        "{}",
        resumed.stdout
    );
    set_backend(&mut env, Backend::Pg);
    assert_eq!(exports(&env, &ids), local_exports);
    assert_eq!(env.state_text().unwrap().as_bytes(), &state_bytes[..]);
    let plan = env.tether(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);

    // Back: into a directory whose local files are gone.
    for p in ["tether.state.json", "tether.state.json.backup", ".tether"] {
        let p = env.path().join(p);
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else if p.exists() {
            std::fs::remove_file(&p).unwrap();
        }
    }
    let out = env.tether(&["backend", "migrate", "--to", "local"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    set_backend(&mut env, Backend::Local);
    assert_eq!(exports(&env, &ids), local_exports);
    assert_eq!(
        std::fs::read(env.path().join("tether.state.json")).unwrap(),
        state_bytes
    );
    assert_eq!(
        std::fs::read(env.path().join(".tether/audit.jsonl")).unwrap(),
        audit_bytes
    );
    assert_eq!(
        std::fs::read(env.path().join(".tether/drift-last.json")).unwrap(),
        drift_bytes
    );
    // Into a backend that holds another state: refused, nothing written.
    let env2 = Env::on(Backend::Pg, 507, 1, 1);
    assert_eq!(env2.tether(&["apply", "--auto-approve"]).code, 0);
    let text = env.config().replace(
        &format!("pg_schema = \"{schema}\""),
        &format!("pg_schema = \"{}\"", schema_of(&env2)),
    );
    env.set_config(&text);
    let out = env.tether(&["backend", "migrate", "--to", "pg"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("it already holds another state"),
        "{}",
        out.stderr
    );
}

#[test]
fn connection_errors_name_the_backend_and_what_to_do() {
    let env = env(508);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let run = |conn: &str, args: &[&str]| env.run(args).env("TETHER_PG_CONN_STR", conn).run();
    let out = run(
        &format!(
            "host=127.0.0.1 port={port} user=postgres password=hunter2-canary connect_timeout=2"
        ),
        &["plan"],
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("pg backend"), "{}", out.stderr);
    assert!(
        out.stderr.contains("check that the server is up"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hunter2-canary"), "{}", out.stderr);
    // A wrong password.
    let mut bad = url::Url::parse(&url()).unwrap();
    bad.set_password(Some("wrong-canary")).unwrap();
    let out = run(bad.as_str(), &["plan"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("password authentication failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("check the user and password"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("wrong-canary"), "{}", out.stderr);
    // A role without CREATE on the database.
    let role = format!("r{}", fresh_schema());
    psql(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'pw'; REVOKE CREATE ON DATABASE postgres FROM PUBLIC"
    ));
    let mut weak = url::Url::parse(&url()).unwrap();
    weak.set_username(&role).unwrap();
    weak.set_password(Some("pw")).unwrap();
    let out = run(weak.as_str(), &["plan"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("permission denied"), "{}", out.stderr);
    assert!(
        out.stderr.contains("the role needs CREATE"),
        "{}",
        out.stderr
    );
    // A schema written by a newer tether.
    assert_eq!(env.tether(&["plan"]).code, 0);
    psql(&format!(
        "INSERT INTO {}.schema_version (version, tether_version) VALUES (99, '9.9.9')",
        schema_of(&env)
    ));
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("was written by a newer tether (schema version 99"),
        "{}",
        out.stderr
    );
    assert!(
        env.tether(&["state", "list"])
            .stderr
            .contains("newer tether")
    );
}

#[test]
fn a_password_in_the_config_is_a_validation_error() {
    let env = env(509);
    let text = env.config().replacen(
        "tether {\n",
        "tether {\n  pg_conn_str = \"postgresql://u:canary-pw-77@db/x\"\n",
        1,
    );
    env.set_config(&text);
    let out = env.tether(&["validate"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("`pg_conn_str` cannot be set in the config"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("TETHER_PG_CONN_STR"), "{}", out.stderr);
    assert!(out.stderr.contains("tether.hcl:2:"), "{}", out.stderr);
    assert!(!out.stderr.contains("canary-pw-77"), "{}", out.stderr);
}

#[test]
fn tls_verify_full_with_the_servers_ca() {
    let env = env(510);
    let ca = std::env::var("TETHER_TEST_PG_CA").expect("TETHER_TEST_PG_CA from scripts/test");
    let u = url::Url::parse(&url()).unwrap();
    let conn = |mode: &str, host: &str, root: Option<&str>| {
        let mut c = format!(
            "host={host} port={} user={} password={} dbname=postgres sslmode={mode}",
            u.port().unwrap(),
            u.username(),
            u.password().unwrap()
        );
        if let Some(r) = root {
            c.push_str(&format!(" sslrootcert={r}"));
        }
        c
    };
    let ok = env
        .run(&["plan"])
        .env(
            "TETHER_PG_CONN_STR",
            conn("verify-full", "localhost", Some(&ca)),
        )
        .run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let ok = env
        .run(&["plan"])
        .env("TETHER_PG_CONN_STR", conn("require", "127.0.0.1", None))
        .run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    // The certificate does not name this host, or is not from a known CA.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
        ])
        .arg("-keyout")
        .arg(dir.path().join("k.pem"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success());
    let bad = env
        .run(&["plan"])
        .env(
            "TETHER_PG_CONN_STR",
            conn("verify-full", "localhost", Some(other.to_str().unwrap())),
        )
        .run();
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    assert!(bad.stderr.contains("pg backend"), "{}", bad.stderr);
}

#[test]
fn locks_of_other_workspaces_never_block_and_force_unlock_refuses_a_live_holder() {
    let env = env(511);
    let schema = schema_of(&env).to_string();
    assert_eq!(
        env.tether(&["apply", "--auto-approve", "--no-sync"]).code,
        0
    );
    // This test holds the state lock of workspace `default` itself.
    let pg = library(&schema, "default");
    let store = tether::state::StateStore::pg(pg);
    let guard = store.lock("test holder", Duration::ZERO).unwrap();
    let id = guard.info().id.clone();
    let out = env.tether(&["--lock-timeout", "300ms", "state", "upgrade"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("`test holder` since"), "{}", out.stderr);
    assert!(out.stderr.contains(&id), "{}", out.stderr);
    let out = env.tether(&["force-unlock", &id]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("is held by a running process"),
        "{}",
        out.stderr
    );
    // Another workspace of the same schema is not blocked.
    let text = env
        .config()
        .replacen("tether {\n", "tether {\n  workspace = \"other\"\n", 1);
    env.set_config(&text);
    let out = env.tether(&[
        "--lock-timeout",
        "0s",
        "apply",
        "--auto-approve",
        "--no-sync",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    drop(guard);
    // A row left under a free advisory lock: force-unlock removes it.
    psql(&format!(
        "INSERT INTO {schema}.locks VALUES ('other', 'state', 'stale-id', 'ghost@gone', 1, 'gone', 'apply', '2026-01-01T00:00:00Z', '0.0.0')"
    ));
    let out = env.tether(&["force-unlock", "wrong-id"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("does not match the lock held, `stale-id`"),
        "{}",
        out.stderr
    );
    let out = env.tether(&["force-unlock", "stale-id"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("Removed lock stale-id"),
        "{}",
        out.stdout
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM {schema}.locks WHERE workspace = 'other'"
        )),
        ["0"]
    );
}

#[test]
fn two_runners_syncing_different_accounts_both_land() {
    let env = Env::on(Backend::Pg, 512, 2, 4);
    assert_eq!(
        env.tether(&["apply", "--auto-approve", "--no-sync"]).code,
        0
    );
    slow(&env, 100);
    let summary = env.sim.engine().summary();
    let a = crate::sim::address(
        tether_sim::Vendor::Aws,
        summary.aws.accounts[0].name.clone(),
    )
    .to_string();
    let b = crate::sim::address(
        tether_sim::Vendor::Aws,
        summary.aws.accounts[1].name.clone(),
    )
    .to_string();
    let one = env.run(&["--lock-timeout", "60s", "sync", &a]).spawn();
    let two = env.run(&["--lock-timeout", "60s", "sync", &b]).spawn();
    let (one, two) = (one.wait(), two.wait());
    assert_eq!((one.code, two.code), (0, 0), "{}{}", one.stderr, two.stderr);
    let list = env.tether(&["snapshot", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let versions = v["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{}", list.stdout);
    assert_eq!(versions[1]["parent"], versions[0]["id"]);
    let show = env.tether(&["snapshot", "show", "latest", "--format", "json"]);
    for addr in [&a, &b] {
        assert!(show.stdout.contains(addr.as_str()), "{addr} missing");
    }
}

#[test]
fn a_damaged_segment_row_is_refused_and_nothing_is_written() {
    let env = env(513);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let s = schema_of(&env);
    psql(&format!(
        "UPDATE {s}.snapshot_segments SET bytes = overlay(bytes placing '\\xff'::bytea from 40 for 1)"
    ));
    let out = env.tether(&["snapshot", "export", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("damaged snapshot store"),
        "{}",
        out.stderr
    );
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        psql(&format!("SELECT count(*) FROM {s}.snapshot_versions")),
        ["1"]
    );
    // Per-partition rows are queryable beside the manifest.
    let rows = psql(&format!(
        "SELECT count(*) FROM {s}.snapshot_partitions WHERE version = 1 AND status = 'complete'"
    ));
    assert_ne!(rows, ["0"]);
}

#[test]
fn backend_settings_are_checked_where_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    for (line, expected) in [
        (
            "backend = \"s3\"",
            "`backend` must be \"local\" or \"pg\", found \"s3\"",
        ),
        (
            "pg_schema = \"Bad-Name\"",
            "`pg_schema` must be a plain PostgreSQL identifier",
        ),
        ("workspace = \"a b\"", "`workspace` must be 1 to 90 letters"),
        (
            "password = \"hunter2-canary\"",
            "`password` cannot be set in the config",
        ),
    ] {
        std::fs::write(
            dir.path().join("tether.hcl"),
            format!("tether {{\n  {line}\n}}\n"),
        )
        .unwrap();
        let out = crate::harness::tether(dir.path(), ["validate"]);
        assert_eq!(out.code, 1, "{line}: {}", out.stdout);
        assert!(out.stderr.contains(expected), "{line}: {}", out.stderr);
        assert!(
            out.stderr.contains("tether.hcl:2:"),
            "{line}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("hunter2-canary"), "{}", out.stderr);
    }
}

#[test]
fn state_commands_and_rekey_work_on_pg() {
    let env = env(514);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let list = env.tether(&["state", "list"]);
    assert_eq!(list.stdout.lines().count(), 4, "{}", list.stdout);
    let aws = env.addr("aws");
    let show = env.tether(&["state", "show", &aws, "--format", "json"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout.contains("\"sensitive\": true"),
        "{}",
        show.stdout
    );
    // mv renames in state and in the snapshots; rm forgets.
    let out = env.tether(&["state", "mv", &aws, "aws.moved"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shown = env.tether(&["snapshot", "show", "latest", "--format", "json"]);
    assert!(
        shown.stdout.contains("aws.moved"),
        "the snapshots follow the rename"
    );
    let hcs = env.addr("hcs");
    let out = env.tether(&["state", "rm", &hcs]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let state = env.state();
    assert!(state["accounts"].get(&hcs).is_none());
    assert!(state["accounts"].get("aws.moved").is_some());
    // rekey: the recorded secrets move to the new recipient, in pg.
    let next = age::x25519::Identity::generate();
    let old = {
        let text = env.config();
        let at = text.find("age1").unwrap();
        text[at..at + text[at..].find('"').unwrap()].to_string()
    };
    env.set_config(&env.config().replace(&old, &next.to_public().to_string()));
    let before = serials(&env);
    let out = env.tether(&["secrets", "rekey"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("(pg:{}/default)", schema_of(&env))),
        "{}",
        out.stdout
    );
    assert_eq!(serials(&env).len(), before.len() + 1);
    let state = env.state();
    for (addr, acct) in state["accounts"].as_object().unwrap() {
        let ct = acct["secret"]["ciphertext"].as_str().unwrap();
        let d = age::Decryptor::new(age::armor::ArmoredReader::new(ct.as_bytes())).unwrap();
        let mut r = d
            .decrypt(std::iter::once(&next as &dyn age::Identity))
            .unwrap_or_else(|e| panic!("{addr}: {e}"));
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut plain).unwrap();
        assert!(!plain.is_empty(), "{addr}");
    }
}
