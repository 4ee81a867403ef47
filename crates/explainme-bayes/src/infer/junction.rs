//! The junction tree (Hugin architecture): triangulate the moral graph once (min-fill),
//! join the maximal cliques by a maximum-weight spanning tree on separator sizes, and
//! calibrate with one collect and one distribute pass per evidence set. After calibration
//! every single-variable marginal is a sum over one clique table.
//!
//! Clique tables are sized by the triangulated structure, which a small network file can
//! make astronomically large, so compiling checks them against a [`MemoryBudget`] and can
//! fail: [`JunctionTree::new`] returns a `Result`.

use explainme_budget::MemoryBudget;

use crate::error::{Error, Result};
use crate::factor::{Factor, check_table};
use crate::infer::order::Interaction;
use crate::infer::{Evidence, check_targets};
use crate::network::BayesNet;

/// The compiled junction tree of a network: cliques, tree edges, and the initial clique
/// potentials (products of the CPTs assigned to each clique).
///
/// ```
/// use explainme_bayes::{Evidence, JunctionTree, read_bif};
/// let net = read_bif(
///     "network n { }
///      variable rain { type discrete [ 2 ] { yes, no }; }
///      variable wet { type discrete [ 2 ] { yes, no }; }
///      probability ( rain ) { table 0.2, 0.8; }
///      probability ( wet | rain ) { (yes) 0.9, 0.1; (no) 0.1, 0.9; }",
/// )?;
/// let tree = JunctionTree::new(&net)?;
/// let calibrated = tree.calibrate(&Evidence::parse(&net, "wet=yes")?)?;
/// assert!((calibrated.marginal(0)[0] - 0.18 / 0.26).abs() < 1e-12);
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct JunctionTree<'a> {
    net: &'a BayesNet,
    cliques: Vec<Vec<usize>>,
    /// Cliques from the root outwards; `parent[c]` is `None` only for the root.
    order: Vec<usize>,
    parent: Vec<Option<usize>>,
    separators: Vec<Vec<usize>>,
    initial: Vec<Factor>,
    /// The smallest clique holding each variable, to read marginals from.
    home: Vec<usize>,
    budget: MemoryBudget,
    /// Bytes of the clique tables and of the separator messages, for calibration's check.
    clique_bytes: u64,
    separator_bytes: u64,
}

/// A junction tree calibrated under one evidence set.
#[derive(Debug, Clone)]
pub struct Calibrated<'a> {
    tree: &'a JunctionTree<'a>,
    potentials: Vec<Factor>,
    evidence_probability: f64,
}

impl<'a> JunctionTree<'a> {
    /// Compiles the tree for `net` within the default [`MemoryBudget`] (1 GiB); see
    /// [`JunctionTree::within`].
    pub fn new(net: &'a BayesNet) -> Result<Self> {
        Self::within(net, &MemoryBudget::default())
    }

    /// Compiles the tree for `net`. The clique tables must fit `budget` (and, at each
    /// calibration, a copy of them and the separator messages), or compiling fails with
    /// [`Error::OverBudget`] before they are allocated.
    pub fn within(net: &'a BayesNet, budget: &MemoryBudget) -> Result<Self> {
        let n = net.len();
        let cards = net.cardinalities();
        let mut moral = Interaction::new(n, budget)?;
        for v in 0..n {
            let mut family = net.parents(v).to_vec();
            family.push(v);
            moral.connect_all(&family);
        }
        let weights: Vec<f64> = cards.iter().map(|&c| c as f64).collect();
        let steps = moral.eliminate(&vec![true; n], &weights);
        let mut cliques: Vec<Vec<usize>> = Vec::new();
        for (_, clique) in steps {
            if !cliques
                .iter()
                .any(|c| clique.iter().all(|v| c.binary_search(v).is_ok()))
            {
                cliques.retain(|c| !c.iter().all(|v| clique.binary_search(v).is_ok()));
                cliques.push(clique);
            }
        }
        let mut clique_bytes: u64 = 0;
        let largest = cliques.iter().map(Vec::len).max().unwrap_or(0);
        for clique in &cliques {
            clique_bytes += check_table(
                budget,
                format_args!(
                    "the junction tree's {} clique tables (the largest over {largest} variables)",
                    cliques.len()
                ),
                clique.iter().map(|&v| cards[v]),
                clique_bytes,
            )?;
        }
        let (order, parent, separators) = spanning_tree(&cliques);
        let separator_bytes = separators
            .iter()
            .map(|s| s.iter().map(|&v| cards[v] as u64).product::<u64>() * 8)
            .sum();
        let mut initial: Vec<Factor> = cliques
            .iter()
            .map(|c| Factor::ones(c.clone(), c.iter().map(|&v| cards[v]).collect()))
            .collect();
        for v in 0..n {
            let cpt = Factor::from_cpt(net, v);
            let host = (0..cliques.len())
                .filter(|&c| {
                    cpt.variables()
                        .iter()
                        .all(|u| cliques[c].binary_search(u).is_ok())
                })
                .min_by_key(|&c| cliques[c].len());
            // Triangulation puts every family inside some clique, so a host always exists.
            if let Some(host) = host {
                initial[host].multiply_by(&cpt);
            }
        }
        let home = (0..n)
            .map(|v| {
                (0..cliques.len())
                    .filter(|&c| cliques[c].binary_search(&v).is_ok())
                    .min_by_key(|&c| initial[c].values().len())
                    .unwrap_or(0)
            })
            .collect();
        Ok(Self {
            net,
            cliques,
            order,
            parent,
            separators,
            initial,
            home,
            budget: *budget,
            clique_bytes,
            separator_bytes,
        })
    }

