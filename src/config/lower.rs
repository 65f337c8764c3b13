//! Lowering: one file's syntax tree -> typed pieces of the model, with diagnostics.
//!
//! Each block is checked on its own here (attributes, types, values); checks
//! that need every file (duplicates, references, cycles) run in `check`.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use hcl::edit::Span as _;
use hcl::edit::structure::{Block, Body, Structure};

use super::eval::{Eval, Spanned, Value};
use super::model::*;
use super::suggest::did_you_mean;
use super::{AGE_ARMOR_BEGIN, AGE_ARMOR_END, AGE_HEADER};
use crate::diag::{Diagnostic, Diagnostics};
use crate::diag::{FileId, SourceFile, Span};

/// Everything lowered from all files, before cross-file checks.
#[derive(Default)]
pub(super) struct Lowered {
    pub settings: Vec<(Settings, Span)>,
    /// Every account block with a well-formed address, valid or not, in file order:
    /// references and duplicates are checked against these.
    pub declared: Vec<Declared>,
    /// The accounts that passed every per-block check.
    pub accounts: Vec<Account>,
    pub moved: Vec<Moved>,
}

/// An account block's address and dependencies, kept even when the block has errors.
pub(super) struct Declared {
    pub address: Address,
    pub span: Span,
    pub depends_on: Vec<(Address, Span)>,
}

impl Lowered {
    /// Appends the pieces of a later file.
    pub fn extend(&mut self, other: Lowered) {
        self.settings.extend(other.settings);
        self.declared.extend(other.declared);
        self.accounts.extend(other.accounts);
        self.moved.extend(other.moved);
    }
}

const TOP_BLOCKS: &[&str] = &["tether", "account", "moved"];
const SETTINGS_ATTRS: &[&str] = &["state", "snapshots", "recipients", "parallelism"];
const COMMON_ATTRS: &[&str] = &[
    "regions",
    "resource_types",
    "tags",
    "depends_on",
    "api_endpoint",
];

/// Most accounts one `parallelism` setting may ask for at once.
pub const MAX_PARALLELISM: u64 = 1000;

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

pub(super) fn lower_file(
    dir: &Path,
    id: FileId,
    file: &SourceFile,
    out: &mut Lowered,
    diags: &mut Diagnostics,
) {
    let body = match hcl::edit::parser::parse_body(&file.text) {
        Ok(b) => b,
        Err(e) => {
            diags.push(parse_error(id, file, &e));
            return;
        }
    };
    let mut l = Lower {
        dir,
        src: file,
        ev: Eval {
            file: id,
            text: &file.text,
        },
        diags: Vec::new(),
    };
    for st in body.iter() {
        match st {
            Structure::Attribute(a) => {
                let name = a.key.as_str();
                let mut d =
                    Diagnostic::error(format!("unexpected attribute `{name}` at top level"))
                        .at(l.span(a.span()));
                d = d.help(match name {
                    "state" | "snapshots" | "recipients" | "parallelism" => {
                        format!("`{name}` is a setting: put it inside the `tether {{ … }}` block")
                    }
                    _ => "attributes go inside a `tether` or `account` block".to_string(),
                });
                l.diags.push(d);
            }
            Structure::Block(b) => match b.ident.as_str() {
                "tether" => l.settings(b, out),
                "account" => l.account(b, out),
                "moved" => l.moved(b, out),
                other => {
                    let mut d = Diagnostic::error(format!("unknown block type `{other}`"))
                        .at(l.span(b.ident.span()));
                    d = match did_you_mean(other, TOP_BLOCKS) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("the blocks are `tether`, `account` and `moved`"),
                    };
                    l.diags.push(d);
                }
            },
        }
    }
    for d in l.diags {
        diags.push(d);
    }
}

