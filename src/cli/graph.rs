//! `tether graph`: the account dependency graph as DOT.

use super::{Context, ExitStatus};
use crate::config;
use crate::config::graph::AccountGraph;
use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &Context, _args: Args) -> Result<ExitStatus, Error> {
    let c = config::load(&ctx.dir)?;
    let g = AccountGraph::from_config(&c);
    ctx.printer.out(&g.to_dot(|a| a.vendor.title()));
    Ok(ExitStatus::Success)
}
