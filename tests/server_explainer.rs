//! The Explainer over gRPC, end to end: a real server on loopback with a real SQLite store
//! and real ONNX Runtime, driven by a tonic client. Register the demo CNN, stream 500
//! phantom cases, fit (progress events arrive, stage by stage), explain one stored case and
//! a batch with an inline one, summarise, render both reports, export every format, and
//! after a restart explain identically. Calls out of order or with unknown labels get the
//! documented codes.

mod dicom_support;
mod server_support;

use std::path::Path;

use explainme::pb;
use explainme::server::ServerConfig;
use server_support::{Running, file, phantom_cases, register_demo, upsert};
use tonic::Code;

const LIMIT: usize = ServerConfig::DEFAULT_MAX_MESSAGE_BYTES;
const COHORT: &str = "phantoms";
const CASES: usize = 500;

/// A fit of the phantom cohort with `seed` and 50 permutations per probe (enough to fit in
/// seconds, the rest the defaults).
fn fit_request(model_id: &str, seed: u64) -> pb::FitExplainerRequest {
    pb::FitExplainerRequest {
        model_id: model_id.to_owned(),
        cohort: COHORT.into(),
        feature_layers: Vec::new(),
        params: Some(pb::ExplainerParams {
            seed,
            concept_permutations: 50,
            ..Default::default()
        }),
    }
}

