//! `tether snapshot list | show [ID] | diff A B | export ID`: browse and
//! compare snapshot versions. Read-only: no lock, nothing written.
//!
//! Versions are named by id, `latest`, `previous`, or `~N` (N before the
//! latest).

use std::fmt::Write as _;

use clap::Subcommand;

use super::{Context, ExitStatus};
use crate::config::{self, Address};
use crate::error::Error;
use crate::inventory::Resource;
use crate::render::html;
use crate::render::snapshot::{self as render, PartitionShow, VersionSummary};
use crate::snapshot::diff::Changed;
use crate::snapshot::{Renaming, Store, diff, diff_each};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SnapshotCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    Human,
    Json,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Human,
    Json,
    Markdown,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// List the versions, oldest first.
    List {
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
    },
    /// Show one version: its summary, the partitions that failed or were
    /// skipped, and its resources (default: the latest; `--format json`
    /// lists every partition)
    Show {
        /// A version id, `latest`, `previous` or `~N`.
        #[arg(default_value = "latest")]
        id: String,
        /// Only this account (`aws.prod`).
        #[arg(long)]
        account: Option<String>,
        /// Only this resource type (`instance`, `vpc`, …).
        #[arg(long = "type")]
        kind: Option<String>,
        /// Only resources with this tag (`K=V`, or `K` for any value); repeatable.
        #[arg(long = "tag", value_name = "K=V")]
        tags: Vec<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: ShowFormat,
    },
    /// Compare two versions: added, changed and removed resources.
    Diff {
        /// The older version (id, `latest`, `previous`, `~N`).
        from: String,
        /// The newer version.
        #[arg(default_value = "latest")]
        to: String,
        #[arg(long, value_enum, default_value = "human")]
        format: DiffFormat,
    },
    /// Print every resource of a version as JSON (one resource per line) or CSV.
    Export {
        #[arg(default_value = "latest")]
        id: String,
        #[arg(long, value_enum)]
        format: ExportFormat,
    },
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus, Error> {
    // Only the settings: where the store is.
    let settings = config::load_settings(&ctx.dir)?;
    let store = crate::ops::stores::snapshots(&ctx.dir, &settings)?;
    match args.command {
        SnapshotCommand::List { format } => list(ctx, &store, format),
        SnapshotCommand::Show {
            id,
            account,
            kind,
            tags,
            format,
        } => {
            let filter = Filter::new(account, kind, &tags)?;
            show(ctx, &store, &id, &filter, format)
        }
        SnapshotCommand::Diff { from, to, format } => diff_cmd(ctx, &store, &from, &to, format),
        SnapshotCommand::Export { id, format } => export(ctx, &store, &id, format),
    }
}

fn list(ctx: &Context, store: &Store, format: ListFormat) -> Result<ExitStatus, Error> {
    let mut versions = Vec::new();
    for id in store.versions()? {
        versions.push(VersionSummary::of(&store.manifest(id)?));
    }
    match format {
        ListFormat::Json => ctx.printer.out(&json(&render::ListJson {
            format_version: render::FORMAT_VERSION,
            versions,
        })?),
        ListFormat::Human if versions.is_empty() => ctx.printer.err(&format!(
            "No snapshot versions in {}: run `tether sync` to take the first one.\n",
            store.dir().display()
        )),
        ListFormat::Human => ctx.printer.out(&render::list_human(&versions)),
    }
    Ok(ExitStatus::Success)
}

struct Filter {
    account: Option<Address>,
    kind: Option<String>,
    tags: Vec<(String, Option<String>)>,
}

impl Filter {
    fn new(
        account: Option<String>,
        kind: Option<String>,
        tags: &[String],
    ) -> Result<Filter, Error> {
        let account = account
            .map(|a| {
                a.parse::<Address>()
                    .map_err(|e| Error::Usage(format!("--account `{a}`: {e}")))
            })
            .transpose()?;
        let tags = tags
            .iter()
            .map(|t| match t.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (t.clone(), None),
            })
            .collect();
        Ok(Filter {
            account,
            kind,
            tags,
        })
    }

    fn partition(&self, key: &crate::inventory::PartitionKey) -> bool {
        self.account.as_ref().is_none_or(|a| a == &key.account)
            && self.kind.as_ref().is_none_or(|k| k == &key.kind)
    }

    fn resource(&self, r: &crate::inventory::Resource) -> bool {
        self.tags.iter().all(|(k, v)| match (r.tags.get(k), v) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        })
    }
}

