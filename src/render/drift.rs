//! Drift reports: human and markdown (the JSON form is the report itself).

use std::fmt::Write as _;

use super::snapshot as snaprender;
use crate::ops::drift::DriftReport;
use crate::ops::since::{Item, Seen, SinceLast};
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
    if let Some(since) = &r.since_last {
        since_human(&mut s, r, since);
    }
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
    rules_human(&mut s, r);
    if let Some(v) = r.recorded {
        let _ = writeln!(s, "Recorded the live inventory as snapshot {v}.");
    }
    s.push_str(verdict(r));
    s.push('\n');
    s
}

/// The report's conclusion in one sentence.
pub fn verdict(r: &DriftReport) -> &'static str {
    if r.since_last.is_some() && r.drift && !r.exit_drift() {
        return "Drift found, none of it new since the last run.";
    }
    match (r.drift, r.incomplete) {
        (true, true) => "Drift found; the check is also incomplete.",
        (true, false) => "Drift found.",
        (false, true) => "No drift found in what could be read; the check is incomplete.",
        (false, false) => "No drift.",
    }
}

/// Most items listed by name in one section of the human form.
const LISTED: usize = 100;

fn new_items(r: &DriftReport) -> impl Iterator<Item = &Item> {
    r.items.iter().filter(|i| i.status == Some(Seen::New))
}

fn since_human(s: &mut String, r: &DriftReport, since: &SinceLast) {
    match &since.last {
        Some(last) => {
            let _ = write!(
                s,
                "Since the last run ({}): {} new, {} still present, {} resolved",
                last.recorded_at,
                since.new,
                since.known,
                since.resolved.len()
            );
            if !since.unknown.is_empty() {
                let _ = write!(s, ", {} not read this time", since.unknown.len());
            }
            s.push_str(".\n");
        }
        None => {
            let _ = writeln!(s, "First recorded run: all {} findings are new.", since.new);
        }
    }
    let new: Vec<&Item> = new_items(r).collect();
    if !new.is_empty() && since.last.is_some() {
        s.push_str("New:\n");
        list_items(s, &new);
    }
    if !since.resolved.is_empty() {
        s.push_str("Resolved:\n");
        list_items(s, &since.resolved.iter().collect::<Vec<_>>());
    }
    s.push('\n');
}

fn list_items(s: &mut String, items: &[&Item]) {
    for i in items.iter().take(LISTED) {
        let _ = writeln!(s, "  + {}", i.summary);
    }
    if items.len() > LISTED {
        let _ = writeln!(
            s,
            "  … and {} more (see `--format json`)",
            items.len() - LISTED
        );
    }
}

/// Ignored findings by rule, and the rules to look at: past their
/// `until`, or unused.
fn rules_human(s: &mut String, r: &DriftReport) {
    if !r.ignored.is_empty() {
        let _ = writeln!(
            s,
            "Ignored ({} finding{}, not drift):",
            r.ignored.len(),
            if r.ignored.len() == 1 { "" } else { "s" }
        );
        for u in r.rules.iter().filter(|u| u.matched > 0 && !u.expired) {
            let _ = write!(s, "  - {} ({}): {}", u.name, u.matched, u.reason);
            if let Some(o) = &u.owner {
                let _ = write!(s, " [owner: {o}]");
            }
            s.push('\n');
        }
        s.push('\n');
    }
    let expired: Vec<_> = r.rules.iter().filter(|u| u.expired).collect();
    if !expired.is_empty() {
        s.push_str("Ignore rules past their `until` (they match nothing now):\n");
        for u in expired {
            let _ = write!(
                s,
                "  ! {} (until {})",
                u.name,
                u.until.as_deref().unwrap_or("?")
            );
            if u.matched > 0 {
                let _ = write!(s, ": {} finding(s) it matched are drift again", u.matched);
            }
            s.push('\n');
        }
        s.push('\n');
    }
    let unused: Vec<_> = r
        .rules
        .iter()
        .filter(|u| u.unused_since.is_some())
        .collect();
    if !unused.is_empty() {
        s.push_str("Ignore rules that matched nothing for 30 days (remove them?):\n");
        for u in unused {
            let _ = writeln!(
                s,
                "  ? {} (nothing since {}): {}",
                u.name,
                u.unused_since.as_deref().unwrap_or("?"),
                u.reason
            );
        }
        s.push('\n');
    }
}

