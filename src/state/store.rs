//! The state store: reads and writes `tether.state.json`.
//!
//! Invariants:
//! - Every write goes through [`StateStore::write`], which needs the
//!   [`LockGuard`] of this state, and through [`crate::fsutil::write_atomic`]
//!   (temp file, fsync, rename): a reader sees the old file or the new one.
//! - Before a write replaces the file, its previous bytes are kept in
//!   `<state>.backup` (mode 0600). The state itself is mode 0600.
//! - A damaged file (not JSON, not the state's shape), a foreign one (another
//!   lineage, not a tether state) or one in another `format_version` is an
//!   error and is never written over. Upgrades happen only on request
//!   ([`StateStore::upgrade`], `tether state upgrade`).
//! - `serial` grows by one on every write that changes the state; `lineage`
//!   never changes. A state whose serial is at `u64::MAX` is never written
//!   (it would wrap to 0): the write is refused, nothing changes. The JSON is
//!   canonical: pretty, accounts in address order, a trailing newline, so the
//!   same state always gives the same bytes.
//! - A secret in state is armored age ciphertext: a state whose secret is
//!   anything else is refused before a byte is written.
//! - An absent state is an empty one only when its `.backup` is absent too: a
//!   backup without its state means the state was lost, and reading it is an
//!   error that says how to restore it (planning from nothing would create
//!   every account again).
//! - The state is read only from a regular file (a FIFO or a device there is
//!   an error, never a hang).
//! - Every account's `vendor` is its address's vendor; any other is damage.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::lock::{self, LockGuard};
use super::model::{STATE_FORMAT_VERSION, State};
use crate::error::{Error, Result};
use crate::pg::Pg;
pub use crate::pg::rows::HistoryRow;

/// `<path><suffix>` (`tether.state.json` + `.backup`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// One step of the format: rewrites a document of `from` into `from + 1`.
pub struct Migration {
    pub from: u32,
    pub apply: fn(&mut serde_json::Map<String, Value>) -> std::result::Result<(), String>,
}

/// The format's history. Format 1 is the first; a step is added here (and
/// [`STATE_FORMAT_VERSION`] raised) whenever the format changes.
pub const MIGRATIONS: &[Migration] = &[];

/// What [`StateStore::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    pub serial: u64,
    /// False when the pushed state was the current one.
    pub written: bool,
}

/// What [`StateStore::upgrade`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    pub from: u64,
    pub to: u32,
    /// False when the file was already current (nothing written).
    pub written: bool,
    pub serial: u64,
}

/// The state of one config: a file, or a workspace of the PostgreSQL
/// backend (where every write is a new row of the history, swapped in
/// only over the serial and lineage it was made from).
#[derive(Debug, Clone)]
pub struct StateStore {
    /// The file; for PostgreSQL, `pg:<schema>/<workspace>` (how messages
    /// name it).
    path: PathBuf,
    medium: Medium,
}

#[derive(Debug, Clone)]
enum Medium {
    File,
    Pg(Arc<Pg>),
}

impl StateStore {
    pub fn open(path: impl Into<PathBuf>) -> StateStore {
        StateStore {
            path: path.into(),
            medium: Medium::File,
        }
    }

    /// The state of a PostgreSQL workspace.
    pub fn pg(pg: Arc<Pg>) -> StateStore {
        StateStore {
            path: PathBuf::from(pg.shown()),
            medium: Medium::Pg(pg),
        }
    }

    /// Whether there is a state to read (a file, or a row of the workspace).
    pub fn exists(&self) -> Result<bool> {
        match &self.medium {
            Medium::File => Ok(self.path.exists()),
            Medium::Pg(pg) => Ok(pg.state_current()?.is_some()),
        }
    }

