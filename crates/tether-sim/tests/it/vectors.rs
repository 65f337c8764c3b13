//! The published signature vectors (reference §0.1) through the simulator's
//! own verifying code: the one `sign` per algorithm reproduces each value,
//! and the verifier accepts the request carrying it and refuses a tampered one.

use tether_sim::auth::{acs, sdk, sha256_hex, sigv4};
use tether_sim::http::Req;

const AK: &str = "AKIDEXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20150830T123600Z";

fn req(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &str) -> Req {
    Req {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn with_auth(mut r: Req, value: String) -> Req {
    r.headers.push(("authorization".into(), value));
    r
}

fn sigv4_case(r: Req, service: &str, signed: &str, canonical_hash: Option<&str>, expected: &str) {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AK}/20150830/us-east-1/{service}/aws4_request, SignedHeaders={signed}, Signature={expected}"
    );
    let r = with_auth(r, auth.clone());
    let parsed = sigv4::parse(&auth).unwrap();
    let canonical = sigv4::canonical_of(&r, &parsed).unwrap();
    if let Some(h) = canonical_hash {
        assert_eq!(sha256_hex(canonical.as_bytes()), h);
    }
    assert_eq!(
        sigv4::sign(SK, DATE, "us-east-1", service, &canonical),
        expected
    );
    let ok = sigv4::verify(&r, None, |ak| (ak == AK).then_some(SK)).unwrap();
    assert_eq!(ok.service, service);
    assert_eq!(
        sigv4::verify(&r, None, |_| Some("wrong")),
        Err(sigv4::Failure::Mismatch)
    );
    assert_eq!(
        sigv4::verify(&r, None, |_| None),
        Err(sigv4::Failure::UnknownKey)
    );
    // Outside the 15-minute window when the clock is checked.
    assert_eq!(
        sigv4::verify(&r, Some(1_440_938_160 + 16 * 60), |_| Some(SK)),
        Err(sigv4::Failure::Expired)
    );
    assert!(sigv4::verify(&r, Some(1_440_938_160 + 14 * 60), |_| Some(SK)).is_ok());
}

