//! Rendering snapshot data: human (Terraform-like), JSON documents,
//! markdown for pull requests, CSV. Pure functions returning text; the
//! printer in `cli` writes it.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use crate::inventory::Resource;
use crate::problem::ProblemKind;
use crate::snapshot::diff::{Changed, Diff, FieldChange};
use crate::snapshot::manifest::Manifest;

/// `format_version` of the JSON documents of `tether snapshot`. 2: a
/// failed partition (`show`) and a partition not compared because it failed
/// (`diff`) carry the failure's `kind`, `code` and `request_id`.
pub const FORMAT_VERSION: &str = "2";

/// Default size budget of a markdown comment, in characters.
pub const DEFAULT_BUDGET: usize = 60_000;

/// Marker line that lets CI find and update the comment.
pub const MARKER: &str = "<!-- tether-snapshot-diff -->";

/// Values longer than this (or multi-line, or JSON objects/arrays) are shown as a line diff.
const LONG: usize = 60;

/// `tether snapshot diff --format json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DiffJson<'a> {
    pub format_version: &'static str,
    /// The older side: a version id.
    pub from: u64,
    pub to: u64,
    pub summary: DiffSummary,
    #[serde(flatten)]
    pub diff: &'a Diff,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DiffSummary {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub accounts_removed: usize,
    pub not_compared: usize,
}

impl<'a> DiffJson<'a> {
    pub fn new(from: u64, to: u64, diff: &'a Diff) -> DiffJson<'a> {
        DiffJson {
            format_version: FORMAT_VERSION,
            from,
            to,
            summary: summary(diff),
            diff,
        }
    }
}

pub fn summary(d: &Diff) -> DiffSummary {
    summary_with(d, Counts::of(d))
}

/// The lengths of a diff's three lists of resources, for a diff whose
/// resources are printed as they come rather than held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
}

impl Counts {
    pub fn of(d: &Diff) -> Counts {
        Counts {
            added: d.added.len(),
            removed: d.removed.len(),
            changed: d.changed.len(),
        }
    }

    fn any(&self) -> bool {
        self.added + self.removed + self.changed > 0
    }
}

/// The summary of `d` whose lists hold `n` resources.
fn summary_with(d: &Diff, n: Counts) -> DiffSummary {
    DiffSummary {
        added: n.added,
        removed: n.removed,
        changed: n.changed,
        accounts_removed: d.accounts_removed.len(),
        not_compared: d.not_compared.len(),
    }
}

/// One line per fact: `3 added, 1 changed, 2 removed; …`.
pub fn summary_line(d: &Diff) -> String {
    summary_line_with(d, Counts::of(d))
}

pub(crate) fn summary_line_with(d: &Diff, n: Counts) -> String {
    if !n.any() && d.accounts_removed.is_empty() && d.not_compared.is_empty() {
        return "No changes.".into();
    }
    let mut s = format!(
        "{} added, {} changed, {} removed",
        n.added, n.changed, n.removed
    );
    if !d.accounts_removed.is_empty() {
        let n: u64 = d.accounts_removed.iter().map(|a| a.resources).sum();
        let _ = write!(
            s,
            "; {} account{} removed ({n} resource{})",
            d.accounts_removed.len(),
            plural(d.accounts_removed.len()),
            plural(n as usize)
        );
    }
    if !d.not_compared.is_empty() {
        let _ = write!(
            s,
            "; {} partition{} not compared (failed or skipped)",
            d.not_compared.len(),
            plural(d.not_compared.len())
        );
    }
    s.push('.');
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn value_text(v: &serde_json::Value) -> String {
    v.to_string()
}

fn is_long(v: Option<&serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::String(s)) => s.len() > LONG || s.contains('\n'),
        Some(serde_json::Value::Object(_)) | Some(serde_json::Value::Array(_)) => {
            value_text(v.unwrap_or(&serde_json::Value::Null)).len() > LONG
        }
        _ => false,
    }
}

