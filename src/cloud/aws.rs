//! AWS: STS `GetCallerIdentity` with aws-sdk-sts.
//!
//! The SDK signs (SigV4) and parses; tether keeps the rest: the SDK's own
//! retries are off and every attempt goes through [`http::retry`], so AWS
//! follows the same policy as the other vendors (the SDK's throttling codes
//! and `x-amz-retry-after` are honoured there). The client is configured in
//! code only — no environment variables or profile files are read — with
//! static credentials, the account's first region (or `us-east-1`), and
//! `api_endpoint` as the endpoint URL when set. TLS: rustls with `aws-lc-rs`,
//! the same provider reqwest uses.

use aws_credential_types::provider::{
    ProvideCredentials, SharedCredentialsProvider, error::CredentialsError, future,
};
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::cloud::error::{ErrorKind, VendorError};
use crate::cloud::http::{self, ClientOptions, Failure};
use crate::cloud::list::{Connections, Ctx, MAX_PAGES, Record, Sink, too_many_pages};
use crate::cloud::{KeyCredentials, VendorApi};
use crate::config::Vendor;
use crate::hygiene::{Facts, KeyFacts};
use crate::inventory::PartitionKey;
use crate::state::model::{Scope, VerifiedIdentity};

/// The region requests are signed for when the account declares none.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// Error codes aws-sdk-rust classes as throttling (smithy-rs retry classifiers).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes that mean the credentials work but may not make the call.
const DENIED: &[&str] = &[
    "UnauthorizedOperation",
    "AccessDenied",
    "AccessDeniedException",
];

/// Codes that mean the credentials are not accepted.
const AUTH: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AuthFailure",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
];

const TRANSIENT: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalFailure",
];

pub(crate) struct Aws;

impl<'a> VendorApi<'a> for Aws {
    type Credentials = KeyCredentials<'a>;

    async fn verify_identity(
        &self,
        creds: &KeyCredentials<'a>,
        endpoint: Option<&str>,
        conns: &Connections,
    ) -> Result<VerifiedIdentity, VendorError> {
        let opts = conns.options();
        let sts = aws_sdk_sts::Client::new(&sdk_config(
            static_key((creds.access_key_id, creds.secret_access_key)),
            creds.region,
            endpoint,
            opts,
            conns.aws.clone(),
        ));
        caller_identity(&sts, opts).await
    }
}

/// Renew a member's session credentials this long before they expire
/// (or, for a session shorter than 20 minutes, when a quarter of its life
/// is left).
const RENEW_BEFORE: std::time::Duration = std::time::Duration::from_secs(300);

/// How long a member's session is asked for (STS's default, and the
/// longest a role chained from another role may have).
const SESSION_SECONDS: i32 = 3600;

/// A member account's role, assumed with its main account's key (STS
/// `AssumeRole`): session credentials, kept and assumed again
/// [`RENEW_BEFORE`] they expire, so a long sync never signs with an
/// expired session. `Debug` shows the role, never a credential.
#[derive(Clone)]
pub(crate) struct AssumedRole(std::sync::Arc<AssumedInner>);

struct AssumedInner {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    opts: ClientOptions,
    /// The session and when it was issued.
    session: tokio::sync::Mutex<Option<(Credentials, std::time::SystemTime)>>,
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssumedRole({}, (sensitive))", self.0.role_arn)
    }
}

/// The ARN of `role` in `account`.
pub(crate) fn role_arn(account: &str, role: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role}")
}

impl AssumedRole {
    pub(crate) fn new(
        creds: &KeyCredentials<'_>,
        member: &str,
        role: &str,
        endpoint: Option<&str>,
        conns: &Connections,
    ) -> AssumedRole {
        let opts = conns.options().clone();
        let sts = aws_sdk_sts::Client::new(&sdk_config(
            static_key((creds.access_key_id, creds.secret_access_key)),
            creds.region,
            endpoint,
            &opts,
            conns.aws.clone(),
        ));
        AssumedRole(std::sync::Arc::new(AssumedInner {
            sts,
            role_arn: role_arn(member, role),
            opts,
            session: tokio::sync::Mutex::new(None),
        }))
    }

