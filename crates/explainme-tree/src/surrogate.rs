//! The surrogate: a tree that mimics the CNN's verdict, judged on cases it did not see, and
//! the same tree fitted on the truth beside it.
//!
//! The cases are split once, seeded and stratified by (CNN verdict, truth), into a training
//! part and a held-out part. Both trees are grown on the training part with the same
//! hyperparameters; every figure is measured on the held-out part:
//!
//! - **fidelity**: the share of held-out cases where the tree's verdict is the CNN's; the AUC
//!   of the leaf's share of CNN-positive training cases against the CNN's verdict; and its
//!   concordance with the CNN's probability itself (the AUC generalised to a continuous
//!   outcome, see [`crate::concordance`]);
//! - **truth**: each tree's accuracy against the truth (and the CNN's own), and how often the
//!   two trees agree — where they part is where the CNN does something the truth does not.

use explainme_rng::Random;
use serde::{Deserialize, Serialize};

use crate::matrix::FeatureMatrix;
use crate::metrics::{auc, concordance};
use crate::rules::Rule;
use crate::tree::{Classes, Tree, TreeParams};
use crate::{Error, Result};

/// Entry point of the builder: `Surrogate::params()…fit(&data)`.
#[derive(Debug, Clone, Copy)]
pub struct Surrogate;

/// What a surrogate is fitted on: the features of each case, the CNN's positive-class
/// probability and, when known, the truth (row `i` of each is case `i`).
#[derive(Debug, Clone, PartialEq)]
pub struct SurrogateData {
    pub features: FeatureMatrix,
    pub probabilities: Vec<f64>,
    pub truth: Option<Vec<bool>>,
}

/// Hyperparameters: those of the tree ([`TreeParams`]: depth ≤ 4, ≤ 16 leaves, ≥ 10 cases
/// per leaf) plus a held-out share of 0.3, seed 0, the CNN's threshold 0.5 and the class
/// names `benign` / `malignant`.
///
/// ```
/// use explainme_tree::{Column, FeatureMatrix, Surrogate, SurrogateData};
///
/// // A CNN that calls every lesion of 4 cm or more malignant, seen on 200 cases.
/// let sizes: Vec<f64> = (0..200).map(|i| 1.0 + f64::from(i % 80) / 10.0).collect();
/// let probabilities = sizes.iter().map(|&s| if s >= 4.0 { 0.9 } else { 0.2 }).collect();
/// let features = FeatureMatrix::new(vec![Column::number("size_cm", "size", Some("cm"))], 200, sizes)?;
/// let fitted = Surrogate::params()
///     .max_depth(3)
///     .seed(7)
///     .fit(&SurrogateData { features, probabilities, truth: None })?;
/// assert_eq!(fitted.fidelity.agreement, 1.0);
/// assert_eq!(fitted.cnn.rules[1].text, "size ≥ 4 cm → malignant (CNN says so in 100% of 77 cases)");
/// # Ok::<(), explainme_tree::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SurrogateParams {
    tree: TreeParams,
    holdout: f64,
    seed: u64,
    threshold: f64,
    negative: String,
    positive: String,
}

impl Surrogate {
    pub fn params() -> SurrogateParams {
        SurrogateParams {
            tree: TreeParams::default(),
            holdout: 0.3,
            seed: 0,
            threshold: 0.5,
            negative: "benign".to_owned(),
            positive: "malignant".to_owned(),
        }
    }
}

/// A fitted tree with its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedTree {
    pub tree: Tree,
    pub rules: Vec<Rule>,
    pub leaves: usize,
    pub depth: usize,
    pub nodes: usize,
}

/// How faithfully the tree mimics the CNN on the held-out cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    /// Share of held-out cases where the tree's verdict is the CNN's.
    pub agreement: f64,
    /// The same on the training cases.
    pub training_agreement: f64,
    /// AUC of the leaf's share against the CNN's verdict; `None` if one verdict is absent.
    pub auc: Option<f64>,
    /// Concordance of the leaf's share with the CNN's probability.
    pub probability_concordance: Option<f64>,
}

