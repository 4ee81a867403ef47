//! `explainme demo` end to end: the planted clinical knowledge must come back.
//!
//! The phantom generator plants macroscopic fat in fat-rich angiomyolipomas (benign) and
//! avid, heterogeneous, necrotic enhancement in clear-cell RCC (malignant). Whatever the CNN
//! does, the demo's summary over the clinician labels must recover both (rules, Markov
//! blanket), hold no candidate that contradicts DESIGN.md's table, explain its three cases,
//! write its reports and exports, and a second run into the same folder must replace the
//! first.

mod browser_support;

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
    summary["queries"]
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
    let k = &summary["knowledge"];
    let auc = k["performance"]["auc"].as_f64().unwrap();
    assert!((0.75..1.0).contains(&auc), "AUC {auc}");

    // Fat argues for benign: the top rule for a benign lesion says so, and the network agrees.
    let benign = k["rules"]["malignant=no"].as_array().unwrap();
    let has = |rule: &Value, item: &str| {
        rule["antecedent"]
            .as_array()
            .unwrap()
            .contains(&Value::from(item))
    };
    assert!(
        benign
            .iter()
            .take(5)
            .any(|r| has(r, "macroscopic_fat=present") && r["lift"].as_f64().unwrap() > 2.0),
        "no fat → benign rule in the top five: {benign:#?}"
    );
    // Avid, heterogeneous enhancement and necrosis argue for malignancy: among the top five
    // rules, one is made of those planted findings alone.
    let malignant = k["rules"]["malignant=yes"].as_array().unwrap();
    let planted = [
        "enhancement=avid",
        "heterogeneity=heterogeneous",
        "necrosis=present",
    ];
    assert!(
        malignant.iter().take(5).any(|r| {
            let items = r["antecedent"].as_array().unwrap();
            items.len() >= 2 && items.iter().all(|i| planted.contains(&i.as_str().unwrap()))
        }),
        "no rule of the planted ccRCC signs among the top five: {malignant:#?}"
    );
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
    let blanket = k["markov_blankets"]["malignant"].as_array().unwrap();
    assert!(
        blanket.contains(&Value::from("macroscopic_fat")),
        "{blanket:?}"
    );

    let arcs = k["arcs"].as_array().unwrap();
    assert!(
        arcs.iter()
            .any(|a| a["from"] == "malignant" && a["to"] == "macroscopic_fat")
    );
    // The CNN's verdict sits in the last tier: nothing points out of it.
    assert!(
        arcs.iter().all(|a| a["from"] != "cnn_malignant"),
        "{arcs:?}"
    );
    // Nothing offered as new knowledge contradicts the known list.
    for c in k["candidates"].as_array().unwrap() {
        assert_eq!(c["standing"], "New", "{c}");
    }

    let cases = summary["cases"].as_array().unwrap();
    let roles: Vec<&str> = cases.iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        [
            "a clear malignancy",
            "a fat-rich angiomyolipoma",
            "a case the CNN gets wrong"
        ]
    );
    for case in cases {
        let e = &case["explanation"];
        let id = e["case_ref"].as_str().unwrap();
        assert!(
            e["narrative"]
                .as_str()
                .unwrap()
                .starts_with("The CNN calls this lesion")
        );
        assert!(e["heatmap"]["values"].as_array().unwrap().len() == 64 * 64);
        for file in [
            format!("case-{id}.html"),
            format!("case-{id}.md"),
            format!("explanation-{id}.json"),
        ] {
            assert!(out.join(&file).is_file(), "{file} missing");
        }
    }
    let wrong = &cases[2]["explanation"];
    assert!(!wrong["flags"].as_array().unwrap().is_empty() || wrong["verdict"].is_string());

    for file in [
        "report.html",
        "report.md",
        "explainer.json",
        "network.bif",
        "network.xmlbif",
        "network.dot",
        "rules.csv",
        "tree.dot",
        "tree.txt",
        "knowledge.json",
        "summary.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    // The reports render completely in a real browser: every image and SVG drawn. The
    // screenshots stay in the test's target folder for a person to look at.
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-screenshots");
    let first_case = cases[0]["explanation"]["case_ref"].as_str().unwrap();
    for page in ["report.html".to_owned(), format!("case-{first_case}.html")] {
        let shot = shots.join(page.replace(".html", ".png"));
        let rendered = browser_support::render_check(&out.join(&page), &shot).unwrap();
        assert!(
            rendered.failures().is_empty(),
            "{page}: {:?}",
            rendered.failures()
        );
        assert!(
            !rendered.images.is_empty() || !rendered.svgs.is_empty(),
            "{page} has no pictures"
        );
        if page == "report.html" {
            // ROC, calibration, network and tree.
            assert!(
                rendered.svgs.len() >= 4,
                "{page}: {} SVGs",
                rendered.svgs.len()
            );
        } else {
            // The heatmap over the CT and the similar cases' thumbnails.
            assert!(
                rendered.images.len() >= 2,
                "{page}: {} images",
                rendered.images.len()
            );
        }
    }

    // Each case as a FHIR R4B Bundle that fhir.resources (tools/setup.sh installs it) reads,
    // its DiagnosticReport's results inside the bundle and the HTML report as presentedForm.
    let bundles: Vec<std::path::PathBuf> = cases
        .iter()
        .map(|c| {
            out.join(format!(
                "case-{}.fhir.json",
                c["explanation"]["case_ref"].as_str().unwrap()
            ))
        })
        .collect();
    let validated = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/validate_fhir.py"
        ))
        .args(&bundles)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "FHIR validation failed (validators missing? run bash tools/setup.sh): {}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&validated.stdout).lines().count(),
        3
    );

    // Each case as a DICOM Comprehensive 3D SR (TID 1500): dciodvfy (dicom3tools) finds no
    // error, dcmtk's dsrdump prints its tree, pydicom reads the probability back.
    let srs: Vec<std::path::PathBuf> = cases
        .iter()
        .map(|c| {
            out.join(format!(
                "case-{}.sr.dcm",
                c["explanation"]["case_ref"].as_str().unwrap()
            ))
        })
        .collect();
    for sr in &srs {
        let checked = Command::new("dciodvfy")
            .arg("-new")
            .arg(sr)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&checked.stderr).into_owned()
            + &String::from_utf8_lossy(&checked.stdout);
        assert!(report.contains("Comprehensive3DSR"), "dciodvfy: {report}");
        assert!(
            !report.lines().any(|l| l.starts_with("Error")),
            "dciodvfy errors in {}: {report}",
            sr.display()
        );
        let dumped = Command::new("dsrdump").arg(sr).output().unwrap();
        let tree = String::from_utf8_lossy(&dumped.stdout);
        assert!(
            dumped.status.success() && tree.contains("Imaging Measurement Report"),
            "dsrdump: {tree}"
        );
        assert!(tree.contains("Verification Flag   : UNVERIFIED"), "{tree}");
    }
    let read_back = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/validate_sr.py"))
        .args(&srs)
        .output()
        .unwrap();
    assert!(
        read_back.status.success(),
        "pydicom read-back failed (validators missing? run bash tools/setup.sh): {}{}",
        String::from_utf8_lossy(&read_back.stdout),
        String::from_utf8_lossy(&read_back.stderr)
    );

    // Each heatmap as a DICOM Parametric Map: dciodvfy finds no error; pydicom and highdicom
    // read back the heatmap's values (tools/validate_pm.py).
    let maps: Vec<std::path::PathBuf> = srs
        .iter()
        .map(|sr| {
            sr.with_file_name(
                sr.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .replace(".sr.dcm", ".pm.dcm"),
            )
        })
        .collect();
    for map in &maps {
        let checked = Command::new("dciodvfy")
            .arg("-new")
            .arg(map)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&checked.stderr).into_owned()
            + &String::from_utf8_lossy(&checked.stdout);
        assert!(report.contains("ParametricMap"), "dciodvfy: {report}");
        assert!(
            !report.lines().any(|l| l.starts_with("Error")),
            "dciodvfy errors in {}: {report}",
            map.display()
        );
    }
    let read_back = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/validate_pm.py"))
        .args(&maps)
        .output()
        .unwrap();
    assert!(
        read_back.status.success(),
        "Parametric Map read-back failed (validators missing? run bash tools/setup.sh): {}{}",
        String::from_utf8_lossy(&read_back.stdout),
        String::from_utf8_lossy(&read_back.stderr)
    );
    assert!(String::from_utf8_lossy(&read_back.stdout).contains("equal to the heatmap"));

    // The BIF it writes is a network the bayes commands read back.
    let bif = std::fs::read_to_string(out.join("network.bif")).unwrap();
    assert!(explainme_bayes::read_bif(&bif).is_ok());
    let csv = std::fs::read_to_string(out.join("rules.csv")).unwrap();
    assert!(csv.starts_with(
        "antecedents,consequents,antecedent support,consequent support,support,confidence,lift"
    ));

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
