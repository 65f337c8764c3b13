//! Files tether writes, and files it reads that a pull request controls.
//!
//! Invariants:
//! - A reader sees either the old content or the new, never a half write
//!   ([`write_atomic`]: temp file in the same directory, fsync, rename,
//!   directory fsync); a crash leaves at most a stray temp file beside the
//!   target, which the next write in that directory removes.
//! - tether never writes through a symbolic link at a path it creates: temp
//!   files are created exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`) under an
//!   unpredictable name, the final rename replaces a symlink at the target
//!   itself (never what it points to), and files opened in place (the lock
//!   sidecar, the audit log: [`open_no_follow`], [`append`]) are opened with
//!   `O_NOFOLLOW` and refused unless they are regular files with one link
//!   (a planted hard link would redirect the write too).
//! - Every file tether writes is mode 0600 ([`FILE_MODE`]) unless the caller
//!   keeps an existing file's mode (`fmt`, `secrets rekey`) or writes public
//!   documentation (`man --out-dir`); every directory it creates is 0700
//!   ([`create_dir_all`]).
//! - Reading never blocks on a FIFO or a device: files are opened with
//!   `O_NONBLOCK` and refused unless the opened file is a regular file
//!   ([`open_regular`], [`read_regular`]).
//!
//! This module is the only code allowed the raw writers that `clippy.toml`
//! disallows everywhere else.

#![allow(clippy::disallowed_methods)]

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Mode of every file tether writes (state, backups, locks, audit log,
/// snapshot packs and manifests, saved plans, age files).
pub const FILE_MODE: u32 = 0o600;
/// Mode of every directory tether creates (`.tether` and below).
pub const DIR_MODE: u32 = 0o700;

/// How many unpredictable temp names are tried before giving up.
const TEMP_ATTEMPTS: u32 = 16;

/// Writes `bytes` to `path` through a temp file in the same directory, fsync and rename.
///
/// `mode` sets the Unix permissions of the new file (default [`FILE_MODE`]),
/// exactly (the umask does not apply). A symlink at `path` is replaced by the
/// new file, never followed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = parent_dir(path);
    sweep_stale_temps(dir);
    let (mut f, tmp) = create_temp(path).map_err(|e| Error::io(path, e))?;
    let result = (|| -> std::io::Result<()> {
        set_mode(&f, mode.unwrap_or(FILE_MODE))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        #[cfg(unix)]
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Makes `to` a hard link of the regular file `from`, replacing `to` itself
/// (never what a symlink there points to): link under an unpredictable name
/// nothing exists at, then rename. False when links are not possible here
/// (the caller writes the bytes out instead).
pub fn link_replace(from: &Path, to: &Path) -> bool {
    let tmp = temp_path(to);
    let is_file = fs::symlink_metadata(from).is_ok_and(|m| m.is_file());
    if is_file && fs::hard_link(from, &tmp).is_ok() {
        if fs::rename(&tmp, to).is_ok() {
            return true;
        }
        let _ = fs::remove_file(&tmp);
    }
    false
}

/// A fresh temp file beside `path`, created exclusively: `.NAME.tmp-<pid>-<random>`.
/// Nothing that already exists at that name (a planted file or symlink) is
/// opened; the name cannot be guessed ahead.
pub fn create_temp(path: &Path) -> std::io::Result<(File, PathBuf)> {
    let mut last = None;
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = temp_path(path);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(FILE_MODE).custom_flags(no_follow_flags());
        }
        match opts.open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temp file name is free")))
}

/// `.NAME.tmp-<pid>-<random>` in the directory of `path` (not created).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tether".into());
    let random = uuid::Uuid::new_v4().simple().to_string();
    parent_dir(path).join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        &random[..16]
    ))
}

/// The directory a file at `path` lives in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Directories swept of stale temp files by this process (once each).
static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// Removes the temp files of writes that died in `dir` (a killed run):
/// `.NAME.tmp-<pid>[-<random>]` (and the older `NAME.backup.tmp-<pid>`)
/// whose pid is no live process of this host. Once per directory per process;
/// failures are ignored (a temp file left is harmless).
pub fn sweep_stale_temps(dir: &Path) {
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|p| p.into_inner());
        if !swept
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf())
        {
            return;
        }
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else {
            continue;
        };
        if pid != me && !pid_alive(pid) {
            // `remove_file` unlinks the entry itself, a symlink included.
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The pid in a temp file name tether makes, if `name` is one.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = if name.starts_with('.') {
        &name[name.rfind(".tmp-")? + ".tmp-".len()..]
    } else {
        // Backups of earlier builds: `tether.state.json.backup.tmp-<pid>`.
        &name[name.rfind(".backup.tmp-")? + ".backup.tmp-".len()..]
    };
    let (pid, random) = match rest.split_once('-') {
        Some((p, r)) => (p, Some(r)),
        None => (rest, None),
    };
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if random.is_some_and(|r| r.is_empty() || !r.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    pid.parse().ok()
}

/// The permission bits of an existing file, to keep them when it is
/// rewritten (`fmt`, `secrets set` / `rekey`); `None` when it cannot be read.
pub fn file_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Creates `dir` and its missing parents, each new one mode [`DIR_MODE`].
/// Directories that exist already are left as they are.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(DIR_MODE);
    }
    b.create(dir).map_err(|e| Error::io(dir, e))
}

