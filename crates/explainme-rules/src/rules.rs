//! Association rules from frequent itemsets, with every metric mlxtend 0.25 reports, Fisher's
//! exact p-value and its Benjamini–Hochberg adjustment; class association rules; pruning.
//!
//! Metrics are computed from supports (`count / n`) with mlxtend's own expressions, so that
//! the same rules pass the same thresholds and the values agree to the last bits:
//!
//! | metric | formula (sA, sC, sAC supports) | edge case |
//! |---|---|---|
//! | confidence | sAC·n / (sA·n) | |
//! | lift | confidence / sC | |
//! | representativity | 1 (no missing values in transactions) | |
//! | leverage | sAC − sA·sC | |
//! | conviction | (1 − sC) / (1 − confidence) | `+inf` when confidence = 1 |
//! | zhangs_metric | leverage / max(sAC(1 − sA), sA(sC − sAC)) | 0 when the maximum is 0 |
//! | jaccard | sAC / (sA + sC − sAC) | |
//! | certainty | (confidence − sC) / (1 − sC) | 0 when sC = 1 |
//! | kulczynski | (sAC/sA + sAC/sC) / 2 | |
//!
//! Fisher's p-value is one-sided, for *positive* association (see
//! [`crate::stats::fisher_greater`]); the adjustment runs over the rules returned.

use serde::Serialize;

use crate::error::fraction;
use crate::itemset::{FrequentItemsets, ItemsetKind, SupportIndex, filter_kind};
use crate::stats::{benjamini_hochberg, fisher_greater};
use crate::{Error, ItemId, Result, Transactions};

/// One rule `antecedent → consequent` with its counts and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub antecedent: Vec<ItemId>,
    pub consequent: Vec<ItemId>,
    pub antecedent_count: u32,
    pub consequent_count: u32,
    /// Transactions that contain antecedent and consequent.
    pub count: u32,
    pub antecedent_support: f64,
    pub consequent_support: f64,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
    pub representativity: f64,
    pub leverage: f64,
    /// `+inf` when the confidence is 1.
    pub conviction: f64,
    pub zhangs_metric: f64,
    pub jaccard: f64,
    pub certainty: f64,
    pub kulczynski: f64,
    /// One-sided Fisher's exact p-value for positive association.
    pub fisher_p: f64,
    /// Benjamini–Hochberg adjusted `fisher_p` over all returned rules.
    pub fisher_p_adjusted: f64,
}

impl Rule {
    /// Names of [`Rule::metrics`]: mlxtend 0.25's column names, then `fisher_p` and
    /// `fisher_p_bh` (the Benjamini–Hochberg adjusted p-value).
    pub const METRIC_NAMES: [&'static str; 14] = [
        "antecedent support",
        "consequent support",
        "support",
        "confidence",
        "lift",
        "representativity",
        "leverage",
        "conviction",
        "zhangs_metric",
        "jaccard",
        "certainty",
        "kulczynski",
        "fisher_p",
        "fisher_p_bh",
    ];

    /// Every metric, in the order of [`Rule::METRIC_NAMES`].
    pub fn metrics(&self) -> [f64; 14] {
        [
            self.antecedent_support,
            self.consequent_support,
            self.support,
            self.confidence,
            self.lift,
            self.representativity,
            self.leverage,
            self.conviction,
            self.zhangs_metric,
            self.jaccard,
            self.certainty,
            self.kulczynski,
            self.fisher_p,
            self.fisher_p_adjusted,
        ]
    }
}

/// Hyperparameters of rule generation; start from [`AssociationRules::params`].
///
/// Defaults: `min_confidence` 0.8, all consequents, itemsets of kind [`ItemsetKind::All`],
/// no redundancy pruning.
///
/// ```
/// use explainme_rules::{AssociationRules, FpGrowth, Transactions};
///
/// let columns = ["fat".to_string(), "malignant".to_string()];
/// let rows = [
///     [Some("present"), Some("no")],
///     [Some("present"), Some("no")],
///     [Some("absent"), Some("yes")],
///     [Some("absent"), Some("yes")],
/// ];
/// let t = Transactions::from_rows(&columns, rows).unwrap();
/// let itemsets = FpGrowth::params().min_support(0.25).mine(&t).unwrap();
/// let benign = t.item_id("malignant", "no").unwrap();
/// let rules = AssociationRules::params()
///     .min_confidence(0.9)
///     .targets(vec![benign])
///     .generate(&itemsets, &t)
///     .unwrap();
/// assert_eq!(rules.len(), 1);
/// assert_eq!(t.label(rules[0].antecedent[0]).to_string(), "fat=present");
/// assert_eq!(rules[0].lift, 2.0);
/// assert_eq!(rules[0].conviction, f64::INFINITY);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AssociationRulesParams {
    min_confidence: f64,
    targets: Vec<ItemId>,
    kind: ItemsetKind,
    prune_redundant: bool,
    max_consequent_len: Option<usize>,
}

