//! Drift's ignore rules (`ignore` blocks): which findings of a drift report
//! are known and harmless. A rule matches a finding when every matcher it
//! has applies to the finding and matches it: `account` (address glob),
//! `type`, `resource` (address glob), `tag` (the resource carries it) and
//! `attribute` (a changed field's path glob: only those fields of a change
//! are ignored). Credential findings (`findings`) have an account and
//! nothing else, so only rules that name an account and nothing more match
//! them. Credentials that no longer verify and config changes are never
//! ignored: neither is a false positive.
//!
//! A rule past its `until` day (UTC) matches nothing and is reported; what
//! it would have matched is counted, so the report says what came back.

use std::collections::{BTreeMap, HashMap};

use globset::{Glob, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::since::Item;
use crate::config::IgnoreRule;

/// How one rule fared in a drift run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuleUse {
    pub name: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The findings it matched in this run (for an expired rule: would
    /// have matched; they are shown as drift).
    pub matched: u64,
    /// Past its `until`: it matches nothing any more.
    pub expired: bool,
    /// With `--since-last`: it matched nothing for 30 days or more, since
    /// this day (when it last matched, or when it was first seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unused_since: Option<String>,
}

/// A finding an ignore rule matched: shown as ignored, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ignored {
    #[serde(flatten)]
    pub item: Item,
    /// The first rule (in name order) that matched it.
    pub rule: String,
    pub reason: String,
}

/// What a finding offers the matchers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    pub account: &'a str,
    pub kind: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub tags: Option<&'a BTreeMap<String, String>>,
    pub field: Option<&'a str>,
}

/// The config's rules, compiled: each glob kind as one set, so a finding
/// is matched against every rule at once.
pub struct Rules<'a> {
    rules: &'a [IgnoreRule],
    expired: Vec<bool>,
    accounts: Matcher,
    resources: Matcher,
    attributes: Matcher,
    /// Matches per rule.
    matched: Vec<u64>,
}

/// One glob set over the rules that have a pattern of one kind.
struct Matcher {
    set: GlobSet,
    /// The rule of each glob in `set`.
    rule_of: Vec<usize>,
    /// Answers for values seen before (accounts and field paths repeat).
    cache: HashMap<String, Vec<bool>>,
}

impl Matcher {
    fn new<'r>(rules: &'r [IgnoreRule], pick: impl Fn(&'r IgnoreRule) -> Option<&'r str>) -> Self {
        let mut b = GlobSetBuilder::new();
        let mut rule_of = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            // Validation compiled every pattern; one that would not compile
            // here matches nothing.
            if let Some(g) = pick(r).and_then(|p| Glob::new(p).ok()) {
                b.add(g);
                rule_of.push(i);
            }
        }
        let set = b.build().unwrap_or_else(|_| GlobSet::empty());
        Matcher {
            set,
            rule_of,
            cache: HashMap::new(),
        }
    }

    /// Which rules' patterns match `value` (a vector over all rules).
    fn hits(&self, value: &str, n: usize) -> Vec<bool> {
        let mut hit = vec![false; n];
        for i in self.set.matches(value) {
            hit[self.rule_of[i]] = true;
        }
        hit
    }

    fn cached(&mut self, value: &str, n: usize) -> &[bool] {
        if !self.cache.contains_key(value) {
            let hit = self.hits(value, n);
            self.cache.insert(value.to_string(), hit);
        }
        &self.cache[value]
    }
}

