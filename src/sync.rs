//! The fetch scheduler: accounts x regions x types -> partitions,
//! concurrently (docs/design.md §2, §3 `tether sync`).
//!
//! [`start`] takes the [`Target`]s (a config account and its decrypted
//! secret; the caller decrypts) and spawns the run on the current tokio
//! runtime. Each account signs in ([`Session::open`]), resolves its regions
//! (declared, or every region it can see), and fetches one partition per
//! (region, type) it lists; types outside a declared `resource_types` come
//! out as skipped. Each resource is encoded into the partition's stored
//! form ([`Records`]) as its page is read, so no partition of typed
//! resources is ever held. Results stream out as [`Event`]s on a bounded
//! channel as they finish, so the caller can write each partition and drop
//! it: at most [`QUEUED`] finished partitions wait in the channel, and at
//! most 1.5 x `parallelism` more are being fetched or wait to be queued (a
//! fetch keeps its slot until its partition is queued, so a caller slower
//! than the fetch holds the fetch back). Memory is bounded by parallelism
//! and the largest partition, not by the inventory.
//!
//! Concurrency and pacing:
//! - `parallelism` bounds the requests in flight across the run: a request
//!   holds its place from its token to its answer (the [`RateLimiter`]'s
//!   in-flight bound), token fetches included.
//! - 1.5 x `parallelism` bounds the units of work under way (an account's
//!   sign-in or region discovery, or one partition's fetch; each has at
//!   most one request in flight), so one partition's CPU work (encoding and
//!   hashing a page's records, waiting for the writer) overlaps others'
//!   waits on the network. One account holds at most half of them when
//!   there are several accounts, so a slow or throttled account never takes
//!   every slot.
//! - Every request waits for a token of its (vendor, account, region, API)
//!   bucket in one [`RateLimiter`] at the vendors' published limits (see
//!   [`crate::cloud::published_rate`]); throttling answers slow the bucket
//!   down and vendor retry hints hold it.
//! - Retries with exponential backoff and jitter on 5xx, timeouts and
//!   throttling, and a per-request timeout, come from [`ClientOptions`].
//! - One set of HTTP clients ([`Connections`]) serves the whole run.
//!
//! Failures:
//! - A partition that still fails after the retries is a
//!   failed [`Encoded`] partition with the vendor's (scrubbed) error as a
//!   [`Problem`] (kind, code, request id), never an empty complete partition.
//! - Credentials refused (at sign-in, discovery or in any partition) end the
//!   account with one [`Event::AccountFailed`]; its remaining work is
//!   cancelled; other accounts go on. A region discovery that fails for any
//!   other reason also ends the account that way (its partitions are not known).
//!
//! Invariants: nothing here logs or returns a secret; every error has been
//! scrubbed by the vendor layer. The run never panics on vendor input.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::cloud::list::Sink;
use crate::cloud::{
    ClientOptions, Connections, ErrorKind, RateLimiter, Session, VendorError, resource_types,
};
use crate::config::{Account, Address};
use crate::inventory::{PartitionKey, PartitionStatus, Resource};
use crate::problem::{Problem, ProblemKind};
use crate::snapshot::{Encoded, Records};
use crate::trust::Cleared;

/// One account to sync and its decrypted secret attribute, cleared for
/// the account's destination ([`crate::trust::clear`]).
pub struct Target {
    pub account: Account,
    pub secret: Cleared,
    /// A main account's subscriptions (Azure) or projects (HCS) that its
    /// members read: left out of its own sync.
    pub claimed: Vec<String>,
}

impl Target {
    pub fn new(account: Account, secret: Cleared, state: &crate::state::State) -> Target {
        let claimed = claimed_by_members(state, &account.address);
        Target {
            account,
            secret,
            claimed,
        }
    }
}

