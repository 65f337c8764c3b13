//! Alibaba Cloud Resource Directory and STS `AssumeRole`: the master account
//! lists its directory, assumes the member role, and the temporary
//! credentials (with their security token) act as the member; refusals
//! carry Alibaba's codes. Requests are signed v1 and V3 with the
//! simulator's own signers, dated by the simulator's clock.

use serde_json::{Value, json};
use tether_sim::clock;
use tether_sim::world::{Kind, List, MemberUpdate, RD_ACCESS_ROLE, RoleUpdate};
use tether_sim::{HygieneUpdate, Sim, Vendor, World};

use crate::harness::alibaba::Client;
use crate::harness::{self, assert_refused, org_urls, post, strs};

const RD: &str = "2022-04-19";
const STS: &str = "2015-04-01";
const ECS: &str = "2014-05-26";

/// Two accounts per vendor; the first Alibaba one is the master of a
/// resource directory of `members` members in `folders` folders.
fn start_rd(seed: u64, members: usize, folders: usize) -> Sim {
    harness::start_org(seed, 40, members, folders)
}

/// A V3 call dated by the simulator's clock: the status and the body.
async fn v3(
    sim: &Sim,
    c: &Client,
    action: &str,
    version: &str,
    query: &[(&str, &str)],
) -> (u16, Value) {
    let a = c.v3_at(sim.now(), action, version, query).await;
    (a.status, a.body)
}

/// A v1 form POST dated by the simulator's clock: the status and the body.
async fn v1(
    sim: &Sim,
    c: &Client,
    action: &str,
    version: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let a = c.v1_at(sim.now(), "POST", action, version, extra).await;
    (a.status, a.body)
}

fn role_arn(member: &str, role: &str) -> String {
    format!("acs:ram::{member}:role/{role}")
}

async fn assume(
    sim: &Sim,
    c: &Client,
    member: &str,
    role: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let arn = role_arn(member, role);
    let mut q = vec![
        ("RoleArn", arn.as_str()),
        ("RoleSessionName", "tether-sync"),
    ];
    q.extend_from_slice(extra);
    v3(sim, c, "AssumeRole", STS, &q).await
}

/// Assumes the access role of `member` as the master account.
async fn session(sim: &Sim, member: &str, extra: &[(&str, &str)]) -> (Client, Value) {
    let master = Client::of(sim, 0);
    let (st, b) = assume(sim, &master, member, RD_ACCESS_ROLE, extra).await;
    assert_eq!(st, 200, "{b}");
    let c = &b["Credentials"];
    let creds = Client {
        ak: c["AccessKeyId"].as_str().unwrap().to_string(),
        sk: c["AccessKeySecret"].as_str().unwrap().to_string(),
        token: Some(c["SecurityToken"].as_str().unwrap().to_string()),
        ..master
    };
    (creds, b)
}

fn code(b: &Value) -> &str {
    b["Code"].as_str().unwrap_or("")
}

fn members_of(sim: &Sim) -> Vec<String> {
    sim.summary()
        .alibaba
        .organization
        .unwrap()
        .members
        .into_iter()
        .map(|m| m.id)
        .collect()
}

fn leave_or_join(sim: &Sim, member: &str, action: &str, ou: Option<&str>) {
    let master = sim.summary().alibaba.accounts[0].main_account_id.clone();
    sim.update_member(&MemberUpdate {
        vendor: Vendor::Alibaba,
        account: master,
        member: member.to_string(),
        action: action.into(),
        ou: ou.map(str::to_string),
    })
    .unwrap();
}

