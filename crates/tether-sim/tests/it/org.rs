//! AWS Organizations and STS `AssumeRole`: the management account lists its
//! organization, assumes the member role, and the temporary credentials act
//! as the member; refusals carry AWS's codes. Requests are signed with the
//! simulator's own SigV4 code (and the session token header).

use serde_json::{Value, json};
use tether_sim::auth::sigv4;
use tether_sim::auth::{canonical_headers, canonical_query, canonical_request, sha256_hex};
use tether_sim::world::{ACCESS_ROLE, Kind, List, MemberUpdate, RoleUpdate};
use tether_sim::{Sim, Vendor, World};

use crate::harness::{self, assert_refused, org_urls, post, strs};

const TARGET: &str = "AWSOrganizationsV20161128.";

/// Two accounts per vendor; the first AWS one manages `members` members.
fn start_org(seed: u64, members: usize) -> Sim {
    harness::start_org(seed, 40, members, 3)
}

#[derive(Clone)]
struct Creds {
    ak: String,
    sk: String,
    token: Option<String>,
}

fn key_creds(sim: &Sim, i: usize) -> Creds {
    let a = &sim.summary().aws.accounts[i];
    Creds {
        ak: a.access_key_id.clone(),
        sk: a.secret_access_key.clone(),
        token: None,
    }
}

/// A SigV4-signed `POST /`; `target` makes it a JSON 1.1 call.
async fn call(
    sim: &Sim,
    c: &Creds,
    service: &str,
    region: &str,
    target: Option<&str>,
    body: String,
) -> (u16, String) {
    let endpoint = sim.summary().aws.endpoint;
    let host = endpoint.trim_start_matches("http://").to_string();
    let amz_date = tether_sim::clock::fmt_basic(sim.now());
    let ct = if target.is_some() {
        "application/x-amz-json-1.1"
    } else {
        "application/x-www-form-urlencoded; charset=utf-8"
    };
    let mut headers: Vec<(String, String)> = vec![
        ("content-type".into(), ct.into()),
        ("host".into(), host),
        ("x-amz-date".into(), amz_date.clone()),
    ];
    if let Some(t) = &c.token {
        headers.push(("x-amz-security-token".into(), t.clone()));
    }
    if let Some(t) = target {
        headers.push(("x-amz-target".into(), format!("{TARGET}{t}")));
    }
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = names.join(";");
    let canonical = canonical_request(
        "POST",
        "/",
        &canonical_query(&[]),
        &canonical_headers(&headers, &names).unwrap(),
        &signed,
        &sha256_hex(body.as_bytes()),
    );
    let sig = sigv4::sign(&c.sk, &amz_date, region, service, &canonical);
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}/{region}/{service}/aws4_request, SignedHeaders={signed}, Signature={sig}",
        c.ak,
        &amz_date[..8]
    );
    let mut rb = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("authorization", auth);
    for (k, v) in &headers {
        if k != "host" {
            rb = rb.header(k.as_str(), v.as_str());
        }
    }
    let r = rb.body(body).send().await.unwrap();
    let status = r.status().as_u16();
    if target.is_some() && status == 200 {
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/x-amz-json-1.1"
        );
        assert!(r.headers().contains_key("x-amzn-requestid"));
    }
    (status, r.text().await.unwrap())
}

async fn org(sim: &Sim, c: &Creds, op: &str, body: Value) -> (u16, Value) {
    let (s, b) = call(
        sim,
        c,
        "organizations",
        "us-east-1",
        Some(op),
        body.to_string(),
    )
    .await;
    (s, serde_json::from_str(&b).unwrap())
}

async fn query(sim: &Sim, c: &Creds, service: &str, region: &str, form: &str) -> (u16, String) {
    call(sim, c, service, region, None, form.to_string()).await
}

/// The text of the first `<name>` element.
fn tag(body: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = body
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {body}"))
        + open.len();
    let end = body[start..].find(&format!("</{name}>")).unwrap() + start;
    body[start..end].to_string()
}

async fn assume(sim: &Sim, c: &Creds, member: &str, role: &str, extra: &str) -> (u16, String) {
    let arn = format!("arn:aws:iam::{member}:role/{role}");
    let form = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=tether-sync{extra}",
        tether_sim::encode::pct(&arn)
    );
    query(sim, c, "sts", "us-east-1", &form).await
}

