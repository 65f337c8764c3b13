//! `tether plan`: config x state -> the actions apply would take.

use std::path::PathBuf;

use super::{Context, ExitStatus};
use crate::config::{self, Address};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::plan::{self, PlanOptions, markdown, render};
use crate::secrets::identity;
use crate::state::StateStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Save the plan to FILE for `tether apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Exit 2 when the plan has changes, 0 when it has none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only these accounts (and what they depend on).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Leave out these accounts (and what depends on them).
    #[arg(long = "exclude", value_name = "ADDR")]
    pub excludes: Vec<String>,
    /// Plan to forget every account in state.
    #[arg(long)]
    pub destroy: bool,
    /// Re-verify every account in state with its vendor first, and report
    /// identity drift (a revoked key, a key that now belongs to another account).
    #[arg(long)]
    pub refresh: bool,
    /// Size budget of `--format markdown`, in characters.
    #[arg(long, default_value_t = markdown::DEFAULT_BUDGET)]
    pub budget: usize,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let config = config::load(&ctx.dir)?;
    let parse = |list: &[String], flag: &str| -> Result<Vec<Address>> {
        list.iter()
            .map(|s| {
                s.parse::<Address>()
                    .map_err(|e| Error::Usage(format!("--{flag} {s}: {e}")))
            })
            .collect()
    };
    let targets = parse(&args.targets, "target")?;
    let excludes = parse(&args.excludes, "exclude")?;
    // Plan reads the state without locking it: a saved plan is bound to the serial it saw.
    let state = StateStore::open(config.dir.join(&config.settings.state)).read()?;
    for a in targets.iter().chain(&excludes) {
        let known = config.accounts.contains_key(a)
            || state.as_ref().is_some_and(|s| s.accounts.contains_key(a));
        if !known {
            return Err(Error::Usage(format!(
                "`{a}` is neither declared nor in state"
            )));
        }
    }
    // An identity is optional: without one, secrets are compared by ciphertext.
    let identities = identity::discover_optional(&ctx.identities, &ctx.dir)?;
    let opts = PlanOptions {
        destroy: args.destroy,
        targets,
        excludes,
        // The latest snapshot version the plan was made next to (design §2).
        snapshot: crate::snapshot::Store::open(super::state::in_dir(
            ctx,
            &config.settings.snapshots,
        ))
        .latest()
        .ok()
        .flatten(),
    };
    let mut plan = plan::build(&config, state.as_ref(), &opts, identities.as_ref())?;
    if args.refresh {
        let Some(ids) = identities.as_ref() else {
            // --refresh decrypts the recorded secrets: say where identities were looked for.
            return Err(identity::discover(&ctx.identities, &ctx.dir).unwrap_err());
        };
        if let Some(state) = &state {
            plan.identity_drift = refresh(&config, state, &plan, ids)?;
        }
    }
    match args.format {
        PlanFormat::Human => ctx
            .printer
            .out(&render::human(&plan, ctx.printer.color_out)),
        PlanFormat::Json => ctx.printer.out(&plan.to_json()),
        PlanFormat::Markdown => ctx.printer.out(&markdown::render(&plan, args.budget)),
    }
    if let Some(out) = &args.out {
        let path = ctx.dir.join(out);
        write_atomic(&path, plan.to_json().as_bytes(), Some(0o600))?;
        if args.format == PlanFormat::Human {
            ctx.printer.out(&format!(
                "\nSaved the plan to {}. Apply exactly these actions with:\n  tether apply {}\n",
                out.display(),
                out.display()
            ));
        }
    }
    let status = if args.detailed_exitcode && plan.has_changes_or_drift() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    };
    // The process ends right after this: handing back hundreds of thousands
    // of small allocations one by one would cost tens of milliseconds at
    // 10,000 accounts, for memory the exit returns anyway. Nothing here
    // holds plaintext (secrets are compared by ciphertext, or decrypted
    // into `Secret`s that were already dropped) or an open file.
    std::mem::forget((config, state, plan));
    Ok(status)
}

/// Verifies every account of the plan that is in state, live, with the secret
/// recorded in state, and reports those that no longer verify as recorded.
fn refresh(
    config: &config::Config,
    state: &crate::state::State,
    plan: &plan::Plan,
    ids: &crate::secrets::identity::Identities,
) -> Result<Vec<plan::IdentityDrift>> {
    let checks: Vec<(&config::Account, &crate::state::AccountState)> = plan
        .changes
        .iter()
        .filter_map(|c| {
            let before = c.previous_address.as_ref().unwrap_or(&c.address);
            Some((
                config.accounts.get(&c.address)?,
                state.accounts.get(before)?,
            ))
        })
        .collect();
    let results = verify_recorded(&checks, ids, config.settings.parallelism)?;
    Ok(checks
        .iter()
        .zip(results)
        .filter_map(|((account, _), problem)| {
            problem.map(|p| plan::IdentityDrift {
                address: account.address.clone(),
                problem: super::unprefixed(&p, &account.address).to_string(),
            })
        })
        .collect())
}

/// Verifies each account live with the secret recorded in state: `None`
/// when it still verifies as recorded, else the problem (a revoked or
/// expired key, a key that now belongs to another account, …). At most
/// `parallelism` accounts at once.
pub(crate) fn verify_recorded(
    checks: &[(&config::Account, &crate::state::AccountState)],
    ids: &crate::secrets::identity::Identities,
    parallelism: u32,
) -> Result<Vec<Option<String>>> {
    use crate::vendor::{self, ClientOptions};
    let rt = super::runtime()?;
    let opts = vendor::Connections::new(&ClientOptions::default())
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(rt.block_on(async {
        use futures_util::StreamExt;
        futures_util::stream::iter(checks.iter().map(|(account, recorded)| {
            let opts = &opts;
            async move {
                let secret = match crate::secrets::decrypt::decrypt_bytes(
                    recorded.secret.ciphertext.as_bytes(),
                    ids,
                ) {
                    Ok(s) => s,
                    Err(why) => {
                        return Some(format!("the recorded secret cannot be decrypted: {why}"));
                    }
                };
                match vendor::verify(account, &secret, opts).await {
                    Err(e) => Some(e.to_string()),
                    Ok(id) => vendor::check_stable(account, &recorded.identity, &id)
                        .and_then(|()| vendor::check_identity(account, &id))
                        .err()
                        .map(|m| m.to_string()),
                }
            }
        }))
        .buffered(parallelism.max(1) as usize)
        .collect::<Vec<_>>()
        .await
    }))
}
