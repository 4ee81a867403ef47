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

fn explainme(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .unwrap()
}

const DEMO_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/models/renal_cnn.onnx");
const DEMO_CARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/models/renal_cnn.card.json"
);

/// `evaluate` named a broken image by its batch position ("image 0"); it names the case now,
/// and a NaN voxel in an `.npy` is refused as such.
#[test]
fn evaluate_names_the_case_whose_image_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = dir.path().join("cohort");
    let cohort_arg = cohort.to_str().unwrap();
    let made = explainme(&[
        "phantom", "--cases", "3", "--seed", "1", "--out", cohort_arg,
    ]);
    assert!(made.status.success());
    let mut nan = vec![40.0f32; 64 * 64];
    nan[7] = f32::NAN;
    let tensor = explainme_imaging::Tensor::new(vec![64, 64], nan).unwrap();
    explainme_imaging::codec::npy::write_tensor(cohort.join("images/case_00002.npy"), &tensor)
        .unwrap();
    let csv = std::fs::read_to_string(cohort.join("cases.csv")).unwrap();
    let csv = csv.replace("images/case_00002.png", "images/case_00002.npy");
    std::fs::write(cohort.join("cases.csv"), csv).unwrap();

    let run = explainme(&[
        "evaluate", "--model", DEMO_MODEL, "--card", DEMO_CARD, "--cohort", cohort_arg,
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("case `case_00002`"), "{stderr}");
    assert!(
        stderr.contains("non-finite voxel (NaN) at flat index 7"),
        "{stderr}"
    );
    assert!(!stderr.contains("image 0"), "{stderr}");
}

/// A graph that expands a 1×1 input to 60000² (14.4 GB) made `models inspect` hang while
/// ONNX Runtime allocated; now the capped arena refuses at once, in one line. ONNX Runtime's
/// own (colourised, multi-line) log lines never reach stderr.
#[test]
fn models_inspect_refuses_a_graph_that_expands_past_the_budget() {
    // 60000² floats, plus an initializer no node reads: ONNX Runtime warns about it on its
    // own logger.
    let (mut graph, _) = explainme_onnx::builder::expanding(60_000);
    let model = graph.weight("unused", &[1], vec![0.0]).model().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("expand.onnx");
    std::fs::write(&path, model.to_bytes()).unwrap();

    let run = explainme(&["models", "inspect", path.to_str().unwrap()]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("over the memory budget of 1 GiB"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no terminal colour codes: {stderr:?}"
    );

    let small = explainme(&[
        "--memory-budget",
        "64MiB",
        "models",
        "inspect",
        path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&small.stderr);
    assert!(stderr.contains("memory budget of 64 MiB"), "{stderr}");
}

/// `token add` prints the token once (stdout, or JSON) and stores only its hash, in a file
/// readable by its owner; `serve --help` names the security options.
#[test]
fn token_add_prints_a_token_and_stores_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    let file = file.to_str().unwrap();
    let text = explainme(&[
        "token",
        "add",
        "--auth",
        file,
        "--name",
        "dr-ada",
        "--role",
        "clinician",
    ]);
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let token = String::from_utf8(text.stdout).unwrap();
    let token = token.trim();
    assert!(token.starts_with("em_") && token.len() == 67, "{token}");
    let json = explainme(&[
        "token", "add", "--auth", file, "--name", "pacs", "--role", "admin", "--format", "json",
    ]);
    let answer: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(answer["role"], "admin");
    let stored = std::fs::read_to_string(file).unwrap();
    assert!(
        !stored.contains(&token[3..]),
        "the token itself is not stored"
    );
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["tokens"].as_array().unwrap().len(), 2);
    let bad = explainme(&[
        "token", "add", "--auth", file, "--name", "x", "--role", "root",
    ]);
    assert!(!bad.status.success());
    let help = explainme(&["serve", "--help"]);
    let help = String::from_utf8(help.stdout).unwrap();
    for option in [
        "--auth",
        "--http",
        "--no-reflection",
        "--listen",
        "--data-dir",
        "--max-message-bytes",
        "--max-concurrent-calls",
        "--max-cases-per-stream",
        "--call-timeout",
        "--tls-cert",
        "--tls-key",
        "--tls-client-ca",
    ] {
        assert!(
            help.contains(option),
            "serve --help lacks {option}:\n{help}"
        );
    }
}
