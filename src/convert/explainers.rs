//! Explainers: parameters from the wire (zero = default), and explainers, explanations and
//! summaries back to it. The error mapping of explainme-explain lives here too.

use explainme_explain::rules::ClassRule;
use explainme_explain::{ExplainerParams, Explanation, KnowledgeSummary};
use explainme_saliency::Fill;
use explainme_store::ExplainerRecord;
use tonic::Status;

use crate::pb;

/// An explainme-explain error as a status: the caller's fault → INVALID_ARGUMENT, a
/// budget → RESOURCE_EXHAUSTED, anything else → INTERNAL.
pub fn explain_status(error: explainme_explain::Error) -> Status {
    if error.is_over_budget() {
        Status::resource_exhausted(error.to_string())
    } else if error.is_caller_error() {
        Status::invalid_argument(error.to_string())
    } else {
        tracing::error!(%error, "explainer failure");
        Status::internal(error.to_string())
    }
}

/// Wire parameters over the defaults, checked.
pub fn params(value: Option<pb::ExplainerParams>) -> Result<ExplainerParams, Status> {
    let mut params = explainme_explain::Explainer::params();
    let Some(p) = value else {
        return Ok(params);
    };
    if p.held_out_fraction != 0.0 {
        params.held_out = p.held_out_fraction;
    }
    params.seed = p.seed;
    if p.tree_max_depth != 0 {
        params.tree_max_depth = p.tree_max_depth as usize;
    }
    if p.tree_min_samples_leaf != 0 {
        params.tree_min_leaf = p.tree_min_samples_leaf as usize;
    }
    if p.rules_min_support != 0.0 {
        params.rules.min_support = p.rules_min_support;
    }
    if p.rules_min_confidence != 0.0 {
        params.rules.min_confidence = p.rules_min_confidence;
    }
    if p.rules_max_antecedent != 0 {
        params.rules.max_antecedent = p.rules_max_antecedent as usize;
    }
    match pb::StructureScore::try_from(p.bayes_score) {
        Ok(pb::StructureScore::Bdeu) => params.network.score = "bdeu".into(),
        Ok(_) => {}
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "params.bayes_score: unknown value {}",
                p.bayes_score
            )));
        }
    }
    if p.bayes_max_parents != 0 {
        params.network.max_parents = p.bayes_max_parents as usize;
    }
    params.saliency = match pb::SaliencyMethod::try_from(p.saliency) {
        Ok(pb::SaliencyMethod::Rise) => "rise",
        Ok(pb::SaliencyMethod::ScoreCam) => "scorecam",
        Ok(_) => "occlusion",
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "params.saliency: unknown value {}",
                p.saliency
            )));
        }
    }
    .into();
    if p.concept_permutations != 0 {
        params.permutations = p.concept_permutations as usize;
    }
    params.saliency_fill = match pb::OcclusionFill::try_from(p.occlusion_fill) {
        Ok(pb::OcclusionFill::Ring) => Fill::Ring.name(),
        Ok(pb::OcclusionFill::Soft) => Fill::Soft.name(),
        Ok(pb::OcclusionFill::Median | pb::OcclusionFill::Unspecified) => Fill::Median.name(),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "params.occlusion_fill: unknown value {}",
                p.occlusion_fill
            )));
        }
    }
    .into();
    params
        .check()
        .map_err(|e| Status::invalid_argument(format!("params: {e}")))?;
    Ok(params)
}

/// Parameters back to the wire, defaults filled in.
fn params_to_wire(p: &ExplainerParams) -> pb::ExplainerParams {
    pb::ExplainerParams {
        held_out_fraction: p.held_out,
        seed: p.seed,
        tree_max_depth: p.tree_max_depth as u32,
        tree_min_samples_leaf: p.tree_min_leaf as u32,
        rules_min_support: p.rules.min_support,
        rules_min_confidence: p.rules.min_confidence,
        rules_max_antecedent: p.rules.max_antecedent as u32,
        bayes_score: if p.network.score == "bdeu" {
            pb::StructureScore::Bdeu
        } else {
            pb::StructureScore::Bic
        }
        .into(),
        bayes_max_parents: p.network.max_parents as u32,
        saliency: match p.saliency.as_str() {
            "rise" => pb::SaliencyMethod::Rise,
            "scorecam" => pb::SaliencyMethod::ScoreCam,
            _ => pb::SaliencyMethod::Occlusion,
        }
        .into(),
        concept_permutations: p.permutations as u32,
        occlusion_fill: occlusion_fill(&p.saliency_fill).into(),
    }
}

