//! The one error type of the crate.
//!
//! Pictures are drawn from data that came from outside (a decoded CT, a saliency map a model
//! produced, options a user typed), so every way that data can be unusable is a variant here,
//! never a panic.

/// Everything that can stop a picture from being drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two grids that must fit together do not (a 2D map on a 3D image, a mask on another
    /// grid).
    #[error("{what} has shape {other:?}, which does not fit the image's {image:?}")]
    ShapeMismatch {
        /// What does not fit: `"saliency map"` or `"lesion mask"`.
        what: &'static str,
        /// The image's extents.
        image: Vec<usize>,
        /// The other grid's extents.
        other: Vec<usize>,
    },
    /// A saliency value is NaN or infinite: it has no colour, and it would spread through
    /// the resize to its neighbours.
    #[error("saliency map has a non-finite value ({value}) at flat index {index}")]
    NonFiniteSaliency {
        /// Flat (C-order) index of the first such value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// An option outside its domain.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The option, as the builder method is called.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A colormap name that is not in [`COLORMAPS`](crate::COLORMAPS).
    #[error("unknown colormap `{name}`; known: {known}")]
    UnknownColormap {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// The picture would need more memory than the budget allows; refused before allocating.
    #[error(transparent)]
    OverBudget(#[from] explainme_budget::OverBudget),
    /// Resizing the map to the image failed (e.g. the image is over explainme-imaging's
    /// voxel limit).
    #[error(transparent)]
    Imaging(#[from] explainme_imaging::Error),
    /// A drawing could not be made: its DOT text does not parse, the graph layout failed, or
    /// the plotting library refused.
    #[error("cannot draw the {drawing}: {reason}")]
    Drawing {
        /// Which drawing: `"graph"`, `"ROC plot"`, `"calibration plot"`.
        drawing: &'static str,
        /// What went wrong, in the words of the library that failed.
        reason: String,
    },
    /// The PNG encoder refused (it should not for the sizes this crate allows).
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
