//! `tether apply [PLANFILE]`: perform a plan, verifying each account with its
//! vendor and recording it in state as soon as it succeeds.

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::{Context, ExitStatus};
use crate::apply::{Finished, Outcome, execute};
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::plan::{self, AccountChange, Action, Plan, PlanOptions, render};
use crate::secrets::decrypt::{decrypt_bytes, to_armored};
use crate::secrets::identity::{self, Identities};
use crate::secrets::recipient::Recipients;
use crate::state::{AccountState, State, StoredSecret, lock::rfc3339_now, new_state};
use crate::trust::{self, Purpose};
use crate::vendor;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan saved with `tether plan --out FILE`; without one, plan now and ask.
    pub planfile: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Vendor requests in flight at once: accounts verified at once (one
    /// request at a time each), then the requests of apply's sync (default:
    /// `parallelism` in the settings).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: Option<u32>,
    /// Do not sync the changed accounts into a new snapshot afterwards.
    #[arg(long)]
    pub no_sync: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let config = config::load(&ctx.dir)?;
    let at = crate::ops::stores::locate(&ctx.dir, &config.settings);
    // The lock is held from before the state is read until the last account is recorded.
    let guard = at.store.lock("apply", ctx.lock_timeout)?;
    let state = at.store.read()?;
    let identities = identity::discover_optional(&ctx.identities, &ctx.dir)?;
    // Every secret is read once: the plan is made (or a saved plan checked)
    // against exactly the ciphertexts that are then applied.
    let ciphertexts = Arc::new(plan::Ciphertexts::read(&config)?);
    let snapshots =
        crate::snapshot::Store::open(crate::ops::stores::in_dir(&ctx.dir, &config.settings.snapshots));
    let plan = match &args.planfile {
        Some(file) => {
            let path = ctx.dir.join(file);
            let saved = read_plan(&path)?;
            check_binding(&path, &saved, &config, state.as_ref(), &ciphertexts)?;
            prove(
                &path,
                saved,
                &config,
                state.as_ref(),
                identities.as_ref(),
                &ciphertexts,
                snapshots.latest()?,
            )?
        }
        None => {
            let plan = plan::build_with(
                &config,
                state.as_ref(),
                &PlanOptions::default(),
                identities.as_ref(),
                &ciphertexts,
            )?;
            ctx.printer
                .out(&render::human(&plan, ctx.printer.color_out));
            if plan.has_changes() && !args.auto_approve {
                confirm(ctx)?;
            }
            plan
        }
    };
    if !plan.has_changes() {
        if args.planfile.is_some() {
            ctx.printer.out("No changes. Nothing to apply.\n");
        }
        return Ok(ExitStatus::Success);
    }
    let verifies = plan
        .changes
        .iter()
        .any(|c| matches!(c.action, Action::Create | Action::Update | Action::Replace));
    let identities = match (identities, verifies) {
        (Some(ids), _) => Some(Arc::new(ids)),
        // Creating or updating decrypts secrets: say where identities were looked for.
        (None, true) => Some(Arc::new(identity::discover(&ctx.identities, &ctx.dir)?)),
        (None, false) => None,
    };
    // Verified secrets are recorded sealed for their destination, encrypted
    // to the recipients: without recipients nothing could be recorded.
    let recipients = if verifies {
        Some(Arc::new(recipients_of(&config)?))
    } else {
        None
    };
    // Every lock this apply needs is taken before its first change: the
    // snapshot store's (renames, the sync afterwards) as well as the state's.
    let will_sync = !args.no_sync;
    let snap_guard = if will_sync || !plan.moves.is_empty() {
        Some(snapshots.lock("apply", ctx.lock_timeout)?)
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
        let held = snap_guard.as_ref().expect("taken when the plan has moves");
        let carry = super::sync::RenameInSnapshots::prepare(&snapshots, held, &renamed)?;
        current = at.store.write(&current, &guard)?;
        if let Some(v) = carry.commit()? {
            let names: Vec<String> = renamed.iter().map(|(f, t)| format!("{f} -> {t}")).collect();
            ctx.printer.out(&format!(
                "Snapshot {v}: renamed accounts carried over ({}).\n",
                names.join(", ")
            ));
        }
    }

    // One meaning everywhere: units of vendor work in flight. Verifying an
    // account is one unit (a sign-in); apply's sync uses the same bound.
    let parallelism = args
        .parallelism
        .unwrap_or(config.settings.parallelism)
        .max(1);
    let audit = Audit::open(&config, &plan);
    let config = Arc::new(config);
    let recorded = Arc::new(current.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let state = Mutex::new(current);
    let printer = &ctx.printer;
    let trust = Arc::new(ctx.trust.clone());
    // One set of HTTP clients for the whole run: connections are reused,
    // and TLS roots are loaded once, not per account.
    let opts = Arc::new(
        vendor::Connections::new(&crate::sync::fetch_client_options())
            .map_err(|e| Error::Usage(e.to_string()))?,
    );

    let rt = crate::ops::runtime()?;
    let report = rt.block_on(async {
        let watch = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                watch.store(true, Ordering::SeqCst);
                eprintln!("Interrupted: the accounts in progress finish and are recorded; nothing new starts.");
            }
        });
        execute(
            &plan,
            parallelism as usize,
            stop.clone(),
            |c: AccountChange| {
                let with = With {
                    config: config.clone(),
                    recorded: recorded.clone(),
                    ids: identities.clone(),
                    conns: opts.clone(),
                    ciphertexts: ciphertexts.clone(),
                    recipients: recipients.clone(),
                    trust: trust.clone(),
                };
                async move { apply_one(&c, &with).await }
            },
            |batch: &[Finished<Option<AccountState>>]| {
                let results = record(batch, &state, &at.store, &guard);
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
                let mut text = String::new();
                for (c, o) in &entries {
                    text.push_str(&line(c, o, &state));
                }
                printer.out(&text);
                results
            },
        )
        .await
    });

    let done = report.count(|o| *o == Outcome::Done);
    let failed = report.count(|o| matches!(o, Outcome::Failed(_)));
    let skipped = report.count(|o| matches!(o, Outcome::Skipped(_)));
    let not_started = report.count(|o| *o == Outcome::NotStarted);
    // The accounts that changed are synced into a new snapshot; forgotten
    // ones leave it as "account removed".
    let mut incomplete = false;
    let changed: Vec<crate::config::Address> = report
        .outcomes
        .iter()
        .filter(|(_, a, o)| *o == Outcome::Done && *a != Action::Delete)
        .map(|(addr, _, _)| addr.clone())
        .collect();
    let forgot = report
        .outcomes
        .iter()
        .any(|(_, a, o)| *o == Outcome::Done && *a == Action::Delete);
    if will_sync && !stop.load(Ordering::SeqCst) && (!changed.is_empty() || forgot) {
        let current = state.into_inner().unwrap_or_else(|p| p.into_inner());
        ctx.printer.out("\n");
        let held = snap_guard.as_ref().expect("taken when apply syncs");
        let synced = super::sync::perform(
            ctx,
            &super::sync::Stores {
                state: &at.store,
                state_guard: &guard,
                snapshots: &snapshots,
                snapshot_guard: held,
            },
            current,
            &changed,
            identities.as_deref(),
            parallelism,
        )?;
        ctx.printer.out(&synced.render());
        incomplete = synced.incomplete();
    }
    if report.failed() {
        ctx.printer.out(&format!(
            "\nApply incomplete: {done} succeeded, {failed} failed, {skipped} skipped, {not_started} not started. Every succeeded account is recorded; run `tether plan` to see what remains.\n"
        ));
        Ok(ExitStatus::Error)
    } else {
        ctx.printer
            .out(&format!("\nApply complete: {done} succeeded.\n"));
        Ok(if incomplete {
            ExitStatus::Incomplete
        } else {
            ExitStatus::Success
        })
    }
}

