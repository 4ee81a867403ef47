//! A fitted binary decision tree as plain data, grown by linfa-trees and pruned here.
//!
//! linfa-trees 0.8 grows a CART tree (Gini) with a depth limit and a minimum leaf weight, but
//! it keeps no class counts in its nodes and has no bound on the number of leaves. So the
//! fitted linfa tree is copied into [`Tree`] (an arena of [`Node`]s in preorder), the training
//! cases are routed through it to count each node's cases, and — when it has more leaves than
//! [`TreeParams::max_leaves`] — it is cut back by **minimal cost-complexity pruning**
//! (Breiman et al. 1984, as scikit-learn's `ccp_alpha`): repeatedly collapse the internal node
//! whose subtree buys the least weighted Gini impurity per extra leaf, until the tree fits.
//! Finally a split whose two leaves give the same verdict is collapsed (it changes no
//! prediction; linfa does the same after growing).
//!
//! Each split's threshold is moved from linfa's midpoint to the roundest number in the gap
//! between the training values on either side — above the largest value below, at most the
//! smallest value above; with fewest significant digits, nearest the midpoint among those
//! ([`readable_threshold`]). It splits the training cases exactly as linfa did, but reads as
//! a clinician would write it ("size ≥ 4 cm" for a gap from 3.9 to 4.1, "size ≥ 4.1 cm" for
//! one from 4.0 to 4.1, never "size > 4.05 cm"). A case goes to the upper branch when its
//! value is ≥ the threshold.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use explainme_budget::MemoryBudget;
use linfa::prelude::Fit;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2};
use serde::Serialize;

use crate::matrix::{Column, FeatureMatrix};
use crate::{Error, Result};

/// The deepest tree accepted: linfa grows recursively, and rules longer than this say nothing
/// to a reader.
pub const MAX_DEPTH: usize = 16;

/// What the tree predicts, in words: the class names and whose verdict the shares count
/// ("CNN says so in 96% of 312 cases", "pathology says so …").
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Training cases that reach the node.
    pub cases: usize,
    /// Of those, how many are in the positive class.
    pub positive: usize,
    pub depth: usize,
    pub split: Option<Split>,
}

/// A split: cases with `value < threshold` go to `below`, the others to `above`.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

    fn gini_mass(&self) -> f64 {
        let p = self.share();
        self.cases as f64 * 2.0 * p * (1.0 - p)
    }
}

/// A fitted tree: its nodes in preorder (root first, `below` before `above`).
#[derive(Debug, Clone, PartialEq, Serialize)]
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

    /// The leaf a row of values reaches (values in [`Tree::columns`] order).
    pub fn leaf_of(&self, row: &[f64]) -> usize {
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

    /// The path from the root to `node`: each step's split node and whether it went above.
    pub(crate) fn path(&self, node: usize) -> Vec<(usize, bool)> {
        let mut path = Vec::new();
        let mut target = node;
        while target != 0 {
            let parent = (0..target)
                .rev()
                .find(|&p| {
                    self.nodes[p]
                        .split
                        .as_ref()
                        .is_some_and(|s| s.below == target || s.above == target)
                })
                .unwrap_or(0);
            let above = self.nodes[parent]
                .split
                .as_ref()
                .is_some_and(|s| s.above == target);
            path.push((parent, above));
            target = parent;
        }
        path.reverse();
        path
    }
}

/// Hyperparameters of a tree. Defaults: depth at most 4, at most 16 leaves, at least 10
/// training cases per leaf, a split must lower the Gini impurity by 1e-5 (linfa's default),
/// the default [`MemoryBudget`].
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

