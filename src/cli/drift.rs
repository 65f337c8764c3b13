//! `tether drift [ADDR…]`: read-only. Re-verifies each account's recorded
//! credentials (a revoked or expired key is drift), fetches the live
//! inventory and compares it with the latest snapshot, and compares the
//! config with the state. Writes nothing unless `--record`, which saves the
//! fetched inventory as a new snapshot version.
//!
//! Exit codes with `--detailed-exitcode`: 2 when drift is found (even if
//! part of the inventory could not be read: what was found is certain),
//! 3 when nothing drifted but something could not be read, 0 otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use crate::ops::verify::{Check, verify_recorded};
use super::progress::Progress;
use crate::ops::stores::in_dir;
use super::{Context, ExitStatus};
use crate::config::{self, Address};
use crate::error::{Error, Result};
use crate::inventory::{Partition, PartitionKey};
use crate::plan::{self, Action, PlanOptions};
use crate::secrets::identity;
use crate::snapshot::{Diff, Live, Store, diff_scoped, render as snaprender};
use crate::sync::{Event, SyncOptions, Target};

pub const DRIFT_FORMAT_VERSION: &str = "1";
const MARKER: &str = "<!-- tether-drift -->";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accounts to check (default: every account in state).
    #[arg(value_name = "ADDR")]
    pub addresses: Vec<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: DriftFormat,
    /// Exit 2 when drift is found, 3 when something could not be read.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the fetched inventory as a new snapshot version.
    #[arg(long)]
    pub record: bool,
    /// Requests in flight at once (default: `parallelism` in the settings).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: Option<u32>,
    /// Size budget of the markdown form, in characters.
    #[arg(long, default_value_t = 60_000)]
    pub budget: usize,
}

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
    /// Live inventory against the latest snapshot.
    pub resources: Diff,
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

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let config = config::load(&ctx.dir)?;
    let at = crate::ops::stores::locate(&ctx.dir, &config.settings);
    let state = at.store.read()?.unwrap_or_else(crate::state::new_state);
    let accounts = super::sync::select(&state, &args.addresses)?;
    let ids = identity::discover(&ctx.identities, &ctx.dir)?;
    let parallelism = args.parallelism.unwrap_or(config.settings.parallelism);

    // Config against state, for the accounts in scope.
    let opts = PlanOptions {
        targets: if args.addresses.is_empty() {
            Vec::new()
        } else {
            accounts.clone()
        },
        ..PlanOptions::default()
    };
    let p = plan::build(&config, Some(&state), &opts, Some(&ids))?;
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
    let checks: Vec<(&Address, &crate::state::AccountState)> = accounts
        .iter()
        .filter_map(|a| Some((a, state.accounts.get(a)?)))
        .collect();
    let results = verify_recorded(&checks, &ids, &ctx.trust, parallelism)?;
    let mut credentials = Vec::new();
    let mut not_checked = Vec::new();
    let mut targets = Vec::new();
    for ((address, _), check) in checks.iter().zip(results) {
        match check {
            Check::Verified { account, secret } => targets.push(Target {
                account: *account,
                secret,
            }),
            Check::Drift(problem) => credentials.push(plan::IdentityDrift {
                address: (*address).clone(),
                problem,
            }),
            // Not drift: the account could not be checked, so it is not read
            // either; the report is incomplete.
            Check::Unchecked(problem) => not_checked.push(plan::IdentityDrift {
                address: (*address).clone(),
                problem,
            }),
        }
    }
    let fetched: BTreeSet<Address> = targets.iter().map(|t| t.account.address.clone()).collect();

    // The live inventory of the accounts whose credentials verify.
    let (partitions, mut unreadable) = fetch(targets, parallelism)?;
    let readable: BTreeSet<Address> = fetched
        .iter()
        .filter(|a| !unreadable.iter().any(|u| &u.address == *a))
        .cloned()
        .collect();

    let store = Store::open(in_dir(&ctx.dir, &config.settings.snapshots));
    let latest = store.latest()?;
    // The fetch is copied only when it is also to be recorded.
    let (live, to_record) = if args.record {
        (Live::new(partitions.clone())?, Some(partitions))
    } else {
        (Live::new(partitions)?, None)
    };
    let resources = match latest {
        Some(id) => diff_scoped(&store.version(id)?, &live, Some(&readable))?,
        None => Diff::default(),
    };
    drop(live);
    // Accounts whose check could not complete are not read: their stored
    // partitions are failed in a recorded version, never dropped.
    unreadable.splice(0..0, not_checked);
    let recorded = match to_record {
        Some(p) => Some(record(ctx, &store, p, &unreadable)?),
        None => None,
    };

    let drift = !credentials.is_empty() || !config_drift.is_empty() || !resources.is_empty();
    let incomplete = !unreadable.is_empty() || !resources.not_compared.is_empty();
    let report = DriftReport {
        format_version: DRIFT_FORMAT_VERSION.into(),
        snapshot: latest,
        recorded,
        drift,
        incomplete,
        credentials,
        config: config_drift,
        unreadable,
        resources,
    };
    ctx.printer.out(&match args.format {
        DriftFormat::Human => human(&report, accounts.len()),
        DriftFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Usage(format!("cannot encode the report: {e}")))?;
            s.push('\n');
            s
        }
        DriftFormat::Markdown => markdown(&report, args.budget),
    });
    Ok(match (args.detailed_exitcode, drift, incomplete) {
        (false, _, _) => ExitStatus::Success,
        (true, true, _) => ExitStatus::Changes,
        (true, false, true) => ExitStatus::Incomplete,
        (true, false, false) => ExitStatus::Success,
    })
}

