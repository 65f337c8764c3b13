//! Drift grouped by cause: one line for one cause seen in many places.
//!
//! - `change`: the same field changed on many resources of one type
//!   ("`tags.owner` changed on 240 instances in 12 accounts"), with the one
//!   old and new value when every change agrees;
//! - `account`: one account's partitions not read for one reason (its
//!   credentials refused, a listing denied);
//! - `region`: one region not read in several accounts for one reason;
//! - `credentials`: several accounts' credentials refused with one code.
//!
//! Only causes seen at least twice are groups; the findings themselves
//! stay in the report, unchanged.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Address;
use crate::plan::IdentityDrift;
use crate::problem::ProblemKind;
use crate::snapshot::diff::Diff;

/// Addresses kept as examples of a group.
const EXAMPLES: usize = 10;

/// What the findings of a group have in common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Change,
    Account,
    Region,
    Credentials,
}

/// One cause and where it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Group {
    pub cause: Cause,
    /// In a sentence.
    pub summary: String,
    /// How many findings it stands for (changed resources, partitions or
    /// accounts).
    pub count: usize,
    /// The accounts it was seen in.
    pub accounts: Vec<Address>,
    /// Up to ten of the resources, partitions or accounts, in order.
    pub examples: Vec<String>,
}

/// The groups of a drift report's findings, largest first.
pub fn of(resources: &Diff, credentials: &[IdentityDrift]) -> Vec<Group> {
    let mut out = Vec::new();
    out.extend(changes(resources));
    out.extend(unread(resources));
    out.extend(refused(credentials));
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.cause.cmp(&b.cause))
            .then(a.summary.cmp(&b.summary))
    });
    out
}

/// Accumulates one group's places.
#[derive(Default)]
struct Seen {
    count: usize,
    accounts: BTreeSet<Address>,
    examples: Vec<String>,
}

impl Seen {
    fn add(&mut self, account: &Address, example: &str) {
        self.count += 1;
        self.accounts.insert(account.clone());
        if self.examples.len() < EXAMPLES {
            self.examples.push(example.to_string());
        }
    }

    fn group(self, cause: Cause, summary: String) -> Group {
        Group {
            cause,
            summary,
            count: self.count,
            accounts: self.accounts.into_iter().collect(),
            examples: self.examples,
        }
    }
}

fn plural(n: usize, one: &str) -> String {
    let words = one.replace('_', " ");
    let many = if ["s", "x", "ch", "sh"].iter().any(|e| words.ends_with(e)) {
        format!("{words}es")
    } else {
        format!("{words}s")
    };
    if n == 1 {
        format!("1 {words}")
    } else {
        format!("{n} {many}")
    }
}

fn value(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(serde_json::Value::String(s)) => format!("\"{s}\""),
        Some(other) => other.to_string(),
    }
}

/// The same field changed on at least two resources of one type.
fn changes(d: &Diff) -> Vec<Group> {
    // (type, path) -> places, and the one (before, after) if all agree.
    type Values = Option<(Option<serde_json::Value>, Option<serde_json::Value>)>;
    let mut seen: BTreeMap<(&str, &str), (Seen, Values, bool)> = BTreeMap::new();
    for c in &d.changed {
        for f in &c.fields {
            let e = seen
                .entry((c.kind.as_str(), f.path.as_str()))
                .or_insert_with(|| (Seen::default(), None, true));
            e.0.add(&c.account, &c.address);
            let pair = (f.before.clone(), f.after.clone());
            match &e.1 {
                None if e.0.count == 1 => e.1 = Some(pair),
                Some(p) if *p != pair => e.2 = false,
                _ => {}
            }
        }
    }
    seen.into_iter()
        .filter(|(_, (s, _, _))| s.count >= 2)
        .map(|((kind, path), (s, values, same))| {
            let how = match (same, values) {
                (true, Some((b, a))) => format!(" from {} to {}", value(&b), value(&a)),
                _ => String::new(),
            };
            let summary = format!(
                "`{path}` changed{how} on {} in {}",
                plural(s.count, kind),
                plural(s.accounts.len(), "account")
            );
            s.group(Cause::Change, summary)
        })
        .collect()
}

fn reason(kind: Option<ProblemKind>, code: Option<&str>) -> String {
    let kind = kind.map_or_else(|| "error".to_string(), |k| k.to_string());
    match code {
        Some(c) => format!("{kind} ({c})"),
        None => kind,
    }
}

/// Partitions not read: per account, and per region across accounts.
fn unread(d: &Diff) -> Vec<Group> {
    let mut by_account: BTreeMap<(&Address, String), Seen> = BTreeMap::new();
    let mut by_region: BTreeMap<(crate::config::Vendor, &str, String), Seen> = BTreeMap::new();
    for n in d
        .not_compared
        .iter()
        .filter(|n| n.problem_kind.is_some() || n.code.is_some())
    {
        let why = reason(n.problem_kind, n.code.as_deref());
        let place = format!("{}/{}/{}", n.account, n.region, n.kind);
        by_account
            .entry((&n.account, why.clone()))
            .or_default()
            .add(&n.account, &place);
        by_region
            .entry((n.account.vendor, n.region.as_str(), why))
            .or_default()
            .add(&n.account, &place);
    }
    let mut out: Vec<Group> = by_account
        .into_iter()
        .filter(|(_, s)| s.count >= 2)
        .map(|((account, why), s)| {
            let summary = format!(
                "{account}: {} not read: {why}",
                plural(s.count, "partition")
            );
            s.group(Cause::Account, summary)
        })
        .collect();
    out.extend(
        by_region
            .into_iter()
            .filter(|(_, s)| s.accounts.len() >= 2)
            .map(|((vendor, region, why), s)| {
                let summary = format!(
                    "{vendor} region {region} not read in {}: {why}",
                    plural(s.accounts.len(), "account")
                );
                s.group(Cause::Region, summary)
            }),
    );
    out
}

