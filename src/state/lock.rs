//! The state lock: an OS advisory lock (`flock`) on a sidecar file
//! `<state>.lock`, with the holder's metadata ([`LockInfo`]) as JSON inside it.
//!
//! Invariants:
//! - The lock is on the sidecar, never on the state file, which is renamed over
//!   on every write (a lock on a replaced inode guards nothing).
//! - The OS lock is the truth on this host: it is held exactly as long as the
//!   [`LockGuard`] lives, and the kernel releases it when the process dies.
//!   The metadata only says who holds it.
//! - Metadata left behind by a process that died without dropping its guard
//!   (killed, power loss) makes the lock *stale*: it is reported with the exact
//!   `tether force-unlock ID` command and never cleared silently, because the
//!   dead run may have stopped half-way.
//! - A guard removes the lock file on drop, while still holding the OS lock; a
//!   waiter that then gets the OS lock on the removed inode notices and retries.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
            started: rfc3339_now(),
            tether_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Called with the OS lock free: the holder is known to be gone when it
    /// ran on this host (a live holder would hold the OS lock), whatever
    /// its pid is now (reused by another process, or a zombie not yet
    /// reaped). A holder on another host is respected.
    pub fn is_stale(&self) -> bool {
        self.host == hostname()
    }

    fn locked(&self, path: &Path, stale: bool, waited: Duration) -> Error {
        Error::Locked {
            path: path.to_path_buf(),
            lock: Box::new(self.clone()),
            stale,
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

/// Holds the state lock; dropping it removes the lock file and releases the lock.
#[derive(Debug)]
pub struct LockGuard {
    file: Option<File>,
    path: PathBuf,
    state: PathBuf,
    info: LockInfo,
}

impl LockGuard {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The state file this guard locks.
    pub fn state_path(&self) -> &Path {
        &self.state
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Remove while the OS lock is still held, and only our own file.
            if same_file(&file, &self.path) {
                let _ = fs::remove_file(&self.path);
            }
            drop(file);
        }
    }
}

/// Takes the lock of the state at `state` for `operation`, waiting up to `timeout`.
///
/// Fails with [`Error::Locked`] when another run holds it after `timeout`, or at
/// once when the lock was left by a process that is gone on this host (stale).
pub fn acquire(state: &Path, operation: &str, timeout: Duration) -> Result<LockGuard> {
    let path = lock_path(state);
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
                Some(info) if info.is_stale() => {
                    return Err(info.locked(&path, true, begun.elapsed()));
                }
                // Metadata of a holder elsewhere (or a pid that lives on): respect it.
                Some(info) => Some(info),
                // Empty or unreadable metadata under a free OS lock: nobody holds it.
                None => {
                    let info = LockInfo::new(operation);
                    write_info(&mut file, &info).map_err(|e| Error::io(&path, e))?;
                    tracing::debug!(lock = %path.display(), id = %info.id, "state lock taken");
                    return Ok(LockGuard {
                        file: Some(file),
                        path,
                        state: state.to_path_buf(),
                        info,
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
                File::open(&path).ok().and_then(|mut f| read_info(&mut f))
            });
            let info = holder.unwrap_or_else(LockInfo::unknown);
            return Err(info.locked(&path, false, timeout));
        }
        std::thread::sleep(RETRY_EVERY.min(timeout - waited));
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
    let mut file = match fs::OpenOptions::new().read(true).write(true).open(&path) {
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
        fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    }
    Ok(info)
}

/// Reads the lock's metadata without taking it (for messages and tests).
pub fn read(state: &Path) -> Option<LockInfo> {
    let mut f = File::open(lock_path(state)).ok()?;
    read_info(&mut f)
}

fn open_lock_file(path: &Path) -> Result<File> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(|e| Error::io(path, e))
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
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Whether a process with this pid exists on this host.
#[cfg(unix)]
pub fn pid_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists, but belongs to someone else.
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

#[cfg(not(unix))]
pub fn pid_alive(_pid: u32) -> bool {
    true
}

/// This host's name.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let name = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into())
}

/// Who runs tether: `USER` or `LOGNAME`, else `uid<N>` (lock holders and
/// the audit log name the same person).
pub fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(uid_name)
}

fn uid_name() -> String {
    #[cfg(unix)]
    {
        format!("uid{}", rustix::process::getuid().as_raw())
    }
    #[cfg(not(unix))]
    {
        "unknown".into()
    }
}

/// Now as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

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
                lock,
                stale,
                waited_ms,
                ..
            } => {
                assert_eq!(lock.id, info.id);
                assert!(!stale);
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
    fn dead_pid_metadata_is_stale_and_force_unlock_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let mut info = LockInfo::new("apply");
        info.pid = dead_pid();
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        let e = acquire(&state, "plan", Duration::from_secs(5)).unwrap_err();
        assert!(matches!(e, Error::Locked { stale: true, .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains(&format!("tether force-unlock {}", info.id))
        );
        assert!(force_unlock(&state, "nope").is_err());
        assert_eq!(force_unlock(&state, &info.id).unwrap(), info);
        assert!(!lock_path(&state).exists());
    }

    #[test]
    fn metadata_under_a_free_lock_is_stale_even_when_its_pid_lives() {
        // A dead holder's pid reused by another process (here: this one).
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let mut info = LockInfo::new("apply");
        info.pid = std::process::id();
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        let e = acquire(&state, "plan", Duration::from_secs(5)).unwrap_err();
        assert!(matches!(e, Error::Locked { stale: true, .. }), "{e:?}");
        assert!(
            e.to_string().contains("no process holds it any more"),
            "{e}"
        );
        // From another host, the same metadata is respected (not stale).
        info.host = "elsewhere.example".into();
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        let e = acquire(&state, "plan", Duration::from_millis(50)).unwrap_err();
        assert!(matches!(e, Error::Locked { stale: false, .. }), "{e:?}");
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
