//! The library's error type: typed, with the structured fields a user needs.

use std::path::PathBuf;

use crate::diag::{Diagnostics, Sources};

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
    /// A saved plan no longer matches the config or state it was made from.
    #[error("saved plan {}: {reason}", path.display())]
    StalePlan { path: PathBuf, reason: String },
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
    /// The state file is not valid JSON or not in the state format. Never written over.
    #[error("{}", state_damaged_message(path, *line, *column, reason, backup.as_deref()))]
    StateDamaged {
        path: PathBuf,
        /// 1-based position of the problem, from the JSON parser.
        line: usize,
        column: usize,
        reason: String,
        /// `<state>.backup`, when it exists.
        backup: Option<PathBuf>,
    },
    /// The file is not this state: another lineage, or not a tether state at all.
    #[error("{}: {reason}; tether leaves it untouched", path.display())]
    StateForeign { path: PathBuf, reason: String },
    /// The state's `format_version` is not the one this build reads.
    #[error("{}", state_version_message(path, *found, *supported, *upgradable))]
    StateVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
        /// An older format that `tether state upgrade` can rewrite.
        upgradable: bool,
    },
    /// The state file is absent but its `.backup` is there: the state was lost.
    #[error(
        "{}: the state file is missing, but its backup {} exists; tether will not plan from nothing \
         (that would create every account again).\n  \
         Restore the state from the backup: `cp {} {}`; \
         or, to start a new state on purpose, remove the backup.",
        path.display(), backup.display(), backup.display(), path.display()
    )]
    StateMissing { path: PathBuf, backup: PathBuf },
    /// The state's serial cannot grow (it is at `u64::MAX`); nothing is written.
    #[error(
        "{}: the state's serial is {serial}, the largest there is; tether refuses to write it \
         (the serial would wrap to 0). The file was edited by hand: restore it from its .backup",
        path.display()
    )]
    StateSerial { path: PathBuf, serial: u64 },
    /// The state changed on disk since the caller read it.
    #[error(
        "{}: the state changed since it was read (serial {found}, expected {expected}); run the command again",
        path.display()
    )]
    StateChanged {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    /// An edit of the state (`state rm`, `state mv`, a `moved` block) is not possible.
    #[error("{reason}")]
    StateEdit { address: String, reason: String },
    /// Another run holds the state lock (exit code 4). A lock a dead run
    /// left is taken over instead (see `state::lock`).
    #[error("{}", locked_message(path, *of, lock, *waited_ms))]
    Locked {
        /// The lock file (`<state>.lock`, `store.lock`).
        path: PathBuf,
        /// Which lock it is.
        of: LockOf,
        /// The holder: lock ID, `user@host`, pid, host, operation, start time.
        lock: Box<LockHolder>,
        /// How long this run waited (`--lock-timeout`), in milliseconds.
        waited_ms: u64,
    },
    /// A snapshot store file is unreadable as what it should be: a manifest
    /// that does not parse, a missing or truncated pack, an object whose
    /// content does not match its hash. Nothing is written.
    #[error("damaged snapshot store: {}: {reason}; tether did not change anything", path.display())]
    SnapshotDamaged { path: PathBuf, reason: String },
    /// No snapshot version answers to this name.
    #[error("unknown snapshot version `{id}`: {reason}")]
    SnapshotUnknown { id: String, reason: String },
    /// The snapshot store holds no version yet.
    #[error("no snapshot versions in {}: run `tether sync` to take the first one", path.display())]
    SnapshotEmpty { path: PathBuf },
    /// A snapshot cannot be written as asked (a resource outside its partition, …).
    #[error("snapshot: {reason}")]
    Snapshot { reason: String },
    /// `force-unlock` refused.
    #[error("{}: {reason}", path.display())]
    Unlock { path: PathBuf, reason: String },
    /// The state and snapshot backend (PostgreSQL) cannot be used as asked:
    /// unreachable, refused, missing privileges, a newer schema, a lost
    /// connection. Nothing was half-written.
    #[error("{backend}: {reason}")]
    Backend { backend: String, reason: String },
}

fn state_damaged_message(
    path: &std::path::Path,
    line: usize,
    column: usize,
    reason: &str,
    backup: Option<&std::path::Path>,
) -> String {
    let mut s = format!(
        "damaged state {}:{line}:{column}: {reason}\n  tether will not read or overwrite it; fix the file",
        path.display()
    );
    match backup {
        Some(b) => s.push_str(&format!(
            ", or restore the previous version from {}",
            b.display()
        )),
        None => s.push_str(" (there is no .backup beside it)"),
    }
    s
}

fn state_version_message(path: &std::path::Path, found: u64, supported: u32, up: bool) -> String {
    if found > u64::from(supported) {
        format!(
            "{}: the state was written by a newer tether (format_version {found}; this build reads {supported}); upgrade tether",
            path.display()
        )
    } else if up {
        format!(
            "{}: the state is in an older format (format_version {found}; this build reads {supported}); run `tether state upgrade` to rewrite it (the current file is kept as .backup)",
            path.display()
        )
    } else {
        format!(
            "{}: format_version {found} is not a format any tether wrote (the first is 1); the file is not a tether state",
            path.display()
        )
    }
}

/// "the state" or "the snapshot store", from the lock file's name.
/// Which lock a run waited for or took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOf {
    /// The state's lock (`<state>.lock`).
    State,
    /// The snapshot store's writer lock (`store.lock` in its directory).
    Snapshots,
}

impl LockOf {
    /// How messages name what is locked.
    pub fn subject(self) -> &'static str {
        match self {
            LockOf::State => "the state",
            LockOf::Snapshots => "the snapshot store",
        }
    }
}

/// Who holds a lock, as its metadata says (see `state::lock::LockInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The lock ID `force-unlock` takes.
    pub id: String,
    /// `user@host`.
    pub holder: String,
    pub pid: u32,
    pub host: String,
    /// The command that took the lock.
    pub operation: String,
    /// When it was taken (RFC 3339, UTC).
    pub started: String,
}

fn locked_message(path: &std::path::Path, of: LockOf, lock: &LockHolder, waited_ms: u64) -> String {
    let LockHolder {
        id: lock_id,
        holder,
        pid,
        host,
        operation,
        started,
    } = lock;
    let subject = of.subject();
    let waited = if waited_ms == 0 {
        "did not wait (--lock-timeout 0s)".to_string()
    } else {
        format!("waited {}", crate::error::human_ms(waited_ms))
    };
    format!(
        "{subject} is locked by another run: {holder}, pid {pid} on {host}, `{operation}` since {started} \
         (lock ID {lock_id}, {}); {waited}.\n  \
         Retry later or wait longer with --lock-timeout (e.g. --lock-timeout 2m). \
         If no tether run holds it, `tether force-unlock {lock_id}` removes it.",
        path.display()
    )
}

/// `1500` -> `1.5s`, `120000` -> `2m`.
pub(crate) fn human_ms(ms: u64) -> String {
    if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
