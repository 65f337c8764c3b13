//! `tether secrets …`: identities, recipients, encrypt, set, rekey, and the canary.

use std::path::Path;

use secrecy::ExposeSecret;
use tether::config;
use tether::secrets::identity::{self, Origin as IdOrigin};
use tether::secrets::{Identities, decrypt};

use crate::harness::{Output, Run, tether, tree};

/// A fresh X25519 identity: (identity file text, recipient).
fn keypair() -> (String, String) {
    let id = age::x25519::Identity::generate();
    (
        format!(
            "# created: test\n# public key: {}\n{}\n",
            id.to_public(),
            id.to_string().expose_secret()
        ),
        id.to_public().to_string(),
    )
}

fn ids(text: &str) -> Identities {
    Identities::from_list(identity::parse(text, &IdOrigin::Given).unwrap())
}

/// Every secret of the config in `dir`, decrypted with `key`, as strings by address.
fn decrypted(dir: &Path, key: &str) -> Result<Vec<(String, String)>, String> {
    let c = config::load(dir).map_err(|e| e.to_string())?;
    let items = decrypt::config_ciphertexts(&c).map_err(|e| e.to_string())?;
    let plain = decrypt::decrypt_all(&items, &ids(key)).map_err(|e| e.to_string())?;
    Ok(items
        .iter()
        .zip(plain)
        .map(|(c, p)| {
            (
                c.origin.address.clone(),
                p.expose_str().unwrap().to_string(),
            )
        })
        .collect())
}

fn settings(recipients: &[&str]) -> String {
    let list: Vec<String> = recipients.iter().map(|r| format!("\"{r}\"")).collect();
    format!("tether {{\n  recipients = [{}]\n}}\n", list.join(", "))
}

const AWS_PLAIN: &str = "
# Production: migrated from plaintext
account \"aws\" \"prod\" {
  main_account_id   = \"123456789012\"
  account_name      = \"Production\"   # shown in reports
  access_key_id     = \"AKIAEXAMPLE\"
  secret_access_key = \"PLAIN-VALUE\" // to encrypt
  regions           = [\"us-east-1\"]
}
";

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn ok(o: &Output) {
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
}

