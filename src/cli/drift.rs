//! `tether drift [ADDR…]`: read-only (the workflow is
//! [`crate::ops::drift::check`]); writes nothing unless `--record`, which
//! saves the fetched inventory as a new snapshot version.
//!
//! Exit codes with `--detailed-exitcode`: 2 when drift is found (even if
//! part of the inventory could not be read: what was found is certain),
//! 3 when nothing drifted but something could not be read, 0 otherwise.

use std::fmt::Write as _;

use super::progress::Progress;
use super::{Context, ExitStatus};
use crate::config;
use crate::error::{Error, Result};
use crate::ops::drift::DriftReport;
use crate::plan::Action;
use crate::secrets::identity;
use crate::snapshot::render as snaprender;

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

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let config = config::load(&ctx.dir)?;
    let at = crate::ops::stores::locate(&ctx.dir, &config.settings);
    let state = at.store.read()?.unwrap_or_else(crate::state::new_state);
    let accounts = crate::ops::sync::select(&state, &args.addresses)?;
    let ids = identity::discover(&ctx.identities, &ctx.dir)?;
    let parallelism = args.parallelism.unwrap_or(config.settings.parallelism);
    let store = crate::ops::stores::snapshots(&ctx.dir, &config.settings);
    let report = crate::ops::drift::check(
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
    Ok(
        match (args.detailed_exitcode, report.drift, report.incomplete) {
            (false, _, _) => ExitStatus::Success,
            (true, true, _) => ExitStatus::Changes,
            (true, false, true) => ExitStatus::Incomplete,
            (true, false, false) => ExitStatus::Success,
        },
    )
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
