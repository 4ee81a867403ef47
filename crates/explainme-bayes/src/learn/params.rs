//! Parameter learning for a fixed DAG: maximum likelihood or Bayesian (Dirichlet) estimates.
//!
//! θ_ijk = (N_ijk + a) / (N_ij + r a) with a = 0 (MLE), a = ess / (q r) (BDeu) or a = 1 (K2).
//! Records with a missing cell in a family are skipped for that family only, so one
//! unlabelled finding does not discard the rest of the record. A parent configuration never
//! seen under MLE gets the uniform distribution (pgmpy does the same).

use serde::Serialize;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::{BayesNet, Cpt, Dag};
use crate::score::family_counts;

/// The prior over each CPT row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Prior {
    /// Maximum likelihood: no pseudo-counts.
    Mle,
    /// BDeu: pseudo-count ess / (q r) in every cell.
    BDeu { ess: f64 },
    /// K2: pseudo-count 1 in every cell.
    K2,
}

/// Parameter learning, linfa style: `Parameters::params().prior(..).fit(&data, &dag)`.
///
/// ```
/// use explainme_bayes::learn::{Parameters, Prior};
/// use explainme_bayes::{Dag, Dataset};
/// let data = Dataset::from_rows(&["fat", "malignant"], [
///     [Some("present"), Some("no")], [Some("absent"), Some("yes")], [Some("absent"), None],
/// ])?;
/// let dag = Dag::from_parents(vec![vec![1], vec![]])?;
/// let net = Parameters::params().prior(Prior::K2).fit(&data, &dag)?;
/// // fat | malignant = no: states sorted (absent, present); counts (0, 1) + 1 each.
/// assert_eq!(net.cpt(0).row(0, 2), [1.0 / 3.0, 2.0 / 3.0]);
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Parameters;

/// Hyperparameters of [`Parameters`]; default prior: maximum likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct ParametersParams {
    prior: Prior,
    name: String,
}

impl Parameters {
    /// Default hyperparameters.
    pub fn params() -> ParametersParams {
        ParametersParams {
            prior: Prior::Mle,
            name: "learned".into(),
        }
    }
}

impl ParametersParams {
    /// The prior (default [`Prior::Mle`]).
    pub fn prior(mut self, prior: Prior) -> Self {
        self.prior = prior;
        self
    }

    /// The name given to the fitted network (default `learned`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Estimates every CPT of `dag` from `data`; variable `i` of the DAG is column `i`.
    pub fn fit(&self, data: &Dataset, dag: &Dag) -> Result<BayesNet> {
        if let Prior::BDeu { ess } = self.prior
            && !(ess > 0.0 && ess.is_finite())
        {
            return Err(Error::InvalidParameter {
                name: "ess",
                reason: format!("{ess} is not a positive number"),
            });
        }
        if dag.len() != data.variables().len() {
            return Err(Error::InvalidParameter {
                name: "dag",
                reason: format!(
                    "{} variables, data has {}",
                    dag.len(),
                    data.variables().len()
                ),
            });
        }
        let mut cpts = Vec::with_capacity(dag.len());
        for child in 0..dag.len() {
            let parents = dag.parents(child).to_vec();
            let counts = family_counts(data, child, &parents);
            let r = counts.states;
            let q = counts.configurations;
            if q * r as f64 > 1e8 {
                return Err(Error::TooLarge(format!(
                    "the table of `{}` would have {} entries",
                    data.variables()[child].name,
                    q * r as f64
                )));
            }
            let pseudo = match self.prior {
                Prior::Mle => 0.0,
                Prior::BDeu { ess } => ess / (q * r as f64),
                Prior::K2 => 1.0,
            };
            let rows = q as usize;
            let mut values = vec![0.0; rows * r];
            let mut seen = vec![false; rows];
            for (j, row_counts) in counts.rows() {
                seen[j] = true;
                let total = row_counts.iter().sum::<u32>() as f64 + pseudo * r as f64;
                for (slot, &c) in values[j * r..(j + 1) * r].iter_mut().zip(row_counts) {
                    *slot = (c as f64 + pseudo) / total;
                }
            }
            for (j, _) in seen.iter().enumerate().filter(|(_, s)| !**s) {
                values[j * r..(j + 1) * r].fill(1.0 / r as f64);
            }
            cpts.push(Cpt { parents, values });
        }
        BayesNet::new(self.name.clone(), data.variables().to_vec(), cpts)
    }
}
