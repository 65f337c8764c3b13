//! The state lock: an OS advisory lock (`flock`) on a sidecar file
//! `<state>.lock`, with the holder's metadata ([`LockInfo`]) as JSON inside it.
//!
//! Invariants:
//! - The lock is on the sidecar, never on the state file, which is renamed
//!   over on every write (a lock on a replaced inode guards nothing).
//! - The OS lock is the truth: it is held exactly as long as the
//!   [`LockGuard`] lives, and the kernel releases it when the process dies.
//!   The metadata only says who holds it.
//! - Metadata under a free OS lock was left by a run that died without
//!   dropping its guard (killed, power loss): its holder is gone, so the lock
//!   is taken over at once, and the takeover is reported (holder, pid, host,
//!   operation, start, lock ID) through [`set_takeover_reporter`] and on the
//!   guard ([`LockGuard::took_over`]). No `force-unlock` is needed.
//! - Another host's metadata under a free OS lock is taken over the same way
//!   when the sidecar is on a local file system (a flock there is seen by
//!   every process that can open the file). On a network file system
//!   (NFS, SMB, …), whose flock may not reach other hosts, it is respected:
//!   the run waits for `--lock-timeout` and exits 4, and `force-unlock`
//!   clears it.
//! - The sidecar is opened with `O_NOFOLLOW|O_NONBLOCK` and must be a regular
//!   file: a symlink (or a FIFO, a directory) there is refused with an error,
//!   never written through.
//! - A guard removes the lock file on drop, while still holding the OS lock; a
//!   waiter that then gets the OS lock on the removed inode notices and retries.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, LockOf, Result};
use crate::fsutil;

/// How long to sleep between attempts while waiting for a lock.
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// Who holds a lock, as written inside the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LockInfo {
    /// A UUID; `force-unlock` needs it exactly.
    pub id: String,
    /// `user@host`.
    pub holder: String,
    pub pid: u32,
    pub host: String,
    /// The command that took the lock (`apply`, `state rm`, …).
    pub operation: String,
    /// When the lock was taken (RFC 3339, UTC).
    pub started: String,
    pub tether_version: String,
}

impl LockInfo {
    fn new(operation: &str) -> LockInfo {
        let host = hostname();
        let user = user_name();
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            holder: format!("{user}@{host}"),
            pid: std::process::id(),
            host,
            operation: operation.to_string(),
            started: crate::clock::rfc3339_now(),
            tether_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Called with the OS lock free: whether the holder is known to be gone.
    /// A live holder would hold the OS lock, whatever its pid is now (reused
    /// by another process, or a zombie not yet reaped). Only a holder on
    /// another host, behind a file system whose flock may not reach that
    /// host, is not known to be gone.
    fn is_gone(&self, file: &File) -> bool {
        self.host == hostname() || !on_network_fs(file)
    }

    fn locked(&self, path: &Path, of: LockOf, waited: Duration) -> Error {
        Error::Locked {
            path: path.to_path_buf(),
            of,
            lock: Box::new(crate::error::LockHolder {
                id: self.id.clone(),
                holder: self.holder.clone(),
                pid: self.pid,
                host: self.host.clone(),
                operation: self.operation.clone(),
                started: self.started.clone(),
            }),
            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn unknown() -> LockInfo {
        let u = "(unknown)".to_string();
        LockInfo {
            id: u.clone(),
            holder: u.clone(),
            pid: 0,
            host: u.clone(),
            operation: u.clone(),
            started: u.clone(),
            tether_version: u,
        }
    }
}

/// `<state>.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    crate::state::store::sibling(state, ".lock")
}

/// Called when a lock left by a dead run is taken over: the lock file and
/// the dead holder's metadata.
pub type TakeoverReporter = Box<dyn Fn(&Path, LockOf, &LockInfo) + Send + Sync>;

static REPORTER: OnceLock<TakeoverReporter> = OnceLock::new();

/// Sets, once per process, who is told about takeovers (the command layer
/// prints a warning). Without one, a takeover is a `warn` log line.
pub fn set_takeover_reporter(f: TakeoverReporter) {
    let _ = REPORTER.set(f);
}

fn report_takeover(path: &Path, of: LockOf, previous: &LockInfo) {
    match REPORTER.get() {
        Some(f) => f(path, of, previous),
        None => tracing::warn!(
            lock = %path.display(),
            of = of.subject(),
            id = %previous.id,
            holder = %previous.holder,
            pid = previous.pid,
            host = %previous.host,
            operation = %previous.operation,
            started = %previous.started,
            "took over a lock left by a run that is gone"
        ),
    }
}

/// Holds the state lock; dropping it removes the lock file and releases the lock.
pub struct LockGuard {
    /// PostgreSQL: the session holding the advisory lock (dropped last).
    session: Option<crate::pg::lock::Session>,
    file: Option<File>,
    path: PathBuf,
    state: PathBuf,
    info: LockInfo,
    took_over: Option<LockInfo>,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("pg", &self.session.is_some())
            .finish()
    }
}

impl LockGuard {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// PostgreSQL: what a write under this lock checks (the session still
    /// holds the advisory lock, the row is this run's).
    pub fn holding(&self) -> Option<crate::pg::lock::Holding> {
        self.session.as_ref().and_then(|s| s.holding())
    }

