//! Shared by the benchmarks: a generated multi-vendor config, child-process
//! timing with each child's own peak RSS, and small statistics.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn pass(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

/// Runs a command `n` times; returns wall times and its peak RSS (KiB) over the runs.
pub fn measure(n: usize, make: impl Fn() -> Command) -> (Vec<Duration>, i64) {
    let mut times = Vec::with_capacity(n);
    let mut peak = 0;
    for _ in 0..n {
        let t = Instant::now();
        let (_, rss) = run_rusage(&mut make());
        times.push(t.elapsed());
        peak = peak.max(rss);
    }
    (times, peak)
}

/// The variable that makes a bench binary run one command and report it
/// (see [`wrap_if_asked`]).
const WRAP: &str = "TETHER_BENCH_WAIT4";

/// A child's wait4 peak RSS starts from its parent's at the fork (Linux
/// carries the high-water mark over fork and exec), so a bench that holds a
/// large world would see its own size in every figure. [`run_isolated`]
/// runs the command from a fresh, small copy of the bench binary instead;
/// that copy calls this first thing in `main`, runs the command, prints
/// `<ok> <peak KiB>` and exits.
pub fn wrap_if_asked() {
    if std::env::var_os(WRAP).is_none() {
        return;
    }
    let mut args = std::env::args_os().skip(1);
    let program = args.next().expect("a program to run");
    let mut c = Command::new(program);
    c.args(args).env_remove(WRAP);
    let t = Instant::now();
    let (ok, rss) = run_rusage(&mut c);
    println!("{} {rss} {}", u8::from(ok), t.elapsed().as_nanos());
    std::process::exit(0);
}

