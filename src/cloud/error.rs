//! [`VendorError`]: the one error type every vendor's failures become, and
//! [`Mismatch`]: credentials that work but belong to another account. Both
//! become a [`Problem`] (kind, vendor code, request id, and the message
//! without the account's address) for reports that name the account.
//!
//! Invariants: messages come from the vendor's error body or from the
//! transport, never from a request; [`super::verify`] scrubs the account's
//! secret out of every message before returning, so neither `Display` nor
//! `Debug` nor a `Problem` can carry plaintext.

use std::fmt;

use crate::config::{Address, Vendor};
use crate::problem::{Problem, ProblemKind};

/// What kind of failure a vendor call ended in. The retry policy in
/// [`super::http`] retries `Throttled`, `Retryable` and `Unreachable`; the
/// kind reported is the one of the last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The vendor refused the credentials: unknown key, wrong secret or
    /// password, revoked or expired key.
    Auth,
    /// The credentials work, but may not call this API (a policy or role
    /// is missing): the one call fails, not the account.
    Denied,
    /// The vendor throttled the calls, and went on throttling after every retry.
    Throttled,
    /// Server errors (5xx) or timeouts, still failing after every retry.
    Retryable,
    /// The endpoint could not be reached: connection refused, DNS, TLS handshake, connect timeout.
    Unreachable,
    /// Anything else: a malformed answer, a request the vendor rejected as invalid.
    Other,
}

impl ErrorKind {
    /// Whether another attempt may succeed.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Retryable | ErrorKind::Unreachable
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::Denied => "denied",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Retryable => "retryable",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ErrorKind> for ProblemKind {
    fn from(k: ErrorKind) -> ProblemKind {
        match k {
            ErrorKind::Auth => ProblemKind::Auth,
            ErrorKind::Denied => ProblemKind::Denied,
            ErrorKind::Throttled => ProblemKind::Throttled,
            ErrorKind::Retryable => ProblemKind::Retryable,
            ErrorKind::Unreachable => ProblemKind::Unreachable,
            ErrorKind::Other => ProblemKind::Other,
        }
    }
}

/// A failed vendor call for one account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct VendorError {
    /// The account the call was made for.
    pub account: Address,
    pub vendor: Vendor,
    pub kind: ErrorKind,
    /// The vendor's error code (`InvalidClientTokenId`, `Throttling.User`,
    /// `AADSTS7000215`, `APIGW.0308`, …), when the vendor sent one.
    pub code: Option<String>,
    /// The vendor's message, or what went wrong on the way.
    pub message: String,
    /// The vendor's request id, for support cases.
    pub request_id: Option<String>,
    /// How many attempts were made.
    pub attempts: u32,
}

impl VendorError {
    /// The error of one attempt; `account` and `attempts` are filled in by the caller.
    pub(crate) fn new(vendor: Vendor, kind: ErrorKind, message: impl Into<String>) -> VendorError {
        VendorError {
            account: Address::new(vendor, String::new()),
            vendor,
            kind,
            code: None,
            message: message.into(),
            request_id: None,
            attempts: 1,
        }
    }

    pub(crate) fn code(mut self, code: impl Into<String>) -> VendorError {
        let c = code.into();
        self.code = (!c.is_empty()).then_some(c);
        self
    }

    pub(crate) fn request_id(mut self, id: Option<String>) -> VendorError {
        self.request_id = id.filter(|s| !s.is_empty());
        self
    }

    fn lead(&self) -> &'static str {
        match self.kind {
            ErrorKind::Auth => "refused the credentials",
            ErrorKind::Denied => "denied the call (a permission is missing)",
            ErrorKind::Throttled => "kept throttling the requests",
            ErrorKind::Retryable => "kept failing",
            ErrorKind::Unreachable => "could not be reached",
            ErrorKind::Other => "answered with an error",
        }
    }
}

impl VendorError {
    /// What went wrong, without the account: `AWS refused the credentials:
    /// InvalidClientTokenId: … (request id …)`.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_description(&mut s);
        s
    }

    /// The error as a problem of its account: kind, code, request id, and
    /// [`VendorError::describe`] as the message.
    pub fn problem(&self) -> Problem {
        Problem {
            message: self.describe(),
            kind: Some(self.kind.into()),
            code: self.code.clone(),
            request_id: self.request_id.clone(),
        }
    }

    fn write_description(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        write!(f, "{} {}", self.vendor.title(), self.lead())?;
        if self.attempts > 1 {
            write!(f, " ({} attempts)", self.attempts)?;
        }
        f.write_str(": ")?;
        if let Some(c) = &self.code {
            write!(f, "{c}: ")?;
        }
        f.write_str(self.message.trim_end())?;
        if let Some(r) = &self.request_id {
            write!(f, " (request id {r})")?;
        }
        Ok(())
    }
}

