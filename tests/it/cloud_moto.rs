//! The AWS identity path against moto, an independent AWS emulator
//! (`moto[server]`, started by `scripts/test`, which sets `TETHER_MOTO_URL`,
//! e.g. `http://127.0.0.1:5000`). Without it these tests fail, never skip.
//!
//! With auth enforcement off moto answers account `123456789012` for any
//! key. Then an IAM user and key are made through the IAM Query API, moto
//! is switched to enforcing signatures, and the right key passes while a
//! wrong secret and an unknown key are refused as `Auth`; the same key's
//! hygiene (IAM `ListAccessKeys`) finds it, and a second user whose policy
//! denies `ec2:DescribeInstances` is reported by the permission preflight
//! as `Denied` for instances only. Enforcement is switched off again at
//! the end.
//!
//! The listing test creates a VPC, a subnet, a security group and
//! instances with aws-sdk-ec2 in a region of its own, then syncs that region
//! through `tether::sync` and compares every partition with what moto's own
//! Describe calls answer. The two tests take turns (auth enforcement is
//! server-wide).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tether::cloud::{self, ClientOptions, ErrorKind};
use tether::config::{Account, Address, KeyAccount, Vendor, VendorAccount};
use tether::secrets::Secret;

const MOTO_ACCOUNT: &str = "123456789012";

/// moto's auth enforcement is server-wide: the tests here take turns, in
/// one process (`cargo test`) or one process each (`cargo nextest`): an
/// exclusive `flock` on a file named after the server, held until dropped.
struct Turn(#[allow(dead_code)] std::fs::File);

async fn turn(url: &str) -> Turn {
    let name: String = url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = std::env::temp_dir().join(format!("tether-moto-{name}.lock"));
    tokio::task::spawn_blocking(move || {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .expect("the moto turn file opens");
        // SAFETY: flock on a descriptor this function owns.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(r, 0, "flock {}", path.display());
        Turn(f)
    })
    .await
    .expect("the turn is taken")
}

fn opts() -> ClientOptions {
    ClientOptions {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..ClientOptions::default()
    }
}

fn account(url: &str, key: &str) -> Account {
    Account {
        address: Address::new(Vendor::Aws, "moto"),
        vendor: VendorAccount::Aws(KeyAccount {
            main_account_id: MOTO_ACCOUNT.into(),
            account_name: "moto".into(),
            access_key_id: key.into(),
            secret_access_key: None,
        }),
        regions: Some(vec!["us-east-1".into()]),
        resource_types: None,
        tags: BTreeMap::new(),
        enabled: true,
        via: None,
        depends_on: Vec::new(),
        api_endpoint: Some(url.to_string()),
        span: None,
    }
}

/// One unsigned-but-scoped IAM Query call (moto routes by the credential
/// scope; it does not check signatures while enforcement is off).
async fn iam(http: &reqwest::Client, url: &str, params: &[(&str, &str)]) -> String {
    let mut form = vec![("Version", "2010-05-08")];
    form.extend_from_slice(params);
    let r = http
        .post(format!("{url}/"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDSETUP/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
        )
        .form(&form)
        .send()
        .await
        .expect("moto answers");
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "IAM {params:?}: {status} {body}");
    body
}

fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml.find(&open).map(|i| i + open.len()).unwrap_or(0);
    let end = xml[start..].find('<').map_or(start, |i| start + i);
    &xml[start..end]
}

async fn enforce_auth(http: &reqwest::Client, url: &str, unchecked: &str) {
    let r = http
        .post(format!("{url}/moto-api/reset-auth"))
        .header("content-type", "text/plain")
        .body(unchecked.to_string())
        .send()
        .await
        .expect("moto answers");
    assert!(r.status().is_success(), "reset-auth: {}", r.status());
}

