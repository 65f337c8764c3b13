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

use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::config::Vendor;
use crate::state::model::{Scope, VerifiedIdentity};
use crate::vendor::error::{ErrorKind, VendorError};
use crate::vendor::http::{self, ClientOptions, Failure};
use crate::vendor::{KeyCredentials, VendorApi};

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

/// Codes that mean the credentials are not accepted.
const AUTH: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AuthFailure",
    "AccessDenied",
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
        opts: &ClientOptions,
    ) -> Result<VerifiedIdentity, VendorError> {
        let sts = client(creds, endpoint, opts);
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
            verified_at: http::rfc3339(http::now_secs()),
        })
    }
}

fn client(
    creds: &KeyCredentials<'_>,
    endpoint: Option<&str>,
    opts: &ClientOptions,
) -> aws_sdk_sts::Client {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    let mut b = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client)
        .region(Region::new(creds.region.to_string()))
        .credentials_provider(Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            None,
            None,
            "tether",
        ))
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
    aws_sdk_sts::Client::from_conf(b.build())
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
}
