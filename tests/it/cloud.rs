//! `tether::cloud` against the simulator started in-process: for each of
//! the four vendors, a verified identity, refusals as `Auth`, identity
//! mismatches naming the real account, retries through throttling and
//! server errors, and an unreachable endpoint.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tether::cloud::{self, ClientOptions, ErrorKind, VendorError};
use tether::config::{Account, AzureAccount, HcsAccount, KeyAccount, VendorAccount};
use tether::secrets::Secret;
use tether::state::model::VerifiedIdentity;
use tether_sim::{Faults, FaultsUpdate, Sim, Vendor};

use crate::sim::start;

/// Small waits so retry tests stay fast; hints are capped as low.
fn fast() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(20),
    }
}

/// Account `i` of vendor `v` as a config account pointed at the simulator,
/// with its real secret.
pub(crate) fn account(sim: &Sim, v: Vendor, i: usize) -> (Account, Secret) {
    let s = sim.summary();
    let (vendor, endpoint, secret) = match v {
        Vendor::Aws | Vendor::Alibaba => {
            let kv = if v == Vendor::Aws { &s.aws } else { &s.alibaba };
            let a = &kv.accounts[i];
            let k = KeyAccount {
                main_account_id: a.main_account_id.clone(),
                account_name: a.account_name.clone(),
                access_key_id: a.access_key_id.clone(),
                secret_access_key: None,
            };
            let va = if v == Vendor::Aws {
                VendorAccount::Aws(k)
            } else {
                VendorAccount::Alibaba(k)
            };
            (va, kv.endpoint.clone(), a.secret_access_key.clone())
        }
        Vendor::Azure => {
            let a = &s.azure.accounts[i];
            (
                VendorAccount::Azure(AzureAccount {
                    tenant_id: a.tenant_id.clone(),
                    tenant_name: a.tenant_name.clone(),
                    application_id: a.application_id.clone(),
                    application_secret: None,
                    subscription_id: None,
                }),
                s.azure.endpoint.clone(),
                a.application_secret.clone(),
            )
        }
        Vendor::Hcs => {
            let a = &s.hcs.accounts[i];
            (
                VendorAccount::Hcs(HcsAccount {
                    endpoint: "hcs.example.com".into(),
                    environment_name: a.environment_name.clone(),
                    account: a.account.clone(),
                    password: None,
                    project_id: None,
                }),
                s.hcs.endpoint.clone(),
                a.password.clone(),
            )
        }
    };
    let acct = Account {
        address: crate::sim::address(v, format!("a{i}")),
        vendor,
        regions: None,
        resource_types: None,
        tags: BTreeMap::new(),
        enabled: true,
        via: None,
        depends_on: Vec::new(),
        api_endpoint: Some(endpoint),
        span: None,
    };
    (acct, Secret::from_slice(secret.as_bytes()))
}

/// The world's identifier of account `i` (what the admin API takes).
pub(crate) fn world_id(sim: &Sim, v: Vendor, i: usize) -> String {
    let s = sim.summary();
    match v {
        Vendor::Aws => s.aws.accounts[i].main_account_id.clone(),
        Vendor::Alibaba => s.alibaba.accounts[i].main_account_id.clone(),
        Vendor::Azure => s.azure.accounts[i].tenant_id.clone(),
        Vendor::Hcs => s.hcs.accounts[i].account.clone(),
    }
}

async fn verify(a: &Account, s: &Secret) -> Result<VerifiedIdentity, VendorError> {
    let s = crate::harness::trusted(a, tether::secrets::Secret::from_slice(s.expose()));
    cloud::verify(a, &s, &conns(&fast())).await
}

fn faults(sim: &Sim, v: Vendor, f: Faults) {
    sim.set_faults(&FaultsUpdate {
        vendor: v.as_str().to_string(),
        faults: f,
    })
    .expect("faults accepted");
}

