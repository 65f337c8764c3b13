//! The changes the admin API makes to a running world: resources added,
//! retagged and deleted, regions enabled, credentials revoked and rotated,
//! tokens expired; and the admin view of a resource. (Credential hygiene:
//! `hygiene.rs`.)

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::credentials::{new_keys, new_password};
use super::make::{make_resource, nets_of};
use super::{Account, Kind, List, Project, Resource, Vendor, World, WorldError, vi};
use crate::rng::{Rng, mix};

/// A resource as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceView {
    pub vendor: Vendor,
    pub account: String,
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

/// Fresh credentials after a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    pub vendor: Vendor,
    pub account: String,
    /// AWS/Alibaba/HCS access key id, Azure application id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl World {
    pub(super) fn account_index(&self, v: Vendor, account: &str) -> Result<u32, WorldError> {
        self.v(v)
            .by_id
            .get(account)
            .copied()
            .ok_or_else(|| WorldError::NoAccount(v, account.to_string()))
    }

    /// Adds a resource of `kind` in `region` (Azure: a location, optionally in
    /// `subscription`; HCS: a region, project name or project id).
    pub fn add_resource(
        &mut self,
        v: Vendor,
        account: &str,
        region: &str,
        kind: &str,
        subscription: Option<&str>,
    ) -> Result<ResourceView, WorldError> {
        let ai = self.account_index(v, account)?;
        let kind = Kind::parse(v, kind).ok_or_else(|| WorldError::BadType(v, kind.to_string()))?;
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut rng = Rng::new(mix(self.rng.u64()));
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[ai as usize];
        let (scope, region_idx) = resolve_scope(acct, region, subscription)?;
        let mut nets = nets_of(acct, scope);
        let r = make_resource(&mut rng, acct, kind, scope, region_idx, seq, &mut nets);
        let view = view_of(acct, &r);
        vw.index.insert(r.id.clone(), (ai, scope, kind.list()));
        acct.parts
            .entry((scope, kind.list()))
            .or_default()
            .insert(r.id.clone(), r);
        Ok(view)
    }

    fn locate(&self, v: Vendor, id: &str) -> Result<(u32, u16, List), WorldError> {
        self.v(v)
            .index
            .get(id)
            .copied()
            .ok_or_else(|| WorldError::NoResource(v, id.to_string()))
    }

    /// The admin view of a resource.
    pub fn resource(&self, v: Vendor, id: &str) -> Result<ResourceView, WorldError> {
        let (ai, scope, list) = self.locate(v, id)?;
        let acct = &self.v(v).accounts[ai as usize];
        let r = acct
            .part(scope, list)
            .and_then(|p| p.get(id))
            .ok_or_else(|| WorldError::NoResource(v, id.to_string()))?;
        Ok(view_of(acct, r))
    }

    /// Replaces a resource's tags.
    pub fn set_tags(
        &mut self,
        v: Vendor,
        id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<ResourceView, WorldError> {
        let (ai, scope, list) = self.locate(v, id)?;
        let acct = &mut self.vendors[vi(v)].accounts[ai as usize];
        let r = acct
            .parts
            .get_mut(&(scope, list))
            .and_then(|p| p.get_mut(id))
            .ok_or_else(|| WorldError::NoResource(v, id.to_string()))?;
        r.tags = tags
            .iter()
            .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
            .collect();
        if v == Vendor::Aws
            && let Some(n) = tags.get("Name")
        {
            r.name = n.as_str().into();
        }
        let r = r.clone();
        Ok(view_of(acct, &r))
    }

    /// Removes a resource.
    pub fn delete_resource(&mut self, v: Vendor, id: &str) -> Result<ResourceView, WorldError> {
        let (ai, scope, list) = self.locate(v, id)?;
        let vw = &mut self.vendors[vi(v)];
        vw.index.remove(id);
        let acct = &mut vw.accounts[ai as usize];
        let r = acct
            .parts
            .get_mut(&(scope, list))
            .and_then(|p| p.remove(id))
            .ok_or_else(|| WorldError::NoResource(v, id.to_string()))?;
        Ok(view_of(acct, &r))
    }

    /// Enables a region for an account (Azure: a location; HCS: a region
    /// with a new project `{region}_{account}`).
    pub fn add_region(&mut self, v: Vendor, account: &str, region: &str) -> Result<(), WorldError> {
        if region.is_empty()
            || region.len() > 64
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(WorldError::Invalid(v, format!("invalid region `{region}`")));
        }
        let ai = self.account_index(v, account)?;
        let pid = self.rng.hex(32);
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[ai as usize];
        if acct.region_index(region).is_none() {
            acct.regions.push(region.to_string());
        }
        if v == Vendor::Hcs {
            let ri = acct.region_index(region).unwrap_or(0);
            if !acct.projects.iter().any(|p| p.region == region) {
                let scope = acct.projects.len() as u16;
                acct.projects.push(Project {
                    id: pid.clone(),
                    name: format!("{region}_{}", acct.id),
                    region: region.to_string(),
                });
                let _ = ri;
                vw.by_scope.insert(pid, (ai, scope));
            }
        }
        Ok(())
    }

    /// Revokes an account's credentials: keys become unknown, the secret or
    /// password stops working. Tokens already issued run out normally.
    pub fn revoke(&mut self, v: Vendor, account: &str) -> Result<(), WorldError> {
        let ai = self.account_index(v, account)?;
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[ai as usize];
        acct.revoked = true;
        if v != Vendor::Azure {
            vw.by_key.remove(&acct.key_id);
        }
        Ok(())
    }

    /// Issues new credentials: a new key pair (AWS, Alibaba), a new
    /// application secret (Azure), a new password and key pair (HCS). The old
    /// ones stop working at once. The new key is created now and never used
    /// yet; an Azure secret or HCS password expires in 365 days.
    pub fn rotate(&mut self, v: Vendor, account: &str) -> Result<Rotated, WorldError> {
        let ai = self.account_index(v, account)?;
        let mut rng = Rng::new(mix(self.rng.u64()));
        let (key_id, secret) = new_keys(&mut rng, v);
        let password = new_password(&mut rng);
        let vw = &mut self.vendors[vi(v)];
        let acct = &mut vw.accounts[ai as usize];
        acct.revoked = false;
        // A new key (secret, password): created now, not used yet.
        let now = crate::clock::now();
        acct.key_created = now;
        acct.key_last_used = None;
        if matches!(v, Vendor::Azure | Vendor::Hcs) {
            acct.secret_expires = now + 365 * 86_400;
        }
        let mut out = Rotated {
            vendor: v,
            account: account.to_string(),
            access_key_id: None,
            secret_access_key: None,
            application_secret: None,
            password: None,
        };
        if v == Vendor::Azure {
            acct.secret = secret.clone();
            out.access_key_id = Some(acct.key_id.clone());
            out.application_secret = Some(secret);
        } else {
            vw.by_key.remove(&acct.key_id);
            acct.key_id = key_id.clone();
            acct.secret = secret.clone();
            vw.by_key.insert(key_id.clone(), ai);
            out.access_key_id = Some(key_id);
            out.secret_access_key = Some(secret);
            if v == Vendor::Hcs {
                acct.password = password.clone();
                out.password = Some(password);
            }
        }
        Ok(out)
    }

    /// Expires every token issued to the account so far.
    pub fn expire_tokens(&mut self, v: Vendor, account: &str, now: i64) -> Result<(), WorldError> {
        let ai = self.account_index(v, account)?;
        self.vendors[vi(v)].accounts[ai as usize].tokens_valid_after = now + 1;
        Ok(())
    }
}

