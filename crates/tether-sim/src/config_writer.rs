//! `--write-config DIR --recipient R`: a ready tether config directory for
//! the running world. `DIR/tether.hcl` holds the `tether` block and one
//! `account` block per world account, each with `api_endpoint` at the
//! simulator; every secret is age-encrypted to the recipients into
//! `DIR/secrets/<vendor>-<name>.age` (armored) and referenced with `file()`.
//!
//! Invariant: no plaintext secret is written anywhere.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use age::armor::{ArmoredWriter, Format};
use anyhow::{anyhow, bail};

use crate::summary::Summary;

type Recipient = Box<dyn age::Recipient + Send + Sync>;

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// One `--recipient`: an age X25519 key (`age1…`) or an SSH public key
/// (`ssh-ed25519`, `ssh-rsa`), the kinds tether encrypts to.
fn recipient(arg: &str) -> anyhow::Result<Recipient> {
    let r = arg.trim();
    let shown: String = match r.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &r[..i]),
        None => r.to_string(),
    };
    if r.starts_with("AGE-SECRET-KEY-") {
        // Never echo a private key back.
        bail!(
            "recipient \"AGE-SECRET-KEY-…\": this is an age identity (a private key), not a recipient; use its public key (`age-keygen -y`)"
        );
    }
    if r.starts_with("age1") {
        let k = r
            .parse::<age::x25519::Recipient>()
            .map_err(|e| anyhow!("recipient \"{shown}\": not a valid age X25519 key: {e}"))?;
        Ok(Box::new(k))
    } else if r.starts_with("ssh-") {
        let k = r.parse::<age::ssh::Recipient>().map_err(|_| {
            anyhow!(
                "recipient \"{shown}\": not a supported SSH public key (ssh-ed25519 or ssh-rsa)"
            )
        })?;
        Ok(Box::new(k))
    } else {
        bail!("recipient \"{shown}\": neither an age (`age1…`) nor an SSH public key")
    }
}

/// `plain` encrypted to every recipient, as armored age text ending with a newline.
fn armored(plain: &[u8], to: &[Recipient]) -> anyhow::Result<String> {
    let enc =
        age::Encryptor::with_recipients(to.iter().map(|r| r.as_ref() as &dyn age::Recipient))?;
    let mut out = Vec::with_capacity(plain.len() + 512);
    let mut w = enc.wrap_output(ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)?)?;
    w.write_all(plain)?;
    w.finish()?.finish()?;
    let mut text = String::from_utf8(out)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Writes the config directory.
pub fn write(dir: &Path, recipient_args: &[String], s: &Summary) -> anyhow::Result<()> {
    if recipient_args.is_empty() {
        anyhow::bail!("--write-config needs at least one --recipient");
    }
    let rs = recipient_args
        .iter()
        .map(|r| recipient(r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    let mut hcl = String::new();
    let list: Vec<String> = recipient_args.iter().map(|r| q(r)).collect();
    writeln!(hcl, "tether {{\n  recipients = [{}]\n}}\n", list.join(", "))?;
    let secret = |vendor: &str, name: &str, plain: &str| -> anyhow::Result<String> {
        let file = format!("{vendor}-{name}.age");
        std::fs::write(secrets.join(&file), armored(plain.as_bytes(), &rs)?)?;
        Ok(format!("file(\"secrets/{file}\")"))
    };
    for (vendor, v) in [("aws", &s.aws), ("alibaba", &s.alibaba)] {
        for a in &v.accounts {
            let f = secret(vendor, &a.name, &a.secret_access_key)?;
            writeln!(
                hcl,
                "account \"{vendor}\" \"{}\" {{\n  main_account_id   = {}\n  account_name      = {}\n  access_key_id     = {}\n  secret_access_key = {f}\n  api_endpoint      = {}\n}}\n",
                a.name,
                q(&a.main_account_id),
                q(&a.account_name),
                q(&a.access_key_id),
                q(&v.endpoint)
            )?;
        }
    }
    for a in &s.azure.accounts {
        let f = secret("azure", &a.name, &a.application_secret)?;
        writeln!(
            hcl,
            "account \"azure\" \"{}\" {{\n  tenant_id          = {}\n  tenant_name        = {}\n  application_id     = {}\n  application_secret = {f}\n  api_endpoint       = {}\n}}\n",
            a.name,
            q(&a.tenant_id),
            q(&a.tenant_name),
            q(&a.application_id),
            q(&s.azure.endpoint)
        )?;
    }
    let host = url::Url::parse(&s.hcs.endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "127.0.0.1".into());
    for a in &s.hcs.accounts {
        let f = secret("hcs", &a.name, &a.password)?;
        writeln!(
            hcl,
            "account \"hcs\" \"{}\" {{\n  endpoint         = {}\n  environment_name = {}\n  account          = {}\n  password         = {f}\n  api_endpoint     = {}\n}}\n",
            a.name,
            q(&host),
            q(&a.environment_name),
            q(&a.account),
            q(&s.hcs.endpoint)
        )?;
    }
    // Blocks are separated by one blank line and the file ends with one
    // newline, as `tether fmt` writes it.
    let hcl = format!("{}\n", hcl.trim_end());
    std::fs::write(dir.join("tether.hcl"), hcl)?;
    Ok(())
}
