//! Clinical knowledge as constraints on structure: required and forbidden arcs, tiers
//! (an arc may never point from a later tier to an earlier one, e.g. truth → imaging
//! findings → CNN verdict), and a cap on the number of parents.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::Dag;

/// Knowledge constraints by variable name; resolved against the data's columns at fit time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    required: Vec<(String, String)>,
    forbidden: Vec<(String, String)>,
    tiers: Vec<Vec<String>>,
    max_parents: Option<usize>,
}

/// Constraints resolved to indices: `allowed[from * n + to]`, `required[from * n + to]`.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) n: usize,
    pub(crate) allowed: Vec<bool>,
    pub(crate) required: Vec<bool>,
    pub(crate) max_parents: usize,
}

impl Resolved {
    pub(crate) fn allowed(&self, from: usize, to: usize) -> bool {
        self.allowed[from * self.n + to]
    }

    pub(crate) fn required(&self, from: usize, to: usize) -> bool {
        self.required[from * self.n + to]
    }
}

impl Constraints {
    /// No constraints.
    pub fn new() -> Self {
        Self::default()
    }

    /// The arc `from → to` must be present.
    pub fn require(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.required.push((from.into(), to.into()));
        self
    }

    /// The arc `from → to` must be absent (the reverse stays allowed).
    pub fn forbid(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.forbidden.push((from.into(), to.into()));
        self
    }

    /// Tiers, earliest first: no arc from a variable in a later tier to one in an earlier
    /// tier. Variables in no tier are unconstrained.
    pub fn tiers(mut self, tiers: Vec<Vec<String>>) -> Self {
        self.tiers = tiers;
        self
    }

    /// At most `k` parents per variable.
    pub fn max_parents(mut self, k: usize) -> Self {
        self.max_parents = Some(k);
        self
    }

    pub(crate) fn resolve(&self, data: &Dataset) -> Result<Resolved> {
        let n = data.variables().len();
        let mut allowed = vec![true; n * n];
        for v in 0..n {
            allowed[v * n + v] = false;
        }
        let mut tier = vec![None; n];
        for (t, names) in self.tiers.iter().enumerate() {
            for name in names {
                let v = data.index_of(name)?;
                if tier[v].replace(t).is_some() {
                    return Err(Error::Constraints(format!("`{name}` is in two tiers")));
                }
            }
        }
        for from in 0..n {
            for to in 0..n {
                if let (Some(a), Some(b)) = (tier[from], tier[to])
                    && a > b
                {
                    allowed[from * n + to] = false;
                }
            }
        }
        for (from, to) in &self.forbidden {
            allowed[data.index_of(from)? * n + data.index_of(to)?] = false;
        }
        let mut required = vec![false; n * n];
        let mut parents = vec![Vec::new(); n];
        for (from, to) in &self.required {
            let (a, b) = (data.index_of(from)?, data.index_of(to)?);
            if !allowed[a * n + b] {
                return Err(Error::Constraints(format!(
                    "`{from} → {to}` is required but forbidden (directly or by the tiers)"
                )));
            }
            required[a * n + b] = true;
            parents[b].push(a);
        }
        let max_parents = self.max_parents.unwrap_or(usize::MAX);
        if let Some(v) = (0..n).find(|&v| parents[v].len() > max_parents) {
            return Err(Error::Constraints(format!(
                "`{}` has more required parents than the maximum of {max_parents}",
                data.variables()[v].name
            )));
        }
        Dag::from_parents(parents)
            .map_err(|_| Error::Constraints("the required arcs form a cycle".into()))?;
        Ok(Resolved {
            n,
            allowed,
            required,
            max_parents,
        })
    }
}
