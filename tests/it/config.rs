//! `validate`, `fmt`, `graph`, `init` from outside: the corpus of valid and
//! invalid configs, exact diagnostics, exit codes, nothing written on failure.

use std::path::Path;

use crate::harness::{Run, copy_dir, repo, tether, tree};

/// Runs `tether validate` on a copy of a corpus case; proves nothing was written.
fn validate_case(case: &Path, args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(case, tmp.path());
    let before = tree(tmp.path());
    let mut argv = vec!["validate"];
    argv.extend_from_slice(args);
    let out = tether(tmp.path(), &argv);
    assert_eq!(
        before,
        tree(tmp.path()),
        "validate wrote into {}",
        case.display()
    );
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.code, out.stdout, out.stderr
    )
}

#[test]
fn invalid_configs_report_exact_diagnostics() {
    let mut count = 0;
    insta::glob!("../corpus", "invalid/*/tether.hcl", |path| {
        count += 1;
        let dir = path.parent().unwrap();
        let out = validate_case(dir, &[]);
        assert!(out.starts_with("exit: 1\n"), "{}: {out}", dir.display());
        // Plaintext secrets in the corpus carry this marker; no output may echo them.
        assert!(!out.contains("canary-PLAINTEXT"), "a secret leaked: {out}");
        assert!(
            !out.contains("AGE-SECRET-KEY-1"),
            "an identity leaked: {out}"
        );
        insta::assert_snapshot!(out);
    });
    assert!(count >= 40, "the invalid corpus has {count} cases");
}

#[test]
fn invalid_configs_as_json() {
    insta::glob!("../corpus", "invalid/*/tether.hcl", |path| {
        let out = validate_case(path.parent().unwrap(), &["--format", "json"]);
        let json = out
            .split("--- stdout\n")
            .nth(1)
            .and_then(|s| s.split("--- stderr\n").next())
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(json).expect("validate prints JSON");
        assert_eq!(v["format_version"], "1");
        assert_eq!(v["valid"], false);
        assert!(v["error_count"].as_u64().unwrap() >= 1);
        assert_eq!(
            v["error_count"].as_u64().unwrap() as usize,
            v["diagnostics"].as_array().unwrap().len()
        );
        assert!(v.get("config").is_none());
    });
}

#[test]
fn valid_configs_validate() {
    insta::glob!("../corpus", "valid/*/tether.hcl", |path| {
        let out = validate_case(path.parent().unwrap(), &[]);
        assert!(out.starts_with("exit: 0\n"), "{out}");
        insta::assert_snapshot!(out);
    });
}

#[test]
fn valid_config_json_carries_the_model() {
    let case = repo().join("tests/corpus/valid/one_of_each_vendor");
    let out = tether(&case, ["validate", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let accounts = v["config"]["accounts"].as_object().unwrap();
    assert_eq!(accounts.len(), 4);
    // Printed in address order: vendors in the order aws, alibaba, azure, hcs.
    let at = |k: &str| out.stdout.find(&format!("\"{k}\": {{")).unwrap();
    assert!(at("aws.prod") < at("alibaba.cn") && at("alibaba.cn") < at("azure.corp"));
    assert!(at("azure.corp") < at("hcs.dc1"));
    assert_eq!(accounts["aws.prod"]["vendor"], "aws");
    assert_eq!(accounts["aws.prod"]["main_account_id"], "123456789012");
    assert_eq!(accounts["hcs.dc1"]["password"]["kind"], "file");
    // The model holds ciphertext references only.
    assert!(!out.stdout.contains("corpus-secret-value"));
}

#[test]
fn the_example_configs_validate_and_are_formatted() {
    let mut dirs: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            std::fs::read_dir(p)
                .map(|rd| {
                    rd.flatten()
                        .any(|f| f.path().extension().is_some_and(|x| x == "hcl"))
                })
                .unwrap_or(false)
        })
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    for dir in dirs {
        let ex = dir.display();
        let out = tether(&dir, ["validate"]);
        assert_eq!(out.code, 0, "{ex}: {}", out.stderr);
        let out = tether(&dir, ["fmt", "--check"]);
        assert_eq!(out.code, 0, "{ex} is not formatted: {}", out.stdout);
    }
}

#[test]
fn an_empty_directory_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tether(tmp.path(), ["validate"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no *.hcl files in"), "{}", out.stderr);
    assert!(out.stderr.contains("tether init"));
}

#[test]
fn a_missing_chdir_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tether(tmp.path(), ["-C", "does-not-exist", "validate"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("does-not-exist"));
}

#[test]
fn usage_errors_exit_1_not_2() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(tether(tmp.path(), ["validate", "--bogus"]).code, 1);
    assert_eq!(tether(tmp.path(), ["nonsense"]).code, 1);
    assert_eq!(tether(tmp.path(), ["--help"]).code, 0);
}

