//! `--write-config DIR --recipient R`: a ready tether config directory for
//! the running world. `DIR/tether.hcl` holds the `tether` block and one
//! `account` block per world account, each with `api_endpoint` at the
//! simulator; every secret is age-encrypted to the recipients into
//! `DIR/secrets/<vendor>-<name>.age` (armored) and referenced with `file()`.
//!
//! Invariant: no plaintext secret is written anywhere.

use std::fmt::Write as _;
use std::path::Path;

use crate::secrets::Recipients;
use crate::secrets::encrypt::armored;

use crate::sim::summary::Summary;

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Writes the config directory.
pub fn write(dir: &Path, recipient_args: &[String], s: &Summary) -> anyhow::Result<()> {
    if recipient_args.is_empty() {
        anyhow::bail!("--write-config needs at least one --recipient");
    }
    let rs = Recipients::parse(recipient_args.iter().map(|r| (r.as_str(), None)))?;
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
