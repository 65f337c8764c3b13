//! Organizations end to end against the simulator: `discover` lists the
//! members of a main account and writes HCL for the undeclared ones that
//! validates and is formatted; `apply` verifies each member through the
//! role it trusts its main account with; sync and drift read it with the
//! session; a member leaving or losing its role is a clear per-account
//! failure, never a deletion.

use tether_sim::world::{MemberUpdate, RoleUpdate};
use tether_sim::{Options, Sim, Vendor as SimVendor, World};

use crate::apply::Env;
use crate::harness::Output;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// A world of one account per vendor, 3 resources each, whose first
/// accounts manage `members` members in 3 units.
fn org_env(seed: u64, members: usize) -> Env {
    let sim = Sim::start(
        World::generate_org(seed, 1, 3, members, 3),
        Options {
            workers: 2,
            ..Options::default()
        },
    )
    .expect("simulator starts");
    Env::of(sim)
}

fn assert_no_secret(env: &Env, out: &Output) {
    let s = env.sim.summary();
    let mut secrets: Vec<String> = s
        .aws
        .accounts
        .iter()
        .chain(&s.alibaba.accounts)
        .map(|a| a.secret_access_key.clone())
        .collect();
    secrets.extend(
        s.azure
            .accounts
            .iter()
            .map(|a| a.application_secret.clone()),
    );
    secrets.extend(s.hcs.accounts.iter().map(|a| a.password.clone()));
    for secret in secrets {
        assert!(
            !out.stdout.contains(&secret) && !out.stderr.contains(&secret),
            "a secret leaked:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

/// The address of the `n`th account of `vendor` in the written config.
fn main_address(env: &Env, vendor: SimVendor) -> String {
    let s = env.sim.summary();
    let name = match vendor {
        SimVendor::Aws => s.aws.accounts[0].name.clone(),
        SimVendor::Alibaba => s.alibaba.accounts[0].name.clone(),
        SimVendor::Azure => s.azure.accounts[0].name.clone(),
        SimVendor::Hcs => s.hcs.accounts[0].name.clone(),
    };
    format!("{}.{name}", crate::sim::vendor(vendor))
}

/// A pull request points a member's state entry, or its main account's,
/// at a host it controls: no command a pull request's CI runs sends it
/// anything, and each says it refused.
#[test]
fn a_member_in_a_pr_state_reaches_nothing() {
    let env = org_env(1602, 3);
    let org = env
        .sim
        .summary()
        .aws
        .organization
        .clone()
        .expect("an organization");
    let main = main_address(&env, SimVendor::Aws);
    let mut config = env.config();
    config.push_str(&format!(
        "\naccount \"aws\" \"member\" {{\n  main_account_id = \"{}\"\n  account_name    = \"{}\"\n  via             = {main}\n}}\n",
        org.members[0].id, org.members[0].name
    ));
    env.set_config(&config);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let capture = crate::trust::Capture::start();
    let real = env.state();
    let config = env
        .config()
        .replacen("tether {\n", "tether {\n  state = \"pr-state.json\"\n", 1);
    env.set_config(&config);
    for entry in ["aws.member", main.as_str()] {
        let mut forged = real.clone();
        forged["accounts"][entry]["attributes"]["api_endpoint"] = serde_json::json!(capture.url);
        std::fs::write(
            env.path().join("pr-state.json"),
            serde_json::to_string_pretty(&forged).unwrap(),
        )
        .unwrap();
        for args in [
            &["plan", "--refresh"][..],
            &["drift"][..],
            &["sync"][..],
            &["discover", main.as_str()][..],
        ] {
            let out = env.tether(args);
            assert_no_secret(&env, &out);
            if args[0] == "discover" && entry == "aws.member" {
                // discover reads the main account alone.
                assert_eq!(out.code, 0, "{}", out.stderr);
                continue;
            }
            let text = format!("{}{}", out.stdout, out.stderr);
            assert!(
                text.contains("refused to send its secret") || text.contains("only `tether apply`"),
                "{args:?} with {entry} forged must say why it refused:\n{text}"
            );
        }
        capture.assert_nothing(&format!(
            "plan --refresh, drift, sync and discover with {entry} pointed at it"
        ));
    }
    // A pull request plants a symlink where the operator writes `--out`:
    // discover refuses it and writes nothing through it.
    let victim = env.path().join("victim.txt");
    std::os::unix::fs::symlink(&victim, env.path().join("planted-members")).unwrap();
    std::fs::write(
        env.path().join("pr-state.json"),
        serde_json::to_string_pretty(&real).unwrap(),
    )
    .unwrap();
    let out = env.tether(&["discover", main.as_str(), "--out", "planted-members"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("never overwrites"), "{}", out.stderr);
    assert!(!victim.exists(), "discover wrote through a planted symlink");
}

/// The organization of `vendor`'s first account, as the simulator built it.
fn organization(env: &Env, vendor: SimVendor) -> tether_sim::summary::OrganizationSummary {
    let s = env.sim.summary();
    match vendor {
        SimVendor::Aws => s.aws.organization,
        SimVendor::Alibaba => s.alibaba.organization,
        SimVendor::Azure => s.azure.organization,
        SimVendor::Hcs => s.hcs.organization,
    }
    .expect("an organization")
}

/// A member block of `vendor` for member `m`, named `name`, through `main`.
fn member_block(vendor: SimVendor, name: &str, main: &str, id: &str, display: &str) -> String {
    let v = crate::sim::vendor(vendor);
    match vendor {
        SimVendor::Aws | SimVendor::Alibaba => format!(
            "\naccount \"{v}\" \"{name}\" {{\n  main_account_id = \"{id}\"\n  account_name    = \"{display}\"\n  via             = {main}\n}}\n"
        ),
        SimVendor::Azure => format!(
            "\naccount \"{v}\" \"{name}\" {{\n  via             = {main}\n  subscription_id = \"{id}\"\n}}\n"
        ),
        SimVendor::Hcs => format!(
            "\naccount \"{v}\" \"{name}\" {{\n  via        = {main}\n  project_id = \"{id}\"\n}}\n"
        ),
    }
}

/// The report entry of `address` in a `sync --json` report.
fn synced(v: &serde_json::Value, address: &str) -> serde_json::Value {
    v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["address"] == address)
        .cloned()
        .unwrap_or_else(|| panic!("{address} not in the report"))
}

/// One vendor's organization of 50 members in 3 units, end to end:
/// discover (5 declared by hand, the rest written by `--out`), apply
/// through the main account, sync each member once under its own address,
/// a member losing its role fails alone (exit 3) with its resources kept,
/// a member leaving is drift and a `member_left` finding.
fn organization_end_to_end(vendor: SimVendor, seed: u64, role: &str) {
    let env = org_env(seed, 50);
    let org = organization(&env, vendor);
    assert_eq!(org.members.len(), 50);
    let main = main_address(&env, vendor);
    let v = crate::sim::vendor(vendor).to_string();
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // Undeclared AWS and Alibaba members are findings of their main
    // account (nothing reads them), and a change only with
    // `require_declared_members`; Azure subscriptions and HCS projects are
    // read by their main account.
    let reads_undeclared = matches!(vendor, SimVendor::Azure | SimVendor::Hcs);
    let out = env.tether(&[
        "plan",
        "--refresh",
        "--detailed-exitcode",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let plan = json(&out);
    let undeclared = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "member_undeclared" && f["address"] == main.as_str())
        .count();
    assert_eq!(
        undeclared,
        if reads_undeclared { 0 } else { 50 },
        "{plan:#}"
    );
    if !reads_undeclared {
        let human = env.tether(&["drift"]);
        assert!(
            human.stdout.contains("undeclared member"),
            "{}",
            human.stdout
        );
    }
    let lax = env.config();
    env.set_config(&lax.replacen(
        "tether {\n",
        "tether {\n  require_declared_members = true\n",
        1,
    ));
    // (The other vendors' organizations of this world are left out.)
    let strict = if reads_undeclared { 0 } else { 2 };
    let out = env.tether(&[
        "plan",
        "--refresh",
        "--detailed-exitcode",
        "--target",
        &main,
    ]);
    assert_eq!(out.code, strict, "{}\n{}", out.stdout, out.stderr);
    let out = env.tether(&["drift", &main, "--detailed-exitcode"]);
    assert_eq!(out.code, strict, "{}\n{}", out.stdout, out.stderr);
    env.set_config(&lax);

    let mut config = env.config();
    for (i, m) in org.members.iter().take(5).enumerate() {
        config.push_str(&member_block(
            vendor,
            &format!("hand_{i}"),
            &main,
            &m.id,
            &m.name,
        ));
    }
    env.set_config(&config);
    let hand = |i: usize| format!("{v}.hand_{i}");

    let out = env.tether(&["discover", &main, "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_no_secret(&env, &out);
    let report = json(&out);
    let o = &report["organizations"][0];
    assert_eq!(o["main"], main.as_str());
    assert_eq!(o["organization"], org.id.as_str());
    assert_eq!(o["declared"].as_array().unwrap().len(), 5, "{o:#}");
    let undeclared = o["undeclared"].as_array().unwrap();
    assert_eq!(undeclared.len(), 45, "{o:#}");
    for m in undeclared {
        let id = m["id"].as_str().unwrap();
        let sm = org
            .members
            .iter()
            .find(|x| x.id.eq_ignore_ascii_case(id))
            .expect("a member");
        let unit = org.units.iter().find(|u| u.id == sm.ou).expect("its unit");
        assert_eq!(m["path"], format!("Root/{}", unit.name).as_str(), "{m}");
        assert_eq!(m["name"], sm.name.as_str());
    }
    // Azure and HCS: the main account's own subscriptions or projects,
    // directly under the root, are its own, not members.
    let own = o["own"].as_array().map_or(0, Vec::len);
    assert_eq!(
        own > 0,
        matches!(vendor, SimVendor::Azure | SimVendor::Hcs),
        "{o:#}"
    );

    let out = env.tether(&["discover", &main, "--out", "members.hcl"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Wrote 45 account blocks to members.hcl"),
        "{}",
        out.stdout
    );
    let hcl = std::fs::read_to_string(env.path().join("members.hcl")).unwrap();
    for unit in &org.units {
        let tag = format!("organization_path = \"Root/{}\"", unit.name);
        assert!(hcl.contains(&tag), "{tag}: {hcl}");
    }
    let again = env.tether(&["discover", &main, "--out", "members.hcl"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("never overwrites"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join("members.hcl")).unwrap(),
        hcl
    );
    assert_eq!(
        hcl.matches(&format!("account \"{v}\"")).count(),
        45,
        "{hcl}"
    );
    assert_eq!(env.tether(&["validate"]).code, 0);
    let fmt = env.tether(&["fmt", "--check"]);
    assert_eq!(fmt.code, 0, "{}\n{}", fmt.stdout, fmt.stderr);

    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_no_secret(&env, &out);
    let state = env.state();
    let members: Vec<(&String, &serde_json::Value)> = state["accounts"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, a)| a["attributes"]["via"] == main.as_str())
        .collect();
    assert_eq!(members.len(), 50);
    if !role.is_empty() {
        for (_, a) in &members {
            let id = a["attributes"]["main_account_id"].as_str().unwrap();
            assert_eq!(a["identity"]["account_id"], id);
            let arn = a["identity"]["principal"].as_str().unwrap();
            assert!(arn.contains(&format!("{id}:assumed-role/{role}/")), "{arn}");
        }
    }

    // Every member declared: no organization finding about them is left.
    let out = env.tether(&["drift", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report = json(&out);
    assert!(
        !report["findings"].as_array().unwrap().iter().any(|f| {
            f["address"].as_str().unwrap().starts_with(&format!("{v}."))
                && f["kind"].as_str().unwrap().starts_with("member_")
        }),
        "{:#}",
        report["findings"]
    );

    // Each member's resources under its own address, once: the main
    // account's own sync leaves its members' scopes out.
    let export = env.tether(&["snapshot", "export", "--format", "json"]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    let mut per_member = std::collections::BTreeMap::<String, usize>::new();
    let mut ids = std::collections::BTreeSet::new();
    for line in export
        .stdout
        .lines()
        .filter(|l| l.starts_with("{\"address\""))
    {
        let r: serde_json::Value = serde_json::from_str(line.trim_end_matches(',')).unwrap();
        let address = r["address"].as_str().unwrap().to_string();
        assert!(ids.insert(address.clone()), "{address} exported twice");
        *per_member
            .entry(r["account"].as_str().unwrap().to_string())
            .or_default() += 1;
        if matches!(vendor, SimVendor::Azure) && r["account"] == main.as_str() {
            let sub = r["attributes"]["subscription_id"]
                .as_str()
                .unwrap_or_default();
            assert!(
                !org.members.iter().any(|m| m.id.eq_ignore_ascii_case(sub)),
                "a member subscription read by the main account: {line}"
            );
        }
    }
    assert!(
        per_member.get(&hand(0)).copied().unwrap_or(0) > 0,
        "{per_member:?}"
    );

    // A member loses its role: it fails alone, its resources kept.
    let m0 = org.members[0].clone();
    let role_name = match vendor {
        SimVendor::Azure => "Reader",
        SimVendor::Hcs => "te_admin",
        _ => role,
    };
    env.sim
        .engine()
        .set_member_role(&RoleUpdate {
            vendor,
            member: m0.id.clone(),
            role: role_name.into(),
            present: false,
        })
        .unwrap();
    let out = env.tether(&["sync", "--json"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert_no_secret(&env, &out);
    let report = json(&out);
    let failed = synced(&report, &hand(0));
    assert_eq!(failed["status"], "failed", "{report:#}");
    let why = failed["error"]["message"].as_str().unwrap_or_default();
    if role.is_empty() {
        assert!(why.contains("no longer"), "{failed:#}");
    } else {
        assert!(why.contains("could not assume"), "{failed:#}");
    }
    assert_ne!(synced(&report, &hand(1))["status"], "failed");
    let show = env.tether(&["snapshot", "show", "--format", "json"]);
    assert!(
        show.stdout.contains(&format!("\"{}/", hand(0))),
        "resources lost"
    );

    // A member leaves: drift says so for it alone.
    env.sim
        .engine()
        .update_member(&MemberUpdate {
            vendor,
            account: org.management_account_id.clone(),
            member: org.members[1].id.clone(),
            action: "leave".into(),
            ou: None,
        })
        .unwrap();
    let out = env.tether(&["discover", &main, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gone = &json(&out)["organizations"][0]["gone"];
    assert!(
        gone.as_array()
            .unwrap()
            .iter()
            .any(|g| g["address"] == hand(1).as_str()
                && g["id"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case(&org.members[1].id)),
        "{gone:#}"
    );
    let out = env.tether(&["drift", "--format", "json"]);
    assert_no_secret(&env, &out);
    let report = json(&out);
    let drifted: Vec<String> = report["credentials"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"))
        .iter()
        .map(|c| c["address"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        drifted.contains(&hand(0)) && drifted.contains(&hand(1)),
        "{report:#}"
    );
    assert!(!drifted.contains(&hand(2)), "{report:#}");
    let left: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "member_left")
        .collect();
    assert!(
        left.iter().any(|f| f["address"] == hand(1).as_str()),
        "{report:#}"
    );
}

#[test]
fn aws_members_are_discovered_applied_through_their_role_and_synced() {
    organization_end_to_end(SimVendor::Aws, 1601, "OrganizationAccountAccessRole");
}

#[test]
fn alibaba_members_are_discovered_applied_through_their_role_and_synced() {
    organization_end_to_end(
        SimVendor::Alibaba,
        1611,
        "ResourceDirectoryAccountAccessRole",
    );
}

#[test]
fn azure_member_subscriptions_are_discovered_applied_and_synced_once() {
    organization_end_to_end(SimVendor::Azure, 1612, "");
}

#[test]
fn hcs_member_projects_are_discovered_applied_and_synced_once() {
    organization_end_to_end(SimVendor::Hcs, 1613, "");
}

/// A member's session that expires mid-sync is renewed: with sessions of 4
/// seconds and a sync that takes longer, every partition of an AWS and an
/// Alibaba member is still read (the simulator refuses an expired session).
#[test]
fn member_sessions_are_renewed_before_they_expire_mid_sync() {
    let sim = Sim::start(
        World::generate_org(1621, 1, 3, 1, 1),
        Options {
            workers: 2,
            session_ttl: 4,
            ..Options::default()
        },
    )
    .expect("simulator starts");
    let env = Env::of(sim);
    let mut config = env.config();
    for vendor in [SimVendor::Aws, SimVendor::Alibaba] {
        let org = organization(&env, vendor);
        let main = main_address(&env, vendor);
        let m = &org.members[0];
        config.push_str(&member_block(vendor, "member", &main, &m.id, &m.name));
    }
    env.set_config(&config);
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for vendor in ["aws", "alibaba"] {
        env.sim
            .engine()
            .set_faults(&tether_sim::FaultsUpdate {
                vendor: vendor.into(),
                faults: tether_sim::Faults {
                    latency_ms: 500,
                    ..Default::default()
                },
            })
            .unwrap();
    }
    let started = std::time::Instant::now();
    let out = env.tether(&[
        "sync",
        "aws.member",
        "alibaba.member",
        "--parallelism",
        "2",
        "--json",
    ]);
    let took = started.elapsed();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let v = json(&out);
    for a in ["aws.member", "alibaba.member"] {
        assert_ne!(synced(&v, a)["status"], "failed", "{v:#}");
    }
    assert!(
        took > std::time::Duration::from_secs(6),
        "the sync took {took:?}, not longer than a session lives"
    );
}

/// A main account whose key may not list its organization's members:
/// `discover` names the vendor's refusal for that account (exit 3) and
/// goes on with the others; `drift` reports it as a check not made, never
/// as members gone.
#[test]
fn a_main_account_that_may_not_list_its_members_is_named_not_emptied() {
    let env = org_env(1631, 5);
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let mut config = env.config();
    let aws = main_address(&env, SimVendor::Aws);
    let m = organization(&env, SimVendor::Aws).members[0].clone();
    config.push_str(&member_block(
        SimVendor::Aws,
        "member",
        &aws,
        &m.id,
        &m.name,
    ));
    env.set_config(&config);
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for vendor in [SimVendor::Aws, SimVendor::Alibaba] {
        let s = env.sim.summary();
        let id = match vendor {
            SimVendor::Aws => s.aws.accounts[0].main_account_id.clone(),
            _ => s.alibaba.accounts[0].main_account_id.clone(),
        };
        let mut u = tether_sim::HygieneUpdate::new(vendor, &id);
        u.deny = Some(["ListAccounts".to_string()].into());
        env.sim.engine().set_hygiene(&u).unwrap();
    }
    let out = env.tether(&["discover", "--format", "json"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    let v = json(&out);
    let failed: Vec<(String, String)> = v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["address"].as_str().unwrap().to_string(),
                f["problem"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let alibaba = main_address(&env, SimVendor::Alibaba);
    assert!(
        failed.contains(&(aws.clone(), "AccessDeniedException".into())),
        "{v:#}"
    );
    assert!(
        failed.contains(&(alibaba.clone(), "NoPermission".into())),
        "{v:#}"
    );
    // The others are listed.
    assert!(
        v["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["main"] == main_address(&env, SimVendor::Azure).as_str()),
        "{v:#}"
    );
    let out = env.tether(&["drift", "--format", "json"]);
    let v = json(&out);
    let findings = v["findings"].as_array().unwrap();
    for main in [&aws, &alibaba] {
        assert!(
            findings.iter().any(|f| f["address"] == main.as_str()
                && f["kind"] == "unchecked"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("could not list the organization's members")),
            "{v:#}"
        );
    }
    assert!(
        !findings.iter().any(|f| f["kind"] == "member_left"),
        "a refusal is not members gone: {v:#}"
    );
}

/// A member's session that the vendor calls expired while the local clock
/// still trusts it (clock skew; here the simulator's clock jumps two hours
/// ahead) is assumed again and the listing goes on, for AWS and Alibaba.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_vendor_calls_expired_is_assumed_again() {
    use tether::cloud::{ClientOptions, Connections, RateLimiter, Session};
    let sim = Sim::start(
        World::generate_org(1641, 1, 6, 1, 1),
        Options {
            workers: 2,
            // The jump must not make every signature stale.
            check_clock: false,
            ..Options::default()
        },
    )
    .expect("simulator starts");
    let conns = Connections::new(&ClientOptions {
        max_attempts: 3,
        initial_backoff: std::time::Duration::from_millis(10),
        max_backoff: std::time::Duration::from_millis(20),
        ..ClientOptions::default()
    })
    .unwrap();
    let limiter = RateLimiter::unlimited();
    for vendor in [SimVendor::Aws, SimVendor::Alibaba] {
        let (mut member, secret) = crate::cloud::account(&sim, vendor, 0);
        let main = member.address.clone();
        let s = sim.summary();
        let org = match vendor {
            SimVendor::Aws => s.aws.organization,
            _ => s.alibaba.organization,
        }
        .expect("an organization");
        if let tether::config::VendorAccount::Aws(k) | tether::config::VendorAccount::Alibaba(k) =
            &mut member.vendor
        {
            k.main_account_id = org.members[0].id.clone();
        }
        member.address = tether::config::Address::new(main.vendor, "member");
        member.regions = None;
        member.via = Some(tether::config::Via {
            main,
            role_name: None,
        });
        let cleared = crate::harness::trusted(&member, secret);
        let session = Session::open(&conns, &limiter, &member, &cleared)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let regions = session.regions(&conns, &limiter).await.unwrap();
        // Every session issued so far is now two hours past its expiry.
        sim.engine().advance_clock(7200);
        let key = tether::inventory::PartitionKey {
            account: member.address.clone(),
            region: regions[0].clone(),
            kind: "instance".into(),
        };
        let mut n = 0;
        let mut count = |_: tether::inventory::Resource| n += 1;
        session
            .list(
                &conns,
                &limiter,
                &key,
                &mut tether::cloud::list::Sink::new(&mut count),
            )
            .await
            .unwrap_or_else(|e| panic!("{vendor:?}: {e}"));
    }
}
