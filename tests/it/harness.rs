//! A small builder around the `tether` binary for tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const TETHER: &str = env!("CARGO_BIN_EXE_tether");

/// The result of one run.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `tether ARGS…` in `dir`, with a clean environment (no colour, no identity).
pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Run {
    pub fn new(dir: &Path) -> Run {
        let mut cmd = Command::new(TETHER);
        cmd.current_dir(dir)
            .env_remove("TETHER_LOG")
            .env_remove("TETHER_AGE_IDENTITY")
            .env_remove("TETHER_AGE_KEY")
            .env_remove("SOPS_AGE_KEY_FILE")
            .env_remove("SOPS_AGE_KEY")
            .env("NO_COLOR", "1")
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join(".config"));
        Run { cmd, stdin: None }
    }

    pub fn args<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Run {
        self.cmd.arg(a);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Run {
        self.cmd.env(k, v);
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Run {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn run(mut self) -> Output {
        use std::io::Write;
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("tether starts");
        if let Some(input) = self.stdin.take() {
            let mut si = child.stdin.take().expect("stdin is piped");
            si.write_all(&input).expect("stdin accepts input");
        }
        let out = child.wait_with_output().expect("tether finishes");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A run started in the background ([`Run::spawn`]).
pub struct Running(std::process::Child);

impl Running {
    pub fn wait(self) -> Output {
        let out = self.0.wait_with_output().expect("tether finishes");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Starts tether with no stdin and its output captured; [`Running::wait`]
    /// gives the [`Output`].
    pub fn spawn(mut self) -> Running {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Running(self.cmd.spawn().expect("tether starts"))
    }

    /// [`Run::run`] with no stdin, killing tether when it has not finished
    /// after `limit`: a hang fails the test (code -2) instead of stalling
    /// the run.
    pub fn run_within(mut self, limit: std::time::Duration) -> Output {
        use std::io::Read;
        assert!(self.stdin.is_none(), "run_within gives no stdin");
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("tether starts");
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut b = Vec::new();
                let _ = r.read_to_end(&mut b);
                String::from_utf8_lossy(&b).into_owned()
            })
        };
        let out = drain(Box::new(child.stdout.take().expect("stdout is piped")));
        let err = drain(Box::new(child.stderr.take().expect("stderr is piped")));
        let deadline = std::time::Instant::now() + limit;
        let code = loop {
            if let Some(status) = child.try_wait().expect("tether can be waited for") {
                break status.code().unwrap_or(-1);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break -2;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stderr = err.join().unwrap_or_default();
        if code == -2 {
            stderr.push_str(&format!("\n(killed: still running after {limit:?})\n"));
        }
        Output {
            code,
            stdout: out.join().unwrap_or_default(),
            stderr,
        }
    }
}

/// `tether ARGS…` in `dir`.
pub fn tether<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Run::new(dir).args(args).run()
}

/// The repository root (for examples and fixtures).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a directory tree (fixtures into a temp dir).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes, sorted: to prove nothing was written.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    walk(dir, &mut out);
    out.sort();
    out
}

/// `secret` cleared for `account` the way CI clears a simulator or emulator
/// endpoint: trusted from outside the repository (the test), never by the
/// config.
pub fn trusted(
    account: &tether::config::Account,
    secret: tether::secrets::Secret,
) -> tether::trust::Cleared {
    use tether::trust::{self, Destination, Purpose, Trust};
    let trust = Trust::only(&Destination::of(account));
    let opened = trust::open(secret).expect("a plain secret opens");
    trust::clear(account, opened, &trust, Purpose::Recorded).expect("trusted")
}