    /// The state file this guard locks.
    pub fn state_path(&self) -> &Path {
        &self.state
    }

    /// The metadata of the dead run whose lock this guard took over, if any.
    pub fn took_over(&self) -> Option<&LockInfo> {
        self.took_over.as_ref()
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Remove while the OS lock is still held, and only our own file.
            if same_file(&file, &self.path) {
                let _ = std::fs::remove_file(&self.path);
            }
            drop(file);
        }
    }
}

/// Takes the lock of the state at `state` for `operation`, waiting up to `timeout`.
///
/// Fails with [`Error::Locked`] when another run holds it after `timeout`. A
/// lock a dead run left (OS lock free) is taken over and reported.
pub fn acquire(state: &Path, operation: &str, timeout: Duration) -> Result<LockGuard> {
    acquire_for(state, LockOf::State, operation, timeout)
}

/// [`acquire`] of the lock `<target>.lock`, named in messages as `of`.
pub fn acquire_for(
    target: &Path,
    of: LockOf,
    operation: &str,
    timeout: Duration,
) -> Result<LockGuard> {
    let state = target;
    let path = lock_path(state);
    if let Some(dir) = path.parent() {
        fsutil::create_dir_all(dir)?;
    }
    let begun = Instant::now();
    let mut replaced = 0u32;
    loop {
        let mut file = open_lock_file(&path)?;
        let holder: Option<LockInfo> = if try_lock(&file).map_err(|e| Error::io(&path, e))? {
            if !same_file(&file, &path) {
                // The previous holder removed the file as we opened it: retry on the new one.
                replaced += 1;
                if replaced > 1000 {
                    return Err(Error::io(
                        &path,
                        std::io::Error::other("the lock file keeps being replaced"),
                    ));
                }
                continue;
            }
            match read_info(&mut file) {
                // A holder elsewhere that the OS lock may not show: respect it.
                Some(info) if !info.is_gone(&file) => Some(info),
                // Nobody holds it: empty or unreadable metadata, or a dead run's.
                previous => {
                    let info = LockInfo::new(operation);
                    write_info(&mut file, &info).map_err(|e| Error::io(&path, e))?;
                    tracing::debug!(lock = %path.display(), id = %info.id, "lock taken");
                    if let Some(p) = &previous {
                        report_takeover(&path, of, p);
                    }
                    return Ok(LockGuard {
                        session: None,
                        file: Some(file),
                        path,
                        state: state.to_path_buf(),
                        info,
                        took_over: previous,
                    });
                }
            }
        } else {
            read_info(&mut file)
        };
        drop(file);
        let waited = begun.elapsed();
        if waited >= timeout {
            // A holder that has just taken the lock may not have written its metadata yet.
            let holder = holder.or_else(|| {
                std::thread::sleep(Duration::from_millis(20));
                fsutil::open_no_follow(&path, false)
                    .ok()
                    .and_then(|mut f| read_info(&mut f))
            });
            let info = holder.unwrap_or_else(LockInfo::unknown);
            return Err(info.locked(&path, of, timeout));
        }
        std::thread::sleep(RETRY_EVERY.min(timeout - waited));
    }
}

