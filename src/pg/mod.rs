//! The PostgreSQL backend's connection and storage primitives
//! (`tether { backend = "pg" }`, design §7).
//!
//! This module knows tables, rows and bytes, never tether's own types: the
//! state store, the lock, the snapshot store and the audit log keep their
//! rules (lineage, serial, content hashes, immutable versions) and hand
//! their bytes here. So the rules hold the same for both backends.
//!
//! Invariants:
//! - The connection comes from `TETHER_PG_CONN_STR` or the `PG*` variables
//!   ([`conn`]), never from the config; no message ever shows a password.
//! - Every call runs on one runtime of this module's own ([`block`]): the
//!   callers are synchronous, and may themselves run inside another tokio
//!   runtime (apply records state from its executor), which must never
//!   block on a runtime of its own.
//! - The schema is migrated before first use, under a transaction-level
//!   advisory lock, so two runners that start at once migrate once; a
//!   current schema is only read (a read-only role can plan). A schema
//!   written by a newer tether is refused ([`schema`]).
//! - Each write that matters is one transaction, checked against the lock
//!   row of the run that holds the lock: a run whose lock session died
//!   cannot write, and a half write is never visible.
//! - Everything is per workspace: two workspaces share no row and no lock.

pub mod conn;
pub mod lock;
pub mod rows;
pub mod schema;

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};

pub use conn::Target;

/// One workspace of one schema on one server: what every store of a
/// `backend = "pg"` config reads and writes.
pub struct Pg {
    pool: deadpool_postgres::Pool,
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: tokio_postgres_rustls::MakeRustlsConnect,
    pub(crate) target: Target,
    /// `host:port/database`, for messages (never the password).
    pub(crate) server: String,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg")
            .field("server", &self.server)
            .field("target", &self.target)
            .finish()
    }
}

impl Pg {
    /// The connection to `target`, shared by every store of this process:
    /// connected (and the schema migrated) once.
    pub fn shared(target: &Target) -> Result<Arc<Pg>> {
        static OPEN: OnceLock<Mutex<Vec<Arc<Pg>>>> = OnceLock::new();
        let open = OPEN.get_or_init(|| Mutex::new(Vec::new()));
        let mut open = open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pg) = open.iter().find(|p| &p.target == target) {
            return Ok(pg.clone());
        }
        let pg = Pg::connect(target)?;
        open.push(pg.clone());
        Ok(pg)
    }

    fn connect(target: &Target) -> Result<Arc<Pg>> {
        Pg::open(target, &conn::Environment::current())
    }

    /// A connection of its own to `target`, from the variables of `env`
    /// (not shared: for tests and tools that name their server).
    pub fn open(target: &Target, env: &conn::Environment) -> Result<Arc<Pg>> {
        let resolved = conn::resolve(env).map_err(|reason| Error::Backend {
            backend: format!(
                "pg backend (schema {}, workspace {})",
                target.schema, target.workspace
            ),
            reason,
        })?;
        let conn::Resolved {
            config,
            tls,
            server,
        } = resolved;
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            tls.clone(),
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(4)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Backend {
                backend: format!("pg backend at {server}"),
                reason: format!("cannot set up the connection pool: {e}"),
            })?;
        let pg = Arc::new(Pg {
            pool,
            config,
            tls,
            target: target.clone(),
            server,
        });
        schema::ensure(&pg)?;
        Ok(pg)
    }

    /// Runs `f` with this backend on the runtime of [`block`] and waits.
    pub(crate) fn run<T, F, Fut>(self: &Arc<Self>, f: F) -> Result<T>
    where
        F: FnOnce(Arc<Pg>) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        block(f(self.clone()))
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// How messages name this backend: `pg:<schema>/<workspace>`.
    pub fn shown(&self) -> String {
        self.target.shown()
    }

    /// The schema, quoted for SQL (its name is checked to be a plain
    /// identifier when the config is validated, and quoted anyway).
    pub(crate) fn schema(&self) -> String {
        quote_ident(&self.target.schema)
    }

    /// A pooled connection, in an async context of [`block`].
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => self.failed("cannot connect", &e),
            other => self.error(format!("cannot connect: {other}")),
        })
    }

    pub(crate) fn error(&self, reason: impl Into<String>) -> Error {
        Error::Backend {
            backend: format!("pg backend {} at {}", self.target.shown(), self.server),
            reason: reason.into(),
        }
    }

    /// A PostgreSQL error as the user's next step: which server, what it
    /// said, and what to do.
    pub(crate) fn failed(&self, doing: &str, e: &tokio_postgres::Error) -> Error {
        self.error(explain(doing, e, &self.target.schema))
    }
}

/// `what failed: why; what to do`, from a driver error.
pub(crate) fn explain(doing: &str, e: &tokio_postgres::Error, schema: &str) -> String {
    use tokio_postgres::error::SqlState;
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let msg = db.message();
        let hint = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            "check the user and password in TETHER_PG_CONN_STR (or PGUSER / PGPASSWORD)".to_string()
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            format!(
                "the role needs CREATE on the database (the first run creates schema `{schema}`) \
                 and USAGE and CREATE on the schema; have an administrator grant them or run \
                 the first tether command once with a role that has them"
            )
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            "create the database, or name an existing one in TETHER_PG_CONN_STR (or PGDATABASE)"
                .to_string()
        } else if *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
        {
            "the server is shutting down or restarting; nothing was half-written: run the command again"
                .to_string()
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            "the server has no free connection; retry, or raise max_connections".to_string()
        } else {
            String::new()
        };
        let mut s = format!("{doing}: the server said: {msg} (SQLSTATE {})", code.code());
        if !hint.is_empty() {
            s.push_str("; ");
            s.push_str(&hint);
        }
        return s;
    }
    let detail = std::error::Error::source(e)
        .map(|s| format!("{e}: {s}"))
        .unwrap_or_else(|| e.to_string());
    if e.is_closed() {
        format!(
            "{doing}: the connection to the server was lost ({detail}); nothing was half-written: \
             run the command again once the server is back"
        )
    } else {
        format!(
            "{doing}: {detail}; check that the server is up and that TETHER_PG_CONN_STR \
             (or PGHOST / PGPORT) names it"
        )
    }
}

/// `"name"` with embedded quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The runtime every PostgreSQL call runs on; built once, never dropped.
fn runtime() -> std::result::Result<&'static tokio::runtime::Runtime, String> {
    static RT: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tether-pg")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the PostgreSQL client's runtime: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Runs `f` on this module's runtime and waits for it, from any thread,
/// inside another runtime or not.
pub(crate) fn block<T, F>(f: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime().map_err(|reason| Error::Backend {
        backend: "pg backend".into(),
        reason,
    })?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv().unwrap_or_else(|_| {
        Err(Error::Backend {
            backend: "pg backend".into(),
            reason: "internal: a database task ended without an answer".into(),
        })
    })
}

/// Serial numbers and ids are `u64` in tether and `bigint` in PostgreSQL.
pub(crate) fn to_i64(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::Backend {
        backend: "pg backend".into(),
        reason: format!("{what} {n} is larger than PostgreSQL's bigint"),
    })
}

pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