    /// The PostgreSQL backend, when the state lives there.
    pub fn backend(&self) -> Option<&Arc<Pg>> {
        match &self.medium {
            Medium::File => None,
            Medium::Pg(pg) => Some(pg),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<state>.backup`: the previous version, kept by every write.
    pub fn backup_path(&self) -> PathBuf {
        sibling(&self.path, ".backup")
    }

    /// `<state>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        lock::lock_path(&self.path)
    }

    /// Takes this state's lock for `operation`, waiting up to `timeout`.
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<LockGuard> {
        match &self.medium {
            Medium::File => lock::acquire(&self.path, operation, timeout),
            Medium::Pg(pg) => lock::acquire_pg(
                pg,
                lock::PG_STATE,
                &self.path,
                crate::error::LockOf::State,
                operation,
                timeout,
            ),
        }
    }

    /// The state, or `None` when the file does not exist (and has no backup:
    /// a lone `.backup` is [`Error::StateMissing`]).
    pub fn read(&self) -> Result<Option<State>> {
        match self.read_bytes()? {
            None => Ok(None),
            Some(bytes) => self.parse(&bytes).map(Some),
        }
    }

    /// Like [`read`](Self::read), and the state must have `lineage`
    /// (a saved plan, a caller holding an earlier read).
    pub fn read_expecting(&self, lineage: &str) -> Result<Option<State>> {
        let state = self.read()?;
        if let Some(s) = &state {
            self.check_lineage(s, lineage)?;
        }
        Ok(state)
    }

    /// Writes `state` under `lock` and returns it as written.
    ///
    /// `state` must be the file's current content plus the caller's changes:
    /// same lineage, same serial (else [`Error::StateForeign`] /
    /// [`Error::StateChanged`]). The written state has `serial + 1`, this
    /// build's `format_version` and `tether_version`. A state equal to the file
    /// is not written again. The previous file goes to `<state>.backup` first.
    pub fn write(&self, state: &State, lock: &LockGuard) -> Result<State> {
        self.write_noting(state, lock, None)
    }

    /// [`write`](Self::write), and the history row (PostgreSQL) names the
    /// plan it carried out.
    pub fn write_noting(
        &self,
        state: &State,
        lock: &LockGuard,
        plan_hash: Option<&str>,
    ) -> Result<State> {
        if lock.state_path() != self.path {
            return Err(Error::Usage(format!(
                "internal: writing {} under the lock of {}",
                self.path.display(),
                lock.state_path().display()
            )));
        }
        check_secrets(state, &self.path)?;
        if let Medium::Pg(_) = &self.medium {
            // The server compares serial and lineage in the write's own
            // transaction: the document is not fetched first (a state of
            // 1,000 accounts is 1.5 MB, and apply writes once per batch).
            // A caller's state of serial 0 is a new one: no state yet.
            let expected = (state.serial > 0).then(|| (state.serial, state.lineage.clone()));
            let mut next = state.clone();
            next.serial = self.next_serial(state.serial)?;
            next.format_version = STATE_FORMAT_VERSION;
            next.tether_version = env!("CARGO_PKG_VERSION").to_string();
            self.replace(None, expected, &next, lock, plan_hash, false)?;
            tracing::debug!(state = %self.path.display(), serial = next.serial, "state written");
            return Ok(next);
        }
        let before = self.read_bytes()?;
        let current = match &before {
            Some(bytes) => Some(self.parse(bytes)?),
            None => None,
        };
        if let Some(cur) = &current {
            self.check_lineage(cur, &state.lineage)?;
            if cur.serial != state.serial {
                return Err(Error::StateChanged {
                    path: self.path.clone(),
                    expected: state.serial,
                    found: cur.serial,
                });
            }
            if cur.accounts == state.accounts {
                return Ok(cur.clone());
            }
        }
        let mut next = state.clone();
        next.serial = self.next_serial(state.serial)?;
        next.format_version = STATE_FORMAT_VERSION;
        next.tether_version = env!("CARGO_PKG_VERSION").to_string();
        let expected = current.as_ref().map(|c| (c.serial, c.lineage.clone()));
        self.replace(before.as_deref(), expected, &next, lock, plan_hash, false)?;
        tracing::debug!(state = %self.path.display(), serial = next.serial, "state written");
        Ok(next)
    }

    /// Every version of the state the backend keeps, oldest first: the
    /// PostgreSQL history (one row per serial), or the file's `.backup` and
    /// the file itself.
    pub fn history(&self) -> Result<Vec<HistoryRow>> {
        if let Medium::Pg(pg) = &self.medium {
            return pg.state_history();
        }
        let mut rows = Vec::new();
        for path in [self.backup_path(), self.path.clone()] {
            let Ok(bytes) = crate::fsutil::read_regular(&path, u64::MAX) else {
                continue;
            };
            let Ok(state) = serde_json::from_slice::<State>(&bytes) else {
                continue;
            };
            use sha2::{Digest, Sha256};
            let written_at = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| crate::clock::rfc3339(i64::try_from(d.as_secs()).unwrap_or(0)))
                .unwrap_or_default();
            rows.push(HistoryRow {
                serial: state.serial,
                lineage: state.lineage,
                sha256: hex::encode(Sha256::digest(&bytes)),
                who: String::new(),
                host: String::new(),
                operation: String::new(),
                plan_hash: None,
                tether_version: state.tether_version,
                written_at,
                bytes: bytes.len() as u64,
            });
        }
        rows.sort_by_key(|r| r.serial);
        rows.dedup_by_key(|r| r.serial);
        Ok(rows)
    }

