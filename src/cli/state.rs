//! `tether state list | show ADDR | rm ADDR… | mv FROM TO | upgrade | history | pull | push FILE`.
//!
//! `list` and `show` only read (no lock); `rm`, `mv` and `upgrade` take the
//! state lock (`--lock-timeout`) and write through the store.

use std::fmt::Write as _;

use std::time::Duration;

use clap::Subcommand;

use super::{Context, ExitStatus, Format};
use crate::config::{self, Address};
use crate::error::Error;
use crate::ops::stores::{Located, locate};
use crate::render::documents::{SensitiveJson, StateShowJson};
use crate::state::{AccountState, State};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the accounts in state, one address per line.
    List {},
    /// Show one account as recorded in state (secrets as `(sensitive)`).
    Show {
        /// Account address, such as `aws.prod`.
        address: String,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Forget accounts: remove them from state (nothing changes at the vendor).
    Rm {
        /// Account addresses.
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// Rename an account in state (same vendor; the target must not exist).
    Mv { from: String, to: String },
    /// Rewrite a state of an older format in the current one (keeps a .backup).
    Upgrade {},
    /// List the versions of the state the backend keeps (pg: every serial).
    History {
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Print the state as stored (secrets stay ciphertext), or the version of one serial.
    Pull {
        /// A serial from `tether state history` (default: the current state).
        #[arg(long)]
        serial: Option<u64>,
    },
    /// Make a state document the state: refused for another lineage, an
    /// older serial, or the same serial with other content, unless --force.
    Push {
        /// The state document (`-` reads standard input).
        file: std::path::PathBuf,
        /// Write it whatever the current state is (its lineage and serial).
        #[arg(long)]
        force: bool,
    },
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus, Error> {
    let cfg = config::load(&ctx.dir)?;
    let at = locate(&ctx.dir, &cfg.settings)?;
    match args.command {
        StateCommand::List {} => list(ctx, &at),
        StateCommand::Show { address, format } => show(ctx, &at, &address, format),
        StateCommand::Rm { addresses } => rm(ctx, &at, &addresses),
        StateCommand::Mv { from, to } => mv(ctx, &at, &cfg.settings, &from, &to),
        StateCommand::Upgrade {} => upgrade(ctx, &at),
        StateCommand::History { format } => history(ctx, &at, format),
        StateCommand::Pull { serial } => pull(ctx, &at, serial),
        StateCommand::Push { file, force } => push(ctx, &at, &file, force),
    }
}

fn history(ctx: &Context, at: &Located, format: Format) -> Result<ExitStatus, Error> {
    let rows = at.store.history()?;
    match format {
        Format::Json => {
            let doc = crate::render::documents::StateHistoryJson {
                format_version: "1",
                state: at.shown.display().to_string(),
                versions: rows,
            };
            let text =
                serde_json::to_string_pretty(&doc).map_err(|e| Error::Usage(e.to_string()))?;
            ctx.printer.out(&format!("{text}\n"));
        }
        Format::Human if rows.is_empty() => ctx
            .printer
            .err(&format!("No state at {}.\n", at.shown.display())),
        Format::Human => ctx
            .printer
            .out(&crate::render::documents::state_history_human(&rows)),
    }
    Ok(ExitStatus::Success)
}

fn pull(ctx: &Context, at: &Located, serial: Option<u64>) -> Result<ExitStatus, Error> {
    let Some(bytes) = at.store.pull(serial)? else {
        return Err(Error::Usage(format!(
            "there is no state at {} (nothing has been applied yet)",
            at.shown.display()
        )));
    };
    // Read back as any state is read: only a sound document is printed.
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Usage(format!("{}: the state is not UTF-8", at.shown.display())))?;
    ctx.printer.out(&text);
    Ok(ExitStatus::Success)
}

/// A pushed document larger than this is refused (a state of 10,000
/// accounts is a few MB).
const PUSH_LIMIT: u64 = 256 << 20;

fn push(
    ctx: &Context,
    at: &Located,
    file: &std::path::Path,
    force: bool,
) -> Result<ExitStatus, Error> {
    let bytes = if file == std::path::Path::new("-") {
        use std::io::Read as _;
        let mut b = Vec::new();
        std::io::stdin()
            .lock()
            .take(PUSH_LIMIT + 1)
            .read_to_end(&mut b)
            .map_err(|e| Error::io("(standard input)", e))?;
        b
    } else {
        crate::fsutil::read_regular(file, PUSH_LIMIT + 1).map_err(|e| Error::io(file, e))?
    };
    if bytes.len() as u64 > PUSH_LIMIT {
        return Err(Error::Usage(format!(
            "{}: larger than {} MiB; not a state tether wrote",
            file.display(),
            PUSH_LIMIT >> 20
        )));
    }
    let guard = at.store.lock("state push", ctx.lock_timeout)?;
    let pushed = at.store.push(&bytes, &guard, force)?;
    drop(guard);
    if pushed.written {
        ctx.printer.out(&format!(
            "Pushed {} to {} (serial {}).\n",
            file.display(),
            at.shown.display(),
            pushed.serial
        ));
    } else {
        ctx.printer.out(&format!(
            "{} already holds this state (serial {}); nothing to do.\n",
            at.shown.display(),
            pushed.serial
        ));
    }
    Ok(ExitStatus::Success)
}

fn parse_address(s: &str) -> Result<Address, Error> {
    s.parse()
        .map_err(|e| Error::Usage(format!("`{s}` is not an account address: {e}")))
}

fn list(ctx: &Context, at: &Located) -> Result<ExitStatus, Error> {
    let Some(state) = at.store.read()? else {
        ctx.printer
            .err(&format!("No state at {}.\n", at.shown.display()));
        return Ok(ExitStatus::Success);
    };
    let mut out = String::new();
    for a in state.accounts.keys() {
        let _ = writeln!(out, "{a}");
    }
    ctx.printer.out(&out);
    Ok(ExitStatus::Success)
}

fn require(at: &Located, state: Option<State>) -> Result<State, Error> {
    state.ok_or_else(|| {
        Error::Usage(format!(
            "there is no state at {} (nothing has been applied yet)",
            at.shown.display()
        ))
    })
}

fn get<'a>(at: &Located, state: &'a State, addr: &Address) -> Result<&'a AccountState, Error> {
    state.accounts.get(addr).ok_or_else(|| {
        let names: Vec<String> = state.accounts.keys().map(|a| a.to_string()).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let hint = crate::config::did_you_mean(&addr.to_string(), &refs)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        Error::StateEdit {
            address: addr.to_string(),
            reason: format!("`{addr}` is not in state {}{hint}", at.shown.display()),
        }
    })
}

