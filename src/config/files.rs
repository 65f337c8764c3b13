//! Reading config files: which files, in which order, and how their bytes become text.

use std::fs;
use std::path::Path;

use crate::diag::Diagnostic;
use crate::diag::{FileId, SourceFile, Sources, Span};
use crate::error::{Error, Result};

/// Largest config file read, in bytes; larger files are refused, not loaded.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The `*.hcl` entries directly in `dir`, in name order (hidden ones left
/// out). Every entry is listed, whatever it is: one that is not a readable
/// regular file (a dangling or looping symlink, a directory, a FIFO) becomes
/// a diagnostic when read ([`read_file`]), never a file silently skipped.
pub fn list(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let rd = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let is_hcl = path.extension().is_some_and(|e| e == "hcl");
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if is_hcl && !hidden {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Reads every config file of `dir`.
pub fn read_dir(dir: &Path) -> Result<Sources> {
    let mut sources = Sources::default();
    for path in list(dir)? {
        sources.add(read_file(dir, &path)?);
    }
    Ok(sources)
}

/// Reads one file, recording (not failing on) problems: a file that cannot be
/// read (missing, a dangling or looping symlink, not a regular file, no
/// permission), an oversized one, and encoding problems. Never blocks on a
/// FIFO or a device.
pub fn read_file(dir: &Path, path: &Path) -> Result<SourceFile> {
    let name = display_name(dir, path);
    let unreadable = |why: String| {
        let mut f = SourceFile::new(name.clone(), path.to_path_buf(), String::new());
        f.problem = Some((0, format!("{name} cannot be read: {why}")));
        f
    };
    let bytes = match crate::fsutil::read_regular(path, MAX_FILE_BYTES) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            let mut f = SourceFile::new(name, path.to_path_buf(), String::new());
            f.problem = Some((
                0,
                format!("file is {len} bytes, larger than the {MAX_FILE_BYTES} bytes tether reads"),
            ));
            return Ok(f);
        }
        Err(e) => return Ok(unreadable(why_unreadable(path, &e))),
    };
    Ok(decode(name, path, bytes))
}

/// Why a file cannot be read, in words: a dangling symlink names its target.
fn why_unreadable(path: &Path, e: &std::io::Error) -> String {
    let link = fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.file_type().is_symlink())
        .and_then(|_| fs::read_link(path).ok());
    match (e.kind(), link) {
        (std::io::ErrorKind::NotFound, Some(target)) => format!(
            "it is a symbolic link to {}, which does not exist",
            target.display()
        ),
        (std::io::ErrorKind::NotFound, None) => "no such file".into(),
        (std::io::ErrorKind::PermissionDenied, _) => "permission denied".into(),
        _ if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            "it is a symbolic link that loops (too many levels of symbolic links)".into()
        }
        _ => e.to_string(),
    }
}

/// The name shown in diagnostics: relative to the config dir when inside it.
pub fn display_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// UTF-8 (an optional BOM is dropped); anything else is recorded as a problem.
pub fn decode(name: String, path: &Path, bytes: Vec<u8>) -> SourceFile {
    let path = path.to_path_buf();
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let mut f = SourceFile::new(name, path, String::new());
        f.problem = Some((
            0,
            "file is UTF-16 encoded; tether reads UTF-8 (convert it with `iconv -f UTF-16 -t UTF-8`)"
                .into(),
        ));
        return f;
    }
    let body = bytes
        .strip_prefix(&[0xEF, 0xBB, 0xBF])
        .map(<[u8]>::to_vec)
        .unwrap_or(bytes);
    match String::from_utf8(body) {
        Ok(text) => {
            let nul = text.find('\0');
            let mut f = SourceFile::new(name, path, text);
            if let Some(at) = nul {
                f.problem = Some((at, "file contains a NUL byte; is it a binary file?".into()));
            }
            f
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let mut f = SourceFile::new(name, path, text);
            f.problem = Some((
                at,
                format!(
                    "file is not valid UTF-8 (byte 0x{:02x} at offset {at})",
                    e.as_bytes()[at]
                ),
            ));
            f
        }
    }
}

/// The decoding problem of a file as a diagnostic, if it had one.
pub fn decode_problem(file: &SourceFile, id: FileId) -> Option<Diagnostic> {
    file.problem
        .as_ref()
        .map(|(at, msg)| Diagnostic::error(msg.clone()).at(Span::new(id, *at..*at)))
}
