//! A fitted binary decision tree as plain data, grown by linfa-trees one split at a time.
//!
//! linfa-trees 0.8 grows a CART tree (Gini) with a depth limit and a minimum leaf weight, but
//! it keeps no class counts in its nodes, has no bound on the number of leaves, and below the
//! root it misses splits: scanning a feature's globally sorted values, it skips a candidate
//! threshold whenever the *next value in the whole data set* equals the current one, even if
//! that next case is not in the node — so in a child node a binary feature is only ever tried
//! when the case sorted last among its zeros happens to be in the node (scikit-learn had the
//! same bug, fixed in its PR #386). Its split at the root, where every case is in the node,
//! is exact.
//!
//! So the tree is grown **best first**, as scikit-learn's `max_leaf_nodes` does: every leaf's
//! candidate split is the root split of a linfa tree fitted on that leaf's own cases (with the
//! depth that remains, so that linfa's lookahead — it drops a split whose subtrees all give
//! one verdict — still applies), and the leaf whose split removes the most Gini impurity
//! (cases × decrease) is split next, until [`TreeParams::max_leaves`] leaves exist or no leaf
//! has a split. Finally a split whose two leaves give the same verdict is collapsed (it
//! changes no prediction). The nodes live in [`Tree`] as an arena in preorder with the
//! training cases counted in each.
//!
//! Each split's threshold is moved from linfa's midpoint to the roundest number in the gap
//! between the training values on either side — above the largest value below, at most the
//! smallest value above; with fewest significant digits, nearest the midpoint among those
//! ([`readable_threshold`]). It splits the training cases exactly as linfa did, but reads as
//! a clinician would write it ("size ≥ 4 cm" for a gap from 3.9 to 4.1, "size ≥ 4.1 cm" for
//! one from 4.0 to 4.1, never "size > 4.05 cm"). A case goes to the upper branch when its
//! value is ≥ the threshold.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use explainme_budget::MemoryBudget;
use linfa::prelude::Fit;
use linfa_trees::DecisionTree;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::matrix::{Column, FeatureMatrix};
use crate::{Error, Result};

/// The deepest tree accepted: linfa grows recursively, and rules longer than this say nothing
/// to a reader.
pub const MAX_DEPTH: usize = 16;

/// What the tree predicts, in words: the class names and whose verdict the shares count
/// ("CNN says so in 96% of 312 cases", "pathology says so …").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classes {
    pub negative: String,
    pub positive: String,
    /// Who gave the labels the tree learned: `CNN`, `pathology`.
    pub source: String,
}

impl Classes {
    pub fn new(negative: &str, positive: &str, source: &str) -> Classes {
        Classes {
            negative: negative.to_owned(),
            positive: positive.to_owned(),
            source: source.to_owned(),
        }
    }

    /// The name of a verdict.
    pub fn name(&self, positive: bool) -> &str {
        if positive {
            &self.positive
        } else {
            &self.negative
        }
    }
}

/// One node: its training cases and, unless it is a leaf, its split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Training cases that reach the node.
    pub cases: usize,
    /// Of those, how many are in the positive class.
    pub positive: usize,
    pub depth: usize,
    pub split: Option<Split>,
}

/// A split: cases with `value < threshold` go to `below`, the others to `above`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Index into [`Tree::columns`].
    pub column: usize,
    pub threshold: f64,
    pub below: usize,
    pub above: usize,
}

impl Node {
    /// The share of positive training cases (the leaf's score).
    pub fn share(&self) -> f64 {
        if self.cases == 0 {
            0.0
        } else {
            self.positive as f64 / self.cases as f64
        }
    }

    /// The majority verdict; an exact tie is positive, as a probability of 0.5 is.
    pub fn verdict(&self) -> bool {
        2 * self.positive >= self.cases
    }
}

