//! Drift reports: human and markdown (the JSON form is the report itself).

use std::fmt::Write as _;

use super::snapshot as snaprender;
use crate::ops::drift::DriftReport;
use crate::plan::Action;

/// A marker line that lets CI find and update the one drift issue.
const MARKER: &str = "<!-- tether-drift -->";

/// The drift report for a terminal or a log; `accounts` were checked.
pub fn human(r: &DriftReport, accounts: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Drift check of {} account{}{}.\n",
        accounts,
        if accounts == 1 { "" } else { "s" },
        match r.snapshot {
            Some(id) => format!(", live inventory against snapshot {id}"),
            None =>
                ", no snapshot yet to compare the live inventory with (run `tether sync`)".into(),
        }
    );
    if !r.groups.is_empty() {
        s.push_str("Causes seen in many places:\n");
        for g in &r.groups {
            let _ = writeln!(s, "  * {}", g.summary);
        }
        s.push('\n');
    }
    if !r.credentials.is_empty() {
        s.push_str("Credentials that no longer verify as recorded:\n");
        for c in &r.credentials {
            let _ = writeln!(s, "  ! {}: {}", c.address, c.problem);
        }
        s.push('\n');
    }
    if !r.config.is_empty() {
        s.push_str("Configuration differs from state (run `tether plan` for details):\n");
        for c in &r.config {
            let sign = match c.action {
                Action::Create => "+",
                Action::Update => "~",
                Action::Replace => "-/+",
                Action::Delete => "-",
                Action::NoOp => " ",
            };
            let _ = writeln!(s, "  {sign} {} ({})", c.address, action_word(c.action));
            if let Some(e) = &c.endpoint_change {
                let _ = writeln!(
                    s,
                    "      ! security note: its secret would go to {} (apply verified {})",
                    e.to, e.from
                );
            }
        }
        s.push('\n');
    }
    if !r.unreadable.is_empty() {
        s.push_str("Could not be read:\n");
        for u in &r.unreadable {
            let _ = writeln!(s, "  ? {}: {}", u.address, u.problem);
        }
        s.push('\n');
    }
    super::findings::human(&mut s, false, &r.findings);
    if !r.disabled.is_empty() {
        s.push_str("Disabled (`enabled = false`), not checked:\n");
        for a in &r.disabled {
            let _ = writeln!(s, "  - {a}");
        }
        s.push('\n');
    }
    if let Some(id) = r.snapshot {
        let body = snaprender::diff_human(id, 0, &r.resources);
        let body = body.split_once('\n').map_or("", |(_, rest)| rest);
        if !r.resources.is_empty() || !r.resources.not_compared.is_empty() {
            let _ = writeln!(s, "Resources, snapshot {id} -> live:");
            s.push_str(body.trim_start_matches('\n'));
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s.push('\n');
        }
    }
    if let Some(v) = r.recorded {
        let _ = writeln!(s, "Recorded the live inventory as snapshot {v}.");
    }
    s.push_str(match (r.drift, r.incomplete) {
        (true, true) => "Drift found; the check is also incomplete.\n",
        (true, false) => "Drift found.\n",
        (false, true) => "No drift found in what could be read; the check is incomplete.\n",
        (false, false) => "No drift.\n",
    });
    s
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "to create",
        Action::Update => "to update",
        Action::Replace => "to replace",
        Action::Delete => "to delete",
        Action::NoOp => "no change",
    }
}

/// The drift report as one issue or comment, under `budget` characters.
pub fn markdown(r: &DriftReport, budget: usize) -> String {
    let mut head = format!("{MARKER}\n### tether drift\n\n");
    let _ = writeln!(
        head,
        "{}\n",
        match (r.drift, r.incomplete) {
            (true, true) => "**Drift found** (and the check is incomplete).",
            (true, false) => "**Drift found.**",
            (false, true) => "**No drift found** in what could be read; the check is incomplete.",
            (false, false) => "**No drift.**",
        }
    );
    head.push_str("| kind | count |\n|---|---:|\n");
    let _ = writeln!(head, "| credentials | {} |", r.credentials.len());
    let _ = writeln!(head, "| config vs state | {} |", r.config.len());
    let _ = writeln!(head, "| resources added | {} |", r.resources.added.len());
    let _ = writeln!(
        head,
        "| resources changed | {} |",
        r.resources.changed.len()
    );
    let _ = writeln!(
        head,
        "| resources removed | {} |",
        r.resources.removed.len()
    );
    let _ = writeln!(
        head,
        "| not read | {} |\n",
        r.unreadable.len() + r.resources.not_compared.len()
    );
    if !r.groups.is_empty() {
        head.push_str("**Causes seen in many places:**\n\n");
        for g in r.groups.iter().take(20) {
            let _ = writeln!(head, "- {} ({} in all)", g.summary, g.count);
        }
        if r.groups.len() > 20 {
            let _ = writeln!(
                head,
                "- … and {} more (see the JSON report)",
                r.groups.len() - 20
            );
        }
        head.push('\n');
    }
    for c in &r.credentials {
        let _ = writeln!(head, "- :warning: `{}`: {}", c.address, c.problem);
    }
    for c in &r.config {
        let _ = writeln!(head, "- `{}` {}", c.address, action_word(c.action));
        if let Some(e) = &c.endpoint_change {
            let _ = writeln!(
                head,
                "  - :rotating_light: **security note:** its secret would go to {} (apply verified {})",
                e.to, e.from
            );
        }
    }
    for u in &r.unreadable {
        let _ = writeln!(
            head,
            "- :grey_question: `{}` could not be read: {}",
            u.address, u.problem
        );
    }
    for a in &r.disabled {
        let _ = writeln!(head, "- `{a}` is disabled (`enabled = false`): not checked");
    }
    if !r.findings.is_empty() {
        head.push('\n');
        super::findings::markdown(&mut head, &r.findings);
    }
    if let Some(id) = r.snapshot {
        if !r.resources.is_empty() || !r.resources.not_compared.is_empty() {
            let rest = budget.saturating_sub(head.len());
            let body = snaprender::diff_markdown(id, 0, &r.resources, rest);
            // Drop the diff's own marker and title: this comment has one.
            let body = body.splitn(3, '\n').nth(2).unwrap_or("");
            let _ = write!(head, "\n#### Resources, snapshot `{id}` → live\n{body}");
        }
    }
    head
}
