//! The one integration-test binary: the `tether` binary tested from outside.

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

mod apply;
mod cloud;
mod cloud_moto;
mod config;
mod docs;
mod drift;
mod failures;
mod hardening;
mod harness;
mod html;
mod hygiene;
mod inventory;
mod org;
mod pg;
mod plan;
mod quickstart;
mod robustness;
mod schemas;
mod secrets;
mod sim;
mod sim_config;
mod sim_crate;
mod snapshot;
mod state;
mod store_damage;
mod streaming;
mod sync_report;
mod tidy;
mod trust;
