//! `tether apply` end to end against the simulator, for all four vendors.

use std::path::Path;

use tether_sim::Vendor as SimVendor;

use crate::harness::{Output, Run};
use crate::sim;

pub(crate) use crate::pg::Backend;

pub(crate) struct Env {
    pub sim: tether_sim::Sim,
    pub dir: tempfile::TempDir,
    pub key: String,
    pub backend: Backend,
    /// The PostgreSQL schema of this test (`backend = "pg"`).
    pub schema: Option<String>,
    /// The server (`TETHER_PG_CONN_STR` of every run).
    pub pg_url: String,
}

impl Env {
    pub fn new(seed: u64) -> Env {
        Env::with(seed, 1, 3)
    }

    /// [`Env::new`] on `backend`.
    pub fn new_on(backend: Backend, seed: u64) -> Env {
        Env::on(backend, seed, 1, 3)
    }

    /// `accounts` per vendor with `resources` each, on `backend`: for the
    /// pg backend, in a schema of this test's own.
    pub fn on(backend: Backend, seed: u64, accounts: usize, resources: usize) -> Env {
        let mut env = Env::with(seed, accounts, resources);
        if backend == Backend::Pg {
            let schema = crate::pg::fresh_schema();
            let text = env.config().replacen(
                "tether {\n",
                &format!("tether {{\n  backend   = \"pg\"\n  pg_schema = \"{schema}\"\n"),
                1,
            );
            env.set_config(&text);
            env.schema = Some(schema);
            env.pg_url = crate::pg::url();
        }
        env.backend = backend;
        env
    }

    /// `accounts` per vendor with `resources` each.
    pub fn with(seed: u64, accounts: usize, resources: usize) -> Env {
        Env::of(sim::start(seed, accounts, resources))
    }