    /// The bytes of the state as stored: the current one, or the version
    /// of `serial` when the history keeps it (`tether state pull`).
    pub fn pull(&self, serial: Option<u64>) -> Result<Option<Vec<u8>>> {
        let Some(serial) = serial else {
            return self.read_bytes();
        };
        let bytes = match &self.medium {
            Medium::Pg(pg) => pg.state_at(serial)?,
            Medium::File => [self.path.clone(), self.backup_path()]
                .into_iter()
                .filter_map(|p| crate::fsutil::read_regular(&p, u64::MAX).ok())
                .find(|b| serde_json::from_slice::<State>(b).is_ok_and(|s| s.serial == serial)),
        };
        match bytes {
            Some(b) => Ok(Some(b)),
            None => Err(Error::Usage(format!(
                "{} keeps no state of serial {serial}; `tether state history` lists the serials it keeps",
                self.path.display()
            ))),
        }
    }

    /// Makes `bytes` (a state document, as `state pull` prints it) the
    /// state (`tether state push`). Refused, unless `force`: a state of
    /// another lineage, an older serial, or the same serial with other
    /// content (both sides changed since that serial). A state equal to
    /// the current one writes nothing. The pushed state is checked as any
    /// read is (format, vendors, ciphertext-only secrets) and written with
    /// its own serial, or the next one when `force` pushes an older one.
    pub fn push(&self, bytes: &[u8], lock: &LockGuard, force: bool) -> Result<Pushed> {
        if lock.state_path() != self.path {
            return Err(Error::Usage("internal: push under another lock".into()));
        }
        let mut pushed = self.parse(bytes)?;
        check_secrets(&pushed, &self.path)?;
        let before = self.read_bytes()?;
        let current = match &before {
            Some(b) => Some(self.parse(b)?),
            None => None,
        };
        let refuse = |reason: String| Error::StateForeign {
            path: self.path.clone(),
            reason: format!("{reason}; `tether state push --force` overwrites it"),
        };
        if let Some(cur) = &current {
            if !force {
                if cur.lineage != pushed.lineage {
                    return Err(refuse(format!(
                        "the pushed state has lineage {}, the current one {}: it is another state",
                        pushed.lineage, cur.lineage
                    )));
                }
                if pushed.serial < cur.serial {
                    return Err(refuse(format!(
                        "the pushed state has serial {}, older than the current {}",
                        pushed.serial, cur.serial
                    )));
                }
                if pushed.serial == cur.serial {
                    if pushed.accounts == cur.accounts {
                        return Ok(Pushed {
                            serial: cur.serial,
                            written: false,
                        });
                    }
                    return Err(refuse(format!(
                        "the pushed state has serial {} like the current one, but other content \
                         (both changed since that serial)",
                        pushed.serial
                    )));
                }
            }
            if pushed.serial <= cur.serial {
                pushed.serial = self.next_serial(cur.serial)?;
            }
        }
        pushed.format_version = STATE_FORMAT_VERSION;
        let expected = current.as_ref().map(|c| (c.serial, c.lineage.clone()));
        self.replace(before.as_deref(), expected, &pushed, lock, None, force)?;
        Ok(Pushed {
            serial: pushed.serial,
            written: true,
        })
    }

