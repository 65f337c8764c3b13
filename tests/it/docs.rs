//! `tether completions` and `tether man`: generated from the clap
//! definitions, so every command appears in them.

use crate::harness::tether;

const COMMANDS: &[&str] = &[
    "init",
    "validate",
    "fmt",
    "graph",
    "plan",
    "apply",
    "secrets",
    "state",
    "force-unlock",
];

#[test]
fn completions_cover_every_command_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = tether(dir.path(), ["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        for c in COMMANDS {
            assert!(out.stdout.contains(c), "{shell} completion lacks {c}");
        }
        assert!(out.stdout.contains("lock-timeout"), "{shell}");
    }
    let bad = tether(dir.path(), ["completions", "tcsh"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("invalid value 'tcsh'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = tether(dir.path(), ["man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(".TH tether 1"), "{}", out.stdout);
    for c in COMMANDS {
        // roff escapes the dashes of names.
        let roff = format!("tether\\-{}(1)", c.replace('-', "\\-"));
        assert!(out.stdout.contains(&roff), "tether(1) lacks {roff}");
    }
    let out = tether(dir.path(), ["man", "--out-dir", "man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in [
        "tether.1",
        "tether-plan.1",
        "tether-state-mv.1",
        "tether-secrets-rekey.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join("man").join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie"), "{page} is not roff");
        assert!(out.stdout.contains(page), "{page} not listed");
    }
    let plan = std::fs::read_to_string(dir.path().join("man/tether-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
}
