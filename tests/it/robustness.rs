//! Never a panic on any input: odd encodings, empty files, huge values,
//! deep nesting, truncations and random bytes. Checked in-process through
//! the library (fast, thousands of inputs) and through the binary.

use std::path::Path;

use tether::config::{SourceFile, Sources, analyze_sources, files};

use crate::harness::tether;

/// Validates one file's bytes in-process; returns (valid, number of diagnostics).
fn check_bytes(bytes: &[u8]) -> (bool, usize) {
    let mut sources = Sources::default();
    sources.add(files::decode(
        "t.hcl".into(),
        Path::new("t.hcl"),
        bytes.to_vec(),
    ));
    let a = analyze_sources(Path::new("."), sources);
    // Rendering must not panic either.
    let printer = tether::cli::Printer::plain();
    let _ = printer.diagnostics(&a.sources, &a.diagnostics, false);
    for d in a.diagnostics.iter() {
        let _ = tether::config::DiagnosticJson::new(d, &a.sources);
    }
    (a.config.is_some(), a.diagnostics.error_count())
}

const VALID: &str = r#"tether {
  parallelism = 4
}

account "hcs" "dc1" {
  endpoint         = "hcs.example.com"
  environment_name = "dc1"
  account          = "ops-admin"
  regions          = ["dc1-region-1"]
  tags             = { team = "ops" }
}

account "aws" "prod" {
  main_account_id = "123456789012"
  account_name    = "Production"
  access_key_id   = "AKIAEXAMPLE"
  depends_on      = [hcs.dc1]
}
"#;

#[test]
fn every_truncation_of_a_valid_file_is_handled() {
    assert_eq!(check_bytes(VALID.as_bytes()), (true, 0));
    for cut in 0..VALID.len() {
        let _ = check_bytes(&VALID.as_bytes()[..cut]);
    }
}

#[test]
fn random_bytes_and_mutations_never_panic() {
    // A small deterministic generator: the same inputs on every run.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"{}[]()\"=,.#/*<>-$%~\n \t\\abc123\xc3\xa9\xff\x00EOT";
    for _ in 0..3000 {
        let len = (next() % 200) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let _ = check_bytes(&bytes);
    }
    let base = VALID.as_bytes();
    for _ in 0..3000 {
        let mut b = base.to_vec();
        for _ in 0..(1 + next() % 4) {
            let at = (next() % b.len() as u64) as usize;
            b[at] = alphabet[(next() % alphabet.len() as u64) as usize];
        }
        let _ = check_bytes(&b);
    }
}

#[test]
fn empty_and_blank_files_are_valid_and_empty() {
    assert_eq!(check_bytes(b""), (true, 0));
    assert_eq!(check_bytes(b"\n\n   \n\t\n"), (true, 0));
    assert_eq!(check_bytes(b"# only a comment"), (true, 0));
    assert_eq!(check_bytes(b"\xef\xbb\xbf"), (true, 0));
}

#[test]
fn odd_encodings_are_errors_not_panics() {
    let (ok, n) = check_bytes(&[0xFF, 0xFE, b'a', 0, b'b', 0]);
    assert!(!ok && n == 1);
    let (ok, n) = check_bytes(b"tether {\n  state = \"\xc0\xaf\"\n}\n");
    assert!(!ok && n == 1);
    let (ok, _) = check_bytes("account \"aws\" \"pr\u{f6}d\" {}\n".as_bytes());
    assert!(!ok);
    // CRLF line endings are fine.
    let crlf = VALID.replace('\n', "\r\n");
    assert_eq!(check_bytes(crlf.as_bytes()), (true, 0));
}

