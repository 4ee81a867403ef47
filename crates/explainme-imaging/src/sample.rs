//! Stored sample types shared by the `.npy`, NIfTI and DICOM codecs: converting raw
//! bytes of any endianness to `f32`, and `f32` back to integers with explicit refusal of
//! NaN and out-of-range values (never a silent wrap).

use crate::{Error, Format, Result};

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

    /// One sample from exactly `self.size()` bytes. Integers wider than 24 bits and `f64`
    /// lose precision in `f32`; CT values never need it.
    fn read(self, b: &[u8], endian: Endian) -> f32 {
        macro_rules! num {
            ($t:ty) => {{
                let a = array(b);
                match endian {
                    Endian::Little => <$t>::from_le_bytes(a),
                    Endian::Big => <$t>::from_be_bytes(a),
                }
            }};
        }
        match self {
            Sample::U8 => f32::from(b[0]),
            Sample::I8 => f32::from(b[0] as i8),
            Sample::U16 => f32::from(num!(u16)),
            Sample::I16 => f32::from(num!(i16)),
            Sample::U32 => num!(u32) as f32,
            Sample::I32 => num!(i32) as f32,
            Sample::F32 => num!(f32),
            Sample::F64 => num!(f64) as f32,
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
            Some(n) if n <= bytes.len() => Ok(bytes[..n]
                .chunks_exact(self.size())
                .map(|c| self.read(c, endian))
                .collect()),
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

/// Spacing read from a file: absolute value, and 1 mm when zero or not finite (many NIfTI
/// writers leave unused `pixdim` entries at 0).
pub(crate) fn sane_spacing(mm: f32) -> f32 {
    if mm.is_finite() && mm != 0.0 {
        mm.abs()
    } else {
        1.0
    }
}
