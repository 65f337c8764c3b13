//! The state file's format (`tether.state.json`): a versioned document.
//!
//! Invariants: secrets are held as age ciphertext only (armored text), never
//! plaintext; accounts are kept in address order so the file is deterministic;
//! `lineage` never changes for the life of a state; `serial` grows by one on
//! every write.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{
    Account, Address, AzureAccount, HcsAccount, KeyAccount, SecretRef, SecretSource, Vendor,
    VendorAccount,
};

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
    /// `depends_on` entry and member `via` that names it. Pure: touches only
    /// this value.
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
        let (old_name, new_name) = (from.to_string(), to.to_string());
        for a in self.accounts.values_mut() {
            for d in a.depends_on.iter_mut().filter(|d| *d == from) {
                *d = to.clone();
            }
            // A member reached through the renamed account follows it.
            if let Some(v) = a.attributes.get_mut("via") {
                if v.as_str() == Some(old_name.as_str()) {
                    *v = serde_json::Value::String(new_name.clone());
                }
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

impl AccountState {
    /// `enabled = false` was applied: sync and drift skip the account.
    pub fn enabled(&self) -> bool {
        self.attributes.get("enabled") != Some(&serde_json::Value::Bool(false))
    }

    /// The account as it was applied, in the config's model, with the
    /// stored ciphertext as its (inline) secret: what sync and drift
    /// authenticate with, so they need the state alone. Fails only on a
    /// state edited by hand (an attribute missing or of the wrong type).
    pub fn to_account(&self, address: &Address) -> Result<Account, String> {
        let text = |name: &str| -> Result<String, String> {
            match self.attributes.get(name) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!("attribute `{name}` is not a string")),
                None => Err(format!("attribute `{name}` is missing")),
            }
        };
        let opt_text = |name: &str| -> Result<Option<String>, String> {
            match self.attributes.get(name) {
                None => Ok(None),
                Some(_) => text(name).map(Some),
            }
        };
        let via = match opt_text("via")? {
            None => None,
            Some(main) => {
                let main: Address = main
                    .parse()
                    .map_err(|e| format!("attribute `via` is not an account address: {e}"))?;
                if main.vendor != address.vendor || &main == address {
                    return Err(format!("attribute `via` names `{main}`"));
                }
                let role_name = opt_text("role_name")?;
                if role_name
                    .as_deref()
                    .is_some_and(|r| !crate::config::is_role_name(r))
                {
                    return Err("attribute `role_name` is not a role name".into());
                }
                Some(crate::config::Via { main, role_name })
            }
        };
        fn list(v: Option<&serde_json::Value>) -> Option<Vec<String>> {
            v.and_then(|v| serde_json::from_value(v.clone()).ok())
        }
        if self.vendor != address.vendor {
            return Err(format!(
                "its vendor is {}, but the address `{address}` is of {}",
                self.vendor, address.vendor
            ));
        }
        let regions = list(self.attributes.get("regions"));
        // Region names become host names (`ec2.{region}.amazonaws.com`): a
        // state file is input like any other and must not steer a request.
        if let Some(bad) = regions
            .iter()
            .flatten()
            .find(|r| !crate::config::is_region(self.vendor, r))
        {
            return Err(format!(
                "attribute `regions` holds \"{}\", which is not a {} region name",
                bad.escape_debug(),
                self.vendor.title()
            ));
        }
        let secret = Some(SecretRef {
            attribute: self.secret.attribute.clone(),
            source: SecretSource::Inline {
                armored: self.secret.ciphertext.clone(),
            },
            span: None,
        });
        let vendor = match self.vendor {
            Vendor::Aws | Vendor::Alibaba => {
                let a = KeyAccount {
                    main_account_id: text("main_account_id")?,
                    account_name: text("account_name")?,
                    access_key_id: text("access_key_id")?,
                    secret_access_key: secret,
                };
                VendorAccount::keyed(self.vendor, a)
            }
            Vendor::Azure => VendorAccount::Azure(AzureAccount {
                tenant_id: text("tenant_id")?,
                tenant_name: text("tenant_name")?,
                application_id: text("application_id")?,
                application_secret: secret,
                subscription_id: opt_text("subscription_id")?
                    .map(|s| {
                        crate::config::is_uuid(&s)
                            .then_some(s)
                            .ok_or("attribute `subscription_id` is not a UUID")
                    })
                    .transpose()?,
            }),
            Vendor::Hcs => VendorAccount::Hcs(HcsAccount {
                endpoint: text("endpoint")?,
                environment_name: text("environment_name")?,
                account: text("account")?,
                password: secret,
                project_id: opt_text("project_id")?
                    .map(|p| {
                        crate::config::is_project_id(&p)
                            .then_some(p)
                            .ok_or("attribute `project_id` is not a project id")
                    })
                    .transpose()?,
            }),
        };
        Ok(Account {
            address: address.clone(),
            vendor,
            regions,
            resource_types: list(self.attributes.get("resource_types")),
            tags: self
                .attributes
                .get("tags")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default(),
            depends_on: self.depends_on.clone(),
            enabled: self.enabled(),
            api_endpoint: self
                .attributes
                .get("api_endpoint")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            via,
            span: None,
        })
    }

    /// A member reached through its main account (`via` was applied).
    pub fn via(&self) -> Option<Address> {
        self.attributes
            .get("via")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
    }
}

