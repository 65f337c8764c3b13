//! `tether plan` from outside: actions, moves, secrets compared without
//! plaintext, targets, formats, saved plans, exit codes.

use std::path::Path;

use tether::state::{AccountState, State, StoredSecret, VerifiedIdentity};

use crate::harness::{Output, Run, tree};

fn encrypt(to: &age::x25519::Recipient, text: &str) -> String {
    let key = to.to_string();
    let to = tether::secrets::Recipients::parse([(key.as_str(), None)]).unwrap();
    tether::secrets::encrypt::armored(text.as_bytes(), &to).unwrap()
}

fn heredoc(armored: &str) -> String {
    let body: String = armored.lines().map(|l| format!("    {l}\n")).collect();
    format!("<<-EOT\n{body}  EOT")
}

struct Fixture {
    dir: tempfile::TempDir,
    identity: age::x25519::Identity,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            identity: age::x25519::Identity::generate(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn ct(&self, text: &str) -> String {
        encrypt(&self.identity.to_public(), text)
    }

    fn key(&self) -> String {
        use age::secrecy::ExposeSecret;
        self.identity.to_string().expose_secret().to_string()
    }

    fn write_config(&self, text: &str) {
        std::fs::write(self.path().join("tether.hcl"), text).unwrap();
    }

    /// A state as apply would record it for the current config.
    fn record_state(&self) -> State {
        let config = tether::config::load(self.path()).unwrap();
        let mut state = State::new("2f1d6a5e-8a55-4d4f-9a43-3c1b0d7e9b10".into());
        state.serial = 7;
        for (addr, account) in &config.accounts {
            let c = tether::secrets::decrypt::account_ciphertext(&config, account)
                .unwrap()
                .unwrap();
            state.accounts.insert(
                addr.clone(),
                AccountState {
                    vendor: addr.vendor,
                    attributes: tether::plan::attrs::of(account),
                    secret: StoredSecret {
                        attribute: c.origin.attribute.clone(),
                        ciphertext: tether::secrets::decrypt::to_armored(&c.bytes),
                        applied: None,
                    },
                    identity: VerifiedIdentity {
                        account_id: account.vendor.identity_key().to_string(),
                        principal: "arn:aws:iam::123456789012:user/ci".into(),
                        scopes: vec![],
                        verified_at: "2026-11-20T00:00:00Z".into(),
                    },
                    regions: account.regions.clone().unwrap_or_default(),
                    depends_on: account.depends_on.clone(),
                    applied_at: "2026-11-20T00:00:00Z".into(),
                    last_sync: None,
                },
            );
        }
        self.write_state(&state);
        state
    }

    fn write_state(&self, state: &State) {
        std::fs::write(
            self.path().join("tether.state.json"),
            serde_json::to_string_pretty(state).unwrap(),
        )
        .unwrap();
    }

    fn plan(&self, args: &[&str], with_identity: bool) -> Output {
        let mut r = Run::new(self.path()).arg("plan").args(args);
        if with_identity {
            r = r.env("TETHER_AGE_KEY", self.key());
        }
        r.run()
    }
}

const CANARY_A: &str = "canary-PLAN-secret-alpha-7Qx";
const CANARY_B: &str = "canary-PLAN-secret-beta-3Zk";

fn two_accounts(f: &Fixture, prod_secret: &str, staging_secret: &str, extra: &str) -> String {
    format!(
        r#"account "aws" "prod" {{
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAPROD"
  secret_access_key = {}
  regions           = ["us-east-1"]
  depends_on        = [azure.corp]
}}

account "azure" "corp" {{
  tenant_id          = "00000000-0000-0000-0000-000000000000"
  tenant_name        = "contoso"
  application_id     = "11111111-1111-1111-1111-111111111111"
  application_secret = {}
}}
{extra}"#,
        heredoc(&f.ct(prod_secret)),
        heredoc(&f.ct(staging_secret)),
    )
}

fn assert_no_canary(out: &Output) {
    for c in [CANARY_A, CANARY_B] {
        assert!(
            !out.stdout.contains(c) && !out.stderr.contains(c),
            "plaintext leaked"
        );
    }
}