#[test]
fn a1_get_vanilla_and_query_order() {
    let h = [("Host", "example.amazonaws.com"), ("X-Amz-Date", DATE)];
    assert_eq!(
        hex::encode(sigv4::signing_key(SK, "20150830", "us-east-1", "service")),
        "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75"
    );
    sigv4_case(
        req("GET", "/", "", &h, ""),
        "service",
        "host;x-amz-date",
        Some("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"),
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
    sigv4_case(
        req("GET", "/", "Param2=value2&Param1=value1", &h, ""),
        "service",
        "host;x-amz-date",
        None,
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    );
}

#[test]
fn a2_iam_list_users() {
    let h = [
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
        ("Host", "iam.amazonaws.com"),
        ("X-Amz-Date", DATE),
    ];
    assert_eq!(
        hex::encode(sigv4::signing_key(SK, "20150830", "us-east-1", "iam")),
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    );
    sigv4_case(
        req("GET", "/", "Action=ListUsers&Version=2010-05-08", &h, ""),
        "iam",
        "content-type;host;x-amz-date",
        Some("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"),
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    );
}

#[test]
fn a3_sts_get_caller_identity_post() {
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    assert_eq!(
        sha256_hex(body.as_bytes()),
        "ab821ae955788b0e33ebd34c208442ccfc2d406e2edc5e7a39bd6458fbb4f843"
    );
    let h = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Host", "sts.us-east-1.amazonaws.com"),
        ("X-Amz-Date", DATE),
    ];
    sigv4_case(
        req("POST", "/", "", &h, body),
        "sts",
        "content-type;host;x-amz-date",
        Some("b42b3efd3741b943b44eb29d91274cf0fd1f1abf768f2b71231a87e15394814a"),
        "94405bc26f219569999dadb25c560bc61134371b330f394151ebb698c4d5fb3a",
    );
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn b1_b2_alibaba_v1_describe_regions() {
    let mut p = pairs(&[
        ("AccessKeyId", "testid"),
        ("Action", "DescribeRegions"),
        ("Format", "XML"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2016-02-23T12:46:24Z"),
        ("Version", "2014-05-26"),
    ]);
    let sts = acs::v1_string_to_sign("GET", &p);
    assert_eq!(
        sts,
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    );
    assert_eq!(
        acs::v1_sign("testsecret", &sts),
        "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    );
    p.push(("Signature".into(), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=".into()));
    assert!(acs::v1_check("GET", &p, "testsecret"));
    assert!(!acs::v1_check("POST", &p, "testsecret"));
    assert!(!acs::v1_check("GET", &p, "othersecret"));
    // B2: the legacy `TimeStamp` spelling.
    let mut legacy: Vec<(String, String)> = p
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| {
            (
                if k == "Timestamp" {
                    "TimeStamp".to_string()
                } else {
                    k.clone()
                },
                v.clone(),
            )
        })
        .collect();
    assert_eq!(
        acs::v1_sign("testsecret", &acs::v1_string_to_sign("GET", &legacy)),
        "CT9X0VtwR86fNWSnsc6v8YGOjuE="
    );
    legacy.push(("Signature".into(), "CT9X0VtwR86fNWSnsc6v8YGOjuE=".into()));
    assert!(acs::v1_check("GET", &legacy, "testsecret"));
}

#[test]
fn b4_alibaba_v1_extra_vectors() {
    let base = [
        ("AccessKeyId", "testid"),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2016-02-23T12:46:24Z"),
    ];
    let mut p = pairs(&base);
    p.extend(pairs(&[
        ("Action", "DescribeInstances"),
        ("PageNumber", "1"),
        ("PageSize", "10"),
        ("RegionId", "cn-hangzhou"),
        ("Version", "2014-05-26"),
    ]));
    assert_eq!(
        acs::v1_sign("testsecret", &acs::v1_string_to_sign("GET", &p)),
        "LHMt/QNTnKFYqk2euQZjbLVMGwY="
    );
    assert_eq!(
        acs::v1_sign("testsecret", &acs::v1_string_to_sign("POST", &p)),
        "pQA6Z2tGoMcf+0QuK7AHofnL8ZM="
    );
    let mut e = pairs(&base);
    e.retain(|(k, _)| k != "SignatureNonce");
    e.extend(pairs(&[
        ("SignatureNonce", "nonce-1"),
        ("Action", "DescribeVpcs"),
        ("RegionId", "cn-hangzhou"),
        ("Version", "2016-04-28"),
        ("VpcName", "a b*c~d/é"),
    ]));
    assert_eq!(
        acs::v1_sign("testsecret", &acs::v1_string_to_sign("GET", &e)),
        "/smpZgYZnNabu5vyeC574cArrvY="
    );
    let mut s = pairs(&base);
    s.extend(pairs(&[
        ("Action", "GetCallerIdentity"),
        ("Version", "2015-04-01"),
    ]));
    assert_eq!(
        acs::v1_sign("testsecret", &acs::v1_string_to_sign("POST", &s)),
        "4QZ8nwmlMOIf8B6o9oDE9WNBb/E="
    );
}

const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn v3_case(r: Req, signed: &str, canonical_hash: Option<&str>, expected: &str) {
    let value = format!(
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders={signed},Signature={expected}"
    );
    let auth = acs::v3_parse(&value).unwrap();
    let r = with_auth(r, value);
    let canonical = acs::v3_canonical_of(&r, &auth).unwrap();
    if let Some(h) = canonical_hash {
        assert_eq!(sha256_hex(canonical.as_bytes()), h);
    }
    assert_eq!(acs::v3_sign("YourAccessKeySecret", &canonical), expected);
    assert!(acs::v3_check(&r, &auth, "YourAccessKeySecret"));
    assert!(!acs::v3_check(&r, &auth, "YourAccessKeySecreT"));
}

#[test]
fn b3_alibaba_v3_run_instances() {
    let h = [
        ("host", "ecs.cn-shanghai.aliyuncs.com"),
        ("x-acs-action", "RunInstances"),
        ("x-acs-content-sha256", EMPTY),
        ("x-acs-date", "2023-10-26T10:22:32Z"),
        ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        ("x-acs-version", "2014-05-26"),
    ];
    v3_case(
        req(
            "POST",
            "/",
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
            &h,
            "",
        ),
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
        Some("7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"),
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
    );
}

#[test]
fn b5_b6_alibaba_v3_describe_instances() {
    let common = [
        ("x-acs-action", "DescribeInstances"),
        ("x-acs-content-sha256", EMPTY),
        ("x-acs-date", "2023-10-26T10:22:32Z"),
        ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        ("x-acs-version", "2014-05-26"),
    ];
    let mut h5 = vec![("host", "ecs.cn-hangzhou.aliyuncs.com")];
    h5.extend(common);
    v3_case(
        req("POST", "/", "MaxResults=10&RegionId=cn-hangzhou", &h5, ""),
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
        Some("91e1cfefdb5027db5301516f19be0eacf3d879047afa2e7448fafd7c70ee8ebb"),
        "1bde5c848fabc60f426c8a22c1b5bd30304b1b0cf21549716563e010bc4074ac",
    );
    let mut h6 = vec![
        ("host", "127.0.0.1:8080"),
        ("accept", "application/json"),
        ("user-agent", "test-agent"),
    ];
    h6.extend(common);
    v3_case(
        req("POST", "/", "MaxResults=10&RegionId=cn-hangzhou", &h6, ""),
        "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
        None,
        "b86c949d234bdc8d92cec5107cebc14f5b3facf94275cee5e5ca6207e3fc7c06",
    );
}

const HAK: &str = "QTWAOYTTINDUT2QVKYUC";
const HSK: &str = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc";

fn sdk_case(r: Req, signed: &str, canonical_hash: &str, expected: Option<&str>) {
    let value = format!(
        "SDK-HMAC-SHA256 Access={HAK}, SignedHeaders={signed}, Signature={}",
        expected.unwrap_or("00")
    );
    let auth = sdk::parse(&value).unwrap();
    assert_eq!(auth.access_key, HAK);
    let r = with_auth(r, value);
    let canonical = sdk::canonical_of(&r, &auth).unwrap();
    assert_eq!(sha256_hex(canonical.as_bytes()), canonical_hash);
    if let Some(sig) = expected {
        assert_eq!(sdk::sign(HSK, "20191115T033655Z", &canonical), sig);
        assert!(sdk::check(&r, &auth, HSK));
        assert!(!sdk::check(
            &r,
            &auth,
            "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHC"
        ));
    }
}

#[test]
fn h1_h2_huawei_vpc_list() {
    let h = [
        ("Content-Type", "application/json"),
        ("Host", "service.region.example.com"),
        ("X-Sdk-Date", "20191115T033655Z"),
    ];
    let r = req(
        "GET",
        "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
        "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
        &h,
        "",
    );
    assert_eq!(
        sdk::canonical_uri(&r.path),
        "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/"
    );
    // H1: the published canonical request hash.
    sdk_case(
        r.clone(),
        "content-type;host;x-sdk-date",
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a",
        None,
    );
    // H2: the same request signed with the sample SK.
    sdk_case(
        r,
        "content-type;host;x-sdk-date",
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a",
        Some("7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"),
    );
}

#[test]
fn h3_huawei_ecs_list() {
    let h = [
        ("Content-Type", "application/json"),
        ("Host", "ecs.cn-north-4.myhuaweicloud.com"),
        ("X-Project-Id", "77b6a44cba5143ab91d13ab9a8ff44fd"),
        ("X-Sdk-Date", "20191115T033655Z"),
    ];
    sdk_case(
        req(
            "GET",
            "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/cloudservers/detail",
            "offset=1&limit=25",
            &h,
            "",
        ),
        "content-type;host;x-project-id;x-sdk-date",
        "4047401377f2319a7de1d532516a1adfb18c14c1ddfdf5821aea1c0fe2dd759b",
        Some("4355fa608e9c725dd7c396aaf23c350aebea355464ddc409b6f5520be262b51d"),
    );
}
