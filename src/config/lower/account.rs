//! `account "<vendor>" "<name>" { … }` blocks: labels, each vendor's
//! required attributes and their value checks (account ids, UUIDs, hosts),
//! then the typed account.

use std::net::IpAddr;

use hcl::edit::Span as _;
use hcl::edit::structure::{Block, Body};

use super::attrs::clip_value;
use super::common::COMMON_ATTRS;
use super::{Declared, Lower, Lowered};
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
                if vendor == Vendor::Aws {
                    VendorAccount::Aws(k)
                } else {
                    VendorAccount::Alibaba(k)
                }
            }
            Vendor::Azure => {
                ok &= self.check_uuid("tenant_id", &s0, &b.body);
                ok &= self.check_uuid("application_id", &s2, &b.body);
                VendorAccount::Azure(AzureAccount {
                    tenant_id: s0,
                    tenant_name: s1,
                    application_id: s2,
                    application_secret: secret,
                })
            }
            Vendor::Hcs => {
                ok &= self.check_endpoint(&s0, &b.body);
                VendorAccount::Hcs(HcsAccount {
                    endpoint: s0,
                    environment_name: s1,
                    account: s2,
                    password: secret,
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