fn failed(o: &Output) {
    assert_eq!(o.code, 1, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
}

/// `secrets rekey` with `key` fails with every one of `expected` in stderr and writes nothing.
fn rekey_refused(d: &Path, key: &str, expected: &[&str]) {
    let snap = tree(d);
    let o = Run::new(d)
        .args(["secrets", "rekey"])
        .env("TETHER_AGE_KEY", key)
        .run();
    failed(&o);
    for e in expected {
        assert!(o.stderr.contains(e), "{}", o.stderr);
    }
    assert_eq!(tree(d), snap);
}

fn set(dir: &Path, args: &[&str], plaintext: &str) -> Output {
    let mut a = vec!["secrets", "set"];
    a.extend_from_slice(args);
    Run::new(dir).args(a).stdin(plaintext).run()
}

/// A run expected to fail before reading stdin: no stdin is given, so the
/// harness never writes into a pipe the process has already closed.
fn fails_early(dir: &Path, args: &[&str]) -> Output {
    let o = Run::new(dir).args(args).run();
    failed(&o);
    o
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_writes_a_0600_identity_and_prints_its_recipient() {
    let t = tempfile::tempdir().unwrap();
    let o = tether(t.path(), ["secrets", "keygen", "-o", "key.txt"]);
    ok(&o);
    let recipient = o.stdout.trim();
    assert!(recipient.starts_with("age1"), "{}", o.stdout);
    let text = std::fs::read_to_string(t.path().join("key.txt")).unwrap();
    assert!(text.starts_with("# created: "), "{text}");
    assert!(text.contains(&format!("# public key: {recipient}\n")));
    #[cfg(unix)]
    assert_eq!(mode(&t.path().join("key.txt")), 0o600);
    // The identity decrypts what is encrypted to the printed recipient.
    let enc = Run::new(t.path())
        .args(["secrets", "encrypt", "-r", recipient])
        .stdin("hello")
        .run();
    ok(&enc);
    let plain = decrypt::decrypt_bytes(enc.stdout.as_bytes(), &ids(&text)).unwrap();
    assert_eq!(plain.expose(), b"hello");
    // Never over an existing file.
    let again = tether(t.path(), ["secrets", "keygen", "-o", "key.txt"]);
    failed(&again);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(t.path().join("key.txt")).unwrap(),
        text
    );
    // Without -o: the identity on stdout, the recipient on stderr.
    let o = tether(t.path(), ["secrets", "keygen"]);
    ok(&o);
    assert!(o.stdout.contains("AGE-SECRET-KEY-1"), "{}", o.stdout);
    assert!(o.stderr.starts_with("Public key: age1"), "{}", o.stderr);
}

#[test]
fn encrypt_uses_the_settings_recipients_or_r_and_rejects_bad_recipients() {
    let t = tempfile::tempdir().unwrap();
    let (k1, r1) = keypair();
    let (k2, r2) = keypair();
    write(t.path(), "main.hcl", &settings(&[&r1]));
    let o = Run::new(t.path())
        .args(["secrets", "encrypt"])
        .stdin("s3cret")
        .run();
    ok(&o);
    assert!(
        o.stdout.starts_with(config::AGE_ARMOR_BEGIN),
        "{}",
        o.stdout
    );
    assert!(o.stdout.trim_end().ends_with(config::AGE_ARMOR_END));
    assert_eq!(
        decrypt::decrypt_bytes(o.stdout.as_bytes(), &ids(&k1))
            .unwrap()
            .expose(),
        b"s3cret"
    );
    assert!(decrypt::decrypt_bytes(o.stdout.as_bytes(), &ids(&k2)).is_err());
    // -r replaces the settings.
    let o = Run::new(t.path())
        .args(["secrets", "encrypt", "-r", &r2])
        .stdin("s3cret")
        .run();
    ok(&o);
    assert!(decrypt::decrypt_bytes(o.stdout.as_bytes(), &ids(&k2)).is_ok());
    assert!(decrypt::decrypt_bytes(o.stdout.as_bytes(), &ids(&k1)).is_err());
    // A recipient that does not parse: -r, and in the settings (with file:line:col).
    let o = fails_early(t.path(), &["secrets", "encrypt", "-r", "age1bogus"]);
    assert!(o.stderr.contains("recipient \"age1bogus\""), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    write(
        t.path(),
        "main.hcl",
        "tether {\n  recipients = [\"ssh-ed25519 AAAAnope\"]\n}\n",
    );
    let o = fails_early(t.path(), &["secrets", "encrypt"]);
    assert!(
        o.stderr
            .contains("main.hcl:2:17: recipient \"ssh-ed25519 AAAAnope\""),
        "{}",
        o.stderr
    );
    // No recipients at all.
    write(t.path(), "main.hcl", AWS_PLAIN);
    let o = fails_early(t.path(), &["secrets", "encrypt"]);
    assert!(o.stderr.contains("no recipients"), "{}", o.stderr);
}

#[test]
fn set_inline_migrates_a_plaintext_value_keeping_every_other_byte() {
    let t = tempfile::tempdir().unwrap();
    let (k, r) = keypair();
    let before = format!("{}{AWS_PLAIN}", settings(&[&r]));
    write(t.path(), "main.hcl", &before);
    // The config is invalid: the attribute holds plaintext.
    failed(&tether(t.path(), ["validate"]));
    let o = set(
        t.path(),
        &["aws.prod", "secret_access_key"],
        "wJalr-new-value\n",
    );
    ok(&o);
    assert!(
        o.stdout.contains("Set `secret_access_key` of `aws.prod` at main.hcl:10:23 (inline), encrypted to 1 recipient."),
        "{}",
        o.stdout
    );
    let after = std::fs::read_to_string(t.path().join("main.hcl")).unwrap();
    let start = before.find("\"PLAIN-VALUE\"").unwrap();
    let end = start + "\"PLAIN-VALUE\"".len();
    assert_eq!(&after[..start], &before[..start]);
    assert!(after.ends_with(&before[end..]), "{after}");
    assert!(after[start..].starts_with("<<-EOT\n    -----BEGIN AGE ENCRYPTED FILE-----\n"));
    assert!(after.contains("\n    -----END AGE ENCRYPTED FILE-----\n  EOT // to encrypt\n"));
    ok(&tether(t.path(), ["validate"]));
    assert_eq!(
        decrypted(t.path(), &k).unwrap(),
        [("aws.prod".to_string(), "wJalr-new-value".to_string())]
    );
}

#[test]
fn set_with_file_writes_a_0600_age_file_and_points_the_attribute_at_it() {
    let t = tempfile::tempdir().unwrap();
    let (k, r) = keypair();
    let config = format!(
        "{}account \"azure\" \"corp\" {{\n  tenant_id      = \"00000000-0000-0000-0000-000000000000\"\n  tenant_name    = \"contoso\"\n  application_id = \"11111111-1111-1111-1111-111111111111\"\n}}\n",
        settings(&[&r])
    );
    write(t.path(), "main.hcl", &config);
    let o = set(
        t.path(),
        &[
            "azure.corp",
            "application_secret",
            "--file",
            "secrets/azure-corp.age",
        ],
        "azure-value",
    );
    ok(&o);
    let after = std::fs::read_to_string(t.path().join("main.hcl")).unwrap();
    assert_eq!(
        after,
        config.replace(
            "11111111-1111-1111-1111-111111111111\"\n",
            "11111111-1111-1111-1111-111111111111\"\n  application_secret = file(\"secrets/azure-corp.age\")\n"
        )
    );
    let age_file = t.path().join("secrets/azure-corp.age");
    #[cfg(unix)]
    assert_eq!(mode(&age_file), 0o600);
    assert!(
        std::fs::read_to_string(&age_file)
            .unwrap()
            .starts_with(config::AGE_ARMOR_BEGIN)
    );
    ok(&tether(t.path(), ["validate"]));
    assert_eq!(decrypted(t.path(), &k).unwrap()[0].1, "azure-value");
    // Setting again without --file rewrites the same file; the HCL stays as it is.
    ok(&set(
        t.path(),
        &["azure.corp", "application_secret"],
        "azure-value-2",
    ));
    assert_eq!(
        std::fs::read_to_string(t.path().join("main.hcl")).unwrap(),
        after
    );
    assert_eq!(decrypted(t.path(), &k).unwrap()[0].1, "azure-value-2");
    // --file onto another existing file is refused, nothing written.
    write(t.path(), "secrets/other.age", "keep");
    let snap = tree(t.path());
    let o = fails_early(
        t.path(),
        &[
            "secrets",
            "set",
            "azure.corp",
            "application_secret",
            "--file",
            "secrets/other.age",
        ],
    );
    failed(&o);
    assert!(o.stderr.contains("the file exists"), "{}", o.stderr);
    assert_eq!(tree(t.path()), snap);
}

#[test]
fn set_errors_write_nothing() {
    let t = tempfile::tempdir().unwrap();
    let (_, r) = keypair();
    write(
        t.path(),
        "main.hcl",
        &format!("{}{AWS_PLAIN}", settings(&[&r])),
    );
    let snap = tree(t.path());
    for (args, want) in [
        (&["aws.prod", "password"][..], "not a secret attribute"),
        (
            &["aws.nope", "secret_access_key"][..],
            "no `account \"aws\" \"nope\"` block",
        ),
        (&["gcp.prod", "password"][..], "unknown vendor `gcp`"),
    ] {
        let mut a = vec!["secrets", "set"];
        a.extend_from_slice(args);
        let o = fails_early(t.path(), &a);
        assert!(o.stderr.contains(want), "{args:?}: {}", o.stderr);
        assert_eq!(tree(t.path()), snap);
    }
    let o = set(t.path(), &["aws.prod", "secret_access_key"], "");
    failed(&o);
    assert!(o.stderr.contains("stdin is empty"), "{}", o.stderr);
    assert_eq!(tree(t.path()), snap);
}

/// Writes a config with an inline, an armored-file and a binary-file secret, all to `r`.
fn three_secrets(dir: &Path, r: &str) {
    write(
        dir,
        "main.hcl",
        &format!(
            "{}\n# keep this comment\naccount \"aws\" \"prod\" {{\n  main_account_id = \"123456789012\"\n  account_name    = \"Production\"\n  access_key_id   = \"AKIAEXAMPLE\"\n  secret_access_key = \"x\"\n}}\n\naccount \"alibaba\" \"cn\" {{\n  main_account_id = \"1234567890123456\"\n  account_name    = \"CN\"\n  access_key_id   = \"LTAIEXAMPLE\"\n  secret_access_key = \"x\"\n}}\n",
            settings(&[r])
        ),
    );
    write(
        dir,
        "hcs.hcl",
        "account \"hcs\" \"dc1\" {\n  endpoint         = \"hcs.example.com\"\n  environment_name = \"dc1\"\n  account          = \"ops\"\n  password         = file(\"secrets/hcs.age\")\n}\n",
    );
    ok(&set(dir, &["aws.prod", "secret_access_key"], "aws-value"));
    ok(&set(
        dir,
        &[
            "alibaba.cn",
            "secret_access_key",
            "--file",
            "secrets/ali.age",
        ],
        "ali-value",
    ));
    // A binary .age file, as `age` writes without -a.
    let armored = std::fs::read(dir.join("secrets/ali.age")).unwrap();
    let mut bin = Vec::new();
    std::io::copy(&mut age::armor::ArmoredReader::new(&armored[..]), &mut bin).unwrap();
    assert!(bin.starts_with(config::AGE_HEADER.as_bytes()));
    write(dir, "secrets/hcs.age", "");
    let o = Run::new(dir)
        .args(["secrets", "encrypt"])
        .stdin("hcs-value")
        .run();
    ok(&o);
    let mut bin = Vec::new();
    std::io::copy(
        &mut age::armor::ArmoredReader::new(o.stdout.as_bytes()),
        &mut bin,
    )
    .unwrap();
    std::fs::write(dir.join("secrets/hcs.age"), bin).unwrap();
}

fn expected() -> Vec<(String, String)> {
    // Accounts come in address order: vendor (aws, alibaba, azure, hcs), then name.
    [
        ("aws.prod", "aws-value"),
        ("alibaba.cn", "ali-value"),
        ("hcs.dc1", "hcs-value"),
    ]
    .iter()
    .map(|(a, v)| (a.to_string(), v.to_string()))
    .collect()
}

#[test]
fn rekey_moves_every_secret_to_the_new_recipients_keeping_formats() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (k_old, r_old) = keypair();
    let (k_new, r_new) = keypair();
    three_secrets(d, &r_old);
    assert_eq!(decrypted(d, &k_old).unwrap(), expected());
    write(d, "old.txt", &k_old);
    // Rotate: the settings now name only the new recipient.
    let main = std::fs::read_to_string(d.join("main.hcl")).unwrap();
    std::fs::write(d.join("main.hcl"), main.replace(&r_old, &r_new)).unwrap();
    let o = tether(d, ["--identity", "old.txt", "secrets", "rekey"]);
    ok(&o);
    assert!(
        o.stdout.contains("  aws.prod secret_access_key (main.hcl:"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("  hcs.dc1 password (hcs.hcl:5:22)"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .ends_with("Re-encrypted 3 secrets in 3 files to 1 recipient.\n"),
        "{}",
        o.stdout
    );
    assert_eq!(decrypted(d, &k_new).unwrap(), expected());
    let e = decrypted(d, &k_old).unwrap_err();
    assert!(
        e.contains("no identity from the given identities can decrypt it"),
        "{e}"
    );
    // Formats and bytes around the values are kept.
    assert!(
        std::fs::read(d.join("secrets/hcs.age"))
            .unwrap()
            .starts_with(config::AGE_HEADER.as_bytes())
    );
    assert!(
        std::fs::read_to_string(d.join("secrets/ali.age"))
            .unwrap()
            .starts_with(config::AGE_ARMOR_BEGIN)
    );
    let after = std::fs::read_to_string(d.join("main.hcl")).unwrap();
    assert!(after.contains("\n# keep this comment\naccount \"aws\" \"prod\" {\n"));
    assert!(after.contains("  secret_access_key = <<-EOT\n    -----BEGIN AGE"));
    assert_eq!(
        std::fs::read_to_string(d.join("hcs.hcl")).unwrap(),
        "account \"hcs\" \"dc1\" {\n  endpoint         = \"hcs.example.com\"\n  environment_name = \"dc1\"\n  account          = \"ops\"\n  password         = file(\"secrets/hcs.age\")\n}\n"
    );
    #[cfg(unix)]
    assert_eq!(mode(&d.join("secrets/hcs.age")), 0o600);
    ok(&tether(d, ["validate"]));
}

#[test]
fn two_recipients_either_identity_decrypts() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (ka, ra) = keypair();
    let (kb, rb) = keypair();
    let (kc, _) = keypair();
    three_secrets(d, &format!("{ra}\", \"{rb}"));
    assert_eq!(decrypted(d, &ka).unwrap(), expected());
    assert_eq!(decrypted(d, &kb).unwrap(), expected());
    assert!(decrypted(d, &kc).is_err());
    for k in [&ka, &kb] {
        let o = Run::new(d)
            .args(["secrets", "rekey"])
            .env("TETHER_AGE_KEY", k)
            .run();
        ok(&o);
        assert!(o.stdout.contains("to 2 recipients"), "{}", o.stdout);
    }
    assert_eq!(decrypted(d, &ka).unwrap(), expected());
    assert_eq!(decrypted(d, &kb).unwrap(), expected());
}

/// `ssh-keygen -t TYPE` without a passphrase: (private key path, public key line).
fn ssh_key(dir: &Path, kind: &str) -> (std::path::PathBuf, String) {
    let path = dir.join(format!("id_{kind}"));
    let mut cmd = std::process::Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", "", "-C", "test@tether", "-f"])
        .arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let st = cmd
        .status()
        .expect("ssh-keygen runs (package openssh-client)");
    assert!(st.success());
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

#[test]
fn ssh_ed25519_and_rsa_identities_decrypt() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let keys = tempfile::tempdir().unwrap();
    let (ed, ed_pub) = ssh_key(keys.path(), "ed25519");
    let (rsa, rsa_pub) = ssh_key(keys.path(), "rsa");
    three_secrets(d, &format!("{ed_pub}\", \"{rsa_pub}"));
    for key in [&ed, &rsa] {
        let text = std::fs::read_to_string(key).unwrap();
        assert_eq!(decrypted(d, &text).unwrap(), expected());
        // --identity and TETHER_AGE_IDENTITY both take an SSH private key file.
        ok(&tether(
            d,
            [
                &"--identity".to_string(),
                &key.display().to_string(),
                &"secrets".into(),
                &"rekey".into(),
            ],
        ));
        let o = Run::new(d)
            .args(["secrets", "rekey"])
            .env("TETHER_AGE_IDENTITY", key)
            .run();
        ok(&o);
    }
    assert_eq!(
        decrypted(d, &std::fs::read_to_string(&ed).unwrap()).unwrap(),
        expected()
    );
}

#[test]
fn identity_lookup_order_through_the_binary() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (good, r) = keypair();
    let (bad, _) = keypair();
    three_secrets(d, &r);
    write(d, "good.txt", &good);
    write(d, "bad.txt", &bad);
    let rekey = |envs: &[(&str, &str)], flags: &[&str]| {
        let mut args: Vec<&str> = flags.to_vec();
        args.extend(["secrets", "rekey"]);
        let mut run = Run::new(d).args(args);
        for (k, v) in envs {
            run = run.env(k, v);
        }
        run.run()
    };
    // Each source alone works.
    ok(&rekey(&[], &["--identity", "good.txt"]));
    ok(&rekey(
        &[(
            "TETHER_AGE_IDENTITY",
            &d.join("good.txt").display().to_string(),
        )],
        &[],
    ));
    ok(&rekey(&[("TETHER_AGE_KEY", &good)], &[]));
    ok(&rekey(
        &[(
            "SOPS_AGE_KEY_FILE",
            &d.join("good.txt").display().to_string(),
        )],
        &[],
    ));
    ok(&rekey(&[("SOPS_AGE_KEY", &good)], &[]));
    // The harness points XDG_CONFIG_HOME at DIR/.config.
    write(d, ".config/sops/age/keys.txt", &good);
    ok(&rekey(&[], &[]));
    std::fs::remove_file(d.join(".config/sops/age/keys.txt")).unwrap();
    // The first source set wins, even when a later one would work.
    let o = rekey(&[("TETHER_AGE_KEY", &good)], &["--identity", "bad.txt"]);
    failed(&o);
    assert!(
        o.stderr
            .contains("no identity from --identity bad.txt can decrypt it"),
        "{}",
        o.stderr
    );
    let o = rekey(&[("TETHER_AGE_KEY", &bad), ("SOPS_AGE_KEY", &good)], &[]);
    failed(&o);
    assert!(
        o.stderr.contains("no identity from TETHER_AGE_KEY"),
        "{}",
        o.stderr
    );
    ok(&rekey(
        &[("TETHER_AGE_KEY", &good), ("SOPS_AGE_KEY", &bad)],
        &[],
    ));
    // A file with several identities and comments: any of them may match.
    write(
        d,
        "many.txt",
        &format!("# first\n{bad}\n\n# second\n{good}"),
    );
    ok(&rekey(&[], &["--identity", "many.txt"]));
}

#[test]
fn decryption_errors_name_the_secret_and_write_nothing() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (good, r) = keypair();
    let (bad, _) = keypair();
    three_secrets(d, &r);
    write(d, "bad.txt", &bad);
    let snap = tree(d);

    // No identity anywhere.
    let o = tether(d, ["secrets", "rekey"]);
    failed(&o);
    assert!(o.stderr.contains("error: no age identity found to decrypt secrets (looked at --identity, TETHER_AGE_IDENTITY, TETHER_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, "), "{}", o.stderr);
    assert_eq!(tree(d), snap);

    // The wrong identity: address, attribute and file:line:col of the first secret.
    let o = tether(d, ["--identity", "bad.txt", "secrets", "rekey"]);
    failed(&o);
    assert!(
        o.stderr.contains("error: main.hcl:10:23: `secret_access_key` of `aws.prod`: no identity from --identity bad.txt can decrypt it"),
        "{}",
        o.stderr
    );
    assert_eq!(tree(d), snap);

    // An identity source that is set but broken is named.
    let o = Run::new(d)
        .args(["secrets", "rekey"])
        .env("SOPS_AGE_KEY_FILE", "/nonexistent/keys.txt")
        .run();
    failed(&o);
    assert!(
        o.stderr
            .contains("age identity from SOPS_AGE_KEY_FILE (/nonexistent/keys.txt): no such file"),
        "{}",
        o.stderr
    );
    assert_eq!(tree(d), snap);

    // A truncated binary file.
    let hcs = d.join("secrets/hcs.age");
    let full = std::fs::read(&hcs).unwrap();
    std::fs::write(&hcs, &full[..full.len() - 20]).unwrap();
    rekey_refused(
        d,
        &good,
        &[
            // Validation reads the header and the payload's length first.
            "error: secret file \"secrets/hcs.age\" of `hcs.dc1` is damaged age ciphertext: the encrypted payload is truncated",
            "--> hcs.hcl:5:22",
        ],
    );
    std::fs::write(&hcs, &full).unwrap();

    // A damaged inline value (one payload character changed). The
    // next-to-last base64 character is in the last bytes, the payload's tag,
    // whatever the header's length; the last one may carry padding bits.
    let main = std::fs::read_to_string(d.join("main.hcl")).unwrap();
    let end = main.find("    -----END AGE ENCRYPTED FILE-----").unwrap();
    let at = main[..end - 1].trim_end_matches('=').len() - 2;
    let mut bytes = main.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(d.join("main.hcl"), &bytes).unwrap();
    rekey_refused(
        d,
        &good,
        &[
            "`secret_access_key` of `aws.prod`: the ciphertext is damaged",
            "error: main.hcl:",
        ],
    );

    // A file() that is missing: validation names the account and file:line:col.
    std::fs::remove_file(&hcs).unwrap();
    rekey_refused(
        d,
        &good,
        &[
            "secret file \"secrets/hcs.age\" of `hcs.dc1` cannot be read: no such file",
            "hcs.hcl:5:22",
            "password         = file(\"secrets/hcs.age\")",
        ],
    );
}

