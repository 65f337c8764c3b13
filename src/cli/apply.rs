//! `tether apply [PLANFILE]`: perform a plan, verifying each account with its
//! vendor and recording it in state as soon as it succeeds (the workflow is
//! [`crate::ops::apply::perform`]).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use super::progress::Progress;
use super::{Context, ExitStatus};
use crate::config;
use crate::error::{Error, Result};
use crate::ops::apply::saved::{check_binding, prove, read_plan};
use crate::ops::apply::{self as ops_apply, Event, Held, Outcome};
use crate::plan::{self, PlanOptions};
use crate::render::plan as render;
use crate::secrets::identity;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan saved with `tether plan --out FILE`; without one, plan now and ask.
    pub planfile: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Vendor requests in flight at once: accounts verified at once (one
    /// request at a time each), then the requests of apply's sync (default:
    /// `parallelism` in the settings).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: Option<u32>,
    /// Do not sync the changed accounts into a new snapshot afterwards.
    #[arg(long)]
    pub no_sync: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let config = config::load(&ctx.dir)?;
    let at = crate::ops::stores::locate(&ctx.dir, &config.settings)?;
    // The lock is held from before the state is read until the last account is recorded.
    let guard = at.store.lock("apply", ctx.lock_timeout)?;
    let state = at.store.read()?;
    let identities = identity::discover_optional(&ctx.identities, &ctx.dir)?;
    // Every secret is read once: the plan is made (or a saved plan checked)
    // against exactly the ciphertexts that are then applied.
    let ciphertexts = Arc::new(plan::Ciphertexts::read(&config)?);
    let snapshots = crate::ops::stores::snapshots(&ctx.dir, &config.settings)?;
    let plan = match &args.planfile {
        Some(file) => {
            let path = ctx.dir.join(file);
            let saved = read_plan(&path)?;
            check_binding(&path, &saved, &config, state.as_ref(), &ciphertexts)?;
            prove(
                &path,
                saved,
                &config,
                state.as_ref(),
                identities.as_ref(),
                &ciphertexts,
                snapshots.latest()?,
            )?
        }
        None => {
            let plan = plan::build_with(
                &config,
                state.as_ref(),
                &PlanOptions::default(),
                identities.as_ref(),
                &ciphertexts,
            )?;
            ctx.printer
                .out(&render::human(&plan, ctx.printer.color_out));
            if plan.has_changes() && !args.auto_approve {
                confirm(ctx)?;
            }
            plan
        }
    };
    if !plan.has_changes() {
        if args.planfile.is_some() {
            ctx.printer.out("No changes. Nothing to apply.\n");
        }
        return Ok(ExitStatus::Success);
    }

    let opts = ops_apply::Options {
        // One meaning everywhere: vendor requests in flight. Verifying an
        // account is one request at a time; apply's sync keeps the bound.
        parallelism: args
            .parallelism
            .unwrap_or(config.settings.parallelism)
            .max(1),
        sync: !args.no_sync,
    };
    // Creating or updating decrypts secrets: without an identity, the error
    // says where identities were looked for.
    let identities = match identities {
        None if ops_apply::verifies(&plan) => Some(identity::discover(&ctx.identities, &ctx.dir)?),
        ids => ids,
    };
    // Every lock this apply needs is taken before its first change: the
    // snapshot store's (renames, the sync afterwards) as well as the state's.
    let snap_guard = if ops_apply::writes_snapshots(&plan, &opts) {
        Some(snapshots.lock("apply", ctx.lock_timeout)?)
    } else {
        None
    };
    let printer = &ctx.printer;
    let show = |event: Event<'_>| match event {
        Event::Renamed { version, renamed } => {
            let names: Vec<String> = renamed.iter().map(|(f, t)| format!("{f} -> {t}")).collect();
            printer.out(&format!(
                "Snapshot {version}: renamed accounts carried over ({}).\n",
                names.join(", ")
            ));
        }
        Event::Ended { entries, state } => {
            let mut text = String::new();
            for (c, o) in entries {
                text.push_str(&crate::render::apply::line(c, o, state));
            }
            printer.out(&text);
        }
        Event::Interrupted => printer.err(
            "Interrupted: the accounts in progress finish and are recorded; nothing new starts.\n",
        ),
        Event::Syncing => printer.out("\n"),
    };
    let applied = ops_apply::perform(
        config,
        &plan,
        state,
        &Held {
            state: &at.store,
            state_guard: &guard,
            snapshots: &snapshots,
            snapshot_guard: snap_guard.as_ref(),
        },
        identities,
        ciphertexts,
        &ctx.trust,
        opts,
        &show,
        &Progress::new("sync"),
    )?;
    let report = applied.report;
    let mut incomplete = false;
    if let Some(synced) = &applied.synced {
        ctx.printer.out(&crate::render::sync::sync(
            synced,
            crate::render::sync::Detail::Summary,
        ));
        incomplete = synced.incomplete();
    }
    if !applied.findings.is_empty() {
        let mut text = String::from("\n");
        crate::render::findings::human(&mut text, ctx.printer.color_out, &applied.findings);
        ctx.printer.out(text.trim_end_matches('\n'));
        ctx.printer.out("\n");
    }
    let done = report.count(|o| *o == Outcome::Done);
    let failed = report.count(|o| matches!(o, Outcome::Failed(_)));
    let skipped = report.count(|o| matches!(o, Outcome::Skipped(_)));
    let not_started = report.count(|o| *o == Outcome::NotStarted);
    if report.failed() {
        ctx.printer.out(&format!(
            "\nApply incomplete: {done} succeeded, {failed} failed, {skipped} skipped, {not_started} not started. Every succeeded account is recorded; run `tether plan` to see what remains.\n"
        ));
        Ok(ExitStatus::Error)
    } else {
        ctx.printer
            .out(&format!("\nApply complete: {done} succeeded.\n"));
        Ok(if incomplete {
            ExitStatus::Incomplete
        } else {
            ExitStatus::Success
        })
    }
}

fn confirm(ctx: &Context) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "apply needs confirmation and there is no terminal: pass --auto-approve, or apply a saved plan (`tether plan --out plan.json`, then `tether apply plan.json`)".into(),
        ));
    }
    ctx.printer.out("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("stdin", e))?;
    if answer.trim() != "yes" {
        return Err(Error::Usage("apply cancelled".into()));
    }
    Ok(())
}
