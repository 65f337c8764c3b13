//! Listing: every resource of an account, one partition (account, region,
//! type) at a time, following the vendor's pagination to the end.
//!
//! - [`Connections`]: the HTTP clients of one run, shared by every account
//!   (one reqwest client for Alibaba, Azure and HCS, one smithy HTTP client
//!   for the AWS SDK), so connections are reused across accounts and pages.
//! - [`Session`]: one account signed in for listing (Azure: an ARM token and
//!   its subscriptions; HCS: an IAM token and its projects; AWS, Alibaba:
//!   the key). [`Session::regions`] discovers the regions the account can
//!   see; [`Session::list`] fetches one partition.
//! - [`resource_types`]: the types tether lists per vendor (re-exported from
//!   `config`, where `resource_types` attributes are checked against it).
//!
//! Regions per vendor: AWS and Alibaba regions from `DescribeRegions`; HCS
//! regions from the project names (`{region}_{suffix}` or `{region}`); Azure
//! has one partition region, [`GLOBAL_REGION`]: resource groups and
//! resources are listed per subscription, so a partition covers every
//! subscription the principal sees, and each record keeps `location` and
//! `subscription_id` in its attributes. Declared `regions` of an Azure
//! account keep the records whose `location` is one of them.
//!
//! Every request waits for a token of its (vendor, account, scope, API)
//! bucket in the run's [`RateLimiter`] and goes through [`http::retry`];
//! throttling answers slow the bucket down. Errors are scrubbed of the
//! account's secret before they leave a [`Session`].

use std::future::Future;
use std::sync::Arc;

use crate::cloud::error::{ErrorKind, VendorError};
use crate::cloud::http::{self, BucketKey, ClientOptions, Failure, RateLimiter};
use crate::cloud::{alibaba, aws, azure, hcs};
use crate::config::{Account, Address, Vendor};
use crate::inventory::model::GLOBAL_REGION;
use crate::inventory::{PartitionKey, Resource};
use crate::secrets::Secret;

/// The resource types tether lists for a vendor; one table, kept in the
/// config layer (which validates `resource_types` against it and cannot
/// import this layer).
pub use crate::config::resource_types;

/// The HTTP clients of one run, shared by every account and request.
#[derive(Clone)]
pub struct Connections {
    pub(crate) web: reqwest::Client,
    pub(crate) aws: aws_sdk_ec2::config::SharedHttpClient,
    pub(crate) opts: ClientOptions,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connections")
    }
}

impl Connections {
    /// Clients with `opts`' timeouts and retry policy.
    pub fn new(opts: &ClientOptions) -> Result<Connections, VendorError> {
        Ok(Connections {
            web: http::client(Vendor::Alibaba, opts)?,
            aws: aws::http_client(),
            opts: opts.clone(),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }
}

/// What a listing call needs besides the session: the run's limiter and
/// the options.
pub(crate) struct Ctx<'a> {
    pub limiter: &'a RateLimiter,
    pub opts: &'a ClientOptions,
    pub account: &'a Arc<str>,
    pub vendor: Vendor,
    /// The permission preflight: one request per listing API, for the
    /// smallest page, then stop (see [`Session::probe`]).
    pub probe: bool,
}

impl Ctx<'_> {
    /// The page size to ask for: `full`, or `smallest` in a probe.
    pub fn page_size<T>(&self, full: T, smallest: T) -> T {
        if self.probe { smallest } else { full }
    }

    pub fn key(&self, scope: &str, api: &'static str) -> BucketKey {
        BucketKey {
            vendor: self.vendor,
            account: self.account.clone(),
            scope: Arc::from(scope),
            api,
        }
    }

    /// A place among the run's requests in flight, for a request that is
    /// not made through [`Ctx::call`] (a token fetch); never taken around
    /// a `call`, which takes its own.
    pub async fn in_flight(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.limiter.in_flight_permit().await
    }

    /// One paced request with retries: waits for a token of `key` before
    /// every attempt, tells the limiter about throttling and success.
    pub async fn call<T, F, Fut>(&self, key: &BucketKey, what: &str, f: F) -> Result<T, VendorError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        http::retry(self.opts, self.vendor, what, |_| async {
            let in_flight = self.limiter.acquire(key).await;
            let answer = f().await;
            drop(in_flight);
            match answer {
                Ok(v) => {
                    self.limiter.succeeded(key);
                    Ok(v)
                }
                Err(e) => {
                    if e.error.kind == ErrorKind::Throttled {
                        self.limiter.throttled(key, e.retry_after);
                    }
                    Err(e)
                }
            }
        })
        .await
    }
}

