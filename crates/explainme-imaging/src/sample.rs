//! Stored sample types shared by the `.npy`, NIfTI and DICOM codecs: converting raw
//! bytes of any endianness to `f32`, and `f32` back to integers with explicit refusal of
//! NaN and out-of-range values (never a silent wrap).

use explainme_budget::MemoryBudget;

use crate::{Error, Format, Image, Result};

/// The numeric type of one stored sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sample {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    F64,
}

/// Byte order of stored samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

impl Sample {
    /// Bytes per sample.
    pub(crate) fn size(self) -> usize {
        match self {
            Sample::U8 | Sample::I8 => 1,
            Sample::U16 | Sample::I16 => 2,
            Sample::U32 | Sample::I32 | Sample::F32 => 4,
            Sample::F64 => 8,
        }
    }

    /// Every sample of `bytes` (a multiple of `self.size()` long) as `f32`. The type and
    /// byte order are matched once, outside the loop, so each arm compiles to a tight
    /// conversion loop. Integers wider than 24 bits and `f64` lose precision in `f32`; CT
    /// values never need it.
    fn convert(self, bytes: &[u8], endian: Endian) -> Vec<f32> {
        fn each<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
            bytes.chunks_exact(N).map(|c| f(array(c))).collect()
        }
        macro_rules! by_endian {
            ($t:ty) => {
                match endian {
                    Endian::Little => each(bytes, |a| <$t>::from_le_bytes(a) as f32),
                    Endian::Big => each(bytes, |a| <$t>::from_be_bytes(a) as f32),
                }
            };
        }
        match self {
            Sample::U8 => bytes.iter().map(|&b| f32::from(b)).collect(),
            Sample::I8 => bytes.iter().map(|&b| f32::from(b as i8)).collect(),
            Sample::U16 => by_endian!(u16),
            Sample::I16 => by_endian!(i16),
            Sample::U32 => by_endian!(u32),
            Sample::I32 => by_endian!(i32),
            Sample::F32 => by_endian!(f32),
            Sample::F64 => by_endian!(f64),
        }
    }

    /// Decodes `count` samples from the start of `bytes`.
    ///
    /// Errors with [`Error::Truncated`] when fewer than `count` samples are present; the
    /// caller has already bounded `count` by [`crate::MAX_VOXELS`].
    pub(crate) fn decode(
        self,
        bytes: &[u8],
        count: usize,
        endian: Endian,
        format: Format,
    ) -> Result<Vec<f32>> {
        let needed = count.checked_mul(self.size());
        match needed {
            Some(n) if n <= bytes.len() => Ok(self.convert(&bytes[..n], endian)),
            _ => Err(Error::Truncated {
                format,
                needed: (count as u64).saturating_mul(self.size() as u64),
                available: bytes.len() as u64,
            }),
        }
    }
}

/// Rounds `value` to the nearest integer in `[min, max]`, refusing NaN/infinity and values
/// outside the range.
pub(crate) fn quantise(
    value: f32,
    min: f32,
    max: f32,
    format: Format,
    range: &'static str,
) -> Result<f32> {
    if !value.is_finite() {
        return Err(Error::NonFinite { format, value });
    }
    let rounded = value.round();
    if rounded < min || rounded > max {
        return Err(Error::OutOfRange {
            format,
            value,
            range,
        });
    }
    Ok(rounded)
}

/// Appends `values` as little-endian `i16`, rounding and refusing what does not fit.
pub(crate) fn push_i16_le(out: &mut Vec<u8>, values: &[f32], format: Format) -> Result<()> {
    out.reserve(values.len() * 2);
    for &v in values {
        let q = quantise(v, -32768.0, 32767.0, format, "int16 -32768..=32767")?;
        out.extend_from_slice(&(q as i16).to_le_bytes());
    }
    Ok(())
}

/// Appends `values` as little-endian `f32`.
pub(crate) fn push_f32_le(out: &mut Vec<u8>, values: &[f32]) {
    out.reserve(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Checks a voxel count claimed by a header against [`crate::MAX_VOXELS`] before anything
/// is allocated. `extents` may hold any integers read from the file.
pub(crate) fn claimed_count(extents: &[u128], format: Format) -> Result<usize> {
    let claimed = extents
        .iter()
        .try_fold(1u128, |acc, &n| acc.checked_mul(n))
        .unwrap_or(u128::MAX);
    if claimed > crate::MAX_VOXELS as u128 {
        return Err(Error::TooLarge {
            format,
            claimed,
            limit: crate::MAX_VOXELS,
        });
    }
    if claimed == 0 {
        return Err(Error::Corrupt {
            format,
            detail: format!("zero extent in {extents:?}"),
        });
    }
    Ok(claimed as usize)
}

/// Checks what a decoder will allocate for `count` voxels (`bytes_per_voxel`: its own
/// buffers plus the `f32` image) against `budget`, after the header and before allocating.
pub(crate) fn within_budget(
    count: usize,
    bytes_per_voxel: u64,
    format: Format,
    budget: &MemoryBudget,
) -> Result<()> {
    // count ≤ MAX_VOXELS = 2^28 (claimed_count) and bytes_per_voxel is a small constant.
    budget.check(
        format_args!("decoding a {format} image of {count} voxels"),
        (count as u64).saturating_mul(bytes_per_voxel),
    )?;
    Ok(())
}

/// The image itself when every voxel is finite, else [`Error::NonFiniteVoxel`].
pub(crate) fn finite(image: Image, format: Format) -> Result<Image> {
    all_finite(image.voxels(), format)?;
    Ok(image)
}

/// [`Error::NonFiniteVoxel`] for the first NaN or infinite value.
pub(crate) fn all_finite(values: &[f32], format: Format) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFiniteVoxel {
            format,
            index,
            value: values[index],
        }),
    }
}

/// Spacing read from a file: absolute value, and 1 mm when zero or not finite (many NIfTI
/// writers leave unused `pixdim` entries at 0).
pub(crate) fn sane_spacing(mm: f32) -> f32 {
    if mm.is_finite() && mm != 0.0 {
        mm.abs()
    } else {
        1.0
    }
}
