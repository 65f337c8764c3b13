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

/// An IAM (awsQuery) request as boto3 sends it: a form POST signed for `iam`
/// in `region`. The status and the body with its request id replaced by
/// `RID`.
async fn iam(sim: &Sim, i: usize, region: &str, params: &[(&str, &str)]) -> (u16, String) {
    use tether_sim::auth::{canonical_query, sigv4};
    let s = sim.summary();
    let a = &s.aws.accounts[i];
    let host = s.aws.endpoint.trim_start_matches("http://").to_string();
    let mut form = vec![("Version".to_string(), "2010-05-08".to_string())];
    form.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let body = canonical_query(&form);
    let date = tether_sim::clock::fmt_basic(tether_sim::clock::now());
    let ct = "application/x-www-form-urlencoded; charset=utf-8";
    let req = tether_sim::http::Req {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), ct.into()),
            ("host".into(), host),
            ("x-amz-date".into(), date.clone()),
        ],
        body: body.clone().into_bytes(),
    };
    let auth = sigv4::Authorization {
        access_key: a.access_key_id.clone(),
        date: date[..8].to_string(),
        region: region.into(),
        service: "iam".into(),
        signed_headers: "content-type;host;x-amz-date".into(),
        signature: String::new(),
    };
    let canonical = sigv4::canonical_of(&req, &auth).unwrap();
    let sig = sigv4::sign(&a.secret_access_key, &date, region, "iam", &canonical);
    let r = reqwest::Client::new()
        .post(format!("{}/", s.aws.endpoint))
        .header("content-type", ct)
        .header("x-amz-date", &date)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{}/{region}/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={sig}",
                a.access_key_id,
                &date[..8]
            ),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let rid = text
        .split_once("<RequestId>")
        .and_then(|(_, t)| t.split_once("</RequestId>"))
        .map(|(id, _)| id.to_string())
        .unwrap_or_default();
    (status, text.replace(&rid, "RID"))
}

