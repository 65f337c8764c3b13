//! Cross-file checks: duplicates, references, cycles; then the model is assembled.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::graph::AccountGraph;
use super::lower::{Declared, Lowered};
use super::model::*;
use super::suggest::did_you_mean;
use crate::diag::{Diagnostic, Diagnostics};
use crate::diag::{Sources, Span};

/// The settings: at most one block across all files (the defaults when
/// there is none).
pub(super) fn one_settings(
    settings: Vec<(Settings, Span)>,
    sources: &Sources,
    diags: &mut Diagnostics,
) -> Settings {
    let mut settings_iter = settings.into_iter();
    let first_settings = settings_iter.next();
    for (_, span) in settings_iter {
        let first = first_settings
            .as_ref()
            .map(|(_, s)| sources.location(s))
            .unwrap_or_else(|| "?".into());
        diags.push(
            Diagnostic::error("duplicate `tether` settings block")
                .at(span)
                .detail(format!("the first one is at {first}"))
                .help("keep one `tether { … }` block and merge the settings into it"),
        );
    }
    first_settings.map(|(s, _)| s).unwrap_or_default()
}

pub(super) fn finish(
    dir: &Path,
    lowered: Lowered,
    sources: &Sources,
    diags: &mut Diagnostics,
) -> Option<Config> {
    let Lowered {
        settings,
        declared,
        accounts,
        moved,
        ignore,
        ignore_declared,
    } = lowered;
    let at = |s: &Option<Span>| {
        s.as_ref()
            .map(|s| sources.location(s))
            .unwrap_or_else(|| "?".into())
    };

    let settings = one_settings(settings, sources, diags);

    // Accounts: unique addresses (checked on every declared block, valid or not).
    let mut decl: BTreeMap<&Address, &Declared> = BTreeMap::new();
    for d in &declared {
        if let Some(first) = decl.get(&d.address) {
            diags.push(
                Diagnostic::error(format!("account `{}` is declared twice", d.address))
                    .at(d.span.clone())
                    .detail(format!(
                        "the first declaration is at {}",
                        sources.location(&first.span)
                    ))
                    .help("give each account a unique name within its vendor"),
            );
            continue;
        }
        decl.insert(&d.address, d);
    }
    let names: Vec<String> = decl.keys().map(|a| a.to_string()).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();

    // depends_on: every entry is a declared account.
    let mut refs_ok = true;
    for d in decl.values() {
        for (dep, span) in &d.depends_on {
            if decl.contains_key(dep) {
                continue;
            }
            refs_ok = false;
            let mut diag = Diagnostic::error(format!(
                "`{}` depends on `{dep}`, which is not declared",
                d.address
            ))
            .at(span.clone());
            if let Some(s) = did_you_mean(&dep.to_string(), &name_refs) {
                diag = diag.help(format!("did you mean `{s}`?"));
            }
            diags.push(diag);
        }
    }
    // via: the main account is declared, of the same vendor, and not a
    // member itself.
    for d in decl.values() {
        let Some((main, span)) = &d.via else { continue };
        let problem = match decl.get(main) {
            None => Some(format!(
                "`{}` is reached through `{main}`, which is not declared",
                d.address
            )),
            Some(_) if main.vendor != d.address.vendor => Some(format!(
                "`{}` cannot be reached through `{main}`: a member is reached through a main account of its own vendor",
                d.address
            )),
            Some(m) if m.via.is_some() => Some(format!(
                "`{}` is reached through `{main}`, which is itself a member: name the main account",
                d.address
            )),
            Some(_) => None,
        };
        if let Some(p) = problem {
            refs_ok = false;
            let mut diag = Diagnostic::error(p).at(span.clone());
            if !decl.contains_key(main) {
                if let Some(s) = did_you_mean(&main.to_string(), &name_refs) {
                    diag = diag.help(format!("did you mean `{s}`?"));
                }
            }
            diags.push(diag);
        }
    }
    let mut by_addr: BTreeMap<Address, Account> = BTreeMap::new();
    for a in accounts {
        if !by_addr.contains_key(&a.address) {
            by_addr.insert(a.address.clone(), a);
        }
    }
    inherit_from_mains(&mut by_addr);

    // moved: `to` is declared, `from` is a former name (not declared), each `from` once.
    let chains = Chains::new(&moved);
    let mut froms: BTreeMap<&Address, &Moved> = BTreeMap::new();
    for m in &moved {
        if let Some(first) = froms.get(&m.from) {
            diags.push(
                Diagnostic::error(format!("`{}` is moved twice", m.from))
                    .at_opt(m.span.clone())
                    .detail(format!("the first `moved` block is at {}", at(&first.span))),
            );
            continue;
        }
        froms.insert(&m.from, m);
        if decl.contains_key(&m.from) {
            diags.push(
                Diagnostic::error(format!(
                    "`moved` from `{}`, which is still declared",
                    m.from
                ))
                .at_opt(m.span.clone())
                .help("`from` is the account's former address: rename the account block, or remove the `moved` block"),
            );
        }
        // `to` is declared, or the `from` of another `moved` block (a chain of renames).
        if !chains.end(&m.to).is_some_and(|end| decl.contains_key(end)) {
            let mut d = Diagnostic::error(format!("`moved` to `{}`, which is not declared", m.to))
                .at_opt(m.span.clone());
            if let Some(s) = did_you_mean(&m.to.to_string(), &name_refs) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
        }
    }

    // Cycles (only meaningful once every reference resolves).
    if refs_ok {
        let deps: Vec<(&Address, Vec<Address>)> = decl
            .values()
            .map(|d| {
                (
                    &d.address,
                    d.depends_on
                        .iter()
                        .chain(&d.via)
                        .map(|(a, _)| a.clone())
                        .collect(),
                )
            })
            .collect();
        let graph = AccountGraph::new(deps.iter().map(|(a, d)| (*a, d.as_slice())));
        for cycle in graph.cycles() {
            let (head, next) = (&cycle[0], &cycle[1]);
            let span = decl.get(head).and_then(|d| {
                d.depends_on
                    .iter()
                    .chain(&d.via)
                    .find(|(a, _)| a == next)
                    .map(|(_, s)| s.clone())
            });
            let path = cycle
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" -> ");
            diags.push(
                Diagnostic::error(format!("dependency cycle: {path}"))
                    .at_opt(span)
                    .help("remove one of these `depends_on` entries to break the cycle"),
            );
        }
    }

    let ignore = check_ignore(ignore, &ignore_declared, &by_addr, sources, diags);

    Some(Config {
        format_version: CONFIG_FORMAT_VERSION.to_string(),
        settings,
        accounts: by_addr,
        moved,
        ignore,
        dir: dir.to_path_buf(),
        sources: Sources::default(),
    })
}