fn long_text(v: Option<&serde_json::Value>) -> String {
    match v {
        None => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// The lines of one changed field, indented by `pad`.
fn field_lines(out: &mut String, f: &FieldChange, pad: &str) {
    let (b, a) = (f.before.as_ref(), f.after.as_ref());
    if is_long(b) || is_long(a) {
        let sign = match (b, a) {
            (None, _) => '+',
            (_, None) => '-',
            _ => '~',
        };
        let _ = writeln!(out, "{pad}{sign} {}:", f.path);
        let (old, new) = (long_text(b), long_text(a));
        let diff = similar::TextDiff::from_lines(&old, &new);
        for change in diff.iter_all_changes() {
            let tag = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            let line = change.value().trim_end_matches('\n');
            let _ = writeln!(out, "{pad}    {tag} {line}");
        }
        return;
    }
    match (b, a) {
        (None, Some(a)) => {
            let _ = writeln!(out, "{pad}+ {}: {}", f.path, value_text(a));
        }
        (Some(b), None) => {
            let _ = writeln!(out, "{pad}- {}: {}", f.path, value_text(b));
        }
        (Some(b), Some(a)) => {
            let _ = writeln!(
                out,
                "{pad}~ {}: {} -> {}",
                f.path,
                value_text(b),
                value_text(a)
            );
        }
        (None, None) => {}
    }
}

fn resource_line(sign: char, r: &Resource) -> String {
    let mut s = format!("{sign} {}", r.address);
    let mut extra = vec![r.native_type.clone()];
    if let Some(n) = &r.name {
        extra.push(format!("name={n:?}"));
    }
    if let Some(st) = &r.status {
        extra.push(format!("status={st}"));
    }
    let _ = write!(s, " ({})", extra.join(", "));
    s
}

fn changed_block(c: &Changed, pad: &str) -> String {
    let mut s = format!("{pad}~ {}\n", c.address);
    let inner = format!("{pad}    ");
    for f in &c.fields {
        field_lines(&mut s, f, &inner);
    }
    s
}

/// Human diff, Terraform-like: `+` added, `~` changed, `-` removed.
pub fn diff_human(from: u64, to: u64, d: &Diff) -> String {
    let mut s = diff_human_head(from, to);
    for r in &d.added {
        s.push_str(&diff_human_added(r));
    }
    for c in &d.changed {
        s.push_str(&diff_human_changed(c));
    }
    for r in &d.removed {
        s.push_str(&diff_human_removed(r));
    }
    let blank = s.ends_with("\n\n");
    s.push_str(&diff_human_tail(d, Counts::of(d), blank));
    s
}

/// What [`diff_human`] prints first.
pub fn diff_human_head(from: u64, to: u64) -> String {
    format!("Snapshot {from} -> {to}\n\n")
}

/// One added resource of [`diff_human`].
pub fn diff_human_added(r: &Resource) -> String {
    format!("  {}\n", resource_line('+', r))
}

/// One changed resource of [`diff_human`].
pub fn diff_human_changed(c: &Changed) -> String {
    changed_block(c, "  ")
}

/// One removed resource of [`diff_human`].
pub fn diff_human_removed(r: &Resource) -> String {
    format!("  {}\n", resource_line('-', r))
}

/// What [`diff_human`] prints after the resources (accounts removed,
/// partitions not compared, the summary line) for a diff whose lists hold
/// `n` resources; `blank`: what was printed before ends with a blank line.
pub fn diff_human_tail(d: &Diff, counts: Counts, blank: bool) -> String {
    let mut s = String::new();
    let gap = |s: &mut String| {
        let ends_blank = if s.is_empty() {
            blank
        } else {
            s.ends_with("\n\n")
        };
        if !ends_blank {
            s.push('\n');
        }
    };
    if !d.accounts_removed.is_empty() {
        gap(&mut s);
        for a in &d.accounts_removed {
            let _ = writeln!(
                s,
                "  account removed: {} ({} resource{} left with it; not drift)",
                a.account,
                a.resources,
                plural(a.resources as usize)
            );
        }
    }
    if !d.not_compared.is_empty() {
        gap(&mut s);
        for n in &d.not_compared {
            let _ = write!(
                s,
                "  not compared: {}/{}/{} ({} -> {})",
                n.account, n.region, n.kind, n.before, n.after
            );
            if let Some(det) = &n.detail {
                let _ = write!(s, ": {det}");
            }
            if n.stale_resources > 0 {
                let _ = write!(
                    s,
                    "; {} stale resource{} kept from an earlier version",
                    n.stale_resources,
                    plural(n.stale_resources as usize)
                );
            }
            s.push('\n');
        }
    }
    gap(&mut s);
    let _ = writeln!(s, "{}", summary_line_with(d, counts));
    s
}

/// `tether snapshot diff --format json` around its three lists, for a diff
/// whose resources are printed as they come: the pretty-printed
/// [`DiffJson`] of `outline` (whose lists are empty) with `counts` in its
/// summary, cut where each list's items go. The document is `frame[0]`,
/// the added items, `frame[1]`, the removed items, `frame[2]`, the changed
/// items, `frame[3]`; each list is written by [`diff_json_item`] and
/// [`diff_json_close`]. The bytes are those of the whole document.
pub fn diff_json_frame(
    from: u64,
    to: u64,
    outline: &Diff,
    counts: Counts,
) -> Result<[String; 4], String> {
    let doc = DiffJson {
        format_version: FORMAT_VERSION,
        from,
        to,
        summary: summary_with(outline, counts),
        diff: outline,
    };
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    text.push('\n');
    let mut frame: [String; 4] = Default::default();
    let mut rest = text.as_str();
    for (i, key) in ["added", "removed", "changed"].iter().enumerate() {
        // A top-level key: a string value never holds a raw line break.
        let marker = format!("\n  \"{key}\": []");
        let at = rest
            .find(&marker)
            .ok_or_else(|| format!("no `{key}` list in the diff document"))?;
        let open = at + marker.len() - 1;
        frame[i] = rest[..open].to_string();
        rest = &rest[open + 1..];
    }
    frame[3] = rest.to_string();
    Ok(frame)
}

/// One item of a list of [`diff_json_frame`] (`first`: the list's first).
pub fn diff_json_item<T: Serialize>(out: &mut String, v: &T, first: bool) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    out.push_str(if first { "\n" } else { ",\n" });
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("    ");
        out.push_str(line);
    }
    Ok(())
}