/// What config drift would do, in words.
pub fn action_word(a: Action) -> &'static str {
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
            _ if r.since_last.is_some() && r.drift && !r.exit_drift() =>
                "**Drift found**, none of it new since the last run.",
            (true, true) => "**Drift found** (and the check is incomplete).",
            (true, false) => "**Drift found.**",
            (false, true) => "**No drift found** in what could be read; the check is incomplete.",
            (false, false) => "**No drift.**",
        }
    );
    if let Some(since) = &r.since_last {
        let new: Vec<&Item> = new_items(r).collect();
        match &since.last {
            Some(last) => {
                let _ = writeln!(
                    head,
                    "Since the last run ({}): **{} new**, {} still present, {} resolved{}.\n",
                    last.recorded_at,
                    since.new,
                    since.known,
                    since.resolved.len(),
                    if since.unknown.is_empty() {
                        String::new()
                    } else {
                        format!(", {} not read this time", since.unknown.len())
                    }
                );
            }
            None => {
                let _ = writeln!(
                    head,
                    "First recorded run: all {} findings are new.\n",
                    since.new
                );
            }
        }
        // New drift first, within half the budget: it is what the issue is for.
        if !new.is_empty() {
            head.push_str("**New:**\n\n");
            let mut shown = 0;
            for i in &new {
                let line = format!("- {}\n", code_span(&i.summary));
                if head.len() + line.len() > budget / 2 {
                    break;
                }
                head.push_str(&line);
                shown += 1;
            }
            if shown < new.len() {
                let _ = writeln!(
                    head,
                    "- … and {} more new (see the JSON report)",
                    new.len() - shown
                );
            }
            head.push('\n');
        }
        if !since.resolved.is_empty() {
            let _ = writeln!(head, "**Resolved:** {}\n", since.resolved.len());
        }
    }
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
        "| not read | {} |",
        r.unreadable.len() + r.resources.not_compared.len()
    );
    let _ = writeln!(head, "| ignored by rules | {} |\n", r.ignored.len());
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
    let mut rules = String::new();
    rules_human(&mut rules, r);
    if !rules.is_empty() {
        let _ = write!(
            head,
            "\n<details><summary>Ignore rules</summary>\n\n```\n{rules}```\n</details>\n"
        );
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

/// `s` as one inline code span, whatever backticks it holds.
fn code_span(s: &str) -> String {
    let s = s.replace('\n', " ");
    let mut ticks = 1;
    while s.contains(&"`".repeat(ticks)) {
        ticks += 1;
    }
    let fence = "`".repeat(ticks);
    format!("{fence} {s} {fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::since::{Item, Last, Seen, SinceLast};
    use crate::snapshot::diff::{Changed, Diff, FieldChange};

    /// 5,000 changes, 3,000 of them new: the markdown stays in its budget
    /// and lists new ones first, then says how many more there are.
    #[test]
    fn markdown_keeps_its_budget_with_new_drift_first() {
        let changed: Vec<Changed> = (0..5000)
            .map(|n| Changed {
                address: format!("aws.a/eu-west-1/instance/i-{n:05}"),
                account: "aws.a".parse().unwrap(),
                region: "eu-west-1".into(),
                kind: "instance".into(),
                id: format!("i-{n:05}"),
                fields: vec![FieldChange {
                    path: "tags.owner".into(),
                    before: Some(serde_json::json!("alice")),
                    after: Some(serde_json::json!(format!("owner-{n}"))),
                }],
                tags: Default::default(),
            })
            .collect();
        let mut items: Vec<Item> = changed
            .iter()
            .map(|c| Item::changed(c, &c.fields[0]))
            .collect();
        for (n, i) in items.iter_mut().enumerate() {
            i.status = Some(if n % 5 < 3 { Seen::New } else { Seen::Known });
        }
        let r = DriftReport {
            format_version: "3".into(),
            snapshot: Some(7),
            recorded: None,
            drift: true,
            incomplete: false,
            credentials: vec![],
            config: vec![],
            unreadable: vec![],
            findings: vec![],
            disabled: vec![],
            resources: Diff {
                changed,
                ..Diff::default()
            },
            groups: vec![],
            items,
            ignored: vec![],
            rules: vec![],
            since_last: Some(SinceLast {
                last: Some(Last {
                    recorded_at: "2026-12-05T03:17:00Z".into(),
                    snapshot: Some(6),
                }),
                new: 3000,
                known: 2000,
                resolved: vec![],
                unknown: vec![],
            }),
        };
        let budget = 60_000;
        let md = markdown(&r, budget);
        assert!(md.len() <= budget + 2_000, "{} characters", md.len());
        let new = md.find("**New:**").unwrap();
        let table = md.find("| kind | count |").unwrap();
        assert!(new < table);
        // The first new change (i-00000) is listed, and the rest counted.
        assert!(md[new..table].contains("i-00000"));
        assert!(
            !md[new..table].contains("i-00003"),
            "a known one among the new"
        );
        assert!(md[new..table].contains("more new (see the JSON report)"));
        assert!(md.contains("**3000 new**, 2000 still present, 0 resolved"));
    }
}
