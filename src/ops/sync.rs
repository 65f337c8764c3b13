//! The one sync path (`tether sync`, and apply's sync of the accounts it
//! changed): the state lock and the snapshot writer lock are held by the
//! caller; partitions are written as they arrive and dropped, so memory does
//! not grow with the inventory; what changed per account is reported.

use std::collections::{BTreeMap, BTreeSet};

use super::{Observer, Step};
use crate::config::Address;
use crate::error::{Error, Result};
use crate::inventory::{Partition, PartitionKey, PartitionStatus};
use crate::problem::{Problem, ProblemKind};
use crate::secrets::identity::Identities;
use crate::snapshot::manifest::Status;
use crate::snapshot::{Renaming, Store, diff_scoped};
use crate::state::{LastSync, LockGuard, State, StateStore};
use crate::sync::{Event, SyncOptions, Target};
use crate::trust::Trust;

/// The stores a sync writes and the locks held on them, both taken by the
/// caller before anything is changed.
pub struct Stores<'a> {
    pub state: &'a StateStore,
    pub state_guard: &'a LockGuard,
    pub snapshots: &'a Store,
    pub snapshot_guard: &'a LockGuard,
}

/// The accounts named on the command line (all in state when none), each
/// checked to be in state.
pub fn select(state: &State, given: &[String]) -> Result<Vec<Address>> {
    if given.is_empty() {
        return Ok(state.accounts.keys().cloned().collect());
    }
    let mut out = BTreeSet::new();
    for s in given {
        let a: Address = s.parse().map_err(|e| Error::Usage(format!("`{s}`: {e}")))?;
        if !state.accounts.contains_key(&a) {
            return Err(Error::Usage(format!(
                "`{a}` is not in state (only applied accounts are synced; see `tether state list`)"
            )));
        }
        out.insert(a);
    }
    Ok(out.into_iter().collect())
}

/// What one sync did.
pub struct SyncReport {
    pub version: u64,
    pub parent: Option<u64>,
    pub accounts: BTreeMap<Address, AccountReport>,
    /// Accounts dropped from the snapshot: no longer in state.
    pub removed: Vec<(Address, u64)>,
    pub seconds: f64,
}

#[derive(Default)]
pub struct AccountReport {
    pub resources: u64,
    pub partitions: u64,
    /// Partitions that failed after retries: key and the vendor's error.
    pub failed: Vec<(PartitionKey, Problem)>,
    /// The account could not be listed at all.
    pub error: Option<Problem>,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// Resources carried from the previous version because their fetch
    /// failed or the account is disabled.
    pub stale: u64,
    /// `enabled = false` in state: not fetched, its resources kept stale.
    pub disabled: bool,
}

impl SyncReport {
    pub fn incomplete(&self) -> bool {
        self.accounts.values().any(AccountReport::failed_any)
    }
}

impl AccountReport {
    /// The account could not be listed, or one of its partitions failed.
    pub fn failed_any(&self) -> bool {
        self.error.is_some() || !self.failed.is_empty()
    }
}