/// A fitted tree: its nodes in preorder (root first, `below` before `above`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub columns: Vec<Column>,
    pub classes: Classes,
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Hyperparameters with their defaults (see [`TreeParams`]).
    pub fn params() -> TreeParams {
        TreeParams::default()
    }

    pub fn root(&self) -> &Node {
        &self.nodes[0]
    }

    /// Indices of the leaves, left to right.
    pub fn leaves(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].split.is_none())
            .collect()
    }

    /// The depth of the deepest leaf (0 for a single leaf).
    pub fn depth(&self) -> usize {
        self.nodes.iter().map(|n| n.depth).max().unwrap_or(0)
    }

    /// The leaf a row of values reaches (values in [`Tree::columns`] order; a NaN goes to
    /// the upper branch).
    pub fn leaf_of(&self, row: &[f64]) -> Result<usize> {
        if row.len() != self.columns.len() {
            return Err(Error::Length {
                what: "a row to route through the tree".to_owned(),
                expected: self.columns.len(),
                found: row.len(),
            });
        }
        Ok(self.route(row))
    }

    /// [`Tree::leaf_of`] for a row known to be as wide as the tree's columns.
    pub(crate) fn route(&self, row: &[f64]) -> usize {
        let mut index = 0;
        while let Some(split) = &self.nodes[index].split {
            index = if row[split.column] < split.threshold {
                split.below
            } else {
                split.above
            };
        }
        index
    }

    /// Each node's parent and whether it is the upper child (the root has none).
    pub(crate) fn parents(&self) -> Vec<Option<(usize, bool)>> {
        let mut parents = vec![None; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(s) = &node.split {
                parents[s.below] = Some((i, false));
                parents[s.above] = Some((i, true));
            }
        }
        parents
    }
}

/// Hyperparameters of a tree. Defaults: depth at most 4, at most 16 leaves, at least 10
/// training cases per leaf, a split must lower the Gini impurity by 1e-5 (linfa's default),
/// the default [`MemoryBudget`].
///
/// The tree is grown best first: each leaf's candidate split is the root split of a
/// linfa-trees fit on that leaf's own cases (linfa's own splits below the root are unreliable
/// in 0.8: its threshold scan looks at neighbours outside the node and skips valid splits),
/// and the leaf whose split removes the most Gini impurity is split next, until `max_leaves`
/// leaves exist. Sibling leaves with one verdict are then merged.
///
/// ```
/// use explainme_tree::{Classes, Column, FeatureMatrix, Tree};
///
/// // y = x ≥ 3 on x = 0..8
/// let x = FeatureMatrix::new(vec![Column::number("x", "x", None)], 8, (0..8).map(f64::from).collect())?;
/// let y: Vec<bool> = (0..8).map(|v| v >= 3).collect();
/// let tree = Tree::params().min_leaf(1).fit(&x, &y, Classes::new("no", "yes", "truth"))?;
/// let split = tree.root().split.as_ref().unwrap();
/// assert_eq!(split.threshold, 3.0);
/// assert_eq!(tree.leaves().len(), 2);
/// # Ok::<(), explainme_tree::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeParams {
    max_depth: usize,
    max_leaves: usize,
    min_leaf: usize,
    min_impurity_decrease: f64,
    budget: MemoryBudget,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams {
            max_depth: 4,
            max_leaves: 16,
            min_leaf: 10,
            min_impurity_decrease: 1e-5,
            budget: MemoryBudget::default(),
        }
    }
}

/// Working bytes per matrix cell while a node is searched: the node's rows copied for linfa
/// (8), linfa's own copy (8) and its sorted (index, value) pairs (16).
const BYTES_PER_CELL: u64 = 32;
/// Working bytes per case besides: targets, weights, linfa's row masks at every level, and
/// the row lists of the leaves and their candidate splits.
const BYTES_PER_CASE: u64 = 40 + 2 * MAX_DEPTH as u64;

/// A tilt added to the weight of positive cases, so that linfa's majority vote — which breaks
/// exact ties in hash-map order — never meets a tie and every fit is reproducible; a tie
/// then goes to the positive class, as [`Node::verdict`] says.
const POSITIVE_TILT: f32 = 1e-6;

