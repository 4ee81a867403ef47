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

/// A detector channel's response (its mean activation) as a numeric column for a model
/// downstream, the way [`ScoreColumn`] carries a probe's scores.
///
/// Why a surrogate needs these beside the probe scores: a probe keeps of a layer only the
/// direction of one clinician concept, and the CNN's verdict follows channels whose
/// direction no probe is. On the demo CNN a tree over labels and probe scores mimics its
/// verdict with held-out fidelity 0.807; with the detector channels' responses as well,
/// 0.949 (`explainme-tree`'s phantom tests). Such a channel is still named by what it
/// detects: its top activations overlap that concept's masks (Network Dissection) and its
/// response tells that concept's labels with ROC AUC ≥ [`READABLE_AUC`]
/// ([`ConceptReport::named_concept`]), so a rule reads "CNN's necrosis detector (conv4_1_1
/// channel 56, IoU 0.11) ≥ 0.1178": a claim a radiologist can check on the channel's map.
/// Other channels are not columns. Unlike a probe, the channel is the CNN's own and
/// nothing is fitted: the choice of channels reads the cohort's masks and concept labels
/// (of every case, as the probes do), never the CNN's verdict, so it tells a surrogate of
/// the verdict nothing of its held-out target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitColumn {
    /// `unit:<layer>#<channel>`: unique, and never the name of a clinician-label column.
    pub name: String,
    /// How a rule reads it: "CNN's necrosis detector (conv4_1_1 channel 56, IoU 0.11)".
    pub label: String,
    /// The layer.
    pub layer: String,
    /// The channel in it.
    pub channel: usize,
    /// The mask of the concept it is named by ([`ConceptReport::named_concept`]).
    pub mask: String,
    /// Its IoU with that mask over the cohort.
    pub iou: f64,
    /// One response per case, cohort order.
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
    /// ROC AUC of the channel's response for this one concept's labels (where
    /// [`ChannelConcept::label_auc`] takes the best over the concepts of the mask); `None`
    /// without both classes labelled and in reports stored before it was measured.
    #[serde(default)]
    pub label_auc: Option<f64>,
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
    /// The channel's mean activation for every case (cohort order): the unit's response,
    /// what a surrogate reads in its [`UnitColumn`]. Empty in a report stored without its
    /// per-case values.
    #[serde(default)]
    pub responses: Vec<f64>,
}

