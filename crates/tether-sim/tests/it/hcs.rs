//! HCS against the simulator: IAM password tokens and projects, ECS and VPC
//! listings through their own paging, with tokens and with AK/SK signatures,
//! and the gateway's and Keystone's error bodies.

use serde_json::{Value, json};
use tether_sim::auth::{canonical_query, sdk};
use tether_sim::clock;
use tether_sim::http::Req;
use tether_sim::summary::HcsAccount;
use tether_sim::world::{Kind, List};
use tether_sim::{Faults, FaultsUpdate, Sim, Vendor};

use crate::harness::hcs::{get_token, password_token};
use crate::harness::start;

/// A GET signed with SDK-HMAC-SHA256 as the Huawei SDK sends it.
async fn get_signed(
    ep: &str,
    path: &str,
    query: &[(&str, &str)],
    ak: &str,
    sk: &str,
    project: &str,
) -> (u16, Value) {
    let host = ep.trim_start_matches("http://").to_string();
    let pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let q = canonical_query(&pairs);
    let date = clock::fmt_basic(clock::now());
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("host".to_string(), host),
        (
            "user-agent".to_string(),
            "huaweicloud-usdk-rust/3.0".to_string(),
        ),
        ("x-project-id".to_string(), project.to_string()),
        ("x-sdk-date".to_string(), date.clone()),
    ];
    let signed = "content-type;host;user-agent;x-project-id;x-sdk-date";
    let req = Req {
        method: "GET".into(),
        path: path.into(),
        query: q.clone(),
        headers: headers.clone(),
        body: vec![],
    };
    let auth = sdk::Authorization {
        access_key: ak.into(),
        signed_headers: signed.into(),
        signature: String::new(),
    };
    let sig = sdk::sign(sk, &date, &sdk::canonical_of(&req, &auth).unwrap());
    // One client for every call: building one sets up TLS (system roots),
    // which is slow enough in debug builds to let the rate-limit bucket refill.
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let mut b = CLIENT
        .get_or_init(|| {
            // No pooled connections: tests run on different runtimes.
            reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client")
        })
        .get(format!("{ep}{path}?{q}"));
    for (k, v) in headers.into_iter().filter(|(k, _)| k != "host") {
        b = b.header(k, v);
    }
    let r = b
        .header(
            "authorization",
            format!("SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed}, Signature={sig}"),
        )
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn expected(sim: &Sim, scope: u16, kind: Kind) -> usize {
    let w = sim.world.read().unwrap();
    w.v(Vendor::Hcs).accounts[0]
        .part(scope, List::Of(kind))
        .map_or(0, |p| p.len())
}

