//! JSON output documents of `validate` and `state show` (their schemas are
//! in `schemas/`); the other commands' documents live beside their renderings.

use serde::Serialize;

use crate::config::{Config, DiagnosticJson};
use crate::state::{LastSync, VerifiedIdentity};

/// Version of the `validate --format json` document.
pub const VALIDATE_FORMAT_VERSION: &str = "1";

/// `tether validate --format json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ValidateJson {
    pub format_version: String,
    pub valid: bool,
    pub error_count: usize,
    pub warning_count: usize,
    pub diagnostics: Vec<DiagnosticJson>,
    /// The validated config, when valid (see config.schema.json).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Config>,
}

/// `state show --format json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StateShowJson {
    /// `"1"`: a string, as in every JSON output document tether prints.
    pub format_version: &'static str,
    pub address: String,
    pub vendor: String,
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
    /// The secret attribute's name; its value is never shown.
    pub secret: SensitiveJson,
    pub identity: VerifiedIdentity,
    pub regions: Vec<String>,
    pub depends_on: Vec<String>,
    pub applied_at: String,
    pub last_sync: Option<LastSync>,
    /// The state's serial and lineage, as read.
    pub serial: u64,
    pub lineage: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SensitiveJson {
    pub attribute: String,
    pub sensitive: bool,
}

/// `state history --format json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StateHistoryJson {
    pub format_version: &'static str,
    /// The state file, or `pg:<schema>/<workspace>`.
    pub state: String,
    /// Oldest first.
    pub versions: Vec<crate::state::HistoryRow>,
}

/// `state history`: one line per serial kept, oldest first.
pub fn state_history_human(rows: &[crate::state::HistoryRow]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "SERIAL  WRITTEN               BY                        OPERATION       SHA-256"
    );
    for r in rows {
        let by = if r.who.is_empty() {
            "-"
        } else {
            r.who.as_str()
        };
        let op = if r.operation.is_empty() {
            "-"
        } else {
            r.operation.as_str()
        };
        let _ = writeln!(
            out,
            "{:<7} {:<21} {:<25} {:<15} {}",
            r.serial,
            if r.written_at.is_empty() {
                "-"
            } else {
                r.written_at.as_str()
            },
            by,
            op,
            &r.sha256[..r.sha256.len().min(12)]
        );
    }
    if let Some(last) = rows.last() {
        let _ = writeln!(out, "lineage {}", last.lineage);
    }
    out
}