/// A secret as recorded in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoredSecret {
    /// `secret_access_key`, `application_secret` or `password`.
    pub attribute: String,
    /// Armored age ciphertext. Written by `apply`, its payload is sealed:
    /// the destination apply verified is inside it (see `trust`).
    pub ciphertext: String,
    /// The config's ciphertext the apply verified (`sha256:` + hex of its
    /// armored text), so a plan can tell an unchanged secret without an
    /// identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every account of the platform example survives the trip config →
    /// state attributes → config, except the secret, which becomes the
    /// stored ciphertext.
    #[test]
    fn to_account_inverts_the_recorded_attributes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platform");
        let config = crate::config::load(&dir).expect("example loads");
        assert!(config.accounts.len() >= 4);
        for account in config.accounts.values() {
            let state = AccountState {
                vendor: account.vendor.vendor(),
                attributes: crate::plan::attrs::of(account),
                secret: StoredSecret {
                    attribute: "s".into(),
                    ciphertext: "CT".into(),
                    applied: None,
                },
                identity: VerifiedIdentity::default(),
                regions: vec![],
                depends_on: account.depends_on.clone(),
                applied_at: String::new(),
                last_sync: None,
            };
            let back = state.to_account(&account.address).expect("round trip");
            assert_eq!(
                crate::plan::attrs::of(&back),
                crate::plan::attrs::of(account)
            );
            assert_eq!(back.vendor.vendor(), account.vendor.vendor());
            let secret = back.vendor.secret().expect("secret");
            assert_eq!(
                secret.source,
                SecretSource::Inline {
                    armored: "CT".into()
                }
            );
        }
        let mut broken = AccountState {
            vendor: Vendor::Aws,
            attributes: BTreeMap::new(),
            secret: StoredSecret {
                attribute: "s".into(),
                ciphertext: "CT".into(),
                applied: None,
            },
            identity: VerifiedIdentity::default(),
            regions: vec![],
            depends_on: vec![],
            applied_at: String::new(),
            last_sync: None,
        };
        let addr: Address = "aws.x".parse().unwrap();
        assert!(
            broken
                .to_account(&addr)
                .unwrap_err()
                .contains("main_account_id")
        );
        broken
            .attributes
            .insert("main_account_id".into(), serde_json::json!(1));
        assert!(
            broken
                .to_account(&addr)
                .unwrap_err()
                .contains("not a string")
        );
    }

    #[test]
    fn a_renamed_main_account_keeps_its_members() {
        let entry = |attrs: serde_json::Value, deps: Vec<Address>| AccountState {
            vendor: Vendor::Aws,
            attributes: serde_json::from_value(attrs).unwrap(),
            secret: StoredSecret {
                attribute: "secret_access_key".into(),
                ciphertext: "CT".into(),
                applied: None,
            },
            identity: VerifiedIdentity::default(),
            regions: vec![],
            depends_on: deps,
            applied_at: String::new(),
            last_sync: None,
        };
        let main: Address = "aws.main".parse().unwrap();
        let member: Address = "aws.member".parse().unwrap();
        let mut state = State::new("l".into());
        state
            .accounts
            .insert(main.clone(), entry(serde_json::json!({}), vec![]));
        state.accounts.insert(
            member.clone(),
            entry(serde_json::json!({"via": "aws.main"}), vec![main.clone()]),
        );
        let to: Address = "aws.org".parse().unwrap();
        state.rename(&main, &to).unwrap();
        let m = &state.accounts[&member];
        assert_eq!(m.via(), Some(to.clone()));
        assert_eq!(m.depends_on, vec![to]);
    }
}
