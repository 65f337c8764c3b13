//! Organizations: the member accounts a main account's vendor lists (AWS
//! Organizations, Alibaba Cloud Resource Directory, the subscriptions of an
//! Azure tenant under its management groups, the projects of an HCS login
//! account), compared with the members the config declares (`via`), and
//! the HCL that declares the others.
//!
//! A leaf: the vendor layer fills a [`Listed`]; [`compare`] and
//! [`hcl_for`] need nothing else.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::{Address, Config, Vendor};

/// What a main account's vendor lists as its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Listed {
    /// The organization, directory, tenant or IAM domain id.
    pub id: String,
    pub members: Vec<Member>,
}

/// One member as its vendor lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Member {
    /// AWS or Alibaba account id, Azure subscription id, HCS project id.
    pub id: String,
    pub name: String,
    /// Where it sits: OU, folder, management group or VDC names from the
    /// root, joined by `/` (`Root/Workloads 0`).
    pub path: String,
    /// The vendor's status (`ACTIVE`, `SUSPENDED`, `CreateSuccess`,
    /// `Enabled`, …).
    pub status: String,
}

/// Whether a vendor's answer to a member listing says the account manages
/// no organization: AWS `AWSOrganizationsNotInUseException`, Alibaba
/// `EntityNotExists.ResourceDirectory`, an Azure tenant whose root
/// management group is not there (`NotFound`).
/// `vendor` and `code` are the failed listing's.
pub fn manages_none(vendor: Vendor, code: Option<&str>) -> bool {
    matches!(
        (vendor, code),
        (Vendor::Aws, Some("AWSOrganizationsNotInUseException"))
            | (Vendor::Alibaba, Some("EntityNotExists.ResourceDirectory"))
            | (Vendor::Azure, Some("NotFound"))
    )
}

/// The mains whose members `plan --refresh` and `drift` list: AWS and
/// Alibaba accounts in `state` that are not members (an undeclared member
/// there is an account nobody reads), and any account the config declares
/// members through (a declared member may have left).
pub fn listed_mains(config: &Config, state: &crate::state::State) -> BTreeSet<Address> {
    let mut out: BTreeSet<Address> = state
        .accounts
        .iter()
        .filter(|(a, s)| {
            matches!(a.vendor, Vendor::Aws | Vendor::Alibaba) && s.via().is_none() && s.enabled()
        })
        .map(|(a, _)| a.clone())
        .collect();
    out.extend(
        config
            .accounts
            .values()
            .filter_map(|a| a.via.as_ref().map(|v| v.main.clone())),
    );
    out
}

/// Findings about `compared`'s organization: each undeclared member of an
/// AWS or Alibaba main account (nobody reads it; Azure subscriptions and
/// HCS projects that are not declared are read by their main account),
/// and each declared member the vendor no longer lists.
pub fn findings(compared: &Compared) -> Vec<crate::hygiene::Finding> {
    use crate::hygiene::{Finding, FindingKind};
    let finding = |address: Address, kind, message: String, advice: &str| Finding {
        advice: Some(advice.to_string()),
        ..Finding::new(&address, kind, message)
    };
    let mut out = Vec::new();
    if matches!(compared.main.vendor, Vendor::Aws | Vendor::Alibaba) {
        for m in &compared.undeclared {
            out.push(finding(
                compared.main.clone(),
                FindingKind::MemberUndeclared,
                format!(
                    "member {} ({}) of {} is not declared: nothing reads it",
                    m.id, m.name, compared.organization
                ),
                "run `tether discover --out FILE` and review the account blocks it writes",
            ));
        }
    }
    for Gone { address, id } in &compared.gone {
        out.push(finding(
            address.clone(),
            FindingKind::MemberLeft,
            format!(
                "{id} is no longer a member of {} as {} sees it: closed, moved out, or no longer visible",
                compared.organization, compared.main
            ),
            "remove the account block, or restore its membership",
        ));
    }
    out
}

/// One main account's members, declared or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Compared {
    pub main: Address,
    pub organization: String,
    /// Members the config declares (`via` this main account), with their address.
    pub declared: Vec<Declared>,
    /// Members the config does not declare.
    pub undeclared: Vec<Member>,
    /// Azure subscriptions and HCS projects directly under the root, not in
    /// any management group or parent project: the main account's own,
    /// read by it (unless declared as members, then they are `declared`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub own: Vec<Member>,
    /// Members the config declares that the vendor no longer lists (closed,
    /// moved out, deleted, or no longer visible to the main account).
    pub gone: Vec<Gone>,
}

/// A listed member the config declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Declared {
    /// The member account's address.
    pub address: Address,
    #[serde(flatten)]
    pub member: Member,
}

/// A declared member its main account's vendor no longer lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Gone {
    pub address: Address,
    /// The member id it declares (account, subscription or project).
    pub id: String,
}

