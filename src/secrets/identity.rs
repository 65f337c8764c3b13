//! Finding and reading the age identities that decrypt secrets.
//!
//! Lookup order (docs/design.md §1), first source that is set wins, the rest are not read:
//! 1. `--identity FILE` (repeatable: every file given is used),
//! 2. `TETHER_AGE_IDENTITY` (a path),
//! 3. `TETHER_AGE_KEY` (the identity text itself, for CI secret stores),
//! 4. `SOPS_AGE_KEY_FILE` (a path),
//! 5. `SOPS_AGE_KEY` (the identity text itself),
//! 6. the SOPS default `$XDG_CONFIG_HOME/sops/age/keys.txt`, else
//!    `$HOME/.config/sops/age/keys.txt`, when it exists.
//!
//! An empty variable counts as unset. A source that is set but unusable is an
//! error naming that source; tether never falls through to the next one, so
//! a typo cannot silently pick another key.
//!
//! Identity text is either an SSH private key (ed25519 or rsa, unencrypted)
//! or any number of `AGE-SECRET-KEY-1…` lines, with `#` comments and blank
//! lines. Invariants: key material is held in zeroing buffers while parsed,
//! and no error message ever echoes a line of an identity.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::config::{AGE_ARMOR_BEGIN, AGE_HEADER};
use crate::error::{Error, Result};

/// Largest identity file read.
const MAX_IDENTITY_BYTES: u64 = 1 << 20;

/// An identity tether can decrypt with.
pub type Identity = Box<dyn age::Identity + Send + Sync>;

/// Where identities came from, as shown in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(PathBuf),
    /// An environment variable holding a path.
    EnvPath(&'static str, PathBuf),
    /// An environment variable holding the identity text.
    EnvKey(&'static str),
    /// The SOPS default `keys.txt`.
    SopsDefault(PathBuf),
    /// Built by the caller (tests, benchmarks).
    Given,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(p) => write!(f, "--identity {}", p.display()),
            Origin::EnvPath(var, p) => write!(f, "{var} ({})", p.display()),
            Origin::EnvKey(var) => f.write_str(var),
            Origin::SopsDefault(p) => write!(f, "the SOPS default {}", p.display()),
            Origin::Given => f.write_str("the given identities"),
        }
    }
}

/// The identities of one source, ready to decrypt.
pub struct Identities {
    list: Vec<Identity>,
    origins: Vec<Origin>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identities({} from {})",
            self.list.len(),
            self.describe()
        )
    }
}