/// A fill's name (`ExplainerParams::saliency_fill`, `HeatmapReading::fill`) on the wire; a
/// name `Fill::from_name` does not know cannot have passed `ExplainerParams::check`, and
/// reads as the default.
fn occlusion_fill(name: &str) -> pb::OcclusionFill {
    match Fill::from_name(name) {
        Ok(Fill::Ring) => pb::OcclusionFill::Ring,
        Ok(Fill::Soft) => pb::OcclusionFill::Soft,
        Ok(Fill::Median) | Err(_) => pb::OcclusionFill::Median,
    }
}

/// A stored explainer's record as ExplainerInfo.
pub fn info(record: &ExplainerRecord) -> pb::ExplainerInfo {
    let params: Option<ExplainerParams> = serde_json::from_str(&record.params_json).ok();
    let layers: Vec<String> = serde_json::from_str(&record.layers_json).unwrap_or_default();
    pb::ExplainerInfo {
        explainer_id: record.id.clone(),
        model_id: record.model_id.clone(),
        cohort: record.cohort.clone(),
        version: record.version,
        feature_layers: layers,
        params: params.as_ref().map(params_to_wire),
        fit_cases: record.fit_cases,
        held_out_cases: record.held_out_cases,
        created_at: record.created_at.clone(),
    }
}

fn matched(rule: &ClassRule) -> pb::MatchedRule {
    pb::MatchedRule {
        antecedent: rule.antecedent.clone(),
        consequent: rule.consequent.clone(),
        support: rule.support,
        confidence: rule.confidence,
        lift: rule.lift,
        leverage: rule.leverage,
        conviction: rule.conviction.unwrap_or(f64::INFINITY),
    }
}

/// An explanation on the wire: the typed essentials plus the whole document as JSON.
pub fn explanation(e: &Explanation) -> pb::Explanation {
    let known: std::collections::BTreeMap<&str, &str> = e
        .network
        .evidence
        .iter()
        .filter_map(|item| item.split_once('='))
        .collect();
    pb::Explanation {
        case_ref: e.case_ref.clone(),
        probability: e.probability,
        verdict: e.verdict.clone(),
        concepts: e
            .concepts
            .iter()
            .map(|c| pb::ConceptScore {
                concept: c.concept.clone(),
                score: c.probability,
                labelled_state: c.labelled_state.clone().unwrap_or_default(),
            })
            .collect(),
        surrogate: Some(pb::SurrogatePath {
            conditions: e.tree.conditions.clone(),
            verdict: e.tree.verdict.clone(),
            leaf_purity: e.tree.leaf_confidence,
            leaf_cases: e.tree.leaf_cases as u32,
            agrees_with_model: e.tree.agrees_with_model,
        }),
        rules: e
            .rules_for_malignancy
            .iter()
            .chain(&e.rules_for_verdict)
            .map(matched)
            .collect(),
        posteriors: vec![pb::Posterior {
            variable: explainme_explain::findings::TRUTH.to_owned(),
            states: vec!["yes".into(), "no".into()],
            probabilities: vec![e.network.p_malignant, 1.0 - e.network.p_malignant],
        }],
        heatmap: e.heatmap.as_ref().map(|h| pb::Heatmap {
            method: match h.method.as_str() {
                "rise" => pb::SaliencyMethod::Rise,
                "scorecam" => pb::SaliencyMethod::ScoreCam,
                _ => pb::SaliencyMethod::Occlusion,
            }
            .into(),
            values: Some(pb::FloatTensor {
                shape: h.shape.iter().map(|&d| d as u64).collect(),
                data: h.values.clone(),
            }),
            mass_in_lesion: h.faithfulness.lesion_mass.unwrap_or(-1.0),
            deletion_auc: h.faithfulness.deletion_auc,
            insertion_auc: h.faithfulness.insertion_auc,
            random_deletion_auc: h.faithfulness.random_deletion_auc,
            fast: h.fast,
            fill: h
                .fill
                .as_deref()
                .map_or(pb::OcclusionFill::Unspecified, occlusion_fill)
                .into(),
            random_insertion_auc: h.faithfulness.random_insertion_auc,
            forward_passes: h.forward_passes as u64,
            blurred_score: h.faithfulness.blurred_score.unwrap_or(-1.0),
            median_score: h.faithfulness.median_score.unwrap_or(-1.0),
        }),
        narrative: e.narrative.clone(),
        calibrated_probability: e.calibrated_probability,
        prediction_set: e.prediction_set.clone(),
        coverage: e.coverage,
        flags: e
            .flags
            .iter()
            .map(|f| pb::Flag {
                kind: f.kind.clone(),
                message: f.message.clone(),
            })
            .collect(),
        similar_cases: e
            .similar
            .iter()
            .map(|s| pb::SimilarCase {
                case_id: s.case_id.clone(),
                distance: s.distance,
                malignant: s.malignant,
                subtype: s.subtype.clone().unwrap_or_default(),
                probability: s.probability,
            })
            .collect(),
        counterfactual: e
            .counterfactual
            .as_ref()
            .map(|c| {
                let changes: Vec<String> = c
                    .changes
                    .iter()
                    .map(|(f, from, to)| {
                        format!(
                            "{f}: {} -> {to}",
                            from.as_deref()
                                .or(known.get(f.as_str()).copied())
                                .unwrap_or("unknown")
                        )
                    })
                    .collect();
                format!(
                    "{} (network P(malignant) {:.3}{}, tree {}{})",
                    changes.join(", "),
                    c.p_malignant_after,
                    if c.network_flips { ", flips" } else { "" },
                    c.tree_verdict_after,
                    if c.tree_flips { ", flips" } else { "" }
                )
            })
            .unwrap_or_default(),
        explanation_json: serde_json::to_string(e).unwrap_or_default(),
    }
}

