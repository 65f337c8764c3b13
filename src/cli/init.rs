//! `tether init`: write a starter tether.hcl, never over an existing one.

use super::{Context, ExitStatus};
use crate::error::Error;
use crate::fsutil::write_atomic;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// The starter config: a settings block and a commented example per vendor.
pub const STARTER: &str = r#"# tether configuration: cloud-vendor accounts as code.
# Every *.hcl file of this directory is read, in name order, and merged.

tether {
  # Who secrets are encrypted to: age recipients (age1...) or SSH public keys
  # (ssh-ed25519 ..., ssh-rsa ...). `tether secrets keygen` makes an identity.
  recipients = []

  state       = "tether.state.json"
  snapshots   = ".tether/snapshots"
  parallelism = 10
}

# Secrets hold age ciphertext only. Write one with:
#   tether secrets set aws.prod secret_access_key   (reads the value from stdin)

# account "aws" "prod" {
#   main_account_id   = "123456789012"
#   account_name      = "Production"
#   access_key_id     = "AKIA..."
#   secret_access_key = file("secrets/aws-prod.age")
#   regions           = ["us-east-1", "eu-west-1"]
#   tags              = { team = "platform" }
# }

# account "alibaba" "cn" {
#   main_account_id   = "1234567890123456"
#   account_name      = "CN main"
#   access_key_id     = "LTAI..."
#   secret_access_key = file("secrets/alibaba-cn.age")
#   regions           = ["cn-hangzhou"]
# }

# account "azure" "corp" {
#   tenant_id          = "00000000-0000-0000-0000-000000000000"
#   tenant_name        = "contoso"
#   application_id     = "11111111-1111-1111-1111-111111111111"
#   application_secret = file("secrets/azure-corp.age")
# }

# account "hcs" "dc1" {
#   endpoint         = "hcs.example.com"
#   environment_name = "dc1"
#   account          = "ops-admin"
#   password         = file("secrets/hcs-dc1.age")
#   depends_on       = [aws.prod]
# }
"#;

pub fn run(ctx: &Context, _args: Args) -> Result<ExitStatus, Error> {
    let path = ctx.dir.join("tether.hcl");
    if path.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; tether init never overwrites a file",
            path.display()
        )));
    }
    write_atomic(&path, STARTER.as_bytes(), None)?;
    let mut msg = format!("Wrote {}.\n", path.display());
    // Help to an identity: secrets cannot be decrypted without one.
    match crate::secrets::identity::discover(&ctx.identities, &ctx.dir) {
        Ok(ids) => msg.push_str(&format!(
            "Found an age identity ({}): put its recipient in `recipients`.\n",
            ids.describe()
        )),
        Err(_) => {
            let target = crate::secrets::identity::default_keys_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "keys.txt".into());
            msg.push_str(&format!(
                "No age identity found. Create one with:\n  tether secrets keygen -o {target}\nand put the recipient it prints in `recipients`.\n"
            ));
        }
    }
    msg.push_str("Then declare accounts and run `tether validate`.\n");
    ctx.printer.out(&msg);
    Ok(ExitStatus::Success)
}