/// The `recipients` setting, parsed: what verified secrets are sealed to.
fn recipients_of(config: &Config) -> Result<Recipients> {
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
    conns: Arc<vendor::Connections>,
    ciphertexts: Arc<plan::Ciphertexts>,
    recipients: Option<Arc<Recipients>>,
    trust: Arc<crate::trust::Trust>,
}

/// Verifies one account (create, update, replace) or forgets it (delete).
/// The secret is the config's ciphertext as the plan read it (or the one
/// recorded in state when the config omits it), cleared for the config's
/// destination ([`trust::clear`] with [`Purpose::Apply`]), verified, then
/// recorded sealed for that destination.
async fn apply_one(
    c: &AccountChange,
    with: &With,
) -> std::result::Result<Option<AccountState>, String> {
    if c.action == Action::Delete {
        return Ok(None);
    }
    let account = with
        .config
        .accounts
        .get(&c.address)
        .ok_or_else(|| "the account is no longer in the configuration".to_string())?;
    let before = with.recorded.accounts.get(&c.address);
    let (attribute, ciphertext, applied) = match with.ciphertexts.0.get(&c.address) {
        Some(ct) => {
            let armored = to_armored(&ct.bytes);
            let digest = plan::applied_digest(&armored);
            (ct.origin.attribute.clone(), armored, Some(digest))
        }
        None => match before {
            Some(b) => (
                b.secret.attribute.clone(),
                b.secret.ciphertext.clone(),
                b.secret.applied.clone(),
            ),
            None => return Err("no secret declared and none recorded in state".into()),
        },
    };
    let ids = with
        .ids
        .as_deref()
        .ok_or_else(|| "no age identity to decrypt the secret".to_string())?;
    let recipients = with
        .recipients
        .as_deref()
        .ok_or_else(|| "no recipients to record the secret to".to_string())?;
    let opened = decrypt_bytes(ciphertext.as_bytes(), ids)
        .and_then(trust::open)
        .map_err(|why| format!("`{attribute}` cannot be decrypted: {why}"))?;
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
    .map_err(|r| format!("refused to send its secret to {}: {}", r.to, r.reason))?;
    let identity = vendor::verify(account, &cleared, &with.conns)
        .await
        .map_err(|e| e.to_string())?;
    vendor::check_identity(account, &identity).map_err(|e| e.to_string())?;
    if c.action == Action::Update {
        if let Some(b) = before {
            vendor::check_stable(account, &b.identity, &identity).map_err(|e| e.to_string())?;
        }
    }
    let sealed = trust::seal(
        cleared.secret(),
        &account.address,
        cleared.destination(),
        recipients,
    )
    .map_err(|e| format!("verified, but the secret could not be sealed: {e}"))?;
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
        applied_at: rfc3339_now(),
        last_sync: before.and_then(|b| b.last_sync.clone()),
    }))
}

