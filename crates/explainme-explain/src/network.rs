//! The Bayesian network over the findings table, learned under the clinical ordering
//! truth → findings → CNN verdict (an arc may not point back in time), and what a reader
//! wants of it: arcs with their strength, Markov blankets, per-case posteriors.

use std::collections::BTreeMap;

use explainme_bayes::learn::{Constraints, HillClimb, Parameters, Prior};
use explainme_bayes::{BayesNet, Dataset, Evidence, Score, VariableElimination};
use explainme_cohort::Table;
use serde::{Deserialize, Serialize};

use crate::Result;

/// How the network is learned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkParams {
    /// `bic` or `bdeu` (equivalent sample size 1).
    pub score: String,
    pub max_parents: usize,
    /// Random restarts of the hill climb.
    pub restarts: usize,
}

impl NetworkParams {
    pub(crate) fn score(&self) -> Score {
        if self.score == "bdeu" {
            Score::BDeu { ess: 1.0 }
        } else {
            Score::Bic
        }
    }
}

/// An arc and how much the data support it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arc {
    pub from: String,
    pub to: String,
    /// The child's family score with the arc minus without it (bnlearn's `arc.strength`
    /// with a score criterion): how much the data prefer keeping it; larger is stronger.
    pub strength: f64,
}

/// A learned network, as stored: the BIF text is the network (parameters included); the
/// rest is read off it once at fit time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedNetwork {
    pub bif: String,
    pub arcs: Vec<Arc>,
    /// The structure score of the learned DAG on the data.
    pub score: f64,
    /// `bic` or `bdeu`.
    pub score_name: String,
    /// Markov blanket (parents, children, children's other parents) of chosen variables.
    pub markov_blankets: BTreeMap<String, Vec<String>>,
}

/// Learns structure (hill climbing under `tiers`) and BDeu parameters from the columns of
/// `table` named in `tiers`; reports the Markov blankets of `blankets`.
pub fn learn(
    table: &Table,
    tiers: &[Vec<String>],
    blankets: &[&str],
    params: &NetworkParams,
    seed: u64,
    name: &str,
) -> Result<(BayesNet, LearnedNetwork)> {
    let names: Vec<&str> = tiers.iter().flatten().map(String::as_str).collect();
    let selected = table.select(&names)?;
    let data = Dataset::from_rows(selected.columns(), selected.rows().iter().cloned())?;
    let score = params.score();
    let dag = HillClimb::params()
        .score(score)
        .constraints(
            Constraints::new()
                .tiers(tiers.to_vec())
                .max_parents(params.max_parents),
        )
        .restarts(params.restarts)
        .seed(seed)
        .fit(&data)?;
    let net = Parameters::params()
        .prior(Prior::BDeu { ess: 1.0 })
        .name(name)
        .fit(&data, &dag)?;
    let mut arcs: Vec<Arc> = dag
        .edges()
        .into_iter()
        .map(|(from, to)| {
            let with = explainme_bayes::family_score(&data, to, dag.parents(to), score);
            let others: Vec<usize> = dag
                .parents(to)
                .iter()
                .copied()
                .filter(|&p| p != from)
                .collect();
            let without = explainme_bayes::family_score(&data, to, &others, score);
            Arc {
                from: net.variable(from).name.clone(),
                to: net.variable(to).name.clone(),
                strength: with - without,
            }
        })
        .collect();
    arcs.sort_by(|a, b| {
        b.strength
            .total_cmp(&a.strength)
            .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
    });
    let mut markov_blankets = BTreeMap::new();
    for &v in blankets {
        if let Ok(index) = net.index_of(v) {
            let blanket = markov_blanket(&net, index)
                .into_iter()
                .map(|i| net.variable(i).name.clone())
                .collect();
            markov_blankets.insert(v.to_owned(), blanket);
        }
    }
    let learned = LearnedNetwork {
        bif: explainme_bayes::write_bif(&net),
        arcs,
        score: explainme_bayes::network_score(&data, &dag, score),
        score_name: params.score.clone(),
        markov_blankets,
    };
    Ok((net, learned))
}

/// Parents, children and the children's other parents of `v`, ascending.
pub fn markov_blanket(net: &BayesNet, v: usize) -> Vec<usize> {
    let mut blanket: Vec<usize> = net.parents(v).to_vec();
    for child in net.children(v) {
        blanket.push(child);
        blanket.extend(net.parents(child).iter().copied().filter(|&p| p != v));
    }
    blanket.sort_unstable();
    blanket.dedup();
    blanket
}

/// Evidence from `feature → state` pairs, skipping variables the network does not have
/// and states it never saw (a state absent from the fitting data has no row to condition
/// on); returns the evidence and the pairs it used.
pub fn evidence(
    net: &BayesNet,
    states: &BTreeMap<String, String>,
) -> (Evidence, Vec<(String, String)>) {
    let mut evidence = Evidence::none();
    let mut used = Vec::new();
    for (feature, state) in states {
        if let Ok((v, s)) = net.resolve(feature, state)
            && evidence.insert(v, s).is_ok()
        {
            used.push((feature.clone(), state.clone()));
        }
    }
    (evidence, used)
}

/// P(`variable` = `state` | `evidence`).
pub fn probability(
    ve: &VariableElimination<'_>,
    net: &BayesNet,
    variable: &str,
    state: &str,
    evidence: &Evidence,
) -> Result<f64> {
    let (v, s) = net.resolve(variable, state)?;
    Ok(ve.marginal(v, evidence)?[s])
}