/// Several accounts' credentials refused with one code.
fn refused(credentials: &[IdentityDrift]) -> Vec<Group> {
    let mut seen: BTreeMap<(crate::config::Vendor, String), Seen> = BTreeMap::new();
    for c in credentials {
        let why = reason(c.kind, c.code.as_deref());
        let key = c.address.to_string();
        seen.entry((c.address.vendor, why))
            .or_default()
            .add(&c.address, &key);
    }
    seen.into_iter()
        .filter(|(_, s)| s.count >= 2)
        .map(|((vendor, why), s)| {
            let summary = format!(
                "{} credentials of {} no longer verify: {why}",
                vendor.title(),
                plural(s.count, "account")
            );
            s.group(Cause::Credentials, summary)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::diff::{Changed, FieldChange};
    use serde_json::json;

    fn changed(account: &str, id: &str, path: &str, before: &str, after: &str) -> Changed {
        let account: Address = account.parse().unwrap();
        Changed {
            address: format!("{account}/us-east-1/instance/{id}"),
            account,
            region: "us-east-1".into(),
            kind: "instance".into(),
            id: id.into(),
            fields: vec![FieldChange {
                path: path.into(),
                before: Some(json!(before)),
                after: Some(json!(after)),
            }],
            tags: Default::default(),
        }
    }

    #[test]
    fn type_names_are_plural_words() {
        assert_eq!(plural(2, "security_group"), "2 security groups");
        assert_eq!(plural(3, "vswitch"), "3 vswitches");
        assert_eq!(plural(1, "virtual_machine"), "1 virtual machine");
        assert_eq!(plural(4, "instance"), "4 instances");
    }

    #[test]
    fn one_field_changed_the_same_way_in_many_places_is_one_group() {
        let mut d = Diff::default();
        for (i, a) in ["aws.a", "aws.b", "aws.c"].iter().enumerate() {
            for j in 0..4 {
                d.changed.push(changed(
                    a,
                    &format!("i-{i}{j}"),
                    "tags.owner",
                    "alice",
                    "bob",
                ));
            }
        }
        d.changed
            .push(changed("aws.a", "i-x", "tags.env", "dev", "prod"));
        let g = of(&d, &[]);
        assert_eq!(g.len(), 1, "{g:#?}");
        assert_eq!(g[0].cause, Cause::Change);
        assert_eq!(g[0].count, 12);
        assert_eq!(g[0].accounts.len(), 3);
        assert_eq!(g[0].examples.len(), 10);
        assert_eq!(
            g[0].summary,
            "`tags.owner` changed from \"alice\" to \"bob\" on 12 instances in 3 accounts"
        );
        // Changes that disagree are still one group, without the values.
        d.changed
            .push(changed("aws.c", "i-y", "tags.owner", "alice", "carol"));
        assert_eq!(
            of(&d, &[])[0].summary,
            "`tags.owner` changed on 13 instances in 3 accounts"
        );
    }

    fn unread(
        account: &str,
        region: &str,
        kind: &str,
        code: &str,
    ) -> crate::snapshot::diff::NotCompared {
        crate::snapshot::diff::NotCompared {
            account: account.parse().unwrap(),
            region: region.into(),
            kind: kind.into(),
            before: "complete".into(),
            after: "failed".into(),
            detail: Some("no".into()),
            problem_kind: Some(ProblemKind::Unreachable),
            code: Some(code.into()),
            request_id: None,
            stale_resources: 1,
        }
    }

    #[test]
    fn an_account_or_a_region_not_read_for_one_reason_is_one_group() {
        let mut d = Diff::default();
        for a in ["aws.a", "aws.b", "aws.c"] {
            d.not_compared
                .push(unread(a, "eu-west-1", "instance", "Timeout"));
        }
        d.not_compared
            .push(unread("aws.a", "us-east-1", "vpc", "Timeout"));
        let g = of(&d, &[]);
        let region = g
            .iter()
            .find(|g| g.cause == Cause::Region)
            .expect("a region group");
        assert_eq!(
            region.summary,
            "aws region eu-west-1 not read in 3 accounts: unreachable (Timeout)"
        );
        let account = g
            .iter()
            .find(|g| g.cause == Cause::Account)
            .expect("an account group");
        assert_eq!(
            account.summary,
            "aws.a: 2 partitions not read: unreachable (Timeout)"
        );
        assert_eq!(g.len(), 2, "{g:#?}");
    }

    #[test]
    fn credentials_refused_alike_in_many_accounts_are_one_group() {
        let refused = |a: &str| {
            IdentityDrift::new(
                a.parse().unwrap(),
                crate::problem::Problem {
                    code: Some("InvalidClientTokenId".into()),
                    ..crate::problem::Problem::new(ProblemKind::Auth, "refused")
                },
            )
        };
        let g = of(
            &Diff::default(),
            &[refused("aws.a"), refused("aws.b"), refused("alibaba.c")],
        );
        assert_eq!(g.len(), 1, "{g:#?}");
        assert_eq!(
            g[0].summary,
            "AWS credentials of 2 accounts no longer verify: auth (InvalidClientTokenId)"
        );
    }
}
