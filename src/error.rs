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
    /// The plan cannot be made for one account.
    #[error("`{address}`: {message}")]
    Plan { address: String, message: String },
    /// No identity source is set and the SOPS default `keys.txt` does not exist.
    #[error("no age identity found to decrypt secrets (looked at {})", .searched.join(", "))]
    NoIdentity { searched: Vec<String> },
    /// An identity source is set but cannot be used; `origin` names the source.
    #[error("age identity from {origin}: {reason}")]
    Identity { origin: String, reason: String },
    /// A recipient string does not parse. `location` is `file:line:col` when it comes from a file.
    #[error("{}recipient \"{recipient}\": {reason}", .location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
    Recipient {
        recipient: String,
        location: Option<String>,
        reason: String,
    },
    /// There is no recipient to encrypt to.
    #[error("no recipients to encrypt to: {hint}")]
    NoRecipients { hint: String },
    /// One secret could not be read, decrypted or encrypted.
    #[error("{location}: `{attribute}` of `{address}`: {reason}")]
    Secret {
        address: String,
        attribute: String,
        /// `file:line:col` of the attribute's value (or the state file).
        location: String,
        reason: String,
    },
    /// A config file cannot be edited in place (`secrets set`).
    #[error("{location}: {reason}")]
    Edit { location: String, reason: String },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
