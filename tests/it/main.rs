//! The one integration-test binary: the `tether` binary tested from outside.

mod apply;
mod cloud;
mod cloud_moto;
mod config;
mod docs;
mod drift;
mod hardening;
mod harness;
mod inventory;
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
mod tidy;
mod trust;
