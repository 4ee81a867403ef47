//! Which clinician concepts a CNN's layers encode, which filters detect them, and whether
//! the network's verdict moves with them: concept probes, Network Dissection and a
//! gradient-free TCAV, for any ONNX CNN.
//!
//! A radiologist trusts a renal-mass CNN more when its inner layers track what they look
//! for (macroscopic fat, calcification, necrosis) and its verdict moves the way those
//! findings should move it (fat → benign). Three analyses say so, from forward passes and
//! intermediate activations only, since an ONNX model carries no gradients:
//!
//! - **Concept probes** ([`ConceptLayer`]): per concept (a feature state,
//!   [`cohort_concepts`]) and layer, an L2 logistic regression (linfa-logistic) on the
//!   standardised channel means and maxima; held-out AUC with an exact permutation
//!   p-value, stratified cross-validated AUC, Benjamini–Hochberg over concepts × layers
//!   (explainme-rules' adjustment), the concept activation vector and a score per case.
//! - **Network Dissection** where the cohort has concept masks: per channel, the IoU of
//!   its top-0.5% region (upsampled to the mask grid) with the mask over the cohort; a
//!   channel above 0.04 is a detector. Each detection also says how well the channel's
//!   response tells the concept's labels (ROC AUC); a channel that tells one with AUC ≥
//!   [`READABLE_AUC`] is named its detector, and its responses are a surrogate's column
//!   ([`UnitColumn`]) beside the probe scores ([`ScoreColumn`]).
//! - **Gradient-free TCAV**: the graph is split at the layer
//!   ([`explainme_onnx::TailSession`]), every case's activations take a small step along
//!   the CAV through the rest of the network, and the share of cases whose positive-class
//!   probability rises is compared with random directions.
//!
//! Everything random (splits, folds, permutations, random directions) is drawn from seeded
//! ChaCha8 streams: the same seed gives the same [`ConceptReport`]. Memory sized by the
//! cohort (images, masks, a layer's activations for every case) is checked against the
//! [`MemoryBudget`] first. This crate knows nothing of gRPC, the CLI or storage.
//!
//! ```no_run
//! use explainme_budget::MemoryBudget;
//! use explainme_cohort::Cohort;
//! use explainme_concepts::{Concepts, cohort_concepts};
//! use explainme_onnx::{Model, ModelCard};
//!
//! let model = Model::from_path("data/models/renal_cnn.onnx")?;
//! let card = ModelCard::from_json(&std::fs::read_to_string("data/models/renal_cnn.card.json")?)?;
//! let cohort = Cohort::open("cohort")?;
//! let concepts = cohort_concepts(&cohort)?;
//! let report = Concepts::params()
//!     .seed(7)
//!     .fit(&model, &card, &cohort, &concepts, &MemoryBudget::default(), &mut |_| {})?;
//! let fat = report.concept("macroscopic_fat=present").unwrap();
//! let best = fat.best_layer().unwrap();
//! println!("{}: AUC {:.3}, p {:.4}", best.layer, best.held_out_auc, best.p_adjusted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dissect;
mod error;
mod labels;
mod maps;
mod params;
mod probe;
mod random;
mod report;
mod tcav;

use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_imaging::Shape;
use explainme_onnx::{Model, ModelCard, Session, TailSession, Tensor};

pub use error::{Error, Result};
pub use labels::{ConceptLabels, cohort_concepts};
pub use params::ConceptParams;
pub use report::{
    CaseScore, ChannelConcept, ChannelConcepts, ConceptLayer, ConceptReport, ConceptResult,
    Detector, LayerSummary, READABLE_AUC, RandomBaseline, ScoreColumn, Standardisation, Tcav,
    UnitColumn, score_column_name, short_layer,
};
pub use tcav::Moves;

use dissect::MaskSet;
use maps::LayerMaps;
use probe::{Pooled, ProbeFit};

/// Entry point for the builder: `Concepts::params()….fit(…)`.
#[derive(Debug, Clone, Copy)]
pub struct Concepts;