/// Working bytes per matrix cell while linfa grows: its own copy of the records (8), a sorted
/// (index, value) pair per cell (16) and our copy of the training rows (8).
const BYTES_PER_CELL: u64 = 32;
/// Working bytes per case besides: targets, weights and the row masks of every level.
const BYTES_PER_CASE: u64 = 16 + 2 * MAX_DEPTH as u64;

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
    /// The smallest drop in Gini impurity that a split must bring, > 0 (default 1e-5).
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
        if !(self.min_impurity_decrease.is_finite() && self.min_impurity_decrease > 0.0) {
            return bad(format!(
                "min impurity decrease {} must be a positive number",
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
        let records = Array2::from_shape_vec((x.rows(), x.columns().len()), x.values().to_vec())
            .map_err(|e| Error::Linfa(e.to_string()))?;
        let weights = target
            .iter()
            .map(|&p| if p { 1.0 + POSITIVE_TILT } else { 1.0 })
            .collect();
        let names: Vec<String> = x.columns().iter().map(|c| c.name.clone()).collect();
        let dataset = linfa::Dataset::new(records, Array1::from(target.to_vec()))
            .with_weights(Array1::from_vec(weights))
            .with_feature_names(names);
        let fitted: DecisionTree<f64, bool> = DecisionTree::params()
            .max_depth(Some(self.max_depth))
            .min_weight_leaf(self.min_leaf as f32)
            .min_weight_split(2.0 * self.min_leaf as f32)
            .min_impurity_decrease(self.min_impurity_decrease)
            .fit(&dataset)
            .map_err(|e| Error::Linfa(e.to_string()))?;

        let mut grown = Grown {
            x,
            target,
            nodes: Vec::new(),
        };
        grown.copy(fitted.root_node(), (0..x.rows()).collect(), 0);
        let mut nodes = grown.nodes;
        prune_to(&mut nodes, self.max_leaves);
        merge_same_verdicts(&mut nodes);
        Ok(Tree {
            columns: x.columns().to_vec(),
            classes,
            nodes: compact(&nodes),
        })
    }
}

/// The copy of linfa's tree being built, with the training data to count cases.
struct Grown<'a> {
    x: &'a FeatureMatrix,
    target: &'a [bool],
    nodes: Vec<Node>,
}

impl Grown<'_> {
    /// Copies `node` (reached by training rows `rows`) and its subtree; returns its index.
    fn copy(&mut self, node: &TreeNode<f64, bool>, rows: Vec<usize>, depth: usize) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Node {
            cases: rows.len(),
            positive: rows.iter().filter(|&&r| self.target[r]).count(),
            depth,
            split: None,
        });
        let children = node.children();
        let (Some(left), Some(right)) = (children[0], children[1]) else {
            return index;
        };
        if node.is_leaf() {
            return index;
        }
        let (column, midpoint, _) = node.split();
        // linfa sends `value <= midpoint` left while fitting.
        let (below, above): (Vec<usize>, Vec<usize>) = rows
            .iter()
            .partition(|&&r| self.x.row(r)[column] <= midpoint);
        let value = |r: &usize| self.x.row(*r)[column];
        let (Some(low), Some(high)) = (
            below.iter().map(value).max_by(f64::total_cmp),
            above.iter().map(value).min_by(f64::total_cmp),
        ) else {
            return index;
        };
        let threshold = readable_threshold(low, high);
        let below = self.copy(left, below, depth + 1);
        let above = self.copy(right, above, depth + 1);
        self.nodes[index].split = Some(Split {
            column,
            threshold,
            below,
            above,
        });
        index
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

/// Weighted Gini impurity and leaf count of every live subtree, bottom-up (children always
/// follow their parent in the arena).
fn subtree_totals(nodes: &[Node], live: &[bool]) -> (Vec<f64>, Vec<usize>) {
    let mut mass = vec![0.0; nodes.len()];
    let mut leaves = vec![0; nodes.len()];
    for i in (0..nodes.len()).rev() {
        if !live[i] {
            continue;
        }
        match &nodes[i].split {
            None => {
                mass[i] = nodes[i].gini_mass();
                leaves[i] = 1;
            }
            Some(s) => {
                mass[i] = mass[s.below] + mass[s.above];
                leaves[i] = leaves[s.below] + leaves[s.above];
            }
        }
    }
    (mass, leaves)
}