/// One concept a channel detects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConcept {
    /// Mask name.
    pub mask: String,
    /// IoU over the cohort.
    pub iou: f64,
    /// ROC AUC of the channel's response (its mean activation) for the cases labelled
    /// with a concept of this mask against those labelled without it, the best over the
    /// concepts that share the mask (the states of one feature: `cystic=partial`,
    /// `cystic=predominant`): whether the channel, besides firing where the concept is
    /// drawn, says whether a case has it. `None` for a mask no label names (the lesion)
    /// and in reports stored before it was measured.
    #[serde(default)]
    pub label_auc: Option<f64>,
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
                    name: score_column_name(&concept.concept),
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
    /// The responses of every channel that detects a concept and tells it
    /// ([`ConceptReport::named_concept`]), best IoU first ([`UnitColumn`]). Empty when the
    /// report was stored without its per-case values.
    pub fn unit_columns(&self) -> Vec<UnitColumn> {
        self.channels
            .iter()
            .filter(|c| c.responses.len() == self.cases.len())
            .filter_map(|c| {
                let best = Self::named_concept(c)?;
                Some(UnitColumn {
                    name: unit_column_name(&c.layer, c.channel),
                    label: format!(
                        "CNN's {} detector ({} channel {}, IoU {:.2})",
                        best.mask.replace('_', " "),
                        short_layer(&c.layer),
                        c.channel,
                        best.iou
                    ),
                    layer: c.layer.clone(),
                    channel: c.channel,
                    mask: best.mask.clone(),
                    iou: best.iou,
                    values: c.responses.clone(),
                })
            })
            .collect()
    }

    /// The concept a detecting channel is named by: of the masks it overlaps (IoU above
    /// the threshold), the one whose labels its response tells best, when that ROC AUC is
    /// at least [`READABLE_AUC`]. Dissection alone names too much: a late layer's
    /// channels mostly fire on the lesion's centre, so on the demo CNN most of the last
    /// layer's channels overlap the necrosis masks (explainme-concepts' `demo_cnn` test
    /// prints how many), and some respond *less* when a concept is present (on the
    /// 1,500 phantoms of explainme-tree's test, a channel overlapping the fat masks with
    /// IoU 0.05 has AUC 0.21 for fat). Such a channel is no detector a rule should name.
    pub fn named_concept(channel: &ChannelConcepts) -> Option<&ChannelConcept> {
        channel
            .concepts
            .iter()
            .filter_map(|c| Some((c, c.label_auc?)))
            .filter(|(_, auc)| *auc >= READABLE_AUC)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c)
    }

    /// A case's value of every [`UnitColumn`], by column name: `stats` holds, per layer,
    /// the case's channel statistics, as for [`ConceptReport::score_case`]. Channels of
    /// layers absent from `stats` are skipped.
    pub fn unit_responses(
        &self,
        stats: &[(&str, &[explainme_onnx::ChannelStat])],
    ) -> Result<Vec<(String, f64)>> {
        let mut values = Vec::new();
        for unit in self
            .channels
            .iter()
            .filter(|c| Self::named_concept(c).is_some())
        {
            let Some((_, case)) = stats.iter().find(|(layer, _)| *layer == unit.layer) else {
                continue;
            };
            let stat = case.get(unit.channel).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "`{}` has {} channels here; the cohort's detector is channel {}",
                    unit.layer,
                    case.len(),
                    unit.channel
                ))
            })?;
            values.push((
                unit_column_name(&unit.layer, unit.channel),
                f64::from(stat.mean),
            ));
        }
        Ok(values)
    }

    /// Drops every per-case vector (probe scores, unit responses): what an artefact that
    /// scores new cases from the probes keeps.
    pub fn without_case_values(mut self) -> ConceptReport {
        for concept in &mut self.concepts {
            for layer in &mut concept.layers {
                layer.scores = Vec::new();
                layer.cross_fitted_scores = Vec::new();
            }
        }
        for channel in &mut self.channels {
            channel.responses = Vec::new();
        }
        self
    }
}

impl ConceptReport {
    /// The clinician feature a column of [`ConceptReport::score_columns`] or
    /// [`ConceptReport::unit_columns`] reads: its probe's concept's feature, or the feature
    /// whose concept's mask the channel detects best (none for the lesion mask). `None` for
    /// any other column name.
    pub fn column_feature(&self, column: &str) -> Option<&str> {
        if let Some(concept) = column.strip_prefix(SCORE_PREFIX) {
            return self.concept(concept).map(|c| c.feature.as_str());
        }
        let unit = self
            .channels
            .iter()
            .find(|c| unit_column_name(&c.layer, c.channel) == column)?;
        let mask = &Self::named_concept(unit)?.mask;
        self.concepts
            .iter()
            .find(|c| c.mask.as_ref() == Some(mask))
            .map(|c| c.feature.as_str())
    }
}

/// The least ROC AUC at which the CNN's reading of a concept is put before a reader: a
/// probe's held-out AUC for the concepts an explanation lists, a channel's response for
/// the concept a [`UnitColumn`] names it the detector of.
pub const READABLE_AUC: f64 = 0.7;

/// What every [`ScoreColumn`]'s name starts with.
const SCORE_PREFIX: &str = "score:";

/// The name of a concept's [`ScoreColumn`], `score:<concept>`: what a caller that scores a
/// new case ([`ConceptReport::score_case`]) files each [`CaseScore`] under, to meet the
/// surrogate's column.
pub fn score_column_name(concept: &str) -> String {
    format!("{SCORE_PREFIX}{concept}")
}

/// The name of a detector channel's [`UnitColumn`], `unit:<layer>#<channel>`.
fn unit_column_name(layer: &str, channel: usize) -> String {
    format!("unit:{layer}#{channel}")
}

