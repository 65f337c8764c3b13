//! What a drift run found, one [`Item`] per finding with a stable
//! fingerprint (what changed, never when or in which order it was read),
//! and `drift --since-last`: the findings compared with the last recorded
//! run's as new, known (still present) and resolved; then this run becomes
//! the last.
//!
//! A finding of the last run that this run could not judge (its account or
//! partition not read, its account outside the accounts named) is neither
//! resolved nor forgotten: it is carried into the new record as it was.
//!
//! The record is `.tether/drift-last.json` beside the config (local
//! backend) or the workspace's row of `drift_records` (PostgreSQL).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ignore::RuleUse;
use crate::config::{Address, Settings};
use crate::error::{Error, Result};
use crate::hygiene::{Finding, FindingKind};
use crate::inventory::Resource;
use crate::pg::Pg;
use crate::plan::IdentityDrift;
use crate::snapshot::diff::{Changed, FieldChange};

/// 1: items, rules.
pub const RECORD_FORMAT_VERSION: &str = "1";

/// A rule that matched nothing for this long is reported as unused.
pub const UNUSED_AFTER_DAYS: i64 = 30;

/// The largest record read (a record of a million findings is ~400 MB).
const MAX_RECORD: u64 = 1 << 30;

/// What kind of finding an item is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The account's recorded credentials no longer verify as recorded.
    Credentials,
    /// The config differs from state.
    Config,
    /// A resource that is not in the snapshot.
    Added,
    /// A resource of the snapshot that is gone.
    Removed,
    /// One field of a resource changed.
    Changed,
    /// A credential finding (root key, key age, organization, …).
    Finding,
}

/// New since the last recorded run, or known from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    New,
    Known,
}

/// One finding, fingerprinted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    /// 32 hex digits: SHA-256 of what changed (category, address, field,
    /// the values), the same across runs and reading orders.
    pub fingerprint: String,
    pub category: Category,
    pub account: Address,
    /// The resource's address, for resource findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The changed field's path, for `changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The finding in one line.
    pub summary: String,
    /// Drift (not only a credential finding).
    pub drift: bool,
    /// With `--since-last`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Seen>,
    /// With `--since-last`: when a run first recorded it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

/// SHA-256 of `parts` (each length-prefixed, so no two lists collide), as
/// 32 hex digits.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// A JSON value as one canonical text (serde_json keeps object keys sorted).
fn value(v: Option<&serde_json::Value>) -> String {
    v.map_or_else(|| "\u{0}absent".into(), |v| v.to_string())
}

fn short(v: Option<&serde_json::Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = v.to_string();
            match s.char_indices().nth(80) {
                Some((i, _)) => format!("{}…", &s[..i]),
                None => s,
            }
        }
    }
}

impl Item {
    fn new(fingerprint: String, category: Category, account: Address, summary: String) -> Item {
        Item {
            fingerprint,
            category,
            account,
            resource: None,
            region: None,
            kind: None,
            field: None,
            summary,
            drift: category != Category::Finding,
            status: None,
            first_seen: None,
        }
    }

    pub fn credentials(c: &IdentityDrift) -> Item {
        let kind = c.kind.map(|k| format!("{k:?}")).unwrap_or_default();
        // An identity that changed says to what; other refusals are their
        // kind and code (messages carry request ids and times).
        let detail = match c.kind {
            Some(crate::problem::ProblemKind::Mismatch) | None => c.problem.as_str(),
            Some(_) => "",
        };
        let fp = fingerprint(&[
            "credentials",
            &c.address.to_string(),
            &kind,
            c.code.as_deref().unwrap_or(""),
            detail,
        ]);
        Item::new(
            fp,
            Category::Credentials,
            c.address.clone(),
            c.problem.clone(),
        )
    }

    pub fn config(address: &Address, action: crate::plan::Action) -> Item {
        let action = serde_json::to_string(&action).unwrap_or_default();
        let fp = fingerprint(&["config", &address.to_string(), &action]);
        Item::new(
            fp,
            Category::Config,
            address.clone(),
            format!("config differs from state: {}", action.trim_matches('"')),
        )
    }