    /// A config of every account of `sim`'s world (members of
    /// organizations are not written: they have no key).
    pub fn of(sim: tether_sim::Sim) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let id = age::x25519::Identity::generate();
        tether_sim::config_writer::write(
            dir.path(),
            &[id.to_public().to_string()],
            &sim.engine().summary(),
        )
        .unwrap();
        use age::secrecy::ExposeSecret;
        let key = id.to_string().expose_secret().to_string();
        Env {
            sim,
            dir,
            key,
            backend: Backend::Local,
            schema: None,
            pg_url: crate::pg::url_if_any(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn tether(&self, args: &[&str]) -> Output {
        self.run(args).run()
    }

    /// `tether ARGS…` with the identity (and the pg connection), to adjust.
    pub fn run(&self, args: &[&str]) -> Run {
        let run = Run::new(self.path())
            .args(args)
            .env("TETHER_AGE_KEY", &self.key);
        // The server even for a local config: `backend migrate` uses it.
        run.env("TETHER_PG_CONN_STR", &self.pg_url)
    }

    /// `tether ARGS…` started in the background with the identity, output
    /// discarded: for runs a test kills.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(crate::harness::TETHER)
            .current_dir(self.path())
            .args(args)
            .env("TETHER_AGE_KEY", &self.key)
            .env("TETHER_PG_CONN_STR", &self.pg_url)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    pub fn config(&self) -> String {
        std::fs::read_to_string(self.path().join("tether.hcl")).unwrap()
    }

    pub fn set_config(&self, text: &str) {
        std::fs::write(self.path().join("tether.hcl"), text).unwrap();
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.state_text().expect("a state")).unwrap()
    }

    /// The state document as stored, `None` when there is none.
    pub fn state_text(&self) -> Option<String> {
        match self.backend {
            Backend::Local => std::fs::read_to_string(self.path().join("tether.state.json")).ok(),
            Backend::Pg => {
                let out = self.tether(&["state", "pull"]);
                if out.code != 0 && out.stderr.contains("there is no state") {
                    return None;
                }
                assert_eq!(out.code, 0, "state pull: {}", out.stderr);
                Some(out.stdout)
            }
        }
    }

    /// The audit log's lines, oldest first.
    pub fn audit_lines(&self) -> Vec<String> {
        match self.backend {
            Backend::Local => std::fs::read_to_string(self.path().join(".tether/audit.jsonl"))
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect(),
            Backend::Pg => crate::pg::psql_at(
                &self.pg_url,
                &format!(
                    "SELECT line FROM {}.audit ORDER BY seq",
                    self.schema.as_deref().unwrap()
                ),
            ),
        }
    }

    /// How lock messages name the state: the lock file, or the workspace.
    pub fn state_lock_shown(&self) -> String {
        match self.backend {
            Backend::Local => "tether.state.json.lock".into(),
            Backend::Pg => format!("pg:{}/default", self.schema.as_deref().unwrap()),
        }
    }

    /// The address of the first account of a vendor in the written config.
    pub fn addr(&self, vendor: &str) -> String {
        let c = self.config();
        let at = c.find(&format!("account \"{vendor}\" \"")).unwrap();
        let rest = &c[at + format!("account \"{vendor}\" \"").len()..];
        format!("{vendor}.{}", &rest[..rest.find('"').unwrap()])
    }
}

fn apply_creates_verifies_and_records_every_vendor(b: Backend) {
    let env = Env::new_on(b, 11);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for v in ["aws", "alibaba", "azure", "hcs"] {
        let a = env.addr(v);
        assert!(
            out.stdout.contains(&format!("{a}: created (verified ")),
            "{v}: {}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("Apply complete: 4 succeeded."));
    let state = env.state();
    assert_eq!(state["accounts"].as_object().unwrap().len(), 4);
    // Accounts that end together are recorded with one write (at most one per
    // account), then the sync records when each was synced.
    let serial = state["serial"].as_u64().unwrap();
    assert!((1..=5).contains(&serial), "serial {serial}");
    let aws = &state["accounts"][env.addr("aws")];
    let summary = env.sim.engine().summary();
    assert_eq!(
        aws["identity"]["account_id"],
        summary.aws.accounts[0].main_account_id
    );
    assert!(
        aws["secret"]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
    );
    #[cfg(unix)]
    if b == Backend::Local {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path().join("tether.state.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No plaintext secret anywhere: state, audit log, output.
    let secrets = [
        summary.aws.accounts[0].secret_access_key.clone(),
        summary.alibaba.accounts[0].secret_access_key.clone(),
        summary.azure.accounts[0].application_secret.clone(),
        summary.hcs.accounts[0].password.clone(),
    ];
    let audit = env.audit_lines().join("\n");
    assert_eq!(audit.lines().count(), 4);
    for line in audit.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["result"], "ok");
        assert_eq!(v["plan_hash"].as_str().unwrap().len(), 64);
    }
    let state_text = env.state_text().unwrap();
    for s in &secrets {
        assert!(!state_text.contains(s.as_str()) && !audit.contains(s.as_str()));
        assert!(!out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()));
    }
    // Applied: the next plan is empty.
    let plan = env.tether(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}

fn failures_are_per_account_and_the_rest_goes_on(b: Backend) {
    let env = Env::new_on(b, 12);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let summary = env.sim.engine().summary();
    // A revoked AWS key, and an Alibaba account declared with the wrong main account id.
    env.sim
        .engine()
        .revoke(SimVendor::Aws, &summary.aws.accounts[0].main_account_id)
        .unwrap();
    let real = &summary.alibaba.accounts[0].main_account_id;
    let text = env
        .config()
        .replace(
            &format!(
                "account_name      = {:?}",
                summary.aws.accounts[0].account_name
            ),
            "account_name      = \"Renamed\"",
        )
        .replace(
            &format!("main_account_id   = {real:?}"),
            "main_account_id   = \"1111222233334444\"",
        );
    env.set_config(&text);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let aws = env.addr("aws");
    let ali = env.addr("alibaba");
    assert!(
        out.stdout.contains(&format!("{aws}: FAILED:")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("belongs to Alibaba Cloud account {real}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("AWS refused the credentials: InvalidClientTokenId"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("{ali}: FAILED:")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Apply incomplete: 0 succeeded, 2 failed"),
        "{}",
        out.stdout
    );
    // Nothing of the failed accounts was recorded.
    let state = env.state();
    assert_eq!(
        state["accounts"][&aws]["attributes"]["account_name"],
        summary.aws.accounts[0].account_name
    );
    assert_eq!(
        state["accounts"][&ali]["attributes"]["main_account_id"],
        real.as_str()
    );
}

fn deletes_moves_and_stale_plans(b: Backend) {
    let env = Env::new_on(b, 13);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let hcs = env.addr("hcs");
    let azure = env.addr("azure");
    // Rename the Azure account with a moved block, drop the HCS account.
    let name = azure.split_once('.').unwrap().1.to_string();
    let mut text = env.config().replace(
        &format!("account \"azure\" \"{name}\""),
        "account \"azure\" \"renamed\"",
    );
    let at = text.find("account \"hcs\"").unwrap();
    let end = at + text[at..].find("\n}\n").unwrap() + 3;
    text.replace_range(at..end, "");
    text.push_str(&format!(
        "\nmoved {{\n  from = {azure}\n  to   = azure.renamed\n}}\n"
    ));
    env.set_config(&text);

    let plan = env.tether(&["plan", "--out", "plan.json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains(&format!("# {azure} has moved to azure.renamed")),
        "{}",
        plan.stdout
    );
    // A saved plan becomes stale when the config changes.
    env.set_config(&format!("{text}\n# a comment\n"));
    let out = env.tether(&["apply", "plan.json"]);
    assert_eq!(out.code, 5, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("configuration changed since the plan was made")
    );
    env.set_config(&text);
    let out = env.tether(&["apply", "plan.json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("{hcs}: forgotten")));
    let state = env.state();
    assert!(state["accounts"].get(&hcs).is_none());
    assert!(state["accounts"].get("azure.renamed").is_some());
    // The same plan again: the state moved on.
    let out = env.tether(&["apply", "plan.json"]);
    assert_eq!(out.code, 5);
    assert!(
        out.stderr
            .contains("the state changed since the plan was made"),
        "{}",
        out.stderr
    );
}

crate::both_backends!(
    apply_creates_verifies_and_records_every_vendor,
    failures_are_per_account_and_the_rest_goes_on,
    deletes_moves_and_stale_plans,
    refresh_reports_a_revoked_key_as_identity_drift,
    a_killed_apply_leaves_finished_accounts_recorded_and_replans_the_rest,
    a_rotated_key_is_set_planned_as_a_secret_change_and_applied,
    every_vendor_through_replace_rename_update_and_delete,
);

#[test]
fn a_second_apply_waits_or_exits_4() {
    let env = Env::new(14);
    let guard = tether::state::lock::acquire(
        &env.path().join("tether.state.json"),
        "test",
        std::time::Duration::ZERO,
    )
    .unwrap();
    let out = env.tether(&["--lock-timeout", "500ms", "apply", "--auto-approve"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(!env.path().join("tether.state.json").exists());
    drop(guard);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
}

#[test]
fn apply_without_a_terminal_needs_approval() {
    let env = Env::new(15);
    let out = env.tether(&["apply"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("pass --auto-approve"), "{}", out.stderr);
    assert!(!env.path().join("tether.state.json").exists());
}

fn refresh_reports_a_revoked_key_as_identity_drift(b: Backend) {
    let env = Env::new_on(b, 16);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let clean = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    let summary = env.sim.engine().summary();
    env.sim
        .engine()
        .revoke(SimVendor::Aws, &summary.aws.accounts[0].main_account_id)
        .unwrap();
    let out = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let hcs = env.addr("aws");
    assert!(out.stdout.contains("Identity drift"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("! {hcs}: AWS refused the credentials")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
    let json = env.tether(&["plan", "--refresh", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["identity_drift"].as_array().unwrap().len(), 1);
    assert_eq!(v["identity_drift"][0]["address"], hcs.as_str());
    let md = env.tether(&["plan", "--refresh", "--format", "markdown"]);
    assert!(
        md.stdout.contains("**Identity drift (1):**"),
        "{}",
        md.stdout
    );
    // Without an identity, --refresh cannot decrypt and says so.
    let out = Run::new(env.path()).args(["plan", "--refresh"]).run();
    assert_eq!(out.code, 1);
}

fn a_killed_apply_leaves_finished_accounts_recorded_and_replans_the_rest(b: Backend) {
    let env = Env::new_on(b, 17);
    // Slow answers, one account at a time: the kill lands mid-way.
    env.sim
        .engine()
        .set_faults(&tether_sim::FaultsUpdate {
            vendor: "*".into(),
            faults: tether_sim::Faults {
                latency_ms: 400,
                ..Default::default()
            },
        })
        .unwrap();
    let mut child = env.spawn(&["apply", "--auto-approve", "--parallelism", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    child.kill().unwrap();
    child.wait().unwrap();

    let recorded = match env.state_text() {
        Some(text) => serde_json::from_str::<serde_json::Value>(&text).unwrap()["accounts"]
            .as_object()
            .unwrap()
            .len(),
        None => 0,
    };
    assert!(recorded < 4, "the kill came too late to test anything");
    // The next plan shows exactly the remaining work.
    let plan = env.tether(&["plan", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let creates = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .count();
    let noops = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "no-op")
        .count();
    assert_eq!((creates, noops), (4 - recorded, recorded));
    // The dead run's lock is taken over by the next run, with a warning.
    env.sim
        .engine()
        .set_faults(&tether_sim::FaultsUpdate {
            vendor: "*".into(),
            faults: tether_sim::Faults::default(),
        })
        .unwrap();
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("Apply complete: {} succeeded.", 4 - recorded)),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "warning: took over the state lock {} left by a run that is gone:",
            env.state_lock_shown()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`apply` since"), "{}", out.stderr);
}

#[test]
fn a_killed_sync_leaves_no_lock_that_needs_force_unlock() {
    let env = Env::new(23);
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let slow = |latency_ms| {
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
    };
    slow(300);
    let state_lock = env.path().join("tether.state.json.lock");
    let store_lock = env.path().join(".tether/snapshots/store.lock");
    let mut child = env.spawn(&["sync", "--parallelism", "1"]);
    let begun = std::time::Instant::now();
    // Held: both lock files there with their holder written in them (a
    // file whose holder is not yet written is taken over without a word).
    let held = || {
        tether::state::lock::read(&env.path().join("tether.state.json")).is_some()
            && tether::state::lock::read(&env.path().join(".tether/snapshots/store")).is_some()
    };
    while !held() {
        assert!(
            begun.elapsed() < std::time::Duration::from_secs(20),
            "sync never held both locks"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // kill -9: no guard is dropped, both lock files stay behind.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(state_lock.exists() && store_lock.exists());

    slow(0);
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for lock in ["the state lock", "the snapshot store lock"] {
        assert!(
            out.stderr.contains(&format!("warning: took over {lock} ")),
            "{lock}: {}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("`sync` since"), "{}", out.stderr);
    assert!(!state_lock.exists() && !store_lock.exists());
}

/// Lines of `text` that show a credential a request carried: an
/// `Authorization`-style header with its value (`name: value`,
/// `"name": "value"`, smithy's `"name": HeaderValue { _private: H0("value") }`),
/// a SigV4 signature or credential scope, a bearer token.
fn credential_lines(text: &str) -> Vec<&str> {
    const NAMES: [&str; 5] = [
        "authorization",
        "x-auth-token",
        "x-subject-token",
        "ocp-apim-subscription-key",
        "x-amz-security-token",
    ];
    let shows_value = |lower: &str, name: &str| {
        lower.match_indices(name).any(|(at, _)| {
            let rest = lower[at + name.len()..].trim_start_matches(['"', '\'']);
            let Some(value) = rest.trim_start().strip_prefix([':', '=']) else {
                return false;
            };
            let mut value = value.trim_start();
            if let Some(v) = value.strip_prefix("headervalue { _private: h0(") {
                value = v;
            }
            let value = value.trim_start_matches(['"', '\'']);
            !(value.is_empty() || value.starts_with("(redacted)") || value.starts_with("sensitive"))
        })
    };
    text.lines()
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            NAMES.iter().any(|n| shows_value(&lower, n))
                || lower.contains("credential=")
                || lower
                    .match_indices("signature=")
                    .any(|(at, _)| lower[at + 10..].starts_with(|c: char| c.is_ascii_hexdigit()))
                || lower
                    .match_indices("bearer ")
                    .any(|(at, _)| lower[at + 7..].starts_with(|c: char| c.is_ascii_alphanumeric()))
        })
        .collect()
}

#[test]
fn no_authorization_header_or_signature_in_trace_logs() {
    let env = Env::new(24);
    let run = |args: &[&str]| {
        Run::new(env.path())
            .args(args)
            .env("TETHER_AGE_KEY", &env.key)
            .env("TETHER_LOG", "trace")
            .run()
    };
    let outs = [
        run(&["apply", "--auto-approve"]),
        run(&["plan", "--refresh"]),
        run(&["drift"]),
    ];
    assert_eq!(outs[0].code, 0, "{}", outs[0].stderr);
    let mut redacted = 0;
    for out in &outs {
        // The HTTP stacks did log the requests: the headers are there, redacted.
        redacted += out.stderr.matches("(redacted)").count();
        let leaks = credential_lines(&out.stderr);
        assert!(
            leaks.is_empty(),
            "{} log lines show credentials, e.g.:\n{}",
            leaks.len(),
            leaks.iter().take(5).copied().collect::<Vec<_>>().join("\n")
        );
    }
    assert!(
        redacted > 0,
        "trace logging printed no request headers at all"
    );
}

#[test]
fn every_file_tether_writes_is_0600_and_every_directory_it_creates_0700() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(25);
    // What the test wrote itself is left out: the config and its secrets.
    let ours: Vec<std::path::PathBuf> = crate::harness::tree(env.path())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    for args in [
        &["apply", "--auto-approve"][..],
        &["plan", "--out", "plan.json"],
        &["sync"],
        &["drift", "--record"],
    ] {
        let out = env.tether(args);
        assert!(out.code == 0 || out.code == 2, "{args:?}: {}", out.stderr);
    }
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut files = 0;
    for (path, _) in crate::harness::tree(env.path()) {
        if ours.contains(&path) {
            continue;
        }
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    for want in [
        "tether.state.json",
        "tether.state.json.backup",
        "plan.json",
        ".tether/audit.jsonl",
        ".tether/snapshots/versions/00000001.json",
        ".tether/snapshots/packs/00000001-0000.pack",
    ] {
        assert_eq!(mode(&env.path().join(want)), 0o600, "{want}");
    }
    assert!(files >= 8, "{files} files");
    for dir in [
        ".tether",
        ".tether/snapshots",
        ".tether/snapshots/packs",
        ".tether/snapshots/versions",
    ] {
        assert_eq!(mode(&env.path().join(dir)), 0o700, "{dir}");
    }
}

#[test]
fn no_plaintext_secret_at_trace_level() {
    let env = Env::new(18);
    let summary = env.sim.engine().summary();
    let secrets = [
        summary.aws.accounts[0].secret_access_key.clone(),
        summary.alibaba.accounts[0].secret_access_key.clone(),
        summary.azure.accounts[0].application_secret.clone(),
        summary.hcs.accounts[0].password.clone(),
    ];
    let run = |args: &[&str]| {
        Run::new(env.path())
            .args(args)
            .env("TETHER_AGE_KEY", &env.key)
            .env("TETHER_LOG", "trace")
            .run()
    };
    let first = run(&["apply", "--auto-approve"]);
    // A revoked key makes the later commands print vendor errors too.
    env.sim
        .engine()
        .revoke(SimVendor::Azure, &summary.azure.accounts[0].tenant_id)
        .unwrap();
    let outs = [
        first,
        run(&["plan", "--refresh"]),
        run(&["plan", "--format", "json"]),
        run(&["plan", "--format", "markdown"]),
        run(&["sync"]),
        run(&["drift", "--format", "json", "--record"]),
        run(&["drift", "--format", "markdown"]),
        run(&["snapshot", "show"]),
        run(&["snapshot", "export", "latest", "--format", "csv"]),
        run(&["snapshot", "diff", "1", "latest", "--format", "markdown"]),
    ];
    assert_eq!(outs[0].code, 0, "{}", outs[0].stderr);
    assert_eq!(
        outs[4].code, 3,
        "the sync sees the revoked key: {}",
        outs[4].stdout
    );
    assert!(!outs[0].stderr.is_empty(), "trace logging is on");
    // The trust paths: an endpoint change planned and applied (the secret
    // sealed again), and a state that tries to send recorded secrets
    // elsewhere, refused.
    let aws = env.addr("aws");
    env.set_config(
        &env.config()
            .replacen("http://127.0.0.1", "http://localhost", 1),
    );
    let mut more = vec![
        run(&["plan", "--format", "markdown"]),
        run(&["apply", "--auto-approve"]),
    ];
    let mut forged = env.state();
    for (_, a) in forged["accounts"].as_object_mut().unwrap() {
        a["attributes"]["api_endpoint"] = "http://127.0.0.1:9".into();
    }
    forged["accounts"][&aws]["secret"]["ciphertext"] = std::fs::read_to_string(env.path().join(
        format!("secrets/aws-{}.age", aws.split_once('.').unwrap().1),
    ))
    .unwrap()
    .into();
    std::fs::write(
        env.path().join("pr-state.json"),
        serde_json::to_string(&forged).unwrap(),
    )
    .unwrap();
    env.set_config(&env.config().replacen(
        "tether {\n",
        "tether {\n  state = \"pr-state.json\"\n",
        1,
    ));
    more.push(run(&["plan", "--refresh"]));
    more.push(run(&["drift", "--format", "json"]));
    more.push(run(&["sync"]));
    assert!(
        more[4].stdout.contains("refused to send its secret")
            || more[4].stderr.contains("refused to send its secret"),
        "{}\n{}",
        more[4].stdout,
        more[4].stderr
    );
    let outs: Vec<_> = outs.into_iter().chain(more).collect();
    for out in &outs {
        for s in &secrets {
            assert!(!out.stdout.contains(s.as_str()), "plaintext in stdout");
            assert!(
                !out.stderr.contains(s.as_str()),
                "plaintext in the trace log"
            );
        }
    }
    for (path, bytes) in crate::harness::tree(env.path()) {
        let text = String::from_utf8_lossy(&bytes);
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "plaintext in {}",
                path.display()
            );
        }
    }
}

fn a_rotated_key_is_set_planned_as_a_secret_change_and_applied(b: Backend) {
    let env = Env::new_on(b, 19);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let summary = env.sim.engine().summary();
    let old_key = summary.aws.accounts[0].access_key_id.clone();
    let rotated = env
        .sim
        .engine()
        .rotate(SimVendor::Aws, &summary.aws.accounts[0].main_account_id)
        .unwrap();
    let new_key = rotated.access_key_id.clone().unwrap();
    let new_secret = rotated.secret_access_key.clone().unwrap();
    let aws = env.addr("aws");
    // The old key no longer verifies.
    let drift = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(drift.code, 2, "{}", drift.stdout);
    // New key id in the config, new secret through `secrets set` (stdin).
    env.set_config(&env.config().replace(&old_key, &new_key));
    let set = Run::new(env.path())
        .args(["secrets", "set", &aws, "secret_access_key"])
        .env("TETHER_AGE_KEY", &env.key)
        .stdin(format!("{new_secret}\n"))
        .run();
    assert_eq!(set.code, 0, "{}", set.stderr);
    let plan = env.tether(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let change = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == aws.as_str())
        .unwrap()
        .clone();
    assert_eq!(change["action"], "update");
    assert_eq!(change["secret"], "changed");
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("{aws}: updated (verified ")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&new_secret) && !out.stderr.contains(&new_secret));
    let clean = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
}

/// The text of one `account "<vendor>" "<name>"` block, and its byte range.
fn block(text: &str, vendor: &str, name: &str) -> (std::ops::Range<usize>, String) {
    let at = text
        .find(&format!("account \"{vendor}\" \"{name}\" {{"))
        .unwrap_or_else(|| panic!("no block {vendor}.{name}"));
    let end = at + text[at..].find("\n}\n").unwrap() + 3;
    (at..end, text[at..end].to_string())
}

/// Every vendor through every kind of change in one plan: a replace (the
/// identity changes), a rename with `moved` that also updates tags and
/// reuses the recorded secret (no secret in the config), and a delete.
/// Then the state says exactly that and a new plan is empty.
fn every_vendor_through_replace_rename_update_and_delete(b: Backend) {
    let env = Env::on(b, 21, 3, 0);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Apply complete: 12 succeeded."));
    let before = env.state();

    let mut text = env.config();
    for v in ["aws", "alibaba", "azure", "hcs"] {
        // acct-0001 becomes another identity: acct-0003's (HCS: another endpoint name).
        let (r1, b1) = block(&text, v, "acct-0001");
        let replaced = if v == "hcs" {
            b1.replace(
                "endpoint         = \"127.0.0.1\"",
                "endpoint         = \"localhost\"",
            )
        } else {
            block(&text, v, "acct-0003")
                .1
                .replace("\"acct-0003\" {", "\"acct-0001\" {")
        };
        assert_ne!(replaced, b1);
        text.replace_range(r1, &replaced);
        // acct-0003 is deleted.
        let (r3, _) = block(&text, v, "acct-0003");
        text.replace_range(r3, "");
        // acct-0002 is renamed, gains tags and keeps the secret recorded in state.
        let (r2, b2) = block(&text, v, "acct-0002");
        let secret_line = b2
            .lines()
            .find(|l| l.contains("file(\"secrets/"))
            .unwrap()
            .to_string();
        let renamed = b2
            .replace("\"acct-0002\" {", "\"renamed\" {")
            .replace(&format!("{secret_line}\n"), "")
            .replace("\n}\n", "\n  tags = { team = \"platform\" }\n}\n");
        text.replace_range(r2, &renamed);
        text.push_str(&format!(
            "moved {{\n  from = {v}.acct-0002\n  to   = {v}.renamed\n}}\n"
        ));
    }
    env.set_config(&text);

    let out = env.tether(&["plan", "--format", "json", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let action = |addr: &str| -> String {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == addr)
            .unwrap_or_else(|| panic!("{addr} not in the plan"))["action"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for v in ["aws", "alibaba", "azure", "hcs"] {
        assert_eq!(action(&format!("{v}.acct-0001")), "replace", "{v}");
        assert_eq!(action(&format!("{v}.renamed")), "update", "{v}");
        assert_eq!(action(&format!("{v}.acct-0003")), "delete", "{v}");
    }

    let out = env.tether(&["apply", "plan.json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Apply complete: 12 succeeded."),
        "{}",
        out.stdout
    );
    let after = env.state();
    let accounts = after["accounts"].as_object().unwrap();
    assert_eq!(accounts.len(), 8, "{:?}", accounts.keys());
    for v in ["aws", "alibaba", "azure", "hcs"] {
        let one = &after["accounts"][format!("{v}.acct-0001")];
        let renamed = &after["accounts"][format!("{v}.renamed")];
        let old_two = &before["accounts"][format!("{v}.acct-0002")];
        assert!(accounts.get(&format!("{v}.acct-0002")).is_none(), "{v}");
        assert!(accounts.get(&format!("{v}.acct-0003")).is_none(), "{v}");
        // The replaced account was verified as the identity it now declares.
        if v == "hcs" {
            assert_eq!(one["attributes"]["endpoint"], "localhost");
        } else {
            let three = &before["accounts"][format!("{v}.acct-0003")];
            assert_eq!(
                one["identity"]["account_id"], three["identity"]["account_id"],
                "{v}"
            );
            assert_ne!(
                one["identity"]["account_id"],
                before["accounts"][format!("{v}.acct-0001")]["identity"]["account_id"],
                "{v}"
            );
        }
        // The renamed account kept its recorded secret (the same applied
        // ciphertext, sealed again for its new address) and identity, and has its tags.
        assert_eq!(
            renamed["secret"]["applied"], old_two["secret"]["applied"],
            "{v}"
        );
        assert_eq!(
            renamed["secret"]["attribute"], old_two["secret"]["attribute"],
            "{v}"
        );
        assert_eq!(
            renamed["identity"]["account_id"],
            old_two["identity"]["account_id"]
        );
        assert_eq!(renamed["attributes"]["tags"]["team"], "platform", "{v}");
    }
    let out = env.tether(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// The environment the declared `environment_name` is not: `dc2` for an
/// account of `dc1` (the simulator names its environments `dc1`…`dc3`).
fn other_environment(real: &str) -> &'static str {
    if real == "dc2" { "dc1" } else { "dc2" }
}

/// `hcs`'s block of `env`'s config with another `environment_name`.
fn declare_environment(env: &Env, real: &str, declared: &str) {
    let (from, to) = (
        format!("environment_name = {real:?}"),
        format!("environment_name = {declared:?}"),
    );
    let text = env.config();
    assert!(text.contains(&from), "{text}");
    env.set_config(&text.replacen(&from, &to, 1));
}

#[test]
fn apply_refuses_hcs_credentials_of_another_environment() {
    let env = Env::new(17);
    let real = env.sim.engine().summary().hcs.accounts[0]
        .environment_name
        .clone();
    let declared = other_environment(&real);
    declare_environment(&env, &real, declared);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let hcs = env.addr("hcs");
    for want in [
        format!("{hcs}: FAILED:"),
        "EnvironmentMismatch".to_string(),
        format!("serves environment `{real}`"),
        format!("not the declared environment_name `{declared}`"),
        "Apply incomplete: 3 succeeded, 1 failed".to_string(),
    ] {
        assert!(out.stdout.contains(&want), "no `{want}` in {}", out.stdout);
    }
    // Not recorded; the other vendors are.
    let state = env.state();
    let accounts = state["accounts"].as_object().unwrap();
    assert!(!accounts.contains_key(&hcs), "{state}");
    assert_eq!(accounts.len(), 3);
    // Declared as the vendor says, the same credentials are recorded.
    declare_environment(&env, declared, &real);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        env.state()["accounts"][&hcs]["attributes"]["environment_name"],
        real.as_str()
    );
}

/// What an earlier build could record: the credentials of `dc1` in state
/// under a declared `dc2` (config and state agree, so `plan` sees no
/// change). A refresh and drift re-verify them and say so.
#[test]
fn refresh_and_drift_flag_hcs_credentials_recorded_under_another_environment() {
    let env = Env::new(18);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let real = env.sim.engine().summary().hcs.accounts[0]
        .environment_name
        .clone();
    let declared = other_environment(&real);
    let hcs = env.addr("hcs");
    declare_environment(&env, &real, declared);
    let mut state = env.state();
    state["accounts"][&hcs]["attributes"]["environment_name"] = declared.into();
    let mut text = serde_json::to_string_pretty(&state).unwrap();
    text.push('\n');
    std::fs::write(env.path().join("tether.state.json"), text).unwrap();
    let plan = env.tether(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);

    let out = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Identity drift"), "{}", out.stdout);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&format!("! {hcs}:")))
        .unwrap_or_else(|| panic!("no drift line for {hcs}: {}", out.stdout));
    assert!(line.contains("EnvironmentMismatch"), "{line}");
    assert!(line.contains(&format!("`{real}`")), "{line}");

    let out = env.tether(&["drift", "--format", "json", "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let creds = v["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1, "{v}");
    assert_eq!(creds[0]["address"], hcs.as_str());
    let problem = creds[0]["problem"].as_str().unwrap();
    assert!(
        problem.contains(&format!("not the declared environment_name `{declared}`")),
        "{problem}"
    );
}
