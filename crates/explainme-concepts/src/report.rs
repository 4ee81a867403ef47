//! What a concept analysis returns: plain serialisable data.

use serde::{Deserialize, Serialize};

use crate::{Error, Moves, Result};

/// The whole analysis of one model on one cohort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptReport {
    /// Case ids in cohort order; every per-case vector follows it.
    pub cases: Vec<String>,
    /// The probed layers, in order.
    pub layers: Vec<LayerSummary>,
    /// The concept masks found in the cohort (`lesion`, `macroscopic_fat`, …).
    pub masks: Vec<String>,
    /// One entry per concept, in the order given.
    pub concepts: Vec<ConceptResult>,
    /// Every channel that detects at least one masked concept (IoU above the threshold),
    /// best IoU first.
    pub channels: Vec<ChannelConcepts>,
    /// Number of probes in the Benjamini–Hochberg family (testable concepts × layers).
    pub tests: usize,
}

/// A probed layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// Tensor name.
    pub layer: String,
    /// Number of channels.
    pub channels: usize,
    /// Spatial extents of its maps (`[H, W]` or `[D, H, W]`; empty for a dense layer).
    pub spatial: Vec<usize>,
    /// IoU of every channel with every mask: `iou[mask][channel]`, masks in
    /// [`ConceptReport::masks`] order.
    pub iou: Vec<Vec<f64>>,
    /// TCAV along random directions, when TCAV ran on this layer.
    pub tcav_random: Option<RandomBaseline>,
    /// How the pooled features were standardised before probing: what puts a case outside
    /// the cohort into the probes' space ([`ConceptReport::score_case`]).
    pub standardisation: Standardisation,
}

/// Per pooled feature (channel means, then channel maxima) its mean and standard
/// deviation over the cohort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardisation {
    pub means: Vec<f64>,
    pub sds: Vec<f64>,
}

/// A case's score on one concept under the full probe of its best layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseScore {
    /// `feature=state`.
    pub concept: String,
    /// The layer of the probe.
    pub layer: String,
    /// The probe's decision value (log-odds of the concept).
    pub score: f64,
    /// That probe's held-out AUC.
    pub held_out_auc: f64,
}

/// TCAV scores of random directions on one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomBaseline {
    /// One score per random direction.
    pub scores: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their standard deviation.
    pub sd: f64,
    /// Each direction's mean change of the positive-class log-odds.
    pub logit_changes: Vec<f64>,
}

/// One concept over every layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptResult {
    /// `feature=state`.
    pub concept: String,
    /// The feature.
    pub feature: String,
    /// The state.
    pub state: String,
    /// Its mask's name when the cohort has masks of it.
    pub mask: Option<String>,
    /// Labelled positive cases.
    pub positives: usize,
    /// Labelled negative cases.
    pub negatives: usize,
    /// Why the concept was not probed (too few cases of a class); `layers` is then empty.
    pub skipped: Option<String>,
    /// The probe on each layer, in layer order.
    pub layers: Vec<ConceptLayer>,
}

/// One concept's probe on one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptLayer {
    /// The layer.
    pub layer: String,
    /// AUC of the probe on the held-out cases.
    pub held_out_auc: f64,
    /// Number of held-out cases.
    pub held_out_cases: usize,
    /// Permutation p-value of the held-out AUC.
    pub p_value: f64,
    /// Benjamini–Hochberg adjusted p-value over every concept × layer.
    pub p_adjusted: f64,
    /// Mean AUC over the stratified cross-validation folds.
    pub cv_auc: f64,
    /// AUC of each fold.
    pub fold_aucs: Vec<f64>,
    /// The concept activation vector in standardised pooled space: one weight per channel
    /// mean, then one per channel maximum.
    pub cav: Vec<f64>,
    /// The probe's intercept.
    pub intercept: f64,
    /// Channels that detect this concept's mask (IoU above the threshold), best first.
    pub detectors: Vec<Detector>,
    /// TCAV along the CAV, when TCAV ran on this layer.
    pub tcav: Option<Tcav>,
    /// The probe's decision value for every case (cohort order): the concept score.
    pub scores: Vec<f64>,
    /// Every case's decision value under a probe that did not train on its label: the
    /// cross-validation fold's probe for a labelled case, the full probe for an unlabelled
    /// one (cohort order). What a model validated on held-out cases should read.
    pub cross_fitted_scores: Vec<f64>,
}

/// One concept's scores as a numeric column for a model downstream, e.g. a surrogate tree
/// (`explainme_tree::FeatureMatrix::with_column(Column::number(&c.name, &c.label, None), &c.values)`).
///
/// The values are the cross-fitted scores of the concept's best layer: no case's value
/// comes from a probe fitted to that case's own concept label. The probes never see the
/// CNN's verdict (they are fitted on clinician concept labels), so a surrogate of the
/// verdict split into training and held-out cases on its own learns nothing of its
/// held-out target from them, whichever cases the probes were fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreColumn {
    /// `score:<concept>`: unique, and never the name of a clinician-label column.
    pub name: String,
    /// How a rule reads it: "CNN's macroscopic fat score", "CNN's enhancement avid score".
    pub label: String,
    /// The concept, `feature=state`.
    pub concept: String,
    /// The layer the scores come from (the probe's best held-out AUC).
    pub layer: String,
    /// That probe's held-out AUC.
    pub held_out_auc: f64,
    /// One cross-fitted score per case, cohort order.
    pub values: Vec<f64>,
}

