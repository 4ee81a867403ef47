//! MAP and MPE by max-product elimination with traceback.
//!
//! MAP over a subset M sums out every other unobserved variable *first* (the order is
//! constrained so that Σ never crosses max), then maximises over M, then walks the
//! recorded max-products backwards to recover the argmax. MPE is MAP over all unobserved
//! variables.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::factor::Factor;
use crate::infer::{Evidence, VariableElimination, check_targets};

/// A most probable assignment and its posterior probability P(assignment | evidence).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// `(variable, state)` pairs, ascending by variable.
    pub states: Vec<(usize, usize)>,
    pub probability: f64,
}

/// The most probable joint state of `variables` given `evidence`:
/// argmax_m Σ_rest P(m, rest | evidence).
pub fn map(
    ve: &VariableElimination<'_>,
    variables: &[usize],
    evidence: &Evidence,
) -> Result<Assignment> {
    let net = ve.network();
    check_targets(net, variables, evidence)?;
    let mut reduced = ve.reduced(variables, evidence)?;
    let weights = reduced.weights.clone();
    let sum_phase: Vec<bool> = reduced
        .vars
        .iter()
        .map(|v| !variables.contains(v))
        .collect();
    for (local, _) in reduced.graph.eliminate(&sum_phase, &weights) {
        let var = reduced.vars[local];
        reduced.eliminate(var, Factor::sum_out, 0)?;
    }
    let max_phase: Vec<bool> = sum_phase.iter().map(|s| !s).collect();
    // The max-products are kept for the traceback: each new one must fit beside them.
    let mut trace: Vec<(usize, Factor)> = Vec::new();
    let mut traced: u64 = 0;
    for (local, _) in reduced.graph.eliminate(&max_phase, &weights) {
        let var = reduced.vars[local];
        let product = reduced.eliminate(var, Factor::max_out, traced)?;
        traced = traced.saturating_add(8 * product.values().len() as u64);
        trace.push((var, product));
    }
    let best = reduced.remaining_product(Vec::new())?.total();
    let evidence_probability = ve.probability_of_evidence(evidence)?;
    if best <= 0.0 {
        return Err(Error::ImpossibleEvidence);
    }
    let mut chosen = vec![None; net.len()];
    for (var, product) in trace.iter().rev() {
        let mut slice = product.clone();
        for &other in product.variables().iter().filter(|&&u| u != *var) {
            if let Some(state) = chosen[other] {
                slice = slice.reduce(other, state);
            }
        }
        chosen[*var] = Some(slice.argmax());
    }
    let mut states: Vec<(usize, usize)> = chosen
        .iter()
        .enumerate()
        .filter_map(|(v, s)| s.map(|s| (v, s)))
        .collect();
    states.sort_unstable();
    Ok(Assignment {
        states,
        probability: best / evidence_probability,
    })
}

/// The most probable explanation: the most probable joint state of every unobserved
/// variable given `evidence`.
pub fn mpe(ve: &VariableElimination<'_>, evidence: &Evidence) -> Result<Assignment> {
    let all: Vec<usize> = (0..ve.network().len())
        .filter(|&v| evidence.get(v).is_none())
        .collect();
    map(ve, &all, evidence)
}
