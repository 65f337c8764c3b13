//! The simulator stays outside the product: a build of tether compiles
//! neither `tether-sim` nor what only the simulator needs (its HTTP server),
//! and the simulator depends on nothing of tether.

use std::process::Command;

fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn a_build_of_tether_does_not_compile_the_simulator() {
    // What `cargo build -p tether` compiles: normal and build dependencies.
    let tree = cargo(&[
        "tree",
        "--offline",
        "--locked",
        "-p",
        "tether",
        "-e",
        "normal,build",
        "--prefix",
        "none",
    ]);
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(crates.contains(&"tether"), "{tree}");
    for apart in ["tether-sim", "axum"] {
        assert!(
            !crates.contains(&apart),
            "tether's build compiles {apart}:\n{tree}"
        );
    }
}

#[test]
fn the_simulator_depends_on_nothing_of_tether() {
    let meta: serde_json::Value = serde_json::from_str(&cargo(&[
        "metadata",
        "--offline",
        "--no-deps",
        "--format-version",
        "1",
    ]))
    .expect("cargo metadata is JSON");
    let sim = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "tether-sim")
        .expect("tether-sim is a workspace member");
    let deps: Vec<&str> = sim["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert!(
        !deps.contains(&"tether"),
        "tether-sim depends on tether: {deps:?}"
    );
}