/// Compares what `main`'s vendor lists with the members `config` declares
/// through it.
pub fn compare(config: &Config, main: &Address, listed: &Listed) -> Compared {
    let declared_ids: BTreeMap<String, Address> = config
        .accounts
        .values()
        .filter(|a| a.via.as_ref().is_some_and(|v| &v.main == main))
        .map(|a| {
            (
                a.vendor.identity_key().to_ascii_lowercase(),
                a.address.clone(),
            )
        })
        .collect();
    let mut declared = Vec::new();
    let mut undeclared = Vec::new();
    let mut own = Vec::new();
    let scoped = matches!(main.vendor, Vendor::Azure | Vendor::Hcs);
    let mut seen = BTreeSet::new();
    for m in &listed.members {
        let key = m.id.to_ascii_lowercase();
        match declared_ids.get(&key) {
            Some(a) => {
                seen.insert(key);
                declared.push(Declared {
                    address: a.clone(),
                    member: m.clone(),
                });
            }
            None if scoped && m.path == "Root" => own.push(m.clone()),
            None => undeclared.push(m.clone()),
        }
    }
    let gone = declared_ids
        .iter()
        .filter(|(id, _)| !seen.contains(*id))
        .map(|(id, a)| Gone {
            address: a.clone(),
            id: id.clone(),
        })
        .collect();
    Compared {
        main: main.clone(),
        organization: listed.id.clone(),
        declared,
        undeclared,
        own,
        gone,
    }
}

/// An account name for a member: its name in lower case, letters and
/// digits kept, everything else one `_`; prefixed when it does not start
/// with a letter; the id's last digits added when taken.
fn name_for(m: &Member, taken: &BTreeSet<String>) -> String {
    let mut n = String::new();
    for c in m.name.chars() {
        if c.is_ascii_alphanumeric() {
            n.push(c.to_ascii_lowercase());
        } else if !n.ends_with('_') && !n.is_empty() {
            n.push('_');
        }
    }
    let n = n.trim_end_matches('_').to_string();
    let mut n = match n.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => n,
        _ => format!("member_{n}"),
    };
    n.truncate(48);
    let n = n.trim_end_matches('_').to_string();
    if !taken.contains(&n) {
        return n;
    }
    let tail: String =
        m.id.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .take(8)
            .rev()
            .collect::<String>()
            .to_ascii_lowercase();
    let mut k = format!("{n}_{tail}");
    let mut i = 2;
    while taken.contains(&k) {
        k = format!("{n}_{tail}_{i}");
        i += 1;
    }
    k
}

/// An HCL string literal of `s` (quotes, backslashes, control characters
/// and `${` / `%{` escaped, so a member name is never a template).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// HCL that declares every undeclared member of `compared`, each reached
/// through its main account, its organization path as a tag, in the
/// layout `tether fmt` writes. Names avoid `taken` (the addresses of the
/// config's accounts) and each other.
pub fn hcl_for(compared: &[Compared], taken: &BTreeSet<Address>) -> String {
    let mut names: BTreeMap<Vendor, BTreeSet<String>> = BTreeMap::new();
    for a in taken {
        names.entry(a.vendor).or_default().insert(a.name.clone());
    }
    let mut out = String::new();
    for c in compared {
        let vendor = c.main.vendor;
        for m in &c.undeclared {
            let taken = names.entry(vendor).or_default();
            let name = name_for(m, taken);
            taken.insert(name.clone());
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("account \"{vendor}\" \"{name}\" {{\n"));
            let mut attrs: Vec<(&str, String)> = Vec::new();
            match vendor {
                Vendor::Aws | Vendor::Alibaba => {
                    attrs.push(("main_account_id", quoted(&m.id)));
                    attrs.push(("account_name", quoted(&m.name)));
                    attrs.push(("via", c.main.to_string()));
                }
                Vendor::Azure => {
                    attrs.push(("via", c.main.to_string()));
                    attrs.push(("subscription_id", quoted(&m.id)));
                }
                Vendor::Hcs => {
                    attrs.push(("via", c.main.to_string()));
                    attrs.push(("project_id", quoted(&m.id)));
                }
            }
            let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in &attrs {
                out.push_str(&format!("  {k:<width$} = {v}\n"));
            }
            out.push_str("\n  tags = {\n");
            out.push_str(&format!(
                "    organization      = {}\n",
                quoted(&c.organization)
            ));
            out.push_str(&format!("    organization_path = {}\n", quoted(&m.path)));
            out.push_str("  }\n}\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, name: &str) -> Member {
        Member {
            id: id.into(),
            name: name.into(),
            path: "Root/Workloads 0".into(),
            status: "ACTIVE".into(),
        }
    }

    #[test]
    fn names_are_identifiers_and_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(
            name_for(&member("1", "Team A (prod)"), &taken),
            "team_a_prod"
        );
        assert_eq!(name_for(&member("2", "42 ops"), &taken), "member_42_ops");
        assert_eq!(name_for(&member("3", "***"), &taken), "member");
        taken.insert("team_a_prod".to_string());
        assert_eq!(
            name_for(&member("210987654321", "Team A (prod)"), &taken),
            "team_a_prod_87654321"
        );
        for n in ["team_a_prod", "member_42_ops"] {
            assert!(crate::config::is_valid_name(n));
        }
    }

    #[test]
    fn strings_never_become_templates() {
        assert_eq!(quoted("a\"b\\c${x}%{y}\n"), "\"a\\\"b\\\\c$${x}%%{y}\\n\"");
    }
}