#[test]
fn first_plan_creates_everything() {
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    let before = tree(f.path());
    let out = f.plan(&["--detailed-exitcode"], false);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.contains("# aws.prod will be created"));
    assert!(out.stdout.contains("+ secret_access_key = (sensitive)"));
    assert!(
        out.stdout
            .contains("Plan: 2 to create, 0 to update, 0 to replace, 0 to delete.")
    );
    assert_eq!(before, tree(f.path()), "plan wrote a file");
    assert_no_canary(&out);
    // Without --detailed-exitcode, changes are still a success.
    assert_eq!(f.plan(&[], false).code, 0);
}

#[test]
fn an_applied_config_has_no_changes() {
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    f.record_state();
    for identity in [false, true] {
        let out = f.plan(&["--detailed-exitcode"], identity);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    }
}

#[test]
fn updates_replaces_deletes_and_moves() {
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    let mut state = f.record_state();
    // An account only in state is deleted; one renamed by `moved` follows.
    let corp: tether::config::Address = "azure.corp".parse().unwrap();
    let gone = state.accounts[&corp].clone();
    state
        .accounts
        .insert("azure.gone".parse().unwrap(), gone.clone());
    state.accounts.insert("azure.old".parse().unwrap(), gone);
    f.write_state(&state);
    let text = two_accounts(&f, CANARY_A, CANARY_B, "")
        .replace("\"Production\"", "\"Production EU\"")
        .replace(
            "tenant_id          = \"00000000-0000-0000-0000-000000000000\"",
            "tenant_id          = \"00000000-0000-0000-0000-0000000000ff\"",
        )
        + "\naccount \"azure\" \"new\" {\n  tenant_id          = \"00000000-0000-0000-0000-000000000000\"\n  tenant_name        = \"contoso\"\n  application_id     = \"11111111-1111-1111-1111-111111111111\"\n}\n\nmoved {\n  from = azure.old\n  to   = azure.new\n}\n";
    f.write_config(&text);
    let out = f.plan(&["--detailed-exitcode"], true);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let s = &out.stdout;
    assert!(s.contains("# azure.old has moved to azure.new"), "{s}");
    assert!(
        s.contains("~ account_name      = \"Production\" -> \"Production EU\""),
        "{s}"
    );
    assert!(s.contains("# azure.corp must be replaced"), "{s}");
    assert!(s.contains("# forces replacement"), "{s}");
    assert!(s.contains("# azure.gone will be deleted"), "{s}");
    // The moved account reuses its secret from state: no change at all.
    assert!(!s.contains("# azure.new"), "{s}");
    assert!(
        s.contains("Plan: 0 to create, 1 to update, 1 to replace, 1 to delete. 1 moved."),
        "{s}"
    );
    assert_no_canary(&out);

    let json = f.plan(&["--format", "json"], true);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["format_version"], "1");
    assert_eq!(v["binding"]["state_serial"], 7);
    let by_addr = |a: &str| {
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == a)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_addr("azure.new")["action"], "no-op");
    assert_eq!(by_addr("azure.new")["previous_address"], "azure.old");
    assert_eq!(by_addr("azure.new")["secret"], "reused");
    assert_eq!(by_addr("azure.corp")["action"], "replace");
    assert_eq!(by_addr("azure.gone")["action"], "delete");
    assert_eq!(v["moves"][0]["from"], "azure.old");
}

