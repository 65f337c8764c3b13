//! Locks of the PostgreSQL backend: a session-level advisory lock per
//! (workspace, lock), held on a connection of its own for the whole
//! operation, and a row in `locks` naming the holder.
//!
//! The advisory lock is the truth: the server releases it when the
//! session ends, however the run ended (kill -9, a lost VM once TCP
//! keepalives give up), so a lock is never stuck. The row only says who
//! holds it; a row under a free advisory lock was left by a run that is
//! gone, and the next run replaces it and reports it.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::Pg;
use crate::error::Result;

/// Who holds a lock, as its row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRow {
    pub id: String,
    pub holder: String,
    pub pid: u32,
    pub host: String,
    pub operation: String,
    pub started: String,
    pub tether_version: String,
}

/// The advisory lock key of `parts` (schema, workspace, lock name):
/// 64 bits of their SHA-256.
pub fn advisory_key(parts: &[&str]) -> i64 {
    let mut h = Sha256::new();
    h.update(b"tether");
    for p in parts {
        h.update([0]);
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_be_bytes(b)
}

/// A connection of its own, on which one lock is taken and held.
pub struct Session {
    pg: Arc<Pg>,
    client: Arc<tokio_postgres::Client>,
    name: String,
    key: i64,
    /// The server process of this session: the lock is held exactly while
    /// it holds the advisory lock.
    backend_pid: i32,
    /// The row this session wrote, once it holds the lock.
    held: Option<String>,
}

/// What a write checks to be sure its run still holds a lock.
#[derive(Debug, Clone)]
pub struct Holding {
    pub name: String,
    pub id: String,
    key: i64,
    backend_pid: i32,
}

/// What one attempt found.
pub enum Attempt {
    /// Taken; the row of a run that is gone, if one was replaced.
    Taken(Option<LockRow>),
    /// Held by a live session; its row, when it has written one.
    Held(Option<LockRow>),
}

impl Session {
    /// Opens the connection the lock `name` will be held on.
    pub fn open(pg: &Arc<Pg>, name: &str) -> Result<Session> {
        let key = advisory_key(&[&pg.target.schema, &pg.target.workspace, name]);
        let (client, backend_pid) = pg.run(|pg| async move {
            let (client, conn) = pg
                .config
                .connect(pg.tls.clone())
                .await
                .map_err(|e| pg.failed("cannot connect for the lock", &e))?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "the lock's connection ended");
                }
            });
            // A runner that vanishes without closing its socket (a lost VM)
            // releases its lock once the server's keepalives give up.
            client
                .batch_execute(
                    "SET tcp_keepalives_idle = 15; SET tcp_keepalives_interval = 5; \
                     SET tcp_keepalives_count = 3",
                )
                .await
                .map_err(|e| pg.failed("cannot set up the lock's connection", &e))?;
            let pid: i32 = client
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .map_err(|e| pg.failed("cannot set up the lock's connection", &e))?
                .get(0);
            Ok((Arc::new(client), pid))
        })?;
        Ok(Session {
            pg: pg.clone(),
            client,
            name: name.to_string(),
            key,
            backend_pid,
            held: None,
        })
    }

    /// One try at the lock; on success the row says `row`.
    pub fn attempt(&mut self, row: &LockRow) -> Result<Attempt> {
        let client = self.client.clone();
        let key = self.key;
        let name = self.name.clone();
        let row = row.clone();
        let id = row.id.clone();
        let answer = self.pg.run(|pg| async move {
            let got: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .await
                .map_err(|e| pg.failed("cannot take the lock", &e))?
                .get(0);
            let previous = read_row(&pg, &client, &name).await?;
            if !got {
                return Ok(Attempt::Held(previous));
            }
            let s = pg.schema();
            client
                .execute(
                    &format!(
                        "INSERT INTO {s}.locks (workspace, name, id, holder, pid, host, operation, started, tether_version)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                         ON CONFLICT (workspace, name) DO UPDATE SET
                           id = EXCLUDED.id, holder = EXCLUDED.holder, pid = EXCLUDED.pid,
                           host = EXCLUDED.host, operation = EXCLUDED.operation,
                           started = EXCLUDED.started, tether_version = EXCLUDED.tether_version"
                    ),
                    &[
                        &pg.target.workspace,
                        &name,
                        &row.id,
                        &row.holder,
                        &i64::from(row.pid),
                        &row.host,
                        &row.operation,
                        &row.started,
                        &row.tether_version,
                    ],
                )
                .await
                .map_err(|e| pg.failed("cannot record the lock's holder", &e))?;
            Ok(Attempt::Taken(previous))
        })?;
        if matches!(answer, Attempt::Taken(_)) {
            self.held = Some(id);
        }
        Ok(answer)
    }

    /// What a write under this lock checks, once it is taken.
    pub fn holding(&self) -> Option<Holding> {
        self.held.as_ref().map(|id| Holding {
            name: self.name.clone(),
            id: id.clone(),
            key: self.key,
            backend_pid: self.backend_pid,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(id) = self.held.take() else {
            return;
        };
        if self.client.is_closed() {
            return;
        }
        let client = self.client.clone();
        let key = self.key;
        let name = self.name.clone();
        let result = self.pg.run(|pg| async move {
            let s = pg.schema();
            client
                .execute(
                    &format!(
                        "DELETE FROM {s}.locks WHERE workspace = $1 AND name = $2 AND id = $3"
                    ),
                    &[&pg.target.workspace, &name, &id],
                )
                .await
                .map_err(|e| pg.failed("cannot remove the lock's row", &e))?;
            client
                .execute("SELECT pg_advisory_unlock($1)", &[&key])
                .await
                .map_err(|e| pg.failed("cannot release the lock", &e))?;
            Ok(())
        });
        if let Err(e) = result {
            // The session ends with the process; the server releases it then.
            tracing::warn!(error = %e, "could not release a lock; the server releases it when this run ends");
        }
    }
}

async fn read_row(pg: &Pg, client: &tokio_postgres::Client, name: &str) -> Result<Option<LockRow>> {
    let s = pg.schema();
    let row = client
        .query_opt(
            &format!(
                "SELECT id, holder, pid, host, operation, started, tether_version
                 FROM {s}.locks WHERE workspace = $1 AND name = $2"
            ),
            &[&pg.target.workspace, &name],
        )
        .await
        .map_err(|e| pg.failed("cannot read the lock", &e))?;
    Ok(row.map(|r| LockRow {
        id: r.get(0),
        holder: r.get(1),
        pid: u32::try_from(r.get::<_, i64>(2)).unwrap_or(0),
        host: r.get(3),
        operation: r.get(4),
        started: r.get(5),
        tether_version: r.get(6),
    }))
}

/// The row of lock `name`, if any (for `force-unlock` and messages).
pub fn read(pg: &Arc<Pg>, name: &str) -> Result<Option<LockRow>> {
    let name = name.to_string();
    pg.run(|pg| async move {
        let c = pg.client().await?;
        read_row(&pg, &c, &name).await
    })
}

/// What `force-unlock` found.
pub enum Unlocked {
    Removed(LockRow),
    NoRow,
    OtherId(LockRow),
    Held(LockRow),
}

/// Removes the row of lock `name` when it has `id` and its advisory lock
/// is free (its run is gone); a held lock is never touched.
pub fn force_unlock(pg: &Arc<Pg>, name: &str, id: &str) -> Result<Unlocked> {
    let session = Session::open(pg, name)?;
    let client = session.client.clone();
    let key = session.key;
    let name = name.to_string();
    let id = id.to_string();
    pg.run(|pg| async move {
        let Some(row) = read_row(&pg, &client, &name).await? else {
            return Ok(Unlocked::NoRow);
        };
        if row.id != id {
            return Ok(Unlocked::OtherId(row));
        }
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .map_err(|e| pg.failed("cannot take the lock", &e))?
            .get(0);
        if !got {
            return Ok(Unlocked::Held(row));
        }
        let s = pg.schema();
        client
            .execute(
                &format!("DELETE FROM {s}.locks WHERE workspace = $1 AND name = $2 AND id = $3"),
                &[&pg.target.workspace, &name, &id],
            )
            .await
            .map_err(|e| pg.failed("cannot remove the lock's row", &e))?;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&key])
            .await
            .map_err(|e| pg.failed("cannot release the lock", &e))?;
        Ok(Unlocked::Removed(row))
    })
}

