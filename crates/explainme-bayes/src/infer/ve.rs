//! Variable elimination with barren-variable pruning and a min-fill order per query.
//!
//! The factors an elimination forms are sized by the network's structure, not by its file:
//! a few dozen binary variables can make a factor of 2^40 entries. Each is checked against
//! the engine's [`MemoryBudget`] before it is allocated.

use explainme_budget::MemoryBudget;

use crate::error::{Error, Result};
use crate::factor::{Factor, check_table};
use crate::infer::order::Interaction;
use crate::infer::{Evidence, ancestral_set, check_targets};
use crate::network::BayesNet;

/// Exact queries by variable elimination. Build once per network (the CPTs are turned into
/// factors here), then ask any number of queries.
///
/// ```
/// use explainme_bayes::{Evidence, VariableElimination, read_bif};
/// let net = read_bif(
///     "network n { }
///      variable rain { type discrete [ 2 ] { yes, no }; }
///      variable wet { type discrete [ 2 ] { yes, no }; }
///      probability ( rain ) { table 0.2, 0.8; }
///      probability ( wet | rain ) { (yes) 0.9, 0.1; (no) 0.1, 0.9; }",
/// )?;
/// let ve = VariableElimination::new(&net);
/// let p = ve.marginal(0, &Evidence::parse(&net, "wet=yes")?)?;
/// assert!((p[0] - 0.18 / 0.26).abs() < 1e-12);
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct VariableElimination<'a> {
    net: &'a BayesNet,
    cpts: Vec<Factor>,
    budget: MemoryBudget,
}

/// A query's factors after pruning barren variables and entering evidence, with the
/// interaction graph over the remaining unobserved variables (local indices into `vars`).
pub(crate) struct Reduced<'a> {
    net: &'a BayesNet,
    budget: MemoryBudget,
    pub(crate) factors: Vec<Factor>,
    pub(crate) vars: Vec<usize>,
    pub(crate) graph: Interaction,
    pub(crate) weights: Vec<f64>,
}

/// `variables` sorted, without repeats: the scope of a product.
fn union(variables: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut scope: Vec<usize> = variables.into_iter().collect();
    scope.sort_unstable();
    scope.dedup();
    scope
}

impl Reduced<'_> {
    /// Eliminates `var` with `combine` (Σ or max) and returns the product it combined. The
    /// product is checked against the budget first, on top of `held` bytes the caller keeps.
    pub(crate) fn eliminate(
        &mut self,
        var: usize,
        combine: fn(&Factor, usize) -> Factor,
        held: u64,
    ) -> Result<Factor> {
        let scope = union(
            self.factors
                .iter()
                .filter(|f| f.contains(var))
                .flat_map(|f| f.variables().iter().copied()),
        );
        check_table(
            &self.budget,
            format_args!(
                "variable elimination: the factor over {} variables formed by eliminating `{}`",
                scope.len(),
                self.net.variable(var).name
            ),
            scope.iter().map(|&v| self.net.variable(v).cardinality()),
            held,
        )?;
        let mut product: Option<Factor> = None;
        let mut k = 0;
        while k < self.factors.len() {
            if self.factors[k].contains(var) {
                let f = self.factors.swap_remove(k);
                product = Some(match product {
                    None => f,
                    Some(p) => p.product(&f),
                });
            } else {
                k += 1;
            }
        }
        let product = product.unwrap_or_else(|| Factor::scalar(1.0));
        self.factors.push(combine(&product, var));
        Ok(product)
    }

    /// The product of all factors left, over at least `scope` (ascending), checked against
    /// the budget first.
    pub(crate) fn remaining_product(&self, scope: Vec<usize>) -> Result<Factor> {
        let all = union(
            self.factors
                .iter()
                .flat_map(|f| f.variables().iter().copied())
                .chain(scope.iter().copied()),
        );
        check_table(
            &self.budget,
            format_args!(
                "variable elimination: the joint factor over {} variables",
                all.len()
            ),
            all.iter().map(|&v| self.net.variable(v).cardinality()),
            0,
        )?;
        let cards = scope
            .iter()
            .map(|&v| self.net.variable(v).cardinality())
            .collect();
        Ok(self
            .factors
            .iter()
            .fold(Factor::ones(scope, cards), |acc, f| acc.product(f)))
    }
}