/// `<account>: ` and [`VendorError::describe`].
impl fmt::Display for VendorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.account)?;
        self.write_description(f)
    }
}

/// The credentials work, but the vendor says they belong to another account
/// (or tenant, application, environment) than the one declared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Mismatch {
    pub account: Address,
    /// The credential, as the user knows it (`access key AKIA…`, `application secret`).
    pub what: String,
    /// The attribute that disagrees (`main_account_id`, `tenant_id`, …).
    pub attribute: &'static str,
    pub declared: String,
    /// Who the credentials really belong to, as the vendor reported it.
    pub actual: String,
}

impl Mismatch {
    /// What disagrees, without the account: `access key AKIA… belongs to
    /// 999999999999, not to the declared main_account_id 123456789012`.
    pub fn describe(&self) -> String {
        format!(
            "{} belongs to {}, not to the declared {} {}",
            self.what, self.actual, self.attribute, self.declared
        )
    }

    /// The mismatch as a problem of its account (kind `mismatch`).
    pub fn problem(&self) -> Problem {
        Problem::new(ProblemKind::Mismatch, self.describe())
    }
}

/// `<account>: ` and [`Mismatch::describe`].
impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.account, self.describe())
    }
}

/// A member's subscription (Azure) or project (HCS) that its main
/// account's credentials no longer see: refused like a revoked key.
pub(crate) fn scope_gone(vendor: Vendor, scope: &str) -> VendorError {
    let (noun, code) = match vendor {
        Vendor::Azure => ("subscription", "SubscriptionNotFound"),
        _ => ("project", "ProjectNotFound"),
    };
    VendorError::new(
        vendor,
        ErrorKind::Auth,
        format!(
            "the main account's credentials no longer see {noun} {scope}: it left, or their access to it was removed"
        ),
    )
    .code(code)
}

/// A member's role that could not be assumed: the member's way in is
/// refused, which for the member is its credentials refused (`auth`, not
/// `denied` or `other`), named with the role's ARN.
pub(crate) fn role_refused(mut e: VendorError, role_arn: &str) -> VendorError {
    // Denied, or a vendor code such as `EntityNotExist.Role` (404): the
    // role is not there for this caller. Throttling and outages stay what
    // they are.
    if e.kind == ErrorKind::Denied || (e.kind == ErrorKind::Other && e.code.is_some()) {
        e.kind = ErrorKind::Auth;
    }
    e.message = format!("could not assume {role_arn}: {}", e.message);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_keeps_the_error_typed_and_its_message_leaves_out_the_account() {
        let mut e = VendorError::new(Vendor::Aws, ErrorKind::Throttled, "Rate exceeded ")
            .code("Throttling")
            .request_id(Some("5b1c6a9e".into()));
        e.account = "aws.prod".parse().unwrap();
        e.attempts = 5;
        let p = e.problem();
        assert_eq!(
            p.message,
            "AWS kept throttling the requests (5 attempts): Throttling: Rate exceeded (request id 5b1c6a9e)"
        );
        assert_eq!(p.kind, Some(ProblemKind::Throttled));
        assert_eq!(p.code.as_deref(), Some("Throttling"));
        assert_eq!(p.request_id.as_deref(), Some("5b1c6a9e"));
        assert_eq!(e.to_string(), format!("aws.prod: {}", p.message));

        let m = Mismatch {
            account: "aws.prod".parse().unwrap(),
            what: "access key AKIAEXAMPLE".into(),
            attribute: "main_account_id",
            declared: "123456789012".into(),
            actual: "999999999999".into(),
        };
        let p = m.problem();
        assert_eq!(
            p.message,
            "access key AKIAEXAMPLE belongs to 999999999999, not to the declared main_account_id 123456789012"
        );
        assert_eq!(p.kind, Some(ProblemKind::Mismatch));
        assert_eq!(m.to_string(), format!("aws.prod: {}", p.message));
    }
}