/// The subscriptions (Azure) or projects (HCS) of `main`'s members in
/// `state`, which `main`'s own sync leaves to them.
pub fn claimed_by_members(state: &crate::state::State, main: &Address) -> Vec<String> {
    state
        .accounts
        .values()
        .filter(|a| a.via().as_ref() == Some(main))
        .filter_map(|a| {
            a.attributes
                .get("subscription_id")
                .or_else(|| a.attributes.get("project_id"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect()
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({}, (sensitive))", self.account.address)
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Units of work in flight at once (sign-ins, discoveries, partition
    /// fetches; at least 1).
    pub parallelism: usize,
    /// Per-request timeout, retries, backoff.
    pub client: ClientOptions,
    /// Pace requests with token buckets at the published limits (off only
    /// for tests that want the vendor's throttling answers).
    pub rate_limits: bool,
}

impl SyncOptions {
    /// A command's run (sync, apply's sync, drift's live fetch): at most
    /// `parallelism` units at once (at least 1), the fetch retry policy
    /// ([`fetch_client_options`]), rate limits on.
    pub fn fetch(parallelism: u32) -> SyncOptions {
        SyncOptions {
            parallelism: parallelism.max(1) as usize,
            client: fetch_client_options(),
            rate_limits: true,
        }
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            parallelism: 10,
            client: ClientOptions::default(),
            rate_limits: true,
        }
    }
}

/// The request policy of inventory fetches: more attempts than a single
/// identity check, since listing is idempotent and a large sync meets
/// throttling and the odd 5xx as a matter of course (8 attempts, backoff
/// capped at 8 s: a request gives up after about 25 s of retrying).
pub fn fetch_client_options() -> ClientOptions {
    ClientOptions {
        max_attempts: 8,
        ..ClientOptions::default()
    }
}

/// What the run reports, in the order things happen per account.
#[derive(Debug)]
pub enum Event {
    /// The account's work began.
    AccountStarted { account: Address },
    /// The account's regions are known, and how many partitions (skipped
    /// ones included) it will report.
    RegionsResolved {
        account: Address,
        regions: Vec<String>,
        partitions: usize,
    },
    /// One partition: complete (its records encoded as its pages
    /// arrived), failed or skipped.
    Partition(Encoded),
    /// The account could not be listed (credentials refused, or its regions
    /// could not be discovered); no more events come for it.
    AccountFailed {
        account: Address,
        error: VendorError,
    },
    /// Every partition of the account has been reported.
    AccountDone { account: Address },
}

/// Counters a progress bar can read while the run goes.
#[derive(Debug, Default)]
pub struct Progress {
    accounts_total: AtomicU64,
    accounts_done: AtomicU64,
    accounts_failed: AtomicU64,
    partitions_total: AtomicU64,
    partitions_done: AtomicU64,
    partitions_failed: AtomicU64,
    resources: AtomicU64,
}

/// A reading of [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgressSnapshot {
    pub accounts_total: u64,
    /// Accounts finished, failed ones included.
    pub accounts_done: u64,
    pub accounts_failed: u64,
    /// Partitions known so far (grows as regions are resolved).
    pub partitions_total: u64,
    pub partitions_done: u64,
    pub partitions_failed: u64,
    /// Resources in complete partitions reported so far.
    pub resources: u64,
}

impl Progress {
    pub fn snapshot(&self) -> ProgressSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ProgressSnapshot {
            accounts_total: l(&self.accounts_total),
            accounts_done: l(&self.accounts_done),
            accounts_failed: l(&self.accounts_failed),
            partitions_total: l(&self.partitions_total),
            partitions_done: l(&self.partitions_done),
            partitions_failed: l(&self.partitions_failed),
            resources: l(&self.resources),
        }
    }
}

/// A run under way: read [`Run::events`] until it ends (`None`).
#[derive(Debug)]
pub struct Run {
    pub events: mpsc::Receiver<Event>,
    pub progress: Arc<Progress>,
    task: tokio::task::JoinHandle<()>,
}

impl Run {
    /// Stops the run; events already queued stay readable.
    pub fn abort(&self) {
        self.task.abort();
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Finished partitions that may wait for the caller. Enough to keep a caller
/// that writes as fast as the fetch busy; every one more is a whole
/// partition in memory.
pub const QUEUED: usize = 16;

/// What every task of a run shares.
struct Shared {
    conns: Connections,
    limiter: RateLimiter,
    gate: Arc<Semaphore>,
    per_account: usize,
    progress: Arc<Progress>,
    tx: mpsc::Sender<Event>,
}

impl Shared {
    async fn send(&self, e: Event) {
        // A closed receiver means the caller stopped listening: nothing to do.
        let _ = self.tx.send(e).await;
    }
}

/// Starts syncing `targets` on the current tokio runtime.
pub fn start(targets: Vec<Target>, opts: SyncOptions) -> Result<Run, VendorError> {
    let parallelism = opts.parallelism.max(1);
    let conns = Connections::new(&opts.client)?;
    let (tx, rx) = mpsc::channel(QUEUED);
    let progress = Arc::new(Progress::default());
    progress
        .accounts_total
        .store(targets.len() as u64, Ordering::Relaxed);
    // Units of work under way: more than requests in flight, so that one
    // partition's CPU work (decoding a page, encoding and hashing its
    // records, waiting for the writer) overlaps others' waits on the
    // network, and the requests in flight stay at `parallelism`.
    let slots = parallelism + parallelism.div_ceil(2);
    let per_account = if targets.len() > 1 {
        slots.div_ceil(2)
    } else {
        slots
    };
    let shared = Arc::new(Shared {
        conns,
        limiter: if opts.rate_limits {
            RateLimiter::new()
        } else {
            RateLimiter::unlimited()
        }
        .in_flight(parallelism),
        gate: Arc::new(Semaphore::new(slots)),
        per_account,
        progress: progress.clone(),
        tx,
    });
    // Accounts under way at once: enough to keep every unit of work busy
    // (an account has a dozen partitions or more, each under rate limits
    // of its own), few enough that what an account holds while it is under
    // way (its session and clients, tens of kilobytes) is bounded by the
    // parallelism, not by the number of accounts. Its partitions become
    // tasks only as they start.
    let open = Arc::new(Semaphore::new(parallelism.saturating_mul(2).max(16)));
    let task = tokio::spawn(async move {
        let mut set = JoinSet::new();
        // Which account each task is: one that panics still ends its
        // account, with every partition it did not report failed.
        let mut accounts: HashMap<tokio::task::Id, Address> = HashMap::new();
        let mut pending = targets.into_iter();
        loop {
            let more = pending.len() > 0;
            let r = tokio::select! {
                biased;
                Some(r) = set.join_next_with_id(), if !set.is_empty() => r,
                Ok(slot) = open.clone().acquire_owned(), if more => {
                    if let Some(t) = pending.next() {
                        let address = t.account.address.clone();
                        let sh = shared.clone();
                        let h = set.spawn(async move {
                            let _slot = slot;
                            // However the account ends (a panic too), its
                            // rate-limit buckets go: a run of 10,000 accounts
                            // holds those of the accounts under way.
                            let _buckets = ForgetBuckets(sh.clone(), t.account.address.clone());
                            account(t, sh).await
                        });
                        accounts.insert(h.id(), address);
                    }
                    continue;
                }
                else => break,
            };
            match r {
                Ok((id, ())) => {
                    accounts.remove(&id);
                }
                Err(e) => {
                    let Some(address) = accounts.remove(&e.id()) else {
                        continue;
                    };
                    tracing::error!(account = %address, "an account's sync task ended abnormally");
                    let mut error = VendorError::new(
                        address.vendor,
                        ErrorKind::Other,
                        "internal error: the sync of this account stopped unexpectedly (a bug in tether); its partitions are kept from the previous version as stale",
                    );
                    error.account = address.clone();
                    shared
                        .progress
                        .accounts_failed
                        .fetch_add(1, Ordering::Relaxed);
                    shared
                        .progress
                        .accounts_done
                        .fetch_add(1, Ordering::Relaxed);
                    shared
                        .send(Event::AccountFailed {
                            account: address,
                            error,
                        })
                        .await;
                }
            }
        }
        drop(shared);
    });
    Ok(Run {
        events: rx,
        progress,
        task,
    })
}

/// Runs `start` to the end and collects every event (tests, small runs).
pub async fn collect(targets: Vec<Target>, opts: SyncOptions) -> Result<Vec<Event>, VendorError> {
    let mut run = start(targets, opts)?;
    let mut out = Vec::new();
    while let Some(e) = run.events.recv().await {
        out.push(e);
    }
    Ok(out)
}

/// Drops an account's rate-limit buckets when its sync ends.
struct ForgetBuckets(Arc<Shared>, Address);

impl Drop for ForgetBuckets {
    fn drop(&mut self) {
        self.0.limiter.forget(self.1.vendor, &self.1.to_string());
    }
}

/// One account's whole sync.
async fn account(t: Target, sh: Arc<Shared>) {
    let address = t.account.address.clone();
    #[cfg(test)]
    if address.name == tests::PANICS {
        panic!("a bug in an account's sync");
    }
    sh.send(Event::AccountStarted {
        account: address.clone(),
    })
    .await;
    let fail = |error: VendorError| {
        let sh = sh.clone();
        let address = address.clone();
        async move {
            sh.progress.accounts_failed.fetch_add(1, Ordering::Relaxed);
            sh.progress.accounts_done.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(account = %address, kind = %error.kind, "account sync failed");
            sh.send(Event::AccountFailed {
                account: address,
                error,
            })
            .await;
        }
    };
    let session = {
        let _permit = sh.gate.acquire().await;
        Session::open(&sh.conns, &sh.limiter, &t.account, &t.secret).await
    };
    let session = match session {
        Ok(mut s) => {
            s.without_members(&t.claimed);
            Arc::new(s)
        }
        Err(e) => return fail(e).await,
    };
    let Target {
        account, secret, ..
    } = t;
    drop(secret);
    let regions = {
        let _permit = sh.gate.acquire().await;
        session.regions(&sh.conns, &sh.limiter).await
    };
    let regions = match regions {
        Ok(r) => r,
        Err(e) => return fail(e).await,
    };
    let (fetch, skipped) = plan(&account, &regions);
    let total = fetch.len() + skipped.len();
    sh.progress
        .partitions_total
        .fetch_add(total as u64, Ordering::Relaxed);
    sh.send(Event::RegionsResolved {
        account: address.clone(),
        regions,
        partitions: total,
    })
    .await;
    for p in skipped {
        sh.progress.partitions_done.fetch_add(1, Ordering::Relaxed);
        sh.send(Event::Partition(p)).await;
    }

    let mine = Arc::new(Semaphore::new(sh.per_account));
    let mut set = JoinSet::new();
    let mut keys: HashMap<tokio::task::Id, PartitionKey> = HashMap::new();
    let sent = Arc::new(AtomicU64::new(0));
    let fetching = fetch.len() as u64;
    // A partition's task is spawned once it holds both permits (the
    // account's and the run's): only the fetches under way exist as tasks,
    // never one per partition waiting its turn.
    let mut pending = fetch.into_iter();
    loop {
        let more = pending.len() > 0;
        let joined = tokio::select! {
            biased;
            Some(joined) = set.join_next_with_id(), if !set.is_empty() => joined,
            Some(permits) = permits(&mine, &sh.gate), if more => {
                if let Some(key) = pending.next() {
                    let h = set.spawn(fetch_partition(
                        key.clone(),
                        permits,
                        sh.clone(),
                        session.clone(),
                        sent.clone(),
                    ));
                    keys.insert(h.id(), key);
                }
                continue;
            }
            else => break,
        };
        match joined {
            Ok((id, Ok(()))) => {
                keys.remove(&id);
            }
            Ok((id, Err(e))) => {
                keys.remove(&id);
                // Credentials refused: the account ends here. Every task is
                // stopped and waited for first, so no partition of the
                // account is reported after its failure.
                set.abort_all();
                while set.join_next().await.is_some() {}
                let reported = sent.load(Ordering::Relaxed);
                sh.progress
                    .partitions_total
                    .fetch_sub(fetching.saturating_sub(reported), Ordering::Relaxed);
                return fail(e).await;
            }
            Err(e) => {
                let Some(key) = keys.remove(&e.id()) else {
                    continue;
                };
                sh.progress
                    .partitions_failed
                    .fetch_add(1, Ordering::Relaxed);
                sh.progress.partitions_done.fetch_add(1, Ordering::Relaxed);
                sh.send(Event::Partition(Encoded::without_records(
                    key,
                    PartitionStatus::Failed {
                        error: Problem::new(
                            ProblemKind::Panic,
                            "internal error: the listing task stopped",
                        ),
                    },
                )))
                .await;
            }
        }
    }
    sh.progress.accounts_done.fetch_add(1, Ordering::Relaxed);
    sh.send(Event::AccountDone { account: address }).await;
}

/// Both permits of one partition fetch: the account's and the run's.
type Permits = (
    tokio::sync::OwnedSemaphorePermit,
    tokio::sync::OwnedSemaphorePermit,
);

/// Waits for the account's permit, then the run's; `None` if either
/// semaphore was closed (never: they live as long as the run).
async fn permits(mine: &Arc<Semaphore>, gate: &Arc<Semaphore>) -> Option<Permits> {
    let mine = mine.clone().acquire_owned().await.ok()?;
    let gate = gate.clone().acquire_owned().await.ok()?;
    Some((mine, gate))
}

/// Fetches one partition, encoding each resource as its page is read, and
/// queues it. Both permits are held until the partition is queued: a fetch
/// that finished but waits for the writer counts against the parallelism,
/// so a slow writer holds the fetch back instead of finished partitions
/// piling up. Refused credentials come back as the error (the account
/// ends); any other failure is a failed partition.
async fn fetch_partition(
    key: PartitionKey,
    _permits: Permits,
    sh: Arc<Shared>,
    session: Arc<Session>,
    sent: Arc<AtomicU64>,
) -> Result<(), VendorError> {
    let mut records = Records::default();
    let mut unfit: Option<String> = None;
    let mut put = |r: Resource| {
        if unfit.is_none()
            && let Err(why) = records.push_resource(&key, &r)
        {
            unfit = Some(why);
        }
    };
    let listed = session
        .list(&sh.conns, &sh.limiter, &key, &mut Sink::new(&mut put))
        .await;
    let partition = match (listed, unfit) {
        (Err(e), _) if e.kind == ErrorKind::Auth => return Err(e),
        (Err(e), _) => {
            drop(records);
            sh.progress
                .partitions_failed
                .fetch_add(1, Ordering::Relaxed);
            let mut error = e.problem();
            if e.kind == ErrorKind::Denied {
                // The key works, and may not list this: say what would let it.
                error.message = format!(
                    "{}; grant {}",
                    error.message,
                    crate::hygiene::listing_grant(key.account.vendor, &key.kind)
                );
            }
            Encoded::without_records(key, PartitionStatus::Failed { error })
        }
        (Ok(()), Some(why)) => {
            drop(records);
            sh.progress
                .partitions_failed
                .fetch_add(1, Ordering::Relaxed);
            Encoded::without_records(
                key,
                PartitionStatus::Failed {
                    error: Problem::new(
                        ProblemKind::Other,
                        format!("internal error: a listed resource cannot be stored: {why}"),
                    ),
                },
            )
        }
        (Ok(()), None) => Encoded::complete(key, records),
    };
    sh.progress.partitions_done.fetch_add(1, Ordering::Relaxed);
    sh.progress
        .resources
        .fetch_add(partition.len() as u64, Ordering::Relaxed);
    sh.send(Event::Partition(partition)).await;
    sent.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The partitions of `account` over `regions`: those to fetch (interleaved
/// by type, so buckets of different APIs work side by side), and those
/// skipped because `resource_types` leaves their type out.
fn plan(account: &Account, regions: &[String]) -> (Vec<PartitionKey>, Vec<Encoded>) {
    let vendor = account.vendor.vendor();
    let mut fetch = Vec::new();
    let mut skipped = Vec::new();
    for ty in resource_types(vendor) {
        for region in regions {
            let key = PartitionKey {
                account: account.address.clone(),
                region: region.clone(),
                kind: ty.to_string(),
            };
            match &account.resource_types {
                Some(wanted) if !wanted.iter().any(|w| w == ty) => {
                    skipped.push(Encoded::without_records(
                        key,
                        PartitionStatus::Skipped {
                            reason: "type not in the account's `resource_types`".into(),
                        },
                    ))
                }
                _ => fetch.push(key),
            }
        }
    }
    (fetch, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{KeyAccount, Vendor, VendorAccount};
    use crate::secrets::Secret;
    use crate::trust::{Purpose, Trust, clear, open};

    /// The account name whose sync task panics (test builds only).
    pub(super) const PANICS: &str = "panics";

    fn target(name: &str) -> Target {
        let account = Account {
            address: Address::new(Vendor::Aws, name),
            vendor: VendorAccount::Aws(KeyAccount {
                main_account_id: "123456789012".into(),
                account_name: name.into(),
                access_key_id: "AKIAEXAMPLE".into(),
                secret_access_key: None,
            }),
            regions: Some(vec!["us-east-1".into()]),
            resource_types: Some(Vec::new()),
            tags: Default::default(),
            enabled: true,
            via: None,
            depends_on: Vec::new(),
            // Nothing listens here: the account that does not panic fails
            // fast as unreachable, without leaving this machine.
            api_endpoint: Some("http://127.0.0.1:9".into()),
            span: None,
        };
        let trust = Trust::new(["127.0.0.1:9".to_string()]);
        let opened = open(Secret::from_slice(b"k")).unwrap();
        let secret = clear(&account, opened, &trust, Purpose::Recorded).unwrap();
        Target {
            account,
            secret,
            claimed: Vec::new(),
        }
    }

    /// Every event of a run of `targets` (one attempt per request) at
    /// `parallelism`, on a runtime of its own.
    fn events_of(targets: Vec<Target>, parallelism: usize) -> Vec<Event> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let opts = SyncOptions {
            client: ClientOptions {
                max_attempts: 1,
                ..ClientOptions::default()
            },
            parallelism,
            ..SyncOptions::default()
        };
        rt.block_on(collect(targets, opts)).unwrap()
    }

    /// However many accounts a run has, at most `2 x parallelism` (at
    /// least 16) are under way at once: an account starts only when one
    /// before it has ended, and every account ends.
    #[test]
    fn accounts_under_way_are_bounded_by_the_parallelism() {
        let targets: Vec<Target> = (0..60).map(|i| target(&format!("a{i:02}"))).collect();
        let events = events_of(targets, 1);
        let (mut open, mut most, mut ended) = (0usize, 0usize, 0usize);
        for e in &events {
            match e {
                Event::AccountStarted { .. } => {
                    open += 1;
                    most = most.max(open);
                }
                Event::AccountFailed { .. } | Event::AccountDone { .. } => {
                    open -= 1;
                    ended += 1;
                }
                _ => {}
            }
        }
        assert_eq!(ended, 60, "every account ends: {events:?}");
        assert!(most <= 16, "{most} accounts under way at once");
        assert!(most > 1, "accounts still run side by side");
    }

    #[test]
    fn a_panicking_account_task_ends_its_account_as_failed() {
        let events = events_of(
            vec![target(PANICS), target("fine")],
            SyncOptions::default().parallelism,
        );
        let failed: Vec<&Address> = events
            .iter()
            .filter_map(|e| match e {
                Event::AccountFailed { account, .. } => Some(account),
                _ => None,
            })
            .collect();
        assert!(
            failed.iter().any(|a| a.name == PANICS),
            "the panicked account is reported: {events:?}"
        );
        let Some(Event::AccountFailed { error, .. }) = events
            .iter()
            .find(|e| matches!(e, Event::AccountFailed { account, .. } if account.name == PANICS))
        else {
            unreachable!()
        };
        assert!(error.message.contains("stopped unexpectedly"), "{error}");
    }
}