/// Syncs `accounts` (all in `state`) into a new snapshot version. Accounts in
/// the latest version that are no longer in `state` leave it ("account
/// removed"). Records each synced account's last sync and resolved regions
/// in state, and returns the state as written.
pub fn perform(
    stores: &Stores<'_>,
    state: State,
    accounts: &[Address],
    ids: Option<&Identities>,
    trust: &Trust,
    parallelism: u32,
    observer: &dyn Observer,
) -> Result<SyncReport> {
    let started = std::time::Instant::now();
    let mut report: BTreeMap<Address, AccountReport> = BTreeMap::new();
    let mut targets = Vec::new();
    for a in accounts {
        let Some(recorded) = state.accounts.get(a) else {
            continue;
        };
        let entry = report.entry(a.clone()).or_default();
        if !recorded.enabled() {
            entry.disabled = true;
            continue;
        }
        let Some(ids) = ids else {
            entry.error = Some(Problem::new(
                ProblemKind::Decrypt,
                "no age identity to decrypt the recorded secret",
            ));
            continue;
        };
        match crate::trust::recorded(a, recorded, &state, ids, trust) {
            Ok((account, secret)) => targets.push(Target::new(account, secret, &state)),
            Err(why) => entry.error = Some(why.problem()),
        }
    }

    let store = stores.snapshots;
    let parent = store.latest()?;
    let mut writer = store.writer(stores.snapshot_guard, parent)?;
    let parent_accounts: BTreeMap<Address, u64> = match parent {
        Some(p) => store
            .manifest(p)?
            .accounts
            .iter()
            .map(|a| {
                (
                    a.account.clone(),
                    a.partitions.iter().map(|p| p.resources).sum(),
                )
            })
            .collect(),
        None => BTreeMap::new(),
    };
    for (a, _) in report.iter().filter(|(_, r)| r.disabled) {
        writer.disable_account(a);
    }
    let mut removed = Vec::new();
    for (a, n) in &parent_accounts {
        if !state.accounts.contains_key(a) {
            writer.remove_account(a);
            removed.push((a.clone(), *n));
        }
    }
    // The state is read again to record the sync (under the lock this run
    // holds, it is the same document): the 1.5 KB an account takes in it
    // is not held while the fetch runs.
    let (lineage, serial) = (state.lineage.clone(), state.serial);
    drop(state);

    let rt = super::runtime()?;
    let opts = SyncOptions::fetch(parallelism);
    observer.step(Step::Started {
        accounts: targets.len() as u64,
    });
    let mut regions: BTreeMap<Address, Vec<String>> = BTreeMap::new();
    let mut fetched: BTreeMap<Address, BTreeSet<PartitionKey>> = BTreeMap::new();
    let failed_accounts: Vec<(Address, Problem)> = report
        .iter()
        .filter_map(|(a, r)| r.error.clone().map(|e| (a.clone(), e)))
        .collect();
    for (a, e) in failed_accounts {
        mark_failed(&mut writer, &a, &e, &BTreeSet::new())?;
    }
    rt.block_on(async {
        let mut run = crate::sync::start(targets, opts)
            .map_err(|e| Error::Usage(format!("cannot start the sync: {e}")))?;
        while let Some(event) = run.events.recv().await {
            observer.step(Step::Progress(&run.progress.snapshot()));
            match event {
                Event::AccountStarted { .. } => {}
                Event::RegionsResolved {
                    account,
                    regions: r,
                    ..
                } => {
                    regions.insert(account, r);
                }
                Event::Partition(p) => {
                    let entry = report.entry(p.key.account.clone()).or_default();
                    entry.partitions += 1;
                    entry.resources += p.len() as u64;
                    if let PartitionStatus::Failed { error } = &p.status {
                        entry.failed.push((p.key.clone(), error.clone()));
                    }
                    fetched
                        .entry(p.key.account.clone())
                        .or_default()
                        .insert(p.key.clone());
                    writer.add_encoded(p)?;
                }
                Event::AccountFailed { account, error } => {
                    let problem = error.problem();
                    let done = fetched.remove(&account).unwrap_or_default();
                    mark_failed(&mut writer, &account, &problem, &done)?;
                    observer.step(Step::Failed {
                        account: &account,
                        problem: &problem,
                    });
                    report.entry(account).or_default().error = Some(problem);
                }
                Event::AccountDone { account } => {
                    // Partitions the fetch no longer reports (a region gone,
                    // a type no longer listed) leave the snapshot.
                    let done = fetched.remove(&account).unwrap_or_default();
                    writer.keep_only(&account, &done);
                    let r = report.entry(account.clone()).or_default();
                    observer.step(Step::Fetched {
                        account: &account,
                        counts: Some((r.resources, r.partitions, r.failed.len())),
                    });
                }
            }
        }
        Ok::<(), Error>(())
    })?;
    observer.step(Step::Finished);
    let manifest = writer.commit()?;

    // Per account: stale resources, and what changed since the parent. A
    // first sync counts its additions from the manifest: every resource of a
    // listed account is new, and diffing the whole inventory against nothing
    // would build it again only to count it.
    for a in &manifest.accounts {
        if let Some(r) = report.get_mut(&a.account) {
            r.stale = a
                .partitions
                .iter()
                .filter(|p| p.stale)
                .map(|p| p.resources)
                .sum();
            if parent.is_none() && r.error.is_none() && !r.disabled {
                r.added = a
                    .partitions
                    .iter()
                    .filter(|p| p.status == Status::Complete)
                    .map(|p| p.resources)
                    .sum();
            }
        }
    }
    if let Some(p) = parent {
        let scope: BTreeSet<Address> = report
            .iter()
            .filter(|(_, r)| r.error.is_none() && !r.disabled)
            .map(|(a, _)| a.clone())
            .collect();
        let d = diff_scoped(
            &Renaming::new(&store.version(p)?, store.renames_between(p, manifest.id)?),
            &store.version(manifest.id)?,
            Some(&scope),
        )?;
        for r in &d.added {
            if let Some(e) = report.get_mut(&r.account) {
                e.added += 1;
            }
        }
        for r in &d.removed {
            if let Some(e) = report.get_mut(&r.account) {
                e.removed += 1;
            }
        }
        for c in &d.changed {
            if let Some(e) = report.get_mut(&c.account) {
                e.changed += 1;
            }
        }
    }

    // State: when each account was last synced, and the regions it resolved.
    let mut state = match stores.state.read_expecting(&lineage)? {
        Some(s) if s.serial == serial => s,
        other => {
            return Err(Error::StateChanged {
                path: stores.state.path().to_path_buf(),
                expected: serial,
                found: other.map_or(0, |s| s.serial),
            });
        }
    };
    let at = crate::clock::rfc3339_now();
    for (a, r) in &report {
        if let Some(s) = state.accounts.get_mut(a) {
            if r.error.is_none() && !r.disabled {
                s.last_sync = Some(LastSync {
                    snapshot: manifest.id,
                    at: at.clone(),
                });
            }
            if let Some(rs) = regions.remove(a) {
                s.regions = rs;
            }
        }
    }
    stores.state.write(&state, stores.state_guard)?;
    Ok(SyncReport {
        version: manifest.id,
        parent,
        accounts: report,
        removed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Carries renamed accounts (`state mv`, `moved` blocks) to their new
/// addresses in the snapshot store: one version, when the latest holds any
/// of them, so history and drift follow the rename instead of seeing the
/// account's resources removed and added.
///
/// Two steps, so that a damaged store is found before the state changes:
/// [`RenameInSnapshots::prepare`] opens the writer (which checks what the
/// new version reuses) before the caller writes the state, and
/// [`RenameInSnapshots::commit`] writes the version after.
pub struct RenameInSnapshots<'a> {
    writer: Option<crate::snapshot::Writer<'a>>,
    renames: Vec<(Address, Address)>,
}

impl<'a> RenameInSnapshots<'a> {
    pub fn prepare(
        store: &'a Store,
        guard: &'a LockGuard,
        renames: &[(Address, Address)],
    ) -> Result<RenameInSnapshots<'a>> {
        let none = || RenameInSnapshots {
            writer: None,
            renames: Vec::new(),
        };
        let Some(latest) = store.latest()? else {
            return Ok(none());
        };
        let held = store.manifest(latest)?;
        if !renames
            .iter()
            .any(|(from, _)| held.accounts.iter().any(|a| &a.account == from))
        {
            return Ok(none());
        }
        Ok(RenameInSnapshots {
            writer: Some(store.writer(guard, Some(latest))?),
            renames: renames.to_vec(),
        })
    }

    /// Writes the version; its id, when there was anything to carry over.
    pub fn commit(self) -> Result<Option<u64>> {
        let Some(mut writer) = self.writer else {
            return Ok(None);
        };
        let mut moved = 0;
        for (from, to) in &self.renames {
            moved += writer.rename_account(from, to);
        }
        if moved == 0 {
            return Ok(None);
        }
        Ok(Some(writer.commit()?.id))
    }
}

/// An account that could not be listed: each partition it had (and has not
/// reported this time) is failed, keeping its resources as stale. An
/// account never listed before gets one failed placeholder partition, so
/// the version says it could not be read.
pub(super) fn mark_failed(
    writer: &mut crate::snapshot::Writer<'_>,
    account: &Address,
    error: &Problem,
    reported: &BTreeSet<PartitionKey>,
) -> Result<()> {
    let keys = writer.keys_of(account);
    if keys.is_empty() && reported.is_empty() {
        writer.add(Partition::failed(
            PartitionKey {
                account: account.clone(),
                region: "*".into(),
                kind: "*".into(),
            },
            error.clone(),
        ))?;
        return Ok(());
    }
    for k in keys {
        if !reported.contains(&k) {
            writer.add(Partition::failed(k, error.clone()))?;
        }
    }
    Ok(())
}