/// The CNN tree next to the truth tree, on the held-out cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthComparison {
    pub tree: FittedTree,
    /// Share of held-out cases where the two trees give the same verdict.
    pub trees_agree: f64,
    /// Accuracy against the truth of the truth tree, the CNN tree and the CNN itself.
    pub truth_tree_accuracy: f64,
    pub cnn_tree_accuracy: f64,
    pub cnn_accuracy: f64,
}

/// A fitted surrogate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSurrogate {
    pub training_cases: usize,
    pub held_out_cases: usize,
    pub threshold: f64,
    pub seed: u64,
    /// The tree mimicking the CNN's verdict.
    pub cnn: FittedTree,
    pub fidelity: Fidelity,
    /// The tree fitted on the truth, when the data has it.
    pub truth: Option<TruthComparison>,
    /// Row indices of the held-out cases, ascending.
    #[serde(skip)]
    pub held_out: Vec<usize>,
}

impl SurrogateParams {
    /// See [`TreeParams::max_depth`] (default 4).
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.tree = self.tree.max_depth(depth);
        self
    }
    /// See [`TreeParams::max_leaves`] (default 16).
    pub fn max_leaves(mut self, leaves: usize) -> Self {
        self.tree = self.tree.max_leaves(leaves);
        self
    }
    /// See [`TreeParams::min_leaf`] (default 10).
    pub fn min_leaf(mut self, cases: usize) -> Self {
        self.tree = self.tree.min_leaf(cases);
        self
    }
    /// See [`TreeParams::budget`].
    pub fn budget(mut self, budget: explainme_budget::MemoryBudget) -> Self {
        self.tree = self.tree.budget(budget);
        self
    }
    /// Share of cases held out, in (0, 1) (default 0.3).
    pub fn holdout(mut self, share: f64) -> Self {
        self.holdout = share;
        self
    }
    /// Seed of the held-out split (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// The CNN says positive when its probability is ≥ this, in (0, 1) (default 0.5).
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }
    /// Class names (default `benign`, `malignant`).
    pub fn classes(mut self, negative: &str, positive: &str) -> Self {
        self.negative = negative.to_owned();
        self.positive = positive.to_owned();
        self
    }

    fn check(&self, data: &SurrogateData) -> Result<()> {
        self.tree.check()?;
        for (name, value) in [
            ("held-out share", self.holdout),
            ("threshold", self.threshold),
        ] {
            if !(value > 0.0 && value < 1.0) {
                return Err(Error::InvalidParams(format!(
                    "the {name} {value} is not in (0, 1)"
                )));
            }
        }
        let rows = data.features.rows();
        let lengths = [
            ("the CNN probabilities", Some(data.probabilities.len())),
            ("the truth", data.truth.as_ref().map(Vec::len)),
        ];
        for (what, found) in lengths {
            if let Some(found) = found.filter(|&n| n != rows) {
                return Err(Error::Length {
                    what: what.to_owned(),
                    expected: rows,
                    found,
                });
            }
        }
        if let Some((row, &value)) = data
            .probabilities
            .iter()
            .enumerate()
            .find(|(_, p)| !(0.0..=1.0).contains(*p))
        {
            return Err(Error::BadProbability { row, value });
        }
        Ok(())
    }

    /// Splits the cases, fits the CNN tree (and the truth tree) and measures them.
    pub fn fit(&self, data: &SurrogateData) -> Result<FittedSurrogate> {
        self.check(data)?;
        let verdict: Vec<bool> = data
            .probabilities
            .iter()
            .map(|&p| p >= self.threshold)
            .collect();
        let strata: Vec<usize> = (0..verdict.len())
            .map(|i| {
                let truth = data.truth.as_ref().is_some_and(|t| t[i]);
                2 * usize::from(verdict[i]) + usize::from(truth)
            })
            .collect();
        let (train, test) = stratified_split(&strata, self.holdout, self.seed);
        for (part, rows) in [("training", &train), ("held-out", &test)] {
            if rows.is_empty() {
                return Err(Error::EmptySplit {
                    cases: verdict.len(),
                    part,
                    holdout: self.holdout,
                });
            }
        }
        let x_train = data.features.select(&train);
        let pick = |values: &[bool], rows: &[usize]| rows.iter().map(|&r| values[r]).collect();
        let cnn_train: Vec<bool> = pick(&verdict, &train);
        let classes = |source| Classes::new(&self.negative, &self.positive, source);
        let cnn_tree = self.tree.fit(&x_train, &cnn_train, classes("CNN"))?;

        let verdicts = |tree: &Tree, rows: &[usize]| -> Vec<bool> {
            rows.iter()
                .map(|&r| tree.nodes[tree.route(data.features.row(r))].verdict())
                .collect()
        };
        let share_of = |got: &[bool], want: &[bool]| {
            got.iter().zip(want).filter(|(a, b)| a == b).count() as f64 / got.len() as f64
        };
        let cnn_tree_test = verdicts(&cnn_tree, &test);
        let cnn_test: Vec<bool> = pick(&verdict, &test);
        let scores: Vec<f64> = test
            .iter()
            .map(|&r| cnn_tree.nodes[cnn_tree.route(data.features.row(r))].share())
            .collect();
        let probabilities: Vec<f64> = test.iter().map(|&r| data.probabilities[r]).collect();
        let fidelity = Fidelity {
            agreement: share_of(&cnn_tree_test, &cnn_test),
            training_agreement: share_of(&verdicts(&cnn_tree, &train), &cnn_train),
            auc: auc(&scores, &cnn_test),
            probability_concordance: concordance(&scores, &probabilities),
        };

        let truth = match &data.truth {
            None => None,
            Some(truth) => {
                let truth_tree =
                    self.tree
                        .fit(&x_train, &pick(truth, &train), classes("pathology"))?;
                let truth_test: Vec<bool> = pick(truth, &test);
                let truth_tree_test = verdicts(&truth_tree, &test);
                Some(TruthComparison {
                    trees_agree: share_of(&truth_tree_test, &cnn_tree_test),
                    truth_tree_accuracy: share_of(&truth_tree_test, &truth_test),
                    cnn_tree_accuracy: share_of(&cnn_tree_test, &truth_test),
                    cnn_accuracy: share_of(&cnn_test, &truth_test),
                    tree: FittedTree::new(truth_tree),
                })
            }
        };
        Ok(FittedSurrogate {
            training_cases: train.len(),
            held_out_cases: test.len(),
            threshold: self.threshold,
            seed: self.seed,
            cnn: FittedTree::new(cnn_tree),
            fidelity,
            truth,
            held_out: test,
        })
    }
}

