//! Alibaba Cloud: STS `GetCallerIdentity` (version 2015-04-01), signed with
//! `ACS3-HMAC-SHA256` (signature V3), over reqwest.
//!
//! The signer here is the client side, written from the published
//! algorithm (reference §2.3) and tested against the published vectors B3
//! and B5; it shares no code with the simulator's verifier. Every header
//! sent except `Authorization` and `user-agent`/`content-length` added by
//! the transport is signed, `host` included (with `:port` when not default).

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cloud::encode::percent_encode;
use crate::cloud::error::{ErrorKind, VendorError};
use crate::cloud::http::{self, Failure};
use crate::cloud::list::{Connections, Ctx, MAX_PAGES, Record, Sink, too_many_pages, unreadable};
use crate::cloud::{KeyCredentials, VendorApi};
use crate::config::Vendor;
use crate::hygiene::{Facts, KeyFacts};
use crate::inventory::PartitionKey;
use crate::state::model::VerifiedIdentity;

/// The public STS endpoint (central).
pub const DEFAULT_ENDPOINT: &str = "https://sts.aliyuncs.com";
const STS_VERSION: &str = "2015-04-01";
/// Hex SHA-256 of the empty body.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The V3 canonical request and the `SignedHeaders` value.
///
/// `headers` are the headers to sign (any case; values trimmed here); the
/// payload hash is the value of `x-acs-content-sha256` among them.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (String, String) {
    let query = canonical_query(query);
    let mut h: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    h.sort();
    let mut canonical_headers = String::new();
    for (k, v) in &h {
        canonical_headers.push_str(k);
        canonical_headers.push(':');
        canonical_headers.push_str(v);
        canonical_headers.push('\n');
    }
    let signed = h
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let payload = h
        .iter()
        .find(|(k, _)| k == "x-acs-content-sha256")
        .map_or(EMPTY_SHA256, |(_, v)| v.as_str());
    let canonical = format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{payload}");
    (canonical, signed)
}

