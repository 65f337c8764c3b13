//! Self-contained HTML reports: `drift --format html`, `snapshot diff
//! --format html` and `snapshot show --format html`.
//!
//! Each is one HTML5 file that needs nothing else: the style and a little
//! script are inline, a Content-Security-Policy forbids every fetch, and
//! the icon is a `data:` URL, so a browser opening it asks no server for
//! anything. Every piece of text that comes from data (names, tags and
//! values come from the vendors, that is from whoever may tag a resource)
//! is escaped for text and for double-quoted attributes alike; the script
//! holds no data: it reads the `data-a` (account), `data-t` (type) and
//! `data-g` (tags, a `key=value` a line) attributes of the rows it filters.
//! Without the script every row is there and the filter controls stay
//! hidden; printed, the controls are left out and long cells wrap.
//!
//! Diffs and versions of any size are written as they are read: a head,
//! a row at a time, a tail (as `render::snapshot` does for the JSON).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::snapshot::{self as snaprender, Counts, PartitionShow, VersionSummary};
use crate::config::Address;
use crate::inventory::Resource;
use crate::ops::drift::DriftReport;
use crate::snapshot::Diff;
use crate::snapshot::diff::{Changed, FieldChange};

/// No fetch of any kind: inline style and script only, images as `data:`.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// JSON values longer than this (objects and arrays) are pretty-printed.
const LONG: usize = 60;

const STYLE: &str = r#":root{--fg:#1f2328;--mu:#59636e;--bd:#d1d9e0;--bg:#fff;--hd:#f6f8fa;--ad:#1a7f37;--ch:#9a6700;--rm:#cf222e;--nt:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--mu:#9198a1;--bd:#3d444d;--bg:#0d1117;--hd:#151b23;--ad:#3fb950;--ch:#d29922;--rm:#f85149;--nt:#4493f8}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;padding:1em 1.5em 3em;max-width:1280px}
h1{font-size:1.5em;margin:.3em 0}
h2{font-size:1.2em;margin:1.5em 0 .4em;padding-bottom:.2em;border-bottom:1px solid var(--bd)}
table{width:100%;border-collapse:collapse;table-layout:fixed;margin:.4em 0}
th,td{border:1px solid var(--bd);padding:.25em .45em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:var(--hd)}
code,.v{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
.m{color:var(--mu)}
table.sm{width:auto;min-width:22em}
.n{text-align:right;width:7em}th.n{white-space:nowrap}
.w10{width:10%}.w14{width:14%}.w16{width:16%}.w20{width:20%}.w26{width:26%}.w30{width:30%}.w38{width:38%}
.vd{font-size:1.1em;font-weight:600;padding:.45em .8em;border-left:5px solid var(--ad);background:var(--hd)}
.vd.d{border-color:var(--rm)}.vd.i{border-color:var(--ch)}
.sec{color:var(--rm);font-weight:600}
h2.a{color:var(--ad)}h2.c{color:var(--ch)}h2.r{color:var(--rm)}
tbody.c>tr:first-child>th{background:var(--hd);font-weight:600}
tr.vn>th,tr.vn>td{background:var(--hd);font-weight:600}
svg.b{display:block;width:100%;height:12px}svg.k{width:.8em;height:.8em;margin-right:.3em}
.ba{fill:var(--ad)}.bc{fill:var(--ch)}.br{fill:var(--rm)}.bn{fill:var(--nt)}
#f{position:sticky;top:0;z-index:1;display:flex;flex-wrap:wrap;gap:.6em;align-items:center;background:var(--bg);padding:.5em 0;border-bottom:1px solid var(--bd)}
#f select,#f input{font:inherit}
footer{margin-top:2em}
@media print{#f{display:none}body{max-width:none;padding:0;font-size:11px}thead{display:table-header-group}tr,tbody.c{break-inside:avoid}h2{break-after:avoid}.vd{background:none}}
"#;

/// Fills the filters from the rows' `data-*` attributes and hides the rows
/// that do not match; `#account=…&type=…&tag=…` in the URL sets them on
/// load. Never any data in here.
const SCRIPT: &str = r#"(function(){
var f=document.getElementById('f'),rows=[].slice.call(document.querySelectorAll('[data-a]'));
if(!f||!rows.length)return;
var fa=document.getElementById('fa'),ft=document.getElementById('ft'),fg=document.getElementById('fg'),fn=document.getElementById('fn');
var as=Object.create(null),ts=Object.create(null);
rows.forEach(function(r){var a=r.getAttribute('data-a');as[a]=1;as[a.split('.')[0]+'.']=1;var t=r.getAttribute('data-t');if(t!==null)ts[t]=1;});
Object.keys(as).sort().forEach(function(v){fa.appendChild(new Option(v.slice(-1)==='.'?v+'*':v,v));});
Object.keys(ts).sort().forEach(function(v){ft.appendChild(new Option(v,v));});
function ok(r,a,t,g){
var x=r.getAttribute('data-a');if(a&&(a.slice(-1)==='.'?x.indexOf(a)!==0:x!==a))return false;
var y=r.getAttribute('data-t');if(t&&y!==null&&y!==t)return false;
var z=r.getAttribute('data-g');if(g&&z!==null){var e=g.indexOf('=')>=0;if(!z.split('\n').some(function(l){return e?l===g:l.slice(0,g.length+1)===g+'=';}))return false;}
return true;}
function run(){var a=fa.value,t=ft.value,g=fg.value.trim(),n=0;
rows.forEach(function(r){var m=ok(r,a,t,g);r.hidden=!m;if(m)n++;});
fn.textContent=n+' of '+rows.length+' rows shown';return [a,t,g];}
function save(){var v=run(),p=new URLSearchParams();if(v[0])p.set('account',v[0]);if(v[1])p.set('type',v[1]);if(v[2])p.set('tag',v[2]);
try{history.replaceState(null,'','#'+p.toString());}catch(e){}}
function load(){var p=new URLSearchParams(location.hash.slice(1));fa.value=p.get('account')||'';ft.value=p.get('type')||'';fg.value=p.get('tag')||'';run();}
fa.onchange=save;ft.onchange=save;fg.oninput=save;window.addEventListener('hashchange',load);
f.hidden=false;load();})();
"#;