    /// Makes `bytes` the state, exactly as they are, where there is none yet
    /// (`backend migrate`): lineage and serial are kept. Checked as any read
    /// is. Returns the state.
    pub fn copy_in(&self, bytes: &[u8], lock: &LockGuard) -> Result<State> {
        if lock.state_path() != self.path {
            return Err(Error::Usage("internal: copy under another lock".into()));
        }
        let state = self.parse(bytes)?;
        check_secrets(&state, &self.path)?;
        if self.read_bytes()?.is_some() {
            return Err(Error::Usage(format!(
                "{} already holds a state; tether copies only into an empty one",
                self.path.display()
            )));
        }
        match &self.medium {
            Medium::Pg(pg) => {
                let holding = lock.holding().ok_or_else(|| {
                    Error::Usage("internal: a PostgreSQL state written under a file lock".into())
                })?;
                let new = crate::pg::rows::NewState {
                    serial: state.serial,
                    lineage: state.lineage.clone(),
                    document: bytes.to_vec(),
                    who: lock.info().holder.clone(),
                    host: lock.info().host.clone(),
                    operation: lock.info().operation.clone(),
                    plan_hash: None,
                };
                match pg.state_swap(None, new, &holding, false)? {
                    crate::pg::rows::Swap::Written => {}
                    crate::pg::rows::Swap::Changed { found } => {
                        return Err(Error::StateChanged {
                            path: self.path.clone(),
                            expected: 0,
                            found: found.map(|(s, _)| s).unwrap_or(0),
                        });
                    }
                }
            }
            Medium::File => {
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    crate::fsutil::create_dir_all(dir)?;
                }
                crate::fsutil::write_atomic(&self.path, bytes, Some(0o600))?;
            }
        }
        Ok(state)
    }

    /// Rewrites an older-format file in the current format (`tether state upgrade`).
    pub fn upgrade(&self, lock: &LockGuard) -> Result<Upgrade> {
        self.upgrade_with(lock, MIGRATIONS)
    }

    fn upgrade_with(&self, lock: &LockGuard, steps: &[Migration]) -> Result<Upgrade> {
        if lock.state_path() != self.path {
            return Err(Error::Usage("internal: upgrade under another lock".into()));
        }
        let Some(bytes) = self.read_bytes()? else {
            return Err(Error::Usage(format!(
                "there is no state at {}: nothing to upgrade",
                self.path.display()
            )));
        };
        let (value, found) = self.envelope(&bytes)?;
        if found == u64::from(STATE_FORMAT_VERSION) {
            let s = self.parse(&bytes)?;
            return Ok(Upgrade {
                from: found,
                to: STATE_FORMAT_VERSION,
                written: false,
                serial: s.serial,
            });
        }
        if found > u64::from(STATE_FORMAT_VERSION) || !has_path(found, steps) {
            return Err(self.version_error(found, steps));
        }
        let migrated = migrate(value, found, steps).map_err(|reason| Error::StateDamaged {
            path: self.path.clone(),
            line: 1,
            column: 1,
            reason: format!("cannot upgrade from format_version {found}: {reason}"),
            backup: self.existing_backup(),
        })?;
        let text = serde_json::to_vec(&migrated).map_err(|e| Error::Usage(e.to_string()))?;
        let mut state: State = serde_json::from_slice(&text).map_err(|e| Error::StateDamaged {
            path: self.path.clone(),
            line: 1,
            column: 1,
            reason: format!("after upgrading from format_version {found}: {e}"),
            backup: self.existing_backup(),
        })?;
        check_secrets(&state, &self.path)?;
        state.serial = self.next_serial(state.serial)?;
        state.format_version = STATE_FORMAT_VERSION;
        state.tether_version = env!("CARGO_PKG_VERSION").to_string();
        let parsed: std::result::Result<State, _> = serde_json::from_slice(&bytes);
        let expected = parsed.ok().map(|p| (p.serial, p.lineage));
        self.replace(Some(&bytes), expected, &state, lock, None, true)?;
        Ok(Upgrade {
            from: found,
            to: STATE_FORMAT_VERSION,
            written: true,
            serial: state.serial,
        })
    }

    /// `serial + 1`, or an error when the serial is at its maximum (it never wraps).
    fn next_serial(&self, serial: u64) -> Result<u64> {
        serial.checked_add(1).ok_or_else(|| Error::StateSerial {
            path: self.path.clone(),
            serial,
        })
    }

    /// Replaces the state with `next` (whose bytes are [`canonical`]). A
    /// file: the backup of `before` (if any), then the new bytes, both
    /// atomically and 0600. PostgreSQL: a new history row, only when the
    /// current row is still `expected` and the lock is still this run's
    /// (`force`: whatever the current row is).
    fn replace(
        &self,
        before: Option<&[u8]>,
        expected: Option<(u64, String)>,
        next: &State,
        lock: &LockGuard,
        plan_hash: Option<&str>,
        force: bool,
    ) -> Result<()> {
        let bytes = canonical(next);
        if let Medium::Pg(pg) = &self.medium {
            let holding = lock.holding().ok_or_else(|| {
                Error::Usage("internal: a PostgreSQL state written under a file lock".into())
            })?;
            let new = crate::pg::rows::NewState {
                serial: next.serial,
                lineage: next.lineage.clone(),
                document: bytes,
                who: lock.info().holder.clone(),
                host: lock.info().host.clone(),
                operation: lock.info().operation.clone(),
                plan_hash: plan_hash.map(str::to_string),
            };
            let want = expected.clone();
            return match pg.state_swap(expected, new, &holding, force)? {
                crate::pg::rows::Swap::Written => Ok(()),
                crate::pg::rows::Swap::Changed {
                    found: Some((_, lineage)),
                } if want.as_ref().is_some_and(|(_, l)| *l != lineage) => {
                    Err(Error::StateForeign {
                        path: self.path.clone(),
                        reason: format!(
                            "the state has lineage {lineage}, not the expected {}: it is another state",
                            want.map(|(_, l)| l).unwrap_or_default()
                        ),
                    })
                }
                crate::pg::rows::Swap::Changed { found } => Err(Error::StateChanged {
                    path: self.path.clone(),
                    expected: want.map(|(s, _)| s).unwrap_or(0),
                    found: found.map(|(s, _)| s).unwrap_or(0),
                }),
            };
        }
        let bytes = &bytes[..];
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::fsutil::create_dir_all(dir)?;
        }
        if let Some(old) = before {
            self.keep_backup(old)?;
        }
        crate::fsutil::write_atomic(&self.path, bytes, Some(0o600))
    }

    /// Keeps the current file as `.backup` before it is replaced. The
    /// current file is never modified in place (every write renames a new
    /// file over it), so a hard link to it is a copy that costs no I/O;
    /// where links are not supported, its bytes are written out.
    fn keep_backup(&self, current: &[u8]) -> Result<()> {
        let backup = self.backup_path();
        if crate::fsutil::link_replace(&self.path, &backup) {
            return Ok(());
        }
        crate::fsutil::write_atomic(&backup, current, Some(0o600))
    }

    fn read_bytes(&self) -> Result<Option<Vec<u8>>> {
        if let Medium::Pg(pg) = &self.medium {
            return pg.state_current();
        }
        match crate::fsutil::read_regular(&self.path, u64::MAX) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match self.existing_backup() {
                Some(backup) => Err(Error::StateMissing {
                    path: self.path.clone(),
                    backup,
                }),
                None => Ok(None),
            },
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    fn existing_backup(&self) -> Option<PathBuf> {
        if let Medium::Pg(_) = &self.medium {
            return None;
        }
        let b = self.backup_path();
        b.is_file().then_some(b)
    }

    fn damaged(&self, e: &serde_json::Error, what: &str) -> Error {
        Error::StateDamaged {
            path: self.path.clone(),
            line: e.line().max(1),
            column: e.column().max(1),
            reason: format!("{what}: {}", strip_position(&e.to_string())),
            backup: self.existing_backup(),
        }
    }

    /// The document as JSON and its `format_version`.
    fn envelope(&self, bytes: &[u8]) -> Result<(Value, u64)> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() && bytes.iter().all(u8::is_ascii_whitespace) {
                Error::StateDamaged {
                    path: self.path.clone(),
                    line: 1,
                    column: 1,
                    reason: "the file is empty".into(),
                    backup: self.existing_backup(),
                }
            } else {
                self.damaged(&e, "not valid JSON")
            }
        })?;
        let foreign = |reason: &str| Error::StateForeign {
            path: self.path.clone(),
            reason: reason.into(),
        };
        let Some(obj) = value.as_object() else {
            return Err(foreign("not a tether state (the JSON is not an object)"));
        };
        let version = match obj.get("format_version") {
            Some(v) => v.as_u64().ok_or_else(|| {
                foreign("not a tether state (`format_version` is not a whole number)")
            })?,
            None if obj.contains_key("terraform_version") => {
                return Err(foreign(
                    "this is a Terraform state, not a tether state (no `format_version`)",
                ));
            }
            None => return Err(foreign("not a tether state (it has no `format_version`)")),
        };
        Ok((value, version))
    }

    fn parse(&self, bytes: &[u8]) -> Result<State> {
        // The common case in one pass; anything unexpected takes the slow
        // path below, which says precisely what is wrong.
        if let Ok(state) = serde_json::from_slice::<State>(bytes) {
            if state.format_version == STATE_FORMAT_VERSION && !state.lineage.trim().is_empty() {
                self.check_vendors(&state, bytes)?;
                return Ok(state);
            }
        }
        let (_, version) = self.envelope(bytes)?;
        if version != u64::from(STATE_FORMAT_VERSION) {
            return Err(self.version_error(version, MIGRATIONS));
        }
        let state: State = serde_json::from_slice(bytes)
            .map_err(|e| self.damaged(&e, "not in the state format"))?;
        if state.lineage.trim().is_empty() {
            return Err(Error::StateForeign {
                path: self.path.clone(),
                reason: "the state has no lineage".into(),
            });
        }
        self.check_vendors(&state, bytes)?;
        Ok(state)
    }

    /// Every account's `vendor` is the vendor of its address (`aws.x` is an
    /// AWS account): a state edited into anything else is damaged.
    fn check_vendors(&self, state: &State, bytes: &[u8]) -> Result<()> {
        let Some((addr, acct)) = state
            .accounts
            .iter()
            .find(|(addr, acct)| addr.vendor != acct.vendor)
        else {
            return Ok(());
        };
        let (line, column) = key_position(bytes, &addr.to_string());
        Err(Error::StateDamaged {
            path: self.path.clone(),
            line,
            column,
            reason: format!(
                "account `{addr}` has \"vendor\": \"{}\", but its address says {} \
                 (an account's vendor is the first part of its address)",
                acct.vendor, addr.vendor
            ),
            backup: self.existing_backup(),
        })
    }

    fn version_error(&self, found: u64, steps: &[Migration]) -> Error {
        Error::StateVersion {
            path: self.path.clone(),
            found,
            supported: STATE_FORMAT_VERSION,
            upgradable: found < u64::from(STATE_FORMAT_VERSION) && has_path(found, steps),
        }
    }

    fn check_lineage(&self, state: &State, expected: &str) -> Result<()> {
        if state.lineage != expected {
            return Err(Error::StateForeign {
                path: self.path.clone(),
                reason: format!(
                    "the state has lineage {}, not the expected {expected}: it is another state",
                    state.lineage
                ),
            });
        }
        Ok(())
    }
}

