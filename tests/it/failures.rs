//! Vendor failures stay typed to the end: a throttled account and one whose
//! credentials are refused are told apart by kind, vendor code and request
//! id in apply's audit log, while the human lines say the same as ever.

use tether_sim::Vendor as SimVendor;

use crate::apply::Env;

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
