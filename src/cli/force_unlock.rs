//! `tether force-unlock LOCK_ID`: removes a state lock left by a dead run.
//!
//! The state path is the config's `state` setting when the config loads, else
//! the default `tether.state.json`: a broken config must not keep a stale lock
//! in place. The lock is removed only when LOCK_ID matches and no live process
//! holds the OS lock.

use super::{Context, ExitStatus};
use crate::config;
use crate::error::Error;
use crate::state::lock;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The lock ID, as printed by the run that found the state locked.
    pub lock_id: String,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus, Error> {
    let shown = match config::load(&ctx.dir) {
        Ok(c) => c.settings.state,
        Err(e) => {
            tracing::debug!(error = %e, "config does not load; using the default state path");
            std::path::PathBuf::from(config::DEFAULT_STATE)
        }
    };
    let info = lock::force_unlock(&super::state::in_dir(ctx, &shown), args.lock_id.trim())?;
    ctx.printer.out(&format!(
        "Removed lock {} of {} (taken by {}, pid {} on {}, `{}` at {}).\n",
        info.id,
        shown.display(),
        info.holder,
        info.pid,
        info.host,
        info.operation,
        info.started
    ));
    Ok(ExitStatus::Success)
}
