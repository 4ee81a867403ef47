//! One case explained: [`Explainer::prepare`] binds a fitted Explainer to its model once
//! (ONNX Runtime sessions are costly to start), and [`Prepared::explain`] reads a case with
//! every engine and puts the figures in words.

use std::collections::BTreeMap;

use explainme_bayes::{Evidence, VariableElimination};
use explainme_budget::MemoryBudget;
use explainme_cohort::{CNN_VERDICT, FeatureKind};
use explainme_imaging::{Image, Mask, Shape};
use explainme_onnx::{Model, Session};
use explainme_saliency::{Faithfulness, Fill, Saliency, Subject};
use explainme_tree::Rendering;
use serde::{Deserialize, Serialize};

use crate::explainer::{Explainer, sha256_hex};
use crate::findings::{self, TRUTH};
use crate::rules::ClassRule;
use crate::scoring::model_input;
use crate::similar::SimilarCase;
use crate::{Error, Result, narrative, network};

/// A case to explain: a CT image in Hounsfield units and whatever is known of it.
#[derive(Debug, Clone)]
pub struct CaseInput {
    /// The stored case id, or the caller's reference for an inline case.
    pub reference: String,
    /// Whether the case is a cohort case (then it is left out of its own similar cases).
    pub in_cohort: bool,
    pub image: Image,
    /// Raw clinician labels by feature name (numbers as written, states as named).
    pub labels: BTreeMap<String, String>,
    /// Masks on the image's grid by name (`lesion`, a concept's feature).
    pub masks: BTreeMap<String, Mask>,
}

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainOptions {
    /// Compute the heatmap (the slowest part).
    pub heatmap: bool,
    /// Fast saliency variant and an 8-step faithfulness curve instead of 32 steps.
    pub fast: bool,
}

impl ExplainOptions {
    /// Everything, in full: what a report shows (heatmap, 32-step faithfulness curves).
    pub const FULL: ExplainOptions = ExplainOptions {
        heatmap: true,
        fast: false,
    };
}

/// The heatmap of an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatmapReading {
    pub method: String,
    pub fast: bool,
    /// What hidden input was replaced with (`median`, `ring` or `soft`), for a method that fills
    /// (occlusion); `None` for the others, and for explanations made before it was recorded.
    #[serde(default)]
    pub fill: Option<String>,
    /// The grid (`[H, W]` or `[D, H, W]`) the values lie on: the model's input size.
    pub shape: Vec<usize>,
    /// Saliency per voxel, C order.
    pub values: Vec<f32>,
    pub faithfulness: Faithfulness,
    pub forward_passes: usize,
}

/// A concept the CNN's activations show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenConcept {
    /// `feature=state`.
    pub concept: String,
    pub layer: String,
    /// The probe's probability that the concept is present.
    pub probability: f64,
    /// How well the probe reads the concept on held-out cases.
    pub probe_auc: f64,
    /// The clinician's state of the feature, when labelled.
    pub labelled_state: Option<String>,
    /// Whether the CNN's reading agrees with the clinician's label (probability ≥ 0.5 iff
    /// the labelled state is the concept's).
    pub agrees_with_label: Option<bool>,
    /// Channels that detect the concept's mask: `(channel, IoU)`, best first.
    pub detectors: Vec<(usize, f64)>,
}

/// The surrogate tree's path for the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreePath {
    pub conditions: Vec<String>,
    pub verdict: String,
    pub leaf_cases: usize,
    /// Share of the leaf's training cases with its verdict.
    pub leaf_confidence: f64,
    pub agrees_with_model: bool,
    /// The tree's held-out fidelity.
    pub fidelity: f64,
    /// Columns the case has no value for (routed to the upper branch).
    pub unknown: Vec<String>,
}

/// A finding's effect on the network's P(malignant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingEffect {
    pub feature: String,
    pub state: String,
    /// P(malignant | all evidence) − P(malignant | all evidence but this finding).
    pub change: f64,
}