    /// The session's credentials: the kept ones while they have more than
    /// [`RENEW_BEFORE`] left, else a new session.
    pub(crate) async fn credentials(&self) -> Result<Credentials, VendorError> {
        let mut kept = self.0.session.lock().await;
        let now = std::time::SystemTime::now();
        if let Some((c, _)) = kept.as_ref().filter(|(c, at)| !due(c, *at, now)) {
            return Ok(c.clone());
        }
        let fresh = self.assume().await?;
        *kept = Some((fresh.clone(), now));
        Ok(fresh)
    }

    /// Drops the kept session, so the next request assumes the role again:
    /// the vendor said it expired before the local clock did (clock skew).
    /// A renewal under way already replaces it.
    fn forget(&self) {
        if let Ok(mut kept) = self.0.session.try_lock() {
            *kept = None;
        }
    }

    async fn assume(&self) -> Result<Credentials, VendorError> {
        let inner = &self.0;
        let opts = &inner.opts;
        let out = http::retry(opts, Vendor::Aws, "sts:AssumeRole", |_| async {
            inner
                .sts
                .assume_role()
                .role_arn(&inner.role_arn)
                .role_session_name("tether")
                .duration_seconds(SESSION_SECONDS)
                .send()
                .await
                .map_err(|e| failure(opts, &e))
        })
        .await
        .map_err(|e| crate::cloud::error::role_refused(e, &inner.role_arn))?;
        let c = out.credentials().ok_or_else(|| {
            VendorError::new(
                Vendor::Aws,
                ErrorKind::Other,
                "AssumeRole answered without credentials",
            )
        })?;
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            std::time::SystemTime::try_from(*c.expiration()).ok(),
            "tether-assume-role",
        ))
    }
}

/// Whether session credentials issued at `issued` are due for renewal at
/// `now`: [`RENEW_BEFORE`] their expiry, or a quarter of their life before
/// it when they live less than four times that.
fn due(c: &Credentials, issued: std::time::SystemTime, now: std::time::SystemTime) -> bool {
    c.expiry().is_some_and(|e| {
        let life = e.duration_since(issued).unwrap_or_default();
        let margin = RENEW_BEFORE.min(life / 4);
        e.duration_since(now).map_or(true, |left| left <= margin)
    })
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.credentials()
                .await
                .map_err(|e| CredentialsError::provider_error(e.message))
        })
    }
}

/// Verifies a member account: `role` assumed in `member` with the main
/// account's key, then `GetCallerIdentity` with the session: the member's
/// account and the assumed role's ARN.
pub(crate) async fn verify_member(
    creds: &KeyCredentials<'_>,
    member: &str,
    role: &str,
    endpoint: Option<&str>,
    conns: &Connections,
) -> Result<VerifiedIdentity, VendorError> {
    let assumed = AssumedRole::new(creds, member, role, endpoint, conns);
    assumed.credentials().await?;
    let opts = conns.options();
    let sts = aws_sdk_sts::Client::new(&sdk_config(
        SharedCredentialsProvider::new(assumed),
        creds.region,
        endpoint,
        opts,
        conns.aws.clone(),
    ));
    caller_identity(&sts, opts).await
}

async fn caller_identity(
    sts: &aws_sdk_sts::Client,
    opts: &ClientOptions,
) -> Result<VerifiedIdentity, VendorError> {
    let out = http::retry(opts, Vendor::Aws, "sts:GetCallerIdentity", |_| async {
        sts.get_caller_identity()
            .send()
            .await
            .map_err(|e| failure(opts, &e))
    })
    .await?;
    let account_id = out.account().unwrap_or_default().to_string();
    if account_id.is_empty() {
        return Err(VendorError::new(
            Vendor::Aws,
            ErrorKind::Other,
            "GetCallerIdentity answered without an account id",
        ));
    }
    Ok(VerifiedIdentity {
        account_id,
        principal: out.arn().unwrap_or_default().to_string(),
        scopes: Vec::<Scope>::new(),
        verified_at: crate::clock::rfc3339_now(),
    })
}