impl FittedTree {
    fn new(tree: Tree) -> FittedTree {
        FittedTree {
            rules: tree.rules(),
            leaves: tree.leaves().len(),
            depth: tree.depth(),
            nodes: tree.nodes.len(),
            tree,
        }
    }
}

impl FittedSurrogate {
    /// The figures and both trees' rules, for people.
    pub fn text(&self) -> String {
        let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.3}"));
        let f = &self.fidelity;
        let mut out = format!(
            "surrogate of the CNN's verdict (p ≥ {}): {} leaves, depth {}, {} nodes\n\
             held-out fidelity {:.3} on {} cases (training {:.3} on {}), AUC {}, \
             concordance with the CNN's probability {}\n",
            self.threshold,
            self.cnn.leaves,
            self.cnn.depth,
            self.cnn.nodes,
            f.agreement,
            self.held_out_cases,
            f.training_agreement,
            self.training_cases,
            show(f.auc),
            show(f.probability_concordance),
        );
        for rule in &self.cnn.rules {
            out.push_str(&format!("  {}\n", rule.text));
        }
        if let Some(t) = &self.truth {
            out.push_str(&format!(
                "the same tree fitted on the truth: {} leaves, depth {}\n\
                 held-out accuracy against the truth: truth tree {:.3}, CNN tree {:.3}, CNN {:.3}; \
                 the two trees agree on {:.3}\n",
                t.tree.leaves,
                t.tree.depth,
                t.truth_tree_accuracy,
                t.cnn_tree_accuracy,
                t.cnn_accuracy,
                t.trees_agree,
            ));
            for rule in &t.tree.rules {
                out.push_str(&format!("  {}\n", rule.text));
            }
        }
        out
    }
}