/// Closes a list of [`diff_json_frame`] that got `n` items.
pub fn diff_json_close(out: &mut String, n: usize) {
    out.push_str(if n > 0 { "\n  ]" } else { "]" });
}

/// Markdown for a pull request: summary table first, details per account in
/// `<details>`, within `budget` characters, the cut said plainly.
pub fn diff_markdown(from: u64, to: u64, d: &Diff, budget: usize) -> String {
    let mut blocks = MarkdownBlocks::new(budget);
    for r in &d.added {
        blocks.added(r);
    }
    for c in &d.changed {
        blocks.changed(c);
    }
    for r in &d.removed {
        blocks.removed(r);
    }
    diff_markdown_with(from, to, d, Counts::of(d), blocks)
}

/// The per-account details of [`diff_markdown`], fed a resource at a time
/// (every added one, then every changed one, then every removed one). An
/// account's text stops growing once it is over the budget: such a block
/// is never shown, so what it holds is bounded by accounts x budget.
pub struct MarkdownBlocks {
    blocks: std::collections::BTreeMap<String, String>,
    budget: usize,
}

impl MarkdownBlocks {
    pub fn new(budget: usize) -> MarkdownBlocks {
        MarkdownBlocks {
            blocks: Default::default(),
            budget,
        }
    }

    fn push(&mut self, account: &crate::config::Address, text: &str) {
        let b = self.blocks.entry(account.to_string()).or_default();
        if b.len() <= self.budget {
            b.push_str(text);
        }
    }

    pub fn added(&mut self, r: &Resource) {
        self.push(&r.account, &format!("{}\n", resource_line('+', r)));
    }

    pub fn changed(&mut self, c: &Changed) {
        self.push(&c.account, &changed_block(c, ""));
    }

    pub fn removed(&mut self, r: &Resource) {
        self.push(&r.account, &format!("{}\n", resource_line('-', r)));
    }
}

