//! Helpers shared by the simulator tests: seeded worlds on loopback, the
//! `tether-sim` binary and its JSON line, the admin API, and the requests of
//! each vendor's clients (signed or with their tokens).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tether_sim::summary::Summary;
use tether_sim::{Options, Sim, Vendor, World};

// --------------------------------------------------------------- worlds --

/// Starts `world` on loopback with two workers.
fn start_world(world: World) -> Sim {
    Sim::start(
        world,
        Options {
            workers: 2,
            ..Options::default()
        },
    )
    .expect("simulator starts")
}

/// A simulator with `accounts` accounts per vendor and `resources` each.
pub fn start(seed: u64, accounts: usize, resources: usize) -> Sim {
    start_world(World::generate(seed, accounts, resources))
}

/// Two accounts per vendor with `resources` each; the first account of
/// every vendor has an organization of `members` members (with `resources`
/// each) spread round-robin over `units` units.
pub fn start_org(seed: u64, resources: usize, members: usize, units: usize) -> Sim {
    start_world(World::generate_org(seed, 2, resources, members, units))
}

// --------------------------------------------------------------- binary --

/// Starts the binary, returns it and its JSON line.
pub fn spawn(args: &[&str]) -> (Child, Summary, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.is_empty() {
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        panic!("no JSON line; stderr: {err}");
    }
    (child, serde_json::from_str(&line).unwrap(), line)
}

/// Starts the binary on `seed` with `accounts` accounts of 4 resources per
/// vendor and organizations of 3 members in 2 units, then `extra`
/// arguments; returns it, its summary and its JSON line as JSON.
pub fn spawn_org(seed: &str, accounts: &str, extra: &[&str]) -> (Child, Summary, Value) {
    let mut args = vec![
        "--seed",
        seed,
        "--accounts",
        accounts,
        "--resources",
        "4",
        "--org-members",
        "3",
        "--org-units",
        "2",
    ];
    args.extend_from_slice(extra);
    let (child, s, line) = spawn(&args);
    (child, s, serde_json::from_str(&line).unwrap())
}

/// Stops a binary started by [`spawn`] and waits for it.
pub fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Where the binary writes a config (`--write-config`): `cfg` in a fresh
/// temporary directory, its secrets encrypted to a fresh age identity
/// (`--recipient`). The directory lives as long as this.
pub struct ConfigOut {
    _dir: tempfile::TempDir,
    /// The config directory.
    pub cfg: PathBuf,
    /// The identity that decrypts the secrets.
    pub identity: age::x25519::Identity,
    recipient: String,
}

impl ConfigOut {
    /// A fresh directory and identity.
    pub fn fresh() -> ConfigOut {
        let dir = tempfile::tempdir().unwrap();
        let identity = age::x25519::Identity::generate();
        ConfigOut {
            cfg: dir.path().join("cfg"),
            recipient: identity.to_public().to_string(),
            identity,
            _dir: dir,
        }
    }

    /// `--write-config` and `--recipient` with their values.
    pub fn args(&self) -> [&str; 4] {
        [
            "--write-config",
            self.cfg.to_str().unwrap(),
            "--recipient",
            &self.recipient,
        ]
    }

    /// The `tether.hcl` the binary wrote.
    pub fn hcl(&self) -> String {
        std::fs::read_to_string(self.cfg.join("tether.hcl")).unwrap()
    }
}

/// The binary on `seed` with two accounts per vendor and organizations of
/// three members in two units, writing a config; checks what holds for the
/// organization of `vendor` (AWS or Alibaba): the line names the first
/// account its management account, a root (`r-…`), two units and three
/// members with an id, a name and an OU each; members are not key
/// accounts, and the config declares the two key accounts of `vendor` and
/// no member. Returns that organization from the line, the binary stopped.
pub fn assert_binary_writes_no_member(seed: &str, vendor: Vendor) -> Value {
    let out = ConfigOut::fresh();
    let (child, s, v) = spawn_org(seed, "2", &out.args());
    let keyed = match vendor {
        Vendor::Aws => &s.aws,
        Vendor::Alibaba => &s.alibaba,
        _ => panic!("{vendor} has no key accounts"),
    };
    let o = v[vendor.as_str()]["organization"].clone();
    assert_eq!(
        o["management_account_id"],
        keyed.accounts[0].main_account_id.as_str()
    );
    assert!(o["root"].as_str().unwrap().starts_with("r-"));
    assert_eq!(o["units"].as_array().unwrap().len(), 2);
    let members = o["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    for k in ["id", "name", "ou"] {
        assert!(members[0].get(k).is_some(), "{k}");
    }
    assert_eq!(keyed.accounts.len(), 2);
    let hcl = out.hcl();
    assert_eq!(hcl.matches(&format!("account \"{vendor}\"")).count(), 2);
    for m in members {
        assert!(!hcl.contains(m["id"].as_str().unwrap()));
    }
    stop(child);
    o
}

// ------------------------------------------------------------ admin API --

