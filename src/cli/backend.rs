//! `tether backend migrate --to pg|local`: moves state, snapshots and the
//! audit log between the config's two backends (`ops::migrate`), then says
//! what to change in the config.

use super::{Context, ExitStatus};
use crate::config::{self, BackendKind};
use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: BackendCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BackendCommand {
    /// Copy state (lineage and serial kept), every snapshot version and the
    /// audit log into the other backend, verified; the source is left as it is.
    Migrate {
        /// The backend to copy into.
        #[arg(long, value_enum)]
        to: Target,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Pg,
    Local,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus, Error> {
    let cfg = config::load(&ctx.dir)?;
    let BackendCommand::Migrate { to } = args.command;
    let to = match to {
        Target::Pg => BackendKind::Pg,
        Target::Local => BackendKind::Local,
    };
    let m = crate::ops::migrate::migrate(&ctx.dir, &cfg.settings, to, ctx.lock_timeout)?;
    let state = match (&m.state, m.state_copied) {
        (Some((serial, lineage)), true) => format!("state serial {serial} (lineage {lineage})"),
        (Some((serial, _)), false) => format!("state serial {serial} (already there)"),
        (None, _) => "no state (there was none)".to_string(),
    };
    let mut out = format!(
        "Migrated {} to {}:\n  {state}\n  {} snapshot version{} ({} copied, {} already there)\n  {} audit line{}{}\n",
        m.from,
        m.to,
        m.versions,
        if m.versions == 1 { "" } else { "s" },
        m.versions_copied,
        m.versions - m.versions_copied,
        m.audit_lines,
        if m.audit_lines == 1 { "" } else { "s" },
        if m.audit_copied || m.audit_lines == 0 {
            ""
        } else {
            " (already there)"
        },
    );
    if m.drift_record {
        out.push_str(if m.drift_copied {
            "  the last drift record (`drift --since-last`) copied\n"
        } else {
            "  the last drift record (`drift --since-last`) already there\n"
        });
    }
    out.push_str(&format!(
        "Verified: both sides hold the same bytes (digest {}).\n",
        &m.digest[..16]
    ));
    let now = cfg.settings.backend;
    match (to, now) {
        (BackendKind::Pg, BackendKind::Local) => out.push_str(&format!(
            "Next: set `backend = \"pg\"` in the `tether` block{}; runners then need TETHER_PG_CONN_STR \
             (or the PG* variables). The local files are unchanged: remove them from the repository \
             once every runner uses pg.\n",
            pg_names(&cfg.settings)
        )),
        (BackendKind::Local, BackendKind::Pg) => out.push_str(
            "Next: set `backend = \"local\"` in the `tether` block (or remove the line, and \
             `pg_schema` and `workspace` with it). The workspace in PostgreSQL is unchanged.\n",
        ),
        _ => out.push_str(&format!(
            "The config already selects `backend = \"{}\"`.\n",
            to.as_str()
        )),
    }
    ctx.printer.out(&out);
    Ok(ExitStatus::Success)
}

fn pg_names(s: &config::Settings) -> String {
    let mut v = Vec::new();
    if s.pg_schema != config::DEFAULT_PG_SCHEMA {
        v.push(format!("`pg_schema = \"{}\"`", s.pg_schema));
    }
    if s.workspace != config::DEFAULT_WORKSPACE {
        v.push(format!("`workspace = \"{}\"`", s.workspace));
    }
    if v.is_empty() {
        String::new()
    } else {
        format!(" (with {})", v.join(" and "))
    }
}
