//! [`Explainer::fit`]: one pass over a cohort that fits every engine, and the artefact it
//! leaves (plain serialisable data, stored content-addressed).

use explainme_budget::MemoryBudget;
use explainme_cohort::{CNN_CORRECT, CNN_VERDICT, Cohort, FeatureSchema};
use explainme_concepts::{ConceptReport, Concepts, cohort_concepts};
use explainme_onnx::{Model, ModelCard};
use explainme_rng::Random;
use explainme_tree::{Column, FeatureMatrix, FittedSurrogate, Surrogate, SurrogateData};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calibration::{Conformal, Platt};
use crate::evaluation::{self, CalibrationBin, Evaluation, THRESHOLD};
use crate::findings::{self, TRUTH};
use crate::network::{self, LearnedNetwork, NetworkParams};
use crate::rules::{self, ClassRule, RuleParams};
use crate::scoring::{self, Scored};
use crate::similar::SimilarityIndex;
use crate::{Error, Result};

/// The artefact format this build writes and reads.
pub const ARTEFACT_FORMAT: u32 = 1;

/// Stages of a fit, in order (the gRPC FitStage enum mirrors them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Inference,
    Concepts,
    SurrogateTree,
    Rules,
    Bayes,
    Evaluation,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Inference,
        Stage::Concepts,
        Stage::SurrogateTree,
        Stage::Rules,
        Stage::Bayes,
        Stage::Evaluation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Inference => "inference",
            Stage::Concepts => "concepts",
            Stage::SurrogateTree => "surrogate tree",
            Stage::Rules => "rules",
            Stage::Bayes => "Bayesian network",
            Stage::Evaluation => "evaluation",
        }
    }
}

/// Where a fit is: `done` of `total` units of `stage` (`total` 0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub stage: Stage,
    pub done: u64,
    pub total: u64,
}

/// Hyperparameters of a fit. Start from [`Explainer::params`] and change what you need;
/// [`ExplainerParams::check`] runs before any work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainerParams {
    /// Seed of every random draw (held-out split, probes, bootstrap, hill-climb restarts).
    pub seed: u64,
    /// Share of the cohort held out to measure the CNN, calibrate the conformal sets and
    /// measure the surrogate's fidelity (default 0.25).
    pub held_out: f64,
    /// Layers probed for concepts; empty = the card's last two feature layers.
    pub concept_layers: Vec<String>,
    /// Layers TCAV runs on; `None` = the last probed layer.
    pub tcav_layers: Option<Vec<String>>,
    /// Label permutations of each probe's held-out test (default 200).
    pub permutations: usize,
    /// Random directions TCAV is compared with (default 20).
    pub random_directions: usize,
    pub tree_max_depth: usize,
    pub tree_max_leaves: usize,
    pub tree_min_leaf: usize,
    pub rules: RuleParams,
    pub network: NetworkParams,
    /// Saliency method of the heatmaps (a name of `explainme_saliency::METHODS`).
    pub saliency: String,
    /// Occlusion's fill (a name of `explainme_saliency::Fill::ALL`, default `median`).
    /// Absent from explainers stored before it existed, which were fitted with the median.
    #[serde(default = "median_fill")]
    pub saliency_fill: String,
    /// Similar cohort cases shown per explanation (default 5).
    pub similar_cases: usize,
    /// Coverage of the conformal prediction sets (default 0.9).
    pub coverage: f64,
    /// Bootstrap resamples of the AUC interval (default 1,000).
    pub bootstrap: usize,
    /// Cases per inference batch (default 64).
    pub batch: usize,
}

fn median_fill() -> String {
    "median".to_owned()
}

