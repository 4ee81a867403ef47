//! The Explainer on the demo CNN and a phantom cohort it never saw, through real ONNX
//! Runtime: a fit is reproducible byte for byte, survives a round trip through its bytes,
//! explains cases with every part filled in, and its narratives match the golden texts in
//! `tests/golden/` (rewrite them with `EXPLAINME_UPDATE_GOLDEN=1` after a deliberate
//! change, and read the diff).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_explain::{CaseInput, ExplainOptions, Explainer, Explanation, Stage};
use explainme_onnx::{Model, ModelCard};
use explainme_phantom::Phantom;

const SEED: u64 = 20261202;
const CASES: usize = 400;

struct Fixture {
    explainer: Explainer,
    bytes: Vec<u8>,
    model: Model,
    cohort: Cohort,
    stages: Vec<Stage>,
    _dir: tempfile::TempDir,
}

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/models")
}

fn load_model() -> (Model, ModelCard) {
    let model = Model::from_path(models().join("renal_cnn.onnx")).unwrap();
    let card = ModelCard::from_json(
        &std::fs::read_to_string(models().join("renal_cnn.card.json")).unwrap(),
    )
    .unwrap();
    (model, card)
}

fn params() -> explainme_explain::ExplainerParams {
    Explainer::params().seed(7).permutations(50)
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        Phantom::params()
            .cases(CASES)
            .seed(SEED)
            .write(dir.path(), || {})
            .unwrap();
        let cohort = Cohort::open(dir.path()).unwrap();
        let (model, card) = load_model();
        let mut stages = Vec::new();
        let explainer = params()
            .fit(&model, &card, &cohort, &MemoryBudget::default(), &mut |p| {
                if stages.last() != Some(&p.stage) {
                    stages.push(p.stage);
                }
                true
            })
            .unwrap();
        let bytes = explainer.to_bytes();
        Fixture {
            explainer,
            bytes,
            model,
            cohort,
            stages,
            _dir: dir,
        }
    })
}

fn case_input(f: &Fixture, id: &str, with_labels: bool) -> CaseInput {
    let case = f.cohort.cases.iter().find(|c| c.id == id).unwrap();
    let image = explainme_imaging::read_image(f.cohort.image_path(case)).unwrap();
    let lesion = f.cohort.mask_path(case, "lesion");
    let mut masks = BTreeMap::new();
    masks.insert(
        "lesion".to_owned(),
        explainme_imaging::read_mask(&lesion).unwrap(),
    );
    CaseInput {
        reference: id.to_owned(),
        in_cohort: true,
        image,
        labels: if with_labels {
            case.labels.clone()
        } else {
            BTreeMap::new()
        },
        masks,
    }
}

fn explain(f: &Fixture, id: &str, heatmap: bool) -> Explanation {
    let prepared = f
        .explainer
        .prepare(&f.model, MemoryBudget::default())
        .unwrap();
    prepared
        .explain(
            &case_input(f, id, true),
            ExplainOptions {
                heatmap,
                fast: true,
            },
        )
        .unwrap()
}

#[test]
fn a_fit_runs_every_stage_in_order_and_measures_the_cnn() {
    let f = fixture();
    assert_eq!(f.stages, Stage::ALL);
    let e = &f.explainer;
    assert_eq!(e.cases, CASES);
    assert_eq!(e.fit_cases + e.held_out_cases, CASES);
    let p = &e.performance;
    let auc = p.held_out.auc.unwrap();
    let (low, high) = p.auc_interval.unwrap();
    assert!(
        low <= auc && auc <= high && auc > 0.75,
        "AUC {auc} in [{low}, {high}]"
    );
    assert!(
        p.conformal_coverage >= 0.8,
        "coverage {}",
        p.conformal_coverage
    );
    assert!(!e.rules.malignancy.is_empty() && !e.network.arcs.is_empty());
    assert!(e.surrogate.fidelity.agreement > 0.7);
}

#[test]
fn the_same_inputs_and_seed_give_the_same_bytes_and_they_read_back() {
    let f = fixture();
    let (model, card) = load_model();
    let again = params()
        .fit(
            &model,
            &card,
            &f.cohort,
            &MemoryBudget::default(),
            &mut |_| true,
        )
        .unwrap();
    assert!(again.to_bytes() == f.bytes, "a refit differs");
    let back = Explainer::from_bytes(&f.bytes).unwrap();
    assert!(
        back == f.explainer,
        "the artefact does not read back to the same explainer"
    );
    assert!(back.to_bytes() == f.bytes);
    // A reloaded explainer explains identically.
    let id = &f.cohort.cases[3].id;
    let prepared = back.prepare(&f.model, MemoryBudget::default()).unwrap();
    let reloaded = prepared
        .explain(
            &case_input(f, id, true),
            ExplainOptions {
                heatmap: false,
                fast: true,
            },
        )
        .unwrap();
    assert_eq!(reloaded, explain(f, id, false));
    assert!(Explainer::from_bytes(b"{}").is_err());
}

