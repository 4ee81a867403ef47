//! The surrogate of the committed demo CNN on a phantom cohort it never saw.
//!
//! 1,500 phantoms (seed 20261201; the CNN was trained on seed 1) are rendered in memory and
//! scored once through explainme-onnx with `data/models/renal_cnn.onnx` and its card, which
//! also hands back the channel means of the card's last feature layer.
//!
//! The bar is held-out fidelity ≥ 0.93 with at most 16 leaves. From the clinician
//! labels alone it is **not** reached, and the first test says so instead of lowering the
//! bar: the demo CNN calls 36% of these cases benign where pathology says 20% are, and 44%
//! of its probabilities lie between 0.2 and 0.8, so its verdict at 0.5 follows image detail
//! that no clinician label records. The labels' noise is a small part of it: the same fit on
//! the noise-free findings reaches 0.789. Measured here (seed 3 split, 451 held out, depth
//! ≤ 5, ≤ 16 leaves, ≥ 10 cases a leaf): 0.734 from the labels (11 leaves), 0.789 from the
//! noise-free findings (12 leaves), against 0.643 for always giving the CNN's majority
//! verdict. The second test adds what the concept scores of explainme-concepts will be made
//! from — the CNN's own channel-pooled activations of its last feature layer — as extra
//! numeric columns, the route the feature matrix is designed for, and there the bar is met
//! (0.942 with 7 leaves). The third test adds what the issue asks for, the concept scores
//! (explainme-concepts on the two deepest feature layers, cross-fitted), in both of the
//! forms that crate gives. The probes' scores (one decision value per clinician concept)
//! lift held-out fidelity from 0.734 to 0.807 (16 leaves; AUC against the CNN's
//! probability 0.805 → 0.884) but not to 0.93: a probe keeps of a layer only the direction
//! of one clinician concept, and the CNN's verdict follows channels whose direction no
//! concept is. (Probing all four feature layers gave 0.851 with 15 leaves; the full probes'
//! in-sample scores instead of the cross-fitted ones 0.845 with 13: the shortfall is
//! neither.) The detector channels' responses beside them — every channel that Network
//! Dissection finds overlapping a concept's masks and whose response tells that concept's
//! labels with AUC ≥ 0.7, named by that concept (68 of them here) — reach the bar:
//! **0.949 with 7 leaves** (AUC 0.966), with rules such as "CNN's necrosis detector
//! (conv4_1_1 channel 56, IoU 0.11) < 0.1178 AND CNN's macroscopic fat detector (conv4_1_1
//! channel 34, IoU 0.05) ≥ 0.174 → benign (CNN says so in 99% of 323 cases)". The two
//! channels the second test's tree splits on first, 56 and 57, are a necrosis detector and
//! a channel that detects no concept; without the undetecting channels the tree finds
//! fat detectors instead.

use std::path::Path;
use std::sync::OnceLock;

use explainme_budget::MemoryBudget;
use explainme_cohort::{Cohort, FeatureSchema, Role, Table};
use explainme_concepts::{Concepts, cohort_concepts};
use explainme_onnx::{Model, ModelCard, Session, Tensor};
use explainme_phantom::{Findings, Phantom, PhantomCase};
use explainme_tree::{Column, FeatureMatrix, FittedSurrogate, Surrogate, SurrogateData};

const UNSEEN_SEED: u64 = 20261201;
const CASES: usize = 1500;

/// The cohort, the CNN's probabilities and the last feature layer's channel means per case.
struct Scored {
    cases: Vec<PhantomCase>,
    probabilities: Vec<f64>,
    channel_means: Vec<Vec<f64>>,
}

fn scored() -> &'static Scored {
    static SCORED: OnceLock<Scored> = OnceLock::new();
    SCORED.get_or_init(|| {
        let cases = Phantom::params()
            .cases(CASES)
            .seed(UNSEEN_SEED)
            .generate()
            .unwrap();
        let (probabilities, channel_means) = score(&cases);
        Scored {
            cases,
            probabilities,
            channel_means,
        }
    })
}

fn demo_cnn() -> (Model, ModelCard) {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/models");
    let card = std::fs::read_to_string(models.join("renal_cnn.card.json")).unwrap();
    let card = ModelCard::from_json(&card).unwrap();
    let model = Model::from_path(models.join("renal_cnn.onnx")).unwrap();
    (model, card)
}

/// The CNN's malignant probability and the last feature layer's channel means, per case.
fn score(cases: &[PhantomCase]) -> (Vec<f64>, Vec<Vec<f64>>) {
    explainme_onnx::init_runtime().unwrap();
    let (model, card) = demo_cnn();
    let layer = card.feature_layers.last().unwrap().clone();
    let session = Session::new(&model, &card, &[layer]).unwrap();
    let (mut probabilities, mut channel_means) = (Vec::new(), Vec::new());
    for chunk in cases.chunks(64) {
        let images: Vec<Tensor> = chunk
            .iter()
            .map(|case| Tensor::new(card.input_size.clone(), case.rendering.image.clone()).unwrap())
            .collect();
        let prediction = session.predict(&card.preprocess(&images).unwrap()).unwrap();
        probabilities.extend(prediction.probabilities.iter().map(|&p| f64::from(p)));
        for case in prediction.activations[0].channel_stats().unwrap() {
            channel_means.push(case.iter().map(|c| f64::from(c.mean)).collect());
        }
    }
    (probabilities, channel_means)
}

