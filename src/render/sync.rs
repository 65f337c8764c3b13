//! What one sync did: a line per account, failures, stale resources, and
//! accounts that left the snapshot; for many accounts, totals and only the
//! accounts that failed or changed; and the JSON document of the whole
//! report (`tether sync --json`, `schemas/sync.schema.json`).

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Address;
use crate::ops::sync::{AccountReport, SyncReport};
use crate::problem::Problem;

/// `format_version` of the `tether sync --json` document.
pub const FORMAT_VERSION: &str = "1";

/// Up to this many accounts, the report lists every account; above it,
/// totals, every account that failed, and this many of those that changed.
pub const LIST_AT_MOST: usize = 25;

/// How much of the report a terminal gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Every account when there are few; totals, failures and some changes
    /// when there are many.
    Summary,
    /// A line for every account, however many (`--all-accounts`).
    Every,
}

/// The sync report, for a terminal or a log.
pub fn sync(r: &SyncReport, detail: Detail) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Snapshot {}{}: {} account{} synced in {:.1}s.",
        r.version,
        r.parent
            .map(|p| format!(" (since {p})"))
            .unwrap_or_default(),
        r.accounts.len(),
        if r.accounts.len() == 1 { "" } else { "s" },
        r.seconds
    );
    if detail == Detail::Every || r.accounts.len() <= LIST_AT_MOST {
        let all: Vec<_> = r.accounts.iter().collect();
        account_lines(&mut s, &all);
    } else {
        summary(&mut s, r);
    }
    for (a, n) in &r.removed {
        let _ = writeln!(
            s,
            "  {a}: account removed from the snapshot ({n} resources), no longer in state"
        );
    }
    if r.incomplete() {
        s.push_str("\nSync incomplete: some accounts, regions or types could not be read (exit 3). Their earlier resources are kept as stale, never reported as deleted.\n");
    }
    s
}

/// Totals, then every account that failed, then the first changed ones.
fn summary(s: &mut String, r: &SyncReport) {
    let t = Totals::of(r);
    let _ = writeln!(
        s,
        "  {} resources in {} partitions; +{} added, ~{} changed, -{} removed",
        t.resources, t.partitions, t.added, t.changed, t.removed
    );
    let _ = writeln!(
        s,
        "  {} account{} unchanged, {} changed, {} failed{}",
        t.unchanged_accounts,
        if t.unchanged_accounts == 1 { "" } else { "s" },
        t.changed_accounts,
        t.failed_accounts,
        {
            let mut notes = Vec::new();
            if t.disabled_accounts > 0 {
                notes.push(format!(
                    "{} account{} disabled",
                    t.disabled_accounts,
                    if t.disabled_accounts == 1 { "" } else { "s" }
                ));
            }
            if t.failed_partitions > 0 {
                notes.push(format!(
                    "{} partition{} failed",
                    t.failed_partitions,
                    if t.failed_partitions == 1 { "" } else { "s" }
                ));
            }
            if t.stale > 0 {
                notes.push(format!("{} resources kept stale", t.stale));
            }
            if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            }
        }
    );
    let failed: Vec<_> = r.accounts.iter().filter(|(_, a)| a.failed_any()).collect();
    if !failed.is_empty() {
        s.push_str("\nFailed:\n");
        account_lines(s, &failed);
    }
    let changed: Vec<_> = r
        .accounts
        .iter()
        .filter(|(_, a)| !a.failed_any() && has_changed(a))
        .collect();
    if !changed.is_empty() {
        s.push_str("\nChanged:\n");
        account_lines(s, &changed[..changed.len().min(LIST_AT_MOST)]);
        if changed.len() > LIST_AT_MOST {
            let more = changed.len() - LIST_AT_MOST;
            let _ = writeln!(
                s,
                "  … and {more} more changed account{}",
                if more == 1 { "" } else { "s" }
            );
        }
    }
    s.push_str("\nEvery account: `tether sync --all-accounts`, or `tether sync --json` for the whole report.\n");
}

fn has_changed(a: &AccountReport) -> bool {
    a.added + a.changed + a.removed > 0
}