/// Printed as the version is read: the summary and the partitions first
/// (from the manifest), then the resources a partition at a time, so
/// memory does not grow with the version.
fn show(
    ctx: &Context,
    store: &Store,
    id: &str,
    filter: &Filter,
    format: ShowFormat,
) -> Result<ExitStatus, Error> {
    use crate::inventory::PartitionStatus;
    let v = store.version(store.resolve(id)?)?;
    let mut partitions = Vec::new();
    for (key, e) in v.manifest.partitions() {
        if !filter.partition(&key) {
            continue;
        }
        let (status, detail, error) = match e.partition_status() {
            PartitionStatus::Complete => ("complete", None, None),
            PartitionStatus::Failed { error } => {
                ("failed", Some(error.message.clone()), Some(error))
            }
            PartitionStatus::Skipped { reason } => ("skipped", Some(reason), None),
        };
        partitions.push(PartitionShow {
            account: key.account.to_string(),
            region: key.region,
            kind: key.kind,
            status: status.into(),
            detail,
            problem_kind: error.as_ref().and_then(|e| e.kind),
            code: error.as_ref().and_then(|e| e.code.clone()),
            request_id: error.and_then(|e| e.request_id),
            stale: e.stale,
            resources: e.resources,
            hash: e.hash.clone(),
        });
    }
    let summary = VersionSummary::of(&v.manifest);
    let mut chunk = match format {
        ShowFormat::Json => render::show_json_head(&summary, &partitions),
        ShowFormat::Human => render::show_human_head(&summary, &partitions),
        ShowFormat::Html => html::show_head(&summary, &partitions, !filter.tags.is_empty()),
    };
    drop(partitions);
    let mut shown = 0;
    for (key, e) in v.manifest.partitions() {
        if !filter.partition(&key) {
            continue;
        }
        for r in v.resources(&key, e)? {
            if !filter.resource(&r) {
                continue;
            }
            match format {
                ShowFormat::Json => render::show_json_resource(&mut chunk, &r, e.stale, shown == 0),
                ShowFormat::Human => render::show_human_resource(&mut chunk, &r, e.stale),
                ShowFormat::Html => html::show_resource(&mut chunk, &r, e.stale),
            }
            shown += 1;
        }
        if chunk.len() > 1 << 20 {
            ctx.printer.out(&chunk);
            chunk.clear();
        }
    }
    match format {
        ShowFormat::Json => render::show_json_tail(&mut chunk, shown),
        ShowFormat::Human => render::show_human_tail(&mut chunk, shown),
        ShowFormat::Html => html::show_tail(&mut chunk, shown),
    }
    ctx.printer.out(&chunk);
    Ok(ExitStatus::Success)
}

