//! What every vendor client shares: [`ClientOptions`] (timeouts, retries),
//! the retry loop with exponential backoff and jitter that honours the
//! vendors' retry hints, the classification of HTTP statuses into
//! [`ErrorKind`]s, the HTTPS client (rustls with the `aws-lc-rs` provider, the
//! platform's certificate verifier).
//!
//! Invariants: nothing here logs a header value or a body; log lines carry
//! the vendor, the attempt, the status and the error code only.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cloud::error::{ErrorKind, VendorError};
use crate::config::Vendor;
use crate::secrets::Secret;
use crate::secrets::secret::REDACTED;

/// Timeouts and retry policy of the vendor clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Limit for one attempt of one request, from sending to the whole answer.
    pub timeout: Duration,
    /// Limit for opening the connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Attempts per request, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; it doubles per attempt.
    pub initial_backoff: Duration,
    /// Upper bound of the exponential backoff.
    pub max_backoff: Duration,
    /// Upper bound of a vendor's retry hint (`Retry-After`, `x-acs-retry-after`, …).
    pub max_retry_after: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl ClientOptions {
    /// The wait before attempt `attempt + 1`. A vendor hint wins (capped at
    /// `max_retry_after`); otherwise "equal jitter": half the exponential
    /// step plus a random share of the other half.
    pub fn backoff(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        if let Some(h) = hint {
            return h.min(self.max_retry_after);
        }
        let shift = attempt.saturating_sub(1).min(20);
        let step = self
            .initial_backoff
            .saturating_mul(1u32 << shift)
            .min(self.max_backoff);
        let half = step / 2;
        let nanos = half.as_nanos().min(u64::MAX as u128) as u64;
        half + Duration::from_nanos(if nanos == 0 {
            0
        } else {
            random() % (nanos + 1)
        })
    }
}

/// One failed attempt: the error and the vendor's retry hint, if any.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: VendorError,
    pub retry_after: Option<Duration>,
}

impl From<VendorError> for Failure {
    fn from(error: VendorError) -> Failure {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or runs out of attempts.
/// `what` names the call in log lines.
pub(crate) async fn retry<T, F, Fut>(
    opts: &ClientOptions,
    vendor: Vendor,
    what: &str,
    mut attempt: F,
) -> Result<T, VendorError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let max = opts.max_attempts.max(1);
    let mut n = 1;
    loop {
        match attempt(n).await {
            Ok(v) => return Ok(v),
            Err(f) => {
                let kind = f.error.kind;
                if !kind.is_transient() || n >= max {
                    let mut e = f.error;
                    e.attempts = n;
                    return Err(e);
                }
                let wait = opts.backoff(n, f.retry_after);
                tracing::debug!(
                    vendor = %vendor,
                    call = what,
                    attempt = n,
                    kind = %kind,
                    code = f.error.code.as_deref().unwrap_or(""),
                    wait_ms = wait.as_millis() as u64,
                    "retrying vendor call"
                );
                tokio::time::sleep(wait).await;
                n += 1;
            }
        }
    }
}

/// The kind an HTTP status stands for, before vendor codes refine it.
pub(crate) fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::Denied,
        429 => ErrorKind::Throttled,
        408 | 500..=599 => ErrorKind::Retryable,
        _ => ErrorKind::Other,
    }
}