/// Rule generation from a complete list of frequent itemsets.
#[derive(Debug, Clone, Copy)]
pub struct AssociationRules;

impl AssociationRules {
    pub fn params() -> AssociationRulesParams {
        AssociationRulesParams {
            min_confidence: 0.8,
            targets: Vec::new(),
            kind: ItemsetKind::All,
            prune_redundant: false,
            max_consequent_len: None,
        }
    }
}

impl AssociationRulesParams {
    /// Rules with confidence at least this, in [0, 1].
    pub fn min_confidence(mut self, min_confidence: f64) -> Self {
        self.min_confidence = min_confidence;
        self
    }

    /// Class association rules: when not empty, a rule's consequent is exactly one of these
    /// items, and its antecedent holds no item of a target's column (the class is explained
    /// by the other columns, never by another value of a target).
    pub fn targets(mut self, targets: Vec<ItemId>) -> Self {
        self.targets = targets;
        self
    }

    /// Generate rules only from itemsets of this kind (`antecedent ∪ consequent` closed or
    /// maximal); supports are still read from the complete list.
    pub fn kind(mut self, kind: ItemsetKind) -> Self {
        self.kind = kind;
        self
    }

    /// Keep a rule only if its confidence is strictly greater than that of every rule with
    /// the same consequent and a non-empty proper subset of its antecedent (whether or not
    /// that more general rule reaches `min_confidence`). Rules with one antecedent item are
    /// always kept.
    pub fn prune_redundant(mut self, prune: bool) -> Self {
        self.prune_redundant = prune;
        self
    }

    /// Longest consequent; `Some(1)` gives the single-item heads of Borgelt's `arules` and of
    /// most rule learners. mlxtend has no such bound (`None`, the default).
    pub fn max_consequent_len(mut self, max: Option<usize>) -> Self {
        self.max_consequent_len = max;
        self
    }

    /// Rules from `itemsets`, which must be the complete list of every frequent itemset
    /// ([`ItemsetKind::All`], not truncated) mined from `transactions`.
    pub fn generate(
        &self,
        itemsets: &FrequentItemsets,
        transactions: &Transactions,
    ) -> Result<Vec<Rule>> {
        let min_confidence = fraction("min_confidence", self.min_confidence)?;
        if itemsets.truncated || itemsets.kind != ItemsetKind::All {
            return Err(Error::IncompleteItemsets);
        }
        let index = SupportIndex::new(&itemsets.itemsets);
        let n = itemsets.n_transactions as f64;
        let target_columns: Vec<usize> = self
            .targets
            .iter()
            .map(|&t| transactions.items()[t as usize].column)
            .collect();
        let filtered;
        let sources = if self.kind == ItemsetKind::All {
            &itemsets.itemsets
        } else {
            filtered = filter_kind(itemsets.itemsets.clone(), self.kind);
            &filtered
        };
        let mut rules = Vec::new();
        let mut antecedent = Vec::new();
        let mut consequent = Vec::new();
        let (mut level, mut next) = (Vec::new(), Vec::new());
        for set in sources {
            let k = set.items.len();
            if k < 2 {
                continue;
            }
            // Adds the rule if it qualifies; returns whether it reached the confidence.
            let mut consider = |antecedent: &[ItemId], consequent: &[ItemId]| {
                let Some(antecedent_count) = index.count(antecedent) else {
                    return false;
                };
                let s_ac = set.count as f64 / n;
                let s_a = antecedent_count as f64 / n;
                if (s_ac * n) / (s_a * n) < min_confidence {
                    return false;
                }
                let Some(consequent_count) = index.count(consequent) else {
                    return true;
                };
                if self.prune_redundant
                    && !beats_generalisations(
                        &index,
                        antecedent,
                        consequent,
                        set.count,
                        antecedent_count,
                    )
                {
                    return true;
                }
                rules.push(rule(
                    antecedent,
                    consequent,
                    antecedent_count,
                    consequent_count,
                    set.count,
                    itemsets.n_transactions,
                ));
                true
            };
            if self.targets.is_empty() {
                // Consequents grow one item at a time, and only from consequents whose rule
                // reached the confidence: moving an item from antecedent to consequent can
                // only lower the confidence, so nothing is lost (Agrawal & Srikant's
                // ap-genrules). Each mask is reached once, through its highest bit.
                let max_consequent = self.max_consequent_len.unwrap_or(k).min(k - 1);
                let full = (1u64 << k) - 1;
                level.clear();
                level.extend((0..k).map(|i| 1u64 << i));
                while !level.is_empty() {
                    next.clear();
                    for &mask in &level {
                        antecedent.clear();
                        consequent.clear();
                        for (i, &item) in set.items.iter().enumerate() {
                            if mask >> i & 1 == 1 {
                                consequent.push(item);
                            } else {
                                antecedent.push(item);
                            }
                        }
                        if consider(&antecedent, &consequent)
                            && (mask.count_ones() as usize) < max_consequent
                        {
                            let highest = 63 - mask.leading_zeros() as usize;
                            next.extend(
                                (highest + 1..k)
                                    .map(|i| mask | 1 << i)
                                    .filter(|&m| m != full),
                            );
                        }
                    }
                    std::mem::swap(&mut level, &mut next);
                }
            } else {
                for &target in &self.targets {
                    if !set.items.contains(&target) {
                        continue;
                    }
                    antecedent.clear();
                    antecedent.extend(set.items.iter().copied().filter(|&i| i != target));
                    let explains_by_a_target = antecedent.iter().any(|&i| {
                        target_columns.contains(&transactions.items()[i as usize].column)
                    });
                    if !explains_by_a_target {
                        consider(&antecedent, &[target]);
                    }
                }
            }
        }
        let p_values: Vec<f64> = rules.iter().map(|r| r.fisher_p).collect();
        for (rule, adjusted) in rules.iter_mut().zip(benjamini_hochberg(&p_values)) {
            rule.fisher_p_adjusted = adjusted;
        }
        Ok(rules)
    }
}