fn diff_cmd(
    ctx: &Context,
    store: &Store,
    from: &str,
    to: &str,
    format: DiffFormat,
) -> Result<ExitStatus, Error> {
    let (a, b) = (store.resolve(from)?, store.resolve(to)?);
    // The two manifests are read side by side: for versions whose content
    // is the same, reading them is the whole diff.
    let (va, vb) = std::thread::scope(|s| {
        let older = s.spawn(|| store.version(a));
        let newer = store.version(b);
        let older = older.join().unwrap_or_else(|_| {
            Err(Error::Snapshot {
                reason: "a manifest reader stopped".into(),
            })
        });
        (older, newer)
    });
    let (va, vb) = (va?, vb?);
    // Accounts renamed in between are compared under their names in `b`.
    let renames = store.renames_between(a, b)?;
    let noted: Vec<String> = renames
        .iter()
        .map(|(from, to)| format!("{from} is {to} in snapshot {b}: compared under that name.\n"))
        .collect();
    let older = Renaming::new(&va, renames);
    let with_notes = |text: String| match text.split_once("\n\n") {
        Some((head, rest)) if !noted.is_empty() => {
            format!("{head}\n\n{}\n{rest}", noted.concat())
        }
        _ => text,
    };
    // The resources go to temp files as they are found and are printed
    // from there: what the diff holds at once is a few partitions' worth.
    let mut spill = Spill::new();
    // What each account added, changed and removed, for the HTML chart.
    let mut tally = html::Tally::default();
    let outline = diff_each(&older, &vb, None, |part| {
        if format == DiffFormat::Html {
            tally.add(&part);
        }
        spill.take(part)
    })?;
    if !spill.ordered() {
        // A region or type holding a `/`: the lists are sorted in memory.
        drop(spill);
        let d = diff(&older, &vb)?;
        let text = match format {
            DiffFormat::Human => with_notes(render::diff_human(a, b, &d)),
            DiffFormat::Json => json(&render::DiffJson::new(a, b, &d))?,
            DiffFormat::Markdown => {
                with_notes(render::diff_markdown(a, b, &d, render::DEFAULT_BUDGET))
            }
            DiffFormat::Html => html::diff_noted(a, b, &d, &noted),
        };
        ctx.printer.out(&text);
        return Ok(ExitStatus::Success);
    }
    let counts = spill.counts();
    let Spill {
        added,
        removed,
        changed,
    } = spill;
    let mut out = Chunks::new(ctx);
    match format {
        DiffFormat::Human => {
            out.push(&render::diff_human_head(a, b));
            if !noted.is_empty() {
                out.push(&noted.concat());
                out.push("\n");
            }
            added.each(|r: Resource| {
                out.push(&render::diff_human_added(&r));
                Ok(())
            })?;
            changed.each(|c: Changed| {
                out.push(&render::diff_human_changed(&c));
                Ok(())
            })?;
            removed.each(|r: Resource| {
                out.push(&render::diff_human_removed(&r));
                Ok(())
            })?;
            let blank = out.ends_blank();
            out.push(&render::diff_human_tail(&outline, counts, blank));
        }
        DiffFormat::Json => {
            let bad = |reason: String| Error::Snapshot { reason };
            let [head, after_added, after_removed, tail] =
                render::diff_json_frame(a, b, &outline, counts).map_err(bad)?;
            out.push(&head);
            out.list(added)?;
            out.push(&after_added);
            out.list(removed)?;
            out.push(&after_removed);
            out.list(changed)?;
            out.push(&tail);
        }
        DiffFormat::Markdown => {
            let mut blocks = render::MarkdownBlocks::new(render::DEFAULT_BUDGET);
            added.each(|r: Resource| {
                blocks.added(&r);
                Ok(())
            })?;
            changed.each(|c: Changed| {
                blocks.changed(&c);
                Ok(())
            })?;
            removed.each(|r: Resource| {
                blocks.removed(&r);
                Ok(())
            })?;
            out.push(&with_notes(render::diff_markdown_with(
                a, b, &outline, counts, blocks,
            )));
        }
        DiffFormat::Html => {
            use html::List;
            out.push(&html::diff_head(a, b, &outline, counts, &tally, &noted));
            let mut row = String::new();
            out.push(&html::list_open(List::Added, counts.added));
            added.each(|r: Resource| {
                row.clear();
                html::diff_resource(&mut row, &r);
                out.push(&row);
                Ok(())
            })?;
            out.push(&html::list_close(List::Added, counts.added));
            out.push(&html::list_open(List::Changed, counts.changed));
            changed.each(|c: Changed| {
                row.clear();
                html::diff_changed(&mut row, &c);
                out.push(&row);
                Ok(())
            })?;
            out.push(&html::list_close(List::Changed, counts.changed));
            out.push(&html::list_open(List::Removed, counts.removed));
            removed.each(|r: Resource| {
                row.clear();
                html::diff_resource(&mut row, &r);
                out.push(&row);
                Ok(())
            })?;
            out.push(&html::list_close(List::Removed, counts.removed));
            out.push(&html::diff_tail(&outline, counts));
        }
    }
    out.finish();
    Ok(ExitStatus::Success)
}

/// Output printed a megabyte at a time, knowing whether what was printed
/// so far ends with a blank line.
struct Chunks<'c> {
    ctx: &'c Context,
    buf: String,
    /// Line breaks that end what was printed (0, 1, or 2 for two or more).
    breaks: u8,
}