#[test]
fn decrypting_a_missing_file_names_address_attribute_and_location() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (good, r) = keypair();
    three_secrets(d, &r);
    let c = config::load(d).unwrap();
    let saved = std::fs::read(d.join("secrets/ali.age")).unwrap();
    std::fs::remove_file(d.join("secrets/ali.age")).unwrap();
    let e = decrypt::config_ciphertexts(&c).unwrap_err().to_string();
    // The line varies: age adds a random-length "grease" stanza to each header.
    let main = std::fs::read_to_string(d.join("main.hcl")).unwrap();
    let line = main
        .lines()
        .position(|l| l.contains("file(\"secrets/ali.age\")"))
        .unwrap()
        + 1;
    assert_eq!(
        e,
        format!(
            "main.hcl:{line}:23: `secret_access_key` of `alibaba.cn`: secret file \"secrets/ali.age\" cannot be read: no such file"
        )
    );
    // With the file back, the same config decrypts.
    std::fs::write(d.join("secrets/ali.age"), saved).unwrap();
    assert_eq!(decrypted(d, &good).unwrap(), expected());
}

/// Distinctive plaintexts: none may appear in any output, file or error.
const CANARIES: [&str; 4] = [
    "CANARY-aws-7f3a9e21-c0ffee",
    "CANARY-ali-5b1d0c44-decade",
    "CANARY-hcs-9e8d7c6b-facade",
    "CANARY-stdin-3141592653",
];