/// Records the accounts that just succeeded in state, with one write under
/// the lock, before any of them is reported done. Answers per account.
fn record(
    batch: &[Finished<Option<AccountState>>],
    state: &Mutex<State>,
    store: &crate::state::StateStore,
    guard: &crate::state::LockGuard,
) -> Vec<std::result::Result<(), String>> {
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
    match store.write(&next, guard) {
        Ok(written) => {
            *st = written;
            ok
        }
        Err(e) => batch
            .iter()
            .map(|f| {
                if f.outcome == Outcome::Done {
                    Err(format!("verified, but the state could not be written: {e}"))
                } else {
                    Ok(())
                }
            })
            .collect(),
    }
}

fn line(c: &AccountChange, outcome: &Outcome, state: &Mutex<State>) -> String {
    let verb = match c.action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "forgotten",
        Action::NoOp => "unchanged",
    };
    match outcome {
        Outcome::Done => {
            let st = state.lock().unwrap_or_else(|p| p.into_inner());
            match st.accounts.get(&c.address) {
                Some(a) => format!(
                    "{}: {verb} (verified {} as {})\n",
                    c.address, a.identity.account_id, a.identity.principal
                ),
                None => format!("{}: {verb}\n", c.address),
            }
        }
        Outcome::Failed(why) => {
            // Vendor errors already start with the address.
            format!(
                "{}: FAILED: {}\n",
                c.address,
                super::unprefixed(why, &c.address)
            )
        }
        Outcome::Skipped(why) => format!("{}: skipped: {why}\n", c.address),
        Outcome::NotStarted => format!("{}: not started (interrupted)\n", c.address),
    }
}