/// A channel that detects a concept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detector {
    /// Channel index in the layer.
    pub channel: usize,
    /// IoU with the concept's mask over the cohort.
    pub iou: f64,
    /// The probe's weight on the channel's mean.
    pub weight_mean: f64,
    /// The probe's weight on the channel's maximum.
    pub weight_max: f64,
}

/// TCAV of one concept on one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tcav {
    /// Share of (moving) cases whose positive-class probability rises along the CAV.
    pub score: f64,
    /// The counts behind it.
    pub moves: Moves,
    /// Mean score of the random directions.
    pub random_mean: f64,
    /// Two-sided empirical p-value of the mean log-odds change against the random
    /// directions' (see [`Moves::mean_logit_change`]).
    pub p_value: f64,
}

/// A channel and the concepts it detects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConcepts {
    /// The layer.
    pub layer: String,
    /// Channel index.
    pub channel: usize,
    /// Masks it detects with their IoU, best first.
    pub concepts: Vec<ChannelConcept>,
}

/// One concept a channel detects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConcept {
    /// Mask name.
    pub mask: String,
    /// IoU over the cohort.
    pub iou: f64,
}

impl ConceptReport {
    /// A concept by name (`feature=state`).
    pub fn concept(&self, name: &str) -> Option<&ConceptResult> {
        self.concepts.iter().find(|c| c.concept == name)
    }

    /// Every probed concept's scores on its best layer, in concept order ([`ScoreColumn`]).
    /// A feature with one concept (a two-state one: `macroscopic_fat=present`) reads by
    /// its name alone ("CNN's macroscopic fat score"), others with the state ("CNN's
    /// enhancement avid score", "CNN's size 2-4 cm score" for a binned measurement).
    pub fn score_columns(&self) -> Vec<ScoreColumn> {
        let words = |s: &str| s.replace('_', " ");
        self.concepts
            .iter()
            .filter_map(|concept| {
                let best = concept.best_layer()?;
                let alone = self
                    .concepts
                    .iter()
                    .filter(|c| c.feature == concept.feature)
                    .count()
                    == 1;
                // A binned measurement keeps its unit after the bin: "size 2-4 cm".
                let measured = concept
                    .feature
                    .rsplit_once('_')
                    .filter(|(_, unit)| ["cm", "mm", "ml", "hu", "years", "kg"].contains(unit));
                let label = match measured {
                    _ if alone => format!("CNN's {} score", words(&concept.feature)),
                    Some((stem, unit)) => {
                        format!("CNN's {} {} {unit} score", words(stem), concept.state)
                    }
                    None => format!(
                        "CNN's {} {} score",
                        words(&concept.feature),
                        words(&concept.state)
                    ),
                };
                Some(ScoreColumn {
                    name: format!("score:{}", concept.concept),
                    label,
                    concept: concept.concept.clone(),
                    layer: best.layer.clone(),
                    held_out_auc: best.held_out_auc,
                    values: best.cross_fitted_scores.clone(),
                })
            })
            .collect()
    }
}

impl ConceptReport {
    /// Scores a case that may be new to the cohort on every probed concept's best layer:
    /// `stats` holds, per probed layer, the case's channel statistics
    /// ([`explainme_onnx::channel_stats`]). Layers absent from `stats` are skipped, so a
    /// caller that ran only some layers gets the concepts read from those.
    pub fn score_case(
        &self,
        stats: &[(&str, &[explainme_onnx::ChannelStat])],
    ) -> Result<Vec<CaseScore>> {
        let mut scores = Vec::new();
        for concept in &self.concepts {
            let Some(best) = concept.best_layer() else {
                continue;
            };
            let Some((_, case)) = stats.iter().find(|(layer, _)| *layer == best.layer) else {
                continue;
            };
            let summary = self
                .layers
                .iter()
                .find(|l| l.layer == best.layer)
                .ok_or_else(|| Error::InvalidInput(format!("no summary of `{}`", best.layer)))?;
            if case.len() != summary.channels || best.cav.len() != 2 * summary.channels {
                return Err(Error::InvalidInput(format!(
                    "`{}` has {} channels here and {} in the cohort",
                    best.layer,
                    case.len(),
                    summary.channels
                )));
            }
            let s = &summary.standardisation;
            let score = crate::probe::pooled_features(case)
                .zip(&best.cav)
                .zip(s.means.iter().zip(&s.sds))
                .map(|((x, w), (&mean, &sd))| w * crate::probe::standardised(x, mean, sd))
                .sum::<f64>()
                + best.intercept;
            scores.push(CaseScore {
                concept: concept.concept.clone(),
                layer: best.layer.clone(),
                score,
                held_out_auc: best.held_out_auc,
            });
        }
        Ok(scores)
    }
}

impl ConceptResult {
    /// The layer where the probe's held-out AUC is highest.
    pub fn best_layer(&self) -> Option<&ConceptLayer> {
        self.layers
            .iter()
            .max_by(|a, b| a.held_out_auc.total_cmp(&b.held_out_auc))
    }

    /// The probe on a layer.
    pub fn layer(&self, layer: &str) -> Option<&ConceptLayer> {
        self.layers.iter().find(|l| l.layer == layer)
    }
}
