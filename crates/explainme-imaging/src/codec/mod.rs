//! File formats, registered in one table.
//!
//! Each format is a [`Codec`] in [`CODECS`]: its file extensions, a sniffing test on the
//! leading bytes, and decode/encode for images and masks. Adding a format means adding one
//! module and one table row; [`Format::from_path`], [`Format::sniff`], [`read_image`] and
//! friends pick it up from the table. Nothing here interprets anatomy or models.

pub mod dicom;
pub mod nifti;
pub mod npy;
pub mod png;

use std::fmt;
use std::path::Path;

use explainme_budget::MemoryBudget;

use crate::{Error, Image, Mask, Result, sample};

/// An image file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// NumPy `.npy` array (see [`npy`]).
    Npy,
    /// PNG: 16-bit grayscale for images (HU + 1024), 8-bit grayscale for masks (see [`png`]).
    Png,
    /// Uncompressed NIfTI-1 `.nii` (see [`nifti`]).
    Nifti,
    /// Gzip-compressed NIfTI-1 `.nii.gz` (see [`nifti`]).
    NiftiGz,
    /// DICOM Part 10 file, uncompressed little-endian transfer syntaxes (see [`dicom`]).
    Dicom,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.codec().name())
    }
}

/// What every registered format provides. Masks default to an image of 0/1 voxels through
/// the image codec (decoded: any non-zero voxel is `true`); formats with a natural 8-bit
/// form override that.
pub trait Codec: Sync {
    /// The format this codec handles.
    fn format(&self) -> Format;
    /// A short human name.
    fn name(&self) -> &'static str;
    /// File name endings, lower case, longest first (`.nii.gz` before `.gz`).
    fn extensions(&self) -> &'static [&'static str];
    /// Whether `head` (the first bytes of a file) looks like this format.
    fn sniff(&self, head: &[u8]) -> bool;
    /// Decodes an image in HU, allocating no more than `budget` allows. Voxels are returned
    /// as stored (the public functions refuse non-finite ones for every codec at once).
    fn decode_image(&self, bytes: &[u8], budget: &MemoryBudget) -> Result<Image>;
    /// Encodes an image in HU.
    fn encode_image(&self, image: &Image) -> Result<Vec<u8>>;
    /// Decodes a mask: every non-zero stored value is `true`.
    fn decode_mask(&self, bytes: &[u8], budget: &MemoryBudget) -> Result<Mask> {
        Ok(self.decode_image(bytes, budget)?.map(|&v| v != 0.0))
    }
    /// Encodes a mask.
    fn encode_mask(&self, mask: &Mask) -> Result<Vec<u8>> {
        self.encode_image(&mask.map(|&m| f32::from(u8::from(m))))
    }
}

/// The registry: one row per format, in sniffing order.
pub static CODECS: &[&dyn Codec] = &[
    &npy::NpyCodec,
    &png::PngCodec,
    &nifti::NiftiCodec { gzip: true },
    &nifti::NiftiCodec { gzip: false },
    &dicom::DicomCodec,
];

impl Format {
    /// Every registered format.
    pub fn all() -> impl Iterator<Item = Format> {
        CODECS.iter().map(|c| c.format())
    }

    /// The codec registered for this format.
    pub fn codec(self) -> &'static dyn Codec {
        // An internal invariant, not external data: the test
        // `every_format_is_registered_once` keeps one row per variant.
        CODECS
            .iter()
            .copied()
            .find(|c| c.format() == self)
            .expect("every Format has a row in CODECS")
    }

    /// The format named by a file's extension (case-insensitive), e.g. `case.nii.gz`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        CODECS
            .iter()
            .find(|c| c.extensions().iter().any(|e| name.ends_with(e)))
            .map(|c| c.format())
    }

    /// The format whose signature starts `bytes`.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        CODECS.iter().find(|c| c.sniff(bytes)).map(|c| c.format())
    }

    /// The usual extension, with its dot (`.nii.gz`).
    pub fn extension(self) -> &'static str {
        self.codec().extensions().first().copied().unwrap_or("")
    }
}