/// Fetches every target's inventory into memory.
fn fetch(
    targets: Vec<Target>,
    parallelism: u32,
) -> Result<(Vec<Partition>, Vec<plan::IdentityDrift>)> {
    let rt = crate::ops::runtime()?;
    let progress = Progress::new("drift", targets.len() as u64);
    let opts = SyncOptions {
        parallelism: parallelism.max(1) as usize,
        client: crate::sync::fetch_client_options(),
        rate_limits: true,
    };
    let out = rt.block_on(async {
        let mut run = crate::sync::start(targets, opts)
            .map_err(|e| Error::Usage(format!("cannot start the fetch: {e}")))?;
        let mut partitions = Vec::new();
        let mut unreadable = Vec::new();
        while let Some(event) = run.events.recv().await {
            progress.update(&run.progress.snapshot());
            match event {
                Event::Partition(p) => partitions.push(p),
                Event::AccountFailed { account, error } => {
                    let problem = super::unprefixed(&error.to_string(), &account).to_string();
                    progress.account_line(&format!("{account}: FAILED: {problem}"));
                    partitions.retain(|p: &Partition| p.key.account != account);
                    unreadable.push(plan::IdentityDrift {
                        address: account,
                        problem,
                    });
                }
                Event::AccountDone { account } => {
                    progress.account_line(&format!("{account}: fetched"));
                }
                _ => {}
            }
        }
        Ok::<_, Error>((partitions, unreadable))
    });
    progress.finish();
    out
}

/// `--record`: the fetched inventory as a new version (state untouched).
fn record(
    ctx: &Context,
    store: &Store,
    partitions: Vec<Partition>,
    unreadable: &[plan::IdentityDrift],
) -> Result<u64> {
    let guard = store.lock("drift --record", ctx.lock_timeout)?;
    let mut writer = store.writer(&guard, store.latest()?)?;
    let mut seen: BTreeMap<Address, BTreeSet<PartitionKey>> = BTreeMap::new();
    for p in partitions {
        seen.entry(p.key.account.clone())
            .or_default()
            .insert(p.key.clone());
        writer.add(p)?;
    }
    for (account, fetched) in &seen {
        writer.keep_only(account, fetched);
    }
    for u in unreadable {
        for k in writer.keys_of(&u.address) {
            writer.add(Partition::failed(k, u.problem.clone()))?;
        }
    }
    Ok(writer.commit()?.id)
}