impl<'a> VariableElimination<'a> {
    /// Prepares elimination on `net`, within the default [`MemoryBudget`] (1 GiB per
    /// factor); see [`VariableElimination::within`].
    pub fn new(net: &'a BayesNet) -> Self {
        Self::within(net, &MemoryBudget::default())
    }

    /// Prepares elimination on `net`; every factor a query forms must fit `budget`, or the
    /// query fails with [`Error::OverBudget`] before allocating it.
    pub fn within(net: &'a BayesNet, budget: &MemoryBudget) -> Self {
        let cpts = (0..net.len()).map(|v| Factor::from_cpt(net, v)).collect();
        Self {
            net,
            cpts,
            budget: *budget,
        }
    }

    /// The network queried.
    pub fn network(&self) -> &'a BayesNet {
        self.net
    }

    /// The budget every factor of a query must fit.
    pub fn budget(&self) -> &MemoryBudget {
        &self.budget
    }

    pub(crate) fn reduced(&self, keep: &[usize], evidence: &Evidence) -> Result<Reduced<'a>> {
        let relevant = ancestral_set(
            self.net,
            keep.iter().copied().chain(evidence.iter().map(|(v, _)| v)),
        );
        let mut local = vec![usize::MAX; self.net.len()];
        let mut vars = Vec::new();
        for v in (0..self.net.len()).filter(|&v| relevant[v] && evidence.get(v).is_none()) {
            local[v] = vars.len();
            vars.push(v);
        }
        let mut graph = Interaction::new(vars.len(), &self.budget)?;
        let mut factors = Vec::new();
        for v in (0..self.net.len()).filter(|&v| relevant[v]) {
            let mut f = self.cpts[v].clone();
            for (e, s) in evidence.iter() {
                if f.contains(e) {
                    f = f.reduce(e, s);
                }
            }
            let scope: Vec<usize> = f.variables().iter().map(|&u| local[u]).collect();
            graph.connect_all(&scope);
            factors.push(f);
        }
        let weights = vars
            .iter()
            .map(|&v| self.net.variable(v).cardinality() as f64)
            .collect();
        Ok(Reduced {
            net: self.net,
            budget: self.budget,
            factors,
            vars,
            graph,
            weights,
        })
    }

    /// The joint posterior P(targets | evidence) as a normalised factor over the targets
    /// (ascending), together with P(evidence).
    pub fn joint(&self, targets: &[usize], evidence: &Evidence) -> Result<(Factor, f64)> {
        check_targets(self.net, targets, evidence)?;
        let mut reduced = self.reduced(targets, evidence)?;
        let eliminate: Vec<bool> = reduced.vars.iter().map(|v| !targets.contains(v)).collect();
        let weights = reduced.weights.clone();
        for (local, _) in reduced.graph.eliminate(&eliminate, &weights) {
            let var = reduced.vars[local];
            reduced.eliminate(var, Factor::sum_out, 0)?;
        }
        let mut scope = targets.to_vec();
        scope.sort_unstable();
        let mut joint = reduced.remaining_product(scope)?;
        let evidence_probability = joint.normalize();
        if evidence_probability <= 0.0 || !evidence_probability.is_finite() {
            return Err(Error::ImpossibleEvidence);
        }
        Ok((joint, evidence_probability))
    }

    /// P(target | evidence), one probability per state of `target`.
    pub fn marginal(&self, target: usize, evidence: &Evidence) -> Result<Vec<f64>> {
        Ok(self.joint(&[target], evidence)?.0.values().to_vec())
    }

    /// P(evidence).
    pub fn probability_of_evidence(&self, evidence: &Evidence) -> Result<f64> {
        Ok(self.joint(&[], evidence)?.1)
    }
}
