//! Markdown rendering for pull-request comments: a summary table first,
//! deletes and secret changes called out, details in `<details>` blocks,
//! within a size budget, with the cut said plainly.

use std::fmt::Write as _;

use super::plan::{account, summary};
use crate::plan::{AccountChange, Action, Plan, SecretChange, counts};

/// Default size budget of a comment, in characters.
pub const DEFAULT_BUDGET: usize = 60_000;

/// A marker line that lets CI find and update the one plan comment.
pub const MARKER: &str = "<!-- tether-plan -->";

pub fn render(plan: &Plan, budget: usize) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "{MARKER}");
    let _ = writeln!(head, "### tether plan\n");
    if !plan.identity_drift.is_empty() {
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> **Identity drift ({}):** {}\n",
            plan.identity_drift.len(),
            plan.identity_drift
                .iter()
                .map(|d| format!("`{}`: {}", d.address, d.problem.replace('\n', " ")))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !plan.not_checked.is_empty() {
        let _ = writeln!(
            head,
            "> [!NOTE]\n> **Could not be checked ({}; the check is incomplete, not drift):** {}\n",
            plan.not_checked.len(),
            capped(plan.not_checked.iter().map(|d| format!(
                "`{}`: {}",
                d.address,
                d.problem.replace('\n', " ")
            )))
        );
    }
    super::findings::markdown(&mut head, &plan.findings);
    let disabled: Vec<String> = plan.disabled().map(|a| format!("`{a}`")).collect();
    if !disabled.is_empty() {
        let _ = writeln!(
            head,
            "Disabled (`enabled = false`; not synced or checked): {}\n",
            capped(disabled.into_iter())
        );
    }
    let moving: Vec<String> = plan
        .endpoint_changes()
        .map(|(c, e)| format!("`{}`: {} → {}", c.address, e.from, e.to))
        .collect();
    if !moving.is_empty() {
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> **Security note: secrets would be sent to new endpoints ({}).** Applying sends each account's secret to its new endpoint; check that you trust it. {}\n",
            moving.len(),
            capped(moving.into_iter())
        );
    }
    if !plan.has_changes() {
        head.push_str("**No changes.** The accounts in state match the configuration.\n");
        return head;
    }
    let c = counts(&plan.changes);
    head.push_str("| action | accounts |\n|---|---:|\n");
    for (a, label) in [
        (Action::Create, "create"),
        (Action::Update, "update"),
        (Action::Replace, "replace"),
        (Action::Delete, "delete"),
    ] {
        let _ = writeln!(head, "| {label} | {} |", c.get(&a).copied().unwrap_or(0));
    }
    if !plan.moves.is_empty() {
        let _ = writeln!(head, "| moved | {} |", plan.moves.len());
    }
    head.push('\n');
    let deletes: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| format!("`{}`", c.address))
        .collect();
    if !deletes.is_empty() {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> **Deleted or replaced ({}):** {}\n",
            deletes.len(),
            deletes.join(", ")
        );
    }
    let secrets: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| {
            matches!(
                c.secret,
                SecretChange::Changed | SecretChange::MayHaveChanged
            )
        })
        .map(|c| {
            format!(
                "`{}` ({}{})",
                c.address,
                c.secret_attribute,
                if c.secret == SecretChange::MayHaveChanged {
                    ", may have changed"
                } else {
                    ""
                }
            )
        })
        .collect();
    if !secrets.is_empty() {
        let _ = writeln!(
            head,
            "> [!IMPORTANT]\n> **Secrets changing ({}):** {}\n",
            secrets.len(),
            secrets.join(", ")
        );
    }
    for m in &plan.moves {
        let _ = writeln!(head, "- `{}` moved to `{}`", m.from, m.to);
    }
    if !plan.moves.is_empty() {
        head.push('\n');
    }
    let _ = writeln!(head, "**{}**\n", summary(plan));

    let changing: Vec<&AccountChange> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .collect();
    let blocks: Vec<(String, String)> = changing
        .iter()
        .map(|c| {
            (
                format!("<code>{}</code>: {}", c.address, action_word(c.action)),
                account(c, false),
            )
        })
        .collect();
    with_details(
        head,
        &blocks,
        budget,
        "Run `tether plan` or see the JSON plan",
    )
}

/// At most 50 entries joined by `; `, then how many more there are: the
/// head of a comment stays readable, and the details follow in blocks.
fn capped(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let mut s = items
        .iter()
        .take(50)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > 50 {
        let _ = write!(s, "; and {} more", items.len() - 50);
    }
    s
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::NoOp => "no change",
    }
}

/// `head`, then one `<details>` block per (summary, diff text) for as long as
/// they fit in `budget` characters; when some do not, a closing line says how
/// many were cut and `where_all` says where to see all of them.
pub fn with_details(
    head: String,
    blocks: &[(String, String)],
    budget: usize,
    where_all: &str,
) -> String {
    // Room kept for the closing line that says what was cut.
    let reserve = 300;
    let mut out = head;
    let mut shown = 0;
    for (summary, text) in blocks {
        let block =
            format!("<details><summary>{summary}</summary>\n\n```diff\n{text}```\n\n</details>\n");
        if out.len() + block.len() + reserve > budget {
            break;
        }
        out.push_str(&block);
        shown += 1;
    }
    if shown < blocks.len() {
        let more = blocks.len() - shown;
        let _ = writeln!(
            out,
            "\n_This comment stops at its size budget of {budget} characters: details of {more} more account{} are not shown. {where_all} for all of them._",
            if more == 1 { "" } else { "s" }
        );
    }
    out
}
