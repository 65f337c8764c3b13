//! Plans: config x state -> one action per account, with attribute changes.
//!
//! A `Plan` is data. Its renderings live in `crate::render` (human,
//! markdown) and its JSON form is `schemas/plan.schema.json`; a plan never
//! prints. Invariants:
//! no plaintext secret is ever part of a plan (secrets are compared by
//! ciphertext, and by plaintext only in memory when an identity is at hand);
//! changes are in address order; the same inputs give the same bytes.

pub mod action;
pub mod attrs;
pub mod diff;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use action::{AccountChange, Action, AttributeChange, EndpointChange, SecretChange, counts};
pub use diff::{PlanOptions, applied_digest, build, build_with};

use crate::config::Address;
use crate::problem::{Problem, ProblemKind};

/// Version of the plan JSON document and of saved plan files.
pub const PLAN_FORMAT_VERSION: &str = "1";

/// A plan: what apply would do, and what it is bound to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub format_version: String,
    /// `normal` or `destroy`.
    pub mode: PlanMode,
    /// What the plan was made from; `apply PLANFILE` refuses a plan whose binding no longer holds.
    pub binding: Binding,
    /// One entry per account in scope, in address order (no-ops included).
    pub changes: Vec<AccountChange>,
    /// `moved` blocks that renamed an address in state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<Move>,
    /// Addresses given with `--target` (empty: every account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Address>,
    /// Addresses given with `--exclude`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<Address>,
    /// Whether an identity was at hand to compare secrets by plaintext.
    pub identity_available: bool,
    /// With `--refresh`: accounts whose credentials no longer verify as recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_drift: Vec<IdentityDrift>,
    /// With `--refresh`: accounts whose check could not complete (the vendor
    /// unreachable or failing after every retry, a secret that cannot be
    /// decrypted or is refused for its destination). Not drift: the check
    /// is incomplete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<IdentityDrift>,
    /// With `--refresh`: what the vendors say of the credentials themselves
    /// (root keys, key age, secret expiry, checks the key may not make).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::hygiene::Finding>,
}

/// An account whose live check found something: identity drift (a revoked
/// or expired key, a key that now belongs to another account), or a check
/// that could not complete. The message is for people; `kind`, `code` and
/// `request_id` keep the failure typed for machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IdentityDrift {
    pub address: Address,
    pub problem: String,
    /// `auth`, `throttled`, `retryable`, `unreachable`, `other` (the vendor's
    /// answer), `mismatch` (the credentials belong to another account or
    /// environment), `refused` (tether would not send the secret there),
    /// `decrypt` (no identity decrypts it), `state` (the entry is unusable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProblemKind>,
    /// The vendor's error code, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The vendor's request id, for support cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl IdentityDrift {
    /// The finding of `problem` for `address`.
    pub fn new(address: Address, problem: Problem) -> IdentityDrift {
        IdentityDrift {
            address,
            problem: problem.message,
            kind: problem.kind,
            code: problem.code,
            request_id: problem.request_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlanMode {
    Normal,
    Destroy,
}

/// What a saved plan is bound to (docs/design.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Binding {
    /// SHA-256 over every config file and every `file()` secret, in name order.
    pub config_hash: String,
    /// The state's lineage, or `None` when there was no state.
    pub state_lineage: Option<String>,
    /// The state's serial (0 when there was no state).
    pub state_serial: u64,
    /// The latest snapshot version at plan time, if any.
    pub snapshot: Option<u64>,
}

/// A rename applied from a `moved` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Move {
    pub from: Address,
    pub to: Address,
}

impl Plan {
    /// True when applying would change anything (moves count: they rewrite state).
    pub fn has_changes(&self) -> bool {
        !self.moves.is_empty() || self.changes.iter().any(|c| c.action.is_change())
    }

    /// The changes that move a secret to another destination.
    pub fn endpoint_changes(&self) -> impl Iterator<Item = (&AccountChange, &EndpointChange)> {
        self.changes
            .iter()
            .filter_map(|c| c.endpoint_change.as_ref().map(|e| (c, e)))
    }

    /// Accounts the config disables (`enabled = false`): kept in state,
    /// skipped by sync and drift.
    pub fn disabled(&self) -> impl Iterator<Item = &Address> {
        self.changes
            .iter()
            .filter(|c| {
                c.action != Action::Delete
                    && c.attributes.iter().any(|a| {
                        a.name == "enabled" && a.after == Some(serde_json::Value::Bool(false))
                    })
            })
            .map(|c| &c.address)
    }

    /// Changes, or identity drift found by `--refresh`.
    pub fn has_changes_or_drift(&self) -> bool {
        self.has_changes() || !self.identity_drift.is_empty()
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a plan serializes");
        s.push('\n');
        s
    }
}

/// The ciphertext of every declared secret, read once per plan (a `file()`
/// secret is read here and nowhere else while planning).
#[derive(Debug, Default)]
pub struct Ciphertexts(
    pub std::collections::BTreeMap<Address, crate::secrets::decrypt::Ciphertext>,
);

impl Ciphertexts {
    /// `file()` secrets are read on every core; the first error in address
    /// order is the one reported.
    pub fn read(config: &crate::config::Config) -> crate::error::Result<Ciphertexts> {
        use crate::secrets::decrypt::account_ciphertext;
        use rayon::prelude::*;
        let accounts: Vec<&crate::config::Account> = config.accounts.values().collect();
        // Results in address order, small configs on this thread alone.
        let parts: Vec<_> = crate::cores::run(|| {
            accounts
                .par_iter()
                .with_min_len(256)
                .map(|a| account_ciphertext(config, a).map(|c| (a.address.clone(), c)))
                .collect()
        });
        let mut m = std::collections::BTreeMap::new();
        for r in parts {
            if let (addr, Some(c)) = r? {
                m.insert(addr, c);
            }
        }
        Ok(Ciphertexts(m))
    }
}

/// SHA-256 over every config file (name and bytes) and every `file()` secret,
/// in name order: a saved plan is bound to exactly this config.
pub fn config_hash(config: &crate::config::Config, secrets: &Ciphertexts) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut files: Vec<(String, &[u8])> = config
        .sources
        .iter()
        .map(|(_, f)| (f.name.clone(), f.text.as_bytes()))
        .collect();
    for (addr, c) in &secrets.0 {
        files.push((format!("secret:{addr}"), &c.bytes));
    }
    files.sort();
    for (name, bytes) in files {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    hex::encode(h.finalize())
}
