//! `tether fmt`: rewrite config files in canonical format.

use std::path::PathBuf;

use super::{Context, ExitStatus};
use crate::config::files;
use crate::error::Error;
use crate::fmt::format_text;
use crate::fsutil::{file_mode, write_atomic};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not write; exit 2 when a file would change.
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of the changes.
    #[arg(long)]
    pub diff: bool,
    /// Files to format, relative to the config dir (default: its *.hcl files).
    pub files: Vec<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus, Error> {
    let paths = if args.files.is_empty() {
        files::list(&ctx.dir)?
    } else {
        args.files.iter().map(|f| ctx.dir.join(f)).collect()
    };
    let mut failed = false;
    let mut changed = false;
    for path in paths {
        let name = files::display_name(&ctx.dir, &path);
        let source = files::read_file(&ctx.dir, &path)?;
        if let Some((_, problem)) = &source.problem {
            ctx.printer.err(&format!("error: {name}: {problem}\n"));
            failed = true;
            continue;
        }
        let formatted = match format_text(&source.text) {
            Ok(f) => f,
            Err(e) => {
                ctx.printer.err(&format!("error: {name}:{e}\n"));
                failed = true;
                continue;
            }
        };
        if formatted == source.text {
            continue;
        }
        changed = true;
        ctx.printer.out(&format!("{name}\n"));
        if args.diff {
            let diff = similar::TextDiff::from_lines(&source.text, &formatted);
            ctx.printer.out(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{name}"), &format!("b/{name}"))
                    .to_string(),
            );
        }
        if !args.check {
            write_atomic(&path, formatted.as_bytes(), file_mode(&path))?;
        }
    }
    Ok(if failed {
        ExitStatus::Error
    } else if changed && args.check {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