/// A seeded split of each stratum: `round(holdout × n)` of its cases, drawn by a
/// Fisher–Yates shuffle ([`Random::shuffle`], stream 0 of `seed`), are held out. Both parts
/// come back ascending.
fn stratified_split(strata: &[usize], holdout: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Random::new(seed, 0);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for stratum in 0..=strata.iter().copied().max().unwrap_or(0) {
        let mut members: Vec<usize> = (0..strata.len())
            .filter(|&i| strata[i] == stratum)
            .collect();
        rng.shuffle(&mut members);
        let held = (holdout * members.len() as f64).round() as usize;
        test.extend_from_slice(&members[..held]);
        train.extend_from_slice(&members[held..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Column;

    fn data(rows: usize) -> SurrogateData {
        let values: Vec<f64> = (0..rows).map(|i| i as f64).collect();
        SurrogateData {
            features: FeatureMatrix::new(vec![Column::number("x", "x", None)], rows, values)
                .unwrap(),
            probabilities: (0..rows)
                .map(|i| if i % 2 == 0 { 0.9 } else { 0.1 })
                .collect(),
            truth: None,
        }
    }

    #[test]
    fn bad_parameters_and_data_are_typed_errors() {
        let refused = |params: SurrogateParams, data: &SurrogateData| {
            params.fit(data).unwrap_err().to_string()
        };
        let good = data(40);
        assert_eq!(
            refused(Surrogate::params().holdout(1.0), &good),
            "invalid surrogate parameters: the held-out share 1 is not in (0, 1)"
        );
        assert!(refused(Surrogate::params().max_depth(0), &good).contains("max depth 0"));
        assert!(refused(Surrogate::params().max_depth(17), &good).contains("outside 1..=16"));
        assert!(refused(Surrogate::params().min_leaf(0), &good).contains("min leaf 0"));
        assert!(refused(Surrogate::params().max_leaves(0), &good).contains("max leaves"));
        let mut nan = data(40);
        nan.probabilities[3] = f64::NAN;
        assert_eq!(
            refused(Surrogate::params(), &nan),
            "the CNN probability of row 3 is NaN, not a number in [0, 1]"
        );
        let mut short = data(40);
        short.truth = Some(vec![true; 39]);
        assert_eq!(
            refused(Surrogate::params(), &short),
            "the truth: expected 40 values, found 39"
        );
        // Two cases, one per verdict: nothing to hold out at 30%.
        assert!(refused(Surrogate::params(), &data(2)).contains("leaves no held-out case"));
        let fitted = Surrogate::params().min_leaf(2).fit(&good).unwrap();
        let tree = &fitted.cnn.tree;
        assert!(matches!(
            tree.leaf_of(&[1.0, 2.0]),
            Err(Error::Length { .. })
        ));
        assert!(tree.leaf_of(&[f64::NAN]).is_ok());
    }

    #[test]
    fn the_split_is_stratified_seeded_and_complete() {
        let strata: Vec<usize> = (0..100).map(|i| usize::from(i % 10 == 0)).collect();
        let (train, test) = stratified_split(&strata, 0.3, 1);
        assert_eq!(test.len(), 30);
        assert_eq!(test.iter().filter(|&&i| strata[i] == 1).count(), 3);
        let mut all = [train.clone(), test.clone()].concat();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(stratified_split(&strata, 0.3, 1), (train, test.clone()));
        assert_ne!(stratified_split(&strata, 0.3, 2).1, test);
    }
}