/// `functional_1_1/conv4_1_1/Relu:0` → `conv4_1_1`: the part of a tensor name a reader
/// recognises (the op's scope, without the framework's prefix and the op itself).
pub fn short_layer(layer: &str) -> String {
    let parts: Vec<&str> = layer.split('/').collect();
    if parts.len() >= 2 {
        parts[parts.len() - 2].to_owned()
    } else {
        layer.to_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    const LAYER: &str = "model/conv4/Relu:0";

    fn concept(feature: &str, state: &str, mask: Option<&str>) -> ConceptResult {
        ConceptResult {
            concept: format!("{feature}={state}"),
            feature: feature.to_owned(),
            state: state.to_owned(),
            mask: mask.map(str::to_owned),
            positives: 10,
            negatives: 10,
            skipped: None,
            layers: Vec::new(),
        }
    }

    fn channel(channel: usize, concepts: &[(&str, f64, Option<f64>)]) -> ChannelConcepts {
        ChannelConcepts {
            layer: LAYER.to_owned(),
            channel,
            concepts: concepts
                .iter()
                .map(|&(mask, iou, label_auc)| ChannelConcept {
                    mask: mask.to_owned(),
                    iou,
                    label_auc,
                })
                .collect(),
            responses: vec![channel as f64, 1.0 + channel as f64],
        }
    }

    /// Channel 0 overlaps necrosis most but tells fat; 1 overlaps fat and responds *less*
    /// with it; 2 overlaps only the lesion, which no label names.
    fn report() -> ConceptReport {
        ConceptReport {
            cases: vec!["a".into(), "b".into()],
            layers: Vec::new(),
            masks: vec!["lesion".into(), "necrosis".into(), "macroscopic_fat".into()],
            concepts: vec![
                concept("necrosis", "present", Some("necrosis")),
                concept("macroscopic_fat", "present", Some("macroscopic_fat")),
            ],
            channels: vec![
                channel(
                    0,
                    &[
                        ("necrosis", 0.3, Some(0.65)),
                        ("macroscopic_fat", 0.1, Some(0.9)),
                    ],
                ),
                channel(1, &[("macroscopic_fat", 0.2, Some(0.21))]),
                channel(2, &[("lesion", 0.4, None)]),
            ],
            tests: 0,
        }
    }

    #[test]
    fn a_channel_is_named_by_the_concept_its_response_tells_not_the_one_it_overlaps_most() {
        let report = report();
        let columns = report.unit_columns();
        assert_eq!(columns.len(), 1, "{columns:?}");
        let unit = &columns[0];
        assert_eq!(unit.name, "unit:model/conv4/Relu:0#0");
        assert_eq!(
            unit.label,
            "CNN's macroscopic fat detector (conv4 channel 0, IoU 0.10)"
        );
        assert_eq!(
            (unit.mask.as_str(), unit.values.clone()),
            ("macroscopic_fat", vec![0.0, 1.0])
        );
        assert_eq!(report.column_feature(&unit.name), Some("macroscopic_fat"));
        assert_eq!(report.column_feature("unit:model/conv4/Relu:0#1"), None);
        assert_eq!(
            report.column_feature("score:necrosis=present"),
            Some("necrosis")
        );
        assert_eq!(report.column_feature("size_cm"), None);
    }

    #[test]
    fn a_new_case_gets_the_named_channels_responses_and_a_stored_report_no_columns() {
        let report = report();
        let stats: Vec<explainme_onnx::ChannelStat> = (0..3)
            .map(|c| explainme_onnx::ChannelStat {
                mean: c as f32 + 0.5,
                max: 9.0,
            })
            .collect();
        let values = report.unit_responses(&[(LAYER, &stats)]).unwrap();
        assert_eq!(values, vec![("unit:model/conv4/Relu:0#0".to_owned(), 0.5)]);
        assert!(report.unit_responses(&[(LAYER, &stats[..0])]).is_err());
        assert!(
            report
                .unit_responses(&[("other", &stats)])
                .unwrap()
                .is_empty()
        );
        let stored = report.without_case_values();
        assert!(stored.unit_columns().is_empty());
        assert_eq!(
            stored.column_feature("unit:model/conv4/Relu:0#0"),
            Some("macroscopic_fat")
        );
    }
}
