//! The attributes every account block takes, whatever its vendor:
//! `regions`, `resource_types`, `tags`, `depends_on` (references to other
//! accounts), `api_endpoint` and `enabled`.

use std::collections::BTreeMap;

use super::Lower;
use super::attrs::{Attrs, clip_value, reference};
use crate::config::eval::Value;
use crate::config::model::*;
use crate::config::suggest::did_you_mean;
use crate::diag::{Diagnostic, Span};

pub(super) const COMMON_ATTRS: &[&str] = &[
    "regions",
    "resource_types",
    "tags",
    "depends_on",
    "api_endpoint",
    "enabled",
];

impl Lower<'_> {
    pub(super) fn common(&mut self, vendor: Vendor, addr: &Address, a: &mut Attrs) -> Common {
        let mut ok = true;
        let mut c = Common::default();
        if let Some((v, _)) = a.take("regions") {
            match self.string_list("regions", v) {
                Some(items) => {
                    // Linear in the list: one hash lookup per region.
                    let mut seen = std::collections::HashSet::new();
                    let mut regions = Vec::new();
                    for (r, span) in items {
                        if !is_region(vendor, &r) {
                            ok = false;
                            self.diags.push(
                                Diagnostic::error(format!(
                                    "\"{}\" is not a well-formed {} region name",
                                    clip_value(&r),
                                    vendor.title()
                                ))
                                .at(span)
                                .help(region_help(vendor)),
                            );
                        } else if !seen.insert(r.clone()) {
                            ok = false;
                            self.diags.push(
                                Diagnostic::error(format!("region \"{r}\" is listed twice"))
                                    .at(span),
                            );
                        } else {
                            regions.push(r);
                        }
                    }
                    c.regions = Some(regions);
                }
                None => ok = false,
            }
        }
        if let Some((v, _)) = a.take("resource_types") {
            match self.string_list("resource_types", v) {
                Some(items) => {
                    let known = resource_types(vendor);
                    let mut types = Vec::new();
                    for (t, span) in items {
                        if known.contains(&t.as_str()) {
                            if !types.contains(&t) {
                                types.push(t);
                            }
                        } else {
                            ok = false;
                            let mut d = Diagnostic::error(format!(
                                "unknown resource type \"{}\" for {} accounts",
                                clip_value(&t),
                                vendor.title()
                            ))
                            .at(span);
                            d = match did_you_mean(&t, known) {
                                Some(s) => d.help(format!("did you mean \"{s}\"?")),
                                None => d.help(format!("the types are: {}", known.join(", "))),
                            };
                            self.diags.push(d);
                        }
                    }
                    c.resource_types = Some(types);
                }
                None => ok = false,
            }
        }
        if let Some((v, _)) = a.take("tags") {
            match v.v {
                Value::Map(entries) => {
                    for (k, val) in entries {
                        if k.v.is_empty() {
                            ok = false;
                            self.diags
                                .push(Diagnostic::error("a tag key must not be empty").at(k.span));
                            continue;
                        }
                        match val.v {
                            Value::String(s) => {
                                if c.tags.insert(k.v.clone(), s).is_some() {
                                    ok = false;
                                    self.diags.push(
                                        Diagnostic::error(format!("tag `{}` is set twice", k.v))
                                            .at(k.span),
                                    );
                                }
                            }
                            other => {
                                ok = false;
                                self.diags.push(
                                    Diagnostic::error(format!(
                                        "tag `{}` must be a string, found {}",
                                        k.v,
                                        other.type_name()
                                    ))
                                    .at(val.span),
                                );
                            }
                        }
                    }
                }
                other => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::error(format!(
                            "`tags` must be a map of strings, found {}",
                            other.type_name()
                        ))
                        .at(v.span)
                        .help("write `tags = { team = \"platform\" }`"),
                    );
                }
            }
        }
        if let Some((v, _)) = a.take("depends_on") {
            match v.v {
                Value::List(items) => {
                    let mut listed = std::collections::HashSet::new();
                    for it in items {
                        match reference(&it.v) {
                            Some(Ok(dep)) => {
                                if &dep == addr {
                                    ok = false;
                                    self.diags.push(
                                        Diagnostic::error(format!(
                                            "`{addr}` cannot depend on itself"
                                        ))
                                        .at(it.span),
                                    );
                                } else if !listed.insert(dep.clone()) {
                                    ok = false;
                                    self.diags.push(
                                        Diagnostic::error(format!(
                                            "`{dep}` is listed twice in `depends_on`"
                                        ))
                                        .at(it.span),
                                    );
                                } else {
                                    c.depends_on.push((dep, it.span));
                                }
                            }
                            Some(Err(e)) => {
                                ok = false;
                                self.diags.push(
                                    Diagnostic::error(format!(
                                        "invalid account address in `depends_on`: {e}"
                                    ))
                                    .at(it.span),
                                );
                            }
                            None => {
                                ok = false;
                                self.diags.push(
                                    Diagnostic::error(format!(
                                        "`depends_on` must list account addresses, found {}",
                                        it.v.type_name()
                                    ))
                                    .at(it.span)
                                    .help("write `depends_on = [aws.prod]`"),
                                );
                            }
                        }
                    }
                }
                other => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::error(format!(
                            "`depends_on` must be a list of account addresses, found {}",
                            other.type_name()
                        ))
                        .at(v.span)
                        .help("write `depends_on = [aws.prod]`"),
                    );
                }
            }
        }
        if let Some((v, _)) = a.take("api_endpoint") {
            match v.v {
                Value::String(s) => match check_url(&s) {
                    Ok(()) => c.api_endpoint = Some(s),
                    Err(why) => {
                        ok = false;
                        self.diags.push(
                            Diagnostic::error(format!(
                                "`api_endpoint` must be an http(s) URL: {why}"
                            ))
                            .at(v.span)
                            .help("such as \"https://ec2.internal.example.com\" or \"http://127.0.0.1:4566\""),
                        );
                    }
                },
                other => {
                    ok = false;
                    self.wrong_type("api_endpoint", "string", &other, v.span);
                }
            }
        }
        if let Some((v, _)) = a.take("enabled") {
            match v.v {
                Value::Bool(b) => c.enabled = b,
                other => {
                    ok = false;
                    self.wrong_type("enabled", "bool", &other, v.span);
                }
            }
        }
        c.ok = ok;
        c
    }
}