impl Default for ExplainerParams {
    fn default() -> Self {
        ExplainerParams {
            seed: 0,
            held_out: 0.25,
            concept_layers: Vec::new(),
            tcav_layers: None,
            permutations: 200,
            random_directions: 20,
            tree_max_depth: 4,
            tree_max_leaves: 16,
            tree_min_leaf: 10,
            rules: RuleParams {
                min_support: 0.02,
                min_confidence: 0.5,
                max_antecedent: 3,
                alpha: 0.05,
            },
            network: NetworkParams {
                score: "bic".to_owned(),
                max_parents: 4,
                restarts: 5,
            },
            saliency: "occlusion".to_owned(),
            saliency_fill: median_fill(),
            similar_cases: 5,
            coverage: 0.9,
            bootstrap: 1000,
            batch: 64,
        }
    }
}

impl ExplainerParams {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn held_out(mut self, share: f64) -> Self {
        self.held_out = share;
        self
    }
    pub fn concept_layers(mut self, layers: Vec<String>) -> Self {
        self.concept_layers = layers;
        self
    }
    pub fn permutations(mut self, permutations: usize) -> Self {
        self.permutations = permutations;
        self
    }
    pub fn saliency(mut self, method: &str) -> Self {
        self.saliency = method.to_owned();
        self
    }
    pub fn saliency_fill(mut self, fill: &str) -> Self {
        self.saliency_fill = fill.to_owned();
        self
    }
    pub fn rules_min_support(mut self, support: f64) -> Self {
        self.rules.min_support = support;
        self
    }

    /// Refuses values outside their ranges, naming the parameter.
    pub fn check(&self) -> Result<()> {
        let bad = |name, problem: String| Err(Error::InvalidParameter { name, problem });
        if !(self.held_out > 0.0 && self.held_out < 1.0) {
            return bad("held_out", format!("{} is not in (0, 1)", self.held_out));
        }
        if !(1..=100_000).contains(&self.permutations) {
            return bad(
                "permutations",
                format!("{} is not in 1..=100000", self.permutations),
            );
        }
        if !(2..=10_000).contains(&self.random_directions) {
            return bad(
                "random_directions",
                format!("{} is not in 2..=10000", self.random_directions),
            );
        }
        if !(1..=explainme_tree::MAX_DEPTH).contains(&self.tree_max_depth) {
            return bad(
                "tree_max_depth",
                format!(
                    "{} is not in 1..={}",
                    self.tree_max_depth,
                    explainme_tree::MAX_DEPTH
                ),
            );
        }
        if self.tree_max_leaves < 2 || self.tree_min_leaf == 0 {
            return bad(
                "tree_max_leaves",
                "a tree needs at least 2 leaves of at least 1 case".to_owned(),
            );
        }
        let r = &self.rules;
        if !(r.min_support > 0.0 && r.min_support <= 1.0) {
            return bad(
                "rules_min_support",
                format!("{} is not in (0, 1]", r.min_support),
            );
        }
        if !(0.0..=1.0).contains(&r.min_confidence) {
            return bad(
                "rules_min_confidence",
                format!("{} is not in [0, 1]", r.min_confidence),
            );
        }
        if !(1..=6).contains(&r.max_antecedent) {
            return bad(
                "rules_max_antecedent",
                format!("{} is not in 1..=6", r.max_antecedent),
            );
        }
        if !(r.alpha > 0.0 && r.alpha <= 1.0) {
            return bad("rules_alpha", format!("{} is not in (0, 1]", r.alpha));
        }
        if !["bic", "bdeu"].contains(&self.network.score.as_str()) {
            return bad(
                "bayes_score",
                format!("`{}` is not bic or bdeu", self.network.score),
            );
        }
        if !(1..=8).contains(&self.network.max_parents) {
            return bad(
                "bayes_max_parents",
                format!("{} is not in 1..=8", self.network.max_parents),
            );
        }
        if explainme_saliency::find_method(&self.saliency).is_err() {
            let names: Vec<&str> = explainme_saliency::METHODS.iter().map(|m| m.name).collect();
            return bad(
                "saliency",
                format!("`{}` is not one of {}", self.saliency, names.join(", ")),
            );
        }
        // `Fill::from_name` names the known fills itself.
        if let Err(explainme_saliency::Error::InvalidParameter { problem, .. }) =
            explainme_saliency::Fill::from_name(&self.saliency_fill)
        {
            return bad("saliency_fill", problem);
        }
        if !(1..=100).contains(&self.similar_cases) {
            return bad(
                "similar_cases",
                format!("{} is not in 1..=100", self.similar_cases),
            );
        }
        if !(self.coverage > 0.5 && self.coverage < 1.0) {
            return bad("coverage", format!("{} is not in (0.5, 1)", self.coverage));
        }
        if !(1..=4096).contains(&self.batch) {
            return bad("batch", format!("{} is not in 1..=4096", self.batch));
        }
        Ok(())
    }

