//! A CBA rule-list classifier (Liu, Hsu & Ma 1998, "CBA-CB M1"), so that class association
//! rules can be judged as a predictor and not only read.
//!
//! Class rules are sorted by confidence, then support, then shorter antecedent (then the
//! order of generation, which is deterministic). Database coverage walks that list: a rule
//! is kept when it classifies at least one still-uncovered training row correctly, and the
//! rows it covers are removed. After each kept rule the default class (majority of the rows
//! left) and the total training errors are recorded; the list is cut where the total was
//! lowest. Prediction is the first rule whose antecedent the row contains, else the default.

use serde::Serialize;

use crate::{
    AssociationRules, Error, FpGrowth, ItemId, Result, Rule, Transactions, error::positive_fraction,
};

/// Hyperparameters of [`RuleList`].
///
/// Defaults: `min_support` 0.05, `min_confidence` 0.5, `max_itemsets` 1,000,000.
///
/// ```
/// use explainme_rules::{RuleList, Transactions};
///
/// let columns = ["fat".to_string(), "malignant".to_string()];
/// let mut rows = Vec::new();
/// for _ in 0..10 {
///     rows.push([Some("present"), Some("no")]);
///     rows.push([Some("absent"), Some("yes")]);
/// }
/// let t = Transactions::from_rows(&columns, rows).unwrap();
/// let list = RuleList::params().fit(&t, "malignant").unwrap();
/// let fat = t.item_id("fat", "present").unwrap();
/// assert_eq!(list.predict(&[fat]), t.item_id("malignant", "no").unwrap());
/// let cv = RuleList::params().cross_validate(&t, "malignant", 5, 42).unwrap();
/// assert_eq!(cv.accuracy, 1.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RuleListParams {
    min_support: f64,
    min_confidence: f64,
    max_itemsets: usize,
}

/// An ordered list of class rules with a default class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleList {
    pub class_column: usize,
    pub rules: Vec<Rule>,
    pub default_class: ItemId,
}

/// k-fold cross-validated accuracy of a [`RuleList`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossValidation {
    pub folds: usize,
    pub seed: u64,
    /// Rows with a class label, the ones that were classified.
    pub rows: usize,
    /// Correct predictions over all folds divided by `rows`.
    pub accuracy: f64,
    pub fold_accuracies: Vec<f64>,
    /// Mean number of rules in the fitted lists.
    pub mean_rules: f64,
}

impl RuleList {
    pub fn params() -> RuleListParams {
        RuleListParams {
            min_support: 0.05,
            min_confidence: 0.5,
            max_itemsets: 1_000_000,
        }
    }

    /// The class of a transaction (its items, ascending): the first matching rule's, or
    /// the default.
    pub fn predict(&self, row: &[ItemId]) -> ItemId {
        self.rules
            .iter()
            .find(|rule| contains_all(row, &rule.antecedent))
            .map_or(self.default_class, |rule| rule.consequent[0])
    }
}

impl RuleListParams {
    pub fn min_support(mut self, min_support: f64) -> Self {
        self.min_support = min_support;
        self
    }

    pub fn min_confidence(mut self, min_confidence: f64) -> Self {
        self.min_confidence = min_confidence;
        self
    }

    pub fn max_itemsets(mut self, max_itemsets: usize) -> Self {
        self.max_itemsets = max_itemsets;
        self
    }

    /// Fits a rule list for the values of `class_column` on the rows that have one.
    pub fn fit(&self, transactions: &Transactions, class_column: &str) -> Result<RuleList> {
        let column = transactions.column_index(class_column)?;
        let labelled = labelled_rows(transactions, column);
        if labelled.is_empty() {
            return Err(Error::NoClassLabels(class_column.to_owned()));
        }
        self.fit_rows(transactions, column, &labelled)
    }