/// Whether `antecedent → consequent` has a higher confidence than every rule with the
/// same consequent and a non-empty proper subset of the antecedent.
fn beats_generalisations(
    index: &SupportIndex,
    antecedent: &[ItemId],
    consequent: &[ItemId],
    count: u32,
    antecedent_count: u32,
) -> bool {
    let k = antecedent.len();
    if k < 2 {
        return true;
    }
    let mut general = Vec::with_capacity(k);
    let mut union = Vec::with_capacity(k + consequent.len());
    for mask in 1..(1u64 << k) - 1 {
        general.clear();
        general.extend((0..k).filter(|i| mask >> i & 1 == 1).map(|i| antecedent[i]));
        union.clear();
        union.extend_from_slice(&general);
        union.extend_from_slice(consequent);
        union.sort_unstable();
        let (Some(general_count), Some(union_count)) = (index.count(&general), index.count(&union))
        else {
            continue;
        };
        // count / antecedent_count > union_count / general_count, in exact integers.
        if count as u64 * general_count as u64 <= union_count as u64 * antecedent_count as u64 {
            return false;
        }
    }
    true
}

/// A rule with every metric, in mlxtend's floating-point expressions.
fn rule(
    antecedent: &[ItemId],
    consequent: &[ItemId],
    antecedent_count: u32,
    consequent_count: u32,
    count: u32,
    n_transactions: usize,
) -> Rule {
    let n = n_transactions as f64;
    let s_a = antecedent_count as f64 / n;
    let s_c = consequent_count as f64 / n;
    let s_ac = count as f64 / n;
    let confidence = (s_ac * n) / (s_a * n);
    let leverage = s_ac - s_a * s_c;
    let conviction = if confidence < 1.0 {
        (1.0 - s_c) / (1.0 - confidence)
    } else {
        f64::INFINITY
    };
    let zhang_denominator = (s_ac * (1.0 - s_a)).max(s_a * (s_c - s_ac));
    let certainty_denominator = 1.0 - s_c;
    Rule {
        antecedent: antecedent.to_vec(),
        consequent: consequent.to_vec(),
        antecedent_count,
        consequent_count,
        count,
        antecedent_support: s_a,
        consequent_support: s_c,
        support: s_ac,
        confidence,
        lift: confidence / s_c,
        // (n - transactions with a missing value) / n, and there are none.
        representativity: 1.0,
        leverage,
        conviction,
        zhangs_metric: if zhang_denominator == 0.0 {
            0.0
        } else {
            leverage / zhang_denominator
        },
        jaccard: s_ac / (s_a + s_c - s_ac),
        certainty: if certainty_denominator == 0.0 {
            0.0
        } else {
            (confidence - s_c) / certainty_denominator
        },
        kulczynski: ((s_ac * n) / (s_a * n) + (s_ac * n) / (s_c * n)) / 2.0,
        fisher_p: fisher_greater(
            n_transactions as u32,
            antecedent_count,
            consequent_count,
            count,
        ),
        fisher_p_adjusted: f64::NAN,
    }
}
