//! Regression tests of the hardening defects in plan, apply and drift, each
//! named after what it prevents.

use std::time::Duration;

use crate::apply::Env;

fn faults(env: &Env, vendor: &str, error_rate: f64, throttle_rate: f64) {
    let _ = env.sim.engine().set_faults(&tether_sim::FaultsUpdate {
        vendor: vendor.into(),
        faults: tether_sim::Faults {
            error_rate,
            throttle_rate,
            ..Default::default()
        },
    });
}

fn applied(seed: u64, accounts: usize) -> Env {
    let env = Env::with(seed, accounts, 3);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    env
}

#[test]
fn transient_faults_are_never_reported_as_credential_drift() {
    let env = applied(401, 3);
    // 30% server errors and 10% throttling: every check recovers.
    faults(&env, "*", 0.3, 0.1);
    let refresh = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
    assert!(
        !refresh.stdout.contains("Identity drift"),
        "{}",
        refresh.stdout
    );
    assert_ne!(refresh.code, 2, "{}\n{}", refresh.stdout, refresh.stderr);
    let drift = env.tether(&["drift", "--detailed-exitcode"]);
    assert!(
        !drift.stdout.contains("no longer verify"),
        "{}",
        drift.stdout
    );
    assert_ne!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);

    // HCS down: its accounts could not be checked (incomplete, exit 3), never drift.
    faults(&env, "*", 0.0, 0.0);
    faults(&env, "hcs", 1.0, 0.0);
    let (refresh, drift) = std::thread::scope(|s| {
        let r = s.spawn(|| env.tether(&["plan", "--refresh", "--detailed-exitcode"]));
        let d = s.spawn(|| env.tether(&["drift", "--detailed-exitcode", "--format", "json"]));
        (r.join().unwrap(), d.join().unwrap())
    });
    assert_eq!(refresh.code, 3, "{}\n{}", refresh.stdout, refresh.stderr);
    assert!(
        refresh.stdout.contains("Could not be checked")
            && !refresh.stdout.contains("Identity drift"),
        "{}",
        refresh.stdout
    );
    let hcs: Vec<String> = env.state()["accounts"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|a| a.starts_with("hcs."))
        .cloned()
        .collect();
    assert_eq!(hcs.len(), 3);
    for a in &hcs {
        assert!(
            refresh.stdout.contains(&format!("? {a}: ")),
            "{a}: {}",
            refresh.stdout
        );
    }
    assert_eq!(drift.code, 3, "{}\n{}", drift.stdout, drift.stderr);
    let report: serde_json::Value = serde_json::from_str(&drift.stdout).unwrap();
    assert_eq!(report["drift"], false, "{report}");
    assert!(report["credentials"].as_array().unwrap().is_empty());
    let unreadable: Vec<&str> = report["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["address"].as_str().unwrap())
        .collect();
    for a in &hcs {
        assert!(unreadable.contains(&a.as_str()), "{a}: {report}");
    }
}