/// [`diff_markdown`] of `d`, whose lists hold `counts` resources and whose
/// details are `blocks`.
pub fn diff_markdown_with(
    from: u64,
    to: u64,
    d: &Diff,
    counts: Counts,
    blocks: MarkdownBlocks,
) -> String {
    let budget = blocks.budget;
    let mut head = format!("{MARKER}\n### tether snapshot diff `{from}` → `{to}`\n\n");
    if !counts.any() && d.accounts_removed.is_empty() && d.not_compared.is_empty() {
        head.push_str("**No changes.**\n");
        return head;
    }
    head.push_str("| change | resources |\n|---|---:|\n");
    let gone: u64 = d.accounts_removed.iter().map(|a| a.resources).sum();
    let _ = writeln!(head, "| added | {} |", counts.added);
    let _ = writeln!(head, "| changed | {} |", counts.changed);
    let _ = writeln!(head, "| removed | {} |", counts.removed);
    let _ = writeln!(head, "| account removed | {gone} |");
    head.push('\n');
    if counts.removed > 0 {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> **Removed ({}):** resources gone from partitions read completely on both sides.\n",
            counts.removed
        );
    }
    if !d.accounts_removed.is_empty() {
        let _ = writeln!(
            head,
            "> [!NOTE]\n> **Accounts removed ({}):** {}. Their resources left with them; this is not drift.\n",
            d.accounts_removed.len(),
            d.accounts_removed
                .iter()
                .map(|a| format!("`{}` ({})", a.account, a.resources))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !d.not_compared.is_empty() {
        let stale: u64 = d.not_compared.iter().map(|n| n.stale_resources).sum();
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> **Not compared ({} partition{}):** failed or skipped; {stale} stale resource{} kept, none reported as removed.\n",
            d.not_compared.len(),
            plural(d.not_compared.len()),
            plural(stale as usize)
        );
        for n in &d.not_compared {
            let _ = writeln!(
                head,
                "- `{}/{}/{}`: {} → {}{}",
                n.account,
                n.region,
                n.kind,
                n.before,
                n.after,
                n.detail
                    .as_deref()
                    .map(|x| format!(" ({})", x.replace('\n', " ")))
                    .unwrap_or_default()
            );
        }
        head.push('\n');
    }
    let _ = writeln!(head, "**{}**\n", summary_line_with(d, counts));

    // One block per account, in address order.
    let blocks: Vec<(String, String)> = blocks
        .blocks
        .into_iter()
        .map(|(account, text)| (format!("<code>{account}</code>"), text))
        .collect();
    crate::render::plan_markdown::with_details(
        head,
        &blocks,
        budget,
        &format!("Run `tether snapshot diff {from} {to}` or use `--format json`"),
    )
}

/// `tether snapshot list --format json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListJson {
    pub format_version: &'static str,
    pub versions: Vec<VersionSummary>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VersionSummary {
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    pub time: String,
    pub content_hash: String,
    pub resources: u64,
    pub stale_resources: u64,
    pub accounts: usize,
    pub partitions: usize,
    /// Partitions failed or skipped.
    pub incomplete: usize,
    pub synced_accounts: Vec<String>,
    pub removed_accounts: Vec<String>,
}

impl VersionSummary {
    pub fn of(m: &Manifest) -> VersionSummary {
        VersionSummary {
            id: m.id,
            parent: m.parent,
            time: m.time.clone(),
            content_hash: m.content_hash.clone(),
            resources: m.resources,
            stale_resources: m.stale_resources(),
            accounts: m.accounts.len(),
            partitions: m.partitions().count(),
            incomplete: m.incomplete(),
            synced_accounts: m.synced_accounts.iter().map(|a| a.to_string()).collect(),
            removed_accounts: m.removed_accounts.iter().map(|a| a.to_string()).collect(),
        }
    }
}

pub fn list_human(versions: &[VersionSummary]) -> String {
    let mut s = format!(
        "{:>6}  {:<20}  {:>6}  {:>10}  {:>10}  {:>10}\n",
        "ID", "TIME", "PARENT", "RESOURCES", "PARTITIONS", "INCOMPLETE"
    );
    for v in versions {
        let _ = writeln!(
            s,
            "{:>6}  {:<20}  {:>6}  {:>10}  {:>10}  {:>10}",
            v.id,
            v.time,
            v.parent
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
            v.resources,
            v.partitions,
            v.incomplete
        );
    }
    s
}