/// The weakest-link key of internal node `i`: impurity bought per extra leaf, then deeper
/// nodes first, then later ones (all deterministic).
fn weakest_key(
    nodes: &[Node],
    mass: &[f64],
    leaves: &[usize],
    i: usize,
) -> (u64, Reverse<usize>, Reverse<usize>) {
    let alpha = ((nodes[i].gini_mass() - mass[i]) / (leaves[i] - 1) as f64).max(0.0);
    (alpha.to_bits(), Reverse(nodes[i].depth), Reverse(i))
}

/// Minimal cost-complexity pruning until at most `max_leaves` leaves remain. Each collapse
/// updates the collapsed node's ancestors only, and the candidates live in an ordered set,
/// so the pass costs O(n log n · depth) for n nodes.
fn prune_to(nodes: &mut [Node], max_leaves: usize) {
    let mut live = vec![true; nodes.len()];
    let (mut mass, mut leaves) = subtree_totals(nodes, &live);
    if leaves[0] <= max_leaves {
        return;
    }
    let mut parent = vec![usize::MAX; nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        if let Some(s) = &node.split {
            parent[s.below] = i;
            parent[s.above] = i;
        }
    }
    let mut queue: BTreeSet<_> = (0..nodes.len())
        .filter(|&i| nodes[i].split.is_some())
        .map(|i| weakest_key(nodes, &mass, &leaves, i))
        .collect();
    while leaves[0] > max_leaves {
        let Some(key) = queue.pop_first() else {
            break;
        };
        let weakest = key.2.0;
        // Drop the collapsed subtree's nodes from the arena and from the queue.
        let mut stack: Vec<usize> = nodes[weakest]
            .split
            .as_ref()
            .map(|s| vec![s.below, s.above])
            .unwrap_or_default();
        while let Some(j) = stack.pop() {
            if let Some(s) = &nodes[j].split {
                queue.remove(&weakest_key(nodes, &mass, &leaves, j));
                stack.extend([s.below, s.above]);
            }
            live[j] = false;
        }
        let (mass_drop, leaf_drop) = (mass[weakest] - nodes[weakest].gini_mass(), leaves[weakest] - 1);
        nodes[weakest].split = None;
        mass[weakest] = nodes[weakest].gini_mass();
        leaves[weakest] = 1;
        let mut ancestor = parent[weakest];
        while ancestor != usize::MAX {
            queue.remove(&weakest_key(nodes, &mass, &leaves, ancestor));
            mass[ancestor] -= mass_drop;
            leaves[ancestor] -= leaf_drop;
            queue.insert(weakest_key(nodes, &mass, &leaves, ancestor));
            ancestor = parent[ancestor];
        }
    }
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

    #[test]
    fn pruning_collapses_the_weakest_link_first() {
        // root(100, 50) → a(50, 45) [a1(25, 25), a2(25, 20)], b(50, 5) [b1(40, 0), b2(10, 5)]
        let mut nodes = vec![
            split(leaf(100, 50, 0), 1, 4),
            split(leaf(50, 45, 1), 2, 3),
            leaf(25, 25, 2),
            leaf(25, 20, 2),
            split(leaf(50, 5, 1), 5, 6),
            leaf(40, 0, 2),
            leaf(10, 5, 2),
        ];
        // Gini mass: a = 9, a1 + a2 = 0 + 8 → a buys 1; b = 9, b1 + b2 = 0 + 5 → b buys 4.
        prune_to(&mut nodes, 3);
        assert!(nodes[1].split.is_none(), "a is the weakest link");
        assert!(nodes[4].split.is_some());
        let tree = compact(&nodes);
        assert_eq!(tree.len(), 5);
        assert_eq!(tree[0].split.as_ref().unwrap().above, 2);
        prune_to(&mut nodes, 1);
        assert!(nodes[0].split.is_none());
        assert_eq!(compact(&nodes).len(), 1);
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
