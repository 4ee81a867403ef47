//! `explainme fit`, `explain`, `report` and `knowledge` as a user runs them: the built binary
//! on a phantom cohort the demo CNN never saw (and on the real KiTS19 records), the files
//! they write, exit codes and one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn explainme(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .expect("the explainme binary runs")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models")
}

#[test]
fn fit_then_explain_and_report_from_the_artefact() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = dir.path().join("cohort");
    let p = |path: &Path| path.to_str().unwrap().to_owned();
    ok(explainme(&[
        "phantom",
        "--cases",
        "150",
        "--seed",
        "515",
        "--out",
        &p(&cohort),
    ]));
    let (model, card) = (
        p(&models().join("renal_cnn.onnx")),
        p(&models().join("renal_cnn.card.json")),
    );
    let artefact = dir.path().join("explainer.json");
    let fit = |out: &Path| {
        explainme(&[
            "fit",
            "--model",
            &model,
            "--card",
            &card,
            "--cohort",
            &p(&cohort),
            "--seed",
            "3",
            "--permutations",
            "20",
            "--out",
            &p(out),
        ])
    };
    ok(fit(&artefact));
    // Reproducible: the same inputs and seed write the same bytes.
    let again = dir.path().join("again.json");
    ok(fit(&again));
    assert!(std::fs::read(&artefact).unwrap() == std::fs::read(&again).unwrap());

    let with = |command: &str, extra: &[&str]| {
        let mut args = vec![
            command.to_owned(),
            "--explainer".into(),
            p(&artefact),
            "--model".into(),
            model.clone(),
            "--card".into(),
            card.clone(),
            "--cohort".into(),
            p(&cohort),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        explainme(&args)
    };
    let json: serde_json::Value = serde_json::from_str(&ok(with(
        "explain",
        &["--case", "case_00002", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json["case_ref"], "case_00002");
    assert!(
        json["narrative"]
            .as_str()
            .unwrap()
            .starts_with("The CNN calls this lesion")
    );
    assert!(json["heatmap"].is_null());

    // The same case for an EHR: a FHIR R4 Bundle that fhir.resources reads as R4B.
    let fhir = dir.path().join("case.fhir.json");
    ok(with(
        "explain",
        &["--case", "case_00002", "--fhir", &p(&fhir)],
    ));
    let validated = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/validate_fhir.py"))
        .arg(&fhir)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stderr)
    );

    let html = dir.path().join("report.html");
    ok(with("report", &["--out", &p(&html)]));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"));
    let md = dir.path().join("case.md");
    ok(with("report", &["--case", "case_00002", "--out", &p(&md)]));
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .starts_with("# Case case_00002")
    );

    // One-line errors: an unknown case, a report without a known extension.
    let out = with("explain", &["--case", "nope", "--format", "json"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no case `nope`"), "{stderr}");
    let out = with("report", &["--out", "report.pdf"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(".html or .md"));
}

#[test]
fn an_explainer_refuses_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = |path: &Path| path.to_str().unwrap().to_owned();
    let cohort = dir.path().join("cohort");
    ok(explainme(&[
        "phantom",
        "--cases",
        "60",
        "--seed",
        "516",
        "--out",
        &p(&cohort),
    ]));
    let (model, card) = (
        p(&models().join("renal_cnn.onnx")),
        p(&models().join("renal_cnn.card.json")),
    );
    let artefact = dir.path().join("explainer.json");
    ok(explainme(&[
        "fit",
        "--model",
        &model,
        "--card",
        &card,
        "--cohort",
        &p(&cohort),
        "--permutations",
        "5",
        "--out",
        &p(&artefact),
    ]));
    // The same graph with other weights is another model.
    let other = dir.path().join("other.onnx");
    let demo = explainme_onnx::Model::from_path(models().join("renal_cnn.onnx")).unwrap();
    std::fs::write(
        &other,
        demo.with_randomised_weights(1, 9).unwrap().to_bytes(),
    )
    .unwrap();
    let out = explainme(&[
        "explain",
        "--explainer",
        &p(&artefact),
        "--model",
        &p(&other),
        "--card",
        &card,
        "--cohort",
        &p(&cohort),
        "--case",
        "case_00001",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("was fitted on model"));
}

/// The real KiTS19 records: size decides between partial and radical nephrectomy, and the
/// knowledge summary finds it.
#[test]
fn knowledge_on_the_real_kits19_records() {
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/kits19/kits19.json");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("kits19.csv");
    let report = dir.path().join("kits19.html");
    ok(explainme(&[
        "import",
        "kits19",
        "--json",
        json.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
    ]));
    let text = ok(explainme(&[
        "knowledge",
        "--csv",
        csv.to_str().unwrap(),
        "--target",
        "surgical_procedure=radical_nephrectomy",
        "--columns",
        "age_at_nephrectomy,gender,body_mass_index,smoking_history,diabetes,chronic_kidney_disease,radiographic_size,malignant",
        "--bins",
        "age_at_nephrectomy:50,65,75",
        "--bins",
        "body_mass_index:25,30",
        "--bins",
        "radiographic_size:2,4,7",
        "--format",
        "json",
        "--report",
        report.to_str().unwrap(),
    ]));
    let k: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(k["rows"], 210);
    let radical = k["rules"]["surgical_procedure=radical_nephrectomy"]
        .as_array()
        .unwrap();
    assert!(
        radical.iter().take(3).any(|r| r["antecedent"]
            .as_array()
            .unwrap()
            .contains(&"radiographic_size=>=7".into())),
        "{radical:#?}"
    );
    assert!(k["tree_accuracy"].as_f64().unwrap() > k["majority_accuracy"].as_f64().unwrap());
    assert!(std::fs::read_to_string(&report).unwrap().contains("<svg"));
    let bad = explainme(&[
        "knowledge",
        "--csv",
        csv.to_str().unwrap(),
        "--target",
        "malignant",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("column=state"));
}
