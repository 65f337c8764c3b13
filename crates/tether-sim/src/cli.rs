//! The `tether-sim` command line: build the world (file or seed), optionally
//! write a ready tether config for it, start, print the one JSON line, serve
//! until SIGINT/SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::server::{Options, Sim};
use crate::world::{World, WorldSpec};

/// A local, wire-faithful simulator of AWS, Alibaba Cloud, Azure and HCS.
#[derive(Debug, Parser)]
#[command(name = "tether-sim", version, about, long_about = None, max_term_width = 100)]
pub struct Args {
    /// Load the world from a JSON file instead of generating it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["accounts", "resources"])]
    pub world: Option<PathBuf>,
    /// Seed of the generated world.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Accounts per vendor.
    #[arg(long, default_value_t = 2)]
    pub accounts: usize,
    /// Resources per account, spread over regions and types.
    #[arg(long, default_value_t = 20)]
    pub resources: usize,
    /// Organization members: with N > 0 the first AWS account manages an
    /// organization of N more accounts, reached only through its role (and
    /// the first Alibaba account a resource directory of N more); the
    /// first Azure tenant gets N more subscriptions under management groups
    /// and the first HCS account N more projects under VDCs.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub org_members: usize,
    /// Organizational units (Alibaba folders, Azure management groups, HCS
    /// VDCs) the members are spread over (round-robin).
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub org_units: usize,
    /// Address of the admin listener; the vendors listen on the next four
    /// ports (with port 0, every listener takes a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Write a tether config directory for this world into DIR.
    #[arg(long, value_name = "DIR", requires = "recipient")]
    pub write_config: Option<PathBuf>,
    /// age recipient the written secrets are encrypted to (repeatable).
    #[arg(long, value_name = "R")]
    pub recipient: Vec<String>,
    /// Accept signatures whatever their time (for fixed-time test vectors).
    #[arg(long)]
    pub no_clock_check: bool,
    /// Lifetime of Azure access tokens, in seconds.
    #[arg(long, default_value_t = 3599)]
    pub azure_token_ttl: i64,
    /// The longest an AWS or Alibaba AssumeRole session lives, in seconds.
    #[arg(long, default_value_t = 43_200)]
    pub session_ttl: i64,
    /// Runtime worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
}

/// Entry point of `tether-sim`.
pub fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let world = match &args.world {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let spec: WorldSpec = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            World::from_spec(&spec)?
        }
        None => World::generate_org(
            args.seed,
            args.accounts,
            args.resources,
            args.org_members,
            args.org_units,
        ),
    };
    let options = Options {
        listen: args.listen,
        check_clock: !args.no_clock_check,
        azure_token_ttl: args.azure_token_ttl,
        session_ttl: args.session_ttl,
        workers: args.workers,
        ..Options::default()
    };
    let sim = Sim::start(world, options)?;
    let summary = sim.summary();
    if let Some(dir) = &args.write_config {
        crate::config_writer::write(dir, &args.recipient, &summary)?;
    }
    let line = serde_json::to_string(&summary)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    drop(line);
    wait_for_signal()?;
    sim.stop();
    Ok(())
}

fn wait_for_signal() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