/// A knowledge summary on the wire.
pub fn summary(record: &ExplainerRecord, s: &KnowledgeSummary) -> pb::KnowledgeSummary {
    let p = &s.performance;
    let mut rules: Vec<pb::MatchedRule> = Vec::new();
    for target in [
        "malignant=yes",
        "malignant=no",
        "cnn_malignant=yes",
        "cnn_malignant=no",
    ] {
        rules.extend(s.rules.get(target).into_iter().flatten().map(matched));
    }
    pb::KnowledgeSummary {
        explainer: Some(info(record)),
        performance: Some(pb::ModelPerformance {
            auc: p.auc.unwrap_or(f64::NAN),
            sensitivity: p.sensitivity.unwrap_or(f64::NAN),
            specificity: p.specificity.unwrap_or(f64::NAN),
            cases: p.cases as u32,
            auc_ci_low: p.auc_interval.map_or(f64::NAN, |i| i.0),
            auc_ci_high: p.auc_interval.map_or(f64::NAN, |i| i.1),
        }),
        surrogate_fidelity: s.tree.fidelity,
        surrogate_depth: s.tree.depth as u32,
        surrogate_leaves: s.tree.leaves as u32,
        surrogate_rules: s
            .tree
            .rules
            .iter()
            .map(|r| pb::SurrogatePath {
                conditions: r.conditions.clone(),
                verdict: r.verdict.clone(),
                leaf_purity: r.confidence,
                leaf_cases: r.cases as u32,
                agrees_with_model: true,
            })
            .collect(),
        rules,
        network_edges: s
            .arcs
            .iter()
            .map(|a| pb::NetworkEdge {
                from: a.from.clone(),
                to: a.to.clone(),
                strength: a.strength,
            })
            .collect(),
        concepts: s
            .concepts
            .iter()
            .map(|c| pb::ConceptAlignment {
                concept: c.concept.clone(),
                layer: c
                    .best_channel
                    .as_ref()
                    .map_or(&c.layer, |b| &b.layer)
                    .clone(),
                channel: c.best_channel.as_ref().map_or(0, |b| b.channel as u32),
                probe_auc: c.probe_auc,
                iou: c.best_channel.as_ref().map_or(-1.0, |b| b.iou),
                probe_layer: c.layer.clone(),
                channel_label_auc: c.best_channel.as_ref().and_then(|b| b.label_auc),
            })
            .collect(),
        narrative: s.narrative.clone(),
        candidates: s.candidates.iter().map(|c| matched(&c.rule)).collect(),
        markov_blankets: s
            .markov_blankets
            .iter()
            .map(|(v, b)| pb::MarkovBlanket {
                variable: v.clone(),
                blanket: b.clone(),
            })
            .collect(),
        error_rules: s.errors.iter().map(matched).collect(),
        summary_json: serde_json::to_string(s).unwrap_or_default(),
        // Filled by the caller, which holds the store.
        feedback: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_occlusion_fill_crosses_the_wire_both_ways() {
        for (fill, name) in [
            (pb::OcclusionFill::Ring, "ring"),
            (pb::OcclusionFill::Soft, "soft"),
        ] {
            let wire = pb::ExplainerParams {
                occlusion_fill: fill.into(),
                ..Default::default()
            };
            let read = params(Some(wire)).unwrap();
            assert_eq!(read.saliency_fill, name);
            assert_eq!(params_to_wire(&read).occlusion_fill(), fill);
        }
        let unset = params(Some(pb::ExplainerParams::default())).unwrap();
        assert_eq!(unset.saliency_fill, "median");
        let unknown = pb::ExplainerParams {
            occlusion_fill: 7,
            ..Default::default()
        };
        assert_eq!(
            params(Some(unknown)).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }
}
