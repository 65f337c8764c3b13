//! Drift, read-only: re-verifies each account's recorded credentials (a
//! revoked or expired key is drift), fetches the live inventory and compares
//! it with the latest snapshot, and compares the config with the state.
//! Writes nothing unless asked to record, which saves the fetched inventory
//! as a new snapshot version (never state).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;

use super::ignore::{Ignored, Rules, Subject};
use super::since::Item;
use super::verify::{Check, verify_recorded};
use super::{Observer, Step};
use crate::config::{Address, Config};
use crate::error::{Error, Result};
use crate::inventory::PartitionKey;
use crate::plan::{self, Action, IdentityDrift, PlanOptions};
use crate::problem::Problem;
use crate::secrets::identity::Identities;
use crate::snapshot::manifest::Status;
use crate::snapshot::object::Hash;
use crate::snapshot::{Diff, Live, Store, Writer, diff_scoped};
use crate::state::State;
use crate::sync::{Event, SyncOptions, Target};
use crate::trust::Trust;

/// 2: `resources.not_compared` entries carry the failure's `kind`, `code`
/// and `request_id`.
/// 3: `items` (every finding with its fingerprint), `ignored`, `rules`,
/// `since_last`; `resources.changed` entries carry the resource's `tags`.
pub const DRIFT_FORMAT_VERSION: &str = "3";

/// The drift report (`schemas/drift.schema.json`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct DriftReport {
    pub format_version: String,
    /// The snapshot version the live inventory was compared with.
    pub snapshot: Option<u64>,
    /// The version written by `--record`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<u64>,
    /// Drift of any kind was found.
    pub drift: bool,
    /// Some accounts, regions or types could not be read.
    pub incomplete: bool,
    /// Accounts whose recorded credentials no longer verify as recorded.
    pub credentials: Vec<plan::IdentityDrift>,
    /// Config against state: what `tether plan` would change.
    pub config: Vec<ConfigDrift>,
    /// Accounts whose inventory could not be fetched (not drift by itself).
    pub unreadable: Vec<plan::IdentityDrift>,
    /// What the vendors say of the credentials themselves (root keys, key
    /// age, secret expiry, checks the key may not make).
    pub findings: Vec<crate::hygiene::Finding>,
    /// Accounts with `enabled = false` in state: neither checked nor read;
    /// their stored resources are not compared (never reported removed).
    pub disabled: Vec<Address>,
    /// Live inventory against the latest snapshot.
    pub resources: Diff,
    /// The findings above grouped by cause, largest first: the same field
    /// changed on many resources, one account or region not read for one
    /// reason, many accounts' credentials refused alike.
    pub groups: Vec<super::groups::Group>,
    /// Every finding above, one per changed field, with its fingerprint
    /// (and with `--since-last`, new or known).
    pub items: Vec<Item>,
    /// Findings an `ignore` rule matched: not drift, not in the lists
    /// above, counted here with the rule and its reason.
    pub ignored: Vec<super::ignore::Ignored>,
    /// Each `ignore` rule: how many findings it matched, expired, unused.
    pub rules: Vec<super::ignore::RuleUse>,
    /// With `--since-last`: new, known and resolved against the last
    /// recorded run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_last: Option<super::since::SinceLast>,
}

impl DriftReport {
    /// Drift that `--detailed-exitcode` exits 2 for: any, or with
    /// `--since-last` only drift that is new.
    pub fn exit_drift(&self) -> bool {
        match &self.since_last {
            None => self.drift,
            Some(_) => self
                .items
                .iter()
                .any(|i| i.drift && i.status == Some(super::since::Seen::New)),
        }
    }

