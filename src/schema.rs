//! JSON Schemas of the documents tether reads and writes, generated from the types.

use schemars::schema_for;

/// `schemas/config.schema.json`: the validated config as JSON.
pub fn config_schema() -> String {
    pretty(&schema_for!(crate::config::Config))
}

/// `schemas/state.schema.json`: the state file (`tether.state.json`).
pub fn state_schema() -> String {
    pretty(&schema_for!(crate::state::State))
}

/// Every schema with its file name under `schemas/`.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("config.schema.json", config_schema()),
        (
            "validate.schema.json",
            pretty(&schema_for!(crate::render::documents::ValidateJson)),
        ),
        ("state.schema.json", state_schema()),
        (
            "state-show.schema.json",
            pretty(&schema_for!(crate::render::documents::StateShowJson)),
        ),
        (
            "state-history.schema.json",
            pretty(&schema_for!(crate::render::documents::StateHistoryJson)),
        ),
        (
            "snapshot.schema.json",
            pretty(&schema_for!(crate::snapshot::Manifest)),
        ),
        (
            "snapshot-diff.schema.json",
            pretty(&schema_for!(crate::render::snapshot::DiffJson<'static>)),
        ),
        (
            "snapshot-list.schema.json",
            pretty(&schema_for!(crate::render::snapshot::ListJson)),
        ),
        ("plan.schema.json", pretty(&schema_for!(crate::plan::Plan))),
        (
            "drift.schema.json",
            pretty(&schema_for!(crate::ops::drift::DriftReport)),
        ),
        (
            "discover.schema.json",
            pretty(&schema_for!(crate::ops::discover::DiscoverReport)),
        ),
        (
            "sync.schema.json",
            pretty(&schema_for!(crate::render::sync::SyncJson)),
        ),
        (
            "snapshot-show.schema.json",
            pretty(&schema_for!(crate::render::snapshot::ShowJson)),
        ),
    ]
}

fn pretty(s: &schemars::Schema) -> String {
    let mut out = serde_json::to_string_pretty(s).expect("a schema always serializes");
    out.push('\n');
    out
}