impl<'c> Chunks<'c> {
    fn new(ctx: &'c Context) -> Chunks<'c> {
        Chunks {
            ctx,
            buf: String::new(),
            breaks: 0,
        }
    }

    fn push(&mut self, text: &str) {
        self.buf.push_str(text);
        if self.buf.len() > 1 << 20 {
            self.flush();
        }
    }

    /// A list of [`render::diff_json_frame`]: its items, then its end.
    fn list<T: serde::Serialize + serde::de::DeserializeOwned>(
        &mut self,
        list: SpillList<T>,
    ) -> Result<(), Error> {
        let mut n = 0;
        list.each(|v: T| {
            render::diff_json_item(&mut self.buf, &v, n == 0)
                .map_err(|reason| Error::Snapshot { reason })?;
            n += 1;
            if self.buf.len() > 1 << 20 {
                self.flush();
            }
            Ok(())
        })?;
        render::diff_json_close(&mut self.buf, n);
        Ok(())
    }

    fn ends_blank(&self) -> bool {
        breaks_after(self.breaks, &self.buf) >= 2
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        self.breaks = breaks_after(self.breaks, &self.buf);
        self.ctx.printer.out(&self.buf);
        self.buf.clear();
    }

    fn finish(mut self) {
        self.flush();
    }
}

/// The line breaks ending `before` + `text`, counted up to 2, where
/// `before` ended with `breaks` of them.
fn breaks_after(breaks: u8, text: &str) -> u8 {
    let own = text.bytes().rev().take_while(|&c| c == b'\n').count();
    if own == text.len() {
        (usize::from(breaks) + own).min(2) as u8
    } else {
        own.min(2) as u8
    }
}

/// Resources a diff holds in memory before it moves them to temp files: a
/// diff of adjacent versions (thousands of changes) never touches the disk,
/// one of distant versions holds at most this many.
const HELD: usize = 20_000;

/// A diff's resources as it is computed, in memory up to [`HELD`], then in
/// one unnamed temp file per list (a JSON line per resource), read back
/// once when they are printed.
struct Spill {
    added: SpillList<Resource>,
    removed: SpillList<Resource>,
    changed: SpillList<Changed>,
}

impl Spill {
    fn new() -> Spill {
        Spill {
            added: SpillList::default(),
            removed: SpillList::default(),
            changed: SpillList::default(),
        }
    }

    /// One partition's part of the diff, in address order.
    fn take(&mut self, part: crate::snapshot::Diff) -> Result<(), Error> {
        for r in part.added {
            self.added.put(r.address.clone(), r);
        }
        for r in part.removed {
            self.removed.put(r.address.clone(), r);
        }
        for c in part.changed {
            self.changed.put(c.address.clone(), c);
        }
        let held = self.added.held.len() + self.removed.held.len() + self.changed.held.len();
        if held > HELD {
            self.added.spill()?;
            self.removed.spill()?;
            self.changed.spill()?;
        }
        Ok(())
    }

    /// Whether every list came in address order.
    fn ordered(&self) -> bool {
        self.added.ordered && self.removed.ordered && self.changed.ordered
    }

    fn counts(&self) -> render::Counts {
        render::Counts {
            added: self.added.n,
            removed: self.removed.n,
            changed: self.changed.n,
        }
    }
}

struct SpillList<T> {
    held: Vec<T>,
    /// Where what was held went, once there was too much of it.
    file: Option<std::io::BufWriter<std::fs::File>>,
    n: usize,
    last: Option<String>,
    ordered: bool,
}

impl<T> Default for SpillList<T> {
    fn default() -> Self {
        SpillList {
            held: Vec::new(),
            file: None,
            n: 0,
            last: None,
            ordered: true,
        }
    }
}

fn temp_failed(e: std::io::Error) -> Error {
    Error::io(std::env::temp_dir(), e)
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> SpillList<T> {
    fn put(&mut self, address: String, v: T) {
        if self.last.as_ref().is_some_and(|l| *l >= address) {
            self.ordered = false;
        }
        self.last = Some(address);
        self.held.push(v);
        self.n += 1;
    }

    /// Moves what is held to the temp file (made at the first call).
    fn spill(&mut self) -> Result<(), Error> {
        use std::io::Write as _;
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                // Unlinked from the start, owner-only: it goes with the run.
                let f = tempfile::tempfile().map_err(temp_failed)?;
                self.file
                    .insert(std::io::BufWriter::with_capacity(1 << 16, f))
            }
        };
        for v in self.held.drain(..) {
            serde_json::to_writer(&mut *file, &v).map_err(|e| temp_failed(e.into()))?;
            file.write_all(b"\n").map_err(temp_failed)?;
        }
        Ok(())
    }