    /// Accuracy over `folds` folds of the labelled rows, shuffled with `seed`.
    pub fn cross_validate(
        &self,
        transactions: &Transactions,
        class_column: &str,
        folds: usize,
        seed: u64,
    ) -> Result<CrossValidation> {
        let column = transactions.column_index(class_column)?;
        let mut labelled = labelled_rows(transactions, column);
        if labelled.is_empty() {
            return Err(Error::NoClassLabels(class_column.to_owned()));
        }
        if folds < 2 {
            return Err(Error::TooSmall {
                what: "folds",
                min: 2,
                value: folds,
            });
        }
        if folds > labelled.len() {
            return Err(Error::TooManyFolds {
                folds,
                labelled: labelled.len(),
            });
        }
        shuffle(&mut labelled, seed);
        let mut correct_total = 0;
        let mut fold_accuracies = Vec::with_capacity(folds);
        let mut rules_total = 0;
        for fold in 0..folds {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (i, &(row, class)) in labelled.iter().enumerate() {
                if i % folds == fold {
                    test.push((row, class));
                } else {
                    train.push((row, class));
                }
            }
            let list = self.fit_rows(transactions, column, &train)?;
            rules_total += list.rules.len();
            let correct = test
                .iter()
                .filter(|&&(row, class)| list.predict(&transactions.rows()[row]) == class)
                .count();
            correct_total += correct;
            fold_accuracies.push(correct as f64 / test.len() as f64);
        }
        Ok(CrossValidation {
            folds,
            seed,
            rows: labelled.len(),
            accuracy: correct_total as f64 / labelled.len() as f64,
            fold_accuracies,
            mean_rules: rules_total as f64 / folds as f64,
        })
    }

    fn fit_rows(
        &self,
        transactions: &Transactions,
        column: usize,
        labelled: &[(usize, ItemId)],
    ) -> Result<RuleList> {
        positive_fraction("min_support", self.min_support)?;
        let rows: Vec<usize> = labelled.iter().map(|&(row, _)| row).collect();
        let train = transactions.subset(&rows);
        let itemsets = FpGrowth::params()
            .min_support(self.min_support)
            .max_itemsets(self.max_itemsets)
            .mine(&train)?;
        if itemsets.truncated {
            return Err(Error::TooManyItemsets {
                limit: self.max_itemsets,
            });
        }
        let mut rules = AssociationRules::params()
            .min_confidence(self.min_confidence)
            .targets(transactions.column_items(column))
            .generate(&itemsets, &train)?;
        // Stable sort: ties keep the deterministic order of generation.
        rules.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(b.count.cmp(&a.count))
                .then(a.antecedent.len().cmp(&b.antecedent.len()))
        });
        Ok(database_coverage(rules, column, labelled, train.rows()))
    }
}

/// CBA-CB M1 on rows `train` whose classes are `labelled[i].1`.
fn database_coverage(
    rules: Vec<Rule>,
    column: usize,
    labelled: &[(usize, ItemId)],
    train: &[Vec<ItemId>],
) -> RuleList {
    let classes: Vec<ItemId> = labelled.iter().map(|&(_, class)| class).collect();
    let mut alive = vec![true; train.len()];
    let mut remaining = train.len();
    let initial_default = majority(&classes, &alive).unwrap_or(classes[0]);
    let mut best_errors = remaining - count_class(&classes, &alive, initial_default);
    let mut best = (0, initial_default);
    let mut kept = Vec::new();
    let mut rule_errors = 0;
    for rule in rules {
        if remaining == 0 {
            break;
        }
        let class = rule.consequent[0];
        let covered: Vec<usize> = (0..train.len())
            .filter(|&r| alive[r] && contains_all(&train[r], &rule.antecedent))
            .collect();
        if !covered.iter().any(|&r| classes[r] == class) {
            continue;
        }
        for &r in &covered {
            alive[r] = false;
            rule_errors += usize::from(classes[r] != class);
        }
        remaining -= covered.len();
        kept.push(rule);
        let default = majority(&classes, &alive).unwrap_or(best.1);
        let errors = rule_errors + remaining - count_class(&classes, &alive, default);
        if errors < best_errors {
            best_errors = errors;
            best = (kept.len(), default);
        }
    }
    kept.truncate(best.0);
    RuleList {
        class_column: column,
        rules: kept,
        default_class: best.1,
    }
}

/// `(row, class item)` for every row with a value in the class column.
fn labelled_rows(transactions: &Transactions, column: usize) -> Vec<(usize, ItemId)> {
    let items = transactions.items();
    transactions
        .rows()
        .iter()
        .enumerate()
        .filter_map(|(r, row)| {
            row.iter()
                .find(|&&i| items[i as usize].column == column)
                .map(|&class| (r, class))
        })
        .collect()
}