const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_lists_the_key_and_its_last_use_in_awsquery_shapes() {
    use tether_sim::clock::fmt_extended;
    let sim = start(18, 2, 5);
    let s = sim.summary();
    let a = &s.aws.accounts[0];
    let h = sim.hygiene(Vendor::Aws, &a.main_account_id).unwrap();
    assert!(!h.root);
    let ak = a.access_key_id.as_str();

    let (status, body) = iam(&sim, 0, "us-east-1", &[("Action", "ListAccessKeys")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        format!(
            "<ListAccessKeysResponse xmlns=\"{IAM_NS}\"><ListAccessKeysResult><AccessKeyMetadata><member><UserName>tether</UserName><AccessKeyId>{ak}</AccessKeyId><Status>Active</Status><CreateDate>{}</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></ListAccessKeysResponse>",
            fmt_extended(h.key_created)
        )
    );
    let (status, same) = iam(
        &sim,
        0,
        "us-east-1",
        &[("Action", "ListAccessKeys"), ("UserName", "tether")],
    )
    .await;
    assert_eq!((status, same), (200, body));
    let (status, body) = iam(
        &sim,
        0,
        "us-east-1",
        &[("Action", "ListAccessKeys"), ("UserName", "someone")],
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("<Code>NoSuchEntity</Code>"), "{body}");

    let (status, body) = iam(
        &sim,
        0,
        "us-east-1",
        &[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", ak)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        format!(
            "<GetAccessKeyLastUsedResponse xmlns=\"{IAM_NS}\"><GetAccessKeyLastUsedResult><AccessKeyLastUsed><LastUsedDate>{}</LastUsedDate><ServiceName>ec2</ServiceName><Region>us-east-1</Region></AccessKeyLastUsed><UserName>tether</UserName></GetAccessKeyLastUsedResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></GetAccessKeyLastUsedResponse>",
            fmt_extended(h.key_last_used.unwrap())
        )
    );
    // Never used: no date, `N/A` for service and region.
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Aws, &a.main_account_id);
    u.key_last_used = Some(None);
    sim.set_hygiene(&u).unwrap();
    let (status, body) = iam(
        &sim,
        0,
        "us-east-1",
        &[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", ak)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<AccessKeyLastUsed><ServiceName>N/A</ServiceName><Region>N/A</Region></AccessKeyLastUsed><UserName>tether</UserName>"),
        "{body}"
    );
    // Another account's key, a missing one, a region IAM does not sign for.
    let other = s.aws.accounts[1].access_key_id.as_str();
    let (status, body) = iam(
        &sim,
        0,
        "us-east-1",
        &[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", other)],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body.starts_with(&format!(
            "<ErrorResponse xmlns=\"{IAM_NS}\"><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        )),
        "{body}"
    );
    let (status, body) = iam(&sim, 0, "us-east-1", &[("Action", "GetAccessKeyLastUsed")]).await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>ValidationError</Code>"), "{body}");
    let (status, body) = iam(&sim, 0, "eu-west-1", &[("Action", "ListAccessKeys")]).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    // IAM faults answer IAM's codes.
    sim.set_faults(&FaultsUpdate {
        vendor: "aws".into(),
        faults: Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    })
    .unwrap();
    let (status, body) = iam(&sim, 0, "us-east-1", &[("Action", "ListAccessKeys")]).await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>Throttling</Code>"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_key_is_the_root_user() {
    let sim = start(19, 1, 5);
    let s = sim.summary();
    let a = &s.aws.accounts[0];
    let id = a.main_account_id.as_str();
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Aws, id);
    u.root = Some(true);
    assert!(sim.set_hygiene(&u).unwrap().root);
    let (sts, _) = clients(&sim, 0, "us-east-1").await;
    let out = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(out.arn(), Some(format!("arn:aws:iam::{id}:root").as_str()));
    assert_eq!(out.user_id(), Some(id));
    assert_eq!(out.account(), Some(id));
    // The key's metadata names no user.
    let (status, body) = iam(&sim, 0, "us-east-1", &[("Action", "ListAccessKeys")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!(
            "<member><AccessKeyId>{}</AccessKeyId>",
            a.access_key_id
        )),
        "{body}"
    );
    assert!(!body.contains("<UserName>"), "{body}");
    // And back.
    u.root = Some(false);
    sim.set_hygiene(&u).unwrap();
    let out = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(
        out.arn(),
        Some(format!("arn:aws:iam::{id}:user/tether").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_apis_answer_aws_permission_errors() {
    let sim = start(20, 1, 10);
    let s = sim.summary();
    let id = s.aws.accounts[0].main_account_id.clone();
    let mut u = tether_sim::HygieneUpdate::new(Vendor::Aws, &id);
    u.deny = Some(
        ["DescribeInstances", "ListAccessKeys"]
            .map(String::from)
            .into(),
    );
    sim.set_hygiene(&u).unwrap();
    // Denial comes before faults.
    sim.set_faults(&FaultsUpdate {
        vendor: "aws".into(),
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    })
    .unwrap();
    let (_, ec2) = clients(&sim, 0, "us-east-1").await;
    let err = ec2.describe_instances().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnauthorizedOperation"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
    assert_eq!(
        err.message(),
        Some(format!("You are not authorized to perform this operation. User: arn:aws:iam::{id}:user/tether is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action").as_str())
    );
    let (status, body) = iam(&sim, 0, "us-east-1", &[("Action", "ListAccessKeys")]).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        format!(
            "<ErrorResponse xmlns=\"{IAM_NS}\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::{id}:user/tether is not authorized to perform: iam:ListAccessKeys on resource: user tether because no identity-based policy allows the iam:ListAccessKeys action</Message></Error><RequestId>RID</RequestId></ErrorResponse>"
        )
    );
    // What is not denied goes on to the faults as before.
    sim.set_faults(&FaultsUpdate {
        vendor: "aws".into(),
        faults: Faults::default(),
    })
    .unwrap();
    ec2.describe_vpcs().send().await.unwrap();
    let ak = s.aws.accounts[0].access_key_id.clone();
    let (status, _) = iam(
        &sim,
        0,
        "us-east-1",
        &[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", &ak)],
    )
    .await;
    assert_eq!(status, 200);
    // Lifting the denial.
    u.deny = Some(Default::default());
    sim.set_hygiene(&u).unwrap();
    ec2.describe_instances().send().await.unwrap();
}