/// `tether snapshot show --format json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ShowJson {
    pub format_version: &'static str,
    pub version: VersionSummary,
    /// Partitions matching the filters, with their status.
    pub partitions: Vec<PartitionShow>,
    /// Resources matching the filters, in address order.
    pub resources: Vec<ResourceShow>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PartitionShow {
    pub account: String,
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `complete`, `failed` or `skipped`.
    pub status: String,
    /// The error (`failed`) or why it was not fetched (`skipped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A failed partition's kind of failure (`auth`, `throttled`, …); absent
    /// for failures recorded before tether kept them typed.
    #[serde(rename = "kind", skip_serializing_if = "Option::is_none")]
    pub problem_kind: Option<ProblemKind>,
    /// A failed partition's vendor error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A failed partition's vendor request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub stale: bool,
    pub resources: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ResourceShow {
    #[serde(flatten)]
    pub resource: Resource,
    /// Carried from an earlier version because this version's fetch failed.
    pub stale: bool,
}

/// `snapshot show` (human) before its resources: the summary and the
/// partitions that are not complete. The resources follow, a line each
/// ([`show_human_resource`]), then [`show_human_tail`]; so a version of
/// any size is printed as it is read.
pub fn show_human_head(v: &VersionSummary, partitions: &[PartitionShow]) -> String {
    let mut s = format!(
        "Snapshot {} ({}){}\n  content hash {}\n  {} resources in {} partitions",
        v.id,
        v.time,
        v.parent
            .map(|p| format!(", parent {p}"))
            .unwrap_or_default(),
        v.content_hash,
        v.resources,
        v.partitions
    );
    if v.stale_resources > 0 {
        let _ = write!(s, ", {} stale", v.stale_resources);
    }
    s.push('\n');
    if !v.removed_accounts.is_empty() {
        let _ = writeln!(s, "  accounts removed: {}", v.removed_accounts.join(", "));
    }
    let bad: Vec<&PartitionShow> = partitions
        .iter()
        .filter(|p| p.status != "complete")
        .collect();
    if !bad.is_empty() {
        s.push('\n');
        for p in bad {
            let _ = write!(s, "  {} {}/{}/{}", p.status, p.account, p.region, p.kind);
            if let Some(d) = &p.detail {
                let _ = write!(s, ": {d}");
            }
            if p.stale {
                let _ = write!(
                    s,
                    " ({} stale resource{} kept)",
                    p.resources,
                    plural(p.resources as usize)
                );
            }
            s.push('\n');
        }
    }
    s.push('\n');
    s
}

/// One resource line of `snapshot show` (human).
pub fn show_human_resource(s: &mut String, res: &Resource, stale: bool) {
    let _ = write!(s, "{}", res.address);
    if let Some(n) = &res.name {
        let _ = write!(s, "  name={n:?}");
    }
    if let Some(st) = &res.status {
        let _ = write!(s, "  status={st}");
    }
    if !res.tags.is_empty() {
        let tags: Vec<String> = res.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(s, "  tags: {}", tags.join(","));
    }
    if stale {
        s.push_str("  (stale)");
    }
    s.push('\n');
}

/// The end of `snapshot show` (human): how many resources were shown.
pub fn show_human_tail(s: &mut String, shown: usize) {
    let _ = writeln!(s, "\n{} resource{} shown.", shown, plural(shown));
}

/// `snapshot show --format json` up to its resources: the document of
/// [`ShowJson`] as `serde_json` pretty-prints it, open at the `resources`
/// array. Each resource follows ([`show_json_resource`]), then
/// [`show_json_tail`]; the whole is byte for byte the pretty-printed
/// [`ShowJson`], without holding the resources.
pub fn show_json_head(version: &VersionSummary, partitions: &[PartitionShow]) -> String {
    #[derive(Serialize)]
    struct Head<'a> {
        format_version: &'static str,
        version: &'a VersionSummary,
        partitions: &'a [PartitionShow],
        resources: [(); 0],
    }
    let mut s = serde_json::to_string_pretty(&Head {
        format_version: FORMAT_VERSION,
        version,
        partitions,
        resources: [],
    })
    .unwrap_or_default();
    // `…"resources": []\n}` without its `]\n}`.
    s.truncate(s.len().saturating_sub(3));
    s
}

