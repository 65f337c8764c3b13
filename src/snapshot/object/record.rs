//! One resource as stored: the canonical JSON of what its partition key
//! does not already say, and back.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory::{PartitionKey, Resource};

/// A resource as stored: what its partition key does not already say.
#[derive(Serialize)]
pub(super) struct StoredRef<'a> {
    pub(super) id: &'a str,
    pub(super) native_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) status: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) tags: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) attributes: Cow<'a, BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Stored {
    pub(super) id: String,
    pub(super) native_type: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) tags: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) attributes: BTreeMap<String, serde_json::Value>,
}

/// Object keys sorted at every depth, whatever map type serde_json uses.
fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<&String, serde_json::Value> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn needs_canonical(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => {
            m.keys().zip(m.keys().skip(1)).any(|(a, b)| a >= b) || m.values().any(needs_canonical)
        }
        serde_json::Value::Array(a) => a.iter().any(needs_canonical),
        _ => false,
    }
}

/// Why a resource cannot be stored in a partition.
pub fn check_belongs(key: &PartitionKey, r: &Resource) -> Result<(), String> {
    if r.account != key.account || r.region != key.region || r.kind != key.kind {
        return Err(format!(
            "resource `{}` is in {}/{}/{}, not in partition {key}",
            r.address, r.account, r.region, r.kind
        ));
    }
    let want = Resource::address_of(key, &r.id);
    if r.address != want {
        return Err(format!(
            "resource `{}` should have the address `{want}`",
            r.address
        ));
    }
    Ok(())
}

/// The canonical stored JSON of one resource.
pub fn encode_resource(r: &Resource) -> Vec<u8> {
    let attributes = if r.attributes.values().any(needs_canonical) {
        Cow::Owned(
            r.attributes
                .iter()
                .map(|(k, v)| (k.clone(), canonical(v)))
                .collect(),
        )
    } else {
        Cow::Borrowed(&r.attributes)
    };
    let s = StoredRef {
        id: &r.id,
        native_type: &r.native_type,
        name: r.name.as_deref(),
        status: r.status.as_deref(),
        tags: &r.tags,
        attributes,
    };
    // Serializing plain strings and JSON values cannot fail.
    serde_json::to_vec(&s).unwrap_or_default()
}

/// A stored record back into a resource of partition `key`.
pub fn decode_resource(key: &PartitionKey, json: &[u8]) -> Result<Resource, String> {
    let s: Stored = serde_json::from_slice(json).map_err(|e| format!("bad record: {e}"))?;
    Ok(Resource {
        address: Resource::address_of(key, &s.id),
        account: key.account.clone(),
        region: key.region.clone(),
        kind: key.kind.clone(),
        native_type: s.native_type,
        id: s.id,
        name: s.name,
        status: s.status,
        tags: s.tags,
        attributes: s.attributes,
    })
}
