//! [`Problem`]: what went wrong for one account or one partition, typed
//! until it is rendered.
//!
//! A problem carries its [`ProblemKind`], the vendor's error code and
//! request id when a vendor answered, and a message for people. The message
//! never starts with the account's address: every report that shows a
//! problem names the account (or the partition) already, so the message is
//! built without it (`VendorError::problem`, `Mismatch::problem`), never cut
//! out of a longer text.
//!
//! A leaf: every layer that reports failures builds on it, and it uses
//! none of them.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kind of problem it is: the vendor's answer (`auth`, `throttled`,
/// `retryable`, `unreachable`, `other`), or where tether stopped before or
/// after talking to the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// The vendor refused the credentials: unknown key, wrong secret or
    /// password, revoked or expired key.
    Auth,
    /// The credentials work, but may not call the API (a missing policy).
    Denied,
    /// The vendor throttled the calls, and went on throttling after every retry.
    Throttled,
    /// Server errors (5xx) or timeouts, still failing after every retry.
    Retryable,
    /// The endpoint could not be reached: connection refused, DNS, TLS
    /// handshake, connect timeout.
    Unreachable,
    /// Any other vendor failure: a malformed answer, a request the vendor
    /// rejected as invalid.
    Other,
    /// The credentials work but belong to another account, tenant,
    /// application or environment than the one declared or recorded.
    Mismatch,
    /// tether would not send the secret to that destination.
    Refused,
    /// No identity at hand decrypts the secret.
    Decrypt,
    /// The secret could not be encrypted to the recipients.
    Encrypt,
    /// The state entry is not a usable account.
    State,
    /// The configuration lacks what the work needs (the account, its
    /// secret, the recipients).
    Config,
    /// A file tether had to write could not be written (the state).
    Io,
    /// tether's own task stopped abnormally: a bug in tether.
    Panic,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Auth => "auth",
            ProblemKind::Denied => "denied",
            ProblemKind::Throttled => "throttled",
            ProblemKind::Retryable => "retryable",
            ProblemKind::Unreachable => "unreachable",
            ProblemKind::Other => "other",
            ProblemKind::Mismatch => "mismatch",
            ProblemKind::Refused => "refused",
            ProblemKind::Decrypt => "decrypt",
            ProblemKind::Encrypt => "encrypt",
            ProblemKind::State => "state",
            ProblemKind::Config => "config",
            ProblemKind::Io => "io",
            ProblemKind::Panic => "panic",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong, for one account or partition. `Display` is the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// For people; never starts with the account's address.
    pub message: String,
    /// Unknown only for problems recorded before tether kept them typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProblemKind>,
    /// The vendor's error code, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The vendor's request id, for support cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    /// A problem of `kind` with no vendor code or request id.
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            kind: Some(kind),
            code: None,
            request_id: None,
        }
    }

    /// Whether it is of `kind`.
    pub fn is(&self, kind: ProblemKind) -> bool {
        self.kind == Some(kind)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_lowercase_words_on_the_wire() {
        for k in [
            ProblemKind::Auth,
            ProblemKind::Denied,
            ProblemKind::Throttled,
            ProblemKind::Retryable,
            ProblemKind::Unreachable,
            ProblemKind::Other,
            ProblemKind::Mismatch,
            ProblemKind::Refused,
            ProblemKind::Decrypt,
            ProblemKind::Encrypt,
            ProblemKind::State,
            ProblemKind::Config,
            ProblemKind::Io,
            ProblemKind::Panic,
        ] {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<ProblemKind>(&json).unwrap(), k);
        }
    }
}
