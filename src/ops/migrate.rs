//! `tether backend migrate --to pg|local`: moves the state (its lineage and
//! serial), every snapshot version, the audit log and the last drift record
//! from one backend of a config to the other, and verifies the copy.
//!
//! Invariants:
//! - The source is only read. Both backends' state and snapshot locks are
//!   held for the whole run.
//! - Everything that would stop the copy is found before anything is
//!   written: a target state other than the source's, target versions that
//!   are not the source's first versions byte for byte, a target audit log
//!   other than the source's.
//! - The copy goes in the order a crash cannot make misleading: snapshot
//!   versions (each invisible until its manifest lands), the audit log
//!   (one write), the state last. An interrupted migration is run again:
//!   what was copied is checked equal and kept, the rest is copied.
//! - Verified at the end: every version's stored bytes (manifest and pack
//!   segments), the state's bytes and the audit lines hash the same on
//!   both sides.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{BackendKind, Settings};
use crate::error::{Error, Result};
use crate::pg::Pg;
use crate::snapshot::Store;
use crate::state::StateStore;

use super::stores;

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub from: String,
    pub to: String,
    pub to_kind: BackendKind,
    /// The state's serial and lineage (none: there was no state).
    pub state: Option<(u64, String)>,
    pub state_copied: bool,
    pub versions: usize,
    pub versions_copied: usize,
    pub audit_lines: usize,
    pub audit_copied: bool,
    /// The last drift record (`drift --since-last`): there was one, copied.
    pub drift_record: bool,
    pub drift_copied: bool,
    /// SHA-256 over every digest compared (state, versions, audit).
    pub digest: String,
}

/// One backend's three stores.
struct Side {
    name: String,
    state: StateStore,
    snapshots: Store,
    audit: Audit,
    drift: super::since::History,
}

enum Audit {
    File(std::path::PathBuf),
    Pg(std::sync::Arc<Pg>),
}

