//! `tether sync`, `tether drift` and apply's sync, end to end against the
//! simulator for all four vendors.

use tether_sim::{AddResource, Vendor as SimVendor};

use crate::apply::{Backend, Env};

const VENDORS: [SimVendor; 4] = [
    SimVendor::Aws,
    SimVendor::Alibaba,
    SimVendor::Azure,
    SimVendor::Hcs,
];

fn json(out: &crate::harness::Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

fn prefix(v: SimVendor) -> &'static str {
    match v {
        SimVendor::Aws => "aws.",
        SimVendor::Alibaba => "alibaba.",
        SimVendor::Azure => "azure.",
        SimVendor::Hcs => "hcs.",
    }
}

/// Every resource of a snapshot version, from `snapshot export`.
fn export(env: &Env, id: &str) -> Vec<serde_json::Value> {
    let out = env.tether(&["snapshot", "export", id, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    json(&out)["resources"].as_array().unwrap().clone()
}

fn count(v: &serde_json::Value, field: &str, vendor: SimVendor) -> usize {
    v[field]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["account"].as_str().unwrap().starts_with(prefix(vendor)))
        .count()
}

/// Adds a resource to `v`'s first account in the region and of the type
/// of `like` (one of that account's exported resources); for Azure, a
/// virtual network in the account's first location.
pub(crate) fn add_like(
    env: &Env,
    v: SimVendor,
    like: &serde_json::Value,
) -> tether_sim::ResourceView {
    let e = env.sim.engine();
    let (region, kind) = match v {
        SimVendor::Azure => (
            e.summary().azure.accounts[0].locations[0].clone(),
            "Microsoft.Network/virtualNetworks".to_string(),
        ),
        _ => (
            like["region"].as_str().unwrap().to_string(),
            like["type"].as_str().unwrap().to_string(),
        ),
    };
    e.add_resource(&AddResource {
        vendor: v,
        account: crate::cloud::world_id(&env.sim, v, 0),
        region,
        kind,
        subscription: None,
    })
    .unwrap_or_else(|err| panic!("{v:?}: {err}"))
}

/// Apply syncs every account into snapshot 1; a resource added, one
/// deleted and one re-tagged per vendor are drift, found by `drift` and by
/// the next sync's diff; after that sync there is no drift.
fn drift_and_the_next_sync_find_added_removed_and_retagged_resources(b: Backend) {
    let env = Env::on(b, 31, 1, 24);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Snapshot 1: 4 accounts synced"),
        "{}",
        out.stdout
    );
    let first = export(&env, "latest");
    assert_eq!(
        first.len(),
        4 * 24,
        "every resource of the world is in snapshot 1"
    );
    let out = env.tether(&["drift", "--detailed-exitcode"]);
    assert_eq!(
        out.code, 0,
        "no drift right after apply:\n{}\n{}",
        out.stdout, out.stderr
    );

    let e = env.sim.engine();
    for v in VENDORS {
        let mine: Vec<&serde_json::Value> = first
            .iter()
            .filter(|r| r["account"].as_str().unwrap().starts_with(prefix(v)))
            .filter(|r| r["type"] != "resource_group")
            .collect();
        add_like(&env, v, mine[0]);
        e.delete_resource(v, mine[1]["id"].as_str().unwrap())
            .unwrap();
        let mut tags = std::collections::BTreeMap::new();
        tags.insert("owner".to_string(), "drift-test".to_string());
        e.set_tags(v, mine[2]["id"].as_str().unwrap(), &tags)
            .unwrap();
    }

    let out = env.tether(&["drift", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let report = json(&out);
    assert_eq!(report["drift"], true);
    assert_eq!(report["incomplete"], false);
    assert_eq!(report["snapshot"], 1);
    for v in VENDORS {
        assert_eq!(
            count(&report["resources"], "added", v),
            1,
            "{v:?}: {report:#}"
        );
        assert_eq!(count(&report["resources"], "removed", v), 1, "{v:?}");
        assert_eq!(count(&report["resources"], "changed", v), 1, "{v:?}");
    }
    // drift wrote nothing.
    assert_eq!(export(&env, "latest").len(), first.len());
    let out = env.tether(&["snapshot", "list", "--format", "json"]);
    assert_eq!(
        json(&out)["versions"].as_array().unwrap().len(),
        1,
        "{}",
        out.stdout
    );

    // The next sync records the same changes.
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Snapshot 2 (since 1)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("+1 added, ~1 changed, -1 removed"),
        "{}",
        out.stdout
    );
    let out = env.tether(&["snapshot", "diff", "1", "2", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let d = json(&out);
    for v in VENDORS {
        assert_eq!(count(&d, "added", v), 1, "{v:?}: {d:#}");
        assert_eq!(count(&d, "removed", v), 1, "{v:?}");
        assert_eq!(count(&d, "changed", v), 1, "{v:?}");
    }
    let state = env.state();
    for (_, a) in state["accounts"].as_object().unwrap() {
        assert_eq!(a["last_sync"]["snapshot"], 2, "{a:#}");
        assert!(!a["regions"].as_array().unwrap().is_empty(), "{a:#}");
    }
    let out = env.tether(&["drift", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("No drift."), "{}", out.stdout);
}

/// A region the account can newly see is picked up by drift and sync
/// (the config declares no regions), and `--record` saves what drift saw.
fn a_new_region_is_found_and_drift_record_saves_a_version(b: Backend) {
    let env = Env::on(b, 32, 1, 8);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let e = env.sim.engine();
    let aws = crate::cloud::world_id(&env.sim, SimVendor::Aws, 0);
    let known = e.summary().aws.accounts[0].regions.clone();
    let region = ["sa-east-1", "ca-central-1", "eu-north-1", "ap-south-1"]
        .into_iter()
        .find(|r| !known.iter().any(|k| k == r))
        .unwrap();
    e.add_region(SimVendor::Aws, &aws, region).unwrap();
    e.add_resource(&AddResource {
        vendor: SimVendor::Aws,
        account: aws,
        region: region.into(),
        kind: "vpc".into(),
        subscription: None,
    })
    .unwrap();
    let out = env.tether(&[
        "drift",
        "--detailed-exitcode",
        "--record",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let report = json(&out);
    let added = report["resources"]["added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{report:#}");
    assert_eq!(added[0]["region"], region);
    assert_eq!(report["recorded"], 2);
    // The recorded version holds the new resource; the state was not touched.
    assert!(export(&env, "2").iter().any(|r| r["region"] == region));
    assert_eq!(
        env.state()["accounts"][env.addr("aws")]["last_sync"]["snapshot"],
        1
    );
    let out = env.tether(&["drift", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// A revoked key is drift; sync then fails that account (exit 3) and keeps
/// its resources as stale, never as removed. A region that fails for good
/// also gives exit 3 with stale resources. Injected 5xx and throttling are
/// retried: every resource is still fetched.
fn revoked_keys_failing_regions_and_flaky_vendors(b: Backend) {
    let env = Env::on(b, 33, 1, 24);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let before = export(&env, "latest").len();
    let e = env.sim.engine();

    // 5xx and throttling on every vendor: retried, nothing lost.
    e.set_faults(&tether_sim::FaultsUpdate {
        vendor: "*".into(),
        faults: tether_sim::Faults {
            error_rate: 0.1,
            throttle_rate: 0.1,
            ..Default::default()
        },
    })
    .unwrap();
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(export(&env, "latest").len(), before);
    e.set_faults(&tether_sim::FaultsUpdate {
        vendor: "*".into(),
        faults: tether_sim::Faults::default(),
    })
    .unwrap();

    // A revoked Alibaba key.
    let ali = env.addr("alibaba");
    e.revoke(
        SimVendor::Alibaba,
        &crate::cloud::world_id(&env.sim, SimVendor::Alibaba, 0),
    )
    .unwrap();
    let out = env.tether(&["drift", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let report = json(&out);
    assert_eq!(
        report["credentials"][0]["address"],
        ali.as_str(),
        "{report:#}"
    );
    assert!(
        report["resources"]["removed"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("{ali}  FAILED")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("marked stale"), "{}", out.stdout);
    let now = export(&env, "latest");
    assert_eq!(now.len(), before, "nothing is deleted");
    assert!(
        now.iter()
            .filter(|r| r["account"] == ali.as_str())
            .all(|r| r["stale"] == true)
    );
    let out = env.tether(&["snapshot", "diff", "previous", "latest", "--format", "json"]);
    let d = json(&out);
    assert!(d["removed"].as_array().unwrap().is_empty(), "{d:#}");
    assert!(!d["not_compared"].as_array().unwrap().is_empty(), "{d:#}");

    // An AWS region down for good: its partitions fail, their resources stay.
    let aws = env.addr("aws");
    let region = now.iter().find(|r| r["account"] == aws.as_str()).unwrap()["region"]
        .as_str()
        .unwrap()
        .to_string();
    e.set_failing_scope(SimVendor::Aws, &region, true);
    let out = env.tether(&["sync", &aws]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("FAILED {region}/")),
        "{}",
        out.stdout
    );
    let last = export(&env, "latest");
    assert_eq!(last.len(), before);
    let in_region: Vec<_> = last
        .iter()
        .filter(|r| r["account"] == aws.as_str() && r["region"] == region.as_str())
        .collect();
    assert!(!in_region.is_empty());
    assert!(in_region.iter().all(|r| r["stale"] == true));
    assert!(
        last.iter()
            .filter(|r| r["account"] == aws.as_str() && r["region"] != region.as_str())
            .all(|r| r["stale"] == false)
    );
}

/// Forgetting an account removes its resources from the next snapshot as
/// "account removed", not as drift; `--no-sync` leaves snapshots alone.
fn deleted_accounts_leave_the_snapshot_and_no_sync_skips_it(b: Backend) {
    let env = Env::on(b, 34, 1, 6);
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = env.tether(&["snapshot", "list"]);
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("No snapshot versions"),
        "{}",
        out.stdout
    );
    assert_eq!(env.tether(&["sync"]).code, 0);
    let hcs = env.addr("hcs");
    let mut text = env.config();
    let at = text.find("account \"hcs\"").unwrap();
    let end = at + text[at..].find("\n}\n").unwrap() + 3;
    text.replace_range(at..end, "");
    env.set_config(&text);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "{hcs}: account removed from the snapshot (6 resources)"
        )),
        "{}",
        out.stdout
    );
    let out = env.tether(&["snapshot", "diff", "1", "2", "--format", "json"]);
    let d = json(&out);
    assert_eq!(d["accounts_removed"][0]["account"], hcs.as_str(), "{d:#}");
    assert!(d["removed"].as_array().unwrap().is_empty());
    let out = env.tether(&["drift", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// A rename (`state mv`, or a `moved` block applied) carries the account's
/// resources to the new address in the snapshots: drift sees no change, the
/// next sync adds and removes nothing, and a diff across the rename shows
/// no resource removed and added.
fn renamed_accounts_keep_their_snapshot_history(b: Backend) {
    let env = Env::on(b, 35, 1, 8);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let aws = env.addr("aws");
    let before = export(&env, "latest");

    // `state mv`, then the config follows.
    let out = env.tether(&["state", "mv", &aws, "aws.renamed"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "Snapshot 2: {aws}'s resources carried over to aws.renamed."
        )),
        "{}",
        out.stdout
    );
    let text = env.config();
    let name = aws.strip_prefix("aws.").unwrap();
    env.set_config(&text.replace(
        &format!("account \"aws\" \"{name}\""),
        "account \"aws\" \"renamed\"",
    ));
    let out = env.tether(&["drift", "--detailed-exitcode"]);
    assert_eq!(
        out.code, 0,
        "no drift after a rename:\n{}\n{}",
        out.stdout, out.stderr
    );
    let after = export(&env, "latest");
    assert_eq!(after.len(), before.len());
    let renamed: Vec<&serde_json::Value> = after
        .iter()
        .filter(|r| r["account"] == "aws.renamed")
        .collect();
    assert_eq!(renamed.len(), count_of(&before, &aws));
    assert!(
        renamed
            .iter()
            .all(|r| r["address"].as_str().unwrap().starts_with("aws.renamed/"))
    );

    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("+0 added, ~0 changed, -0 removed")
            && !out.stdout.contains("account removed"),
        "{}",
        out.stdout
    );
    let out = env.tether(&["snapshot", "diff", "1", "latest"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(&format!("{aws} is aws.renamed in snapshot 3")),
        "{}",
        out.stdout
    );
    let d = json(&env.tether(&["snapshot", "diff", "1", "latest", "--format", "json"]));
    for field in ["added", "removed", "changed", "accounts_removed"] {
        assert!(
            d[field].as_array().is_none_or(|a| a.is_empty()),
            "{field}: {d:#}"
        );
    }
    // Backwards too: the newer names are the older ones in snapshot 1.
    let d = json(&env.tether(&["snapshot", "diff", "latest", "1", "--format", "json"]));
    assert!(d["removed"].as_array().unwrap().is_empty(), "{d:#}");

    // A `moved` block: apply renames state and snapshots even with nothing
    // else to do.
    let text = env.config();
    env.set_config(&format!(
        "{}\nmoved {{\n  from = aws.renamed\n  to   = aws.moved\n}}\n",
        text.replace("account \"aws\" \"renamed\"", "account \"aws\" \"moved\"")
    ));
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("renamed accounts carried over (aws.renamed -> aws.moved)"),
        "{}",
        out.stdout
    );
    let out = env.tether(&["drift", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let d = json(&env.tether(&["snapshot", "diff", "1", "latest", "--format", "json"]));
    assert!(d["added"].as_array().unwrap().is_empty(), "{d:#}");
    assert!(d["removed"].as_array().unwrap().is_empty(), "{d:#}");
}

/// `enabled = false` is applied without a call to the vendor (the key may
/// be revoked, as here); sync and drift then skip the account, whose
/// resources stay in the snapshot as stale, never removed; enabling it
/// again verifies the key, and a revoked one fails the apply.
fn a_disabled_account_is_kept_stale_and_skipped(b: Backend) {
    let env = Env::on(b, 36, 1, 6);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let before = export(&env, "latest");
    let ali = env.addr("alibaba");
    let e = env.sim.engine();
    e.revoke(
        SimVendor::Alibaba,
        &crate::cloud::world_id(&env.sim, SimVendor::Alibaba, 0),
    )
    .unwrap();
    let enabled = env.config();
    let at = enabled.find("account \"alibaba\"").unwrap();
    let open = at + enabled[at..].find('\n').unwrap() + 1;
    let mut disabled = enabled.clone();
    disabled.insert_str(open, "  enabled = false\n");
    env.set_config(&disabled);
    assert_eq!(env.tether(&["validate"]).code, 0);

    let out = env.tether(&["plan", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan = json(&out);
    let change = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == ali.as_str())
        .unwrap()
        .clone();
    assert_eq!(change["action"], "update", "{change:#}");
    let attr = change["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "enabled")
        .unwrap();
    assert_eq!(attr["after"], false, "{change:#}");

    for format in ["human", "markdown"] {
        let out = env.tether(&["plan", "--format", format]);
        assert!(
            out.stdout
                .contains("Disabled (`enabled = false`; not synced or checked): "),
            "{}",
            out.stdout
        );
    }

    // Disabling calls no vendor: the revoked key does not stop it.
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        env.state()["accounts"][&ali]["attributes"]["enabled"],
        false
    );
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "{ali}  disabled (`enabled = false`): not synced; 6 resources kept"
        )),
        "{}",
        out.stdout
    );
    let out = env.tether(&["sync", "--json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report = json(&out);
    let mine = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["address"] == ali.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["status"], "disabled", "{report:#}");
    assert_eq!(report["totals"]["disabled_accounts"], 1, "{report:#}");
    assert_eq!(report["complete"], true, "{report:#}");
    let now = export(&env, "latest");
    assert_eq!(now.len(), before.len(), "nothing is removed");
    let stale: Vec<_> = now.iter().filter(|r| r["stale"] == true).collect();
    assert_eq!(stale.len(), 6);
    assert!(stale.iter().all(|r| r["account"] == ali.as_str()));
    let d = json(&env.tether(&["snapshot", "diff", "1", "latest", "--format", "json"]));
    assert!(d["removed"].as_array().unwrap().is_empty(), "{d:#}");

    let out = env.tether(&["drift", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report = json(&out);
    assert_eq!(report["disabled"][0], ali.as_str(), "{report:#}");
    assert!(report["credentials"].as_array().unwrap().is_empty());
    let out = env.tether(&["drift"]);
    assert!(
        out.stdout
            .contains("Disabled (`enabled = false`), not checked:"),
        "{}",
        out.stdout
    );
    let out = env.tether(&["plan"]);
    assert!(
        out.stdout.contains(&format!(
            "Disabled (`enabled = false`; not synced or checked): {ali}\n"
        )) && out.stdout.contains("No changes."),
        "{}",
        out.stdout
    );
    // Nor does plan --refresh check it: its revoked key is not drift.
    let out = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // Enabling it again verifies the key: revoked, the apply fails.
    env.set_config(&enabled);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        env.state()["accounts"][&ali]["attributes"]["enabled"],
        false
    );
}

fn count_of(resources: &[serde_json::Value], account: &str) -> usize {
    resources.iter().filter(|r| r["account"] == account).count()
}

crate::both_backends!(
    drift_and_the_next_sync_find_added_removed_and_retagged_resources,
    a_new_region_is_found_and_drift_record_saves_a_version,
    revoked_keys_failing_regions_and_flaky_vendors,
    deleted_accounts_leave_the_snapshot_and_no_sync_skips_it,
    renamed_accounts_keep_their_snapshot_history,
    a_disabled_account_is_kept_stale_and_skipped,
);

/// One tag changed the same way on instances of three accounts is one
/// cause, not a dozen lines; an account whose instance listing is denied
/// is one cause for all its partitions. Every finding stays in the report.
#[test]
fn one_cause_in_many_places_is_one_group() {
    let env = Env::on(Backend::Local, 37, 3, 40);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let e = env.sim.engine();
    let mut changed = 0;
    for i in 0..3 {
        let account = crate::cloud::world_id(&env.sim, SimVendor::Aws, i);
        let instances: Vec<String> = export(&env, "latest")
            .iter()
            .filter(|r| r["type"] == "instance")
            .filter(|r| r["account"] == format!("aws.acct-000{}", i + 1).as_str())
            .map(|r| r["id"].as_str().unwrap().to_string())
            .take(3)
            .collect();
        assert!(instances.len() >= 2, "{account}: {instances:?}");
        for id in instances {
            let mut tags = e.resource(SimVendor::Aws, &id).unwrap().tags;
            tags.insert("owner".into(), "platform-team".into());
            e.set_tags(SimVendor::Aws, &id, &tags).unwrap();
            changed += 1;
        }
    }
    let mut u = tether_sim::HygieneUpdate::new(
        SimVendor::Alibaba,
        &crate::cloud::world_id(&env.sim, SimVendor::Alibaba, 0),
    );
    u.deny = Some(["DescribeInstances".to_string()].into());
    e.set_hygiene(&u).unwrap();

    let out = env.tether(&["drift", "--format", "json"]);
    let report = json(&out);
    let groups = report["groups"].as_array().unwrap();
    let tag = groups
        .iter()
        .find(|g| g["cause"] == "change")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(tag["count"], changed, "{tag:#}");
    assert_eq!(tag["accounts"].as_array().unwrap().len(), 3, "{tag:#}");
    assert!(
        tag["summary"]
            .as_str()
            .unwrap()
            .starts_with("`tags.owner` changed "),
        "{tag:#}"
    );
    assert!(
        // The owners before differed: no single "from … to …".
        tag["summary"].as_str().unwrap()
            == format!("`tags.owner` changed on {changed} instances in 3 accounts"),
        "{tag:#}"
    );
    let denied = groups
        .iter()
        .find(|g| g["cause"] == "account")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(denied["accounts"], serde_json::json!(["alibaba.acct-0001"]));
    assert!(
        denied["summary"].as_str().unwrap().contains("denied"),
        "{denied:#}"
    );
    // The findings themselves are all still there.
    assert_eq!(
        report["resources"]["changed"].as_array().unwrap().len(),
        changed
    );
    let human = env.tether(&["drift"]);
    assert!(
        human
            .stdout
            .contains("Causes seen in many places:\n  * `tags.owner` changed"),
        "{}",
        human.stdout
    );
    let md = env.tether(&["drift", "--format", "markdown"]);
    assert!(
        md.stdout.contains("**Causes seen in many places:**"),
        "{}",
        md.stdout
    );
}

/// Ignore rules in the config and `drift --since-last`, end to end on one
/// account of each vendor: a field a rule names is ignored (counted, with
/// its reason), an expired rule is reported and ignores nothing, a rule
/// that matches nothing counts 0; the second run has nothing new (exit 0);
/// a field that changes again is new, a fix is resolved.
fn ignore_rules_and_new_drift_since_last(b: Backend) {
    let env = Env::on(b, 43, 1, 12);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    std::fs::write(
        env.path().join("rules.hcl"),
        r#"ignore "scanner" {
  account   = "aws.*"
  attribute = "tags.last_scanned"
  reason    = "the nightly scanner stamps it"
  owner     = "secops"
}

ignore "old_hcs" {
  account = "hcs.*"
  reason  = "was being rebuilt"
  until   = "2020-01-01"
}

ignore "never" {
  type   = "subnet"
  tag    = "nobody=here"
  reason = "nothing has it"
}
"#,
    )
    .unwrap();
    let first = export(&env, "latest");
    let pick = |v: SimVendor, n: usize| -> String {
        first
            .iter()
            .filter(|r| r["account"].as_str().unwrap().starts_with(prefix(v)))
            .filter(|r| r["type"] != "resource_group")
            .nth(n)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let e = env.sim.engine();
    let retag = |v: SimVendor, id: &str, key: &str, value: &str| {
        let mut tags = e.resource(v, id).unwrap().tags;
        tags.insert(key.into(), value.into());
        e.set_tags(v, id, &tags).unwrap();
    };
    let (scanned, owned) = (pick(SimVendor::Aws, 0), pick(SimVendor::Aws, 1));
    retag(SimVendor::Aws, &scanned, "last_scanned", "2026-12-06");
    retag(SimVendor::Aws, &owned, "owner", "bob");
    retag(SimVendor::Hcs, &pick(SimVendor::Hcs, 0), "env", "rebuilt");
    e.delete_resource(SimVendor::Azure, &pick(SimVendor::Azure, 0))
        .unwrap();
    let ali = first
        .iter()
        .find(|r| r["account"].as_str().unwrap().starts_with("alibaba.") && r["type"] == "instance")
        .unwrap();
    let added = add_like(&env, SimVendor::Alibaba, ali);

    let drift = |format: &str| {
        env.tether(&[
            "drift",
            "--since-last",
            "--detailed-exitcode",
            "--format",
            format,
        ])
    };
    // First run: everything is new.
    let out = drift("json");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let one = json(&out);
    let ignored = one["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 1, "{one:#}");
    assert_eq!(ignored[0]["rule"], "scanner");
    assert_eq!(ignored[0]["reason"], "the nightly scanner stamps it");
    assert_eq!(ignored[0]["field"], "tags.last_scanned");
    let items = one["items"].as_array().unwrap();
    assert!(
        !items.iter().any(|i| i["field"] == "tags.last_scanned"),
        "{one:#}"
    );
    // The resource whose only change is ignored is not drift at all.
    assert!(
        !one["resources"]["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == scanned.as_str()),
        "{one:#}"
    );
    let rules: Vec<(String, u64, bool)> = one["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["matched"].as_u64().unwrap(),
                r["expired"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(rules[0], ("never".into(), 0, false), "{rules:?}");
    assert_eq!(rules[2], ("scanner".into(), 1, false), "{rules:?}");
    assert_eq!(
        (rules[1].0.as_str(), rules[1].2),
        ("old_hcs", true),
        "{rules:?}"
    );
    assert!(
        rules[1].1 >= 1,
        "the expired rule counts what it would ignore"
    );
    // The expired rule ignores nothing: the HCS change is drift.
    assert!(
        items.iter().any(|i| i["account"].as_str().unwrap().starts_with("hcs.")
            && i["field"] == "tags.env"),
        "{one:#}"
    );
    assert!(one["since_last"].get("last").is_none(), "{one:#}");
    assert_eq!(one["since_last"]["new"], items.len());
    assert!(items.iter().all(|i| i["status"] == "new"));
    for v in VENDORS {
        assert!(
            items
                .iter()
                .any(|i| i["account"].as_str().unwrap().starts_with(prefix(v))),
            "{v:?}: {one:#}"
        );
    }
    let fingerprints = |r: &serde_json::Value| -> std::collections::BTreeSet<String> {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };

    // Second run, nothing changed: the same fingerprints, nothing new: exit 0.
    let out = drift("human");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for want in [
        &format!("0 new, {} still present, 0 resolved", items.len()),
        "Drift found, none of it new since the last run.",
        "Ignored (1 finding, not drift):\n  - scanner (1): the nightly scanner stamps it [owner: secops]",
        "Ignore rules past their `until` (they match nothing now):\n  ! old_hcs (until 2020-01-01)",
    ] {
        assert!(out.stdout.contains(want), "{want}\n---\n{}", out.stdout);
    }
    let out = env.tether(&["drift", "--format", "json"]);
    assert_eq!(
        fingerprints(&json(&out)),
        fingerprints(&one),
        "stable across runs"
    );

    // A run asked about one account judges only its findings: the others'
    // are kept for the next full run, never resolved.
    let out = env.tether(&["drift", "--since-last", "--format", "json", "aws.acct-0001"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let scoped = json(&out);
    assert_eq!(scoped["since_last"]["new"], 0, "{scoped:#}");
    assert_eq!(
        scoped["since_last"]["resolved"].as_array().unwrap().len(),
        0
    );
    assert!(
        scoped["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["account"] == "aws.acct-0001")
    );

    // The owner changes again (a new finding), the added instance is gone.
    retag(SimVendor::Aws, &owned, "owner", "carol");
    e.delete_resource(SimVendor::Alibaba, &added.id).unwrap();
    let out = drift("json");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let three = json(&out);
    let since = &three["since_last"];
    assert_eq!(since["new"], 1, "{since:#}");
    let new: Vec<&serde_json::Value> = three["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "new")
        .collect();
    assert!(
        new[0]["summary"].as_str().unwrap().contains("\"carol\""),
        "{new:?}"
    );
    let resolved: Vec<&str> = since["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["summary"].as_str().unwrap())
        .collect();
    assert_eq!(resolved.len(), 2, "{resolved:?}");
    assert!(
        resolved.iter().any(|s| s.contains("\"bob\"")),
        "{resolved:?}"
    );
    assert!(
        resolved.iter().any(|s| s.ends_with(" added")),
        "{resolved:?}"
    );
    // What is still there kept the day it was first seen.
    let known = three["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["status"] == "known")
        .unwrap();
    let was = one["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["fingerprint"] == known["fingerprint"])
        .unwrap();
    assert_eq!(known["first_seen"], was["first_seen"]);

    // Markdown puts new drift first.
    retag(SimVendor::Hcs, &pick(SimVendor::Hcs, 1), "env", "again");
    let out = drift("markdown");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let new_at = out.stdout.find("**New:**").expect(&out.stdout);
    let table_at = out.stdout.find("| kind | count |").unwrap();
    assert!(new_at < table_at, "{}", out.stdout);
    assert!(
        out.stdout[new_at..table_at].contains("tags.env"),
        "{}",
        out.stdout
    );

    // So does the HTML report, with the ignored findings and their reason.
    retag(SimVendor::Hcs, &pick(SimVendor::Hcs, 2), "env", "html");
    let out = drift("html");
    assert_eq!(out.code, 2, "{}", out.stderr);
    let new_at = out.stdout.find("<h3>New</h3>").expect(&out.stdout);
    assert!(
        out.stdout[new_at..].contains("&quot;html&quot;"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("the nightly scanner stamps it"),
        "{}",
        out.stdout
    );
}

/// A rule that has matched nothing for 30 days is reported as unused; a
/// record a pull request damaged or a `.tether` it made a symlink is
/// refused before any vendor is asked, and nothing is written.
#[test]
fn unused_rules_and_a_hostile_drift_record() {
    let env = Env::on(Backend::Local, 44, 1, 6);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    std::fs::write(
        env.path().join("rules.hcl"),
        "ignore \"never\" {\n  type   = \"subnet\"\n  tag    = \"nobody=here\"\n  reason = \"nothing has it\"\n}\n",
    )
    .unwrap();
    let out = env.tether(&["drift", "--since-last", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(json(&out)["rules"][0].get("unused_since").is_none());
    let path = env.path().join(".tether/drift-last.json");
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        record["rules"]["never"]["last_matched"].is_null(),
        "{record:#}"
    );
    // As if the rule had been there, matching nothing, for 40 days.
    let then = "2020-01-01T00:00:00Z";
    record["rules"]["never"]["first_seen"] = then.into();
    std::fs::write(&path, record.to_string()).unwrap();
    let out = env.tether(&["drift", "--since-last", "--format", "json"]);
    assert_eq!(
        json(&out)["rules"][0]["unused_since"],
        then,
        "{}",
        out.stdout
    );
    let out = env.tether(&["drift", "--since-last"]);
    assert!(
        out.stdout.contains(&format!(
            "Ignore rules that matched nothing for 30 days (remove them?):\n  ? never (nothing since {then}): nothing has it"
        )),
        "{}",
        out.stdout
    );

    // A damaged record: exit 1, named, left as it is.
    std::fs::write(&path, "{\"format_version\": \"1\", \"items\": 7}").unwrap();
    let before = std::fs::read(&path).unwrap();
    let out = env.tether(&["drift", "--since-last"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("drift-last.json is damaged"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // `.tether` made a symlink to a directory elsewhere: refused, nothing
    // written there.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::remove_dir_all(env.path().join(".tether")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), env.path().join(".tether")).unwrap();
    let out = env.tether(&["drift", "--since-last"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("is a symbolic link"), "{}", out.stderr);
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

crate::both_backends!(ignore_rules_and_new_drift_since_last);
