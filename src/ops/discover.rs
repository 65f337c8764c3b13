//! `tether discover`: read-only. With the recorded credentials of main
//! accounts, list their members ([`crate::cloud::members`]) and compare
//! them with the members the config declares through them
//! ([`crate::org::compare`]). Nothing is written here; `--out` is the
//! command layer's.

use serde::Serialize;

use crate::config::{Address, Config};
use crate::error::{Error, Result};
use crate::org::Compared;
use crate::problem::Problem;
use crate::secrets::identity::Identities;
use crate::state::State;
use crate::trust::Trust;

/// What discovery found, per main account.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DiscoverReport {
    pub format_version: u32,
    /// Main accounts whose members were listed.
    pub organizations: Vec<Compared>,
    /// Accounts that manage no organization (asked because every main
    /// account in state is, when no address is given).
    pub not_main: Vec<Address>,
    /// Main accounts whose members could not be listed.
    pub failed: Vec<Failed>,
}

/// A main account whose members could not be listed, and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Failed {
    pub address: Address,
    pub problem: Problem,
}

/// Version of the discover JSON document.
pub const DISCOVER_FORMAT_VERSION: u32 = 1;

/// The main accounts to ask: `given`, each applied and not a member, or
/// every applied account that is not a member and not disabled.
pub fn mains(state: &State, given: &[String]) -> Result<Vec<Address>> {
    if given.is_empty() {
        return Ok(state
            .accounts
            .iter()
            .filter(|(_, a)| a.via().is_none() && a.enabled())
            .map(|(k, _)| k.clone())
            .collect());
    }
    let mut out = std::collections::BTreeSet::new();
    for s in given {
        let a: Address = s.parse().map_err(|e| Error::Usage(format!("`{s}`: {e}")))?;
        let Some(entry) = state.accounts.get(&a) else {
            return Err(Error::Usage(format!(
                "`{a}` is not in state: apply the main account first (see `tether state list`)"
            )));
        };
        if let Some(main) = entry.via() {
            return Err(Error::Usage(format!(
                "`{a}` is a member (reached through `{main}`); name its main account"
            )));
        }
        out.insert(a);
    }
    Ok(out.into_iter().collect())
}

/// Lists the members of each of `mains` and compares them with `config`.
/// `explicit`: the addresses were named, so an account that manages no
/// organization is a failure rather than skipped.
pub fn run(
    config: &Config,
    state: &State,
    mains: &[Address],
    explicit: bool,
    ids: &Identities,
    trust: &Trust,
    parallelism: u32,
) -> Result<DiscoverReport> {
    use futures_util::StreamExt;
    let rt = super::runtime()?;
    let conns = crate::cloud::Connections::new(&crate::sync::fetch_client_options())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let per_main = (parallelism.max(1) as usize)
        .div_ceil(mains.len().max(1))
        .max(1);
    // An error, and whether it says the account manages no organization.
    type Listing = std::result::Result<crate::org::Listed, (Problem, bool)>;
    let results: Vec<(Address, Listing)> = rt.block_on(async {
        futures_util::stream::iter(mains.iter().map(|address| {
            let conns = &conns;
            async move {
                let Some(entry) = state.accounts.get(address) else {
                    return (
                        address.clone(),
                        Err((
                            Problem::new(crate::problem::ProblemKind::State, "not in state"),
                            false,
                        )),
                    );
                };
                let (account, secret) =
                    match crate::trust::recorded(address, entry, state, ids, trust) {
                        Ok(pair) => pair,
                        Err(why) => return (address.clone(), Err((why.problem(), false))),
                    };
                let listed = crate::cloud::members(&account, &secret, conns, per_main, true)
                    .await
                    .map_err(|e| {
                        (
                            e.problem(),
                            crate::org::manages_none(e.vendor, e.code.as_deref()),
                        )
                    });
                (address.clone(), listed)
            }
        }))
        .buffered(parallelism.max(1) as usize)
        .collect()
        .await
    });
    let mut report = DiscoverReport {
        format_version: DISCOVER_FORMAT_VERSION,
        organizations: Vec::new(),
        not_main: Vec::new(),
        failed: Vec::new(),
    };
    for (address, r) in results {
        match r {
            Ok(listed) => report
                .organizations
                .push(crate::org::compare(config, &address, &listed)),
            Err((_, true)) if !explicit => report.not_main.push(address),
            Err((problem, _)) => report.failed.push(Failed { address, problem }),
        }
    }
    Ok(report)
}