/// The canonical bytes of a state: pretty JSON, accounts in address order, newline.
pub fn canonical(state: &State) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(state).expect("a state always serializes");
    out.push(b'\n');
    out
}

/// A new, empty state with a random lineage (UUID v4).
pub fn new_state() -> State {
    State::new(uuid::Uuid::new_v4().to_string())
}

/// Refuses any secret that is not armored age ciphertext.
fn check_secrets(state: &State, path: &Path) -> Result<()> {
    for (addr, acct) in &state.accounts {
        if !crate::secrets::decrypt::is_armored(acct.secret.ciphertext.as_bytes()) {
            return Err(Error::Secret {
                address: addr.to_string(),
                attribute: acct.secret.attribute.clone(),
                location: path.display().to_string(),
                reason: "a secret in state must be armored age ciphertext; refusing to write it"
                    .into(),
            });
        }
    }
    Ok(())
}

fn has_path(from: u64, steps: &[Migration]) -> bool {
    let mut v = from;
    while v < u64::from(STATE_FORMAT_VERSION) {
        if !steps.iter().any(|m| u64::from(m.from) == v) {
            return false;
        }
        v += 1;
    }
    true
}

/// Runs the steps from `from` up to [`STATE_FORMAT_VERSION`].
fn migrate(mut value: Value, from: u64, steps: &[Migration]) -> std::result::Result<Value, String> {
    let mut v = from;
    while v < u64::from(STATE_FORMAT_VERSION) {
        let step = steps
            .iter()
            .find(|m| u64::from(m.from) == v)
            .ok_or_else(|| format!("no upgrade step from format_version {v}"))?;
        let obj = value
            .as_object_mut()
            .ok_or_else(|| "the JSON is not an object".to_string())?;
        (step.apply)(obj)?;
        v += 1;
        obj.insert("format_version".into(), Value::from(v));
    }
    Ok(value)
}

