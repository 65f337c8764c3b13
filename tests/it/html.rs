//! The HTML reports (`drift`, `snapshot diff`, `snapshot show` with
//! `--format html`) end to end, loaded in headless Chromium
//! (`TETHER_CHROMIUM`, installed and set by `scripts/test`; without it
//! these tests fail, never skip).
//!
//! No request may leave a report: Chromium runs with every request sent to
//! a capture proxy of the test's own (`--proxy-server`, loopback not
//! bypassed), which serves each page at its one URL under
//! `http://report.invalid/` and records every request line it gets. Each
//! run must have made exactly one request: its page. Chromium's own
//! background traffic is switched off by its flags but for one request,
//! excluded by its exact request line ([`CHROMIUM_OWN`]).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tether_sim::Vendor as SimVendor;

use crate::apply::{Backend, Env};

/// The longest a Chromium run may take before it is killed.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(60);

const HOST: &str = "http://report.invalid";

/// The one request Chromium makes on its own that no flag switches off
/// (`--disable-sync`, `--allow-browser-signin=false` and the `signin.*`
/// preferences do not): its account reconcilor asking
/// `https://accounts.google.com/ListAccounts?gpsia=1&source=ChromiumBrowser…`
/// at startup, whatever the page (seen in Chromium's `--log-net-log` for a
/// page of one paragraph). Through the proxy it is a tunnel, so its exact
/// request line is excluded, at most once per run; nothing else is.
const CHROMIUM_OWN: &str = "CONNECT accounts.google.com:443 HTTP/1.1";

/// Chromium's features that make requests of their own at startup, found
/// with `--log-net-log`: the network time query
/// (`clients2.google.com/time/1/current`), autofill's server predictions
/// (`content-autofill.googleapis.com`), the AI mode eligibility check
/// (`www.google.com/async/folae`) and the preconnections to the default
/// search engine (`www.google.com`).
const QUIET: &str = "--disable-features=NetworkTimeServiceQuerying,AutofillServerCommunication,AimServerRequestOnStartupEnabled,PreconnectToSearch,SearchEnginePreconnect2";

/// Chromium. Never skipped: run the suite with `scripts/test`, which
/// installs Debian's `chromium` and sets `TETHER_CHROMIUM`.
fn chromium() -> PathBuf {
    let path = std::env::var_os("TETHER_CHROMIUM").unwrap_or_else(|| {
        panic!(
            "TETHER_CHROMIUM is not set: run the tests with `scripts/test`, which installs Chromium and sets it"
        )
    });
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "TETHER_CHROMIUM={} is not a file: run the tests with `scripts/test`, which installs Chromium",
        path.display()
    );
    path
}

/// A page the proxy serves, with script allowed or not.
struct Page {
    body: Vec<u8>,
    /// Served with `Content-Security-Policy: script-src 'none'` (enforced
    /// beside the page's own): the page as a browser without script shows
    /// it. (`--blink-settings=scriptEnabled=false` would stop `--dump-dom`
    /// too, which reads the DOM with script.)
    no_script: bool,
}