/// Assumes the access role of `member` as the management account.
async fn session(sim: &Sim, member: &str, extra: &str) -> (Creds, String) {
    let (s, b) = assume(sim, &key_creds(sim, 0), member, ACCESS_ROLE, extra).await;
    assert_eq!(s, 200, "{b}");
    let c = Creds {
        ak: tag(&b, "AccessKeyId"),
        sk: tag(&b, "SecretAccessKey"),
        token: Some(tag(&b, "SessionToken")),
    };
    (c, b)
}

const GCI: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const DI: &str = "Action=DescribeInstances&Version=2016-11-15";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_describes_and_lists_for_the_management_account() {
    let sim = start_org(31, 10);
    let s = sim.summary();
    assert_eq!(s.aws.accounts.len(), 2, "members are not key accounts");
    let o = s.aws.organization.clone().unwrap();
    let mgmt = &s.aws.accounts[0].main_account_id;
    assert_eq!(&o.management_account_id, mgmt);
    assert_eq!(o.members.len(), 10);
    assert_eq!(o.units.len(), 3);
    assert_eq!(o.units[1].name, "Workloads 1");
    assert!(o.id.starts_with("o-") && o.id.len() == 12, "{}", o.id);
    assert!(o.root.starts_with("r-") && o.root.len() == 6, "{}", o.root);
    for u in &o.units {
        assert_eq!(u.id.len(), "ou-".len() + 4 + 1 + 8, "{}", u.id);
        assert!(u.id.starts_with(&format!("ou-{}-", &o.root[2..])));
    }
    // Round-robin over the units.
    for (k, m) in o.members.iter().enumerate() {
        assert_eq!(m.ou, o.units[k % 3].id);
    }
    // Deterministic from the seed.
    let again = World::generate_org(31, 2, 40, 10, 3);
    assert_eq!(again.org.as_ref().unwrap().id, o.id);
    {
        let w = sim.world.read().unwrap();
        let m = w.v(Vendor::Aws).by_id[&o.members[0].id];
        let a = &w.v(Vendor::Aws).accounts[m as usize];
        assert_eq!(a.count(), 40, "members have resources");
        assert!(a.key_id.is_empty());
    }

    let c = key_creds(&sim, 0);
    let (st, d) = org(&sim, &c, "DescribeOrganization", json!({})).await;
    assert_eq!(st, 200, "{d}");
    let d = &d["Organization"];
    assert_eq!(d["Id"], o.id.as_str());
    assert_eq!(d["MasterAccountId"], mgmt.as_str());
    assert_eq!(d["FeatureSet"], "ALL");
    assert_eq!(
        d["MasterAccountArn"],
        format!("arn:aws:organizations::{mgmt}:account/{}/{mgmt}", o.id).as_str()
    );

    // Paging: 11 accounts (the management account too) in pages of 5.
    let (mut ids, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let mut b = json!({"MaxResults": 5});
        if let Some(t) = &token {
            b["NextToken"] = json!(t);
        }
        let (st, page) = org(&sim, &c, "ListAccounts", b).await;
        assert_eq!(st, 200, "{page}");
        pages += 1;
        for a in page["Accounts"].as_array().unwrap() {
            assert_eq!(a["Status"], "ACTIVE");
            assert!(a["JoinedTimestamp"].is_number());
            assert!(
                a["Arn"]
                    .as_str()
                    .unwrap()
                    .ends_with(a["Id"].as_str().unwrap())
            );
            ids.push(a["Id"].as_str().unwrap().to_string());
        }
        match page.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut want: Vec<String> = o.members.iter().map(|m| m.id.clone()).collect();
    want.insert(0, mgmt.clone());
    assert_eq!(ids, want);
    let (st, e) = org(&sim, &c, "ListAccounts", json!({"MaxResults": 21})).await;
    assert_eq!(
        (st, e["__type"].as_str()),
        (400, Some("InvalidInputException"))
    );

    let (st, p) = org(&sim, &c, "ListParents", json!({"ChildId": o.members[4].id})).await;
    assert_eq!(st, 200);
    assert_eq!(p["Parents"][0]["Id"], o.units[1].id.as_str());
    assert_eq!(p["Parents"][0]["Type"], "ORGANIZATIONAL_UNIT");
    let (_, p) = org(&sim, &c, "ListParents", json!({"ChildId": o.units[0].id})).await;
    assert_eq!(p["Parents"][0]["Id"], o.root.as_str());
    assert_eq!(p["Parents"][0]["Type"], "ROOT");
    let (st, e) = org(&sim, &c, "ListParents", json!({"ChildId": "999999999999"})).await;
    assert_eq!(
        (st, e["__type"].as_str()),
        (400, Some("ChildNotFoundException"))
    );

    let (st, u) = org(
        &sim,
        &c,
        "DescribeOrganizationalUnit",
        json!({"OrganizationalUnitId": o.units[2].id}),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(u["OrganizationalUnit"]["Name"], "Workloads 2");
    assert!(
        u["OrganizationalUnit"]["Arn"]
            .as_str()
            .unwrap()
            .contains(":ou/o-")
    );
    let (st, e) = org(
        &sim,
        &c,
        "DescribeOrganizationalUnit",
        json!({"OrganizationalUnitId": "ou-zzzz-zzzzzzzz"}),
    )
    .await;
    assert_eq!(
        (st, e["__type"].as_str()),
        (400, Some("OrganizationalUnitNotFoundException"))
    );

    let (st, r) = org(&sim, &c, "ListRoots", json!({})).await;
    assert_eq!(st, 200);
    assert_eq!(r["Roots"][0]["Id"], o.root.as_str());
    assert_eq!(r["Roots"][0]["Name"], "Root");
    assert_eq!(r["Roots"][0]["PolicyTypes"], json!([]));

    // The deny set takes the operation names.
    let mut h = tether_sim::HygieneUpdate::new(Vendor::Aws, mgmt);
    h.deny = Some(["ListRoots".to_string()].into());
    sim.set_hygiene(&h).unwrap();
    let (st, e) = org(&sim, &c, "ListRoots", json!({})).await;
    assert_eq!(
        (st, e["__type"].as_str()),
        (400, Some("AccessDeniedException"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_refuses_other_accounts() {
    let sim = start_org(32, 2);
    let (st, e) = org(&sim, &key_creds(&sim, 1), "DescribeOrganization", json!({})).await;
    assert_eq!(st, 400);
    assert_eq!(e["__type"], "AWSOrganizationsNotInUseException");
    assert_eq!(
        e["Message"],
        "Your account is not a member of an organization."
    );

    let member = sim.summary().aws.organization.unwrap().members[0]
        .id
        .clone();
    let (c, _) = session(&sim, &member, "").await;
    let (st, e) = org(&sim, &c, "ListAccounts", json!({})).await;
    assert_eq!(
        (st, e["__type"].as_str()),
        (400, Some("AccessDeniedException"))
    );

    // A world without members has no organization at all.
    let plain = harness::start(33, 1, 1);
    assert!(plain.summary().aws.organization.is_none());
    let (st, e) = org(&plain, &key_creds(&plain, 0), "ListRoots", json!({})).await;
    assert_eq!(
        (st, e["__type"].as_str()),
        (400, Some("AWSOrganizationsNotInUseException"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assumed_role_credentials_act_as_the_member() {
    let sim = start_org(34, 2);
    let member = sim.summary().aws.organization.unwrap().members[1]
        .id
        .clone();
    let (c, b) = session(&sim, &member, "").await;
    assert!(c.ak.starts_with("ASIA"), "{}", c.ak);
    let arn = format!("arn:aws:sts::{member}:assumed-role/{ACCESS_ROLE}/tether-sync");
    assert_eq!(tag(&b, "Arn"), arn);
    let role_id = tag(&b, "AssumedRoleId");
    assert!(role_id.starts_with("AROA") && role_id.ends_with(":tether-sync"));
    let exp = tether_sim::clock::parse_extended(&tag(&b, "Expiration")).unwrap();
    assert!((3590..=3610).contains(&(exp - sim.now())));

    let (st, g) = query(&sim, &c, "sts", "us-east-1", GCI).await;
    assert_eq!(st, 200, "{g}");
    assert_eq!(tag(&g, "Arn"), arn);
    assert_eq!(tag(&g, "Account"), member);
    assert_eq!(tag(&g, "UserId"), role_id);

    let (st, d) = query(&sim, &c, "ec2", "us-east-1", DI).await;
    assert_eq!(st, 200, "{d}");
    let want = {
        let w = sim.world.read().unwrap();
        let a = &w.v(Vendor::Aws).accounts[w.v(Vendor::Aws).by_id[&member] as usize];
        a.part(0, List::Of(Kind::Instance)).map_or(0, |p| p.len())
    };
    assert!(want > 0);
    assert_eq!(d.matches("<instanceId>").count(), want);
    assert_eq!(tag(&d, "ownerId"), member);

    // The SDK takes them too.
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            &c.ak,
            &c.sk,
            c.token.clone(),
            None,
            "session",
        ))
        .endpoint_url(sim.summary().aws.endpoint)
        .load()
        .await;
    let out = aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(out.arn(), Some(arn.as_str()));

    // A wrong or missing token is an unknown key.
    for token in [Some("wrong".to_string()), None] {
        let bad = Creds { token, ..c.clone() };
        let (st, e) = query(&sim, &bad, "sts", "us-east-1", GCI).await;
        assert_eq!((st, tag(&e, "Code")), (403, "InvalidClientTokenId".into()));
        let (st, e) = query(&sim, &bad, "ec2", "us-east-1", DI).await;
        assert_eq!((st, tag(&e, "Code")), (401, "AuthFailure".into()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_refused() {
    let sim = start_org(35, 1);
    let member = sim.summary().aws.organization.unwrap().members[0]
        .id
        .clone();
    let (c, _) = session(&sim, &member, "&DurationSeconds=900").await;
    assert_eq!(query(&sim, &c, "sts", "us-east-1", GCI).await.0, 200);
    sim.advance_clock(901);
    let (st, e) = query(&sim, &c, "sts", "us-east-1", GCI).await;
    assert_eq!((st, tag(&e, "Code")), (403, "ExpiredToken".into()));
    assert_eq!(
        tag(&e, "Message"),
        "The security token included in the request is expired"
    );
    // EC2 calls expired temporary credentials an expired request.
    let (st, e) = query(&sim, &c, "ec2", "us-east-1", DI).await;
    assert_eq!((st, tag(&e, "Code")), (400, "RequestExpired".into()));
    // Out-of-range durations are refused.
    let (st, e) = assume(
        &sim,
        &key_creds(&sim, 0),
        &member,
        ACCESS_ROLE,
        "&DurationSeconds=60",
    )
    .await;
    assert_eq!((st, tag(&e, "Code")), (400, "ValidationError".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_is_refused_without_trust() {
    let sim = start_org(36, 3);
    let s = sim.summary();
    let o = s.aws.organization.unwrap();
    let mgmt = s.aws.accounts[0].main_account_id.clone();
    let member = o.members[0].id.clone();
    let denied = |caller: &str, role: &str| {
        format!(
            "User: arn:aws:iam::{caller}:user/tether is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{member}:role/{role}"
        )
    };

    // A caller that is not the management account.
    let other = s.aws.accounts[1].main_account_id.clone();
    let (st, e) = assume(&sim, &key_creds(&sim, 1), &member, ACCESS_ROLE, "").await;
    assert_eq!((st, tag(&e, "Code")), (403, "AccessDenied".into()));
    assert_eq!(tag(&e, "Message"), denied(&other, ACCESS_ROLE));
    // A role that does not exist.
    let (st, e) = assume(&sim, &key_creds(&sim, 0), &member, "Nope", "").await;
    assert_eq!((st, tag(&e, "Message")), (403, denied(&mgmt, "Nope")));

    // A removed role, then restored.
    let role = |present| RoleUpdate {
        vendor: Vendor::Aws,
        member: member.clone(),
        role: ACCESS_ROLE.into(),
        present,
    };
    sim.set_member_role(&role(false)).unwrap();
    let (st, e) = assume(&sim, &key_creds(&sim, 0), &member, ACCESS_ROLE, "").await;
    assert_eq!((st, tag(&e, "Message")), (403, denied(&mgmt, ACCESS_ROLE)));
    sim.set_member_role(&role(true)).unwrap();
    session(&sim, &member, "").await;

    // A member that left: not listed, not assumable.
    let v = sim
        .update_member(&MemberUpdate {
            vendor: Vendor::Aws,
            account: mgmt.clone(),
            member: member.clone(),
            action: "leave".into(),
            ou: None,
        })
        .unwrap();
    assert!(!v.joined);
    let (_, l) = org(&sim, &key_creds(&sim, 0), "ListAccounts", json!({})).await;
    let ids = strs(&l["Accounts"], "Id");
    assert_eq!(ids.len(), 3);
    assert!(!ids.contains(&member.as_str()));
    assert!(
        sim.summary()
            .aws
            .organization
            .unwrap()
            .members
            .iter()
            .all(|m| m.id != member)
    );
    let (st, e) = assume(&sim, &key_creds(&sim, 0), &member, ACCESS_ROLE, "").await;
    assert_eq!((st, tag(&e, "Code")), (403, "AccessDenied".into()));

    // A bad session name.
    let form = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=a",
        tether_sim::encode::pct(&format!(
            "arn:aws:iam::{}:role/{ACCESS_ROLE}",
            o.members[1].id
        ))
    );
    let (st, e) = query(&sim, &key_creds(&sim, 0), "sts", "us-east-1", &form).await;
    assert_eq!((st, tag(&e, "Code")), (400, "ValidationError".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_http_changes_the_organization() {
    let sim = start_org(37, 4);
    let s = sim.summary();
    let o = s.aws.organization.clone().unwrap();
    let mgmt = s.aws.accounts[0].main_account_id.clone();
    let member = o.members[0].id.clone();
    let (members, roles) = org_urls(&s);
    let c = key_creds(&sim, 0);
    let listed = |l: &Value| -> Vec<(String, String)> {
        l["Accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["Id"].as_str().unwrap().to_string(),
                    a["Status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };

    let (st, v) = post(
        members.clone(),
        json!({"vendor": "aws", "account": mgmt, "member": member, "action": "leave"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["joined"], false);
    let (_, l) = org(&sim, &c, "ListAccounts", json!({})).await;
    assert_eq!(listed(&l).len(), 4);

    let (st, v) = post(
        members.clone(),
        json!({"vendor": "aws", "account": mgmt, "member": member, "action": "join", "ou": o.units[2].id}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["ou"], o.units[2].id.as_str());
    let (_, p) = org(&sim, &c, "ListParents", json!({"ChildId": member})).await;
    assert_eq!(p["Parents"][0]["Id"], o.units[2].id.as_str());
    let (_, l) = org(&sim, &c, "ListAccounts", json!({})).await;
    let l = listed(&l);
    assert_eq!(l.len(), 5);
    assert!(l.contains(&(member.clone(), "ACTIVE".into())));

    let (st, v) = post(
        members.clone(),
        json!({"vendor": "aws", "account": mgmt, "member": member, "action": "suspend"}),
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (200, Some("SUSPENDED")));
    let (_, l) = org(&sim, &c, "ListAccounts", json!({})).await;
    assert!(listed(&l).contains(&(member.clone(), "SUSPENDED".into())));

    let other = o.members[1].id.clone();
    let (st, v) = post(
        roles.clone(),
        json!({"vendor": "aws", "member": other, "role": ACCESS_ROLE, "present": false}),
    )
    .await;
    assert_eq!((st, v["roles"].clone()), (200, json!([])));
    assert_eq!(assume(&sim, &c, &other, ACCESS_ROLE, "").await.0, 403);
    let (st, v) = post(
        roles.clone(),
        json!({"vendor": "aws", "member": other, "role": ACCESS_ROLE, "present": true}),
    )
    .await;
    assert_eq!((st, v["roles"].clone()), (200, json!([ACCESS_ROLE])));
    assert_eq!(assume(&sim, &c, &other, ACCESS_ROLE, "").await.0, 200);

    // Refusals: unknown account 404; not a member, bad action or OU 400.
    let bad = [
        (
            json!({"vendor": "aws", "account": mgmt, "member": "000000000000", "action": "leave"}),
            404,
        ),
        (
            json!({"vendor": "aws", "account": "000000000000", "member": member, "action": "leave"}),
            404,
        ),
        (
            json!({"vendor": "aws", "account": mgmt, "member": s.aws.accounts[1].main_account_id, "action": "leave"}),
            400,
        ),
        (
            json!({"vendor": "aws", "account": mgmt, "member": member, "action": "explode"}),
            400,
        ),
        (
            json!({"vendor": "aws", "account": mgmt, "member": member, "action": "join", "ou": "ou-x"}),
            400,
        ),
        (
            json!({"vendor": "aws", "account": member, "member": member, "action": "leave"}),
            400,
        ),
    ];
    assert_refused(&members, bad).await;
    let (st, _) = post(
        roles,
        json!({"vendor": "aws", "member": "000000000000", "role": ACCESS_ROLE, "present": true}),
    )
    .await;
    assert_eq!(st, 404);
}

#[test]
fn binary_writes_no_member_into_the_config() {
    harness::assert_binary_writes_no_member("6", Vendor::Aws);
}
