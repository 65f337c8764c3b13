//! What the compiler and clippy cannot see: the library's top-level modules
//! use each other without circles (`scripts/modgraph`, which a newcomer can
//! run to see the layers), and the output and write rules are not silenced
//! or bypassed.

#[test]
fn the_library_modules_have_no_import_circles() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/modgraph"))
        .output()
        .expect("python3 runs scripts/modgraph");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("no circles"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The layers: nothing below the command line reaches up into it.
    for line in text.lines() {
        if let Some((from, to)) = line.split_once(" -> ") {
            if from != "cli" {
                assert!(
                    !to.split(", ").any(|m| m == "cli"),
                    "{from} uses the command layer: {line}"
                );
            }
        }
    }
}

/// Every file under `root`, sorted, leaving out `target` and dot directories.
fn files_under(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(p);
                }
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The library's `.rs` files, as (path under `src/`, text).
fn library_sources() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let out: Vec<(String, String)> = files_under(&root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            (rel, text)
        })
        .collect();
    assert!(out.len() > 50, "the walk found the library's files");
    out
}

/// Clippy enforces "only the printer writes to stdout/stderr" and "every
/// file write goes through fsutil" (`clippy.toml`, `src/lib.rs`), but it
/// cannot see a lint silenced, a writer it has no rule for, or a second
/// terminal drawer. These are allowed in exactly the files named here.
#[test]
fn output_and_file_writes_have_one_home_each() {
    let rules: &[(&str, &[&str], &str)] = &[
        (
            "allow(clippy::disallowed_methods)",
            &["fsutil.rs", "cli/printer.rs"],
            "the raw writers are fsutil's and the printer's; a test module may allow them on the line above `mod tests`",
        ),
        (
            "allow(clippy::print_",
            &[],
            "only the printer writes to stdout or stderr",
        ),
        (
            "ProgressDrawTarget",
            &["cli/progress.rs"],
            "the progress bar is drawn in one place",
        ),
        (
            ".with_writer(",
            &["cli/log.rs"],
            "log lines go through the redacting sink",
        ),
        (
            "rustix::fs::open",
            &["fsutil.rs"],
            "files are opened by fsutil (no-follow, regular files only)",
        ),
        ("libc::", &[], "system calls go through rustix or fsutil"),
    ];
    let mut broken = Vec::new();
    for (path, text) in library_sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            for (needle, allowed, why) in rules {
                if !line.contains(needle) || allowed.contains(&path.as_str()) {
                    continue;
                }
                let test_module = *needle == "allow(clippy::disallowed_methods)"
                    && lines.get(i + 1).is_some_and(|n| n.trim() == "mod tests {");
                if !test_module {
                    broken.push(format!("src/{path}:{}: `{needle}`: {why}", i + 1));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// ARCHITECTURE.md stays true to the tree: every path it names in backticks
/// exists (from the repository root, or from the simulator's crate in the
/// simulator's section), and every file name it names is some file's.
#[test]
fn architecture_names_only_files_that_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let files = files_under(root);
    let mut wrong = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (i, quoted) in line.split('`').enumerate() {
            if i % 2 == 0 || quoted.contains(['*', '<', '{', ' ']) {
                continue;
            }
            let top = [
                "src/",
                "tests/",
                "benches/",
                "crates/",
                "scripts/",
                "schemas/",
                "examples/",
                "docs/",
                ".ci/",
            ];
            if top.iter().any(|t| quoted.starts_with(t)) {
                let p = quoted.trim_end_matches('/');
                if !root.join(p).exists() && !root.join("crates/tether-sim").join(p).exists() {
                    wrong.push(format!(
                        "ARCHITECTURE.md:{}: `{quoted}` does not exist",
                        n + 1
                    ));
                }
            } else if quoted.ends_with(".rs")
                && quoted
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_/.".contains(c))
                && !files.iter().any(|f| f.ends_with(quoted))
            {
                wrong.push(format!("ARCHITECTURE.md:{}: no file is `{quoted}`", n + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
