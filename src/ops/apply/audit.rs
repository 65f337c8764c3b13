//! The append-only audit log of apply.

use std::path::PathBuf;

use super::executor::Outcome;
use crate::clock::rfc3339_now;
use crate::config::Config;
use crate::plan::{AccountChange, Plan};

/// The append-only audit log, `.tether/audit.jsonl` in the config dir: who,
/// when, host, plan hash, each action and its result; a failure's message
/// (`error`, without the address the line names already) with its `kind`,
/// and the vendor's `code` and `request_id` when known. Never a secret:
/// only addresses, actions and the already-scrubbed error texts are written.
pub struct Audit {
    path: PathBuf,
    plan_hash: String,
    who: String,
    host: String,
}

impl Audit {
    pub fn open(config: &Config, plan: &Plan) -> Audit {
        use sha2::{Digest, Sha256};
        Audit {
            path: config.dir.join(".tether").join("audit.jsonl"),
            plan_hash: hex::encode(Sha256::digest(plan.to_json().as_bytes())),
            who: crate::state::lock::user_name(),
            host: crate::state::lock::hostname(),
        }
    }

    /// Appends one line per account, with one write and one sync for the batch.
    pub fn append(&self, entries: &[(&AccountChange, &Outcome)]) {
        let mut text = String::new();
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
            text.push_str(&entry.to_string());
            text.push('\n');
        }
        // 0600, never through a symlink, only to a regular file.
        if let Err(e) = crate::fsutil::append(&self.path, text.as_bytes()) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not append to the audit log");
        }
    }
}
