//! The README's main job (`examples/quickstart/main-job.sh`), run from the
//! repository with the binaries under test: every step shows its real output,
//! and nothing is left running.

use crate::harness::{TETHER, repo};

#[test]
fn the_main_job_runs_every_step_and_leaves_nothing_running() {
    let bins = std::path::Path::new(TETHER).parent().unwrap();
    // The script runs `$TETHER_BIN_DIR/tether-sim`.
    assert_eq!(crate::sim::binary().parent(), Some(bins));
    let out = std::process::Command::new("bash")
        .arg(repo().join("examples/quickstart/main-job.sh"))
        .env("TETHER_BIN_DIR", bins)
        .env_remove("TETHER_AGE_KEY")
        .env_remove("TETHER_AGE_IDENTITY")
        .env_remove("TETHER_LOG")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Each step, in order.
    let steps = [
        "Wrote a new identity",
        "tether-sim is up (admin API ",
        "account \"aws\" \"acct-0001\" {",
        "aws-acct-0001.age",
        "The configuration is valid: 4 accounts",
        "# aws.acct-0001 will be created",
        "(exit 2)",
        "Snapshot 1: 4 accounts synced",
        "Credential findings (1):",
        "alibaba.acct-0001 (root key): the key is the root (main account) key",
        "use a RAM user's AccessKey with read-only policies",
        "Apply complete: 4 succeeded.",
        "the Azure application's secret revoked",
        "$ tether drift --detailed-exitcode",
        "azure.acct-0001: Azure refused the credentials",
        "1 added, 1 changed, 1 removed.",
        "Drift found.",
        "Snapshot 2 (since 1): 4 accounts synced",
        "12 resources kept from the previous version, marked stale",
        "(exit 3)",
        "$ tether snapshot diff previous latest",
        "Snapshot 1 -> 2",
        "2 partitions not compared",
        "== done",
    ];
    let mut at = 0;
    for s in steps {
        match stdout[at..].find(s) {
            Some(i) => at += i + s.len(),
            None => panic!("`{s}` missing or out of order in:\n{stdout}"),
        }
    }
    // The simulator was stopped: its admin listener no longer answers.
    let admin = stdout
        .split("tether-sim is up (admin API http://")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap();
    assert!(
        std::net::TcpStream::connect(admin).is_err(),
        "tether-sim still listens on {admin}"
    );
}
