//! Apply: performs a plan's actions in dependency order, verifying each
//! account with its vendor and recording it in state as soon as it
//! succeeds, then syncs the accounts it changed.
//!
//! - [`executor`]: the walk in dependency order, in parallel, recording as it goes.
//! - [`saved`]: saved plans, their binding, and the proof that one is exactly
//!   the plan of its config and state.
//! - [`audit`]: the append-only audit log.
//!
//! Invariants: every lock is taken by the caller before the first change;
//! each account's secret is exactly the ciphertext the plan was checked
//! against, cleared for its destination (`trust::Purpose::Apply`), and
//! recorded sealed for it; nothing here prints.

pub mod audit;
pub mod executor;
pub mod saved;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use executor::{Finished, Outcome, Report, execute};

use super::Observer;
use super::sync::{RenameInSnapshots, Stores, SyncReport};
use crate::cloud;
use crate::config::{Address, Config};
use crate::error::{Error, Result};
use crate::plan::{self, AccountChange, Action, Plan};
use crate::problem::{Problem, ProblemKind};
use crate::secrets::decrypt::{decrypt_bytes, to_armored};
use crate::secrets::identity::Identities;
use crate::secrets::recipient::Recipients;
use crate::snapshot::Store;
use crate::state::{AccountState, LockGuard, State, StateStore, StoredSecret, new_state};
use crate::trust::{self, Purpose, Trust};

/// What an apply shows as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// The renamed accounts were carried over to snapshot `version`.
    Renamed {
        version: u64,
        renamed: &'a [(Address, Address)],
    },
    /// These accounts ended (and are recorded or failed); `state` is the
    /// state as written after them.
    Ended {
        entries: &'a [(&'a AccountChange, &'a Outcome)],
        state: &'a State,
    },
    /// Ctrl-C: the accounts in progress finish; nothing new starts.
    Interrupted,
    /// The sync of the changed accounts begins.
    Syncing,
}

/// The stores an apply writes, with their locks (taken by the caller before
/// anything changes; the snapshot store's when it renames or syncs).
pub struct Held<'a> {
    pub state: &'a StateStore,
    pub state_guard: &'a LockGuard,
    pub snapshots: &'a Store,
    pub snapshot_guard: Option<&'a LockGuard>,
}

/// How an apply runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Vendor requests in flight at once: accounts verified at once, then
    /// apply's sync.
    pub parallelism: u32,
    /// Sync the changed accounts afterwards.
    pub sync: bool,
}

/// What an apply did.
pub struct ApplyReport {
    pub report: Report,
    /// Credential hygiene of the accounts verified, in address order.
    pub findings: Vec<crate::hygiene::Finding>,
    /// The sync after it, when one ran.
    pub synced: Option<SyncReport>,
}

/// Whether `plan` verifies any account (and so needs an identity and recipients).
pub fn verifies(plan: &Plan) -> bool {
    plan.changes
        .iter()
        .any(|c| matches!(c.action, Action::Create | Action::Update | Action::Replace))
}

/// Whether an apply of `plan` with `opts` writes the snapshot store.
pub fn writes_snapshots(plan: &Plan, opts: &Options) -> bool {
    opts.sync || !plan.moves.is_empty()
}

