//! Where a config's state, snapshots and audit log live: files beside the
//! config (`backend = "local"`, the paths of the `tether` block resolved
//! against the config directory), or a workspace of the PostgreSQL backend
//! (`backend = "pg"`), connected once per process.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{BackendKind, Settings};
use crate::error::Result;
use crate::pg::{Pg, Target};
use crate::snapshot::Store;
use crate::state::StateStore;

/// The state of a config, and how messages name it.
pub struct Located {
    pub store: StateStore,
    /// The path as the settings give it (relative to the config directory),
    /// or `pg:<schema>/<workspace>`.
    pub shown: PathBuf,
}

/// The PostgreSQL schema and workspace the settings name.
pub fn target(settings: &Settings) -> Target {
    Target {
        schema: settings.pg_schema.clone(),
        workspace: settings.workspace.clone(),
    }
}

/// The PostgreSQL backend of the settings, when they select it.
pub fn backend(settings: &Settings) -> Result<Option<Arc<Pg>>> {
    match settings.backend {
        BackendKind::Local => Ok(None),
        BackendKind::Pg => Pg::shared(&target(settings)).map(Some),
    }
}

/// The state of the config in `dir`.
pub fn locate(dir: &Path, settings: &Settings) -> Result<Located> {
    Ok(match backend(settings)? {
        None => local_state(dir, settings),
        Some(pg) => Located {
            shown: PathBuf::from(pg.shown()),
            store: StateStore::pg(pg),
        },
    })
}

/// The state file of the settings, whichever backend they select.
pub fn local_state(dir: &Path, settings: &Settings) -> Located {
    Located {
        store: StateStore::open(in_dir(dir, &settings.state)),
        shown: settings.state.clone(),
    }
}

/// The snapshot store of the config in `dir`.
pub fn snapshots(dir: &Path, settings: &Settings) -> Result<Store> {
    Ok(match backend(settings)? {
        None => local_snapshots(dir, settings),
        Some(pg) => Store::pg(pg),
    })
}

/// The snapshot directory of the settings, whichever backend they select.
pub fn local_snapshots(dir: &Path, settings: &Settings) -> Store {
    Store::open(in_dir(dir, &settings.snapshots))
}

/// The audit log file of the config in `dir` (`.tether/audit.jsonl`).
pub fn local_audit(dir: &Path) -> PathBuf {
    dir.join(".tether").join("audit.jsonl")
}

/// The last drift record of the config in `dir` (`.tether/drift-last.json`).
pub fn local_drift_record(dir: &Path) -> PathBuf {
    in_dir(dir, Path::new(".tether")).join("drift-last.json")
}

/// `path` relative to the config directory; with the current directory, as
/// given (so messages say `tether.state.json`, not `./tether.state.json`).
pub fn in_dir(dir: &Path, path: &Path) -> PathBuf {
    if dir == Path::new(".") {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}