#[test]
fn huge_values_are_handled_and_clipped() {
    let big = "x".repeat(1_000_000);
    let text = format!(
        "account \"aws\" \"prod\" {{\n  main_account_id = \"{big}\"\n  account_name = \"{big}\"\n  access_key_id = \"A\"\n}}\n"
    );
    let mut sources = Sources::default();
    sources.add(SourceFile::new("t.hcl".into(), "t.hcl".into(), text));
    let a = analyze_sources(Path::new("."), sources);
    assert_eq!(a.diagnostics.error_count(), 1);
    let shown = tether::cli::Printer::plain().diagnostics(&a.sources, &a.diagnostics, false);
    assert!(
        shown.len() < 2_000,
        "a huge value floods the output: {} bytes",
        shown.len()
    );

    let regions: Vec<String> = (0..50_000).map(|i| format!("\"r{i}-x\"")).collect();
    let text = format!(
        "account \"hcs\" \"dc1\" {{\n  endpoint = \"h.example.com\"\n  environment_name = \"e\"\n  account = \"a\"\n  regions = [{}]\n}}\n",
        regions.join(", ")
    );
    assert_eq!(check_bytes(text.as_bytes()), (true, 0));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [10, 100, 1_000, 100_000] {
        let text = format!(
            "tether {{\n  recipients = {}{}\n}}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let (ok, _) = check_bytes(text.as_bytes());
        assert!(!ok);
        let blocks = format!("{}{}", "a {\n".repeat(depth), "}\n".repeat(depth));
        let (ok, _) = check_bytes(blocks.as_bytes());
        assert!(!ok);
        let objs = format!(
            "account \"aws\" \"p\" {{\n  tags = {}{}\n}}\n",
            "{ a = ".repeat(depth),
            "}".repeat(depth)
        );
        let (ok, _) = check_bytes(objs.as_bytes());
        assert!(!ok);
    }
}

#[test]
fn the_binary_survives_hostile_files() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<Vec<u8>> = vec![
        vec![0xFF; 4096],
        format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)).into_bytes(),
        b"account \"aws\" \"p\" { x = <<EOT\nunterminated".to_vec(),
        "\u{202e}account \"aws\" \"p\" {}".as_bytes().to_vec(),
    ];
    for (i, bytes) in cases.iter().enumerate() {
        std::fs::write(tmp.path().join("t.hcl"), bytes).unwrap();
        for cmd in [
            &["validate"][..],
            &["validate", "--format", "json"],
            &["fmt", "--check"],
            &["graph"],
        ] {
            let out = tether(tmp.path(), cmd);
            assert_eq!(out.code, 1, "case {i} {cmd:?}: {}", out.stderr);
            assert!(!out.stderr.contains("panicked"), "case {i}: {}", out.stderr);
        }
    }
}

/// Runs `tether ARGS…` in `dir` with stdin a pipe that stays open (as
/// `/dev/stdin` would be in a CI step), killing it after `limit`: a run that
/// is still going by then hung.
fn run_or_hang(dir: &Path, args: &[&str], limit: std::time::Duration) -> crate::harness::Output {
    use std::process::{Command, Stdio};
    let child = Command::new(crate::harness::TETHER)
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("TETHER_LOG")
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Output is read while the run goes (a full pipe would stall it).
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid as i32).unwrap(),
                rustix::process::Signal::KILL,
            );
            panic!("tether {args:?} hung (killed after {limit:?})");
        }
    };
    crate::harness::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mkfifo(p: &Path) {
    rustix::fs::mkfifoat(rustix::fs::CWD, p, rustix::fs::Mode::from(0o600)).unwrap();
}

const AWS_FILE_SECRET: &str = "account \"aws\" \"prod\" {\n  main_account_id   = \"123456789012\"\n  account_name      = \"Production\"\n  access_key_id     = \"AKIAEXAMPLE\"\n  secret_access_key = file(\"PATH\")\n}\n";

#[test]
fn file_of_a_fifo_or_dev_stdin_is_a_located_error_not_a_hang() {
    let limit = std::time::Duration::from_secs(30);
    let tmp = tempfile::tempdir().unwrap();
    mkfifo(&tmp.path().join("pipe.age"));
    for (path, kind) in [
        ("pipe.age", "a FIFO (named pipe)"),
        ("/dev/stdin", "a FIFO (named pipe)"),
        ("/dev/zero", "a character device"),
    ] {
        std::fs::write(
            tmp.path().join("tether.hcl"),
            AWS_FILE_SECRET.replace("PATH", path),
        )
        .unwrap();
        for cmd in [&["validate"][..], &["plan"], &["graph"]] {
            let out = run_or_hang(tmp.path(), cmd, limit);
            assert_eq!(out.code, 1, "{path} {cmd:?}: {}", out.stderr);
            for want in [
                &format!(
                    "secret file \"{path}\" of `aws.prod` cannot be read: it is {kind}, not a regular file"
                ),
                " --> tether.hcl:5:23",
            ] {
                assert!(
                    out.stderr.contains(want),
                    "{path} {cmd:?}: missing {want:?} in {}",
                    out.stderr
                );
            }
        }
    }
}

