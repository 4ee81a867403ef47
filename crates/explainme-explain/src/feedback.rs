//! What clinicians say of an explainer's explanations, summarised: agreement per explanation
//! part, and the concordance between the features clinicians say determined their reading and
//! the features the CNN relies on — those the surrogate tree splits on (clinician labels or the
//! CNN's concept scores), those whose concept TCAV finds significant, and those in the Markov
//! blanket of the CNN's verdict in the learned network.
//!
//! Feedback is stored by the service; this module only reads it, so a CLI or a notebook that
//! gathers feedback elsewhere summarises it the same way.

use std::collections::BTreeMap;

use explainme_tree::Rendering;
use serde::{Deserialize, Serialize};

use explainme_cohort::{CNN_VERDICT, Role};

use crate::Explainer;

/// The parts of an explanation a clinician can judge, as the workbench and the API name them.
pub const PARTS: [&str; 8] = [
    "verdict",
    "heatmap",
    "concepts",
    "rule",
    "network",
    "counterfactual",
    "similar_cases",
    "narrative",
];

/// What a clinician can say of a part.
pub const JUDGEMENTS: [&str; 3] = ["agree", "disagree", "unclear"];

/// TCAV scores with a p-value below this count as the CNN relying on the concept.
const TCAV_SIGNIFICANCE: f64 = 0.05;

/// One piece of feedback, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Judgement<'a> {
    pub part: &'a str,
    pub judgement: &'a str,
    /// The features that determined the clinician's reading (may be empty).
    pub determining: &'a [String],
}

/// Agreement with one part of the explanations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartAgreement {
    pub part: String,
    pub agree: usize,
    pub disagree: usize,
    pub unclear: usize,
}

impl PartAgreement {
    /// Share of judgements that agree; `None` before any.
    pub fn agreement(&self) -> Option<f64> {
        let all = self.agree + self.disagree + self.unclear;
        (all > 0).then(|| self.agree as f64 / all as f64)
    }
}

/// One clinician feature: how often clinicians name it and whether the CNN relies on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureReliance {
    pub feature: String,
    /// Feedback entries naming it as determining.
    pub named: usize,
    pub by_tree: bool,
    pub by_tcav: bool,
    pub by_network: bool,
}

impl FeatureReliance {
    pub fn cnn_relies(&self) -> bool {
        self.by_tree || self.by_tcav || self.by_network
    }
}

/// The summary of an explainer's feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackSummary {
    pub entries: usize,
    /// Every part of [`PARTS`], in that order.
    pub parts: Vec<PartAgreement>,
    /// Every clinician feature of the schema, in schema order.
    pub features: Vec<FeatureReliance>,
    /// Mean Jaccard index between an entry's determining features and the features the CNN
    /// relies on, over entries that name any; `None` when none does.
    pub concordance: Option<f64>,
}

impl Explainer {
    /// The clinician features the CNN relies on, each with where that shows: (tree, TCAV,
    /// network).
    pub fn relied_features(&self) -> BTreeMap<String, (bool, bool, bool)> {
        let features: Vec<&str> = self
            .schema
            .features
            .iter()
            .filter(|f| f.role != Role::Truth)
            .map(|f| f.name.as_str())
            .collect();
        let mut relied: BTreeMap<String, (bool, bool, bool)> = BTreeMap::new();
        let tree = &self.surrogate.cnn.tree;
        for node in &tree.nodes {
            let Some(split) = &node.split else { continue };
            let Some(column) = tree.columns.get(split.column) else {
                continue;
            };
            let feature = match &column.rendering {
                Rendering::Indicator { feature, .. } | Rendering::Ordinal { feature, .. } => {
                    feature.as_str()
                }
                // A concept column (a probe's score, a detector channel's response)
                // reads the feature of its concept; a measured feature's column is the
                // feature itself.
                Rendering::Number { .. } => self
                    .concepts
                    .column_feature(&column.name)
                    .unwrap_or(column.name.as_str()),
            };
            if features.contains(&feature) {
                relied.entry(feature.to_owned()).or_default().0 = true;
            }
        }
        for concept in &self.concepts.concepts {
            let significant = concept
                .layers
                .iter()
                .filter_map(|l| l.tcav.as_ref())
                .any(|t| t.p_value < TCAV_SIGNIFICANCE);
            if significant && features.contains(&concept.feature.as_str()) {
                relied.entry(concept.feature.clone()).or_default().1 = true;
            }
        }
        if let Some(blanket) = self.network.markov_blankets.get(CNN_VERDICT) {
            for variable in blanket {
                if features.contains(&variable.as_str()) {
                    relied.entry(variable.clone()).or_default().2 = true;
                }
            }
        }
        relied
    }

    /// Summarises `feedback` on this explainer's explanations.
    pub fn feedback_summary(&self, feedback: &[Judgement<'_>]) -> FeedbackSummary {
        let parts = PARTS
            .iter()
            .map(|&part| {
                let count = |judgement: &str| {
                    feedback
                        .iter()
                        .filter(|f| f.part == part && f.judgement == judgement)
                        .count()
                };
                PartAgreement {
                    part: part.to_owned(),
                    agree: count("agree"),
                    disagree: count("disagree"),
                    unclear: count("unclear"),
                }
            })
            .collect();
        let relied = self.relied_features();
        let features = self
            .schema
            .features
            .iter()
            .filter(|f| f.role != Role::Truth)
            .map(|f| {
                let (by_tree, by_tcav, by_network) =
                    relied.get(&f.name).copied().unwrap_or_default();
                FeatureReliance {
                    feature: f.name.clone(),
                    named: feedback
                        .iter()
                        .filter(|e| e.determining.contains(&f.name))
                        .count(),
                    by_tree,
                    by_tcav,
                    by_network,
                }
            })
            .collect();
        let jaccards: Vec<f64> = feedback
            .iter()
            .filter(|e| !e.determining.is_empty())
            .map(|e| {
                let named: std::collections::BTreeSet<&str> =
                    e.determining.iter().map(String::as_str).collect();
                let cnn: std::collections::BTreeSet<&str> =
                    relied.keys().map(String::as_str).collect();
                let union = named.union(&cnn).count();
                if union == 0 {
                    0.0
                } else {
                    named.intersection(&cnn).count() as f64 / union as f64
                }
            })
            .collect();
        FeedbackSummary {
            entries: feedback.len(),
            parts,
            features,
            concordance: (!jaccards.is_empty())
                .then(|| jaccards.iter().sum::<f64>() / jaccards.len() as f64),
        }
    }
}
