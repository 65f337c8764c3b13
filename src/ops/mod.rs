//! The workflows below the command line: apply, sync, drift, the live
//! verification of recorded accounts, and where a config's state and
//! snapshots live. Each takes resolved input and returns a typed report;
//! nothing here prints (what a long run shows as it goes reaches the
//! caller through an observer).

pub mod stores;
pub mod verify;

/// The async runtime of the workflows that talk to vendors: two workers
/// are plenty, the work is waiting on the network.
pub fn runtime() -> crate::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Usage(format!("cannot start the async runtime: {e}")))
}