/// Appends `s` escaped for HTML text and for a double-quoted attribute.
fn esc(out: &mut String, s: &str) {
    let mut done = 0;
    for (i, b) in s.bytes().enumerate() {
        let with = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[done..i]);
        out.push_str(with);
        done = i + 1;
    }
    out.push_str(&s[done..]);
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The page up to the first element of its body.
fn open(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    );
    out.push_str(
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>",
    );
    esc(out, title);
    out.push_str("</title>\n<style>\n");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n");
}

/// The end of the page: the footer and the script.
fn close(out: &mut String) {
    let _ = write!(
        out,
        "<footer class=\"m\">Written by tether {}. This file loads nothing: \
         the filters work offline; printed, every row the filters show is printed.</footer>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
}

/// The filter controls, hidden until the script shows and fills them.
fn filters(out: &mut String) {
    out.push_str(
        "<div id=\"f\" hidden><label>Account <select id=\"fa\"><option value=\"\">all</option></select></label>\n\
         <label>Type <select id=\"ft\"><option value=\"\">all</option></select></label>\n\
         <label>Tag <input id=\"fg\" type=\"search\" placeholder=\"key or key=value\" autocomplete=\"off\"></label>\n\
         <span id=\"fn\" class=\"m\"></span></div>\n",
    );
}

/// Opens a table with these header cells (`(class, text)`; texts are ours).
fn table(out: &mut String, cols: &[(&str, &str)]) {
    out.push_str("<table><thead><tr>");
    for (class, text) in cols {
        if class.is_empty() {
            let _ = write!(out, "<th>{text}</th>");
        } else {
            let _ = write!(out, "<th class=\"{class}\">{text}</th>");
        }
    }
    out.push_str("</tr></thead>\n");
}

/// A cell of data text.
fn td(out: &mut String, s: &str) {
    out.push_str("<td>");
    esc(out, s);
    out.push_str("</td>");
}

/// A cell of one of our sentences about data, its `quoted` names in a
/// monospace font.
fn td_ticks(out: &mut String, s: &str) {
    out.push_str("<td>");
    esc_ticks(out, s);
    out.push_str("</td>");
}

/// A cell of data text in a monospace font.
fn td_code(out: &mut String, s: &str) {
    out.push_str("<td><code>");
    esc(out, s);
    out.push_str("</code></td>");
}

/// A cell of optional data text (`none` greyed when absent).
fn td_opt(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => td(out, s),
        None => out.push_str("<td class=\"m\">none</td>"),
    }
}

/// The opening tag's filter attributes of a row about `account`.
fn row_attrs(out: &mut String, account: &Address, kind: Option<&str>) {
    out.push_str(" data-a=\"");
    esc(out, &account.to_string());
    out.push('"');
    if let Some(k) = kind {
        out.push_str(" data-t=\"");
        esc(out, k);
        out.push('"');
    }
}

/// `data-g`: the tags, a `key=value` a line (line breaks inside a key or
/// value read as spaces: a filter never matches across two tags).
fn tag_attr<'t>(out: &mut String, tags: impl Iterator<Item = (&'t str, &'t str)>) {
    out.push_str(" data-g=\"");
    for (i, (k, v)) in tags.enumerate() {
        if i > 0 {
            out.push('\n');
        }
        one_line(out, k);
        out.push('=');
        one_line(out, v);
    }
    out.push('"');
}

/// `s` escaped, its `quoted` spans (our sentences quote names so) in a
/// monospace font.
fn esc_ticks(out: &mut String, s: &str) {
    if s.matches('`').count() % 2 != 0 {
        esc(out, s);
        return;
    }
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            esc(out, part);
            out.push_str("</code>");
        } else {
            esc(out, part);
        }
    }
}

/// `s` escaped, its line breaks as spaces.
fn one_line(out: &mut String, s: &str) {
    if s.contains(['\n', '\r']) {
        esc(out, &s.replace(['\n', '\r'], " "));
    } else {
        esc(out, s);
    }
}

// ---------------------------------------------------------------- chart

/// Added, changed and removed resources per account: the chart of a diff.
/// For a diff printed as it is read, [`Tally::add`] takes each part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    accounts: BTreeMap<Address, [u64; 3]>,
}

impl Tally {
    pub fn of(d: &Diff) -> Tally {
        let mut t = Tally::default();
        t.add(d);
        t
    }

    /// Counts the resources of `part`, a part of a diff.
    pub fn add(&mut self, part: &Diff) {
        for r in &part.added {
            self.bump(&r.account, 0);
        }
        for c in &part.changed {
            self.bump(&c.account, 1);
        }
        for r in &part.removed {
            self.bump(&r.account, 2);
        }
    }

    fn bump(&mut self, account: &Address, at: usize) {
        match self.accounts.get_mut(account) {
            Some(n) => n[at] += 1,
            None => {
                let mut n = [0; 3];
                n[at] = 1;
                self.accounts.insert(account.clone(), n);
            }
        }
    }

    fn rows(&self) -> Vec<Row> {
        self.accounts
            .iter()
            .map(|(a, n)| (a.to_string(), n.to_vec()))
            .collect()
    }
}

/// One row of a chart: an account's address and a count per series.
type Row = (String, Vec<u64>);

/// One chart series: its name and the class of its bars.
type Series = (&'static str, &'static str);

const DIFF_SERIES: [Series; 3] = [("added", "ba"), ("changed", "bc"), ("removed", "br")];