    /// The cliques (ascending variable indices each).
    pub fn cliques(&self) -> &[Vec<usize>] {
        &self.cliques
    }

    /// Enters `evidence` and passes messages to the root and back: two passes over the tree.
    pub fn calibrate(&'a self, evidence: &Evidence) -> Result<Calibrated<'a>> {
        check_targets(self.net, &[], evidence)?;
        self.budget.check(
            format_args!(
                "junction tree calibration: a copy of {} clique tables and their messages",
                self.cliques.len()
            ),
            self.clique_bytes.saturating_add(self.separator_bytes),
        )?;
        let mut potentials = self.initial.clone();
        for (v, s) in evidence.iter() {
            potentials[self.home[v]].restrict_in_place(v, s);
        }
        let mut messages: Vec<Option<Factor>> = vec![None; self.cliques.len()];
        for &c in self.order.iter().rev() {
            if let Some(p) = self.parent[c] {
                let message = potentials[c].marginal(&self.separators[c]);
                potentials[p].multiply_by(&message);
                messages[c] = Some(message);
            }
        }
        for &c in &self.order {
            if let (Some(p), Some(upward)) = (self.parent[c], &messages[c]) {
                let downward = potentials[p].marginal(&self.separators[c]);
                potentials[c].multiply_by(&downward.ratio(upward));
            }
        }
        let root = self.order.first().copied().unwrap_or(0);
        let evidence_probability = potentials.get(root).map_or(1.0, Factor::total);
        if evidence_probability <= 0.0 || !evidence_probability.is_finite() {
            return Err(Error::ImpossibleEvidence);
        }
        Ok(Calibrated {
            tree: self,
            potentials,
            evidence_probability,
        })
    }
}

impl Calibrated<'_> {
    /// P(variable | evidence), one probability per state.
    pub fn marginal(&self, variable: usize) -> Vec<f64> {
        let clique = self.tree.home[variable];
        let mut m = self.potentials[clique].marginal(&[variable]);
        m.normalize();
        m.values().to_vec()
    }

    /// P(evidence).
    pub fn probability_of_evidence(&self) -> f64 {
        self.evidence_probability
    }
}

/// Joins cliques by a maximum spanning tree on separator size (Kruskal; a zero-size
/// separator joins disconnected parts) and orders it from clique 0 outwards.
#[allow(clippy::type_complexity)]
fn spanning_tree(cliques: &[Vec<usize>]) -> (Vec<usize>, Vec<Option<usize>>, Vec<Vec<usize>>) {
    let k = cliques.len();
    let mut candidates = Vec::new();
    for a in 0..k {
        for b in a + 1..k {
            let shared = cliques[a]
                .iter()
                .filter(|v| cliques[b].binary_search(v).is_ok())
                .count();
            candidates.push((shared, a, b));
        }
    }
    candidates.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut component: Vec<usize> = (0..k).collect();
    fn find(component: &mut [usize], mut x: usize) -> usize {
        while component[x] != x {
            component[x] = component[component[x]];
            x = component[x];
        }
        x
    }
    let mut adjacency = vec![Vec::new(); k];
    for (_, a, b) in candidates {
        let (ra, rb) = (find(&mut component, a), find(&mut component, b));
        if ra != rb {
            component[ra] = rb;
            adjacency[a].push(b);
            adjacency[b].push(a);
        }
    }
    let mut order = Vec::with_capacity(k);
    let mut parent = vec![None; k];
    let mut separators = vec![Vec::new(); k];
    let mut seen = vec![false; k];
    if k > 0 {
        seen[0] = true;
        order.push(0);
    }
    let mut at = 0;
    while at < order.len() {
        let c = order[at];
        at += 1;
        for &d in &adjacency[c] {
            if !std::mem::replace(&mut seen[d], true) {
                parent[d] = Some(c);
                separators[d] = cliques[d]
                    .iter()
                    .copied()
                    .filter(|v| cliques[c].binary_search(v).is_ok())
                    .collect();
                order.push(d);
            }
        }
    }
    (order, parent, separators)
}
