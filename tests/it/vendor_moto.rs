//! The AWS identity path against moto, an independent AWS emulator
//! (`moto[server]`, started by `.ci/run`). Runs only when `TETHER_MOTO_URL`
//! is set (e.g. `http://127.0.0.1:5000`); otherwise it says so and passes.
//!
//! With auth enforcement off moto answers account `123456789012` for any
//! key. Then an IAM user and key are made through the IAM Query API, moto
//! is switched to enforcing signatures, and the right key passes while a
//! wrong secret and an unknown key are refused as `Auth`. Enforcement is
//! switched off again at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use tether::config::{Account, Address, KeyAccount, Vendor, VendorAccount};
use tether::secrets::Secret;
use tether::vendor::{self, ClientOptions, ErrorKind};

const MOTO_ACCOUNT: &str = "123456789012";

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_confirms_the_aws_identity_and_refuses_a_wrong_secret() {
    let Ok(url) = std::env::var("TETHER_MOTO_URL") else {
        eprintln!("skipped: TETHER_MOTO_URL is not set (.ci/run starts moto and sets it)");
        return;
    };
    let url = url.trim_end_matches('/').to_string();

    // Any key, no enforcement: moto's default account.
    let a = account(&url, "AKIAIOSFODNN7EXAMPLE");
    let id = vendor::verify(&a, &Secret::from_slice(b"anything-goes"), &opts())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id.account_id, MOTO_ACCOUNT);
    assert!(id.principal.starts_with("arn:aws:"), "{}", id.principal);
    vendor::check_identity(&a, &id).unwrap();

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

    enforce_auth(&http, &url, "0").await;
    let outcome = async {
        let a = account(&url, &key_id);
        let id = vendor::verify(&a, &secret, &opts()).await?;
        assert_eq!(id.account_id, MOTO_ACCOUNT);
        assert_eq!(
            id.principal,
            format!("arn:aws:iam::{MOTO_ACCOUNT}:user/{user}")
        );

        let wrong = Secret::from_slice(b"Wrong-Secret-Canary-0000000000000000000");
        let e = vendor::verify(&a, &wrong, &opts()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.code.as_deref(), Some("SignatureDoesNotMatch"), "{e}");
        assert!(!format!("{e} {e:?}").contains("Wrong-Secret-Canary"));

        let e = vendor::verify(&account(&url, "AKIAUNKNOWN000000000"), &secret, &opts())
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.code.as_deref(), Some("InvalidClientTokenId"), "{e}");
        Ok::<(), tether::vendor::VendorError>(())
    }
    .await;
    // Back to no enforcement for anything else using this moto.
    enforce_auth(&http, &url, "1000000000").await;
    outcome.unwrap_or_else(|e| panic!("{e}"));
}
