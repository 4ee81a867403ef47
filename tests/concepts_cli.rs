//! `explainme concepts` on the real binary: a phantom cohort made by `explainme phantom`, the
//! demo CNN, one JSON document naming the cohort's concepts; a bad layer is one stderr line.

use std::process::Command;

const DEMO_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/models/renal_cnn.onnx");
const DEMO_CARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/models/renal_cnn.card.json"
);
const LAST_LAYER: &str = "functional_1_1/conv4_1_1/Relu:0";

fn explainme(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .unwrap()
}

/// `explainme concepts` on the demo CNN; `args` start with the cohort folder.
fn concepts(args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "concepts", "--model", DEMO_MODEL, "--card", DEMO_CARD, "--cohort",
    ];
    all.extend_from_slice(args);
    explainme(&all)
}

#[test]
fn concepts_prints_one_json_report_naming_the_cohorts_concepts() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = dir.path().join("cohort");
    let cohort = cohort.to_str().unwrap();
    let made = explainme(&["phantom", "--cases", "160", "--seed", "77", "--out", cohort]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let output = concepts(&[
        cohort,
        "--layer",
        LAST_LAYER,
        "--permutations",
        "200",
        "--random-directions",
        "10",
        "--format",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["cases"].as_array().unwrap().len(), 160);
    assert_eq!(report["layers"][0]["layer"], LAST_LAYER);
    assert_eq!(report["layers"][0]["channels"], 64);
    let names: Vec<&str> = report["concepts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["concept"].as_str().unwrap())
        .collect();
    for expected in [
        "macroscopic_fat=present",
        "calcification=present",
        "necrosis=present",
        "enhancement=avid",
        "size_cm=<2",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let masks: Vec<&str> = report["masks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        masks.contains(&"lesion") && masks.contains(&"macroscopic_fat"),
        "{masks:?}"
    );
    let fat = report["concepts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["concept"] == "macroscopic_fat=present")
        .unwrap();
    let probe = &fat["layers"][0];
    assert_eq!(probe["scores"].as_array().unwrap().len(), 160);
    assert!(probe["tcav"]["score"].as_f64().is_some(), "{probe}");
}

#[test]
fn an_unknown_layer_is_one_line_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = dir.path().join("cohort");
    let cohort = cohort.to_str().unwrap();
    assert!(
        explainme(&["phantom", "--cases", "8", "--seed", "5", "--out", cohort])
            .status
            .success()
    );
    let output = concepts(&[cohort, "--layer", "no/such:0"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no/such:0"), "{stderr}");
}
