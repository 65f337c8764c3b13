//! Building a plan: config x state, with `moved` blocks, targets and secrets.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::action::{AccountChange, Action, AttributeChange, EndpointChange, SecretChange};
use super::attrs::{self, REPLACING};
use super::{Binding, Ciphertexts, Move, PLAN_FORMAT_VERSION, Plan, PlanMode};
use crate::config::{Account, Address, Config};
use crate::error::{Error, Result};
use crate::secrets::decrypt::{decrypt_bytes, to_armored};
use crate::secrets::identity::Identities;
use crate::state::{AccountState, State};
use crate::trust::Destination;

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub destroy: bool,
    pub targets: Vec<Address>,
    pub excludes: Vec<Address>,
    /// The latest snapshot version, bound into the plan.
    pub snapshot: Option<u64>,
}

/// Plans `config` against `state`. Every secret is read once (in parallel):
/// the plan is bound to the hash of the config files and those bytes. With
/// `identities`, a secret whose ciphertext differs is decrypted (in
/// memory) on both sides to tell a re-encryption from a real change.
pub fn build(
    config: &Config,
    state: Option<&State>,
    opts: &PlanOptions,
    identities: Option<&Identities>,
) -> Result<Plan> {
    build_with(config, state, opts, identities, &Ciphertexts::read(config)?)
}

