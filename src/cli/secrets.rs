//! `tether secrets keygen | encrypt | set | rekey`.
//!
//! Plaintext read here goes straight into a [`Secret`]; what these commands
//! print and write is ciphertext, recipients and locations, never plaintext.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::{Context, ExitStatus};
use crate::config::{self, Address};
use crate::error::Error;
use crate::secrets::edit::{self, Current, NewValue};
use crate::secrets::{
    Ciphertext, Identities, Origin, Recipients, Secret, decrypt, encrypt, identity, recipient,
    rekey,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Make a new X25519 age identity; print its recipient.
    ///
    /// With -o, the identity is written to FILE (mode 0600, never over an
    /// existing file) and the recipient printed on stdout. Without -o, the
    /// identity goes to stdout and the recipient to stderr.
    Keygen {
        /// Write the identity to FILE instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Encrypt stdin to the recipients; armored age ciphertext on stdout.
    Encrypt {
        /// Encrypt to RECIPIENT (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`), repeatable.
        /// Default: the `recipients` of the `tether` block.
        #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
        recipients: Vec<String>,
    },
    /// Encrypt a secret read from stdin into an account block, in place.
    ///
    /// The plaintext is read from stdin (without echo on a terminal; one
    /// trailing newline is dropped), encrypted to the `tether` block's
    /// recipients, and written as the value of ATTR in the account's block,
    /// keeping every other byte of the file. Works while the config is invalid
    /// because ATTR holds plaintext.
    Set {
        /// Account address, such as `aws.prod`.
        address: String,
        /// The secret attribute: `secret_access_key`, `application_secret` or `password`.
        attribute: String,
        /// Write the ciphertext to PATH (relative to the config dir, mode 0600) and
        /// set ATTR to `file("PATH")`. Without it, an attribute that already reads
        /// `file("…")` has that file rewritten; any other is set inline.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// Re-encrypt every secret of the config and of the state to the current recipients.
    ///
    /// The state's secrets are re-encrypted under the state lock
    /// (--lock-timeout) and the state written once, atomically, with a .backup.
    Rekey {},
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitStatus, Error> {
    match args.command {
        SecretsCommand::Keygen { output } => keygen(ctx, output.as_deref()),
        SecretsCommand::Encrypt { recipients } => encrypt_cmd(ctx, &recipients),
        SecretsCommand::Set {
            address,
            attribute,
            file,
        } => set(ctx, &address, &attribute, file.as_deref()),
        SecretsCommand::Rekey {} => rekey_cmd(ctx),
    }
}

fn keygen(ctx: &Context, output: Option<&Path>) -> Result<ExitStatus, Error> {
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    let mut text = Zeroizing::new(String::new());
    text.push_str(&format!("# created: {}\n", crate::clock::rfc3339_now()));
    text.push_str(&format!("# public key: {public}\n"));
    text.push_str(id.to_string().expose_secret());
    text.push('\n');
    match output {
        Some(out) => {
            let path = ctx.dir.join(out);
            if path.exists() {
                return Err(Error::Usage(format!(
                    "{} already exists; tether never overwrites an identity (choose another path or remove it)",
                    path.display()
                )));
            }
            crate::fsutil::write_atomic(&path, text.as_bytes(), Some(0o600))?;
            tracing::info!(path = %path.display(), "wrote a new age identity");
            ctx.printer.out(&format!("{public}\n"));
            ctx.printer.err(&format!(
                "Wrote a new identity to {} (mode 0600). Its recipient, printed above, goes into `recipients` in the `tether` block.\n",
                out.display()
            ));
        }
        None => {
            ctx.printer.out(&text);
            ctx.printer.err(&format!("Public key: {public}\n"));
        }
    }
    Ok(ExitStatus::Success)
}

fn encrypt_cmd(ctx: &Context, given: &[String]) -> Result<ExitStatus, Error> {
    let recipients = if given.is_empty() {
        recipient::from_files(&ctx.dir)?
    } else {
        Recipients::parse(given.iter().map(|r| (r.as_str(), None)))?
    };
    let plain = read_plaintext("Secret to encrypt (input is hidden): ")?;
    if plain.is_empty() {
        return Err(Error::Usage("stdin is empty: nothing to encrypt".into()));
    }
    let armored = encrypt::armored(plain.expose(), &recipients)?;
    drop(plain);
    tracing::debug!(recipients = recipients.len(), "encrypted stdin");
    ctx.printer.out(&armored);
    Ok(ExitStatus::Success)
}

fn set(ctx: &Context, address: &str, attr: &str, file: Option<&Path>) -> Result<ExitStatus, Error> {
    let addr: Address = address
        .parse()
        .map_err(|e| Error::Usage(format!("`{address}`: {e}")))?;
    let secret_attrs = addr.vendor.secret_attributes();
    if !secret_attrs.contains(&attr) {
        return Err(Error::Usage(format!(
            "`{attr}` is not a secret attribute of {} accounts (theirs is `{}`)",
            addr.vendor.title(),
            secret_attrs.join("`, `")
        )));
    }
    // Everything that can fail without the plaintext is checked before reading it.
    let recipients = recipient::from_files(&ctx.dir)?;
    let sources = config::files::read_dir(&ctx.dir)?;
    let loc = edit::locate(&sources, &addr, attr)?;
    let src = sources
        .iter()
        .nth(loc.file)
        .map(|(_, f)| f.clone())
        .ok_or_else(|| Error::Usage("internal: located file vanished".into()))?;
    let file_str = match file {
        Some(p) => Some(
            p.to_str()
                .filter(|s| !s.is_empty() && !s.contains('\0'))
                .ok_or_else(|| Error::Usage(format!("--file {}: not a usable path", p.display())))?
                .to_string(),
        ),
        None => None,
    };
    // Which .age file is written, if any, and what the attribute becomes.
    let age_target: Option<String> = match (&file_str, &loc.current) {
        (Some(p), current) => {
            let path = ctx.dir.join(p);
            let same = matches!(current, Current::File(c) if ctx.dir.join(c) == path);
            if path.exists() && !same {
                return Err(Error::Usage(format!(
                    "--file {p}: the file exists and is not this attribute's file; choose another path or remove it"
                )));
            }
            Some(p.clone())
        }
        (None, Current::File(p)) => Some(p.clone()),
        (None, _) => None,
    };
    if let Some(p) = &age_target {
        let path = ctx.dir.join(p);
        if path.is_dir() {
            return Err(Error::Usage(format!("{p} is a directory")));
        }
    }

    // A binary .age file stays binary; any other value is written armored.
    let keep_binary = age_target.as_ref().is_some_and(|p| {
        crate::fsutil::read_regular(&ctx.dir.join(p), decrypt::MAX_CIPHERTEXT_BYTES)
            .is_ok_and(|b| !b.is_empty() && !decrypt::is_armored(&b))
    });

    let mut plain = read_plaintext(&format!(
        "Value of `{attr}` for `{addr}` (input is hidden): "
    ))?;
    plain.trim_line_ending();
    if plain.is_empty() {
        return Err(Error::Usage(format!(
            "stdin is empty: nothing to set for `{attr}` of `{addr}`"
        )));
    }
    let armored = encrypt::armored(plain.expose(), &recipients)?;
    let binary = if keep_binary {
        Some(encrypt::binary(plain.expose(), &recipients)?)
    } else {
        None
    };
    drop(plain);

    // Compute every byte to write before writing any.
    let (new_hcl, age_write) = match &age_target {
        Some(p) => {
            let path = ctx.dir.join(p);
            let bytes = binary.unwrap_or_else(|| armored.clone().into_bytes());
            let hcl = match &loc.current {
                Current::File(c) if ctx.dir.join(c) == path => None,
                _ => Some(edit::set(&src.text, &loc, attr, NewValue::File(p))?),
            };
            (hcl, Some((path, p.clone(), bytes)))
        }
        None => (
            Some(edit::set(
                &src.text,
                &loc,
                attr,
                NewValue::Inline(&armored),
            )?),
            None,
        ),
    };

    let mut restore: Option<(PathBuf, Option<Vec<u8>>)> = None;
    if let Some((path, _, bytes)) = &age_write {
        let before = crate::fsutil::read_regular(path, u64::MAX).ok();
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                crate::fsutil::create_dir_all(parent)?;
            }
        }
        crate::fsutil::write_atomic(path, bytes, Some(0o600))?;
        restore = Some((path.clone(), before));
    }
    if let Some(text) = &new_hcl {
        let mode = crate::fsutil::file_mode(&src.path).unwrap_or(0o644);
        if let Err(e) = crate::fsutil::write_atomic(&src.path, text.as_bytes(), Some(mode)) {
            if let Some((path, before)) = restore {
                let _ = match before {
                    Some(b) => crate::fsutil::write_atomic(&path, &b, Some(0o600)),
                    None => std::fs::remove_file(&path).map_err(|e| Error::io(&path, e)),
                };
            }
            return Err(e);
        }
    }
    let how = match &age_write {
        Some((_, shown, _)) => format!("in {shown}"),
        None => "inline".to_string(),
    };
    let n = recipients.len();
    ctx.printer.out(&format!(
        "Set `{attr}` of `{addr}` at {} ({how}), encrypted to {n} recipient{}.\n",
        loc.location,
        if n == 1 { "" } else { "s" }
    ));
    Ok(ExitStatus::Success)
}

fn rekey_cmd(ctx: &Context) -> Result<ExitStatus, Error> {
    let config = config::load(&ctx.dir)?;
    let s = &config.settings;
    let recipients = Recipients::parse(s.recipients.iter().enumerate().map(|(i, r)| {
        (
            r.as_str(),
            s.recipient_spans
                .get(i)
                .map(|sp| config.sources.location(sp)),
        )
    }))?;
    if recipients.is_empty() {
        return Err(Error::NoRecipients {
            hint: recipient::NO_RECIPIENTS_HINT.into(),
        });
    }
    let ids: Identities = identity::discover(&ctx.identities, &ctx.dir)?;
    // Once state exists, its secrets are re-encrypted in the same run, under its lock.
    let at = crate::ops::stores::locate(&ctx.dir, &config.settings)?;
    let state_part = if at.store.exists()? {
        let guard = at.store.lock("secrets rekey", ctx.lock_timeout)?;
        let state = at.store.read()?;
        state.map(|s| (guard, s))
    } else {
        None
    };
    let plan = rekey::plan_config(&config, &ids, &recipients)?;
    // Every new byte, config and state, is computed before the first write.
    let state_rekey = match &state_part {
        Some((_, state)) => {
            let shown = at.shown.display().to_string();
            let items: Vec<Ciphertext> = state
                .accounts
                .iter()
                .map(|(addr, a)| Ciphertext {
                    origin: Origin {
                        address: addr.to_string(),
                        attribute: a.secret.attribute.clone(),
                        location: shown.clone(),
                    },
                    bytes: a.secret.ciphertext.clone().into_bytes(),
                })
                .collect();
            let fresh = rekey::reencrypt_armored(&items, &ids, &recipients)?;
            let mut next = state.clone();
            for (a, c) in next.accounts.values_mut().zip(fresh) {
                a.secret.ciphertext = c;
            }
            Some((items, next))
        }
        None => None,
    };
    rekey::apply(&plan)?;
    let mut state_origins = Vec::new();
    if let (Some((guard, _)), Some((items, next))) = (&state_part, state_rekey) {
        if !items.is_empty() {
            at.store.write(&next, guard)?;
        }
        state_origins = items.into_iter().map(|c| c.origin).collect();
    }
    drop(state_part);
    let mut out = String::new();
    for o in plan.secrets.iter().chain(&state_origins) {
        out.push_str(&format!(
            "  {} {} ({})\n",
            o.address, o.attribute, o.location
        ));
    }
    let n = plan.secrets.len() + state_origins.len();
    let f = plan.writes.len() + usize::from(!state_origins.is_empty());
    let r = recipients.len();
    out.push_str(&format!(
        "Re-encrypted {n} secret{} in {f} file{} to {r} recipient{}.\n",
        if n == 1 { "" } else { "s" },
        if f == 1 { "" } else { "s" },
        if r == 1 { "" } else { "s" },
    ));
    ctx.printer.out(&out);
    Ok(ExitStatus::Success)
}

/// Reads the plaintext: hidden prompt on a terminal, else all of stdin.
fn read_plaintext(prompt: &str) -> Result<Secret, Error> {
    if std::io::stdin().is_terminal() {
        let typed =
            Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| {
                Error::Usage(format!("cannot read the secret from the terminal: {e}"))
            })?);
        return Ok(Secret::from_slice(typed.as_bytes()));
    }
    let mut stdin = std::io::stdin().lock();
    Secret::read_from(&mut stdin, 256)
        .map_err(|e| Error::Usage(format!("cannot read the secret from stdin: {e}")))
}