fn parse_error(id: FileId, file: &SourceFile, e: &hcl::edit::parser::Error) -> Diagnostic {
    let loc = e.location();
    // The parser's location is 1-based line/column; map it back to a byte offset.
    let at = line_col_to_byte(&file.text, loc.line(), loc.column()).unwrap_or(loc.offset());
    let msg = e.message().trim();
    let summary = if msg.is_empty() {
        "syntax error".to_string()
    } else {
        format!("syntax error: {}", first_line(msg))
    };
    Diagnostic::error(summary).at(Span::new(id, at..at))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn line_col_to_byte(text: &str, line: usize, col: usize) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[start..];
    let off = rest
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    Some(start + off)
}

struct Lower<'a> {
    dir: &'a Path,
    src: &'a SourceFile,
    ev: Eval<'a>,
    diags: Vec<Diagnostic>,
}

/// The attributes of one block, evaluated, with the block's header span.
struct Attrs {
    header: Span,
    values: BTreeMap<String, (Spanned<Value>, Span)>,
    /// Attributes present but already reported (bad value, or a typo whose
    /// "did you mean" names them): never also reported as missing.
    reported: std::collections::BTreeSet<String>,
}

impl Attrs {
    fn take(&mut self, name: &str) -> Option<(Spanned<Value>, Span)> {
        self.values.remove(name)
    }
}

