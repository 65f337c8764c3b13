//! `tether discover [ADDR…] [--out FILE] [--format human|json]`: read-only
//! (the workflow is [`crate::ops::discover`]). With `--out`, HCL for the
//! undeclared members is written to a new file, never over an existing
//! one, and is checked first: the config with it added must validate.
//!
//! Exit codes: 0; 3 when a main account's members could not be listed
//! (what was listed is shown); 1 on bad input, or when `--out` names a
//! file that exists.

use std::io::Write;
use std::path::PathBuf;

use super::{Context, ExitStatus, Format};
use crate::config;
use crate::error::{Error, Result};
use crate::secrets::identity;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Main accounts to ask (default: every applied account that is not a
    /// member; those that manage no organization are listed as such).
    #[arg(value_name = "ADDR")]
    pub addresses: Vec<String>,
    /// Write HCL declaring the undeclared members to FILE (a new file;
    /// an existing one is never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Requests in flight at once (default: `parallelism` in the settings).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: Option<u32>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus> {
    let config = config::load(&ctx.dir)?;
    // Relative to the config directory, as every path tether takes.
    let out_path = args.out.as_ref().map(|o| ctx.dir.join(o));
    if let (Some(out), Some(path)) = (&args.out, &out_path) {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(Error::Usage(format!(
                "`{}` exists: discover writes a new file and never overwrites one",
                out.display()
            )));
        }
    }
    let at = crate::ops::stores::locate(&ctx.dir, &config.settings)?;
    let state = at.store.read()?.unwrap_or_else(crate::state::new_state);
    let mains = crate::ops::discover::mains(&state, &args.addresses)?;
    let ids = identity::discover(&ctx.identities, &ctx.dir)?;
    let parallelism = args.parallelism.unwrap_or(config.settings.parallelism);
    let report = crate::ops::discover::run(
        &config,
        &state,
        &mains,
        !args.addresses.is_empty(),
        &ids,
        &ctx.trust,
        parallelism,
    )?;
    let mut written = None;
    if let (Some(out), Some(path)) = (&args.out, &out_path) {
        let taken = config.accounts.keys().cloned().collect();
        let hcl = crate::org::hcl_for(&report.organizations, &taken);
        let n = report
            .organizations
            .iter()
            .map(|c| c.undeclared.len())
            .sum::<usize>();
        if n > 0 {
            check_with(&ctx.dir, path, &hcl)?;
            write_new(path, &hcl)?;
            written = Some((out.clone(), n));
        }
    }
    ctx.printer.out(&match args.format {
        Format::Human => crate::render::discover::human(&report, written.as_ref()),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Usage(format!("cannot encode the report: {e}")))?;
            s.push('\n');
            s
        }
    });
    Ok(if report.failed.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Incomplete
    })
}

/// The generated HCL must be what `tether fmt` writes, and the config with
/// it added as one more file must validate (with `out`'s name, so a
/// diagnostic points at it): checked before anything is written.
fn check_with(dir: &std::path::Path, out: &std::path::Path, hcl: &str) -> Result<()> {
    let formatted = crate::fmt::format_text(hcl)
        .map_err(|e| Error::Usage(format!("the generated HCL does not parse: {e}")))?;
    if formatted != hcl {
        return Err(Error::Usage(
            "the generated HCL is not in canonical format (a bug: please report it)".into(),
        ));
    }
    let mut sources = config::files::read_dir(dir)?;
    let name = out.file_name().map_or_else(
        || "discovered.hcl".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    sources.add(crate::diag::SourceFile::new(
        name,
        out.to_path_buf(),
        hcl.to_string(),
    ));
    let analysis = config::analyze_sources(dir, sources);
    match analysis.config {
        Some(_) => Ok(()),
        None => Err(Error::Config {
            sources: Box::new(analysis.sources),
            diagnostics: analysis.diagnostics,
        }),
    }
}

/// Writes `text` to `path`, which must not exist (not even as a dangling
/// symlink): `O_CREAT | O_EXCL`.
fn write_new(path: &std::path::Path, text: &str) -> Result<()> {
    let mut f = crate::fsutil::create_new(path).map_err(|e| {
        Error::Usage(format!(
            "cannot create `{}`: {e} (discover never overwrites a file)",
            path.display()
        ))
    })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::Usage(format!("cannot write `{}`: {e}", path.display())))
}
