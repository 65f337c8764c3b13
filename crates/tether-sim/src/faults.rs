//! Fault injection: latency, a share of server errors, a share of throttling
//! answers, and token buckets at the vendors' published rate limits.
//!
//! Buckets are per (vendor, account, scope, API) — scope being the region,
//! subscription or project a call is about — created on first use, so their
//! cost is one hash look-up per request. The coin flips are a counter run
//! through a mixer: cheap, lock-free, reproducible in count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::rng::mix;
use crate::world::Vendor;

/// The fault settings of one vendor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Added to every answer.
    #[serde(default)]
    pub latency_ms: u64,
    /// Uniform extra latency in `0..=jitter_ms`.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Share (0..=1) of authenticated requests answered with a 5xx.
    #[serde(default)]
    pub error_rate: f64,
    /// Share (0..=1) of authenticated requests answered as throttled.
    #[serde(default)]
    pub throttle_rate: f64,
    /// Enforce the published rate limits with token buckets.
    #[serde(default)]
    pub rate_limits: bool,
}

/// `PUT /admin/faults`: the settings for one vendor, or `"*"` for all.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultsUpdate {
    pub vendor: String,
    #[serde(flatten)]
    pub faults: Faults,
}

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub burst: f64,
    pub per_sec: f64,
}

/// The published (or, where a vendor publishes none, conventional) limit of
/// one API, per (account, scope).
///
/// - AWS EC2 non-mutating actions: bucket 100, refill 20/s per account and
///   region (EC2 API throttling docs). STS: 600/s per account. IAM
///   (`ListAccessKeys`, `GetAccessKeyLastUsed`): bucket 40, refill 20/s.
///   Organizations (a few requests per second per account): bucket 20,
///   refill 10/s; STS `AssumeRole` as `GetCallerIdentity`.
/// - Azure ARM (2024 token-bucket model): reads bucket 250, refill 25/s per
///   subscription and principal; the same for tenant-level reads. Microsoft
///   Graph (`applications`): 100/s per tenant.
/// - Alibaba: per-API, per-region, per-account quotas set in Quota Center;
///   50/s is used for the list APIs, 100/s for RAM (`ListAccessKeys`,
///   `GetAccessKeyLastUsed`).
/// - Huawei: operations APIs 10 requests/s per user; HCS operators set APIG
///   limits, 10/s is the default here; IAM credential and group reads
///   (`ListPermanentAccessKeys`, `ShowAccessKeyLastUsed`,
///   `ListGroupsForUser`) 20/s.
pub fn limit(v: Vendor, api: &str) -> Limit {
    match (v, api) {
        (
            Vendor::Aws,
            "DescribeOrganization"
            | "ListAccounts"
            | "ListParents"
            | "DescribeOrganizationalUnit"
            | "ListRoots",
        ) => Limit {
            burst: 20.0,
            per_sec: 10.0,
        },
        (Vendor::Aws, "GetCallerIdentity" | "AssumeRole") => Limit {
            burst: 600.0,
            per_sec: 600.0,
        },
        (Vendor::Aws, "ListAccessKeys" | "GetAccessKeyLastUsed") => Limit {
            burst: 40.0,
            per_sec: 20.0,
        },
        (Vendor::Aws, _) => Limit {
            burst: 100.0,
            per_sec: 20.0,
        },
        (Vendor::Azure, "applications") => Limit {
            burst: 100.0,
            per_sec: 100.0,
        },
        (Vendor::Azure, _) => Limit {
            burst: 250.0,
            per_sec: 25.0,
        },
        (Vendor::Alibaba, "ListAccessKeys" | "GetAccessKeyLastUsed") => Limit {
            burst: 100.0,
            per_sec: 100.0,
        },
        (Vendor::Alibaba, _) => Limit {
            burst: 50.0,
            per_sec: 50.0,
        },
        (
            Vendor::Hcs,
            "ListPermanentAccessKeys" | "ShowAccessKeyLastUsed" | "ListGroupsForUser",
        ) => Limit {
            burst: 20.0,
            per_sec: 20.0,
        },
        (Vendor::Hcs, _) => Limit {
            burst: 10.0,
            per_sec: 10.0,
        },
    }
}

/// (vendor, account, scope, API).
type BucketKey = (u8, u32, Box<str>, &'static str);

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// What the fault layer decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Answer the vendor's throttling error; retry hint in milliseconds.
    Throttle(u64),
    /// Answer the vendor's 5xx error.
    Error,
}