/// What the Bayesian network says of the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkReading {
    /// P(malignant) with no evidence.
    pub prior: f64,
    /// P(malignant | findings, CNN verdict).
    pub p_malignant: f64,
    /// P(malignant | findings) without the CNN's verdict.
    pub p_malignant_from_findings: f64,
    /// The evidence used, `feature=state`.
    pub evidence: Vec<String>,
    /// Each finding's effect, largest first.
    pub sensitivity: Vec<FindingEffect>,
    /// The findings that best explain the CNN's verdict in the network (most relevant
    /// explanation over the verdict's Markov blanket), with its generalised Bayes factor.
    pub explanation_of_verdict: Option<(Vec<String>, f64)>,
}

/// The fewest finding changes that flip an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counterfactual {
    /// `feature: from → to` (from `None` when unlabelled).
    pub changes: Vec<(String, Option<String>, String)>,
    /// The network's P(malignant | changed findings, CNN verdict).
    pub p_malignant_after: f64,
    pub network_flips: bool,
    /// The surrogate tree's verdict after the change.
    pub tree_verdict_after: String,
    pub tree_flips: bool,
}

/// A warning the reader should see first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// `disagreement`, `out_of_range`, `uncertain` or `label_mismatch`.
    pub kind: String,
    pub message: String,
}

/// Why the CNN decided what it decided for one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub case_ref: String,
    /// The CNN's probability of malignancy, as it output it.
    pub probability: f32,
    /// The verdict at 0.5: a class name of the card.
    pub verdict: String,
    /// The probability after Platt scaling.
    pub calibrated_probability: f64,
    /// The classes of the split-conformal prediction set at the explainer's coverage.
    pub prediction_set: Vec<String>,
    pub coverage: f64,
    pub heatmap: Option<HeatmapReading>,
    pub concepts: Vec<SeenConcept>,
    pub tree: TreePath,
    /// Matching rules whose consequent is the CNN's verdict, strongest first.
    pub rules_for_verdict: Vec<ClassRule>,
    /// Matching rules whose consequent is malignancy (yes or no), strongest first.
    pub rules_for_malignancy: Vec<ClassRule>,
    pub network: NetworkReading,
    pub counterfactual: Option<Counterfactual>,
    pub similar: Vec<SimilarCase>,
    /// Distance to the nearest cohort case in the CNN's feature space.
    pub nearest_distance: f64,
    pub flags: Vec<Flag>,
    pub narrative: String,
}

/// An Explainer bound to its model, ready to explain many cases (and to be shared between
/// threads: a server keeps one per explainer).
pub struct Prepared {
    pub explainer: Explainer,
    session: Session,
    subject: Subject,
    net: explainme_bayes::BayesNet,
    budget: MemoryBudget,
}

impl Explainer {
    /// Binds the Explainer to `model`, refusing a model other than the one it was fitted
    /// on (compared by SHA-256 of the ONNX bytes).
    pub fn prepare(&self, model: &Model, budget: MemoryBudget) -> Result<Prepared> {
        let found = sha256_hex(&model.to_bytes());
        if found != self.model_sha256 {
            return Err(Error::ModelMismatch {
                expected: self.model_sha256.clone(),
                found,
            });
        }
        Ok(Prepared {
            explainer: self.clone(),
            session: Session::new(model, &self.card, &self.layers)?,
            subject: Subject::new(model, &self.card, budget)?,
            net: self.network()?,
            budget,
        })
    }
}

/// Candidate finding changes considered by the counterfactual search at two changes.
const MAX_PAIR_CANDIDATES: usize = 24;

impl Prepared {
    /// Explains one case.
    pub fn explain(&self, case: &CaseInput, options: ExplainOptions) -> Result<Explanation> {
        Ok(self.explain_timed(case, options)?.0)
    }