    fn resource(category: Category, r: &Resource) -> Item {
        let word = if category == Category::Added {
            "added"
        } else {
            "removed"
        };
        let fp = fingerprint(&[word, &r.address]);
        Item {
            resource: Some(r.address.clone()),
            region: Some(r.region.clone()),
            kind: Some(r.kind.clone()),
            ..Item::new(
                fp,
                category,
                r.account.clone(),
                format!("{} {word}", r.address),
            )
        }
    }

    pub fn added(r: &Resource) -> Item {
        Item::resource(Category::Added, r)
    }

    pub fn removed(r: &Resource) -> Item {
        Item::resource(Category::Removed, r)
    }

    /// One field of a change: a field that changes again is a new finding.
    pub fn changed(c: &Changed, f: &FieldChange) -> Item {
        let fp = fingerprint(&[
            "changed",
            &c.address,
            &f.path,
            &value(f.before.as_ref()),
            &value(f.after.as_ref()),
        ]);
        Item {
            resource: Some(c.address.clone()),
            region: Some(c.region.clone()),
            kind: Some(c.kind.clone()),
            field: Some(f.path.clone()),
            ..Item::new(
                fp,
                Category::Changed,
                c.account.clone(),
                format!(
                    "{}: `{}` {} -> {}",
                    c.address,
                    f.path,
                    short(f.before.as_ref()),
                    short(f.after.as_ref())
                ),
            )
        }
    }

    /// A credential finding; `drift` when the settings make it drift (an
    /// undeclared member with `require_declared_members`).
    pub fn finding(f: &Finding, drift: bool) -> Item {
        // Key age and expiry messages count days: the key is what is found.
        let subject = match f.kind {
            FindingKind::MemberUndeclared | FindingKind::MemberLeft | FindingKind::Permission => {
                f.message.as_str()
            }
            _ => "",
        };
        let fp = fingerprint(&[
            "finding",
            &f.address.to_string(),
            f.kind.as_str(),
            f.key_id.as_deref().unwrap_or(""),
            f.code.as_deref().unwrap_or(""),
            subject,
        ]);
        Item {
            drift,
            ..Item::new(
                fp,
                Category::Finding,
                f.address.clone(),
                format!("{}: {}", f.kind.as_str(), f.message),
            )
        }
    }
}

/// How this run compares with the last recorded one.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SinceLast {
    /// The run compared with; absent on the first run (everything is new).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Last>,
    /// Findings not in the last run.
    pub new: u64,
    /// Findings of the last run still present.
    pub known: u64,
    /// Findings of the last run gone in what this run read.
    pub resolved: Vec<Item>,
    /// Findings of the last run whose account or partition this run could
    /// not read: not judged, carried to the next run.
    pub unknown: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Last {
    pub recorded_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<u64>,
}

/// A rule's history, for "unused".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSeen {
    pub first_seen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_matched: Option<String>,
}

/// The last drift run, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub format_version: String,
    pub recorded_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<u64>,
    pub items: Vec<Item>,
    #[serde(default)]
    pub rules: BTreeMap<String, RuleSeen>,
}

/// What this run could judge: the accounts it was asked about, and of
/// those what it could not read.
pub struct Judged<'a> {
    /// Accounts in scope (checked, or could not be).
    pub accounts: &'a BTreeSet<Address>,
    /// The run was asked about every account in state: a finding of an
    /// account no longer there is resolved (it left with the account).
    pub every_account: bool,
    /// Accounts whose credentials could not be checked.
    pub unchecked: &'a BTreeSet<Address>,
    /// Accounts whose inventory was not read (not checked, credentials
    /// refused, disabled, the listing failed).
    pub unread: &'a BTreeSet<Address>,
    /// Partitions (account, region, type) not compared.
    pub partitions: &'a BTreeSet<(Address, String, String)>,
}