/// [`build`] with the config's secrets already read: apply plans (and
/// checks a saved plan) with exactly the ciphertexts it then applies.
pub fn build_with(
    config: &Config,
    state: Option<&State>,
    opts: &PlanOptions,
    identities: Option<&Identities>,
    secrets: &Ciphertexts,
) -> Result<Plan> {
    // State after `moved` blocks: address -> (account, address it had in state).
    let mut current: BTreeMap<Address, (&AccountState, Address)> = state
        .map(|s| {
            s.accounts
                .iter()
                .map(|(a, st)| (a.clone(), (st, a.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut moves = Vec::new();
    // Chains (a -> b -> c) settle in at most one pass per block.
    for _ in 0..config.moved.len() {
        let mut changed = false;
        for m in &config.moved {
            if current.contains_key(&m.from) && !current.contains_key(&m.to) {
                let v = current.remove(&m.from).expect("checked above");
                current.insert(m.to.clone(), v);
                moves.push(Move {
                    from: m.from.clone(),
                    to: m.to.clone(),
                });
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    let scope = scope(config, &current, opts);
    let mut changes = Vec::new();
    if opts.destroy {
        for (addr, (st, prev)) in &current {
            if scope.contains(addr) {
                changes.push(deleted(addr, st, prev));
            }
        }
    } else {
        for (addr, account) in &config.accounts {
            if !scope.contains(addr) {
                continue;
            }
            changes.push(match current.get(addr) {
                None => created(account, secrets)?,
                Some((st, prev)) => updated(account, st, prev, identities, secrets)?,
            });
        }
        for (addr, (st, prev)) in &current {
            if scope.contains(addr) && !config.accounts.contains_key(addr) {
                changes.push(deleted(addr, st, prev));
            }
        }
        changes.sort_by(|a, b| a.address.cmp(&b.address));
    }
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION.into(),
        mode: if opts.destroy {
            PlanMode::Destroy
        } else {
            PlanMode::Normal
        },
        binding: Binding {
            config_hash: super::config_hash(config, secrets),
            state_lineage: state.map(|s| s.lineage.clone()),
            state_serial: state.map(|s| s.serial).unwrap_or(0),
            snapshot: opts.snapshot,
        },
        changes,
        moves,
        targets: opts.targets.clone(),
        excludes: opts.excludes.clone(),
        identity_available: identities.is_some(),
        identity_drift: Vec::new(),
        not_checked: Vec::new(),
        findings: Vec::new(),
    })
}

/// The accounts in scope: every address, or the targets with what they depend
/// on; minus the excluded ones and what depends on them.
fn scope(
    config: &Config,
    current: &BTreeMap<Address, (&AccountState, Address)>,
    opts: &PlanOptions,
) -> BTreeSet<Address> {
    let deps = |a: &Address| -> Vec<Address> {
        config
            .accounts
            .get(a)
            .map(|x| x.depends_on.clone())
            .or_else(|| current.get(a).map(|(s, _)| s.depends_on.clone()))
            .unwrap_or_default()
    };
    let all: BTreeSet<Address> = config
        .accounts
        .keys()
        .chain(current.keys())
        .cloned()
        .collect();
    let mut scope: BTreeSet<Address> = if opts.targets.is_empty() {
        all.clone()
    } else {
        let mut s = BTreeSet::new();
        let mut stack: Vec<Address> = opts.targets.clone();
        while let Some(a) = stack.pop() {
            if s.insert(a.clone()) {
                stack.extend(deps(&a));
            }
        }
        s
    };
    if !opts.excludes.is_empty() {
        let mut out: BTreeSet<Address> = opts.excludes.iter().cloned().collect();
        // Whatever depends on an excluded account is excluded too.
        loop {
            let more: Vec<Address> = all
                .iter()
                .filter(|a| !out.contains(*a) && deps(a).iter().any(|d| out.contains(d)))
                .cloned()
                .collect();
            if more.is_empty() {
                break;
            }
            out.extend(more);
        }
        scope.retain(|a| !out.contains(a));
    }
    scope
}

fn secret_attribute(account: &Account) -> String {
    account.address.vendor.secret_attributes()[0].to_string()
}

fn created(account: &Account, secrets: &Ciphertexts) -> Result<AccountChange> {
    if account.vendor.secret().is_none() && account.via.is_none() {
        let attr = secret_attribute(account);
        return Err(Error::Plan {
            address: account.address.to_string(),
            message: format!(
                "`{attr}` is omitted and the account is not in state: a new account needs its secret (`tether secrets set {} {attr}`)",
                account.address
            ),
        });
    }
    debug_assert!(account.via.is_some() || secrets.0.contains_key(&account.address));
    let after = attrs::of(account);
    Ok(AccountChange {
        address: account.address.clone(),
        previous_address: None,
        vendor: account.address.vendor,
        action: Action::Create,
        attributes: after
            .into_iter()
            .map(|(name, v)| AttributeChange {
                name,
                before: None,
                after: Some(v),
                forces_replacement: false,
            })
            .collect(),
        secret_attribute: secret_attribute(account),
        secret: if account.via.is_some() {
            SecretChange::Main
        } else {
            SecretChange::New
        },
        depends_on: account.depends_on.clone(),
        endpoint_change: None,
    })
}

fn deleted(addr: &Address, st: &AccountState, prev: &Address) -> AccountChange {
    AccountChange {
        address: addr.clone(),
        previous_address: (prev != addr).then(|| prev.clone()),
        vendor: st.vendor,
        action: Action::Delete,
        attributes: st
            .attributes
            .iter()
            .map(|(name, v)| AttributeChange {
                name: name.clone(),
                before: Some(v.clone()),
                after: None,
                forces_replacement: false,
            })
            .collect(),
        secret_attribute: st.secret.attribute.clone(),
        secret: SecretChange::Removed,
        depends_on: st.depends_on.clone(),
        endpoint_change: None,
    }
}

fn updated(
    account: &Account,
    st: &AccountState,
    prev: &Address,
    identities: Option<&Identities>,
    secrets: &Ciphertexts,
) -> Result<AccountChange> {
    let after = attrs::of(account);
    let names: BTreeSet<&String> = after.keys().chain(st.attributes.keys()).collect();
    let mut attributes = Vec::new();
    let mut replace = false;
    let mut update = false;
    for name in names {
        let before: Option<Value> = st.attributes.get(name).cloned();
        let a: Option<Value> = after.get(name).cloned();
        let forces = REPLACING.contains(&name.as_str());
        let changed = before != a;
        replace |= changed && forces;
        update |= changed;
        attributes.push(AttributeChange {
            name: name.clone(),
            before,
            after: a,
            forces_replacement: forces && changed,
        });
    }
    let secret = secret_change(account, st, identities, secrets)?;
    update |= secret.is_change() || account.depends_on != st.depends_on;
    let action = if replace {
        Action::Replace
    } else if update {
        Action::Update
    } else {
        Action::NoOp
    };
    let to = Destination::of(account);
    let endpoint_change = match st.to_account(prev) {
        Ok(recorded) if Destination::of(&recorded) == to => None,
        Ok(recorded) => Some(EndpointChange {
            from: Destination::of(&recorded).to_string(),
            to: to.to_string(),
        }),
        Err(why) => Some(EndpointChange {
            from: format!("(the state entry is not usable: {why})"),
            to: to.to_string(),
        }),
    };
    Ok(AccountChange {
        address: account.address.clone(),
        previous_address: (prev != &account.address).then(|| prev.clone()),
        vendor: account.address.vendor,
        action,
        attributes,
        secret_attribute: secret_attribute(account),
        secret,
        depends_on: account.depends_on.clone(),
        endpoint_change,
    })
}

fn secret_change(
    account: &Account,
    st: &AccountState,
    identities: Option<&Identities>,
    secrets: &Ciphertexts,
) -> Result<SecretChange> {
    if account.via.is_some() {
        return Ok(SecretChange::Main);
    }
    let Some(c) = secrets.0.get(&account.address) else {
        return Ok(SecretChange::Reused);
    };
    let declared = to_armored(&c.bytes);
    if st.secret.applied.as_deref() == Some(&applied_digest(&declared))
        || declared == st.secret.ciphertext.trim()
    {
        return Ok(SecretChange::Unchanged);
    }
    let Some(ids) = identities else {
        return Ok(SecretChange::MayHaveChanged);
    };
    let new = decrypt_bytes(&c.bytes, ids)
        .and_then(crate::trust::open)
        .map_err(|why| c.origin.error(why))?
        .secret;
    let old = decrypt_bytes(st.secret.ciphertext.as_bytes(), ids)
        .and_then(crate::trust::open)
        .map_err(|why| Error::Plan {
            address: account.address.to_string(),
            message: format!("the secret recorded in state cannot be decrypted: {why}"),
        })?
        .secret;
    Ok(if new.expose() == old.expose() {
        SecretChange::Reencrypted
    } else {
        SecretChange::Changed
    })
}

/// What state records of the config ciphertext an apply verified
/// (`sha256:` and the hex digest of its armored text): the state holds the
/// secret sealed for its destination, so plans compare the config's
/// ciphertext with this.
pub fn applied_digest(armored: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(armored.trim().as_bytes()))
    )
}