impl Lower<'_> {
    fn span(&self, r: Option<std::ops::Range<usize>>) -> Span {
        self.ev.span_of(r)
    }

    /// Header span: from the block identifier to the end of its last label.
    fn header_span(&self, b: &Block) -> Span {
        let start = b.ident.span().map(|r| r.start).unwrap_or(0);
        let end = b
            .labels
            .last()
            .and_then(|l| l.span())
            .or_else(|| b.ident.span())
            .map(|r| r.end)
            .unwrap_or(start);
        Span::new(self.ev.file, start..end)
    }

    /// Evaluates the attributes of `body`; unknown ones, duplicates and nested
    /// blocks are reported. `allowed` lists every known attribute.
    fn attrs(&mut self, header: Span, body: &Body, allowed: &[&str], what: &str) -> Attrs {
        let mut values: BTreeMap<String, (Spanned<Value>, Span)> = BTreeMap::new();
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        let mut reported = std::collections::BTreeSet::new();
        for st in body.iter() {
            match st {
                Structure::Attribute(a) => {
                    let name = a.key.as_str();
                    let key_span = self.span(a.key.span());
                    if let Some(first) = seen.get(name) {
                        let line = self.src.pos(first.range.start).line;
                        self.diags.push(
                            Diagnostic::error(format!("attribute `{name}` is set twice"))
                                .at(key_span)
                                .detail(format!("first set on line {line}"))
                                .help("remove one of them"),
                        );
                        continue;
                    }
                    seen.insert(name.to_string(), key_span.clone());
                    if !allowed.contains(&name) {
                        let d = Diagnostic::error(format!("unknown attribute `{name}` in {what}"))
                            .at(key_span);
                        if let Some(s) = did_you_mean(name, allowed) {
                            reported.insert(s.to_string());
                        }
                        self.diags.push(self.unknown_attr_help(d, name, allowed));
                        continue;
                    }
                    let mut ds = Vec::new();
                    match self.ev.eval(&a.value, &mut ds) {
                        Some(v) => {
                            values.insert(name.to_string(), (v, key_span));
                        }
                        None => {
                            reported.insert(name.to_string());
                        }
                    }
                    self.diags.extend(ds);
                }
                Structure::Block(b) => {
                    let name = b.ident.as_str();
                    let mut d = Diagnostic::error(format!("unexpected block `{name}` in {what}"))
                        .at(self.span(b.ident.span()));
                    d = if allowed.contains(&name) {
                        d.help(format!("`{name}` is an attribute: write `{name} = …`"))
                    } else {
                        d.help(format!("{what} takes attributes only"))
                    };
                    self.diags.push(d);
                }
            }
        }
        Attrs {
            header,
            values,
            reported,
        }
    }

    fn unknown_attr_help(&self, d: Diagnostic, name: &str, allowed: &[&str]) -> Diagnostic {
        if let Some(s) = did_you_mean(name, allowed) {
            return d.help(format!("did you mean `{s}`?"));
        }
        for v in Vendor::ALL {
            if vendor_attrs(v).contains(&name) {
                return d.help(format!("`{name}` belongs to `{v}` accounts"));
            }
        }
        d.help(format!(
            "the attributes here are: {}",
            allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    fn settings(&mut self, b: &Block, out: &mut Lowered) {
        let header = self.header_span(b);
        if !b.labels.is_empty() {
            self.diags.push(
                Diagnostic::error("the `tether` block takes no labels")
                    .at(header.clone())
                    .help("write `tether { … }`"),
            );
            return;
        }
        if b.body.is_empty() {
            self.diags.push(
                Diagnostic::error("the `tether` settings block is empty")
                    .at(header)
                    .help("set at least one of `state`, `snapshots`, `recipients`, `parallelism`, or remove the block"),
            );
            return;
        }
        let mut a = self.attrs(
            header.clone(),
            &b.body,
            SETTINGS_ATTRS,
            "the `tether` block",
        );
        let mut s = Settings {
            span: Some(header.clone()),
            ..Settings::default()
        };
        if let Some((v, _)) = a.take("state") {
            if let Some(p) = self.path_setting("state", v) {
                s.state = p.into();
            }
        }
        if let Some((v, _)) = a.take("snapshots") {
            if let Some(p) = self.path_setting("snapshots", v) {
                s.snapshots = p.into();
            }
        }
        if let Some((v, _)) = a.take("parallelism") {
            match &v.v {
                Value::Number(n) => match n.parse::<u64>() {
                    Ok(p) if (1..=MAX_PARALLELISM).contains(&p) => s.parallelism = p as u32,
                    _ => self.diags.push(
                        Diagnostic::error(format!(
                            "`parallelism` must be a whole number from 1 to {MAX_PARALLELISM}, found {}",
                            clip_value(n)
                        ))
                        .at(v.span),
                    ),
                },
                other => self.wrong_type("parallelism", "number", other, v.span.clone()),
            }
        }
        if let Some((v, _)) = a.take("recipients") {
            if let Some(items) = self.string_list("recipients", v) {
                for (r, span) in items {
                    match check_recipient(&r) {
                        Ok(()) => {
                            s.recipients.push(r);
                            s.recipient_spans.push(span);
                        }
                        Err(msg) => self.diags.push(
                            Diagnostic::error(msg)
                                .at(span)
                                .sensitive_if(r.starts_with("AGE-SECRET-KEY-"))
                                .help("use an age recipient (`age1…`, printed by `tether secrets keygen` or `age-keygen -y`) or an SSH public key (`ssh-ed25519 AAAA…`, `ssh-rsa AAAA…`)"),
                        ),
                    }
                }
            }
        }
        out.settings.push((s, a.header));
    }

    fn path_setting(&mut self, name: &str, v: Spanned<Value>) -> Option<String> {
        match v.v {
            Value::String(s) if !s.trim().is_empty() => {
                if s.contains('\0') {
                    self.diags.push(
                        Diagnostic::error(format!("`{name}` contains a NUL byte")).at(v.span),
                    );
                    return None;
                }
                Some(s)
            }
            Value::String(_) => {
                self.diags
                    .push(Diagnostic::error(format!("`{name}` must not be empty")).at(v.span));
                None
            }
            other => {
                self.wrong_type(name, "string", &other, v.span);
                None
            }
        }
    }

    fn wrong_type(&mut self, name: &str, expected: &str, found: &Value, span: Span) {
        let mut d = Diagnostic::error(format!(
            "`{name}` must be a {expected}, found {}",
            found.type_name()
        ))
        .at(span);
        if expected == "string" {
            if let Value::Number(n) = found {
                d = d.help(format!("quote it: `{name} = \"{}\"`", clip_value(n)));
            }
        }
        self.diags.push(d);
    }

    fn string_list(&mut self, name: &str, v: Spanned<Value>) -> Option<Vec<(String, Span)>> {
        let Value::List(items) = v.v else {
            let mut d = Diagnostic::error(format!(
                "`{name}` must be a list of strings, found {}",
                v.v.type_name()
            ))
            .at(v.span);
            if let Value::String(_) = v.v {
                d = d.help(format!("wrap it in brackets: `{name} = [\"…\"]`"));
            }
            self.diags.push(d);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for it in items {
            match it.v {
                Value::String(s) => out.push((s, it.span)),
                other => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::error(format!(
                            "`{name}` must contain only strings, found {}",
                            other.type_name()
                        ))
                        .at(it.span),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    fn account(&mut self, b: &Block, out: &mut Lowered) {
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
            depends_on: common.depends_on.into_iter().map(|(a, _)| a).collect(),
            api_endpoint: common.api_endpoint,
            span: Some(header),
        });
    }

    /// Span of an attribute's value expression in `body`.
    fn value_span(&self, body: &Body, name: &str) -> Span {
        self.span(body.get_attribute(name).and_then(|a| a.value.span()))
    }

    fn required_string(&mut self, a: &mut Attrs, addr: &Address, attr: &str) -> Option<String> {
        match a.take(attr) {
            None if a.reported.contains(attr) => None,
            None => {
                self.diags.push(
                    Diagnostic::error(format!("missing required attribute `{attr}` in `{addr}`"))
                        .at(a.header.clone())
                        .help(format!("add `{attr} = \"…\"` to the block")),
                );
                None
            }
            Some((v, _)) => match v.v {
                Value::String(s) if !s.trim().is_empty() => Some(s),
                Value::String(_) => {
                    self.diags
                        .push(Diagnostic::error(format!("`{attr}` must not be empty")).at(v.span));
                    None
                }
                other => {
                    self.wrong_type(attr, "string", &other, v.span);
                    None
                }
            },
        }
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

    fn secret(&mut self, addr: &Address, attr: &str, v: Spanned<Value>) -> Option<SecretRef> {
        let how = format!(
            "encrypt it with `tether secrets set {addr} {attr}` (reads the value from stdin), or `tether secrets encrypt < plain > secret.age` and write `{attr} = file(\"secret.age\")`"
        );
        match v.v {
            Value::String(s) => {
                let t = s.trim();
                if t.starts_with(AGE_ARMOR_BEGIN) {
                    if let Err(why) = check_armored(t) {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "`{attr}` of `{addr}` is damaged age ciphertext: {why}"
                            ))
                            .at(v.span)
                            .sensitive()
                            .help(format!("re-encrypt the secret: {how}")),
                        );
                        return None;
                    }
                    return Some(SecretRef {
                        attribute: attr.to_string(),
                        source: SecretSource::Inline {
                            armored: t.to_string(),
                        },
                        span: Some(v.span),
                    });
                }
                self.diags.push(
                    Diagnostic::error(format!(
                        "`{attr}` of `{addr}` is plaintext; secrets must be age-encrypted"
                    ))
                    .at(v.span)
                    .sensitive()
                    .help(how),
                );
                None
            }
            Value::File(p) => {
                let resolved = self.dir.join(&p);
                match check_secret_file(&resolved) {
                    Ok(()) => Some(SecretRef {
                        attribute: attr.to_string(),
                        source: SecretSource::File {
                            path: p.clone(),
                            resolved: Path::new(&p).to_path_buf(),
                        },
                        span: Some(v.span),
                    }),
                    Err(FileProblem::Missing(e)) => {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "secret file \"{}\" of `{addr}` cannot be read: {e}",
                                clip_value(&p)
                            ))
                            .at(v.span)
                            .help("paths in `file()` are relative to the config directory"),
                        );
                        None
                    }
                    Err(FileProblem::Plaintext) => {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "secret file \"{}\" of `{addr}` is not age-encrypted",
                                clip_value(&p)
                            ))
                            .at(v.span)
                            .help(format!(
                                "encrypt it: `tether secrets encrypt < {p} > {p}.age`, then point `file()` at the .age file and delete the plaintext"
                            )),
                        );
                        None
                    }
                    Err(FileProblem::Damaged(why)) => {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "secret file \"{}\" of `{addr}` is damaged age ciphertext: {why}",
                                clip_value(&p)
                            ))
                            .at(v.span),
                        );
                        None
                    }
                }
            }
            other => {
                self.diags.push(
                    Diagnostic::error(format!(
                        "`{attr}` must be age ciphertext (armored text or `file(\"….age\")`), found {}",
                        other.type_name()
                    ))
                    .at(v.span)
                    .sensitive()
                    .help(how),
                );
                None
            }
        }
    }

    fn common(&mut self, vendor: Vendor, addr: &Address, a: &mut Attrs) -> Common {
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
        c.ok = ok;
        c
    }

    fn moved(&mut self, b: &Block, out: &mut Lowered) {
        let header = self.header_span(b);
        if !b.labels.is_empty() {
            self.diags.push(
                Diagnostic::error("the `moved` block takes no labels")
                    .at(header)
                    .help("write `moved { from = aws.old, to = aws.new }`"),
            );
            return;
        }
        let mut a = self.attrs(header.clone(), &b.body, &["from", "to"], "a `moved` block");
        let mut ends = Vec::new();
        for end in ["from", "to"] {
            match a.take(end) {
                None => self.diags.push(
                    Diagnostic::error(format!("missing required attribute `{end}` in `moved`"))
                        .at(header.clone())
                        .help(format!("add `{end} = aws.name`")),
                ),
                Some((v, _)) => match reference(&v.v) {
                    Some(Ok(addr)) => ends.push(addr),
                    Some(Err(e)) => self.diags.push(
                        Diagnostic::error(format!("invalid account address in `{end}`: {e}"))
                            .at(v.span),
                    ),
                    None => self.diags.push(
                        Diagnostic::error(format!(
                            "`{end}` must be an account address, found {}",
                            v.v.type_name()
                        ))
                        .at(v.span)
                        .help(format!("write `{end} = aws.name`")),
                    ),
                },
            }
        }
        if let Ok([from, to]) = <[Address; 2]>::try_from(ends) {
            if from.vendor != to.vendor {
                self.diags.push(
                    Diagnostic::error(format!(
                        "`moved` cannot change the vendor (`{from}` -> `{to}`)"
                    ))
                    .at(header)
                    .help("an account moves to a new name within its vendor"),
                );
                return;
            }
            if from == to {
                self.diags
                    .push(Diagnostic::error(format!("`moved` from `{from}` to itself")).at(header));
                return;
            }
            out.moved.push(Moved {
                from,
                to,
                span: Some(header),
            });
        }
    }
}