fn detect(path: Option<&Path>, bytes: &[u8]) -> Result<Format> {
    path.and_then(Format::from_path)
        .or_else(|| Format::sniff(bytes))
        .ok_or_else(|| {
            Error::UnknownFormat(match path {
                Some(p) => p.display().to_string(),
                None => "unrecognised leading bytes".to_owned(),
            })
        })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

fn format_for_writing(path: &Path) -> Result<Format> {
    Format::from_path(path).ok_or_else(|| Error::UnknownFormat(path.display().to_string()))
}

/// Decodes an image within the default [`MemoryBudget`]; `format: None` sniffs the leading
/// bytes. NaN or infinite voxels are refused ([`Error::NonFiniteVoxel`]), whatever the codec.
pub fn decode_image(bytes: &[u8], format: Option<Format>) -> Result<Image> {
    decode_image_within(bytes, format, &MemoryBudget::default())
}

/// [`decode_image`] under an explicit budget, as the server uses with its configured one.
pub fn decode_image_within(
    bytes: &[u8],
    format: Option<Format>,
    budget: &MemoryBudget,
) -> Result<Image> {
    let format = match format {
        Some(f) => f,
        None => detect(None, bytes)?,
    };
    sample::finite(format.codec().decode_image(bytes, budget)?, format)
}

/// Decodes a mask within the default [`MemoryBudget`]; `format: None` sniffs the leading bytes.
pub fn decode_mask(bytes: &[u8], format: Option<Format>) -> Result<Mask> {
    decode_mask_within(bytes, format, &MemoryBudget::default())
}

/// [`decode_mask`] under an explicit budget.
pub fn decode_mask_within(
    bytes: &[u8],
    format: Option<Format>,
    budget: &MemoryBudget,
) -> Result<Mask> {
    let format = match format {
        Some(f) => f,
        None => detect(None, bytes)?,
    };
    format.codec().decode_mask(bytes, budget)
}

/// Encodes an image in `format`.
pub fn encode_image(image: &Image, format: Format) -> Result<Vec<u8>> {
    format.codec().encode_image(image)
}

/// Encodes a mask in `format`.
pub fn encode_mask(mask: &Mask, format: Format) -> Result<Vec<u8>> {
    format.codec().encode_mask(mask)
}

/// Reads an image within the default [`MemoryBudget`]; the format comes from the extension,
/// else from the leading bytes. Non-finite voxels are refused, as in [`decode_image`].
pub fn read_image(path: impl AsRef<Path>) -> Result<Image> {
    read_image_within(path, &MemoryBudget::default())
}

/// [`read_image`] under an explicit budget.
pub fn read_image_within(path: impl AsRef<Path>, budget: &MemoryBudget) -> Result<Image> {
    let path = path.as_ref();
    let bytes = read(path)?;
    decode_image_within(&bytes, Some(detect(Some(path), &bytes)?), budget)
}

/// Reads a mask within the default [`MemoryBudget`]; the format comes from the extension,
/// else from the leading bytes.
pub fn read_mask(path: impl AsRef<Path>) -> Result<Mask> {
    read_mask_within(path, &MemoryBudget::default())
}

/// [`read_mask`] under an explicit budget.
pub fn read_mask_within(path: impl AsRef<Path>, budget: &MemoryBudget) -> Result<Mask> {
    let path = path.as_ref();
    let bytes = read(path)?;
    decode_mask_within(&bytes, Some(detect(Some(path), &bytes)?), budget)
}

/// Writes an image in the format named by the path's extension.
pub fn write_image(path: impl AsRef<Path>, image: &Image) -> Result<()> {
    let path = path.as_ref();
    let bytes = format_for_writing(path)?.codec().encode_image(image)?;
    write(path, &bytes)
}

/// Writes a mask in the format named by the path's extension.
pub fn write_mask(path: impl AsRef<Path>, mask: &Mask) -> Result<()> {
    let path = path.as_ref();
    let bytes = format_for_writing(path)?.codec().encode_mask(mask)?;
    write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_registered_once() {
        let all = [
            Format::Npy,
            Format::Png,
            Format::Nifti,
            Format::NiftiGz,
            Format::Dicom,
        ];
        for f in all {
            assert_eq!(
                CODECS.iter().filter(|c| c.format() == f).count(),
                1,
                "{f:?}"
            );
            assert_eq!(f.codec().format(), f);
        }
        assert_eq!(CODECS.len(), all.len());
    }

    #[test]
    fn extensions_pick_the_format() {
        let cases = [
            ("a/b.npy", Some(Format::Npy)),
            ("x.PNG", Some(Format::Png)),
            ("ct.nii", Some(Format::Nifti)),
            ("ct.nii.gz", Some(Format::NiftiGz)),
            ("slice.dcm", Some(Format::Dicom)),
            ("notes.txt", None),
        ];
        for (p, want) in cases {
            assert_eq!(Format::from_path(Path::new(p)), want, "{p}");
        }
    }
}
