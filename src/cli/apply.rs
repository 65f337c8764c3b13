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
use crate::secrets::decrypt::{account_ciphertext, decrypt_bytes, to_armored};
use crate::secrets::identity::{self, Identities};
use crate::state::{AccountState, State, StoredSecret, lock::rfc3339_now, new_state};
use crate::vendor::{self, ClientOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan saved with `tether plan --out FILE`; without one, plan now and ask.
    pub planfile: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Accounts worked on at once (default: `parallelism` in the settings).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: Option<u32>,
    /// Do not sync the changed accounts into a new snapshot afterwards.
    #[arg(long)]
    pub no_sync: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let config = config::load(&ctx.dir)?;
    let at = super::state::locate(ctx, &config.settings);
    // The lock is held from before the state is read until the last account is recorded.
    let guard = at.store.lock("apply", ctx.lock_timeout)?;
    let state = at.store.read()?;
    let identities = identity::discover_optional(&ctx.identities, &ctx.dir)?;
    let plan = match &args.planfile {
        Some(file) => {
            let path = ctx.dir.join(file);
            let plan = read_plan(&path)?;
            check_binding(&path, &plan, &config, state.as_ref())?;
            plan
        }
        None => {
            let plan = plan::build(
                &config,
                state.as_ref(),
                &PlanOptions::default(),
                identities.as_ref(),
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
        (None, true) => return Err(identity::discover(&ctx.identities, &ctx.dir).unwrap_err()),
        (None, false) => None,
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
        current = at.store.write(&current, &guard)?;
        // The snapshots follow the rename, whether or not a sync comes.
        if let Some(v) =
            super::sync::rename_in_snapshots(ctx, &config.settings.snapshots, &renamed)?
        {
            let names: Vec<String> = renamed.iter().map(|(f, t)| format!("{f} -> {t}")).collect();
            ctx.printer.out(&format!(
                "Snapshot {v}: renamed accounts carried over ({}).\n",
                names.join(", ")
            ));
        }
    }

    let parallelism = args
        .parallelism
        .unwrap_or(config.settings.parallelism)
        .max(1) as usize;
    let audit = Audit::open(&config, &plan);
    let config = Arc::new(config);
    let recorded = Arc::new(current.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let state = Mutex::new(current);
    let printer = &ctx.printer;
    // One set of HTTP clients for the whole run: connections are reused,
    // and TLS roots are loaded once, not per account.
    let opts = Arc::new(
        vendor::Connections::new(&ClientOptions::default())
            .map_err(|e| Error::Usage(e.to_string()))?,
    );

    let rt = super::runtime()?;
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
            parallelism,
            stop.clone(),
            |c: AccountChange| {
                let (config, recorded, ids, opts) = (
                    config.clone(),
                    recorded.clone(),
                    identities.clone(),
                    opts.clone(),
                );
                async move { apply_one(&c, &config, &recorded, ids.as_deref(), &opts).await }
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
    if !args.no_sync && !stop.load(Ordering::SeqCst) && (!changed.is_empty() || forgot) {
        let current = state.into_inner().unwrap_or_else(|p| p.into_inner());
        ctx.printer.out("\n");
        let synced = super::sync::perform(
            ctx,
            &config,
            &at.store,
            &guard,
            current,
            &changed,
            identities.as_deref(),
            config.settings.parallelism,
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

/// Verifies one account (create, update, replace) or forgets it (delete).
async fn apply_one(
    c: &AccountChange,
    config: &Config,
    recorded: &State,
    ids: Option<&Identities>,
    opts: &vendor::Connections,
) -> std::result::Result<Option<AccountState>, String> {
    if c.action == Action::Delete {
        return Ok(None);
    }
    let account = config
        .accounts
        .get(&c.address)
        .ok_or_else(|| "the account is no longer in the configuration".to_string())?;
    let before = recorded.accounts.get(&c.address);
    let (attribute, ciphertext) =
        match account_ciphertext(config, account).map_err(|e| e.to_string())? {
            Some(ct) => (ct.origin.attribute.clone(), to_armored(&ct.bytes)),
            None => match before {
                Some(b) => (b.secret.attribute.clone(), b.secret.ciphertext.clone()),
                None => return Err("no secret declared and none recorded in state".into()),
            },
        };
    let ids = ids.ok_or_else(|| "no age identity to decrypt the secret".to_string())?;
    let secret = decrypt_bytes(ciphertext.as_bytes(), ids)
        .map_err(|why| format!("`{attribute}` cannot be decrypted: {why}"))?;
    let identity = vendor::verify(account, &secret, opts)
        .await
        .map_err(|e| e.to_string())?;
    drop(secret);
    vendor::check_identity(account, &identity).map_err(|e| e.to_string())?;
    if c.action == Action::Update {
        if let Some(b) = before {
            vendor::check_stable(account, &b.identity, &identity).map_err(|e| e.to_string())?;
        }
    }
    Ok(Some(AccountState {
        vendor: account.address.vendor,
        attributes: plan::attrs::of(account),
        secret: StoredSecret {
            attribute,
            ciphertext,
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
    if plan.binding.config_hash != plan::config_hash(config, &plan::Ciphertexts::read(config)?) {
        return Err(stale(
            "it is stale: the configuration changed since the plan was made; make a new plan"
                .into(),
        ));
    }
    Ok(())
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
