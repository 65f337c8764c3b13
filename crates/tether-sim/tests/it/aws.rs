//! aws-sdk-sts and aws-sdk-ec2 pointed at the simulator: every call parses,
//! pages add up to the partition, and refusals carry AWS's codes.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_ec2::config::{Credentials, Region};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use tether_sim::world::{Kind, List};
use tether_sim::{Faults, FaultsUpdate, Sim, Vendor};

use crate::harness::start;

async fn conf(endpoint: &str, ak: &str, sk: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(ak, sk, None, None, "static"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

async fn clients(sim: &Sim, i: usize, region: &str) -> (aws_sdk_sts::Client, aws_sdk_ec2::Client) {
    let s = sim.summary();
    let a = &s.aws.accounts[i];
    let c = conf(
        &s.aws.endpoint,
        &a.access_key_id,
        &a.secret_access_key,
        region,
    )
    .await;
    (aws_sdk_sts::Client::new(&c), aws_sdk_ec2::Client::new(&c))
}

/// Resources of `kind` the world holds for account `i` in `region`.
fn expected(sim: &Sim, i: usize, region: &str, kind: Kind) -> usize {
    let w = sim.world.read().unwrap();
    let a = &w.v(Vendor::Aws).accounts[i];
    let scope = a.region_index(region).unwrap();
    a.part(scope, List::Of(kind)).map_or(0, |p| p.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_get_caller_identity_names_the_account() {
    let sim = start(11, 2, 10);
    let s = sim.summary();
    for i in 0..2 {
        let (sts, _) = clients(&sim, i, "us-east-1").await;
        let out = sts.get_caller_identity().send().await.unwrap();
        let id = &s.aws.accounts[i].main_account_id;
        assert_eq!(out.account(), Some(id.as_str()));
        assert_eq!(
            out.arn(),
            Some(format!("arn:aws:iam::{id}:user/tether").as_str())
        );
        assert!(out.user_id().unwrap().starts_with("AIDA"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_describe_regions_lists_the_enabled_regions() {
    let sim = start(12, 1, 10);
    let s = sim.summary();
    let (_, ec2) = clients(&sim, 0, "us-east-1").await;
    let out = ec2.describe_regions().send().await.unwrap();
    let names: Vec<&str> = out
        .regions()
        .iter()
        .filter_map(|r| r.region_name())
        .collect();
    let want: Vec<&str> = s.aws.accounts[0]
        .regions
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(names, want);
    let r = &out.regions()[0];
    assert_eq!(r.endpoint(), Some("ec2.us-east-1.amazonaws.com"));
    assert_eq!(r.opt_in_status(), Some("opt-in-not-required"));
    let all = ec2
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(all.regions().len(), tether_sim::world::AWS_REGIONS.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_lists_every_type_across_pages() {
    let sim = start(13, 1, 400);
    let region = sim.summary().aws.accounts[0].regions[0].clone();
    let (_, ec2) = clients(&sim, 0, &region).await;

    let want = expected(&sim, 0, &region, Kind::Instance);
    assert!(want > 10, "{want} instances");
    let mut pages = ec2
        .describe_instances()
        .max_results(5)
        .into_paginator()
        .send();
    let (mut n, mut count) = (0, 0);
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        n += 1;
        for res in page.reservations() {
            assert_eq!(
                res.owner_id(),
                Some(sim.summary().aws.accounts[0].main_account_id.as_str())
            );
            for i in res.instances() {
                count += 1;
                assert!(i.instance_id().unwrap().starts_with("i-"));
                assert!(i.instance_type().is_some());
                assert!(i.launch_time().is_some());
                let st = i.state().unwrap();
                assert!(matches!(st.code(), Some(0 | 16 | 80)));
                assert!(i.private_ip_address().unwrap().starts_with("10."));
                assert!(
                    i.placement()
                        .unwrap()
                        .availability_zone()
                        .unwrap()
                        .starts_with(&region)
                );
                assert!(i.tags().iter().any(|t| t.key() == Some("Name")));
            }
        }
    }
    assert_eq!(count, want);
    assert_eq!(n, want.div_ceil(5));

    let want = expected(&sim, 0, &region, Kind::Vpc);
    let mut pages = ec2
        .describe_vpcs()
        .max_results(5)
        .into_paginator()
        .items()
        .send();
    let mut count = 0;
    while let Some(v) = pages.next().await {
        let v = v.unwrap();
        count += 1;
        assert!(v.vpc_id().unwrap().starts_with("vpc-"));
        assert!(v.cidr_block().unwrap().ends_with("/16"));
        assert_eq!(v.state().map(|s| s.as_str()), Some("available"));
    }
    assert_eq!(count, want);

    let want = expected(&sim, 0, &region, Kind::Subnet);
    let mut pages = ec2
        .describe_subnets()
        .max_results(5)
        .into_paginator()
        .items()
        .send();
    let mut count = 0;
    while let Some(s) = pages.next().await {
        let s = s.unwrap();
        count += 1;
        assert!(s.subnet_id().unwrap().starts_with("subnet-"));
        assert!(s.vpc_id().unwrap().starts_with("vpc-"));
        assert!(s.available_ip_address_count().unwrap() > 0);
    }
    assert_eq!(count, want);

    let want = expected(&sim, 0, &region, Kind::SecurityGroup);
    let mut pages = ec2
        .describe_security_groups()
        .max_results(5)
        .into_paginator()
        .items()
        .send();
    let mut count = 0;
    while let Some(g) = pages.next().await {
        let g = g.unwrap();
        count += 1;
        assert!(g.group_id().unwrap().starts_with("sg-"));
        assert_eq!(g.ip_permissions()[0].from_port(), Some(443));
    }
    assert_eq!(count, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_filters_and_ids() {
    let sim = start(14, 1, 200);
    let region = "us-east-1";
    let (_, ec2) = clients(&sim, 0, region).await;
    let all = ec2.describe_instances().send().await.unwrap();
    let first = all.reservations()[0].instances()[0].clone();
    let id = first.instance_id().unwrap();
    let one = ec2
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .unwrap();
    assert_eq!(one.reservations()[0].instances()[0].instance_id(), Some(id));
    let err = ec2
        .describe_instances()
        .instance_ids("i-00000000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInstanceID.NotFound"));
    let err = ec2
        .describe_instances()
        .instance_ids(id)
        .max_results(5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterCombination"));
    let err = ec2
        .describe_instances()
        .max_results(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let err = ec2
        .describe_instances()
        .next_token("not-a-token!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidPaginationToken"));
    let running = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let states: Vec<_> = running
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| i.state().unwrap().name().unwrap().as_str().to_string())
        .collect();
    assert!(!states.is_empty());
    assert!(states.iter().all(|s| s == "running"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_unknown_key_and_disabled_region_are_refused() {
    let sim = start(15, 1, 10);
    let s = sim.summary();
    let a = &s.aws.accounts[0];
    let bad = conf(
        &s.aws.endpoint,
        &a.access_key_id,
        "not-the-secret",
        "us-east-1",
    )
    .await;
    let err = aws_sdk_sts::Client::new(&bad)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
    let err = aws_sdk_ec2::Client::new(&bad)
        .describe_vpcs()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 401);

    let unknown = conf(
        &s.aws.endpoint,
        "AKIAUNKNOWNUNKNOWN00",
        &a.secret_access_key,
        "us-east-1",
    )
    .await;
    let err = aws_sdk_sts::Client::new(&unknown)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidClientTokenId"));
    let err = aws_sdk_ec2::Client::new(&unknown)
        .describe_instances()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure"));

    let off = tether_sim::world::AWS_REGIONS
        .iter()
        .find(|r| !a.regions.iter().any(|x| x == *r))
        .unwrap();
    let c = conf(&s.aws.endpoint, &a.access_key_id, &a.secret_access_key, off).await;
    let err = aws_sdk_ec2::Client::new(&c)
        .describe_instances()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure"));
    sim.add_region(Vendor::Aws, &a.main_account_id, off)
        .unwrap();
    aws_sdk_ec2::Client::new(&c)
        .describe_instances()
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_use_aws_codes() {
    let sim = start(16, 1, 10);
    let (sts, ec2) = clients(&sim, 0, "us-east-1").await;
    sim.set_faults(&FaultsUpdate {
        vendor: "aws".into(),
        faults: Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    })
    .unwrap();
    let err = ec2.describe_vpcs().send().await.unwrap_err();
    assert_eq!(err.code(), Some("RequestLimitExceeded"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 503);
    let err = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(err.code(), Some("Throttling"));
    sim.set_faults(&FaultsUpdate {
        vendor: "*".into(),
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    })
    .unwrap();
    let err = ec2.describe_vpcs().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InternalError"));
    // Published limit: bucket of 100 per account, region and API.
    sim.set_faults(&FaultsUpdate {
        vendor: "aws".into(),
        faults: Faults {
            rate_limits: true,
            ..Faults::default()
        },
    })
    .unwrap();
    let mut ok = 0;
    let mut throttled = 0;
    for _ in 0..130 {
        match ec2.describe_regions().send().await {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), Some("RequestLimitExceeded"));
                throttled += 1;
            }
        }
    }
    assert!((100..=125).contains(&ok), "{ok} passed");
    assert!(throttled >= 5);
    // Another API has its own bucket.
    ec2.describe_vpcs().send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_get_and_stale_dates_are_judged_like_aws() {
    let sim = start(17, 1, 10);
    let s = sim.summary();
    let a = &s.aws.accounts[0];
    let host = s.aws.endpoint.trim_start_matches("http://").to_string();
    let send = |date: String| {
        let query = "Action=DescribeRegions&Version=2016-11-15";
        let headers = vec![
            ("host".to_string(), host.clone()),
            ("x-amz-date".to_string(), date.clone()),
        ];
        let req = tether_sim::http::Req {
            method: "GET".into(),
            path: "/".into(),
            query: query.into(),
            headers,
            body: vec![],
        };
        let auth = tether_sim::auth::sigv4::Authorization {
            access_key: a.access_key_id.clone(),
            date: date[..8].to_string(),
            region: "us-east-1".into(),
            service: "ec2".into(),
            signed_headers: "host;x-amz-date".into(),
            signature: String::new(),
        };
        let canonical = tether_sim::auth::sigv4::canonical_of(&req, &auth).unwrap();
        let sig = tether_sim::auth::sigv4::sign(
            &a.secret_access_key,
            &date,
            "us-east-1",
            "ec2",
            &canonical,
        );
        let value = format!(
            "AWS4-HMAC-SHA256 Credential={}/{}/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}",
            a.access_key_id,
            &date[..8]
        );
        let url = format!("{}/?{query}", s.aws.endpoint);
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .header("x-amz-date", date)
                .header("authorization", value)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let now = tether_sim::clock::now();
    let (status, body) = send(tether_sim::clock::fmt_basic(now)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<regionName>us-east-1</regionName>"));
    let (status, body) = send(tether_sim::clock::fmt_basic(now - 20 * 60)).await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>RequestExpired</Code>"), "{body}");
}