fn show(ctx: &Context, at: &Located, address: &str, format: Format) -> Result<ExitStatus, Error> {
    let addr = parse_address(address)?;
    let state = require(at, at.store.read()?)?;
    let a = get(at, &state, &addr)?;
    match format {
        Format::Json => {
            let doc = StateShowJson {
                format_version: "1",
                address: addr.to_string(),
                vendor: a.vendor.to_string(),
                attributes: a.attributes.clone(),
                secret: SensitiveJson {
                    attribute: a.secret.attribute.clone(),
                    sensitive: true,
                },
                identity: a.identity.clone(),
                regions: a.regions.clone(),
                depends_on: a.depends_on.iter().map(|d| d.to_string()).collect(),
                applied_at: a.applied_at.clone(),
                last_sync: a.last_sync.clone(),
                serial: state.serial,
                lineage: state.lineage.clone(),
            };
            let mut s =
                serde_json::to_string_pretty(&doc).map_err(|e| Error::Usage(e.to_string()))?;
            s.push('\n');
            ctx.printer.out(&s);
        }
        Format::Human => ctx.printer.out(&render_human(&addr, a)),
    }
    Ok(ExitStatus::Success)
}

/// Terraform-like: `# aws.prod:` then the account as an HCL-ish block.
fn render_human(addr: &Address, a: &AccountState) -> String {
    let mut rows: Vec<(String, String)> = a
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), value(v)))
        .collect();
    rows.push((a.secret.attribute.clone(), "(sensitive)".into()));
    if !a.depends_on.is_empty() {
        let deps: Vec<String> = a.depends_on.iter().map(|d| d.to_string()).collect();
        rows.push(("depends_on".into(), format!("[{}]", deps.join(", "))));
    }
    let regions: Vec<String> = a.regions.iter().map(|r| quote(r)).collect();
    rows.push((
        "resolved_regions".into(),
        format!("[{}]", regions.join(", ")),
    ));
    rows.sort_by(|x, y| x.0.cmp(&y.0));
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut s = format!(
        "# {addr}:\naccount \"{}\" \"{}\" {{\n",
        addr.vendor, addr.name
    );
    for (k, v) in &rows {
        let _ = writeln!(s, "    {k:<width$} = {v}");
    }
    let id = &a.identity;
    let _ = writeln!(s, "\n    # verified identity (at {})", id.verified_at);
    let _ = writeln!(s, "    identity {{");
    let _ = writeln!(s, "        account_id = {}", quote(&id.account_id));
    let _ = writeln!(s, "        principal  = {}", quote(&id.principal));
    for sc in &id.scopes {
        let _ = writeln!(
            s,
            "        scope {} {{ name = {} }}",
            quote(&sc.id),
            quote(&sc.name)
        );
    }
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "\n    # applied at {}", a.applied_at);
    match &a.last_sync {
        Some(ls) => {
            let _ = writeln!(s, "    # last sync: snapshot {} at {}", ls.snapshot, ls.at);
        }
        None => {
            let _ = writeln!(s, "    # never synced");
        }
    }
    s.push_str("}\n");
    s
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn value(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            if map.is_empty() {
                return "{}".into();
            }
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} = {}", quote(k), value(v)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

