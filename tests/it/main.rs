//! The one integration-test binary: the `tether` binary tested from outside.

mod config;
mod harness;
mod robustness;
mod schemas;
mod secrets;
