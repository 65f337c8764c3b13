//! Alibaba Cloud RPC calls signed v1 and V3 against the simulator: answers
//! parse, pages add up, and refusals carry Alibaba's codes.

use tether_sim::clock;
use tether_sim::world::{Kind, List};
use tether_sim::{Faults, FaultsUpdate, Sim, Vendor};

use crate::harness::alibaba::Client;
use crate::harness::{start, strs};

fn expected(sim: &Sim, i: usize, region: &str, kind: Kind) -> usize {
    let w = sim.world.read().unwrap();
    let a = &w.v(Vendor::Alibaba).accounts[i];
    a.part(a.region_index(region).unwrap(), List::Of(kind))
        .map_or(0, |p| p.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_get_caller_identity_with_v3_and_v1() {
    let sim = start(21, 2, 10);
    let s = sim.summary();
    for i in 0..2 {
        let c = Client::of(&sim, i);
        let id = &s.alibaba.accounts[i].main_account_id;
        let a = c.v3("GetCallerIdentity", "2015-04-01", &[]).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["AccountId"], id.as_str());
        assert_eq!(a.body["Arn"], format!("acs:ram::{id}:root"));
        assert!(a.body["RequestId"].as_str().unwrap().len() > 10);
        let a = c.v1("POST", "GetCallerIdentity", "2015-04-01", &[]).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["AccountId"], id.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_regions_and_instances_in_both_paging_modes() {
    let sim = start(22, 1, 300);
    let c = Client::of(&sim, 0);
    let regions = sim.summary().alibaba.accounts[0].regions.clone();
    let a = c.v1("GET", "DescribeRegions", "2014-05-26", &[]).await;
    let got = strs(&a.body["Regions"]["Region"], "RegionId");
    assert_eq!(got, regions.iter().map(String::as_str).collect::<Vec<_>>());
    let region = regions[0].as_str();
    let want = expected(&sim, 0, region, Kind::Instance);
    assert!(want > 14);

    // Token mode.
    let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let mut q = vec![("RegionId", region), ("MaxResults", "7")];
        if !token.is_empty() {
            q.push(("NextToken", token.as_str()));
        }
        let a = c.v3("DescribeInstances", "2014-05-26", &q).await;
        assert_eq!(a.status, 200, "{}", a.body);
        pages += 1;
        for i in a.body["Instances"]["Instance"].as_array().unwrap() {
            assert!(i["InstanceId"].as_str().unwrap().starts_with("i-"));
            assert!(
                i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("10.")
            );
            assert!(i["Cpu"].as_i64().unwrap() >= 1);
            assert!(["Running", "Stopped", "Starting"].contains(&i["Status"].as_str().unwrap()));
            assert!(i["ZoneId"].as_str().unwrap().starts_with(region));
            seen.push(i["InstanceId"].as_str().unwrap().to_string());
        }
        token = a.body["NextToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), want);
    assert_eq!(pages, want.div_ceil(7));

    // Page mode, signed v1 over GET.
    let mut count = 0;
    for page in 1.. {
        let p = page.to_string();
        let a = c
            .v1(
                "GET",
                "DescribeInstances",
                "2014-05-26",
                &[("RegionId", region), ("PageSize", "5"), ("PageNumber", &p)],
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["TotalCount"], want);
        let n = a.body["Instances"]["Instance"].as_array().unwrap().len();
        count += n;
        if n < 5 {
            break;
        }
    }
    assert_eq!(count, want);
    let a = c
        .v3(
            "DescribeInstances",
            "2014-05-26",
            &[("RegionId", region), ("PageSize", "101")],
        )
        .await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (400, Some("InvalidParameter"))
    );
    let a = c.v3("DescribeInstances", "2014-05-26", &[]).await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (400, Some("MissingRegionId"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_groups_vpcs_and_vswitches_page() {
    let sim = start(23, 1, 400);
    let c = Client::of(&sim, 0);
    let region = sim.summary().alibaba.accounts[0].regions[0].clone();
    for (action, version, kind, outer, inner, id_key) in [
        (
            "DescribeSecurityGroups",
            "2014-05-26",
            Kind::SecurityGroup,
            "SecurityGroups",
            "SecurityGroup",
            "SecurityGroupId",
        ),
        (
            "DescribeVpcs",
            "2016-04-28",
            Kind::Vpc,
            "Vpcs",
            "Vpc",
            "VpcId",
        ),
        (
            "DescribeVSwitches",
            "2016-04-28",
            Kind::VSwitch,
            "VSwitches",
            "VSwitch",
            "VSwitchId",
        ),
    ] {
        let want = expected(&sim, 0, &region, kind);
        assert!(want > 3, "{action}");
        let mut count = 0;
        for page in 1.. {
            let p = page.to_string();
            let a = c
                .v3(
                    action,
                    version,
                    &[
                        ("RegionId", region.as_str()),
                        ("PageSize", "3"),
                        ("PageNumber", &p),
                    ],
                )
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
            assert_eq!(a.body["TotalCount"], want);
            let items = a.body[outer][inner].as_array().unwrap();
            for it in items {
                assert!(!it[id_key].as_str().unwrap().is_empty());
                assert!(it["Tags"]["Tag"].is_array());
            }
            count += items.len();
            if items.len() < 3 {
                break;
            }
        }
        assert_eq!(count, want, "{action}");
    }
    let a = c
        .v3(
            "DescribeVpcs",
            "2016-04-28",
            &[("RegionId", region.as_str()), ("PageSize", "51")],
        )
        .await;
    assert_eq!(a.body["Code"], "InvalidParameter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_use_alibaba_codes() {
    let sim = start(24, 1, 10);
    let good = Client::of(&sim, 0);
    let wrong = Client {
        sk: "not-the-secret".into(),
        ..Client::of(&sim, 0)
    };
    let a = wrong.v3("GetCallerIdentity", "2015-04-01", &[]).await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (400, Some("SignatureDoesNotMatch"))
    );
    let a = wrong.v1("GET", "DescribeRegions", "2014-05-26", &[]).await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (400, Some("SignatureDoesNotMatch"))
    );
    let unknown = Client {
        ak: "LTAIunknownunknownunkn".into(),
        ..Client::of(&sim, 0)
    };
    let a = unknown.v3("GetCallerIdentity", "2015-04-01", &[]).await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (404, Some("InvalidAccessKeyId.NotFound"))
    );

    // The same nonce twice: the replay is refused.
    let (url, h) = good.v3_request(
        "GetCallerIdentity",
        "2015-04-01",
        &[],
        clock::now(),
        "fixed-nonce-1",
    );
    assert_eq!(Client::send(url.clone(), h.clone()).await.status, 200);
    let a = Client::send(url, h).await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (400, Some("SignatureNonceUsed"))
    );
    // A stale timestamp.
    let (url, h) = good.v3_request(
        "GetCallerIdentity",
        "2015-04-01",
        &[],
        clock::now() - 16 * 60,
        "fixed-nonce-2",
    );
    let a = Client::send(url, h).await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (400, Some("InvalidTimeStamp.Expired"))
    );
    let a = good.v3("DescribeNothing", "2014-05-26", &[]).await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (404, Some("InvalidApi.NotFound"))
    );

    sim.set_faults(&FaultsUpdate {
        vendor: "alibaba".into(),
        faults: Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    })
    .unwrap();
    let a = good.v3("GetCallerIdentity", "2015-04-01", &[]).await;
    assert_eq!(
        (a.status, a.body["Code"].as_str()),
        (400, Some("Throttling.User"))
    );
    assert!(a.retry_after.unwrap().parse::<u64>().unwrap() > 0);
}

const RAM: &str = "2015-05-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ram_lists_the_key_and_its_last_use() {
    let sim = start(25, 2, 5);
    let s = sim.summary();
    let c = Client::of(&sim, 0);
    let a = &s.alibaba.accounts[0];
    let h = sim.hygiene(Vendor::Alibaba, &a.main_account_id).unwrap();
    let a1 = c.v1("POST", "ListAccessKeys", RAM, &[]).await;
    assert_eq!(a1.status, 200, "{}", a1.body);
    let rid = a1.body["RequestId"].as_str().unwrap();
    assert_eq!(
        a1.body,
        serde_json::json!({"RequestId": rid, "AccessKeys": {"AccessKey": [{
            "AccessKeyId": a.access_key_id, "Status": "Active",
            "CreateDate": clock::fmt_extended(h.key_created)}]}})
    );
    let a2 = c.v3("ListAccessKeys", RAM, &[("UserName", "tether")]).await;
    assert_eq!(a2.body["AccessKeys"], a1.body["AccessKeys"]);

    let a3 = c
        .v3(
            "GetAccessKeyLastUsed",
            RAM,
            &[("UserAccessKeyId", a.access_key_id.as_str())],
        )
        .await;
    assert_eq!(a3.status, 200, "{}", a3.body);
    let rid = a3.body["RequestId"].as_str().unwrap();
    assert_eq!(
        a3.body,
        serde_json::json!({"RequestId": rid, "AccessKeyLastUsed": {
            "LastUsedDate": clock::fmt_extended(h.key_last_used.unwrap())}})
    );
    // Never used.
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Alibaba, &a.main_account_id);
    u.key_last_used = Some(None);
    sim.set_hygiene(&u).unwrap();
    let a4 = c
        .v1(
            "GET",
            "GetAccessKeyLastUsed",
            RAM,
            &[("UserAccessKeyId", a.access_key_id.as_str())],
        )
        .await;
    assert_eq!(a4.status, 200, "{}", a4.body);
    assert_eq!(a4.body["AccessKeyLastUsed"], serde_json::json!({}));
    // Another account's key, none, an unknown action of RAM.
    let a5 = c
        .v3(
            "GetAccessKeyLastUsed",
            RAM,
            &[(
                "UserAccessKeyId",
                s.alibaba.accounts[1].access_key_id.as_str(),
            )],
        )
        .await;
    assert_eq!(
        (
            a5.status,
            a5.body["Code"].as_str(),
            a5.body["Message"].as_str()
        ),
        (
            404,
            Some("EntityNotExist.User.AccessKey"),
            Some("The AccessKey does not exist.")
        )
    );
    let a6 = c.v3("GetAccessKeyLastUsed", RAM, &[]).await;
    assert_eq!(a6.status, 400, "{}", a6.body);
    let a7 = c.v3("ListUsers", RAM, &[]).await;
    assert_eq!(
        (a7.status, a7.body["Code"].as_str()),
        (404, Some("InvalidApi.NotFound"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_identity_is_the_main_account_or_a_ram_user() {
    let sim = start(26, 1, 5);
    let c = Client::of(&sim, 0);
    let id = sim.summary().alibaba.accounts[0].main_account_id.clone();
    assert!(sim.hygiene(Vendor::Alibaba, &id).unwrap().root);
    let a = c.v3("GetCallerIdentity", "2015-04-01", &[]).await;
    assert_eq!(a.body["Arn"], format!("acs:ram::{id}:root"));
    assert_eq!(a.body["IdentityType"], "Account");
    assert_eq!(a.body["UserId"], id.as_str());
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Alibaba, &id);
    u.root = Some(false);
    sim.set_hygiene(&u).unwrap();
    let a = c.v3("GetCallerIdentity", "2015-04-01", &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["AccountId"], id.as_str());
    assert_eq!(a.body["Arn"], format!("acs:ram::{id}:user/tether"));
    assert_eq!(a.body["IdentityType"], "RAMUser");
    let user = a.body["UserId"].as_str().unwrap();
    assert_ne!(user, id);
    assert_eq!(user.len(), 18);
    assert_eq!(a.body["PrincipalId"], user);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_apis_answer_alibaba_permission_errors() {
    let sim = start(27, 1, 10);
    let c = Client::of(&sim, 0);
    let a = &sim.summary().alibaba.accounts[0];
    let region = a.regions[0].as_str();
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Alibaba, &a.main_account_id);
    u.deny = Some(
        ["DescribeInstances", "ListAccessKeys"]
            .map(String::from)
            .into(),
    );
    sim.set_hygiene(&u).unwrap();
    sim.set_faults(&FaultsUpdate {
        vendor: "alibaba".into(),
        faults: Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    })
    .unwrap();
    let d = c
        .v3("DescribeInstances", "2014-05-26", &[("RegionId", region)])
        .await;
    assert_eq!(d.status, 403, "{}", d.body);
    assert_eq!(d.body["Code"], "Forbidden.RAM");
    assert_eq!(
        d.body["Message"],
        "User not authorized to operate on the specified resource, or this API doesn't support RAM."
    );
    assert_eq!(
        d.body["Recommend"],
        "https://api.aliyun.com/troubleshoot?q=Forbidden.RAM&product=Ecs"
    );
    assert!(d.body["HostId"].is_string() && d.body["RequestId"].is_string());
    let d = c.v1("POST", "ListAccessKeys", RAM, &[]).await;
    assert_eq!(
        (
            d.status,
            d.body["Code"].as_str(),
            d.body["Message"].as_str()
        ),
        (
            403,
            Some("NoPermission"),
            Some("You are not authorized to do this action. You should be authorized by RAM.")
        )
    );
    // Not denied: on to the faults (throttled here), then answered.
    let d = c
        .v3("DescribeVpcs", "2016-04-28", &[("RegionId", region)])
        .await;
    assert_eq!(d.body["Code"], "Throttling.User");
    sim.set_faults(&FaultsUpdate {
        vendor: "alibaba".into(),
        faults: Faults::default(),
    })
    .unwrap();
    let d = c
        .v3(
            "GetAccessKeyLastUsed",
            RAM,
            &[("UserAccessKeyId", a.access_key_id.as_str())],
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
}