/// A table of counts per vendor and per account (`rows`: account address
/// and one count per series, in address order), each row with a stacked
/// bar in inline SVG; vendors' bars share one scale, accounts' another.
fn chart(out: &mut String, title: &str, series: &[Series], rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "<section id=\"chart\"><h2>{title}</h2>");
    out.push_str("<table class=\"ch\"><thead><tr><th class=\"w30\">vendor / account</th>");
    for (name, class) in series {
        let _ = write!(
            out,
            "<th class=\"n\"><svg class=\"k\" viewBox=\"0 0 10 10\" aria-hidden=\"true\"><rect class=\"{class}\" width=\"10\" height=\"10\"/></svg>{name}</th>"
        );
    }
    out.push_str("<th></th></tr></thead>\n");
    // By vendor: the part of the address before the dot.
    let mut vendors: BTreeMap<&str, (Vec<u64>, Vec<&Row>)> = BTreeMap::new();
    for row in rows {
        let vendor = row.0.split_once('.').map_or(row.0.as_str(), |(v, _)| v);
        let entry = vendors
            .entry(vendor)
            .or_insert_with(|| (vec![0; series.len()], Vec::new()));
        for (sum, n) in entry.0.iter_mut().zip(&row.1) {
            *sum += n;
        }
        entry.1.push(row);
    }
    let top = |v: &[u64]| v.iter().sum::<u64>();
    let vmax = vendors.values().map(|(t, _)| top(t)).max().unwrap_or(0);
    let amax = rows.iter().map(|(_, n)| top(n)).max().unwrap_or(0);
    for (vendor, (totals, accounts)) in &vendors {
        out.push_str("<tbody><tr class=\"vn\"><th>");
        esc(out, vendor);
        let _ = write!(
            out,
            " <span class=\"m\">({} account{})</span></th>",
            accounts.len(),
            plural(accounts.len() as u64)
        );
        bar_cells(out, series, totals, vmax);
        out.push_str("</tr>\n");
        for (account, counts) in accounts {
            out.push_str("<tr>");
            td_code(out, account);
            bar_cells(out, series, counts, amax);
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table></section>\n");
}

/// The count cells and the bar of one chart row, scaled to `max`.
fn bar_cells(out: &mut String, series: &[Series], counts: &[u64], max: u64) {
    for n in counts {
        let _ = write!(out, "<td class=\"n\">{n}</td>");
    }
    out.push_str(
        "<td><svg class=\"b\" viewBox=\"0 0 1000 10\" preserveAspectRatio=\"none\" aria-hidden=\"true\">",
    );
    let mut x = 0;
    for ((_, class), &n) in series.iter().zip(counts) {
        if n == 0 || max == 0 {
            continue;
        }
        let w = (n * 1000 / max).max(2);
        let _ = write!(
            out,
            "<rect class=\"{class}\" x=\"{x}\" width=\"{w}\" height=\"10\"/>"
        );
        x += w;
    }
    out.push_str("</svg></td>");
}

// ---------------------------------------------------------------- diffs

/// The three lists of resources of a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Added,
    Changed,
    Removed,
}

impl List {
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            List::Added => ("added", "a", "Added"),
            List::Changed => ("changed", "c", "Changed"),
            List::Removed => ("removed", "r", "Removed"),
        }
    }
}

/// `snapshot diff --format html`: the whole page of `d`.
pub fn diff(from: u64, to: u64, d: &Diff) -> String {
    diff_noted(from, to, d, &[])
}

/// [`diff`] with `notes` (one sentence each, e.g. accounts renamed in
/// between) under the title.
pub fn diff_noted(from: u64, to: u64, d: &Diff, notes: &[String]) -> String {
    let counts = Counts::of(d);
    let mut s = diff_head(from, to, d, counts, &Tally::of(d), notes);
    resource_lists(&mut s, d);
    s.push_str(&diff_tail(d, counts));
    s
}

/// Each list of `d` between its [`list_open`] and [`list_close`].
fn resource_lists(s: &mut String, d: &Diff) {
    s.push_str(&list_open(List::Added, d.added.len()));
    for r in &d.added {
        diff_resource(s, r);
    }
    s.push_str(&list_close(List::Added, d.added.len()));
    s.push_str(&list_open(List::Changed, d.changed.len()));
    for c in &d.changed {
        diff_changed(s, c);
    }
    s.push_str(&list_close(List::Changed, d.changed.len()));
    s.push_str(&list_open(List::Removed, d.removed.len()));
    for r in &d.removed {
        diff_resource(s, r);
    }
    s.push_str(&list_close(List::Removed, d.removed.len()));
}

/// `snapshot diff --format html` before its lists, for a diff printed as
/// it is read: `outline` holds what is not a list (accounts removed,
/// partitions not compared), `counts` and `tally` what the lists hold.
/// Each list follows: [`list_open`], its rows ([`diff_resource`] for added
/// and removed, [`diff_changed`]), [`list_close`]; then [`diff_tail`].
pub fn diff_head(
    from: u64,
    to: u64,
    outline: &Diff,
    counts: Counts,
    tally: &Tally,
    notes: &[String],
) -> String {
    let mut s = String::with_capacity(16 << 10);
    open(&mut s, &format!("tether snapshot diff {from} → {to}"));
    let _ = writeln!(s, "<h1>Snapshot {from} → {to}</h1>");
    let line = snaprender::summary_line_with(outline, counts);
    let class = if counts.added + counts.changed + counts.removed > 0
        || !outline.accounts_removed.is_empty()
    {
        "d"
    } else if !outline.not_compared.is_empty() {
        "i"
    } else {
        ""
    };
    s.push_str("<p class=\"vd ");
    s.push_str(class);
    s.push_str("\">");
    esc(&mut s, &line);
    s.push_str("</p>\n");
    for n in notes {
        s.push_str("<p class=\"m\">");
        esc(&mut s, n.trim_end());
        s.push_str("</p>\n");
    }
    let gone: u64 = outline.accounts_removed.iter().map(|a| a.resources).sum();
    counts_table(
        &mut s,
        &[
            ("added", counts.added as u64),
            ("changed", counts.changed as u64),
            ("removed", counts.removed as u64),
            ("left with a removed account", gone),
            ("partitions not compared", outline.not_compared.len() as u64),
        ],
    );
    chart(
        &mut s,
        "Changes per vendor and account",
        &DIFF_SERIES,
        &tally.rows(),
    );
    filters(&mut s);
    s
}

/// A small two-column table of counts (labels are ours).
fn counts_table(s: &mut String, rows: &[(&str, u64)]) {
    s.push_str("<table class=\"sm\"><tbody>\n");
    for (label, n) in rows {
        let _ = writeln!(s, "<tr><th>{label}</th><td class=\"n\">{n}</td></tr>");
    }
    s.push_str("</tbody></table>\n");
}

/// The opening of a list of `n` resources (nothing when it is empty).
pub fn list_open(list: List, n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let (id, class, title) = list.parts();
    let mut s = format!("<section id=\"{id}\"><h2 class=\"{class}\">{title} ({n})</h2>\n");
    match list {
        List::Changed => table(&mut s, &[("w26", "field"), ("", "before"), ("", "after")]),
        List::Added | List::Removed => {
            resource_table(&mut s);
            s.push_str("<tbody>\n");
        }
    }
    s
}

