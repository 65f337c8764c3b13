//! The live check of recorded accounts (`plan --refresh`, `drift`): each
//! account and its secret as recorded in state, verified with the vendor
//! with sync's retry policy, and compared with the identity apply recorded;
//! with a hygiene [`Policy`], the credentials themselves are then checked
//! (root key, key age, secret expiry) with the same secret at the same
//! destination.

use crate::config::{self, Address};
use crate::error::{Error, Result};
use crate::hygiene::{Finding, Policy};
use crate::problem::Problem;

/// The live check of one recorded account.
#[derive(Debug)]
pub enum Check {
    /// It verifies as recorded: the account and its secret, cleared for its
    /// recorded destination, for whatever comes next (drift's fetch).
    Verified {
        account: Box<config::Account>,
        secret: crate::trust::Cleared,
        /// Credential hygiene findings (none without a policy).
        findings: Vec<Finding>,
        /// Listing calls the permission preflight was denied (none without
        /// a policy): see [`permissions`].
        denied: Vec<Denied>,
        /// A main account's members as its vendor lists them, when asked
        /// (`orgs`); `Err` when they could not be listed.
        members: Option<std::result::Result<crate::org::Listed, Problem>>,
    },
    /// The vendor refused the credentials, or they now belong to another
    /// account or environment: drift.
    Drift(Problem),
    /// The check could not complete (the vendor unreachable or failing
    /// after every retry, the secret not decryptable or refused for its
    /// destination): not drift, the run is incomplete.
    Unchecked(Problem),
}

/// A listing call the vendor denied: `(type, region, error)`; the type is
/// `regions` for the region discovery.
pub type Denied = (String, String, crate::cloud::VendorError);

/// Denied listing calls of `address` (the preflight's, a fetch's) as
/// permission findings: one when its regions may not be listed, else one
/// per type with its regions.
pub fn permissions(address: &Address, denied: &[Denied]) -> Vec<Finding> {
    if let Some((_, _, e)) = denied.iter().find(|(kind, _, _)| kind == "regions") {
        return vec![crate::hygiene::denied_regions(address, e.code.as_deref())];
    }
    let mut seen = std::collections::BTreeSet::new();
    crate::hygiene::denied_listings(
        denied
            .iter()
            .filter(|(kind, region, _)| seen.insert((kind.as_str(), region.as_str())))
            .map(|(kind, region, e)| (address, kind.as_str(), region.as_str(), e.code.as_deref())),
    )
}

/// Findings about the organization of main account `address` (see
/// [`crate::org::findings`]); members that could not be listed are one
/// `not checked` finding.
pub fn organization(
    config: &config::Config,
    address: &Address,
    members: Option<std::result::Result<crate::org::Listed, Problem>>,
) -> Vec<Finding> {
    match members {
        None => Vec::new(),
        Some(Ok(listed)) => crate::org::findings(&crate::org::compare(config, address, &listed)),
        Some(Err(p)) => vec![Finding {
            advice: Some(
                "grant the main account's key the organization's read permissions (AWS organizations:ListAccounts, Alibaba AliyunResourceDirectoryReadOnlyAccess)".into(),
            ),
            code: p.code,
            ..Finding::new(
                address,
                crate::hygiene::FindingKind::Unchecked,
                format!("could not list the organization's members: {}", p.message),
            )
        }],
    }
}

/// What [`verify_recorded`] asks of each verified account besides its
/// identity.
#[derive(Clone, Copy)]
pub struct Asks<'a> {
    /// Credential hygiene, judged by this policy (none: not asked).
    pub policy: Option<&'a Policy>,
    /// The permission preflight (with a policy).
    pub preflight: bool,
    /// Main accounts whose organization members are listed.
    pub orgs: &'a std::collections::BTreeSet<Address>,
}

/// Verifies each account live with the account and secret recorded in
/// state, with sync's retry policy. At most `parallelism` accounts at once.
pub fn verify_recorded(
    checks: &[(&Address, &crate::state::AccountState)],
    state: &crate::state::State,
    ids: &crate::secrets::identity::Identities,
    trust: &crate::trust::Trust,
    parallelism: u32,
    asks: Asks<'_>,
) -> Result<Vec<Check>> {
    let Asks {
        policy,
        preflight,
        orgs,
    } = asks;
    use crate::cloud;
    let rt = super::runtime()?;
    let conns = cloud::Connections::new(&crate::sync::fetch_client_options())
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(rt.block_on(async {
        use futures_util::StreamExt;
        futures_util::stream::iter(checks.iter().map(|(address, entry)| {
            let conns = &conns;
            async move {
                let (account, secret) =
                    match crate::trust::recorded(address, entry, state, ids, trust) {
                        Ok(pair) => pair,
                        Err(why) => return Check::Unchecked(why.problem()),
                    };
                let id = match cloud::verify(&account, &secret, conns).await {
                    Ok(id) => id,
                    Err(e) if e.kind == cloud::ErrorKind::Auth => {
                        return Check::Drift(e.problem());
                    }
                    Err(e) => return Check::Unchecked(e.problem()),
                };
                match cloud::check_stable(&account, &entry.identity, &id)
                    .and_then(|()| cloud::check_identity(&account, &id))
                {
                    Ok(()) => {
                        let (findings, denied) = match policy {
                            Some(p) => (
                                crate::hygiene::judge(
                                    address,
                                    &cloud::hygiene(&account, &secret, &id, conns).await,
                                    p,
                                ),
                                if preflight {
                                    cloud::preflight(&account, &secret, conns).await
                                } else {
                                    Vec::new()
                                },
                            ),
                            None => (Vec::new(), Vec::new()),
                        };
                        let members = if orgs.contains(*address) {
                            let listed = cloud::members(&account, &secret, conns, 1, false).await;
                            match listed {
                                Ok(l) => Some(Ok(l)),
                                // Not a main account after all: nothing to say.
                                Err(e) if crate::org::manages_none(e.vendor, e.code.as_deref()) => {
                                    None
                                }
                                Err(e) => Some(Err(e.problem())),
                            }
                        } else {
                            None
                        };
                        Check::Verified {
                            account: Box::new(account),
                            secret,
                            findings,
                            denied,
                            members,
                        }
                    }
                    Err(m) => Check::Drift(m.problem()),
                }
            }
        }))
        .buffered(parallelism.max(1) as usize)
        .collect::<Vec<_>>()
        .await
    }))
}
