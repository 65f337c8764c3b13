//! The tables of the PostgreSQL backend, and their versioned migrations.
//!
//! `schema_version` holds one row per migration applied. A run whose
//! schema is current reads that table and nothing else changes; a run
//! that finds it behind migrates under a transaction-level advisory lock
//! (one per schema), so two runners that start at once never both run a
//! step, and a failed step leaves the schema as it was. A version above
//! [`SCHEMA_VERSION`] was written by a newer tether and is refused.

use std::sync::Arc;

use super::Pg;
use crate::error::Result;

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: i32 = 2;

/// Step `n` (1-based) brings the schema from `n - 1` to `n`. `{s}` is the
/// quoted schema name.
const STEPS: &[&str] = &[
    r#"
CREATE TABLE {s}.workspaces (
    name text PRIMARY KEY,
    serial bigint,
    lineage text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.state_history (
    workspace text NOT NULL,
    serial bigint NOT NULL,
    lineage text NOT NULL,
    document bytea NOT NULL,
    sha256 text NOT NULL,
    who text NOT NULL,
    host text NOT NULL,
    operation text NOT NULL,
    plan_hash text,
    tether_version text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace, serial)
);
CREATE TABLE {s}.locks (
    workspace text NOT NULL,
    name text NOT NULL,
    id text NOT NULL,
    holder text NOT NULL,
    pid bigint NOT NULL,
    host text NOT NULL,
    operation text NOT NULL,
    started text NOT NULL,
    tether_version text NOT NULL,
    PRIMARY KEY (workspace, name)
);
CREATE TABLE {s}.snapshot_versions (
    workspace text NOT NULL,
    id bigint NOT NULL,
    parent bigint,
    manifest bytea NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace, id)
);
CREATE TABLE {s}.snapshot_segments (
    workspace text NOT NULL,
    version bigint NOT NULL,
    segment integer NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (workspace, version, segment)
);
-- Each version's partitions, for SQL: read from the manifests themselves
-- (the truth), so they cost no storage of their own.
CREATE VIEW {s}.snapshot_partitions AS
SELECT v.workspace, v.id AS version,
       a.value->>'account' AS account,
       p.value->>'region' AS region,
       p.value->>'type' AS kind,
       coalesce(p.value->>'status', 'complete') AS status,
       coalesce((p.value->>'stale')::boolean, false) AS stale,
       (p.value->>'resources')::bigint AS resources,
       p.value->>'hash' AS hash,
       p.value->>'kind' AS problem_kind,
       p.value->>'code' AS code,
       p.value->>'request_id' AS request_id
FROM {s}.snapshot_versions v,
     jsonb_array_elements(convert_from(v.manifest, 'UTF8')::jsonb->'accounts') a,
     jsonb_array_elements(a.value->'partitions') p;
CREATE TABLE {s}.audit (
    workspace text NOT NULL,
    seq bigserial,
    time text NOT NULL,
    who text,
    host text,
    operation text,
    plan_hash text,
    address text,
    action text,
    result text,
    error text,
    kind text,
    code text,
    request_id text,
    line text NOT NULL,
    PRIMARY KEY (workspace, seq)
);
"#,
    r#"
CREATE TABLE {s}.drift_records (
    workspace text PRIMARY KEY,
    recorded_at text NOT NULL,
    document bytea NOT NULL
);
"#,
];

/// Makes the schema current, or says why it cannot be.
pub fn ensure(pg: &Arc<Pg>) -> Result<()> {
    pg.run(|pg| async move {
        let s = pg.schema();
        let name = pg.target.schema.clone();
        let mut c = pg.client().await?;
        let found = current(&pg, &c).await?;
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        check_newer(&pg, found)?;
        let tx = c
            .transaction()
            .await
            .map_err(|e| pg.failed("cannot start the schema migration", &e))?;
        let key = super::lock::advisory_key(&["migrate", &name]);
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
            .await
            .map_err(|e| pg.failed("cannot lock the schema for its migration", &e))?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.schema_version (
                 version integer PRIMARY KEY,
                 tether_version text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );"
        ))
        .await
        .map_err(|e| pg.failed("cannot create the schema", &e))?;
        // Another runner may have migrated while this one waited.
        let row = tx
            .query_one(
                &format!("SELECT coalesce(max(version), 0) FROM {s}.schema_version"),
                &[],
            )
            .await
            .map_err(|e| pg.failed("cannot read the schema version", &e))?;
        let at: i32 = row.get(0);
        check_newer(&pg, at)?;
        for (i, step) in STEPS
            .iter()
            .enumerate()
            .skip(usize::try_from(at).unwrap_or(0))
        {
            let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
            tx.batch_execute(&step.replace("{s}", &s))
                .await
                .map_err(|e| {
                    pg.failed(
                        &format!("cannot migrate the schema to version {version}"),
                        &e,
                    )
                })?;
            tx.execute(
                &format!(
                    "INSERT INTO {s}.schema_version (version, tether_version) VALUES ($1, $2)"
                ),
                &[&version, &env!("CARGO_PKG_VERSION")],
            )
            .await
            .map_err(|e| pg.failed("cannot record the schema version", &e))?;
        }
        // Pack segments, manifests and state documents: lz4 where the
        // server has it (several times faster than the default pglz).
        tx.batch_execute(&format!(
            "DO $$ BEGIN
                 EXECUTE 'ALTER TABLE {q}.snapshot_segments ALTER COLUMN bytes SET COMPRESSION lz4';
                 EXECUTE 'ALTER TABLE {q}.state_history ALTER COLUMN document SET COMPRESSION lz4';
                 EXECUTE 'ALTER TABLE {q}.snapshot_versions ALTER COLUMN manifest SET COMPRESSION lz4';
             EXCEPTION WHEN others THEN NULL;
             END $$;",
            q = s.replace('\'', "''")
        ))
        .await
        .map_err(|e| pg.failed("cannot migrate the schema", &e))?;
        tx.commit()
            .await
            .map_err(|e| pg.failed("cannot commit the schema migration", &e))?;
        tracing::debug!(schema = %name, from = at, to = SCHEMA_VERSION, "schema migrated");
        Ok(())
    })
}

/// The schema's version, 0 when it has none yet.
async fn current(pg: &Pg, c: &tokio_postgres::Client) -> Result<i32> {
    let table = format!("{}.schema_version", pg.schema());
    let row = c
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .map_err(|e| pg.failed("cannot read the schema", &e))?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = c
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {table}"),
            &[],
        )
        .await
        .map_err(|e| pg.failed("cannot read the schema version", &e))?;
    Ok(row.get(0))
}

fn check_newer(pg: &Pg, found: i32) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(pg.error(format!(
            "schema `{}` was written by a newer tether (schema version {found}; this build \
             knows {SCHEMA_VERSION}); upgrade tether on every runner that uses it",
            pg.target.schema
        )));
    }
    Ok(())
}