    /// With `--since-last`: compares with `last`, the record `history`
    /// held when the run began, and records this run there as the last.
    /// `accounts` are the ones in scope, `scoped` when the user named them
    /// (the others' findings are kept).
    pub fn since_last(
        &mut self,
        history: &super::since::History,
        last: Option<super::since::Record>,
        accounts: &[Address],
        scoped: bool,
    ) -> Result<()> {
        let accounts: BTreeSet<Address> = accounts.iter().cloned().collect();
        let unchecked: BTreeSet<Address> =
            self.unreadable.iter().map(|u| u.address.clone()).collect();
        let unread: BTreeSet<Address> = unchecked
            .iter()
            .chain(self.credentials.iter().map(|c| &c.address))
            .chain(&self.disabled)
            .cloned()
            .collect();
        let partitions: BTreeSet<(Address, String, String)> = self
            .resources
            .not_compared
            .iter()
            .map(|n| (n.account.clone(), n.region.clone(), n.kind.clone()))
            .collect();
        let judged = super::since::Judged {
            accounts: &accounts,
            every_account: !scoped,
            unchecked: &unchecked,
            unread: &unread,
            partitions: &partitions,
        };
        let now = crate::clock::rfc3339_now();
        let snapshot = self.snapshot;
        let (since, record) = super::since::compare(
            &mut self.items,
            last,
            &judged,
            &mut self.rules,
            snapshot,
            &now,
        );
        history.save(&record)?;
        self.since_last = Some(since);
        Ok(())
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigDrift {
    pub address: Address,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<Address>,
    /// The config sends the account's secret somewhere else than apply
    /// verified (a security note).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_change: Option<plan::EndpointChange>,
}

/// Checks `accounts` (all in `state`; `scoped` when the user named them)
/// for drift. With `record_as` (the lock timeout), the fetched inventory is
/// saved as a new version of `store`.
#[allow(clippy::too_many_arguments)]
pub fn check(
    config: &Config,
    state: &State,
    accounts: &[Address],
    scoped: bool,
    ids: &Identities,
    trust: &Trust,
    store: &Store,
    record_as: Option<Duration>,
    parallelism: u32,
    observer: &dyn Observer,
) -> Result<DriftReport> {
    // Config against state, for the accounts in scope.
    let opts = PlanOptions {
        targets: if scoped {
            accounts.to_vec()
        } else {
            Vec::new()
        },
        ..PlanOptions::default()
    };
    let p = plan::build(config, Some(state), &opts, Some(ids))?;
    let config_drift: Vec<ConfigDrift> = p
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|c| ConfigDrift {
            address: c.address.clone(),
            action: c.action,
            previous_address: c.previous_address.clone(),
            endpoint_change: c.endpoint_change.clone(),
        })
        .collect();

    // Credentials, as the vendor consoles' key status check sees them: with
    // the account and secret recorded in state, never the config's endpoint.
    let (checks, disabled): (Vec<_>, Vec<_>) = accounts
        .iter()
        .filter_map(|a| Some((a, state.accounts.get(a)?)))
        .partition(|(_, s)| s.enabled());
    let disabled: Vec<Address> = disabled.into_iter().map(|(a, _)| a.clone()).collect();
    let policy = crate::hygiene::Policy::of(&config.settings);
    let orgs = crate::org::listed_mains(config, state);
    let results = verify_recorded(
        &checks,
        state,
        ids,
        trust,
        parallelism,
        super::verify::Asks {
            policy: Some(&policy),
            preflight: true,
            orgs: &orgs,
        },
    )?;
    let mut findings = Vec::new();
    let mut denied: BTreeMap<Address, Vec<super::verify::Denied>> = BTreeMap::new();
    let mut credentials = Vec::new();
    let mut not_checked = Vec::new();
    let mut targets = Vec::new();
    for ((address, _), check) in checks.iter().zip(results) {
        match check {
            Check::Verified {
                account,
                secret,
                findings: found,
                denied: d,
                members,
            } => {
                findings.extend(found);
                findings.extend(super::verify::organization(config, address, members));
                if !d.is_empty() {
                    denied.insert(account.address.clone(), d);
                }
                targets.push(Target::new(*account, secret, state));
            }
            Check::Drift(problem) => {
                credentials.push(IdentityDrift::new((*address).clone(), problem))
            }
            // Not drift: the account could not be checked, so it is not read
            // either; the report is incomplete.
            Check::Unchecked(problem) => not_checked.push(((*address).clone(), problem)),
        }
    }
    let fetched: BTreeSet<Address> = targets.iter().map(|t| t.account.address.clone()).collect();

    // The version compared with, and with `--record` the writer of the
    // next one, both fixed before the fetch: partitions are compared and
    // written as they arrive, so only the ones that drifted stay in memory.
    let guard = match record_as {
        Some(timeout) => Some(store.lock("drift --record", timeout)?),
        None => None,
    };
    let latest = store.latest()?;
    let stored = match latest {
        Some(id) => Some(store.version(id)?),
        None => None,
    };
    let mut writer = match &guard {
        Some(g) => Some(store.writer(g, latest)?),
        None => None,
    };
    let baseline: HashMap<PartitionKey, Hash> = stored
        .as_ref()
        .map(|v| {
            v.manifest
                .partitions()
                .filter(|(_, e)| e.status == Status::Complete)
                .filter_map(|(k, e)| Some((k, e.hash()?)))
                .collect()
        })
        .unwrap_or_default();

    // The live inventory of the accounts whose credentials verify.
    let (live, mut unreadable) = fetch(targets, parallelism, observer, &baseline, writer.as_mut())?;
    let readable: BTreeSet<Address> = fetched
        .iter()
        .filter(|a| !unreadable.iter().any(|(u, _)| u == *a))
        .cloned()
        .collect();
    let resources = match &stored {
        Some(v) => diff_scoped(v, &live, Some(&readable))?,
        None => Diff::default(),
    };
    drop(live);
    // Listing calls the key may not make, from the preflight and from the
    // fetch: a permission finding per account and type.
    for n in resources
        .not_compared
        .iter()
        .filter(|n| n.problem_kind == Some(crate::problem::ProblemKind::Denied))
    {
        let mut e = crate::cloud::VendorError::new(
            n.account.vendor,
            crate::cloud::ErrorKind::Denied,
            n.detail.clone().unwrap_or_default(),
        );
        e.code = n.code.clone();
        denied
            .entry(n.account.clone())
            .or_default()
            .push((n.kind.clone(), n.region.clone(), e));
    }
    for (address, d) in &denied {
        findings.extend(super::verify::permissions(address, d));
    }
    findings.sort_by(|a, b| a.address.cmp(&b.address).then(a.kind.cmp(&b.kind)));
    // Accounts whose check could not complete are not read: their stored
    // partitions are failed in a recorded version, never dropped.
    unreadable.splice(0..0, not_checked);
    let recorded = match writer {
        Some(mut w) => {
            for (account, problem) in &unreadable {
                super::sync::mark_failed(&mut w, account, problem, &BTreeSet::new())?;
            }
            for account in &disabled {
                w.disable_account(account);
            }
            Some(w.commit()?.id)
        }
        None => None,
    };
    let unreadable: Vec<IdentityDrift> = unreadable
        .into_iter()
        .map(|(address, problem)| IdentityDrift::new(address, problem))
        .collect();

    let mut resources = resources;
    let (items, ignored, rules) = sift(
        config,
        &credentials,
        &config_drift,
        &mut findings,
        &mut resources,
    );
    // With `require_declared_members`, an organization member the config
    // does not declare is drift, not only a finding.
    let undeclared = items
        .iter()
        .any(|i| i.drift && i.category == super::since::Category::Finding);
    let drift =
        !credentials.is_empty() || !config_drift.is_empty() || !resources.is_empty() || undeclared;
    let incomplete = !unreadable.is_empty() || !resources.not_compared.is_empty();
    let groups = super::groups::of(&resources, &credentials);
    let report = DriftReport {
        format_version: DRIFT_FORMAT_VERSION.into(),
        snapshot: latest,
        recorded,
        drift,
        incomplete,
        credentials,
        config: config_drift,
        unreadable,
        findings,
        disabled,
        resources,
        groups,
        items,
        ignored,
        rules,
        since_last: None,
    };
    Ok(report)
}

/// Every finding as an [`Item`]; those an `ignore` rule matches leave
/// `findings` and `resources` (a change keeps the fields no rule matched)
/// for the ignored list.
fn sift(
    config: &Config,
    credentials: &[IdentityDrift],
    config_drift: &[ConfigDrift],
    findings: &mut Vec<crate::hygiene::Finding>,
    resources: &mut Diff,
) -> (Vec<Item>, Vec<Ignored>, Vec<super::ignore::RuleUse>) {
    let mut rules = Rules::new(&config.ignore, &super::ignore::today());
    let mut items: Vec<Item> = credentials.iter().map(Item::credentials).collect();
    items.extend(
        config_drift
            .iter()
            .map(|c| Item::config(&c.address, c.action)),
    );
    let mut ignored = Vec::new();
    let mut sort =
        |item: Item, subject: Subject<'_>, items: &mut Vec<Item>| match rules.check(subject) {
            Some(rule) => {
                ignored.push(Ignored {
                    item,
                    rule: rule.name.clone(),
                    reason: rule.reason.clone(),
                });
                false
            }
            None => {
                items.push(item);
                true
            }
        };
    let require = config.settings.require_declared_members;
    findings.retain(|f| {
        let drift = require && f.kind == crate::hygiene::FindingKind::MemberUndeclared;
        let account = f.address.to_string();
        let subject = Subject {
            account: &account,
            ..Subject::default()
        };
        sort(Item::finding(f, drift), subject, &mut items)
    });
    for (list, added) in [
        (&mut resources.added, true),
        (&mut resources.removed, false),
    ] {
        list.retain(|r| {
            let account = r.account.to_string();
            let subject = Subject {
                account: &account,
                kind: Some(&r.kind),
                resource: Some(&r.address),
                tags: Some(&r.tags),
                field: None,
            };
            let item = if added {
                Item::added(r)
            } else {
                Item::removed(r)
            };
            sort(item, subject, &mut items)
        });
    }
    resources.changed.retain_mut(|c| {
        let account = c.account.to_string();
        let fields = std::mem::take(&mut c.fields);
        for f in fields {
            let subject = Subject {
                account: &account,
                kind: Some(&c.kind),
                resource: Some(&c.address),
                tags: Some(&c.tags),
                field: Some(&f.path),
            };
            if sort(Item::changed(c, &f), subject, &mut items) {
                c.fields.push(f);
            }
        }
        !c.fields.is_empty()
    });
    let uses = rules.uses();
    (items, ignored, uses)
}