/// The clinician-feature table of `findings`, one row per case, as `cases.csv` holds it.
fn table(schema: &FeatureSchema, findings: &[&Findings]) -> Table {
    let columns: Vec<String> = schema
        .features
        .iter()
        .filter(|f| f.role == Role::Feature)
        .map(|f| f.name.clone())
        .collect();
    let rows = findings
        .iter()
        .map(|f| {
            let cells = f.cells();
            columns.iter().map(|c| cells.get(c).cloned()).collect()
        })
        .collect();
    Table::new(columns, rows).unwrap()
}

fn clinician_features(findings: &[&Findings]) -> FeatureMatrix {
    let schema = FeatureSchema::renal_demo();
    FeatureMatrix::from_table(&schema, &table(&schema, findings), MemoryBudget::default()).unwrap()
}

fn fit(features: FeatureMatrix) -> FittedSurrogate {
    let data = scored();
    Surrogate::params()
        .max_depth(5)
        .max_leaves(16)
        .min_leaf(10)
        .seed(3)
        .fit(&SurrogateData {
            features,
            probabilities: data.probabilities.clone(),
            truth: Some(data.cases.iter().map(|c| c.truth.malignant).collect()),
        })
        .unwrap()
}

/// The share of held-out cases given the CNN's more common verdict: what a tree with no
/// split would score.
fn majority_baseline(fitted: &FittedSurrogate) -> f64 {
    let data = scored();
    let positive = fitted
        .held_out
        .iter()
        .filter(|&&r| data.probabilities[r] >= 0.5)
        .count() as f64;
    let n = fitted.held_out.len() as f64;
    positive.max(n - positive) / n
}

#[test]
fn from_clinician_labels_the_surrogate_beats_the_baseline_but_not_the_bar() {
    let data = scored();
    let labelled: Vec<&Findings> = data.cases.iter().map(|c| &c.labels).collect();
    let clinician = fit(clinician_features(&labelled));
    eprintln!("clinician labels:\n{}", clinician.text());
    let noise_free: Vec<&Findings> = data.cases.iter().map(|c| &c.truth.findings).collect();
    let ideal = fit(clinician_features(&noise_free));
    eprintln!("noise-free findings:\n{}", ideal.text());

    assert_eq!(clinician.held_out_cases, 451);
    assert!(
        clinician.cnn.leaves <= 16,
        "{} leaves",
        clinician.cnn.leaves
    );
    let baseline = majority_baseline(&clinician);
    let fidelity = clinician.fidelity.agreement;
    let benign = |v: Vec<bool>| v.iter().filter(|&&m| !m).count() as f64 / v.len() as f64;
    eprintln!(
        "majority baseline {baseline:.3}, fidelity {fidelity:.3}; benign: CNN {:.3}, truth {:.3}",
        benign(data.probabilities.iter().map(|&p| p >= 0.5).collect()),
        benign(data.cases.iter().map(|c| c.truth.malignant).collect()),
    );
    assert!(
        fidelity >= baseline + 0.05,
        "fidelity {fidelity:.3} is within 0.05 of the majority baseline {baseline:.3}"
    );
    // Where the trees part: the truth tree is right more often than the CNN's tree.
    let truth = clinician.truth.as_ref().unwrap();
    assert!(truth.truth_tree_accuracy > truth.cnn_tree_accuracy);
    assert!(truth.trees_agree < 0.9, "{}", truth.trees_agree);
}

#[test]
fn with_the_cnns_own_channels_as_columns_the_surrogate_reaches_the_bar() {
    let data = scored();
    let labelled: Vec<&Findings> = data.cases.iter().map(|c| &c.labels).collect();
    let mut features = clinician_features(&labelled);
    for channel in 0..data.channel_means[0].len() {
        let values: Vec<f64> = data.channel_means.iter().map(|c| c[channel]).collect();
        let name = format!("conv4_channel_{channel}");
        let label = format!("conv4 channel {channel} mean");
        features = features
            .with_column(Column::number(&name, &label, None), &values)
            .unwrap();
    }
    let fitted = fit(features);
    eprintln!("{}", fitted.text());
    assert!(fitted.cnn.leaves <= 16, "{} leaves", fitted.cnn.leaves);
    let fidelity = fitted.fidelity.agreement;
    assert!(
        fidelity >= 0.93,
        "held-out fidelity {fidelity:.3} is below 0.93"
    );
    assert!(fitted.fidelity.auc.unwrap() >= 0.93);
}