/// The end of a list that [`list_open`] opened for `n` resources.
pub fn list_close(list: List, n: usize) -> String {
    match (n, list) {
        (0, _) => String::new(),
        (_, List::Changed) => "</table></section>\n".into(),
        _ => "</tbody></table></section>\n".into(),
    }
}

fn resource_table(s: &mut String) {
    table(
        s,
        &[
            ("w38", "address"),
            ("w16", "type"),
            ("w14", "name"),
            ("w10", "status"),
            ("", "tags"),
        ],
    );
}

/// One added or removed resource: a row.
pub fn diff_resource(out: &mut String, r: &Resource) {
    resource_row(out, r, false);
}

fn resource_row(out: &mut String, r: &Resource, stale: bool) {
    out.push_str("<tr");
    row_attrs(out, &r.account, Some(&r.kind));
    tag_attr(out, r.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    out.push('>');
    td_code(out, &r.address);
    out.push_str("<td>");
    esc(out, &r.kind);
    out.push_str("<br><span class=\"m\">");
    esc(out, &r.native_type);
    out.push_str("</span></td>");
    td_opt(out, r.name.as_deref());
    out.push_str("<td>");
    match &r.status {
        Some(st) => esc(out, st),
        None => out.push_str("<span class=\"m\">none</span>"),
    }
    if stale {
        out.push_str(" <span class=\"m\">(stale)</span>");
    }
    out.push_str("</td><td>");
    for (i, (k, v)) in r.tags.iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        out.push_str("<code>");
        esc(out, k);
        out.push('=');
        esc(out, v);
        out.push_str("</code>");
    }
    out.push_str("</td></tr>\n");
}

/// One changed resource: its address, then a row per field (path, before,
/// after; values as JSON text, long objects and arrays pretty-printed).
/// Its tags for the filter are those of the newer side and the values a
/// changed tag had before.
pub fn diff_changed(out: &mut String, c: &Changed) {
    out.push_str("<tbody class=\"c\"");
    row_attrs(out, &c.account, Some(&c.kind));
    let before = c.fields.iter().filter_map(|f| {
        let key = f.path.strip_prefix("tags.")?;
        Some((key, f.before.as_ref()?.as_str()?))
    });
    let now = c.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    tag_attr(out, now.chain(before));
    out.push_str("><tr><th colspan=\"3\"><code>");
    esc(out, &c.address);
    out.push_str("</code></th></tr>\n");
    for f in &c.fields {
        field_row(out, f);
    }
    out.push_str("</tbody>\n");
}

fn field_row(out: &mut String, f: &FieldChange) {
    out.push_str("<tr>");
    td_code(out, &f.path);
    value_cell(out, f.before.as_ref());
    value_cell(out, f.after.as_ref());
    out.push_str("</tr>\n");
}

fn value_cell(out: &mut String, v: Option<&serde_json::Value>) {
    let Some(v) = v else {
        out.push_str("<td class=\"m\">absent</td>");
        return;
    };
    let mut text = v.to_string();
    if text.len() > LONG && (v.is_object() || v.is_array()) {
        text = serde_json::to_string_pretty(v).unwrap_or(text);
    }
    out.push_str("<td class=\"v\">");
    esc(out, &text);
    out.push_str("</td>");
}

/// What follows the lists: accounts removed, partitions not compared, and
/// the summary line; then the end of the page.
pub fn diff_tail(outline: &Diff, counts: Counts) -> String {
    let mut s = String::new();
    diff_rest(&mut s, outline);
    s.push_str("<p>");
    esc(&mut s, &snaprender::summary_line_with(outline, counts));
    s.push_str("</p>\n");
    close(&mut s);
    s
}

/// Accounts removed and partitions not compared.
fn diff_rest(s: &mut String, d: &Diff) {
    if !d.accounts_removed.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"gone\"><h2>Accounts removed ({})</h2>\n<p class=\"m\">Their resources left with them; this is not drift.</p>",
            d.accounts_removed.len()
        );
        table(s, &[("", "account"), ("n", "resources")]);
        s.push_str("<tbody>\n");
        for a in &d.accounts_removed {
            s.push_str("<tr");
            row_attrs(s, &a.account, None);
            s.push('>');
            td_code(s, &a.account.to_string());
            let _ = writeln!(s, "<td class=\"n\">{}</td></tr>", a.resources);
        }
        s.push_str("</tbody></table></section>\n");
    }
    if !d.not_compared.is_empty() {
        let stale: u64 = d.not_compared.iter().map(|n| n.stale_resources).sum();
        let _ = writeln!(
            s,
            "<section id=\"nc\"><h2>Not compared ({})</h2>\n<p class=\"m\">Partitions failed or skipped on either side; {stale} stale resource{} kept, none reported as removed.</p>",
            d.not_compared.len(),
            plural(stale)
        );
        table(
            s,
            &[
                ("w30", "partition"),
                ("w14", "before → after"),
                ("", "detail"),
                ("n", "stale"),
            ],
        );
        s.push_str("<tbody>\n");
        for n in &d.not_compared {
            s.push_str("<tr");
            row_attrs(s, &n.account, Some(&n.kind));
            s.push('>');
            td_code(s, &format!("{}/{}/{}", n.account, n.region, n.kind));
            td(s, &format!("{} → {}", n.before, n.after));
            s.push_str("<td>");
            esc(s, n.detail.as_deref().unwrap_or(""));
            problem_ids(
                s,
                n.problem_kind.map(|k| k.as_str()),
                n.code.as_deref(),
                n.request_id.as_deref(),
            );
            let _ = writeln!(s, "</td><td class=\"n\">{}</td></tr>", n.stale_resources);
        }
        s.push_str("</tbody></table></section>\n");
    }
}

/// A failure's kind, vendor code and request id, greyed, after its message.
fn problem_ids(s: &mut String, kind: Option<&str>, code: Option<&str>, request: Option<&str>) {
    let parts: Vec<String> = [("kind", kind), ("code", code), ("request id", request)]
        .into_iter()
        .filter_map(|(k, v)| Some(format!("{k} {}", v?)))
        .collect();
    if !parts.is_empty() {
        s.push_str(" <span class=\"m\">(");
        esc(s, &parts.join(", "));
        s.push_str(")</span>");
    }
}

// ---------------------------------------------------------------- drift

