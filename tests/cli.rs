//! Conventions every command shares (DESIGN.md's CLI section), checked on the real binary.

use std::io::Read;
use std::process::{Command, Stdio};

/// `explainme … | head` must end quietly: a reader that stops early is not an error.
#[test]
fn a_closed_stdout_is_not_an_error() {
    let table = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/explainme-rules/tests/fixtures/synthetic_levels.csv"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(["itemsets", "--csv", table, "--min-support", "0.01"])
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one chunk (far less than the megabytes of itemsets), then hang up.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
