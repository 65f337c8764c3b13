//! Credential hygiene: what a vendor says of an account's own credentials
//! (a root or main-account key, the key's age and last use, when the
//! secret expires), held to the settings `max_key_age` and
//! `secret_expiry_warning`, as findings.
//!
//! The vendor calls are `cloud::hygiene` (each made with the account's own
//! key, to its recorded destination); this module only judges what they
//! answered, so every rule is tested without a network. A check the vendor
//! refuses (no permission) or that fails is itself a finding ("could not
//! check key age: AccessDenied"), never a failed run. Nothing here holds a
//! secret: key ids, dates and the vendor's error codes only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{Address, Vendor};

/// What kind of finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The key is the root (main-account) key: every permission there is.
    RootKey,
    /// The key is older than `max_key_age`.
    KeyAge,
    /// The secret expires within `secret_expiry_warning`, or has expired.
    SecretExpiry,
    /// A check could not be made (the key may not ask, or the vendor failed).
    Unchecked,
    /// The key may not list a resource type that sync reads.
    Permission,
    /// A member of a main account's organization that the config does not
    /// declare (AWS, Alibaba: nothing reads it).
    MemberUndeclared,
    /// A declared member the main account's vendor no longer lists.
    MemberLeft,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::RootKey => "root key",
            FindingKind::KeyAge => "key age",
            FindingKind::SecretExpiry => "secret expiry",
            FindingKind::Unchecked => "not checked",
            FindingKind::Permission => "permission",
            FindingKind::MemberUndeclared => "undeclared member",
            FindingKind::MemberLeft => "member left",
        }
    }
}

/// One finding about an account's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub address: Address,
    pub kind: FindingKind,
    /// What was found, in a sentence.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// The access key or credential it is about: an id, never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// When the key was created (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the vendor last saw the key used (RFC 3339); `never` when it
    /// never was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
    /// When the secret expires (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The vendor's error code, for a check that could not be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The thresholds, from the settings, and the time they are held at.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_key_age_days: u32,
    pub secret_expiry_warning_days: u32,
    /// Seconds since 1970.
    pub now: i64,
}

impl Policy {
    pub fn of(settings: &crate::config::Settings) -> Policy {
        Policy {
            max_key_age_days: settings.max_key_age,
            secret_expiry_warning_days: settings.secret_expiry_warning,
            now: crate::clock::now(),
        }
    }
}

/// What the vendor answered about the credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The key is the main account's (its ARN, or the domain's admin).
    pub root: bool,
    /// The keys in use (the account's own access key).
    pub keys: Vec<KeyFacts>,
    /// When the secret expires (RFC 3339): Azure application secrets, HCS
    /// passwords.
    pub secret_expires: Option<String>,
    /// Checks that could not be made.
    pub unchecked: Vec<Unchecked>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub id: String,
    /// RFC 3339.
    pub created: String,
    pub last_used: LastUse,
}

/// When the vendor last saw a key used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastUse {
    /// RFC 3339.
    At(String),
    /// The vendor has no record of a use.
    Never,
    /// The vendor did not say (its own finding says why).
    Unknown,
}

/// A check the vendor did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unchecked {
    /// What could not be checked: "key age", "secret expiry", "root key".
    pub what: &'static str,
    /// The vendor's error code, when it sent one.
    pub code: Option<String>,
    pub message: String,
    /// The permission (and the managed policy that holds it) that would let
    /// the key ask.
    pub grant: &'static str,
}

impl Unchecked {
    /// The vendor's list of the caller's keys does not hold the key in use.
    pub fn key_not_listed(grant: &'static str) -> Unchecked {
        Unchecked {
            what: "key age",
            code: None,
            message: "the vendor's list of the caller's keys does not hold the key in use".into(),
            grant,
        }
    }
}

const DAY: i64 = 86_400;

/// The read-only policy (or role) that lets a key list resources of `kind`
/// (tether's type name) from `vendor`.
pub fn listing_grant(vendor: Vendor, kind: &str) -> &'static str {
    let network = matches!(kind, "vpc" | "subnet");
    match vendor {
        Vendor::Aws => "the ec2:Describe* read actions (AmazonEC2ReadOnlyAccess)",
        Vendor::Alibaba if network => "AliyunVPCReadOnlyAccess",
        Vendor::Alibaba => "AliyunECSReadOnlyAccess",
        Vendor::Azure => "the Reader role on the subscription",
        Vendor::Hcs if network || kind == "security_group" => "VPC ReadOnlyAccess",
        Vendor::Hcs => "ECS ReadOnlyAccess",
    }
}