#[test]
fn secrets_are_compared_without_showing_them() {
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    f.record_state();
    // Re-encrypt prod's secret (same value) and change corp's.
    f.write_config(&two_accounts(
        &f,
        CANARY_A,
        &format!("{CANARY_B}-rotated"),
        "",
    ));

    let with = f.plan(&["--format", "json"], true);
    let v: serde_json::Value = serde_json::from_str(&with.stdout).unwrap();
    let secret_of = |v: &serde_json::Value, a: &str| {
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == a)
            .unwrap()["secret"]
            .clone()
    };
    assert_eq!(secret_of(&v, "aws.prod"), "reencrypted");
    assert_eq!(secret_of(&v, "azure.corp"), "changed");
    let human = f.plan(&[], true);
    assert!(
        human
            .stdout
            .contains("~ application_secret = (sensitive, changed)")
    );
    assert!(
        human.stdout.contains("Plan: 0 to create, 1 to update"),
        "{}",
        human.stdout
    );
    assert_no_canary(&with);
    assert_no_canary(&human);

    // Without an identity the plan still works and says what may have changed.
    let without = f.plan(&["--format", "json"], false);
    assert_eq!(without.code, 0, "{}", without.stderr);
    let v: serde_json::Value = serde_json::from_str(&without.stdout).unwrap();
    assert_eq!(secret_of(&v, "aws.prod"), "may-have-changed");
    assert_eq!(secret_of(&v, "azure.corp"), "may-have-changed");
    assert_eq!(v["identity_available"], false);
    let human = f.plan(&[], false);
    assert!(
        human
            .stdout
            .contains("may have changed: aws.prod, azure.corp"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_new_account_needs_its_secret() {
    let f = Fixture::new();
    f.write_config(
        "account \"aws\" \"prod\" {\n  main_account_id = \"123456789012\"\n  account_name    = \"P\"\n  access_key_id   = \"AKIA\"\n}\n",
    );
    let out = f.plan(&[], false);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("`aws.prod`: `secret_access_key` is omitted and the account is not in state"),
        "{}",
        out.stderr
    );
}

#[test]
fn targets_excludes_and_destroy() {
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    // --target takes what the target depends on.
    let out = f.plan(&["--target", "aws.prod"], false);
    assert!(out.stdout.contains("Plan: 2 to create"), "{}", out.stdout);
    let out = f.plan(&["--target", "azure.corp"], false);
    assert!(out.stdout.contains("Plan: 1 to create"), "{}", out.stdout);
    assert!(!out.stdout.contains("aws.prod"));
    // --exclude drops what depends on the excluded account.
    let out = f.plan(&["--exclude", "azure.corp"], false);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    let out = f.plan(&["--target", "aws.nope"], false);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("`aws.nope` is neither declared nor in state")
    );
    let out = f.plan(&["--target", "nope"], false);
    assert_eq!(out.code, 1);

    f.record_state();
    let out = f.plan(&["--destroy", "--detailed-exitcode"], false);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout
            .contains("tether will forget the following accounts")
    );
    assert!(
        out.stdout
            .contains("Plan: 0 to create, 0 to update, 0 to replace, 2 to delete.")
    );
}

#[test]
fn saved_plan_holds_no_plaintext() {
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    let out = f.plan(&["--out", "plan.json"], true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("tether apply plan.json"));
    let saved = std::fs::read_to_string(f.path().join("plan.json")).unwrap();
    assert!(!saved.contains(CANARY_A) && !saved.contains(CANARY_B));
    let v: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(v["binding"]["config_hash"].as_str().unwrap().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f.path().join("plan.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn markdown_summarises_first_and_keeps_to_its_budget() {
    let f = Fixture::new();
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!(
            "account \"aws\" \"a{i}\" {{\n  main_account_id   = \"{:012}\"\n  account_name      = \"Account {i}\"\n  access_key_id     = \"AKIA{i}\"\n  secret_access_key = {}\n}}\n\n",
            100_000_000_000u64 + i,
            heredoc(&f.ct(CANARY_A))
        ));
    }
    f.write_config(&text);
    let out = f.plan(&["--format", "markdown", "--budget", "4000"], false);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = &out.stdout;
    assert!(md.starts_with("<!-- tether-plan -->\n### tether plan\n"));
    assert!(md.contains("| create | 40 |"));
    assert!(md.len() <= 4000, "{} characters", md.len());
    assert!(
        md.contains("stops at its size budget of 4000 characters"),
        "{md}"
    );
    assert_no_canary(&out);
}

