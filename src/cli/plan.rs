//! `tether plan`: config x state -> the actions apply would take.

use std::path::PathBuf;

use super::{Context, ExitStatus};
use crate::config::{self, Address};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::ops::verify::{Check, verify_recorded};
use crate::plan::{self, IdentityDrift, PlanOptions};
use crate::render::{plan as render, plan_markdown as markdown};
use crate::secrets::identity;

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
    let state = crate::ops::stores::locate(&ctx.dir, &config.settings)?
        .store
        .read()?;
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
        // The latest snapshot version the plan was made next to (docs/design.md §2).
        snapshot: crate::ops::stores::snapshots(&ctx.dir, &config.settings)?
            .latest()
            .ok()
            .flatten(),
    };
    let mut plan = plan::build(&config, state.as_ref(), &opts, identities.as_ref())?;
    if args.refresh {
        // --refresh decrypts the recorded secrets: without an identity, the
        // error says where identities were looked for.
        let ids = match identities.as_ref() {
            Some(ids) => ids,
            None => &identity::discover(&ctx.identities, &ctx.dir)?,
        };
        if let Some(state) = &state {
            refresh(ctx, &config, state, &mut plan, ids)?;
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
    let status = if !args.detailed_exitcode {
        ExitStatus::Success
    } else if plan.has_changes_or_drift() || undeclared_required(&config, &plan) {
        ExitStatus::Changes
    } else if !plan.not_checked.is_empty() {
        ExitStatus::Incomplete
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

/// Verifies every account of the plan that is in state, live, with the
/// account and secret recorded in state (never the config's endpoint: a
/// changed endpoint is a planned change, shown as a security note, and
/// only apply sends a secret there). Fills the plan's identity drift and
/// the accounts that could not be checked.
/// `require_declared_members` and an organization member the config does
/// not declare: a change for `--detailed-exitcode`.
fn undeclared_required(config: &config::Config, plan: &plan::Plan) -> bool {
    config.settings.require_declared_members
        && plan
            .findings
            .iter()
            .any(|f| f.kind == crate::hygiene::FindingKind::MemberUndeclared)
}

fn refresh(
    ctx: &Context,
    config: &config::Config,
    state: &crate::state::State,
    plan: &mut plan::Plan,
    ids: &crate::secrets::identity::Identities,
) -> Result<()> {
    let checks: Vec<(&Address, &crate::state::AccountState)> = plan
        .changes
        .iter()
        .filter(|c| config.accounts.contains_key(&c.address))
        .filter_map(|c| {
            let before = c.previous_address.as_ref().unwrap_or(&c.address);
            Some((&c.address, state.accounts.get(before)?))
        })
        // A disabled account is not checked (its key may be revoked: that
        // is often why it was disabled).
        .filter(|(_, s)| s.enabled())
        .collect();
    let policy = crate::hygiene::Policy::of(&config.settings);
    let orgs = crate::org::listed_mains(config, state);
    let results = verify_recorded(
        &checks,
        state,
        ids,
        &ctx.trust,
        config.settings.parallelism,
        crate::ops::verify::Asks {
            policy: Some(&policy),
            // The permission preflight is drift's (and apply's before a
            // first sync): a pull request's plan stays one identity and a
            // few hygiene questions per account.
            preflight: false,
            orgs: &orgs,
        },
    )?;
    for ((address, _), check) in checks.iter().zip(results) {
        match check {
            Check::Verified {
                findings,
                denied,
                members,
                ..
            } => {
                plan.findings.extend(findings);
                plan.findings
                    .extend(crate::ops::verify::permissions(address, &denied));
                plan.findings
                    .extend(crate::ops::verify::organization(config, address, members));
            }
            Check::Drift(problem) => plan
                .identity_drift
                .push(IdentityDrift::new((*address).clone(), problem)),
            Check::Unchecked(problem) => plan
                .not_checked
                .push(IdentityDrift::new((*address).clone(), problem)),
        }
    }
    Ok(())
}