/// The members of the organization the key's account manages (AWS
/// Organizations: `DescribeOrganization`, every page of `ListAccounts`,
/// then each member's OU path from `ListParents` and
/// `DescribeOrganizationalUnit`, `parallelism` at a time, each OU asked
/// once). The management account itself is not a member.
pub(crate) async fn members(
    creds: &KeyCredentials<'_>,
    endpoint: Option<&str>,
    conns: &Connections,
    parallelism: usize,
    paths: bool,
) -> Result<crate::org::Listed, VendorError> {
    use aws_sdk_organizations::types::ParentType;
    use futures_util::StreamExt;
    let opts = conns.options();
    // Organizations is global: signed for `us-east-1`.
    let org = aws_sdk_organizations::Client::new(&sdk_config(
        static_key((creds.access_key_id, creds.secret_access_key)),
        DEFAULT_REGION,
        endpoint,
        opts,
        conns.aws.clone(),
    ));
    let described = http::retry(
        opts,
        Vendor::Aws,
        "organizations:DescribeOrganization",
        |_| async {
            org.describe_organization()
                .send()
                .await
                .map_err(|e| failure(opts, &e))
        },
    )
    .await?;
    let o = described.organization();
    let id = o.and_then(|o| o.id()).unwrap_or_default().to_string();
    let management = o
        .and_then(|o| o.master_account_id())
        .unwrap_or_default()
        .to_string();
    let mut accounts = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = http::retry(opts, Vendor::Aws, "organizations:ListAccounts", |_| async {
            org.list_accounts()
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| failure(opts, &e))
        })
        .await?;
        for a in page.accounts() {
            let Some(aid) = a.id() else { continue };
            if aid == management {
                continue;
            }
            let status = a
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            accounts.push((
                aid.to_string(),
                a.name().unwrap_or_default().to_string(),
                status,
            ));
        }
        token = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    if token.is_some() {
        return Err(too_many_pages(Vendor::Aws, "ListAccounts"));
    }
    if !paths {
        let members = accounts
            .into_iter()
            .map(|(id, name, status)| crate::org::Member {
                id,
                name,
                path: String::new(),
                status,
            })
            .collect();
        return Ok(crate::org::Listed { id, members });
    }
    // Each member's parent; then each OU's name and parent, once.
    let parent_of = |child: String| {
        let org = &org;
        async move {
            let out = http::retry(opts, Vendor::Aws, "organizations:ListParents", |_| async {
                org.list_parents()
                    .child_id(&child)
                    .send()
                    .await
                    .map_err(|e| failure(opts, &e))
            })
            .await?;
            let p = out.parents().first();
            Ok::<_, VendorError>((
                child,
                p.and_then(|p| p.id()).unwrap_or_default().to_string(),
                p.and_then(|p| p.r#type()) == Some(&ParentType::OrganizationalUnit),
            ))
        }
    };
    let parents: Vec<(String, String, bool)> =
        futures_util::stream::iter(accounts.iter().map(|(aid, _, _)| parent_of(aid.clone())))
            .buffered(parallelism.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
    let mut units: std::collections::BTreeMap<String, (String, Option<String>)> =
        Default::default();
    let mut pending: Vec<String> = parents
        .iter()
        .filter(|p| p.2)
        .map(|p| p.1.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Up the tree, one level of OUs at a time (AWS nests at most five).
    for _ in 0..8 {
        if pending.is_empty() {
            break;
        }
        let found: Vec<(String, String, Option<String>)> =
            futures_util::stream::iter(pending.iter().map(|ou| {
                let org = &org;
                let ou = ou.clone();
                async move {
                    let d = http::retry(
                        opts,
                        Vendor::Aws,
                        "organizations:DescribeOrganizationalUnit",
                        |_| async {
                            org.describe_organizational_unit()
                                .organizational_unit_id(&ou)
                                .send()
                                .await
                                .map_err(|e| failure(opts, &e))
                        },
                    )
                    .await?;
                    let name = d
                        .organizational_unit()
                        .and_then(|u| u.name())
                        .unwrap_or_default()
                        .to_string();
                    let (_, parent, is_ou) = parent_of(ou.clone()).await?;
                    Ok::<_, VendorError>((ou, name, is_ou.then_some(parent)))
                }
            }))
            .buffered(parallelism.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        pending = Vec::new();
        for (ou, name, parent) in found {
            if let Some(p) = &parent {
                if !units.contains_key(p) {
                    pending.push(p.clone());
                }
            }
            units.insert(ou, (name, parent));
        }
        pending.sort();
        pending.dedup();
    }
    let path_of = |parent: &str, is_ou: bool| -> String {
        let mut names = Vec::new();
        let mut cur = is_ou.then(|| parent.to_string());
        while let Some(ou) = cur.take() {
            if names.len() > 8 {
                break;
            }
            match units.get(&ou) {
                Some((name, up)) => {
                    names.push(name.clone());
                    cur = up.clone();
                }
                None => names.push(ou),
            }
        }
        names.push("Root".to_string());
        names.reverse();
        names.join("/")
    };
    let members = accounts
        .into_iter()
        .zip(parents)
        .map(
            |((aid, name, status), (_, parent, is_ou))| crate::org::Member {
                path: path_of(&parent, is_ou),
                id: aid,
                name,
                status,
            },
        )
        .collect();
    Ok(crate::org::Listed { id, members })
}

/// What the key may be missing to check its own age and last use.
const IAM_GRANT: &str =
    "iam:ListAccessKeys and iam:GetAccessKeyLastUsed on the user itself (in IAMReadOnlyAccess)";

/// Credential hygiene with the account's own key, at its recorded
/// endpoint (a root key is read from the identity, by the caller): the key's
/// creation date (IAM `ListAccessKeys`, the caller's own keys) and last use
/// (`GetAccessKeyLastUsed`). A refused or failed call is a check not made.
pub(crate) async fn hygiene(
    creds: &KeyCredentials<'_>,
    endpoint: Option<&str>,
    conns: &Connections,
) -> Facts {
    let mut facts = Facts::default();
    let opts = conns.options();
    // IAM is global: signed for `us-east-1`.
    let iam = aws_sdk_iam::Client::new(&sdk_config(
        static_key((creds.access_key_id, creds.secret_access_key)),
        DEFAULT_REGION,
        endpoint,
        opts,
        conns.aws.clone(),
    ));
    let listed = http::retry(opts, Vendor::Aws, "iam:ListAccessKeys", |_| async {
        iam.list_access_keys()
            .send()
            .await
            .map_err(|e| failure(opts, &e))
    })
    .await;
    let listed = listed.map(|out| {
        out.access_key_metadata()
            .iter()
            .find(|k| k.access_key_id() == Some(creds.access_key_id))
            .and_then(|k| k.create_date())
            .map(|d| crate::clock::rfc3339(d.secs()))
    });
    let Some(created) = super::key_created(listed, &mut facts, IAM_GRANT) else {
        return facts;
    };
    let used = http::retry(opts, Vendor::Aws, "iam:GetAccessKeyLastUsed", |_| async {
        iam.get_access_key_last_used()
            .access_key_id(creds.access_key_id)
            .send()
            .await
            .map_err(|e| failure(opts, &e))
    })
    .await;
    let used = used.map(|out| {
        out.access_key_last_used()
            .and_then(|u| u.last_used_date())
            .map(|d| crate::clock::rfc3339(d.secs()))
    });
    let last_used = super::last_use(used, &mut facts, IAM_GRANT);
    facts.keys.push(KeyFacts {
        id: creds.access_key_id.to_string(),
        created,
        last_used,
    });
    facts
}

/// The smithy HTTP client (rustls with `aws-lc-rs`). It keeps one
/// connection pool per timeout setting, so every SDK client built on it
/// shares connections.
pub(crate) fn http_client() -> aws_sdk_ec2::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_https()
}

/// A key as the SDK takes it.
fn static_key((access_key_id, secret): (&str, &str)) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        access_key_id,
        secret,
        None,
        None,
        "tether",
    ))
}

