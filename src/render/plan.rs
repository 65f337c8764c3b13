//! Human rendering of a plan, Terraform-like: `+`, `~`, `-/+`, `-`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::plan::{AccountChange, Action, Plan, PlanMode, SecretChange, counts};

use super::palette::{ADDED, BOLD, CHANGED, REMOVED, paint};

fn action_color(a: Action) -> &'static str {
    match a {
        Action::Create => ADDED,
        Action::Update => CHANGED,
        Action::Replace | Action::Delete => REMOVED,
        Action::NoOp => "",
    }
}

/// A value as it would be written in HCL.
pub fn value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Array(a) => format!("[{}]", a.iter().map(value).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => {
            if o.is_empty() {
                "{}".into()
            } else {
                format!(
                    "{{ {} }}",
                    o.iter()
                        .map(|(k, v)| format!("{} = {}", key(k), value(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

/// The summary line: `Plan: 1 to create, 2 to update, 0 to replace, 1 to delete.`
pub fn summary(plan: &Plan) -> String {
    let c = counts(&plan.changes);
    let n = |a| c.get(&a).copied().unwrap_or(0);
    let mut s = format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete.",
        n(Action::Create),
        n(Action::Update),
        n(Action::Replace),
        n(Action::Delete)
    );
    if !plan.moves.is_empty() {
        let _ = write!(s, " {} moved.", plan.moves.len());
    }
    s
}

/// One account's block, as in the full plan.
pub fn account(c: &AccountChange, color: bool) -> String {
    let mut s = String::new();
    let sym = c.action.symbol();
    let col = action_color(c.action);
    let head = match &c.previous_address {
        Some(prev) => format!(
            "  # {} {} (moved from {prev})\n",
            paint(color, BOLD, &c.address.to_string()),
            c.action.verb()
        ),
        None => format!(
            "  # {} {}\n",
            paint(color, BOLD, &c.address.to_string()),
            c.action.verb()
        ),
    };
    s.push_str(&head);
    let _ = writeln!(
        s,
        "{} account \"{}\" \"{}\" {{",
        paint(color, col, &format!("{sym:>3}")),
        c.vendor,
        c.address.name
    );
    let width = c
        .attributes
        .iter()
        .map(|a| a.name.len())
        .chain(std::iter::once(c.secret_attribute.len()))
        .max()
        .unwrap_or(0);
    let mut hidden = 0;
    let mut lines: Vec<(String, String)> = Vec::new();
    for a in &c.attributes {
        let (mark, text) = match (c.action, &a.before, &a.after) {
            (Action::Create, _, Some(v)) => ("+", value(v)),
            (Action::Delete, Some(v), _) => ("-", value(v)),
            (_, Some(b), Some(v)) if b == v => {
                hidden += 1;
                continue;
            }
            (_, Some(b), Some(v)) => (
                "~",
                format!(
                    "{} -> {}{}",
                    value(b),
                    value(v),
                    if a.forces_replacement {
                        " # forces replacement"
                    } else {
                        ""
                    }
                ),
            ),
            (_, None, Some(v)) => ("+", value(v)),
            (_, Some(b), None) => ("-", format!("{} -> null", value(b))),
            (_, None, None) => continue,
        };
        lines.push((mark.to_string(), format!("{:<width$} = {text}", a.name)));
    }
    let secret = match c.secret {
        SecretChange::New => Some(("+", "(sensitive)")),
        SecretChange::Removed => Some(("-", "(sensitive)")),
        SecretChange::Changed => Some(("~", "(sensitive, changed)")),
        SecretChange::MayHaveChanged => {
            Some(("~", "(sensitive, may have changed: no identity to compare)"))
        }
        SecretChange::Reencrypted => Some((" ", "(sensitive, re-encrypted, same value)")),
        SecretChange::Main => None,
        SecretChange::Unchanged | SecretChange::Reused => {
            hidden += 1;
            None
        }
    };
    if let Some((mark, text)) = secret {
        lines.push((
            mark.to_string(),
            format!("{:<width$} = {text}", c.secret_attribute),
        ));
    }
    lines.sort_by(|a, b| a.1.cmp(&b.1));
    for (mark, text) in lines {
        let col = match mark.as_str() {
            "+" => ADDED,
            "~" => CHANGED,
            "-" => REMOVED,
            _ => "",
        };
        let _ = writeln!(s, "      {} {text}", paint(color, col, &mark));
    }
    if hidden > 0 && c.action != Action::Create && c.action != Action::Delete {
        let _ = writeln!(
            s,
            "        # ({hidden} unchanged attribute{} hidden)",
            if hidden == 1 { "" } else { "s" }
        );
    }
    s.push_str("    }\n");
    s
}

/// A titled list of accounts and what was found for each, then a blank line;
/// nothing when the list is empty.
fn findings(
    s: &mut String,
    color: bool,
    title: &str,
    (code, mark): (&str, &str),
    list: &[crate::plan::IdentityDrift],
) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(s, "{}", paint(color, BOLD, title));
    for d in list {
        let _ = writeln!(
            s,
            "  {} {}: {}",
            paint(color, code, mark),
            d.address,
            d.problem
        );
    }
    s.push('\n');
}

/// The whole plan, for a terminal or a log.
pub fn human(plan: &Plan, color: bool) -> String {
    let mut s = String::new();
    findings(
        &mut s,
        color,
        "Identity drift: these accounts no longer verify as recorded (checked live with --refresh):",
        (REMOVED, "!"),
        &plan.identity_drift,
    );
    findings(
        &mut s,
        color,
        "Could not be checked (not drift; the check is incomplete):",
        (CHANGED, "?"),
        &plan.not_checked,
    );
    super::findings::human(&mut s, color, &plan.findings);
    let mut moving = plan.endpoint_changes().peekable();
    if moving.peek().is_some() {
        let _ = writeln!(
            s,
            "{}",
            paint(
                color,
                BOLD,
                "Security note: applying sends these accounts' secrets to new endpoints; check that you trust them:"
            )
        );
        for (c, e) in moving {
            let _ = writeln!(
                s,
                "  {} {}: {} -> {}",
                paint(color, REMOVED, "!"),
                c.address,
                e.from,
                e.to
            );
        }
        s.push('\n');
    }
    let disabled: Vec<String> = plan.disabled().map(ToString::to_string).collect();
    if !disabled.is_empty() {
        let _ = writeln!(
            s,
            "Disabled (`enabled = false`; not synced or checked): {}\n",
            disabled.join(", ")
        );
    }
    if !plan.has_changes() {
        s.push_str("No changes. The accounts in state match the configuration.\n");
        return s;
    }
    for m in &plan.moves {
        let _ = writeln!(s, "  # {} has moved to {}", m.from, m.to);
    }
    if !plan.moves.is_empty() {
        s.push('\n');
    }
    let changing: Vec<&AccountChange> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .collect();
    if !changing.is_empty() {
        s.push_str(if plan.mode == PlanMode::Destroy {
            "tether will forget the following accounts:\n\n"
        } else {
            "tether will perform the following actions:\n\n"
        });
    }
    for c in changing {
        s.push_str(&account(c, color));
        s.push('\n');
    }
    let may: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.secret == SecretChange::MayHaveChanged)
        .map(|c| c.address.to_string())
        .collect();
    if !may.is_empty() {
        let _ = writeln!(
            s,
            "Note: no age identity was found, so secrets were compared by ciphertext only; these may have changed: {}.\n",
            may.join(", ")
        );
    }
    let _ = writeln!(s, "{}", paint(color, BOLD, &summary(plan)));
    s
}