    /// [`Prepared::explain`], with the wall time of each part (`cnn`, `concepts`, `tree`,
    /// `rules`, `network`, `counterfactual`, `similar`, `heatmap`, `narrative`), in order:
    /// what a benchmark reports as the share of time per part.
    pub fn explain_timed(
        &self,
        case: &CaseInput,
        options: ExplainOptions,
    ) -> Result<(Explanation, Vec<(&'static str, f64)>)> {
        let mut timings = Vec::with_capacity(9);
        let mut clock = std::time::Instant::now();
        let mut lap = |part: &'static str| {
            timings.push((part, clock.elapsed().as_secs_f64()));
            clock = std::time::Instant::now();
        };
        let ex = &self.explainer;
        let card = &ex.card;
        let states = findings::case_states(&ex.schema, &case.labels)?;
        let target = Shape::from_slice(&card.input_size)?;
        let hu = if case.image.shape() == target {
            case.image.clone()
        } else {
            explainme_imaging::resize(&case.image, target)?
        };
        for (name, mask) in &case.masks {
            if mask.shape() != case.image.shape() {
                return Err(Error::InvalidInput(format!(
                    "mask `{name}` has shape {:?}, the image {:?}",
                    mask.shape().as_slice(),
                    case.image.shape().as_slice()
                )));
            }
        }

        // The CNN and its activations.
        let input = model_input(card, hu.clone())?;
        let prediction = self.session.predict(&card.preprocess(&[input])?)?;
        let probability = prediction.probabilities[0];
        let verdict = ex.verdict_name(probability).to_owned();
        let positive = probability >= crate::THRESHOLD;
        let mut layer_stats = Vec::with_capacity(prediction.activations.len());
        for activation in &prediction.activations {
            layer_stats.push((
                activation.layer.clone(),
                activation.channel_stats()?.remove(0),
            ));
        }
        let perf = &ex.performance;
        let calibrated = perf.platt.apply(f64::from(probability));
        let (benign_in, malignant_in) = perf.conformal.set(calibrated);
        let mut prediction_set = Vec::new();
        if benign_in {
            prediction_set.push(ex.verdict_name(0.0).to_owned());
        }
        if malignant_in {
            prediction_set.push(card.positive_class.clone());
        }

        lap("cnn");

        // Concepts.
        let stats_refs: Vec<(&str, &[explainme_onnx::ChannelStat])> = layer_stats
            .iter()
            .map(|(l, s)| (l.as_str(), s.as_slice()))
            .collect();
        let case_scores = ex.concepts.score_case(&stats_refs)?;
        let mut concepts: Vec<SeenConcept> = case_scores
            .iter()
            .filter(|s| s.held_out_auc >= explainme_concepts::READABLE_AUC)
            .map(|s| {
                let result = ex.concepts.concept(&s.concept);
                let feature = result.map(|r| r.feature.clone()).unwrap_or_default();
                let state = result.map(|r| r.state.clone()).unwrap_or_default();
                let p = 1.0 / (1.0 + (-s.score).exp());
                let labelled = states.get(&feature).cloned();
                SeenConcept {
                    concept: s.concept.clone(),
                    layer: s.layer.clone(),
                    probability: p,
                    probe_auc: s.held_out_auc,
                    agrees_with_label: labelled.as_ref().map(|l| (*l == state) == (p >= 0.5)),
                    labelled_state: labelled,
                    detectors: result
                        .and_then(|r| r.layer(&s.layer))
                        .map(|l| l.detectors.iter().map(|d| (d.channel, d.iou)).collect())
                        .unwrap_or_default(),
                }
            })
            .collect();
        concepts.sort_by(|a, b| {
            (b.probability - 0.5)
                .abs()
                .total_cmp(&(a.probability - 0.5).abs())
                .then_with(|| a.concept.cmp(&b.concept))
        });

        lap("concepts");

        // The surrogate tree.
        let scores: BTreeMap<String, f64> = case_scores
            .iter()
            .map(|s| (explainme_concepts::score_column_name(&s.concept), s.score))
            .chain(ex.concepts.unit_responses(&stats_refs)?)
            .collect();
        let tree = &ex.surrogate.cnn.tree;
        let (row, unknown) = self.tree_row(&case.labels, &states, &scores);
        let leaf = tree.leaf_of(&row)?;
        let node = &tree.nodes[leaf];
        let tree_positive = node.verdict();
        let rule = ex.surrogate.cnn.rules.iter().find(|r| r.leaf == leaf);
        let tree_path = TreePath {
            conditions: rule.map(|r| r.conditions.clone()).unwrap_or_default(),
            verdict: tree.classes.name(tree_positive).to_owned(),
            leaf_cases: node.cases,
            leaf_confidence: if tree_positive {
                node.share()
            } else {
                1.0 - node.share()
            },
            agrees_with_model: tree_positive == positive,
            fidelity: ex.surrogate.fidelity.agreement,
            unknown,
        };

        lap("tree");

        // Rules.
        let items: Vec<String> = states.iter().map(|(f, s)| format!("{f}={s}")).collect();
        let verdict_item = format!("{CNN_VERDICT}={}", findings::yes_no(positive));
        // As the summary ranks them: rules of findings, the most significant first.
        let matching = |rules: &[ClassRule], keep: &dyn Fn(&ClassRule) -> bool| {
            let mut found: Vec<ClassRule> = rules
                .iter()
                .filter(|r| r.matches(&items) && ex.positive_findings(r) && keep(r))
                .cloned()
                .collect();
            found.sort_by(ClassRule::by_strength);
            found.truncate(3);
            found
        };
        let rules_for_verdict = matching(&ex.rules.verdict, &|r| r.consequent == verdict_item);
        let rules_for_malignancy = matching(&ex.rules.malignancy, &|_| true);

        lap("rules");

        // The network.
        let net = &self.net;
        let ve = VariableElimination::within(net, &self.budget);
        let (findings_evidence, used) = network::evidence(net, &states);
        let mut with_verdict = findings_evidence.clone();
        let cnn_state = findings::yes_no(positive);
        if let Ok((v, s)) = net.resolve(CNN_VERDICT, &cnn_state) {
            with_verdict.insert(v, s)?;
        }
        let p = |e: &Evidence| network::probability(&ve, net, TRUTH, "yes", e);
        let p_malignant = p(&with_verdict)?;
        let (truth_var, yes) = net.resolve(TRUTH, "yes")?;
        let sensitivity =
            explainme_bayes::explain::sensitivity(&ve, truth_var, yes, &with_verdict)?;
        let effects = sensitivity
            .findings
            .iter()
            .map(|f| FindingEffect {
                feature: net.variable(f.variable).name.clone(),
                state: net.variable(f.variable).states[f.state].clone(),
                change: f.change,
            })
            .collect();
        let explanation_of_verdict = self.explain_verdict(&ve, &cnn_state)?;
        let network_reading = NetworkReading {
            prior: sensitivity.prior,
            p_malignant,
            p_malignant_from_findings: p(&findings_evidence)?,
            evidence: used.iter().map(|(f, s)| format!("{f}={s}")).collect(),
            sensitivity: effects,
            explanation_of_verdict,
        };

        lap("network");
        let counterfactual = self.counterfactual(
            &ve,
            &case.labels,
            &states,
            &scores,
            &cnn_state,
            p_malignant,
            tree_positive,
        )?;

        lap("counterfactual");

        // Similar cases and range.
        let (_, sim_stats) = layer_stats
            .iter()
            .find(|(l, _)| *l == ex.index.layer)
            .ok_or_else(|| {
                Error::InvalidInput(format!("no activations of `{}`", ex.index.layer))
            })?;
        let vector = ex.index.vector(sim_stats);
        let exclude = case.in_cohort.then_some(case.reference.as_str());
        // Nearest first, and `similar_cases` ≥ 1 (checked): the first is the nearest.
        let similar = ex.index.nearest(&vector, ex.params.similar_cases, exclude);
        let nearest_distance = similar.first().map_or(f64::INFINITY, |c| c.distance);

        lap("similar");

        // The heatmap.
        let heatmap = if options.heatmap {
            let params = Saliency::params()
                .method(&ex.params.saliency)
                .fill(Fill::from_name(&ex.params.saliency_fill)?)
                .fast(options.fast)
                .seed(ex.params.seed)
                .check()?;
            let map = params.explain(&self.subject, &hu, &|_| {})?;
            let lesion = match case.masks.get(explainme_concepts::LESION_MASK) {
                Some(mask) if mask.shape() != target => {
                    Some(explainme_imaging::resize_nearest(mask, target)?)
                }
                other => other.cloned(),
            };
            let steps = if options.fast {
                8
            } else {
                explainme_saliency::DEFAULT_STEPS
            };
            let faithfulness = explainme_saliency::faithfulness(
                &self.subject,
                &hu,
                &map,
                lesion.as_ref(),
                steps,
                ex.params.seed,
            )?;
            Some(HeatmapReading {
                method: map.method.to_owned(),
                fast: map.fast,
                fill: map.fill.map(|f| f.name().to_owned()),
                shape: map.map.shape().as_slice().to_vec(),
                forward_passes: map.forward_passes + faithfulness.forward_passes,
                values: map.map.into_voxels(),
                faithfulness,
            })
        } else {
            None
        };

        lap("heatmap");
        let mut explanation = Explanation {
            case_ref: case.reference.clone(),
            probability,
            verdict,
            calibrated_probability: calibrated,
            prediction_set,
            coverage: ex.params.coverage,
            heatmap,
            concepts,
            tree: tree_path,
            rules_for_verdict,
            rules_for_malignancy,
            network: network_reading,
            counterfactual,
            similar,
            nearest_distance,
            flags: Vec::new(),
            narrative: String::new(),
        };
        explanation.flags = flags(ex, &explanation, positive);
        explanation.narrative = narrative::case(ex, &explanation);
        lap("narrative");
        Ok((explanation, timings))
    }