    /// The probed layers: the given ones, else the card's last two feature layers.
    pub fn layers(&self, card: &ModelCard) -> Result<Vec<String>> {
        let layers = if self.concept_layers.is_empty() {
            let all = &card.feature_layers;
            all[all.len().saturating_sub(2)..].to_vec()
        } else {
            self.concept_layers.clone()
        };
        if layers.is_empty() {
            return Err(Error::InvalidParameter {
                name: "concept_layers",
                problem: "none given and the card names no feature layers".to_owned(),
            });
        }
        Ok(layers)
    }
}

/// How the CNN did, on the held-out cases (the honest figure) and on the whole cohort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    pub held_out: Evaluation,
    /// Percentile bootstrap 95% interval of the held-out AUC.
    pub auc_interval: Option<(f64, f64)>,
    pub cohort: Evaluation,
    /// Platt scaling fitted on the fitting cases.
    pub platt: Platt,
    pub conformal: Conformal,
    /// Reliability of the raw probability on the held-out cases (10 bins).
    pub calibration: Vec<CalibrationBin>,
    /// Brier score of the raw and of the calibrated probability, held-out cases.
    pub brier_raw: f64,
    pub brier_calibrated: f64,
    /// Share of held-out cases whose conformal set holds the truth.
    pub conformal_coverage: f64,
    /// Share of held-out cases whose set holds one class only.
    pub conformal_singletons: f64,
}

/// A held-out case as scored (kept for ROC and calibration plots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutCase {
    pub case_id: String,
    pub probability: f32,
    pub malignant: bool,
}

/// Significant class rules per question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSets {
    /// Consequent `malignant=yes|no`, antecedents clinician findings.
    pub malignancy: Vec<ClassRule>,
    /// Consequent the CNN's verdict, antecedents clinician findings.
    pub verdict: Vec<ClassRule>,
    /// Consequent `cnn_correct=no`, antecedents findings and the truth.
    pub errors: Vec<ClassRule>,
}

impl RuleSets {
    /// Every rule, question by question.
    pub fn all(&self) -> impl Iterator<Item = &ClassRule> {
        self.malignancy
            .iter()
            .chain(&self.verdict)
            .chain(&self.errors)
    }
}

/// A fitted Explainer: everything needed to explain a case of this model and to summarise
/// the cohort, as plain data. Same inputs and seed give byte-identical [`Explainer::to_bytes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explainer {
    pub format: u32,
    pub params: ExplainerParams,
    /// SHA-256 of the ONNX model's bytes: [`Explainer::prepare`] refuses another model.
    pub model_sha256: String,
    pub card: ModelCard,
    pub schema: FeatureSchema,
    /// The probed layers; the last is the similarity layer.
    pub layers: Vec<String>,
    pub cases: usize,
    pub fit_cases: usize,
    pub held_out_cases: usize,
    pub performance: Performance,
    pub held_out: Vec<HeldOutCase>,
    /// Concept probes, dissection and TCAV (per-case score vectors dropped).
    pub concepts: ConceptReport,
    pub surrogate: FittedSurrogate,
    pub rules: RuleSets,
    pub network: LearnedNetwork,
    pub index: SimilarityIndex,
}