/// Asserts an error's kind, its account, and that no secret shows.
fn expect_kind(e: &VendorError, kind: ErrorKind, a: &Account, secret: &str) {
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!(e.account, a.address, "{e}");
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(secret), "secret leaked: {shown}");
    assert!(shown.starts_with(&a.address.to_string()), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_vendor_reports_the_identity_of_the_credentials() {
    let sim = start(41, 2, 5);
    let s = sim.summary();
    for v in Vendor::ALL {
        for i in 0..2 {
            let (a, secret) = account(&sim, v, i);
            let id = verify(&a, &secret).await.unwrap_or_else(|e| panic!("{e}"));
            cloud::check_identity(&a, &id).unwrap_or_else(|m| panic!("{m}"));
            assert!(id.verified_at.ends_with('Z') && id.verified_at.len() == 20);
            match v {
                Vendor::Aws => {
                    let want = &s.aws.accounts[i].main_account_id;
                    assert_eq!(&id.account_id, want);
                    assert_eq!(id.principal, format!("arn:aws:iam::{want}:user/tether"));
                    assert!(id.scopes.is_empty());
                }
                Vendor::Alibaba => {
                    let want = &s.alibaba.accounts[i].main_account_id;
                    assert_eq!(&id.account_id, want);
                    assert_eq!(id.principal, format!("acs:ram::{want}:root"));
                }
                Vendor::Azure => {
                    let t = &s.azure.accounts[i];
                    assert_eq!(id.account_id, t.tenant_id);
                    assert_eq!(id.principal, t.application_id);
                    let mut subs: Vec<&str> = id.scopes.iter().map(|x| x.id.as_str()).collect();
                    let mut want: Vec<&str> = t.subscriptions.iter().map(String::as_str).collect();
                    subs.sort();
                    want.sort();
                    assert_eq!(subs, want);
                    assert!(id.scopes.iter().all(|x| !x.name.is_empty()));
                }
                Vendor::Hcs => {
                    let h = &s.hcs.accounts[i];
                    assert_eq!(id.account_id, h.domain_id);
                    assert!(!id.principal.is_empty());
                    let mut got: Vec<(&str, &str)> = id
                        .scopes
                        .iter()
                        .map(|x| (x.id.as_str(), x.name.as_str()))
                        .collect();
                    let mut want: Vec<(&str, &str)> = h
                        .projects
                        .iter()
                        .map(|p| (p.id.as_str(), p.name.as_str()))
                        .collect();
                    got.sort();
                    want.sort();
                    assert_eq!(got, want);
                    assert!(
                        id.scopes
                            .iter()
                            .all(|p| p.name.ends_with(&format!("_{}", h.account)))
                    );
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_as_auth_and_never_shown() {
    let sim = start(42, 1, 1);
    for v in Vendor::ALL {
        let (a, real) = account(&sim, v, 0);
        let canary = "Canary-Wrong-Secret-7f3a9";
        let e = verify(&a, &Secret::from_slice(canary.as_bytes()))
            .await
            .unwrap_err();
        expect_kind(&e, ErrorKind::Auth, &a, canary);
        expect_kind(&e, ErrorKind::Auth, &a, real.expose_str().unwrap());
        assert_eq!(e.attempts, 1, "auth failures are not retried: {e}");
        assert!(e.code.is_some(), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_refused_as_auth() {
    let sim = start(43, 1, 1);
    for v in Vendor::ALL {
        let (mut a, secret) = account(&sim, v, 0);
        match &mut a.vendor {
            VendorAccount::Aws(k) | VendorAccount::Alibaba(k) => {
                k.access_key_id = "AKIDUNKNOWNKEY000000".into()
            }
            VendorAccount::Azure(z) => {
                z.application_id = "99999999-9999-9999-9999-999999999999".into()
            }
            VendorAccount::Hcs(h) => h.account = "nobody-here".into(),
        }
        let e = verify(&a, &secret).await.unwrap_err();
        expect_kind(&e, ErrorKind::Auth, &a, secret.expose_str().unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_another_account_is_a_mismatch_naming_the_real_account() {
    let sim = start(44, 2, 1);
    let s = sim.summary();
    for v in [Vendor::Aws, Vendor::Alibaba] {
        let (mut a, secret) = account(&sim, v, 0);
        let kv = if v == Vendor::Aws { &s.aws } else { &s.alibaba };
        let (real, other) = (
            &kv.accounts[0].main_account_id,
            &kv.accounts[1].main_account_id,
        );
        if let VendorAccount::Aws(k) | VendorAccount::Alibaba(k) = &mut a.vendor {
            k.main_account_id = other.clone();
        }
        let id = verify(&a, &secret).await.unwrap();
        let m = cloud::check_identity(&a, &id).unwrap_err();
        let msg = m.to_string();
        assert!(msg.contains(real.as_str()), "{msg}");
        assert!(msg.contains(other.as_str()), "{msg}");
        assert!(
            msg.starts_with(&format!("{}: access key ", a.address)),
            "{msg}"
        );
    }

    // Azure: the token endpoint is the declared tenant's, so an application
    // of another tenant is refused there, naming the directory.
    let (mut a, _) = account(&sim, Vendor::Azure, 0);
    let (b, b_secret) = account(&sim, Vendor::Azure, 1);
    if let (VendorAccount::Azure(x), VendorAccount::Azure(y)) = (&mut a.vendor, &b.vendor) {
        x.application_id = y.application_id.clone();
    }
    let e = verify(&a, &b_secret).await.unwrap_err();
    expect_kind(&e, ErrorKind::Auth, &a, b_secret.expose_str().unwrap());
    assert_eq!(e.code.as_deref(), Some("AADSTS700016"), "{e}");

    // A token for another tenant or application (as a proxy could hand
    // out) names who it belongs to.
    let (a, secret) = account(&sim, Vendor::Azure, 0);
    let mut id = verify(&a, &secret).await.unwrap();
    id.account_id = s.azure.accounts[1].tenant_id.clone();
    let msg = cloud::check_identity(&a, &id).unwrap_err().to_string();
    assert!(msg.contains(&s.azure.accounts[1].tenant_id), "{msg}");
    assert!(msg.contains("tenant_id"), "{msg}");
    id.account_id = s.azure.accounts[0].tenant_id.to_uppercase();
    id.principal = s.azure.accounts[1].application_id.clone();
    let msg = cloud::check_identity(&a, &id).unwrap_err().to_string();
    assert!(msg.contains(&s.azure.accounts[1].application_id), "{msg}");

    // HCS: the same endpoint answering for another IAM domain than the one
    // recorded in state means another environment.
    let (a, secret) = account(&sim, Vendor::Hcs, 0);
    let now = verify(&a, &secret).await.unwrap();
    cloud::check_identity(&a, &now).unwrap();
    cloud::check_stable(&a, &now, &now).unwrap();
    let mut recorded = now.clone();
    recorded.account_id = s.hcs.accounts[1].domain_id.clone();
    let msg = cloud::check_stable(&a, &recorded, &now)
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&s.hcs.accounts[0].domain_id), "{msg}");
    assert!(msg.contains("environment"), "{msg}");
}

/// HCS credentials that IAM accepts are still refused when its token's
/// catalog places IAM in another environment than the declared one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hcs_credentials_of_another_environment_are_refused_naming_both() {
    let sim = start(47, 2, 1);
    let s = sim.summary();
    let real = s.hcs.accounts[0].environment_name.clone();
    assert_ne!(real, s.hcs.accounts[1].environment_name);
    let (mut a, secret) = account(&sim, Vendor::Hcs, 0);
    let set = |a: &mut Account, env: &str| {
        if let VendorAccount::Hcs(h) = &mut a.vendor {
            h.environment_name = env.to_string();
        }
    };
    // As declared, and ASCII case aside, the account verifies.
    verify(&a, &secret).await.unwrap();
    set(&mut a, &real.to_uppercase());
    verify(&a, &secret).await.unwrap();
    // Another account's environment: refused, both named, secret unseen.
    let other = s.hcs.accounts[1].environment_name.clone();
    set(&mut a, &other);
    let e = verify(&a, &secret).await.unwrap_err();
    expect_kind(&e, ErrorKind::Auth, &a, secret.expose_str().unwrap());
    assert_eq!(e.code.as_deref(), Some("EnvironmentMismatch"), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("serves environment `{real}`")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("declared environment_name `{other}`")),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_credentials_are_refused_as_auth() {
    let sim = start(45, 1, 1);
    for v in Vendor::ALL {
        let (a, secret) = account(&sim, v, 0);
        verify(&a, &secret).await.unwrap();
        sim.revoke(v, &world_id(&sim, v, 0)).unwrap();
        let e = verify(&a, &secret).await.unwrap_err();
        expect_kind(&e, ErrorKind::Auth, &a, secret.expose_str().unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_that_stops_is_retried_through() {
    for v in Vendor::ALL {
        let sim = start(46, 1, 1);
        let (a, secret) = account(&sim, v, 0);
        faults(
            &sim,
            v,
            Faults {
                throttle_rate: 1.0,
                ..Faults::default()
            },
        );
        let engine = sim.engine().clone();
        let lift = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            engine
                .set_faults(&FaultsUpdate {
                    vendor: v.as_str().to_string(),
                    faults: Faults::default(),
                })
                .unwrap();
        });
        let opts = ClientOptions {
            max_attempts: 100,
            ..fast()
        };
        let secret = crate::harness::trusted(&a, secret);
        let id = cloud::verify(&a, &secret, &conns(&opts))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        cloud::check_identity(&a, &id).unwrap();
        lift.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_that_outlasts_the_retries_is_throttled() {
    let sim = start(47, 1, 1);
    for v in Vendor::ALL {
        let (a, secret) = account(&sim, v, 0);
        faults(
            &sim,
            v,
            Faults {
                throttle_rate: 1.0,
                ..Faults::default()
            },
        );
        let t = Instant::now();
        let e = verify(&a, &secret).await.unwrap_err();
        expect_kind(&e, ErrorKind::Throttled, &a, secret.expose_str().unwrap());
        assert_eq!(e.attempts, 3, "{e}");
        assert!(e.to_string().contains("3 attempts"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_that_persist_are_retryable() {
    let sim = start(48, 1, 1);
    for v in Vendor::ALL {
        let (a, secret) = account(&sim, v, 0);
        faults(
            &sim,
            v,
            Faults {
                error_rate: 1.0,
                ..Faults::default()
            },
        );
        let e = verify(&a, &secret).await.unwrap_err();
        expect_kind(&e, ErrorKind::Retryable, &a, secret.expose_str().unwrap());
        assert_eq!(e.attempts, 3, "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_unreachable_quickly() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sim = start(49, 1, 1);
    for v in Vendor::ALL {
        let (mut a, secret) = account(&sim, v, 0);
        a.api_endpoint = Some(format!("http://127.0.0.1:{port}"));
        let t = Instant::now();
        let e = verify(&a, &secret).await.unwrap_err();
        expect_kind(&e, ErrorKind::Unreachable, &a, secret.expose_str().unwrap());
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
}

/// HTTP clients with `opts`, as a command makes them once per run.
fn conns(opts: &cloud::ClientOptions) -> cloud::Connections {
    cloud::Connections::new(opts).expect("clients build")
}
