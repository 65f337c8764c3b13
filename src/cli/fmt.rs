//! `tether fmt`: rewrite config files in canonical format.

use std::path::PathBuf;

use super::{Context, ExitStatus};
use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not write; exit 2 when a file would change.
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of the changes.
    #[arg(long)]
    pub diff: bool,
    /// Files to format (default: every *.hcl file of the config dir).
    pub files: Vec<PathBuf>,
}

pub fn run(_ctx: &Context, _args: Args) -> Result<ExitStatus, Error> {
    Err(Error::Usage("fmt: not yet".into()))
}