/// Ignore rules: each name once; a rule whose `account` names or matches
/// no declared account is a warning (a typo would otherwise ignore
/// nothing, silently). In name order.
fn check_ignore(
    mut rules: Vec<IgnoreRule>,
    declared: &[(String, Span)],
    accounts: &BTreeMap<Address, Account>,
    sources: &Sources,
    diags: &mut Diagnostics,
) -> Vec<IgnoreRule> {
    let mut first: HashMap<&str, &Span> = HashMap::new();
    for (name, span) in declared {
        if let Some(at) = first.get(name.as_str()) {
            diags.push(
                Diagnostic::error(format!("duplicate ignore rule `{name}`"))
                    .at(span.clone())
                    .detail(format!("the first one is at {}", sources.location(at)))
                    .help("give each `ignore` block a name of its own"),
            );
        } else {
            first.insert(name, span);
        }
    }
    for r in &rules {
        if let Some(pattern) = &r.account {
            let matches = globset::Glob::new(pattern)
                .map(|g| g.compile_matcher())
                .is_ok_and(|m| accounts.keys().any(|a| m.is_match(a.to_string())));
            if !matches {
                let names: Vec<String> = accounts.keys().map(ToString::to_string).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let d = Diagnostic::warning(format!(
                    "`ignore \"{}\"`: no declared account is `{pattern}`",
                    r.name
                ))
                .at_opt(r.span.clone());
                diags.push(match did_you_mean(pattern, &names) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("it ignores nothing until such an account is declared"),
                });
            }
        }
    }
    rules.sort_by(|a, b| a.name.cmp(&b.name));
    rules.dedup_by(|a, b| a.name == b.name);
    rules
}

