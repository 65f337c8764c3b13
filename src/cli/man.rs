//! `tether man [--out-dir DIR]`: man pages generated from the clap
//! definitions: `tether(1)` on stdout, or one page per command in a directory
//! (`tether.1`, `tether-plan.1`, `tether-state-mv.1`, …).

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::{Cli, Context, ExitStatus};
use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write every page into DIR instead of printing `tether(1)`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let cmd = Cli::command();
    match args.out_dir {
        None => ctx.printer.out(&render(&cmd)?),
        Some(dir) => {
            let dir = ctx.dir.join(dir);
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let mut written = Vec::new();
            write_all(&dir, cmd, "tether", &mut written)?;
            for p in &written {
                ctx.printer.out(&format!("{}\n", p.display()));
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn render(cmd: &clap::Command) -> Result<String> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .map_err(|e| Error::Usage(format!("cannot render the man page: {e}")))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Writes `name.1` for `cmd` and, under `name-<sub>`, every subcommand's page.
fn write_all(dir: &Path, cmd: clap::Command, name: &str, written: &mut Vec<PathBuf>) -> Result<()> {
    let cmd = cmd.name(name.to_string());
    let path = dir.join(format!("{name}.1"));
    // Documentation to install for every user: the one file tether writes readable by all.
    crate::fsutil::write_atomic(&path, render(&cmd)?.as_bytes(), Some(0o644))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let sub_name = format!("{name}-{}", sub.get_name());
        write_all(dir, sub.clone(), &sub_name, written)?;
    }
    Ok(())
}