/// The vendor's retry hint from the response headers: `retry-after-ms`,
/// `x-ms-retry-after-ms` (Azure), `x-acs-retry-after` (Alibaba),
/// `x-amz-retry-after` (AWS), all in milliseconds, or `Retry-After` in
/// seconds. An HTTP-date `Retry-After` is ignored (backoff applies).
pub(crate) fn retry_hint<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Option<Duration> {
    for name in [
        "retry-after-ms",
        "x-ms-retry-after-ms",
        "x-acs-retry-after",
        "x-amz-retry-after",
    ] {
        if let Some(ms) = header(name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// An answer of the reqwest-based vendors, read to its end.
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// What its headers say about when to retry.
    pub(crate) retry_after: Option<Duration>,
    headers: reqwest::header::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The first of the headers `names` that the answer carries, as text.
    pub(crate) fn header(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| self.headers.get(*n).and_then(|v| v.to_str().ok()))
            .map(str::to_string)
    }
}

/// Sends `req` and reads the whole answer, whatever its status; no
/// connection, a timeout or a body cut short is a [`transport`] failure.
pub(crate) async fn send(
    vendor: Vendor,
    opts: &ClientOptions,
    req: reqwest::RequestBuilder,
) -> Result<Answer, Failure> {
    let mut resp = req.send().await.map_err(|e| transport(vendor, opts, &e))?;
    let status = resp.status().as_u16();
    let retry_after = retry_hint(|n| resp.headers().get(n).and_then(|v| v.to_str().ok()));
    let headers = std::mem::take(resp.headers_mut());
    let body = resp
        .bytes()
        .await
        .map_err(|e| transport(vendor, opts, &e))?;
    Ok(Answer {
        status,
        retry_after,
        headers,
        body: body.into(),
    })
}

/// An HTTP client for the reqwest-based vendors: HTTPS for real endpoints,
/// plain HTTP for a simulator, no redirects, the option's timeouts.
pub(crate) fn client(vendor: Vendor, opts: &ClientOptions) -> Result<reqwest::Client, VendorError> {
    reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| VendorError::new(vendor, ErrorKind::Other, chain(&e)))
}

/// An error and its sources, joined by `: ` (duplicates dropped).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let m = s.to_string();
        if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        cur = s.source();
    }
    out
}

/// A transport failure (no HTTP answer) as one attempt's failure.
pub(crate) fn transport(vendor: Vendor, opts: &ClientOptions, e: &reqwest::Error) -> Failure {
    let (kind, message) = if e.is_connect() {
        let m = if e.is_timeout() {
            format!(
                "no connection within {}s: {}",
                opts.connect_timeout.as_secs_f32(),
                chain(e)
            )
        } else {
            chain(e)
        };
        (ErrorKind::Unreachable, m)
    } else if e.is_timeout() {
        (
            ErrorKind::Retryable,
            format!(
                "no answer within {}s: {}",
                opts.timeout.as_secs_f32(),
                chain(e)
            ),
        )
    } else if e.is_decode() || e.is_builder() {
        (ErrorKind::Other, chain(e))
    } else {
        (ErrorKind::Retryable, chain(e))
    };
    VendorError::new(vendor, kind, message).into()
}

/// Replaces every occurrence of the secret in `text` with `(sensitive)`.
/// Vendors do not echo secrets; this is the guarantee that none slips
/// through an error message anyway.
pub(crate) fn scrub(text: &mut String, secret: &Secret) {
    let Some(s) = secret.expose_str() else {
        return;
    };
    if s.len() < 4 {
        return;
    }
    if text.contains(s) {
        *text = text.replace(s, REDACTED);
    }
    let encoded = url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    if encoded != s && text.contains(&encoded) {
        *text = text.replace(&encoded, REDACTED);
    }
}

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests that may go at once after an idle time.
    pub burst: f64,
    /// Requests per second, sustained.
    pub per_sec: f64,
}

/// The rate tether allows itself per (vendor, account, region, API), from
/// the vendors' published limits (`docs/vendor-apis.md`):
///
/// - AWS EC2 non-mutating (`Describe*`) actions: bucket 100, refill 20/s per
///   account and region (EC2 API request throttling).
/// - Azure ARM reads (token-bucket model): bucket 250, refill 25/s per
///   subscription and principal.
/// - Alibaba: per-API, per-region quotas set in Quota Center; none is
///   published for the list APIs, so 50/s (bucket 50) is assumed.
/// - HCS: API gateway flow control, 10 requests/s per user and API by
///   default (Huawei "operations" APIs); operators may set other limits.
///
/// tether paces itself at 95% of the refill rate so that a bucket kept by
/// the vendor on a slightly different clock does not throttle it.
pub fn published_rate(vendor: Vendor, api: &str) -> Rate {
    let (burst, per_sec) = match (vendor, api) {
        (Vendor::Aws, _) => (100.0, 20.0),
        (Vendor::Azure, _) => (250.0, 25.0),
        (Vendor::Alibaba, _) => (50.0, 50.0),
        (Vendor::Hcs, _) => (10.0, 10.0),
    };
    Rate { burst, per_sec }
}