pub(super) fn resolve_scope(
    acct: &mut Account,
    region: &str,
    subscription: Option<&str>,
) -> Result<(u16, u16), WorldError> {
    let v = acct.vendor;
    match v {
        Vendor::Azure => {
            let scope = match subscription {
                Some(s) => acct
                    .subscriptions
                    .iter()
                    .position(|x| x.id == s)
                    .ok_or_else(|| {
                        WorldError::Invalid(v, format!("subscription `{s}` is not in this tenant"))
                    })?,
                None if acct.subscriptions.is_empty() => {
                    return Err(WorldError::Invalid(
                        v,
                        "the tenant has no subscription".into(),
                    ));
                }
                None => 0,
            };
            let ri = match acct.region_index(region) {
                Some(i) => i,
                None => {
                    acct.regions.push(region.to_string());
                    (acct.regions.len() - 1) as u16
                }
            };
            Ok((scope as u16, ri))
        }
        Vendor::Hcs => {
            let p = acct
                .projects
                .iter()
                .position(|p| p.region == region || p.name == region || p.id == region)
                .ok_or_else(|| {
                    WorldError::Invalid(
                        v,
                        format!("no project for region `{region}` (POST /admin/regions first)"),
                    )
                })?;
            let ri = acct
                .region_index(&acct.projects[p].region.clone())
                .unwrap_or(0);
            Ok((p as u16, ri))
        }
        _ => {
            let ri = acct
                .region_index(region)
                .ok_or_else(|| WorldError::Invalid(v, format!("region `{region}` is not enabled for this account (POST /admin/regions first)")))?;
            Ok((ri, ri))
        }
    }
}

fn view_of(acct: &Account, r: &Resource) -> ResourceView {
    ResourceView {
        vendor: acct.vendor,
        account: acct.id.clone(),
        region: acct.region_of(r).to_string(),
        kind: r.kind.name().to_string(),
        id: r.id.to_string(),
        name: r.name.to_string(),
        tags: r
            .tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}