#[test]
fn an_explanation_fills_every_part() {
    let f = fixture();
    let id = &f.cohort.cases[0].id;
    let e = explain(f, id, true);
    assert!(e.probability > 0.0 && e.probability < 1.0);
    assert!(!e.prediction_set.is_empty());
    let h = e.heatmap.as_ref().unwrap();
    assert_eq!(h.values.len(), 64 * 64);
    assert!(h.faithfulness.lesion_mass.is_some());
    assert!(!e.concepts.is_empty());
    assert_eq!(e.similar.len(), 5);
    assert!(
        e.similar.iter().all(|s| s.case_id != *id),
        "a case is not its own neighbour"
    );
    assert!(!e.network.evidence.is_empty());
    assert!((0.0..=1.0).contains(&e.network.p_malignant));
    assert!(e.narrative.contains("The CNN calls this lesion"));
}

#[test]
fn an_unknown_label_state_is_refused_by_name() {
    let f = fixture();
    let prepared = f
        .explainer
        .prepare(&f.model, MemoryBudget::default())
        .unwrap();
    let mut case = case_input(f, &f.cohort.cases[0].id, true);
    case.labels.insert("macroscopic_fat".into(), "lots".into());
    let err = prepared
        .explain(
            &case,
            ExplainOptions {
                heatmap: false,
                fast: true,
            },
        )
        .unwrap_err();
    assert!(err.is_caller_error());
    assert!(err.to_string().contains("macroscopic_fat=lots"), "{err}");
    case.labels.remove("macroscopic_fat");
    case.labels.insert("colour".into(), "blue".into());
    assert!(
        prepared
            .explain(
                &case,
                ExplainOptions {
                    heatmap: false,
                    fast: true
                }
            )
            .unwrap_err()
            .to_string()
            .contains("colour")
    );
}

#[test]
fn an_image_only_case_is_explained_without_findings() {
    let f = fixture();
    let prepared = f
        .explainer
        .prepare(&f.model, MemoryBudget::default())
        .unwrap();
    let case = case_input(f, &f.cohort.cases[1].id, false);
    let e = prepared
        .explain(
            &case,
            ExplainOptions {
                heatmap: false,
                fast: true,
            },
        )
        .unwrap();
    assert!(e.network.evidence.is_empty());
    assert!(e.narrative.contains("No clinician findings are known"));
}

#[test]
fn narratives_match_the_golden_texts() {
    let f = fixture();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let known = explainme_explain::known::parse_known(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/knowledge/renal_known.txt"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut texts = vec![(
        "summary.txt".to_owned(),
        f.explainer.summary(20, &known).narrative,
    )];
    for case in f.cohort.cases.iter().take(3) {
        texts.push((
            format!("{}.txt", case.id),
            explain(f, &case.id, false).narrative,
        ));
    }
    for (name, text) in texts {
        let path = golden.join(&name);
        if std::env::var_os("EXPLAINME_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text, expected, "{name} differs from its golden text");
    }
}

/// A Score-CAM map with no positive saliency (every channel lowers the verdict's
/// probability against the blurred image) is called empty, with the blurred image's score,
/// instead of being graded against a random map; a map with saliency is graded.
#[test]
fn an_empty_heatmap_is_called_empty() {
    let f = fixture();
    let mut explainer = f.explainer.clone();
    explainer.params.saliency = "scorecam".into();
    let prepared = explainer
        .prepare(&f.model, MemoryBudget::default())
        .unwrap();
    let options = ExplainOptions {
        heatmap: true,
        fast: true,
    };
    let (mut empty, mut graded) = (0, 0);
    for case in f.cohort.cases.iter().take(40) {
        let e = prepared
            .explain(&case_input(f, &case.id, true), options)
            .unwrap();
        let h = e.heatmap.as_ref().unwrap();
        if h.values.iter().all(|&v| v <= 0.0) {
            empty += 1;
            let blurred = h.faithfulness.blurred_score.unwrap();
            let said = format!(
                "Its scorecam heatmap (fast) is empty: no part of the image raises the \
                 probability of its verdict above the blurred image's {blurred:.2}."
            );
            assert!(e.narrative.contains(&said), "{}", e.narrative);
            assert!(!e.narrative.contains("random map"), "{}", e.narrative);
        } else {
            graded += 1;
            assert!(e.narrative.contains("random map"), "{}", e.narrative);
        }
    }
    eprintln!("{empty} empty and {graded} graded Score-CAM maps of 40 cases");
    assert!(empty > 0 && graded > 0, "{empty} empty, {graded} graded");
}

#[test]
fn a_cancelled_fit_stops_at_the_end_of_its_stage() {
    let f = fixture();
    let (model, card) = load_model();
    let mut seen = Vec::new();
    let err = params()
        .fit(
            &model,
            &card,
            &f.cohort,
            &MemoryBudget::default(),
            &mut |p| {
                seen.push(p.stage);
                p.stage != Stage::Inference
            },
        )
        .unwrap_err();
    assert!(matches!(err, explainme_explain::Error::Cancelled), "{err}");
    assert!(
        seen.iter()
            .all(|s| matches!(s, Stage::Inference | Stage::Concepts))
    );
}
