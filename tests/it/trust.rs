//! The trust model under attack (docs/design.md §8): a pull request controls the
//! config, the state path and every file in the repository, and CI runs
//! tether on it with an identity that decrypts every secret. For each
//! vendor, a capture server on loopback stands where the attacker's host
//! would be; after every command a pull request can make CI run, it has
//! received nothing, and the command says why it refused.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::apply::Env;
use crate::harness::Output;

/// A TCP listener on loopback that records every connection it accepts and
/// the bytes sent on it.
pub(crate) struct Capture {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    pub(crate) fn start() -> Capture {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(300)));
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 4096];
                        while let Ok(n) = conn.read(&mut chunk) {
                            if n == 0 {
                                break;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        g.lock().unwrap().push(buf);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Capture {
            url,
            got,
            stop,
            thread: Some(thread),
        }
    }

    /// Everything received so far, as text, for the failure message.
    fn received(&self) -> String {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    pub(crate) fn assert_nothing(&self, after: &str) {
        let n = self.got.lock().unwrap().len();
        assert_eq!(
            n,
            0,
            "the capture server received {n} connection(s) after {after}:\n{}",
            self.received()
        );
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const VENDORS: [&str; 4] = ["aws", "alibaba", "azure", "hcs"];

/// A world applied and synced: every account's secret is recorded sealed.
fn applied(seed: u64) -> Env {
    let env = Env::new(seed);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    env
}

/// The config with `vendor`'s account pointed at `url` (its `api_endpoint`).
fn pointed(env: &Env, vendor: &str, url: &str) -> String {
    let name = env.addr(vendor);
    let name = name.split_once('.').unwrap().1;
    let c = env.config();
    let head = format!("account \"{vendor}\" \"{name}\" {{");
    let at = c.find(&head).unwrap();
    let end = at + c[at..].find("\n}\n").unwrap();
    let block = &c[at..end];
    let line = block
        .lines()
        .find(|l| l.trim_start().starts_with("api_endpoint"))
        .unwrap();
    let eq = line.find('=').unwrap();
    let new_line = format!("{}= \"{url}\"", &line[..eq]);
    let new_block = block.replacen(line, &new_line, 1);
    format!("{}{}{}", &c[..at], new_block, &c[end..])
}

/// Every command a pull request's CI may run on it, in order.
fn pr_commands(env: &Env) -> Vec<(String, Output)> {
    let runs: &[&[&str]] = &[
        &["validate"],
        &["plan"],
        &["plan", "--format", "markdown"],
        &["plan", "--format", "json"],
        &["plan", "--refresh", "--detailed-exitcode"],
        &["drift", "--detailed-exitcode"],
        &["sync"],
        &["snapshot", "list"],
        &["snapshot", "show"],
        &["snapshot", "diff", "1", "latest"],
        &["graph"],
        &["state", "list"],
    ];
    runs.iter()
        .map(|args| (args.join(" "), env.tether(args)))
        .collect()
}

fn output_of<'a>(runs: &'a [(String, Output)], cmd: &str) -> &'a Output {
    &runs.iter().find(|(c, _)| c == cmd).unwrap().1
}

/// Attack 1: the pull request changes the endpoint of an account in state.
fn changed_endpoint_reaches_nothing(vendor: &str, seed: u64) {
    let env = applied(seed);
    let capture = Capture::start();
    let addr = env.addr(vendor);
    env.set_config(&pointed(&env, vendor, &capture.url));
    let runs = pr_commands(&env);
    capture.assert_nothing("validate, plan, plan --refresh, drift, sync and snapshot commands");
    for (cmd, out) in &runs {
        assert!(
            [0, 2, 3].contains(&out.code),
            "{cmd}: {}\n{}",
            out.stdout,
            out.stderr
        );
    }
    // Refresh, drift and sync used the endpoint apply verified, and found it healthy.
    let refresh = output_of(&runs, "plan --refresh --detailed-exitcode");
    assert_eq!(
        refresh.code, 2,
        "the endpoint change is a change: {}",
        refresh.stdout
    );
    assert!(
        !refresh.stdout.contains("Identity drift"),
        "{}",
        refresh.stdout
    );
    // Every rendering calls the change out as a security note.
    let human = output_of(&runs, "plan");
    assert!(
        human.stdout.contains("Security note")
            && human.stdout.contains(&format!("{addr}: "))
            && human.stdout.contains(&capture.url),
        "{}",
        human.stdout
    );
    let md = output_of(&runs, "plan --format markdown");
    let first_table = md.stdout.find("| action |").unwrap();
    let note = md.stdout.find("Security note").expect("markdown note");
    assert!(
        note < first_table,
        "the note leads the summary: {}",
        md.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&output_of(&runs, "plan --format json").stdout).unwrap();
    let change = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == addr.as_str())
        .unwrap();
    assert_eq!(change["endpoint_change"]["to"], capture.url.as_str());
    let drift = output_of(&runs, "drift --detailed-exitcode");
    assert_eq!(drift.code, 2, "config differs from state: {}", drift.stdout);
    assert!(
        !drift.stdout.contains("no longer verify"),
        "{}",
        drift.stdout
    );
}