#[test]
fn a_hand_edited_saved_plan_is_never_executed() {
    let env = applied(402, 1);
    let aws = env.addr("aws");
    let plan = env.tether(&["plan", "--out", "plan.json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path().join("plan.json")).unwrap())
            .unwrap();
    let before = std::fs::read(env.path().join("tether.state.json")).unwrap();

    type Edit<'a> = Box<dyn Fn(&mut serde_json::Value) + 'a>;
    let edits: Vec<(&str, Edit<'_>)> = vec![
        (
            "a no-op turned into a delete",
            Box::new(|p| {
                let c = p["changes"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .find(|c| c["address"] == aws.as_str())
                    .unwrap();
                c["action"] = "delete".into();
            }),
        ),
        (
            "an unknown address",
            Box::new(|p| {
                let mut extra = p["changes"][0].clone();
                extra["address"] = "aws.unknown".into();
                extra["action"] = "delete".into();
                p["changes"].as_array_mut().unwrap().push(extra);
            }),
        ),
        (
            "an account left out",
            Box::new(|p| {
                p["changes"].as_array_mut().unwrap().remove(0);
            }),
        ),
        (
            "a changed attribute",
            Box::new(|p| {
                p["changes"][0]["attributes"][0]["after"] = "forged".into();
                p["changes"][0]["action"] = "update".into();
            }),
        ),
    ];
    for (what, edit) in edits {
        let mut forged = saved.clone();
        edit(&mut forged);
        std::fs::write(
            env.path().join("forged.json"),
            serde_json::to_string_pretty(&forged).unwrap(),
        )
        .unwrap();
        let out = env.tether(&["apply", "forged.json"]);
        assert_eq!(out.code, 5, "{what}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr
                .contains("not the plan of this configuration and state"),
            "{what}: {}",
            out.stderr
        );
        assert_eq!(
            std::fs::read(env.path().join("tether.state.json")).unwrap(),
            before,
            "{what}: the state is untouched"
        );
    }
    // The plan as saved still applies (nothing to do).
    let out = env.tether(&["apply", "plan.json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn apply_never_changes_state_when_the_snapshot_store_is_locked() {
    let env = Env::new(403);
    let store = tether::snapshot::Store::open(env.path().join(".tether/snapshots"));
    let held = store.lock("test holder", Duration::ZERO).unwrap();
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert!(
        !out.stdout.contains(": created (verified"),
        "{}",
        out.stdout
    );
    assert!(
        !env.path().join("tether.state.json").exists(),
        "nothing was recorded"
    );
    drop(held);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn apply_applies_exactly_the_secret_bytes_its_saved_plan_is_bound_to() {
    // A writer flips the `file()` secret between two ciphertexts while a
    // saved plan is applied. Apply either refuses the plan (the file is not
    // what it was bound to) or applies exactly the bound bytes: never
    // another ciphertext read after the check.
    let env = Env::new(404);
    let aws = env.addr("aws");
    let name = aws.split_once('.').unwrap().1;
    let file = env.path().join(format!("secrets/aws-{name}.age"));
    let bound = std::fs::read_to_string(&file).unwrap();
    let summary = env.sim.engine().summary();
    let id: age::x25519::Identity = env.key.parse().unwrap();
    let public = id.to_public().to_string();
    let recipients =
        tether::secrets::recipient::Recipients::parse([(public.as_str(), None)]).unwrap();
    let other = tether::secrets::encrypt::armored(
        summary.aws.accounts[0].secret_access_key.as_bytes(),
        &recipients,
    )
    .unwrap();
    let digest = |s: &str| tether::plan::applied_digest(s);
    for round in 0..8 {
        std::fs::write(&file, &bound).unwrap();
        let _ = std::fs::remove_file(env.path().join("tether.state.json"));
        let _ = std::fs::remove_file(env.path().join("tether.state.json.backup"));
        let plan = env.tether(&["plan", "--out", "plan.json"]);
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let out = std::thread::scope(|s| {
            s.spawn(|| {
                let tmp = file.with_extension("flip");
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let text = if i % 2 == 0 { &other } else { &bound };
                    std::fs::write(&tmp, text).unwrap();
                    std::fs::rename(&tmp, &file).unwrap();
                    i += 1;
                }
            });
            let out = env.tether(&["apply", "--no-sync", "plan.json"]);
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            out
        });
        match out.code {
            5 => continue,
            0 => {
                let state = env.state();
                assert_eq!(
                    state["accounts"][&aws]["secret"]["applied"],
                    digest(&bound).as_str(),
                    "round {round}: apply recorded a ciphertext its plan was not bound to"
                );
            }
            c => panic!("round {round}: exit {c}: {}\n{}", out.stdout, out.stderr),
        }
    }
}

#[test]
fn drift_reports_state_entries_it_cannot_use() {
    let env = applied(405, 1);
    let aws = env.addr("aws");
    let mut state = env.state();
    state["accounts"][&aws]["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("access_key_id");
    std::fs::write(
        env.path().join("tether.state.json"),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
    let out = env.tether(&["drift", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let entry = report["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["address"] == aws.as_str())
        .unwrap_or_else(|| panic!("{aws} is not reported: {report}"));
    assert!(
        entry["problem"]
            .as_str()
            .unwrap()
            .contains("the state entry is not usable"),
        "{entry}"
    );
    assert_eq!(report["incomplete"], true);
    let human = env.tether(&["drift"]);
    assert!(!human.stdout.contains("No drift.\n"), "{}", human.stdout);
    assert!(
        human.stdout.contains(&format!("? {aws}: ")),
        "{}",
        human.stdout
    );
}

#[test]
fn apply_parallelism_bounds_its_own_sync() {
    let env = Env::with(406, 6, 4);
    let _ = env.sim.engine().set_faults(&tether_sim::FaultsUpdate {
        vendor: "*".into(),
        faults: tether_sim::Faults {
            latency_ms: 20,
            ..Default::default()
        },
    });
    env.sim.engine().load.reset();
    let out = env.tether(&["apply", "--auto-approve", "--parallelism", "2"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Snapshot 1"),
        "apply synced: {}",
        out.stdout
    );
    let stats = env.sim.engine().load.stats();
    assert!(stats.requests > 24, "{stats:?}");
    assert_eq!(
        stats.peak_in_flight, 2,
        "--parallelism 2 bounds verification and the sync after it: {stats:?}"
    );
}