/// A line per account (and one per failed partition), names aligned.
fn account_lines(s: &mut String, accounts: &[(&Address, &AccountReport)]) {
    let width = accounts
        .iter()
        .map(|(a, _)| a.to_string().len())
        .max()
        .unwrap_or(0);
    for (addr, a) in accounts {
        let name = format!("{:width$}", addr.to_string());
        if a.disabled {
            let _ = writeln!(
                s,
                "  {name}  disabled (`enabled = false`): not synced; {} resources kept from the previous version, marked stale",
                a.stale
            );
            continue;
        }
        match &a.error {
            Some(e) => {
                let _ = writeln!(s, "  {name}  FAILED: {e}");
                if a.stale > 0 {
                    let _ = writeln!(
                        s,
                        "  {:width$}  {} resources kept from the previous version, marked stale",
                        "", a.stale
                    );
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "  {name}  {} resources in {} partitions; +{} added, ~{} changed, -{} removed",
                    a.resources, a.partitions, a.added, a.changed, a.removed
                );
                for (k, e) in &a.failed {
                    let _ = writeln!(s, "  {:width$}  FAILED {}/{}: {e}", "", k.region, k.kind);
                }
                if a.stale > 0 {
                    let _ = writeln!(
                        s,
                        "  {:width$}  {} resources of failed partitions kept from the previous version, marked stale",
                        "", a.stale
                    );
                }
            }
        }
    }
}

/// `tether sync --json`: the whole report (`schemas/sync.schema.json`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncJson {
    pub format_version: &'static str,
    /// The snapshot version this sync wrote.
    pub version: u64,
    /// The version it was written on top of.
    pub parent: Option<u64>,
    pub seconds: f64,
    /// False when an account, region or type could not be read (exit 3).
    pub complete: bool,
    pub totals: Totals,
    /// Every synced account, in address order.
    pub accounts: Vec<AccountJson>,
    /// Accounts dropped from the snapshot because they left the state.
    pub removed_accounts: Vec<RemovedJson>,
}

/// The sums over every account of one sync.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Totals {
    pub accounts: u64,
    pub unchanged_accounts: u64,
    pub changed_accounts: u64,
    /// Accounts that could not be listed, or with a failed partition.
    pub failed_accounts: u64,
    /// Accounts with `enabled = false`: not synced.
    pub disabled_accounts: u64,
    pub resources: u64,
    pub partitions: u64,
    pub failed_partitions: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// Resources carried from the previous version because their fetch failed.
    pub stale: u64,
}

impl Totals {
    fn of(r: &SyncReport) -> Totals {
        let mut t = Totals::default();
        for a in r.accounts.values() {
            t.accounts += 1;
            if a.disabled {
                t.disabled_accounts += 1;
            } else if a.failed_any() {
                t.failed_accounts += 1;
            } else if has_changed(a) {
                t.changed_accounts += 1;
            } else {
                t.unchanged_accounts += 1;
            }
            t.resources += a.resources;
            t.partitions += a.partitions;
            t.failed_partitions += a.failed.len() as u64;
            t.added += a.added;
            t.changed += a.changed;
            t.removed += a.removed;
            t.stale += a.stale;
        }
        t
    }
}

/// One account of a sync.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountJson {
    pub address: String,
    /// `ok`, `changed`, `failed` (not listed at all), `partial` (some
    /// partitions failed) or `disabled` (`enabled = false`, not synced).
    pub status: &'static str,
    pub resources: u64,
    pub partitions: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub stale: u64,
    /// Why the account could not be listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_partitions: Vec<FailedPartitionJson>,
}

/// A partition whose fetch failed after retries.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FailedPartitionJson {
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub problem: Problem,
}

/// An account that left the snapshot.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RemovedJson {
    pub address: String,
    /// Its resources in the previous version.
    pub resources: u64,
}

/// The JSON document of `r`, pretty, with a trailing newline.
pub fn json(r: &SyncReport) -> String {
    let doc = SyncJson {
        format_version: FORMAT_VERSION,
        version: r.version,
        parent: r.parent,
        seconds: (r.seconds * 1000.0).round() / 1000.0,
        complete: !r.incomplete(),
        totals: Totals::of(r),
        accounts: r
            .accounts
            .iter()
            .map(|(addr, a)| AccountJson {
                address: addr.to_string(),
                status: if a.disabled {
                    "disabled"
                } else if a.error.is_some() {
                    "failed"
                } else if !a.failed.is_empty() {
                    "partial"
                } else if has_changed(a) {
                    "changed"
                } else {
                    "ok"
                },
                resources: a.resources,
                partitions: a.partitions,
                added: a.added,
                changed: a.changed,
                removed: a.removed,
                stale: a.stale,
                error: a.error.clone(),
                failed_partitions: a
                    .failed
                    .iter()
                    .map(|(k, p)| FailedPartitionJson {
                        region: k.region.clone(),
                        kind: k.kind.clone(),
                        problem: p.clone(),
                    })
                    .collect(),
            })
            .collect(),
        removed_accounts: r
            .removed
            .iter()
            .map(|(a, n)| RemovedJson {
                address: a.to_string(),
                resources: *n,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("the sync report always serializes");
    s.push('\n');
    s
}