/// `features` with the concept analysis's columns beside them: each probed concept's
/// cross-fitted score ([`explainme_concepts::ScoreColumn`]) and each detector channel's
/// response ([`explainme_concepts::UnitColumn`]). What the Explainer's surrogate and
/// `explainme surrogate --concepts` fit over; [`Prepared::explain`](crate::Prepared::explain)
/// reads a new case's values of the same columns.
pub fn with_concept_columns(
    mut features: FeatureMatrix,
    concepts: &ConceptReport,
) -> Result<FeatureMatrix> {
    for column in concepts.score_columns() {
        let named = Column::number(&column.name, &column.label, None);
        features = features.with_column(named, &column.values)?;
    }
    for column in concepts.unit_columns() {
        let named = Column::number(&column.name, &column.label, None);
        features = features.with_column(named, &column.values)?;
    }
    Ok(features)
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A stratified split by class: `share` of each class held out, drawn from `seed`.
fn held_out_split(truth: &[bool], share: f64, seed: u64) -> Vec<bool> {
    let mut held = vec![false; truth.len()];
    for (stream, class) in [(1u64, true), (2, false)] {
        let mut members: Vec<usize> = (0..truth.len()).filter(|&i| truth[i] == class).collect();
        Random::new(seed, stream).shuffle(&mut members);
        let take = (members.len() as f64 * share).round() as usize;
        for &i in members.iter().take(take) {
            held[i] = true;
        }
    }
    held
}

impl Explainer {
    /// The default parameters.
    pub fn params() -> ExplainerParams {
        ExplainerParams::default()
    }

    /// The artefact: compact JSON, deterministic for the same fit.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an artefact back, refusing another format version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Explainer> {
        let explainer: Explainer =
            serde_json::from_slice(bytes).map_err(|e| Error::Artefact(e.to_string()))?;
        if explainer.format != ARTEFACT_FORMAT {
            return Err(Error::Artefact(format!(
                "format {} (this build reads {ARTEFACT_FORMAT})",
                explainer.format
            )));
        }
        explainer.network()?;
        Ok(explainer)
    }

    /// The Bayesian network, parsed from its stored BIF.
    pub fn network(&self) -> Result<explainme_bayes::BayesNet> {
        Ok(explainme_bayes::read_bif(&self.network.bif)?)
    }

    /// The verdict's class name for a probability.
    pub fn verdict_name(&self, probability: f32) -> &str {
        if probability >= THRESHOLD {
            &self.card.positive_class
        } else {
            self.card.negative_class()
        }
    }
}