#[test]
fn canary_plaintexts_never_leave_memory() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (good, r) = keypair();
    let (bad, _) = keypair();
    let (_, r_new) = keypair();
    let mut outputs: Vec<Output> = Vec::new();
    let trace = |run: Run| run.env("TETHER_LOG", "trace").run();
    write(d, "bad.txt", &bad);
    write(d, "good.txt", &good);
    write(
        d,
        "main.hcl",
        &format!(
            "{}account \"aws\" \"prod\" {{\n  main_account_id = \"123456789012\"\n  account_name    = \"P\"\n  access_key_id   = \"AKIA\"\n  secret_access_key = \"{}\"\n}}\n",
            settings(&[&r]),
            CANARIES[0]
        ),
    );
    write(
        d,
        "more.hcl",
        "account \"alibaba\" \"cn\" {\n  main_account_id = \"1234567890123456\"\n  account_name    = \"CN\"\n  access_key_id   = \"LTAI\"\n}\n\naccount \"hcs\" \"dc1\" {\n  endpoint         = \"hcs.example.com\"\n  environment_name = \"dc1\"\n  account          = \"ops\"\n}\n",
    );
    // validate on the plaintext config (the migration case) masks the value.
    outputs.push(trace(Run::new(d).args(["validate"])));
    outputs.push(trace(Run::new(d).args(["validate", "--format", "json"])));
    // set: migrate the plaintext in place; insert inline; insert as a file.
    outputs.push(trace(
        Run::new(d)
            .args(["secrets", "set", "aws.prod", "secret_access_key"])
            .stdin(format!("{}\n", CANARIES[0])),
    ));
    outputs.push(trace(
        Run::new(d)
            .args(["secrets", "set", "alibaba.cn", "secret_access_key"])
            .stdin(CANARIES[1]),
    ));
    outputs.push(trace(
        Run::new(d)
            .args([
                "secrets",
                "set",
                "hcs.dc1",
                "password",
                "--file",
                "secrets/hcs.age",
            ])
            .stdin(CANARIES[2]),
    ));
    // Failing set: not a secret attribute, unknown account.
    outputs.push(trace(Run::new(d).args([
        "secrets",
        "set",
        "aws.prod",
        "access_key_id",
    ])));
    outputs.push(trace(Run::new(d).args([
        "secrets",
        "set",
        "aws.nope",
        "secret_access_key",
    ])));
    // encrypt: to the settings, to -r, to a bad -r.
    outputs.push(trace(
        Run::new(d).args(["secrets", "encrypt"]).stdin(CANARIES[3]),
    ));
    outputs.push(trace(
        Run::new(d)
            .args(["secrets", "encrypt", "-r", &r_new])
            .stdin(CANARIES[3]),
    ));
    outputs.push(trace(
        Run::new(d).args(["secrets", "encrypt", "-r", "age1nope"]),
    ));
    // keygen.
    outputs.push(trace(
        Run::new(d).args(["secrets", "keygen", "-o", "new.txt"]),
    ));
    outputs.push(trace(Run::new(d).args(["secrets", "keygen"])));
    // rekey: wrong identity, no identity, right identity, then to a new recipient.
    outputs.push(trace(Run::new(d).args([
        "--identity",
        "bad.txt",
        "secrets",
        "rekey",
    ])));
    outputs.push(trace(Run::new(d).args(["secrets", "rekey"])));
    outputs.push(trace(Run::new(d).args([
        "--identity",
        "good.txt",
        "secrets",
        "rekey",
    ])));
    let main = std::fs::read_to_string(d.join("main.hcl")).unwrap();
    std::fs::write(
        d.join("main.hcl"),
        main.replace(&r, &format!("{r}\", \"{r_new}")),
    )
    .unwrap();
    outputs.push(trace(
        Run::new(d)
            .args(["secrets", "rekey"])
            .env("TETHER_AGE_KEY", &good),
    ));
    outputs.push(trace(Run::new(d).args(["validate"])));

    // The commands did what they should (so the check below is not vacuous).
    let codes: Vec<i32> = outputs.iter().map(|o| o.code).collect();
    assert_eq!(
        codes,
        [1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0],
        "{outputs:#?}"
    );
    assert!(
        outputs
            .iter()
            .any(|o| o.stderr.contains("TRACE") || o.stderr.contains("DEBUG")),
        "logging is on"
    );
    let got = decrypted(d, &good).unwrap();
    assert_eq!(
        got.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        [CANARIES[0], CANARIES[1], CANARIES[2]]
    );

    for (i, o) in outputs.iter().enumerate() {
        for c in CANARIES {
            assert!(
                !o.stdout.contains(c),
                "run {i} stdout holds {c}:\n{}",
                o.stdout
            );
            assert!(
                !o.stderr.contains(c),
                "run {i} stderr holds {c}:\n{}",
                o.stderr
            );
        }
    }
    for (path, bytes) in tree(d) {
        let text = String::from_utf8_lossy(&bytes);
        for c in CANARIES {
            assert!(!text.contains(c), "{} holds {c}", path.display());
        }
    }
}
