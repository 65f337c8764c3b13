//! State: the on-disk format ([`model`]), its lock ([`lock`]) and its atomic
//! store ([`store`]).
//!
//! Every write of the state goes through [`StateStore::write`] under a
//! [`LockGuard`]; reads need no lock.

pub mod lock;
pub mod model;
pub mod store;

pub use lock::{LockGuard, LockInfo};
pub use model::*;
pub use store::{HistoryRow, Pushed, StateStore, Upgrade, canonical, new_state};