/// How many times (20 ms apart) a run that found the PostgreSQL lock held
/// asks again for a holder whose row is not written yet.
const HOLDER_GRACE: u32 = 25;

/// The PostgreSQL lock of the state.
pub const PG_STATE: &str = "state";
/// The PostgreSQL lock of the snapshot store.
pub const PG_SNAPSHOTS: &str = "snapshots";

impl From<&LockInfo> for crate::pg::lock::LockRow {
    fn from(i: &LockInfo) -> Self {
        crate::pg::lock::LockRow {
            id: i.id.clone(),
            holder: i.holder.clone(),
            pid: i.pid,
            host: i.host.clone(),
            operation: i.operation.clone(),
            started: i.started.clone(),
            tether_version: i.tether_version.clone(),
        }
    }
}

impl From<crate::pg::lock::LockRow> for LockInfo {
    fn from(r: crate::pg::lock::LockRow) -> Self {
        LockInfo {
            id: r.id,
            holder: r.holder,
            pid: r.pid,
            host: r.host,
            operation: r.operation,
            started: r.started,
            tether_version: r.tether_version,
        }
    }
}

/// [`acquire_for`] of the PostgreSQL lock `name` of `pg`'s workspace:
/// a session-level advisory lock on a connection of its own, and its row.
/// `shown` names it in messages. A row under a free advisory lock was left
/// by a run that is gone: it is replaced and reported.
pub fn acquire_pg(
    pg: &std::sync::Arc<crate::pg::Pg>,
    name: &str,
    shown: &Path,
    of: LockOf,
    operation: &str,
    timeout: Duration,
) -> Result<LockGuard> {
    let begun = Instant::now();
    let mut session = crate::pg::lock::Session::open(pg, name)?;
    let info = LockInfo::new(operation);
    let row = crate::pg::lock::LockRow::from(&info);
    let mut unnamed = 0;
    loop {
        match session.attempt(&row)? {
            crate::pg::lock::Attempt::Taken(previous) => {
                let previous = previous.map(LockInfo::from);
                tracing::debug!(lock = %shown.display(), id = %info.id, "lock taken");
                if let Some(p) = &previous {
                    report_takeover(shown, of, p);
                }
                return Ok(LockGuard {
                    session: Some(session),
                    file: None,
                    path: shown.to_path_buf(),
                    state: shown.to_path_buf(),
                    info,
                    took_over: previous,
                });
            }
            crate::pg::lock::Attempt::Held(holder) => {
                let waited = begun.elapsed();
                if waited < timeout {
                    std::thread::sleep(RETRY_EVERY.min(timeout - waited));
                    continue;
                }
                // A holder that has just taken the advisory lock may not have
                // written its row yet: ask again briefly before naming no one.
                if holder.is_none() && unnamed < HOLDER_GRACE {
                    unnamed += 1;
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                let info = holder.map(LockInfo::from).unwrap_or_else(LockInfo::unknown);
                return Err(info.locked(shown, of, timeout));
            }
        }
    }
}

/// The holder of the PostgreSQL lock `name`, as its row says.
pub fn read_pg(pg: &std::sync::Arc<crate::pg::Pg>, name: &str) -> Result<Option<LockInfo>> {
    Ok(crate::pg::lock::read(pg, name)?.map(LockInfo::from))
}

/// [`force_unlock`] of the PostgreSQL lock `name`: its row is removed when
/// it has `id` and no live session holds the advisory lock.
pub fn force_unlock_pg(
    pg: &std::sync::Arc<crate::pg::Pg>,
    name: &str,
    shown: &Path,
    id: &str,
) -> Result<LockInfo> {
    use crate::pg::lock::Unlocked;
    let refuse = |reason: String| Error::Unlock {
        path: shown.to_path_buf(),
        reason,
    };
    match crate::pg::lock::force_unlock(pg, name, id)? {
        Unlocked::Removed(row) => Ok(row.into()),
        Unlocked::NoRow => Err(refuse("there is no lock row: it is not locked".into())),
        Unlocked::OtherId(info) => Err(refuse(format!(
            "lock ID `{id}` does not match the lock held, `{}` (by {}, pid {}, `{}` since {}); \
             force-unlock needs the exact ID",
            info.id, info.holder, info.pid, info.operation, info.started
        ))),
        Unlocked::Held(info) => Err(refuse(format!(
            "lock {id} is held by a running process ({}, pid {} on {}, `{}`); \
             tether does not remove a lock a live run holds: wait for it or stop that run",
            info.holder, info.pid, info.host, info.operation
        ))),
    }
}

/// Removes the lock `id` of the state at `state`, when no live process holds it.
/// Returns the removed lock's metadata.
pub fn force_unlock(state: &Path, id: &str) -> Result<LockInfo> {
    let path = lock_path(state);
    let refuse = |reason: String| Error::Unlock {
        path: path.clone(),
        reason,
    };
    let mut file = match fsutil::open_no_follow(&path, false) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(
                "there is no lock file: the state is not locked".into(),
            ));
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let Some(info) = read_info(&mut file) else {
        return Err(refuse(
            "the lock file holds no lock ID (nothing to unlock: the next run takes it over)".into(),
        ));
    };
    if info.id != id {
        return Err(refuse(format!(
            "lock ID `{id}` does not match the lock held, `{}` (by {}, pid {}, `{}` since {}); \
             force-unlock needs the exact ID",
            info.id, info.holder, info.pid, info.operation, info.started
        )));
    }
    if !try_lock(&file).map_err(|e| Error::io(&path, e))? {
        return Err(refuse(format!(
            "lock {id} is held by a running process ({}, pid {} on {}, `{}`); \
             tether does not remove a lock a live run holds: wait for it or stop that run",
            info.holder, info.pid, info.host, info.operation
        )));
    }
    if same_file(&file, &path) {
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    }
    Ok(info)
}

