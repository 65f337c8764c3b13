//! The workflows below the command line: apply, sync, drift, the live
//! verification of recorded accounts, and where a config's state and
//! snapshots live. Each takes resolved input and returns a typed report;
//! nothing here prints (what a long run shows as it goes reaches the
//! caller through an observer).

pub mod apply;
pub mod discover;
pub mod drift;
pub mod groups;
pub mod ignore;
pub mod migrate;
pub mod since;
pub mod stores;
pub mod sync;
pub mod verify;

use crate::config::Address;
use crate::problem::Problem;

/// One step of a long run (sync, drift), for whoever shows progress.
#[derive(Debug)]
pub enum Step<'a> {
    /// The run begins with this many accounts.
    Started { accounts: u64 },
    /// The run's counters moved.
    Progress(&'a crate::sync::ProgressSnapshot),
    /// An account was read: resources, partitions and failed partitions,
    /// when the run counts them.
    Fetched {
        account: &'a Address,
        counts: Option<(u64, u64, usize)>,
    },
    /// An account could not be read.
    Failed {
        account: &'a Address,
        problem: &'a Problem,
    },
    /// The run's fetching is over.
    Finished,
}

/// Sees a long run as it goes (the command layer draws a bar or lines).
pub trait Observer: Sync {
    fn step(&self, step: Step<'_>);
}

/// Shows nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn step(&self, _: Step<'_>) {}
}

/// The async runtime of the workflows that talk to vendors: two workers
/// are plenty, the work is waiting on the network.
pub fn runtime() -> crate::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Usage(format!("cannot start the async runtime: {e}")))
}