impl ExplainerParams {
    /// Fits every engine on `cohort` (see the crate docs for the order); `progress` hears
    /// of every step and returns `false` to cancel, which takes effect at the end of the
    /// running stage ([`Error::Cancelled`]).
    pub fn fit(
        &self,
        model: &Model,
        card: &ModelCard,
        cohort: &Cohort,
        budget: &MemoryBudget,
        progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<Explainer> {
        self.check()?;
        let layers = self.layers(card)?;
        for layer in &layers {
            if model.tensor(layer).is_none() {
                return Err(Error::InvalidParameter {
                    name: "concept_layers",
                    problem: format!("the model has no tensor `{layer}`"),
                });
            }
        }
        let n = cohort.cases.len();
        if n < 20 {
            return Err(Error::InvalidInput(format!(
                "the cohort has {n} cases; an explainer needs at least 20 (with both classes)"
            )));
        }
        let model_sha256 = sha256_hex(&model.to_bytes());
        let similarity_layer = layers[layers.len() - 1].clone();

        let cancelled = std::cell::Cell::new(false);
        let mut stage = |stage: Stage, done: u64, total: u64| {
            if !progress(Progress { stage, done, total }) {
                cancelled.set(true);
            }
        };
        // Checked between stages: the engines themselves run to the end of theirs.
        macro_rules! go_on {
            () => {
                if cancelled.get() {
                    return Err(Error::Cancelled);
                }
            };
        }
        stage(Stage::Inference, 0, n as u64);
        let scored = scoring::score_cohort(
            model,
            card,
            cohort,
            std::slice::from_ref(&similarity_layer),
            self.batch,
            budget,
            &mut |done, total| stage(Stage::Inference, done, total),
        )?;
        let Scored {
            probabilities,
            malignant,
            subtypes,
            activations,
        } = scored;
        if malignant.iter().all(|&m| m) || malignant.iter().all(|&m| !m) {
            return Err(Error::InvalidInput(
                "the cohort holds one class only; an explainer needs malignant and benign cases"
                    .to_owned(),
            ));
        }

        go_on!();
        stage(Stage::Concepts, 0, 0);
        let concept_labels = cohort_concepts(cohort)?;
        let tcav_layers = self
            .tcav_layers
            .clone()
            .unwrap_or_else(|| vec![similarity_layer.clone()]);
        let concepts = Concepts::params()
            .layers(layers.clone())
            .tcav_layers(Some(tcav_layers))
            .permutations(self.permutations)
            .random_directions(self.random_directions)
            .seed(self.seed)
            .batch(self.batch)
            .fit(model, card, cohort, &concept_labels, budget, &mut |p| {
                stage(Stage::Concepts, p.done, p.total)
            })?;
        let table = cohort.table()?;
        let features = with_concept_columns(
            FeatureMatrix::from_table(&cohort.schema, &table, *budget)?,
            &concepts,
        )?;
        let concepts = concepts.without_case_values();

        go_on!();
        stage(Stage::SurrogateTree, 0, 1);
        let negative = card.negative_class();
        let mut surrogate = Surrogate::params()
            .max_depth(self.tree_max_depth)
            .max_leaves(self.tree_max_leaves)
            .min_leaf(self.tree_min_leaf)
            .holdout(self.held_out)
            .seed(self.seed)
            .threshold(f64::from(THRESHOLD))
            .classes(negative, &card.positive_class)
            .budget(*budget)
            .fit(&SurrogateData {
                features,
                probabilities: probabilities.iter().map(|&p| f64::from(p)).collect(),
                truth: Some(malignant.clone()),
            })?;
        // Not part of the artefact (the tree crate does not serialise it): cleared so that
        // an explainer read back from its bytes equals the one fitted.
        surrogate.held_out = Vec::new();
        stage(Stage::SurrogateTree, 1, 1);

        go_on!();
        stage(Stage::Rules, 0, 3);
        let findings = findings::findings_table(&cohort.schema, &table, TRUTH, &probabilities)?;
        let features = findings::feature_names(&cohort.schema);
        let with_truth = [features.clone(), vec![TRUTH.to_owned()]].concat();
        let rules = RuleSets {
            malignancy: rules::class_rules(
                &findings,
                &features,
                &[(TRUTH, "yes"), (TRUTH, "no")],
                &self.rules,
            )?,
            verdict: rules::class_rules(
                &findings,
                &features,
                &[(CNN_VERDICT, "yes"), (CNN_VERDICT, "no")],
                &self.rules,
            )?,
            errors: rules::class_rules(
                &findings,
                &with_truth,
                &[(CNN_CORRECT, "no")],
                &RuleParams {
                    min_confidence: 0.2,
                    ..self.rules.clone()
                },
            )?,
        };
        stage(Stage::Rules, 3, 3);

        go_on!();
        stage(Stage::Bayes, 0, 1);
        let tiers = vec![
            vec![TRUTH.to_owned()],
            features.clone(),
            vec![CNN_VERDICT.to_owned()],
        ];
        let (_, network) = network::learn(
            &findings,
            &tiers,
            &[TRUTH, CNN_VERDICT],
            &self.network,
            self.seed,
            "explainme",
        )?;
        stage(Stage::Bayes, 1, 1);

        go_on!();
        stage(Stage::Evaluation, 0, 1);
        let held = held_out_split(&malignant, self.held_out, self.seed);
        let part = |keep: bool| -> (Vec<f32>, Vec<bool>, Vec<Option<String>>) {
            let rows = (0..n).filter(|&i| held[i] == keep);
            let mut out = (Vec::new(), Vec::new(), Vec::new());
            for i in rows {
                out.0.push(probabilities[i]);
                out.1.push(malignant[i]);
                out.2.push(subtypes[i].clone());
            }
            out
        };
        let (fit_p, fit_y, _) = part(false);
        let (held_p, held_y, held_s) = part(true);
        let as_f64 = |ps: &[f32]| ps.iter().map(|&p| f64::from(p)).collect::<Vec<_>>();
        let platt = Platt::fit(&as_f64(&fit_p), &fit_y);
        let held_raw = as_f64(&held_p);
        let held_calibrated: Vec<f64> = held_raw.iter().map(|&p| platt.apply(p)).collect();
        let conformal = Conformal::fit(&held_calibrated, &held_y, 1.0 - self.coverage);
        let sets: Vec<(bool, bool)> = held_calibrated.iter().map(|&p| conformal.set(p)).collect();
        let share = |f: &dyn Fn(usize) -> bool| {
            (0..sets.len()).filter(|&i| f(i)).count() as f64 / sets.len().max(1) as f64
        };
        let performance = Performance {
            held_out: Evaluation::compute(&held_p, &held_y, &held_s),
            auc_interval: evaluation::auc_interval(&held_p, &held_y, self.bootstrap, self.seed, 3),
            cohort: Evaluation::compute(&probabilities, &malignant, &subtypes),
            platt,
            conformal,
            calibration: evaluation::calibration_bins(&held_raw, &held_y, 10),
            brier_raw: evaluation::brier(&held_raw, &held_y),
            brier_calibrated: evaluation::brier(&held_calibrated, &held_y),
            conformal_coverage: share(&|i| if held_y[i] { sets[i].1 } else { sets[i].0 }),
            conformal_singletons: share(&|i| sets[i].0 != sets[i].1),
        };
        let held_out = (0..n)
            .filter(|&i| held[i])
            .map(|i| HeldOutCase {
                case_id: cohort.cases[i].id.clone(),
                probability: probabilities[i],
                malignant: malignant[i],
            })
            .collect();
        let index = SimilarityIndex::build(
            &similarity_layer,
            cohort,
            &activations.iter().map(|a| a[0].clone()).collect::<Vec<_>>(),
            &probabilities,
            &malignant,
            &subtypes,
        )?;
        stage(Stage::Evaluation, 1, 1);
        let held_out_cases = held.iter().filter(|&&h| h).count();
        let explainer = Explainer {
            format: ARTEFACT_FORMAT,
            params: self.clone(),
            model_sha256,
            card: card.clone(),
            schema: cohort.schema.clone(),
            layers,
            cases: n,
            fit_cases: n - held_out_cases,
            held_out_cases,
            performance,
            held_out,
            concepts,
            surrogate,
            rules,
            network,
            index,
        };
        // What is stored must read back: a non-finite figure would be JSON `null` and the
        // stored explainer unreadable, so that is refused here, at fit time.
        Explainer::from_bytes(&explainer.to_bytes())?;
        Ok(explainer)
    }
}

impl Explainer {
    /// P(`target` = `state` | `evidence`) in the learned network, the evidence written as
    /// `feature=state,feature=state` (empty for the prior).
    pub fn query(&self, target: &str, state: &str, evidence: &str) -> Result<f64> {
        let net = self.network()?;
        let evidence = explainme_bayes::Evidence::parse(&net, evidence)?;
        network::probability(
            &explainme_bayes::VariableElimination::new(&net),
            &net,
            target,
            state,
            &evidence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_occlusion_fill_is_refused_by_name() {
        let error = Explainer::params()
            .saliency_fill("zero")
            .check()
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("saliency_fill") && message.contains("median, ring"),
            "{message}"
        );
        assert!(Explainer::params().saliency_fill("ring").check().is_ok());
    }

    #[test]
    fn params_stored_before_the_fill_existed_read_as_the_median() {
        let mut json = serde_json::to_value(Explainer::params().saliency_fill("ring")).unwrap();
        json.as_object_mut().unwrap().remove("saliency_fill");
        let params: ExplainerParams = serde_json::from_value(json).unwrap();
        assert_eq!(params.saliency_fill, "median");
    }
}
