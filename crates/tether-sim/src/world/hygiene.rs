//! Credential hygiene of an account, as the admin API sets and shows it:
//! whether its key is the root's, when the key was created and last used,
//! when its secret (Azure) or password (HCS) expires, and which APIs its key
//! may not call. The vendors' hygiene APIs (AWS/Alibaba `ListAccessKeys`,
//! `GetAccessKeyLastUsed`; Graph `passwordCredentials`; HCS credentials,
//! last use and groups) answer from these fields; nothing changes them but
//! the admin API and a rotation.
//!
//! On the wire times are RFC 3339 (`2026-01-01T00:00:00Z`); in the library
//! they are Unix seconds.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Vendor, World, WorldError, vi};

/// `POST /admin/credentials/hygiene`: what to change in one account's
/// hygiene state. Only the fields given change; `deny` replaces the whole
/// set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HygieneUpdate {
    pub vendor: Vendor,
    /// The world's identifier of the account, as in the other admin calls.
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub key_created: Option<i64>,
    /// `Some(None)` (JSON `null`): the key was never used.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_time")]
    pub key_last_used: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub secret_expires: Option<i64>,
    /// API names the key may not call (replaces the current set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<BTreeSet<String>>,
}

impl HygieneUpdate {
    /// An update of `account` that changes nothing (yet).
    pub fn new(vendor: Vendor, account: &str) -> HygieneUpdate {
        HygieneUpdate {
            vendor,
            account: account.to_string(),
            root: None,
            key_created: None,
            key_last_used: None,
            secret_expires: None,
            deny: None,
        }
    }
}

/// An account's hygiene state, as `POST /admin/credentials/hygiene`
/// answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hygiene {
    pub vendor: Vendor,
    pub account: String,
    pub root: bool,
    #[serde(with = "time")]
    pub key_created: i64,
    /// `None` (JSON `null`): never used.
    #[serde(default, with = "opt_time")]
    pub key_last_used: Option<i64>,
    #[serde(with = "time")]
    pub secret_expires: i64,
    pub deny: BTreeSet<String>,
}

impl World {
    /// The hygiene state of an account.
    pub fn hygiene(&self, v: Vendor, account: &str) -> Result<Hygiene, WorldError> {
        let ai = self.account_index(v, account)?;
        let a = &self.v(v).accounts[ai as usize];
        Ok(Hygiene {
            vendor: v,
            account: a.id.clone(),
            root: a.root,
            key_created: a.key_created,
            key_last_used: a.key_last_used,
            secret_expires: a.secret_expires,
            deny: a.denied.clone(),
        })
    }

    /// Applies an update (the names in `deny` are not checked here; the
    /// admin API checks them) and answers the new state.
    pub fn set_hygiene(&mut self, u: &HygieneUpdate) -> Result<Hygiene, WorldError> {
        let ai = self.account_index(u.vendor, &u.account)?;
        let a = &mut self.vendors[vi(u.vendor)].accounts[ai as usize];
        if let Some(r) = u.root {
            a.root = r;
        }
        if let Some(t) = u.key_created {
            a.key_created = t;
        }
        if let Some(t) = u.key_last_used {
            a.key_last_used = t;
        }
        if let Some(t) = u.secret_expires {
            a.secret_expires = t;
        }
        if let Some(d) = &u.deny {
            a.denied = d.clone();
        }
        self.hygiene(u.vendor, &u.account)
    }
}

/// Parses an RFC 3339 time into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

fn de_time<'de, D: serde::Deserializer<'de>>(s: &str) -> Result<i64, D::Error> {
    parse_rfc3339(s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{s}` is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)"
        ))
    })
}

/// Unix seconds as an RFC 3339 string.
mod time {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::clock::fmt_extended(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        super::de_time::<D>(&s)
    }
}

/// An optional time: RFC 3339 or `null`.
mod opt_time {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&crate::clock::fmt_extended(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => super::de_time::<D>(&s).map(Some),
            None => Ok(None),
        }
    }
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a time.
mod double_time {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Option<i64>>, s: S) -> Result<S::Ok, S::Error> {
        super::opt_time::serialize(&t.flatten(), s)
    }

    /// Called only when the field is present (absent is the `default`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        super::opt_time::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_tell_absent_from_null_and_refuse_unknown_fields() {
        let u: HygieneUpdate =
            serde_json::from_str(r#"{"vendor":"aws","account":"1","key_last_used":null}"#).unwrap();
        assert_eq!(u.key_last_used, Some(None));
        assert_eq!(u.key_created, None);
        let u: HygieneUpdate = serde_json::from_str(
            r#"{"vendor":"aws","account":"1","key_created":"2026-01-01T00:00:00Z","key_last_used":"2026-01-02T00:00:00+01:00","deny":["ListAccessKeys"]}"#,
        )
        .unwrap();
        assert_eq!(u.key_created, Some(1_767_225_600));
        assert_eq!(u.key_last_used, Some(Some(1_767_225_600 + 86_400 - 3600)));
        assert_eq!(u.deny.unwrap().len(), 1);
        let u: HygieneUpdate = serde_json::from_str(r#"{"vendor":"aws","account":"1"}"#).unwrap();
        assert_eq!(u, HygieneUpdate::new(Vendor::Aws, "1"));
        assert!(
            serde_json::from_str::<HygieneUpdate>(r#"{"vendor":"aws","account":"1","rot":true}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<HygieneUpdate>(
                r#"{"vendor":"aws","account":"1","key_created":"yesterday"}"#
            )
            .is_err()
        );
        // Serialized, `Some(None)` is `null` and `None` is absent.
        let mut u = HygieneUpdate::new(Vendor::Hcs, "ops");
        u.key_last_used = Some(None);
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"vendor":"hcs","account":"ops","key_last_used":null}"#
        );
    }
}