/// Reads the lock's metadata without taking it (for messages and tests).
pub fn read(state: &Path) -> Option<LockInfo> {
    let mut f = fsutil::open_no_follow(&lock_path(state), false).ok()?;
    read_info(&mut f)
}

fn open_lock_file(path: &Path) -> Result<File> {
    fsutil::open_no_follow(path, true).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidInput {
            // A symlink or not a regular file: say what to do about it.
            Error::io(
                path,
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "refusing the lock file: {e}; it must be a regular file tether creates"
                    ),
                ),
            )
        } else {
            Error::io(path, e)
        }
    })
}

fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(64 * 1024).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_info(file: &mut File, info: &LockInfo) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&bytes)?;
    file.sync_all()
}

/// Non-blocking exclusive lock: `Ok(false)` when another open file holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// The open file is still the one at `path` (not removed or replaced).
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Whether the file lives on a network file system, where a flock may not
/// be seen by other hosts (NFS, SMB/CIFS, Ceph, AFS, Coda, 9P, FUSE).
#[cfg(target_os = "linux")]
fn on_network_fs(file: &File) -> bool {
    const NETWORK: [u32; 10] = [
        0x6969,      // NFS
        0x517B,      // SMB
        0xFF53_4D42, // CIFS
        0xFE53_4D42, // SMB2
        0x00C3_6400, // Ceph
        0x5346_414F, // AFS
        0x6B41_4653, // kAFS
        0x7375_7245, // Coda
        0x0102_1997, // 9P
        0x6573_5546, // FUSE (sshfs, …)
    ];
    match rustix::fs::fstatfs(file) {
        Ok(st) => NETWORK.contains(&(st.f_type as u32)),
        // Unknown: treat as shared, the careful side.
        Err(_) => true,
    }
}

#[cfg(not(target_os = "linux"))]
fn on_network_fs(_file: &File) -> bool {
    false
}

/// Whether a process with this pid exists on this host.
pub fn pid_alive(pid: u32) -> bool {
    fsutil::pid_alive(pid)
}