impl Identities {
    /// Identities built by the caller.
    pub fn from_list(list: Vec<Identity>) -> Identities {
        Identities {
            list,
            origins: vec![Origin::Given],
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.list.iter().map(|i| i.as_ref() as &dyn age::Identity)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// `--identity a.txt, --identity b.txt` or `TETHER_AGE_KEY`.
    pub fn describe(&self) -> String {
        self.origins
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// [`discover`], with no identity found being `None` rather than an error
/// (plan and apply compare secrets by ciphertext then); any other problem
/// (an unreadable or malformed identity) is still an error.
pub fn discover_optional(flags: &[PathBuf], base: &Path) -> Result<Option<Identities>> {
    match discover(flags, base) {
        Ok(ids) => Ok(Some(ids)),
        Err(crate::error::Error::NoIdentity { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Finds identities in the order of the module docs, reading the process environment.
/// `base` resolves relative `--identity` paths (the config dir: `-C` means "as if started there").
pub fn discover(flags: &[PathBuf], base: &Path) -> Result<Identities> {
    discover_with(flags, base, |k| std::env::var_os(k))
}

/// [`discover`] with an explicit environment, for tests.
pub fn discover_with(
    flags: &[PathBuf],
    base: &Path,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Identities> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if !flags.is_empty() {
        let mut list = Vec::new();
        let mut origins = Vec::new();
        for f in flags {
            let path = base.join(f);
            let origin = Origin::Flag(f.clone());
            list.extend(read_file(&path, &origin)?);
            origins.push(origin);
        }
        tracing::debug!(count = list.len(), "identities from --identity");
        return Ok(Identities { list, origins });
    }
    for (name, is_path) in [
        ("TETHER_AGE_IDENTITY", true),
        ("TETHER_AGE_KEY", false),
        ("SOPS_AGE_KEY_FILE", true),
        ("SOPS_AGE_KEY", false),
    ] {
        let Some(v) = var(name) else { continue };
        let (origin, list) = if is_path {
            let path = PathBuf::from(v);
            let origin = Origin::EnvPath(name, path.clone());
            let list = read_file(&path, &origin)?;
            (origin, list)
        } else {
            let origin = Origin::EnvKey(name);
            let text = Zeroizing::new(v.into_string().map_err(|_| Error::Identity {
                origin: origin.to_string(),
                reason: "the value is not valid UTF-8".into(),
            })?);
            let list = parse(&text, &origin)?;
            (origin, list)
        };
        tracing::debug!(source = %origin, count = list.len(), "identities found");
        return Ok(Identities {
            list,
            origins: vec![origin],
        });
    }
    let default = sops_default(&var);
    if let Some(path) = &default {
        if path.exists() {
            let origin = Origin::SopsDefault(path.clone());
            let list = read_file(path, &origin)?;
            tracing::debug!(source = %origin, count = list.len(), "identities found");
            return Ok(Identities {
                list,
                origins: vec![origin],
            });
        }
    }
    let mut searched: Vec<String> = [
        "--identity",
        "TETHER_AGE_IDENTITY",
        "TETHER_AGE_KEY",
        "SOPS_AGE_KEY_FILE",
        "SOPS_AGE_KEY",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    searched.push(match default {
        Some(p) => p.display().to_string(),
        None => {
            "$XDG_CONFIG_HOME/sops/age/keys.txt (neither XDG_CONFIG_HOME nor HOME is set)".into()
        }
    });
    Err(Error::NoIdentity { searched })
}

/// The SOPS default identity file for this process's environment.
pub fn default_keys_path() -> Option<PathBuf> {
    sops_default(&|k: &str| std::env::var_os(k).filter(|v| !v.is_empty()))
}

/// `$XDG_CONFIG_HOME/sops/age/keys.txt`, else `$HOME/.config/sops/age/keys.txt`.
fn sops_default(var: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let tail = Path::new("sops").join("age").join("keys.txt");
    if let Some(x) = var("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(x).join(tail));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".config").join(tail))
}

/// Reads an identity file (text; several identities and comments allowed).
pub fn read_file(path: &Path, origin: &Origin) -> Result<Vec<Identity>> {
    let err = |reason: String| Error::Identity {
        origin: origin.to_string(),
        reason,
    };
    // Never blocks on a FIFO (`--identity /dev/stdin`): regular files only.
    let f = crate::fsutil::open_regular(path).map_err(|e| {
        err(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".into(),
            std::io::ErrorKind::PermissionDenied => "permission denied".into(),
            _ => e.to_string(),
        })
    })?;
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(err("it is a directory, not an identity file".into()));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    f.take(MAX_IDENTITY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > MAX_IDENTITY_BYTES {
        return Err(err(format!(
            "larger than {MAX_IDENTITY_BYTES} bytes; is it an identity file?"
        )));
    }
    if bytes.starts_with(AGE_HEADER.as_bytes()) {
        return Err(err(encrypted_identity_reason()));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| err("not a text file; an identity file holds `AGE-SECRET-KEY-1…` lines or an SSH private key".into()))?;
    parse(text, origin)
}

fn encrypted_identity_reason() -> String {
    "passphrase-encrypted identity files are not supported; decrypt it to a file with mode 0600 (`age -d -o key.txt key.age`) or use TETHER_AGE_KEY".into()
}

/// Parses identity text: an SSH private key, or `AGE-SECRET-KEY-1…` lines with `#` comments.
pub fn parse(text: &str, origin: &Origin) -> Result<Vec<Identity>> {
    let err = |reason: String| Error::Identity {
        origin: origin.to_string(),
        reason,
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with(AGE_ARMOR_BEGIN) {
        return Err(err(encrypted_identity_reason()));
    }
    if trimmed.starts_with("-----BEGIN ") {
        return parse_ssh(trimmed, origin).map(|i| vec![i]);
    }
    let mut out: Vec<Identity> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.parse::<age::x25519::Identity>() {
            // The cached key pair halves the cost per secret; age's own type is the fallback.
            Ok(id) => match super::x25519::X25519::from_age(&id) {
                Some(fast) => out.push(Box::new(fast)),
                None => out.push(Box::new(id)),
            },
            Err(_) => {
                let why = if line.starts_with("AGE-PLUGIN-") {
                    "is an age plugin identity; plugins are not supported"
                } else if line.starts_with("AGE-SECRET-KEY-PQ-") {
                    "is a post-quantum age identity; not supported yet"
                } else if line.starts_with("AGE-SECRET-KEY-") {
                    "is a damaged age identity (its checksum does not match)"
                } else {
                    "is not an age identity (`AGE-SECRET-KEY-1…`) or a `#` comment"
                };
                // The line itself is never shown: it may be key material.
                return Err(err(format!("line {} {why}", n + 1)));
            }
        }
    }
    if out.is_empty() {
        return Err(err(
            "holds no identity (only blank lines and comments)".into()
        ));
    }
    Ok(out)
}

fn parse_ssh(text: &str, origin: &Origin) -> Result<Identity> {
    use age::ssh::{Identity as Ssh, UnsupportedKey};
    let err = |reason: String| Error::Identity {
        origin: origin.to_string(),
        reason,
    };
    let id = Ssh::from_buffer(text.as_bytes(), None).map_err(|_| {
        err("not a valid SSH private key (ed25519 or rsa, OpenSSH or PEM format)".into())
    })?;
    match id {
        Ssh::Unencrypted(_) => Ok(Box::new(id)),
        Ssh::Encrypted(_) | Ssh::Unsupported(UnsupportedKey::EncryptedPem) => Err(err(
            "the SSH key is passphrase-protected; tether does not prompt for passphrases: use an unencrypted copy (`ssh-keygen -p`) or an age identity (`tether secrets keygen`)".into(),
        )),
        Ssh::Unsupported(UnsupportedKey::EncryptedSsh(cipher)) => Err(err(format!(
            "the SSH key is encrypted with the unsupported cipher {cipher}"
        ))),
        Ssh::Unsupported(UnsupportedKey::Hardware(t)) => Err(err(format!(
            "{t} is a hardware security key; it cannot be used as an age identity"
        ))),
        Ssh::Unsupported(UnsupportedKey::Type(t)) => Err(err(format!(
            "SSH key type {t} is not supported (use ed25519 or rsa)"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // fixtures are written as they are
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn key() -> (String, String) {
        let id = age::x25519::Identity::generate();
        (
            id.to_string().expose_secret().to_string(),
            id.to_public().to_string(),
        )
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn order_is_flag_then_env_in_design_order_then_sops_default() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let write = |name: &str| {
            let (k, _) = key();
            std::fs::write(d.join(name), format!("# comment\n{k}\n")).unwrap();
            d.join(name)
        };
        let flag = write("flag.txt");
        let tai = write("tai.txt");
        let (tak, _) = key();
        let sakf = write("sakf.txt");
        let (sak, _) = key();
        std::fs::create_dir_all(d.join("xdg/sops/age")).unwrap();
        std::fs::write(d.join("xdg/sops/age/keys.txt"), key().0).unwrap();
        let xdg = d.join("xdg");
        let all = [
            ("TETHER_AGE_IDENTITY", tai.to_str().unwrap()),
            ("TETHER_AGE_KEY", tak.as_str()),
            ("SOPS_AGE_KEY_FILE", sakf.to_str().unwrap()),
            ("SOPS_AGE_KEY", sak.as_str()),
            ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
        ];
        let ids = discover_with(std::slice::from_ref(&flag), d, env(&all)).unwrap();
        assert!(
            ids.describe().starts_with("--identity"),
            "{}",
            ids.describe()
        );
        let expected = [
            "TETHER_AGE_IDENTITY",
            "TETHER_AGE_KEY",
            "SOPS_AGE_KEY_FILE",
            "SOPS_AGE_KEY",
            "the SOPS default",
        ];
        for (i, want) in expected.iter().enumerate() {
            let ids = discover_with(&[], d, env(&all[i..])).unwrap();
            assert!(
                ids.describe().starts_with(want),
                "{} vs {want}",
                ids.describe()
            );
        }
        // An empty variable counts as unset.
        let ids = discover_with(
            &[],
            d,
            env(&[("TETHER_AGE_KEY", ""), ("SOPS_AGE_KEY", sak.as_str())]),
        )
        .unwrap();
        assert_eq!(ids.describe(), "SOPS_AGE_KEY");
    }

    #[test]
    fn home_config_is_the_fallback_and_nothing_found_names_every_source() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let e = discover_with(&[], d, env(&[("HOME", d.to_str().unwrap())])).unwrap_err();
        let msg = e.to_string();
        for s in [
            "--identity",
            "TETHER_AGE_IDENTITY",
            "SOPS_AGE_KEY",
            ".config/sops/age/keys.txt",
        ] {
            assert!(msg.contains(s), "{msg}");
        }
        std::fs::create_dir_all(d.join(".config/sops/age")).unwrap();
        std::fs::write(d.join(".config/sops/age/keys.txt"), key().0).unwrap();
        let ids = discover_with(&[], d, env(&[("HOME", d.to_str().unwrap())])).unwrap();
        assert!(ids.describe().contains(".config/sops/age/keys.txt"));
    }

    #[test]
    fn a_set_but_broken_source_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let k = key().0;
        let e = discover_with(
            &[],
            dir.path(),
            env(&[
                ("SOPS_AGE_KEY_FILE", "/nonexistent/keys.txt"),
                ("SOPS_AGE_KEY", &k),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "age identity from SOPS_AGE_KEY_FILE (/nonexistent/keys.txt): no such file"
        );
    }

    #[test]
    fn several_keys_and_comments_parse_and_bad_lines_are_not_echoed() {
        let (a, _) = key();
        let (b, _) = key();
        let text =
            format!("# created: now\n# public key: age1xyz\n\n{a}\n  # indented comment\n{b}\n");
        assert_eq!(parse(&text, &Origin::Given).unwrap().len(), 2);
        let bad = format!("{a}\nsupersecret-canary-line\n");
        let msg = match parse(&bad, &Origin::EnvKey("TETHER_AGE_KEY")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a bad line must fail"),
        };
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains("supersecret"), "{msg}");
        let msg = match parse("# only a comment\n", &Origin::Given) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("no identity must fail"),
        };
        assert!(msg.contains("holds no identity"), "{msg}");
    }
}