/// A JSON request to the admin API: the status and the JSON answer.
pub async fn admin(method: reqwest::Method, url: String, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A JSON `POST` to the admin API: the status and the JSON answer.
pub async fn post(url: String, body: Value) -> (u16, Value) {
    admin(reqwest::Method::POST, url, body).await
}

/// The admin API's organization endpoints: where members leave, join and
/// are suspended, and where their roles are taken away or given back.
pub fn org_urls(s: &Summary) -> (String, String) {
    (
        format!("{}/admin/organization/members", s.admin),
        format!("{}/admin/organization/roles", s.admin),
    )
}

/// Posts each body to `url`: each is refused with its status and an
/// `error` message, and changes nothing.
pub async fn assert_refused(url: &str, bad: impl IntoIterator<Item = (Value, u16)>) {
    for (body, want) in bad {
        let (st, v) = post(url.to_string(), body.clone()).await;
        assert_eq!(st, want, "{body}: {v}");
        assert!(v["error"].is_string(), "{body}: {v}");
    }
}

// ----------------------------------------------------------------- JSON --

/// The `key` string of each item of the JSON array `list`.
pub fn strs<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap())
        .collect()
}

// -------------------------------------------------------------- Alibaba --

/// Alibaba Cloud RPC calls, signed v1 and V3 with the simulator's own
/// signers.
pub mod alibaba {
    use std::sync::atomic::{AtomicU64, Ordering};

    use serde_json::Value;
    use tether_sim::Sim;
    use tether_sim::auth::{acs, canonical_query, sha256_hex};
    use tether_sim::clock;
    use tether_sim::http::Req;

    static NONCE: AtomicU64 = AtomicU64::new(1);

    /// A signature nonce this test binary has not sent before.
    fn nonce() -> String {
        format!(
            "{:032x}",
            NONCE.fetch_add(1, Ordering::Relaxed) as u128 * 0x9e37_79b9_7f4a_7c15_u128
                + clock::now() as u128
        )
    }

    /// A caller: the endpoint, an AccessKey pair and, for an STS session,
    /// its security token (`x-acs-security-token` in V3, `SecurityToken`
    /// in v1).
    #[derive(Clone)]
    pub struct Client {
        pub endpoint: String,
        pub ak: String,
        pub sk: String,
        pub token: Option<String>,
    }

    /// The status, the JSON body and `x-acs-retry-after`, if any.
    pub struct Answer {
        pub status: u16,
        pub body: Value,
        pub retry_after: Option<String>,
    }

    impl Client {
        /// The AccessKey pair of Alibaba account `i`.
        pub fn of(sim: &Sim, i: usize) -> Client {
            let s = sim.summary();
            let a = &s.alibaba.accounts[i];
            Client {
                endpoint: s.alibaba.endpoint.clone(),
                ak: a.access_key_id.clone(),
                sk: a.secret_access_key.clone(),
                token: None,
            }
        }

        /// A V3 (`ACS3-HMAC-SHA256`) request, parameters in the query, as the
        /// current SDKs send it: the URL and the headers.
        pub fn v3_request(
            &self,
            action: &str,
            version: &str,
            query: &[(&str, &str)],
            date: i64,
            nonce: &str,
        ) -> (String, Vec<(String, String)>) {
            let host = self.endpoint.trim_start_matches("http://").to_string();
            let pairs: Vec<(String, String)> = query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let q = canonical_query(&pairs);
            let mut headers = vec![
                ("accept".to_string(), "application/json".to_string()),
                ("host".to_string(), host),
                (
                    "user-agent".to_string(),
                    "AlibabaCloud (Linux; x86_64) Rust/tests".to_string(),
                ),
                ("x-acs-action".to_string(), action.to_string()),
                ("x-acs-content-sha256".to_string(), sha256_hex(b"")),
                ("x-acs-date".to_string(), clock::fmt_extended(date)),
            ];
            if let Some(t) = &self.token {
                headers.push(("x-acs-security-token".to_string(), t.clone()));
            }
            headers.push(("x-acs-signature-nonce".to_string(), nonce.to_string()));
            headers.push(("x-acs-version".to_string(), version.to_string()));
            let signed = headers
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(";");
            let req = Req {
                method: "POST".into(),
                path: "/".into(),
                query: q.clone(),
                headers: headers.clone(),
                body: vec![],
            };
            let auth = acs::V3Authorization {
                access_key: self.ak.clone(),
                signed_headers: signed.clone(),
                signature: String::new(),
            };
            let canonical = acs::v3_canonical_of(&req, &auth).unwrap();
            let sig = acs::v3_sign(&self.sk, &canonical);
            headers.retain(|(k, _)| k != "host");
            headers.push((
                "authorization".into(),
                format!(
                    "ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed},Signature={sig}",
                    self.ak
                ),
            ));
            (format!("{}/?{q}", self.endpoint), headers)
        }

