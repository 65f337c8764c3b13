//! What a plan does to one account.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{Address, Vendor};

/// The action for one account.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    /// Delete, then create: the account's identity key changed.
    Replace,
    Delete,
    NoOp,
}

impl Action {
    pub fn is_change(self) -> bool {
        self != Action::NoOp
    }

    /// Terraform-style marker: `+`, `~`, `-/+`, `-`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "will be created",
            Action::Update => "will be updated in place",
            Action::Replace => "must be replaced",
            Action::Delete => "will be deleted",
            Action::NoOp => "is unchanged",
        }
    }
}

/// What happens to the account's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecretChange {
    /// Same ciphertext as in state.
    Unchanged,
    /// Other ciphertext, same plaintext (decrypted with the identity at hand): no change.
    Reencrypted,
    /// Other plaintext.
    Changed,
    /// Other ciphertext and no identity to tell: it may have changed.
    MayHaveChanged,
    /// Omitted in the config: the secret recorded in state is reused.
    Reused,
    /// A new account's secret.
    New,
    /// The account is deleted with its secret.
    Removed,
    /// A member reached through its main account (`via`): it has no secret
    /// of its own; the main account's is used.
    Main,
}

impl SecretChange {
    /// Whether applying must record (and verify) a secret.
    pub fn is_change(self) -> bool {
        matches!(
            self,
            SecretChange::Changed | SecretChange::MayHaveChanged | SecretChange::New
        )
    }
}

/// One attribute's before and after (JSON values; secrets never appear here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttributeChange {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// A change of this attribute replaces the account.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

impl AttributeChange {
    pub fn is_change(&self) -> bool {
        self.before != self.after
    }
}

/// The planned change of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountChange {
    pub address: Address,
    /// The address in state before a `moved` block renamed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<Address>,
    pub vendor: Vendor,
    pub action: Action,
    /// Every attribute, changed or not, by name (secrets excluded).
    pub attributes: Vec<AttributeChange>,
    /// The secret attribute's name.
    pub secret_attribute: String,
    pub secret: SecretChange,
    /// Addresses this account depends on (after the change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
    /// Where the account's secret is sent changes (`api_endpoint`, HCS
    /// `endpoint`): a security note in every rendering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_change: Option<EndpointChange>,
}

/// A change of where an account's requests (and its secret) go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EndpointChange {
    /// The destination apply verified and recorded.
    pub from: String,
    /// The destination the config names now.
    pub to: String,
}

impl AccountChange {
    pub fn changed_attributes(&self) -> impl Iterator<Item = &AttributeChange> {
        self.attributes.iter().filter(|a| a.is_change())
    }
}

/// Counts per action, for summaries.
pub fn counts(changes: &[AccountChange]) -> BTreeMap<Action, usize> {
    let mut m = BTreeMap::new();
    for c in changes {
        *m.entry(c.action).or_insert(0) += 1;
    }
    m
}