/// 1-based line and column of the object key `key` (`"aws.x":`) in a JSON
/// document, or 1:1 when it cannot be found.
fn key_position(bytes: &[u8], key: &str) -> (usize, usize) {
    let Ok(quoted) = serde_json::to_string(key) else {
        return (1, 1);
    };
    let text = String::from_utf8_lossy(bytes);
    let mut from = 0;
    while let Some(at) = text[from..].find(&quoted) {
        let start = from + at;
        from = start + quoted.len();
        if text[from..].trim_start().starts_with(':') {
            let before = &text[..start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            return (line, column);
        }
    }
    (1, 1)
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // fixtures are written as they are
mod tests {
    use super::*;

    #[test]
    fn upgrade_runs_each_step_keeps_a_backup_and_bumps_serial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let store = StateStore::open(&path);
        let mut old = serde_json::to_value(new_state()).unwrap();
        // A pretend older format: the same document without `tether_version`.
        let obj = old.as_object_mut().unwrap();
        obj.insert(
            "format_version".into(),
            Value::from(STATE_FORMAT_VERSION - 1),
        );
        obj.remove("tether_version");
        let bytes = serde_json::to_vec(&old).unwrap();
        std::fs::write(&path, &bytes).unwrap();

        fn add_version(o: &mut serde_json::Map<String, Value>) -> std::result::Result<(), String> {
            o.insert("tether_version".into(), Value::from("0.0.0"));
            Ok(())
        }
        let steps = [Migration {
            from: STATE_FORMAT_VERSION - 1,
            apply: add_version,
        }];
        let e = store.read().unwrap_err();
        assert!(
            matches!(
                e,
                Error::StateVersion {
                    upgradable: false,
                    ..
                }
            ),
            "{e}"
        );

        let guard = store.lock("state upgrade", Duration::ZERO).unwrap();
        assert!(store.upgrade(&guard).is_err(), "no step in the real table");
        let up = store.upgrade_with(&guard, &steps).unwrap();
        assert_eq!(up.from, u64::from(STATE_FORMAT_VERSION - 1));
        assert!(up.written);
        assert_eq!(std::fs::read(store.backup_path()).unwrap(), bytes);
        let s = store.read().unwrap().unwrap();
        assert_eq!(s.serial, 1);
        assert_eq!(s.tether_version, env!("CARGO_PKG_VERSION"));
        let again = store.upgrade_with(&guard, &steps).unwrap();
        assert!(!again.written);
    }

    #[test]
    fn sibling_appends() {
        assert_eq!(
            sibling(Path::new("a/t.json"), ".backup"),
            PathBuf::from("a/t.json.backup")
        );
    }
}