/// A capture proxy on loopback: serves `pages` (exact absolute URLs, as a
/// browser asks a proxy for them) and records every request line.
struct Proxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(pages: BTreeMap<String, Page>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let pages = Arc::new(pages);
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (seen, pages) = (seen.clone(), pages.clone());
                    // A connection of its own each: one opened and left idle
                    // (a preconnect) holds up no other.
                    std::thread::spawn(move || serve(conn, &pages, &seen));
                }
            })
        };
        Proxy {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// The request lines received since the last call.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One connection: its request head read, its request line recorded, the
/// page answered (anything else: 404, or 403 for a tunnel), closed.
fn serve(mut conn: TcpStream, pages: &BTreeMap<String, Page>, seen: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 1 << 16 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    if head.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("").to_string();
    seen.lock().unwrap().push(line.clone());
    let mut words = line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let reply = match pages.get(target) {
        Some(page) if method == "GET" => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{}Connection: close\r\n\r\n",
                page.body.len(),
                if page.no_script {
                    "Content-Security-Policy: script-src 'none'\r\n"
                } else {
                    ""
                }
            )
            .into_bytes();
            r.extend_from_slice(&page.body);
            r
        }
        _ if method == "CONNECT" => {
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = conn.write_all(&reply);
    let _ = conn.flush();
}

/// A Chromium process, in a process group of its own, killed with its
/// children when dropped.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group, whether or not the browser itself has ended: its
        // renderer and helper processes may outlive it.
        // SAFETY: a plain signal to the process group this test started.
        unsafe {
            libc::kill(-(self.0.id() as i32), libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// Chromium on `url` through `proxy` with `extra` flags; its stdout (the
/// DOM with `--dump-dom`). Killed after [`CHROMIUM_LIMIT`].
fn browse(proxy: &Proxy, url: &str, extra: &[&str]) -> String {
    use std::os::unix::process::CommandExt as _;
    // A profile of its own each run: nothing carried from one to the next.
    let profile = tempfile::tempdir().unwrap();
    let profile = profile.path();
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        &format!("--proxy-server=http://127.0.0.1:{}", proxy.port),
        "--proxy-bypass-list=<-loopback>",
        &format!("--user-data-dir={}", profile.display()),
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-default-browser-check",
        "--metrics-recording-only",
        QUIET,
    ])
    .args(extra)
    .arg(url)
    .env("HOME", profile)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let mut b = Browser(cmd.spawn().expect("chromium starts"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = drain(Box::new(b.0.stdout.take().unwrap()));
    let err = drain(Box::new(b.0.stderr.take().unwrap()));
    let deadline = Instant::now() + CHROMIUM_LIMIT;
    let status = loop {
        if let Some(s) = b.0.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Kills what is left of the group (a hung browser, its children).
    drop(b);
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let status =
        status.unwrap_or_else(|| panic!("chromium still running after {CHROMIUM_LIMIT:?}: {err}"));
    assert!(status.success(), "chromium on {url}: {status}\n{err}");
    out
}

/// Loads `page` (a path under [`HOST`] the proxy serves) and checks that
/// the one request Chromium made was that page's.
fn load_alone(proxy: &Proxy, page: &str, fragment: &str, extra: &[&str]) -> String {
    let url = format!("{HOST}{page}");
    let out = browse(proxy, &format!("{url}{fragment}"), extra);
    // Requests still in flight when the browser ended are counted too.
    std::thread::sleep(Duration::from_millis(200));
    let mut seen = proxy.take();
    if let Some(at) = seen.iter().position(|l| l == CHROMIUM_OWN) {
        seen.remove(at);
    }
    assert_eq!(
        seen,
        vec![format!("GET {url} HTTP/1.1")],
        "{page}{fragment}: every request Chromium made"
    );
    out
}

/// The opening tags holding `data-a`, as (account, attributes).
fn rows(dom: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    for part in dom.split('<').skip(1) {
        let Some(end) = part.find('>') else { continue };
        let tag = &part[..end];
        if !tag.contains(" data-a=\"") {
            continue;
        }
        let attrs = attributes(tag);
        out.push((attrs["data-a"].clone(), attrs));
    }
    out
}

/// The attributes of an opening tag (its text between `<` and `>`).
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let rest = tag.split_once(' ').map_or("", |(_, r)| r);
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| !matches!(c, '=' | ' '))).collect();
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            assert_eq!(chars.next(), Some('"'), "{tag}");
            value = std::iter::from_fn(|| chars.next_if(|c| *c != '"')).collect();
            chars.next();
        }
        m.insert(name, value);
    }
    m
}

/// Where test artifacts go: `$CARGO_TARGET_DIR/test-artifacts`, or
/// `target/test-artifacts` in the workspace.
fn artifacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::harness::repo().join("target"))
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const VENDORS: [(SimVendor, &str); 4] = [
    (SimVendor::Aws, "aws"),
    (SimVendor::Alibaba, "alibaba"),
    (SimVendor::Azure, "azure"),
    (SimVendor::Hcs, "hcs"),
];