/// The fields of one record; the address and account come from the partition.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub id: String,
    pub name: Option<String>,
    pub status: Option<String>,
    pub tags: std::collections::BTreeMap<String, String>,
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Record {
    pub fn new(id: impl Into<String>) -> Record {
        Record {
            id: id.into(),
            ..Record::default()
        }
    }

    /// Sets a string attribute when the value is not empty.
    pub fn attr(&mut self, name: &str, value: impl Into<String>) -> &mut Record {
        let v: String = value.into();
        if !v.is_empty() {
            self.attributes
                .insert(name.to_string(), serde_json::Value::String(v));
        }
        self
    }

    pub fn value(&mut self, name: &str, value: serde_json::Value) -> &mut Record {
        if !value.is_null() {
            self.attributes.insert(name.to_string(), value);
        }
        self
    }

    pub fn into_resource(self, key: &PartitionKey, native_type: &str) -> Resource {
        Resource {
            address: Resource::address_of(key, &self.id),
            account: key.account.clone(),
            region: key.region.clone(),
            kind: key.kind.clone(),
            native_type: native_type.to_string(),
            id: self.id,
            name: self.name.filter(|n| !n.is_empty()),
            status: self.status.filter(|s| !s.is_empty()),
            tags: self.tags,
            attributes: self.attributes,
        }
    }
}

/// An error for a malformed vendor answer.
pub(crate) fn unreadable(vendor: Vendor, what: &str, e: impl std::fmt::Display) -> Failure {
    VendorError::new(
        vendor,
        ErrorKind::Other,
        format!("unreadable {what} answer: {e}"),
    )
    .into()
}

/// A bound on pages of one partition, against a server that never stops paging.
pub(crate) const MAX_PAGES: usize = 100_000;

/// Where a listing puts each resource as its page is read: the caller
/// encodes it at once, so a partition being fetched holds its records in
/// their stored form, never a whole partition of typed resources.
pub struct Sink<'a>(&'a mut (dyn FnMut(Resource) + Send));

impl<'a> Sink<'a> {
    pub fn new(f: &'a mut (dyn FnMut(Resource) + Send)) -> Sink<'a> {
        Sink(f)
    }

    pub fn push(&mut self, r: Resource) {
        (self.0)(r)
    }
}

pub(crate) fn too_many_pages(vendor: Vendor, what: &str) -> VendorError {
    VendorError::new(
        vendor,
        ErrorKind::Other,
        format!("{what}: the vendor kept paging past {MAX_PAGES} pages"),
    )
}

pub(crate) enum Inner {
    Aws(aws::Lister),
    Alibaba(alibaba::Lister),
    Azure(azure::Lister),
    Hcs(hcs::Lister),
}

/// One account signed in for listing. Holds a copy of the account's
/// secret (in a [`Secret`]) or the tokens obtained with it; `Debug` shows
/// neither.
pub struct Session {
    address: Address,
    key: Arc<str>,
    vendor: Vendor,
    secret: Secret,
    declared_regions: Option<Vec<String>>,
    inner: Inner,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({}, (sensitive))", self.address)
    }
}

impl Session {
    /// Signs `account` in: Azure gets an ARM token and lists the
    /// subscriptions, HCS gets an IAM token and lists the projects; AWS and
    /// Alibaba need no request here. A refusal is an [`ErrorKind::Auth`] error.
    pub async fn open(
        conns: &Connections,
        limiter: &RateLimiter,
        account: &Account,
        cleared: &super::Cleared,
    ) -> Result<Session, VendorError> {
        let secret = cleared.secret();
        let vendor = account.vendor.vendor();
        let key: Arc<str> = Arc::from(account.address.to_string());
        let endpoint = account
            .api_endpoint
            .as_deref()
            .map(|e| e.trim_end_matches('/').to_string());
        let ctx = Ctx {
            limiter,
            opts: &conns.opts,
            account: &key,
            vendor,
            probe: false,
        };
        let creds = crate::cloud::Credentials::new(account, cleared);
        // A member: AWS and Alibaba assume its role; Azure and HCS narrow
        // the main account's session to its subscription or project.
        let member = account
            .via
            .as_ref()
            .map(|v| (account.vendor.identity_key(), v.role()));
        let inner = match creds {
            Err(e) => Err(e),
            Ok(crate::cloud::Credentials::Aws(c)) => match member {
                None => Ok(Inner::Aws(aws::Lister::new(conns, &c, endpoint))),
                Some((id, role)) => aws::Lister::member(conns, &c, endpoint, id, role)
                    .await
                    .map(Inner::Aws),
            },
            Ok(crate::cloud::Credentials::Alibaba(c)) => match member {
                None => Ok(Inner::Alibaba(alibaba::Lister::new(conns, &c, endpoint))),
                Some((id, role)) => alibaba::Lister::member(conns, &c, endpoint, id, role)
                    .await
                    .map(Inner::Alibaba),
            },
            Ok(crate::cloud::Credentials::Azure(c)) => {
                let l = azure::Lister::open(conns, &ctx, &c, endpoint).await;
                match member {
                    None => l,
                    Some((sub, _)) => l.and_then(|l| l.only(sub)),
                }
                .map(Inner::Azure)
            }
            Ok(crate::cloud::Credentials::Hcs(c)) => {
                let l = hcs::Lister::open(conns, &ctx, &c, endpoint).await;
                match member {
                    None => l,
                    Some((project, _)) => l.and_then(|l| l.only(project)),
                }
                .map(Inner::Hcs)
            }
        };
        let inner = inner.map_err(|e| finish(e, &account.address, secret))?;
        Ok(Session {
            address: account.address.clone(),
            key,
            vendor,
            secret: Secret::from_slice(secret.expose()),
            declared_regions: account.regions.clone(),
            inner,
        })
    }

