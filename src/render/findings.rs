//! Credential hygiene findings, the same in every report that carries them
//! (`plan --refresh`, `drift`): a block for a terminal and one for a
//! pull-request comment or issue. Findings hold ids, dates and vendor
//! codes only, never a secret.

use std::fmt::Write as _;

use super::palette::{BOLD, CHANGED, paint};
use crate::hygiene::{Finding, FindingKind};

/// For a terminal: a heading and a line per finding, with its advice.
pub fn human(s: &mut String, color: bool, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "{}",
        paint(
            color,
            BOLD,
            &format!("Credential findings ({}):", findings.len())
        )
    );
    for f in findings {
        let mark = if f.kind == FindingKind::Unchecked {
            "?"
        } else {
            "!"
        };
        let _ = writeln!(
            s,
            "  {} {} ({}): {}",
            paint(color, CHANGED, mark),
            f.address,
            f.kind.as_str(),
            f.message
        );
        if let Some(a) = &f.advice {
            let _ = writeln!(s, "      {a}");
        }
    }
    s.push('\n');
}

/// For markdown: a warning callout listing the findings, at most 50 of
/// them (the rest counted).
pub fn markdown(s: &mut String, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "> [!WARNING]\n> **Credential findings ({}):**",
        findings.len()
    );
    for f in findings.iter().take(50) {
        let _ = write!(
            s,
            "> - `{}` ({}): {}",
            f.address,
            f.kind.as_str(),
            f.message.replace('\n', " ")
        );
        match &f.advice {
            Some(a) => {
                let _ = writeln!(s, ". {a}.");
            }
            None => s.push('\n'),
        }
    }
    if findings.len() > 50 {
        let _ = writeln!(s, "> - … and {} more", findings.len() - 50);
    }
    s.push('\n');
}
