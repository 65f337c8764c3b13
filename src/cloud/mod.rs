//! The vendors behind one narrow interface: today, the identity part —
//! "whose credentials are these?" — for AWS, Alibaba Cloud, Azure and
//! Huawei Cloud Stack (docs/design.md §3, "Applying an account means…").
//!
//! - [`verify`] takes a validated [`Account`] and its decrypted [`Secret`],
//!   calls the vendor's identity API and answers a [`VerifiedIdentity`]
//!   (state's own type) or a [`VendorError`].
//! - [`check_identity`] compares what the vendor said with what the config
//!   declares, and says whose credentials they really are when they differ.
//! - [`check_stable`] compares a new identity with the one recorded in
//!   state: the same endpoint answering for another HCS domain means the
//!   environment behind it changed.
//!
//! - [`list`]: listing for sync: a [`Session`] per account discovers its
//!   regions and fetches one partition (account, region, type) at a time,
//!   every page, paced by the run's [`RateLimiter`].
//!
//! Dispatch: one [`VendorApi`] implementation per vendor (`aws.rs` with
//! aws-sdk-sts; `alibaba.rs`, `azure.rs`, `hcs.rs` over reqwest), chosen by
//! a `match` on the account's vendor (enum dispatch). The trait uses native
//! `async fn`, so it is not object-safe and need not be: the set of vendors
//! is closed, and static dispatch keeps every future `Send` without boxing.
//!
//! Invariants:
//! - SDK and HTTP types never cross this module's public interface: inputs
//!   are config types and [`Secret`], outputs are state types and
//!   [`VendorError`] / [`Mismatch`].
//! - Plaintext secrets are read only where a request is signed or sent, and
//!   are never logged; every error message is scrubbed of the secret.
//! - Every call goes through one retry policy ([`http::retry`]): timeouts,
//!   exponential backoff with jitter, vendor retry hints honoured; auth
//!   failures are never retried.
//! - `api_endpoint` replaces every endpoint of the vendor (the simulator, a
//!   private deployment); without it the vendor's public HTTPS endpoints are used.

pub mod alibaba;
mod aws;
pub mod azure;
pub mod destination;
pub mod encode;
pub mod error;
pub mod hcs;
pub mod http;
pub mod list;

pub use error::{ErrorKind, Mismatch, VendorError};
pub use http::{BucketKey, ClientOptions, Rate, RateLimiter, published_rate};
pub use list::{Connections, Session, resource_types};

use crate::config::{Account, Vendor, VendorAccount};
use crate::state::model::VerifiedIdentity;
pub use destination::{Cleared, Destination};

/// AWS or Alibaba Cloud access key.
#[derive(Debug)]
pub struct KeyCredentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// AWS: the region requests are signed for.
    pub region: &'a str,
}

/// An Entra ID application (service principal) in a tenant.
#[derive(Debug)]
pub struct AzureCredentials<'a> {
    pub tenant_id: &'a str,
    pub application_id: &'a str,
    pub application_secret: &'a str,
}

/// An HCS login account in one environment.
#[derive(Debug)]
pub struct HcsCredentials<'a> {
    /// The environment's domain name or IP address.
    pub endpoint: &'a str,
    pub environment: &'a str,
    pub account: &'a str,
    pub password: &'a str,
}

