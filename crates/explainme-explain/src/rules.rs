//! Class association rules over the findings table: which findings go with an outcome
//! (malignancy, the CNN's verdict, the CNN's errors), with every measure and a significance
//! test, kept as plain strings so a stored Explainer needs no item table to be read.

use explainme_cohort::Table;
use explainme_rules::{AssociationRules, FpGrowth, Transactions};
use serde::{Deserialize, Serialize};

use crate::Result;

/// One rule `antecedent ⇒ consequent` with its measures (mlxtend's names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassRule {
    /// `feature=state` items, all of which the case must have.
    pub antecedent: Vec<String>,
    /// `column=state`.
    pub consequent: String,
    pub antecedent_support: f64,
    pub consequent_support: f64,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
    pub representativity: f64,
    pub leverage: f64,
    /// `None` for an infinite conviction (confidence 1), which JSON cannot hold.
    pub conviction: Option<f64>,
    pub zhangs_metric: f64,
    pub jaccard: f64,
    pub certainty: f64,
    pub kulczynski: f64,
    /// One-sided Fisher exact p-value for a positive association.
    pub fisher_p: f64,
    /// Benjamini–Hochberg adjusted over the rules mined with it.
    pub fisher_p_adjusted: f64,
    /// Cases with antecedent and consequent.
    pub count: u32,
    /// Cases with the antecedent.
    pub antecedent_count: u32,
}

impl ClassRule {
    /// Whether a case with these `feature=state` items satisfies the antecedent.
    pub fn matches(&self, items: &[String]) -> bool {
        self.antecedent.iter().all(|a| items.contains(a))
    }

    /// The order of a summary: the most significant association first (smallest one-sided
    /// Fisher p), then the higher lift. Lift alone cannot rank rules for a common outcome
    /// (it saturates at 1 / P(outcome): every rule with confidence 1 ties, however few cases
    /// it covers), nor confidence alone (small perfect rules crowd out the findings that
    /// explain most cases); the exact test weighs both.
    pub fn by_strength(a: &ClassRule, b: &ClassRule) -> std::cmp::Ordering {
        a.fisher_p
            .total_cmp(&b.fisher_p)
            .then(b.lift.total_cmp(&a.lift))
            .then_with(|| a.antecedent.cmp(&b.antecedent))
    }

    /// `IF a AND b THEN c`.
    pub fn text(&self) -> String {
        format!(
            "IF {} THEN {}",
            self.antecedent.join(" AND "),
            self.consequent
        )
    }

    /// The CSV header: `antecedents`, `consequents`, explainme-rules' metric names
    /// (mlxtend 0.25's `association_rules` columns, then `fisher_p` and `fisher_p_bh`),
    /// then `count`.
    pub fn csv_header() -> Vec<&'static str> {
        let mut header = vec!["antecedents", "consequents"];
        header.extend(explainme_rules::Rule::METRIC_NAMES);
        header.push("count");
        header
    }

    /// The rule on one line for a terminal: `IF … THEN …  (support, confidence, lift,
    /// adjusted p)`.
    pub fn line(&self) -> String {
        format!(
            "IF {} THEN {}  (support {:.1}%, confidence {:.1}%, lift {:.2}, adjusted p {:.1e})",
            self.antecedent.join(" AND "),
            self.consequent,
            100.0 * self.support,
            100.0 * self.confidence,
            self.lift,
            self.fisher_p_adjusted
        )
    }

    /// One CSV row in [`ClassRule::csv_header`] order; itemsets as mlxtend prints them
    /// (`frozenset({'a=x', 'b=y'})`), an infinite conviction as `inf`.
    pub fn csv_row(&self) -> Vec<String> {
        let set = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
            format!("frozenset({{{}}})", quoted.join(", "))
        };
        vec![
            set(&self.antecedent),
            set(std::slice::from_ref(&self.consequent)),
            self.antecedent_support.to_string(),
            self.consequent_support.to_string(),
            self.support.to_string(),
            self.confidence.to_string(),
            self.lift.to_string(),
            self.representativity.to_string(),
            self.leverage.to_string(),
            self.conviction.map_or("inf".to_owned(), |c| c.to_string()),
            self.zhangs_metric.to_string(),
            self.jaccard.to_string(),
            self.certainty.to_string(),
            self.kulczynski.to_string(),
            self.fisher_p.to_string(),
            self.fisher_p_adjusted.to_string(),
            self.count.to_string(),
        ]
    }
}

