//! `account "<vendor>" "<name>" { … }` blocks: labels, each vendor's
//! required attributes and their value checks (account ids, UUIDs, hosts),
//! then the typed account.

use std::net::IpAddr;

use hcl::edit::Span as _;
use hcl::edit::structure::{Block, Body};

use super::attrs::{clip_value, reference};
use super::common::COMMON_ATTRS;
use super::{Declared, Lower, Lowered};
use crate::config::eval::Value;
use crate::config::model::*;
use crate::config::suggest::did_you_mean;
use crate::diag::Diagnostic;

/// Required attributes of each vendor's account block (the secret is listed last).
pub fn vendor_attrs(v: Vendor) -> &'static [&'static str] {
    match v {
        Vendor::Aws | Vendor::Alibaba => &[
            "main_account_id",
            "account_name",
            "access_key_id",
            "secret_access_key",
        ],
        Vendor::Azure => &[
            "tenant_id",
            "tenant_name",
            "application_id",
            "application_secret",
        ],
        Vendor::Hcs => &["endpoint", "environment_name", "account", "password"],
    }
}

impl Lower<'_> {
    pub(super) fn account(&mut self, b: &Block, out: &mut Lowered) {
        let header = self.header_span(b);
        let labels: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
        if labels.len() != 2 {
            self.diags.push(
                Diagnostic::error(format!(
                    "an `account` block takes two labels, vendor and name; found {}",
                    labels.len()
                ))
                .at(header)
                .help("write `account \"aws\" \"prod\" { … }`"),
            );
            return;
        }
        let vendor_span = self.span(b.labels[0].span());
        let name_span = self.span(b.labels[1].span());
        let Ok(vendor) = labels[0].parse::<Vendor>() else {
            let names: Vec<&str> = Vendor::ALL.iter().map(|v| v.as_str()).collect();
            let mut d =
                Diagnostic::error(format!("unknown vendor `{}`", labels[0])).at(vendor_span);
            d = match did_you_mean(labels[0], &names).or_else(|| vendor_alias(labels[0])) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("the vendors are `aws`, `alibaba`, `azure` and `hcs`"),
            };
            self.diags.push(d);
            return;
        };
        let name = labels[1];
        if !is_valid_name(name) {
            self.diags.push(
                Diagnostic::error(format!("invalid account name `{}`", clip_value(name)))
                    .at(name_span)
                    .help("use letters, digits, `_` and `-`, starting with a letter or `_`"),
            );
            return;
        }
        let address = Address::new(vendor, name);
        if b.body.get_attribute("via").is_some() {
            return self.member(b, vendor, address, header, out);
        }
        let mut allowed: Vec<&str> = vendor_attrs(vendor).to_vec();
        allowed.extend_from_slice(COMMON_ATTRS);
        let what = format!("`{vendor}` account `{address}`");
        let mut a = self.attrs(header.clone(), &b.body, &allowed, &what);

        let required = &vendor_attrs(vendor)[..3];
        let mut strs: Vec<Option<String>> = Vec::new();
        for attr in required {
            strs.push(self.required_string(&mut a, &address, attr));
        }
        let secret_attr = vendor_attrs(vendor)[3];
        let secret = a
            .take(secret_attr)
            .and_then(|(v, _)| self.secret(&address, secret_attr, v));

        let common = self.common(vendor, &address, &mut a);
        out.declared.push(Declared {
            address: address.clone(),
            span: header.clone(),
            depends_on: common.depends_on.clone(),
            via: None,
        });
        let [Some(s0), Some(s1), Some(s2)] = [strs[0].take(), strs[1].take(), strs[2].take()]
        else {
            return;
        };
        let mut ok = true;
        let vendor_account = match vendor {
            Vendor::Aws | Vendor::Alibaba => {
                ok &= self.check_account_id(vendor, &s0, &b.body);
                let k = KeyAccount {
                    main_account_id: s0,
                    account_name: s1,
                    access_key_id: s2,
                    secret_access_key: secret,
                };
                VendorAccount::keyed(vendor, k)
            }
            Vendor::Azure => {
                ok &= self.check_uuid("tenant_id", &s0, &b.body);
                ok &= self.check_uuid("application_id", &s2, &b.body);
                VendorAccount::Azure(AzureAccount {
                    tenant_id: s0,
                    tenant_name: s1,
                    application_id: s2,
                    application_secret: secret,
                    subscription_id: None,
                })
            }
            Vendor::Hcs => {
                ok &= self.check_endpoint(&s0, &b.body);
                VendorAccount::Hcs(HcsAccount {
                    endpoint: s0,
                    environment_name: s1,
                    account: s2,
                    password: secret,
                    project_id: None,
                })
            }
        };
        if !ok || !common.ok {
            return;
        }
        out.accounts.push(Account {
            address,
            vendor: vendor_account,
            regions: common.regions,
            resource_types: common.resource_types,
            tags: common.tags,
            enabled: common.enabled,
            depends_on: common.depends_on.into_iter().map(|(a, _)| a).collect(),
            api_endpoint: common.api_endpoint,
            via: None,
            span: Some(header),
        });
    }

    /// A member account block (`via = <main account>`): no secret and no
    /// connection attributes of its own (they are its main account's,
    /// filled in by the cross-file check); AWS and Alibaba name the member
    /// account (`main_account_id`, `account_name`) and may name the role
    /// (`role_name`), Azure its subscription, HCS its project.
    fn member(
        &mut self,
        b: &Block,
        vendor: Vendor,
        address: Address,
        header: crate::diag::Span,
        out: &mut Lowered,
    ) {
        let own: &[&str] = match vendor {
            Vendor::Aws | Vendor::Alibaba => {
                &["via", "main_account_id", "account_name", "role_name"]
            }
            Vendor::Azure => &["via", "subscription_id"],
            Vendor::Hcs => &["via", "project_id"],
        };
        // What a member inherits is named in the error, not as unknown.
        let inherited: Vec<&str> = vendor_attrs(vendor)
            .iter()
            .copied()
            .chain(["api_endpoint"])
            .filter(|a| !own.contains(a))
            .collect();
        for attr in &inherited {
            if let Some(at) = b.body.get_attribute(attr) {
                let span = self.span(at.key.span());
                let what = if vendor.secret_attributes().contains(attr) {
                    "has no secret of its own"
                } else {
                    "takes its connection attributes from its main account"
                };
                self.diags.push(
                    Diagnostic::error(format!(
                        "`{address}` is reached through its main account (`via`) and {what}: remove `{attr}`"
                    ))
                    .at(span)
                    .help("the main account's credentials reach the member; declare them on the main account"),
                );
            }
        }
        let mut allowed: Vec<&str> = own.to_vec();
        allowed.extend(inherited.iter().copied());
        allowed.extend(COMMON_ATTRS.iter().filter(|a| **a != "api_endpoint"));
        let what = format!("`{vendor}` account `{address}`");
        let mut a = self.attrs(header.clone(), &b.body, &allowed, &what);
        for attr in &inherited {
            a.take(attr);
        }
        let mut ok = inherited
            .iter()
            .all(|at| b.body.get_attribute(at).is_none());
        let via = match a.take("via") {
            Some((v, _)) => match reference(&v.v) {
                Some(Ok(main)) if main == address => {
                    self.diags.push(
                        Diagnostic::error(format!("`{address}` cannot be reached through itself"))
                            .at(v.span),
                    );
                    None
                }
                Some(Ok(main)) => Some((main, v.span)),
                Some(Err(e)) => {
                    self.diags.push(
                        Diagnostic::error(format!("invalid account address in `via`: {e}"))
                            .at(v.span),
                    );
                    None
                }
                None => {
                    self.wrong_type("via", "account address", &v.v, v.span);
                    None
                }
            },
            None => None,
        };
        ok &= via.is_some();
        let role_name = match a.take("role_name") {
            Some((v, _)) => match v.v {
                Value::String(s) if is_role_name(&s) => Some(s),
                Value::String(s) => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::error(format!(
                            "`role_name` must be a role name (1 to 64 letters, digits and `+=,.@_-`), found \"{}\"",
                            clip_value(&s)
                        ))
                        .at(v.span)
                        .help(format!(
                            "such as \"{}\"",
                            default_role(vendor).unwrap_or_default()
                        )),
                    );
                    None
                }
                other => {
                    ok = false;
                    self.wrong_type("role_name", "string", &other, v.span);
                    None
                }
            },
            None => None,
        };
        let mut strs: Vec<Option<String>> = own[1..]
            .iter()
            .filter(|a| **a != "role_name")
            .map(|attr| self.required_string(&mut a, &address, attr))
            .collect();
        let common = self.common(vendor, &address, &mut a);
        out.declared.push(Declared {
            address: address.clone(),
            span: header.clone(),
            depends_on: common.depends_on.clone(),
            via: via.clone(),
        });
        if strs.iter().any(Option::is_none) || !ok || !common.ok {
            return;
        }
        let Some((main, _)) = via else { return };
        let mut take = |i: usize| strs[i].take().unwrap_or_default();
        let vendor_account = match vendor {
            Vendor::Aws | Vendor::Alibaba => {
                let id = take(0);
                if !self.check_account_id(vendor, &id, &b.body) {
                    return;
                }
                let k = KeyAccount {
                    main_account_id: id,
                    account_name: take(1),
                    access_key_id: String::new(),
                    secret_access_key: None,
                };
                VendorAccount::keyed(vendor, k)
            }
            Vendor::Azure => {
                let sub = take(0);
                if !self.check_uuid("subscription_id", &sub, &b.body) {
                    return;
                }
                VendorAccount::Azure(AzureAccount {
                    tenant_id: String::new(),
                    tenant_name: String::new(),
                    application_id: String::new(),
                    application_secret: None,
                    subscription_id: Some(sub.to_ascii_lowercase()),
                })
            }
            Vendor::Hcs => {
                let project = take(0);
                if !is_project_id(&project) {
                    self.diags.push(
                        Diagnostic::error(format!(
                            "`project_id` must be an HCS project id (hexadecimal), found \"{}\"",
                            clip_value(&project)
                        ))
                        .at(self.value_span(&b.body, "project_id"))
                        .help("the 32-character id `tether discover` lists for the project"),
                    );
                    return;
                }
                VendorAccount::Hcs(HcsAccount {
                    endpoint: String::new(),
                    environment_name: String::new(),
                    account: String::new(),
                    password: None,
                    project_id: Some(project),
                })
            }
        };
        out.accounts.push(Account {
            address,
            vendor: vendor_account,
            regions: common.regions,
            resource_types: common.resource_types,
            tags: common.tags,
            enabled: common.enabled,
            depends_on: common.depends_on.into_iter().map(|(a, _)| a).collect(),
            api_endpoint: None,
            via: Some(Via { main, role_name }),
            span: Some(header),
        });
    }

    fn check_account_id(&mut self, vendor: Vendor, id: &str, body: &Body) -> bool {
        let digits = !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit());
        let (ok, rule) = match vendor {
            Vendor::Aws => (digits && id.len() == 12, "exactly 12 digits"),
            _ => (digits && id.len() <= 32, "digits only"),
        };
        if !ok {
            self.diags.push(
                Diagnostic::error(format!(
                    "`main_account_id` must be {rule} for {} accounts, found \"{}\"",
                    vendor.title(),
                    clip_value(id)
                ))
                .at(self.value_span(body, "main_account_id"))
                .help(match vendor {
                    Vendor::Aws => "the 12-digit AWS account ID, such as \"123456789012\"",
                    _ => "the numeric account UID shown in the Alibaba Cloud console",
                }),
            );
        }
        ok
    }

    fn check_uuid(&mut self, attr: &str, v: &str, body: &Body) -> bool {
        if is_uuid(v) {
            return true;
        }
        self.diags.push(
            Diagnostic::error(format!(
                "`{attr}` must be a UUID, found \"{}\"",
                clip_value(v)
            ))
            .at(self.value_span(body, attr))
            .help("write it as 8-4-4-4-12 hexadecimal digits, such as \"00000000-0000-0000-0000-000000000000\""),
        );
        false
    }

    fn check_endpoint(&mut self, v: &str, body: &Body) -> bool {
        if is_host(v) {
            return true;
        }
        let mut d = Diagnostic::error(format!(
            "`endpoint` must be a domain name or IP address, found \"{}\"",
            clip_value(v)
        ))
        .at(self.value_span(body, "endpoint"));
        d = if v.contains("://") {
            d.help("write the host alone, such as \"hcs.example.com\"; a full URL goes in `api_endpoint`")
        } else {
            d.help("such as \"hcs.example.com\" or \"10.0.0.10\"")
        };
        self.diags.push(d);
        false
    }
}

fn vendor_alias(s: &str) -> Option<&'static str> {
    match s.to_ascii_lowercase().as_str() {
        "amazon" | "ec2" | "amazonaws" => Some("aws"),
        "aliyun" | "alicloud" | "alibabacloud" | "ali" => Some("alibaba"),
        "microsoft" | "entra" | "arm" | "azurerm" => Some("azure"),
        "huawei" | "huaweicloud" | "huaweicloudstack" | "hcso" => Some("hcs"),
        _ => None,
    }
}

/// An IAM or RAM role name: 1 to 64 of letters, digits and `+=,.@_-`.
pub fn is_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c))
}

/// An HCS (Keystone) project id: hexadecimal, 1 to 64 characters.
pub fn is_project_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-')
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A DNS name (RFC 1123 labels) or an IPv4 / IPv6 address.
pub fn is_host(s: &str) -> bool {
    if s.parse::<IpAddr>().is_ok() {
        return true;
    }
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    let all_numeric = labels.iter().all(|l| l.bytes().all(|c| c.is_ascii_digit()));
    !all_numeric
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
}