impl TreeParams {
    /// The deepest a leaf may be, 1..=[`MAX_DEPTH`] (default 4).
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }
    /// The most leaves, i.e. rules, the tree may have, at least 1 (default 16).
    pub fn max_leaves(mut self, leaves: usize) -> Self {
        self.max_leaves = leaves;
        self
    }
    /// The fewest training cases a split may leave on either side, at least 1 (default 10).
    pub fn min_leaf(mut self, cases: usize) -> Self {
        self.min_leaf = cases;
        self
    }
    /// The smallest drop in Gini impurity that a split must bring, ≥ `f64::EPSILON`
    /// (default 1e-5).
    pub fn min_impurity_decrease(mut self, decrease: f64) -> Self {
        self.min_impurity_decrease = decrease;
        self
    }
    /// The memory the fit may use for its working copies (default 1 GiB).
    pub fn budget(mut self, budget: MemoryBudget) -> Self {
        self.budget = budget;
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        let bad = |message: String| Err(Error::InvalidParams(message));
        if !(1..=MAX_DEPTH).contains(&self.max_depth) {
            return bad(format!(
                "max depth {} is outside 1..={MAX_DEPTH}",
                self.max_depth
            ));
        }
        if self.max_leaves == 0 {
            return bad("max leaves must be at least 1".to_owned());
        }
        if self.min_leaf == 0 || self.min_leaf > 1 << 24 {
            return bad(format!(
                "min leaf {} is outside 1..=16777216",
                self.min_leaf
            ));
        }
        if !(self.min_impurity_decrease.is_finite() && self.min_impurity_decrease >= f64::EPSILON) {
            return bad(format!(
                "min impurity decrease {} must be a number of at least 2.2e-16 (linfa's floor)",
                self.min_impurity_decrease
            ));
        }
        Ok(())
    }

    /// Fits a tree predicting `target` (one per row of `x`).
    pub fn fit(&self, x: &FeatureMatrix, target: &[bool], classes: Classes) -> Result<Tree> {
        self.check()?;
        if target.len() != x.rows() {
            return Err(Error::Length {
                what: "the tree's target".to_owned(),
                expected: x.rows(),
                found: target.len(),
            });
        }
        let (rows, width) = (x.rows() as u64, x.columns().len() as u64);
        let per_case = width
            .checked_mul(BYTES_PER_CELL)
            .and_then(|b| b.checked_add(BYTES_PER_CASE));
        self.budget.check_elements(
            "the surrogate tree's working copies",
            &[rows, per_case.unwrap_or(u64::MAX)],
            1,
        )?;
        let mut nodes = self.grow(x, target)?;
        merge_same_verdicts(&mut nodes);
        Ok(Tree {
            columns: x.columns().to_vec(),
            classes,
            nodes: compact(&nodes),
        })
    }
}

/// A leaf's best split, found by linfa on the leaf's own cases.
struct Candidate {
    column: usize,
    threshold: f64,
    /// Cases × Gini decrease: what splitting this leaf buys.
    gain: f64,
    below: Vec<usize>,
    above: Vec<usize>,
}

impl TreeParams {
    /// The root split of a linfa tree fitted on `rows` with the depth that remains; `None`
    /// when the node is at the depth limit, too small, pure, or linfa finds no split.
    fn candidate(
        &self,
        x: &FeatureMatrix,
        target: &[bool],
        rows: &[usize],
        depth: usize,
    ) -> Result<Option<Candidate>> {
        let positive = rows.iter().filter(|&&r| target[r]).count();
        if depth >= self.max_depth
            || rows.len() < 2 * self.min_leaf
            || positive == 0
            || positive == rows.len()
        {
            return Ok(None);
        }
        let width = x.columns().len();
        let values: Vec<f64> = rows.iter().flat_map(|&r| x.row(r)).copied().collect();
        let records = Array2::from_shape_vec((rows.len(), width), values)
            .map_err(|e| Error::Linfa(e.to_string()))?;
        let labels: Array1<bool> = rows.iter().map(|&r| target[r]).collect();
        let weights = labels
            .iter()
            .map(|&p| if p { 1.0 + POSITIVE_TILT } else { 1.0 })
            .collect();
        let dataset = linfa::Dataset::new(records, labels).with_weights(weights);
        let fitted: DecisionTree<f64, bool> = DecisionTree::params()
            .max_depth(Some(self.max_depth - depth))
            .min_weight_leaf(self.min_leaf as f32)
            .min_weight_split(2.0 * self.min_leaf as f32)
            .min_impurity_decrease(self.min_impurity_decrease)
            .fit(&dataset)
            .map_err(|e| Error::Linfa(e.to_string()))?;
        let root = fitted.root_node();
        if root.is_leaf() {
            return Ok(None);
        }
        let (column, midpoint, decrease) = root.split();
        // linfa sends `value <= midpoint` left while fitting.
        let (below, above): (Vec<usize>, Vec<usize>) =
            rows.iter().partition(|&&r| x.row(r)[column] <= midpoint);
        let value = |r: &usize| x.row(*r)[column];
        let (Some(low), Some(high)) = (
            below.iter().map(value).max_by(f64::total_cmp),
            above.iter().map(value).min_by(f64::total_cmp),
        ) else {
            return Ok(None);
        };
        Ok(Some(Candidate {
            column,
            threshold: readable_threshold(low, high),
            gain: decrease * rows.len() as f64,
            below,
            above,
        }))
    }