fn set_role(sim: &Sim, member: &str, role: &str, present: bool) {
    sim.set_member_role(&RoleUpdate {
        vendor: Vendor::Alibaba,
        member: member.to_string(),
        role: role.into(),
        present,
    })
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_directory_describes_and_lists_for_the_master() {
    let sim = start_rd(41, 12, 3);
    let s = sim.summary();
    assert_eq!(s.alibaba.accounts.len(), 2, "members are not key accounts");
    let o = s.alibaba.organization.clone().unwrap();
    let master = &s.alibaba.accounts[0];
    assert_eq!(o.management_account_id, master.main_account_id);
    let alnum = |x: &str| x.bytes().all(|b| b.is_ascii_alphanumeric());
    assert!(
        o.id.starts_with("rd-") && o.id.len() == 9 && alnum(&o.id[3..]),
        "{}",
        o.id
    );
    assert!(
        o.root.starts_with("r-") && o.root.len() == 8 && alnum(&o.root[2..]),
        "{}",
        o.root
    );
    assert_eq!(o.units.len(), 3);
    for (k, u) in o.units.iter().enumerate() {
        assert!(
            u.id.starts_with("fd-") && u.id.len() == 13 && alnum(&u.id[3..]),
            "{}",
            u.id
        );
        assert_eq!(u.name, format!("Workloads {k}"));
    }
    assert_eq!(o.members.len(), 12);
    for (k, m) in o.members.iter().enumerate() {
        assert_eq!(m.ou, o.units[k % 3].id, "round-robin over the folders");
        assert_eq!(m.id.len(), 16);
        assert!(m.id.bytes().all(|b| b.is_ascii_digit()));
        assert!(!m.name.is_empty());
    }
    // Deterministic from the seed; the AWS organization is there too.
    let again = World::generate_org(41, 2, 40, 12, 3);
    assert_eq!(again.alibaba_org.as_ref().unwrap().id, o.id);
    assert_eq!(s.aws.organization.unwrap().members.len(), 12);
    {
        let w = sim.world.read().unwrap();
        let vw = w.v(Vendor::Alibaba);
        let a = &vw.accounts[vw.by_id[&o.members[0].id] as usize];
        assert_eq!(a.count(), 40, "members have resources");
        assert!(a.key_id.is_empty() && a.secret.is_empty());
    }

    let c = Client::of(&sim, 0);
    let (st, d) = v3(&sim, &c, "GetResourceDirectory", RD, &[]).await;
    assert_eq!(st, 200, "{d}");
    assert!(d["RequestId"].is_string());
    let d = &d["ResourceDirectory"];
    assert_eq!(d["ResourceDirectoryId"], o.id.as_str());
    assert_eq!(d["RootFolderId"], o.root.as_str());
    assert_eq!(d["MasterAccountId"], master.main_account_id.as_str());
    assert_eq!(d["MasterAccountName"], master.account_name.as_str());
    assert!(clock::parse_extended(d["CreateTime"].as_str().unwrap()).is_some());

    // Page numbers: 13 accounts (the master too) in pages of 5.
    let mut ids = Vec::new();
    for page in 1..=3 {
        let p = page.to_string();
        let (st, l) = v3(
            &sim,
            &c,
            "ListAccounts",
            RD,
            &[("PageNumber", &p), ("PageSize", "5")],
        )
        .await;
        assert_eq!(st, 200, "{l}");
        assert_eq!(l["TotalCount"], 13);
        assert_eq!(l["PageNumber"], page);
        assert_eq!(l["PageSize"], 5);
        let accounts = l["Accounts"]["Account"].as_array().unwrap();
        assert_eq!(accounts.len(), if page < 3 { 5 } else { 3 });
        for a in accounts {
            let id = a["AccountId"].as_str().unwrap();
            let folder = a["FolderId"].as_str().unwrap();
            assert_eq!(a["ResourceDirectoryId"], o.id.as_str());
            let path = if folder == o.root {
                format!("{}/{}/{id}", o.id, o.root)
            } else {
                format!("{}/{}/{folder}/{id}", o.id, o.root)
            };
            assert_eq!(a["ResourceDirectoryPath"], path.as_str());
            assert!(clock::parse_extended(a["JoinTime"].as_str().unwrap()).is_some());
            assert!(clock::parse_extended(a["ModifyTime"].as_str().unwrap()).is_some());
            assert!(a["DisplayName"].is_string());
            if id == master.main_account_id {
                assert_eq!(folder, o.root);
                assert_eq!(a["Type"], "CloudAccount");
            } else {
                assert_eq!(a["Type"], "ResourceAccount");
                assert_eq!(a["JoinMethod"], "created");
                assert_eq!(a["Status"], "CreateSuccess");
            }
            ids.push(id.to_string());
        }
    }
    let mut want: Vec<String> = o.members.iter().map(|m| m.id.clone()).collect();
    want.insert(0, master.main_account_id.clone());
    assert_eq!(ids, want);
    // Defaults: page 1 of 10; a page past the end is empty.
    let (_, l) = v3(&sim, &c, "ListAccounts", RD, &[]).await;
    assert_eq!(l["Accounts"]["Account"].as_array().unwrap().len(), 10);
    assert_eq!(
        (l["PageNumber"].clone(), l["PageSize"].clone()),
        (json!(1), json!(10))
    );
    let (_, l) = v3(&sim, &c, "ListAccounts", RD, &[("PageNumber", "9")]).await;
    assert_eq!(l["Accounts"]["Account"], json!([]));
    assert_eq!(l["TotalCount"], 13);
    for bad in ["0", "101", "x"] {
        let (st, e) = v3(&sim, &c, "ListAccounts", RD, &[("PageSize", bad)]).await;
        assert_eq!((st, code(&e)), (400, "InvalidParameter"), "{bad}");
        assert!(e["RequestId"].is_string());
    }
    // Tokens: MaxResults/NextToken walk the same list.
    let (mut seen, mut token) = (Vec::new(), String::new());
    loop {
        let mut q = vec![("MaxResults", "6")];
        if !token.is_empty() {
            q.push(("NextToken", token.as_str()));
        }
        let (st, l) = v1(&sim, &c, "ListAccounts", RD, &q).await;
        assert_eq!(st, 200, "{l}");
        for a in l["Accounts"]["Account"].as_array().unwrap() {
            seen.push(a["AccountId"].as_str().unwrap().to_string());
        }
        token = l["NextToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, want);

    // Folders.
    let (st, f) = v3(&sim, &c, "GetFolder", RD, &[("FolderId", &o.units[1].id)]).await;
    assert_eq!(st, 200, "{f}");
    let f = &f["Folder"];
    assert_eq!(f["FolderName"], "Workloads 1");
    assert_eq!(f["ParentFolderId"], o.root.as_str());
    assert_eq!(
        f["ResourceDirectoryPath"],
        format!("{}/{}/{}", o.id, o.root, o.units[1].id).as_str()
    );
    assert!(f["CreateTime"].is_string());
    let (st, f) = v3(&sim, &c, "GetFolder", RD, &[("FolderId", &o.root)]).await;
    assert_eq!(st, 200);
    assert_eq!(f["Folder"]["FolderName"], "Root");
    assert_eq!(
        f["Folder"]["ResourceDirectoryPath"],
        format!("{}/{}", o.id, o.root).as_str()
    );
    let (st, e) = v3(&sim, &c, "GetFolder", RD, &[("FolderId", "fd-nope")]).await;
    assert_eq!((st, code(&e)), (404, "EntityNotExists.Folder"));
    let (st, e) = v3(&sim, &c, "GetFolder", RD, &[]).await;
    assert_eq!((st, code(&e)), (400, "MissingFolderId"));

    let (st, l) = v3(
        &sim,
        &c,
        "ListFoldersForParent",
        RD,
        &[("ParentFolderId", &o.root)],
    )
    .await;
    assert_eq!(st, 200, "{l}");
    assert_eq!(l["TotalCount"], 3);
    let names = strs(&l["Folders"]["Folder"], "FolderId");
    assert_eq!(
        names,
        o.units.iter().map(|u| u.id.as_str()).collect::<Vec<_>>()
    );
    let (_, l) = v3(
        &sim,
        &c,
        "ListFoldersForParent",
        RD,
        &[("PageNumber", "2"), ("PageSize", "2")],
    )
    .await;
    assert_eq!(l["Folders"]["Folder"].as_array().unwrap().len(), 1);
    assert_eq!(l["Folders"]["Folder"][0]["FolderName"], "Workloads 2");
    let (_, l) = v3(
        &sim,
        &c,
        "ListFoldersForParent",
        RD,
        &[("ParentFolderId", &o.units[0].id)],
    )
    .await;
    assert_eq!(
        (l["TotalCount"].clone(), l["Folders"]["Folder"].clone()),
        (json!(0), json!([]))
    );
    let (st, e) = v3(
        &sim,
        &c,
        "ListFoldersForParent",
        RD,
        &[("ParentFolderId", "fd-x")],
    )
    .await;
    assert_eq!((st, code(&e)), (404, "EntityNotExists.Folder"));
    let (st, e) = v3(&sim, &c, "DescribeFolders", RD, &[]).await;
    assert_eq!((st, code(&e)), (404, "InvalidApi.NotFound"));

    // The deny set takes the operation names: 403 NoPermission.
    let mut h = HygieneUpdate::new(Vendor::Alibaba, &master.main_account_id);
    h.deny = Some(["ListAccounts".to_string()].into());
    sim.set_hygiene(&h).unwrap();
    let (st, e) = v3(&sim, &c, "ListAccounts", RD, &[]).await;
    assert_eq!((st, code(&e)), (403, "NoPermission"));
    assert!(e["RequestId"].is_string() && e["Message"].is_string());
    assert!(
        e["Recommend"]
            .as_str()
            .unwrap()
            .ends_with("product=ResourceDirectoryMaster")
    );
    assert_eq!(v3(&sim, &c, "GetResourceDirectory", RD, &[]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_directory_refuses_other_accounts() {
    let sim = start_rd(42, 2, 2);
    let (st, e) = v3(&sim, &Client::of(&sim, 1), "GetResourceDirectory", RD, &[]).await;
    assert_eq!((st, code(&e)), (404, "EntityNotExists.ResourceDirectory"));
    assert!(e["RequestId"].is_string());

    let member = members_of(&sim)[0].clone();
    let (c, _) = session(&sim, &member, &[]).await;
    for api in [
        "GetResourceDirectory",
        "ListAccounts",
        "ListFoldersForParent",
    ] {
        let (st, e) = v3(&sim, &c, api, RD, &[]).await;
        assert_eq!((st, code(&e)), (403, "NoPermission"), "{api}");
    }

    // A world without members has no directory at all.
    let plain = harness::start(43, 1, 1);
    assert!(plain.summary().alibaba.organization.is_none());
    let (st, e) = v3(&plain, &Client::of(&plain, 0), "ListAccounts", RD, &[]).await;
    assert_eq!((st, code(&e)), (404, "EntityNotExists.ResourceDirectory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assumed_role_credentials_act_as_the_member() {
    let sim = start_rd(44, 3, 2);
    let member = members_of(&sim)[1].clone();
    let (c, b) = session(&sim, &member, &[]).await;
    assert!(b["RequestId"].is_string());
    assert!(c.ak.starts_with("STS."), "{}", c.ak);
    assert!(c.token.as_deref().unwrap().starts_with("CAIS"));
    let user = &b["AssumedRoleUser"];
    assert_eq!(
        user["Arn"],
        format!("acs:ram::{member}:role/{RD_ACCESS_ROLE}/tether-sync").as_str()
    );
    let role_id = user["AssumedRoleId"].as_str().unwrap().to_string();
    assert!(role_id.ends_with(":tether-sync"), "{role_id}");
    let exp = b["Credentials"]["Expiration"].as_str().unwrap();
    assert_eq!(exp.len(), "2026-01-01T00:00:00Z".len());
    let exp = clock::parse_extended(exp).unwrap();
    assert!((3590..=3610).contains(&(exp - sim.now())));

    let arn = format!("acs:ram::{member}:assumed-role/{RD_ACCESS_ROLE}/tether-sync");
    for (st, g) in [
        v3(&sim, &c, "GetCallerIdentity", STS, &[]).await,
        v1(&sim, &c, "GetCallerIdentity", STS, &[]).await,
    ] {
        assert_eq!(st, 200, "{g}");
        assert_eq!(g["AccountId"], member.as_str());
        assert_eq!(g["Arn"], arn.as_str());
        assert_eq!(g["IdentityType"], "AssumedRoleUser");
        assert_eq!(g["UserId"], role_id.as_str());
    }

    let (regions, want) = {
        let w = sim.world.read().unwrap();
        let vw = w.v(Vendor::Alibaba);
        let a = &vw.accounts[vw.by_id[&member] as usize];
        let n = a.part(0, List::Of(Kind::Instance)).map_or(0, |p| p.len());
        (a.regions.clone(), n)
    };
    let (st, r) = v3(&sim, &c, "DescribeRegions", ECS, &[]).await;
    assert_eq!(st, 200, "{r}");
    let got = strs(&r["Regions"]["Region"], "RegionId");
    assert_eq!(got, regions.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(want > 0);
    let (st, d) = v1(
        &sim,
        &c,
        "DescribeInstances",
        ECS,
        &[("RegionId", &regions[0]), ("PageSize", "100")],
    )
    .await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["TotalCount"], want);
    assert_eq!(d["Instances"]["Instance"].as_array().unwrap().len(), want);
    // A role session has no access key of its own.
    let (st, k) = v3(&sim, &c, "ListAccessKeys", "2015-05-01", &[]).await;
    assert_eq!((st, k["AccessKeys"]["AccessKey"].clone()), (200, json!([])));

    // Role names match case-insensitively.
    let (st, b2) = assume(
        &sim,
        &Client::of(&sim, 0),
        &member,
        &RD_ACCESS_ROLE.to_lowercase(),
        &[],
    )
    .await;
    assert_eq!(st, 200, "{b2}");
    let other_token = b2["Credentials"]["SecurityToken"]
        .as_str()
        .unwrap()
        .to_string();

    // The token: missing, malformed, another session's.
    let cases = [
        (None, "MissingSecurityToken"),
        (Some("wrong".to_string()), "InvalidSecurityToken.Malformed"),
        (Some(other_token), "InvalidSecurityToken.Mismatch"),
    ];
    for (token, want) in cases {
        let bad = Client { token, ..c.clone() };
        let (st, e) = v3(&sim, &bad, "GetCallerIdentity", STS, &[]).await;
        assert_eq!((st, code(&e)), (400, want));
        let (st, e) = v1(&sim, &bad, "DescribeRegions", ECS, &[]).await;
        assert_eq!((st, code(&e)), (400, want));
    }
    // A wrong secret is a wrong signature; an unknown STS key is unknown.
    let bad = Client {
        sk: "x".repeat(44),
        ..c.clone()
    };
    let (st, e) = v3(&sim, &bad, "GetCallerIdentity", STS, &[]).await;
    assert_eq!((st, code(&e)), (400, "SignatureDoesNotMatch"));
    let bad = Client {
        ak: "STS.unknown".into(),
        ..c.clone()
    };
    let (st, e) = v3(&sim, &bad, "GetCallerIdentity", STS, &[]).await;
    assert_eq!((st, code(&e)), (404, "InvalidAccessKeyId.NotFound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_refused() {
    let sim = start_rd(45, 1, 1);
    let member = members_of(&sim)[0].clone();
    let (c, b) = session(&sim, &member, &[("DurationSeconds", "900")]).await;
    let exp = clock::parse_extended(b["Credentials"]["Expiration"].as_str().unwrap()).unwrap();
    assert!((890..=910).contains(&(exp - sim.now())));
    assert_eq!(v3(&sim, &c, "GetCallerIdentity", STS, &[]).await.0, 200);
    sim.advance_clock(901);
    let (st, e) = v3(&sim, &c, "GetCallerIdentity", STS, &[]).await;
    assert_eq!((st, code(&e)), (400, "InvalidSecurityToken.Expired"));
    let (st, e) = v1(&sim, &c, "DescribeRegions", ECS, &[]).await;
    assert_eq!((st, code(&e)), (400, "InvalidSecurityToken.Expired"));
    // A new session works on the moved clock.
    let (c, _) = session(&sim, &member, &[]).await;
    assert_eq!(v3(&sim, &c, "GetCallerIdentity", STS, &[]).await.0, 200);
    // Out-of-range durations are refused.
    for d in ["899", "3601", "soon"] {
        let (st, e) = assume(
            &sim,
            &Client::of(&sim, 0),
            &member,
            RD_ACCESS_ROLE,
            &[("DurationSeconds", d)],
        )
        .await;
        assert_eq!(
            (st, code(&e)),
            (400, "InvalidParameter.DurationSeconds"),
            "{d}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_is_refused_without_trust() {
    let sim = start_rd(46, 3, 2);
    let members = members_of(&sim);
    let member = members[0].clone();
    let master = Client::of(&sim, 0);

    // A caller that is not the master.
    let (st, e) = assume(&sim, &Client::of(&sim, 1), &member, RD_ACCESS_ROLE, &[]).await;
    assert_eq!((st, code(&e)), (403, "NoPermission"));
    assert!(e["RequestId"].is_string());
    // A role that does not exist, in a member or in any account.
    let (st, e) = assume(&sim, &master, &member, "Nope", &[]).await;
    assert_eq!((st, code(&e)), (404, "EntityNotExist.Role"));
    assert_eq!(
        e["Message"],
        format!("The role not exists: acs:ram::{member}:role/Nope.").as_str()
    );
    let (st, e) = assume(&sim, &master, "1234567890123456", RD_ACCESS_ROLE, &[]).await;
    assert_eq!((st, code(&e)), (404, "EntityNotExist.Role"));
    // Bad parameters.
    for (q, want) in [
        (vec![("RoleSessionName", "s1")], "MissingRoleArn"),
        (
            vec![("RoleArn", "acs:ram::1:role/x")],
            "MissingRoleSessionName",
        ),
        (
            vec![
                ("RoleArn", "arn:aws:iam::1:role/x"),
                ("RoleSessionName", "s1"),
            ],
            "InvalidParameter.RoleArn",
        ),
        (
            vec![
                ("RoleArn", "acs:ram::12a:role/x"),
                ("RoleSessionName", "s1"),
            ],
            "InvalidParameter.RoleArn",
        ),
        (
            vec![("RoleArn", "acs:ram::1:role/x"), ("RoleSessionName", "a")],
            "InvalidParameter.RoleSessionName",
        ),
        (
            vec![("RoleArn", "acs:ram::1:role/x"), ("RoleSessionName", "a b")],
            "InvalidParameter.RoleSessionName",
        ),
    ] {
        let (st, e) = v3(&sim, &master, "AssumeRole", STS, &q).await;
        assert_eq!((st, code(&e)), (400, want), "{q:?}");
    }

    // A removed role: not assumable, and sessions already issued stop.
    let (c, _) = session(&sim, &member, &[]).await;
    set_role(&sim, &member, "resourcedirectoryaccountaccessrole", false);
    let (st, e) = assume(&sim, &master, &member, RD_ACCESS_ROLE, &[]).await;
    assert_eq!((st, code(&e)), (404, "EntityNotExist.Role"));
    let (st, e) = v3(&sim, &c, "GetCallerIdentity", STS, &[]).await;
    assert_eq!((st, code(&e)), (403, "NoPermission"));
    set_role(&sim, &member, RD_ACCESS_ROLE, true);
    assert_eq!(v3(&sim, &c, "GetCallerIdentity", STS, &[]).await.0, 200);

    // A member that left: not listed, not assumable, its sessions stop.
    leave_or_join(&sim, &member, "leave", None);
    let (_, l) = v3(&sim, &master, "ListAccounts", RD, &[]).await;
    assert_eq!(l["TotalCount"], 3);
    let ids = strs(&l["Accounts"]["Account"], "AccountId");
    assert!(!ids.contains(&member.as_str()));
    assert!(!members_of(&sim).contains(&member));
    let (st, e) = assume(&sim, &master, &member, RD_ACCESS_ROLE, &[]).await;
    assert_eq!((st, code(&e)), (403, "NoPermission"));
    let (st, e) = v1(&sim, &c, "DescribeRegions", ECS, &[]).await;
    assert_eq!((st, code(&e)), (403, "NoPermission"));

    // The deny set takes AssumeRole: 403 Forbidden.RAM, as other STS calls.
    let mut h = HygieneUpdate::new(
        Vendor::Alibaba,
        &sim.summary().alibaba.accounts[0].main_account_id,
    );
    h.deny = Some(["AssumeRole".to_string()].into());
    sim.set_hygiene(&h).unwrap();
    let (st, e) = assume(&sim, &master, &members[1], RD_ACCESS_ROLE, &[]).await;
    assert_eq!((st, code(&e)), (403, "Forbidden.RAM"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_http_changes_the_directory() {
    let sim = start_rd(47, 4, 3);
    let s = sim.summary();
    let o = s.alibaba.organization.clone().unwrap();
    let master = s.alibaba.accounts[0].main_account_id.clone();
    let member = o.members[0].id.clone();
    let (members, roles) = org_urls(&s);
    let c = Client::of(&sim, 0);
    let listed = |l: &Value| -> Vec<Value> { l["Accounts"]["Account"].as_array().unwrap().clone() };

    let (st, v) = post(
        members.clone(),
        json!({"vendor": "alibaba", "account": master, "member": member, "action": "leave"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["joined"], false);
    assert_eq!(v["account"], master.as_str());
    let (_, l) = v3(&sim, &c, "ListAccounts", RD, &[]).await;
    assert_eq!(listed(&l).len(), 4);
    assert_eq!(sim.summary().alibaba.organization.unwrap().members.len(), 3);

    let (st, v) = post(
        members.clone(),
        json!({"vendor": "alibaba", "account": master, "member": member, "action": "join", "ou": o.units[2].id}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["ou"], o.units[2].id.as_str());
    assert_eq!(v["status"], "InviteSuccess");
    assert_eq!(v["roles"], json!([RD_ACCESS_ROLE]));
    let (_, l) = v3(&sim, &c, "ListAccounts", RD, &[]).await;
    let l = listed(&l);
    assert_eq!(l.len(), 5);
    let a = l
        .iter()
        .find(|a| a["AccountId"] == member.as_str())
        .unwrap();
    assert_eq!(a["FolderId"], o.units[2].id.as_str());
    assert_eq!(a["JoinMethod"], "invited");
    assert_eq!(a["Status"], "InviteSuccess");
    let summary = sim.summary().alibaba.organization.unwrap();
    assert!(
        summary
            .members
            .iter()
            .any(|m| m.id == member && m.ou == o.units[2].id)
    );
    // Join under the root folder.
    let (st, v) = post(
        members.clone(),
        json!({"vendor": "alibaba", "account": master, "member": member, "action": "join", "ou": o.root}),
    )
    .await;
    assert_eq!((st, v["ou"].as_str()), (200, Some(o.root.as_str())));
    let (_, l) = v3(&sim, &c, "ListAccounts", RD, &[]).await;
    let l = listed(&l);
    let a = l
        .iter()
        .find(|a| a["AccountId"] == member.as_str())
        .unwrap();
    assert_eq!(
        a["ResourceDirectoryPath"],
        format!("{}/{}/{member}", o.id, o.root).as_str()
    );
    session(&sim, &member, &[]).await;

    let other = o.members[1].id.clone();
    let (st, v) = post(
        roles.clone(),
        json!({"vendor": "alibaba", "member": other, "role": "RESOURCEDIRECTORYACCOUNTACCESSROLE", "present": false}),
    )
    .await;
    assert_eq!((st, v["roles"].clone()), (200, json!([])), "{v}");
    assert_eq!(assume(&sim, &c, &other, RD_ACCESS_ROLE, &[]).await.0, 404);
    let (st, v) = post(
        roles.clone(),
        json!({"vendor": "alibaba", "member": other, "role": RD_ACCESS_ROLE, "present": true}),
    )
    .await;
    assert_eq!((st, v["roles"].clone()), (200, json!([RD_ACCESS_ROLE])));
    assert_eq!(assume(&sim, &c, &other, RD_ACCESS_ROLE, &[]).await.0, 200);

    // Refusals: unknown account 404; not a member, not the master, suspend,
    // an unknown action or folder 400.
    let bad = [
        (
            json!({"vendor": "alibaba", "account": master, "member": "1000000000000000", "action": "leave"}),
            404,
        ),
        (
            json!({"vendor": "alibaba", "account": "1000000000000000", "member": member, "action": "leave"}),
            404,
        ),
        (
            json!({"vendor": "alibaba", "account": master, "member": s.alibaba.accounts[1].main_account_id, "action": "leave"}),
            400,
        ),
        (
            json!({"vendor": "alibaba", "account": member, "member": member, "action": "leave"}),
            400,
        ),
        (
            json!({"vendor": "alibaba", "account": master, "member": member, "action": "suspend"}),
            400,
        ),
        (
            json!({"vendor": "alibaba", "account": master, "member": member, "action": "explode"}),
            400,
        ),
        (
            json!({"vendor": "alibaba", "account": master, "member": member, "action": "join", "ou": "fd-nope"}),
            400,
        ),
    ];
    assert_refused(&members, bad).await;
    let (st, _) = post(
        roles,
        json!({"vendor": "alibaba", "member": "1000000000000000", "role": RD_ACCESS_ROLE, "present": true}),
    )
    .await;
    assert_eq!(st, 404);
}

#[test]
fn binary_writes_no_member_into_the_config() {
    let o = harness::assert_binary_writes_no_member("7", Vendor::Alibaba);
    assert!(o["id"].as_str().unwrap().starts_with("rd-"));
    let units = o["units"].as_array().unwrap();
    assert!(units[0]["id"].as_str().unwrap().starts_with("fd-"));
    assert_eq!(units[0]["name"], "Workloads 0");
}
