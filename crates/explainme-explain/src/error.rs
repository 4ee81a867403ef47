//! Errors of the Explainer: the engines' own errors, passed through with their message,
//! and the Explainer's checks of its inputs.

/// Everything that can go wrong fitting an Explainer or explaining with it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter outside its range.
    #[error("{name}: {problem}")]
    InvalidParameter { name: &'static str, problem: String },
    /// Input that cannot be explained (empty cohort, missing truth, wrong shape).
    #[error("{0}")]
    InvalidInput(String),
    /// A label whose state the cohort's schema does not have.
    #[error("label `{feature}={state}`: {problem}")]
    UnknownLabel {
        feature: String,
        state: String,
        problem: String,
    },
    /// One case failed; the message says why.
    #[error("case `{case}`: {message}")]
    Case { case: String, message: String },
    /// The model given is not the one the Explainer was fitted on.
    #[error("this explainer was fitted on model {expected}, not on {found}")]
    ModelMismatch { expected: String, found: String },
    /// The caller asked to stop (its progress callback returned `false`).
    #[error("the fit was cancelled")]
    Cancelled,
    /// A stored Explainer that cannot be read back.
    #[error("not a readable explainer artefact: {0}")]
    Artefact(String),
    #[error(transparent)]
    OverBudget(#[from] explainme_budget::OverBudget),
    #[error(transparent)]
    Onnx(#[from] explainme_onnx::Error),
    #[error(transparent)]
    Imaging(#[from] explainme_imaging::Error),
    #[error(transparent)]
    Cohort(#[from] explainme_cohort::Error),
    #[error(transparent)]
    Concepts(#[from] explainme_concepts::Error),
    #[error(transparent)]
    Tree(#[from] explainme_tree::Error),
    #[error(transparent)]
    Rules(#[from] explainme_rules::Error),
    #[error(transparent)]
    Bayes(#[from] explainme_bayes::Error),
    #[error(transparent)]
    Saliency(#[from] explainme_saliency::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the error lies in what the caller sent (a label, an image, a parameter)
    /// rather than in the server or the engines: a transport maps these to
    /// INVALID_ARGUMENT.
    pub fn is_caller_error(&self) -> bool {
        match self {
            Error::InvalidParameter { .. }
            | Error::InvalidInput(_)
            | Error::UnknownLabel { .. }
            | Error::Case { .. }
            | Error::ModelMismatch { .. }
            | Error::Imaging(_)
            | Error::Cohort(_) => true,
            Error::Onnx(e) => matches!(
                e,
                explainme_onnx::Error::ShapeMismatch { .. }
                    | explainme_onnx::Error::OutOfRange { .. }
            ),
            _ => false,
        }
    }

    /// Whether a memory budget refused the work (RESOURCE_EXHAUSTED).
    pub fn is_over_budget(&self) -> bool {
        matches!(self, Error::OverBudget(_))
            || matches!(self, Error::Onnx(explainme_onnx::Error::OverBudget(_)))
            || matches!(
                self,
                Error::Imaging(explainme_imaging::Error::OverBudget(_))
            )
    }
}