#[test]
fn graph_is_deterministic_dot() {
    let dir = repo().join("examples/platform");
    let a = tether(&dir, ["graph"]);
    let b = tether(&dir, ["graph"]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    insta::assert_snapshot!(a.stdout);
}

#[test]
fn graph_refuses_an_invalid_config() {
    let case = repo().join("tests/corpus/invalid/dependency_cycle_three");
    let out = tether(&case, ["graph"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .contains("dependency cycle: aws.a -> azure.corp -> hcs.dc1 -> aws.a")
    );
}

#[test]
fn init_writes_a_valid_starter_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tether(tmp.path(), ["init"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("No age identity found"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("tether secrets keygen -o"),
        "{}",
        out.stdout
    );
    let written = std::fs::read_to_string(tmp.path().join("tether.hcl")).unwrap();
    for vendor in ["aws", "alibaba", "azure", "hcs"] {
        assert!(written.contains(&format!("# account \"{vendor}\"")));
    }
    assert_eq!(tether(tmp.path(), ["validate"]).code, 0);
    assert_eq!(tether(tmp.path(), ["fmt", "--check"]).code, 0);
    std::fs::write(tmp.path().join("tether.hcl"), "# mine\n").unwrap();
    let out = tether(tmp.path(), ["init"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("never overwrites"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("tether.hcl")).unwrap(),
        "# mine\n"
    );
}

const MESSY: &str = r#"# head comment

tether { # open
  # before state
  state="x.json" # trailing


  parallelism=3
  # last in block
}
account   "aws"   "p" {
  main_account_id = "123456789012"
  account_name="P"
  access_key_id   =   "AKIA"
  regions = [ "us-east-1","eu-west-1" ]
  depends_on = [aws.q,
  ]
  tags = {
    team="a" # t
    # lead

    owner   = "b",
  }
}
account "aws" "q" {
    main_account_id = "210987654321"
    account_name = "Q"
    access_key_id = "AKIA"
}
# eof
"#;

const CANONICAL: &str = r#"# head comment

tether { # open
  # before state
  state = "x.json" # trailing

  parallelism = 3
  # last in block
}
account "aws" "p" {
  main_account_id = "123456789012"
  account_name    = "P"
  access_key_id   = "AKIA"
  regions         = ["us-east-1", "eu-west-1"]
  depends_on = [
    aws.q,
  ]
  tags = {
    team  = "a" # t
    # lead

    owner = "b"
  }
}
account "aws" "q" {
  main_account_id = "210987654321"
  account_name    = "Q"
  access_key_id   = "AKIA"
}
# eof
"#;

#[test]
fn fmt_check_diff_and_write() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("main.hcl");
    std::fs::write(&file, MESSY).unwrap();

    let out = tether(tmp.path(), ["fmt", "--check"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "main.hcl\n");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        MESSY,
        "--check wrote"
    );

    let out = tether(tmp.path(), ["fmt", "--check", "--diff"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("--- a/main.hcl\n+++ b/main.hcl\n"));
    assert!(
        out.stdout
            .contains("-  state=\"x.json\" # trailing\n+  state = \"x.json\" # trailing\n")
    );

    let out = tether(tmp.path(), ["fmt"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), CANONICAL);

    // Idempotent, and the result still validates to the same model.
    let out = tether(tmp.path(), ["fmt", "--check"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.is_empty());
    assert_eq!(tether(tmp.path(), ["validate"]).code, 0);
}

#[test]
fn fmt_formats_named_files_only_and_reports_syntax_errors() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.hcl"), "tether {\nparallelism=3\n}\n").unwrap();
    std::fs::write(tmp.path().join("b.hcl"), "tether {\nparallelism=3\n}\n").unwrap();
    std::fs::write(tmp.path().join("bad.hcl"), "account \"aws\" {\n").unwrap();
    let out = tether(tmp.path(), ["fmt", "a.hcl"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("a.hcl")).unwrap(),
        "tether {\n  parallelism = 3\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("b.hcl")).unwrap(),
        "tether {\nparallelism=3\n}\n"
    );
    let before = std::fs::read(tmp.path().join("bad.hcl")).unwrap();
    let out = tether(tmp.path(), ["fmt"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("bad.hcl:1:17: syntax error"),
        "{}",
        out.stderr
    );
    assert_eq!(before, std::fs::read(tmp.path().join("bad.hcl")).unwrap());
    // The good file is still formatted.
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("b.hcl")).unwrap(),
        "tether {\n  parallelism = 3\n}\n"
    );
}

#[test]
fn fmt_keeps_heredocs_and_file_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "account \"aws\" \"p\" {\n  x   =   <<-EOT\n      keep   this  \n    EOT\n}\n";
    let file = tmp.path().join("a.hcl");
    std::fs::write(&file, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    assert_eq!(tether(tmp.path(), ["fmt"]).code, 0);
    let got = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        got,
        "account \"aws\" \"p\" {\n  x = <<-EOT\n      keep   this  \n    EOT\n}\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }
}

#[test]
fn color_only_when_asked_for_by_a_terminal() {
    let case = repo().join("tests/corpus/invalid/parallelism_zero");
    let out = Run::new(&case).args(["validate"]).run();
    assert!(!out.stderr.contains('\x1b'), "colour without a terminal");
}

#[test]
fn validate_refuses_a_fake_binary_age_file_with_a_located_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("tether.hcl"),
        "account \"aws\" \"prod\" {\n  main_account_id   = \"123456789012\"\n  account_name      = \"Production\"\n  access_key_id     = \"AKIAEXAMPLE\"\n  secret_access_key = file(\"prod.age\")\n}\n",
    )
    .unwrap();
    let mac = "A".repeat(43);
    for (fake, why) in [
        // The magic line, then the plaintext where a stanza should be.
        (
            "age-encryption.org/v1\nwJalrXUtnFEMI-PLAINTEXT-CANARY\n".to_string(),
            "line 2: expected a recipient stanza",
        ),
        // A stanza whose body is the plaintext (base64 letters, no spaces).
        (
            format!(
                "age-encryption.org/v1\n-> X25519 wJalrXUtnFEMIPLAINTEXTCANARY\nwJalrXUtnFEMIPLAINTEXTCANARY\n--- {mac}\n0123456789abcdef0123456789abcdef"
            ),
            "line 2: the `X25519` stanza is malformed",
        ),
        (
            "age-encryption.org/v1\n-> X25519 wJalrXUtnFEMI PLAINTEXT CANARY\n".to_string(),
            "truncated",
        ),
    ] {
        std::fs::write(d.join("prod.age"), &fake).unwrap();
        let out = tether(d, ["validate"]);
        assert_eq!(out.code, 1, "{fake:?}: {}", out.stderr);
        for want in [
            "error: secret file \"prod.age\" of `aws.prod` is damaged age ciphertext: ",
            why,
            " --> tether.hcl:5:23",
        ] {
            assert!(
                out.stderr.contains(want),
                "{fake:?}: missing {want:?} in {}",
                out.stderr
            );
        }
        assert!(!out.stderr.contains("PLAINTEXT"), "{}", out.stderr);
        let json = tether(d, ["validate", "--format", "json"]);
        assert_eq!(json.code, 1);
        assert!(!json.stdout.contains("PLAINTEXT"));
    }
    // The same kind of fake inside an armor is refused too.
    use std::io::Write as _;
    let mut armored = Vec::new();
    {
        let mut w =
            age::armor::ArmoredWriter::wrap_output(&mut armored, age::armor::Format::AsciiArmor)
                .unwrap();
        w.write_all(b"age-encryption.org/v1\nwJalrXUtnFEMI-PLAINTEXT-CANARY\n")
            .unwrap();
        w.finish().unwrap();
    }
    std::fs::write(d.join("prod.age"), &armored).unwrap();
    let out = tether(d, ["validate"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 2: expected a recipient stanza"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unreadable_hcl_entry_is_an_error_naming_the_file_and_why() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("main.hcl"), "tether {\n  parallelism = 2\n}\n").unwrap();
    std::os::unix::fs::symlink("gone.hcl", d.join("dangling.hcl")).unwrap();
    std::os::unix::fs::symlink("loop.hcl", d.join("loop.hcl")).unwrap();
    std::fs::create_dir(d.join("dir.hcl")).unwrap();
    let out = tether(d, ["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for want in [
        "error: dangling.hcl cannot be read: it is a symbolic link to gone.hcl, which does not exist",
        "error: loop.hcl cannot be read: it is a symbolic link that loops",
        "error: dir.hcl cannot be read: it is a directory, not a regular file",
        "error: 3 errors",
    ] {
        assert!(
            out.stderr.contains(want),
            "missing {want:?} in {}",
            out.stderr
        );
    }
    let json = tether(d, ["validate", "--format", "json"]);
    assert_eq!(json.code, 1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let files: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["range"]["filename"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["dangling.hcl", "dir.hcl", "loop.hcl"]);
}
