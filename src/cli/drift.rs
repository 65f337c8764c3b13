//! `tether drift [ADDR…]`: read-only (the workflow is
//! [`crate::ops::drift::check`]); writes nothing unless `--record`, which
//! saves the fetched inventory as a new snapshot version.
//!
//! Exit codes with `--detailed-exitcode`: 2 when drift is found (even if
//! part of the inventory could not be read: what was found is certain;
//! with `--since-last`, only drift that is new since the last run), 3 when
//! nothing drifted but something could not be read, 0 otherwise.

use super::progress::Progress;
use super::{Context, ExitStatus};
use crate::config;
use crate::error::{Error, Result};
use crate::render::drift::{human, markdown};
use crate::secrets::identity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftFormat {
    Human,
    Json,
    Markdown,
    /// One self-contained HTML file (no request leaves it).
    Html,
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
    /// Exit 2 when there is any credential finding (a root key, a key
    /// older than `max_key_age`, a secret expiring within
    /// `secret_expiry_warning`, a check the key may not make), drift or not.
    #[arg(long)]
    pub fail_on_findings: bool,
    /// Save the fetched inventory as a new snapshot version.
    #[arg(long)]
    pub record: bool,
    /// Compare the findings with the last `--since-last` run's (new, still
    /// present, resolved), then record this run as the last; with
    /// `--detailed-exitcode`, exit 2 only for new drift.
    #[arg(long)]
    pub since_last: bool,
    /// Requests in flight at once (default: `parallelism` in the settings).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: Option<u32>,
    /// Size budget of the markdown form, in characters.
    #[arg(long, default_value_t = 60_000)]
    pub budget: usize,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let config = config::load(&ctx.dir)?;
    let at = crate::ops::stores::locate(&ctx.dir, &config.settings)?;
    let state = at.store.read()?.unwrap_or_else(crate::state::new_state);
    let accounts = crate::ops::sync::select(&state, &args.addresses)?;
    let ids = identity::discover(&ctx.identities, &ctx.dir)?;
    let parallelism = args.parallelism.unwrap_or(config.settings.parallelism);
    let store = crate::ops::stores::snapshots(&ctx.dir, &config.settings)?;
    let history = if args.since_last {
        let h = crate::ops::since::History::open(&ctx.dir, &config.settings)?;
        // A damaged record fails the run before any vendor is asked.
        let last = h.load()?;
        Some((h, last))
    } else {
        None
    };
    let mut report = crate::ops::drift::check(
        &config,
        &state,
        &accounts,
        !args.addresses.is_empty(),
        &ids,
        &ctx.trust,
        &store,
        args.record.then_some(ctx.lock_timeout),
        parallelism,
        &Progress::new("drift"),
    )?;
    if let Some((h, last)) = history {
        report.since_last(&h, last, &accounts, !args.addresses.is_empty())?;
    }
    ctx.printer.out(&match args.format {
        DriftFormat::Human => human(&report, accounts.len()),
        DriftFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Usage(format!("cannot encode the report: {e}")))?;
            s.push('\n');
            s
        }
        DriftFormat::Markdown => markdown(&report, args.budget),
        DriftFormat::Html => crate::render::html::drift(&report, accounts.len()),
    });
    if args.fail_on_findings && !report.findings.is_empty() {
        return Ok(ExitStatus::Changes);
    }
    Ok(
        match (
            args.detailed_exitcode,
            report.exit_drift(),
            report.incomplete,
        ) {
            (false, _, _) => ExitStatus::Success,
            (true, true, _) => ExitStatus::Changes,
            (true, false, true) => ExitStatus::Incomplete,
            (true, false, false) => ExitStatus::Success,
        },
    )
}