/// `drift --format html`: the whole report of a check of `accounts`
/// accounts, as one page.
pub fn drift(r: &DriftReport, accounts: usize) -> String {
    let d = &r.resources;
    let counts = Counts::of(d);
    let mut s = String::with_capacity(64 << 10);
    let verdict = super::drift::verdict(r);
    open(&mut s, &format!("tether drift: {verdict}"));
    s.push_str("<h1>tether drift</h1>\n<p>");
    let _ = write!(
        s,
        "Drift check of {} account{}",
        accounts,
        plural(accounts as u64)
    );
    match r.snapshot {
        Some(id) => {
            let _ = write!(s, ", live inventory against snapshot {id}.");
        }
        None => s.push_str(
            ", no snapshot yet to compare the live inventory with (run <code>tether sync</code>).",
        ),
    }
    s.push_str("</p>\n");
    let class = match (r.drift, r.incomplete) {
        (true, _) => "d",
        (false, true) => "i",
        (false, false) => "",
    };
    let _ = writeln!(s, "<p id=\"verdict\" class=\"vd {class}\">{verdict}</p>");
    counts_table(
        &mut s,
        &[
            ("credentials", r.credentials.len() as u64),
            ("config vs state", r.config.len() as u64),
            ("resources added", counts.added as u64),
            ("resources changed", counts.changed as u64),
            ("resources removed", counts.removed as u64),
            (
                "not read",
                (r.unreadable.len() + d.not_compared.len()) as u64,
            ),
            ("credential findings", r.findings.len() as u64),
            ("ignored", r.ignored.len() as u64),
        ],
    );
    if r.snapshot.is_some() {
        s.push_str("<p>");
        esc(&mut s, &snaprender::summary_line(d));
        s.push_str("</p>\n");
    }
    if let Some(v) = r.recorded {
        let _ = writeln!(s, "<p>Recorded the live inventory as snapshot {v}.</p>");
    }
    if let Some(since) = &r.since_last {
        since_last(&mut s, r, since);
    }
    chart(
        &mut s,
        "Resource drift per vendor and account",
        &DIFF_SERIES,
        &Tally::of(d).rows(),
    );
    if !r.groups.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"groups\"><h2>Causes seen in many places ({})</h2>",
            r.groups.len()
        );
        table(
            &mut s,
            &[
                ("w38", "cause"),
                ("n", "in all"),
                ("w20", "accounts"),
                ("", "examples"),
            ],
        );
        s.push_str("<tbody>\n");
        for g in &r.groups {
            s.push_str("<tr>");
            td_ticks(&mut s, &g.summary);
            let _ = write!(s, "<td class=\"n\">{}</td><td>", g.count);
            for (i, a) in g.accounts.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str("<code>");
                esc(&mut s, &a.to_string());
                s.push_str("</code>");
            }
            s.push_str("</td><td>");
            for (i, x) in g.examples.iter().enumerate() {
                if i > 0 {
                    s.push_str("<br>");
                }
                s.push_str("<code>");
                esc(&mut s, x);
                s.push_str("</code>");
            }
            s.push_str("</td></tr>\n");
        }
        s.push_str("</tbody></table></section>\n");
    }
    if !r.credentials.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"credentials\"><h2>Credentials that no longer verify as recorded ({})</h2>",
            r.credentials.len()
        );
        problems(&mut s, &r.credentials);
    }
    if !r.config.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"config\"><h2>Configuration differs from state ({})</h2>\n<p class=\"m\">Run <code>tether plan</code> for details.</p>",
            r.config.len()
        );
        table(
            &mut s,
            &[("w30", "account"), ("w14", "action"), ("", "note")],
        );
        s.push_str("<tbody>\n");
        for c in &r.config {
            s.push_str("<tr");
            row_attrs(&mut s, &c.address, None);
            s.push('>');
            td_code(&mut s, &c.address.to_string());
            let _ = write!(s, "<td>{}</td><td>", super::drift::action_word(c.action));
            if let Some(p) = &c.previous_address {
                s.push_str("moved from <code>");
                esc(&mut s, &p.to_string());
                s.push_str("</code>");
                if c.endpoint_change.is_some() {
                    s.push_str("<br>");
                }
            }
            if let Some(x) = &c.endpoint_change {
                s.push_str(
                    "<span class=\"sec\">Security note:</span> its secret would go to <code>",
                );
                esc(&mut s, &x.to);
                s.push_str("</code> (apply verified <code>");
                esc(&mut s, &x.from);
                s.push_str("</code>)");
            }
            s.push_str("</td></tr>\n");
        }
        s.push_str("</tbody></table></section>\n");
    }
    if !r.unreadable.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"unreadable\"><h2>Could not be read ({})</h2>",
            r.unreadable.len()
        );
        problems(&mut s, &r.unreadable);
    }
    if !r.findings.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"findings\"><h2>Credential findings ({})</h2>",
            r.findings.len()
        );
        table(
            &mut s,
            &[
                ("w20", "account"),
                ("w14", "finding"),
                ("", "what"),
                ("w30", "advice"),
            ],
        );
        s.push_str("<tbody>\n");
        for f in &r.findings {
            s.push_str("<tr");
            row_attrs(&mut s, &f.address, None);
            s.push('>');
            td_code(&mut s, &f.address.to_string());
            td(&mut s, f.kind.as_str());
            td(&mut s, &f.message);
            td_opt(&mut s, f.advice.as_deref());
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table></section>\n");
    }
    if !r.disabled.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"disabled\"><h2>Disabled, not checked ({})</h2>\n<p class=\"m\"><code>enabled = false</code>: neither checked nor read; their stored resources are not compared.</p>\n<ul>",
            r.disabled.len()
        );
        for a in &r.disabled {
            s.push_str("<li><code>");
            esc(&mut s, &a.to_string());
            s.push_str("</code></li>\n");
        }
        s.push_str("</ul></section>\n");
    }
    if let Some(id) = r.snapshot {
        if !d.is_empty() || !d.not_compared.is_empty() {
            let _ = writeln!(
                s,
                "<h2 id=\"resources\">Resources, snapshot {id} → live</h2>"
            );
            filters(&mut s);
            resource_lists(&mut s, d);
            diff_rest(&mut s, d);
        }
    }
    ignored(&mut s, r);
    let _ = writeln!(s, "<p class=\"vd {class}\">{verdict}</p>");
    close(&mut s);
    s
}