/// The catalog of a token (asked for without `nocatalog=true`): IAM under
/// the account's environment, ECS and VPC under the regions the token
/// reaches (every region of the account, or the project's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_catalog_registers_iam_under_the_account_environment() {
    let sim = start(48, 2, 1);
    let s = sim.summary();
    let ep = &s.hcs.endpoint;
    let catalog = |body: &Value, ty: &str| -> Vec<String> {
        body["token"]["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|svc| svc["type"] == ty)
            .flat_map(|svc| svc["endpoints"].as_array().unwrap().clone())
            .inspect(|e| assert_eq!(e["interface"], "public", "{e}"))
            .map(|e| {
                assert_eq!(e["region"], e["region_id"], "{e}");
                e["region_id"].as_str().unwrap().to_string()
            })
            .collect()
    };
    for a in &s.hcs.accounts {
        let auth = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": a.account, "password": a.password, "domain": {"name": a.account}}}},
            "scope": {"domain": {"name": a.account}}}});
        let token = |body: Value| async move {
            let r = reqwest::Client::new()
                .post(format!("{ep}/v3/auth/tokens"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
            r.json::<Value>().await.unwrap()
        };
        let body = token(auth.clone()).await;
        assert_eq!(catalog(&body, "identity"), [a.environment_name.as_str()]);
        let mut regions: Vec<String> = a.projects.iter().map(|p| p.region.clone()).collect();
        regions.dedup();
        assert_eq!(catalog(&body, "ecs"), regions);
        assert_eq!(catalog(&body, "vpc"), regions);
        let p = &a.projects[0];
        let mut scoped = auth;
        scoped["auth"]["scope"] = json!({"project": {"id": p.id}});
        let body = token(scoped).await;
        assert_eq!(catalog(&body, "identity"), [a.environment_name.as_str()]);
        assert_eq!(catalog(&body, "ecs"), [p.region.as_str()]);
    }
    // Without the catalog, as listing asks for its tokens.
    let a = &s.hcs.accounts[0];
    let (status, _, body) = password_token(ep, a, &a.password, None).await;
    assert_eq!(status, 201);
    assert_eq!(body["token"]["catalog"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_token_and_projects() {
    let sim = start(41, 2, 10);
    let s = sim.summary();
    let ep = &s.hcs.endpoint;
    let a = &s.hcs.accounts[0];
    let (status, tok, body) = password_token(ep, a, &a.password, None).await;
    assert_eq!(status, 201, "{body}");
    let tok = tok.unwrap();
    assert!(tok.starts_with("MII"));
    assert_eq!(body["token"]["user"]["name"], a.account.as_str());
    assert_eq!(body["token"]["user"]["domain"]["id"], a.domain_id.as_str());
    assert!(body["token"]["expires_at"].as_str().unwrap().ends_with("Z"));
    let (status, body) = get_token(&format!("{ep}/v3/auth/projects"), &tok).await;
    assert_eq!(status, 200, "{body}");
    let got: Vec<(&str, &str)> = body["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let want: Vec<(&str, &str)> = a
        .projects
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(got, want);
    // Project-scoped token carries the project.
    let (status, _, body) = password_token(ep, a, &a.password, Some(&a.projects[0].name)).await;
    assert_eq!(status, 201);
    assert_eq!(body["token"]["project"]["id"], a.projects[0].id.as_str());
    // The SDK's project look-up by name, signed with AK/SK.
    let (status, body) = get_signed(
        ep,
        "/v3/projects",
        &[("name", &a.projects[0].name)],
        &a.access_key_id,
        &a.secret_access_key,
        &a.projects[0].id,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["projects"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_vpcs_and_subnets_page() {
    let sim = start(42, 1, 300);
    let s = sim.summary();
    let ep = &s.hcs.endpoint;
    let a = &s.hcs.accounts[0];
    let p = &a.projects[0];
    let (_, tok, _) = password_token(ep, a, &a.password, Some(&p.name)).await;
    let tok = tok.unwrap();
    let want = expected(&sim, 0, Kind::Instance);
    assert!(want > 20);
    let mut count = 0;
    for offset in 1.. {
        let (status, body) = get_token(
            &format!(
                "{ep}/v1/{}/cloudservers/detail?offset={offset}&limit=10",
                p.id
            ),
            &tok,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], want);
        let servers = body["servers"].as_array().unwrap();
        for sv in servers {
            assert!(["ACTIVE", "SHUTOFF", "BUILD"].contains(&sv["status"].as_str().unwrap()));
            assert!(
                sv["flavor"]["vcpus"]
                    .as_str()
                    .unwrap()
                    .parse::<u32>()
                    .unwrap()
                    >= 1
            );
            assert_eq!(sv["tenant_id"], p.id.as_str());
            assert!(
                sv["OS-EXT-AZ:availability_zone"]
                    .as_str()
                    .unwrap()
                    .starts_with(&p.region)
            );
        }
        count += servers.len();
        if servers.len() < 10 {
            break;
        }
    }
    assert_eq!(count, want);
    // VPCs and subnets page by marker, signed with AK/SK.
    for (path, key, kind) in [
        ("vpcs", "vpcs", Kind::Vpc),
        ("subnets", "subnets", Kind::Subnet),
    ] {
        let want = expected(&sim, 0, kind);
        let (mut count, mut marker) = (0, String::new());
        loop {
            let mut q = vec![("limit", "4")];
            if !marker.is_empty() {
                q.push(("marker", marker.as_str()));
            }
            let (status, body) = get_signed(
                ep,
                &format!("/v1/{}/{path}", p.id),
                &q,
                &a.access_key_id,
                &a.secret_access_key,
                &p.id,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let items = body[key].as_array().unwrap();
            count += items.len();
            if items.len() < 4 {
                break;
            }
            marker = items.last().unwrap()["id"].as_str().unwrap().to_string();
        }
        assert_eq!(count, want, "{path}");
    }
    let (status, body) = get_token(
        &format!("{ep}/v1/{}/cloudservers/detail?limit=1001", p.id),
        &tok,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("Ecs.0005"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_use_huawei_codes() {
    let sim = start(43, 2, 10);
    let s = sim.summary();
    let ep = &s.hcs.endpoint;
    let (a, b) = (&s.hcs.accounts[0], &s.hcs.accounts[1]);
    let (status, tok, body) = password_token(ep, a, "wrong-password", None).await;
    assert_eq!(
        (status, tok, body["error"]["code"].as_i64()),
        (401, None, Some(401))
    );
    assert_eq!(body["error"]["title"], "Unauthorized");
    let (status, _, _) = password_token(ep, a, &a.password, Some("no-such-project")).await;
    assert_eq!(status, 401);

    let p = &a.projects[0].id;
    let (status, body) = get_signed(
        ep,
        &format!("/v1/{p}/vpcs"),
        &[],
        &a.access_key_id,
        "wrong-secret-key",
        p,
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("verify aksk signature fail")
    );
    let (status, body) = get_signed(
        ep,
        &format!("/v1/{p}/vpcs"),
        &[],
        "UNKNOWNAK0000000000",
        &a.secret_access_key,
        p,
    )
    .await;
    assert_eq!(status, 401);
    assert!(body["error_msg"].as_str().unwrap().contains("ak not exist"));
    let (status, body) = get_token(&format!("{ep}/v1/{p}/vpcs"), "MIIforged").await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );
    // Another account's project.
    let (status, body) = get_signed(
        ep,
        &format!("/v1/{}/vpcs", b.projects[0].id),
        &[],
        &a.access_key_id,
        &a.secret_access_key,
        p,
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (403, Some("APIGW.0302"))
    );
    // Expired token.
    let (_, tok, _) = password_token(ep, a, &a.password, None).await;
    let tok = tok.unwrap();
    assert_eq!(
        get_token(&format!("{ep}/v3/auth/projects"), &tok).await.0,
        200
    );
    sim.expire_tokens(Vendor::Hcs, &a.account).unwrap();
    let (status, body) = get_token(&format!("{ep}/v3/auth/projects"), &tok).await;
    assert_eq!(status, 401);
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("The token must be updated")
    );
    // Throttling at the gateway.
    sim.set_faults(&FaultsUpdate {
        vendor: "hcs".into(),
        faults: Faults {
            rate_limits: true,
            ..Faults::default()
        },
    })
    .unwrap();
    let mut codes = Vec::new();
    for _ in 0..15 {
        let (status, body) = get_signed(
            ep,
            &format!("/v1/{p}/vpcs"),
            &[],
            &a.access_key_id,
            &a.secret_access_key,
            p,
        )
        .await;
        codes.push((status, body["error_code"].as_str().map(str::to_string)));
    }
    assert!(codes.iter().filter(|c| c.0 == 200).count() >= 10);
    assert!(codes.contains(&(429, Some("APIGW.0308".to_string()))));
}

/// A domain-scoped token and the signed-in user's id.
async fn user_token(ep: &str, a: &HcsAccount) -> (String, String, Value) {
    let (status, tok, body) = password_token(ep, a, &a.password, None).await;
    assert_eq!(status, 201, "{body}");
    let user = body["token"]["user"]["id"].as_str().unwrap().to_string();
    (tok.unwrap(), user, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_groups_credentials_and_last_use_of_the_user() {
    let sim = start(45, 2, 5);
    let s = sim.summary();
    let ep = &s.hcs.endpoint;
    let a = &s.hcs.accounts[0];
    let h = sim.hygiene(Vendor::Hcs, &a.account).unwrap();
    assert!(!h.root);
    let (tok, user, body) = user_token(ep, a).await;
    assert_eq!(
        body["token"]["user"]["password_expires_at"],
        clock::fmt_micros(h.secret_expires)
    );

    // Groups: `readonly_users`, and `admin` only for a root user.
    let url = format!("{ep}/v3/users/{user}/groups");
    let (status, body) = get_token(&url, &tok).await;
    assert_eq!(status, 200, "{body}");
    let names = |b: &Value| -> Vec<String> {
        b["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&body), ["readonly_users"]);
    let g = &body["groups"][0];
    assert_eq!(g["domain_id"], a.domain_id.as_str());
    assert_eq!(g["id"].as_str().unwrap().len(), 32);
    assert_eq!(
        g["links"]["self"],
        format!("{ep}/v3/groups/{}", g["id"].as_str().unwrap())
    );
    assert!(g["description"].is_string());
    assert_eq!(
        body["links"],
        json!({"self": url, "previous": null, "next": null})
    );
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Hcs, &a.account);
    u.root = Some(true);
    sim.set_hygiene(&u).unwrap();
    let (_, body) = get_token(&url, &tok).await;
    assert_eq!(names(&body), ["admin", "readonly_users"]);
    // Signed with AK/SK too.
    let (status, body) = get_signed(
        ep,
        &format!("/v3/users/{user}/groups"),
        &[],
        &a.access_key_id,
        &a.secret_access_key,
        &a.projects[0].id,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["admin", "readonly_users"]);

    // Permanent access keys.
    let (status, body) = get_token(
        &format!("{ep}/v3.0/OS-CREDENTIAL/credentials?user_id={user}"),
        &tok,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"credentials": [{"user_id": user, "access": a.access_key_id, "status": "active",
            "create_time": clock::fmt_micros(h.key_created), "description": ""}]})
    );

    // Last use, then never used.
    let url = format!(
        "{ep}/v5/users/{user}/access-keys/{}/last-used",
        a.access_key_id
    );
    let (status, body) = get_token(&url, &tok).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"access_key_last_used": {"last_used_at": clock::fmt_extended(h.key_last_used.unwrap())}})
    );
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Hcs, &a.account);
    u.key_last_used = Some(None);
    sim.set_hygiene(&u).unwrap();
    let (status, body) = get_token(&url, &tok).await;
    assert_eq!((status, body), (200, json!({"access_key_last_used": {}})));

    // Another user: IAM's permission refusal.
    let (_, other, _) = user_token(ep, &s.hcs.accounts[1]).await;
    for url in [
        format!("{ep}/v3/users/{other}/groups"),
        format!("{ep}/v3.0/OS-CREDENTIAL/credentials?user_id={other}"),
        format!(
            "{ep}/v5/users/{other}/access-keys/{}/last-used",
            s.hcs.accounts[1].access_key_id
        ),
    ] {
        let (status, body) = get_token(&url, &tok).await;
        assert_eq!(status, 403, "{url}: {body}");
        assert_eq!(body["error_code"], "IAM.0003");
        assert_eq!(
            body["error_msg"],
            "You do not have permission to perform this operation."
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_apis_answer_hcs_permission_errors() {
    let sim = start(46, 1, 10);
    let s = sim.summary();
    let ep = &s.hcs.endpoint;
    let a = &s.hcs.accounts[0];
    let p = &a.projects[0];
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Hcs, &a.account);
    u.deny = Some(
        ["ListServersDetails", "ListVpcs", "ListPermanentAccessKeys"]
            .map(String::from)
            .into(),
    );
    sim.set_hygiene(&u).unwrap();
    let (tok, user, _) = user_token(ep, a).await;
    let (_, ptok, _) = password_token(ep, a, &a.password, Some(&p.name)).await;
    let ptok = ptok.unwrap();
    let (status, body) = get_token(&format!("{ep}/v1/{}/cloudservers/detail", p.id), &ptok).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error_code"], "ECS.0112");
    assert_eq!(
        body["error_msg"],
        "Policy doesn't allow ecs:cloudServers:list to be performed."
    );
    assert!(body["request_id"].is_string());
    let (status, body) = get_token(&format!("{ep}/v1/{}/vpcs", p.id), &ptok).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (403, Some("VPC.0112"))
    );
    let (status, _) = get_token(&format!("{ep}/v1/{}/subnets", p.id), &ptok).await;
    assert_eq!(status, 200);
    let (status, body) = get_token(
        &format!("{ep}/v3.0/OS-CREDENTIAL/credentials?user_id={user}"),
        &tok,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error_code"], "IAM.0003");
    let (status, _) = get_token(&format!("{ep}/v3/users/{user}/groups"), &tok).await;
    assert_eq!(status, 200);
}