fn stored(case_id: &str) -> pb::ExplainTarget {
    pb::ExplainTarget {
        target: Some(pb::explain_target::Target::CaseId(case_id.into())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fit_explain_summarise_report_and_export_through_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let running = Running::start(&data, LIMIT).await;
    let mut client = running.client();

    let model_id = register_demo(&mut client).await;

    // Before any fit: Explain has nothing to explain with, and a fit needs cases.
    let early = client
        .explain(pb::ExplainRequest {
            explainer_id: String::new(),
            targets: vec![stored("case_00001")],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    let mut empty = client
        .fit_explainer(pb::FitExplainerRequest {
            model_id: model_id.clone(),
            cohort: COHORT.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let refused = empty.message().await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");

    let (cohort, cases) = phantom_cases(&dir.path().join("cohort"), COHORT, CASES);
    let stored_cases = upsert(&mut client, cases).await.unwrap();
    assert_eq!(stored_cases.created as usize, CASES);

    // Fit, reading every progress event.
    let mut stream = client
        .fit_explainer(fit_request(&model_id, 5))
        .await
        .unwrap()
        .into_inner();
    let fit_started = std::time::Instant::now();
    let (mut stages, mut advanced, mut finished) = (Vec::new(), 0, None);
    while let Some(event) = stream.message().await.unwrap() {
        match event.event.unwrap() {
            pb::fit_progress::Event::StageStarted(s) => stages.push(s.stage),
            pb::fit_progress::Event::Advanced(_) => advanced += 1,
            pb::fit_progress::Event::Finished(info) => finished = Some(info),
        }
    }
    let fit_time = fit_started.elapsed();
    let info = finished.expect("the fit finished");
    let expected: Vec<i32> = (1..=6).collect();
    assert_eq!(stages, expected, "every stage, in order");
    assert!(advanced >= 6, "{advanced} progress events");
    assert_eq!((info.version, info.cohort.as_str()), (1, COHORT));
    assert_eq!(info.fit_cases + info.held_out_cases, CASES as u32);
    let id = info.explainer_id.clone();

    let got = client
        .get_explainer(pb::GetExplainerRequest {
            explainer_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, info);
    let listed = client
        .list_explainers(pb::ListExplainersRequest {
            model_id: model_id.clone(),
            cohort: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.explainers, std::slice::from_ref(&info));
    let unknown = client
        .get_explainer(pb::GetExplainerRequest {
            explainer_id: "x0".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // One stored case, then a batch with an inline case (image and two labels only).
    let first = &cohort.cases[0];
    let one = client
        .explain(pb::ExplainRequest {
            explainer_id: id.clone(),
            targets: vec![stored(&first.id)],
            include_heatmap: true,
            fast: true,
        })
        .await
        .unwrap()
        .into_inner();
    let e = &one.explanations[0];
    assert_eq!(e.case_ref, first.id);
    assert!(
        e.narrative.starts_with("The CNN calls this lesion"),
        "{}",
        e.narrative
    );
    assert!(!e.prediction_set.is_empty() && e.similar_cases.len() == 5);
    let heatmap = e.heatmap.as_ref().unwrap();
    assert_eq!(heatmap.values.as_ref().unwrap().data.len(), 64 * 64);
    assert!(
        (0.0..=1.0).contains(&heatmap.mass_in_lesion),
        "a stored case has its lesion mask"
    );
    // The default method, occlusion, says what it filled its patches with (the default).
    assert_eq!(heatmap.method(), pb::SaliencyMethod::Occlusion);
    assert_eq!(heatmap.fill(), pb::OcclusionFill::Median);
    assert!((0.0..=1.0).contains(&heatmap.random_insertion_auc));
    // The curves' fixed ends are probabilities: recorded, not the -1 of "unknown".
    assert!(
        (0.0..=1.0).contains(&heatmap.blurred_score),
        "{}",
        heatmap.blurred_score
    );
    assert!(
        (0.0..=1.0).contains(&heatmap.median_score),
        "{}",
        heatmap.median_score
    );
    assert!(heatmap.forward_passes > 2, "{}", heatmap.forward_passes);
    assert!(serde_json::from_str::<serde_json::Value>(&e.explanation_json).is_ok());

    let png = std::fs::read(cohort.image_path(&cohort.cases[9])).unwrap();
    let inline = pb::ExplainTarget {
        target: Some(pb::explain_target::Target::Inline(pb::InlineCase {
            reference: "outside-1".into(),
            image: file(pb::ImageFormat::Png16, png.clone()),
            labels: vec![
                pb::Label {
                    feature: "macroscopic_fat".into(),
                    value: Some(pb::label::Value::State("absent".into())),
                },
                pb::Label {
                    feature: "size_cm".into(),
                    value: Some(pb::label::Value::Number(3.5)),
                },
            ],
            masks: Vec::new(),
            dicom_files: Vec::new(),
            slice: None,
        })),
    };
    let batch = client
        .explain(pb::ExplainRequest {
            explainer_id: id.clone(),
            targets: vec![
                stored(&cohort.cases[1].id),
                stored(&cohort.cases[2].id),
                inline,
            ],
            include_heatmap: false,
            fast: true,
        })
        .await
        .unwrap()
        .into_inner();
    let refs: Vec<&str> = batch
        .explanations
        .iter()
        .map(|e| e.case_ref.as_str())
        .collect();
    assert_eq!(
        refs,
        [
            cohort.cases[1].id.as_str(),
            cohort.cases[2].id.as_str(),
            "outside-1"
        ]
    );
    assert!(batch.explanations.iter().all(|e| e.heatmap.is_none()));

    // A label state the schema does not know is named.
    let bad = pb::ExplainTarget {
        target: Some(pb::explain_target::Target::Inline(pb::InlineCase {
            reference: "bad".into(),
            image: file(pb::ImageFormat::Png16, png),
            labels: vec![pb::Label {
                feature: "macroscopic_fat".into(),
                value: Some(pb::label::Value::State("lots".into())),
            }],
            masks: Vec::new(),
            dicom_files: Vec::new(),
            slice: None,
        })),
    };
    let refused = client
        .explain(pb::ExplainRequest {
            explainer_id: id.clone(),
            targets: vec![bad],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("macroscopic_fat=lots"),
        "{}",
        refused.message()
    );

    // The summary, judged against DESIGN.md's known associations.
    let known = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/knowledge/renal_known.txt"),
    )
    .unwrap();
    let summary = client
        .get_knowledge_summary(pb::GetKnowledgeSummaryRequest {
            explainer_id: id.clone(),
            max_rules: 5,
            known_associations: known.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let performance = summary.performance.unwrap();
    assert!(
        performance.auc > 0.75
            && performance.auc_ci_low <= performance.auc
            && performance.auc <= performance.auc_ci_high
    );
    assert!(
        !summary.rules.is_empty()
            && !summary.network_edges.is_empty()
            && !summary.concepts.is_empty()
    );
    assert!(
        summary
            .markov_blankets
            .iter()
            .any(|b| b.variable == "malignant")
    );
    // Fat's best detector channel: its own layer, its IoU and how well its response tells
    // the fat labels, beside the probe's layer.
    let fat = summary
        .concepts
        .iter()
        .find(|c| c.concept == "macroscopic_fat=present")
        .expect("fat is probed");
    assert!(fat.iou > 0.04 && !fat.layer.is_empty() && !fat.probe_layer.is_empty());
    let auc = fat.channel_label_auc.expect("fat is labelled");
    assert!(auc > 0.5, "the best fat detector's response AUC {auc}");
    assert!(summary.narrative.contains("held-out cases"));
    let json: serde_json::Value = serde_json::from_str(&summary.summary_json).unwrap();
    assert_eq!(json["cases"], CASES);
    let bad_known = client
        .get_knowledge_summary(pb::GetKnowledgeSummaryRequest {
            explainer_id: id.clone(),
            max_rules: 5,
            known_associations: "fat -> benign".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_known.code(), Code::InvalidArgument);

    // Reports: the cohort in HTML, a case in Markdown.
    let html = client
        .render_report(pb::RenderReportRequest {
            explainer_id: id.clone(),
            format: pb::ReportFormat::Html.into(),
            case_ids: Vec::new(),
            known_associations: known.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(html.media_type.starts_with("text/html"));
    let page = String::from_utf8(html.content).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.matches("<svg").count() >= 4);
    let markdown = client
        .render_report(pb::RenderReportRequest {
            explainer_id: id.clone(),
            format: pb::ReportFormat::Markdown.into(),
            case_ids: vec![first.id.clone()],
            known_associations: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(markdown.file_name, format!("case-{}.md", first.id));
    assert!(
        String::from_utf8(markdown.content)
            .unwrap()
            .contains("data:image/png;base64,")
    );
    let no_format = client
        .render_report(pb::RenderReportRequest {
            explainer_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(no_format.code(), Code::InvalidArgument);

    // Every export.
    for format in [
        pb::ExportFormat::Bif,
        pb::ExportFormat::Xmlbif,
        pb::ExportFormat::Dot,
        pb::ExportFormat::RulesCsv,
        pb::ExportFormat::Json,
        pb::ExportFormat::TreeDot,
        pb::ExportFormat::TreeText,
    ] {
        let doc = client
            .export(pb::ExportRequest {
                explainer_id: id.clone(),
                format: format.into(),
                known_associations: String::new(),
                case_id: String::new(),
                deidentify: false,
            })
            .await
            .unwrap()
            .into_inner();
        let text = String::from_utf8(doc.content).unwrap();
        assert!(!text.is_empty(), "{format:?}");
        match format {
            pb::ExportFormat::Bif => assert!(explainme_bayes::read_bif(&text).is_ok()),
            pb::ExportFormat::Xmlbif => assert!(text.contains("<BIF VERSION=\"0.3\">")),
            pb::ExportFormat::Dot | pb::ExportFormat::TreeDot => {
                assert!(text.starts_with("digraph"))
            }
            pb::ExportFormat::RulesCsv => assert!(text.starts_with("antecedents,consequents,")),
            pb::ExportFormat::Json => {
                assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok())
            }
            _ => {}
        }
    }

    // A stored case as a FHIR R4 Bundle that fhir.resources reads as R4B.
    let fhir = client
        .export(pb::ExportRequest {
            explainer_id: id.clone(),
            format: pb::ExportFormat::FhirBundle.into(),
            known_associations: String::new(),
            case_id: first.id.clone(),
            deidentify: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fhir.media_type, "application/fhir+json");
    let bundle = dir.path().join(&fhir.file_name);
    std::fs::write(&bundle, &fhir.content).unwrap();
    let validated = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/validate_fhir.py"
        ))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "FHIR validation failed (run bash tools/setup.sh): {}",
        String::from_utf8_lossy(&validated.stderr)
    );
    let no_case = client
        .export(pb::ExportRequest {
            explainer_id: id.clone(),
            format: pb::ExportFormat::FhirBundle.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(no_case.code(), Code::InvalidArgument);

    // The same case as a DICOM SR that dicom3tools' dciodvfy accepts without error.
    let sr = client
        .export(pb::ExportRequest {
            explainer_id: id.clone(),
            format: pb::ExportFormat::DicomSr.into(),
            known_associations: String::new(),
            case_id: first.id.clone(),
            deidentify: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sr.media_type, "application/dicom");
    assert_eq!(&sr.content[128..132], b"DICM");
    let sr_path = dir.path().join(&sr.file_name);
    std::fs::write(&sr_path, &sr.content).unwrap();
    let checked = std::process::Command::new("dciodvfy")
        .arg("-new")
        .arg(&sr_path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&checked.stderr);
    assert!(
        report.contains("Comprehensive3DSR"),
        "dciodvfy (run bash tools/setup.sh): {report}"
    );
    assert!(!report.lines().any(|l| l.starts_with("Error")), "{report}");

    // Its heatmap as a Parametric Map, read back by pydicom and highdicom with the values of
    // the explanation the service gives for the same case.
    let full = client
        .explain(pb::ExplainRequest {
            explainer_id: id.clone(),
            targets: vec![stored(&first.id)],
            include_heatmap: true,
            fast: false,
        })
        .await
        .unwrap()
        .into_inner();
    std::fs::write(
        dir.path().join(format!("explanation-{}.json", first.id)),
        &full.explanations[0].explanation_json,
    )
    .unwrap();
    let pm = client
        .export(pb::ExportRequest {
            explainer_id: id.clone(),
            format: pb::ExportFormat::ParametricMap.into(),
            case_id: first.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pm.file_name, format!("case-{}.pm.dcm", first.id));
    let pm_path = dir.path().join(&pm.file_name);
    std::fs::write(&pm_path, &pm.content).unwrap();
    dicom_support::assert_no_dciodvfy_errors(&pm_path);
    dicom_support::validate("validate_pm.py", &[pm_path.to_str().unwrap()], None);

    // A DICOM series, streamed file by file (one file in two parts), answered with its
    // explanation and the three documents; the same series inline in Explain.
    let (files, uids) = dicom_support::series_files(&cohort.root);
    let wanted = vec![
        pb::ExportFormat::DicomSr.into(),
        pb::ExportFormat::ParametricMap.into(),
        pb::ExportFormat::FhirBundle.into(),
    ];
    let mut messages = vec![pb::ExplainSeriesRequest {
        part: Some(pb::explain_series_request::Part::Header(
            pb::ExplainSeriesHeader {
                explainer_id: id.clone(),
                documents: wanted.clone(),
                ..Default::default()
            },
        )),
    }];
    for (i, (_, bytes)) in files.iter().enumerate() {
        let cut = if i == 0 { bytes.len() / 2 } else { bytes.len() };
        for (part, more) in [(&bytes[..cut], cut < bytes.len()), (&bytes[cut..], false)] {
            if !part.is_empty() {
                messages.push(pb::ExplainSeriesRequest {
                    part: Some(pb::explain_series_request::Part::File(pb::SeriesFilePart {
                        data: part.to_vec(),
                        more,
                    })),
                });
            }
        }
    }
    let answer = client
        .explain_series(tokio_stream::iter(messages.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((answer.slice, answer.slices), (Some(1), 3));
    assert_eq!((answer.files_received, answer.files_used), (3, 3));
    let names: Vec<&str> = answer
        .documents
        .iter()
        .map(|d| d.file_name.as_str())
        .collect();
    let reference = answer.explanation.as_ref().unwrap().case_ref.clone();
    assert_eq!(
        names,
        [".sr.dcm", ".pm.dcm", ".fhir.json"].map(|s| format!("case-{reference}{s}"))
    );
    let series_dir = dir.path().join("series");
    for (name, bytes) in &files {
        std::fs::create_dir_all(&series_dir).unwrap();
        std::fs::write(series_dir.join(name), bytes).unwrap();
    }
    std::fs::write(
        dir.path().join(format!("explanation-{reference}.json")),
        &answer.explanation.as_ref().unwrap().explanation_json,
    )
    .unwrap();
    for document in &answer.documents {
        let path = dir.path().join(&document.file_name);
        std::fs::write(&path, &document.content).unwrap();
        let path = path.to_str().unwrap().to_owned();
        match document.media_type.as_str() {
            "application/dicom" => {
                dicom_support::assert_no_dciodvfy_errors(Path::new(&path));
                let script = if path.ends_with(".sr.dcm") {
                    "validate_sr.py"
                } else {
                    "validate_pm.py"
                };
                dicom_support::validate(script, &[&path], Some(&series_dir));
            }
            _ => dicom_support::validate("validate_fhir.py", &[&path], None),
        }
    }
    assert!(dicom_support::contains(
        &answer.documents[0].content,
        uids[1].as_bytes()
    ));
    let inline = client
        .explain(pb::ExplainRequest {
            explainer_id: id.clone(),
            targets: vec![pb::ExplainTarget {
                target: Some(pb::explain_target::Target::Inline(pb::InlineCase {
                    reference: "pacs-1".into(),
                    dicom_files: files.iter().map(|(_, b)| b.clone()).collect(),
                    slice: Some(1),
                    ..Default::default()
                })),
            }],
            include_heatmap: false,
            fast: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        (inline.explanations[0].probability - answer.explanation.as_ref().unwrap().probability)
            .abs()
            < 1e-6
    );
    // Broken input is named: a cut file, a stream without its header, a slice out of range.
    let mut cut = messages.clone();
    if let Some(pb::explain_series_request::Part::File(part)) = &mut cut[2].part {
        part.data.truncate(300);
    }
    cut.truncate(3);
    let refused = client
        .explain_series(tokio_stream::iter(cut))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::InvalidArgument,
        "{}",
        refused.message()
    );
    assert!(
        refused.message().contains("files[0]"),
        "{}",
        refused.message()
    );
    let refused = client
        .explain_series(tokio_stream::iter(messages[1..].to_vec()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let mut far = messages.clone();
    if let Some(pb::explain_series_request::Part::Header(h)) = &mut far[0].part {
        h.slice = Some(7);
    }
    let refused = client
        .explain_series(tokio_stream::iter(far))
        .await
        .unwrap_err();
    assert!(
        refused.message().contains("slice 7"),
        "{}",
        refused.message()
    );

    // Clinicians' work: a corrected label (an unknown state refused, naming it), its history,
    // feedback counted in the summary and exported as CSV, a candidate accepted into the
    // known-associations list.
    let case = &cohort.cases[3].id;
    let label = |feature: &str, state: &str| pb::Label {
        feature: feature.into(),
        value: Some(pb::label::Value::State(state.into())),
    };
    let refused = client
        .set_case_labels(pb::SetCaseLabelsRequest {
            cohort: COHORT.into(),
            case_id: case.clone(),
            labels: vec![label("macroscopic_fat", "lots")],
            author: "dr_a".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("macroscopic_fat=lots"),
        "{}",
        refused.message()
    );
    let no_author = client
        .set_case_labels(pb::SetCaseLabelsRequest {
            cohort: COHORT.into(),
            case_id: case.clone(),
            labels: vec![label("macroscopic_fat", "present")],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(no_author.code(), Code::InvalidArgument);
    let corrected = client
        .set_case_labels(pb::SetCaseLabelsRequest {
            cohort: COHORT.into(),
            case_id: case.clone(),
            labels: vec![
                label("macroscopic_fat", "present"),
                label("margin", "infiltrative"),
            ],
            author: "dr_a".into(),
            note: "re-read on the venous phase".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .version
        .unwrap();
    assert_eq!((corrected.version, corrected.author.as_str()), (2, "dr_a"));
    let history = client
        .get_label_history(pb::GetLabelHistoryRequest {
            cohort: COHORT.into(),
            case_id: case.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].author, "upload");
    assert!(history[0].labels.len() > history[1].labels.len());
    let missing = client
        .get_label_history(pb::GetLabelHistoryRequest {
            cohort: COHORT.into(),
            case_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let feedback = |part: pb::ExplanationPart, judgement: pb::Judgement, determining: &[&str]| {
        pb::SubmitFeedbackRequest {
            explainer_id: id.clone(),
            case_id: case.clone(),
            part: part.into(),
            judgement: judgement.into(),
            comment: "seen in the reading room".into(),
            determining_features: determining.iter().map(|s| s.to_string()).collect(),
            author: "dr_a".into(),
        }
    };
    for request in [
        feedback(
            pb::ExplanationPart::Rule,
            pb::Judgement::Agree,
            &["necrosis"],
        ),
        feedback(pb::ExplanationPart::Rule, pb::Judgement::Unclear, &[]),
        feedback(
            pb::ExplanationPart::Heatmap,
            pb::Judgement::Disagree,
            &["necrosis", "margin"],
        ),
    ] {
        client.submit_feedback(request).await.unwrap();
    }
    let bad = client
        .submit_feedback(feedback(
            pb::ExplanationPart::Rule,
            pb::Judgement::Agree,
            &["malignant"],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad.code(),
        Code::InvalidArgument,
        "truth is not a reading feature"
    );
    let unset = client
        .submit_feedback(pb::SubmitFeedbackRequest {
            part: 0,
            ..feedback(pb::ExplanationPart::Rule, pb::Judgement::Agree, &[])
        })
        .await
        .unwrap_err();
    assert_eq!(unset.code(), Code::InvalidArgument);
    let listed = client
        .list_feedback(pb::ListFeedbackRequest {
            explainer_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.entries.len(), 3);
    let summary_fb = listed.summary.unwrap();
    let rule = &summary_fb.parts[pb::ExplanationPart::Rule as usize - 1];
    assert_eq!((rule.agree, rule.disagree, rule.unclear), (1, 0, 1));
    assert_eq!(rule.agreement, Some(0.5));
    let necrosis = summary_fb
        .features
        .iter()
        .find(|f| f.feature == "necrosis")
        .unwrap();
    assert_eq!(necrosis.named, 2);
    // The CNN relies on necrosis: its tree splits on necrosis detector channels, which
    // count as the feature their concept belongs to. So concordance > 0.
    assert!(necrosis.by_tree, "{necrosis:?}");
    assert!(summary_fb.concordance.unwrap() > 0.0);
    let with_feedback = client
        .get_knowledge_summary(pb::GetKnowledgeSummaryRequest {
            explainer_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(with_feedback.feedback.as_ref().unwrap().entries, 3);
    let csv = client
        .export(pb::ExportRequest {
            explainer_id: id.clone(),
            format: pb::ExportFormat::FeedbackCsv.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let csv = String::from_utf8(csv.content).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("id,explainer_id,case_id,part,judgement,"));
    assert!(csv.contains("necrosis;margin"));

    // Accepting a candidate makes it known: it leaves the candidates of a summary that names
    // no list of its own.
    let candidate = with_feedback
        .candidates
        .first()
        .expect("the phantom cohort has candidate knowledge")
        .clone();
    let known_now = client
        .judge_candidate(pb::JudgeCandidateRequest {
            explainer_id: id.clone(),
            antecedent: candidate.antecedent.clone(),
            consequent: candidate.consequent.clone(),
            accept: true,
            author: "dr_a".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(known_now.decisions.len(), 1);
    assert!(known_now.text.contains(&candidate.consequent));
    let after = client
        .get_knowledge_summary(pb::GetKnowledgeSummaryRequest {
            explainer_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !after
            .candidates
            .iter()
            .any(|c| c.antecedent == candidate.antecedent && c.consequent == candidate.consequent)
    );
    let bad_item = client
        .judge_candidate(pb::JudgeCandidateRequest {
            explainer_id: id.clone(),
            antecedent: vec!["macroscopic_fat=lots".into()],
            consequent: "malignant=no".into(),
            accept: true,
            author: "dr_a".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_item.code(), Code::InvalidArgument);

    // A client that goes away cancels its fit: with another seed a finished fit would store
    // a second explainer, so after twice the first fit's time there must still be one.
    let mut doomed = client
        .fit_explainer(fit_request(&model_id, 6))
        .await
        .unwrap()
        .into_inner();
    assert!(doomed.message().await.unwrap().is_some());
    drop(doomed);
    tokio::time::sleep(2 * fit_time).await;
    let after = client
        .list_explainers(pb::ListExplainersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.explainers.len(), 1, "the abandoned fit was stored");

    // After a restart the explainer is still there and explains identically.
    drop(client);
    running.stop().await;
    let running = Running::start(&data, LIMIT).await;
    let mut client = running.client();
    let again = client
        .explain(pb::ExplainRequest {
            explainer_id: id.clone(),
            targets: vec![stored(&first.id)],
            include_heatmap: true,
            fast: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.explanations[0].explanation_json, e.explanation_json);
    // The clinicians' work survives the restart.
    let history = client
        .get_label_history(pb::GetLabelHistoryRequest {
            cohort: COHORT.into(),
            case_id: cohort.cases[3].id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.versions.len(), 2);
    let known = client
        .get_known_associations(pb::GetKnownAssociationsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(known.decisions.len(), 1);
    running.stop().await;
}
