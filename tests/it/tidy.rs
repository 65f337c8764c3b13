//! What the compiler and clippy cannot see: the library's top-level modules
//! use each other without circles (`scripts/modgraph`, which a newcomer can
//! run to see the layers).

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
