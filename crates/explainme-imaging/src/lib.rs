//! CT images and masks for explainme: decoding, encoding and the few pixel operations a
//! CNN explanation pipeline needs, in 2D and 3D.
//!
//! Cohorts arrive as files (`.npy`, 16-bit PNG, NIfTI, DICOM) and models want fixed-size
//! float tensors; this crate is the bridge, and the one place that touches external image
//! bytes. It therefore never panics on them: every codec returns a typed [`Error`] for
//! truncated, corrupt or unsupported files, and header-declared sizes are checked against
//! [`MAX_VOXELS`] and the bytes a decoder will allocate against a [`MemoryBudget`] (the
//! `*_within` functions take one, the others use the default) before anything is allocated.
//!
//! * Plain data: [`Grid<T>`] with a [`Shape`] (`[y, x]` or `[z, y, x]`, C order, x fastest)
//!   and a [`Spacing`] in mm; [`Image`] = `Grid<f32>` in Hounsfield units, [`Mask`] =
//!   `Grid<bool>`; [`Tensor`] = `(shape, Vec<f32>)` for models.
//! * Codecs, registered in one table ([`codec::CODECS`], keyed by [`Format`]): [`codec::npy`],
//!   [`codec::png`] (HU + 1024 in 16 bits), [`codec::nifti`] (`.nii`, `.nii.gz`),
//!   [`codec::dicom`] (uncompressed little-endian subset, hand-written, documented there).
//!   Files are read by extension ([`read_image`]) or by sniffing ([`decode_image`]).
//! * Operations: HU [`Window`]ing to `[0, 1]`, [`resize`] (bilinear / trilinear) and
//!   [`resize_nearest`] (masks) to a model's input size or to a common voxel size
//!   ([`shape_at_spacing`]), [`crop_around`] a point with padding,
//!   and mask helpers ([`Mask::from_threshold`], [`Mask::iou`], [`Mask::centroid`]).
//!
//! It deliberately knows nothing of models, cohorts or anatomy.
//!
//! **NaN.** No decoded image holds NaN or ±∞: whatever the codec (a float `.npy` or NIfTI
//! holding NaN, or a NIfTI scale slope that overflows to ∞), decoding refuses the file with
//! [`Error::NonFiniteVoxel`], since no CT value is non-finite and a model would spread it.
//! Encoders write what they are given where the format can hold it (float `.npy`, NIfTI
//! float32, bit for bit); integer formats (PNG, DICOM, NIfTI int16/uint8) refuse to encode
//! NaN or ±∞ with [`Error::NonFinite`] rather than invent a value.
//!
//! ```
//! use explainme_imaging::{
//!     Format, Image, Mask, Shape, Spacing, Window, decode_image, encode_image, resize,
//! };
//!
//! // A 2D slice: fat (−100 HU) on the left, enhancing cortex (+180 HU) on the right.
//! let slice = Image::from_fn(Shape::d2(4, 6), |_, _, x| if x < 3 { -100.0 } else { 180.0 })?
//!     .with_spacing(Spacing::new(1.0, 0.75, 0.75));
//! let bytes = encode_image(&slice, Format::Png)?;
//! let back = decode_image(&bytes, None)?; // format sniffed from the PNG signature
//! assert_eq!(back, slice);
//!
//! // Broken bytes are an error, never a panic.
//! assert!(decode_image(&bytes[..20], Some(Format::Png)).is_err());
//!
//! // Model input: window to [0, 1] and resize to 8×8.
//! let input = resize(&Window::ABDOMEN.apply_to(&back), Shape::d2(8, 8))?;
//! assert_eq!(input.shape().as_slice(), &[8, 8]);
//! assert!(input.voxels().iter().all(|v| (0.0..=1.0).contains(v)));
//!
//! // A fat mask from an HU range, compared with itself.
//! let fat = Mask::from_threshold(&slice, -190.0..=-30.0);
//! assert_eq!(fat.count_inside(), 12);
//! assert_eq!(fat.iou(&fat)?, 1.0);
//! # Ok::<(), explainme_imaging::Error>(())
//! ```

pub mod codec;
mod error;
mod grid;
mod mask;
pub mod resample;
mod sample;
mod window;

pub use codec::{
    Format, decode_image, decode_image_within, decode_mask, decode_mask_within, encode_image,
    encode_mask, read_image, read_image_within, read_mask, read_mask_within, write_image,
    write_mask,
};
pub use error::{Error, Result};
pub use explainme_budget::MemoryBudget;
pub use grid::{Grid, Image, Mask, Shape, Spacing, Tensor};
pub use resample::{Resizer, crop_around, resize, resize_nearest, shape_at_spacing};
pub use window::Window;

/// The most voxels any decoder allocates for one image: 2^28 (1 GiB of `f32`), far above a
/// 512×512×1000 CT series. A header claiming more is refused with [`Error::TooLarge`].
pub const MAX_VOXELS: usize = 1 << 28;