/// The index of conviction in `explainme_rules::Rule::metrics`: infinite for a rule that
/// always holds, which [`ClassRule::conviction`] keeps as `None`.
const CONVICTION: usize = 7;

/// How class rules are mined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleParams {
    pub min_support: f64,
    pub min_confidence: f64,
    /// Most items in an antecedent.
    pub max_antecedent: usize,
    /// Largest BH-adjusted Fisher p kept.
    pub alpha: f64,
}

/// Class rules whose consequent is one of `outcomes` (`column`, `state`) and whose
/// antecedent uses only `antecedents`: non-redundant, significant (BH-adjusted Fisher p <
/// `alpha`) and positively associated (lift > 1), strongest lift first.
pub fn class_rules(
    table: &Table,
    antecedents: &[String],
    outcomes: &[(&str, &str)],
    params: &RuleParams,
) -> Result<Vec<ClassRule>> {
    let mut names: Vec<&str> = antecedents.iter().map(String::as_str).collect();
    for &(column, _) in outcomes {
        if !names.contains(&column) {
            names.push(column);
        }
    }
    let selected = table.select(&names)?;
    let transactions =
        Transactions::from_rows(selected.columns(), selected.rows().iter().cloned())?;
    // An outcome no case has (a CNN that never errs on this cohort) has no rules.
    let targets: Vec<_> = outcomes
        .iter()
        .filter_map(|&(column, state)| transactions.item_id(column, state).ok())
        .collect();
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let itemsets = FpGrowth::params()
        .min_support(params.min_support)
        .max_len(Some(params.max_antecedent + 1))
        .mine(&transactions)?;
    let mut rules = AssociationRules::params()
        .min_confidence(params.min_confidence)
        .targets(targets)
        .prune_redundant(true)
        .generate(&itemsets, &transactions)?;
    // A rule whose measures are undefined (0/0: an antecedent every case has, an outcome
    // every case has) says nothing, and a NaN would not survive the artefact's JSON.
    rules.retain(|r| {
        r.lift > 1.0
            && r.fisher_p_adjusted < params.alpha
            && r.metrics()
                .iter()
                .enumerate()
                .all(|(i, m)| m.is_finite() || i == CONVICTION)
    });
    let label = |id| transactions.label(id).to_string();
    let mut out: Vec<ClassRule> = rules
        .iter()
        .filter(|r| r.consequent.len() == 1)
        .map(|r| ClassRule {
            antecedent: r.antecedent.iter().map(|&id| label(id)).collect(),
            consequent: label(r.consequent[0]),
            antecedent_support: r.antecedent_support,
            consequent_support: r.consequent_support,
            support: r.support,
            confidence: r.confidence,
            lift: r.lift,
            representativity: r.representativity,
            leverage: r.leverage,
            conviction: r.conviction.is_finite().then_some(r.conviction),
            zhangs_metric: r.zhangs_metric,
            jaccard: r.jaccard,
            certainty: r.certainty,
            kulczynski: r.kulczynski,
            fisher_p: r.fisher_p,
            fisher_p_adjusted: r.fisher_p_adjusted,
            count: r.count,
            antecedent_count: r.antecedent_count,
        })
        .collect();
    out.sort_by(|a, b| {
        b.lift
            .total_cmp(&a.lift)
            .then(b.support.total_cmp(&a.support))
            .then_with(|| a.antecedent.cmp(&b.antecedent))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conviction_is_where_the_rules_crate_puts_it() {
        assert_eq!(
            explainme_rules::Rule::METRIC_NAMES[CONVICTION],
            "conviction"
        );
        let header = ClassRule::csv_header();
        assert_eq!(header.len(), 17);
        assert_eq!(
            &header[..3],
            ["antecedents", "consequents", "antecedent support"]
        );
    }
}