impl<'a> Rules<'a> {
    /// `rules` as of `today` (`YYYY-MM-DD`, UTC).
    pub fn new(rules: &'a [IgnoreRule], today: &str) -> Rules<'a> {
        Rules {
            rules,
            expired: rules
                .iter()
                .map(|r| r.until.as_deref().is_some_and(|u| u < today))
                .collect(),
            accounts: Matcher::new(rules, |r| r.account.as_deref()),
            resources: Matcher::new(rules, |r| r.resource.as_deref()),
            attributes: Matcher::new(rules, |r| r.attribute.as_deref()),
            matched: vec![0; rules.len()],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first live rule that matches `s`; every rule that matches is counted.
    pub fn check(&mut self, s: Subject<'_>) -> Option<&'a IgnoreRule> {
        let n = self.rules.len();
        if n == 0 {
            return None;
        }
        let accounts = self.accounts.cached(s.account, n);
        let resources = s.resource.map(|r| self.resources.hits(r, n));
        let fields = s.field.map(|f| self.attributes.cached(f, n));
        let mut first = None;
        for (i, r) in self.rules.iter().enumerate() {
            let ok = (r.account.is_none() || accounts[i])
                && r.kind.as_deref().is_none_or(|k| s.kind == Some(k))
                && (r.resource.is_none() || resources.as_ref().is_some_and(|h| h[i]))
                && (r.attribute.is_none() || fields.as_ref().is_some_and(|h| h[i]))
                && r.tag.as_ref().is_none_or(|t| {
                    s.tags
                        .and_then(|tags| tags.get(&t.key))
                        .is_some_and(|v| t.value.as_ref().is_none_or(|want| want == v))
                });
            if ok {
                self.matched[i] += 1;
                if first.is_none() && !self.expired[i] {
                    first = Some(r);
                }
            }
        }
        first
    }

    /// Each rule with its count, in name order.
    pub fn uses(&self) -> Vec<RuleUse> {
        self.rules
            .iter()
            .zip(&self.matched)
            .zip(&self.expired)
            .map(|((r, &matched), &expired)| RuleUse {
                name: r.name.clone(),
                reason: r.reason.clone(),
                owner: r.owner.clone(),
                until: r.until.clone(),
                matched,
                expired,
                unused_since: None,
            })
            .collect()
    }
}

/// Today in UTC, as `YYYY-MM-DD`.
pub fn today() -> String {
    crate::clock::rfc3339_now()[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TagMatch;

    fn rule(name: &str) -> IgnoreRule {
        IgnoreRule {
            name: name.into(),
            account: None,
            kind: None,
            resource: None,
            tag: None,
            attribute: None,
            reason: "known".into(),
            owner: None,
            until: None,
            span: None,
        }
    }

    #[test]
    fn every_matcher_a_rule_has_must_match() {
        let tags: BTreeMap<String, String> = [("team".into(), "data".into())].into();
        let rules = vec![
            IgnoreRule {
                account: Some("aws.*".into()),
                attribute: Some("tags.last_*".into()),
                ..rule("a_scanner")
            },
            IgnoreRule {
                tag: Some(TagMatch {
                    key: "team".into(),
                    value: Some("data".into()),
                }),
                kind: Some("instance".into()),
                ..rule("b_data")
            },
            IgnoreRule {
                resource: Some("azure.x/*/vnet/*".into()),
                until: Some("2020-01-01".into()),
                ..rule("c_expired")
            },
        ];
        let mut r = Rules::new(&rules, "2026-12-06");
        let field = Subject {
            account: "aws.prod",
            kind: Some("vpc"),
            resource: Some("aws.prod/r/vpc/v-1"),
            tags: None,
            field: Some("tags.last_scanned"),
        };
        assert_eq!(r.check(field).map(|r| r.name.as_str()), Some("a_scanner"));
        // Another field of the same change, another account: no match.
        assert!(
            r.check(Subject {
                field: Some("name"),
                ..field
            })
            .is_none()
        );
        assert!(
            r.check(Subject {
                account: "hcs.prod",
                ..field
            })
            .is_none()
        );
        // A whole resource (no field) never matches an attribute rule.
        assert!(
            r.check(Subject {
                field: None,
                ..field
            })
            .is_none()
        );
        let inst = Subject {
            account: "hcs.p",
            kind: Some("instance"),
            resource: Some("hcs.p/r/instance/1"),
            tags: Some(&tags),
            field: None,
        };
        assert_eq!(r.check(inst).map(|r| r.name.as_str()), Some("b_data"));
        assert!(
            r.check(Subject {
                kind: Some("vpc"),
                ..inst
            })
            .is_none()
        );
        let other: BTreeMap<String, String> = [("team".into(), "web".into())].into();
        assert!(
            r.check(Subject {
                tags: Some(&other),
                ..inst
            })
            .is_none()
        );
        // An expired rule matches nothing, and counts what it would have.
        let vnet = Subject {
            account: "azure.x",
            kind: Some("vnet"),
            resource: Some("azure.x/westeurope/vnet/n1"),
            tags: None,
            field: None,
        };
        assert!(r.check(vnet).is_none());
        let uses = r.uses();
        assert_eq!(
            uses.iter()
                .map(|u| (u.name.as_str(), u.matched, u.expired))
                .collect::<Vec<_>>(),
            [
                ("a_scanner", 1, false),
                ("b_data", 1, false),
                ("c_expired", 1, true)
            ]
        );
        // A credential finding has only its account.
        let rules = vec![IgnoreRule {
            account: Some("aws.sandbox".into()),
            ..rule("sandbox")
        }];
        let mut r = Rules::new(&rules, "2026-12-06");
        assert!(
            r.check(Subject {
                account: "aws.sandbox",
                ..Subject::default()
            })
            .is_some()
        );
        // `until` is the last day the rule matches.
        let rules = vec![IgnoreRule {
            account: Some("aws.sandbox".into()),
            until: Some("2026-12-06".into()),
            ..rule("today")
        }];
        let mut r = Rules::new(&rules, "2026-12-06");
        let sandbox = Subject {
            account: "aws.sandbox",
            ..Subject::default()
        };
        assert!(r.check(sandbox).is_some());
        let mut r = Rules::new(&rules, "2026-12-07");
        assert!(r.check(sandbox).is_none());
    }
}