/// A tag value that would fetch an image if it were ever markup.
const HOSTILE: &str = "<img src=\"http://evil.invalid/x.png\">&<script>alert(1)</script>";

/// Drift in all four vendors (a resource re-tagged in each, one added in
/// AWS and Azure, one removed in Alibaba and HCS), rendered as HTML by
/// `drift`, `snapshot diff` and `snapshot show`: every page loads in
/// Chromium with no request but its own, the DOM after its script ran
/// holds each vendor's change with its field and values and the summary,
/// the filters hide the rows of other accounts (set from the URL's
/// fragment), and a screenshot is taken.
#[test]
fn html_reports_load_alone_and_filter_in_chromium() {
    // Before anything else: no Chromium, no test.
    chromium();
    let env = Env::on(Backend::Local, 71, 1, 12);
    let out = env.tether(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = env.tether(&["snapshot", "export", "latest", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let first = first["resources"].as_array().unwrap();

    let e = env.sim.engine();
    let mut retagged = BTreeMap::new();
    for (i, (v, name)) in VENDORS.into_iter().enumerate() {
        let account = env.addr(name);
        let mine: Vec<&serde_json::Value> = first
            .iter()
            .filter(|r| r["account"] == account.as_str() && r["type"] != "resource_group")
            .collect();
        let mut tags = BTreeMap::from([("owner".to_string(), format!("html-{name}"))]);
        if v == SimVendor::Aws {
            tags.insert("note".into(), HOSTILE.into());
        }
        e.set_tags(v, mine[0]["id"].as_str().unwrap(), &tags)
            .unwrap_or_else(|err| panic!("{v:?}: {err}"));
        retagged.insert(name, mine[0]["address"].as_str().unwrap().to_string());
        if i % 2 == 0 {
            crate::drift::add_like(&env, v, mine[1]);
        } else {
            e.delete_resource(v, mine[1]["id"].as_str().unwrap())
                .unwrap();
        }
    }

    let drift = env.tether(&["drift", "--detailed-exitcode", "--format", "html"]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    let out = env.tether(&["sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let diff = env.tether(&["snapshot", "diff", "1", "2", "--format", "html"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    let show = env.tether(&["snapshot", "show", "--format", "html"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    // `list` has no HTML form: refused, not ignored.
    let list = env.tether(&["snapshot", "list", "--format", "html"]);
    assert_eq!(list.code, 1, "{}", list.stdout);
    assert!(
        list.stderr.contains("invalid value 'html'"),
        "{}",
        list.stderr
    );

    // Kept beside the screenshot, for a look.
    let keep = artifacts();
    let mut pages = BTreeMap::new();
    for (name, out, file) in [
        ("report.html", &drift, "drift-report.html"),
        ("diff.html", &diff, "snapshot-diff.html"),
        ("show.html", &show, "snapshot-show.html"),
    ] {
        assert!(out.stdout.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(out.stdout.contains("<link rel=\"icon\" href=\"data:,\">"));
        assert!(out.stdout.contains("content=\"default-src 'none';"));
        // The hostile tag is text, escaped.
        assert!(
            out.stdout
                .contains("&lt;img src=&quot;http://evil.invalid/x.png&quot;&gt;"),
            "{name}"
        );
        std::fs::write(keep.join(file), &out.stdout).unwrap();
        let body = out.stdout.clone().into_bytes();
        if name == "report.html" {
            pages.insert(
                format!("{HOST}/no-script.html"),
                Page {
                    body: body.clone(),
                    no_script: true,
                },
            );
        }
        pages.insert(
            format!("{HOST}/{name}"),
            Page {
                body,
                no_script: false,
            },
        );
    }
    let proxy = Proxy::start(pages);

    // The drift report, after its script ran.
    let dom = load_alone(&proxy, "/report.html", "", &["--dump-dom"]);
    assert!(dom.contains("Drift found."), "{dom}");
    assert!(
        dom.contains("2 added, 4 changed, 2 removed."),
        "the summary line: {dom}"
    );
    for (name, address) in &retagged {
        assert!(dom.contains(address.as_str()), "{name}: {address}");
        assert!(
            dom.contains(&format!("\"html-{name}\"")),
            "{name}'s new value"
        );
    }
    assert!(dom.contains("tags.owner"), "the changed field");
    assert!(!dom.contains("<img"), "no element from data");
    assert_eq!(dom.matches("<script").count(), 1, "one script, the page's");
    let all = rows(&dom);
    assert!(all.iter().all(|(_, a)| !a.contains_key("hidden")));
    assert!(dom.contains("<div id=\"f\">"), "the filters shown: {dom}");
    for (_, name) in VENDORS {
        assert!(
            all.iter().any(|(a, _)| a == &env.addr(name)),
            "a row of {name}"
        );
    }

    // Without script: every row shown, the filters (which need it) hidden.
    let dom = load_alone(
        &proxy,
        "/no-script.html",
        "#account=nothing.here",
        &["--dump-dom"],
    );
    let still = rows(&dom);
    assert_eq!(still.len(), all.len());
    assert!(still.iter().all(|(_, a)| !a.contains_key("hidden")));
    assert!(dom.contains("<div id=\"f\" hidden=\"\">"), "{dom}");
    for (name, address) in &retagged {
        assert!(dom.contains(address.as_str()), "{name}: {address}");
    }

    // The account filter, set from the fragment, hides every other
    // account's rows; a tag filter keeps the rows with that tag.
    let aws = env.addr("aws");
    let dom = load_alone(
        &proxy,
        "/report.html",
        &format!("#account={aws}"),
        &["--dump-dom"],
    );
    let got = rows(&dom);
    assert_eq!(got.len(), all.len(), "every row is still in the page");
    assert!(
        got.iter()
            .any(|(a, r)| a == &aws && !r.contains_key("hidden"))
    );
    for (account, attrs) in &got {
        assert_eq!(
            attrs.contains_key("hidden"),
            account != &aws,
            "{account}: {attrs:?}"
        );
    }
    assert!(
        dom.contains(&format!("of {} rows shown", all.len())),
        "the count"
    );
    let dom = load_alone(
        &proxy,
        "/report.html",
        "#tag=owner%3Dhtml-hcs",
        &["--dump-dom"],
    );
    let got = rows(&dom);
    let shown: Vec<&String> = got
        .iter()
        .filter(|(_, a)| a.contains_key("data-g") && !a.contains_key("hidden"))
        .map(|(account, _)| account)
        .collect();
    assert_eq!(shown, vec![&env.addr("hcs")], "rows with tags shown");

    // A screenshot of the report.
    let png = keep.join("drift-report.png");
    let _ = std::fs::remove_file(&png);
    load_alone(
        &proxy,
        "/report.html",
        "",
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,1800",
            "--hide-scrollbars",
        ],
    );
    let size = std::fs::metadata(&png)
        .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
        .len();
    assert!(size > 10 << 10, "{}: {size} bytes", png.display());

    // The diff and the version load alone too.
    let dom = load_alone(&proxy, "/diff.html", "", &["--dump-dom"]);
    assert!(dom.contains("Snapshot 1 → 2"), "{dom}");
    assert!(dom.contains("2 added, 4 changed, 2 removed."), "{dom}");
    for (name, address) in &retagged {
        assert!(dom.contains(address.as_str()), "{name}: {address}");
    }
    let dom = load_alone(&proxy, "/show.html", "", &["--dump-dom"]);
    assert!(dom.contains("Snapshot 2"), "{dom}");
    for (name, address) in &retagged {
        assert!(dom.contains(address.as_str()), "{name}: {address}");
    }
    assert!(!dom.contains("<img"));
}