/// An account that could not be read, and why.
type Unread = (Address, Problem);

/// Fetches every target's inventory: each partition into `live` (its
/// records dropped when `baseline`, the stored content hashes, holds the
/// same) and, with `writer`, written as it arrives. A partition of an
/// account that then fails stays as read (as `tether sync` keeps it); the
/// caller marks the rest of that account failed.
fn fetch(
    targets: Vec<Target>,
    parallelism: u32,
    observer: &dyn Observer,
    baseline: &HashMap<PartitionKey, Hash>,
    mut writer: Option<&mut Writer<'_>>,
) -> Result<(Live, Vec<Unread>)> {
    let rt = super::runtime()?;
    observer.step(Step::Started {
        accounts: targets.len() as u64,
    });
    let opts = SyncOptions::fetch(parallelism);
    let out = rt.block_on(async {
        let mut run = crate::sync::start(targets, opts)
            .map_err(|e| Error::Usage(format!("cannot start the fetch: {e}")))?;
        let mut live = Live::default();
        let mut seen: BTreeMap<Address, BTreeSet<PartitionKey>> = BTreeMap::new();
        let mut unreadable = Vec::new();
        while let Some(event) = run.events.recv().await {
            observer.step(Step::Progress(&run.progress.snapshot()));
            match event {
                Event::Partition(p) => {
                    // Its records are kept only when they differ from the
                    // stored ones.
                    live.push(&p, baseline.get(&p.key));
                    if let Some(w) = writer.as_deref_mut() {
                        seen.entry(p.key.account.clone())
                            .or_default()
                            .insert(p.key.clone());
                        w.add_encoded(p)?;
                    }
                }
                Event::AccountFailed { account, error } => {
                    let problem = error.problem();
                    observer.step(Step::Failed {
                        account: &account,
                        problem: &problem,
                    });
                    live.remove_account(&account);
                    if let Some(w) = writer.as_deref_mut() {
                        let done = seen.remove(&account).unwrap_or_default();
                        super::sync::mark_failed(w, &account, &problem, &done)?;
                    }
                    unreadable.push((account, problem));
                }
                Event::AccountDone { account } => {
                    if let Some(w) = writer.as_deref_mut() {
                        let done = seen.remove(&account).unwrap_or_default();
                        w.keep_only(&account, &done);
                    }
                    observer.step(Step::Fetched {
                        account: &account,
                        counts: None,
                    });
                }
                _ => {}
            }
        }
        Ok::<_, Error>((live, unreadable))
    });
    observer.step(Step::Finished);
    out
}