/// `k=v` pairs, each side percent-encoded, sorted, joined by `&`: the V3
/// canonical query string, and the query the listing sends as signed.
fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut q: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    q.sort();
    q.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Authorization` header value for a request (signature V3).
pub fn authorization(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    access_key_id: &str,
    secret: &str,
) -> String {
    let (canonical, signed) = canonical_request(method, path, query, headers);
    let string_to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let signature = hmac_sha256_hex(secret.as_bytes(), string_to_sign.as_bytes());
    format!(
        "ACS3-HMAC-SHA256 Credential={access_key_id},SignedHeaders={signed},Signature={signature}"
    )
}

fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    // HMAC accepts keys of any length; the error arm cannot happen.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            hex::encode(m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// `host[:port]` as the transport sends it in the `Host` header.
pub(crate) fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// The URL of an endpoint's root; a value that is no URL is an error naming it.
fn endpoint_url(base: &str) -> Result<url::Url, VendorError> {
    url::Url::parse(&format!("{base}/")).map_err(|e| {
        VendorError::new(
            Vendor::Alibaba,
            ErrorKind::Other,
            format!("invalid endpoint `{base}`: {e}"),
        )
    })
}

/// A POST of the RPC `action` (its API `version`, parameters `query`)
/// signed with V3 at a fresh date and with a fresh nonce (nonces are
/// single-use: one request per attempt).
fn signed_post(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    host: &str,
    (action, version): (&str, &str),
    query: &[(&str, &str)],
    (access_key_id, secret): (&str, &str),
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let date = crate::clock::rfc3339_now();
    let nonce = http::unique_hex();
    let mut headers = vec![
        ("accept", "application/json"),
        ("host", host),
        ("x-acs-action", action),
        ("x-acs-content-sha256", EMPTY_SHA256),
        ("x-acs-date", date.as_str()),
        ("x-acs-signature-nonce", nonce.as_str()),
        ("x-acs-version", version),
    ];
    // STS session credentials sign their token too.
    if let Some(t) = token {
        headers.push(("x-acs-security-token", t));
    }
    let auth = authorization("POST", "/", query, &headers, access_key_id, secret);
    let mut req = client.post(url);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.header("authorization", auth)
}

/// The failure an error answer stands for: its code, message and request
/// id (the body's, else the `x-acs-request-id` header's).
fn failure(a: &http::Answer) -> Failure {
    let status = a.status;
    let err: ErrorBody = serde_json::from_slice(&a.body).unwrap_or_default();
    let message = if err.message.is_empty() {
        format!("HTTP {status}")
    } else {
        err.message
    };
    let rid = Some(err.request_id)
        .filter(|r| !r.is_empty())
        .or_else(|| a.header(&["x-acs-request-id"]));
    Failure {
        error: VendorError::new(Vendor::Alibaba, kind_for(status, &err.code), message)
            .code(err.code)
            .request_id(rid),
        retry_after: a.retry_after,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Identity {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    arn: String,
    #[serde(default)]
    user_id: String,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default, rename = "Code", alias = "code")]
    code: String,
    #[serde(default, rename = "Message", alias = "message")]
    message: String,
    #[serde(default, rename = "RequestId", alias = "requestId")]
    request_id: String,
}

/// The kind an Alibaba error code stands for.
fn kind_for(status: u16, code: &str) -> ErrorKind {
    if code.starts_with("Throttling") || code == "ServiceUnavailable.Throttling" {
        return ErrorKind::Throttled;
    }
    // The key works; a RAM policy is missing.
    if matches!(code, "Forbidden.RAM" | "NoPermission") {
        return ErrorKind::Denied;
    }
    if code.starts_with("InvalidAccessKeyId")
        || code.starts_with("InvalidSecurityToken")
        || code.starts_with("Forbidden")
        || matches!(
            code,
            "SignatureDoesNotMatch" | "IncompleteSignature" | "InvalidAccessKeySecret"
        )
    {
        return ErrorKind::Auth;
    }
    if matches!(
        code,
        "SignatureNonceUsed" | "InternalError" | "ServiceUnavailable" | "ServiceTimeout"
    ) {
        return ErrorKind::Retryable;
    }
    http::kind_for_status(status)
}

pub(crate) struct Alibaba;

impl<'a> VendorApi<'a> for Alibaba {
    type Credentials = KeyCredentials<'a>;

    async fn verify_identity(
        &self,
        creds: &KeyCredentials<'a>,
        endpoint: Option<&str>,
        conns: &Connections,
    ) -> Result<VerifiedIdentity, VendorError> {
        let base = endpoint.unwrap_or(DEFAULT_ENDPOINT);
        let id: Identity = call(
            conns,
            base,
            ("GetCallerIdentity", STS_VERSION),
            &[],
            creds,
            "sts:GetCallerIdentity",
        )
        .await?;
        identity_of(id)
    }
}

/// The URL of an RPC call to `base` with `query` (parameters in the query
/// string, as signed), and its `host` header.
fn rpc_url(base: &str, query: &[(&str, &str)]) -> Result<(String, String), VendorError> {
    let host = host_header(&endpoint_url(base)?);
    let qs = canonical_query(query);
    let full = if qs.is_empty() {
        format!("{base}/")
    } else {
        format!("{base}/?{qs}")
    };
    Ok((full, host))
}

/// One signed RPC call to `base` (with retries), its JSON answer parsed.
async fn call<T: serde::de::DeserializeOwned>(
    conns: &Connections,
    base: &str,
    (action, version): (&str, &str),
    query: &[(&str, &str)],
    creds: &KeyCredentials<'_>,
    what: &'static str,
) -> Result<T, VendorError> {
    let key = (creds.access_key_id, creds.secret_access_key);
    call_as(conns, base, (action, version), query, key, None, what).await
}

/// [`call`] with a key and, for a session, its token.
async fn call_as<T: serde::de::DeserializeOwned>(
    conns: &Connections,
    base: &str,
    (action, version): (&str, &str),
    query: &[(&str, &str)],
    key: (&str, &str),
    token: Option<&str>,
    what: &'static str,
) -> Result<T, VendorError> {
    let opts = conns.options();
    let (full, host) = rpc_url(base, query)?;
    http::retry(opts, Vendor::Alibaba, what, |_| {
        let req = signed_post(
            &conns.web,
            &full,
            &host,
            (action, version),
            query,
            key,
            token,
        );
        async move {
            let a = http::send(Vendor::Alibaba, opts, req).await?;
            if a.status != 200 {
                return Err(failure(&a));
            }
            serde_json::from_slice::<T>(&a.body).map_err(|e| {
                VendorError::new(
                    Vendor::Alibaba,
                    ErrorKind::Other,
                    format!("unreadable {action} answer: {e}"),
                )
                .request_id(a.header(&["x-acs-request-id"]))
                .into()
            })
        }
    })
    .await
}

/// Resource Directory (resourcedirectorymaster), where a main account's
/// members are.
const RD_ENDPOINT: &str = "https://resourcemanager.aliyuncs.com";
const RD_VERSION: &str = "2022-04-19";
/// The most members a `ListAccounts` page holds.
const RD_PAGE: usize = 100;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DirectoryAnswer {
    resource_directory: Directory,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Directory {
    resource_directory_id: String,
    #[serde(default)]
    root_folder_id: String,
    #[serde(default)]
    master_account_id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AccountsPage {
    total_count: u64,
    accounts: Option<RdAccounts>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RdAccounts {
    account: Vec<RdAccount>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RdAccount {
    account_id: String,
    display_name: String,
    folder_id: String,
    resource_directory_path: String,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FolderAnswer {
    folder: Folder,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Folder {
    #[serde(default)]
    folder_name: String,
}

/// The members of the resource directory the key's account manages
/// (`GetResourceDirectory`, every page of `ListAccounts`, and each folder
/// on their paths named once with `GetFolder`). The master account itself
/// is not a member.
pub(crate) async fn members(
    creds: &KeyCredentials<'_>,
    endpoint: Option<&str>,
    conns: &Connections,
    paths: bool,
) -> Result<crate::org::Listed, VendorError> {
    let base = endpoint.unwrap_or(RD_ENDPOINT);
    let rd: DirectoryAnswer = call(
        conns,
        base,
        ("GetResourceDirectory", RD_VERSION),
        &[],
        creds,
        "resourcedirectorymaster:GetResourceDirectory",
    )
    .await?;
    let rd = rd.resource_directory;
    let mut accounts: Vec<RdAccount> = Vec::new();
    let size = RD_PAGE.to_string();
    for n in 1..=MAX_PAGES {
        let number = n.to_string();
        let page: AccountsPage = call(
            conns,
            base,
            ("ListAccounts", RD_VERSION),
            &[("PageNumber", &number), ("PageSize", &size)],
            creds,
            "resourcedirectorymaster:ListAccounts",
        )
        .await?;
        let got = page.accounts.map(|a| a.account).unwrap_or_default();
        let short = got.len() < RD_PAGE;
        accounts.extend(got);
        if short || accounts.len() as u64 >= page.total_count {
            break;
        }
    }
    let mut folders: std::collections::BTreeMap<String, String> = Default::default();
    for a in &accounts {
        for f in a
            .resource_directory_path
            .split('/')
            .filter(|f| f.starts_with("fd-"))
        {
            if folders.contains_key(f) {
                continue;
            }
            let got: FolderAnswer = call(
                conns,
                base,
                ("GetFolder", RD_VERSION),
                &[("FolderId", f)],
                creds,
                "resourcedirectorymaster:GetFolder",
            )
            .await?;
            folders.insert(f.to_string(), got.folder.folder_name);
        }
        if !a.folder_id.is_empty() && a.folder_id != rd.root_folder_id {
            folders.entry(a.folder_id.clone()).or_default();
        }
    }
    let members = accounts
        .into_iter()
        .filter(|a| a.account_id != rd.master_account_id)
        .map(|a| {
            let mut path = vec!["Root".to_string()];
            if !paths {
                path.clear();
            }
            path.extend(
                a.resource_directory_path
                    .split('/')
                    .filter(|f| paths && f.starts_with("fd-"))
                    .map(|f| folders.get(f).cloned().unwrap_or_else(|| f.to_string())),
            );
            crate::org::Member {
                id: a.account_id,
                name: a.display_name,
                path: path.join("/"),
                status: a.status,
            }
        })
        .collect();
    Ok(crate::org::Listed {
        id: rd.resource_directory_id,
        members,
    })
}

/// RAM, where an AccessKey's creation date and last use are.
const RAM_ENDPOINT: &str = "https://ram.aliyuncs.com";
const RAM_VERSION: &str = "2015-05-01";
const RAM_GRANT: &str =
    "ram:ListAccessKeys and ram:GetAccessKeyLastUsed (in AliyunRAMReadOnlyAccess)";

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AccessKeys {
    access_keys: Option<Wrapped<AccessKeyMeta>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AccessKeyMeta {
    access_key_id: String,
    create_date: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct LastUsed {
    access_key_last_used: Option<LastUsedDate>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct LastUsedDate {
    last_used_date: Option<String>,
}

/// Credential hygiene with the account's own AccessKey, at its recorded
/// endpoint (a root key is read from the identity, by the caller): the
/// key's creation date (RAM `ListAccessKeys`, the caller's own keys) and
/// last use (`GetAccessKeyLastUsed`).
pub(crate) async fn hygiene(
    creds: &KeyCredentials<'_>,
    endpoint: Option<&str>,
    conns: &Connections,
) -> Facts {
    let mut facts = Facts::default();
    let base = endpoint.unwrap_or(RAM_ENDPOINT);
    let listed: Result<AccessKeys, _> = call(
        conns,
        base,
        ("ListAccessKeys", RAM_VERSION),
        &[],
        creds,
        "ram:ListAccessKeys",
    )
    .await;
    let listed = listed.map(|l| {
        l.access_keys
            .into_iter()
            .flat_map(|w| w.items)
            .find(|k| k.access_key_id == creds.access_key_id)
            .map(|k| k.create_date)
    });
    let Some(created) = super::key_created(listed, &mut facts, RAM_GRANT) else {
        return facts;
    };
    let used: Result<LastUsed, _> = call(
        conns,
        base,
        ("GetAccessKeyLastUsed", RAM_VERSION),
        &[("UserAccessKeyId", creds.access_key_id)],
        creds,
        "ram:GetAccessKeyLastUsed",
    )
    .await;
    let used = used.map(|u| u.access_key_last_used.and_then(|l| l.last_used_date));
    let last_used = super::last_use(used, &mut facts, RAM_GRANT);
    facts.keys.push(KeyFacts {
        id: creds.access_key_id.to_string(),
        created,
        last_used,
    });
    facts
}

const ECS_VERSION: &str = "2014-05-26";
const VPC_VERSION: &str = "2016-04-28";

/// ECS and VPC listing for one account, RPC style signed with V3: ECS
/// `DescribeRegions`, `DescribeInstances` and `DescribeSecurityGroups`
/// (token mode, `MaxResults=100`, `NextToken` to the end), VPC
/// `DescribeVpcs` and `DescribeVSwitches` (page mode, `PageSize=50`, until
/// `TotalCount` is reached or a page comes back short). Without
/// `api_endpoint`: `ecs.aliyuncs.com` for regions, then
/// `{ecs,vpc}.{region}.aliyuncs.com`.
pub(crate) struct Lister {
    access_key_id: String,
    secret: crate::secrets::Secret,
    endpoint: Option<String>,
    /// A member's role, assumed with the key above.
    assumed: Option<AssumedRole>,
}

/// Renew a member's session this long before it expires
/// (or, for a session shorter than 20 minutes, when a quarter of its life
/// is left).
const RENEW_BEFORE_SECS: i64 = 300;

/// How long a member's session is asked for (the most STS grants by
/// default).
const SESSION_SECONDS: &str = "3600";

/// A member account's role, assumed with its main account's key (STS
/// `AssumeRole`): the session is kept and assumed again
/// [`RENEW_BEFORE_SECS`] before it expires. `Debug` shows the role only.
pub(crate) struct AssumedRole {
    role_arn: String,
    base: String,
    /// The vendor said the kept session expired (before the local clock
    /// did): the next use assumes the role again.
    expired: std::sync::atomic::AtomicBool,
    session: tokio::sync::Mutex<Option<std::sync::Arc<StsSession>>>,
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssumedRole({}, (sensitive))", self.role_arn)
    }
}

struct StsSession {
    key: String,
    secret: crate::secrets::Secret,
    token: crate::secrets::Secret,
    /// Unix seconds.
    expires: i64,
    /// When it was issued (Unix seconds).
    issued: i64,
}

impl StsSession {
    /// Whether it is due for renewal at `now` (Unix seconds).
    fn due(&self, now: i64) -> bool {
        let margin = RENEW_BEFORE_SECS.min((self.expires - self.issued) / 4);
        self.expires - now <= margin
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleAnswer {
    credentials: StsCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

/// The ARN of `role` in `account`.
pub(crate) fn role_arn(account: &str, role: &str) -> String {
    format!("acs:ram::{account}:role/{}", role.to_ascii_lowercase())
}

impl AssumedRole {
    fn new(member: &str, role: &str, endpoint: Option<&str>) -> AssumedRole {
        AssumedRole {
            role_arn: role_arn(member, role),
            base: endpoint.unwrap_or(DEFAULT_ENDPOINT).to_string(),
            expired: std::sync::atomic::AtomicBool::new(false),
            session: tokio::sync::Mutex::new(None),
        }
    }

    /// The session: the kept one while it has more than
    /// [`RENEW_BEFORE_SECS`] left, else a new one assumed with `main`.
    async fn session(
        &self,
        conns: &Connections,
        main: (&str, &str),
    ) -> Result<std::sync::Arc<StsSession>, VendorError> {
        let mut kept = self.session.lock().await;
        let now = crate::clock::now();
        if self
            .expired
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            *kept = None;
        }
        if let Some(s) = kept.as_ref().filter(|s| !s.due(now)) {
            return Ok(s.clone());
        }
        let query = [
            ("DurationSeconds", SESSION_SECONDS),
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", "tether"),
        ];
        let answer: AssumeRoleAnswer = call_as(
            conns,
            &self.base,
            ("AssumeRole", STS_VERSION),
            &query,
            main,
            None,
            "sts:AssumeRole",
        )
        .await
        .map_err(|e| crate::cloud::error::role_refused(e, &self.role_arn))?;
        let c = answer.credentials;
        let expires = crate::clock::parse(&c.expiration).ok_or_else(|| {
            VendorError::new(
                Vendor::Alibaba,
                ErrorKind::Other,
                format!(
                    "AssumeRole answered an unreadable expiration `{}`",
                    c.expiration
                ),
            )
        })?;
        let s = std::sync::Arc::new(StsSession {
            key: c.access_key_id,
            secret: crate::secrets::Secret::from_slice(c.access_key_secret.as_bytes()),
            token: crate::secrets::Secret::from_slice(c.security_token.as_bytes()),
            expires,
            issued: now,
        });
        *kept = Some(s.clone());
        Ok(s)
    }
}

/// Verifies a member account: `role` assumed in `member` with the main
/// account's key, then `GetCallerIdentity` with the session.
pub(crate) async fn verify_member(
    creds: &KeyCredentials<'_>,
    member: &str,
    role: &str,
    endpoint: Option<&str>,
    conns: &Connections,
) -> Result<VerifiedIdentity, VendorError> {
    let assumed = AssumedRole::new(member, role, endpoint);
    let s = assumed
        .session(conns, (creds.access_key_id, creds.secret_access_key))
        .await?;
    let base = endpoint.unwrap_or(DEFAULT_ENDPOINT);
    let id: Identity = call_as(
        conns,
        base,
        ("GetCallerIdentity", STS_VERSION),
        &[],
        (&s.key, s.secret.expose_str().unwrap_or_default()),
        Some(s.token.expose_str().unwrap_or_default()),
        "sts:GetCallerIdentity",
    )
    .await?;
    identity_of(id)
}

fn identity_of(id: Identity) -> Result<VerifiedIdentity, VendorError> {
    if id.account_id.is_empty() {
        return Err(VendorError::new(
            Vendor::Alibaba,
            ErrorKind::Other,
            "GetCallerIdentity answered without an account id",
        ));
    }
    Ok(VerifiedIdentity {
        account_id: id.account_id,
        principal: if id.arn.is_empty() {
            id.user_id
        } else {
            id.arn
        },
        scopes: Vec::new(),
        verified_at: crate::clock::rfc3339_now(),
    })
}

/// Alibaba lists: `{"Tags": {"Tag": [...]}}`.
#[derive(Deserialize, Default)]
struct Wrapped<T> {
    #[serde(
        default = "Vec::new",
        alias = "Instance",
        alias = "Vpc",
        alias = "VSwitch",
        alias = "SecurityGroup",
        alias = "Region",
        alias = "Tag",
        alias = "IpAddress",
        alias = "AccessKey"
    )]
    items: Vec<T>,
}

#[derive(Deserialize, Default)]
struct AliTag {
    #[serde(default, alias = "TagKey")]
    key: String,
    #[serde(default, alias = "TagValue")]
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ListPage {
    #[serde(default)]
    total_count: Option<u64>,
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    instances: Option<Wrapped<Item>>,
    #[serde(default)]
    vpcs: Option<Wrapped<Item>>,
    #[serde(default, rename = "VSwitches")]
    vswitches: Option<Wrapped<Item>>,
    #[serde(default)]
    security_groups: Option<Wrapped<Item>>,
    #[serde(default)]
    regions: Option<Wrapped<RegionItem>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RegionItem {
    #[serde(default)]
    region_id: String,
}

/// One listed instance, security group, VPC or vSwitch: the fields tether
/// records (the rest is skipped without being built). Which id and name
/// fields apply depends on the list.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Item {
    instance_id: Option<String>,
    instance_name: Option<String>,
    security_group_id: Option<String>,
    security_group_name: Option<String>,
    vpc_id: Option<String>,
    vpc_name: Option<String>,
    #[serde(rename = "VSwitchId")]
    vswitch_id: Option<String>,
    #[serde(rename = "VSwitchName")]
    vswitch_name: Option<String>,
    status: Option<String>,
    tags: Option<Wrapped<AliTag>>,
    instance_type: Option<String>,
    vpc_attributes: Option<VpcAttributes>,
    zone_id: Option<String>,
    public_ip_address: Option<Wrapped<String>>,
    image_id: Option<String>,
    description: Option<String>,
    cidr_block: Option<String>,
    is_default: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct VpcAttributes {
    vpc_id: Option<String>,
    #[serde(rename = "VSwitchId")]
    vswitch_id: Option<String>,
    private_ip_address: Option<Wrapped<String>>,
}

fn first_ip(list: Option<Wrapped<String>>) -> String {
    list.and_then(|w| w.items.into_iter().next())
        .unwrap_or_default()
}

impl Lister {
    pub(crate) fn new(
        _conns: &Connections,
        creds: &KeyCredentials<'_>,
        endpoint: Option<String>,
    ) -> Lister {
        Lister {
            access_key_id: creds.access_key_id.to_string(),
            secret: crate::secrets::Secret::from_slice(creds.secret_access_key.as_bytes()),
            endpoint,
            assumed: None,
        }
    }

    /// The lister of a member account: `role` assumed in `member` with the
    /// main account's key, once here (a role that cannot be assumed fails
    /// the account before any listing), then again before it expires.
    pub(crate) async fn member(
        conns: &Connections,
        creds: &KeyCredentials<'_>,
        endpoint: Option<String>,
        member: &str,
        role: &str,
    ) -> Result<Lister, VendorError> {
        let assumed = AssumedRole::new(member, role, endpoint.as_deref());
        assumed
            .session(conns, (creds.access_key_id, creds.secret_access_key))
            .await?;
        Ok(Lister {
            assumed: Some(assumed),
            ..Lister::new(conns, creds, endpoint)
        })
    }

    fn base(&self, product: &str, region: Option<&str>) -> String {
        match (&self.endpoint, region) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) => format!("https://{product}.{r}.aliyuncs.com"),
            (None, None) => format!("https://{product}.aliyuncs.com"),
        }
    }

    /// One signed RPC call (POST, parameters in the query string), parsed.
    async fn rpc(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
        base: &str,
        scope: &str,
        (action, version): (&'static str, &str),
        query: &[(&str, &str)],
    ) -> Result<ListPage, VendorError> {
        let (full, host) = rpc_url(base, query)?;
        let key = ctx.key(scope, action);
        let opts = ctx.opts;
        let main = (
            self.access_key_id.as_str(),
            self.secret.expose_str().unwrap_or_default(),
        );
        ctx.call(&key, action, || async {
            let session = match &self.assumed {
                Some(a) => Some(a.session(conns, main).await.map_err(Failure::from)?),
                None => None,
            };
            let (keys, token) = match &session {
                Some(s) => (
                    (s.key.as_str(), s.secret.expose_str().unwrap_or_default()),
                    Some(s.token.expose_str().unwrap_or_default()),
                ),
                None => (main, None),
            };
            let req = signed_post(
                &conns.web,
                &full,
                &host,
                (action, version),
                query,
                keys,
                token,
            );
            let a = http::send(Vendor::Alibaba, opts, req).await?;
            if a.status != 200 {
                let mut f = failure(&a);
                // The vendor says the session expired while the local
                // clock still trusted it: assume the role again and retry.
                if let Some(assumed) = &self.assumed {
                    if f.error.code.as_deref() == Some("InvalidSecurityToken.Expired") {
                        assumed
                            .expired
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                        f.error.kind = ErrorKind::Retryable;
                    }
                }
                return Err(f);
            }
            serde_json::from_slice::<ListPage>(&a.body)
                .map_err(|e| unreadable(Vendor::Alibaba, action, e))
        })
        .await
    }

    /// The regions the account can see (ECS `DescribeRegions`).
    pub(crate) async fn regions(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
    ) -> Result<Vec<String>, VendorError> {
        let base = self.base("ecs", None);
        let page = self
            .rpc(
                conns,
                ctx,
                &base,
                "global",
                ("DescribeRegions", ECS_VERSION),
                &[],
            )
            .await?;
        Ok(page
            .regions
            .map(|r| r.items)
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.region_id)
            .filter(|r| !r.is_empty())
            .collect())
    }

    pub(crate) async fn list(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
        key: &PartitionKey,
        out: &mut Sink<'_>,
    ) -> Result<(), VendorError> {
        let region = key.region.as_str();
        let (product, action, version, tokens) = match key.kind.as_str() {
            "instance" => ("ecs", "DescribeInstances", ECS_VERSION, true),
            "security_group" => ("ecs", "DescribeSecurityGroups", ECS_VERSION, true),
            "vpc" => ("vpc", "DescribeVpcs", VPC_VERSION, false),
            _ => ("vpc", "DescribeVSwitches", VPC_VERSION, false),
        };
        let base = self.base(product, Some(region));
        let mut token = String::new();
        for n in 1..=MAX_PAGES {
            let number = n.to_string();
            let mut q: Vec<(&str, &str)> = vec![("RegionId", region)];
            if tokens {
                q.push(("MaxResults", ctx.page_size("100", "1")));
                if !token.is_empty() {
                    q.push(("NextToken", &token));
                }
            } else {
                q.push(("PageSize", ctx.page_size("50", "1")));
                q.push(("PageNumber", &number));
            }
            let page = self
                .rpc(conns, ctx, &base, region, (action, version), &q)
                .await?;
            let items = match key.kind.as_str() {
                "instance" => page.instances.map(|w| w.items),
                "security_group" => page.security_groups.map(|w| w.items),
                "vpc" => page.vpcs.map(|w| w.items),
                _ => page.vswitches.map(|w| w.items),
            }
            .unwrap_or_default();
            let got = items.len();
            for v in items {
                if let Some(r) = record(&key.kind, v) {
                    out.push(r.0.into_resource(key, r.1));
                }
            }
            if ctx.probe {
                return Ok(());
            }
            if tokens {
                match page.next_token.filter(|t| !t.is_empty()) {
                    Some(t) if t == token => {
                        return Err(VendorError::new(
                            Vendor::Alibaba,
                            ErrorKind::Other,
                            format!("{action} answered the same NextToken twice"),
                        ));
                    }
                    Some(t) => token = t,
                    None => return Ok(()),
                }
            } else {
                let total = page.total_count.unwrap_or(0) as usize;
                if got < 50 || n * 50 >= total {
                    return Ok(());
                }
            }
        }
        Err(too_many_pages(Vendor::Alibaba, action))
    }
}

/// One Alibaba item as a record, with its native type.
fn record(kind: &str, v: Item) -> Option<(Record, &'static str)> {
    let (id, name, native) = match kind {
        "instance" => (v.instance_id, v.instance_name, "ACS::ECS::Instance"),
        "security_group" => (
            v.security_group_id,
            v.security_group_name,
            "ACS::ECS::SecurityGroup",
        ),
        "vpc" => (v.vpc_id.clone(), v.vpc_name, "ACS::VPC::VPC"),
        _ => (v.vswitch_id, v.vswitch_name, "ACS::VPC::VSwitch"),
    };
    let id = id.filter(|i| !i.is_empty())?;
    let mut r = Record::new(id);
    r.name = name;
    r.status = v.status;
    r.tags = v
        .tags
        .map(|w| w.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !t.key.is_empty())
        .map(|t| (t.key, t.value))
        .collect();
    let text = |s: Option<String>| s.unwrap_or_default();
    match kind {
        "instance" => {
            let vpc = v.vpc_attributes.unwrap_or_default();
            r.attr("instance_type", text(v.instance_type))
                .attr("vpc_id", text(vpc.vpc_id))
                .attr("vswitch_id", text(vpc.vswitch_id))
                .attr("zone_id", text(v.zone_id))
                .attr("private_ip", first_ip(vpc.private_ip_address))
                .attr("public_ip", first_ip(v.public_ip_address))
                .attr("image_id", text(v.image_id));
        }
        "security_group" => {
            r.attr("vpc_id", text(v.vpc_id))
                .attr("description", text(v.description));
        }
        "vpc" => {
            r.attr("cidr_block", text(v.cidr_block)).value(
                "is_default",
                v.is_default.map_or(serde_json::Value::Null, Into::into),
            );
        }
        _ => {
            r.attr("vpc_id", text(v.vpc_id))
                .attr("cidr_block", text(v.cidr_block))
                .attr("zone_id", text(v.zone_id));
        }
    }
    Some((r, native))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vector B3: the official V3 example (RunInstances).
    #[test]
    fn signs_the_published_v3_example() {
        let headers = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-content-sha256", EMPTY_SHA256),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-version", "2014-05-26"),
        ];
        let query = [
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ];
        let (canonical, signed) = canonical_request("POST", "/", &query, &headers);
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            signed,
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
        assert_eq!(
            authorization(
                "POST",
                "/",
                &query,
                &headers,
                "YourAccessKeyId",
                "YourAccessKeySecret"
            ),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    /// Vectors B5 and B6: DescribeInstances with the minimal header set,
    /// then with `accept` and `user-agent` signed too; headers given out of
    /// order and in mixed case, query out of order.
    #[test]
    fn signs_the_computed_v3_vectors() {
        let base = [
            ("x-acs-version", "2014-05-26"),
            ("X-Acs-Action", "DescribeInstances"),
            ("x-acs-content-sha256", EMPTY_SHA256),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        ];
        let query = [("RegionId", "cn-hangzhou"), ("MaxResults", "10")];
        let mut b5 = base.to_vec();
        b5.push(("host", "ecs.cn-hangzhou.aliyuncs.com"));
        let (canonical, _) = canonical_request("POST", "/", &query, &b5);
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "91e1cfefdb5027db5301516f19be0eacf3d879047afa2e7448fafd7c70ee8ebb"
        );
        assert!(
            authorization(
                "POST",
                "/",
                &query,
                &b5,
                "YourAccessKeyId",
                "YourAccessKeySecret"
            )
            .ends_with(
                ",Signature=1bde5c848fabc60f426c8a22c1b5bd30304b1b0cf21549716563e010bc4074ac"
            )
        );
        let mut b6 = base.to_vec();
        b6.extend([
            ("host", "127.0.0.1:8080"),
            ("accept", "application/json"),
            ("user-agent", "test-agent"),
        ]);
        let auth = authorization(
            "POST",
            "/",
            &query,
            &b6,
            "YourAccessKeyId",
            "YourAccessKeySecret",
        );
        assert!(auth.contains(",SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"));
        assert!(auth.ends_with(
            ",Signature=b86c949d234bdc8d92cec5107cebc14f5b3facf94275cee5e5ca6207e3fc7c06"
        ));
    }

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(
            kind_for(404, "InvalidAccessKeyId.NotFound"),
            ErrorKind::Auth
        );
        assert_eq!(kind_for(400, "SignatureDoesNotMatch"), ErrorKind::Auth);
        assert_eq!(
            kind_for(403, "Forbidden.AccessKeyDisabled"),
            ErrorKind::Auth
        );
        assert_eq!(kind_for(403, "Forbidden.RAM"), ErrorKind::Denied);
        assert_eq!(kind_for(403, "NoPermission"), ErrorKind::Denied);
        assert_eq!(kind_for(400, "Throttling.User"), ErrorKind::Throttled);
        assert_eq!(kind_for(500, "InternalError"), ErrorKind::Retryable);
        assert_eq!(kind_for(400, "MissingParameter"), ErrorKind::Other);
    }
}