pub(super) struct Common {
    pub(super) regions: Option<Vec<String>>,
    pub(super) resource_types: Option<Vec<String>>,
    pub(super) tags: BTreeMap<String, String>,
    pub(super) depends_on: Vec<(Address, Span)>,
    pub(super) api_endpoint: Option<String>,
    pub(super) enabled: bool,
    pub(super) ok: bool,
}

impl Default for Common {
    fn default() -> Common {
        Common {
            regions: None,
            resource_types: None,
            tags: BTreeMap::new(),
            depends_on: Vec::new(),
            api_endpoint: None,
            enabled: true,
            ok: false,
        }
    }
}

fn check_url(s: &str) -> Result<(), String> {
    let u =
        url::Url::parse(s).map_err(|e| format!("\"{}\" does not parse ({e})", clip_value(s)))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!("scheme `{}` is not http or https", u.scheme()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("credentials do not belong in the URL".into());
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err("it must not have a query or fragment".into());
    }
    Ok(())
}

/// Region names by vendor convention (shape only: new regions appear all the time).
pub fn is_region(v: Vendor, r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    let lower_alnum = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let letters = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase());
    if r.len() > 64 {
        return false;
    }
    match v {
        // us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4
        Vendor::Aws => {
            parts.len() >= 3
                && parts[0].len() == 2
                && letters(parts[0])
                && parts[1..parts.len() - 1].iter().all(|p| letters(p))
                && parts[parts.len() - 1].bytes().all(|c| c.is_ascii_digit())
                && !parts[parts.len() - 1].is_empty()
        }
        // cn-hangzhou, ap-southeast-1, cn-shanghai-finance-1
        Vendor::Alibaba => {
            parts.len() >= 2
                && parts[0].len() == 2
                && letters(parts[0])
                && parts[1..].iter().all(|p| lower_alnum(p))
        }
        // eastus, westeurope, southafricanorth
        Vendor::Azure => parts.len() == 1 && lower_alnum(r) && r.as_bytes()[0].is_ascii_lowercase(),
        // cn-north-4, region-1, dc1-az1: operator-defined
        Vendor::Hcs => parts.iter().all(|p| lower_alnum(p)) && r.as_bytes()[0].is_ascii_lowercase(),
    }
}

fn region_help(v: Vendor) -> &'static str {
    match v {
        Vendor::Aws => "AWS regions look like \"us-east-1\" or \"eu-west-2\"",
        Vendor::Alibaba => "Alibaba Cloud regions look like \"cn-hangzhou\" or \"ap-southeast-1\"",
        Vendor::Azure => "Azure regions are lower-case names like \"eastus\" or \"westeurope\"",
        Vendor::Hcs => {
            "Huawei Cloud Stack regions are lower-case words joined by `-`, like \"cn-north-4\""
        }
    }
}
