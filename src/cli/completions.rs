//! `tether completions SHELL`: a completion script generated from the clap
//! definitions, so it never falls behind the commands.

use clap::CommandFactory;

use super::{Cli, Context, ExitStatus};
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "tether", &mut buf);
    ctx.printer.out(&String::from_utf8_lossy(&buf));
    Ok(ExitStatus::Success)
}