/// The safer alternative to a root key, per vendor.
fn instead_of_root(v: Vendor) -> &'static str {
    match v {
        Vendor::Aws => {
            "use an IAM user's access key with read-only policies (AmazonEC2ReadOnlyAccess), and delete the root access key"
        }
        Vendor::Alibaba => {
            "use a RAM user's AccessKey with read-only policies (AliyunECSReadOnlyAccess, AliyunVPCReadOnlyAccess), and delete the root AccessKey"
        }
        Vendor::Hcs => {
            "sign in as an IAM user with read-only permissions (ECS ReadOnlyAccess, VPC ReadOnlyAccess) instead of the domain administrator"
        }
        Vendor::Azure => "give the application the Reader role only",
    }
}

fn days(secs: i64) -> i64 {
    secs.div_euclid(DAY)
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

impl Finding {
    /// A finding of `kind` about `address` with nothing but its message.
    pub fn new(address: &Address, kind: FindingKind, message: String) -> Finding {
        Finding {
            address: address.clone(),
            kind,
            message,
            advice: None,
            key_id: None,
            created: None,
            last_used: None,
            expires: None,
            code: None,
        }
    }
}

/// Judges `facts` of the account at `address` by `policy`, in a stable
/// order: root key, key age, secret expiry, then what was not checked.
pub fn judge(address: &Address, facts: &Facts, policy: &Policy) -> Vec<Finding> {
    let finding = |kind, message: String| Finding::new(address, kind, message);
    let mut out = Vec::new();
    if facts.root {
        out.push(Finding {
            advice: Some(instead_of_root(address.vendor).to_string()),
            ..finding(
                FindingKind::RootKey,
                match address.vendor {
                    Vendor::Hcs => "the credentials are the domain administrator's".to_string(),
                    _ => "the key is the root (main account) key".to_string(),
                },
            )
        });
    }
    for k in &facts.keys {
        let Some(created) = crate::clock::parse(&k.created) else {
            out.push(Finding {
                key_id: Some(k.id.clone()),
                ..finding(
                    FindingKind::Unchecked,
                    format!(
                        "could not check key age: the vendor's creation date \"{}\" does not parse",
                        k.created.escape_debug()
                    ),
                )
            });
            continue;
        };
        let age = days(policy.now - created);
        if age > i64::from(policy.max_key_age_days) {
            let (used, last_used) = match &k.last_used {
                LastUse::At(u) => (format!("last used {}", date(u)), Some(u.clone())),
                LastUse::Never => ("never used".to_string(), Some("never".to_string())),
                LastUse::Unknown => ("last use unknown".to_string(), None),
            };
            out.push(Finding {
                advice: Some(format!(
                    "rotate it: create a new key, apply it, then delete the old one (max_key_age = {} days)",
                    policy.max_key_age_days
                )),
                key_id: Some(k.id.clone()),
                created: Some(k.created.clone()),
                last_used,
                ..finding(
                    FindingKind::KeyAge,
                    format!(
                        "access key {} is {age} day{} old (created {}, {used})",
                        k.id,
                        plural(age),
                        date(&k.created)
                    ),
                )
            });
        }
    }
    if let Some(expires) = &facts.secret_expires {
        match crate::clock::parse(expires) {
            Some(at) => {
                let left = at - policy.now;
                let what = match address.vendor {
                    Vendor::Hcs => "the password",
                    _ => "the application secret",
                };
                let message = if left <= 0 {
                    Some(format!("{what} expired on {}", date(expires)))
                } else if days(left) < i64::from(policy.secret_expiry_warning_days) {
                    let d = days(left);
                    Some(format!(
                        "{what} expires on {} (in {d} day{})",
                        date(expires),
                        plural(d)
                    ))
                } else {
                    None
                };
                if let Some(message) = message {
                    out.push(Finding {
                        advice: Some(format!(
                            "create a new secret, apply it, then remove the old one (secret_expiry_warning = {} days)",
                            policy.secret_expiry_warning_days
                        )),
                        expires: Some(expires.clone()),
                        ..finding(FindingKind::SecretExpiry, message)
                    });
                }
            }
            None => out.push(finding(
                FindingKind::Unchecked,
                format!(
                    "could not check secret expiry: the vendor's date \"{}\" does not parse",
                    expires.escape_debug()
                ),
            )),
        }
    }
    for u in &facts.unchecked {
        out.push(Finding {
            advice: Some(format!("to let tether check it, grant {}", u.grant)),
            code: u.code.clone(),
            ..finding(
                FindingKind::Unchecked,
                format!(
                    "could not check {}: {}",
                    u.what,
                    match &u.code {
                        Some(c) => format!("{c} ({})", u.message),
                        None => u.message.clone(),
                    }
                ),
            )
        });
    }
    out
}

/// The region discovery is denied: nothing of the account can be listed.
pub fn denied_regions(address: &Address, code: Option<&str>) -> Finding {
    Finding {
        address: address.clone(),
        kind: FindingKind::Permission,
        message: format!(
            "the key may not list the account's regions{}",
            code.map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        advice: Some(format!(
            "grant {}, or declare `regions`",
            match address.vendor {
                Vendor::Aws => "ec2:DescribeRegions (AmazonEC2ReadOnlyAccess)",
                Vendor::Alibaba => "AliyunECSReadOnlyAccess",
                Vendor::Azure => "the Reader role",
                Vendor::Hcs => "IAM read access to the projects",
            }
        )),
        key_id: None,
        created: None,
        last_used: None,
        expires: None,
        code: code.map(str::to_string),
    }
}

/// Permission findings from listing calls the vendor denied
/// (`(account, type, region, code)`), one per account and type with the
/// regions counted, in address and type order.
pub fn denied_listings<'a>(
    denied: impl Iterator<Item = (&'a Address, &'a str, &'a str, Option<&'a str>)>,
) -> Vec<Finding> {
    /// The regions of one account and type, and the first code seen.
    type Denied<'a> = (Vec<&'a str>, Option<&'a str>);
    let mut by: std::collections::BTreeMap<(&Address, &str), Denied<'_>> =
        std::collections::BTreeMap::new();
    for (address, kind, region, code) in denied {
        let e = by.entry((address, kind)).or_default();
        e.0.push(region);
        e.1 = e.1.or(code);
    }
    by.into_iter()
        .map(|((address, kind), (regions, code))| Finding {
            address: address.clone(),
            kind: FindingKind::Permission,
            message: format!(
                "the key may not list {kind} ({} region{}{}{})",
                regions.len(),
                if regions.len() == 1 { "" } else { "s" },
                if regions.len() <= 3 {
                    format!(": {}", regions.join(", "))
                } else {
                    String::new()
                },
                code.map(|c| format!("; {c}")).unwrap_or_default()
            ),
            advice: Some(format!(
                "grant {}; until then these partitions are failed, their resources kept stale",
                listing_grant(address.vendor, kind)
            )),
            key_id: None,
            created: None,
            last_used: None,
            expires: None,
            code: code.map(str::to_string),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_558_400; // 2026-12-06T12:00:00Z

    fn policy() -> Policy {
        Policy {
            max_key_age_days: 90,
            secret_expiry_warning_days: 30,
            now: NOW,
        }
    }

    fn at(days_ago: i64) -> String {
        crate::clock::rfc3339(NOW - days_ago * DAY)
    }

    fn aws() -> Address {
        Address::new(Vendor::Aws, "prod")
    }

    #[test]
    fn a_sound_key_has_no_finding() {
        let facts = Facts {
            keys: vec![KeyFacts {
                id: "AKIAEXAMPLE".into(),
                created: at(90),
                last_used: LastUse::At(at(1)),
            }],
            secret_expires: Some(at(-30)),
            ..Facts::default()
        };
        assert!(judge(&aws(), &facts, &policy()).is_empty());
    }

    #[test]
    fn root_old_keys_expiring_secrets_and_unchecked_each_are_a_finding() {
        let facts = Facts {
            root: true,
            keys: vec![KeyFacts {
                id: "AKIAEXAMPLE".into(),
                created: at(91),
                last_used: LastUse::Never,
            }],
            secret_expires: Some(at(-29)),
            unchecked: vec![Unchecked {
                what: "key age",
                code: Some("AccessDenied".into()),
                message: "not authorized".into(),
                grant: "iam:ListAccessKeys",
            }],
        };
        let f = judge(&aws(), &facts, &policy());
        let kinds: Vec<FindingKind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FindingKind::RootKey,
                FindingKind::KeyAge,
                FindingKind::SecretExpiry,
                FindingKind::Unchecked
            ]
        );
        assert!(f[0].advice.as_deref().unwrap().contains("IAM user"));
        assert_eq!(
            f[1].message,
            format!(
                "access key AKIAEXAMPLE is 91 days old (created {}, never used)",
                &at(91)[..10]
            )
        );
        assert_eq!(f[1].last_used.as_deref(), Some("never"));
        assert!(f[2].message.contains("in 29 days"), "{}", f[2].message);
        assert_eq!(
            f[3].message,
            "could not check key age: AccessDenied (not authorized)"
        );
        assert_eq!(f[3].code.as_deref(), Some("AccessDenied"));
    }

    #[test]
    fn an_expired_secret_and_a_date_that_does_not_parse() {
        let facts = Facts {
            keys: vec![KeyFacts {
                id: "LTAI".into(),
                created: "yesterday".into(),
                last_used: LastUse::Unknown,
            }],
            secret_expires: Some(at(1)),
            ..Facts::default()
        };
        let f = judge(&Address::new(Vendor::Hcs, "x"), &facts, &policy());
        assert_eq!(f[0].kind, FindingKind::Unchecked);
        assert!(f[0].message.contains("\"yesterday\""));
        assert_eq!(
            f[1].message,
            format!("the password expired on {}", &at(1)[..10])
        );
    }
}
