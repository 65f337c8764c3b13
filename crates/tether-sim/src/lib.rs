//! `tether-sim`: a local, wire-faithful stand-in for the identity and
//! inventory APIs of AWS, Alibaba Cloud, Azure and Huawei Cloud Stack
//! (docs/design.md §6; wire formats in `docs/vendor-apis.md`).
//!
//! One listener per vendor serves all of that vendor's services on their real
//! paths; a fifth serves the admin API. The same engine is a library: start
//! a [`Sim`] on free loopback ports, read its [`summary`](Sim::summary)
//! (base URLs and credentials), mutate the world through the
//! [`Engine`] methods, stop it.
//!
//! Besides identity and inventory, each vendor answers its credential-
//! hygiene APIs (AWS IAM `ListAccessKeys`/`GetAccessKeyLastUsed`, Alibaba
//! RAM's same two, Microsoft Graph `applications(appId=…)`, HCS IAM groups,
//! permanent access keys and last use) from per-account state that tests
//! set with `POST /admin/credentials/hygiene` ([`Engine::set_hygiene`]),
//! which can also deny any API its permission error (see [`admin`]).
//!
//! With `--org-members N --org-units K` the world has organizations: the
//! first AWS account manages N member accounts over K OUs
//! ([`organizations`]), the first Alibaba account a resource directory of N
//! member accounts over K folders ([`resource_directory`]; members reached
//! through Alibaba STS `AssumeRole`, see [`alibaba`]); the first Azure tenant has K management groups
//! over N more subscriptions (ARM descendants) and the first HCS account K
//! VDC projects over N more projects (Keystone `parent_id`, show project),
//! see [`management`]. The admin API makes members leave, join, be
//! suspended and lose their role.
//!
//! A crate of its own, outside the product: tether's tests, examples and
//! benchmarks use it, and a build of tether never compiles it.
//!
//! Invariants:
//! - Nothing here depends on tether: the simulator has its own types
//!   ([`Vendor`], the account-name rule, age encryption for
//!   `--write-config`) and meets tether only on the wire.
//! - Every request is authenticated as the vendor does it (signature rebuilt
//!   from the headers the client lists, clock-skew window, nonce replay,
//!   token expiry) before it sees any data; every refusal is the vendor's
//!   own status code and error body.
//! - No request scans more than the one partition it lists (see [`world`]).
//! - A bad request never panics a handler: it gets the vendor's error.
//! - Nothing here logs a secret; the start-up line on stdout is the only
//!   place credentials are printed, by contract.

pub mod admin;
pub mod alibaba;
pub mod auth;
pub mod aws;
pub mod azure;
pub mod cli;
pub mod clock;
pub mod config_writer;
pub mod encode;
pub mod faults;
pub mod hcs;
pub mod http;
pub mod management;
pub mod organizations;
pub mod paging;
pub mod resource_directory;
pub mod rng;
pub mod server;
pub mod summary;
pub mod vendor;
pub mod world;

pub use admin::AddResource;
pub use faults::{Faults, FaultsUpdate};
pub use server::{Engine, Options, Sim};
pub use summary::Summary;
pub use world::{
    Hygiene, HygieneUpdate, ResourceView, Rotated, Vendor, World, WorldError, WorldSpec,
};