/// The one SDK configuration of a key: static credentials, signed for
/// `region`, `api_endpoint` as the endpoint URL, the run's timeouts, SDK
/// retries off (`http::retry` decides), on the shared HTTP client. STS,
/// IAM and every region's EC2 client are built from it.
fn sdk_config(
    creds: SharedCredentialsProvider,
    region: &str,
    endpoint: Option<&str>,
    opts: &ClientOptions,
    http_client: aws_sdk_ec2::config::SharedHttpClient,
) -> aws_types::SdkConfig {
    let mut b = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client)
        .region(Region::new(region.to_string()))
        .credentials_provider(creds)
        // Static keys need no cache, and an assumed role keeps its own
        // (one session for every region's client, renewed before expiry).
        .identity_cache(aws_sdk_sts::config::IdentityCache::no_cache())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(opts.connect_timeout)
                .operation_attempt_timeout(opts.timeout)
                .build(),
        );
    if let Some(e) = endpoint {
        b = b.endpoint_url(e);
    }
    b.build()
}

fn failure<E>(opts: &ClientOptions, e: &SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let rid = e.request_id().map(str::to_string);
    match e {
        SdkError::ServiceError(se) => {
            let raw = se.raw();
            let status = raw.status().as_u16();
            // Some emulators wrap errors as `ErrorResponse/Errors/Error`, which
            // the SDK's awsQuery parser does not read: fall back to the body.
            let body = raw.body().bytes().map(String::from_utf8_lossy);
            let from_body = |name: &str| {
                body.as_deref()
                    .and_then(|b| element(b, name))
                    .unwrap_or_default()
            };
            let code = se
                .err()
                .code()
                .map_or_else(|| from_body("Code"), str::to_string);
            let message = se
                .err()
                .message()
                .map_or_else(|| from_body("Message"), str::to_string);
            let code = code.as_str();
            let kind = if AUTH.contains(&code) {
                ErrorKind::Auth
            } else if DENIED.contains(&code) {
                ErrorKind::Denied
            } else if THROTTLING.contains(&code) {
                ErrorKind::Throttled
            } else if TRANSIENT.contains(&code) {
                ErrorKind::Retryable
            } else {
                http::kind_for_status(status)
            };
            let message = if message.is_empty() {
                format!("HTTP {status}")
            } else {
                message
            };
            Failure {
                error: VendorError::new(Vendor::Aws, kind, message)
                    .code(code)
                    .request_id(rid),
                retry_after: http::retry_hint(|n| raw.headers().get(n)),
            }
        }
        SdkError::ResponseError(re) => {
            let status = re.raw().status().as_u16();
            let kind = http::kind_for_status(status);
            VendorError::new(
                Vendor::Aws,
                kind,
                format!(
                    "unreadable answer (HTTP {status}): {}",
                    DisplayErrorContext(e)
                ),
            )
            .request_id(rid)
            .into()
        }
        SdkError::TimeoutError(_) => VendorError::new(
            Vendor::Aws,
            ErrorKind::Retryable,
            format!("no answer within {}s", opts.timeout.as_secs_f32()),
        )
        .into(),
        SdkError::DispatchFailure(d) => {
            let kind = if d.is_timeout() || d.is_io() {
                ErrorKind::Unreachable
            } else if d.is_user() {
                ErrorKind::Other
            } else {
                ErrorKind::Unreachable
            };
            VendorError::new(Vendor::Aws, kind, DisplayErrorContext(e).to_string()).into()
        }
        _ => VendorError::new(
            Vendor::Aws,
            ErrorKind::Other,
            DisplayErrorContext(e).to_string(),
        )
        .into(),
    }
}