/// [`run_rusage`] of `c` through a fresh copy of this bench binary (see
/// [`wrap_if_asked`]): the peak RSS is the command's own, and so is the
/// wall time (from its spawn to its reaping, timed by the copy).
pub fn run_isolated(c: &Command) -> (bool, i64, Duration) {
    let mut w = Command::new(std::env::current_exe().expect("the bench binary"));
    w.env(WRAP, "1").arg(c.get_program()).args(c.get_args());
    if let Some(d) = c.get_current_dir() {
        w.current_dir(d);
    }
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    let out = w
        .stderr(Stdio::inherit())
        .output()
        .expect("the bench binary runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let ok = words.next() == Some("1");
    let rss = words
        .next()
        .and_then(|r| r.parse().ok())
        .expect("a peak RSS");
    let wall = words
        .next()
        .and_then(|r| r.parse().ok())
        .expect("a wall time");
    (ok, rss, Duration::from_nanos(wall))
}

/// [`measure`] with each run through [`run_isolated`].
pub fn measure_isolated(n: usize, make: impl Fn() -> Command) -> (Vec<Duration>, i64) {
    let mut times = Vec::with_capacity(n);
    let mut peak = 0;
    for _ in 0..n {
        let c = make();
        let (ok, rss, wall) = run_isolated(&c);
        times.push(wall);
        assert!(ok, "{c:?} failed");
        peak = peak.max(rss);
    }
    (times, peak)
}

/// The apply that records a simulated world's accounts before a bench
/// syncs them (no sync of its own).
pub const APPLY: &[&str] = &[
    "apply",
    "--auto-approve",
    "--no-sync",
    "--parallelism",
    "50",
];

pub fn run(c: &mut Command) -> (bool, i64) {
    run_rusage(c)
}

/// Runs a command to completion; returns success and the child's own peak RSS in KiB.
pub fn run_rusage(c: &mut Command) -> (bool, i64) {
    run_rusage_into(c, Stdio::null())
}

/// [`run_rusage`] with the command's standard output to `out` (a file the
/// report is kept in).
#[allow(clippy::zombie_processes)] // reaped by wait4 below
pub fn run_rusage_into(c: &mut Command, out: impl Into<Stdio>) -> (bool, i64) {
    let child = c
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("command starts");
    let pid = child.id() as libc::pid_t;
    // SAFETY: wait4 reaps our own child and fills the structs we pass.
    unsafe {
        let mut status = 0;
        let mut ru: libc::rusage = std::mem::zeroed();
        let r = libc::wait4(pid, &mut status, 0, &mut ru);
        assert_eq!(r, pid, "wait4 failed");
        (
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            ru.ru_maxrss,
        )
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

pub fn release_binary() -> PathBuf {
    build_release(&["--bin", "tether"]);
    target_dir().join("release/tether")
}

/// The release `tether-sim` binary, built first: the simulator is a package
/// of its own (`crates/tether-sim`), so cargo builds and names no binary of
/// it for tether's benchmarks.
pub fn sim_release_binary() -> PathBuf {
    build_release(&["-p", "tether-sim", "--bin", "tether-sim"]);
    target_dir().join("release/tether-sim")
}

fn build_release(what: &[&str]) {
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release"])
        .args(what)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(st.success());
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Writes the config; returns its size in bytes.
/// Writes `accounts` accounts over `files` files into `dir` (secrets inline or in
/// `secrets/N.age`); returns the HCL size in bytes.
pub fn generate(dir: &Path, accounts: usize, files: usize, inline: bool) -> usize {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public();
    // One real ciphertext per 100 accounts, reused: validation cost is per value, not per key.
    let cts: Vec<String> = (0..files)
        .map(|i| encrypt(&recipient, &format!("bench-secret-{i}")))
        .collect();
    let mut total = 0;
    let per_file = accounts / files;
    let mut f0 =
        format!("tether {{\n  recipients  = [\"{recipient}\"]\n  parallelism = 20\n}}\n\n");
    for (file, ct) in cts.iter().enumerate() {
        let mut s = if file == 0 {
            std::mem::take(&mut f0)
        } else {
            String::new()
        };
        for j in 0..per_file {
            let n = file * per_file + j;
            let secret = if inline {
                let body: String = ct.lines().map(|l| format!("    {l}\n")).collect();
                format!("<<-EOT\n{body}  EOT")
            } else {
                let rel = format!("secrets/{n}.age");
                std::fs::write(dir.join(&rel), ct).unwrap();
                format!("file(\"{rel}\")")
            };
            let dep = if j > 0 && n % 7 == 0 {
                format!("  depends_on = [{}]\n", addr(n - 1))
            } else {
                String::new()
            };
            match n % 4 {
                0 => s.push_str(&format!(
                    "account \"aws\" \"a{n}\" {{\n  main_account_id   = \"{:012}\"\n  account_name      = \"Account {n}\"\n  access_key_id     = \"AKIA{n:016}\"\n  secret_access_key = {secret}\n  regions = [\"us-east-1\", \"eu-west-1\"]\n  tags    = {{ team = \"team-{}\", owner = \"owner{n}@example.com\" }}\n{dep}}}\n\n",
                    100_000_000_000u64 + n as u64,
                    n % 17
                )),
                1 => s.push_str(&format!(
                    "account \"alibaba\" \"b{n}\" {{\n  main_account_id   = \"{}\"\n  account_name      = \"Account {n}\"\n  access_key_id     = \"LTAI{n:016}\"\n  secret_access_key = {secret}\n  regions = [\"cn-hangzhou\"]\n  tags    = {{ team = \"team-{}\" }}\n{dep}}}\n\n",
                    1_000_000_000_000_000u64 + n as u64,
                    n % 17
                )),
                2 => s.push_str(&format!(
                    "account \"azure\" \"c{n}\" {{\n  tenant_id          = \"{n:08x}-0000-4000-8000-000000000000\"\n  tenant_name        = \"tenant{n}\"\n  application_id     = \"{n:08x}-1111-4111-8111-111111111111\"\n  application_secret = {secret}\n  regions = [\"westeurope\"]\n{dep}}}\n\n"
                )),
                _ => s.push_str(&format!(
                    "account \"hcs\" \"d{n}\" {{\n  endpoint         = \"hcs{n}.example.com\"\n  environment_name = \"env{n}\"\n  account          = \"ops-admin\"\n  password         = {secret}\n  api_endpoint = \"https://api{n}.example.com\"\n{dep}}}\n\n"
                )),
            }
        }
        total += s.len();
        let mut f = std::fs::File::create(dir.join(format!("accounts-{file:03}.hcl"))).unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }
    total
}

pub fn addr(n: usize) -> String {
    match n % 4 {
        0 => format!("aws.a{n}"),
        1 => format!("alibaba.b{n}"),
        2 => format!("azure.c{n}"),
        _ => format!("hcs.d{n}"),
    }
}

pub fn encrypt(r: &age::x25519::Recipient, text: &str) -> String {
    let key = r.to_string();
    let to = tether::secrets::Recipients::parse([(key.as_str(), None)]).unwrap();
    tether::secrets::encrypt::armored(text.as_bytes(), &to).unwrap()
}

/// Starts the release `tether-sim` binary on the generated world of seed 1 with
/// `accounts` per vendor and `resources` per account, plus `extra`
/// arguments, and reads its start-up JSON line: the running child and the
/// world's summary.
pub fn spawn_sim(
    accounts: u64,
    resources: u64,
    extra: &[&str],
) -> (std::process::Child, tether_sim::Summary) {
    use std::io::{BufRead, BufReader};
    let (accounts, resources) = (accounts.to_string(), resources.to_string());
    let mut child = Command::new(sim_release_binary())
        .args([
            "--seed",
            "1",
            "--accounts",
            &accounts,
            "--resources",
            &resources,
        ])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("tether-sim starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the JSON line");
    let summary = serde_json::from_str(&line).expect("the JSON line parses");
    (child, summary)
}

/// A sync target whose secret is cleared for the account's own endpoint, as
/// CI trusts a simulator or emulator from outside the repository.
#[allow(dead_code)]
pub fn target(
    account: tether::config::Account,
    secret: tether::secrets::Secret,
) -> tether::sync::Target {
    use tether::trust::{self, Destination, Purpose, Trust};
    let trust = Trust::only(&Destination::of(&account));
    let opened = trust::open(secret).expect("a plain secret opens");
    let secret = trust::clear(&account, opened, &trust, Purpose::Recorded).expect("trusted");
    tether::sync::Target {
        account,
        secret,
        claimed: Vec::new(),
    }
}

/// A state as apply would record it, with 1% of the accounts differing.
#[allow(dead_code)]
pub fn write_state(dir: &std::path::Path) -> usize {
    let config = tether::config::load(dir).expect("the generated config is valid");
    use tether::state::{AccountState, State, StoredSecret, VerifiedIdentity};
    let mut state = State::new("8d0f0b1e-3c43-4b9e-a1a4-1d9f63f2b6a1".into());
    let mut changed = 0;
    for (i, (addr, account)) in config.accounts.iter().enumerate() {
        let c = tether::secrets::decrypt::account_ciphertext(&config, account)
            .unwrap()
            .unwrap();
        let mut attributes = tether::plan::attrs::of(account);
        let mut ciphertext = tether::secrets::decrypt::to_armored(&c.bytes);
        if i % 100 == 0 {
            changed += 1;
            if i % 200 == 0 {
                attributes.insert("account_name".into(), serde_json::json!("renamed"));
            } else {
                // Another ciphertext: one character of the body changed (the
                // armor lines stay as they are).
                let at = ciphertext.find('\n').map_or(0, |i| i + 1);
                let body = ciphertext[at..].replacen('A', "B", 1);
                ciphertext = format!("{}{body}", &ciphertext[..at]);
            }
        }
        state.accounts.insert(
            addr.clone(),
            AccountState {
                vendor: addr.vendor,
                attributes,
                secret: StoredSecret {
                    attribute: c.origin.attribute.clone(),
                    ciphertext,
                    applied: None,
                },
                identity: VerifiedIdentity {
                    account_id: account.vendor.identity_key().to_string(),
                    principal: format!("principal-{i}"),
                    scopes: vec![],
                    verified_at: "2026-11-20T00:00:00Z".into(),
                },
                regions: account.regions.clone().unwrap_or_default(),
                depends_on: account.depends_on.clone(),
                applied_at: "2026-11-20T00:00:00Z".into(),
                last_sync: None,
            },
        );
    }
    std::fs::write(
        dir.join("tether.state.json"),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
    changed
}

/// A simulated world written as a config into a temp dir of its own, the
/// simulator running as a process of its own (a child's wait4 peak RSS
/// starts from its parent's: an in-process world would be counted in every
/// tether run). Dropped: the simulator stopped, the dir removed.
pub struct Written {
    pub sim: std::process::Child,
    pub summary: tether_sim::Summary,
    pub dir: PathBuf,
    /// The age identity the config's secrets are sealed to.
    pub key: String,
}

/// [`spawn_sim`] with `--write-config` into a new temp dir named after
/// `name`, and a new age identity as the recipient.
pub fn written(name: &str, accounts: u64, resources: u64, extra: &[&str]) -> Written {
    let dir = std::env::temp_dir().join(format!("tether-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let id = age::x25519::Identity::generate();
    let mut args = vec![
        "--write-config".to_string(),
        dir.to_str().expect("a UTF-8 temp dir").to_string(),
        "--recipient".to_string(),
        id.to_public().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (sim, summary) = spawn_sim(accounts, resources, &args);
    let key = {
        use age::secrecy::ExposeSecret;
        id.to_string().expose_secret().to_string()
    };
    Written {
        sim,
        summary,
        dir,
        key,
    }
}

impl Written {
    /// `program` (`tether`, or a wrapper that runs it) with `-C <dir>`,
    /// `args`, the identity in `TETHER_AGE_KEY` and no colour.
    pub fn command(&self, program: &Path, before: &[&str], args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(before)
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .env("TETHER_AGE_KEY", &self.key)
            .env("NO_COLOR", "1");
        c
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        let _ = self.sim.kill();
        let _ = self.sim.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
