//! The append-only audit log of apply.

use std::path::PathBuf;
use std::sync::Arc;

use super::executor::Outcome;
use crate::clock::rfc3339_now;
use crate::config::Config;
use crate::error::Result;
use crate::pg::Pg;
use crate::plan::{AccountChange, Plan};

/// The SHA-256 of a plan's JSON: what the audit log and the state history
/// name a plan by.
pub fn plan_hash(plan: &Plan) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(plan.to_json().as_bytes()))
}

/// The append-only audit log, `.tether/audit.jsonl` in the config dir: who,
/// when, host, plan hash, each action and its result; a failure's message
/// (`error`, without the address the line names already) with its `kind`,
/// and the vendor's `code` and `request_id` when known. Never a secret:
/// only addresses, actions and the already-scrubbed error texts are written.
pub struct Audit {
    sink: Sink,
    plan_hash: String,
    who: String,
    host: String,
}

/// Where the lines go: `.tether/audit.jsonl`, or the `audit` table of the
/// PostgreSQL workspace (the same fields as columns, and the line itself).
enum Sink {
    File(PathBuf),
    Pg(Arc<Pg>),
}

impl Audit {
    pub fn open(config: &Config, plan: &Plan) -> Result<Audit> {
        let sink = match crate::ops::stores::backend(&config.settings)? {
            None => Sink::File(crate::ops::stores::local_audit(&config.dir)),
            Some(pg) => Sink::Pg(pg),
        };
        Ok(Audit {
            sink,
            plan_hash: plan_hash(plan),
            who: crate::state::lock::user_name(),
            host: crate::state::lock::hostname(),
        })
    }

    /// The SHA-256 of the plan's JSON, as every line names it.
    pub fn plan_hash(&self) -> &str {
        &self.plan_hash
    }

    /// Appends one line per account, with one write and one sync for the batch.
    pub fn append(&self, entries: &[(&AccountChange, &Outcome)]) {
        let mut lines = Vec::with_capacity(entries.len());
        for (c, outcome) in entries {
            let (result, error, problem) = match outcome {
                Outcome::Done => ("ok", None, None),
                Outcome::Failed(p) => ("failed", Some(p.message.clone()), Some(p)),
                Outcome::Skipped(after) => {
                    ("skipped", Some(format!("`{after}` did not complete")), None)
                }
                Outcome::NotStarted => ("not-started", None, None),
            };
            let mut entry = serde_json::json!({
                "time": rfc3339_now(),
                "who": self.who,
                "host": self.host,
                "operation": "apply",
                "plan_hash": self.plan_hash,
                "address": c.address.to_string(),
                "action": c.action,
                "result": result,
                "error": error,
            });
            if let Some(p) = problem {
                for (key, value) in [
                    ("kind", p.kind.map(|k| k.as_str())),
                    ("code", p.code.as_deref()),
                    ("request_id", p.request_id.as_deref()),
                ] {
                    if let Some(v) = value {
                        entry[key] = v.into();
                    }
                }
            }
            lines.push(entry.to_string());
        }
        match &self.sink {
            Sink::File(path) => {
                let mut text = lines.join("\n");
                text.push('\n');
                // 0600, never through a symlink, only to a regular file.
                if let Err(e) = crate::fsutil::append(path, text.as_bytes()) {
                    tracing::warn!(path = %path.display(), error = %e, "could not append to the audit log");
                }
            }
            Sink::Pg(pg) => {
                if let Err(e) = pg.audit_append(lines) {
                    tracing::warn!(error = %e, "could not append to the audit log");
                }
            }
        }
    }
}