    /// The case as a row of the surrogate's columns; unknown values are NaN.
    fn tree_row(
        &self,
        labels: &BTreeMap<String, String>,
        states: &BTreeMap<String, String>,
        scores: &BTreeMap<String, f64>,
    ) -> (Vec<f64>, Vec<String>) {
        let tree = &self.explainer.surrogate.cnn.tree;
        let mut unknown = Vec::new();
        let row = tree
            .columns
            .iter()
            .map(|column| {
                let value = match &column.rendering {
                    Rendering::Number { .. } => scores.get(&column.name).copied().or_else(|| {
                        labels
                            .get(&column.name)
                            .and_then(|raw| raw.trim().parse::<f64>().ok())
                            .filter(|v| v.is_finite())
                    }),
                    Rendering::Indicator { feature, state, .. } => {
                        states.get(feature).map(|s| f64::from(s == state))
                    }
                    Rendering::Ordinal {
                        feature,
                        states: ordered,
                    } => states
                        .get(feature)
                        .and_then(|s| ordered.iter().position(|o| o == s))
                        .map(|i| i as f64),
                };
                value.unwrap_or_else(|| {
                    unknown.push(column.name.clone());
                    f64::NAN
                })
            })
            .collect();
        (row, unknown)
    }

    /// The most relevant explanation of the CNN's verdict over its Markov blanket's findings.
    fn explain_verdict(
        &self,
        ve: &VariableElimination<'_>,
        cnn_state: &str,
    ) -> Result<Option<(Vec<String>, f64)>> {
        let net = &self.net;
        let Ok((v, s)) = net.resolve(CNN_VERDICT, cnn_state) else {
            return Ok(None);
        };
        let truth = net.index_of(TRUTH).ok();
        let mut explanatory: Vec<usize> = network::markov_blanket(net, v)
            .into_iter()
            .filter(|&b| Some(b) != truth)
            .collect();
        explanatory.truncate(6);
        if explanatory.is_empty() {
            return Ok(None);
        }
        let mut evidence = Evidence::none();
        evidence.insert(v, s)?;
        let best =
            explainme_bayes::explain::most_relevant_explanations(ve, &explanatory, &evidence, 1)?;
        Ok(best.first().map(|h| {
            let items = h
                .states
                .iter()
                .map(|&(var, state)| {
                    format!(
                        "{}={}",
                        net.variable(var).name,
                        net.variable(var).states[state]
                    )
                })
                .collect();
            (items, h.gbf)
        }))
    }

