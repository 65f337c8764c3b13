//! The rows of one workspace: state history, snapshot versions and their
//! pack segments, audit lines. Bytes in, bytes out: the stores above keep
//! the rules of what the bytes mean.

use std::sync::Arc;

use tokio_postgres::types::ToSql;

use super::lock::{Holding, check_held};
use super::{Pg, to_i64, to_u64};
use crate::error::Result;

/// A state document to record, with who wrote it.
#[derive(Debug, Clone)]
pub struct NewState {
    pub serial: u64,
    pub lineage: String,
    pub document: Vec<u8>,
    pub who: String,
    pub host: String,
    pub operation: String,
    pub plan_hash: Option<String>,
}

/// One row of `tether state history`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct HistoryRow {
    pub serial: u64,
    pub lineage: String,
    /// SHA-256 of the state document as written.
    pub sha256: String,
    pub who: String,
    pub host: String,
    pub operation: String,
    pub plan_hash: Option<String>,
    pub tether_version: String,
    /// RFC 3339, UTC.
    pub written_at: String,
    pub bytes: u64,
}

/// What a compare-and-swap of the state found instead of what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    Written,
    /// The workspace's current (serial, lineage) was not the expected one.
    Changed {
        found: Option<(u64, String)>,
    },
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(b))
}

