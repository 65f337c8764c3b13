//! Listeners, the shared [`Engine`], and the [`Sim`] handle that starts and
//! stops them on a runtime thread of their own (so a synchronous test, an
//! async test and the binary start it the same way).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use tokio::sync::oneshot;

use crate::faults::FaultState;
use crate::http::{Req, Resp};
use crate::summary::Summary;
use crate::world::{Vendor, World};
use crate::{admin, alibaba, aws, azure, clock, hcs};

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address of the first listener; with port 0 every listener takes a free
    /// port, otherwise the vendors take the next four ports.
    pub listen: SocketAddr,
    /// Refuse requests whose signed time is outside the skew window.
    pub check_clock: bool,
    /// Lifetime of Azure access tokens (seconds).
    pub azure_token_ttl: i64,
    /// Lifetime of HCS IAM tokens (seconds).
    pub hcs_token_ttl: i64,
    /// The longest an AWS or Alibaba `AssumeRole` session lives (seconds),
    /// whatever `DurationSeconds` asked: short sessions for renewal tests.
    pub session_ttl: i64,
    /// Worker threads of the runtime (0: one per core).
    pub workers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            check_clock: true,
            azure_token_ttl: 3599,
            hcs_token_ttl: 24 * 3600,
            session_ttl: 43_200,
            workers: 0,
        }
    }
}

/// Nonces seen in the last 15 to 30 minutes (two rotating generations).
#[derive(Default)]
pub struct Nonces {
    current: HashSet<String>,
    previous: HashSet<String>,
    rotated_at: i64,
}

impl Nonces {
    /// Records a nonce; `false` if it was already used.
    pub fn fresh(&mut self, nonce: &str, now: i64) -> bool {
        if now - self.rotated_at > crate::auth::SKEW_SECS {
            self.previous = std::mem::take(&mut self.current);
            self.rotated_at = now;
        }
        if self.previous.contains(nonce) || self.current.contains(nonce) {
            return false;
        }
        self.current.insert(nonce.to_string());
        true
    }
}

/// The state every listener shares.
pub struct Engine {
    pub world: RwLock<World>,
    pub faults: FaultState,
    pub nonces: Mutex<Nonces>,
    /// Seals the tokens this simulator issues.
    pub token_key: [u8; 32],
    pub options: Options,
    /// Base URLs: aws, alibaba, azure, hcs, admin.
    pub urls: [String; 5],
    /// Vendor requests being answered now, the most at once, and in all.
    pub load: Load,
    /// AWS temporary credentials issued by STS `AssumeRole`, by `ASIA…` key.
    pub sessions: Mutex<std::collections::HashMap<String, aws::Session>>,
    /// Alibaba temporary credentials issued by STS `AssumeRole`, by `STS.…` key.
    pub alibaba_sessions: Mutex<std::collections::HashMap<String, alibaba::Session>>,
    /// Counts issued sessions (mixed into their keys).
    pub session_seq: std::sync::atomic::AtomicU64,
    /// Seconds added to the wall clock ([`Engine::advance_clock`]).
    pub clock_offset: std::sync::atomic::AtomicI64,
}

/// Request counters of the vendor listeners (`GET /admin/stats`): how many
/// requests a client really had in flight at once.
#[derive(Debug, Default)]
pub struct Load {
    now: std::sync::atomic::AtomicU64,
    peak: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

/// What `GET /admin/stats` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Vendor requests answered since the start or the last reset.
    pub requests: u64,
    /// The most vendor requests in flight at once.
    pub peak_in_flight: u64,
}

impl Load {
    fn enter(&self) -> LoadGuard<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(n, SeqCst);
        self.total.fetch_add(1, SeqCst);
        LoadGuard(self)
    }

    pub fn stats(&self) -> Stats {
        use std::sync::atomic::Ordering::SeqCst;
        Stats {
            requests: self.total.load(SeqCst),
            peak_in_flight: self.peak.load(SeqCst),
        }
    }

    /// Starts counting anew (the peak becomes what is in flight now).
    pub fn reset(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.total.store(0, SeqCst);
        self.peak.store(self.now.load(SeqCst), SeqCst);
    }
}

struct LoadGuard<'a>(&'a Load);

impl Drop for LoadGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Engine {
    /// The base URL of a vendor's listener (no trailing slash).
    pub fn endpoint(&self, v: Vendor) -> &str {
        &self.urls[Vendor::ALL.iter().position(|x| *x == v).unwrap_or(0)]
    }

    pub fn admin_url(&self) -> &str {
        &self.urls[4]
    }