fn rm(ctx: &Context, at: &Located, addresses: &[String]) -> Result<ExitStatus, Error> {
    let addrs = addresses
        .iter()
        .map(|a| parse_address(a))
        .collect::<Result<Vec<_>, _>>()?;
    let guard = at.store.lock("state rm", ctx.lock_timeout)?;
    let mut state = require(at, at.store.read()?)?;
    // Every address must be there before anything is removed.
    for a in &addrs {
        get(at, &state, a)?;
    }
    let mut out = String::new();
    for a in &addrs {
        if state.accounts.remove(a).is_some() {
            let _ = writeln!(out, "Removed {a}");
        }
    }
    let mut notes = String::new();
    for a in &addrs {
        let dependents: Vec<String> = state.dependents(a).iter().map(|d| d.to_string()).collect();
        if !dependents.is_empty() {
            let _ = writeln!(
                notes,
                "note: {} still list `{a}` in depends_on",
                dependents.join(", ")
            );
        }
    }
    let written = at.store.write(&state, &guard)?;
    drop(guard);
    let n = addrs.len();
    let _ = writeln!(
        out,
        "Removed {n} account{} from {} (serial {}).",
        if n == 1 { "" } else { "s" },
        at.shown.display(),
        written.serial
    );
    ctx.printer.out(&out);
    if !notes.is_empty() {
        ctx.printer.err(&notes);
    }
    Ok(ExitStatus::Success)
}

fn mv(
    ctx: &Context,
    at: &Located,
    settings: &config::Settings,
    from: &str,
    to: &str,
) -> Result<ExitStatus, Error> {
    let (f, t) = (parse_address(from)?, parse_address(to)?);
    let guard = at.store.lock("state mv", ctx.lock_timeout)?;
    let mut state = require(at, at.store.read()?)?;
    get(at, &state, &f)?;
    state.rename(&f, &t)?;
    // Both locks before the first change: the snapshots follow the rename.
    let snapshots = crate::ops::stores::snapshots(&ctx.dir, settings)?;
    let snap_guard = snapshots.lock("state mv", ctx.lock_timeout)?;
    let renamed = (f.clone(), t.clone());
    let carry = crate::ops::sync::RenameInSnapshots::prepare(
        &snapshots,
        &snap_guard,
        std::slice::from_ref(&renamed),
    )?;
    let written = at.store.write(&state, &guard)?;
    ctx.printer.out(&format!(
        "Moved {f} to {t} in {} (serial {}).\n",
        at.shown.display(),
        written.serial
    ));
    // The snapshots follow, under the state lock as a sync would take it.
    if let Some(v) = carry.commit()? {
        ctx.printer.out(&format!(
            "Snapshot {v}: {f}'s resources carried over to {t}.\n"
        ));
    }
    drop(guard);
    Ok(ExitStatus::Success)
}

fn upgrade(ctx: &Context, at: &Located) -> Result<ExitStatus, Error> {
    let guard = at.store.lock("state upgrade", ctx.lock_timeout)?;
    let up = at.store.upgrade(&guard)?;
    drop(guard);
    if up.written {
        ctx.printer.out(&format!(
            "Upgraded {} from format_version {} to {} (serial {}); the previous file is {}.backup.\n",
            at.shown.display(),
            up.from,
            up.to,
            up.serial,
            at.shown.display()
        ));
    } else {
        ctx.printer.out(&format!(
            "{} is already in format_version {}; nothing to do.\n",
            at.shown.display(),
            up.to
        ));
    }
    Ok(ExitStatus::Success)
}

/// `--lock-timeout`: `0`, `500ms`, `30s`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (such as 0s, 500ms, 30s, 2m, 1h)"))?;
    let ms = match unit {
        "" | "s" => n.checked_mul(1000),
        "ms" => Some(n),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .ok_or_else(|| format!("`{s}` is not a duration (such as 0s, 500ms, 30s, 2m, 1h)"))?;
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }
}