#[derive(Default)]
struct Common {
    regions: Option<Vec<String>>,
    resource_types: Option<Vec<String>>,
    tags: BTreeMap<String, String>,
    depends_on: Vec<(Address, Span)>,
    api_endpoint: Option<String>,
    ok: bool,
}

/// A reference value (`aws.prod` or "aws.prod") as an address; `None` when the value is neither.
fn reference(v: &Value) -> Option<Result<Address, super::model::AddressError>> {
    match v {
        Value::Ref(parts) => Some(parts.join(".").parse()),
        Value::String(s) => Some(s.parse()),
        _ => None,
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

/// Values echoed in messages are cut so a huge value never floods the output.
fn clip_value(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
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

/// Checks that a recipient string parses as an age or SSH recipient.
pub fn check_recipient(r: &str) -> Result<(), String> {
    let shown = clip_value(r);
    if r.starts_with("age1") {
        r.parse::<age::x25519::Recipient>()
            .map(|_| ())
            .map_err(|e| format!("recipient \"{shown}\" is not a valid age X25519 key: {e}"))
    } else if r.starts_with("ssh-") {
        r.parse::<age::ssh::Recipient>()
            .map(|_| ())
            .map_err(|_| format!("recipient \"{shown}\" is not a supported SSH public key (ssh-ed25519 or ssh-rsa of at least 2048 bits)"))
    } else if r.starts_with("AGE-SECRET-KEY-") {
        // Never echo a private key back.
        Err("this is an age identity (a private key), not a recipient; use its public key (`age-keygen -y`)".into())
    } else {
        Err(format!(
            "recipient \"{shown}\" is neither an age (`age1…`) nor an SSH public key"
        ))
    }
}

/// Largest age header read when checking a `file()` secret (many recipients
/// make a long header; a megabyte is thousands of them).
const MAX_AGE_HEADER: u64 = 1024 * 1024;

/// An armored value must decode to a well-formed age file (header and payload length).
fn check_armored(t: &str) -> Result<(), String> {
    if !t.ends_with(AGE_ARMOR_END) {
        return Err("the `-----END AGE ENCRYPTED FILE-----` line is missing".into());
    }
    let mut r = age::armor::ArmoredReader::new(t.as_bytes());
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "it is truncated".to_string(),
        _ => format!("the armor does not decode ({e})"),
    })?;
    if !bytes.starts_with(AGE_HEADER.as_bytes()) {
        return Err("the armor does not hold an age file".into());
    }
    super::age_header::check(&bytes, bytes.len() as u64).map(|_| ())
}

enum FileProblem {
    Missing(String),
    Plaintext,
    Damaged(String),
}

/// A `file()` secret must be a regular file holding a well-formed age file,
/// binary or armored. Opened without blocking (a FIFO or `/dev/stdin` is
/// refused, never waited on) and read once, bounded.
fn check_secret_file(path: &Path) -> Result<(), FileProblem> {
    let f = crate::fsutil::open_regular(path).map_err(|e| FileProblem::Missing(io_reason(&e)))?;
    let total = f
        .metadata()
        .map_err(|e| FileProblem::Missing(io_reason(&e)))?
        .len();
    let mut head = Vec::with_capacity(1024);
    (&f).take(MAX_AGE_HEADER)
        .read_to_end(&mut head)
        .map_err(|e| FileProblem::Missing(io_reason(&e)))?;
    if head.starts_with(AGE_HEADER.as_bytes()) {
        return super::age_header::check(&head, total)
            .map(|_| ())
            .map_err(|why| {
                if head.len() as u64 >= MAX_AGE_HEADER && why.starts_with("the header ends") {
                    FileProblem::Damaged(format!(
                        "its age header is longer than the {MAX_AGE_HEADER} bytes tether reads"
                    ))
                } else {
                    FileProblem::Damaged(why)
                }
            });
    }
    let start = head
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(head.len());
    if head[start..].starts_with(AGE_ARMOR_BEGIN.as_bytes()) {
        if total > super::files::MAX_FILE_BYTES {
            return Err(FileProblem::Damaged(format!(
                "it is {total} bytes, larger than the {} bytes tether reads",
                super::files::MAX_FILE_BYTES
            )));
        }
        (&f).take(super::files::MAX_FILE_BYTES)
            .read_to_end(&mut head)
            .map_err(|e| FileProblem::Damaged(io_reason(&e)))?;
        let all = std::str::from_utf8(&head)
            .map_err(|_| FileProblem::Damaged("the armor is not ASCII text".into()))?;
        return check_armored(all.trim()).map_err(FileProblem::Damaged);
    }
    Err(FileProblem::Plaintext)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
