//! `tether init`: write a starter tether.hcl, never over an existing one.

use super::{Context, ExitStatus};
use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_ctx: &Context, _args: Args) -> Result<ExitStatus, Error> {
    Err(Error::Usage("init: not yet".into()))
}
