//! Plain clinical English built only from an explanation's or a summary's own figures:
//! no sentence here states anything the numbers beside it do not show.

use crate::explainer::Explainer;
use crate::explanation::Explanation;
use crate::summary::KnowledgeSummary;

/// `macroscopic_fat=present` → `macroscopic fat present`; `size_cm=2-4` → `size 2-4 cm`;
/// `malignant=yes` → `malignant`; `cnn_malignant=no` → `CNN says benign`.
pub fn item_words(item: &str) -> String {
    let (feature, state) = item.split_once('=').unwrap_or((item, ""));
    match (feature, state) {
        ("malignant", "yes") => "malignant".to_owned(),
        ("malignant", "no") => "benign".to_owned(),
        ("cnn_malignant", "yes") => "CNN says malignant".to_owned(),
        ("cnn_malignant", "no") => "CNN says benign".to_owned(),
        ("cnn_correct", "no") => "CNN wrong".to_owned(),
        ("cnn_correct", "yes") => "CNN right".to_owned(),
        (f, "yes") => f.replace('_', " "),
        (f, "no") => format!("not {}", f.replace('_', " ")),
        (f, s) => match f.rsplit_once('_') {
            Some((stem, unit)) if ["cm", "mm", "ml", "hu"].contains(&unit) => {
                format!("{} {s} {unit}", stem.replace('_', " "))
            }
            _ => format!("{} {}", f.replace('_', " "), s.replace('_', " ")),
        },
    }
}

/// A variable's name in words: `size_cm` → `size`, `macroscopic_fat` → `macroscopic fat`,
/// `cnn_malignant` → `the CNN's verdict`, `malignant` → `malignancy`.
pub fn feature_words(name: &str) -> String {
    match name {
        "cnn_malignant" => "the CNN's verdict".to_owned(),
        "cnn_correct" => "whether the CNN is right".to_owned(),
        "malignant" => "malignancy".to_owned(),
        _ => match name.rsplit_once('_') {
            Some((stem, unit)) if ["cm", "mm", "ml", "hu"].contains(&unit) => {
                stem.replace('_', " ")
            }
            _ => name.replace('_', " "),
        },
    }
}

