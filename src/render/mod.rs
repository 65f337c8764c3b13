//! Every rendering of a result: plans (human, markdown), snapshot lists,
//! versions, diffs and exports, drift reports, sync reports and apply's
//! lines, with one palette. Renderers return text; only `cli::printer`
//! writes it.

pub mod apply;
pub mod discover;
pub mod documents;
pub mod drift;
pub mod findings;
pub mod html;
pub mod palette;
pub mod plan;
pub mod plan_markdown;
pub mod snapshot;
pub mod sync;