    /// Now, as the simulator's clock sees it.
    pub fn now(&self) -> i64 {
        clock::now() + self.clock_offset.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Moves the simulator's clock `secs` seconds on (tests of expiry):
    /// every later check of a time against now sees the moved clock.
    pub fn advance_clock(&self, secs: i64) {
        self.clock_offset
            .fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }

    /// The start-up summary of the current world.
    pub fn summary(&self) -> Summary {
        let w = self.world.read().unwrap_or_else(|e| e.into_inner());
        Summary::of(&w, &self.urls)
    }
}

/// Keeps newly issued temporary credentials by access key id. Past
/// [`aws::MAX_SESSIONS`], expired ones are dropped, then the soonest to
/// expire.
pub(crate) fn keep_session<S>(
    sessions: &Mutex<std::collections::HashMap<String, S>>,
    key: String,
    session: S,
    now: i64,
    expires: fn(&S) -> i64,
) {
    let Ok(mut m) = sessions.lock() else {
        return;
    };
    if m.len() >= aws::MAX_SESSIONS {
        m.retain(|_, s| expires(s) > now);
    }
    if m.len() >= aws::MAX_SESSIONS
        && let Some(k) = m
            .iter()
            .min_by_key(|(_, s)| expires(s))
            .map(|(k, _)| k.clone())
    {
        m.remove(&k);
    }
    m.insert(key, session);
}

/// A running simulator. Dropping it stops the listeners.
pub struct Sim {
    engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::ops::Deref for Sim {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

impl Sim {
    /// Binds the five listeners and serves `world` until stopped.
    pub fn start(world: World, options: Options) -> std::io::Result<Sim> {
        let mut listeners = Vec::with_capacity(5);
        for i in 0..5u16 {
            let mut addr = options.listen;
            if addr.port() != 0 {
                addr.set_port(addr.port() + i);
            }
            listeners.push(bind(addr)?);
        }
        let url = |l: &std::net::TcpListener| -> std::io::Result<String> {
            Ok(format!("http://{}", l.local_addr()?))
        };
        // Vendors first (in `Vendor::ALL` order), admin last.
        let urls = [
            url(&listeners[1])?,
            url(&listeners[2])?,
            url(&listeners[3])?,
            url(&listeners[4])?,
            url(&listeners[0])?,
        ];
        let mut token_key = [0u8; 32];
        let seed = crate::rng::mix(clock::now() as u64 ^ std::process::id() as u64);
        let mut r = crate::rng::Rng::new(seed);
        for b in token_key.iter_mut() {
            *b = r.u64() as u8;
        }
        let engine = Arc::new(Engine {
            world: RwLock::new(world),
            faults: FaultState::default(),
            nonces: Mutex::new(Nonces::default()),
            token_key,
            options: options.clone(),
            urls,
            load: Load::default(),
            sessions: Mutex::new(Default::default()),
            alibaba_sessions: Mutex::new(Default::default()),
            session_seq: Default::default(),
            clock_offset: Default::default(),
        });
        let mut rt = tokio::runtime::Builder::new_multi_thread();
        rt.enable_all().thread_name("tether-sim");
        if options.workers > 0 {
            rt.worker_threads(options.workers);
        }
        let rt = rt.build()?;
        let (tx, rx) = oneshot::channel::<()>();
        let e = engine.clone();
        let thread = std::thread::Builder::new()
            .name("tether-sim".into())
            .spawn(move || {
                rt.block_on(async move {
                    let mut tasks = Vec::new();
                    let roles: [Option<Vendor>; 5] = [
                        None,
                        Some(Vendor::Aws),
                        Some(Vendor::Alibaba),
                        Some(Vendor::Azure),
                        Some(Vendor::Hcs),
                    ];
                    for (l, role) in listeners.into_iter().zip(roles) {
                        let Ok(l) = tokio::net::TcpListener::from_std(l) else {
                            continue;
                        };
                        let app = Router::new().fallback(handle).with_state((e.clone(), role));
                        tasks.push(tokio::spawn(async move {
                            let _ = axum::serve(l, app).await;
                        }));
                    }
                    let _ = rx.await;
                    for t in tasks {
                        t.abort();
                    }
                });
            })?;
        Ok(Sim {
            engine,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// The engine (also reachable through `Deref`).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Stops the listeners and waits for the runtime to end.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Blocks until the simulator stops (the binary's main loop).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Requests larger than this are refused before they are read.
const MAX_BODY: usize = 8 << 20;

async fn handle(
    State((engine, role)): State<(Arc<Engine>, Option<Vendor>)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => return to_response(Resp::new(413, "text/plain", "request body too large")),
    };
    let req = Req {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    let resp = match role {
        None => admin::handle(&engine, &req),
        Some(v) => {
            let _counted = engine.load.enter();
            let delay = engine.faults.delay(v);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match v {
                Vendor::Aws => aws::handle(&engine, &req),
                Vendor::Alibaba => alibaba::handle(&engine, &req),
                Vendor::Azure => azure::handle(&engine, &req),
                Vendor::Hcs => hcs::handle(&engine, &req),
            }
        }
    };
    to_response(resp)
}

fn to_response(r: Resp) -> Response {
    let mut b = Response::builder().status(r.status);
    for (k, v) in &r.headers {
        b = b.header(*k, v.as_str());
    }
    b.body(Body::from(r.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
