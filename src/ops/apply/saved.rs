//! Saved plans (`plan --out FILE`, `apply FILE`): read, checked against
//! what they are bound to, and proven to be exactly the plan of that config
//! and state (docs/design.md §2, §8).

use crate::config::Config;
use crate::error::{Error, Result};
use crate::plan::{self, AccountChange, Plan, PlanOptions};
use crate::secrets::identity::Identities;
use crate::state::State;

pub fn read_plan(path: &std::path::Path) -> Result<Plan> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| Error::StalePlan {
        path: path.to_path_buf(),
        reason: format!("it is not a tether plan ({e})"),
    })?;
    if plan.format_version != plan::PLAN_FORMAT_VERSION {
        return Err(Error::StalePlan {
            path: path.to_path_buf(),
            reason: format!(
                "it has format version {}, this tether applies {}",
                plan.format_version,
                plan::PLAN_FORMAT_VERSION
            ),
        });
    }
    Ok(plan)
}

/// A saved plan applies only to the config, state lineage and serial it was made from.
pub fn check_binding(
    path: &std::path::Path,
    plan: &Plan,
    config: &Config,
    state: Option<&State>,
    ciphertexts: &plan::Ciphertexts,
) -> Result<()> {
    let stale = |reason: String| Error::StalePlan {
        path: path.to_path_buf(),
        reason,
    };
    let lineage = state.map(|s| s.lineage.clone());
    if plan.binding.state_lineage.is_some() && plan.binding.state_lineage != lineage {
        return Err(stale(
            "it belongs to another state (its lineage differs); make a new plan".into(),
        ));
    }
    let serial = state.map(|s| s.serial).unwrap_or(0);
    if plan.binding.state_lineage.is_none() && lineage.is_some()
        || plan.binding.state_serial != serial
    {
        return Err(stale(format!(
            "it is stale: the state changed since the plan was made (serial {} then, {serial} now); make a new plan",
            plan.binding.state_serial
        )));
    }
    if plan.binding.config_hash != plan::config_hash(config, ciphertexts) {
        return Err(stale(
            "it is stale: the configuration changed since the plan was made; make a new plan"
                .into(),
        ));
    }
    Ok(())
}

/// A saved plan is applied only if it is exactly the plan of the config and
/// state it is bound to: tether plans again, with the options and the way of
/// comparing secrets the file names, and compares every field. A hand-edited
/// action, an address added or dropped, or a changed option is refused
/// (exit 5). Answers the plan to apply (equal to the file's).
pub fn prove(
    path: &std::path::Path,
    saved: Plan,
    config: &Config,
    state: Option<&State>,
    ids: Option<&Identities>,
    ciphertexts: &plan::Ciphertexts,
    latest: Option<u64>,
) -> Result<Plan> {
    let stale = |reason: String| Error::StalePlan {
        path: path.to_path_buf(),
        reason,
    };
    if saved.binding.snapshot != latest {
        return Err(stale(format!(
            "it is stale: the snapshot store changed since the plan was made (latest version {} then, {} now); make a new plan",
            saved
                .binding
                .snapshot
                .map_or("none".into(), |v| v.to_string()),
            latest.map_or("none".into(), |v| v.to_string()),
        )));
    }
    if saved.identity_available && ids.is_none() {
        return Err(stale(
            "it was made with an age identity (secrets compared by plaintext), and there is none here to check it with".into(),
        ));
    }
    let opts = PlanOptions {
        destroy: saved.mode == plan::PlanMode::Destroy,
        targets: saved.targets.clone(),
        excludes: saved.excludes.clone(),
        snapshot: latest,
    };
    let ids = if saved.identity_available { ids } else { None };
    let fresh = plan::build_with(config, state, &opts, ids, ciphertexts)?;
    // What `--refresh` found is a report, not an action: it is not compared.
    let mut claimed = saved;
    claimed.identity_drift.clear();
    claimed.not_checked.clear();
    claimed.findings.clear();
    if claimed == fresh {
        return Ok(fresh);
    }
    Err(stale(format!(
        "it is not the plan of this configuration and state ({}); it may have been edited. Make a new plan",
        first_difference(&claimed, &fresh)
    )))
}

/// The first difference between a saved plan and the plan made now, in words.
fn first_difference(saved: &Plan, now: &Plan) -> String {
    if saved.mode != now.mode {
        return "its mode differs".into();
    }
    if saved.moves != now.moves {
        return "its `moved` renames differ".into();
    }
    let by_address = |p: &Plan| -> std::collections::BTreeMap<String, AccountChange> {
        p.changes
            .iter()
            .map(|c| (c.address.to_string(), c.clone()))
            .collect()
    };
    let (a, b) = (by_address(saved), by_address(now));
    for (addr, c) in &a {
        match b.get(addr) {
            None => return format!("it names `{addr}`, which the plan does not"),
            Some(d) if d.action != c.action => {
                return format!(
                    "`{addr}`: the file says {}, the plan says {}",
                    serde_json::to_string(&c.action).unwrap_or_default(),
                    serde_json::to_string(&d.action).unwrap_or_default()
                );
            }
            Some(d) if d != c => return format!("`{addr}`: its details differ"),
            Some(_) => {}
        }
    }
    if let Some(addr) = b.keys().find(|k| !a.contains_key(*k)) {
        return format!("it leaves out `{addr}`");
    }
    "its fields differ".into()
}