pub use crate::host::{hostname, user_name};

#[cfg(all(test, unix))]
#[allow(clippy::disallowed_methods)] // fixtures are written as they are
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn second_acquire_in_process_waits_then_fails_and_release_frees() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let g = acquire(&state, "test", Duration::ZERO).unwrap();
        let info = read(&state).unwrap();
        assert_eq!(&info, g.info());
        let e = acquire(&state, "other", Duration::from_millis(120)).unwrap_err();
        match e {
            Error::Locked {
                lock, waited_ms, ..
            } => {
                assert_eq!(lock.id, info.id);
                assert_eq!(waited_ms, 120);
            }
            other => panic!("unexpected {other:?}"),
        }
        drop(g);
        assert!(!lock_path(&state).exists());
        let g2 = acquire(&state, "again", Duration::ZERO).unwrap();
        assert_ne!(g2.info().id, info.id);
    }

    #[test]
    fn a_dead_runs_lock_is_taken_over_without_force_unlock() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let mut info = LockInfo::new("apply");
        info.pid = dead_pid();
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        let g = acquire(&state, "plan", Duration::ZERO).unwrap();
        assert_eq!(g.took_over(), Some(&info));
        assert_ne!(g.info().id, info.id);
        assert_eq!(read(&state).as_ref(), Some(g.info()));
        drop(g);
        assert!(!lock_path(&state).exists());
        // A clean lock file (or none) is no takeover.
        let g = acquire(&state, "plan", Duration::ZERO).unwrap();
        assert_eq!(g.took_over(), None);
    }

    #[test]
    fn a_dead_runs_lock_is_taken_over_even_when_its_pid_lives_or_its_host_differs() {
        // A dead holder's pid reused by another process (here: this one).
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let mut info = LockInfo::new("apply");
        info.pid = std::process::id();
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        let g = acquire(&state, "plan", Duration::ZERO).unwrap();
        assert_eq!(g.took_over(), Some(&info));
        drop(g);
        // Another host's metadata under a free flock on a local disk: nobody
        // holds it either (a temp dir is local; on NFS it would be respected).
        info.host = "elsewhere.example".into();
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        let f = File::open(lock_path(&state)).unwrap();
        if !on_network_fs(&f) {
            let g = acquire(&state, "plan", Duration::ZERO).unwrap();
            assert_eq!(g.took_over(), Some(&info));
        }
    }

    #[test]
    fn force_unlock_still_clears_a_lock_by_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let mut info = LockInfo::new("apply");
        info.pid = dead_pid();
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        assert!(force_unlock(&state, "nope").is_err());
        assert_eq!(force_unlock(&state, &info.id).unwrap(), info);
        assert!(!lock_path(&state).exists());
    }

    #[test]
    fn the_lock_file_is_never_followed_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        std::os::unix::fs::symlink(&victim, lock_path(&state)).unwrap();
        let e = acquire(&state, "state rm", Duration::ZERO).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("symbolic link"), "{msg}");
        assert!(msg.contains("s.json.lock"), "{msg}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        // A FIFO or a directory there is refused too, without blocking.
        fs::remove_file(lock_path(&state)).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            lock_path(&state),
            rustix::fs::Mode::from(0o600),
        )
        .unwrap();
        let e = acquire(&state, "state rm", Duration::ZERO).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        fs::remove_file(lock_path(&state)).unwrap();
        fs::create_dir(lock_path(&state)).unwrap();
        assert!(acquire(&state, "state rm", Duration::ZERO).is_err());
    }

    #[test]
    fn the_lock_file_is_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("sub/s.json");
        let g = acquire(&state, "apply", Duration::ZERO).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&lock_path(&state)), 0o600);
        assert_eq!(mode(&dir.path().join("sub")), 0o700);
        drop(g);
    }

    #[test]
    fn force_unlock_refuses_a_live_lock() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let g = acquire(&state, "apply", Duration::ZERO).unwrap();
        let e = force_unlock(&state, &g.info().id).unwrap_err();
        assert!(e.to_string().contains("running process"), "{e}");
        assert!(lock_path(&state).exists());
    }

    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }
}
