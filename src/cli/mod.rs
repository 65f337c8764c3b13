//! Command line: clap arguments (raw), the resolved context, one file per
//! command, and the one printer that owns all output.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::Error;

mod apply;
mod backend;
mod completions;
mod discover;
pub mod drift;
mod fmt;
mod force_unlock;
mod graph;
mod init;
mod log;
mod man;
mod plan;
pub mod printer;
mod progress;
mod secrets;
pub mod snapshot;
pub mod state;
mod sync;
mod validate;

pub use printer::Printer;

/// Cloud-vendor accounts as code.
#[derive(Debug, Parser)]
#[command(name = "tether", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Run as if started in DIR (the config directory).
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Never colour the output (also: NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// age identity file to decrypt secrets with (repeatable); overrides
    /// TETHER_AGE_IDENTITY, TETHER_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY.
    #[arg(long = "identity", global = true, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// How long to wait for the state lock held by another run (e.g. 30s, 2m);
    /// after it, exit 4.
    #[arg(long, global = true, value_name = "DURATION", default_value = "0s", value_parser = state::parse_duration)]
    pub lock_timeout: std::time::Duration,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter tether.hcl.
    Init(init::Args),
    /// Check the configuration without network or identity.
    Validate(validate::Args),
    /// Rewrite config files in canonical format.
    Fmt(fmt::Args),
    /// Print the account dependency graph as DOT.
    Graph(graph::Args),
    /// Show what apply would change: config against state.
    Plan(plan::Args),
    /// Perform a plan: verify each account with its vendor and record it in state.
    Apply(apply::Args),
    /// Encrypt, set and re-encrypt secrets; make an age identity.
    Secrets(secrets::Args),
    /// List the resources of the accounts in state into a new snapshot version.
    Sync(sync::Args),
    /// Read-only: verify credentials, compare live inventory with the latest snapshot and config with state.
    Drift(drift::Args),
    /// Read-only: list the members of main accounts (AWS Organizations, Alibaba Resource Directory) and write HCL for the undeclared ones.
    Discover(discover::Args),
    /// Inspect and edit the state.
    State(state::Args),
    /// Browse and compare snapshot versions.
    Snapshot(snapshot::Args),
    /// Remove a state lock left by a run that died.
    ForceUnlock(force_unlock::Args),
    /// Move state, snapshots and the audit log between the local and pg backends.
    Backend(backend::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::Args),
    /// Print the man page, or write one page per command with --out-dir.
    Man(man::Args),
}

/// Output format of commands that offer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// The exit codes of docs/design.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    Error = 1,
    Changes = 2,
    Incomplete = 3,
    Locked = 4,
    StalePlan = 5,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s as u8)
    }
}

/// What every command gets: where the config is and how to print.
pub struct Context {
    pub dir: PathBuf,
    pub printer: Printer,
    /// `--identity` files, as given (relative to `dir`).
    pub identities: Vec<PathBuf>,
    /// `--lock-timeout`: how long to wait for the state lock.
    pub lock_timeout: std::time::Duration,
    /// Hosts trusted outside the repository for secrets apply did not seal
    /// (`TETHER_TRUSTED_ENDPOINTS`); never read from the config.
    pub trust: crate::trust::Trust,
}

/// Entry point of the binary: the only place that turns results into exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; any usage error is bad input (1),
            // never clap's 2, which means "changes present" here.
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    ExitCode::SUCCESS
                }
                _ => ExitStatus::Error.into(),
            };
        }
    };
    log::init();
    let printer = Printer::new(cli.no_color);
    // A lock a dead run left is taken over with a warning, whichever command takes it.
    let warn = Printer {
        color_out: false,
        color_err: printer.color_err,
    };
    crate::state::lock::set_takeover_reporter(Box::new(move |path, of, info| {
        warn.err(&warn.lock_takeover(path, of, info));
    }));
    let ctx = Context {
        dir: cli.chdir.clone().unwrap_or_else(|| PathBuf::from(".")),
        printer,
        identities: cli.identity.clone(),
        lock_timeout: cli.lock_timeout,
        trust: crate::trust::Trust::from_env(),
    };
    match run(&ctx, cli.command) {
        Ok(status) => status.into(),
        Err(e) => {
            ctx.printer.error(&e);
            match e {
                Error::Locked { .. } => ExitStatus::Locked.into(),
                Error::StalePlan { .. } => ExitStatus::StalePlan.into(),
                _ => ExitStatus::Error.into(),
            }
        }
    }
}

fn run(ctx: &Context, command: Command) -> Result<ExitStatus, Error> {
    if !ctx.dir.is_dir() {
        return Err(Error::Usage(format!(
            "config directory {} does not exist or is not a directory",
            ctx.dir.display()
        )));
    }
    match command {
        Command::Init(args) => init::run(ctx, args),
        Command::Validate(args) => validate::run(ctx, args),
        Command::Fmt(args) => fmt::run(ctx, args),
        Command::Graph(args) => graph::run(ctx, args),
        Command::Plan(args) => plan::run(ctx, args),
        Command::Apply(args) => apply::run(ctx, args),
        Command::Secrets(args) => secrets::run(ctx, args),
        Command::Sync(args) => sync::run(ctx, args),
        Command::Drift(args) => drift::run(ctx, args),
        Command::Discover(args) => discover::run(ctx, args),
        Command::State(args) => state::run(ctx, args),
        Command::Snapshot(args) => snapshot::run(ctx, args),
        Command::ForceUnlock(args) => force_unlock::run(ctx, args),
        Command::Backend(args) => backend::run(ctx, args),
        Command::Completions(args) => completions::run(ctx, args),
        Command::Man(args) => man::run(ctx, args),
    }
}