fn human(r: &DriftReport, accounts: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Drift check of {} account{}{}.\n",
        accounts,
        if accounts == 1 { "" } else { "s" },
        match r.snapshot {
            Some(id) => format!(", live inventory against snapshot {id}"),
            None =>
                ", no snapshot yet to compare the live inventory with (run `tether sync`)".into(),
        }
    );
    if !r.credentials.is_empty() {
        s.push_str("Credentials that no longer verify as recorded:\n");
        for c in &r.credentials {
            let _ = writeln!(s, "  ! {}: {}", c.address, c.problem);
        }
        s.push('\n');
    }
    if !r.config.is_empty() {
        s.push_str("Configuration differs from state (run `tether plan` for details):\n");
        for c in &r.config {
            let sign = match c.action {
                Action::Create => "+",
                Action::Update => "~",
                Action::Replace => "-/+",
                Action::Delete => "-",
                Action::NoOp => " ",
            };
            let _ = writeln!(s, "  {sign} {} ({})", c.address, action_word(c.action));
            if let Some(e) = &c.endpoint_change {
                let _ = writeln!(
                    s,
                    "      ! security note: its secret would go to {} (apply verified {})",
                    e.to, e.from
                );
            }
        }
        s.push('\n');
    }
    if !r.unreadable.is_empty() {
        s.push_str("Could not be read:\n");
        for u in &r.unreadable {
            let _ = writeln!(s, "  ? {}: {}", u.address, u.problem);
        }
        s.push('\n');
    }
    if let Some(id) = r.snapshot {
        let body = snaprender::diff_human(id, 0, &r.resources);
        let body = body.split_once('\n').map_or("", |(_, rest)| rest);
        if !r.resources.is_empty() || !r.resources.not_compared.is_empty() {
            let _ = writeln!(s, "Resources, snapshot {id} -> live:");
            s.push_str(body.trim_start_matches('\n'));
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s.push('\n');
        }
    }
    if let Some(v) = r.recorded {
        let _ = writeln!(s, "Recorded the live inventory as snapshot {v}.");
    }
    s.push_str(match (r.drift, r.incomplete) {
        (true, true) => "Drift found; the check is also incomplete.\n",
        (true, false) => "Drift found.\n",
        (false, true) => "No drift found in what could be read; the check is incomplete.\n",
        (false, false) => "No drift.\n",
    });
    s
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "to create",
        Action::Update => "to update",
        Action::Replace => "to replace",
        Action::Delete => "to delete",
        Action::NoOp => "no change",
    }
}

fn markdown(r: &DriftReport, budget: usize) -> String {
    let mut head = format!("{MARKER}\n### tether drift\n\n");
    let _ = writeln!(
        head,
        "{}\n",
        match (r.drift, r.incomplete) {
            (true, true) => "**Drift found** (and the check is incomplete).",
            (true, false) => "**Drift found.**",
            (false, true) => "**No drift found** in what could be read; the check is incomplete.",
            (false, false) => "**No drift.**",
        }
    );
    head.push_str("| kind | count |\n|---|---:|\n");
    let _ = writeln!(head, "| credentials | {} |", r.credentials.len());
    let _ = writeln!(head, "| config vs state | {} |", r.config.len());
    let _ = writeln!(head, "| resources added | {} |", r.resources.added.len());
    let _ = writeln!(
        head,
        "| resources changed | {} |",
        r.resources.changed.len()
    );
    let _ = writeln!(
        head,
        "| resources removed | {} |",
        r.resources.removed.len()
    );
    let _ = writeln!(
        head,
        "| not read | {} |\n",
        r.unreadable.len() + r.resources.not_compared.len()
    );
    for c in &r.credentials {
        let _ = writeln!(head, "- :warning: `{}`: {}", c.address, c.problem);
    }
    for c in &r.config {
        let _ = writeln!(head, "- `{}` {}", c.address, action_word(c.action));
        if let Some(e) = &c.endpoint_change {
            let _ = writeln!(
                head,
                "  - :rotating_light: **security note:** its secret would go to {} (apply verified {})",
                e.to, e.from
            );
        }
    }
    for u in &r.unreadable {
        let _ = writeln!(
            head,
            "- :grey_question: `{}` could not be read: {}",
            u.address, u.problem
        );
    }
    if let Some(id) = r.snapshot {
        if !r.resources.is_empty() || !r.resources.not_compared.is_empty() {
            let rest = budget.saturating_sub(head.len());
            let body = snaprender::diff_markdown(id, 0, &r.resources, rest);
            // Drop the diff's own marker and title: this comment has one.
            let body = body.splitn(3, '\n').nth(2).unwrap_or("");
            let _ = write!(head, "\n#### Resources, snapshot `{id}` → live\n{body}");
        }
    }
    head
}