        /// Sends a request made by [`Client::v3_request`]; the answer is JSON.
        pub async fn send(url: String, headers: Vec<(String, String)>) -> Answer {
            let mut b = reqwest::Client::new().post(url);
            for (k, v) in headers {
                b = b.header(k, v);
            }
            let r = b.send().await.unwrap();
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("x-acs-retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json")
            );
            let text = r.text().await.unwrap();
            let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
            Answer {
                status,
                body,
                retry_after,
            }
        }

        /// A V3 call dated now.
        pub async fn v3(&self, action: &str, version: &str, query: &[(&str, &str)]) -> Answer {
            self.v3_at(clock::now(), action, version, query).await
        }

        /// A V3 call dated `date` (the simulator's clock, say).
        pub async fn v3_at(
            &self,
            date: i64,
            action: &str,
            version: &str,
            query: &[(&str, &str)],
        ) -> Answer {
            let (url, h) = self.v3_request(action, version, query, date, &nonce());
            Client::send(url, h).await
        }

        /// A v1 (HMAC-SHA1) call dated now: GET with everything in the query,
        /// or POST with a form body.
        pub async fn v1(
            &self,
            method: &str,
            action: &str,
            version: &str,
            extra: &[(&str, &str)],
        ) -> Answer {
            self.v1_at(clock::now(), method, action, version, extra)
                .await
        }

        /// A v1 (HMAC-SHA1) call dated `date`, as [`Client::v1`].
        pub async fn v1_at(
            &self,
            date: i64,
            method: &str,
            action: &str,
            version: &str,
            extra: &[(&str, &str)],
        ) -> Answer {
            let mut p: Vec<(String, String)> = vec![
                ("AccessKeyId".into(), self.ak.clone()),
                ("Action".into(), action.into()),
                ("Format".into(), "json".into()),
                ("SignatureMethod".into(), "HMAC-SHA1".into()),
                ("SignatureNonce".into(), nonce()),
                ("SignatureVersion".into(), "1.0".into()),
                ("Timestamp".into(), clock::fmt_extended(date)),
                ("Version".into(), version.into()),
            ];
            if let Some(t) = &self.token {
                p.push(("SecurityToken".into(), t.clone()));
            }
            p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let sig = acs::v1_sign(&self.sk, &acs::v1_string_to_sign(method, &p));
            p.push(("Signature".into(), sig));
            let encoded = canonical_query(&p);
            let c = reqwest::Client::new();
            let r = if method == "GET" {
                c.get(format!("{}/?{encoded}", self.endpoint))
                    .send()
                    .await
                    .unwrap()
            } else {
                c.post(format!("{}/", self.endpoint))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(encoded)
                    .send()
                    .await
                    .unwrap()
            };
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            Answer {
                status,
                body: serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
                retry_after: None,
            }
        }
    }
}

// ---------------------------------------------------------------- Azure --

/// Entra ID client-credentials tokens and bearer GETs.
pub mod azure {
    use serde_json::Value;
    use tether_sim::Sim;
    use tether_sim::summary::AzureAccount;

    /// The scope of ARM tokens.
    pub const ARM: &str = "https://management.azure.com/.default";

    /// A client-credentials token request for `scope`: the status and the
    /// answer.
    pub async fn token_answer(
        endpoint: &str,
        tenant: &str,
        client: &str,
        secret: &str,
        scope: &str,
    ) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{endpoint}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("client_id", client),
                ("scope", scope),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// A token for `scope` (v2 endpoint), granted to the application of `a`.
    pub async fn token_for(sim: &Sim, a: &AzureAccount, scope: &str) -> String {
        let (status, body) = token_answer(
            &sim.summary().azure.endpoint,
            &a.tenant_id,
            &a.application_id,
            &a.application_secret,
            scope,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// A GET with a bearer token: the status, the JSON body and the headers.
    pub async fn get(url: &str, token: &str) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, r.json().await.unwrap(), headers)
    }
}

// ------------------------------------------------------------------ HCS --

/// IAM (Keystone) password tokens and GETs that carry them.
pub mod hcs {
    use serde_json::{Value, json};
    use tether_sim::summary::HcsAccount;

    /// A password token of `a`, scoped to a project (by name) or the domain,
    /// without the catalog: the status, the token and the body.
    pub async fn password_token(
        ep: &str,
        a: &HcsAccount,
        password: &str,
        project: Option<&str>,
    ) -> (u16, Option<String>, Value) {
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {"name": a.account, "password": password, "domain": {"name": a.account}}}}});
        auth["scope"] = match project {
            Some(p) => json!({"project": {"name": p}}),
            None => json!({"domain": {"name": a.account}}),
        };
        let r = reqwest::Client::new()
            .post(format!("{ep}/v3/auth/tokens?nocatalog=true"))
            .json(&json!({ "auth": auth }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let tok = r
            .headers()
            .get("x-subject-token")
            .map(|v| v.to_str().unwrap().to_string());
        (status, tok, r.json().await.unwrap())
    }

    /// A GET with a token in `x-auth-token`: the status and the JSON body.
    pub async fn get_token(url: &str, token: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .get(url)
            .header("x-auth-token", token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}