/// EC2 listing for one account: DescribeRegions, DescribeInstances,
/// DescribeVpcs, DescribeSubnets, DescribeSecurityGroups with
/// `MaxResults=1000`, following `NextToken` to the end. One SDK client per
/// region, all on the run's shared HTTP client.
pub(crate) struct Lister {
    /// The key, or a member's assumed role.
    creds: SharedCredentialsProvider,
    /// A member's role: its session is dropped when the vendor says it
    /// expired.
    assumed: Option<AssumedRole>,
    sign_region: String,
    endpoint: Option<String>,
    http: aws_sdk_ec2::config::SharedHttpClient,
    opts: ClientOptions,
    clients: std::sync::Mutex<std::collections::HashMap<String, aws_sdk_ec2::Client>>,
}

/// Page size of the Describe calls (the EC2 maximum).
const PAGE: i32 = 1000;

/// The smallest page EC2 takes (a probe's).
const PROBE_PAGE: i32 = 5;

/// The tags of a listed item, moved out of the SDK's answer.
fn tags_of(
    tags: Option<Vec<aws_sdk_ec2::types::Tag>>,
) -> std::collections::BTreeMap<String, String> {
    tags.unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect()
}

impl Lister {
    pub(crate) fn new(
        conns: &Connections,
        creds: &KeyCredentials<'_>,
        endpoint: Option<String>,
    ) -> Lister {
        Lister {
            creds: static_key((creds.access_key_id, creds.secret_access_key)),
            assumed: None,
            sign_region: creds.region.to_string(),
            endpoint,
            http: conns.aws.clone(),
            opts: conns.opts.clone(),
            clients: Default::default(),
        }
    }

