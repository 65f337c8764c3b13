//! The state file's format (`tether.state.json`): a versioned document.
//!
//! Invariants: secrets are held as age ciphertext only (armored text), never
//! plaintext; accounts are kept in address order so the file is deterministic;
//! `lineage` never changes for the life of a state; `serial` grows by one on
//! every write.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{Address, Vendor};

/// The format this build writes. Older versions are upgraded only on request.
pub const STATE_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub format_version: u32,
    /// Bumped on every change.
    pub serial: u64,
    /// A UUID fixed for the life of this state.
    pub lineage: String,
    /// Version of tether that last wrote the state.
    pub tether_version: String,
    /// Accounts by address.
    pub accounts: BTreeMap<Address, AccountState>,
}

impl State {
    /// A new, empty state with a fresh lineage.
    pub fn new(lineage: String) -> State {
        State {
            format_version: STATE_FORMAT_VERSION,
            serial: 0,
            lineage,
            tether_version: env!("CARGO_PKG_VERSION").to_string(),
            accounts: BTreeMap::new(),
        }
    }

    /// Renames the account `from` to `to` (`state mv`, `moved` blocks), and every
    /// `depends_on` entry that names it. Pure: touches only this value.
    ///
    /// Errors (nothing changed): `from` is not in state, `to` already is, or the
    /// vendors differ (an account cannot move to another vendor).
    pub fn rename(&mut self, from: &Address, to: &Address) -> crate::Result<()> {
        let edit = |address: &Address, reason: String| crate::Error::StateEdit {
            address: address.to_string(),
            reason,
        };
        if from.vendor != to.vendor {
            return Err(edit(
                from,
                format!(
                    "cannot move `{from}` to `{to}`: an account keeps its vendor ({} is not {})",
                    from.vendor, to.vendor
                ),
            ));
        }
        if from == to {
            return Err(edit(from, format!("`{from}` is already at `{to}`")));
        }
        if self.accounts.contains_key(to) {
            return Err(edit(
                to,
                format!("cannot move `{from}` to `{to}`: `{to}` is already in state"),
            ));
        }
        let Some(account) = self.accounts.remove(from) else {
            return Err(edit(from, format!("`{from}` is not in state")));
        };
        self.accounts.insert(to.clone(), account);
        for a in self.accounts.values_mut() {
            for d in a.depends_on.iter_mut().filter(|d| *d == from) {
                *d = to.clone();
            }
        }
        Ok(())
    }

    /// Addresses of the accounts that name `address` in `depends_on`.
    pub fn dependents(&self, address: &Address) -> Vec<&Address> {
        self.accounts
            .iter()
            .filter(|(_, a)| a.depends_on.contains(address))
            .map(|(k, _)| k)
            .collect()
    }
}

/// One applied account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    pub vendor: Vendor,
    /// The applied, non-secret attributes as written in the config
    /// (`main_account_id`, `account_name`, `access_key_id`, `tenant_id`, …,
    /// `regions`, `resource_types`, `tags`, `api_endpoint`), by name.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// The secret as applied: armored age ciphertext, never plaintext.
    pub secret: StoredSecret,
    /// What the vendor confirmed when the account was applied.
    pub identity: VerifiedIdentity,
    /// Regions resolved at apply time (the declared list, or every region visible).
    pub regions: Vec<String>,
    pub depends_on: Vec<Address>,
    /// When the account was last applied (RFC 3339, UTC).
    pub applied_at: String,
    /// The last snapshot version that synced this account, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<LastSync>,
}

/// A secret as recorded in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoredSecret {
    /// `secret_access_key`, `application_secret` or `password`.
    pub attribute: String,
    /// Armored age ciphertext.
    pub ciphertext: String,
}

/// The identity the vendor reported for the account's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifiedIdentity {
    /// AWS / Alibaba account id, Azure tenant id, HCS domain (account) id.
    pub account_id: String,
    /// AWS ARN, Alibaba ARN, Azure application (client) id, HCS user id.
    pub principal: String,
    /// Azure subscriptions or HCS projects visible to the credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Scope>,
    /// When the vendor confirmed it (RFC 3339, UTC).
    pub verified_at: String,
}

/// A subscription (Azure) or project (HCS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LastSync {
    pub snapshot: u64,
    pub at: String,
}
