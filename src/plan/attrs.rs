//! The non-secret attributes of an account as JSON values, by name: what the
//! plan compares and what apply records in state.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::{Account, VendorAccount};

/// Attributes whose change replaces the account (docs/design.md §3).
pub const REPLACING: &[&str] = &[
    "main_account_id",
    "tenant_id",
    "endpoint",
    "subscription_id",
    "project_id",
];

/// Every non-secret attribute of `account`; absent optional ones are omitted.
pub fn of(account: &Account) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    match &account.vendor {
        VendorAccount::Aws(a) | VendorAccount::Alibaba(a) => {
            m.insert("main_account_id".into(), json!(a.main_account_id));
            m.insert("account_name".into(), json!(a.account_name));
            m.insert("access_key_id".into(), json!(a.access_key_id));
        }
        VendorAccount::Azure(a) => {
            m.insert("tenant_id".into(), json!(a.tenant_id));
            m.insert("tenant_name".into(), json!(a.tenant_name));
            m.insert("application_id".into(), json!(a.application_id));
            if let Some(sub) = &a.subscription_id {
                m.insert("subscription_id".into(), json!(sub));
            }
        }
        VendorAccount::Hcs(a) => {
            m.insert("endpoint".into(), json!(a.endpoint));
            m.insert("environment_name".into(), json!(a.environment_name));
            m.insert("account".into(), json!(a.account));
            if let Some(p) = &a.project_id {
                m.insert("project_id".into(), json!(p));
            }
        }
    }
    if let Some(via) = &account.via {
        m.insert("via".into(), json!(via.main.to_string()));
        if let Some(r) = &via.role_name {
            m.insert("role_name".into(), json!(r));
        }
    }
    if let Some(r) = &account.regions {
        m.insert("regions".into(), json!(r));
    }
    if let Some(t) = &account.resource_types {
        m.insert("resource_types".into(), json!(t));
    }
    if !account.tags.is_empty() {
        m.insert("tags".into(), json!(account.tags));
    }
    if let Some(e) = &account.api_endpoint {
        m.insert("api_endpoint".into(), json!(e));
    }
    if !account.enabled {
        m.insert("enabled".into(), json!(false));
    }
    if !account.depends_on.is_empty() {
        let deps: Vec<String> = account.depends_on.iter().map(ToString::to_string).collect();
        m.insert("depends_on".into(), json!(deps));
    }
    m
}
