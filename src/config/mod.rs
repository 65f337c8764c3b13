//! Configuration: `*.hcl` files of a directory -> validated [`Config`].
//!
//! Stages: [`files`] reads and decodes the files, [`parse`] turns each into an
//! hcl-edit syntax tree, [`lower`] builds the typed model while collecting
//! diagnostics, and [`check`] runs the cross-account checks (references,
//! cycles). Nothing here touches the network or an identity, and nothing
//! panics on user input.

mod age_header;
mod check;
mod eval;
pub mod files;
pub mod graph;
mod lower;
mod model;
mod suggest;

use std::path::Path;

use rayon::prelude::*;

pub use crate::diag::{
    Diagnostic, DiagnosticJson, Diagnostics, FileId, Pos, RangeJson, SNIPPET_MAX, Severity,
    SnippetJson, SnippetLine, SourceFile, Sources, Span, clip, snippet_line,
};
pub use lower::{check_recipient, is_project_id, is_region, is_role_name, is_uuid};
pub use model::*;
pub use suggest::did_you_mean;

use crate::error::{Error, Result};

/// The age header that starts every binary age file.
pub const AGE_HEADER: &str = "age-encryption.org/v1";
/// The first line of an armored age file.
pub const AGE_ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
pub const AGE_ARMOR_END: &str = "-----END AGE ENCRYPTED FILE-----";

/// Outcome of [`analyze`]: the model when there is no error, and every diagnostic.
pub struct Analysis {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
    pub config: Option<Config>,
}

/// Reads, parses and validates the config directory, collecting every diagnostic.
pub fn analyze(dir: &Path) -> Result<Analysis> {
    let sources = files::read_dir(dir)?;
    Ok(analyze_sources(dir, sources))
}

/// Validates already-read sources.
pub fn analyze_sources(dir: &Path, sources: Sources) -> Analysis {
    let mut diagnostics = Diagnostics::default();
    if sources.is_empty() {
        diagnostics.push(
            Diagnostic::error(format!("no *.hcl files in {}", dir.display()))
                .help("run `tether init` to write a starter tether.hcl"),
        );
        return Analysis {
            sources,
            diagnostics,
            config: None,
        };
    }
    let lowered = lower_all(dir, &sources, lower::Scope::All, &mut diagnostics);
    let config = check::finish(dir, lowered, &sources, &mut diagnostics);
    diagnostics.sort();
    let config = if diagnostics.has_errors() {
        None
    } else {
        config
    };
    Analysis {
        sources,
        diagnostics,
        config,
    }
}

/// Lowers every file, in parallel across cores; results are merged in file
/// order, so the outcome is the same as a sequential run.
fn lower_all(
    dir: &Path,
    sources: &Sources,
    scope: lower::Scope,
    diagnostics: &mut Diagnostics,
) -> lower::Lowered {
    let one = |id: FileId, file: &SourceFile| {
        let mut l = lower::Lowered::default();
        let mut d = Diagnostics::default();
        match files::decode_problem(file, id) {
            Some(p) => d.push(p),
            None => lower::lower_file(dir, id, file, scope, &mut l, &mut d),
        }
        (l, d)
    };
    let files: Vec<(FileId, &SourceFile)> = sources.iter().collect();
    let results: Vec<(lower::Lowered, Diagnostics)> =
        crate::cores::run(|| files.par_iter().map(|(id, f)| one(*id, f)).collect());
    let mut all = lower::Lowered::default();
    for (l, d) in results {
        all.extend(l);
        diagnostics.0.extend(d.0);
    }
    all
}

/// The settings of the config in `dir`, for commands that read nothing else
/// of it (`snapshot list | show | diff | export`): every file is read and
/// parsed, so a file that cannot be read or a syntax error anywhere is still
/// an error, but only the `tether` block is checked; account blocks and
/// their ciphertexts are not (a large config costs its parse, not its
/// validation). Fails with every diagnostic ([`Error::Config`]).
pub fn load_settings(dir: &Path) -> Result<Settings> {
    let sources = files::read_dir(dir)?;
    let mut diagnostics = Diagnostics::default();
    if sources.is_empty() {
        // The same error as every other command's.
        let a = analyze_sources(dir, sources);
        return Err(Error::Config {
            sources: Box::new(a.sources),
            diagnostics: a.diagnostics,
        });
    }
    let lowered = lower_all(dir, &sources, lower::Scope::Settings, &mut diagnostics);
    let settings = check::one_settings(lowered.settings, &sources, &mut diagnostics);
    if diagnostics.has_errors() {
        diagnostics.sort();
        return Err(Error::Config {
            sources: Box::new(sources),
            diagnostics,
        });
    }
    Ok(settings)
}

/// Loads a valid config or fails with every diagnostic ([`Error::Config`]).
pub fn load(dir: &Path) -> Result<Config> {
    let a = analyze(dir)?;
    match a.config {
        Some(mut c) => {
            c.sources = a.sources;
            Ok(c)
        }
        None => Err(Error::Config {
            sources: Box::new(a.sources),
            diagnostics: a.diagnostics,
        }),
    }
}
