//! Explaining one case's posterior.
//!
//! * [`sensitivity`]: for a target state t and findings e, P(t | e) against P(t | e ∖ f)
//!   for each finding f — how far each finding moves the target; positive `change` means
//!   the finding raises P(t).
//! * [`most_relevant_explanations`]: Yuan, Lim & Lu (2011), "Most Relevant Explanation in
//!   Bayesian networks", JAIR 42. Given explanatory variables M and evidence e, every
//!   partial instantiation h of M (a non-empty subset of M, each with one state) is scored
//!   by the generalized Bayes factor GBF(h; e) = P(e | h) / P(e | ¬h), computed as
//!   P(h | e) (1 − P(h)) / (P(h) (1 − P(h | e))). The most relevant explanation is the h
//!   with the largest GBF; we enumerate all h exactly (|M| ≤ 12) and return them ranked,
//!   ties broken by fewer variables. Hypotheses with P(h) = 0 are skipped; P(h | e) = 1
//!   gives GBF = ∞. The dominance pruning of Yuan et al.'s K-MRE is not applied.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::infer::{Evidence, VariableElimination};

/// The effect of one finding on the target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingImpact {
    pub variable: usize,
    pub state: usize,
    /// P(target | all findings but this one).
    pub without: f64,
    /// P(target | all findings) − P(target | all but this one).
    pub change: f64,
}

/// Sensitivity of P(target = state | findings) to each finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    pub target: usize,
    pub state: usize,
    /// P(target) with no findings.
    pub prior: f64,
    /// P(target | all findings).
    pub posterior: f64,
    /// One entry per finding, largest |change| first.
    pub findings: Vec<FindingImpact>,
}

/// Leave-one-out sensitivity of P(target = state | evidence).
pub fn sensitivity(
    ve: &VariableElimination<'_>,
    target: usize,
    state: usize,
    evidence: &Evidence,
) -> Result<Sensitivity> {
    let net = ve.network();
    if target >= net.len() || state >= net.variable(target).cardinality() {
        return Err(Error::UnknownVariable(format!("{target}={state}")));
    }
    let posterior = ve.marginal(target, evidence)?[state];
    let prior = ve.marginal(target, &Evidence::none())?[state];
    let mut findings = Vec::with_capacity(evidence.len());
    for (variable, observed) in evidence.iter() {
        let without = ve.marginal(target, &evidence.without(variable))?[state];
        findings.push(FindingImpact {
            variable,
            state: observed,
            without,
            change: posterior - without,
        });
    }
    findings.sort_by(|a, b| {
        b.change
            .abs()
            .total_cmp(&a.change.abs())
            .then(a.variable.cmp(&b.variable))
    });
    Ok(Sensitivity {
        target,
        state,
        prior,
        posterior,
        findings,
    })
}

/// One partial instantiation of the explanatory variables with its generalized Bayes factor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    /// `(variable, state)` pairs, ascending by variable.
    pub states: Vec<(usize, usize)>,
    /// P(h | evidence).
    pub posterior: f64,
    /// P(h).
    pub prior: f64,
    /// GBF(h; evidence) = P(evidence | h) / P(evidence | ¬h).
    pub gbf: f64,
}

/// Explanatory variables accepted by [`most_relevant_explanations`].
pub const MAX_EXPLANATORY: usize = 12;

/// All partial instantiations of `explanatory` ranked by GBF against `evidence`; the first is
/// the most relevant explanation. At most `top` are returned.
pub fn most_relevant_explanations(
    ve: &VariableElimination<'_>,
    explanatory: &[usize],
    evidence: &Evidence,
    top: usize,
) -> Result<Vec<Hypothesis>> {
    if explanatory.is_empty() || explanatory.len() > MAX_EXPLANATORY {
        return Err(Error::InvalidParameter {
            name: "explanatory",
            reason: format!(
                "{} variables; give 1 to {MAX_EXPLANATORY}",
                explanatory.len()
            ),
        });
    }
    let net = ve.network();
    if let Some(&v) = explanatory.iter().find(|&&v| v >= net.len()) {
        return Err(Error::UnknownVariable(v.to_string()));
    }
    let size: f64 = explanatory
        .iter()
        .map(|&v| net.variable(v).cardinality() as f64)
        .product();
    if size > 1e6 {
        return Err(Error::TooLarge(format!(
            "{size} joint states of the explanatory variables"
        )));
    }
    let (posterior, _) = ve.joint(explanatory, evidence)?;
    let (prior, _) = ve.joint(explanatory, &Evidence::none())?;
    let vars = posterior.variables().to_vec();
    let mut hypotheses = Vec::new();
    for mask in 1u32..(1 << vars.len()) {
        let subset: Vec<usize> = (0..vars.len())
            .filter(|k| mask & (1 << k) != 0)
            .map(|k| vars[k])
            .collect();
        let post = posterior.marginal(&subset);
        let pri = prior.marginal(&subset);
        let cards = post.cardinalities().to_vec();
        for (index, (&p_post, &p_prior)) in post.values().iter().zip(pri.values()).enumerate() {
            if p_prior <= 0.0 {
                continue;
            }
            let mut rest = index;
            let mut states = vec![(0, 0); subset.len()];
            for k in (0..subset.len()).rev() {
                states[k] = (subset[k], rest % cards[k]);
                rest /= cards[k];
            }
            let gbf = if p_post >= 1.0 {
                f64::INFINITY
            } else {
                p_post * (1.0 - p_prior) / (p_prior * (1.0 - p_post))
            };
            hypotheses.push(Hypothesis {
                states,
                posterior: p_post,
                prior: p_prior,
                gbf,
            });
        }
    }
    hypotheses.sort_by(|a, b| {
        b.gbf
            .total_cmp(&a.gbf)
            .then(a.states.len().cmp(&b.states.len()))
            .then(a.states.cmp(&b.states))
    });
    hypotheses.truncate(top);
    Ok(hypotheses)
}
