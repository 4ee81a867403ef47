//! `explainme fit`, `explain`, `report` and `knowledge` as a user runs them: the built binary
//! on a phantom cohort the demo CNN never saw (and on the real KiTS19 records), the files
//! they write, exit codes and one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod dicom_support;

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

    // A PACS series of three of the cohort's slices under shuffled names, with identifiers:
    // explained from the folder, its documents validated by the ecosystem's tools.
    let pacs = dir.path().join("pacs");
    let series = pacs.join("study").join("series");
    let sources = dicom_support::write_series(&cohort, &series);
    let docs = dir.path().join("docs");
    let run = with(
        "explain",
        &["--dicom", &p(&pacs), "--out", &p(&docs), "--format", "json"],
    );
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    let json: serde_json::Value = serde_json::from_str(&ok(run)).unwrap();
    assert!(stderr.contains("explained slice 1 of 3"), "{stderr}");
    let reference = json["case_ref"].as_str().unwrap().to_owned();
    assert!(reference.starts_with("series-") && !reference.contains("DOE"));
    // The middle slice along the normal is the cohort's case_00004 image.
    let same = with(
        "explain",
        &["--case", "case_00004", "--heatmap", "--format", "json"],
    );
    let same: serde_json::Value = serde_json::from_str(&ok(same)).unwrap();
    assert!(
        (json["probability"].as_f64().unwrap() - same["probability"].as_f64().unwrap()).abs()
            < 1e-6
    );
    let document = |suffix: &str| docs.join(format!("case-{reference}{suffix}"));
    for suffix in [".html", ".fhir.json", ".sr.dcm", ".pm.dcm"] {
        assert!(document(suffix).is_file(), "{suffix}");
    }
    for dicom in [document(".sr.dcm"), document(".pm.dcm")] {
        dicom_support::assert_no_dciodvfy_errors(&dicom);
        let bytes = std::fs::read(&dicom).unwrap();
        assert!(
            dicom_support::contains(&bytes, dicom_support::PATIENT_ID.as_bytes()),
            "identifiers are copied from the source"
        );
    }
    dicom_support::validate("validate_sr.py", &[&p(&document(".sr.dcm"))], Some(&series));
    dicom_support::validate("validate_pm.py", &[&p(&document(".pm.dcm"))], Some(&series));
    let pm = std::fs::read(document(".pm.dcm")).unwrap();
    assert!(
        dicom_support::contains(&pm, b"occlusion (median fill) heatmap of the CNN's "),
        "the map says how occlusion filled its patches"
    );
    dicom_support::validate("validate_fhir.py", &[&p(&document(".fhir.json"))], None);
    let sr = std::fs::read(document(".sr.dcm")).unwrap();
    assert!(
        dicom_support::contains(&sr, sources[1].as_bytes()),
        "the SR references the slice read"
    );
    assert!(!dicom_support::contains(&sr, sources[0].as_bytes()));

    // De-identified for research: no name or id left, PS3.15 declared, still valid.
    let anonymous = dir.path().join("anonymous");
    ok(with(
        "explain",
        &[
            "--dicom",
            &p(&pacs),
            "--deidentify",
            "--out",
            &p(&anonymous),
        ],
    ));
    for suffix in [".sr.dcm", ".pm.dcm"] {
        let path = anonymous.join(format!("case-{reference}{suffix}"));
        dicom_support::assert_no_dciodvfy_errors(&path);
        let bytes = std::fs::read(&path).unwrap();
        for secret in dicom_support::SECRETS
            .into_iter()
            .chain([sources[1].as_str()])
        {
            assert!(
                !dicom_support::contains(&bytes, secret.as_bytes()),
                "{suffix} keeps {secret}"
            );
        }
        let dump = Command::new("dcmdump").arg(&path).output().unwrap();
        let dump = String::from_utf8_lossy(&dump.stdout);
        assert!(
            dump.lines()
                .any(|l| l.contains("PatientIdentityRemoved") && l.contains("YES")),
            "{dump}"
        );
    }

    // The folder as a cohort for clinicians to label: one case per series, the same id as
    // `explain --dicom` gives, identifiers only when asked for.
    let imported = dir.path().join("imported");
    let summary: serde_json::Value = serde_json::from_str(&ok(explainme(&[
        "import",
        "dicom",
        &p(&pacs),
        "--out",
        &p(&imported),
        "--slice",
        "middle",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(summary["cases"], 1);
    assert_eq!(summary["series"][0]["case_id"], reference.as_str());
    assert_eq!(summary["series"][0]["slices_in_series"], 3);
    let table = std::fs::read_to_string(imported.join("cases.csv")).unwrap();
    assert!(table.starts_with("case_id,image,"), "{table}");
    assert!(!table.contains("PID-4711") && !table.contains("patient_id"));
    let opened = explainme_cohort::Cohort::open(&imported).unwrap();
    assert!(opened.cases[0].labels.is_empty());
    let image = explainme_imaging::read_image(opened.image_path(&opened.cases[0])).unwrap();
    let png = explainme_imaging::read_image(cohort.join("images/case_00004.png")).unwrap();
    assert_eq!(image.voxels(), png.voxels());
    let kept = dir.path().join("kept");
    ok(explainme(&[
        "import",
        "dicom",
        &p(&pacs),
        "--out",
        &p(&kept),
        "--keep-identifiers",
    ]));
    let table = std::fs::read_to_string(kept.join("cases.csv")).unwrap();
    assert!(
        table.contains("patient_id") && table.contains("PID-4711"),
        "{table}"
    );
    assert_eq!(
        explainme_cohort::Cohort::open(&kept).unwrap().cases[0]
            .image
            .to_string_lossy(),
        format!("images/{reference}.nii.gz")
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
