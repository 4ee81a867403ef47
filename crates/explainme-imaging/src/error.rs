//! The one error type of the crate.
//!
//! Every codec reports broken external bytes through these variants; none of them panics.
//! Variants carry the [`Format`] so a caller can say which decoder refused a file.

use std::path::PathBuf;

use crate::Format;

/// Everything that can go wrong while decoding, encoding or transforming images.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The bytes do not start with the signature of the expected format.
    #[error("not a {format} file: {detail}")]
    WrongMagic {
        /// The format that was expected.
        format: Format,
        /// What was found instead.
        detail: String,
    },
    /// The file ends before the header or the voxel data it announces.
    #[error("truncated {format} file: needs {needed} bytes, has {available}")]
    Truncated {
        /// The format being decoded.
        format: Format,
        /// Bytes the header announces (or that a complete header needs).
        needed: u64,
        /// Bytes actually present.
        available: u64,
    },
    /// The header is present but inconsistent (bad field values, broken compression, ...).
    #[error("corrupt {format} file: {detail}")]
    Corrupt {
        /// The format being decoded.
        format: Format,
        /// What is wrong.
        detail: String,
    },
    /// A valid file that uses a feature this crate deliberately does not read or write.
    #[error("unsupported {format} feature: {detail}")]
    Unsupported {
        /// The format concerned.
        format: Format,
        /// The feature (datatype, colour type, transfer syntax, ...).
        detail: String,
    },
    /// A DICOM transfer syntax outside [`crate::codec::dicom::TransferSyntax::READ`].
    #[error(
        "unsupported DICOM transfer syntax {uid} ({name}); read are Explicit and Implicit VR \
         Little Endian, Deflated, RLE Lossless, JPEG Baseline, Extended and Lossless, JPEG 2000"
    )]
    UnsupportedTransferSyntax {
        /// The transfer syntax UID found in the file meta information.
        uid: String,
        /// A human name for it, when known.
        name: &'static str,
    },
    /// The header claims more voxels than [`crate::MAX_VOXELS`]; refused before allocating.
    #[error("{format} header claims {claimed} voxels, more than the limit of {limit}")]
    TooLarge {
        /// The format being decoded.
        format: Format,
        /// Voxels claimed by the header (saturated at `u128::MAX`).
        claimed: u128,
        /// The limit.
        limit: usize,
    },
    /// Decoding would allocate more than the [`MemoryBudget`](explainme_budget::MemoryBudget)
    /// allows; refused after reading the header, before allocating.
    #[error(transparent)]
    OverBudget(#[from] explainme_budget::OverBudget),
    /// A decoded voxel is NaN or infinite (a float file holding NaN, or a scale slope such
    /// as 1e38 that overflows): no CT value is, and every model downstream would spread it.
    #[error("{format} image has a non-finite voxel ({value}) at flat index {index}")]
    NonFiniteVoxel {
        /// The format decoded.
        format: Format,
        /// Flat (C-order) index of the first such voxel.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// A shape with a zero extent, the wrong number of axes, or a voxel count that does not
    /// match the shape.
    #[error("invalid shape: {0}")]
    InvalidShape(String),
    /// Two grids that must share a shape do not.
    #[error("shape mismatch: {left:?} vs {right:?}")]
    ShapeMismatch {
        /// Shape of the first operand.
        left: Vec<usize>,
        /// Shape of the second operand.
        right: Vec<usize>,
    },
    /// No codec is registered for this file name or these leading bytes.
    #[error("unknown image format: {0}")]
    UnknownFormat(String),
    /// NaN or infinity cannot be stored in an integer-valued format.
    #[error("cannot store a non-finite value ({value}) in {format}")]
    NonFinite {
        /// The target format.
        format: Format,
        /// The offending value.
        value: f32,
    },
    /// A finite value that does not fit the integer range of the target format.
    #[error("value {value} does not fit {format} ({range})")]
    OutOfRange {
        /// The target format.
        format: Format,
        /// The offending value.
        value: f32,
        /// The representable range, in the image's units.
        range: &'static str,
    },
    /// A parameter (window width, target size, ...) outside its domain.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