    /// Each item, in the order they were put.
    fn each(self, mut f: impl FnMut(T) -> Result<(), Error>) -> Result<(), Error> {
        use std::io::{BufRead as _, Seek as _};
        if let Some(file) = self.file {
            let mut file = file.into_inner().map_err(|e| temp_failed(e.into_error()))?;
            file.seek(std::io::SeekFrom::Start(0))
                .map_err(temp_failed)?;
            for line in std::io::BufReader::with_capacity(1 << 16, file).lines() {
                let line = line.map_err(temp_failed)?;
                let v = serde_json::from_str(&line).map_err(|e| Error::Snapshot {
                    reason: format!("a diff's temp file does not read back: {e}"),
                })?;
                f(v)?;
            }
        }
        for v in self.held {
            f(v)?;
        }
        Ok(())
    }
}

fn export(
    ctx: &Context,
    store: &Store,
    id: &str,
    format: ExportFormat,
) -> Result<ExitStatus, Error> {
    let v = store.version(store.resolve(id)?)?;
    // Every partition is read (and checked) before the first byte is printed
    // only per partition: a damaged object stops the export with an error.
    let mut first = true;
    let mut chunk = match format {
        ExportFormat::Json => render::export_json_head(&v.manifest),
        ExportFormat::Csv => render::CSV_HEADER.to_string(),
    };
    for (key, e) in v.manifest.partitions() {
        for r in v.resources(&key, e)? {
            match format {
                ExportFormat::Json => render::export_json_line(&mut chunk, &r, e.stale, first),
                ExportFormat::Csv => render::csv_row(&mut chunk, &r, e.stale),
            }
            first = false;
        }
        if chunk.len() > 1 << 20 {
            ctx.printer.out(&chunk);
            chunk.clear();
        }
    }
    if format == ExportFormat::Json {
        chunk.push_str(render::EXPORT_JSON_TAIL);
    }
    ctx.printer.out(&chunk);
    Ok(ExitStatus::Success)
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| Error::Snapshot {
        reason: e.to_string(),
    })?;
    let _ = writeln!(s);
    Ok(s)
}

#[cfg(test)]
mod spill_tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::snapshot::diff::FieldChange;

    fn changed(n: usize) -> Changed {
        Changed {
            address: format!("aws.a/eu-west-1/instance/i-{n:05}"),
            account: "aws.a".parse().expect("an address"),
            region: "eu-west-1".into(),
            kind: "instance".into(),
            id: format!("i-{n:05}"),
            fields: vec![FieldChange {
                path: "attributes.x".into(),
                before: Some(serde_json::Value::Null),
                after: (n % 2 == 0).then(|| serde_json::json!({"n": n, "s": "é\n\"q\""})),
            }],
            tags: Default::default(),
        }
    }

    fn resource(n: usize) -> Resource {
        Resource {
            address: format!("aws.a/eu-west-1/instance/i-{n:05}"),
            account: "aws.a".parse().expect("an address"),
            region: "eu-west-1".into(),
            kind: "instance".into(),
            native_type: "AWS::EC2::Instance".into(),
            id: format!("i-{n:05}"),
            name: (n % 3 == 0).then(|| format!("web {n}")),
            status: None,
            tags: BTreeMap::from([("owner".to_string(), "x".to_string())]),
            attributes: BTreeMap::from([("n".to_string(), serde_json::json!(n as f64 / 4.0))]),
        }
    }

    /// Past what it holds, a diff's list goes to its temp file, and reads
    /// back whole, in order, the held tail after the spilled head.
    #[test]
    fn a_spilled_diff_reads_back_in_order() {
        let mut spill = Spill::new();
        let mut n = 0;
        for part in 0..5 {
            let mut d = crate::snapshot::Diff::default();
            for _ in 0..HELD / 3 + 7 * part {
                d.added.push(resource(n));
                d.changed.push(changed(n));
                n += 1;
            }
            spill.take(d).unwrap();
        }
        assert!(spill.added.file.is_some() && !spill.added.held.is_empty());
        assert!(spill.ordered());
        assert_eq!(spill.counts().added, n);
        assert_eq!(spill.counts().changed, n);
        let Spill {
            added, changed: ch, ..
        } = spill;
        let mut i = 0;
        added
            .each(|r| {
                assert_eq!(r, resource(i));
                i += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(i, n);
        let mut i = 0;
        ch.each(|c| {
            assert_eq!(c, changed(i));
            i += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(i, n);
        // Out of order is noticed (the caller then sorts in memory).
        let mut l: SpillList<Resource> = SpillList::default();
        l.put(resource(2).address, resource(2));
        l.put(resource(1).address, resource(1));
        assert!(!l.ordered);
    }
}
