//! Azure against the simulator: Entra ID client-credentials tokens, ARM
//! subscriptions, resource groups and resources followed through `nextLink`,
//! and Entra/ARM error codes for each kind of refusal.

use serde_json::Value;
use tether_sim::summary::AzureAccount;
use tether_sim::world::{Kind, List};
use tether_sim::{Faults, FaultsUpdate, Options, Sim, Vendor, World};

use crate::harness::azure::{ARM, get, token_for};
use crate::harness::{azure, start, strs};

/// An ARM token request: the status and the answer.
async fn token_answer(endpoint: &str, tenant: &str, client: &str, secret: &str) -> (u16, Value) {
    azure::token_answer(endpoint, tenant, client, secret, ARM).await
}

async fn token(sim: &Sim, a: &AzureAccount) -> String {
    let (status, body) = token_answer(
        &sim.summary().azure.endpoint,
        &a.tenant_id,
        &a.application_id,
        &a.application_secret,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_then_subscriptions() {
    let sim = start(31, 2, 10);
    let s = sim.summary();
    for a in &s.azure.accounts {
        let t = token(&sim, a).await;
        // A JWT whose claims name the tenant and the application.
        let claims: Value = {
            use base64::Engine as _;
            let p = t.split('.').nth(1).unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(claims["tid"], a.tenant_id.as_str());
        assert_eq!(claims["appid"], a.application_id.as_str());
        let (status, body, _) = get(
            &format!("{}/subscriptions?api-version=2022-12-01", s.azure.endpoint),
            &t,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let ids = strs(&body["value"], "subscriptionId");
        assert_eq!(
            ids,
            a.subscriptions
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        );
        assert_eq!(body["value"][0]["tenantId"], a.tenant_id.as_str());
        assert_eq!(body["value"][0]["state"], "Enabled");
        // Tenant by domain name works too.
        let (status, _) = token_answer(
            &s.azure.endpoint,
            &format!("{}.onmicrosoft.com", a.tenant_name),
            &a.application_id,
            &a.application_secret,
        )
        .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_groups_follow_next_link() {
    let sim = start(32, 1, 300);
    let s = sim.summary();
    let a = &s.azure.accounts[0];
    let t = token(&sim, a).await;
    let sub = &a.subscriptions[0];
    let (want_rg, want_res) = {
        let w = sim.world.read().unwrap();
        let acct = &w.v(Vendor::Azure).accounts[0];
        (
            acct.part(0, List::Of(Kind::ResourceGroup))
                .map_or(0, |p| p.len()),
            acct.part(0, List::Arm).map_or(0, |p| p.len()),
        )
    };
    assert!(want_res > 20);
    for (what, want) in [("resourcegroups", want_rg), ("resources", want_res)] {
        let mut url = Some(format!(
            "{}/subscriptions/{sub}/{what}?api-version=2021-04-01&$top=7",
            s.azure.endpoint
        ));
        let (mut count, mut pages) = (0, 0);
        while let Some(u) = url {
            let (status, body, headers) = get(&u, &t).await;
            assert_eq!(status, 200, "{body}");
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json")
            );
            pages += 1;
            for v in body["value"].as_array().unwrap() {
                count += 1;
                assert!(
                    v["id"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("/subscriptions/{sub}/resourceGroups/"))
                );
                assert!(
                    a.locations
                        .iter()
                        .any(|l| l == v["location"].as_str().unwrap())
                );
                assert!(v["type"].as_str().unwrap().starts_with("Microsoft."));
                assert!(v["tags"].is_object());
            }
            url = body["nextLink"].as_str().map(str::to_string);
            if let Some(u) = &url {
                assert!(u.starts_with(&s.azure.endpoint));
            }
        }
        assert_eq!(count, want, "{what}");
        assert_eq!(pages, want.div_ceil(7).max(1), "{what}");
    }
    let (status, body, _) = get(
        &format!("{}/subscriptions/{sub}/resources?api-version=2021-04-01&$filter=resourceType eq 'Microsoft.Compute/virtualMachines'", s.azure.endpoint),
        &t,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let vms = body["value"].as_array().unwrap();
    assert!(!vms.is_empty());
    assert!(
        vms.iter()
            .all(|v| v["type"] == "Microsoft.Compute/virtualMachines")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_use_entra_and_arm_codes() {
    let sim = start(33, 2, 10);
    let s = sim.summary();
    let (a, b) = (&s.azure.accounts[0], &s.azure.accounts[1]);
    let ep = &s.azure.endpoint;
    let (status, body) = token_answer(ep, &a.tenant_id, &a.application_id, "wrong-secret").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(body["error_codes"][0], 7000215);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215")
    );
    // The right application in the wrong tenant.
    let (status, body) =
        token_answer(ep, &b.tenant_id, &a.application_id, &a.application_secret).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    assert_eq!(body["error_codes"][0], 700016);
    let (status, body) = token_answer(
        ep,
        "00000000-0000-0000-0000-000000000000",
        &a.application_id,
        &a.application_secret,
    )
    .await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(90002))
    );

    let subs = format!("{ep}/subscriptions?api-version=2022-12-01");
    let r = reqwest::Client::new().get(&subs).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
    let (status, body, _) = get(&subs, "eyJhbGciOi.forged.token").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );
    let ta = token(&sim, a).await;
    let (status, body, _) = get(
        &format!(
            "{ep}/subscriptions/{}/resources?api-version=2021-04-01",
            b.subscriptions[0]
        ),
        &ta,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationTokenTenant"))
    );
    let (status, body, _) = get(&format!("{ep}/subscriptions/11111111-2222-3333-4444-555555555555/resources?api-version=2021-04-01"), &ta).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("SubscriptionNotFound"))
    );
    let (status, body, _) = get(&format!("{ep}/subscriptions"), &ta).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MissingApiVersionParameter"))
    );

    // Tokens expire: on demand, and by lifetime.
    sim.expire_tokens(Vendor::Azure, &a.tenant_id).unwrap();
    let (status, body, _) = get(&subs, &ta).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("ExpiredAuthenticationToken"))
    );
    let short = Sim::start(
        World::generate(33, 1, 1),
        Options {
            azure_token_ttl: 1,
            ..Options::default()
        },
    )
    .unwrap();
    let sa = short.summary().azure.accounts[0].clone();
    let t = token_answer(
        &short.summary().azure.endpoint,
        &sa.tenant_id,
        &sa.application_id,
        &sa.application_secret,
    )
    .await
    .1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body, _) = get(
        &format!(
            "{}/subscriptions?api-version=2022-12-01",
            short.summary().azure.endpoint
        ),
        &t,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("ExpiredAuthenticationToken"))
    );

    // Throttling: 429 with Retry-After.
    let tb = token(&sim, b).await;
    sim.set_faults(&FaultsUpdate {
        vendor: "azure".into(),
        faults: Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    })
    .unwrap();
    let (status, body, headers) = get(
        &format!(
            "{ep}/subscriptions/{}/resources?api-version=2021-04-01",
            b.subscriptions[0]
        ),
        &tb,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("SubscriptionRequestsThrottled"))
    );
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
}

