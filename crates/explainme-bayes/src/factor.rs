//! [`Factor`]: a table over a set of variables, the unit of exact inference.
//!
//! Values live in one flat `Vec<f64>`, row-major over the variables in ascending index order
//! (the last variable varies fastest). Every operation walks the table once with an
//! odometer over the result's assignment and strided indices into the operands, as in
//! Koller & Friedman (2009, algorithm 10.A.1); there is no per-entry allocation or hashing.

use std::fmt;

use explainme_budget::{MemoryBudget, bytes_for};
use serde::Serialize;

use crate::error::Result;
use crate::network::BayesNet;

/// Checks, before it is allocated, that a table over variables of cardinalities `cards` (8
/// bytes an entry), on top of `held` bytes the operation already keeps, fits `budget`;
/// returns the table's bytes. Inference sizes its factors by the network's structure, which
/// a small file can make astronomically large.
pub(crate) fn check_table(
    budget: &MemoryBudget,
    what: impl fmt::Display,
    cards: impl IntoIterator<Item = usize>,
    held: u64,
) -> Result<u64> {
    let what = what.to_string();
    let dims: Vec<u64> = cards.into_iter().map(|c| c as u64).collect();
    // The table alone first: this also refuses a size that overflows 64 bits.
    budget.check_elements(&what, &dims, 8)?;
    let bytes = bytes_for(&dims, 8).unwrap_or(u64::MAX);
    budget.check(what, held.saturating_add(bytes))?;
    Ok(bytes)
}

/// A non-negative table over variables (ascending indices), e.g. a joint posterior.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Factor {
    variables: Vec<usize>,
    cardinalities: Vec<usize>,
    values: Vec<f64>,
}

/// Visits every assignment of `cards` (last fastest) with the index into two operands whose
/// strides, aligned to the same variables, are `sa` and `sb` (0 where an operand lacks one).
fn walk2(cards: &[usize], sa: &[usize], sb: &[usize], mut f: impl FnMut(usize, usize, usize)) {
    let total: usize = cards.iter().product();
    let mut counter = vec![0usize; cards.len()];
    let (mut ja, mut jb) = (0, 0);
    for i in 0..total {
        f(i, ja, jb);
        for l in (0..cards.len()).rev() {
            counter[l] += 1;
            if counter[l] == cards[l] {
                counter[l] = 0;
                ja -= (cards[l] - 1) * sa[l];
                jb -= (cards[l] - 1) * sb[l];
            } else {
                ja += sa[l];
                jb += sb[l];
                break;
            }
        }
    }
}

/// Row-major strides of a table over `cards`.
fn strides(cards: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; cards.len()];
    for l in (0..cards.len().saturating_sub(1)).rev() {
        strides[l] = strides[l + 1] * cards[l + 1];
    }
    strides
}

impl Factor {
    /// The constant factor over no variables.
    pub(crate) fn scalar(value: f64) -> Self {
        Self {
            variables: Vec::new(),
            cardinalities: Vec::new(),
            values: vec![value],
        }
    }

    /// A factor of ones over `variables` (ascending).
    pub(crate) fn ones(variables: Vec<usize>, cardinalities: Vec<usize>) -> Self {
        let size = cardinalities.iter().product();
        Self {
            variables,
            cardinalities,
            values: vec![1.0; size],
        }
    }

    /// P(child | parents) of `net` as a factor over the sorted family, every row rescaled to
    /// sum to exactly one. [`BayesNet::new`] only admits rows within
    /// [`crate::Cpt::ROW_SUM_TOLERANCE`] of one, but BIF files round their numbers — ALARM's
    /// rows sum to 1 ± 1e-7 — and inference must not depend on which barren variables a query
    /// happens to prune, so every engine works on the normalised tables.
    pub(crate) fn from_cpt(net: &BayesNet, child: usize) -> Self {
        let card = net.variable(child).cardinality();
        let mut values = net.cpt(child).values.clone();
        for row in values.chunks_mut(card) {
            let total: f64 = row.iter().sum();
            if total > 0.0 {
                row.iter_mut().for_each(|v| *v /= total);
            }
        }
        let cpt = net.cpt(child);
        let mut family: Vec<usize> = cpt.parents.clone();
        family.push(child);
        let family_cards: Vec<usize> = family
            .iter()
            .map(|&v| net.variable(v).cardinality())
            .collect();
        let cpt_strides = strides(&family_cards);
        let mut order: Vec<usize> = (0..family.len()).collect();
        order.sort_by_key(|&k| family[k]);
        let variables: Vec<usize> = order.iter().map(|&k| family[k]).collect();
        let cardinalities: Vec<usize> = order.iter().map(|&k| family_cards[k]).collect();
        let aligned: Vec<usize> = order.iter().map(|&k| cpt_strides[k]).collect();
        let zeros = vec![0; variables.len()];
        let table = values;
        let mut values = vec![0.0; table.len()];
        walk2(&cardinalities, &aligned, &zeros, |i, j, _| {
            values[i] = table[j]
        });
        Self {
            variables,
            cardinalities,
            values,
        }
    }

