//! `explainme surrogate` as a user runs it: the built binary on a phantom cohort the demo CNN
//! never saw, real ONNX Runtime, the files it writes, exit codes and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNSEEN_SEED: &str = "4242";

fn explainme(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .expect("the explainme binary runs")
}

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models")
}

/// `explainme surrogate` on `cohort` with the demo CNN and `extra` arguments.
fn surrogate(cohort: &Path, extra: &[&str]) -> Output {
    let (model, card) = (
        models().join("renal_cnn.onnx"),
        models().join("renal_cnn.card.json"),
    );
    let mut args = vec![
        "surrogate",
        "--model",
        model.to_str().unwrap(),
        "--card",
        card.to_str().unwrap(),
        "--cohort",
        cohort.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    explainme(&args)
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A phantom cohort of `cases` the demo CNN never saw, written under `dir`.
fn phantom(dir: &Path, cases: &str) -> PathBuf {
    let cohort = dir.join("cohort");
    let out = cohort.to_str().unwrap();
    ok(explainme(&[
        "phantom",
        "--cases",
        cases,
        "--seed",
        UNSEEN_SEED,
        "--out",
        out,
    ]));
    cohort
}

#[test]
fn surrogate_prints_rules_and_figures_and_writes_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = phantom(dir.path(), "400");
    let limits = ["--max-depth", "3", "--max-leaves", "6", "--seed", "5"];
    let dot_path = dir.path().join("tree.dot");
    let dot_out = ["--format", "json", "--out", dot_path.to_str().unwrap()];
    let json = ok(surrogate(&cohort, &[&limits[..], &dot_out].concat()));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        report["training_cases"].as_u64().unwrap() + report["held_out_cases"].as_u64().unwrap(),
        400
    );
    assert_eq!(report["held_out_cases"], 120);
    let cnn = &report["cnn"];
    let leaves = cnn["leaves"].as_u64().unwrap();
    assert!((1..=6).contains(&leaves), "{leaves} leaves");
    assert!(cnn["depth"].as_u64().unwrap() <= 3);
    let rules = cnn["rules"].as_array().unwrap();
    assert_eq!(rules.len() as u64, leaves);
    for rule in rules {
        let text = rule["text"].as_str().unwrap();
        assert!(
            text.contains(" → ") && text.contains("(CNN says so in "),
            "{text}"
        );
    }
    let fidelity = report["fidelity"]["agreement"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&fidelity), "fidelity {fidelity}");
    let truth = &report["truth"];
    assert!(
        truth["tree"]["rules"][0]["text"]
            .as_str()
            .unwrap()
            .contains("(pathology says so in ")
    );
    for figure in [
        "trees_agree",
        "truth_tree_accuracy",
        "cnn_tree_accuracy",
        "cnn_accuracy",
    ] {
        let value = truth[figure].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&value), "{figure} {value}");
    }

    // The DOT file holds the CNN's tree: one node statement per node, one edge fewer.
    let dot = std::fs::read_to_string(&dot_path).unwrap();
    let nodes = cnn["nodes"].as_u64().unwrap() as usize;
    assert!(dot.starts_with("digraph surrogate {"));
    assert_eq!(dot.matches(" [label=").count(), 2 * nodes - 1);
    assert_eq!(dot.matches(" -> ").count(), nodes - 1);

    // The same fit in text: the figures line and every rule of the JSON, and the `.txt`
    // export is the indented tree.
    let txt_path = dir.path().join("tree.txt");
    let text = ok(surrogate(
        &cohort,
        &[&limits[..], &["--out", txt_path.to_str().unwrap()]].concat(),
    ));
    assert!(text.starts_with(&format!(
        "surrogate of the CNN's verdict (p ≥ 0.5): {leaves} leaves"
    )));
    for rule in rules {
        assert!(text.contains(rule["text"].as_str().unwrap()));
    }
    let indented = std::fs::read_to_string(&txt_path).unwrap();
    assert_eq!(
        indented.lines().filter(|l| l.contains(" → ")).count() as u64,
        leaves
    );
}

#[test]
fn bad_arguments_fail_in_one_line_before_any_scoring() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-cohort");
    // The extension is checked first, so even a missing cohort is not reached.
    let output = surrogate(&missing, &["--out", "tree.svg"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no export format for `tree.svg`"),
        "{stderr}"
    );

    let output = surrogate(&missing, &["--max-depth", "0"]);
    assert!(!output.status.success());

    let output = surrogate(&missing, &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-cohort"), "{stderr}");
}

#[test]
fn concepts_add_the_cnns_concept_scores_as_columns() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = phantom(dir.path(), "240");
    let probed = ["--concept-layer", "functional_1_1/conv4_1_1/Relu:0"];
    let args = [
        &["--concepts", "--format", "json", "--seed", "5"][..],
        &probed,
    ]
    .concat();
    let report: serde_json::Value = serde_json::from_str(&ok(surrogate(&cohort, &args))).unwrap();
    let columns = report["cnn"]["tree"]["columns"].as_array().unwrap();
    let fat = columns
        .iter()
        .find(|c| c["name"] == "score:macroscopic_fat=present")
        .expect("a column of the CNN's fat score");
    assert_eq!(fat["rendering"]["label"], "CNN's macroscopic fat score");
    // The clinician label columns are all still there, before the scores.
    assert_eq!(columns[1]["name"], "macroscopic_fat=present");
    let scores = columns
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("score:"))
        .count();
    assert!(scores >= 10, "{scores} concept columns");
    let leaves = report["cnn"]["leaves"].as_u64().unwrap();
    assert_eq!(
        report["cnn"]["rules"].as_array().unwrap().len() as u64,
        leaves
    );
    let fidelity = report["fidelity"]["agreement"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&fidelity), "fidelity {fidelity}");

    // Without `--concepts` no score column; a concept layer without it is refused.
    let plain: serde_json::Value =
        serde_json::from_str(&ok(surrogate(&cohort, &["--format", "json"]))).unwrap();
    let names = plain["cnn"]["tree"]["columns"].as_array().unwrap();
    assert!(
        names
            .iter()
            .all(|c| !c["name"].as_str().unwrap().starts_with("score:"))
    );
    assert!(!surrogate(&cohort, &probed).status.success());
}