/// Items in words joined as a list: `macroscopic fat present and exophytic`.
pub fn items_words(items: &[String]) -> String {
    list(&items.iter().map(|i| item_words(i)).collect::<Vec<_>>())
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn percent(p: f64) -> String {
    format!("{:.0}%", 100.0 * p)
}

/// The case narrative: verdict and certainty, what the CNN sees, how the tree and the
/// network read the findings, what would change the answer, and the warnings.
pub fn case(ex: &Explainer, e: &Explanation) -> String {
    let mut s = Vec::new();
    s.push(format!(
        "The CNN calls this lesion {} (probability of malignancy {:.2}, {} after calibration); \
         its {} prediction set is {{{}}}.",
        e.verdict,
        e.probability,
        percent(e.calibrated_probability),
        percent(e.coverage),
        e.prediction_set.join(", ")
    ));
    let seen: Vec<String> = e
        .concepts
        .iter()
        .filter(|c| c.probability >= 0.7)
        .take(4)
        .map(|c| format!("{} ({:.2})", item_words(&c.concept), c.probability))
        .collect();
    if !seen.is_empty() {
        s.push(format!("In its activations it reads {}.", list(&seen)));
    }
    if let Some(h) = e
        .heatmap
        .as_ref()
        .filter(|h| explainme_saliency::positive_voxels(&h.values) == 0)
    {
        // No positive saliency anywhere: the map has nothing to point at, and grading its
        // curves against a random map would grade noise. Say why it is empty instead.
        let why = match (h.method.as_str(), h.faithfulness.blurred_score) {
            ("occlusion", _) => ": hiding no part of the image lowers the probability of its \
                                 verdict"
                .to_owned(),
            (_, Some(blurred)) => format!(
                ": no part of the image raises the probability of its verdict above the blurred \
                 image's {blurred:.2}"
            ),
            (_, None) => String::new(),
        };
        s.push(format!(
            "Its {} heatmap{} is empty{why}.",
            h.method,
            if h.fast { " (fast)" } else { "" }
        ));
    } else if let Some(h) = &e.heatmap {
        let mut heat = format!(
            "Its {} heatmap{} lowers the probability faster than a random map when the marked \
             regions are removed (deletion AUC {:.2} against {:.2})",
            h.method,
            if h.fast { " (fast)" } else { "" },
            h.faithfulness.deletion_auc,
            h.faithfulness.random_deletion_auc
        );
        if h.faithfulness.deletion_auc >= h.faithfulness.random_deletion_auc {
            heat = format!(
                "Its {} heatmap is no more faithful than a random map (deletion AUC {:.2} against {:.2})",
                h.method, h.faithfulness.deletion_auc, h.faithfulness.random_deletion_auc
            );
        }
        if let Some(mass) = h.faithfulness.lesion_mass {
            heat.push_str(&format!(
                "; {} of its mass lies inside the lesion",
                percent(mass)
            ));
        }
        s.push(heat + ".");
    }
    let path = if e.tree.conditions.is_empty() {
        "for every case".to_owned()
    } else {
        format!("because {}", e.tree.conditions.join(" and "))
    };
    s.push(format!(
        "A decision tree that mimics the CNN ({} agreement on held-out cases) says {} {path} \
         ({} of {} training cases in that leaf){}.",
        percent(e.tree.fidelity),
        e.tree.verdict,
        percent(e.tree.leaf_confidence),
        e.tree.leaf_cases,
        if e.tree.agrees_with_model {
            ""
        } else {
            ", unlike the CNN"
        }
    ));
    if let Some(rule) = e.rules_for_malignancy.first() {
        s.push(format!(
            "In this cohort, {} lesions were {} in {} of cases (lift {:.2}).",
            items_words(&rule.antecedent),
            item_words(&rule.consequent),
            percent(rule.confidence),
            rule.lift
        ));
    }
    let n = &e.network;
    if n.evidence.is_empty() {
        s.push(format!(
            "No clinician findings are known, so the Bayesian network has only the CNN's verdict: \
             P(malignant) = {:.2} (prior {:.2}).",
            n.p_malignant, n.prior
        ));
    } else {
        let mut text = format!(
            "Given the clinician findings and the CNN's verdict, the Bayesian network puts the \
             probability of malignancy at {:.2} (prior {:.2}; {:.2} from the findings alone)",
            n.p_malignant, n.prior, n.p_malignant_from_findings
        );
        if let Some(top) = n.sensitivity.iter().find(|f| f.change.abs() >= 0.01) {
            text.push_str(&format!(
                "; {} moves it most ({}{:.2})",
                item_words(&format!("{}={}", top.feature, top.state)),
                if top.change >= 0.0 { "+" } else { "" },
                top.change
            ));
        }
        s.push(text + ".");
    }
    if let Some(c) = &e.counterfactual {
        let changes: Vec<String> = c
            .changes
            .iter()
            .map(|(f, from, to)| match from {
                Some(from) => format!(
                    "{} {} instead of {}",
                    f.replace('_', " "),
                    to.replace('_', " "),
                    from.replace('_', " ")
                ),
                None => format!("{} {}", f.replace('_', " "), to.replace('_', " ")),
            })
            .collect();
        let flipped = match (c.network_flips, c.tree_flips) {
            (true, true) => format!(
                "would turn both the network (P(malignant) {:.2}) and the tree ({})",
                c.p_malignant_after, c.tree_verdict_after
            ),
            (true, false) => format!(
                "would turn the network (P(malignant) {:.2}), not the tree",
                c.p_malignant_after
            ),
            _ => format!(
                "would turn the tree ({}), not the network",
                c.tree_verdict_after
            ),
        };
        s.push(format!("{} {flipped}.", capitalise(&list(&changes))));
    }
    if let Some(nearest) = e.similar.first() {
        let malignant = e.similar.iter().filter(|c| c.malignant).count();
        s.push(format!(
            "Of the {} most similar cohort cases in the CNN's feature space, {malignant} {} \
             malignant (nearest: {}, {}).",
            e.similar.len(),
            if malignant == 1 { "was" } else { "were" },
            nearest.case_id,
            nearest.subtype.as_deref().map_or_else(
                || if nearest.malignant {
                    "malignant"
                } else {
                    "benign"
                }
                .to_owned(),
                |t| t.replace('_', " ")
            )
        ));
    }
    for flag in &e.flags {
        s.push(format!("Caution: {}.", flag.message));
    }
    let _ = ex;
    s.join(" ")
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// The cohort narrative: performance, reliance, errors, candidates.
pub fn summary(ex: &Explainer, k: &KnowledgeSummary) -> String {
    let mut paragraphs = Vec::new();
    let p = &k.performance;
    let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.3}"));
    let interval = p.auc_interval.map_or(String::new(), |(lo, hi)| {
        format!(" (95% CI {lo:.3}–{hi:.3})")
    });
    paragraphs.push(format!(
        "On {} held-out cases of {} the CNN reaches AUC {}{interval}, sensitivity {} and \
         specificity {} at p ≥ 0.5. Calibration lowers the Brier score from {:.3} to {:.3}; the \
         {} conformal sets hold the truth for {} of held-out cases and name one class for {}.",
        p.cases,
        k.cases,
        show(p.auc),
        show(p.sensitivity),
        show(p.specificity),
        p.brier_raw,
        p.brier_calibrated,
        percent(p.coverage_target),
        percent(p.conformal_coverage),
        percent(p.conformal_singletons),
    ));
    let worst: Vec<String> = {
        let mut by: Vec<_> = p.by_subtype.iter().filter(|(_, e)| e.cases >= 5).collect();
        by.sort_by(|a, b| b.1.error_rate.total_cmp(&a.1.error_rate));
        by.iter()
            .take(2)
            .map(|(name, e)| {
                format!(
                    "{} ({} of {} wrong)",
                    name.replace('_', " "),
                    e.errors,
                    e.cases
                )
            })
            .collect()
    };
    if !worst.is_empty() {
        paragraphs.push(format!("It errs most on {}.", list(&worst)));
    }
    let reliance: Vec<String> = ["cnn_malignant=yes", "cnn_malignant=no"]
        .iter()
        .filter_map(|target| k.rules.get(*target).and_then(|r| r.first()))
        .map(|r| {
            format!(
                "{} → {} ({} confidence, lift {:.2})",
                items_words(&r.antecedent),
                item_words(&r.consequent),
                percent(r.confidence),
                r.lift
            )
        })
        .collect();
    if !reliance.is_empty() {
        paragraphs.push(format!(
            "Its verdict follows clinician findings: {}. A surrogate tree of {} leaves mimics it \
             with {} agreement on held-out cases.",
            reliance.join("; "),
            k.tree.leaves,
            percent(k.tree.fidelity)
        ));
    }
    if let Some(blanket) = k.markov_blankets.get("malignant") {
        paragraphs.push(format!(
            "In the Bayesian network, malignancy is screened off from everything else by {}.",
            list(&blanket.iter().map(|b| feature_words(b)).collect::<Vec<_>>())
        ));
    }
    let strong: Vec<String> = k
        .concepts
        .iter()
        .filter(|c| c.probe_auc >= 0.85)
        .map(|c| format!("{} (AUC {:.2})", item_words(&c.concept), c.probe_auc))
        .collect();
    if !strong.is_empty() {
        paragraphs.push(format!("Its inner layers encode {}.", list(&strong)));
    }
    if let Some(rule) = k.errors.first() {
        paragraphs.push(format!(
            "Where it errs: {} cases are misread in {} of instances.",
            items_words(&rule.antecedent),
            percent(rule.confidence)
        ));
    }
    paragraphs.push(if k.candidates.is_empty() {
        format!(
            "No strong association outside the {} known ones was found.",
            k.known_associations
        )
    } else {
        format!(
            "{} association{} absent from the known list deserve{} a look, strongest: {} → {} \
             (lift {:.2}, adjusted p {:.1e}).",
            k.candidates.len(),
            if k.candidates.len() == 1 { "" } else { "s" },
            if k.candidates.len() == 1 { "s" } else { "" },
            items_words(&k.candidates[0].rule.antecedent),
            item_words(&k.candidates[0].rule.consequent),
            k.candidates[0].rule.lift,
            k.candidates[0].rule.fisher_p_adjusted
        )
    });
    let _ = ex;
    paragraphs.join("\n\n")
}