    /// The variables, ascending.
    pub fn variables(&self) -> &[usize] {
        &self.variables
    }

    /// The cardinality of each variable, aligned with [`Factor::variables`].
    pub fn cardinalities(&self) -> &[usize] {
        &self.cardinalities
    }

    /// The flat table, row-major, last variable fastest.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The entry for `states`, aligned with [`Factor::variables`].
    pub fn value(&self, states: &[usize]) -> f64 {
        let index = states
            .iter()
            .zip(&self.cardinalities)
            .fold(0, |acc, (&s, &c)| acc * c + s);
        self.values[index]
    }

    pub(crate) fn contains(&self, var: usize) -> bool {
        self.variables.binary_search(&var).is_ok()
    }

    /// Strides of `self` aligned to `scope` (0 for variables of `scope` that `self` lacks).
    fn aligned_strides(&self, scope: &[usize]) -> Vec<usize> {
        let own = strides(&self.cardinalities);
        scope
            .iter()
            .map(|v| self.variables.binary_search(v).map_or(0, |k| own[k]))
            .collect()
    }

    /// The product of two factors over the union of their variables.
    pub(crate) fn product(&self, other: &Factor) -> Factor {
        let mut variables = Vec::with_capacity(self.variables.len() + other.variables.len());
        let mut cardinalities = Vec::with_capacity(variables.capacity());
        let (mut a, mut b) = (0, 0);
        while a < self.variables.len() || b < other.variables.len() {
            let take_a = b == other.variables.len()
                || (a < self.variables.len() && self.variables[a] <= other.variables[b]);
            if take_a {
                if b < other.variables.len() && self.variables[a] == other.variables[b] {
                    b += 1;
                }
                variables.push(self.variables[a]);
                cardinalities.push(self.cardinalities[a]);
                a += 1;
            } else {
                variables.push(other.variables[b]);
                cardinalities.push(other.cardinalities[b]);
                b += 1;
            }
        }
        let sa = self.aligned_strides(&variables);
        let sb = other.aligned_strides(&variables);
        let mut values = vec![0.0; cardinalities.iter().product()];
        walk2(&cardinalities, &sa, &sb, |i, ja, jb| {
            values[i] = self.values[ja] * other.values[jb]
        });
        Factor {
            variables,
            cardinalities,
            values,
        }
    }

    /// Splits the table around `var` as `outer × card × inner` blocks.
    fn blocks(&self, var: usize) -> Option<(usize, usize, usize, usize)> {
        let k = self.variables.binary_search(&var).ok()?;
        let outer = self.cardinalities[..k].iter().product();
        let inner = self.cardinalities[k + 1..].iter().product();
        Some((k, outer, self.cardinalities[k], inner))
    }

    fn without(&self, k: usize, values: Vec<f64>) -> Factor {
        let mut variables = self.variables.clone();
        let mut cardinalities = self.cardinalities.clone();
        variables.remove(k);
        cardinalities.remove(k);
        Factor {
            variables,
            cardinalities,
            values,
        }
    }

    /// Σ over `var`; unchanged if `var` is absent.
    pub(crate) fn sum_out(&self, var: usize) -> Factor {
        let Some((k, outer, card, inner)) = self.blocks(var) else {
            return self.clone();
        };
        let mut values = vec![0.0; outer * inner];
        for o in 0..outer {
            let target = &mut values[o * inner..(o + 1) * inner];
            for s in 0..card {
                let start = (o * card + s) * inner;
                for (t, v) in target.iter_mut().zip(&self.values[start..start + inner]) {
                    *t += v;
                }
            }
        }
        self.without(k, values)
    }

    /// max over `var`; unchanged if `var` is absent.
    pub(crate) fn max_out(&self, var: usize) -> Factor {
        let Some((k, outer, card, inner)) = self.blocks(var) else {
            return self.clone();
        };
        let mut values = vec![f64::NEG_INFINITY; outer * inner];
        for o in 0..outer {
            let target = &mut values[o * inner..(o + 1) * inner];
            for s in 0..card {
                let start = (o * card + s) * inner;
                for (t, &v) in target.iter_mut().zip(&self.values[start..start + inner]) {
                    *t = t.max(v);
                }
            }
        }
        self.without(k, values)
    }