/// Performs `plan` (made from `config` and `state`, with `ciphertexts`).
#[allow(clippy::too_many_arguments)]
pub fn perform(
    config: Config,
    plan: &Plan,
    state: Option<State>,
    held: &Held<'_>,
    identities: Option<Identities>,
    ciphertexts: Arc<plan::Ciphertexts>,
    trust: &Trust,
    opts: Options,
    show: &(dyn Fn(Event<'_>) + Sync),
    progress: &dyn Observer,
) -> Result<ApplyReport> {
    let identities = identities.map(Arc::new);
    // Verified secrets are recorded sealed for their destination, encrypted
    // to the recipients: without recipients nothing could be recorded.
    let recipients = if verifies(plan) {
        Some(Arc::new(recipients_of(&config)?))
    } else {
        None
    };
    let mut current = state.unwrap_or_else(new_state);
    // `moved` blocks first: one write renames every moved account.
    let mut renamed = Vec::new();
    for m in &plan.moves {
        if current.accounts.contains_key(&m.from) && !current.accounts.contains_key(&m.to) {
            current.rename(&m.from, &m.to)?;
            renamed.push((m.from.clone(), m.to.clone()));
        }
    }
    if !renamed.is_empty() {
        // The snapshots follow the rename, whether or not a sync comes; the
        // store is checked before the state changes.
        let guard = held.snapshot_guard.ok_or_else(|| {
            Error::Usage("internal: renames need the snapshot store's lock".into())
        })?;
        let carry = RenameInSnapshots::prepare(held.snapshots, guard, &renamed)?;
        current = held.state.write(&current, held.state_guard)?;
        if let Some(version) = carry.commit()? {
            show(Event::Renamed {
                version,
                renamed: &renamed,
            });
        }
    }

    let parallelism = opts.parallelism.max(1);
    let audit = audit::Audit::open(&config, plan)?;
    let plan_hash = audit.plan_hash().to_string();
    let config = Arc::new(config);
    let recorded = Arc::new(current.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let state = Mutex::new(current);
    let trust = Arc::new(trust.clone());
    // One set of HTTP clients for the whole run: connections are reused,
    // and TLS roots are loaded once, not per account.
    let conns = Arc::new(
        cloud::Connections::new(&crate::sync::fetch_client_options())
            .map_err(|e| Error::Usage(e.to_string()))?,
    );

    let policy = crate::hygiene::Policy::of(&config.settings);
    let findings = Arc::new(Mutex::new(Vec::new()));
    let rt = super::runtime()?;
    // Batches are recorded on a thread of their own, one at a time, so the
    // walk goes on starting accounts while a write is in flight.
    let (to_recorder, batches) = std::sync::mpsc::channel::<(
        Arc<[Finished<Option<AccountState>>]>,
        tokio::sync::oneshot::Sender<Vec<std::result::Result<(), Problem>>>,
    )>();
    let report = std::thread::scope(|scope| {
        let (state, audit, plan_hash, stop) = (&state, &audit, &plan_hash, &stop);
        scope.spawn(move || {
            let mut told = false;
            for (batch, answer) in batches {
                if !told && stop.load(Ordering::SeqCst) {
                    told = true;
                    show(Event::Interrupted);
                }
                let results = record(&batch, state, held.state, held.state_guard, plan_hash);
                let shown: Vec<Outcome> = batch
                    .iter()
                    .zip(&results)
                    .map(|(f, result)| match result {
                        Err(why) => Outcome::Failed(why.clone()),
                        Ok(()) => f.outcome.clone(),
                    })
                    .collect();
                let entries: Vec<_> = batch.iter().map(|f| &f.change).zip(&shown).collect();
                audit.append(&entries);
                show(Event::Ended {
                    entries: &entries,
                    state: &state.lock().unwrap_or_else(|p| p.into_inner()),
                });
                let _ = answer.send(results);
            }
        });
        rt.block_on(async {
            let watch = stop.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    watch.store(true, Ordering::SeqCst);
                }
            });
            execute(
                plan,
                parallelism as usize,
                stop.clone(),
                |c: AccountChange| {
                    let with = With {
                        config: config.clone(),
                        recorded: recorded.clone(),
                        ids: identities.clone(),
                        conns: conns.clone(),
                        ciphertexts: ciphertexts.clone(),
                        recipients: recipients.clone(),
                        trust: trust.clone(),
                        policy,
                        findings: findings.clone(),
                    };
                    async move { apply_one(&c, &with).await }
                },
                move |batch: Arc<[Finished<Option<AccountState>>]>| {
                    let n = batch.len();
                    let (answer, answered) = tokio::sync::oneshot::channel();
                    // Unsent, the answer's sender is dropped with the batch.
                    let _ = to_recorder.send((batch, answer));
                    async move {
                        match answered.await {
                            Ok(results) => results,
                            // The recording thread is gone (it panicked): nothing it was handed is known recorded.
                            Err(_) => vec![
                                Err(Problem::new(
                                    ProblemKind::Panic,
                                    "the state could not be written (a bug in tether: the recording thread ended); nothing was recorded for it",
                                ));
                                n
                            ],
                        }
                    }
                },
            )
            .await
        })
    });

    // The accounts that changed are synced into a new snapshot; forgotten
    // ones leave it as "account removed".
    let changed: Vec<Address> = report
        .outcomes
        .iter()
        .filter(|(_, a, o)| *o == Outcome::Done && *a != Action::Delete)
        .map(|(addr, _, _)| addr.clone())
        .collect();
    let forgot = report
        .outcomes
        .iter()
        .any(|(_, a, o)| *o == Outcome::Done && *a == Action::Delete);
    let mut synced = None;
    if opts.sync && !stop.load(Ordering::SeqCst) && (!changed.is_empty() || forgot) {
        let current = state.into_inner().unwrap_or_else(|p| p.into_inner());
        show(Event::Syncing);
        let guard = held.snapshot_guard.ok_or_else(|| {
            Error::Usage("internal: a sync needs the snapshot store's lock".into())
        })?;
        synced = Some(super::sync::perform(
            &Stores {
                state: held.state,
                state_guard: held.state_guard,
                snapshots: held.snapshots,
                snapshot_guard: guard,
            },
            current,
            &changed,
            identities.as_deref(),
            &trust,
            parallelism,
            progress,
        )?);
    }
    let mut findings = std::mem::take(&mut *findings.lock().unwrap_or_else(|p| p.into_inner()));
    findings.sort_by(|a, b| a.address.cmp(&b.address).then(a.kind.cmp(&b.kind)));
    Ok(ApplyReport {
        report,
        findings,
        synced,
    })
}

