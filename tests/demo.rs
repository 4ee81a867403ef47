//! `explainme demo` end to end: the planted clinical knowledge must come back.
//!
//! The phantom generator plants macroscopic fat in fat-rich angiomyolipomas (benign) and
//! avid, heterogeneous, necrotic enhancement in clear-cell RCC (malignant). Whatever the CNN
//! does, the demo's rules and network over the clinician labels must recover both, and the
//! second run into the same folder must replace the first.

use std::process::Command;

use serde_json::Value;

fn demo(out: &std::path::Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args([
            "demo", "--cases", "600", "--seed", "31", "--format", "json", "--out",
        ])
        .arg(out)
        .output()
        .expect("the explainme binary runs");
    assert!(
        output.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON document")
}

fn probability(summary: &Value, query: &str) -> f64 {
    summary["network"]["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["query"] == query)
        .unwrap_or_else(|| panic!("no query {query}"))["probability"]
        .as_f64()
        .unwrap()
}

#[test]
fn the_demo_recovers_planted_knowledge_and_reruns_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let summary = demo(&out);

    assert_eq!(summary["cohort"]["cases"], 600);
    let auc = summary["cnn"]["auc"].as_f64().unwrap();
    assert!((0.75..1.0).contains(&auc), "AUC {auc}");

    // Fat argues for benign: a significant rule says so, and the network agrees.
    let truth_rules = summary["rules"][0]["rules"].as_array().unwrap();
    let fat_benign = truth_rules.iter().any(|r| {
        r["then"] == "malignant=no"
            && r["when"]
                .as_array()
                .unwrap()
                .contains(&Value::from("macroscopic_fat=present"))
            && r["lift"].as_f64().unwrap() > 2.0
    });
    assert!(fat_benign, "no fat → benign rule in {truth_rules:#?}");
    let prior = probability(&summary, "P(malignant=yes)");
    let with_fat = probability(&summary, "P(malignant=yes | macroscopic_fat=present)");
    assert!(
        with_fat < 0.5 && prior > 0.7,
        "prior {prior}, with fat {with_fat}"
    );
    let rcc_signs = probability(
        &summary,
        "P(malignant=yes | enhancement=avid, heterogeneity=heterogeneous, necrosis=present)",
    );
    assert!(rcc_signs > prior, "{rcc_signs} <= {prior}");

    let arcs = summary["network"]["arcs"].as_array().unwrap();
    assert!(arcs.contains(&serde_json::json!(["malignant", "macroscopic_fat"])));
    // The CNN's verdict sits in the last tier: nothing points out of it.
    assert!(arcs.iter().all(|a| a[0] != "cnn_malignant"), "{arcs:?}");

    for file in [
        "findings.csv",
        "rules.json",
        "network.bif",
        "network.dot",
        "summary.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    // The BIF it writes is a network the bayes commands read back.
    let bif = std::fs::read_to_string(out.join("network.bif")).unwrap();
    assert!(explainme_bayes::read_bif(&bif).is_ok());

    // A second run replaces the first; a folder that is not a demo's is refused.
    assert_eq!(demo(&out)["cohort"]["cases"], 600);
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(["demo", "--cases", "100", "--out"])
        .arg(&foreign)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert_eq!(String::from_utf8_lossy(&refused.stderr).lines().count(), 1);
    assert!(foreign.join("notes.txt").is_file());
}

/// `demo --cases 3` failed half-way ("no item `malignant=no` occurs") and left a half-written
/// folder; now it is refused in one line before anything is written.
#[test]
fn a_cohort_too_small_for_the_demo_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small");
    let refused = Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(["demo", "--cases", "3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--cases 3 is too few for the demo"),
        "{stderr}"
    );
    assert!(!out.exists());
}
