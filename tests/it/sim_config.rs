//! The config the simulator writes for its world (`tether-sim --write-config`
//! calls `tether_sim::config_writer::write`) is one tether takes as it is: it
//! validates, and `tether fmt` would not change it. The simulator depends on
//! nothing of tether, so this agreement is checked here, on tether's side.

use crate::harness::tether;

#[test]
fn the_simulators_config_validates_and_is_formatted() {
    let sim = crate::sim::start(5, 2, 7);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let id = age::x25519::Identity::generate();
    // Both kinds of recipient the simulator parses on its own.
    let recipients = [
        id.to_public().to_string(),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@rust"
            .to_string(),
    ];
    tether_sim::config_writer::write(&cfg, &recipients, &sim.summary()).unwrap();
    for args in [&["validate"][..], &["fmt", "--check"]] {
        let out = tether(&cfg, args.iter().copied());
        assert_eq!(
            out.code, 0,
            "{args:?}\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
    }
}