/// What one vendor needs to authenticate. Built from a config [`Account`]
/// and its [`Cleared`] secret; borrows both, so it lives no longer than
/// the secret. `Debug` would show the secret: it is not derived here.
pub enum Credentials<'a> {
    Aws(KeyCredentials<'a>),
    Alibaba(KeyCredentials<'a>),
    Azure(AzureCredentials<'a>),
    Hcs(HcsCredentials<'a>),
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (vendor, id) = match self {
            Credentials::Aws(c) => ("aws", c.access_key_id),
            Credentials::Alibaba(c) => ("alibaba", c.access_key_id),
            Credentials::Azure(c) => ("azure", c.application_id),
            Credentials::Hcs(c) => ("hcs", c.account),
        };
        write!(f, "Credentials({vendor}, {id}, (sensitive))")
    }
}

impl<'a> Credentials<'a> {
    /// The credentials of `account`, with `secret` as its secret attribute.
    /// The one place credentials are made: a secret cleared for another
    /// destination than `account`'s is refused here, before any request.
    pub fn new(account: &'a Account, secret: &'a Cleared) -> Result<Credentials<'a>, VendorError> {
        let vendor = account.vendor.vendor();
        if !secret.allows(account) {
            return Err(VendorError::new(
                vendor,
                ErrorKind::Other,
                format!(
                    "refused: the secret was cleared for {}, not for {}",
                    secret.destination(),
                    Destination::of(account)
                ),
            ));
        }
        let s = secret.secret().expose_str().ok_or_else(|| {
            VendorError::new(
                vendor,
                ErrorKind::Other,
                "the decrypted secret is not UTF-8 text",
            )
        })?;
        Ok(match &account.vendor {
            VendorAccount::Aws(a) => Credentials::Aws(KeyCredentials {
                access_key_id: &a.access_key_id,
                secret_access_key: s,
                region: account
                    .regions
                    .as_ref()
                    .and_then(|r| r.first())
                    .map_or(aws::DEFAULT_REGION, String::as_str),
            }),
            VendorAccount::Alibaba(a) => Credentials::Alibaba(KeyCredentials {
                access_key_id: &a.access_key_id,
                secret_access_key: s,
                region: account
                    .regions
                    .as_ref()
                    .and_then(|r| r.first())
                    .map_or("", String::as_str),
            }),
            VendorAccount::Azure(a) => Credentials::Azure(AzureCredentials {
                tenant_id: &a.tenant_id,
                application_id: &a.application_id,
                application_secret: s,
            }),
            VendorAccount::Hcs(a) => Credentials::Hcs(HcsCredentials {
                endpoint: &a.endpoint,
                environment: &a.environment_name,
                account: &a.account,
                password: s,
            }),
        })
    }
}

/// One vendor's API, as tether uses it. The sync work adds listing here.
pub(crate) trait VendorApi<'a> {
    /// What the vendor authenticates with, borrowing the account and secret.
    type Credentials;

    /// Authenticates with the vendor and reports whose credentials these
    /// are. `endpoint` replaces every vendor endpoint when set.
    async fn verify_identity(
        &self,
        creds: &Self::Credentials,
        endpoint: Option<&str>,
        conns: &Connections,
    ) -> Result<VerifiedIdentity, VendorError>;
}

/// Credential hygiene of `account`: what its vendor says of the
/// credentials themselves (root key, key age and last use, secret expiry),
/// asked with the account's own cleared secret at the account's own
/// endpoint, after [`verify`] answered `identity`. Never fails: a check the
/// vendor refuses is one of the facts.
pub async fn hygiene(
    account: &Account,
    secret: &Cleared,
    identity: &VerifiedIdentity,
    conns: &Connections,
) -> crate::hygiene::Facts {
    // A member has no credentials of its own: its main account's key is
    // checked as the main account's.
    if account.via.is_some() {
        return crate::hygiene::Facts::default();
    }
    let endpoint = account
        .api_endpoint
        .as_deref()
        .map(|e| e.trim_end_matches('/'));
    let mut facts = match Credentials::new(account, secret) {
        Err(e) => crate::hygiene::Facts {
            unchecked: vec![unchecked(
                "the credentials",
                &e,
                "nothing: the secret is refused",
            )],
            ..Default::default()
        },
        // A root key shows in the identity's ARN: `arn:aws:iam::N:root`,
        // `acs:ram::N:root`.
        Ok(Credentials::Aws(c)) => crate::hygiene::Facts {
            root: identity.principal.ends_with(":root"),
            ..aws::hygiene(&c, endpoint, conns).await
        },
        Ok(Credentials::Alibaba(c)) => crate::hygiene::Facts {
            root: identity.principal.ends_with(":root"),
            ..alibaba::hygiene(&c, endpoint, conns).await
        },
        Ok(Credentials::Azure(c)) => azure::hygiene(&c, endpoint, conns).await,
        Ok(Credentials::Hcs(c)) => hcs::hygiene(&c, endpoint, conns).await,
    };
    for u in &mut facts.unchecked {
        http::scrub(&mut u.message, secret.secret());
        if let Some(c) = u.code.as_mut() {
            http::scrub(c, secret.secret());
        }
    }
    facts
}

/// The permission preflight: with the account's cleared secret, at its own
/// endpoint, signs in and calls each listing API its sync uses once, for
/// the smallest page, in its first region (one subscription or project);
/// answers every call the vendor denied, as `(type, region, error)`
/// (`regions` when the region discovery itself is denied). Other failures
/// (throttling, 5xx, refused credentials) are not denials: sync and the
/// identity check report those.
pub async fn preflight(
    account: &Account,
    secret: &Cleared,
    conns: &Connections,
) -> Vec<(String, String, VendorError)> {
    let limiter = RateLimiter::new();
    let Ok(session) = Session::open(conns, &limiter, account, secret).await else {
        return Vec::new();
    };
    let regions = match session.regions(conns, &limiter).await {
        Ok(r) => r,
        Err(e) if e.kind == ErrorKind::Denied => {
            return vec![("regions".to_string(), String::new(), e)];
        }
        Err(_) => return Vec::new(),
    };
    let Some(region) = regions.first() else {
        return Vec::new();
    };
    // The types sync fetches: every one the vendor lists, or the declared.
    let keys = resource_types(account.vendor.vendor())
        .iter()
        .filter(|t| {
            account
                .resource_types
                .as_ref()
                .is_none_or(|w| w.iter().any(|x| x == *t))
        })
        .map(|t| crate::inventory::PartitionKey {
            account: account.address.clone(),
            region: region.clone(),
            kind: t.to_string(),
        });
    let mut denied = Vec::new();
    for key in keys {
        if let Err(e) = session.probe(conns, &limiter, &key).await
            && e.kind == ErrorKind::Denied
        {
            denied.push((key.kind, key.region, e));
        }
    }
    denied
}