const GRAPH: &str = "https://graph.microsoft.com/.default";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_answers_the_own_applications_password_credentials() {
    let sim = start(36, 2, 5);
    let s = sim.summary();
    let a = &s.azure.accounts[0];
    let h = sim.hygiene(Vendor::Azure, &a.tenant_id).unwrap();
    let graph = token_for(&sim, a, GRAPH).await;
    let app = &a.application_id;
    let ep = &s.azure.endpoint;
    let (status, body, headers) = get(
        &format!("{ep}/v1.0/applications(appId='{app}')?$select=passwordCredentials"),
        &graph,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.contains_key("request-id"));
    let key_id = body["passwordCredentials"][0]["keyId"].as_str().unwrap();
    assert_eq!(key_id.len(), 36);
    assert_eq!(
        body,
        serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications(passwordCredentials)/$entity",
            "passwordCredentials": [{
                "customKeyIdentifier": null,
                "displayName": "tether",
                "endDateTime": tether_sim::clock::fmt_extended(h.secret_expires),
                "hint": &a.application_secret[..3],
                "keyId": key_id,
                "secretText": null,
                "startDateTime": tether_sim::clock::fmt_extended(h.key_created),
            }]
        })
    );
    // Quotes percent-encoded as the `url` crate may send them; no `$select`.
    let (status, all, _) = get(
        &format!("{ep}/v1.0/applications(appId=%27{app}%27)"),
        &graph,
    )
    .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        all["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#applications/$entity"
    );
    assert_eq!(all["appId"], app.as_str());
    assert_eq!(all["passwordCredentials"], body["passwordCredentials"]);
    // The admin's expiry shows.
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Azure, &a.tenant_id);
    u.secret_expires = tether_sim::world::parse_rfc3339("2027-01-01T00:00:00Z");
    sim.set_hygiene(&u).unwrap();
    let (_, body, _) = get(
        &format!("{ep}/v1.0/applications(appId='{app}')?$select=passwordCredentials"),
        &graph,
    )
    .await;
    assert_eq!(
        body["passwordCredentials"][0]["endDateTime"],
        "2027-01-01T00:00:00Z"
    );
    // Another tenant's application is not found.
    let other = &s.azure.accounts[1].application_id;
    let (status, body, _) = get(&format!("{ep}/v1.0/applications(appId='{other}')"), &graph).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(
        body["error"]["message"],
        format!(
            "Resource '{other}' does not exist or one of its queried reference-property objects are not present."
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_accepts_only_graph_tokens() {
    let sim = start(37, 1, 5);
    let s = sim.summary();
    let a = &s.azure.accounts[0];
    let ep = &s.azure.endpoint;
    let url = format!(
        "{ep}/v1.0/applications(appId='{}')?$select=passwordCredentials",
        a.application_id
    );
    let arm = token(&sim, a).await;
    let (status, body, _) = get(&url, &arm).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(
        body["error"]["message"],
        "Access token validation failure. Invalid audience."
    );
    let (status, body, _) = get(&url, "not-a-token").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A Graph token, once its tokens are expired, no longer works.
    let graph = token_for(&sim, a, GRAPH).await;
    assert_eq!(get(&url, &graph).await.0, 200);
    sim.expire_tokens(Vendor::Azure, &a.tenant_id).unwrap();
    let (status, body, _) = get(&url, &graph).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_apis_answer_azure_permission_errors() {
    let sim = start(38, 1, 20);
    let s = sim.summary();
    let a = &s.azure.accounts[0];
    let ep = &s.azure.endpoint;
    let sub = &a.subscriptions[0];
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Azure, &a.tenant_id);
    u.deny = Some(["resources", "applications"].map(String::from).into());
    sim.set_hygiene(&u).unwrap();
    let arm = token(&sim, a).await;
    let (status, body, _) = get(
        &format!("{ep}/subscriptions/{sub}/resources?api-version=2021-04-01"),
        &arm,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let principal = {
        let w = sim.world.read().unwrap();
        w.v(Vendor::Azure).accounts[0].principal.clone()
    };
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": "AuthorizationFailed", "message": format!(
            "The client '{}' with object id '{principal}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resources/read' over scope '/subscriptions/{sub}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            a.application_id
        )}})
    );
    // Resource groups are not denied.
    let (status, _, _) = get(
        &format!("{ep}/subscriptions/{sub}/resourcegroups?api-version=2021-04-01"),
        &arm,
    )
    .await;
    assert_eq!(status, 200);
    let graph = token_for(&sim, a, GRAPH).await;
    let (status, body, _) = get(
        &format!(
            "{ep}/v1.0/applications(appId='{}')?$select=passwordCredentials",
            a.application_id
        ),
        &graph,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    for k in ["date", "request-id", "client-request-id"] {
        assert!(body["error"]["innerError"][k].is_string(), "{k}: {body}");
    }
}
