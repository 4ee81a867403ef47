//! What an Explainer learnt about its cohort, for clinicians and researchers: how good the
//! CNN is, what it relies on, where it errs, and what may be new.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evaluation::{CalibrationBin, SubtypeErrors};
use crate::explainer::Explainer;
use crate::known::{KnownAssociation, Standing, standing};
use crate::narrative;
use crate::network::Arc;
use crate::rules::ClassRule;

/// The CNN's performance on the held-out cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CnnPerformance {
    pub cases: usize,
    pub auc: Option<f64>,
    pub auc_interval: Option<(f64, f64)>,
    pub sensitivity: Option<f64>,
    pub specificity: Option<f64>,
    pub accuracy: f64,
    pub by_subtype: BTreeMap<String, SubtypeErrors>,
    pub calibration: Vec<CalibrationBin>,
    pub brier_raw: f64,
    pub brier_calibrated: f64,
    pub conformal_coverage: f64,
    pub conformal_singletons: f64,
    pub coverage_target: f64,
}

/// One rule per surrogate leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeRule {
    pub conditions: Vec<String>,
    pub verdict: String,
    pub cases: usize,
    pub confidence: f64,
}

/// The surrogate tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeSummary {
    /// Held-out agreement with the CNN's verdict.
    pub fidelity: f64,
    pub training_fidelity: f64,
    pub depth: usize,
    pub leaves: usize,
    pub rules: Vec<TreeRule>,
}

/// One concept ↔ filter row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptRow {
    pub concept: String,
    pub layer: String,
    pub probe_auc: f64,
    pub p_adjusted: f64,
    /// The detector channel with the best IoU with the concept's masks, over every layer.
    pub best_channel: Option<BestChannel>,
    /// TCAV score and its p-value against random directions, where TCAV ran.
    pub tcav: Option<(f64, f64)>,
}

/// A concept's best detector channel ([`explainme_concepts::Detector`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestChannel {
    /// Its layer, which need not be the probe's.
    pub layer: String,
    pub channel: usize,
    /// IoU of its top activations with the concept's masks.
    pub iou: f64,
    /// ROC AUC of its response for the concept's labels, when measured.
    pub label_auc: Option<f64>,
}

/// A candidate new association with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub rule: ClassRule,
    pub standing: Standing,
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeSummary {
    pub cases: usize,
    pub held_out_cases: usize,
    pub performance: CnnPerformance,
    pub tree: TreeSummary,
    /// Top rules per target (`malignant=yes`, `malignant=no`, the CNN's two verdicts,
    /// `cnn_correct=no`): rules made of findings only, the most significant first
    /// ([`ClassRule::by_strength`]).
    pub rules: BTreeMap<String, Vec<ClassRule>>,
    pub arcs: Vec<Arc>,
    pub markov_blankets: BTreeMap<String, Vec<String>>,
    pub concepts: Vec<ConceptRow>,
    /// Findings where the CNN errs (rules with consequent `cnn_correct=no`).
    pub errors: Vec<ClassRule>,
    /// Strong, significant malignancy rules not in the known list.
    pub candidates: Vec<Candidate>,
    /// Mined rules that contradict the known list (shown, never counted as new knowledge).
    pub contradictions: Vec<Candidate>,
    /// How many associations the known list held.
    pub known_associations: usize,
    pub narrative: String,
}

impl Explainer {
    /// Whether every item of the rule's antecedent is a finding rather than its absence:
    /// the first state of a two-state categorical feature is the absence by the schema's
    /// convention (`macroscopic_fat=absent`, `exophytic=no`, `margin=well_defined`). Rules
    /// padded with absences ("fat absent, scar absent and necrosis → malignant") say the
    /// same as the rule without them and crowd out the findings clinicians look for, so
    /// the summary ranks only rules made of findings; exports keep every rule.
    pub(crate) fn positive_findings(&self, rule: &ClassRule) -> bool {
        rule.antecedent.iter().all(|item| {
            let (feature, state) = item.split_once('=').unwrap_or((item, ""));
            match self.schema.feature(feature).map(|f| &f.kind) {
                Ok(explainme_cohort::FeatureKind::Categorical { states }) if states.len() == 2 => {
                    states[0] != state
                }
                _ => true,
            }
        })
    }
}

/// Candidates must be at least this strong.
const CANDIDATE_MIN_LIFT: f64 = 1.2;
const CANDIDATE_MAX_P: f64 = 0.01;