impl Pg {
    /// The current state document (the highest serial), if any.
    pub fn state_current(self: &Arc<Self>) -> Result<Option<Vec<u8>>> {
        let rows = self.read(
            "cannot read the state",
            "SELECT document FROM {s}.state_history WHERE workspace = $1 ORDER BY serial DESC LIMIT 1",
            vec![],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// The state document of `serial`, if the history holds it.
    pub fn state_at(self: &Arc<Self>, serial: u64) -> Result<Option<Vec<u8>>> {
        let rows = self.read(
            "cannot read the state history",
            "SELECT document FROM {s}.state_history WHERE workspace = $1 AND serial = $2",
            vec![Box::new(to_i64(serial, "serial")?)],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// Every recorded serial, oldest first.
    pub fn state_history(self: &Arc<Self>) -> Result<Vec<HistoryRow>> {
        let rows = self.read(
            "cannot read the state history",
            "SELECT serial, lineage, sha256, who, host, operation, plan_hash, tether_version,
                    to_char(written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    octet_length(document)
             FROM {s}.state_history WHERE workspace = $1 ORDER BY serial",
            vec![],
        )?;
        Ok(rows
            .into_iter()
            .map(|r| HistoryRow {
                serial: to_u64(r.get(0)),
                lineage: r.get(1),
                sha256: r.get(2),
                who: r.get(3),
                host: r.get(4),
                operation: r.get(5),
                plan_hash: r.get(6),
                tether_version: r.get(7),
                written_at: r.get(8),
                bytes: u64::try_from(r.get::<_, i32>(9)).unwrap_or(0),
            })
            .collect())
    }

    /// Records `new` when the workspace's current state is `expected`
    /// ((serial, lineage), `None`: no state yet), in one transaction, and
    /// only while this run holds the state lock (`holding`). `force`
    /// skips the comparison (`state push --force`), never the lock check.
    pub fn state_swap(
        self: &Arc<Self>,
        expected: Option<(u64, String)>,
        new: NewState,
        holding: &Holding,
        force: bool,
    ) -> Result<Swap> {
        let holding = holding.clone();
        let serial = to_i64(new.serial, "serial")?;
        self.run(move |pg| async move {
            let mut c = pg.client().await?;
            let s = pg.schema();
            let ws = &pg.target.workspace;
            let tx = c
                .transaction()
                .await
                .map_err(|e| pg.failed("cannot write the state", &e))?;
            check_held(&pg, &tx, &holding).await?;
            tx.execute(
                &format!("INSERT INTO {s}.workspaces (name) VALUES ($1) ON CONFLICT DO NOTHING"),
                &[ws],
            )
            .await
            .map_err(|e| pg.failed("cannot write the state", &e))?;
            let row = tx
                .query_one(
                    &format!("SELECT serial, lineage FROM {s}.workspaces WHERE name = $1 FOR UPDATE"),
                    &[ws],
                )
                .await
                .map_err(|e| pg.failed("cannot write the state", &e))?;
            let found = match (row.get::<_, Option<i64>>(0), row.get::<_, Option<String>>(1)) {
                (Some(serial), Some(lineage)) => Some((to_u64(serial), lineage)),
                _ => None,
            };
            if !force && found != expected {
                return Ok(Swap::Changed { found });
            }
            if let Some((at, _)) = &found
                && new.serial <= *at
            {
                return Ok(Swap::Changed { found });
            }
            tx.execute(
                &format!(
                    "INSERT INTO {s}.state_history
                       (workspace, serial, lineage, document, sha256, who, host, operation, plan_hash, tether_version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                &[
                    ws,
                    &serial,
                    &new.lineage,
                    &new.document,
                    &sha256_hex(&new.document),
                    &new.who,
                    &new.host,
                    &new.operation,
                    &new.plan_hash,
                    &env!("CARGO_PKG_VERSION"),
                ],
            )
            .await
            .map_err(|e| pg.failed("cannot write the state", &e))?;
            tx.execute(
                &format!("UPDATE {s}.workspaces SET serial = $2, lineage = $3 WHERE name = $1"),
                &[ws, &serial, &new.lineage],
            )
            .await
            .map_err(|e| pg.failed("cannot write the state", &e))?;
            tx.commit()
                .await
                .map_err(|e| pg.failed("cannot commit the state", &e))?;
            Ok(Swap::Written)
        })
    }

    /// Every committed snapshot version id, oldest first.
    pub fn snapshot_ids(self: &Arc<Self>) -> Result<Vec<u64>> {
        let rows = self.read(
            "cannot list the snapshot versions",
            "SELECT id FROM {s}.snapshot_versions WHERE workspace = $1 ORDER BY id",
            vec![],
        )?;
        Ok(rows.into_iter().map(|r| to_u64(r.get(0))).collect())
    }

    /// The manifest bytes of version `id`, if it exists.
    pub fn snapshot_manifest(self: &Arc<Self>, id: u64) -> Result<Option<Vec<u8>>> {
        let rows = self.read(
            "cannot read a snapshot manifest",
            "SELECT manifest FROM {s}.snapshot_versions WHERE workspace = $1 AND id = $2",
            vec![Box::new(to_i64(id, "version")?)],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// Whether version `id` exists.
    pub fn snapshot_exists(self: &Arc<Self>, id: u64) -> Result<bool> {
        let rows = self.read(
            "cannot read the snapshot versions",
            "SELECT 1 FROM {s}.snapshot_versions WHERE workspace = $1 AND id = $2",
            vec![Box::new(to_i64(id, "version")?)],
        )?;
        Ok(!rows.is_empty())
    }

    /// The bytes of one pack segment, if it exists.
    pub fn snapshot_segment(
        self: &Arc<Self>,
        version: u64,
        segment: u32,
    ) -> Result<Option<Vec<u8>>> {
        let rows = self.read(
            "cannot read a snapshot pack",
            "SELECT bytes FROM {s}.snapshot_segments WHERE workspace = $1 AND version = $2 AND segment = $3",
            vec![
                Box::new(to_i64(version, "version")?),
                Box::new(i32::try_from(segment).unwrap_or(i32::MAX)),
            ],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// Stores one pack segment of a version being written (invisible until
    /// its manifest is committed).
    pub fn snapshot_put_segment(
        self: &Arc<Self>,
        version: u64,
        segment: u32,
        bytes: Vec<u8>,
        holding: &Holding,
    ) -> Result<()> {
        self.locked_write(
            "cannot write a snapshot pack",
            holding,
            "INSERT INTO {s}.snapshot_segments (workspace, version, segment, bytes)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace, version, segment) DO UPDATE SET bytes = EXCLUDED.bytes",
            vec![
                Box::new(to_i64(version, "version")?),
                Box::new(i32::try_from(segment).unwrap_or(i32::MAX)),
                Box::new(bytes),
            ],
        )
        .map(|_| ())
    }

    /// Commits version `id` (its manifest row), under the snapshot lock.
    pub fn snapshot_commit(
        self: &Arc<Self>,
        id: u64,
        parent: Option<u64>,
        manifest: Vec<u8>,
        holding: &Holding,
    ) -> Result<()> {
        self.locked_write(
            "cannot commit the snapshot version",
            holding,
            "INSERT INTO {s}.snapshot_versions (workspace, id, parent, manifest) VALUES ($1, $2, $3, $4)",
            vec![
                Box::new(to_i64(id, "version")?),
                Box::new(parent.map(|p| to_i64(p, "version")).transpose()?),
                Box::new(manifest),
            ],
        )
        .map(|_| ())
    }

    /// Removes the segments of versions at or after `from` that have no
    /// manifest: a writer that never committed left them.
    pub fn snapshot_remove_orphans(self: &Arc<Self>, from: u64, holding: &Holding) -> Result<u64> {
        self.locked_write(
            "cannot clean the snapshot store",
            holding,
            "DELETE FROM {s}.snapshot_segments g WHERE g.workspace = $1 AND g.version >= $2
             AND NOT EXISTS (SELECT 1 FROM {s}.snapshot_versions v
                             WHERE v.workspace = g.workspace AND v.id = g.version)",
            vec![Box::new(to_i64(from, "version")?)],
        )
    }

    /// Appends audit lines (JSON objects, one per account), in order.
    pub fn audit_append(self: &Arc<Self>, lines: Vec<String>) -> Result<()> {
        self.run(move |pg| async move {
            let c = pg.client().await?;
            insert_audit(&pg, &c, &lines).await
        })
    }

    /// Every audit line of the workspace, oldest first.
    pub fn audit_lines(self: &Arc<Self>) -> Result<Vec<String>> {
        let rows = self.read(
            "cannot read the audit log",
            "SELECT line FROM {s}.audit WHERE workspace = $1 ORDER BY seq",
            vec![],
        )?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// The workspace's last drift record (`drift --since-last`), if any.
    pub fn drift_record(self: &Arc<Self>) -> Result<Option<Vec<u8>>> {
        let rows = self.read(
            "cannot read the last drift record",
            "SELECT document FROM {s}.drift_records WHERE workspace = $1",
            vec![],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// Replaces the workspace's last drift record with `document`.
    pub fn put_drift_record(
        self: &Arc<Self>,
        recorded_at: String,
        document: Vec<u8>,
    ) -> Result<()> {
        self.run(move |pg| async move {
            let c = pg.client().await?;
            c.execute(
                &format!(
                    "INSERT INTO {}.drift_records (workspace, recorded_at, document) VALUES ($1, $2, $3)
                     ON CONFLICT (workspace) DO UPDATE SET
                       recorded_at = EXCLUDED.recorded_at, document = EXCLUDED.document",
                    pg.schema()
                ),
                &[&pg.target.workspace, &recorded_at, &document],
            )
            .await
            .map_err(|e| pg.failed("cannot record the drift report", &e))?;
            Ok(())
        })
    }

    /// How many pack segments version `version` has.
    pub fn snapshot_segment_count(self: &Arc<Self>, version: u64) -> Result<u32> {
        let rows = self.read(
            "cannot read the snapshot packs",
            "SELECT count(*) FROM {s}.snapshot_segments WHERE workspace = $1 AND version = $2",
            vec![Box::new(to_i64(version, "version")?)],
        )?;
        Ok(rows
            .first()
            .map_or(0, |r| u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX)))
    }

    /// One statement of the workspace (`sql` as for [`Pg::read`]) in a
    /// transaction of its own, only while this run holds the lock
    /// `holding`. Returns the rows it changed.
    fn locked_write(
        self: &Arc<Self>,
        doing: &'static str,
        holding: &Holding,
        sql: &'static str,
        more: Vec<Box<dyn ToSql + Sync + Send>>,
    ) -> Result<u64> {
        let holding = holding.clone();
        self.run(move |pg| async move {
            let mut c = pg.client().await?;
            let tx = c.transaction().await.map_err(|e| pg.failed(doing, &e))?;
            check_held(&pg, &tx, &holding).await?;
            let n = tx
                .execute(&sql.replace("{s}", &pg.schema()), &params(&pg, &more))
                .await
                .map_err(|e| pg.failed(doing, &e))?;
            tx.commit().await.map_err(|e| pg.failed(doing, &e))?;
            Ok(n)
        })
    }

    /// The rows of one read of the workspace: `sql` names the schema `{s}`
    /// and the workspace `$1`; `more` are `$2`, `$3`, ….
    fn read(
        self: &Arc<Self>,
        doing: &'static str,
        sql: &'static str,
        more: Vec<Box<dyn ToSql + Sync + Send>>,
    ) -> Result<Vec<tokio_postgres::Row>> {
        self.run(move |pg| async move {
            let c = pg.client().await?;
            c.query(&sql.replace("{s}", &pg.schema()), &params(&pg, &more))
                .await
                .map_err(|e| pg.failed(doing, &e))
        })
    }
}

/// The workspace as `$1`, then `more`.
fn params<'a>(pg: &'a Pg, more: &'a [Box<dyn ToSql + Sync + Send>]) -> Vec<&'a (dyn ToSql + Sync)> {
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&pg.target.workspace];
    params.extend(more.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)));
    params
}

async fn insert_audit<C: deadpool_postgres::GenericClient>(
    pg: &Pg,
    c: &C,
    lines: &[String],
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let s = pg.schema();
    c.execute(
        &format!(
            "INSERT INTO {s}.audit (workspace, time, who, host, operation, plan_hash, address, action,
                                    result, error, kind, code, request_id, line)
             SELECT $1, j->>'time', j->>'who', j->>'host', j->>'operation', j->>'plan_hash',
                    j->>'address', j->>'action', j->>'result', j->>'error', j->>'kind', j->>'code',
                    j->>'request_id', t.line
             FROM unnest($2::text[]) WITH ORDINALITY AS t(line, n), LATERAL (SELECT t.line::jsonb AS j) x
             ORDER BY t.n"
        ),
        &[&pg.target.workspace, &lines],
    )
    .await
    .map_err(|e| pg.failed("cannot append to the audit log", &e))?;
    Ok(())
}
