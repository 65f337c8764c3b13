//! The organizations whose members are scopes of one account: the Azure
//! management groups of the first tenant (ARM descendants, member
//! subscriptions) and the HCS VDCs of the first account (Keystone projects
//! with their parents, show project), what the admin API changes about
//! their members, and the summaries.

use serde_json::{Value, json};
use tether_sim::world::{Kind, List};
use tether_sim::{Options, Sim, Vendor, World};

use crate::harness::hcs::{get_token, password_token};
use crate::harness::{self, assert_refused, azure, org_urls, post, spawn_org, stop};

/// Two accounts per vendor, 20 resources each; `members` over 3 units.
fn start_org(seed: u64, members: usize) -> Sim {
    harness::start_org(seed, 20, members, 3)
}

// ---------------------------------------------------------------- Azure --

/// An ARM token of Azure account `i`.
async fn arm_token(sim: &Sim, i: usize) -> String {
    azure::token_for(sim, &sim.summary().azure.accounts[i], azure::ARM).await
}

async fn arm(sim: &Sim, token: &str, path_and_query: &str) -> (u16, Value) {
    let url = if path_and_query.starts_with("http") {
        path_and_query.to_string()
    } else {
        format!("{}{path_and_query}", sim.summary().azure.endpoint)
    };
    let (status, body, _) = azure::get(&url, token).await;
    (status, body)
}

const MG: &str = "/providers/Microsoft.Management/managementGroups";

fn descendants_url(group: &str, extra: &str) -> String {
    format!("{MG}/{group}/descendants?api-version=2020-05-01{extra}")
}

/// Every descendant of `group`, following `nextLink`; and the page count.
async fn all_descendants(sim: &Sim, token: &str, group: &str, top: usize) -> (Vec<Value>, usize) {
    let mut url = descendants_url(group, &format!("&$top={top}"));
    let (mut items, mut pages) = (Vec::new(), 0);
    loop {
        let (st, page) = arm(sim, token, &url).await;
        assert_eq!(st, 200, "{page}");
        pages += 1;
        let value = page["value"].as_array().unwrap();
        assert!(value.len() <= top);
        items.extend(value.iter().cloned());
        match page.get("nextLink").and_then(Value::as_str) {
            Some(next) => {
                assert!(next.starts_with(&sim.summary().azure.endpoint), "{next}");
                url = next.to_string();
            }
            None => break,
        }
    }
    (items, pages)
}