    /// The lister of a member account: `role` assumed in `member` with the
    /// main account's key `creds`, once here (so a role that cannot be
    /// assumed fails the account before any listing), then again before
    /// the session expires.
    pub(crate) async fn member(
        conns: &Connections,
        creds: &KeyCredentials<'_>,
        endpoint: Option<String>,
        member: &str,
        role: &str,
    ) -> Result<Lister, VendorError> {
        let assumed = AssumedRole::new(creds, member, role, endpoint.as_deref(), conns);
        assumed.credentials().await?;
        Ok(Lister {
            creds: SharedCredentialsProvider::new(assumed.clone()),
            assumed: Some(assumed),
            sign_region: creds.region.to_string(),
            endpoint,
            http: conns.aws.clone(),
            opts: conns.opts.clone(),
            clients: Default::default(),
        })
    }

    fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        let mut map = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(region) {
            return c.clone();
        }
        let c = aws_sdk_ec2::Client::new(&sdk_config(
            self.creds.clone(),
            region,
            self.endpoint.as_deref(),
            &self.opts,
            self.http.clone(),
        ));
        map.insert(region.to_string(), c.clone());
        c
    }

    /// [`failure`], and for a member whose session the vendor calls expired
    /// (`ExpiredToken`, or EC2's `RequestExpired`, while the local clock
    /// still trusted it): the session
    /// is dropped and the attempt is retryable, so the retry assumes the
    /// role again.
    fn fail<E>(&self, opts: &ClientOptions, e: &SdkError<E>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut f = failure(opts, e);
        if let Some(a) = &self.assumed {
            if matches!(
                f.error.code.as_deref(),
                Some("ExpiredToken" | "RequestExpired")
            ) {
                a.forget();
                f.error.kind = ErrorKind::Retryable;
            }
        }
        f
    }

    /// The regions enabled for the account (DescribeRegions without
    /// `AllRegions`: opted-in and opt-in-not-required ones).
    pub(crate) async fn regions(&self, ctx: &Ctx<'_>) -> Result<Vec<String>, VendorError> {
        let ec2 = self.ec2(&self.sign_region);
        let key = ctx.key(&self.sign_region, "DescribeRegions");
        let out = ctx
            .call(&key, "ec2:DescribeRegions", || async {
                ec2.describe_regions()
                    .send()
                    .await
                    .map_err(|e| self.fail(ctx.opts, &e))
            })
            .await?;
        Ok(out
            .regions()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect())
    }

    pub(crate) async fn list(
        &self,
        ctx: &Ctx<'_>,
        key: &PartitionKey,
        out: &mut Sink<'_>,
    ) -> Result<(), VendorError> {
        let ec2 = self.ec2(&key.region);
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let t = token.clone();
            let next = match key.kind.as_str() {
                "instance" => {
                    let bucket = ctx.key(&key.region, "DescribeInstances");
                    let page = ctx
                        .call(&bucket, "ec2:DescribeInstances", || async {
                            ec2.describe_instances()
                                .max_results(ctx.page_size(PAGE, PROBE_PAGE))
                                .set_next_token(t.clone())
                                .send()
                                .await
                                .map_err(|e| self.fail(ctx.opts, &e))
                        })
                        .await?;
                    let next = page.next_token;
                    let instances = page
                        .reservations
                        .unwrap_or_default()
                        .into_iter()
                        .flat_map(|r| r.instances.unwrap_or_default());
                    for i in instances {
                        let Some(id) = i.instance_id else { continue };
                        let mut r = Record::new(id);
                        r.tags = tags_of(i.tags);
                        r.name = r.tags.get("Name").cloned();
                        r.status = i.state.and_then(|s| s.name).map(|n| n.as_str().to_string());
                        r.attr(
                            "instance_type",
                            i.instance_type.as_ref().map_or("", |t| t.as_str()),
                        )
                        .attr("vpc_id", i.vpc_id.unwrap_or_default())
                        .attr("subnet_id", i.subnet_id.unwrap_or_default())
                        .attr(
                            "availability_zone",
                            i.placement
                                .and_then(|p| p.availability_zone)
                                .unwrap_or_default(),
                        )
                        .attr("private_ip", i.private_ip_address.unwrap_or_default())
                        .attr("public_ip", i.public_ip_address.unwrap_or_default())
                        .attr("image_id", i.image_id.unwrap_or_default());
                        out.push(r.into_resource(key, "AWS::EC2::Instance"));
                    }
                    next
                }
                "vpc" => {
                    let bucket = ctx.key(&key.region, "DescribeVpcs");
                    let page = ctx
                        .call(&bucket, "ec2:DescribeVpcs", || async {
                            ec2.describe_vpcs()
                                .max_results(ctx.page_size(PAGE, PROBE_PAGE))
                                .set_next_token(t.clone())
                                .send()
                                .await
                                .map_err(|e| self.fail(ctx.opts, &e))
                        })
                        .await?;
                    for mut v in page.vpcs.unwrap_or_default() {
                        let Some(id) = v.vpc_id() else { continue };
                        let mut r = Record::new(id);
                        r.tags = tags_of(v.tags.take());
                        r.name = r.tags.get("Name").cloned();
                        r.status = v.state().map(|s| s.as_str().to_string());
                        r.attr("cidr_block", v.cidr_block().unwrap_or("")).value(
                            "is_default",
                            v.is_default().map_or(serde_json::Value::Null, Into::into),
                        );
                        out.push(r.into_resource(key, "AWS::EC2::VPC"));
                    }
                    page.next_token
                }
                "subnet" => {
                    let bucket = ctx.key(&key.region, "DescribeSubnets");
                    let page = ctx
                        .call(&bucket, "ec2:DescribeSubnets", || async {
                            ec2.describe_subnets()
                                .max_results(ctx.page_size(PAGE, PROBE_PAGE))
                                .set_next_token(t.clone())
                                .send()
                                .await
                                .map_err(|e| self.fail(ctx.opts, &e))
                        })
                        .await?;
                    for mut s in page.subnets.unwrap_or_default() {
                        let Some(id) = s.subnet_id() else { continue };
                        let mut r = Record::new(id);
                        r.tags = tags_of(s.tags.take());
                        r.name = r.tags.get("Name").cloned();
                        r.status = s.state().map(|s| s.as_str().to_string());
                        r.attr("vpc_id", s.vpc_id().unwrap_or(""))
                            .attr("cidr_block", s.cidr_block().unwrap_or(""))
                            .attr("availability_zone", s.availability_zone().unwrap_or(""));
                        out.push(r.into_resource(key, "AWS::EC2::Subnet"));
                    }
                    page.next_token
                }
                _ => {
                    let bucket = ctx.key(&key.region, "DescribeSecurityGroups");
                    let page = ctx
                        .call(&bucket, "ec2:DescribeSecurityGroups", || async {
                            ec2.describe_security_groups()
                                .max_results(ctx.page_size(PAGE, PROBE_PAGE))
                                .set_next_token(t.clone())
                                .send()
                                .await
                                .map_err(|e| self.fail(ctx.opts, &e))
                        })
                        .await?;
                    for mut g in page.security_groups.unwrap_or_default() {
                        let Some(id) = g.group_id() else { continue };
                        let mut r = Record::new(id);
                        r.tags = tags_of(g.tags.take());
                        r.name = g.group_name().map(str::to_string);
                        r.attr("vpc_id", g.vpc_id().unwrap_or(""))
                            .attr("description", g.description().unwrap_or(""));
                        out.push(r.into_resource(key, "AWS::EC2::SecurityGroup"));
                    }
                    page.next_token
                }
            };
            if ctx.probe {
                return Ok(());
            }
            match next.filter(|n| !n.is_empty()) {
                Some(n) if Some(&n) == token.as_ref() => {
                    return Err(VendorError::new(
                        Vendor::Aws,
                        ErrorKind::Other,
                        "EC2 answered the same NextToken twice",
                    ));
                }
                Some(n) => token = Some(n),
                None => return Ok(()),
            }
        }
        Err(too_many_pages(Vendor::Aws, &key.kind))
    }
}