    /// The fewest changes of findings (one, else two) that flip the network's answer and
    /// the tree's verdict together; failing that, the fewest that flip either.
    #[allow(clippy::too_many_arguments)]
    fn counterfactual(
        &self,
        ve: &VariableElimination<'_>,
        labels: &BTreeMap<String, String>,
        states: &BTreeMap<String, String>,
        scores: &BTreeMap<String, f64>,
        cnn_state: &str,
        p_malignant: f64,
        tree_positive: bool,
    ) -> Result<Option<Counterfactual>> {
        let ex = &self.explainer;
        let net = &self.net;
        // One candidate per (feature, other state); numbers change by their bin, which the
        // tree reads through its midpoint-free raw value, so they are left to the network.
        let mut candidates = Vec::new();
        for feature in ex
            .schema
            .features
            .iter()
            .filter(|f| f.role == explainme_cohort::Role::Feature)
        {
            let current = states.get(&feature.name);
            for state in feature.states() {
                if Some(&state) != current && net.resolve(&feature.name, &state).is_ok() {
                    let numeric = matches!(feature.kind, FeatureKind::Numeric { .. });
                    candidates.push((feature.name.clone(), state, numeric));
                }
            }
        }
        let malignant_now = p_malignant >= 0.5;
        let evaluate = |changes: &[&(String, String, bool)]| -> Result<Counterfactual> {
            let mut changed_states = states.clone();
            let mut changed_labels = labels.clone();
            for (feature, state, numeric) in changes {
                changed_states.insert(feature.clone(), state.clone());
                if *numeric {
                    changed_labels.remove(feature);
                } else {
                    changed_labels.insert(feature.clone(), state.clone());
                }
            }
            let (mut evidence, _) = network::evidence(net, &changed_states);
            if let Ok((v, s)) = net.resolve(CNN_VERDICT, cnn_state) {
                evidence.insert(v, s)?;
            }
            let after = network::probability(ve, net, TRUTH, "yes", &evidence)?;
            let (row, _) = self.tree_row(&changed_labels, &changed_states, scores);
            let leaf = ex.surrogate.cnn.tree.leaf_of(&row)?;
            let tree_after = ex.surrogate.cnn.tree.nodes[leaf].verdict();
            Ok(Counterfactual {
                changes: changes
                    .iter()
                    .map(|(f, s, _)| (f.clone(), states.get(f).cloned(), s.clone()))
                    .collect(),
                p_malignant_after: after,
                network_flips: (after >= 0.5) != malignant_now,
                tree_verdict_after: ex.surrogate.cnn.tree.classes.name(tree_after).to_owned(),
                tree_flips: tree_after != tree_positive,
            })
        };
        let mut singles = Vec::with_capacity(candidates.len());
        for c in &candidates {
            singles.push(evaluate(&[c])?);
        }
        let both = |c: &Counterfactual| c.network_flips && c.tree_flips;
        if let Some(best) = best_of(&singles, both) {
            return Ok(Some(best));
        }
        // Pairs among the candidates that move the network most.
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| {
            (singles[b].p_malignant_after - p_malignant)
                .abs()
                .total_cmp(&(singles[a].p_malignant_after - p_malignant).abs())
        });
        order.truncate(MAX_PAIR_CANDIDATES);
        let mut pairs = Vec::new();
        for (i, &a) in order.iter().enumerate() {
            for &b in &order[i + 1..] {
                if candidates[a].0 != candidates[b].0 {
                    pairs.push(evaluate(&[&candidates[a], &candidates[b]])?);
                }
            }
        }
        if let Some(best) = best_of(&pairs, both) {
            return Ok(Some(best));
        }
        let either = |c: &Counterfactual| c.network_flips || c.tree_flips;
        Ok(best_of(&singles, either).or_else(|| best_of(&pairs, either)))
    }
}

