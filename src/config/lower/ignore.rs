//! `ignore "name" { … }` blocks: drift findings known to be harmless, with
//! what they match (`account`, `type`, `resource`, `tag`, `attribute`), a
//! required `reason`, an optional `owner` and `until` date.

use hcl::edit::structure::Block;

use super::attrs::{clip_value, reference};
use super::{Lower, Lowered};
use crate::config::eval::Value;
use crate::config::model::*;
use crate::config::suggest::did_you_mean;
use crate::diag::Diagnostic;

const IGNORE_ATTRS: &[&str] = &[
    "account",
    "type",
    "resource",
    "tag",
    "attribute",
    "reason",
    "owner",
    "until",
];

/// What a changed field's path starts with (`snapshot::diff`).
const FIELD_ROOTS: &[&str] = &["native_type", "name", "status", "tags", "attributes"];

impl Lower<'_> {
    pub(super) fn ignore(&mut self, b: &Block, out: &mut Lowered) {
        let header = self.header_span(b);
        let name = match b.labels.as_slice() {
            [l] => l.as_str().to_string(),
            _ => {
                self.diags.push(
                    Diagnostic::error("an `ignore` block takes one label, its name")
                        .at(header)
                        .help("write `ignore \"scanner_tags\" { … }`"),
                );
                return;
            }
        };
        if !is_rule_name(&name) {
            self.diags.push(
                Diagnostic::error(format!(
                    "invalid ignore rule name \"{}\"",
                    clip_value(&name)
                ))
                .at(header)
                .help("a name is letters, digits, `_` and `-`, starting with a letter"),
            );
            return;
        }
        out.ignore_declared.push((name.clone(), header.clone()));
        let before = self.diags.len();
        let mut a = self.attrs(header.clone(), &b.body, IGNORE_ATTRS, "an `ignore` block");
        let mut rule = IgnoreRule {
            name: name.clone(),
            account: None,
            kind: None,
            resource: None,
            tag: None,
            attribute: None,
            reason: String::new(),
            owner: None,
            until: None,
            span: Some(header.clone()),
        };
        if let Some((v, _)) = a.take("account") {
            match reference(&v.v) {
                Some(_) => {
                    let text = match &v.v {
                        Value::Ref(parts) => parts.join("."),
                        Value::String(s) => s.clone(),
                        _ => String::new(),
                    };
                    match account_glob(&text) {
                        Ok(()) => rule.account = Some(text),
                        Err(why) => self.diags.push(
                            Diagnostic::error(format!(
                                "invalid account in `ignore \"{name}\"`: {why}"
                            ))
                            .at(v.span)
                            .help("write an address (`aws.prod`) or a glob (`aws.*`, `*.sandbox`)"),
                        ),
                    }
                }
                None => self.wrong_type("account", "string", &v.v, v.span),
            }
        }
        if let Some((v, _)) = a.take("type") {
            match v.v {
                Value::String(t) => {
                    let known = all_resource_types();
                    if known.contains(&t.as_str()) {
                        rule.kind = Some(t);
                    } else {
                        let d = Diagnostic::error(format!(
                            "unknown resource type \"{}\"",
                            clip_value(&t)
                        ))
                        .at(v.span);
                        self.diags.push(match did_you_mean(&t, &known) {
                            Some(s) => d.help(format!("did you mean \"{s}\"?")),
                            None => d.help(format!("the types are: {}", known.join(", "))),
                        });
                    }
                }
                other => self.wrong_type("type", "string", &other, v.span),
            }
        }
        for attr in ["resource", "attribute"] {
            let Some((v, _)) = a.take(attr) else { continue };
            let text = match v.v {
                Value::String(t) => t,
                other => {
                    self.wrong_type(attr, "string", &other, v.span);
                    continue;
                }
            };
            let checked = if attr == "resource" {
                resource_glob(&text)
            } else {
                attribute_glob(&text)
            };
            match checked {
                Ok(()) if attr == "resource" => rule.resource = Some(text),
                Ok(()) => rule.attribute = Some(text),
                Err(why) => self.diags.push(
                    Diagnostic::error(format!("invalid `{attr}` in `ignore \"{name}\"`: {why}"))
                        .at(v.span)
                        .help(if attr == "resource" {
                            "a resource address is `<account>/<region>/<type>/<id>`; `*` and `?` are globs (`aws.prod/*/instance/i-0abc*`)"
                        } else {
                            "a field path is `name`, `status`, `native_type`, `tags.<key>` or `attributes.<name>`; `*` and `?` are globs (`tags.last_*`)"
                        }),
                ),
            }
        }
        if let Some((v, _)) = a.take("tag") {
            match v.v {
                Value::String(t) => {
                    let (key, value) = match t.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (t.clone(), None),
                    };
                    if key.is_empty() {
                        self.diags.push(
                            Diagnostic::error("the tag's key must not be empty")
                                .at(v.span)
                                .help("write `tag = \"key\"` or `tag = \"key=value\"`"),
                        );
                    } else {
                        rule.tag = Some(TagMatch { key, value });
                    }
                }
                other => self.wrong_type("tag", "string", &other, v.span),
            }
        }
        let mut reason_given = false;
        for attr in ["reason", "owner"] {
            let Some((v, _)) = a.take(attr) else { continue };
            reason_given |= attr == "reason";
            match v.v {
                Value::String(t) if !t.trim().is_empty() => {
                    if attr == "reason" {
                        rule.reason = t;
                    } else {
                        rule.owner = Some(t);
                    }
                }
                Value::String(_) => self
                    .diags
                    .push(Diagnostic::error(format!("`{attr}` must not be empty")).at(v.span)),
                other => self.wrong_type(attr, "string", &other, v.span),
            }
        }
        if !reason_given {
            self.diags.push(
                Diagnostic::error(format!("`ignore \"{name}\"` has no `reason`"))
                    .at(header.clone())
                    .help("say why these findings are harmless: `reason = \"…\"` (shown wherever they are)"),
            );
        }
        if let Some((v, _)) = a.take("until") {
            match v.v {
                Value::String(t) => match t.parse::<jiff::civil::Date>() {
                    Ok(d) if t.len() == 10 => rule.until = Some(d.to_string()),
                    _ => self.diags.push(
                        Diagnostic::error(format!(
                            "`until` must be a date as YYYY-MM-DD, found \"{}\"",
                            clip_value(&t)
                        ))
                        .at(v.span)
                        .help("the rule matches through that day (UTC): `until = \"2027-03-31\"`"),
                    ),
                },
                other => self.wrong_type("until", "string", &other, v.span),
            }
        }
        let matches_something = rule.account.is_some()
            || rule.kind.is_some()
            || rule.resource.is_some()
            || rule.tag.is_some()
            || rule.attribute.is_some();
        if self.diags.len() != before {
            return;
        }
        if !matches_something {
            self.diags.push(
                Diagnostic::error(format!("`ignore \"{name}\"` matches nothing in particular"))
                    .at(header)
                    .help("say what it ignores with at least one of `account`, `type`, `resource`, `tag`, `attribute`"),
            );
            return;
        }
        out.ignore.push(rule);
    }
}

