//! The report of a sync of many accounts stays readable: totals, every
//! account that failed, the first that changed; every account behind
//! `--all-accounts`, and the whole report as JSON.

use tether_sim::{AddResource, Vendor as SimVendor};

use crate::apply::Env;

#[test]
fn a_sync_of_many_accounts_shows_totals_failures_and_changes() {
    // 8 accounts per vendor: 32, more than the report lists one by one.
    let env = Env::with(73, 8, 2);
    let applied = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    // The first sync: every account is new, so every account changed; the
    // report lists the first 25 and counts the rest.
    let first = &applied.stdout;
    assert!(
        first.contains("0 accounts unchanged, 32 changed, 0 failed"),
        "{first}"
    );
    assert!(
        first.contains("  … and 7 more changed accounts\n"),
        "{first}"
    );

    // One account gains a resource, another's key is revoked.
    let e = env.sim.engine();
    let aws = crate::cloud::world_id(&env.sim, SimVendor::Aws, 0);
    let region = e.summary().aws.accounts[0].regions[0].clone();
    e.add_resource(&AddResource {
        vendor: SimVendor::Aws,
        account: aws,
        region,
        kind: "vpc".into(),
        subscription: None,
    })
    .unwrap();
    e.revoke(
        SimVendor::Alibaba,
        &crate::cloud::world_id(&env.sim, SimVendor::Alibaba, 0),
    )
    .unwrap();
    let (changed, failed) = (env.addr("aws"), env.addr("alibaba"));

    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    let text = &out.stdout;
    assert!(text.contains("32 accounts synced"), "{text}");
    assert!(
        text.contains("30 accounts unchanged, 1 changed, 1 failed (2 resources kept stale)\n"),
        "{text}"
    );
    let failed_at = text.find("\nFailed:\n").expect("a Failed section");
    let changed_at = text.find("\nChanged:\n").expect("a Changed section");
    assert!(failed_at < changed_at, "{text}");
    assert!(
        text[failed_at..changed_at].contains(&format!("  {failed}  FAILED: ")),
        "{text}"
    );
    assert!(
        text[changed_at..].contains(&format!("  {changed}  ")) && text.contains("+1 added"),
        "{text}"
    );
    // The 30 unchanged accounts get no line of their own.
    let lines_with_an_account = text
        .lines()
        .filter(|l| l.contains(" resources in ") && l.contains("partitions;"))
        .count();
    assert_eq!(
        lines_with_an_account, 2,
        "totals and the changed account: {text}"
    );
    assert!(text.contains("--all-accounts"), "{text}");
    assert!(text.contains("Sync incomplete"), "{text}");

    // Every account, on request.
    let every = env.tether(&["sync", "--all-accounts"]);
    assert_eq!(every.code, 3);
    let state = env.state();
    let addresses: Vec<&String> = state["accounts"].as_object().unwrap().keys().collect();
    assert_eq!(addresses.len(), 32);
    for a in &addresses {
        assert!(
            every.stdout.contains(&format!("  {a}  ")),
            "{a}: {}",
            every.stdout
        );
    }
    assert!(!every.stdout.contains("\nChanged:\n"), "{}", every.stdout);

    // The whole report as JSON, typed, matching its schema's fields.
    let out = env.tether(&["sync", "--json"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["format_version"], "1");
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["totals"]["accounts"], 32);
    assert_eq!(doc["totals"]["failed_accounts"], 1);
    assert_eq!(doc["totals"]["unchanged_accounts"], 31, "{doc:#}");
    let accounts = doc["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 32);
    let bad = accounts
        .iter()
        .find(|a| a["address"] == failed.as_str())
        .unwrap();
    assert_eq!(bad["status"], "failed");
    assert_eq!(bad["error"]["kind"], "auth", "{bad:#}");
    assert!(bad["error"]["code"].is_string(), "{bad:#}");
    assert!(
        !bad["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(failed.as_str()),
        "the message does not repeat the address: {bad:#}"
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/sync.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let props = schema["properties"].as_object().unwrap();
    for k in doc.as_object().unwrap().keys() {
        assert!(props.contains_key(k), "sync.schema.json lacks {k}");
    }
}

#[test]
fn a_sync_of_few_accounts_still_lists_each() {
    let env = Env::new(74);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for v in ["aws", "alibaba", "azure", "hcs"] {
        assert!(
            out.stdout.contains(&format!("  {}  ", env.addr(v))),
            "{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("--all-accounts"), "{}", out.stdout);
}