impl Concepts {
    /// Default parameters: the card's feature layers, TCAV on each; 5 folds, a third held
    /// out, 2,000 permutations, `alpha` 1.0, at most 100 L-BFGS iterations to a gradient of 1e-3, seed 0; quantile
    /// 0.005 and IoU threshold 0.04; TCAV step 0.2 against 50 random directions; 64 cases
    /// per run.
    pub fn params() -> ConceptParams {
        ConceptParams::default()
    }
}

/// Where a long analysis is: `done` of `total` units of work (one unit per case and pass,
/// one per probe), and what is being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// What is running, e.g. `reading`, `activations`, `dissection`, `probes`, `tcav`.
    pub stage: &'a str,
    /// Units done so far.
    pub done: u64,
    /// Units in all.
    pub total: u64,
}

/// The name of the lesion mask, dissected beside the concepts' own masks.
pub const LESION_MASK: &str = "lesion";

impl ConceptParams {
    /// Runs every analysis of the module docs for `concepts` (labels in cohort order) on
    /// `model`'s layers over `cohort`; `progress` hears about each step.
    pub fn fit(
        &self,
        model: &Model,
        card: &ModelCard,
        cohort: &Cohort,
        concepts: &[ConceptLabels],
        budget: &MemoryBudget,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<ConceptReport> {
        self.check()?;
        let n = cohort.cases.len();
        if n == 0 {
            return Err(Error::InvalidInput(format!(
                "the cohort {} has no cases",
                cohort.root.display()
            )));
        }
        if let Some(c) = concepts.iter().find(|c| c.labels.len() != n) {
            return Err(Error::InvalidInput(format!(
                "concept `{}` has {} labels for {n} cases",
                c.name,
                c.labels.len()
            )));
        }
        let layers = if self.layers.is_empty() {
            card.feature_layers.clone()
        } else {
            self.layers.clone()
        };
        if layers.is_empty() {
            return Err(Error::InvalidParameter {
                name: "layers",
                problem: "none given and the card names no feature layers".into(),
            });
        }
        let tcav_layers = self.tcav_layers.clone().unwrap_or_else(|| layers.clone());
        if let Some(layer) = tcav_layers.iter().find(|l| !layers.contains(l)) {
            return Err(Error::InvalidParameter {
                name: "tcav_layers",
                problem: format!("`{layer}` is not among the probed layers"),
            });
        }
        let testable: Vec<Option<String>> = concepts
            .iter()
            .map(|c| probe::untestable(&c.labels, self))
            .collect();
        let probes = testable.iter().filter(|t| t.is_none()).count() as u64;
        let n64 = n as u64;
        let per_layer = 2 * n64 + probes;
        let tcav_units = (1 + self.random_directions as u64 + probes) * n64;
        let total =
            n64 * 2 + per_layer * layers.len() as u64 + tcav_units * tcav_layers.len() as u64;
        let mut done = 0u64;
        let mut tick = |stage: &str, units: u64| {
            done += units;
            progress(Progress { stage, done, total });
        };

        let input = read_input(card, cohort, budget, &mut |k| tick("reading", k))?;
        let (sets, annotated) = read_masks(cohort, concepts, budget, &mut |k| tick("masks", k))?;

        let mut summaries = Vec::with_capacity(layers.len());
        // Per layer and channel, every case's mean of that channel: a detecting channel's
        // `responses`, and what its label AUCs are measured on.
        let mut responses: Vec<Vec<Vec<f64>>> = Vec::with_capacity(layers.len());
        // fits[concept][layer]
        let mut fits: Vec<Vec<Option<ProbeFit>>> = vec![Vec::new(); concepts.len()];
        let mut tcavs: Vec<Vec<Option<(tcav::Moves, f64)>>> = vec![Vec::new(); concepts.len()];
        for (li, layer) in layers.iter().enumerate() {
            let maps = layer_maps(model, card, &input, layer, self.batch, budget, &mut |k| {
                tick("activations", k)
            })?;
            let stats = explainme_onnx::channel_stats(&maps.tensor, maps.layout)?;
            let pooled = Pooled::new(&stats)?;
            responses.push(
                (0..maps.channels)
                    .map(|channel| {
                        stats
                            .iter()
                            .map(|case| f64::from(case[channel].mean))
                            .collect()
                    })
                    .collect(),
            );
            let (thresholds, deviations) = maps.channel_summary(self.quantile);
            let iou = dissect::dissect(&maps, &thresholds, &sets, &annotated, layer)?;
            tick("dissection", n64);
            for (ci, concept) in concepts.iter().enumerate() {
                let fit = match testable[ci] {
                    Some(_) => None,
                    None => {
                        let stream = (ci * layers.len() + li) as u64;
                        let fit = probe::probe(
                            &pooled,
                            &concept.labels,
                            self,
                            stream,
                            (&concept.name, layer),
                        )?;
                        tick("probes", 1);
                        Some(fit)
                    }
                };
                fits[ci].push(fit);
            }
            let mut baseline = None;
            if tcav_layers.contains(layer) {
                let tail = TailSession::new(model, card, layer)?;
                let base = tcav::probabilities(&tail, &maps, None, self.batch)?;
                tick("tcav", n64);
                let mut run = |direction: &[f64]| -> Result<tcav::Moves> {
                    let shift = tcav::shift(direction, &deviations, self.tcav_step);
                    let moved = tcav::probabilities(&tail, &maps, Some(&shift), self.batch)?;
                    tick("tcav", n64);
                    Ok(tcav::moves(&base, &moved))
                };
                let random: Vec<tcav::Moves> = tcav::random_directions(
                    maps.channels,
                    self.random_directions,
                    self.seed,
                    li as u64,
                )
                .iter()
                .map(|d| run(d))
                .collect::<Result<_>>()?;
                let changes: Vec<f64> = random.iter().map(|m| m.mean_logit_change).collect();
                for (ci, fit) in fits.iter().enumerate() {
                    let result = match &fit[li] {
                        Some(fit) => {
                            let moves = run(&tcav::cav_direction(&fit.weights, maps.channels))?;
                            Some((moves, tcav::p_value(moves.mean_logit_change, &changes)))
                        }
                        None => None,
                    };
                    tcavs[ci].push(result);
                }
                let scores: Vec<f64> = random.iter().map(tcav::Moves::score).collect();
                let mean = scores.iter().sum::<f64>() / scores.len() as f64;
                let sd = (scores.iter().map(|r| (r - mean).powi(2)).sum::<f64>()
                    / (scores.len() - 1) as f64)
                    .sqrt();
                baseline = Some(RandomBaseline {
                    scores,
                    mean,
                    sd,
                    logit_changes: changes,
                });
            } else {
                tcavs.iter_mut().for_each(|t| t.push(None));
            }
            summaries.push(LayerSummary {
                layer: layer.clone(),
                channels: maps.channels,
                spatial: maps.spatial.clone(),
                iou,
                tcav_random: baseline,
                standardisation: pooled.standardisation.clone(),
            });
        }

        let raw: Vec<f64> = fits.iter().flatten().flatten().map(|f| f.p_value).collect();
        let mut adjusted = explainme_rules::stats::benjamini_hochberg(&raw).into_iter();
        let mask_names: Vec<String> = sets.iter().map(|s| s.name.clone()).collect();
        let threshold = self.iou_threshold;
        let mut results = Vec::with_capacity(concepts.len());
        for (ci, concept) in concepts.iter().enumerate() {
            let (positives, negatives) = concept.counts();
            let mask = concept
                .mask
                .as_ref()
                .and_then(|m| mask_names.iter().position(|n| n == m));
            let mut per_layer = Vec::new();
            for (li, fit) in fits[ci].iter().enumerate() {
                let Some(fit) = fit else { continue };
                let summary = &summaries[li];
                let channels = summary.channels;
                let mut detectors: Vec<Detector> = mask
                    .map(|m| {
                        summary.iou[m]
                            .iter()
                            .enumerate()
                            .filter(|(_, iou)| **iou > threshold)
                            .map(|(channel, &iou)| Detector {
                                channel,
                                iou,
                                weight_mean: fit.weights[channel],
                                weight_max: fit.weights[channels + channel],
                                label_auc: labelled_auc(&responses[li][channel], &concept.labels),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                detectors.sort_by(|a, b| b.iou.total_cmp(&a.iou));
                per_layer.push(ConceptLayer {
                    layer: summary.layer.clone(),
                    held_out_auc: fit.held_out_auc,
                    held_out_cases: fit.held_out_cases,
                    p_value: fit.p_value,
                    p_adjusted: adjusted.next().unwrap_or(1.0),
                    cv_auc: fit.cv_auc,
                    fold_aucs: fit.fold_aucs.clone(),
                    cav: fit.weights.clone(),
                    intercept: fit.intercept,
                    detectors,
                    tcav: tcavs[ci][li].map(|(moves, p_value)| Tcav {
                        score: moves.score(),
                        moves,
                        random_mean: summary.tcav_random.as_ref().map_or(0.5, |r| r.mean),
                        p_value,
                    }),
                    scores: fit.scores.clone(),
                    cross_fitted_scores: fit.cross_fitted.clone(),
                });
            }
            results.push(ConceptResult {
                concept: concept.name.clone(),
                feature: concept.feature.clone(),
                state: concept.state.clone(),
                mask: mask.map(|m| mask_names[m].clone()),
                positives,
                negatives,
                skipped: testable[ci].clone(),
                layers: per_layer,
            });
        }

        let mut channels = Vec::new();
        for (summary, responses) in summaries.iter().zip(responses) {
            for (channel, responses) in responses.into_iter().enumerate() {
                let mut found: Vec<ChannelConcept> = mask_names
                    .iter()
                    .zip(&summary.iou)
                    .filter(|(_, iou)| iou[channel] > threshold)
                    .map(|(mask, iou)| ChannelConcept {
                        mask: mask.clone(),
                        iou: iou[channel],
                        label_auc: label_auc(&responses, concepts, mask),
                    })
                    .collect();
                if found.is_empty() {
                    continue;
                }
                found.sort_by(|a, b| b.iou.total_cmp(&a.iou));
                channels.push(ChannelConcepts {
                    layer: summary.layer.clone(),
                    channel,
                    concepts: found,
                    responses,
                });
            }
        }
        channels.sort_by(|a, b| b.concepts[0].iou.total_cmp(&a.concepts[0].iou));

        Ok(ConceptReport {
            cases: cohort.cases.iter().map(|c| c.id.clone()).collect(),
            layers: summaries,
            masks: mask_names,
            concepts: results,
            channels,
            tests: raw.len(),
        })
    }
}

/// How well a channel's `responses` tell the cases labelled with a concept of `mask` from
/// those labelled without it: the best ROC AUC over the concepts that use the mask (the
/// states of a feature share one), `None` when none of them has both classes labelled
/// (the lesion mask, which no label names).
fn label_auc(responses: &[f64], concepts: &[ConceptLabels], mask: &str) -> Option<f64> {
    concepts
        .iter()
        .filter(|c| c.mask.as_deref() == Some(mask))
        .filter_map(|c| labelled_auc(responses, &c.labels))
        .max_by(f64::total_cmp)
}

/// ROC AUC of `responses` over the labelled cases; `None` without both classes.
fn labelled_auc(responses: &[f64], labels: &[Option<bool>]) -> Option<f64> {
    let (scores, positive): (Vec<f64>, Vec<bool>) = responses
        .iter()
        .zip(labels)
        .filter_map(|(&r, label)| label.map(|l| (r, l)))
        .unzip();
    let ranks = explainme_rules::stats::midranks(&scores);
    explainme_rules::stats::auc_of_ranks(&ranks, &positive)
}

/// Every case's image, resized to the card's input size and preprocessed, as one batch.
fn read_input(
    card: &ModelCard,
    cohort: &Cohort,
    budget: &MemoryBudget,
    tick: &mut dyn FnMut(u64),
) -> Result<Tensor> {
    let n = cohort.cases.len() as u64;
    let voxels: u64 = card.input_size.iter().map(|&d| d as u64).product();
    budget.check_elements(
        "the model input of every case of the cohort",
        &[n, voxels],
        8,
    )?;
    let target = Shape::from_slice(&card.input_size)?;
    let mut images = Vec::with_capacity(cohort.cases.len());
    for case in &cohort.cases {
        let read = || -> explainme_imaging::Result<Tensor> {
            let mut image = explainme_imaging::read_image_within(cohort.image_path(case), budget)?;
            if image.shape() != target {
                image = explainme_imaging::resize(&image, target)?;
            }
            Tensor::new(card.input_size.clone(), image.into_voxels())
        };
        images.push(read().map_err(|source| Error::Case {
            case: case.id.clone(),
            source,
        })?);
        tick(1);
    }
    Ok(card.preprocess(&images)?)
}

/// The masks of the lesion and of every concept that names one, for every case; sets no
/// case has are dropped. Also says which cases have any mask (are annotated).
fn read_masks(
    cohort: &Cohort,
    concepts: &[ConceptLabels],
    budget: &MemoryBudget,
    tick: &mut dyn FnMut(u64),
) -> Result<(Vec<MaskSet>, Vec<bool>)> {
    let mut names = vec![LESION_MASK.to_owned()];
    for mask in concepts.iter().filter_map(|c| c.mask.as_ref()) {
        if !names.contains(mask) {
            names.push(mask.clone());
        }
    }
    let mut sets: Vec<MaskSet> = names
        .into_iter()
        .map(|name| MaskSet {
            name,
            masks: Vec::with_capacity(cohort.cases.len()),
        })
        .collect();
    let mut bytes = 0u64;
    for case in &cohort.cases {
        for set in &mut sets {
            let path = cohort.mask_path(case, &set.name);
            let mask = if path.is_file() {
                let mask =
                    explainme_imaging::read_mask_within(&path, budget).map_err(|source| {
                        Error::Case {
                            case: case.id.clone(),
                            source,
                        }
                    })?;
                bytes = bytes.saturating_add(mask.voxels().len() as u64);
                budget.check("the concept masks of the cohort", bytes)?;
                Some(mask)
            } else {
                None
            };
            set.masks.push(mask);
        }
        tick(1);
    }
    sets.retain(|s| s.masks.iter().any(Option::is_some));
    let annotated = (0..cohort.cases.len())
        .map(|i| sets.iter().any(|s| s.masks[i].is_some()))
        .collect();
    Ok((sets, annotated))
}

/// One layer's activations for every case, `batch` cases per run.
fn layer_maps(
    model: &Model,
    card: &ModelCard,
    input: &Tensor,
    layer: &str,
    batch: usize,
    budget: &MemoryBudget,
    tick: &mut dyn FnMut(u64),
) -> Result<LayerMaps> {
    let session = Session::new(model, card, &[layer.to_owned()])?;
    let cases = input.shape[0];
    let per_case = input.data.len() / cases;
    let mut data: Vec<f32> = Vec::new();
    let mut shape: Vec<usize> = Vec::new();
    let mut layout = card.layout;
    for start in (0..cases).step_by(batch) {
        let count = batch.min(cases - start);
        let mut batch_shape = input.shape.clone();
        batch_shape[0] = count;
        let part = Tensor::new(
            batch_shape,
            input.data[start * per_case..(start + count) * per_case].to_vec(),
        )?;
        let prediction = session.predict(&part)?;
        let activation = prediction
            .activations
            .into_iter()
            .next()
            .ok_or_else(|| Error::InvalidInput(format!("no activations of `{layer}`")))?;
        if shape.is_empty() {
            shape = activation.tensor.shape.clone();
            layout = activation.layout;
            let values = activation.tensor.data.len() as u64 / count as u64;
            budget.check_elements(
                format_args!("the activations of `{layer}` for {cases} cases"),
                &[cases as u64, values],
                4,
            )?;
            data.reserve_exact(cases * values as usize);
        }
        data.extend_from_slice(&activation.tensor.data);
        tick(count as u64);
    }
    shape[0] = cases;
    LayerMaps::new(Tensor::new(shape, data)?, layout, layer)
}
