//! The committed demo CNN (`data/models/renal_cnn.onnx`) on phantoms it never saw.
//!
//! End to end through the binary: `explainme phantom` writes a fresh cohort with a seed the
//! training never used (training: seed 1, see `data/models/README.md`), and `explainme
//! evaluate` scores the model through explainme-onnx. The AUC must be clinically useful
//! (≥ 0.85) yet below 0.98: near 1.0 would mean the phantoms are too easy to teach
//! anything about explanations.

use std::path::Path;
use std::process::Command;

const UNSEEN_SEED: &str = "20261127";
const CASES: &str = "1000";

fn explainme(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .expect("the explainme binary runs");
    assert!(
        output.status.success(),
        "explainme {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn the_demo_cnn_scores_a_realistic_auc_on_unseen_phantoms() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models");
    let dir = tempfile::tempdir().unwrap();
    let cohort = dir.path().join("cohort");
    let cohort = cohort.to_str().unwrap();
    explainme(&[
        "phantom",
        "--cases",
        CASES,
        "--seed",
        UNSEEN_SEED,
        "--out",
        cohort,
    ]);
    let json = explainme(&[
        "evaluate",
        "--model",
        models.join("renal_cnn.onnx").to_str().unwrap(),
        "--card",
        models.join("renal_cnn.card.json").to_str().unwrap(),
        "--cohort",
        cohort,
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    eprintln!("{json}");
    let auc = report["auc"].as_f64().expect("both classes present");
    assert!(auc >= 0.85, "AUC {auc} on unseen phantoms is below 0.85");
    assert!(auc < 0.98, "AUC {auc}: the phantoms are too easy");
    assert_eq!(report["cases"], 1000);
    let confusion = &report["confusion"];
    let total: u64 = [
        "true_positive",
        "false_negative",
        "false_positive",
        "true_negative",
    ]
    .iter()
    .map(|k| confusion[k].as_u64().unwrap())
    .sum();
    assert_eq!(total, 1000);
    // Every subtype is present and the easy one is easy: macroscopic fat means benign.
    let by_subtype = report["by_subtype"].as_object().unwrap();
    assert_eq!(by_subtype.len(), 7, "{by_subtype:?}");
    let fat_rich = by_subtype["fat_rich_aml"]["error_rate"].as_f64().unwrap();
    assert!(
        fat_rich < 0.2,
        "fat-rich AML misread in {fat_rich:.2} of cases"
    );
}