impl Audit {
    fn lines(&self) -> Result<Vec<String>> {
        match self {
            Audit::Pg(pg) => pg.audit_lines(),
            Audit::File(path) => match crate::fsutil::read_regular(path, u64::MAX) {
                Ok(b) => {
                    let text = String::from_utf8(b).map_err(|_| {
                        Error::io(
                            path,
                            std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                "the audit log is not UTF-8",
                            ),
                        )
                    })?;
                    Ok(text
                        .lines()
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(Error::io(path, e)),
            },
        }
    }

    fn write_all(&self, lines: &[String]) -> Result<()> {
        match self {
            Audit::Pg(pg) => pg.audit_append(lines.to_vec()),
            Audit::File(path) => {
                if let Some(dir) = path.parent() {
                    crate::fsutil::create_dir_all(dir)?;
                }
                let mut text = lines.join("\n");
                text.push('\n');
                crate::fsutil::write_atomic(path, text.as_bytes(), Some(0o600))
            }
        }
    }
}

/// Copies the config's stores of the other backend into `to`.
pub fn migrate(
    dir: &Path,
    settings: &Settings,
    to: BackendKind,
    lock_timeout: Duration,
) -> Result<Migrated> {
    let pg = Pg::shared(&stores::target(settings))?;
    let local = Side {
        name: format!(
            "local files ({}, {})",
            settings.state.display(),
            settings.snapshots.display()
        ),
        state: stores::local_state(dir, settings).store,
        snapshots: stores::local_snapshots(dir, settings),
        audit: Audit::File(stores::local_audit(dir)),
        drift: super::since::History::local(dir),
    };
    let remote = Side {
        name: pg.shown(),
        state: StateStore::pg(pg.clone()),
        snapshots: Store::pg(pg.clone()),
        audit: Audit::Pg(pg.clone()),
        drift: super::since::History::Pg(pg),
    };
    let (src, dst) = match to {
        BackendKind::Pg => (local, remote),
        BackendKind::Local => (remote, local),
    };
    const OP: &str = "backend migrate";
    let _src_state = src.state.lock(OP, lock_timeout)?;
    let dst_state = dst.state.lock(OP, lock_timeout)?;
    let _src_snap = src.snapshots.lock(OP, lock_timeout)?;
    let dst_snap = dst.snapshots.lock(OP, lock_timeout)?;
    let refuse = |what: String| {
        Error::Usage(format!(
            "cannot migrate into {}: {what}; tether copies only into an empty backend (or finishes a \
         copy that was interrupted) and changed nothing",
            dst.name
        ))
    };

    // Everything that would stop the copy, before anything is written.
    let src_bytes = src.state.pull(None)?;
    let dst_bytes = dst.state.pull(None)?;
    let state_copied = match (&src_bytes, &dst_bytes) {
        (_, None) => src_bytes.is_some(),
        (Some(a), Some(b)) if a == b => false,
        (_, Some(_)) => return Err(refuse("it already holds another state".into())),
    };
    let src_ids = src.snapshots.versions()?;
    let dst_ids = dst.snapshots.versions()?;
    if dst_ids.len() > src_ids.len() || dst_ids[..] != src_ids[..dst_ids.len()] {
        return Err(refuse(format!(
            "it holds snapshot versions {} that are not the source's first ones",
            crate::snapshot::id_ranges(&dst_ids)
        )));
    }
    // The source is locked and only read: each of its digests is computed once.
    let mut src_digests = std::collections::HashMap::new();
    let mut src_digest = |id| -> Result<String> {
        if let Some(d) = src_digests.get(&id) {
            return Ok(String::clone(d));
        }
        let d = src.snapshots.stored_digest(id)?;
        src_digests.insert(id, d.clone());
        Ok(d)
    };
    for &id in &dst_ids {
        if dst.snapshots.stored_digest(id)? != src_digest(id)? {
            return Err(refuse(format!(
                "its snapshot version {id} differs from the source's"
            )));
        }
    }
    let src_audit = src.audit.lines()?;
    let dst_audit = dst.audit.lines()?;
    let audit_copied = match (src_audit.is_empty(), dst_audit.is_empty()) {
        (_, true) => !src_audit.is_empty(),
        _ if dst_audit == src_audit => false,
        _ => return Err(refuse("it already holds another audit log".into())),
    };

    let src_drift = src.drift.load()?;
    let dst_drift = dst.drift.load()?;
    let drift_copied = match (&src_drift, &dst_drift) {
        (Some(_), None) => true,
        (_, None) => false,
        (Some(a), Some(b)) if a == b => false,
        (_, Some(_)) => return Err(refuse("it already holds another drift record".into())),
    };

    // The copy: versions, audit, the drift record, state last.
    let copy = &src_ids[dst_ids.len()..];
    for &id in copy {
        dst.snapshots.copy_version(&dst_snap, &src.snapshots, id)?;
    }
    if audit_copied {
        dst.audit.write_all(&src_audit)?;
    }
    if let (true, Some(r)) = (drift_copied, &src_drift) {
        dst.drift.save(r)?;
    }
    let state = match &src_bytes {
        Some(b) if state_copied => Some(dst.state.copy_in(b, &dst_state)?),
        Some(_) => dst.state.read()?,
        None => None,
    };

    // Verified: the same bytes on both sides.
    let mut all = Sha256::new();
    let s_src = src.state.pull(None)?;
    let s_dst = dst.state.pull(None)?;
    if s_src != s_dst {
        return Err(Error::Usage(format!(
            "the state in {} does not match the source's after the copy",
            dst.name
        )));
    }
    all.update(Sha256::digest(s_src.unwrap_or_default()));
    let ids_now = dst.snapshots.versions()?;
    if ids_now != src_ids {
        return Err(Error::Usage(format!(
            "{} holds versions {} after the copy, the source {}",
            dst.name,
            crate::snapshot::id_ranges(&ids_now),
            crate::snapshot::id_ranges(&src_ids)
        )));
    }
    for &id in &src_ids {
        let a = src_digest(id)?;
        if dst.snapshots.stored_digest(id)? != a {
            return Err(Error::Usage(format!(
                "snapshot version {id} in {} does not match the source's after the copy",
                dst.name
            )));
        }
        all.update(a.as_bytes());
    }
    if dst.audit.lines()? != src_audit {
        return Err(Error::Usage(format!(
            "the audit log in {} does not match the source's after the copy",
            dst.name
        )));
    }
    for l in &src_audit {
        all.update(l.as_bytes());
        all.update(b"\n");
    }
    if dst.drift.load()? != src_drift {
        return Err(Error::Usage(format!(
            "the drift record in {} does not match the source's after the copy",
            dst.name
        )));
    }
    Ok(Migrated {
        from: src.name.clone(),
        to: dst.name.clone(),
        to_kind: to,
        state: state.map(|s| (s.serial, s.lineage)),
        state_copied,
        versions: src_ids.len(),
        versions_copied: copy.len(),
        audit_lines: src_audit.len(),
        audit_copied,
        drift_record: src_drift.is_some(),
        drift_copied,
        digest: hex::encode(all.finalize()),
    })
}
