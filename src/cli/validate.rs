//! `tether validate`: parse and check the config; no network, no identity.

use super::{Context, ExitStatus, Format};
use crate::config::{self, DiagnosticJson};
use crate::error::Error;
use crate::render::documents::{VALIDATE_FORMAT_VERSION, ValidateJson};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus, Error> {
    let a = config::analyze(&ctx.dir)?;
    let valid = !a.diagnostics.has_errors();
    match args.format {
        Format::Json => {
            let doc = ValidateJson {
                format_version: VALIDATE_FORMAT_VERSION.into(),
                valid,
                error_count: a.diagnostics.error_count(),
                warning_count: a.diagnostics.warning_count(),
                diagnostics: a
                    .diagnostics
                    .iter()
                    .map(|d| DiagnosticJson::new(d, &a.sources))
                    .collect(),
                config: a.config,
            };
            let mut s = serde_json::to_string_pretty(&doc).expect("validate JSON serializes");
            s.push('\n');
            ctx.printer.out(&s);
        }
        Format::Human => {
            if !a.diagnostics.is_empty() {
                ctx.printer.err(&ctx.printer.diagnostics(
                    &a.sources,
                    &a.diagnostics,
                    ctx.printer.color_err,
                ));
            }
            if let (true, Some(c)) = (valid, &a.config) {
                let rules = match c.ignore.len() {
                    0 => String::new(),
                    1 => " and 1 ignore rule".to_string(),
                    n => format!(" and {n} ignore rules"),
                };
                ctx.printer.out(&format!(
                    "The configuration is valid: {} account{}{rules} in {} file{}.\n",
                    c.accounts.len(),
                    if c.accounts.len() == 1 { "" } else { "s" },
                    a.sources.len(),
                    if a.sources.len() == 1 { "" } else { "s" },
                ));
            }
        }
    }
    Ok(if valid {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}