/// The most frequent class among live rows; ties go to the smaller item id.
fn majority(classes: &[ItemId], alive: &[bool]) -> Option<ItemId> {
    let mut counts: Vec<(ItemId, usize)> = Vec::new();
    for (&class, _) in classes.iter().zip(alive).filter(|(_, a)| **a) {
        match counts.iter_mut().find(|(c, _)| *c == class) {
            Some((_, n)) => *n += 1,
            None => counts.push((class, 1)),
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(class, _)| class)
}

fn count_class(classes: &[ItemId], alive: &[bool], class: ItemId) -> usize {
    classes
        .iter()
        .zip(alive)
        .filter(|&(&c, &a)| a && c == class)
        .count()
}

/// Whether sorted `row` contains every item of sorted `items`.
fn contains_all(row: &[ItemId], items: &[ItemId]) -> bool {
    items.iter().all(|i| row.binary_search(i).is_ok())
}

/// Fisher–Yates with SplitMix64: a seeded shuffle that is the same on every platform and
/// needs no dependency.
fn shuffle<T>(values: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..values.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        values.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fat decides the class except in two noisy rows; size adds nothing.
    fn planted() -> Transactions {
        let columns = ["fat", "size", "malignant"].map(String::from);
        let mut rows = Vec::new();
        for i in 0..40 {
            let fat = if i % 2 == 0 { "present" } else { "absent" };
            let size = if i % 3 == 0 { "small" } else { "large" };
            let malignant = match (fat, i) {
                (_, 0) | (_, 1) => Some(if fat == "present" { "yes" } else { "no" }),
                ("present", _) => Some("no"),
                _ => Some("yes"),
            };
            rows.push([Some(fat), Some(size), malignant]);
        }
        rows.push([Some("present"), Some("small"), None]);
        Transactions::from_rows(&columns, rows).unwrap()
    }

    #[test]
    fn the_rule_list_predicts_the_planted_class() {
        let t = planted();
        let list = RuleList::params()
            .min_support(0.1)
            .min_confidence(0.6)
            .fit(&t, "malignant")
            .unwrap();
        let fat = |v| t.item_id("fat", v).unwrap();
        let class = |v| t.item_id("malignant", v).unwrap();
        // More specific rules of confidence 1 come before `fat → class` (0.95), as CBA
        // orders them; whatever the list, fat decides the prediction.
        assert!(
            list.rules
                .windows(2)
                .all(|w| w[0].confidence >= w[1].confidence)
        );
        assert!(!list.rules.is_empty());
        for size in ["small", "large"] {
            let size = t.item_id("size", size).unwrap();
            let row = |f: ItemId| {
                let mut row = vec![f, size];
                row.sort_unstable();
                row
            };
            assert_eq!(list.predict(&row(fat("present"))), class("no"));
            assert_eq!(list.predict(&row(fat("absent"))), class("yes"));
        }
        // The unlabelled row is neither trained on nor scored.
        let cv = RuleList::params()
            .min_support(0.1)
            .min_confidence(0.6)
            .cross_validate(&t, "malignant", 4, 7)
            .unwrap();
        assert_eq!(cv.rows, 40);
        assert_eq!(cv.fold_accuracies.len(), 4);
        // Only the two noisy rows can be missed.
        assert!(cv.accuracy >= 38.0 / 40.0, "{cv:?}");
        let again = RuleList::params()
            .min_support(0.1)
            .min_confidence(0.6)
            .cross_validate(&t, "malignant", 4, 7)
            .unwrap();
        assert_eq!(cv, again);
    }

    #[test]
    fn bad_requests_are_typed_errors() {
        let t = planted();
        let params = RuleList::params();
        assert_eq!(
            params.fit(&t, "grade"),
            Err(Error::UnknownColumn("grade".into()))
        );
        assert_eq!(
            params.cross_validate(&t, "malignant", 1, 0),
            Err(Error::TooSmall {
                what: "folds",
                min: 2,
                value: 1
            })
        );
        // 40 labelled rows (the 41st has no class): 40 folds are leave-one-out, 41 too many.
        assert!(params.cross_validate(&t, "malignant", 40, 0).is_ok());
        let too_many = params.cross_validate(&t, "malignant", 1000, 0);
        assert_eq!(
            too_many,
            Err(Error::TooManyFolds {
                folds: 1000,
                labelled: 40
            })
        );
        assert_eq!(
            too_many.unwrap_err().to_string(),
            "1000 folds exceed the 40 labelled rows (each fold needs at least one)"
        );
        let unlabelled = Transactions::from_rows(
            &["fat".to_string(), "malignant".to_string()],
            [[Some("present"), None]],
        )
        .unwrap();
        assert_eq!(
            params.fit(&unlabelled, "malignant"),
            Err(Error::NoClassLabels("malignant".into()))
        );
    }
}