/// Refuses `dir` when it is a symbolic link: a directory tether keeps its
/// records in is its own, never a link a pull request planted to send them
/// elsewhere. A `dir` that does not exist yet is fine.
pub fn refuse_linked_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::Usage(format!(
            "{} is a symbolic link: tether keeps its records in a directory of its own and never writes through a link",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Opens (creating, mode [`FILE_MODE`]) the file at `path` for reading and
/// writing in place, never through a symlink, and only when it is a regular
/// file. For the lock sidecar. A FIFO there does not block the open.
pub fn open_no_follow(path: &Path, create: bool) -> std::io::Result<File> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true).write(true);
    if create {
        opts.create(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(FILE_MODE)
            .custom_flags(no_follow_flags() | nonblock_flags());
    }
    let f = opts.open(path).map_err(|e| no_follow_error(path, e))?;
    require_own(&f)?;
    Ok(f)
}

/// Creates the file at `path`, which must not exist in any form (a
/// dangling symlink counts: `O_CREAT | O_EXCL` never follows one), for
/// writing a new, non-secret file (`discover --out`).
pub fn create_new(path: &Path) -> std::io::Result<File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Appends `bytes` to `path` (created mode [`FILE_MODE`]) with one write and
/// one sync: never through a symlink, only to a regular file, and an
/// existing file is brought to mode 0600. For the audit log.
pub fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(d) = path.parent() {
        create_dir_all(d)?;
    }
    let write = || -> std::io::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(FILE_MODE)
                .custom_flags(no_follow_flags() | nonblock_flags());
        }
        let mut f = opts.open(path).map_err(|e| no_follow_error(path, e))?;
        require_own(&f)?;
        set_mode(&f, FILE_MODE)?;
        f.write_all(bytes)?;
        f.sync_data()
    };
    write().map_err(|e| Error::io(path, e))
}

/// Opens `path` for reading, without blocking on a FIFO or a device, and
/// only when it is a regular file (symlinks to one are followed).
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(nonblock_flags());
    }
    let f = opts.open(path)?;
    require_regular(&f)?;
    Ok(f)
}

/// Reads a regular file whole ([`open_regular`]); a file over `max` bytes is
/// refused before it is read.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let f = open_regular(path)?;
    let len = f.metadata()?.len();
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is {len} bytes, larger than the {max} bytes tether reads"),
        ));
    }
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // The length can grow while reading: the bound holds anyway.
    f.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is larger than the {max} bytes tether reads"),
        ));
    }
    Ok(out)
}

/// What kind of file the metadata describes, for messages ("a FIFO (named pipe)").
pub fn kind_of(meta: &fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The open file is a regular file, else an error saying what it is.
fn require_regular(f: &File) -> std::io::Result<()> {
    let meta = f.metadata()?;
    if meta.is_file() {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("it is {}, not a regular file", kind_of(&meta)),
    ))
}

/// A file written in place is a regular file with no other name: a hard
/// link planted at the path would make the write land in another file.
fn require_own(f: &File) -> std::io::Result<()> {
    require_regular(f)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let links = f.metadata()?.nlink();
        if links > 1 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "it has {links} hard links; tether writes in place only to a file of its own (remove it)"
                ),
            ));
        }
    }
    Ok(())
}

/// `O_NOFOLLOW` on a symlink fails with `ELOOP`: say that it is a symlink.
fn no_follow_error(path: &Path, e: std::io::Error) -> std::io::Error {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is a symbolic link; tether does not write through symbolic links (remove it)",
        )
    } else {
        e
    }
}

#[cfg(unix)]
fn no_follow_flags() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

#[cfg(unix)]
fn nonblock_flags() -> i32 {
    rustix::fs::OFlags::NONBLOCK.bits() as i32
}