/// A key's creation date from the vendor's list of the caller's keys
/// (`None` in the answer: the key in use is not in it); a refused or
/// failed list, or one without the key, is a check not made.
pub(crate) fn key_created(
    listed: Result<Option<String>, VendorError>,
    facts: &mut crate::hygiene::Facts,
    grant: &'static str,
) -> Option<String> {
    match listed {
        Ok(Some(created)) => Some(created),
        Ok(None) => {
            facts
                .unchecked
                .push(crate::hygiene::Unchecked::key_not_listed(grant));
            None
        }
        Err(e) => {
            facts.unchecked.push(unchecked("key age", &e, grant));
            None
        }
    }
}

/// A key's last use from the vendor's answer (`None`: never used); a
/// refused or failed question is a check not made, and the use unknown.
pub(crate) fn last_use(
    answer: Result<Option<String>, VendorError>,
    facts: &mut crate::hygiene::Facts,
    grant: &'static str,
) -> crate::hygiene::LastUse {
    use crate::hygiene::LastUse;
    match answer {
        Ok(Some(at)) if !at.is_empty() => LastUse::At(at),
        Ok(_) => LastUse::Never,
        Err(e) => {
            facts.unchecked.push(unchecked("key last use", &e, grant));
            LastUse::Unknown
        }
    }
}

/// A check the vendor refused, or that failed after retries.
pub(crate) fn unchecked(
    what: &'static str,
    e: &VendorError,
    grant: &'static str,
) -> crate::hygiene::Unchecked {
    crate::hygiene::Unchecked {
        what,
        code: e.code.clone(),
        message: e.message.clone(),
        grant,
    }
}

/// Verifies `account`'s credentials against its vendor: what the vendor
/// says they are. Does not compare with the declared identity; see
/// [`check_identity`].
pub async fn verify(
    account: &Account,
    secret: &Cleared,
    conns: &Connections,
) -> Result<VerifiedIdentity, VendorError> {
    let endpoint = account
        .api_endpoint
        .as_deref()
        .map(|e| e.trim_end_matches('/'));
    // A member: its id (account, subscription or project) and role.
    let member = account
        .via
        .as_ref()
        .map(|v| (account.vendor.identity_key(), v.role()));
    let result = match (Credentials::new(account, secret), member) {
        (Err(e), _) => Err(e),
        (Ok(Credentials::Aws(c)), Some((id, role))) => {
            aws::verify_member(&c, id, role, endpoint, conns).await
        }
        (Ok(Credentials::Alibaba(c)), Some((id, role))) => {
            alibaba::verify_member(&c, id, role, endpoint, conns).await
        }
        (Ok(Credentials::Azure(c)), Some((sub, _))) => {
            let id = azure::Azure.verify_identity(&c, endpoint, conns).await;
            id.and_then(|id| only_scope(id, Vendor::Azure, sub))
        }
        (Ok(Credentials::Hcs(c)), Some((project, _))) => {
            let id = hcs::Hcs.verify_identity(&c, endpoint, conns).await;
            id.and_then(|id| only_scope(id, Vendor::Hcs, project))
        }
        (Ok(Credentials::Aws(c)), None) => aws::Aws.verify_identity(&c, endpoint, conns).await,
        (Ok(Credentials::Alibaba(c)), None) => {
            alibaba::Alibaba.verify_identity(&c, endpoint, conns).await
        }
        (Ok(Credentials::Azure(c)), None) => {
            azure::Azure.verify_identity(&c, endpoint, conns).await
        }
        (Ok(Credentials::Hcs(c)), None) => hcs::Hcs.verify_identity(&c, endpoint, conns).await,
    };
    result.map_err(|e| {
        let e = list::finish(e, &account.address, secret.secret());
        tracing::debug!(account = %e.account, kind = %e.kind, attempts = e.attempts, "vendor verification failed");
        e
    })
}

/// A member's identity (Azure subscription, HCS project): the main
/// account's, narrowed to the member's scope, which the credentials must
/// still see.
fn only_scope(
    mut id: VerifiedIdentity,
    vendor: Vendor,
    scope: &str,
) -> Result<VerifiedIdentity, VendorError> {
    id.scopes.retain(|s| s.id.eq_ignore_ascii_case(scope));
    if id.scopes.is_empty() {
        return Err(error::scope_gone(vendor, scope));
    }
    Ok(id)
}

