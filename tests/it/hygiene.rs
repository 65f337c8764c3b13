//! Credential hygiene, end to end against the simulator for all four
//! vendors: root keys, key age and last use, secret expiry and checks the
//! key may not make, in `apply`, `plan --refresh` and `drift`, in every
//! rendering, and never a secret in any of them.

use tether_sim::{HygieneUpdate, Vendor as SimVendor};

use crate::apply::Env;
use crate::cloud::world_id;
use crate::harness::Output;

const DAY: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// Every secret of the world: none may appear in any output.
fn secrets(env: &Env) -> Vec<String> {
    let s = env.sim.summary();
    let mut out: Vec<String> = Vec::new();
    out.extend(s.aws.accounts.iter().map(|a| a.secret_access_key.clone()));
    out.extend(
        s.alibaba
            .accounts
            .iter()
            .map(|a| a.secret_access_key.clone()),
    );
    out.extend(
        s.azure
            .accounts
            .iter()
            .map(|a| a.application_secret.clone()),
    );
    out.extend(s.hcs.accounts.iter().map(|a| a.password.clone()));
    out.extend(s.hcs.accounts.iter().map(|a| a.secret_access_key.clone()));
    out
}

fn assert_no_secret(env: &Env, out: &Output) {
    for s in secrets(env) {
        assert!(
            !out.stdout.contains(&s) && !out.stderr.contains(&s),
            "a secret leaked:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

/// (kind, address) of every finding of a JSON report.
fn kinds(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut k: Vec<(String, String)> = v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["kind"].as_str().unwrap().to_string(),
                        f["address"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    k.sort();
    k
}

/// The first finding of `kind` about `address` in a JSON report.
fn finding<'a>(v: &'a serde_json::Value, kind: &str, address: &str) -> &'a serde_json::Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind && f["address"] == address)
        .unwrap_or_else(|| panic!("no {kind} finding for {address}: {v:#}"))
}

fn update(env: &Env, v: SimVendor, f: impl FnOnce(&mut HygieneUpdate)) {
    let mut u = HygieneUpdate::new(v, &world_id(&env.sim, v, 0));
    f(&mut u);
    env.sim.engine().set_hygiene(&u).unwrap();
}

/// The simulator's defaults: only Alibaba's key is a root key (its
/// `GetCallerIdentity` answers `acs:ram::N:root`); apply says so, with the
/// safer alternative. Then each vendor gets a finding of each kind it has,
/// found by `plan --refresh` and `drift` in human, JSON and markdown;
/// `drift --fail-on-findings` exits 2 on them, and nothing prints a secret.
#[test]
fn every_kind_of_finding_per_vendor_in_every_rendering() {
    let env = Env::on(crate::apply::Backend::Local, 41, 1, 3);
    let out = env
        .run(&["apply", "--auto-approve"])
        .env("TETHER_LOG", "trace")
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_no_secret(&env, &out);
    let ali = env.addr("alibaba");
    assert!(
        out.stdout.contains("Credential findings (1):")
            && out.stdout.contains(&format!(
                "! {ali} (root key): the key is the root (main account) key"
            ))
            && out.stdout.contains("use a RAM user's AccessKey"),
        "{}",
        out.stdout
    );
    let out = env.tether(&["drift", "--fail-on-findings"]);
    assert_eq!(out.code, 2, "one finding: {}\n{}", out.stdout, out.stderr);

    let (aws, azure, hcs) = (env.addr("aws"), env.addr("azure"), env.addr("hcs"));
    let t = now();
    update(&env, SimVendor::Aws, |u| {
        u.root = Some(true);
        u.key_created = Some(t - 200 * DAY);
        u.key_last_used = Some(None);
    });
    update(&env, SimVendor::Alibaba, |u| {
        u.key_created = Some(t - 100 * DAY);
        u.key_last_used = Some(Some(t - 2 * DAY));
    });
    update(&env, SimVendor::Azure, |u| {
        u.secret_expires = Some(t + 10 * DAY)
    });
    update(&env, SimVendor::Hcs, |u| {
        u.root = Some(true);
        u.key_created = Some(t - 400 * DAY);
        u.secret_expires = Some(t - DAY);
    });
    let want: Vec<(String, String)> = {
        let mut w = vec![
            ("root_key".to_string(), aws.clone()),
            ("key_age".to_string(), aws.clone()),
            ("root_key".to_string(), ali.clone()),
            ("key_age".to_string(), ali.clone()),
            ("secret_expiry".to_string(), azure.clone()),
            ("root_key".to_string(), hcs.clone()),
            ("key_age".to_string(), hcs.clone()),
            ("secret_expiry".to_string(), hcs.clone()),
        ];
        w.sort();
        w
    };
    for args in [
        &["drift", "--format", "json"][..],
        &["plan", "--refresh", "--format", "json"][..],
    ] {
        let out = env.run(args).env("TETHER_LOG", "trace").run();
        assert_eq!(out.code, 0, "{args:?}: {}\n{}", out.stdout, out.stderr);
        assert_no_secret(&env, &out);
        let v = json(&out);
        assert_eq!(kinds(&v), want, "{args:?}: {v:#}");
        let aws_age = finding(&v, "key_age", &aws);
        assert_eq!(aws_age["last_used"], "never", "{aws_age:#}");
        assert!(
            aws_age["message"]
                .as_str()
                .unwrap()
                .contains("is 200 days old"),
            "{aws_age:#}"
        );
    }
    let out = env.tether(&["drift"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for line in [
        "Credential findings (8):".to_string(),
        format!("! {aws} (root key): the key is the root (main account) key"),
        format!("! {aws} (key age): access key "),
        "rotate it: create a new key, apply it, then delete the old one (max_key_age = 90 days)"
            .to_string(),
        format!("! {azure} (secret expiry): the application secret expires on "),
        format!("! {hcs} (root key): the credentials are the domain administrator's"),
        format!("! {hcs} (secret expiry): the password expired on "),
    ] {
        assert!(out.stdout.contains(&line), "{line}\n{}", out.stdout);
    }
    for args in [
        &["drift", "--format", "markdown"][..],
        &["plan", "--refresh", "--format", "markdown"][..],
    ] {
        let out = env.tether(args);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        assert!(
            out.stdout
                .contains("> [!WARNING]\n> **Credential findings (8):**")
                && out.stdout.contains(&format!(
                    "> - `{azure}` (secret expiry): the application secret expires on"
                )),
            "{args:?}: {}",
            out.stdout
        );
    }
    let out = env.tether(&["plan", "--refresh"]);
    assert!(
        out.stdout.contains("Credential findings (8):"),
        "{}",
        out.stdout
    );
    // Thresholds are settings.
    let text = env.config();
    env.set_config(&text.replacen(
        "tether {\n",
        "tether {\n  max_key_age           = 500\n  secret_expiry_warning = 5\n",
        1,
    ));
    let v = json(&env.tether(&["drift", "--format", "json"]));
    let mut w: Vec<(String, String)> = want
        .iter()
        .filter(|(k, a)| k == "root_key" || (k == "secret_expiry" && *a == hcs))
        .cloned()
        .collect();
    w.sort();
    assert_eq!(kinds(&v), w, "{v:#}");
    env.set_config(&text);
}

/// A key that may not ask about itself is a finding naming the vendor's
/// code and what to grant, never a failed run; other checks go on.
#[test]
fn a_check_the_key_may_not_make_is_a_finding_not_a_failure() {
    let env = Env::on(crate::apply::Backend::Local, 42, 1, 3);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let deny = |v, apis: &[&str]| {
        update(&env, v, |u| {
            u.deny = Some(apis.iter().map(|s| s.to_string()).collect());
        })
    };
    deny(SimVendor::Aws, &["ListAccessKeys"]);
    deny(SimVendor::Alibaba, &["GetAccessKeyLastUsed"]);
    deny(SimVendor::Azure, &["applications"]);
    deny(
        SimVendor::Hcs,
        &["ListGroupsForUser", "ListPermanentAccessKeys"],
    );
    let out = env
        .run(&["drift", "--detailed-exitcode", "--format", "json"])
        .env("TETHER_LOG", "trace")
        .run();
    assert_eq!(out.code, 0, "no drift: {}\n{}", out.stdout, out.stderr);
    assert_no_secret(&env, &out);
    let v = json(&out);
    let unchecked: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unchecked")
        .map(|f| {
            (
                f["address"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let (aws, ali, azure, hcs) = (
        env.addr("aws"),
        env.addr("alibaba"),
        env.addr("azure"),
        env.addr("hcs"),
    );
    for (addr, code) in [
        (&aws, "AccessDenied"),
        (&ali, "NoPermission"),
        (&azure, "Authorization_RequestDenied"),
        (&hcs, "IAM.0003"),
    ] {
        assert!(
            unchecked.iter().any(|(a, c)| a == addr && c == code),
            "{addr} {code}: {v:#}"
        );
    }
    // Alibaba's key age is still known (only its last use was refused).
    let ali_unchecked = finding(&v, "unchecked", &ali);
    assert!(
        ali_unchecked["message"]
            .as_str()
            .unwrap()
            .starts_with("could not check key last use: NoPermission"),
        "{ali_unchecked:#}"
    );
    assert!(
        ali_unchecked["advice"]
            .as_str()
            .unwrap()
            .contains("ram:GetAccessKeyLastUsed"),
        "{ali_unchecked:#}"
    );
    let out = env.tether(&["drift"]);
    assert!(
        out.stdout.contains(&format!(
            "? {aws} (not checked): could not check key age: AccessDenied"
        )),
        "{}",
        out.stdout
    );
    let out = env.tether(&["drift", "--format", "markdown"]);
    assert!(
        out.stdout.contains(&format!(
            "> - `{azure}` (not checked): could not check secret expiry: Authorization_RequestDenied"
        )) && out.stdout.contains("to let tether check it, grant Microsoft Graph Application.Read.All"),
        "{}",
        out.stdout
    );
}

/// A listing API the key may not call fails its partitions, with the
/// vendor's code and the policy that grants it, never the account and
/// never an empty partition: the rest of the account is synced, the denied
/// partitions' resources are kept stale, and drift reports a permission
/// finding per account and type.
#[test]
fn a_listing_the_key_may_not_call_fails_its_partitions_only() {
    let env = Env::on(crate::apply::Backend::Local, 43, 1, 12);
    assert_eq!(env.tether(&["apply", "--auto-approve"]).code, 0);
    let deny = |v, api: &str| {
        update(&env, v, |u| u.deny = Some([api.to_string()].into()));
    };
    deny(SimVendor::Aws, "DescribeInstances");
    deny(SimVendor::Alibaba, "DescribeVpcs");
    deny(SimVendor::Azure, "resourcegroups");
    deny(SimVendor::Hcs, "ListVpcs");
    let out = env
        .run(&["sync", "--json"])
        .env("TETHER_LOG", "trace")
        .run();
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert_no_secret(&env, &out);
    let report = json(&out);
    let accounts = report["accounts"].as_array().unwrap();
    for (vendor, kind, code, grant) in [
        (
            "aws",
            "instance",
            "UnauthorizedOperation",
            "AmazonEC2ReadOnlyAccess",
        ),
        ("alibaba", "vpc", "Forbidden.RAM", "AliyunVPCReadOnlyAccess"),
        (
            "azure",
            "resource_group",
            "AuthorizationFailed",
            "Reader role",
        ),
        ("hcs", "vpc", "VPC.0112", "VPC ReadOnlyAccess"),
    ] {
        let addr = env.addr(vendor);
        let a = accounts
            .iter()
            .find(|a| a["address"] == addr.as_str())
            .unwrap();
        assert_eq!(a["status"], "partial", "{a:#}");
        assert!(a["error"].is_null(), "the account goes on: {a:#}");
        let failed = a["failed_partitions"].as_array().unwrap();
        assert!(!failed.is_empty(), "{a:#}");
        for f in failed {
            assert_eq!(f["type"], kind, "{a:#}");
            assert_eq!(f["problem"]["kind"], "denied", "{a:#}");
            assert_eq!(f["problem"]["code"], code, "{a:#}");
            assert!(
                f["problem"]["message"].as_str().unwrap().contains(grant),
                "{a:#}"
            );
        }
        assert!(a["partitions"].as_u64().unwrap() > failed.len() as u64);
    }
    // Nothing of the denied types is reported removed: kept stale.
    let d = json(&env.tether(&["snapshot", "diff", "1", "latest", "--format", "json"]));
    assert!(d["removed"].as_array().unwrap().is_empty(), "{d:#}");
    let out = env.tether(&["drift", "--format", "json"]);
    let v = json(&out);
    let permission: Vec<(String, String)> = kinds(&v)
        .into_iter()
        .filter(|(k, _)| k == "permission")
        .collect();
    assert_eq!(permission.len(), 4, "{v:#}");
    let aws = env.addr("aws");
    let f = finding(&v, "permission", &aws);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .starts_with("the key may not list instance ("),
        "{f:#}"
    );
    assert_eq!(f["code"], "UnauthorizedOperation", "{f:#}");
    assert!(v["resources"]["removed"].as_array().unwrap().is_empty());
    let out = env.tether(&["drift", "--format", "markdown"]);
    assert!(
        out.stdout.contains(&format!(
            "> - `{aws}` (permission): the key may not list instance ("
        )),
        "{}",
        out.stdout
    );
    let out = env.tether(&["drift"]);
    assert!(
        out.stdout.contains(&format!(
            "! {aws} (permission): the key may not list instance ("
        )),
        "{}",
        out.stdout
    );
}

/// Before an account's first sync, apply asks each listing API once (the
/// smallest page) and reports the ones the key may not call, with the
/// vendor's code and the policy that grants them; `drift` asks again each
/// time (`plan --refresh` does not: it stays a few calls per account).
#[test]
fn the_preflight_names_what_the_key_may_not_list_before_the_first_sync() {
    let env = Env::on(crate::apply::Backend::Local, 44, 1, 6);
    update(&env, SimVendor::Alibaba, |u| {
        u.deny = Some(["DescribeVpcs".to_string()].into())
    });
    update(&env, SimVendor::Hcs, |u| {
        u.deny = Some(["ListServersDetails".to_string()].into())
    });
    let out = env
        .run(&["apply", "--auto-approve", "--no-sync"])
        .env("TETHER_LOG", "trace")
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_no_secret(&env, &out);
    let (ali, hcs) = (env.addr("alibaba"), env.addr("hcs"));
    for line in [
        format!("! {ali} (permission): the key may not list vpc (1 region: "),
        "; Forbidden.RAM)".to_string(),
        "grant AliyunVPCReadOnlyAccess; until then these partitions are failed".to_string(),
        format!("! {hcs} (permission): the key may not list instance (1 region: "),
        "grant ECS ReadOnlyAccess".to_string(),
    ] {
        assert!(out.stdout.contains(&line), "{line}\n{}", out.stdout);
    }
    let v = json(&env.tether(&["plan", "--refresh", "--format", "json"]));
    assert!(kinds(&v).iter().all(|(k, _)| k != "permission"), "{v:#}");
    let v = json(&env.tether(&["drift", "--format", "json"]));
    let permission: Vec<(String, String)> = kinds(&v)
        .into_iter()
        .filter(|(k, _)| k == "permission")
        .collect();
    assert_eq!(
        permission,
        [
            ("permission".to_string(), ali.clone()),
            ("permission".to_string(), hcs.clone())
        ],
        "{v:#}"
    );
    // Once synced, an update of the account does not ask again (drift and
    // plan --refresh do).
    assert_eq!(env.tether(&["sync"]).code, 3);
    let text = env.config().replacen(
        "account \"alibaba\" \"acct-0001\" {\n",
        "account \"alibaba\" \"acct-0001\" {\n  tags = { team = \"x\" }\n",
        1,
    );
    env.set_config(&text);
    let out = env.tether(&["apply", "--auto-approve", "--no-sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(ali.as_str()) && !out.stdout.contains("(permission)"),
        "{}",
        out.stdout
    );
    // The region discovery denied: one finding, nothing of it listable.
    update(&env, SimVendor::Aws, |u| {
        u.deny = Some(["DescribeRegions".to_string()].into())
    });
    let v = json(&env.tether(&["drift", "--format", "json"]));
    let aws = env.addr("aws");
    let f = finding(&v, "permission", &aws);
    assert_eq!(
        f["message"], "the key may not list the account's regions (UnauthorizedOperation)",
        "{f:#}"
    );
    let v = json(&env.tether(&["drift", "--format", "json"]));
    let f = finding(&v, "permission", &ali);
    assert_eq!(f["code"], "Forbidden.RAM", "{f:#}");
}
