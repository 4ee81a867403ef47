//! Exact inference: variable elimination ([`VariableElimination`]), a calibrated junction
//! tree for many marginals under one evidence set ([`JunctionTree`]), and MAP / MPE
//! ([`map`], [`mpe`]) by max-product elimination.
//!
//! Nothing here approximates: answers are exact up to floating-point rounding, which is what
//! the parity tests against pgmpy check to 1e-9.

mod junction;
mod map;
mod order;
mod ve;

use std::collections::BTreeMap;

pub use junction::{Calibrated, JunctionTree};
pub use map::{Assignment, map, mpe};
pub use ve::VariableElimination;

use crate::error::{Error, Result};
use crate::network::BayesNet;

/// Observed findings: variable index → state index, each variable at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence(BTreeMap<usize, usize>);

impl Evidence {
    /// No findings.
    pub fn none() -> Self {
        Self::default()
    }

    /// Resolves `(variable, state)` names against `net`: an unknown variable or state is a
    /// typed error, and so is a variable given twice.
    pub fn from_names<S: AsRef<str>>(net: &BayesNet, findings: &[(S, S)]) -> Result<Self> {
        let mut evidence = Self::none();
        for (variable, state) in findings {
            let (v, s) = net.resolve(variable.as_ref(), state.as_ref())?;
            evidence
                .insert(v, s)
                .map_err(|_| Error::Conflicting(variable.as_ref().to_owned()))?;
        }
        Ok(evidence)
    }

    /// Parses `a=v,b=w` (spaces around names are ignored) and resolves it against `net`.
    pub fn parse(net: &BayesNet, text: &str) -> Result<Self> {
        let mut findings = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (variable, state) =
                item.split_once('=')
                    .ok_or_else(|| Error::InvalidParameter {
                        name: "evidence",
                        reason: format!("`{item}` is not of the form variable=state"),
                    })?;
            findings.push((variable.trim(), state.trim()));
        }
        Self::from_names(net, &findings)
    }

    /// Adds a finding; a variable already observed is refused.
    pub fn insert(&mut self, variable: usize, state: usize) -> Result<()> {
        if self.0.insert(variable, state).is_some() {
            return Err(Error::Conflicting(variable.to_string()));
        }
        Ok(())
    }

    /// The same findings without `variable`.
    pub fn without(&self, variable: usize) -> Self {
        let mut rest = self.clone();
        rest.0.remove(&variable);
        rest
    }

    /// The state observed for `variable`, if any.
    pub fn get(&self, variable: usize) -> Option<usize> {
        self.0.get(&variable).copied()
    }

    /// Findings in variable order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.0.iter().map(|(&v, &s)| (v, s))
    }

    /// Number of findings.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True without findings.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Marks `seeds` and all their ancestors: every other variable is barren for a query on
/// `seeds` and sums out to one, so elimination can skip it.
pub(crate) fn ancestral_set(net: &BayesNet, seeds: impl IntoIterator<Item = usize>) -> Vec<bool> {
    let mut marked = vec![false; net.len()];
    let mut stack: Vec<usize> = seeds.into_iter().collect();
    while let Some(v) = stack.pop() {
        if !std::mem::replace(&mut marked[v], true) {
            stack.extend_from_slice(net.parents(v));
        }
    }
    marked
}

/// Checks targets: in range, distinct, not observed.
pub(crate) fn check_targets(net: &BayesNet, targets: &[usize], evidence: &Evidence) -> Result<()> {
    for (k, &t) in targets.iter().enumerate() {
        if t >= net.len() {
            return Err(Error::UnknownVariable(t.to_string()));
        }
        if targets[..k].contains(&t) || evidence.get(t).is_some() {
            return Err(Error::Conflicting(net.variable(t).name.clone()));
        }
    }
    for (v, s) in evidence.iter() {
        if v >= net.len() || s >= net.variable(v).cardinality() {
            return Err(Error::UnknownVariable(v.to_string()));
        }
    }
    Ok(())
}
