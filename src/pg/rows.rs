//! The rows of one workspace: state history, snapshot versions and their
//! pack segments, audit lines. Bytes in, bytes out: the stores above keep
//! the rules of what the bytes mean.

use std::sync::Arc;

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
        self.run(|pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let row = c
                .query_opt(
                    &format!(
                        "SELECT document FROM {s}.state_history WHERE workspace = $1
                         ORDER BY serial DESC LIMIT 1"
                    ),
                    &[&pg.target.workspace],
                )
                .await
                .map_err(|e| pg.failed("cannot read the state", &e))?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// The state document of `serial`, if the history holds it.
    pub fn state_at(self: &Arc<Self>, serial: u64) -> Result<Option<Vec<u8>>> {
        let serial = to_i64(serial, "serial")?;
        self.run(move |pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let row = c
                .query_opt(
                    &format!(
                        "SELECT document FROM {s}.state_history WHERE workspace = $1 AND serial = $2"
                    ),
                    &[&pg.target.workspace, &serial],
                )
                .await
                .map_err(|e| pg.failed("cannot read the state history", &e))?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// Every recorded serial, oldest first.
    pub fn state_history(self: &Arc<Self>) -> Result<Vec<HistoryRow>> {
        self.run(|pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let rows = c
                .query(
                    &format!(
                        "SELECT serial, lineage, sha256, who, host, operation, plan_hash, tether_version,
                                to_char(written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                                octet_length(document)
                         FROM {s}.state_history WHERE workspace = $1 ORDER BY serial"
                    ),
                    &[&pg.target.workspace],
                )
                .await
                .map_err(|e| pg.failed("cannot read the state history", &e))?;
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
        })
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
        self.run(|pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let rows = c
                .query(
                    &format!(
                        "SELECT id FROM {s}.snapshot_versions WHERE workspace = $1 ORDER BY id"
                    ),
                    &[&pg.target.workspace],
                )
                .await
                .map_err(|e| pg.failed("cannot list the snapshot versions", &e))?;
            Ok(rows.into_iter().map(|r| to_u64(r.get(0))).collect())
        })
    }

    /// The manifest bytes of version `id`, if it exists.
    pub fn snapshot_manifest(self: &Arc<Self>, id: u64) -> Result<Option<Vec<u8>>> {
        let id = to_i64(id, "version")?;
        self.run(move |pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let row = c
                .query_opt(
                    &format!(
                        "SELECT manifest FROM {s}.snapshot_versions WHERE workspace = $1 AND id = $2"
                    ),
                    &[&pg.target.workspace, &id],
                )
                .await
                .map_err(|e| pg.failed("cannot read a snapshot manifest", &e))?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// Whether version `id` exists.
    pub fn snapshot_exists(self: &Arc<Self>, id: u64) -> Result<bool> {
        let id = to_i64(id, "version")?;
        self.run(move |pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let row = c
                .query_one(
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM {s}.snapshot_versions WHERE workspace = $1 AND id = $2)"
                    ),
                    &[&pg.target.workspace, &id],
                )
                .await
                .map_err(|e| pg.failed("cannot read the snapshot versions", &e))?;
            Ok(row.get(0))
        })
    }

    /// The bytes of one pack segment, if it exists.
    pub fn snapshot_segment(
        self: &Arc<Self>,
        version: u64,
        segment: u32,
    ) -> Result<Option<Vec<u8>>> {
        let version = to_i64(version, "version")?;
        let segment = i32::try_from(segment).unwrap_or(i32::MAX);
        self.run(move |pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let row = c
                .query_opt(
                    &format!(
                        "SELECT bytes FROM {s}.snapshot_segments
                         WHERE workspace = $1 AND version = $2 AND segment = $3"
                    ),
                    &[&pg.target.workspace, &version, &segment],
                )
                .await
                .map_err(|e| pg.failed("cannot read a snapshot pack", &e))?;
            Ok(row.map(|r| r.get(0)))
        })
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
        let version = to_i64(version, "version")?;
        let segment = i32::try_from(segment).unwrap_or(i32::MAX);
        let holding = holding.clone();
        self.run(move |pg| async move {
            let mut c = pg.client().await?;
            let s = pg.schema();
            let tx = c
                .transaction()
                .await
                .map_err(|e| pg.failed("cannot write a snapshot pack", &e))?;
            check_held(&pg, &tx, &holding).await?;
            tx.execute(
                &format!(
                    "INSERT INTO {s}.snapshot_segments (workspace, version, segment, bytes)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (workspace, version, segment) DO UPDATE SET bytes = EXCLUDED.bytes"
                ),
                &[&pg.target.workspace, &version, &segment, &bytes],
            )
            .await
            .map_err(|e| pg.failed("cannot write a snapshot pack", &e))?;
            tx.commit()
                .await
                .map_err(|e| pg.failed("cannot write a snapshot pack", &e))?;
            Ok(())
        })
    }

    /// Commits version `id` (its manifest row), under the snapshot lock.
    pub fn snapshot_commit(
        self: &Arc<Self>,
        id: u64,
        parent: Option<u64>,
        manifest: Vec<u8>,
        holding: &Holding,
    ) -> Result<()> {
        let id = to_i64(id, "version")?;
        let parent = parent.map(|p| to_i64(p, "version")).transpose()?;
        let holding = holding.clone();
        self.run(move |pg| async move {
            let mut c = pg.client().await?;
            let s = pg.schema();
            let ws = &pg.target.workspace;
            let tx = c
                .transaction()
                .await
                .map_err(|e| pg.failed("cannot commit the snapshot version", &e))?;
            check_held(&pg, &tx, &holding).await?;
            tx.execute(
                &format!(
                    "INSERT INTO {s}.snapshot_versions (workspace, id, parent, manifest) VALUES ($1, $2, $3, $4)"
                ),
                &[ws, &id, &parent, &manifest],
            )
            .await
            .map_err(|e| pg.failed("cannot commit the snapshot version", &e))?;
            tx.commit()
                .await
                .map_err(|e| pg.failed("cannot commit the snapshot version", &e))?;
            Ok(())
        })
    }

    /// Removes the segments of versions at or after `from` that have no
    /// manifest: a writer that never committed left them.
    pub fn snapshot_remove_orphans(self: &Arc<Self>, from: u64, holding: &Holding) -> Result<u64> {
        let from = to_i64(from, "version")?;
        let holding = holding.clone();
        self.run(move |pg| async move {
            let mut c = pg.client().await?;
            let s = pg.schema();
            let tx = c
                .transaction()
                .await
                .map_err(|e| pg.failed("cannot clean the snapshot store", &e))?;
            check_held(&pg, &tx, &holding).await?;
            let n = tx
                .execute(
                    &format!(
                        "DELETE FROM {s}.snapshot_segments g WHERE g.workspace = $1 AND g.version >= $2
                         AND NOT EXISTS (SELECT 1 FROM {s}.snapshot_versions v
                                         WHERE v.workspace = g.workspace AND v.id = g.version)"
                    ),
                    &[&pg.target.workspace, &from],
                )
                .await
                .map_err(|e| pg.failed("cannot clean the snapshot store", &e))?;
            tx.commit()
                .await
                .map_err(|e| pg.failed("cannot clean the snapshot store", &e))?;
            Ok(n)
        })
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
        self.run(|pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let rows = c
                .query(
                    &format!("SELECT line FROM {s}.audit WHERE workspace = $1 ORDER BY seq"),
                    &[&pg.target.workspace],
                )
                .await
                .map_err(|e| pg.failed("cannot read the audit log", &e))?;
            Ok(rows.into_iter().map(|r| r.get(0)).collect())
        })
    }

    /// Whether the workspace holds anything: state, snapshots or audit.
    pub fn workspace_contents(self: &Arc<Self>) -> Result<Contents> {
        self.run(|pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let r = c
                .query_one(
                    &format!(
                        "SELECT (SELECT max(serial) FROM {s}.state_history WHERE workspace = $1),
                                (SELECT count(*) FROM {s}.snapshot_versions WHERE workspace = $1),
                                (SELECT count(*) FROM {s}.audit WHERE workspace = $1)"
                    ),
                    &[&pg.target.workspace],
                )
                .await
                .map_err(|e| pg.failed("cannot read the workspace", &e))?;
            Ok(Contents {
                serial: r.get::<_, Option<i64>>(0).map(to_u64),
                versions: to_u64(r.get(1)),
                audit_lines: to_u64(r.get(2)),
            })
        })
    }

    /// How many pack segments version `version` has.
    pub fn snapshot_segment_count(self: &Arc<Self>, version: u64) -> Result<u32> {
        let version = to_i64(version, "version")?;
        self.run(move |pg| async move {
            let c = pg.client().await?;
            let s = pg.schema();
            let row = c
                .query_one(
                    &format!(
                        "SELECT count(*) FROM {s}.snapshot_segments WHERE workspace = $1 AND version = $2"
                    ),
                    &[&pg.target.workspace, &version],
                )
                .await
                .map_err(|e| pg.failed("cannot read the snapshot packs", &e))?;
            Ok(u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX))
        })
    }
}

/// What a workspace holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contents {
    pub serial: Option<u64>,
    pub versions: u64,
    pub audit_lines: u64,
}

impl Contents {
    pub fn is_empty(&self) -> bool {
        self.serial.is_none() && self.versions == 0 && self.audit_lines == 0
    }
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