    /// Best-first growth: split the leaf whose candidate gains most, until the leaf limit.
    fn grow(&self, x: &FeatureMatrix, target: &[bool]) -> Result<Vec<Node>> {
        let node = |rows: &[usize], depth| Node {
            cases: rows.len(),
            positive: rows.iter().filter(|&&r| target[r]).count(),
            depth,
            split: None,
        };
        let all: Vec<usize> = (0..x.rows()).collect();
        let mut nodes = vec![node(&all, 0)];
        let mut candidates: Vec<Option<Candidate>> = vec![self.candidate(x, target, &all, 0)?];
        // (gain, earlier node first) → node index; gains are finite and non-negative.
        let mut queue: BinaryHeap<(u64, Reverse<usize>)> = BinaryHeap::new();
        if let Some(c) = &candidates[0] {
            queue.push((c.gain.max(0.0).to_bits(), Reverse(0)));
        }
        let mut leaves = 1;
        while leaves < self.max_leaves {
            let Some((_, Reverse(leaf))) = queue.pop() else {
                break;
            };
            let Some(chosen) = candidates[leaf].take() else {
                continue;
            };
            let depth = nodes[leaf].depth + 1;
            let (below, above) = (nodes.len(), nodes.len() + 1);
            for rows in [&chosen.below, &chosen.above] {
                nodes.push(node(rows, depth));
                let candidate = self.candidate(x, target, rows, depth)?;
                if let Some(c) = &candidate {
                    queue.push((c.gain.max(0.0).to_bits(), Reverse(candidates.len())));
                }
                candidates.push(candidate);
            }
            nodes[leaf].split = Some(Split {
                column: chosen.column,
                threshold: chosen.threshold,
                below,
                above,
            });
            leaves += 1;
        }
        Ok(nodes)
    }
}

/// The number with the fewest significant digits in `(low, high]` (from thousands down to
/// millionths), nearest the midpoint among those; `high` when the gap is narrower. Candidates
/// are `k / 10^d` or `k · 10^d`, so that `4.1` is the same `f64` as the parsed label "4.1".
pub fn readable_threshold(low: f64, high: f64) -> f64 {
    let middle = low + (high - low) / 2.0;
    for digits in -3i32..=6 {
        let at = |k: f64| {
            if digits >= 0 {
                k / 10f64.powi(digits)
            } else {
                k * 10f64.powi(-digits)
            }
        };
        let scale = 10f64.powi(digits);
        let first = (low * scale).floor() + 1.0;
        let near = (middle * scale).round();
        for k in [near, near + 1.0, first] {
            let candidate = at(k);
            if candidate > low && candidate <= high {
                return candidate;
            }
        }
    }
    high
}

/// Collapses, bottom-up, every split whose two children are leaves with the same verdict.
fn merge_same_verdicts(nodes: &mut [Node]) {
    for i in (0..nodes.len()).rev() {
        let same = nodes[i].split.as_ref().is_some_and(|s| {
            let (b, a) = (&nodes[s.below], &nodes[s.above]);
            b.split.is_none() && a.split.is_none() && b.verdict() == a.verdict()
        });
        if same {
            nodes[i].split = None;
        }
    }
}

