//! The one error type of the crate.
//!
//! Each variant is a distinct reason a caller may want to react to differently (the gRPC
//! server maps them to status codes): bad model bytes, a model card that does not fit the
//! graph, a tensor of the wrong shape, non-finite input, a missing runtime library, or a
//! failure inside ONNX Runtime itself.

use std::path::PathBuf;

/// Everything that can go wrong while reading, editing or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not an ONNX model (protobuf decode failure, or no graph in it).
    #[error("not a valid ONNX model: {0}")]
    MalformedModel(String),
    /// A model file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The model card JSON does not parse.
    #[error("model card is not valid JSON for a model card: {0}")]
    CardSyntax(String),
    /// The model card contradicts the graph (or itself); `field` names the card field at fault.
    #[error("model card field `{field}`: {problem}")]
    CardMismatch {
        /// The card field at fault, e.g. `input` or `feature_layers`.
        field: &'static str,
        /// What does not match, in words.
        problem: String,
    },
    /// A tensor name that the graph does not produce.
    #[error("the graph has no tensor named `{0}`")]
    UnknownTensor(String),
    /// A tensor whose shape does not fit what the model or card expects.
    #[error("tensor `{tensor}` has shape {got:?}, expected {expected}")]
    ShapeMismatch {
        /// Which tensor (an input name, `image`, or an activation name).
        tensor: String,
        /// The expected shape, in words such as `[N, 1, 64, 64]`.
        expected: String,
        /// The shape that was given.
        got: Vec<usize>,
    },
    /// Input values that are NaN or infinite; they are rejected instead of propagated.
    #[error("tensor `{tensor}` has {count} non-finite values (first at flat index {first_index})")]
    NonFinite {
        /// Which tensor.
        tensor: String,
        /// How many values are NaN or infinite.
        count: usize,
        /// The flat index of the first one.
        first_index: usize,
    },
    /// A graph cannot be split at `cut`: the part after it needs `tensor`, which is neither
    /// computed from the cut nor a weight (a skip connection over the cut, another input).
    #[error(
        "cannot split the graph at `{cut}`: node `{node}` after it needs `{tensor}`, which is \
         neither computed from `{cut}` nor a weight"
    )]
    Unsplittable {
        /// The tensor the graph was to be cut at.
        cut: String,
        /// The value the tail would lack.
        tensor: String,
        /// The node that needs it.
        node: String,
    },
    /// The model uses something this crate does not handle (e.g. a non-float input).
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// A model-ready input value far outside what the card's preprocessing produces (for
    /// example Hounsfield units fed where `[0, 1]` is expected).
    #[error(
        "`{tensor}` value {value} at flat index {index} is far outside [{low}, {high}], the range \
         the card's preprocessing produces; is this unpreprocessed (Hounsfield-unit) input?"
    )]
    OutOfRange {
        /// The input tensor.
        tensor: String,
        /// Flat index of the first such value.
        index: usize,
        /// The value.
        value: f32,
        /// Lowest value preprocessing produces.
        low: f32,
        /// Highest value preprocessing produces.
        high: f32,
    },
    /// Running would take more memory than the budget allows: refused before allocating (an
    /// input or batch too large), or ONNX Runtime's capped arena refused a tensor.
    #[error(transparent)]
    OverBudget(#[from] explainme_budget::OverBudget),
    /// A tensor whose values do not match its shape (explainme-imaging's check).
    #[error(transparent)]
    Tensor(#[from] explainme_imaging::Error),
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("{0}")]
    RuntimeMissing(String),
    /// ONNX Runtime refused the model or failed while running it.
    #[error("ONNX Runtime failed while {context}: {message}")]
    Runtime {
        /// What the crate was doing, e.g. `creating a session`.
        context: &'static str,
        /// ONNX Runtime's own message.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an ONNX Runtime error with what the crate was doing at the time.
    /// A refusal by the capped arena becomes [`Error::OverBudget`].
    pub(crate) fn runtime<R>(context: &'static str) -> impl FnOnce(ort::Error<R>) -> Error {
        move |e| {
            let message = e.to_string();
            match crate::runtime::arena_refusal(context, &message) {
                Some(over) => Error::OverBudget(over),
                None => Error::Runtime { context, message },
            }
        }
    }
}