fn confirm(ctx: &Context) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "apply needs confirmation and there is no terminal: pass --auto-approve, or apply a saved plan (`tether plan --out plan.json`, then `tether apply plan.json`)".into(),
        ));
    }
    ctx.printer.out("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("stdin", e))?;
    if answer.trim() != "yes" {
        return Err(Error::Usage("apply cancelled".into()));
    }
    Ok(())
}

fn read_plan(path: &std::path::Path) -> Result<Plan> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| Error::StalePlan {
        path: path.to_path_buf(),
        reason: format!("it is not a tether plan ({e})"),
    })?;
    if plan.format_version != plan::PLAN_FORMAT_VERSION {
        return Err(Error::StalePlan {
            path: path.to_path_buf(),
            reason: format!(
                "it has format version {}, this tether applies {}",
                plan.format_version,
                plan::PLAN_FORMAT_VERSION
            ),
        });
    }
    Ok(plan)
}

/// A saved plan applies only to the config, state lineage and serial it was made from.
fn check_binding(
    path: &std::path::Path,
    plan: &Plan,
    config: &Config,
    state: Option<&State>,
    ciphertexts: &plan::Ciphertexts,
) -> Result<()> {
    let stale = |reason: String| Error::StalePlan {
        path: path.to_path_buf(),
        reason,
    };
    let lineage = state.map(|s| s.lineage.clone());
    if plan.binding.state_lineage.is_some() && plan.binding.state_lineage != lineage {
        return Err(stale(
            "it belongs to another state (its lineage differs); make a new plan".into(),
        ));
    }
    let serial = state.map(|s| s.serial).unwrap_or(0);
    if plan.binding.state_lineage.is_none() && lineage.is_some()
        || plan.binding.state_serial != serial
    {
        return Err(stale(format!(
            "it is stale: the state changed since the plan was made (serial {} then, {serial} now); make a new plan",
            plan.binding.state_serial
        )));
    }
    if plan.binding.config_hash != plan::config_hash(config, ciphertexts) {
        return Err(stale(
            "it is stale: the configuration changed since the plan was made; make a new plan"
                .into(),
        ));
    }
    Ok(())
}

/// A saved plan is applied only if it is exactly the plan of the config and
/// state it is bound to: tether plans again, with the options and the way of
/// comparing secrets the file names, and compares every field. A hand-edited
/// action, an address added or dropped, or a changed option is refused
/// (exit 5). Answers the plan to apply (equal to the file's).
fn prove(
    path: &std::path::Path,
    saved: Plan,
    config: &Config,
    state: Option<&State>,
    ids: Option<&Identities>,
    ciphertexts: &plan::Ciphertexts,
    latest: Option<u64>,
) -> Result<Plan> {
    let stale = |reason: String| Error::StalePlan {
        path: path.to_path_buf(),
        reason,
    };
    if saved.binding.snapshot != latest {
        return Err(stale(format!(
            "it is stale: the snapshot store changed since the plan was made (latest version {} then, {} now); make a new plan",
            saved
                .binding
                .snapshot
                .map_or("none".into(), |v| v.to_string()),
            latest.map_or("none".into(), |v| v.to_string()),
        )));
    }
    if saved.identity_available && ids.is_none() {
        return Err(stale(
            "it was made with an age identity (secrets compared by plaintext), and there is none here to check it with".into(),
        ));
    }
    let opts = PlanOptions {
        destroy: saved.mode == plan::PlanMode::Destroy,
        targets: saved.targets.clone(),
        excludes: saved.excludes.clone(),
        snapshot: latest,
    };
    let ids = if saved.identity_available { ids } else { None };
    let fresh = plan::build_with(config, state, &opts, ids, ciphertexts)?;
    // What `--refresh` found is a report, not an action: it is not compared.
    let mut claimed = saved;
    claimed.identity_drift.clear();
    claimed.not_checked.clear();
    if claimed == fresh {
        return Ok(fresh);
    }
    Err(stale(format!(
        "it is not the plan of this configuration and state ({}); it may have been edited. Make a new plan",
        first_difference(&claimed, &fresh)
    )))
}