/// Fault settings and buckets for the four vendors.
pub struct FaultState {
    settings: Mutex<[Faults; 4]>,
    /// (vendor, scope) pairs every request about which fails with a 5xx:
    /// a region (AWS, Alibaba), subscription (Azure) or project (HCS) that
    /// is down for good.
    failing: Mutex<Vec<(Vendor, String)>>,
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
    counter: AtomicU64,
}

fn vi(v: Vendor) -> usize {
    Vendor::ALL.iter().position(|x| *x == v).unwrap_or(0)
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            settings: Mutex::new(Default::default()),
            failing: Mutex::new(Vec::new()),
            buckets: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(1),
        }
    }
}

impl FaultState {
    pub fn get(&self, v: Vendor) -> Faults {
        self.settings
            .lock()
            .map(|s| s[vi(v)].clone())
            .unwrap_or_default()
    }

    /// Sets the faults of one vendor (`None`: all vendors).
    pub fn set(&self, v: Option<Vendor>, f: Faults) {
        if let Ok(mut s) = self.settings.lock() {
            match v {
                Some(v) => s[vi(v)] = f,
                None => s.iter_mut().for_each(|x| *x = f.clone()),
            }
        }
        if let Ok(mut b) = self.buckets.lock() {
            b.clear();
        }
    }

    /// Makes every request about `scope` of vendor `v` fail (or not).
    pub fn set_failing(&self, v: Vendor, scope: &str, failing: bool) {
        if let Ok(mut f) = self.failing.lock() {
            f.retain(|(fv, fs)| !(*fv == v && fs == scope));
            if failing {
                f.push((v, scope.to_string()));
            }
        }
    }

    fn is_failing(&self, v: Vendor, scope: &str) -> bool {
        self.failing
            .lock()
            .map(|f| !f.is_empty() && f.iter().any(|(fv, fs)| *fv == v && fs == scope))
            .unwrap_or(false)
    }

    fn coin(&self) -> f64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        (mix(n) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The delay to add before answering.
    pub fn delay(&self, v: Vendor) -> Duration {
        let f = self.get(v);
        if f.latency_ms == 0 && f.jitter_ms == 0 {
            return Duration::ZERO;
        }
        let jitter = if f.jitter_ms > 0 {
            (self.coin() * (f.jitter_ms + 1) as f64) as u64
        } else {
            0
        };
        Duration::from_millis(f.latency_ms + jitter)
    }

    /// Decides the fate of an authenticated request to `api` about `scope`.
    pub fn check(&self, v: Vendor, account: u32, scope: &str, api: &'static str) -> Verdict {
        if self.is_failing(v, scope) {
            return Verdict::Error;
        }
        let f = self.get(v);
        if f.error_rate > 0.0 && self.coin() < f.error_rate {
            return Verdict::Error;
        }
        if f.throttle_rate > 0.0 && self.coin() < f.throttle_rate {
            return Verdict::Throttle(1000);
        }
        if !f.rate_limits {
            return Verdict::Pass;
        }
        let l = limit(v, api);
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Verdict::Pass;
        };
        let b = buckets
            .entry((vi(v) as u8, account, scope.into(), api))
            .or_insert(Bucket {
                tokens: l.burst,
                last: now,
            });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * l.per_sec).min(l.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Verdict::Pass
        } else {
            let wait = ((1.0 - b.tokens) / l.per_sec * 1000.0).ceil() as u64;
            Verdict::Throttle(wait.max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_run_dry_at_the_published_burst() {
        let s = FaultState::default();
        s.set(
            Some(Vendor::Aws),
            Faults {
                rate_limits: true,
                ..Default::default()
            },
        );
        let passed = (0..150)
            .filter(|_| s.check(Vendor::Aws, 0, "us-east-1", "DescribeInstances") == Verdict::Pass)
            .count();
        assert!((100..=102).contains(&passed), "{passed}");
        // Another region has its own bucket.
        assert_eq!(
            s.check(Vendor::Aws, 0, "eu-west-1", "DescribeInstances"),
            Verdict::Pass
        );
        // Other vendors are unaffected.
        assert_eq!(s.check(Vendor::Hcs, 0, "p", "ListServers"), Verdict::Pass);
    }
}