/// Letters, digits, `_` and `-`, starting with a letter.
fn is_rule_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && s.len() <= 64
}

/// Every vendor's resource types, sorted, once each.
fn all_resource_types() -> Vec<&'static str> {
    let mut all: Vec<&str> = Vendor::ALL
        .iter()
        .flat_map(|v| resource_types(*v).iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// A glob tether compiles: `*`, `?` and `[…]` classes; no `{a,b}`
/// alternation, no `**`, no escapes (an address has no use for them).
fn compiles(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.contains(['{', '}', '\\']) || s.contains("**") {
        return Err("only `*`, `?` and `[…]` are globs here".into());
    }
    if s.chars().any(char::is_control) {
        return Err("it contains a control character".into());
    }
    globset::Glob::new(s)
        .map(|_| ())
        .map_err(|e| format!("{}", e.kind()))
}

fn account_glob(s: &str) -> Result<(), String> {
    compiles(s)?;
    let Some((vendor, name)) = s.split_once('.') else {
        return Err(format!("\"{}\" is not `<vendor>.<name>`", clip_value(s)));
    };
    if name.is_empty() || name.contains(['.', '/']) {
        return Err(format!("\"{}\" is not `<vendor>.<name>`", clip_value(s)));
    }
    let is_glob = |p: &str| p.contains(['*', '?', '[']);
    if !is_glob(vendor) && !Vendor::ALL.iter().any(|v| v.as_str() == vendor) {
        return Err(format!(
            "unknown vendor `{}` (the vendors are aws, alibaba, azure, hcs)",
            clip_value(vendor)
        ));
    }
    Ok(())
}

fn resource_glob(s: &str) -> Result<(), String> {
    compiles(s)?;
    if !s.contains(['*', '?', '[']) && s.split('/').count() != 4 {
        return Err(format!(
            "\"{}\" is not `<account>/<region>/<type>/<id>`",
            clip_value(s)
        ));
    }
    Ok(())
}

fn attribute_glob(s: &str) -> Result<(), String> {
    compiles(s)?;
    let root = s.split('.').next().unwrap_or(s);
    let is_glob = root.contains(['*', '?', '[']);
    if !is_glob && !FIELD_ROOTS.contains(&root) {
        return Err(format!(
            "`{}` is not a field a change names",
            clip_value(root)
        ));
    }
    if matches!(root, "tags" | "attributes") && !s.contains('.') {
        return Err(format!("name the field: `{root}.<name>` or `{root}.*`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_paths() {
        assert!(account_glob("aws.prod").is_ok());
        assert!(account_glob("aws.*").is_ok());
        assert!(account_glob("*.sandbox").is_ok());
        assert!(account_glob("gcp.x").is_err());
        assert!(account_glob("aws").is_err());
        assert!(account_glob("aws.{a,b}").is_err());
        assert!(resource_glob("aws.prod/eu-west-1/instance/i-1").is_ok());
        assert!(resource_glob("aws.prod/*").is_ok());
        assert!(resource_glob("aws.prod/eu-west-1").is_err());
        assert!(attribute_glob("tags.last_scanned").is_ok());
        assert!(attribute_glob("attributes.*").is_ok());
        assert!(attribute_glob("status").is_ok());
        assert!(attribute_glob("tags").is_err());
        assert!(attribute_glob("tag.x").is_err());
        assert!(attribute_glob("[").is_err());
        assert!(is_rule_name("scanner_tags-1"));
        assert!(!is_rule_name("1x"));
        assert!(!is_rule_name("a b"));
    }
}