/// Attack 2: the pull request points `state` at a file it wrote, with its
/// endpoint for an account and, as the secret, either the repository's own
/// `secrets/*.age` ciphertext or the real state's recorded one.
fn pr_state_reaches_nothing(vendor: &str, seed: u64) {
    let env = applied(seed);
    let capture = Capture::start();
    let addr = env.addr(vendor);
    let name = addr.split_once('.').unwrap().1.to_string();
    let real = env.state();
    let repo_ciphertext =
        std::fs::read_to_string(env.path().join(format!("secrets/{vendor}-{name}.age"))).unwrap();
    let sealed = real["accounts"][&addr]["secret"]["ciphertext"]
        .as_str()
        .unwrap()
        .to_string();
    let config = env
        .config()
        .replacen("tether {\n", "tether {\n  state = \"pr-state.json\"\n", 1);
    env.set_config(&config);
    for (what, ciphertext) in [
        ("the repository's .age file", repo_ciphertext),
        ("the real state's sealed secret", sealed),
    ] {
        let mut forged = real.clone();
        let entry = &mut forged["accounts"][&addr];
        entry["attributes"]["api_endpoint"] = serde_json::json!(capture.url);
        entry["secret"]["ciphertext"] = serde_json::json!(ciphertext);
        std::fs::write(
            env.path().join("pr-state.json"),
            serde_json::to_string_pretty(&forged).unwrap(),
        )
        .unwrap();
        let refresh = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
        let drift = env.tether(&["drift", "--detailed-exitcode"]);
        let json = env.tether(&["drift", "--format", "json"]);
        let sync = env.tether(&["sync"]);
        capture.assert_nothing(&format!("plan --refresh, drift and sync with {what}"));
        for (cmd, out) in [
            ("plan --refresh", &refresh),
            ("drift", &drift),
            ("sync", &sync),
        ] {
            let text = format!("{}{}", out.stdout, out.stderr);
            assert!(
                text.contains(&addr) && text.contains("refused to send its secret")
                    || text.contains(&addr) && text.contains("carries no destination")
                    || text.contains(&addr) && text.contains("only `tether apply`"),
                "{cmd} with {what} must say why it refused:\n{text}"
            );
            assert!(
                !text.contains("no longer verify"),
                "a refusal is not drift ({cmd}, {what}):\n{text}"
            );
        }
        // Refused is incomplete (exit 3), never drift and never success.
        assert_eq!(
            drift.code, 2,
            "{what}: the forged endpoint also differs from config: {}",
            drift.stdout
        );
        let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert!(
            report["credentials"].as_array().unwrap().is_empty(),
            "{report}"
        );
        assert!(
            report["unreadable"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["address"] == addr.as_str()),
            "{report}"
        );
        assert_eq!(report["incomplete"], true);
        assert_eq!(sync.code, 3, "{what}: {}\n{}", sync.stdout, sync.stderr);
    }
}

/// A reviewed endpoint change is applied, and then refresh and drift use it.
fn approved_endpoint_change_is_applied_and_used(vendor: &str, seed: u64) {
    let env = applied(seed);
    let addr = env.addr(vendor);
    let before = env.state()["accounts"][&addr]["attributes"]["api_endpoint"]
        .as_str()
        .unwrap()
        .to_string();
    // The same simulator under another name: another destination.
    let moved = before.replace("127.0.0.1", "localhost");
    assert_ne!(moved, before);
    env.set_config(&pointed(&env, vendor, &moved));
    let plan = env.tether(&["plan"]);
    assert!(plan.stdout.contains("Security note"), "{}", plan.stdout);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        env.state()["accounts"][&addr]["attributes"]["api_endpoint"],
        moved.as_str()
    );
    let refresh = env.tether(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(refresh.code, 0, "{}\n{}", refresh.stdout, refresh.stderr);
    let drift = env.tether(&["drift", "--detailed-exitcode"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
}

#[test]
fn aws_secret_never_reaches_a_changed_endpoint() {
    changed_endpoint_reaches_nothing("aws", 301);
}

#[test]
fn alibaba_secret_never_reaches_a_changed_endpoint() {
    changed_endpoint_reaches_nothing("alibaba", 302);
}

#[test]
fn azure_secret_never_reaches_a_changed_endpoint() {
    changed_endpoint_reaches_nothing("azure", 303);
}

#[test]
fn hcs_password_never_reaches_a_changed_endpoint() {
    changed_endpoint_reaches_nothing("hcs", 304);
}

#[test]
fn aws_secret_never_reaches_an_endpoint_in_a_pr_state() {
    pr_state_reaches_nothing("aws", 311);
}

#[test]
fn alibaba_secret_never_reaches_an_endpoint_in_a_pr_state() {
    pr_state_reaches_nothing("alibaba", 312);
}

#[test]
fn azure_secret_never_reaches_an_endpoint_in_a_pr_state() {
    pr_state_reaches_nothing("azure", 313);
}

#[test]
fn hcs_password_never_reaches_an_endpoint_in_a_pr_state() {
    pr_state_reaches_nothing("hcs", 314);
}

#[test]
fn an_approved_endpoint_change_is_applied_then_used_by_every_vendor() {
    for (i, v) in VENDORS.iter().enumerate() {
        approved_endpoint_change_is_applied_and_used(v, 320 + i as u64);
    }
}