/// The first difference between a saved plan and the plan made now, in words.
fn first_difference(saved: &Plan, now: &Plan) -> String {
    if saved.mode != now.mode {
        return "its mode differs".into();
    }
    if saved.moves != now.moves {
        return "its `moved` renames differ".into();
    }
    let by_address = |p: &Plan| -> std::collections::BTreeMap<String, AccountChange> {
        p.changes
            .iter()
            .map(|c| (c.address.to_string(), c.clone()))
            .collect()
    };
    let (a, b) = (by_address(saved), by_address(now));
    for (addr, c) in &a {
        match b.get(addr) {
            None => return format!("it names `{addr}`, which the plan does not"),
            Some(d) if d.action != c.action => {
                return format!(
                    "`{addr}`: the file says {}, the plan says {}",
                    serde_json::to_string(&c.action).unwrap_or_default(),
                    serde_json::to_string(&d.action).unwrap_or_default()
                );
            }
            Some(d) if d != c => return format!("`{addr}`: its details differ"),
            Some(_) => {}
        }
    }
    if let Some(addr) = b.keys().find(|k| !a.contains_key(*k)) {
        return format!("it leaves out `{addr}`");
    }
    "its fields differ".into()
}

/// The append-only audit log, `.tether/audit.jsonl` in the config dir: who,
/// when, host, plan hash, each action and its result. Never a secret: only
/// addresses, actions and the already-scrubbed error texts are written.
struct Audit {
    path: PathBuf,
    plan_hash: String,
    who: String,
    host: String,
}

impl Audit {
    fn open(config: &Config, plan: &Plan) -> Audit {
        use sha2::{Digest, Sha256};
        Audit {
            path: config.dir.join(".tether").join("audit.jsonl"),
            plan_hash: hex::encode(Sha256::digest(plan.to_json().as_bytes())),
            who: crate::state::lock::user_name(),
            host: crate::state::lock::hostname(),
        }
    }

    /// Appends one line per account, with one write and one sync for the batch.
    fn append(&self, entries: &[(&AccountChange, &Outcome)]) {
        let mut text = String::new();
        for (c, outcome) in entries {
            let (result, error) = match outcome {
                Outcome::Done => ("ok", None),
                Outcome::Failed(e) => ("failed", Some(e.as_str())),
                Outcome::Skipped(e) => ("skipped", Some(e.as_str())),
                Outcome::NotStarted => ("not-started", None),
            };
            let entry = serde_json::json!({
                "time": rfc3339_now(),
                "who": self.who,
                "host": self.host,
                "operation": "apply",
                "plan_hash": self.plan_hash,
                "address": c.address.to_string(),
                "action": c.action,
                "result": result,
                "error": error,
            });
            text.push_str(&entry.to_string());
            text.push('\n');
        }
        // 0600, never through a symlink, only to a regular file.
        if let Err(e) = crate::fsutil::append(&self.path, text.as_bytes()) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not append to the audit log");
        }
    }
}
