//! The one error type of the crate: bad parameters, an image or mask that does not fit the
//! model, a class or layer the model does not have, or a failure below (ONNX Runtime,
//! imaging, the memory budget).

/// Everything that can go wrong while computing or scoring a heatmap.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A method name that is not in [`METHODS`](crate::METHODS).
    #[error("unknown saliency method `{name}` (known: {known})")]
    UnknownMethod {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// A hyperparameter outside its range; `name` is the parameter.
    #[error("saliency parameter `{name}`: {problem}")]
    InvalidParameter {
        /// The parameter at fault, e.g. `masks`.
        name: &'static str,
        /// What is wrong, in words.
        problem: String,
    },
    /// An image or mask whose grid is not the model's input grid.
    #[error("{what} has shape {got:?}, the model's input size is {expected:?}")]
    ShapeMismatch {
        /// `image` or `mask`.
        what: &'static str,
        /// The card's `input_size`.
        expected: Vec<usize>,
        /// What was given.
        got: Vec<usize>,
    },
    /// A class index the model does not have.
    #[error("class {class} does not exist: the model has {classes} classes")]
    NoSuchClass {
        /// The index asked for.
        class: usize,
        /// How many classes the card names.
        classes: usize,
    },
    /// A layer that cannot serve as Score-CAM masks (not a spatial feature map).
    #[error("layer `{layer}`: {problem}")]
    UnusableLayer {
        /// The tensor name.
        layer: String,
        /// Why, in words.
        problem: String,
    },
    /// The allocations a run needs exceed the memory budget.
    #[error(transparent)]
    OverBudget(#[from] explainme_budget::OverBudget),
    /// Running the model failed.
    #[error(transparent)]
    Onnx(#[from] explainme_onnx::Error),
    /// An image operation failed.
    #[error(transparent)]
    Imaging(#[from] explainme_imaging::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
