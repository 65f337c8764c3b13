//! tether: cloud-vendor accounts as code.
//!
//! Code map (see `ARCHITECTURE.md` for the invariants):
//!
//! - [`cli`]: clap arguments, resolved settings, one file per command, the printer.
//! - [`clock`]: the one timestamp format tether writes (RFC 3339, UTC, to the second; a leaf).
//! - [`config`]: HCL files -> syntax -> validated [`config::Config`], with
//!   diagnostics; [`config::graph`] is the account dependency graph
//!   (petgraph), ordering and cycles.
//! - [`ops`]: the workflows below the command line (apply, sync, drift,
//!   verification, where state and snapshots live); typed reports out, no output.
//! - [`cores`]: work spread over the cores (rayon, on a pool per call).
//! - [`diag`]: source text, positions and located diagnostics (a leaf).
//! - [`inventory`]: resource records and partitions (what sync fetches and snapshots store).
//! - [`fmt`]: canonical formatting of HCL files, keeping comments.
//! - [`schema`]: JSON Schemas of the documents tether reads and writes.
//! - [`plan`]: config x state -> actions per account (data).
//! - [`problem`]: what went wrong for an account or partition, typed (kind,
//!   vendor code, request id) until it is rendered (a leaf).
//! - [`render`]: every rendering of a result (plans, snapshots, drift, sync,
//!   apply), with one palette; no printing.
//! - [`secrets`]: age identities and recipients, the redacting [`secrets::Secret`],
//!   decryption, encryption, in-place secret edits and rekey.
//! - [`fsutil`]: the atomic-write helper every durable write goes through, the two
//!   no-follow in-place writers (lock sidecar, audit log), non-blocking regular-file reads.
//! - [`state`]: the state file: format, lock, atomic store.
//! - [`snapshot`]: the versioned, content-addressed snapshot store, its writer, and
//!   the diff of two inventories (stored or live) with its renderers.
//! - [`sync`]: accounts x regions x types -> partitions, fetched concurrently, streamed as events.
//! - [`trust`]: where a decrypted secret may be sent: sealed destinations,
//!   trusted hosts, the [`trust::Cleared`] secret the cloud layer takes.
//! - [`cloud`]: the four cloud vendors behind one narrow interface: credential
//!   verification (identity), retries, typed [`cloud::VendorError`]s.
//!
//! Enforced invariants: only `cli::printer` writes to stdout or stderr (the
//! `print!` family is denied here, `std::io::stdout`/`stderr` are disallowed
//! in `clippy.toml`), and every file write goes through [`fsutil`] (raw
//! writers are disallowed in `clippy.toml`; `tests/it/tidy.rs` checks what
//! clippy cannot see).
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

pub mod cli;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod cores;
pub mod diag;
pub mod error;
pub mod fmt;
pub mod fsutil;
pub mod host;
pub mod hygiene;
pub mod inventory;
pub mod ops;
pub mod org;
pub mod pg;
pub mod plan;
pub mod problem;
pub mod render;
pub mod schema;
pub mod secrets;
pub mod snapshot;
pub mod state;
pub mod sync;
pub mod trust;

pub use error::{Error, Result};