impl Judged<'_> {
    /// Whether this run could tell if `item` is still there.
    fn judges(&self, item: &Item) -> Judgement {
        if !self.accounts.contains(&item.account) {
            return if self.every_account {
                Judgement::Judged
            } else {
                Judgement::OutOfScope
            };
        }
        match item.category {
            Category::Config => return Judgement::Judged,
            Category::Credentials | Category::Finding if self.unchecked.contains(&item.account) => {
                return Judgement::Unknown;
            }
            Category::Credentials | Category::Finding => return Judgement::Judged,
            _ => {}
        }
        if self.unread.contains(&item.account) {
            return Judgement::Unknown;
        }
        if let (Some(region), Some(kind)) = (&item.region, &item.kind) {
            if self
                .partitions
                .contains(&(item.account.clone(), region.clone(), kind.clone()))
            {
                return Judgement::Unknown;
            }
        }
        Judgement::Judged
    }
}

enum Judgement {
    Judged,
    Unknown,
    OutOfScope,
}

/// Marks `items` new or known against `last`, fills in the rules' unused
/// days, and returns the comparison and the record of this run.
pub fn compare(
    items: &mut [Item],
    last: Option<Record>,
    judged: &Judged<'_>,
    rules: &mut [RuleUse],
    snapshot: Option<u64>,
    now: &str,
) -> (SinceLast, Record) {
    let (last_run, previous, previous_rules) = match last {
        Some(r) => (
            Some(Last {
                recorded_at: r.recorded_at,
                snapshot: r.snapshot,
            }),
            r.items,
            r.rules,
        ),
        None => (None, Vec::new(), BTreeMap::new()),
    };
    let before: HashMap<&str, &Item> = previous
        .iter()
        .map(|i| (i.fingerprint.as_str(), i))
        .collect();
    let (mut new, mut known) = (0, 0);
    for item in items.iter_mut() {
        match before.get(item.fingerprint.as_str()) {
            Some(p) => {
                known += 1;
                item.status = Some(Seen::Known);
                item.first_seen = Some(p.first_seen.clone().unwrap_or_else(|| now.into()));
            }
            None => {
                new += 1;
                item.status = Some(Seen::New);
                item.first_seen = Some(now.into());
            }
        }
    }
    let present: BTreeSet<&str> = items.iter().map(|i| i.fingerprint.as_str()).collect();
    let mut resolved = Vec::new();
    let mut unknown = Vec::new();
    let mut carried = Vec::new();
    for p in &previous {
        if present.contains(p.fingerprint.as_str()) {
            continue;
        }
        match judged.judges(p) {
            Judgement::Judged => resolved.push(p.clone()),
            Judgement::Unknown => {
                unknown.push(p.clone());
                carried.push(p.clone());
            }
            Judgement::OutOfScope => carried.push(p.clone()),
        }
    }
    let mut record_rules = BTreeMap::new();
    for r in rules.iter_mut() {
        let seen = previous_rules.get(&r.name);
        let first_seen = seen.map_or_else(|| now.to_string(), |s| s.first_seen.clone());
        let last_matched = if r.matched > 0 {
            Some(now.to_string())
        } else {
            seen.and_then(|s| s.last_matched.clone())
        };
        if r.matched == 0 && !r.expired {
            let since = last_matched.clone().unwrap_or_else(|| first_seen.clone());
            let days = match (crate::clock::parse(now), crate::clock::parse(&since)) {
                (Some(n), Some(s)) => (n - s) / 86_400,
                _ => 0,
            };
            if days >= UNUSED_AFTER_DAYS {
                r.unused_since = Some(since);
            }
        }
        record_rules.insert(
            r.name.clone(),
            RuleSeen {
                first_seen,
                last_matched,
            },
        );
    }
    let mut recorded: Vec<Item> = items.to_vec();
    recorded.extend(carried);
    for i in &mut recorded {
        i.status = None;
    }
    recorded.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    recorded.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    let since = SinceLast {
        last: last_run,
        new,
        known,
        resolved,
        unknown,
    };
    let record = Record {
        format_version: RECORD_FORMAT_VERSION.into(),
        recorded_at: now.into(),
        snapshot,
        items: recorded,
        rules: record_rules,
    };
    (since, record)
}

/// Where the last drift record lives.
pub enum History {
    /// `.tether/drift-last.json` in the config directory.
    File {
        dir: PathBuf,
        path: PathBuf,
    },
    Pg(Arc<Pg>),
}