/// One resource of `snapshot show --format json` (`first` has no comma
/// before it): pretty-printed one level into the `resources` array.
pub fn show_json_resource(s: &mut String, res: &Resource, stale: bool, first: bool) {
    if !first {
        s.push(',');
    }
    let one = serde_json::to_string_pretty(&ResourceShowRef {
        resource: res,
        stale,
    })
    .unwrap_or_default();
    // JSON strings hold no raw line breaks: every line is the document's.
    for line in one.lines() {
        s.push_str("\n    ");
        s.push_str(line);
    }
}

/// The end of `snapshot show --format json`, after `shown` resources.
pub fn show_json_tail(s: &mut String, shown: usize) {
    if shown > 0 {
        s.push_str("\n  ");
    }
    s.push_str("]\n}\n");
}

/// [`ResourceShow`] of a borrowed resource.
#[derive(Serialize)]
struct ResourceShowRef<'a> {
    #[serde(flatten)]
    resource: &'a Resource,
    stale: bool,
}

/// The CSV header of `snapshot export --format csv`.
pub const CSV_HEADER: &str =
    "address,account,region,type,native_type,id,name,status,stale,tags,attributes\n";

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// One CSV row (tags and attributes as JSON objects).
pub fn csv_row(out: &mut String, r: &Resource, stale: bool) {
    let tags = serde_json::to_string(&r.tags).unwrap_or_default();
    let attrs = serde_json::to_string(&r.attributes).unwrap_or_default();
    let account = r.account.to_string();
    let fields: [&str; 11] = [
        &r.address,
        &account,
        &r.region,
        &r.kind,
        &r.native_type,
        &r.id,
        r.name.as_deref().unwrap_or(""),
        r.status.as_deref().unwrap_or(""),
        if stale { "true" } else { "false" },
        &tags,
        &attrs,
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push('\n');
}

/// The opening of `snapshot export --format json`: one resource per line follows.
pub fn export_json_head(m: &Manifest) -> String {
    format!(
        "{{\"format_version\":\"{FORMAT_VERSION}\",\"id\":{},\"time\":{},\"content_hash\":\"{}\",\"resources\":[\n",
        m.id,
        serde_json::Value::String(m.time.clone()),
        m.content_hash
    )
}

/// One resource line of the JSON export (`first` has no leading comma).
pub fn export_json_line(out: &mut String, r: &Resource, stale: bool, first: bool) {
    if !first {
        out.push_str(",\n");
    }
    let v = ResourceShowRef { resource: r, stale };
    out.push_str(&serde_json::to_string(&v).unwrap_or_default());
}

pub const EXPORT_JSON_TAIL: &str = "\n]}\n";

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn resource(n: usize) -> Resource {
        let account: crate::config::Address = "aws.prod".parse().expect("an address");
        Resource {
            address: format!("aws.prod/eu-west-1/instance/i-{n}"),
            account,
            region: "eu-west-1".into(),
            kind: "instance".into(),
            native_type: "AWS::EC2::Instance".into(),
            id: format!("i-{n}"),
            name: (n % 2 == 0).then(|| format!("web \"{n}\"\nline")),
            status: Some("running".into()),
            tags: BTreeMap::from([("owner".to_string(), format!("team-{n}"))]),
            attributes: BTreeMap::from([(
                "nested".to_string(),
                serde_json::json!({"a": [1, {"b": null}], "c": "x\ty"}),
            )]),
        }
    }

    /// The streamed JSON of `snapshot show` is the pretty-printed document,
    /// byte for byte, for no, one and several resources.
    #[test]
    fn streamed_show_json_is_the_pretty_printed_document() {
        let version = VersionSummary {
            id: 3,
            parent: Some(2),
            time: "2026-01-01T00:00:00Z".into(),
            content_hash: "ab".repeat(32),
            resources: 5,
            stale_resources: 1,
            accounts: 1,
            partitions: 1,
            incomplete: 0,
            synced_accounts: vec!["aws.prod".into()],
            removed_accounts: Vec::new(),
        };
        let part = || PartitionShow {
            account: "aws.prod".into(),
            region: "eu-west-1".into(),
            kind: "instance".into(),
            status: "complete".into(),
            detail: None,
            problem_kind: None,
            code: None,
            request_id: None,
            stale: false,
            resources: 5,
            hash: Some("cd".repeat(32)),
        };
        for n in [0, 1, 4] {
            let rs: Vec<Resource> = (0..n).map(resource).collect();
            let mut whole = serde_json::to_string_pretty(&ShowJson {
                format_version: FORMAT_VERSION,
                version: version.clone(),
                partitions: vec![part()],
                resources: rs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| ResourceShow {
                        resource: r.clone(),
                        stale: i == 1,
                    })
                    .collect(),
            })
            .expect("serializes");
            whole.push('\n');
            let mut streamed = show_json_head(&version, &[part()]);
            for (i, r) in rs.iter().enumerate() {
                show_json_resource(&mut streamed, r, i == 1, i == 0);
            }
            show_json_tail(&mut streamed, rs.len());
            assert_eq!(streamed, whole, "{n} resources");
        }
    }

    /// The streamed JSON of `snapshot diff` is the pretty-printed document,
    /// byte for byte, for lists of no, one and several items (a field
    /// changed to or from `null` included), and its lines read back as the
    /// items they were.
    #[test]
    fn streamed_diff_json_is_the_pretty_printed_document() {
        use crate::snapshot::diff::AccountRemoved;
        let changed = |n: usize| Changed {
            address: format!("aws.prod/eu-west-1/instance/i-{n}"),
            account: "aws.prod".parse().expect("an address"),
            region: "eu-west-1".into(),
            kind: "instance".into(),
            id: format!("i-{n}"),
            fields: vec![
                FieldChange {
                    path: "attributes.x".into(),
                    before: Some(serde_json::Value::Null),
                    after: Some(serde_json::json!({"a": [n]})),
                },
                FieldChange {
                    path: "tags.owner".into(),
                    before: None,
                    after: Some(serde_json::json!("x")),
                },
            ],
            tags: Default::default(),
        };
        for (na, nr, nc) in [(0, 0, 0), (1, 0, 2), (3, 1, 0), (0, 4, 1)] {
            let d = Diff {
                added: (0..na).map(resource).collect(),
                removed: (10..10 + nr).map(resource).collect(),
                changed: (0..nc).map(changed).collect(),
                accounts_removed: vec![AccountRemoved {
                    account: "aws.old".parse().expect("an address"),
                    resources: 3,
                }],
                not_compared: Vec::new(),
                partitions_unchanged: 4,
                partitions_compared: 2,
            };
            let mut want = serde_json::to_string_pretty(&DiffJson::new(1, 2, &d)).unwrap();
            want.push('\n');
            let outline = Diff {
                added: Vec::new(),
                removed: Vec::new(),
                changed: Vec::new(),
                ..d.clone()
            };
            let [head, after_added, after_removed, tail] =
                diff_json_frame(1, 2, &outline, Counts::of(&d)).unwrap();
            let mut got = head;
            for (i, r) in d.added.iter().enumerate() {
                diff_json_item(&mut got, r, i == 0).unwrap();
            }
            diff_json_close(&mut got, d.added.len());
            got.push_str(&after_added);
            for (i, r) in d.removed.iter().enumerate() {
                diff_json_item(&mut got, r, i == 0).unwrap();
            }
            diff_json_close(&mut got, d.removed.len());
            got.push_str(&after_removed);
            for (i, c) in d.changed.iter().enumerate() {
                diff_json_item(&mut got, c, i == 0).unwrap();
            }
            diff_json_close(&mut got, d.changed.len());
            got.push_str(&tail);
            assert_eq!(got, want, "{na} {nr} {nc}");
            for c in &d.changed {
                let line = serde_json::to_string(c).unwrap();
                assert_eq!(&serde_json::from_str::<Changed>(&line).unwrap(), c);
            }
        }
    }
}