/// Share of the published refill rate tether uses.
const PACE: f64 = 0.95;

/// The bucket of one (vendor, account, region or scope, API).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketKey {
    pub vendor: Vendor,
    pub account: std::sync::Arc<str>,
    pub scope: std::sync::Arc<str>,
    pub api: &'static str,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// Current refill rate: lowered on throttling, raised back on success.
    rate: f64,
    /// Published (paced) rate and burst.
    max: Rate,
    /// No request before this moment (a vendor's retry hint).
    until: Instant,
}

/// Token buckets for a run: every request waits for a token of its
/// (vendor, account, scope, API) bucket. Tokens are reserved (a bucket may
/// go negative), so waiters are served in order at the bucket's rate
/// without polling. A throttling answer halves the bucket's rate (down to
/// an eighth of the published one), empties it, and holds it for the
/// vendor's retry hint; each success raises the rate back by a twentieth.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
    /// Off: no pacing at all (a test's choice; vendors' throttling still applies).
    disabled: bool,
    /// At most this many requests in flight at once, when set (see
    /// [`RateLimiter::in_flight`]).
    in_flight: Option<tokio::sync::Semaphore>,
}

impl RateLimiter {
    pub fn new() -> RateLimiter {
        RateLimiter::default()
    }

    /// A limiter that never waits.
    pub fn unlimited() -> RateLimiter {
        RateLimiter {
            buckets: Mutex::default(),
            disabled: true,
            in_flight: None,
        }
    }

    /// Also holds every request until fewer than `n` are in flight (a
    /// run's `parallelism`): a request is in flight from its token to its
    /// answer, so the work around it (encoding what it listed, waiting for
    /// the writer) never keeps another from going out.
    pub fn in_flight(mut self, n: usize) -> RateLimiter {
        self.in_flight = Some(tokio::sync::Semaphore::new(n.max(1)));
        self
    }

    fn with<T>(&self, key: &BucketKey, f: impl FnOnce(&mut Bucket, Instant) -> T) -> T {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = map.entry(key.clone()).or_insert_with(|| {
            let r = published_rate(key.vendor, key.api);
            let max = Rate {
                burst: r.burst,
                per_sec: r.per_sec * PACE,
            };
            Bucket {
                tokens: max.burst,
                last: now,
                rate: max.per_sec,
                max,
                until: now,
            }
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * b.rate).min(b.max.burst);
        b.last = now;
        f(b, now)
    }

    /// Drops every bucket of `account` (its sync has ended; a bucket made
    /// again later starts full, as a new one does).
    pub fn forget(&self, vendor: Vendor, account: &str) {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|k, _| k.vendor != vendor || &*k.account != account);
    }

