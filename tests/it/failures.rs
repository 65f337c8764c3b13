//! Vendor failures stay typed to the end: a throttled account and one whose
//! credentials are refused are told apart by kind, vendor code and request
//! id in `snapshot show` and `snapshot diff` JSON and in apply's audit log,
//! while the human lines say the same as ever and name each account once.

use tether_sim::Vendor as SimVendor;

use crate::apply::Env;

fn json(out: &crate::harness::Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// Every request of `vendor` is throttled, after every retry.
fn throttle(env: &Env, vendor: &str) {
    env.sim
        .engine()
        .set_faults(&tether_sim::FaultsUpdate {
            vendor: vendor.into(),
            faults: tether_sim::Faults {
                throttle_rate: 1.0,
                ..Default::default()
            },
        })
        .unwrap();
}

fn revoke_aws(env: &Env) {
    let e = env.sim.engine();
    e.revoke(SimVendor::Aws, &e.summary().aws.accounts[0].main_account_id)
        .unwrap();
}

fn nonempty(v: &serde_json::Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

/// What a failed partition (or one not compared because it failed) of
/// `account` must carry: `kind`, `code`, the code the vendor sent, and a
/// request id; and a message that does not start with the account.
fn assert_typed(p: &serde_json::Value, account: &str, kind: &str, code: &str) {
    assert_eq!(p["kind"], kind, "{p:#}");
    assert_eq!(p["code"], code, "{p:#}");
    assert!(nonempty(&p["request_id"]), "{p:#}");
    let detail = p["detail"].as_str().unwrap();
    assert!(!detail.starts_with(account), "{p:#}");
    assert!(
        detail.contains(code) && detail.contains(p["request_id"].as_str().unwrap()),
        "{p:#}"
    );
}

/// After a first sync, Alibaba throttles every request and AWS refuses the
/// key: the sync is incomplete, and the failed partitions of the two say
/// which is which in `snapshot show` and in `snapshot diff`.
#[test]
fn throttled_and_refused_partitions_are_told_apart_in_snapshot_json() {
    let env = Env::with(91, 1, 3);
    // Alibaba's regions are declared, so its sync needs no region
    // discovery: each partition is throttled on its own.
    let ali_id = env.sim.engine().summary().alibaba.accounts[0]
        .main_account_id
        .clone();
    let regions = env.sim.engine().summary().alibaba.accounts[0]
        .regions
        .clone();
    let line = format!("main_account_id   = {ali_id:?}");
    let config = env.config();
    assert!(config.contains(&line), "{config}");
    env.set_config(&config.replace(&line, &format!("{line}\n  regions           = {regions:?}")));
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let (aws, ali) = (env.addr("aws"), env.addr("alibaba"));
    throttle(&env, "alibaba");
    revoke_aws(&env);

    // Every throttled partition waits out its retries at once.
    let out = env.tether(&["sync", "--parallelism", "64"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    // The human report as before: the refused account on its own line, the
    // throttled partitions under theirs, each naming the account once.
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(&format!("  {aws} "))
                && l.contains("  FAILED: AWS refused the credentials: AuthFailure: ")),
        "{}",
        out.stdout
    );
    let throttled: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| {
            l.contains("Alibaba Cloud kept throttling the requests (8 attempts): Throttling.User: ")
        })
        .collect();
    assert!(!throttled.is_empty(), "{}", out.stdout);
    for line in &throttled {
        assert!(line.trim_start().starts_with("FAILED "), "{line}");
        assert!(!line.contains(&ali), "the account is named once: {line}");
    }

    let show = env.tether(&["snapshot", "show", "--format", "json"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let show = json(&show);
    assert_eq!(show["format_version"], "2");
    let partitions = show["partitions"].as_array().unwrap();
    let of = |a: &str| -> Vec<&serde_json::Value> {
        partitions.iter().filter(|p| p["account"] == a).collect()
    };
    assert!(!of(&ali).is_empty() && !of(&aws).is_empty());
    for p in of(&ali) {
        assert_eq!(p["status"], "failed", "{p:#}");
        assert_typed(p, &ali, "throttled", "Throttling.User");
    }
    for p in of(&aws) {
        assert_eq!(p["status"], "failed", "{p:#}");
        assert_typed(p, &aws, "auth", "AuthFailure");
    }
    // The others were read: no failure to type.
    for p in partitions
        .iter()
        .filter(|p| p["account"] != ali.as_str() && p["account"] != aws.as_str())
    {
        assert_ne!(p["status"], "failed", "{p:#}");
        for k in ["kind", "code", "request_id"] {
            assert!(p.get(k).is_none(), "{p:#}");
        }
    }
    // The human listing says what the JSON's detail says.
    let human = env.tether(&["snapshot", "show"]);
    let p = of(&ali)[0];
    let line = format!(
        "  failed {}/{}/{}: {}",
        p["account"].as_str().unwrap(),
        p["region"].as_str().unwrap(),
        p["type"].as_str().unwrap(),
        p["detail"].as_str().unwrap()
    );
    assert!(human.stdout.contains(&line), "{line}\n{}", human.stdout);

    // The diff: not compared, typed the same way.
    let diff = env.tether(&["snapshot", "diff", "previous", "latest", "--format", "json"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    let diff = json(&diff);
    assert_eq!(diff["format_version"], "2");
    let nc = diff["not_compared"].as_array().unwrap();
    let (mut throttled, mut refused) = (0, 0);
    for n in nc {
        assert_eq!(n["after"], "failed", "{n:#}");
        if n["account"] == ali.as_str() {
            assert_typed(n, &ali, "throttled", "Throttling.User");
            throttled += 1;
        } else if n["account"] == aws.as_str() {
            assert_typed(n, &aws, "auth", "AuthFailure");
            refused += 1;
        }
    }
    assert_eq!(
        (throttled, refused),
        (of(&ali).len(), of(&aws).len()),
        "{diff:#}"
    );
}

/// Apply with AWS refusing the key and Alibaba throttling: the lines read
/// as before, and the audit log tells the two failures apart.
#[test]
fn throttled_and_refused_accounts_are_told_apart_in_the_apply_outcome() {
    let env = Env::with(93, 1, 3);
    throttle(&env, "alibaba");
    revoke_aws(&env);
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let (aws, ali) = (env.addr("aws"), env.addr("alibaba"));
    assert!(
        out.stdout.contains(&format!(
            "{aws}: FAILED: AWS refused the credentials: InvalidClientTokenId: "
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "{ali}: FAILED: Alibaba Cloud kept throttling the requests (8 attempts): Throttling.User: "
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Apply incomplete: 2 succeeded, 2 failed"),
        "{}",
        out.stdout
    );

    let audit = std::fs::read_to_string(env.path().join(".tether/audit.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{audit}");
    let line = |a: &str| lines.iter().find(|l| l["address"] == a).unwrap();
    for (a, kind, code) in [
        (&aws, "auth", "InvalidClientTokenId"),
        (&ali, "throttled", "Throttling.User"),
    ] {
        let l = line(a);
        assert_eq!(l["result"], "failed", "{l}");
        assert_eq!(l["kind"], kind, "{l}");
        assert_eq!(l["code"], code, "{l}");
        assert!(nonempty(&l["request_id"]), "{l}");
        // The line names the account; its error does not repeat it, and
        // is the text the apply line printed.
        let error = l["error"].as_str().unwrap();
        assert!(!error.starts_with(a.as_str()), "{l}");
        assert!(
            out.stdout.contains(&format!("{a}: FAILED: {error}\n")),
            "{l}\n{}",
            out.stdout
        );
    }
    for l in lines.iter().filter(|l| l["result"] == "ok") {
        assert!(l["error"].is_null(), "{l}");
        for k in ["kind", "code", "request_id"] {
            assert!(l.get(k).is_none(), "{l}");
        }
    }
}
