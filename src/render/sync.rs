//! What one sync did: a line per account, failures, stale resources, and
//! accounts that left the snapshot.

use crate::ops::sync::SyncReport;

/// The sync report, for a terminal or a log.
pub fn sync(r: &SyncReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Snapshot {}{}: {} account{} synced in {:.1}s.",
        r.version,
        r.parent
            .map(|p| format!(" (since {p})"))
            .unwrap_or_default(),
        r.accounts.len(),
        if r.accounts.len() == 1 { "" } else { "s" },
        r.seconds
    );
    let width = r
        .accounts
        .keys()
        .map(|a| a.to_string().len())
        .max()
        .unwrap_or(0);
    for (addr, a) in &r.accounts {
        let name = format!("{:width$}", addr.to_string());
        match &a.error {
            Some(e) => {
                let _ = writeln!(s, "  {name}  FAILED: {e}");
                if a.stale > 0 {
                    let _ = writeln!(
                        s,
                        "  {:width$}  {} resources kept from the previous version, marked stale",
                        "", a.stale
                    );
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "  {name}  {} resources in {} partitions; +{} added, ~{} changed, -{} removed",
                    a.resources, a.partitions, a.added, a.changed, a.removed
                );
                for (k, e) in &a.failed {
                    let _ = writeln!(s, "  {:width$}  FAILED {}/{}: {e}", "", k.region, k.kind);
                }
                if a.stale > 0 {
                    let _ = writeln!(
                        s,
                        "  {:width$}  {} resources of failed partitions kept from the previous version, marked stale",
                        "", a.stale
                    );
                }
            }
        }
    }
    for (a, n) in &r.removed {
        let _ = writeln!(
            s,
            "  {a}: account removed from the snapshot ({n} resources), no longer in state"
        );
    }
    if r.incomplete() {
        s.push_str("\nSync incomplete: some accounts, regions or types could not be read (exit 3). Their earlier resources are kept as stale, never reported as deleted.\n");
    }
    s
}