/// `--since-last`: new, known and resolved against the last recorded run.
fn since_last(s: &mut String, r: &DriftReport, since: &crate::ops::since::SinceLast) {
    s.push_str("<section id=\"since\"><h2>Since the last recorded run</h2>\n<p>");
    match &since.last {
        Some(last) => {
            s.push_str("Compared with the run of ");
            esc(s, &last.recorded_at);
            if let Some(id) = last.snapshot {
                let _ = write!(s, " (snapshot {id})");
            }
            s.push_str(": ");
        }
        None => s.push_str("No run recorded before this one: "),
    }
    let _ = writeln!(
        s,
        "{} new, {} known, {} resolved; {} not judged (not read this time).</p>",
        since.new,
        since.known,
        since.resolved.len(),
        since.unknown.len()
    );
    let mut new = r
        .items
        .iter()
        .filter(|i| i.status == Some(crate::ops::since::Seen::New))
        .peekable();
    if new.peek().is_some() && since.last.is_some() {
        s.push_str("<h3>New</h3>\n");
        items(s, new);
    }
    if !since.resolved.is_empty() {
        s.push_str("<h3>Resolved</h3>\n");
        items(s, &since.resolved);
    }
    s.push_str("</section>\n");
}

/// A table of fingerprinted findings.
fn items<'a>(s: &mut String, list: impl IntoIterator<Item = &'a crate::ops::since::Item>) {
    table(s, &[("w30", "account"), ("", "finding")]);
    s.push_str("<tbody>\n");
    for i in list {
        s.push_str("<tr");
        row_attrs(s, &i.account, i.kind.as_deref());
        s.push('>');
        td_code(s, &i.account.to_string());
        td_ticks(s, &i.summary);
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
}

/// Findings `ignore` rules matched (with the rule and its reason), and
/// each rule's use: matched, expired, unused.
fn ignored(s: &mut String, r: &DriftReport) {
    if !r.ignored.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"ignored\"><h2>Ignored ({})</h2>\n<p class=\"m\">Matched by an <code>ignore</code> rule: not drift.</p>",
            r.ignored.len()
        );
        table(
            s,
            &[
                ("w20", "account"),
                ("", "finding"),
                ("w14", "rule"),
                ("w26", "reason"),
            ],
        );
        s.push_str("<tbody>\n");
        for x in &r.ignored {
            s.push_str("<tr");
            row_attrs(s, &x.item.account, x.item.kind.as_deref());
            s.push('>');
            td_code(s, &x.item.account.to_string());
            td_ticks(s, &x.item.summary);
            td_code(s, &x.rule);
            td(s, &x.reason);
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table></section>\n");
    }
    if !r.rules.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"rules\"><h2>Ignore rules ({})</h2>",
            r.rules.len()
        );
        table(
            s,
            &[
                ("w14", "rule"),
                ("", "reason"),
                ("w14", "owner"),
                ("w14", "until"),
                ("n", "matched"),
                ("w14", "state"),
            ],
        );
        s.push_str("<tbody>\n");
        for u in &r.rules {
            s.push_str("<tr>");
            td_code(s, &u.name);
            td(s, &u.reason);
            td_opt(s, u.owner.as_deref());
            td_opt(s, u.until.as_deref());
            let _ = write!(s, "<td class=\"n\">{}</td>", u.matched);
            if u.expired {
                s.push_str("<td class=\"sec\">expired</td>");
            } else if let Some(since) = &u.unused_since {
                s.push_str("<td>unused since ");
                esc(s, since);
                s.push_str("</td>");
            } else {
                s.push_str("<td>in use</td>");
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table></section>\n");
    }
}

/// A table of accounts and their problems (credentials, unreadable).
fn problems(s: &mut String, list: &[crate::plan::IdentityDrift]) {
    table(s, &[("w30", "account"), ("", "problem")]);
    s.push_str("<tbody>\n");
    for p in list {
        s.push_str("<tr");
        row_attrs(s, &p.address, None);
        s.push('>');
        td_code(s, &p.address.to_string());
        s.push_str("<td>");
        esc(s, &p.problem);
        problem_ids(
            s,
            p.kind.map(|k| k.as_str()),
            p.code.as_deref(),
            p.request_id.as_deref(),
        );
        s.push_str("</td></tr>\n");
    }
    s.push_str("</tbody></table></section>\n");
}

// ---------------------------------------------------------------- show

/// `snapshot show --format html` before its resources: the version, the
/// partitions that are not complete, a chart of the resources stored per
/// account in `partitions` (every partition matching the account and type
/// filters), and the table the rows go in. The resources follow, a row
/// each ([`show_resource`]), then [`show_tail`]; so a version of any size
/// is written as it is read. `tag_filter`: rows are limited to some tags,
/// which the chart's counts are not.
pub fn show_head(v: &VersionSummary, partitions: &[PartitionShow], tag_filter: bool) -> String {
    let mut s = String::with_capacity(16 << 10);
    open(&mut s, &format!("tether snapshot {}", v.id));
    let _ = writeln!(s, "<h1>Snapshot {}</h1>", v.id);
    s.push_str("<table class=\"sm\"><tbody>\n<tr><th>time</th><td>");
    esc(&mut s, &v.time);
    s.push_str("</td></tr>\n<tr><th>parent</th><td>");
    match v.parent {
        Some(p) => {
            let _ = write!(s, "{p}");
        }
        None => s.push_str("<span class=\"m\">none</span>"),
    }
    s.push_str("</td></tr>\n<tr><th>content hash</th><td><code>");
    esc(&mut s, &v.content_hash);
    let _ = writeln!(
        s,
        "</code></td></tr>\n<tr><th>resources</th><td>{} in {} partitions of {} account{}{}</td></tr>",
        v.resources,
        v.partitions,
        v.accounts,
        plural(v.accounts as u64),
        if v.stale_resources > 0 {
            format!(", {} stale", v.stale_resources)
        } else {
            String::new()
        }
    );
    if !v.removed_accounts.is_empty() {
        s.push_str("<tr><th>accounts removed</th><td>");
        esc(&mut s, &v.removed_accounts.join(", "));
        s.push_str("</td></tr>\n");
    }
    s.push_str("</tbody></table>\n");
    let bad: Vec<&PartitionShow> = partitions
        .iter()
        .filter(|p| p.status != "complete")
        .collect();
    if !bad.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"nc\"><h2>Partitions not complete ({})</h2>",
            bad.len()
        );
        table(
            &mut s,
            &[
                ("w30", "partition"),
                ("w10", "status"),
                ("", "detail"),
                ("n", "stale kept"),
            ],
        );
        s.push_str("<tbody>\n");
        for p in bad {
            // The account as the manifest holds it: parsed back for the
            // filter, shown as it is.
            match p.account.parse::<Address>() {
                Ok(a) => {
                    s.push_str("<tr");
                    row_attrs(&mut s, &a, Some(&p.kind));
                    s.push('>');
                }
                Err(_) => s.push_str("<tr>"),
            }
            td_code(&mut s, &format!("{}/{}/{}", p.account, p.region, p.kind));
            td(&mut s, &p.status);
            s.push_str("<td>");
            esc(&mut s, p.detail.as_deref().unwrap_or(""));
            problem_ids(
                &mut s,
                p.problem_kind.map(|k| k.as_str()),
                p.code.as_deref(),
                p.request_id.as_deref(),
            );
            let stale = if p.stale { p.resources } else { 0 };
            let _ = writeln!(s, "</td><td class=\"n\">{stale}</td></tr>");
        }
        s.push_str("</tbody></table></section>\n");
    }
    let mut per: BTreeMap<&str, u64> = BTreeMap::new();
    for p in partitions {
        *per.entry(p.account.as_str()).or_default() += p.resources;
    }
    let rows: Vec<Row> = per
        .into_iter()
        .map(|(a, n)| (a.to_string(), vec![n]))
        .collect();
    chart(
        &mut s,
        "Resources per vendor and account",
        &[("resources", "bn")],
        &rows,
    );
    if tag_filter {
        s.push_str("<p class=\"m\">The chart counts every resource of the partitions shown; the tag filter applies to the rows below.</p>\n");
    }
    s.push_str("<h2 id=\"resources\">Resources</h2>\n");
    filters(&mut s);
    resource_table(&mut s);
    s.push_str("<tbody>\n");
    s
}