    /// A main account's session without the subscriptions (Azure) or
    /// projects (HCS) its members read, so each is synced once, under its
    /// member. AWS and Alibaba members are accounts of their own: nothing
    /// to leave out.
    pub fn without_members(&mut self, claimed: &[String]) {
        match &mut self.inner {
            Inner::Azure(l) => l.without(claimed),
            Inner::Hcs(l) => l.without(claimed),
            Inner::Aws(_) | Inner::Alibaba(_) => {}
        }
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    fn ctx<'a>(&'a self, limiter: &'a RateLimiter, opts: &'a ClientOptions) -> Ctx<'a> {
        Ctx {
            limiter,
            opts,
            account: &self.key,
            vendor: self.vendor,
            probe: false,
        }
    }

    /// The partition regions of the account: the declared `regions`, or
    /// every region the account can see (sorted). Azure: always
    /// [`GLOBAL_REGION`] (see the module docs).
    pub async fn regions(
        &self,
        conns: &Connections,
        limiter: &RateLimiter,
    ) -> Result<Vec<String>, VendorError> {
        if self.vendor == Vendor::Azure {
            return Ok(vec![GLOBAL_REGION.to_string()]);
        }
        if let Some(r) = &self.declared_regions {
            let mut r = r.clone();
            r.sort();
            r.dedup();
            return Ok(r);
        }
        let ctx = self.ctx(limiter, &conns.opts);
        let found = match &self.inner {
            Inner::Aws(l) => l.regions(&ctx).await,
            Inner::Alibaba(l) => l.regions(conns, &ctx).await,
            Inner::Azure(_) => Ok(vec![GLOBAL_REGION.to_string()]),
            Inner::Hcs(l) => Ok(l.regions()),
        };
        let mut found = found.map_err(|e| finish(e, &self.address, &self.secret))?;
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// The permission preflight of partition `key`'s listing API: one
    /// request for its smallest page (in one subscription or project),
    /// answered or refused; what it lists is dropped.
    pub async fn probe(
        &self,
        conns: &Connections,
        limiter: &RateLimiter,
        key: &PartitionKey,
    ) -> Result<(), VendorError> {
        let mut ctx = self.ctx(limiter, &conns.opts);
        ctx.probe = true;
        let mut drop_it = |_: Resource| {};
        self.list_with(conns, &ctx, key, &mut Sink::new(&mut drop_it))
            .await
    }

    /// Every resource of partition `key` (its account must be this
    /// session's), all pages, each handed to `out` as its page is read.
    /// On an error, what `out` was given is incomplete.
    pub async fn list(
        &self,
        conns: &Connections,
        limiter: &RateLimiter,
        key: &PartitionKey,
        out: &mut Sink<'_>,
    ) -> Result<(), VendorError> {
        let ctx = self.ctx(limiter, &conns.opts);
        self.list_with(conns, &ctx, key, out).await
    }

    async fn list_with(
        &self,
        conns: &Connections,
        ctx: &Ctx<'_>,
        key: &PartitionKey,
        out: &mut Sink<'_>,
    ) -> Result<(), VendorError> {
        let out = if !resource_types(self.vendor).contains(&key.kind.as_str()) {
            Err(VendorError::new(
                self.vendor,
                ErrorKind::Other,
                format!("{} does not list `{}`", self.vendor.title(), key.kind),
            ))
        } else {
            match &self.inner {
                Inner::Aws(l) => l.list(ctx, key, out).await,
                Inner::Alibaba(l) => l.list(conns, ctx, key, out).await,
                Inner::Azure(l) => {
                    l.list(conns, ctx, key, self.declared_regions.as_deref(), out)
                        .await
                }
                Inner::Hcs(l) => l.list(conns, ctx, key, out).await,
            }
        };
        out.map_err(|e| finish(e, &self.address, &self.secret))
    }
}

/// Names the account and scrubs the secret out of an error.
pub(crate) fn finish(mut e: VendorError, account: &Address, secret: &Secret) -> VendorError {
    e.account = account.clone();
    http::scrub(&mut e.message, secret);
    if let Some(c) = e.code.as_mut() {
        http::scrub(c, secret);
    }
    e
}
