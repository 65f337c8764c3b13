//! `tether discover` for people: per main account, its organization and
//! members, declared or not, and declared members the vendor no longer
//! lists.

use std::fmt::Write;
use std::path::PathBuf;

use crate::ops::discover::DiscoverReport;

/// The human form; `written`: the `--out` file and how many members it declares.
pub fn human(report: &DiscoverReport, written: Option<&(PathBuf, usize)>) -> String {
    let mut s = String::new();
    for c in &report.organizations {
        let total = c.declared.len() + c.undeclared.len();
        let _ = writeln!(
            s,
            "{} manages {} ({total} members: {} declared, {} not declared{})",
            c.main,
            c.organization,
            c.declared.len(),
            c.undeclared.len(),
            if c.own.is_empty() {
                String::new()
            } else {
                format!("; and {} of its own", c.own.len())
            }
        );
        for d in &c.declared {
            let m = &d.member;
            let _ = writeln!(s, "  = {}: {} {} ({})", d.address, m.id, m.name, m.path);
        }
        for m in &c.undeclared {
            let _ = writeln!(s, "  + {} {} ({}) not declared", m.id, m.name, m.path);
        }
        for m in &c.own {
            let _ = writeln!(s, "    {} {} ({}) read by {}", m.id, m.name, m.path, c.main);
        }
        for crate::org::Gone { address: a, id } in &c.gone {
            let _ = writeln!(
                s,
                "  - {a}: {id} is no longer a member (closed, moved out, or no longer visible to {})",
                c.main
            );
        }
    }
    for a in &report.not_main {
        let _ = writeln!(s, "{a} manages no organization");
    }
    for crate::ops::discover::Failed {
        address: a,
        problem: p,
    } in &report.failed
    {
        let code = p
            .code
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        let _ = writeln!(s, "{a}: members could not be listed: {}{code}", p.message);
    }
    match written {
        Some((path, n)) => {
            let _ = writeln!(
                s,
                "\nWrote {n} account block{} to {}: review them, then `tether plan`.",
                if *n == 1 { "" } else { "s" },
                path.display()
            );
        }
        None if report.organizations.is_empty() && report.failed.is_empty() => {
            let _ = writeln!(s, "No main account manages an organization.");
        }
        None => {}
    }
    s
}