/// The `recipients` setting, parsed: what verified secrets are sealed to.
pub fn recipients_of(config: &Config) -> Result<Recipients> {
    if config.settings.recipients.is_empty() {
        return Err(Error::NoRecipients {
            hint: format!(
                "apply records each verified secret sealed for its destination and encrypted to the recipients; {}",
                crate::secrets::recipient::NO_RECIPIENTS_HINT
            ),
        });
    }
    Recipients::parse(
        config
            .settings
            .recipients
            .iter()
            .map(|r| (r.as_str(), None)),
    )
}

/// What every account's apply shares.
struct With {
    config: Arc<Config>,
    recorded: Arc<State>,
    ids: Option<Arc<Identities>>,
    conns: Arc<cloud::Connections>,
    ciphertexts: Arc<plan::Ciphertexts>,
    recipients: Option<Arc<Recipients>>,
    trust: Arc<crate::trust::Trust>,
    policy: crate::hygiene::Policy,
    findings: Arc<Mutex<Vec<crate::hygiene::Finding>>>,
}

/// Verifies one account (create, update, replace) or forgets it (delete).
/// The secret is the config's ciphertext as the plan read it (or the one
/// recorded in state when the config omits it), cleared for the config's
/// destination ([`trust::clear`] with [`Purpose::Apply`]), verified, then
/// recorded sealed for that destination.
async fn apply_one(
    c: &AccountChange,
    with: &With,
) -> std::result::Result<Option<AccountState>, Problem> {
    if c.action == Action::Delete {
        return Ok(None);
    }
    let account = with.config.accounts.get(&c.address).ok_or_else(|| {
        Problem::new(
            ProblemKind::Config,
            "the account is no longer in the configuration",
        )
    })?;
    let before = with.recorded.accounts.get(&c.address);
    // Disabling alone calls no vendor and sends no secret: an account is
    // often disabled because its key was revoked. Enabling it again
    // verifies, as any other update.
    if let Some(b) = before.filter(|_| only_disables(c)) {
        return Ok(Some(AccountState {
            attributes: plan::attrs::of(account),
            applied_at: crate::clock::rfc3339_now(),
            ..b.clone()
        }));
    }
    // A member has no secret of its own: its main account's (the config's,
    // or the one recorded in state), cleared below for the member's
    // destination, which is the main account's.
    let source = account.via.as_ref().map_or(&c.address, |v| &v.main);
    let source_before = match &account.via {
        Some(v) => with.recorded.accounts.get(&v.main),
        None => before,
    };
    let (attribute, ciphertext, applied) = match with.ciphertexts.0.get(source) {
        Some(ct) => {
            let armored = to_armored(&ct.bytes);
            let digest = plan::applied_digest(&armored);
            (ct.origin.attribute.clone(), armored, Some(digest))
        }
        None => match source_before {
            Some(b) => (
                b.secret.attribute.clone(),
                b.secret.ciphertext.clone(),
                b.secret.applied.clone(),
            ),
            None => {
                return Err(Problem::new(
                    ProblemKind::Config,
                    "no secret declared and none recorded in state",
                ));
            }
        },
    };
    let ids = with.ids.as_deref().ok_or_else(|| {
        Problem::new(
            ProblemKind::Decrypt,
            "no age identity to decrypt the secret",
        )
    })?;
    let recipients = with.recipients.as_deref().ok_or_else(|| {
        Problem::new(ProblemKind::Config, "no recipients to record the secret to")
    })?;
    let opened = decrypt_bytes(ciphertext.as_bytes(), ids)
        .and_then(trust::open)
        .map_err(|why| {
            Problem::new(
                ProblemKind::Decrypt,
                format!("`{attribute}` cannot be decrypted: {why}"),
            )
        })?;
    let was = before
        .and_then(|b| b.to_account(&c.address).ok())
        .map(|a| trust::Destination::of(&a));
    let cleared = trust::clear(
        account,
        opened,
        &with.trust,
        Purpose::Apply {
            before: was.as_ref(),
            previous: c.previous_address.as_ref(),
        },
    )
    .map_err(|r| {
        Problem::new(
            ProblemKind::Refused,
            format!("refused to send its secret to {}: {}", r.to, r.reason),
        )
    })?;
    let identity = cloud::verify(account, &cleared, &with.conns)
        .await
        .map_err(|e| e.problem())?;
    cloud::check_identity(account, &identity).map_err(|m| m.problem())?;
    if c.action == Action::Update {
        if let Some(b) = before {
            cloud::check_stable(account, &b.identity, &identity).map_err(|m| m.problem())?;
        }
    }
    // The credentials themselves, with the same secret at the same
    // destination: findings, never a failed apply.
    let facts = cloud::hygiene(account, &cleared, &identity, &with.conns).await;
    let mut found = crate::hygiene::judge(&account.address, &facts, &with.policy);
    // Before an account's first sync: may the key list what sync reads?
    if before.is_none_or(|b| b.last_sync.is_none()) {
        let denied = cloud::preflight(account, &cleared, &with.conns).await;
        found.extend(super::verify::permissions(&account.address, &denied));
    }
    with.findings
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(found);
    let sealed = trust::seal(
        cleared.secret(),
        &account.address,
        cleared.destination(),
        recipients,
    )
    .map_err(|e| {
        Problem::new(
            ProblemKind::Encrypt,
            format!("verified, but the secret could not be sealed: {e}"),
        )
    })?;
    drop(cleared);
    Ok(Some(AccountState {
        vendor: account.address.vendor,
        attributes: plan::attrs::of(account),
        secret: StoredSecret {
            attribute,
            ciphertext: sealed,
            applied,
        },
        identity,
        regions: account.regions.clone().unwrap_or_default(),
        depends_on: account.depends_on.clone(),
        applied_at: crate::clock::rfc3339_now(),
        last_sync: before.and_then(|b| b.last_sync.clone()),
    }))
}

