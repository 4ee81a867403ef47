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
//! (0.942 with 7 leaves).

use std::path::Path;
use std::sync::OnceLock;

use explainme_budget::MemoryBudget;
use explainme_cohort::{FeatureSchema, Role, Table};
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