/// The nodes reachable from the root, renumbered in preorder.
fn compact(nodes: &[Node]) -> Vec<Node> {
    fn visit(nodes: &[Node], i: usize, out: &mut Vec<Node>) -> usize {
        let index = out.len();
        out.push(Node {
            split: None,
            ..nodes[i].clone()
        });
        if let Some(s) = &nodes[i].split {
            let below = visit(nodes, s.below, out);
            let above = visit(nodes, s.above, out);
            out[index].split = Some(Split {
                below,
                above,
                ..s.clone()
            });
        }
        index
    }
    let mut out = Vec::with_capacity(nodes.len());
    visit(nodes, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(cases: usize, positive: usize, depth: usize) -> Node {
        Node {
            cases,
            positive,
            depth,
            split: None,
        }
    }

    fn split(node: Node, below: usize, above: usize) -> Node {
        Node {
            split: Some(Split {
                column: 0,
                threshold: 1.0,
                below,
                above,
            }),
            ..node
        }
    }

    /// Why the tree is grown here and not by linfa alone (see the module docs): `x1` matters
    /// only where `x0` = 1, and the case sorted last among `x1`'s zeros has `x0` = 0, so
    /// linfa 0.8 never tries `x1` in the `x0` = 1 node.
    #[test]
    fn linfa_alone_misses_a_binary_split_below_the_root_and_best_first_growth_does_not() {
        use crate::matrix::Column;
        // Rows: 20 × (x0, x1) = (1, 1) → yes; 10 × (1, 0), 20 × (0, 1), 30 × (0, 0) → no.
        // The root splits on x0 (Gini 0.167 against 0.25 for x1).
        let case = |i: usize| (i < 30, i < 20 || (30..50).contains(&i));
        let mut values = Vec::new();
        let mut target = Vec::new();
        for i in 0..80 {
            let (x0, x1) = case(i);
            values.extend([f64::from(u8::from(x0)), f64::from(u8::from(x1))]);
            target.push(x0 && x1);
        }
        let columns = vec![
            Column::number("x0", "x0", None),
            Column::number("x1", "x1", None),
        ];
        let x = FeatureMatrix::new(columns, 80, values.clone()).unwrap();

        let records = Array2::from_shape_vec((80, 2), values).unwrap();
        let dataset = linfa::Dataset::new(records, Array1::from(target.clone()));
        let linfa_tree: DecisionTree<f64, bool> = DecisionTree::params()
            .max_depth(Some(2))
            .fit(&dataset)
            .unwrap();
        let linfa_errors = (0..80)
            .filter(|&i| {
                let (x0, x1) = case(i);
                // Follow linfa's tree by hand: its `predict` needs linfa's traits.
                let mut node = linfa_tree.root_node();
                while !node.is_leaf() {
                    let (column, split, _) = node.split();
                    let value = if column == 0 { x0 } else { x1 };
                    let child = if f64::from(u8::from(value)) <= split {
                        0
                    } else {
                        1
                    };
                    node = node.children()[child].as_deref().unwrap();
                }
                node.prediction() != Some(target[i])
            })
            .count();
        assert_eq!(
            linfa_errors, 10,
            "linfa now finds the split: reconsider `grow`"
        );

        let ours = Tree::params()
            .min_leaf(1)
            .fit(&x, &target, Classes::new("no", "yes", "truth"))
            .unwrap();
        assert_eq!(ours.leaves().len(), 3);
        assert!((0..80).all(|i| ours.nodes[ours.route(x.row(i))].verdict() == target[i]));
    }

    #[test]
    fn thresholds_are_the_roundest_number_in_the_gap() {
        assert_eq!(readable_threshold(3.9, 4.1), 4.0);
        assert_eq!(readable_threshold(4.0, 4.1), 4.1);
        assert_eq!(readable_threshold(37.0, 120.0), 100.0);
        assert_eq!(readable_threshold(0.0, 1.0), 1.0);
        assert_eq!(readable_threshold(1.0, 2.0), 2.0);
        assert_eq!(readable_threshold(0.3123, 0.3187), 0.316);
        assert_eq!(readable_threshold(-0.5, -0.1), -0.3);
        assert_eq!(readable_threshold(1.0, 1.0 + 1e-9), 1.0 + 1e-9);
    }

    #[test]
    fn sibling_leaves_with_one_verdict_merge() {
        let mut nodes = vec![
            split(leaf(30, 25, 0), 1, 2),
            leaf(10, 6, 1),
            leaf(20, 19, 1),
        ];
        merge_same_verdicts(&mut nodes);
        assert_eq!(compact(&nodes), [leaf(30, 25, 0)]);
    }
}