/// Members take what says where and as whom their requests go from their
/// main account (key id, tenant and application, HCS endpoint and login
/// account, `api_endpoint`), so a member's secret — the main account's —
/// is cleared for exactly the main account's destination; and they depend
/// on it, so it is applied first.
fn inherit_from_mains(accounts: &mut BTreeMap<Address, Account>) {
    let members: Vec<(Address, Address)> = accounts
        .values()
        .filter_map(|a| Some((a.address.clone(), a.via.as_ref()?.main.clone())))
        .collect();
    for (member, main) in members {
        let Some(m) = accounts.get(&main).filter(|m| m.via.is_none()).cloned() else {
            continue;
        };
        let Some(a) = accounts.get_mut(&member) else {
            continue;
        };
        match (&mut a.vendor, &m.vendor) {
            (VendorAccount::Aws(a), VendorAccount::Aws(m))
            | (VendorAccount::Alibaba(a), VendorAccount::Alibaba(m)) => {
                a.access_key_id = m.access_key_id.clone();
            }
            (VendorAccount::Azure(a), VendorAccount::Azure(m)) => {
                a.tenant_id = m.tenant_id.clone();
                a.tenant_name = m.tenant_name.clone();
                a.application_id = m.application_id.clone();
            }
            (VendorAccount::Hcs(a), VendorAccount::Hcs(m)) => {
                a.endpoint = m.endpoint.clone();
                a.environment_name = m.environment_name.clone();
                a.account = m.account.clone();
            }
            _ => continue,
        }
        a.api_endpoint = m.api_endpoint.clone();
        if !a.depends_on.contains(&main) {
            a.depends_on.push(main);
        }
    }
}

/// Where each chain of renames (`moved` blocks) ends, found in one pass:
/// every address is walked once, whatever the length of the chains.
struct Chains<'a> {
    /// The end of the chain from each address; `None` for a chain that loops.
    ends: HashMap<&'a Address, Option<&'a Address>>,
}

impl<'a> Chains<'a> {
    fn new(moved: &'a [Moved]) -> Chains<'a> {
        // The first `moved` block of each `from` (a second one is an error).
        let mut next: HashMap<&Address, &Address> = HashMap::new();
        for m in moved {
            next.entry(&m.from).or_insert(&m.to);
        }
        let mut ends: HashMap<&Address, Option<&Address>> = HashMap::new();
        for m in moved {
            let mut path = Vec::new();
            let mut on_path = HashSet::new();
            let mut cur: &Address = &m.to;
            let end = loop {
                if let Some(e) = ends.get(cur) {
                    break *e;
                }
                let Some(n) = next.get(cur) else {
                    break Some(cur);
                };
                if !on_path.insert(cur) {
                    break None;
                }
                path.push(cur);
                cur = n;
            };
            for p in path {
                ends.insert(p, end);
            }
            ends.entry(cur).or_insert(end);
        }
        Chains { ends }
    }

    /// Where `addr` ends up after every rename; `None` when the renames loop.
    fn end(&self, addr: &Address) -> Option<&'a Address> {
        self.ends.get(addr).copied().flatten()
    }
}
