//! Where a config's state and snapshots live: the paths of the `tether`
//! block resolved against the config directory.

use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::snapshot::Store;
use crate::state::StateStore;

/// The state file of a config, and how messages name it.
pub struct Located {
    pub store: StateStore,
    /// The path as the settings give it (relative to the config directory).
    pub shown: PathBuf,
}

/// The state file of the config in `dir`.
pub fn locate(dir: &Path, settings: &Settings) -> Located {
    Located {
        store: StateStore::open(in_dir(dir, &settings.state)),
        shown: settings.state.clone(),
    }
}

/// The snapshot store of the config in `dir`.
pub fn snapshots(dir: &Path, settings: &Settings) -> Store {
    Store::open(in_dir(dir, &settings.snapshots))
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
