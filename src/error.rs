//! The library's error type: typed, with the structured fields a user needs.

use std::path::PathBuf;

use crate::config::{Diagnostics, Sources};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config has problems; each is a diagnostic with its location.
    #[error("the configuration is not valid ({} error(s))", .diagnostics.error_count())]
    Config {
        sources: Box<Sources>,
        diagnostics: Diagnostics,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