/// An update whose one change is `enabled = false`.
fn only_disables(c: &AccountChange) -> bool {
    let mut changed = c.attributes.iter().filter(|a| a.before != a.after);
    c.action == Action::Update
        && !c.secret.is_change()
        && c.endpoint_change.is_none()
        && c.previous_address.is_none()
        && changed.all(|a| a.name == "enabled" && a.after == Some(serde_json::Value::Bool(false)))
}

/// Records the accounts that just succeeded in state, with one write under
/// the lock, before any of them is reported done. Answers per account.
fn record(
    batch: &[Finished<Option<AccountState>>],
    state: &Mutex<State>,
    store: &crate::state::StateStore,
    guard: &crate::state::LockGuard,
    plan_hash: &str,
) -> Vec<std::result::Result<(), Problem>> {
    let ok = vec![Ok(()); batch.len()];
    let done: Vec<&Finished<Option<AccountState>>> = batch
        .iter()
        .filter(|f| f.outcome == Outcome::Done)
        .collect();
    if done.is_empty() {
        return ok;
    }
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let mut next = st.clone();
    for f in &done {
        match f.payload.clone().flatten() {
            Some(account) => {
                next.accounts.insert(f.change.address.clone(), account);
            }
            None => {
                next.accounts.remove(&f.change.address);
            }
        }
    }
    match store.write_noting(&next, guard, Some(plan_hash)) {
        Ok(written) => {
            *st = written;
            ok
        }
        Err(e) => batch
            .iter()
            .map(|f| {
                if f.outcome == Outcome::Done {
                    Err(Problem::new(
                        ProblemKind::Io,
                        format!("verified, but the state could not be written: {e}"),
                    ))
                } else {
                    Ok(())
                }
            })
            .collect(),
    }
}