#[test]
fn renderings_are_stable() {
    // Fixed ciphertext text so snapshots are byte-stable: secrets are compared
    // by ciphertext here (no identity).
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    let mut state = f.record_state();
    let corp: tether::config::Address = "azure.corp".parse().unwrap();
    state.accounts.get_mut(&corp).unwrap().secret.ciphertext =
        "-----BEGIN AGE ENCRYPTED FILE-----\nold\n-----END AGE ENCRYPTED FILE-----".into();
    let mut gone = state.accounts[&corp].clone();
    gone.attributes
        .insert("tenant_name".into(), serde_json::json!("fabrikam"));
    state.accounts.insert("azure.gone".parse().unwrap(), gone);
    f.write_state(&state);
    let text = std::fs::read_to_string(f.path().join("tether.hcl"))
        .unwrap()
        .replace("\"Production\"", "\"Production EU\"");
    f.write_config(&text);
    insta::assert_snapshot!("plan_human", f.plan(&[], false).stdout);
    insta::assert_snapshot!(
        "plan_markdown",
        f.plan(&["--format", "markdown"], false).stdout
    );
    let json = f.plan(&["--format", "json"], false).stdout;
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["binding"]["config_hash"] = serde_json::json!("<hash>");
    insta::assert_snapshot!("plan_json", serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn plan_out_never_writes_through_planted_temp_symlinks() {
    use std::os::unix::fs::symlink;
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    // The temp names the next processes would have had (`.plan.json.tmp-<pid>`),
    // with pids from the one just handed out on.
    let mut probe = std::process::Command::new("true").spawn().unwrap();
    let next = probe.id();
    probe.wait().unwrap();
    for pid in next..next + 2000 {
        symlink(&victim, f.path().join(format!(".plan.json.tmp-{pid}"))).unwrap();
    }
    let out = f.plan(&["--out", "plan.json"], true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let saved = std::fs::symlink_metadata(f.path().join("plan.json")).unwrap();
    assert!(saved.file_type().is_file(), "plan.json is a regular file");
    // Temp names of processes that are gone were swept away by the write
    // (those of processes alive at that moment, a few, stay).
    let left = std::fs::read_dir(f.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".plan.json.tmp-")
        })
        .count();
    assert!(left < 500, "{left} of 2000 planted temp names left");
}

#[test]
fn an_unreadable_hcl_file_fails_the_plan_instead_of_deleting_its_accounts() {
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    f.record_state();
    // The aws account's file goes missing behind a dangling symlink (once,
    // plan read the rest and proposed to delete `aws.prod`).
    let text = std::fs::read_to_string(f.path().join("tether.hcl")).unwrap();
    let at = text.find("account \"azure\"").unwrap();
    std::fs::write(f.path().join("tether.hcl"), &text[at..]).unwrap();
    std::fs::write(f.path().join("prod.hcl.moved"), &text[..at]).unwrap();
    std::os::unix::fs::symlink("prod-moved.hcl", f.path().join("prod.hcl")).unwrap();
    let before = tree(f.path());
    for out in [f.plan(&[], true), f.plan(&["--format", "json"], false)] {
        assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(
                "prod.hcl cannot be read: it is a symbolic link to prod-moved.hcl, which does not exist"
            ),
            "{}",
            out.stderr
        );
        assert!(!out.stdout.contains("delete"), "{}", out.stdout);
    }
    assert_eq!(tree(f.path()), before);
}

#[test]
fn a_missing_state_beside_its_backup_is_an_error_not_a_plan_to_create_everything() {
    let f = Fixture::new();
    f.write_config(&two_accounts(&f, CANARY_A, CANARY_B, ""));
    f.record_state();
    std::fs::rename(
        f.path().join("tether.state.json"),
        f.path().join("tether.state.json.backup"),
    )
    .unwrap();
    let before = tree(f.path());
    let out = f.plan(&[], true);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for want in [
        "tether.state.json: the state file is missing, but its backup tether.state.json.backup exists",
        "cp tether.state.json.backup tether.state.json",
    ] {
        assert!(
            out.stderr.contains(want),
            "missing {want:?} in {}",
            out.stderr
        );
    }
    assert!(!out.stdout.contains("create"), "{}", out.stdout);
    assert_eq!(tree(f.path()), before);
    // Restored as told, the plan has nothing to do.
    std::fs::copy(
        f.path().join("tether.state.json.backup"),
        f.path().join("tether.state.json"),
    )
    .unwrap();
    let out = f.plan(&["--detailed-exitcode"], true);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}