async fn subscription_ids(sim: &Sim, token: &str) -> Vec<String> {
    let (st, l) = arm(sim, token, "/subscriptions?api-version=2022-12-01").await;
    assert_eq!(st, 200, "{l}");
    let ids: Vec<String> = l["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subscriptionId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(l["count"]["value"], ids.len());
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_management_groups_list_their_descendants_in_pages() {
    let sim = start_org(61, 7);
    let s = sim.summary();
    let tenant = s.azure.accounts[0].tenant_id.clone();
    let own = s.azure.accounts[0].subscriptions.clone();
    let o = s.azure.organization.clone().expect("an Azure organization");
    assert_eq!(
        (&o.id, &o.root, &o.management_account_id),
        (&tenant, &tenant, &tenant)
    );
    let units: Vec<(&str, &str)> = o
        .units
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    assert_eq!(
        units,
        [
            ("mg-workloads-0", "Workloads 0"),
            ("mg-workloads-1", "Workloads 1"),
            ("mg-workloads-2", "Workloads 2")
        ]
    );
    assert_eq!(o.members.len(), 7);
    for (k, m) in o.members.iter().enumerate() {
        assert_eq!(m.ou, format!("mg-workloads-{}", k % 3));
        assert!(!own.contains(&m.id), "members are not the tenant's own");
        assert_eq!(m.id.len(), 36, "{}", m.id);
    }
    // Only the first tenant has one; the AWS organization is unchanged.
    assert!(s.aws.organization.is_some());
    {
        let w = sim.world.read().unwrap();
        let a = &w.v(Vendor::Azure).accounts[0];
        assert_eq!(s.azure.accounts[0].resources, 20, "own resources only");
        assert_eq!(a.count(), 20 + 7 * 20, "members have resources");
    }

    let t = arm_token(&sim, 0).await;
    // The root: the groups, the own subscriptions, then the members.
    let (items, pages) = all_descendants(&sim, &t, &tenant, 4).await;
    let want = 3 + own.len() + 7;
    assert_eq!(items.len(), want);
    assert_eq!(pages, want.div_ceil(4));
    let root_ref = format!("{MG}/{tenant}");
    for (k, g) in items[..3].iter().enumerate() {
        assert_eq!(g["type"], "Microsoft.Management/managementGroups");
        assert_eq!(g["id"], format!("{MG}/mg-workloads-{k}"));
        assert_eq!(g["name"], format!("mg-workloads-{k}"));
        assert_eq!(g["properties"]["displayName"], format!("Workloads {k}"));
        assert_eq!(g["properties"]["parent"]["id"], root_ref.as_str());
    }
    for (sub, id) in items[3..3 + own.len()].iter().zip(&own) {
        assert_eq!(sub["id"], format!("/subscriptions/{id}"));
        assert_eq!(sub["properties"]["parent"]["id"], root_ref.as_str());
    }
    for (sub, m) in items[3 + own.len()..].iter().zip(&o.members) {
        assert_eq!(
            sub["type"],
            "Microsoft.Management/managementGroups/subscriptions"
        );
        assert_eq!(sub["id"], format!("/subscriptions/{}", m.id));
        assert_eq!(sub["name"], m.id.as_str());
        assert_eq!(sub["properties"]["displayName"], m.name.as_str());
        assert_eq!(sub["properties"]["parent"]["id"], format!("{MG}/{}", m.ou));
    }
    // One group: its members only (ids case-insensitive), in one page.
    let (items, pages) = all_descendants(&sim, &t, "MG-Workloads-1", 1000).await;
    assert_eq!(pages, 1);
    let ids: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(ids, [o.members[1].id.as_str(), o.members[4].id.as_str()]);
    // Without $top everything fits the default page.
    let (st, page) = arm(&sim, &t, &descendants_url(&tenant, "")).await;
    assert_eq!((st, page["value"].as_array().unwrap().len()), (200, want));
    assert!(page.get("nextLink").is_none());

    // Refusals: unknown group, another tenant's root, bad $top / token.
    let (st, e) = arm(&sim, &t, &descendants_url("mg-nope", "")).await;
    assert_eq!((st, e["error"]["code"].as_str()), (404, Some("NotFound")));
    assert_eq!(e["error"]["message"], format!("'{MG}/mg-nope' not found"));
    let t1 = arm_token(&sim, 1).await;
    let other = &s.azure.accounts[1].tenant_id;
    let (st, _) = arm(&sim, &t1, &descendants_url(other, "")).await;
    assert_eq!(st, 404, "a tenant without an organization has no groups");
    let (st, _) = arm(&sim, &t1, &descendants_url(&tenant, "")).await;
    assert_eq!(st, 404);
    for extra in ["&$top=0", "&$top=x", "&$skiptoken=zzz"] {
        let (st, e) = arm(&sim, &t, &descendants_url(&tenant, extra)).await;
        assert_eq!(st, 400, "{extra}: {e}");
    }
    let (st, e) = arm(&sim, "forged", &descendants_url(&tenant, "")).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );

    // The tenant lists its own and the member subscriptions; one by id.
    let mut listed = subscription_ids(&sim, &t).await;
    listed.sort();
    let mut all: Vec<String> = own
        .iter()
        .chain(o.members.iter().map(|m| &m.id))
        .cloned()
        .collect();
    all.sort();
    assert_eq!(listed, all);
    let m = &o.members[2];
    let (st, sub) = arm(
        &sim,
        &t,
        &format!("/subscriptions/{}?api-version=2022-12-01", m.id),
    )
    .await;
    assert_eq!(st, 200, "{sub}");
    assert_eq!(sub["id"], format!("/subscriptions/{}", m.id));
    assert_eq!(sub["subscriptionId"], m.id.as_str());
    assert_eq!(sub["displayName"], m.name.as_str());
    assert_eq!(sub["tenantId"], tenant.as_str());
    assert_eq!(sub["state"], "Enabled");
    let (st, e) = arm(
        &sim,
        &t,
        "/subscriptions/00000000-0000-4000-8000-000000000000?api-version=2022-12-01",
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (404, Some("SubscriptionNotFound"))
    );
    // A member's resources are listed like any subscription's.
    let (st, r) = arm(
        &sim,
        &t,
        &format!("/subscriptions/{}/resources?api-version=2021-04-01", m.id),
    )
    .await;
    assert_eq!(st, 200);
    let want_arm = {
        let w = sim.world.read().unwrap();
        let vw = w.v(Vendor::Azure);
        let (ai, scope) = vw.by_scope[&m.id];
        vw.accounts[ai as usize]
            .part(scope, List::Arm)
            .map_or(0, |p| p.len())
    };
    assert!(want_arm > 0);
    assert_eq!(r["value"].as_array().unwrap().len(), want_arm);

    // A denied `managementgroups` answers AuthorizationFailed.
    let mut h = tether_sim::HygieneUpdate::new(Vendor::Azure, &tenant);
    h.deny = Some(["managementgroups".to_string()].into());
    sim.set_hygiene(&h).unwrap();
    let (st, e) = arm(&sim, &t, &descendants_url(&tenant, "")).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (403, Some("AuthorizationFailed"))
    );
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&s.azure.accounts[0].application_id)
            && msg.contains("'Microsoft.Management/managementGroups/descendants/read'")
            && msg.contains(&format!("over scope '{MG}/{tenant}'")),
        "{msg}"
    );
    assert_eq!(
        subscription_ids(&sim, &t).await.len(),
        all.len(),
        "the rest still works"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_members_leave_join_suspend_and_lose_their_role() {
    let sim = start_org(62, 4);
    let s = sim.summary();
    let tenant = s.azure.accounts[0].tenant_id.clone();
    let app = s.azure.accounts[0].application_id.clone();
    let o = s.azure.organization.clone().unwrap();
    let (members, roles) = org_urls(&s);
    let t = arm_token(&sim, 0).await;
    let one = |id: &str| format!("/subscriptions/{id}?api-version=2022-12-01");
    let res = |id: &str| format!("/subscriptions/{id}/resources?api-version=2021-04-01");
    let rgs = |id: &str| format!("/subscriptions/{id}/resourcegroups?api-version=2021-04-01");
    let descendant_parent = |items: &[Value], id: &str| -> Option<String> {
        items.iter().find(|i| i["name"] == id).map(|i| {
            i["properties"]["parent"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
    };
    let m = o.members[0].id.clone();

    // Leave: moved to another tenant.
    let (st, v) = post(
        members.clone(),
        json!({"vendor": "azure", "account": tenant, "member": m, "action": "leave"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({"vendor": "azure", "account": tenant, "member": m, "ou": "mg-workloads-0",
               "status": "Enabled", "joined": false, "roles": ["Reader"]})
    );
    assert!(!subscription_ids(&sim, &t).await.contains(&m));
    for url in [one(&m), res(&m), rgs(&m)] {
        let (st, e) = arm(&sim, &t, &url).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (404, Some("SubscriptionNotFound")),
            "{url}"
        );
        assert_eq!(
            e["error"]["message"],
            format!("The subscription '{m}' could not be found.")
        );
    }
    let (items, _) = all_descendants(&sim, &t, &tenant, 1000).await;
    assert_eq!(descendant_parent(&items, &m), None);
    let summary = sim.summary().azure.organization.unwrap();
    assert_eq!(summary.members.len(), 3);
    assert!(summary.members.iter().all(|x| x.id != m));

    // Join: back, under the group asked for.
    let (st, v) = post(
        members.clone(),
        json!({"vendor": "azure", "account": tenant, "member": m, "action": "join", "ou": "mg-workloads-2"}),
    )
    .await;
    assert_eq!(
        (st, v["joined"].as_bool(), v["ou"].as_str()),
        (200, Some(true), Some("mg-workloads-2"))
    );
    assert!(subscription_ids(&sim, &t).await.contains(&m));
    assert_eq!(arm(&sim, &t, &res(&m)).await.0, 200);
    let (items, _) = all_descendants(&sim, &t, &tenant, 1000).await;
    assert_eq!(
        descendant_parent(&items, &m),
        Some(format!("{MG}/mg-workloads-2"))
    );
    let (items, _) = all_descendants(&sim, &t, "mg-workloads-2", 1000).await;
    assert!(descendant_parent(&items, &m).is_some());
    let summary = sim.summary().azure.organization.unwrap();
    assert!(
        summary
            .members
            .iter()
            .any(|x| x.id == m && x.ou == "mg-workloads-2")
    );
    // Join under the root group.
    let (st, v) = post(
        members.clone(),
        json!({"vendor": "azure", "account": tenant, "member": m, "action": "join", "ou": tenant}),
    )
    .await;
    assert_eq!((st, v["ou"].as_str()), (200, Some(tenant.as_str())));
    let (items, _) = all_descendants(&sim, &t, &tenant, 1000).await;
    assert_eq!(
        descendant_parent(&items, &m),
        Some(format!("{MG}/{tenant}"))
    );

    // Suspend: Disabled, still readable.
    let (st, v) = post(
        members.clone(),
        json!({"vendor": "azure", "account": tenant, "member": m, "action": "suspend"}),
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (200, Some("Disabled")));
    let (_, sub) = arm(&sim, &t, &one(&m)).await;
    assert_eq!(sub["state"], "Disabled");
    let (_, l) = arm(&sim, &t, "/subscriptions?api-version=2022-12-01").await;
    let listed = l["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["subscriptionId"] == m.as_str());
    assert_eq!(listed.unwrap()["state"], "Disabled");
    assert_eq!(arm(&sim, &t, &res(&m)).await.0, 200);

    // The application loses its role on another member.
    let r = o.members[1].id.clone();
    let (st, v) = post(
        roles.clone(),
        json!({"vendor": "azure", "member": r, "role": "Reader", "present": false}),
    )
    .await;
    assert_eq!((st, v["roles"].clone()), (200, json!([])));
    assert!(!subscription_ids(&sim, &t).await.contains(&r));
    for (url, action) in [
        (one(&r), "Microsoft.Resources/subscriptions/read"),
        (res(&r), "Microsoft.Resources/subscriptions/resources/read"),
        (
            rgs(&r),
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ),
    ] {
        let (st, e) = arm(&sim, &t, &url).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (403, Some("AuthorizationFailed")),
            "{url}"
        );
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!("The client '{app}' with object id '"))
                && msg.contains(&format!(
                    "perform action '{action}' over scope '/subscriptions/{r}'"
                )),
            "{msg}"
        );
    }
    // Still in the tenant: a descendant and a member of the summary.
    let (items, _) = all_descendants(&sim, &t, &tenant, 1000).await;
    assert!(descendant_parent(&items, &r).is_some());
    assert!(
        sim.summary()
            .azure
            .organization
            .unwrap()
            .members
            .iter()
            .any(|x| x.id == r)
    );
    let (st, v) = post(
        roles.clone(),
        json!({"vendor": "azure", "member": r, "role": "Reader", "present": true}),
    )
    .await;
    assert_eq!((st, v["roles"].clone()), (200, json!(["Reader"])));
    assert_eq!(arm(&sim, &t, &res(&r)).await.0, 200);
    assert!(subscription_ids(&sim, &t).await.contains(&r));

    // Refusals: unknown tenant or subscription 404; an own subscription, a
    // foreign tenant, an unknown group or action 400.
    let own = s.azure.accounts[0].subscriptions[0].clone();
    let other_tenant = s.azure.accounts[1].tenant_id.clone();
    let bad = [
        (
            json!({"vendor": "azure", "account": "nope", "member": m, "action": "leave"}),
            404,
        ),
        (
            json!({"vendor": "azure", "account": tenant, "member": "nope", "action": "leave"}),
            404,
        ),
        (
            json!({"vendor": "azure", "account": tenant, "member": own, "action": "leave"}),
            400,
        ),
        (
            json!({"vendor": "azure", "account": other_tenant, "member": m, "action": "leave"}),
            400,
        ),
        (
            json!({"vendor": "azure", "account": tenant, "member": m, "action": "join", "ou": "mg-x"}),
            400,
        ),
        (
            json!({"vendor": "azure", "account": tenant, "member": m, "action": "explode"}),
            400,
        ),
    ];
    assert_refused(&members, bad).await;
    let (st, _) = post(
        roles,
        json!({"vendor": "azure", "member": "nope", "role": "Reader", "present": true}),
    )
    .await;
    assert_eq!(st, 404);
}

// ------------------------------------------------------------------ HCS --

/// An HCS password token of account `i`, scoped to a project (by name) or
/// the domain; the status, the token and the body.
async fn hcs_token(sim: &Sim, i: usize, project: Option<&str>) -> (u16, Option<String>, Value) {
    let s = sim.summary();
    let a = &s.hcs.accounts[i];
    password_token(&s.hcs.endpoint, a, &a.password, project).await
}

async fn hcs_get(sim: &Sim, token: &str, path: &str) -> (u16, Value) {
    get_token(&format!("{}{path}", sim.summary().hcs.endpoint), token).await
}

/// `GET /v3/auth/projects`: (id, name, parent_id) of each.
async fn auth_projects(sim: &Sim, token: &str) -> Vec<(String, String, String)> {
    let (st, l) = hcs_get(sim, token, "/v3/auth/projects").await;
    assert_eq!(st, 200, "{l}");
    l["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
                p["parent_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hcs_vdc_projects_have_parents_and_show() {
    let sim = start_org(63, 5);
    let s = sim.summary();
    let a = &s.hcs.accounts[0];
    let domain = a.domain_id.clone();
    let o = s.hcs.organization.clone().expect("an HCS organization");
    assert_eq!(
        (&o.id, &o.root, &o.management_account_id),
        (&domain, &domain, &domain)
    );
    assert_eq!(o.units.len(), 3);
    for (k, u) in o.units.iter().enumerate() {
        assert_eq!(u.name, format!("vdc-{k}"));
        assert_eq!(u.id.len(), 32);
    }
    assert_eq!(o.members.len(), 5);
    for (k, m) in o.members.iter().enumerate() {
        assert_eq!(m.ou, o.units[k % 3].id);
        let (region, suffix) = m.name.split_once('_').unwrap();
        assert_eq!(suffix, format!("member{:02}", k + 1));
        {
            let w = sim.world.read().unwrap();
            assert!(
                w.v(Vendor::Hcs).accounts[0]
                    .regions
                    .iter()
                    .any(|r| r == region)
            );
        }
        assert!(
            a.projects.iter().all(|p| p.id != m.id),
            "members are not own projects"
        );
    }
    assert_eq!(a.resources, 20, "own resources only");
    assert!(s.hcs.accounts[1].projects.len() >= 2);

    let (st, t, _) = hcs_token(&sim, 0, None).await;
    assert_eq!(st, 201);
    let t = t.unwrap();
    // Own projects under the domain, members under their VDC, no VDC.
    let listed = auth_projects(&sim, &t).await;
    assert_eq!(listed.len(), a.projects.len() + 5);
    for p in &a.projects {
        assert!(listed.contains(&(p.id.clone(), p.name.clone(), domain.clone())));
    }
    for m in &o.members {
        assert!(
            listed.contains(&(m.id.clone(), m.name.clone(), m.ou.clone())),
            "{m:?}"
        );
    }
    assert!(
        listed
            .iter()
            .all(|(id, _, _)| o.units.iter().all(|u| &u.id != id))
    );
    // `GET /v3/projects` is every project of the domain, VDCs too.
    let (st, l) = hcs_get(&sim, &t, "/v3/projects").await;
    assert_eq!(st, 200);
    assert_eq!(
        l["projects"].as_array().unwrap().len(),
        a.projects.len() + 5 + 3
    );
    let (_, l) = hcs_get(&sim, &t, "/v3/projects?name=vdc-1").await;
    assert_eq!(l["projects"][0]["id"], o.units[1].id.as_str());

    // Show project: a VDC, a member, an own project; anything else 404.
    let (st, p) = hcs_get(&sim, &t, &format!("/v3/projects/{}", o.units[0].id)).await;
    assert_eq!(st, 200, "{p}");
    let base = &s.hcs.endpoint;
    assert_eq!(
        p,
        json!({"project": {"id": o.units[0].id, "name": "vdc-0", "domain_id": domain,
               "enabled": true, "is_domain": false, "parent_id": domain, "description": "",
               "links": {"self": format!("{base}/v3/projects/{}", o.units[0].id)}}})
    );
    let m = &o.members[4];
    let (st, p) = hcs_get(&sim, &t, &format!("/v3/projects/{}", m.id)).await;
    assert_eq!((st, &p["project"]["parent_id"]), (200, &json!(m.ou)));
    assert_eq!(p["project"]["name"], m.name.as_str());
    let (_, p) = hcs_get(&sim, &t, &format!("/v3/projects/{}", a.projects[0].id)).await;
    assert_eq!(p["project"]["parent_id"], domain.as_str());
    let other = &s.hcs.accounts[1].projects[0].id;
    for id in [other.as_str(), "0123456789abcdef0123456789abcdef"] {
        let (st, e) = hcs_get(&sim, &t, &format!("/v3/projects/{id}")).await;
        assert_eq!(
            (st, e["error_code"].as_str()),
            (404, Some("IAM.0004")),
            "{e}"
        );
        assert_eq!(e["error_msg"], format!("Could not find project: {id}."));
    }
    let (st, e) = hcs_get(&sim, "forged", &format!("/v3/projects/{}", m.id)).await;
    assert_eq!((st, e["error_code"].as_str()), (401, Some("APIGW.0301")));

    // A token scoped to a member lists its servers; none to a VDC.
    let (st, mt, body) = hcs_token(&sim, 0, Some(&m.name)).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["token"]["project"]["id"], m.id.as_str());
    let (st, l) = hcs_get(
        &sim,
        &mt.unwrap(),
        &format!("/v1/{}/cloudservers/detail", m.id),
    )
    .await;
    assert_eq!(st, 200, "{l}");
    let want = {
        let w = sim.world.read().unwrap();
        let vw = w.v(Vendor::Hcs);
        let (ai, scope) = vw.by_scope[&m.id];
        vw.accounts[ai as usize]
            .part(scope, List::Of(Kind::Instance))
            .map_or(0, |p| p.len())
    };
    assert!(want > 0);
    assert_eq!(l["count"], want);
    let (st, _, e) = hcs_token(&sim, 0, Some("vdc-0")).await;
    assert_eq!((st, e["error"]["code"].as_i64()), (401, Some(401)));

    // A denied KeystoneShowProject.
    let mut h = tether_sim::HygieneUpdate::new(Vendor::Hcs, &a.account);
    h.deny = Some(["KeystoneShowProject".to_string()].into());
    sim.set_hygiene(&h).unwrap();
    let (st, e) = hcs_get(&sim, &t, &format!("/v3/projects/{}", m.id)).await;
    assert_eq!((st, e["error_code"].as_str()), (403, Some("IAM.0003")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hcs_members_leave_join_and_lose_their_role() {
    let sim = start_org(64, 4);
    let s = sim.summary();
    let a = s.hcs.accounts[0].clone();
    let o = s.hcs.organization.clone().unwrap();
    let (members, roles) = org_urls(&s);
    let (_, dt, _) = hcs_token(&sim, 0, None).await;
    let dt = dt.unwrap();
    let servers = |id: &str| format!("/v1/{id}/cloudservers/detail");
    let vpcs = |id: &str| format!("/v1/{id}/vpcs");
    let listed = |l: &[(String, String, String)], id: &str| l.iter().any(|(x, _, _)| x == id);
    let m = o.members[0].clone();
    let (st, old, _) = hcs_token(&sim, 0, Some(&m.name)).await;
    assert_eq!(st, 201);
    let old = old.unwrap();
    assert_eq!(hcs_get(&sim, &old, &servers(&m.id)).await.0, 200);

    // Leave (the account named by its login name): the project is deleted.
    let (st, v) = post(
        members.clone(),
        json!({"vendor": "hcs", "account": a.account, "member": m.id, "action": "leave"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({"vendor": "hcs", "account": a.account, "member": m.id, "ou": o.units[0].id,
               "status": "enabled", "joined": false, "roles": ["te_admin"]})
    );
    assert!(!listed(&auth_projects(&sim, &dt).await, &m.id));
    let (st, e) = hcs_get(&sim, &dt, &format!("/v3/projects/{}", m.id)).await;
    assert_eq!((st, e["error_code"].as_str()), (404, Some("IAM.0004")));
    let (st, _, e) = hcs_token(&sim, 0, Some(&m.name)).await;
    assert_eq!(
        (st, e["error"]["title"].as_str()),
        (401, Some("Unauthorized"))
    );
    for url in [servers(&m.id), vpcs(&m.id)] {
        let (st, e) = hcs_get(&sim, &old, &url).await;
        assert_eq!(
            (st, e["error_code"].as_str()),
            (401, Some("APIGW.0301")),
            "{url}"
        );
        assert_eq!(
            e["error_msg"],
            "Incorrect IAM authentication information: The token must be updated."
        );
        let (st, e) = hcs_get(&sim, &dt, &url).await;
        assert_eq!(
            (st, e["error_code"].as_str()),
            (403, Some("APIGW.0302")),
            "{url}"
        );
    }
    let summary = sim.summary().hcs.organization.unwrap();
    assert_eq!(summary.members.len(), 3);
    assert!(summary.members.iter().all(|x| x.id != m.id));

    // Join (the account named by its domain id) under another VDC.
    let (st, v) = post(
        members.clone(),
        json!({"vendor": "hcs", "account": a.domain_id, "member": m.id, "action": "join", "ou": o.units[2].id}),
    )
    .await;
    assert_eq!((st, v["joined"].as_bool()), (200, Some(true)), "{v}");
    let l = auth_projects(&sim, &dt).await;
    assert!(l.contains(&(m.id.clone(), m.name.clone(), o.units[2].id.clone())));
    let (st, fresh, _) = hcs_token(&sim, 0, Some(&m.name)).await;
    assert_eq!(st, 201);
    assert_eq!(hcs_get(&sim, &fresh.unwrap(), &servers(&m.id)).await.0, 200);
    let summary = sim.summary().hcs.organization.unwrap();
    assert!(
        summary
            .members
            .iter()
            .any(|x| x.id == m.id && x.ou == o.units[2].id)
    );

    // The user loses its role in another member (any role name).
    let r = o.members[1].clone();
    let (_, rt, _) = hcs_token(&sim, 0, Some(&r.name)).await;
    let rt = rt.unwrap();
    let (st, v) = post(
        roles.clone(),
        json!({"vendor": "hcs", "member": r.id, "role": "member", "present": false}),
    )
    .await;
    assert_eq!((st, v["roles"].clone()), (200, json!([])), "{v}");
    assert!(!listed(&auth_projects(&sim, &dt).await, &r.id));
    let (st, _, _) = hcs_token(&sim, 0, Some(&r.name)).await;
    assert_eq!(st, 401);
    let (st, e) = hcs_get(&sim, &rt, &servers(&r.id)).await;
    assert_eq!((st, e["error_code"].as_str()), (401, Some("APIGW.0301")));
    // The project is still there: shown, and a member of the summary.
    let (st, p) = hcs_get(&sim, &dt, &format!("/v3/projects/{}", r.id)).await;
    assert_eq!((st, &p["project"]["parent_id"]), (200, &json!(r.ou)));
    assert!(
        sim.summary()
            .hcs
            .organization
            .unwrap()
            .members
            .iter()
            .any(|x| x.id == r.id)
    );
    let (st, v) = post(
        roles,
        json!({"vendor": "hcs", "member": r.name, "role": "te_admin", "present": true}),
    )
    .await;
    assert_eq!((st, v["roles"].clone()), (200, json!(["te_admin"])), "{v}");
    assert!(listed(&auth_projects(&sim, &dt).await, &r.id));
    assert_eq!(hcs_token(&sim, 0, Some(&r.name)).await.0, 201);

    // Suspend: disabled, shown with enabled false, not usable.
    let (st, v) = post(
        members.clone(),
        json!({"vendor": "hcs", "account": a.account, "member": r.id, "action": "suspend"}),
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (200, Some("disabled")));
    let (_, p) = hcs_get(&sim, &dt, &format!("/v3/projects/{}", r.id)).await;
    assert_eq!(p["project"]["enabled"], false);
    assert!(!listed(&auth_projects(&sim, &dt).await, &r.id));
    assert_eq!(hcs_token(&sim, 0, Some(&r.name)).await.0, 401);

    // Refusals: unknown account or project 404; an own project, a VDC id as
    // a member, an unknown VDC 400.
    let bad = [
        (
            json!({"vendor": "hcs", "account": "nope", "member": m.id, "action": "leave"}),
            404,
        ),
        (
            json!({"vendor": "hcs", "account": a.account, "member": "nope", "action": "leave"}),
            404,
        ),
        (
            json!({"vendor": "hcs", "account": a.account, "member": a.projects[0].id, "action": "leave"}),
            400,
        ),
        (
            json!({"vendor": "hcs", "account": s.hcs.accounts[1].account, "member": m.id, "action": "leave"}),
            400,
        ),
        (
            json!({"vendor": "hcs", "account": a.account, "member": m.id, "action": "join", "ou": "nope"}),
            400,
        ),
    ];
    assert_refused(&members, bad).await;
}

// ------------------------------------------------------------ summaries --

#[test]
fn worlds_without_members_have_no_tenant_organizations() {
    let w = World::generate(65, 2, 10);
    let plain = Sim::start(w, Options::default()).unwrap();
    let s = plain.summary();
    assert!(s.azure.organization.is_none() && s.hcs.organization.is_none());
    let v = serde_json::to_value(&s).unwrap();
    assert!(v["azure"].get("organization").is_none());
    assert!(v["hcs"].get("organization").is_none());
    assert_eq!(s.azure.accounts[0].resources, 10);
}

#[test]
fn binary_line_carries_the_azure_and_hcs_organizations() {
    let (child, s, v) = spawn_org("7", "1", &[]);
    for (vendor, root) in [
        ("azure", s.azure.accounts[0].tenant_id.clone()),
        ("hcs", s.hcs.accounts[0].domain_id.clone()),
    ] {
        let o = &v[vendor]["organization"];
        for k in ["id", "root", "management_account_id"] {
            assert_eq!(o[k], root.as_str(), "{vendor} {k}");
        }
        assert_eq!(o["units"].as_array().unwrap().len(), 2, "{vendor}");
        let members = o["members"].as_array().unwrap();
        assert_eq!(members.len(), 3, "{vendor}");
        assert_eq!(members[2]["ou"], o["units"][0]["id"]);
        for k in ["id", "name", "ou"] {
            assert!(members[0][k].is_string(), "{vendor} {k}");
        }
    }
    assert_eq!(
        v["azure"]["organization"]["units"][1]["id"],
        "mg-workloads-1"
    );
    assert_eq!(v["hcs"]["organization"]["units"][1]["name"], "vdc-1");
    stop(child);
}
