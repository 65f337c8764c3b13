//! `tether sync [ADDR…]`: list the resources of the accounts in state into a
//! new snapshot version, and say per account what changed since the last
//! (the workflow is [`crate::ops::sync::perform`]).

use super::progress::Progress;
use super::{Context, ExitStatus};
use crate::config;
use crate::error::{Error, Result};
use crate::ops::sync::{Stores, perform, select};
use crate::secrets::identity;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accounts to sync (default: every account in state).
    #[arg(value_name = "ADDR")]
    pub addresses: Vec<String>,
    /// Requests in flight at once (default: `parallelism` in the settings).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: Option<u32>,
    /// A line for every account, however many (above 25 accounts the
    /// report shows totals, the accounts that failed and the first that changed).
    #[arg(long)]
    pub all_accounts: bool,
    /// Print the whole report as JSON (`schemas/sync.schema.json`) instead.
    #[arg(long, conflicts_with = "all_accounts")]
    pub json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    // The config must be valid, but sync reads only its settings (the
    // accounts come from state): the rest, its sources and every account,
    // is let go before the run instead of being held through it.
    let settings = config::load(&ctx.dir)?.settings;
    let at = crate::ops::stores::locate(&ctx.dir, &settings)?;
    let guard = at.store.lock("sync", ctx.lock_timeout)?;
    let Some(state) = at.store.read()? else {
        return Err(Error::Usage(
            "there is no state yet, so no account to sync: run `tether apply` first".into(),
        ));
    };
    let accounts = select(&state, &args.addresses)?;
    if accounts.is_empty() {
        let none = "No accounts in state: nothing to sync.\n";
        if args.json {
            // stdout stays empty rather than not JSON; nothing was written.
            ctx.printer.err(none);
        } else {
            ctx.printer.out(none);
        }
        return Ok(ExitStatus::Success);
    }
    let ids = identity::discover(&ctx.identities, &ctx.dir)?;
    let parallelism = args.parallelism.unwrap_or(settings.parallelism);
    let snapshots = crate::ops::stores::snapshots(&ctx.dir, &settings)?;
    let snapshot_guard = snapshots.lock("sync", ctx.lock_timeout)?;
    let report = perform(
        &Stores {
            state: &at.store,
            state_guard: &guard,
            snapshots: &snapshots,
            snapshot_guard: &snapshot_guard,
        },
        state,
        &accounts,
        Some(&ids),
        &ctx.trust,
        parallelism,
        &Progress::new("sync"),
    )?;
    use crate::render::sync::{self as render, Detail};
    ctx.printer.out(&if args.json {
        render::json(&report)
    } else {
        render::sync(
            &report,
            if args.all_accounts {
                Detail::Every
            } else {
                Detail::Summary
            },
        )
    });
    Ok(if report.incomplete() {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Success
    })
}