    /// Waits for a token of `key`'s bucket, then for a place among the
    /// requests in flight; the request is in flight while the returned
    /// permit lives.
    pub async fn acquire(&self, key: &BucketKey) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.pace(key).await;
        self.in_flight_permit().await
    }

    /// A place among the requests in flight (when they are bounded), for a
    /// request outside the buckets (a token fetch).
    pub async fn in_flight_permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        match &self.in_flight {
            // Never closed: it lives as long as the limiter.
            Some(s) => s.acquire().await.ok(),
            None => None,
        }
    }

    async fn pace(&self, key: &BucketKey) {
        if self.disabled {
            return;
        }
        let wait = self.with(key, |b, now| {
            b.tokens -= 1.0;
            let debt = if b.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-b.tokens / b.rate)
            };
            debt.max(b.until.saturating_duration_since(now))
        });
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// The vendor throttled a request of `key`: slow down.
    pub fn throttled(&self, key: &BucketKey, hint: Option<Duration>) {
        if self.disabled {
            return;
        }
        self.with(key, |b, now| {
            b.rate = (b.rate / 2.0).max(b.max.per_sec / 8.0);
            b.tokens = b.tokens.min(0.0);
            let hold = hint.unwrap_or(Duration::from_secs_f64(1.0 / b.rate));
            b.until = b.until.max(now + hold.min(Duration::from_secs(30)));
        });
    }

    /// A request of `key` went through: recover the rate.
    pub fn succeeded(&self, key: &BucketKey) {
        if self.disabled {
            return;
        }
        self.with(key, |b, _| {
            if b.rate < b.max.per_sec {
                b.rate = (b.rate + b.max.per_sec / 20.0).min(b.max.per_sec);
            }
        });
    }
}

/// A fast, non-cryptographic random number (backoff jitter only).
fn random() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut s = STATE.load(Ordering::Relaxed);
    if s == 0 {
        s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            | 1;
    }
    let next = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    STATE.store(next, Ordering::Relaxed);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A value unique to this process and call, for nonces (not a secret).
pub(crate) fn unique_hex() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{:016x}{:016x}",
        random() ^ t,
        n ^ ((std::process::id() as u64) << 32)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind_for_status(401), ErrorKind::Auth);
        assert_eq!(kind_for_status(403), ErrorKind::Denied);
        assert_eq!(kind_for_status(429), ErrorKind::Throttled);
        assert_eq!(kind_for_status(503), ErrorKind::Retryable);
        assert_eq!(kind_for_status(400), ErrorKind::Other);
    }

    #[test]
    fn hints_are_read_in_their_units() {
        let h = |pairs: &'static [(&'static str, &'static str)]| {
            retry_hint(|n| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v))
        };
        assert_eq!(h(&[("retry-after", "2")]), Some(Duration::from_secs(2)));
        assert_eq!(
            h(&[("x-acs-retry-after", "1500")]),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            h(&[("retry-after", "9"), ("x-ms-retry-after-ms", "20")]),
            Some(Duration::from_millis(20))
        );
        assert_eq!(h(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]), None);
        assert_eq!(h(&[]), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_hints() {
        let o = ClientOptions {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            max_retry_after: Duration::from_secs(2),
            ..ClientOptions::default()
        };
        for _ in 0..100 {
            let b1 = o.backoff(1, None);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&b1));
            let b5 = o.backoff(5, None);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&b5));
        }
        assert_eq!(
            o.backoff(1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            o.backoff(1, Some(Duration::from_secs(60))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn scrub_removes_the_secret_plain_and_encoded() {
        let s = Secret::from_slice(b"wJal/rXU+tn=");
        let mut m = "bad secret wJal/rXU+tn= or wJal%2FrXU%2Btn%3D".to_string();
        scrub(&mut m, &s);
        assert_eq!(m, "bad secret (sensitive) or (sensitive)");
    }

    #[test]
    fn an_account_forgotten_loses_its_buckets_only() {
        let l = RateLimiter::new();
        let key = |account: &str, vendor| BucketKey {
            vendor,
            account: std::sync::Arc::from(account),
            scope: std::sync::Arc::from("us-east-1"),
            api: "DescribeVpcs",
        };
        let (a, b, c) = (
            key("aws.a", Vendor::Aws),
            key("aws.b", Vendor::Aws),
            key("aws.a", Vendor::Alibaba),
        );
        for k in [&a, &b, &c] {
            l.throttled(k, None);
        }
        l.forget(Vendor::Aws, "aws.a");
        let map = l.buckets.lock().unwrap();
        assert!(!map.contains_key(&a));
        assert!(map.contains_key(&b) && map.contains_key(&c));
        // What is left is as it was: the throttled rate.
        assert!(map[&b].rate < map[&b].max.per_sec);
    }
}