/// moto's URL. Never skipped: run the suite with `scripts/test`, which
/// starts moto and sets `TETHER_MOTO_URL`.
fn moto_url() -> String {
    std::env::var("TETHER_MOTO_URL").unwrap_or_else(|_| {
        panic!("TETHER_MOTO_URL is not set: run the tests with `scripts/test`, which starts moto")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_confirms_the_aws_identity_and_refuses_a_wrong_secret() {
    let url = moto_url();
    let url = url.trim_end_matches('/').to_string();
    let _turn = turn(&url).await;

    // Any key, no enforcement: moto's default account.
    let a = account(&url, "AKIAIOSFODNN7EXAMPLE");
    let any = crate::harness::trusted(&a, Secret::from_slice(b"anything-goes"));
    let id = cloud::verify(&a, &any, &conns(&opts()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id.account_id, MOTO_ACCOUNT);
    assert!(id.principal.starts_with("arn:aws:"), "{}", id.principal);
    cloud::check_identity(&a, &id).unwrap();

    // A real IAM user and key, allowed everything.
    let http = reqwest::Client::new();
    let user = format!(
        "tether-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    iam(
        &http,
        &url,
        &[("Action", "CreateUser"), ("UserName", &user)],
    )
    .await;
    iam(
        &http,
        &url,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", &user),
            ("PolicyName", "all"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            ),
        ],
    )
    .await;
    let key = iam(
        &http,
        &url,
        &[("Action", "CreateAccessKey"), ("UserName", &user)],
    )
    .await;
    let key_id = element(&key, "AccessKeyId").to_string();
    let secret = Secret::from_slice(element(&key, "SecretAccessKey").as_bytes());
    assert!(!key_id.is_empty() && !secret.is_empty(), "{key_id}");

    // A second user whose policy denies DescribeInstances.
    let limited = format!("{user}-limited");
    iam(
        &http,
        &url,
        &[("Action", "CreateUser"), ("UserName", &limited)],
    )
    .await;
    iam(
        &http,
        &url,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", &limited),
            ("PolicyName", "all-but-instances"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ec2:DescribeInstances","Resource":"*"}]}"#,
            ),
        ],
    )
    .await;
    let limited_key = iam(
        &http,
        &url,
        &[("Action", "CreateAccessKey"), ("UserName", &limited)],
    )
    .await;
    let limited_id = element(&limited_key, "AccessKeyId").to_string();
    let limited_secret = Secret::from_slice(element(&limited_key, "SecretAccessKey").as_bytes());

    enforce_auth(&http, &url, "0").await;
    let outcome = async {
        // moto evaluates the policy: the preflight names the one listing
        // the key may not call, as denied (not refused credentials).
        let b = account(&url, &limited_id);
        let cleared = crate::harness::trusted(&b, Secret::from_slice(limited_secret.expose()));
        let denied = cloud::preflight(&b, &cleared, &conns(&opts())).await;
        let kinds: Vec<(&str, ErrorKind)> = denied
            .iter()
            .map(|(kind, _, e)| (kind.as_str(), e.kind))
            .collect();
        assert_eq!(kinds, [("instance", ErrorKind::Denied)], "{denied:?}");

        let a = account(&url, &key_id);
        let cleared = crate::harness::trusted(&a, Secret::from_slice(secret.expose()));
        let id = cloud::verify(&a, &cleared, &conns(&opts())).await?;
        assert_eq!(id.account_id, MOTO_ACCOUNT);
        assert_eq!(
            id.principal,
            format!("arn:aws:iam::{MOTO_ACCOUNT}:user/{user}")
        );

        // Credential hygiene with the same key: an IAM user's key (not
        // root), created just now, found by its own ListAccessKeys; the
        // preflight may call every listing API.
        let facts = cloud::hygiene(&a, &cleared, &id, &conns(&opts())).await;
        assert!(!facts.root, "{facts:?}");
        assert!(facts.unchecked.is_empty(), "{facts:?}");
        assert_eq!(facts.keys.len(), 1, "{facts:?}");
        assert_eq!(facts.keys[0].id, key_id);
        let created = tether::clock::parse(&facts.keys[0].created).expect("an RFC 3339 date");
        assert!((tether::clock::now() - created).abs() < 3600, "{facts:?}");
        assert!(
            cloud::preflight(&a, &cleared, &conns(&opts()))
                .await
                .is_empty()
        );

        let wrong = crate::harness::trusted(
            &a,
            Secret::from_slice(b"Wrong-Secret-Canary-0000000000000000000"),
        );
        let e = cloud::verify(&a, &wrong, &conns(&opts()))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.code.as_deref(), Some("SignatureDoesNotMatch"), "{e}");
        assert!(!format!("{e} {e:?}").contains("Wrong-Secret-Canary"));

        let unknown = account(&url, "AKIAUNKNOWN000000000");
        let e = cloud::verify(
            &unknown,
            &crate::harness::trusted(&unknown, Secret::from_slice(secret.expose())),
            &conns(&opts()),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.code.as_deref(), Some("InvalidClientTokenId"), "{e}");
        Ok::<(), tether::cloud::VendorError>(())
    }
    .await;
    // Back to no enforcement for anything else using this moto.
    enforce_auth(&http, &url, "1000000000").await;
    outcome.unwrap_or_else(|e| panic!("{e}"));
}

/// Every id a Describe call answers, all pages (moto's own view).
async fn describe_ids(ec2: &aws_sdk_ec2::Client, kind: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let next = match kind {
            "instance" => {
                let p = ec2
                    .describe_instances()
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .expect("moto describes instances");
                out.extend(
                    p.reservations()
                        .iter()
                        .flat_map(|r| r.instances())
                        .filter_map(|i| i.instance_id().map(str::to_string)),
                );
                p.next_token().map(str::to_string)
            }
            "vpc" => {
                let p = ec2
                    .describe_vpcs()
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .expect("moto describes VPCs");
                out.extend(
                    p.vpcs()
                        .iter()
                        .filter_map(|v| v.vpc_id().map(str::to_string)),
                );
                p.next_token().map(str::to_string)
            }
            "subnet" => {
                let p = ec2
                    .describe_subnets()
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .expect("moto describes subnets");
                out.extend(
                    p.subnets()
                        .iter()
                        .filter_map(|v| v.subnet_id().map(str::to_string)),
                );
                p.next_token().map(str::to_string)
            }
            _ => {
                let p = ec2
                    .describe_security_groups()
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .expect("moto describes security groups");
                out.extend(
                    p.security_groups()
                        .iter()
                        .filter_map(|v| v.group_id().map(str::to_string)),
                );
                p.next_token().map(str::to_string)
            }
        };
        match next.filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_listing_matches_what_ec2_describes() {
    let url = moto_url();
    let url = url.trim_end_matches('/').to_string();
    let _turn = turn(&url).await;
    let region = "eu-north-1";
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    let conf = aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .http_client(http)
        .region(aws_sdk_ec2::config::Region::new(region))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "moto-secret-canary-0000",
            None,
            None,
            "test",
        ))
        .endpoint_url(&url)
        .build();
    let ec2 = aws_sdk_ec2::Client::from_conf(conf);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .send()
        .await
        .expect("moto creates a VPC")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("a VPC id")
        .to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.42.0.0/20")
        .send()
        .await
        .expect("moto creates a subnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("a subnet id")
        .to_string();
    let group = ec2
        .create_security_group()
        .group_name(format!("tether-{}", std::process::id()))
        .description("tether listing test")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("moto creates a security group")
        .group_id()
        .expect("a group id")
        .to_string();
    let mut made = BTreeSet::new();
    for _ in 0..12 {
        let r = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .min_count(1)
            .max_count(1)
            .subnet_id(&subnet)
            .send()
            .await
            .expect("moto runs an instance");
        made.extend(
            r.instances()
                .iter()
                .filter_map(|i| i.instance_id().map(str::to_string)),
        );
    }

    let mut a = account(&url, "AKIAIOSFODNN7EXAMPLE");
    a.regions = Some(vec![region.to_string()]);
    let events = tether::sync::collect(
        vec![tether::sync::Target {
            secret: crate::harness::trusted(&a, Secret::from_slice(b"moto-secret-canary-0000")),
            account: a,
            claimed: Vec::new(),
        }],
        tether::sync::SyncOptions::default(),
    )
    .await
    .expect("sync starts");
    let mut got: BTreeMap<String, tether::inventory::Partition> = BTreeMap::new();
    for e in events {
        match e {
            tether::sync::Event::Partition(p) => {
                let p = p.into_partition().expect("the records decode");
                assert_eq!(p.key.region, region);
                got.insert(p.key.kind.clone(), p);
            }
            tether::sync::Event::AccountFailed { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
    assert_eq!(
        got.keys().map(String::as_str).collect::<Vec<_>>(),
        ["instance", "security_group", "subnet", "vpc"]
    );
    for (kind, p) in &got {
        assert_eq!(
            p.status,
            tether::inventory::PartitionStatus::Complete,
            "{kind}"
        );
        let ids: BTreeSet<String> = p.resources.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, describe_ids(&ec2, kind).await, "{kind}");
        let text = serde_json::to_string(&p.resources).unwrap();
        assert!(!text.contains("moto-secret-canary"));
    }
    let instances = &got["instance"].resources;
    assert!(made.iter().all(|id| instances.iter().any(|r| r.id == *id)));
    for r in instances.iter().filter(|r| made.contains(&r.id)) {
        assert_eq!(r.attributes["vpc_id"], vpc.as_str(), "{r:?}");
        assert_eq!(r.attributes["subnet_id"], subnet.as_str(), "{r:?}");
        assert!(r.attributes.contains_key("instance_type"), "{r:?}");
        assert_eq!(r.native_type, "AWS::EC2::Instance");
        assert!(r.status.is_some());
    }
    assert!(
        got["vpc"]
            .resources
            .iter()
            .any(|r| r.id == vpc && r.attributes.get("cidr_block") == Some(&"10.42.0.0/16".into()))
    );
    assert!(got["subnet"].resources.iter().any(|r| r.id == subnet));
    assert!(
        got["security_group"]
            .resources
            .iter()
            .any(|r| r.id == group)
    );
}

/// HTTP clients with `opts`, as a command makes them once per run.
fn conns(opts: &cloud::ClientOptions) -> cloud::Connections {
    cloud::Connections::new(opts).expect("clients build")
}

/// Organizations and STS `AssumeRole` against moto: an organization of
/// three member accounts in two OUs (made with aws-sdk-organizations), its
/// members listed by `cloud::members` with their OU paths; a member
/// verified through its role is the member's account; and its sync, with
/// the session, lists the member's own instance, not the main account's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_organization_members_are_listed_verified_and_synced_through_their_role() {
    let url = moto_url();
    let url = url.trim_end_matches('/').to_string();
    let _turn = turn(&url).await;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    let sdk = |key: &str, secret: &str, token: Option<String>| {
        aws_types::SdkConfig::builder()
            .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
            .http_client(http.clone())
            .region(aws_sdk_ec2::config::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_sdk_ec2::config::Credentials::new(key, secret, token, None, "test"),
                ),
            )
            .endpoint_url(&url)
            .build()
    };
    let main_conf = sdk("AKIAIOSFODNN7EXAMPLE", "moto-secret-canary-0000", None);
    let org = aws_sdk_organizations::Client::new(&main_conf);
    // moto keeps one organization per server: make it, or use the one there.
    let org_id = match org
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
    {
        Ok(o) => o.organization().and_then(|o| o.id()).unwrap().to_string(),
        Err(_) => org
            .describe_organization()
            .send()
            .await
            .expect("an organization")
            .organization()
            .and_then(|o| o.id())
            .unwrap()
            .to_string(),
    };
    let root = org.list_roots().send().await.expect("roots").roots()[0]
        .id()
        .unwrap()
        .to_string();
    let tag = std::process::id();
    let mut units = Vec::new();
    for name in [format!("Prod {tag}"), format!("Dev {tag}")] {
        let ou = org
            .create_organizational_unit()
            .parent_id(&root)
            .name(&name)
            .send()
            .await
            .expect("an OU")
            .organizational_unit()
            .and_then(|u| u.id())
            .unwrap()
            .to_string();
        units.push((ou, name));
    }
    let mut made = Vec::new();
    for i in 0..3 {
        let name = format!("member {tag} {i}");
        let status = org
            .create_account()
            .account_name(&name)
            .email(format!("m{tag}-{i}@example.com"))
            .send()
            .await
            .expect("an account");
        let id = status
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("created at once")
            .to_string();
        let (ou, ou_name) = &units[i % 2];
        org.move_account()
            .account_id(&id)
            .source_parent_id(&root)
            .destination_parent_id(ou)
            .send()
            .await
            .expect("moved");
        made.push((id, name, ou_name.clone()));
    }

    // Listed with their paths.
    let main = account(&url, "AKIAIOSFODNN7EXAMPLE");
    let cleared = crate::harness::trusted(&main, Secret::from_slice(b"moto-secret-canary-0000"));
    let listed = cloud::members(&main, &cleared, &conns(&opts()), 4, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed.id, org_id);
    for (id, name, ou) in &made {
        let m = listed
            .members
            .iter()
            .find(|m| &m.id == id)
            .unwrap_or_else(|| panic!("{id} not listed: {:?}", listed.members));
        assert_eq!(&m.name, name);
        assert_eq!(m.path, format!("Root/{ou}"));
    }
    assert!(
        !listed.members.iter().any(|m| m.id == MOTO_ACCOUNT),
        "the management account is not a member"
    );

    // A member verified through its role: the member's account.
    let (member_id, _, _) = made[0].clone();
    let mut member = account(&url, "AKIAIOSFODNN7EXAMPLE");
    member.address = Address::new(Vendor::Aws, "member");
    member.vendor = VendorAccount::Aws(KeyAccount {
        main_account_id: member_id.clone(),
        account_name: "member".into(),
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: None,
    });
    member.via = Some(tether::config::Via {
        main: main.address.clone(),
        role_name: None,
    });
    member.regions = Some(vec!["eu-west-3".into()]);
    let member_secret =
        crate::harness::trusted(&member, Secret::from_slice(b"moto-secret-canary-0000"));
    let id = cloud::verify(&member, &member_secret, &conns(&opts()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id.account_id, member_id);
    assert!(
        id.principal
            .contains(":assumed-role/OrganizationAccountAccessRole/"),
        "{}",
        id.principal
    );
    cloud::check_identity(&member, &id).unwrap();

    // An instance in the member's account (made with a session of its
    // role) is what the member's sync lists.
    let sts = aws_sdk_sts::Client::new(&main_conf);
    let c = sts
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{member_id}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("setup")
        .send()
        .await
        .expect("assumed")
        .credentials()
        .cloned()
        .expect("credentials");
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&sdk(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
        ))
        .region(aws_sdk_ec2::config::Region::new("eu-west-3"))
        .build(),
    );
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect("moto runs an instance in the member")
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let events = tether::sync::collect(
        vec![tether::sync::Target {
            secret: member_secret,
            account: member,
            claimed: Vec::new(),
        }],
        tether::sync::SyncOptions::default(),
    )
    .await
    .expect("sync starts");
    let mut instances = BTreeSet::new();
    for e in events {
        match e {
            tether::sync::Event::Partition(p) => {
                let p = p.into_partition().expect("the records decode");
                if p.key.kind == "instance" {
                    instances.extend(p.resources.iter().map(|r| r.id.clone()));
                }
            }
            tether::sync::Event::AccountFailed { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
    assert!(instances.contains(&instance), "{instances:?}");
}