impl Explainer {
    /// The knowledge summary, at most `max_rules` rules per target, candidates judged
    /// against `known`.
    pub fn summary(&self, max_rules: usize, known: &[KnownAssociation]) -> KnowledgeSummary {
        let p = &self.performance;
        let e = &p.held_out;
        let performance = CnnPerformance {
            cases: e.cases,
            auc: e.auc,
            auc_interval: p.auc_interval,
            sensitivity: e.sensitivity,
            specificity: e.specificity,
            accuracy: e.accuracy,
            by_subtype: e.by_subtype.clone(),
            calibration: p.calibration.clone(),
            brier_raw: p.brier_raw,
            brier_calibrated: p.brier_calibrated,
            conformal_coverage: p.conformal_coverage,
            conformal_singletons: p.conformal_singletons,
            coverage_target: self.params.coverage,
        };
        let s = &self.surrogate;
        let tree = TreeSummary {
            fidelity: s.fidelity.agreement,
            training_fidelity: s.fidelity.training_agreement,
            depth: s.cnn.depth,
            leaves: s.cnn.leaves,
            rules: s
                .cnn
                .rules
                .iter()
                .map(|r| TreeRule {
                    conditions: r.conditions.clone(),
                    verdict: r.verdict.clone(),
                    cases: r.cases,
                    confidence: r.confidence,
                })
                .collect(),
        };
        let mut rules: BTreeMap<String, Vec<ClassRule>> = BTreeMap::new();
        for rule in self.rules.all().filter(|r| self.positive_findings(r)) {
            rules
                .entry(rule.consequent.clone())
                .or_default()
                .push(rule.clone());
        }
        for list in rules.values_mut() {
            list.sort_by(ClassRule::by_strength);
            list.truncate(max_rules);
        }
        let concepts = self
            .concepts
            .concepts
            .iter()
            .filter_map(|c| {
                let best = c.best_layer()?;
                Some(ConceptRow {
                    concept: c.concept.clone(),
                    layer: best.layer.clone(),
                    probe_auc: best.held_out_auc,
                    p_adjusted: best.p_adjusted,
                    best_channel: c
                        .layers
                        .iter()
                        .flat_map(|l| l.detectors.first().map(|d| (l, d)))
                        .max_by(|a, b| a.1.iou.total_cmp(&b.1.iou))
                        .map(|(l, d)| BestChannel {
                            layer: l.layer.clone(),
                            channel: d.channel,
                            iou: d.iou,
                            label_auc: d.label_auc,
                        }),
                    tcav: c
                        .layers
                        .iter()
                        .find_map(|l| l.tcav.as_ref().map(|t| (t.score, t.p_value))),
                })
            })
            .collect();
        let mut candidates = Vec::new();
        let mut contradictions = Vec::new();
        let mut malignancy: Vec<&ClassRule> = self
            .rules
            .malignancy
            .iter()
            .filter(|r| self.positive_findings(r))
            .collect();
        malignancy.sort_by(|a, b| ClassRule::by_strength(a, b));
        for rule in malignancy {
            let standing = standing(rule, known);
            let strong =
                rule.lift >= CANDIDATE_MIN_LIFT && rule.fisher_p_adjusted < CANDIDATE_MAX_P;
            match standing {
                Standing::New if strong => candidates.push(Candidate {
                    rule: rule.clone(),
                    standing,
                }),
                Standing::Contradicts => contradictions.push(Candidate {
                    rule: rule.clone(),
                    standing,
                }),
                _ => {}
            }
        }
        candidates.truncate(max_rules);
        let mut errors: Vec<ClassRule> = self
            .rules
            .errors
            .iter()
            .filter(|r| self.positive_findings(r))
            .cloned()
            .collect();
        errors.sort_by(ClassRule::by_strength);
        errors.truncate(max_rules);
        let mut summary = KnowledgeSummary {
            cases: self.cases,
            held_out_cases: self.held_out_cases,
            performance,
            tree,
            rules,
            arcs: self.network.arcs.clone(),
            markov_blankets: self.network.markov_blankets.clone(),
            concepts,
            errors,
            candidates,
            contradictions,
            known_associations: known.len(),
            narrative: String::new(),
        };
        summary.narrative = narrative::summary(self, &summary);
        summary
    }
}
