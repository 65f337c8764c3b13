//! `tether force-unlock LOCK_ID`: removes a lock left by a dead run: the
//! state lock, or the snapshot store's writer lock (a `sync`, `apply` or
//! `drift --record` killed while writing a version leaves that one).
//!
//! The paths are the config's `state` and `snapshots` settings when the
//! config loads, else the defaults: a broken config must not keep a stale
//! lock in place. The lock whose ID is LOCK_ID is removed, and only when no
//! live process holds the OS lock.

use super::{Context, ExitStatus};
use crate::config;
use crate::error::Error;
use crate::snapshot::Store;
use crate::state::lock;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The lock ID, as printed by the run that found the state or the
    /// snapshot store locked.
    pub lock_id: String,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus, Error> {
    let settings = match config::load(&ctx.dir) {
        Ok(c) => c.settings,
        Err(e) => {
            tracing::debug!(error = %e, "config does not load; using the default paths");
            config::Settings::default()
        }
    };
    let id = args.lock_id.trim();
    if let Some(pg) = crate::ops::stores::backend(&settings)? {
        // The snapshot store's lock when its row has this ID, else the state's.
        let snapshots = lock::read_pg(&pg, lock::PG_SNAPSHOTS)?.is_some_and(|i| i.id == id);
        let (name, shown) = if snapshots {
            (
                lock::PG_SNAPSHOTS,
                format!("the snapshot store of {}", pg.shown()),
            )
        } else {
            (lock::PG_STATE, format!("the state of {}", pg.shown()))
        };
        let info = lock::force_unlock_pg(&pg, name, std::path::Path::new(&pg.shown()), id)?;
        ctx.printer.out(&format!(
            "Removed lock {} of {} (taken by {}, pid {} on {}, `{}` at {}).\n",
            info.id, shown, info.holder, info.pid, info.host, info.operation, info.started
        ));
        return Ok(ExitStatus::Success);
    }
    let store = Store::open(crate::ops::stores::in_dir(&ctx.dir, &settings.snapshots));
    let store_lock = store.lock_target();
    // The state lock unless the snapshot store's lock has this ID: the
    // state's errors (no lock, another ID) are the ones users expect.
    let (target, shown) = if lock::read(&store_lock).is_some_and(|i| i.id == id) {
        (
            store_lock,
            format!("the snapshot store {}", settings.snapshots.display()),
        )
    } else {
        (
            crate::ops::stores::in_dir(&ctx.dir, &settings.state),
            settings.state.display().to_string(),
        )
    };
    let info = lock::force_unlock(&target, id)?;
    ctx.printer.out(&format!(
        "Removed lock {} of {} (taken by {}, pid {} on {}, `{}` at {}).\n",
        info.id, shown, info.holder, info.pid, info.host, info.operation, info.started
    ));
    Ok(ExitStatus::Success)
}