/// The members a main account's vendor lists (see [`crate::org`]), asked
/// with the main account's cleared secret at its own endpoint, at most
/// `parallelism` requests at once; without `paths`, members' paths are
/// not asked for (AWS OUs, Alibaba folders, HCS parent projects) and are
/// empty.
pub async fn members(
    account: &Account,
    secret: &Cleared,
    conns: &Connections,
    parallelism: usize,
    paths: bool,
) -> Result<crate::org::Listed, VendorError> {
    let endpoint = account
        .api_endpoint
        .as_deref()
        .map(|e| e.trim_end_matches('/'));
    let result = match Credentials::new(account, secret) {
        Err(e) => Err(e),
        Ok(Credentials::Aws(c)) => aws::members(&c, endpoint, conns, parallelism, paths).await,
        Ok(Credentials::Alibaba(c)) => alibaba::members(&c, endpoint, conns, paths).await,
        Ok(Credentials::Azure(c)) => azure::members(&c, endpoint, conns).await,
        Ok(Credentials::Hcs(c)) => hcs::members(&c, endpoint, conns, paths).await,
    };
    result.map_err(|e| list::finish(e, &account.address, secret.secret()))
}

/// Checks that the identity the vendor reported is the one the config declares:
///
/// - AWS, Alibaba: the caller's account is `main_account_id`.
/// - Azure: the token was issued by the declared tenant (`tenant_id`) to
///   the declared application (`application_id`); compared case-insensitively.
/// - HCS: compared inside [`hcs`]'s verification, the one place that sees
///   the vendor's answer: IAM confirms the login account only within its
///   domain (an answer for another domain is refused), and the token's
///   catalog registers IAM under its environment, which must be the declared
///   `environment_name` (an answer for another environment is refused, code
///   `EnvironmentMismatch`). A change of IAM domain behind the same
///   endpoint is caught by [`check_stable`].
pub fn check_identity(account: &Account, id: &VerifiedIdentity) -> Result<(), Mismatch> {
    let mismatch = |what: String, attribute: &'static str, declared: &str, actual: String| {
        Err(Mismatch {
            account: account.address.clone(),
            what,
            attribute,
            declared: declared.to_string(),
            actual,
        })
    };
    match &account.vendor {
        VendorAccount::Aws(a) | VendorAccount::Alibaba(a) => {
            if id.account_id != a.main_account_id {
                let title = account.vendor.vendor().title();
                return mismatch(
                    format!("access key {}", a.access_key_id),
                    "main_account_id",
                    &a.main_account_id,
                    format!("{title} account {} ({})", id.account_id, id.principal),
                );
            }
            Ok(())
        }
        VendorAccount::Azure(a) => {
            if !id.account_id.eq_ignore_ascii_case(&a.tenant_id) {
                return mismatch(
                    format!("the secret of application {}", a.application_id),
                    "tenant_id",
                    &a.tenant_id,
                    format!("tenant {}", id.account_id),
                );
            }
            if !id.principal.eq_ignore_ascii_case(&a.application_id) {
                return mismatch(
                    "the application secret".to_string(),
                    "application_id",
                    &a.application_id,
                    format!("application {} in tenant {}", id.principal, id.account_id),
                );
            }
            Ok(())
        }
        VendorAccount::Hcs(_) => Ok(()),
    }
}

/// Checks that a re-verified identity is the one recorded in state when the
/// account was applied. The account id (AWS/Alibaba account, Azure tenant,
/// HCS domain id) must not change without a replace; for HCS this is what
/// "the environment matches" means: the `endpoint` still serves the same
/// IAM domain.
pub fn check_stable(
    account: &Account,
    recorded: &VerifiedIdentity,
    current: &VerifiedIdentity,
) -> Result<(), Mismatch> {
    if recorded.account_id == current.account_id {
        return Ok(());
    }
    let (what, attribute) = match &account.vendor {
        VendorAccount::Hcs(h) => (
            format!("the login account {} at endpoint {}", h.account, h.endpoint),
            "environment",
        ),
        VendorAccount::Azure(_) => ("the application secret".to_string(), "tenant"),
        VendorAccount::Aws(a) | VendorAccount::Alibaba(a) => {
            (format!("access key {}", a.access_key_id), "account")
        }
    };
    let noun = match account.vendor.vendor() {
        Vendor::Hcs => "IAM domain",
        Vendor::Azure => "tenant",
        Vendor::Aws | Vendor::Alibaba => "account",
    };
    Err(Mismatch {
        account: account.address.clone(),
        what,
        attribute,
        declared: format!("(recorded in state: {noun} {})", recorded.account_id),
        actual: format!("{noun} {}", current.account_id),
    })
}
