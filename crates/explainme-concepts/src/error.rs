//! The one error type of the crate.
//!
//! Bad input (a cohort without the labels a probe needs, a layer the model lacks, a mask on
//! another grid) is a typed error naming what is wrong; failures of the crates below
//! (ONNX Runtime, image decoding, the cohort folder) keep their own error as the source.

/// Everything that can go wrong while fitting concept probes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter outside its range; names the parameter.
    #[error("invalid parameter `{name}`: {problem}")]
    InvalidParameter {
        /// The parameter, e.g. `folds`.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The cohort cannot be analysed as asked (no cases, a label vector of the wrong length,
    /// an activation that is not a channel map).
    #[error("{0}")]
    InvalidInput(String),
    /// A case's image or mask could not be read.
    #[error("case `{case}`: {source}")]
    Case {
        /// The case id.
        case: String,
        /// The imaging error.
        source: explainme_imaging::Error,
    },
    /// The logistic-regression probe failed to fit.
    #[error("the probe for `{concept}` on `{layer}` failed to fit: {message}")]
    Probe {
        /// The concept (`feature=state`).
        concept: String,
        /// The layer.
        layer: String,
        /// linfa-logistic's message.
        message: String,
    },
    /// A failure in the model crate (ONNX Runtime, the card, the graph split).
    #[error(transparent)]
    Onnx(#[from] explainme_onnx::Error),
    /// An allocation sized by the cohort that the memory budget does not allow.
    #[error(transparent)]
    OverBudget(#[from] explainme_budget::OverBudget),
    /// An imaging error outside a case (a shape that does not fit).
    #[error(transparent)]
    Imaging(#[from] explainme_imaging::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