/// Among the counterfactuals that pass `keep`, the one whose network probability ends
/// farthest beyond 0.5 (the most decisive), ties by the change's text.
fn best_of(
    all: &[Counterfactual],
    keep: impl Fn(&Counterfactual) -> bool,
) -> Option<Counterfactual> {
    all.iter()
        .filter(|c| keep(c))
        .max_by(|a, b| {
            (a.p_malignant_after - 0.5)
                .abs()
                .total_cmp(&(b.p_malignant_after - 0.5).abs())
                .then_with(|| b.changes.cmp(&a.changes))
        })
        .cloned()
}

/// Disagreements, range and uncertainty, in the order a reader should see them.
fn flags(ex: &Explainer, e: &Explanation, positive: bool) -> Vec<Flag> {
    let mut flags = Vec::new();
    let flag = |kind: &str, message: String| Flag {
        kind: kind.to_owned(),
        message,
    };
    if e.nearest_distance > ex.index.nearest_p99 {
        flags.push(flag(
            "out_of_range",
            format!(
                "this case lies outside the cohort's activation range: its nearest cohort case \
                 is {:.1} standard units away, farther than 99% of cohort cases are from theirs \
                 ({:.1}); the explanation extrapolates",
                e.nearest_distance, ex.index.nearest_p99
            ),
        ));
    }
    let network_positive = e.network.p_malignant >= 0.5;
    if !e.tree.agrees_with_model {
        flags.push(flag(
            "disagreement",
            format!(
                "the surrogate tree says {} where the CNN says {}",
                e.tree.verdict, e.verdict
            ),
        ));
    }
    if (e.network.p_malignant_from_findings >= 0.5) != positive && !e.network.evidence.is_empty() {
        flags.push(flag(
            "disagreement",
            format!(
                "the clinician findings alone give P(malignant) = {:.2} in the network, against \
                 the CNN's {}",
                e.network.p_malignant_from_findings, e.verdict
            ),
        ));
    } else if network_positive != positive {
        flags.push(flag(
            "disagreement",
            format!(
                "the network gives P(malignant) = {:.2} against the CNN's {}",
                e.network.p_malignant, e.verdict
            ),
        ));
    }
    if e.prediction_set.len() != 1 {
        flags.push(flag(
            "uncertain",
            format!(
                "the {:.0}% conformal prediction set is {{{}}}: the CNN's output does not settle \
                 the question at this coverage",
                100.0 * e.coverage,
                e.prediction_set.join(", ")
            ),
        ));
    }
    for c in &e.concepts {
        if c.agrees_with_label == Some(false) && c.probe_auc >= 0.85 {
            let feature = c
                .concept
                .split_once('=')
                .map_or(c.concept.as_str(), |(f, _)| f);
            let labelled = c.labelled_state.as_deref().unwrap_or("?");
            let reading = if c.probability >= 0.5 {
                "read"
            } else {
                "do not read"
            };
            flags.push(flag(
                "label_mismatch",
                format!(
                    "the CNN's layers {reading} {} (probe {:.2}, AUC {:.2}) where the clinician \
                     labelled {}",
                    crate::narrative::item_words(&c.concept),
                    c.probability,
                    c.probe_auc,
                    crate::narrative::item_words(&format!("{feature}={labelled}"))
                ),
            ));
        }
    }
    flags
}