/// What the issue asks for: clinician labels plus the concept scores of explainme-concepts:
/// one column per concept (its probe's decision value on its best layer), and one per
/// detector channel (its response, [`explainme_concepts::UnitColumn`]). The probes run on
/// the same cohort written to disk (probes only: no TCAV, one permutation since no p-value
/// is read). Each case's score comes from a cross-validation fold's probe that did not see
/// its label (`ConceptLayer::cross_fitted_scores`); the probes never see the CNN's verdict,
/// so they tell the surrogate nothing of its held-out target. The in-sample scores (the
/// full probe's) are fitted too, for the log only.
#[test]
fn concept_scores_and_detector_channels_as_columns_reach_the_bar() {
    let data = scored();
    let dir = tempfile::tempdir().unwrap();
    Phantom::params()
        .cases(CASES)
        .seed(UNSEEN_SEED)
        .write(dir.path(), || {})
        .unwrap();
    let cohort = Cohort::open(dir.path()).unwrap();
    let (model, card) = demo_cnn();
    // The two deepest layers: the shallow ones' full-resolution maps make Network
    // Dissection (which a probe-only run cannot switch off) the slowest part of the test.
    let deepest = card.feature_layers[card.feature_layers.len() - 2..].to_vec();
    let start = std::time::Instant::now();
    let report = Concepts::params()
        .layers(deepest)
        .tcav_layers(Some(Vec::new()))
        .permutations(1)
        .seed(3)
        .fit(
            &model,
            &card,
            &cohort,
            &cohort_concepts(&cohort).unwrap(),
            &MemoryBudget::default(),
            &mut |_| {},
        )
        .unwrap();
    eprintln!("concept probes: {:.1} s", start.elapsed().as_secs_f64());
    let ids: Vec<&str> = data.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(report.cases, ids);

    let labelled: Vec<&Findings> = data.cases.iter().map(|c| &c.labels).collect();
    let columns = report.score_columns();
    let units = report.unit_columns();
    // `in_sample`: the full probes' scores instead of the cross-fitted ones (for the log).
    let with_columns = |in_sample: bool, with_units: bool| {
        let mut features = clinician_features(&labelled);
        for column in &columns {
            let values = if in_sample {
                &report
                    .concept(&column.concept)
                    .unwrap()
                    .layer(&column.layer)
                    .unwrap()
                    .scores
            } else {
                &column.values
            };
            features = features
                .with_column(Column::number(&column.name, &column.label, None), values)
                .unwrap();
        }
        for unit in units.iter().filter(|_| with_units) {
            features = features
                .with_column(Column::number(&unit.name, &unit.label, None), &unit.values)
                .unwrap();
        }
        fit(features)
    };
    let alone = fit(clinician_features(&labelled));
    for column in &columns {
        eprintln!(
            "{}: {} (held-out AUC {:.3})",
            column.concept, column.layer, column.held_out_auc
        );
    }
    let probes = with_columns(false, false);
    let in_sample = with_columns(true, false);
    let fitted = with_columns(false, true);
    eprintln!("{}", probes.text());
    eprintln!("{}", fitted.text());
    let figures = |f: &FittedSurrogate| {
        format!(
            "fidelity {:.3}, AUC {:.3}, {} leaves",
            f.fidelity.agreement,
            f.fidelity.auc.unwrap_or(f64::NAN),
            f.cnn.leaves
        )
    };
    eprintln!(
        "{} concept columns, {} detector channels; labels alone: {}; with cross-fitted \
         scores: {}; with in-sample scores: {}; with scores and detector channels: {}",
        columns.len(),
        units.len(),
        figures(&alone),
        figures(&probes),
        figures(&in_sample),
        figures(&fitted)
    );

    let fat = columns
        .iter()
        .find(|c| c.concept == "macroscopic_fat=present")
        .unwrap();
    assert_eq!(fat.label, "CNN's macroscopic fat score");
    assert!(columns.iter().any(|c| c.label == "CNN's size 2-4 cm score"));
    assert_eq!(fat.values.len(), CASES);
    assert!(
        units.iter().any(|u| u
            .label
            .starts_with("CNN's macroscopic fat detector (conv4_1_1 channel ")),
        "no fat detector on the last layer"
    );
    // Probe scores alone carry what the labels miss, but not up to the bar (module docs).
    let (with_scores, before) = (probes.fidelity.agreement, alone.fidelity.agreement);
    assert!(
        with_scores >= before + 0.05,
        "held-out fidelity {with_scores:.3} with concept scores, {before:.3} from the labels alone"
    );
    assert!(probes.fidelity.auc.unwrap() > alone.fidelity.auc.unwrap());
    // The bar, with the detector channels beside them.
    assert!(fitted.cnn.leaves <= 16, "{} leaves", fitted.cnn.leaves);
    let fidelity = fitted.fidelity.agreement;
    assert!(
        fidelity >= 0.93,
        "held-out fidelity {fidelity:.3} with concept scores and detector channels"
    );
    // Its rules read the CNN's inner readings by the concepts they detect.
    assert!(
        fitted
            .cnn
            .rules
            .iter()
            .any(|r| r.text.contains(" detector (")),
        "no rule reads a detector channel"
    );
}
