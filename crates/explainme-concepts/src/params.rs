//! The hyperparameters of a concept analysis, linfa-style: set with builder methods, checked
//! once when [`ConceptParams::fit`](crate::ConceptParams::fit) starts.

use serde::Serialize;

use crate::{Error, Result};

/// Everything a concept analysis can be told; see [`Concepts::params`](crate::Concepts::params)
/// for the defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConceptParams {
    pub(crate) layers: Vec<String>,
    pub(crate) tcav_layers: Option<Vec<String>>,
    pub(crate) folds: usize,
    pub(crate) held_out: f64,
    pub(crate) permutations: usize,
    pub(crate) alpha: f64,
    pub(crate) max_iterations: u64,
    pub(crate) gradient_tolerance: f64,
    pub(crate) seed: u64,
    pub(crate) quantile: f64,
    pub(crate) iou_threshold: f64,
    pub(crate) tcav_step: f32,
    pub(crate) random_directions: usize,
    pub(crate) batch: usize,
}

impl Default for ConceptParams {
    fn default() -> Self {
        ConceptParams {
            layers: Vec::new(),
            tcav_layers: None,
            folds: 5,
            held_out: 1.0 / 3.0,
            permutations: 2000,
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 1e-3,
            seed: 0,
            quantile: 0.005,
            iou_threshold: 0.04,
            tcav_step: 0.2,
            random_directions: 50,
            batch: 64,
        }
    }
}

impl ConceptParams {
    /// The layers to probe; empty (the default) means the card's `feature_layers`.
    pub fn layers(mut self, layers: Vec<String>) -> Self {
        self.layers = layers;
        self
    }

    /// The layers to run TCAV on: `None` (the default) means every probed layer, an empty
    /// list none. Each must be among the probed layers.
    pub fn tcav_layers(mut self, layers: Option<Vec<String>>) -> Self {
        self.tcav_layers = layers;
        self
    }

    /// Stratified cross-validation folds (default 5, at least 2).
    pub fn folds(mut self, folds: usize) -> Self {
        self.folds = folds;
        self
    }

    /// Share of the labelled cases held out for the probe's AUC and its permutation test
    /// (default ⅓, in (0, 1)).
    pub fn held_out(mut self, share: f64) -> Self {
        self.held_out = share;
        self
    }

    /// Label permutations of the held-out test (default 2,000, at least 1): the smallest
    /// p-value it can give is `1 / (1 + permutations)`.
    pub fn permutations(mut self, permutations: usize) -> Self {
        self.permutations = permutations;
        self
    }

    /// L2 penalty of the logistic probe on standardised features (default 1.0, positive).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// L-BFGS iterations per probe fit (default 100, at least 1).
    pub fn max_iterations(mut self, iterations: u64) -> Self {
        self.max_iterations = iterations;
        self
    }

    /// L-BFGS stops when the gradient norm of the summed log-loss falls below this
    /// (default 1e-3, positive): the AUCs depend on the ranking of decision values only,
    /// which is settled long before tighter tolerances are reached.
    pub fn gradient_tolerance(mut self, tolerance: f64) -> Self {
        self.gradient_tolerance = tolerance;
        self
    }

    /// Seed of every random draw: splits, folds, permutations, random directions
    /// (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Network Dissection's top quantile: a channel is "on" above the activation it
    /// exceeds at only this share of positions over the cohort (default 0.005, Bau et al.).
    pub fn quantile(mut self, quantile: f64) -> Self {
        self.quantile = quantile;
        self
    }

    /// IoU above which a channel is a detector of a concept (default 0.04, Bau et al.).
    pub fn iou_threshold(mut self, threshold: f64) -> Self {
        self.iou_threshold = threshold;
        self
    }

    /// TCAV step: each channel moves by `step × its activation standard deviation ×` its
    /// component of the direction, normalised to a root mean square of 1 (default 0.2).
    pub fn tcav_step(mut self, step: f32) -> Self {
        self.tcav_step = step;
        self
    }

    /// Random directions TCAV scores are compared with (default 50, at least 2 when TCAV
    /// runs).
    pub fn random_directions(mut self, directions: usize) -> Self {
        self.random_directions = directions;
        self
    }

    /// Cases per ONNX Runtime run (default 64, at least 1).
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Fewest positives (and negatives) a concept needs to be probed: one per fold, and two
    /// on each side of the hold-out split.
    pub(crate) fn min_cases_per_class(&self) -> usize {
        self.folds.max(4)
    }

    /// Checks every value; the error names the parameter.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |name, problem: String| Err(Error::InvalidParameter { name, problem });
        if self.folds < 2 || self.folds > 100 {
            return bad("folds", format!("{} is outside 2..=100", self.folds));
        }
        if !(self.held_out > 0.0 && self.held_out < 1.0) {
            return bad("held_out", format!("{} is outside (0, 1)", self.held_out));
        }
        if self.permutations == 0 || self.permutations > 1_000_000 {
            return bad(
                "permutations",
                format!("{} is outside 1..=1000000", self.permutations),
            );
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return bad("alpha", format!("{} is not a positive number", self.alpha));
        }
        if !(self.gradient_tolerance.is_finite() && self.gradient_tolerance > 0.0) {
            return bad(
                "gradient_tolerance",
                format!("{} is not a positive number", self.gradient_tolerance),
            );
        }
        if self.max_iterations == 0 {
            return bad("max_iterations", "needs at least one".into());
        }
        if !(self.quantile > 0.0 && self.quantile < 1.0) {
            return bad("quantile", format!("{} is outside (0, 1)", self.quantile));
        }
        if !(self.iou_threshold >= 0.0 && self.iou_threshold < 1.0) {
            return bad(
                "iou_threshold",
                format!("{} is outside [0, 1)", self.iou_threshold),
            );
        }
        if !(self.tcav_step.is_finite() && self.tcav_step > 0.0) {
            return bad("tcav_step", format!("{} is not positive", self.tcav_step));
        }
        if self.random_directions < 2 || self.random_directions > 10_000 {
            return bad(
                "random_directions",
                format!("{} is outside 2..=10000", self.random_directions),
            );
        }
        if self.batch == 0 || self.batch > 4096 {
            return bad("batch", format!("{} is outside 1..=4096", self.batch));
        }
        if let Some(tcav) = &self.tcav_layers
            && !self.layers.is_empty()
            && let Some(layer) = tcav.iter().find(|l| !self.layers.contains(l))
        {
            return bad(
                "tcav_layers",
                format!("`{layer}` is not among the probed layers"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Concepts, Error};

    #[test]
    fn a_bad_parameter_is_named() {
        assert!(Concepts::params().check().is_ok());
        for (params, name) in [
            (Concepts::params().folds(1), "folds"),
            (Concepts::params().held_out(1.0), "held_out"),
            (Concepts::params().permutations(0), "permutations"),
            (Concepts::params().alpha(f64::NAN), "alpha"),
            (Concepts::params().quantile(0.0), "quantile"),
            (Concepts::params().random_directions(1), "random_directions"),
            (
                Concepts::params()
                    .layers(vec!["a".into()])
                    .tcav_layers(Some(vec!["b".into()])),
                "tcav_layers",
            ),
        ] {
            match params.check() {
                Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