/// Checks, inside a writing transaction, that this run still holds the
/// lock: its session's server process holds the advisory lock, and the row
/// is its own. A run whose lock session died cannot write, whoever holds
/// the lock now.
pub(crate) async fn check_held(
    pg: &Pg,
    tx: &tokio_postgres::Transaction<'_>,
    h: &Holding,
) -> Result<()> {
    let s = pg.schema();
    // A bigint advisory key shows in pg_locks as (classid, objid) = its
    // high and low 32 bits, objsubid 1.
    let hi = (h.key >> 32) as u32;
    let lo = h.key as u32;
    let row = tx
        .query_one(
            &format!(
                "SELECT
                   EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                           AND pid = $1 AND classid = $2::bigint::oid AND objid = $3::bigint::oid
                           AND objsubid = 1),
                   (SELECT id FROM {s}.locks WHERE workspace = $4 AND name = $5 FOR SHARE)"
            ),
            &[
                &h.backend_pid,
                &i64::from(hi),
                &i64::from(lo),
                &pg.target.workspace,
                &h.name,
            ],
        )
        .await
        .map_err(|e| pg.failed("cannot check the lock", &e))?;
    let held: bool = row.get(0);
    let found: Option<String> = row.get(1);
    let name = &h.name;
    match found {
        Some(found) if held && found == h.id => Ok(()),
        Some(found) if found != h.id => Err(pg.error(format!(
            "the {name} lock is now held by another run (lock ID {found}): this run lost its lock \
             (its connection ended) and writes nothing; run the command again"
        ))),
        _ => Err(pg.error(format!(
            "the {name} lock is no longer held by this run (its connection ended); nothing was \
             written: run the command again"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::advisory_key;

    #[test]
    fn keys_differ_per_workspace_and_lock() {
        let a = advisory_key(&["tether", "default", "state"]);
        assert_eq!(a, advisory_key(&["tether", "default", "state"]));
        assert_ne!(a, advisory_key(&["tether", "default", "snapshots"]));
        assert_ne!(a, advisory_key(&["tether", "other", "state"]));
        // The separator keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(
            advisory_key(&["ab", "c", "state"]),
            advisory_key(&["a", "bc", "state"])
        );
    }
}
