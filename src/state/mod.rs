//! State: the on-disk format ([`model`]), its lock and its atomic store.

pub mod model;

pub use model::*;