#[cfg(unix)]
fn set_mode(f: &File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_f: &File, _mode: u32) -> std::io::Result<()> {
    Ok(())
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    #[test]
    fn write_atomic_never_follows_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        let target = dir.path().join("plan.json");
        // Every temp name the old scheme could pick, for this pid and around it.
        let me = std::process::id();
        for pid in me.saturating_sub(200)..me + 200 {
            let _ = symlink(&victim, dir.path().join(format!(".plan.json.tmp-{pid}")));
        }
        write_atomic(&target, b"{}\n", Some(0o600)).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(fs::read_to_string(&target).unwrap(), "{}\n");
    }

    #[test]
    fn write_atomic_replaces_a_symlink_at_the_target_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        let target = dir.path().join("tether.state.json");
        symlink(&victim, &target).unwrap();
        write_atomic(&target, b"new\n", None).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(
            !fs::symlink_metadata(&target)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "new\n");
        assert_eq!(mode(&target), 0o600);
    }

    #[test]
    fn write_atomic_removes_temp_files_a_dead_run_left() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let stale = [
            dir.path().join(format!(".plan.json.tmp-{dead}")),
            dir.path()
                .join(format!(".other.json.tmp-{dead}-0123456789abcdef")),
            dir.path().join(format!("s.json.backup.tmp-{dead}")),
        ];
        for p in &stale {
            fs::write(p, "half").unwrap();
        }
        // A live process's temp file and files that only look alike stay.
        let live = dir
            .path()
            .join(format!(".x.tmp-{}-abc", std::process::id()));
        let keep = [
            live.clone(),
            dir.path().join(".notes.tmp-draft"),
            dir.path().join("plan.json.tmp-1"),
        ];
        for p in &keep {
            fs::write(p, "keep").unwrap();
        }
        write_atomic(&dir.path().join("plan.json"), b"{}", None).unwrap();
        for p in &stale {
            assert!(!p.exists(), "{} left behind", p.display());
        }
        for p in &keep {
            assert!(p.exists(), "{} removed", p.display());
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), keep.len() + 1, "{names:?}");
    }

    #[test]
    fn written_files_are_0600_whatever_the_umask_and_directories_0700() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/f");
        create_dir_all(p.parent().unwrap()).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        write_atomic(&p, b"x", None).unwrap();
        assert_eq!(mode(&p), 0o600);
        write_atomic(&p, b"x", Some(0o640)).unwrap();
        assert_eq!(mode(&p), 0o640, "a kept mode is kept exactly");
        let log = dir.path().join("a/audit.jsonl");
        fs::write(&log, "old\n").unwrap();
        fs::set_permissions(&log, fs::Permissions::from_mode(0o644)).unwrap();
        append(&log, b"new\n").unwrap();
        assert_eq!(mode(&log), 0o600);
        assert_eq!(fs::read_to_string(&log).unwrap(), "old\nnew\n");
    }

    #[test]
    fn append_and_open_in_place_refuse_symlinks_hard_links_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        let link = dir.path().join("audit.jsonl");
        symlink(&victim, &link).unwrap();
        let e = append(&link, b"line\n").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let e = open_no_follow(&link, true).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");

        let linked = dir.path().join("hard.jsonl");
        fs::hard_link(&victim, &linked).unwrap();
        let e = append(&linked, b"line\n").unwrap_err();
        assert!(e.to_string().contains("hard links"), "{e}");
        let e = open_no_follow(&linked, true).unwrap_err();
        assert!(e.to_string().contains("hard links"), "{e}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");

        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600)).unwrap();
        let e = open_no_follow(&fifo, true).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = read_regular(&fifo, 10).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    #[test]
    fn read_regular_refuses_what_is_too_large() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, "0123456789").unwrap();
        assert_eq!(read_regular(&p, 10).unwrap(), b"0123456789");
        assert!(read_regular(&p, 9).is_err());
    }

    #[test]
    fn temp_names_are_recognised_exactly() {
        assert_eq!(temp_pid(".plan.json.tmp-42"), Some(42));
        assert_eq!(temp_pid(".plan.json.tmp-42-00ff"), Some(42));
        assert_eq!(temp_pid("s.json.backup.tmp-7"), Some(7));
        assert_eq!(temp_pid(".plan.json.tmp-"), None);
        assert_eq!(temp_pid(".plan.json.tmp-x"), None);
        assert_eq!(temp_pid(".plan.json.tmp-4-zz"), None);
        assert_eq!(temp_pid("plan.json.tmp-4"), None);
        assert_eq!(temp_pid("plan.json"), None);
    }
}