/// One resource row of `snapshot show --format html`.
pub fn show_resource(out: &mut String, r: &Resource, stale: bool) {
    resource_row(out, r, stale);
}

/// The end of `snapshot show --format html`, after `shown` resources.
pub fn show_tail(out: &mut String, shown: usize) {
    out.push_str("</tbody></table>\n");
    let _ = writeln!(
        out,
        "<p>{} resource{} shown.</p>",
        shown,
        plural(shown as u64)
    );
    close(out);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::Vendor;
    use crate::hygiene::{Finding, FindingKind};
    use crate::ops::drift::ConfigDrift;
    use crate::ops::groups::{Cause, Group};
    use crate::ops::ignore::{Ignored, RuleUse};
    use crate::ops::since::{Category, Item, Last, SinceLast};
    use crate::plan::{EndpointChange, IdentityDrift};
    use crate::problem::{Problem, ProblemKind};
    use crate::snapshot::diff::{AccountRemoved, NotCompared};

    const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'<b>&amp;\n";

    fn hostile_account() -> Address {
        Address::new(Vendor::Aws, HOSTILE)
    }

    fn resource(account: &Address, n: usize, hostile: bool) -> Resource {
        let h = |s: String| if hostile { format!("{s}{HOSTILE}") } else { s };
        Resource {
            address: h(format!("{account}/eu-west-1/instance/i-{n:06}")),
            account: account.clone(),
            region: h("eu-west-1".into()),
            kind: h("instance".into()),
            native_type: h("AWS::EC2::Instance".into()),
            id: h(format!("i-{n:06}")),
            name: Some(h(format!("web-{n}"))),
            status: Some(h("running".into())),
            tags: BTreeMap::from([(h("owner".into()), h(format!("team-{}", n % 7)))]),
            attributes: BTreeMap::from([("x".into(), serde_json::json!(h("y".into())))]),
        }
    }

    fn changed(account: &Address, n: usize, hostile: bool) -> Changed {
        let h = |s: String| if hostile { format!("{s}{HOSTILE}") } else { s };
        Changed {
            address: h(format!("{account}/eu-west-1/instance/i-{n:06}")),
            account: account.clone(),
            region: h("eu-west-1".into()),
            kind: h("instance".into()),
            id: h(format!("i-{n:06}")),
            fields: vec![
                FieldChange {
                    path: h("tags.owner".into()),
                    before: Some(serde_json::json!(h("alice".into()))),
                    after: Some(serde_json::json!(h("bob".into()))),
                },
                FieldChange {
                    path: "attributes.rules".into(),
                    before: None,
                    after: Some(serde_json::json!({"ingress": [h("0.0.0.0/0".into()), n]})),
                },
            ],
            tags: BTreeMap::from([(h("owner".into()), h("bob".into()))]),
        }
    }

    fn problem(account: &Address) -> IdentityDrift {
        let mut p = Problem::new(ProblemKind::Auth, HOSTILE);
        p.code = Some(HOSTILE.into());
        p.request_id = Some(HOSTILE.into());
        IdentityDrift::new(account.clone(), p)
    }

    fn report(d: Diff, hostile: bool) -> DriftReport {
        let a = if hostile {
            hostile_account()
        } else {
            Address::new(Vendor::Aws, "prod")
        };
        let text = |s: &str| {
            if hostile {
                HOSTILE.to_string()
            } else {
                s.to_string()
            }
        };
        DriftReport {
            format_version: crate::ops::drift::DRIFT_FORMAT_VERSION.into(),
            snapshot: Some(3),
            recorded: None,
            drift: true,
            incomplete: hostile,
            credentials: if hostile { vec![problem(&a)] } else { vec![] },
            config: vec![ConfigDrift {
                address: a.clone(),
                action: crate::plan::Action::Replace,
                previous_address: hostile.then(|| a.clone()),
                endpoint_change: Some(EndpointChange {
                    from: text("https://sts.amazonaws.com"),
                    to: text("https://evil.example"),
                }),
            }],
            unreadable: if hostile { vec![problem(&a)] } else { vec![] },
            findings: vec![Finding {
                address: a.clone(),
                kind: FindingKind::KeyAge,
                message: text("key is old"),
                advice: Some(text("rotate it")),
                key_id: None,
                created: None,
                last_used: None,
                expires: None,
                code: None,
            }],
            disabled: if hostile { vec![a.clone()] } else { vec![] },
            resources: d,
            groups: vec![Group {
                cause: Cause::Change,
                summary: text("`tags.owner` changed on many instances"),
                count: 2,
                accounts: vec![a.clone()],
                examples: vec![text("aws.prod/eu-west-1/instance/i-000001")],
            }],
            items: Vec::new(),
            ignored: if hostile {
                vec![Ignored {
                    item: item(&a),
                    rule: HOSTILE.into(),
                    reason: HOSTILE.into(),
                }]
            } else {
                Vec::new()
            },
            rules: if hostile {
                vec![RuleUse {
                    name: HOSTILE.into(),
                    reason: HOSTILE.into(),
                    owner: Some(HOSTILE.into()),
                    until: Some(HOSTILE.into()),
                    matched: 1,
                    expired: false,
                    unused_since: Some(HOSTILE.into()),
                }]
            } else {
                Vec::new()
            },
            since_last: hostile.then(|| SinceLast {
                last: Some(Last {
                    recorded_at: HOSTILE.into(),
                    snapshot: Some(2),
                }),
                new: 1,
                known: 2,
                resolved: vec![item(&a)],
                unknown: Vec::new(),
            }),
        }
    }

    fn item(a: &Address) -> Item {
        Item {
            fingerprint: "0".repeat(32),
            category: Category::Changed,
            account: a.clone(),
            resource: Some(HOSTILE.into()),
            region: Some(HOSTILE.into()),
            kind: Some(HOSTILE.into()),
            field: Some(HOSTILE.into()),
            summary: HOSTILE.into(),
            drift: true,
            status: None,
            first_seen: None,
        }
    }

    /// The tags the page opens, in order of appearance.
    fn tags(html: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = html;
        while let Some(at) = rest.find('<') {
            rest = &rest[at + 1..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '!'))
                .collect();
            out.push(name.to_ascii_lowercase());
        }
        out
    }

    const ALLOWED: &[&str] = &[
        "!doctype", "html", "/html", "head", "/head", "meta", "link", "title", "/title", "style",
        "/style", "body", "/body", "h1", "/h1", "h2", "/h2", "h3", "/h3", "p", "/p", "code",
        "/code", "table", "/table", "thead", "/thead", "tbody", "/tbody", "tr", "/tr", "th", "/th",
        "td", "/td", "span", "/span", "br", "section", "/section", "div", "/div", "label",
        "/label", "select", "/select", "option", "/option", "input", "svg", "/svg", "rect", "ul",
        "/ul", "li", "/li", "footer", "/footer", "script", "/script",
    ];

    fn assert_inert(html: &str) {
        for t in tags(html) {
            assert!(ALLOWED.contains(&t.as_str()), "tag <{t}> in the page");
        }
        assert_eq!(html.matches("<script").count(), 1, "one script, ours");
        let script = html.split("<script>\n").nth(1).unwrap();
        assert_eq!(script.split("</script>").next().unwrap(), SCRIPT);
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        // The hostile text is there, escaped.
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img"));
        // Every attribute value is double-quoted and holds no raw double
        // quote: no value ends early.
        for t in html.split('<').skip(1) {
            let Some(end) = t.find('>') else { continue };
            let inside = &t[..end];
            assert_eq!(inside.matches('"').count() % 2, 0, "<{inside}>");
        }
    }

    /// A hostile account name, resource name, tag, value, field path,
    /// problem, finding and group summary are escaped everywhere: in text,
    /// in `data-*` attributes and in the title, and the script is ours.
    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let a = hostile_account();
        let d = Diff {
            added: vec![resource(&a, 1, true)],
            removed: vec![resource(&a, 2, true)],
            changed: vec![changed(&a, 3, true)],
            accounts_removed: vec![AccountRemoved {
                account: a.clone(),
                resources: 4,
            }],
            not_compared: vec![NotCompared {
                account: a.clone(),
                region: HOSTILE.into(),
                kind: HOSTILE.into(),
                before: "complete".into(),
                after: "failed".into(),
                detail: Some(HOSTILE.into()),
                problem_kind: Some(ProblemKind::Throttled),
                code: Some(HOSTILE.into()),
                request_id: Some(HOSTILE.into()),
                stale_resources: 1,
            }],
            partitions_unchanged: 0,
            partitions_compared: 1,
        };
        let page = drift(&report(d.clone(), true), 1);
        assert_inert(&page);
        assert!(page.contains("Security note:"));
        assert!(page.contains("data-g=\"owner&lt;script&gt;"), "{page}");
        assert_inert(&diff_noted(1, 2, &d, &[HOSTILE.to_string()]));

        let v = VersionSummary {
            id: 2,
            parent: Some(1),
            time: HOSTILE.into(),
            content_hash: HOSTILE.into(),
            resources: 1,
            stale_resources: 1,
            accounts: 1,
            partitions: 1,
            incomplete: 1,
            synced_accounts: vec![HOSTILE.into()],
            removed_accounts: vec![HOSTILE.into()],
        };
        let part = PartitionShow {
            account: a.to_string(),
            region: HOSTILE.into(),
            kind: HOSTILE.into(),
            status: "failed".into(),
            detail: Some(HOSTILE.into()),
            problem_kind: Some(ProblemKind::Auth),
            code: Some(HOSTILE.into()),
            request_id: Some(HOSTILE.into()),
            stale: true,
            resources: 1,
            hash: None,
        };
        let mut page = show_head(&v, &[part], true);
        show_resource(&mut page, &resource(&a, 5, true), true);
        show_tail(&mut page, 1);
        assert_inert(&page);
    }

    /// A report of 10,000 changed resources stays well under 10 MB.
    #[test]
    fn ten_thousand_changes_make_a_small_page() {
        let accounts: Vec<Address> = Vendor::ALL
            .iter()
            .flat_map(|&v| (0..5).map(move |i| Address::new(v, format!("acct-{i:04}"))))
            .collect();
        let mut changes: Vec<Changed> = (0..10_000)
            .map(|n| changed(&accounts[n % accounts.len()], n, false))
            .collect();
        changes.sort_by(|a, b| a.address.cmp(&b.address));
        let d = Diff {
            changed: changes,
            ..Diff::default()
        };
        let page = drift(&report(d, false), accounts.len());
        assert!(page.len() < 10 << 20, "{} bytes", page.len());
        assert_eq!(page.matches("<tbody class=\"c\"").count(), 10_000);
        assert!(page.contains("10000</td>"), "the counts");
    }
}