impl History {
    pub fn open(dir: &std::path::Path, settings: &Settings) -> Result<History> {
        Ok(match super::stores::backend(settings)? {
            None => History::local(dir),
            Some(pg) => History::Pg(pg),
        })
    }

    /// The record beside the config in `dir`, whatever the backend.
    pub fn local(dir: &std::path::Path) -> History {
        let path = super::stores::local_drift_record(dir);
        let dir = path.parent().unwrap_or(dir).to_path_buf();
        History::File { dir, path }
    }

    /// How messages name it.
    pub fn shown(&self) -> String {
        match self {
            History::File { path, .. } => path.display().to_string(),
            History::Pg(pg) => format!("the drift record of {}", pg.shown()),
        }
    }

    pub fn load(&self) -> Result<Option<Record>> {
        let bytes = match self {
            History::File { dir, path } => {
                crate::fsutil::refuse_linked_dir(dir)?;
                match crate::fsutil::read_regular(path, MAX_RECORD) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(Error::io(path, e)),
                }
            }
            History::Pg(pg) => match pg.drift_record()? {
                Some(b) => b,
                None => return Ok(None),
            },
        };
        let damaged = |why: String| {
            Error::Usage(format!(
                "{} is damaged: {why}; remove it to start over (every finding is then new once)",
                self.shown()
            ))
        };
        let record: Record = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        if record.format_version != RECORD_FORMAT_VERSION {
            return Err(damaged(format!(
                "format version {} is not {RECORD_FORMAT_VERSION}, which this tether reads",
                record.format_version
            )));
        }
        if let Some(bad) = record.items.iter().find(|i| {
            i.fingerprint.len() != 32 || !i.fingerprint.bytes().all(|b| b.is_ascii_hexdigit())
        }) {
            return Err(damaged(format!(
                "`{}` is not a fingerprint",
                bad.fingerprint
            )));
        }
        Ok(Some(record))
    }

    pub fn save(&self, record: &Record) -> Result<()> {
        let mut bytes = serde_json::to_vec(record)
            .map_err(|e| Error::Usage(format!("cannot encode the drift record: {e}")))?;
        bytes.push(b'\n');
        match self {
            History::File { dir, path } => {
                crate::fsutil::refuse_linked_dir(dir)?;
                crate::fsutil::create_dir_all(dir)?;
                crate::fsutil::write_atomic(path, &bytes, None)
            }
            History::Pg(pg) => pg.put_drift_record(record.recorded_at.clone(), bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changed(id: &str, after: &str) -> Changed {
        Changed {
            address: format!("aws.a/eu-west-1/instance/{id}"),
            account: "aws.a".parse().unwrap(),
            region: "eu-west-1".into(),
            kind: "instance".into(),
            id: id.into(),
            fields: vec![FieldChange {
                path: "tags.owner".into(),
                before: Some(json!("alice")),
                after: Some(json!(after)),
            }],
            tags: BTreeMap::new(),
        }
    }

    fn items(cs: &[Changed]) -> Vec<Item> {
        cs.iter()
            .flat_map(|c| c.fields.iter().map(move |f| Item::changed(c, f)))
            .collect()
    }

    #[test]
    fn fingerprints_are_what_changed_not_when_or_in_which_order() {
        let a = items(&[changed("i-1", "bob"), changed("i-2", "bob")]);
        let b = items(&[changed("i-2", "bob"), changed("i-1", "bob")]);
        assert_eq!(a[0].fingerprint, b[1].fingerprint);
        assert_eq!(a[1].fingerprint, b[0].fingerprint);
        assert_ne!(a[0].fingerprint, a[1].fingerprint);
        // The same field changing again is a new finding.
        let c = items(&[changed("i-1", "carol")]);
        assert_ne!(a[0].fingerprint, c[0].fingerprint);
        // Pinned: a fingerprint must not change between tether versions.
        assert_eq!(a[0].fingerprint.len(), 32);
        assert_eq!(fingerprint(&["a", "bc"]), fingerprint(&["a", "bc"]));
        assert_ne!(fingerprint(&["a", "bc"]), fingerprint(&["ab", "c"]));
    }

    #[test]
    fn new_known_resolved_and_unknown() {
        let none = BTreeSet::new();
        let accounts: BTreeSet<Address> = ["aws.a".parse().unwrap()].into();
        let judged = Judged {
            accounts: &accounts,
            every_account: true,
            unchecked: &none,
            unread: &none,
            partitions: &BTreeSet::new(),
        };
        let mut first = items(&[changed("i-1", "bob"), changed("i-2", "bob")]);
        let (s, rec) = compare(
            &mut first,
            None,
            &judged,
            &mut [],
            None,
            "2026-12-01T00:00:00Z",
        );
        assert_eq!((s.new, s.known, s.resolved.len()), (2, 0, 0));
        // i-1 still, i-2 fixed, i-3 new.
        let mut second = items(&[changed("i-1", "bob"), changed("i-3", "bob")]);
        let (s, rec2) = compare(
            &mut second,
            Some(rec.clone()),
            &judged,
            &mut [],
            None,
            "2026-12-02T00:00:00Z",
        );
        assert_eq!((s.new, s.known), (1, 1));
        assert_eq!(s.resolved.len(), 1);
        assert!(s.resolved[0].summary.contains("i-2"));
        let i1 = second.iter().find(|i| i.summary.contains("i-1")).unwrap();
        assert_eq!(i1.status, Some(Seen::Known));
        assert_eq!(i1.first_seen.as_deref(), Some("2026-12-01T00:00:00Z"));
        // The account not read: i-1 and i-3 are unknown, carried, not resolved.
        let unread: BTreeSet<Address> = accounts.clone();
        let judged = Judged {
            accounts: &accounts,
            every_account: true,
            unchecked: &none,
            unread: &unread,
            partitions: &BTreeSet::new(),
        };
        let (s, rec3) = compare(
            &mut [],
            Some(rec2),
            &judged,
            &mut [],
            None,
            "2026-12-03T00:00:00Z",
        );
        assert_eq!(
            (s.new, s.known, s.resolved.len(), s.unknown.len()),
            (0, 0, 0, 2)
        );
        assert_eq!(rec3.items.len(), 2);
        assert_eq!(
            rec3.items
                .iter()
                .find(|i| i.summary.contains("i-1"))
                .unwrap()
                .first_seen
                .as_deref(),
            Some("2026-12-01T00:00:00Z")
        );
    }

    #[test]
    fn a_rule_that_matched_nothing_for_thirty_days_is_unused() {
        let accounts = BTreeSet::new();
        let judged = Judged {
            accounts: &accounts,
            every_account: true,
            unchecked: &accounts,
            unread: &accounts,
            partitions: &BTreeSet::new(),
        };
        let rule = |matched| RuleUse {
            name: "r".into(),
            reason: "x".into(),
            owner: None,
            until: None,
            matched,
            expired: false,
            unused_since: None,
        };
        let mut rules = [rule(0)];
        let (_, rec) = compare(
            &mut [],
            None,
            &judged,
            &mut rules,
            None,
            "2026-11-01T00:00:00Z",
        );
        assert_eq!(rules[0].unused_since, None);
        let mut rules = [rule(0)];
        let (_, rec) = compare(
            &mut [],
            Some(rec),
            &judged,
            &mut rules,
            None,
            "2026-11-30T00:00:00Z",
        );
        assert_eq!(rules[0].unused_since, None, "29 days");
        let mut rules = [rule(0)];
        let (_, rec) = compare(
            &mut [],
            Some(rec),
            &judged,
            &mut rules,
            None,
            "2026-12-01T00:00:00Z",
        );
        assert_eq!(
            rules[0].unused_since.as_deref(),
            Some("2026-11-01T00:00:00Z")
        );
        // A match resets it.
        let mut rules = [rule(3)];
        let (_, rec) = compare(
            &mut [],
            Some(rec),
            &judged,
            &mut rules,
            None,
            "2026-12-02T00:00:00Z",
        );
        let mut rules = [rule(0)];
        compare(
            &mut [],
            Some(rec),
            &judged,
            &mut rules,
            None,
            "2026-12-20T00:00:00Z",
        );
        assert_eq!(rules[0].unused_since, None);
    }
}