#[test]
fn a_fifo_as_config_file_or_state_is_an_error_not_a_hang() {
    let limit = std::time::Duration::from_secs(30);
    let tmp = tempfile::tempdir().unwrap();
    mkfifo(&tmp.path().join("pipe.hcl"));
    for cmd in [
        &["validate"][..],
        &["plan"],
        &["graph"],
        &["fmt", "--check"],
    ] {
        let out = run_or_hang(tmp.path(), cmd, limit);
        assert_eq!(out.code, 1, "{cmd:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("pipe.hcl cannot be read: it is a FIFO (named pipe), not a regular file"),
            "{cmd:?}: {}",
            out.stderr
        );
    }
    std::fs::remove_file(tmp.path().join("pipe.hcl")).unwrap();
    std::fs::write(
        tmp.path().join("tether.hcl"),
        "tether {\n  state = \"state.fifo\"\n}\n",
    )
    .unwrap();
    mkfifo(&tmp.path().join("state.fifo"));
    for cmd in [&["plan"][..], &["state", "list"]] {
        let out = run_or_hang(tmp.path(), cmd, limit);
        assert_eq!(out.code, 1, "{cmd:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("state.fifo: it is a FIFO (named pipe), not a regular file"),
            "{cmd:?}: {}",
            out.stderr
        );
    }
}

/// Speed is a benchmark's business (`benches/validate.rs`); this checks
/// that 100,000 diagnostics on one 1.3 MB line are all reported, each with
/// its column, within a bound no linear implementation comes near (the
/// quadratic one took minutes).
#[test]
fn a_hundred_thousand_duplicate_regions_on_one_line_are_each_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let regions = vec!["\"us-east-1\""; 100_000].join(", ");
    std::fs::write(
        tmp.path().join("tether.hcl"),
        format!("account \"aws\" \"prod\" {{\n  main_account_id = \"123456789012\"\n  account_name = \"P\"\n  access_key_id = \"A\"\n  regions = [{regions}]\n}}\n"),
    )
    .unwrap();
    let limit = std::time::Duration::from_secs(120);
    let out = run_or_hang(tmp.path(), &["validate"], limit);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr
            .matches("error: region \"us-east-1\" is listed twice")
            .count(),
        99_999
    );
    // The last one's column: 14 characters of `  regions = [` and 13 per entry.
    assert!(
        out.stderr
            .contains(&format!(" --> tether.hcl:5:{}", 14 + 13 * 99_999)),
        "last column"
    );
    assert!(out.stderr.ends_with("error: 99999 errors\n"));
    let out = run_or_hang(tmp.path(), &["validate", "--format", "json"], limit);
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 99_999);
}

#[test]
fn long_depends_on_lists_and_moved_chains_validate() {
    // Duplicates in a 20,000-entry `depends_on`, and a 20,000-block chain of
    // `moved` renames: each checked with one lookup per entry.
    let mut text = String::from(
        "account \"aws\" \"a0\" {\n  main_account_id = \"123456789012\"\n  account_name = \"P\"\n  access_key_id = \"A\"\n  depends_on = [",
    );
    text.push_str(&vec!["aws.b"; 20_000].join(", "));
    text.push_str("]\n}\naccount \"aws\" \"b\" {\n  main_account_id = \"123456789013\"\n  account_name = \"B\"\n  access_key_id = \"A\"\n}\n");
    for i in 0..20_000 {
        let to = if i + 1 == 20_000 {
            "aws.b".to_string()
        } else {
            format!("aws.m{}", i + 1)
        };
        text.push_str(&format!("moved {{\n  from = aws.m{i}\n  to   = {to}\n}}\n"));
    }
    let mut sources = Sources::default();
    sources.add(SourceFile::new("t.hcl".into(), "t.hcl".into(), text));
    let a = analyze_sources(Path::new("."), sources);
    assert_eq!(
        a.diagnostics.error_count(),
        19_999,
        "one per repeated depends_on entry"
    );
    assert!(
        a.diagnostics
            .iter()
            .all(|d| d.summary == "`aws.b` is listed twice in `depends_on`")
    );
}

#[test]
fn an_io_error_names_its_cause_once() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("tether.hcl"),
        "tether {\n  parallelism = 2\n}\n",
    )
    .unwrap();
    let out = tether(tmp.path(), ["plan", "--out", "no-such-dir/plan.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no-such-dir/plan.json"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("caused by"), "{}", out.stderr);
}
