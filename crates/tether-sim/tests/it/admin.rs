//! Changing the world while it runs, through the admin HTTP API and the
//! library API, as seen by the vendors' own calls; and the `tether-sim`
//! binary: its JSON line, `--world`, and `--write-config`.

use std::io::Read as _;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_ec2::config::{Credentials, Region};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use serde_json::{Value, json};
use tether_sim::summary::Summary;
use tether_sim::{AddResource, Vendor};

use crate::harness::{ConfigOut, admin, assert_refused, spawn, start, stop};

async fn ec2(endpoint: &str, ak: &str, sk: &str) -> (aws_sdk_sts::Client, aws_sdk_ec2::Client) {
    let c = aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(ak, sk, None, None, "static"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    (aws_sdk_sts::Client::new(&c), aws_sdk_ec2::Client::new(&c))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_http_changes_resources_regions_credentials_and_faults() {
    use reqwest::Method;
    let sim = start(51, 1, 20);
    let s = sim.summary();
    let a = &s.aws.accounts[0];
    let base = &s.admin;
    let (_, ec2c) = ec2(&s.aws.endpoint, &a.access_key_id, &a.secret_access_key).await;

    // Create: the new instance is listed by the SDK.
    let (status, r) = admin(Method::POST, format!("{base}/admin/resources"), json!({"vendor": "aws", "account": a.main_account_id, "region": "us-east-1", "type": "instance"})).await;
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("i-"));
    let out = ec2c
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.reservations()[0].instances()[0].instance_id(),
        Some(id.as_str())
    );

    // Retag.
    let (status, r) = admin(
        Method::PATCH,
        format!("{base}/admin/resources/aws/{id}"),
        json!({"tags": {"env": "drifted", "Name": "renamed"}}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["name"], "renamed");
    let out = ec2c
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = out.reservations()[0].instances()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    assert_eq!(
        tags,
        vec![
            ("Name".into(), "renamed".into()),
            ("env".into(), "drifted".into())
        ]
    );
    // A merge sets one tag and keeps the others.
    let (status, r) = admin(
        Method::PATCH,
        format!("{base}/admin/resources/aws/{id}"),
        json!({"tags": {"env": "prod", "owner": "payments"}, "merge": true}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["tags"],
        json!({"Name": "renamed", "env": "prod", "owner": "payments"})
    );

    // Delete.
    let (status, _) = admin(
        Method::DELETE,
        format!("{base}/admin/resources/aws/{id}"),
        json!(null),
    )
    .await;
    assert_eq!(status, 200);
    let err = ec2c
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInstanceID.NotFound"));
    let (status, r) = admin(
        Method::DELETE,
        format!("{base}/admin/resources/aws/{id}"),
        json!(null),
    )
    .await;
    assert_eq!(status, 404, "{r}");

    // A region the vendor adds.
    let (status, _) = admin(
        Method::POST,
        format!("{base}/admin/regions"),
        json!({"vendor": "aws", "account": a.main_account_id, "region": "me-south-1"}),
    )
    .await;
    assert_eq!(status, 201);
    let regions = ec2c.describe_regions().send().await.unwrap();
    assert!(
        regions
            .regions()
            .iter()
            .any(|r| r.region_name() == Some("me-south-1"))
    );

    // Faults: latency, and a refused bad setting.
    let (status, _) = admin(Method::PUT, format!("{base}/admin/faults"), json!({"vendor": "aws", "latency_ms": 150, "jitter_ms": 0, "error_rate": 0.0, "throttle_rate": 0.0, "rate_limits": false})).await;
    assert_eq!(status, 200);
    let t = std::time::Instant::now();
    ec2c.describe_vpcs().send().await.unwrap();
    assert!(t.elapsed() >= std::time::Duration::from_millis(150));
    let (status, _) = admin(
        Method::PUT,
        format!("{base}/admin/faults"),
        json!({"vendor": "gcp", "latency_ms": 1}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = admin(
        Method::PUT,
        format!("{base}/admin/faults"),
        json!({"vendor": "*"}),
    )
    .await;
    assert_eq!(status, 200);

    // Rotate: the old key stops working, the new one works.
    let (status, r) = admin(
        Method::POST,
        format!("{base}/admin/credentials/rotate"),
        json!({"vendor": "aws", "account": a.main_account_id}),
    )
    .await;
    assert_eq!(status, 200);
    let (sts_old, _) = ec2(&s.aws.endpoint, &a.access_key_id, &a.secret_access_key).await;
    assert_eq!(
        sts_old
            .get_caller_identity()
            .send()
            .await
            .unwrap_err()
            .code(),
        Some("InvalidClientTokenId")
    );
    let (sts_new, _) = ec2(
        &s.aws.endpoint,
        r["access_key_id"].as_str().unwrap(),
        r["secret_access_key"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        sts_new
            .get_caller_identity()
            .send()
            .await
            .unwrap()
            .account(),
        Some(a.main_account_id.as_str())
    );
    // Revoke.
    let (status, _) = admin(
        Method::POST,
        format!("{base}/admin/credentials/revoke"),
        json!({"vendor": "aws", "account": a.main_account_id}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        sts_new
            .get_caller_identity()
            .send()
            .await
            .unwrap_err()
            .code(),
        Some("InvalidClientTokenId")
    );
    let (status, _) = admin(
        Method::POST,
        format!("{base}/admin/credentials/revoke"),
        json!({"vendor": "aws", "account": "000000000000"}),
    )
    .await;
    assert_eq!(status, 404);

    // The world summary follows.
    let r = reqwest::get(format!("{base}/admin/world"))
        .await
        .unwrap()
        .json::<Summary>()
        .await
        .unwrap();
    assert!(r.aws.accounts[0].regions.iter().any(|x| x == "me-south-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_api_changes_every_vendor() {
    let sim = start(52, 1, 10);
    let s = sim.summary();
    // Azure: a VM in the second subscription's listing.
    let az = &s.azure.accounts[0];
    let sub = az.subscriptions.last().unwrap().clone();
    let r = sim
        .add_resource(&AddResource {
            vendor: Vendor::Azure,
            account: az.tenant_id.clone(),
            region: "westeurope".into(),
            kind: "Microsoft.Compute/virtualMachines".into(),
            subscription: Some(sub.clone()),
        })
        .unwrap();
    assert!(r.id.starts_with(&format!("/subscriptions/{sub}/resourceGroups/")));
    assert_eq!(
        sim.resource(Vendor::Azure, &r.id).unwrap().region,
        "westeurope"
    );
    // HCS: a new region brings a new project.
    let h = &s.hcs.accounts[0];
    sim.add_region(Vendor::Hcs, &h.account, "sc-new-1").unwrap();
    let after = sim.summary();
    let p = after.hcs.accounts[0]
        .projects
        .iter()
        .find(|p| p.region == "sc-new-1")
        .unwrap();
    assert_eq!(p.name, format!("sc-new-1_{}", h.account));
    let v = sim
        .add_resource(&AddResource {
            vendor: Vendor::Hcs,
            account: h.account.clone(),
            region: "sc-new-1".into(),
            kind: "instance".into(),
            subscription: None,
        })
        .unwrap();
    assert_eq!(v.region, "sc-new-1");
    // Alibaba: retag and delete; unknown types and accounts are refused.
    let al = &s.alibaba.accounts[0];
    let v = sim
        .add_resource(&AddResource {
            vendor: Vendor::Alibaba,
            account: al.main_account_id.clone(),
            region: al.regions[0].clone(),
            kind: "vswitch".into(),
            subscription: None,
        })
        .unwrap();
    let tags = [("team".to_string(), "data".to_string())]
        .into_iter()
        .collect();
    assert_eq!(
        sim.set_tags(Vendor::Alibaba, &v.id, &tags).unwrap().tags,
        tags
    );
    sim.delete_resource(Vendor::Alibaba, &v.id).unwrap();
    assert!(sim.resource(Vendor::Alibaba, &v.id).is_err());
    assert!(
        sim.add_resource(&AddResource {
            vendor: Vendor::Alibaba,
            account: al.main_account_id.clone(),
            region: al.regions[0].clone(),
            kind: "subnet".into(),
            subscription: None
        })
        .is_err()
    );
    assert!(sim.rotate(Vendor::Alibaba, "nobody").is_err());
    // Azure rotation keeps the application id and changes the secret.
    let rot = sim.rotate(Vendor::Azure, &az.tenant_id).unwrap();
    assert_eq!(
        rot.access_key_id.as_deref(),
        Some(az.application_id.as_str())
    );
    assert_ne!(
        rot.application_secret.as_deref(),
        Some(az.application_secret.as_str())
    );
    // HCS rotation changes the password.
    let rot = sim.rotate(Vendor::Hcs, &h.account).unwrap();
    assert_ne!(rot.password.as_deref(), Some(h.password.as_str()));
}

#[test]
fn binary_prints_the_line_and_writes_a_valid_config() {
    let out = ConfigOut::fresh();
    let mut args = vec!["--seed", "5", "--accounts", "2", "--resources", "7"];
    args.extend(out.args());
    let (child, s, line) = spawn(&args);
    let v: Value = serde_json::from_str(&line).unwrap();
    for key in [
        "main_account_id",
        "account_name",
        "access_key_id",
        "secret_access_key",
        "regions",
        "resources",
    ] {
        assert!(v["aws"]["accounts"][0].get(key).is_some(), "aws {key}");
        assert!(
            v["alibaba"]["accounts"][0].get(key).is_some(),
            "alibaba {key}"
        );
    }
    for key in [
        "tenant_id",
        "tenant_name",
        "application_id",
        "application_secret",
        "subscriptions",
        "resources",
    ] {
        assert!(v["azure"]["accounts"][0].get(key).is_some(), "azure {key}");
    }
    for key in [
        "environment_name",
        "account",
        "password",
        "access_key_id",
        "secret_access_key",
        "projects",
        "resources",
    ] {
        assert!(v["hcs"]["accounts"][0].get(key).is_some(), "hcs {key}");
    }
    assert!(v["hcs"]["accounts"][0]["projects"][0].get("id").is_some());
    assert_eq!(s.aws.accounts.len(), 2);
    assert_eq!(s.aws.accounts[0].resources, 7);
    assert!(s.admin.starts_with("http://127.0.0.1:"));

    // The config: every secret encrypted, none in plaintext, and tether accepts it.
    let hcl = out.hcl();
    assert!(hcl.contains(&s.aws.endpoint));
    assert!(!hcl.contains(&s.aws.accounts[0].secret_access_key));
    assert!(!hcl.contains(&s.hcs.accounts[0].password));
    let file = out
        .cfg
        .join(format!("secrets/aws-{}.age", s.aws.accounts[0].name));
    let armored = std::fs::read(&file).unwrap();
    assert!(!String::from_utf8_lossy(&armored).contains(&s.aws.accounts[0].secret_access_key));
    let dec = age::Decryptor::new(age::armor::ArmoredReader::new(&armored[..])).unwrap();
    let mut plain = String::new();
    dec.decrypt(std::iter::once(&out.identity as &dyn age::Identity))
        .unwrap()
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, s.aws.accounts[0].secret_access_key);
    // That tether validates it and `tether fmt` leaves it alone is checked on
    // tether's side (`tests/it/sim_config.rs` at the repository root).
    stop(child);
}

#[test]
fn binary_loads_a_world_file_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world.json");
    std::fs::write(
        &world,
        serde_json::to_string(&json!({
            "seed": 9,
            "aws": [{"name": "prod", "main_account_id": "123456789012", "account_name": "Production",
                     "access_key_id": "AKIAPRODPRODPROD0001", "secret_access_key": "prod-secret",
                     "regions": ["us-east-1", "eu-west-1"],
                     "resources": [{"region": "eu-west-1", "type": "vpc", "id": "vpc-0123456789abcdef0", "tags": {"env": "prod"}}, {"region": "us-east-1", "type": "instance"}]}],
            "azure": [{"tenant_id": "00000000-0000-0000-0000-000000000001", "resources": 12}],
            "hcs": [{"account": "ops-admin", "environment_name": "dc1", "resources": 3}]
        }))
        .unwrap(),
    )
    .unwrap();
    let (c1, s1, _) = spawn(&["--world", world.to_str().unwrap()]);
    let (c2, s2, _) = spawn(&["--world", world.to_str().unwrap()]);
    let a = &s1.aws.accounts[0];
    assert_eq!(
        (a.name.as_str(), a.main_account_id.as_str(), a.resources),
        ("prod", "123456789012", 2)
    );
    assert_eq!(s1.alibaba.accounts.len(), 0);
    assert_eq!(
        s1.azure.accounts[0].tenant_id,
        "00000000-0000-0000-0000-000000000001"
    );
    assert_eq!(s1.azure.accounts[0].resources, 12);
    assert_eq!(s1.hcs.accounts[0].account, "ops-admin");
    // Same file, same world (only the ports differ).
    assert_eq!(
        s1.azure.accounts[0].application_secret,
        s2.azure.accounts[0].application_secret
    );
    assert_eq!(s1.hcs.accounts[0].projects, s2.hcs.accounts[0].projects);
    stop(c1);
    stop(c2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_http_sets_credential_hygiene() {
    use reqwest::Method;
    let before = tether_sim::clock::now();
    let sim = start(53, 1, 5);
    let s = sim.summary();
    let base = &s.admin;
    let url = format!("{base}/admin/credentials/hygiene");
    let id = s.aws.accounts[0].main_account_id.clone();

    // Vendor and account alone: the state as it is (the defaults).
    let (status, r) = admin(
        Method::POST,
        url.clone(),
        json!({"vendor": "aws", "account": id}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let at = |v: &Value| tether_sim::world::parse_rfc3339(v.as_str().unwrap()).unwrap();
    let created = at(&r["key_created"]) + 30 * 86_400;
    assert!(
        (before..=tether_sim::clock::now()).contains(&created),
        "{r}"
    );
    assert_eq!(at(&r["key_last_used"]), created - 86_400);
    assert_eq!(at(&r["secret_expires"]), created + 365 * 86_400);
    assert_eq!(r["root"], false);
    assert_eq!(r["deny"], json!([]));
    assert_eq!(r["account"], id.as_str());

    // Every field.
    let (status, r) = admin(
        Method::POST,
        url.clone(),
        json!({"vendor": "aws", "account": id, "root": true,
               "key_created": "2026-01-01T00:00:00Z", "key_last_used": "2026-11-30T00:00:00Z",
               "secret_expires": "2027-01-01T00:00:00Z", "deny": ["ListAccessKeys", "DescribeInstances"]}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r,
        json!({"vendor": "aws", "account": id, "root": true,
               "key_created": "2026-01-01T00:00:00Z", "key_last_used": "2026-11-30T00:00:00Z",
               "secret_expires": "2027-01-01T00:00:00Z", "deny": ["DescribeInstances", "ListAccessKeys"]})
    );
    // `null`: never used; absent fields stay as they are.
    let (status, r) = admin(
        Method::POST,
        url.clone(),
        json!({"vendor": "aws", "account": id, "key_last_used": null, "deny": []}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["key_last_used"], Value::Null);
    assert_eq!(r["key_created"], "2026-01-01T00:00:00Z");
    assert_eq!(r["root"], true);
    assert_eq!(r["deny"], json!([]));
    let h = sim.hygiene(Vendor::Aws, &id).unwrap();
    assert_eq!((h.root, h.key_last_used), (true, None));

    // Refusals: unknown field, bad time, unknown API name, account, vendor.
    let bad = [
        (json!({"vendor": "aws", "account": id, "rooot": true}), 400),
        (
            json!({"vendor": "aws", "account": id, "key_created": "yesterday"}),
            400,
        ),
        (
            json!({"vendor": "aws", "account": id, "deny": ["DescribeVSwitches"]}),
            400,
        ),
        (json!({"vendor": "aws", "account": "000000000000"}), 404),
        (json!({"vendor": "gcp", "account": id}), 400),
    ];
    assert_refused(&url, bad).await;
    // Nothing changed by the refusals.
    assert_eq!(sim.hygiene(Vendor::Aws, &id).unwrap(), h);
}

#[test]
fn hygiene_defaults_per_vendor_and_the_library_call() {
    let sim = start(54, 1, 5);
    let s = sim.summary();
    for (v, account, root) in [
        (
            Vendor::Aws,
            s.aws.accounts[0].main_account_id.clone(),
            false,
        ),
        (
            Vendor::Alibaba,
            s.alibaba.accounts[0].main_account_id.clone(),
            true,
        ),
        (Vendor::Azure, s.azure.accounts[0].tenant_id.clone(), false),
        (Vendor::Hcs, s.hcs.accounts[0].account.clone(), false),
    ] {
        let h = sim.hygiene(v, &account).unwrap();
        assert_eq!(h.root, root, "{v}");
        assert_eq!(h.key_last_used, Some(h.key_created + 29 * 86_400), "{v}");
        assert_eq!(h.secret_expires, h.key_created + 395 * 86_400, "{v}");
        assert!(h.deny.is_empty());
        // Every deniable name of the vendor is accepted, another vendor's not.
        let mut u = tether_sim::HygieneUpdate::new(v, &account);
        u.deny = Some(
            tether_sim::admin::deniable(v)
                .iter()
                .map(|n| n.to_string())
                .collect(),
        );
        assert_eq!(
            sim.set_hygiene(&u).unwrap().deny.len(),
            tether_sim::admin::deniable(v).len()
        );
        u.deny = Some(["nope".to_string()].into());
        assert!(matches!(
            sim.set_hygiene(&u),
            Err(tether_sim::WorldError::Invalid(..))
        ));
    }
    assert!(matches!(
        sim.set_hygiene(&tether_sim::HygieneUpdate::new(Vendor::Hcs, "nobody")),
        Err(tether_sim::WorldError::NoAccount(..))
    ));
    // A rotation: a new key, created now, never used.
    let id = s.aws.accounts[0].main_account_id.clone();
    let now = tether_sim::clock::now();
    sim.rotate(Vendor::Aws, &id).unwrap();
    let h = sim.hygiene(Vendor::Aws, &id).unwrap();
    assert!(h.key_created >= now);
    assert_eq!(h.key_last_used, None);
}