    /// The slice `var = state`, without `var`; unchanged if `var` is absent.
    pub(crate) fn reduce(&self, var: usize, state: usize) -> Factor {
        let Some((k, outer, card, inner)) = self.blocks(var) else {
            return self.clone();
        };
        let mut values = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            let start = (o * card + state) * inner;
            values.extend_from_slice(&self.values[start..start + inner]);
        }
        self.without(k, values)
    }

    /// Zeroes the entries with `var ≠ state`, keeping the scope (evidence in a clique).
    pub(crate) fn restrict_in_place(&mut self, var: usize, state: usize) {
        if let Some((_, outer, card, inner)) = self.blocks(var) {
            for o in 0..outer {
                for s in (0..card).filter(|&s| s != state) {
                    let start = (o * card + s) * inner;
                    self.values[start..start + inner].fill(0.0);
                }
            }
        }
    }

    /// Σ over every variable not in `keep` (ascending, a subset of the scope).
    pub(crate) fn marginal(&self, keep: &[usize]) -> Factor {
        let cardinalities: Vec<usize> = keep
            .iter()
            .filter_map(|v| {
                self.variables
                    .binary_search(v)
                    .ok()
                    .map(|k| self.cardinalities[k])
            })
            .collect();
        let mut target = Factor {
            variables: keep.to_vec(),
            values: vec![0.0; cardinalities.iter().product()],
            cardinalities,
        };
        let st = target.aligned_strides(&self.variables);
        let zeros = vec![0; self.variables.len()];
        walk2(&self.cardinalities, &st, &zeros, |i, j, _| {
            target.values[j] += self.values[i]
        });
        target
    }

    /// Multiplies entry-wise by a factor whose variables are a subset of this one's.
    pub(crate) fn multiply_by(&mut self, sub: &Factor) {
        let ss = sub.aligned_strides(&self.variables);
        let zeros = vec![0; self.variables.len()];
        let values = &mut self.values;
        walk2(&self.cardinalities, &ss, &zeros, |i, j, _| {
            values[i] *= sub.values[j]
        });
    }

    /// Entry-wise `self / other` over the same scope, with 0/0 = 0 (Hugin's convention).
    pub(crate) fn ratio(&self, other: &Factor) -> Factor {
        let values = self
            .values
            .iter()
            .zip(&other.values)
            .map(|(&a, &b)| if b == 0.0 { 0.0 } else { a / b })
            .collect();
        Factor {
            variables: self.variables.clone(),
            cardinalities: self.cardinalities.clone(),
            values,
        }
    }

    /// The sum of all entries.
    pub(crate) fn total(&self) -> f64 {
        self.values.iter().sum()
    }

    /// Divides by the total; the total is returned (0 leaves the table unchanged).
    pub(crate) fn normalize(&mut self) -> f64 {
        let total = self.total();
        if total > 0.0 {
            self.values.iter_mut().for_each(|v| *v /= total);
        }
        total
    }

    /// The index of the largest entry (first on ties).
    pub(crate) fn argmax(&self) -> usize {
        let mut best = 0;
        for (i, &v) in self.values.iter().enumerate() {
            if v > self.values[best] {
                best = i;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor(variables: Vec<usize>, cardinalities: Vec<usize>, values: Vec<f64>) -> Factor {
        Factor {
            variables,
            cardinalities,
            values,
        }
    }

    #[test]
    fn product_then_sum_matches_hand_computation() {
        // f(a, b) · g(b, c), all binary; Σ_b gives h(a, c).
        let f = factor(vec![0, 1], vec![2, 2], vec![0.1, 0.9, 0.4, 0.6]);
        let g = factor(vec![1, 2], vec![2, 2], vec![0.7, 0.3, 0.2, 0.8]);
        let h = f.product(&g).sum_out(1);
        let expected = [
            0.1 * 0.7 + 0.9 * 0.2,
            0.1 * 0.3 + 0.9 * 0.8,
            0.4 * 0.7 + 0.6 * 0.2,
            0.4 * 0.3 + 0.6 * 0.8,
        ];
        assert_eq!(h.variables(), [0, 2]);
        for (a, b) in h.values().iter().zip(expected) {
            assert!((a - b).abs() < 1e-15);
        }
        assert_eq!(f.product(&g).marginal(&[0, 2]).values(), h.values());
    }

    #[test]
    fn reduce_and_restrict_agree() {
        let f = factor(vec![3, 5], vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(f.reduce(5, 1).values(), [2.0, 5.0]);
        let mut g = f.clone();
        g.restrict_in_place(5, 1);
        assert_eq!(g.sum_out(5).values(), [2.0, 5.0]);
        assert_eq!(f.max_out(3).values(), [4.0, 5.0, 6.0]);
    }
}