/// The text of the first `<name>` element of an XML body, unescaped.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find('<')?;
    let text = xml[start..start + len]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_error_elements_from_a_body() {
        let b = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>a &amp; b</Message></Error></Errors></ErrorResponse>";
        assert_eq!(element(b, "Code").as_deref(), Some("InvalidClientTokenId"));
        assert_eq!(element(b, "Message").as_deref(), Some("a & b"));
        assert_eq!(element(b, "RequestId"), None);
    }

    #[test]
    fn a_session_is_renewed_five_minutes_or_a_quarter_of_its_life_before_it_expires() {
        use std::time::Duration;
        let now = std::time::SystemTime::now();
        let left = |secs: u64| {
            Credentials::new(
                "ASIA",
                "s",
                Some("t".into()),
                Some(now + Duration::from_secs(secs)),
                "test",
            )
        };
        let issued =
            |left: u64, life: u64| now + Duration::from_secs(left) - Duration::from_secs(life);
        // An hour's session: renewed in its last five minutes.
        assert!(!due(&left(3600), issued(3600, 3600), now));
        assert!(!due(&left(301), issued(301, 3600), now));
        assert!(due(&left(300), issued(300, 3600), now));
        assert!(due(&left(0), issued(0, 3600), now));
        // A 20-second session: in its last 5 seconds.
        assert!(!due(&left(6), issued(6, 20), now));
        assert!(due(&left(5), issued(5, 20), now));
        // Already expired.
        let past = Credentials::new(
            "ASIA",
            "s",
            None,
            Some(now - Duration::from_secs(5)),
            "test",
        );
        assert!(due(&past, now - Duration::from_secs(3605), now));
        // A key with no expiry is never renewed.
        assert!(!due(
            &Credentials::new("AKIA", "s", None, None, "test"),
            now,
            now
        ));
    }

    #[test]
    fn role_arns_name_the_member_and_the_role() {
        assert_eq!(
            role_arn("210987654321", "OrganizationAccountAccessRole"),
            "arn:aws:iam::210987654321:role/OrganizationAccountAccessRole"
        );
    }
}
