//! PNG: 2D CT slices as 16-bit grayscale, masks as 8-bit grayscale (the `png` crate).
//!
//! **The HU offset.** A 16-bit PNG cannot hold negative numbers, so images are stored as
//! `stored = round(HU + 1024)` clamped to `0..=65535` ([`HU_OFFSET`]); decoding subtracts
//! 1024. Air (−1000 HU) is stored as 24, water as 1024, dense bone (+3000) as 4024; values
//! below −1024 HU become −1024 and values above 64511 HU become 64511. NaN and ±∞ are
//! refused with [`Error::NonFinite`]: there is no honest integer for them.
//!
//! **Spacing** travels in a `tEXt` chunk with keyword [`SPACING_KEYWORD`] and text
//! `"z y x"` in mm; files without it decode with 1 mm spacing.
//!
//! Images must be 16-bit grayscale (8-bit or colour images are refused rather than guessed
//! at). Masks may be grayscale of any bit depth; every non-zero sample is inside (so 0/1 and
//! 0/255 masks both work); masks are written as 0/255. Only 2D grids fit in a PNG.

use std::io::Cursor;

use ::png::{BitDepth, ColorType, Compression, Decoder, Limits, Transformations};

use super::{Codec, Format};
use crate::{Error, Grid, Image, MAX_VOXELS, Mask, MemoryBudget, Result, Shape, Spacing, sample};

/// Added to HU before storing in a 16-bit PNG.
pub const HU_OFFSET: f32 = 1024.0;

/// The `tEXt` keyword holding `"z y x"` spacing in mm.
pub const SPACING_KEYWORD: &str = "explainme:spacing_mm";

const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const FORMAT: Format = Format::Png;

/// The PNG row of the registry.
pub struct PngCodec;

impl Codec for PngCodec {
    fn format(&self) -> Format {
        FORMAT
    }
    fn name(&self) -> &'static str {
        "PNG"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &[".png"]
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(SIGNATURE)
    }

    fn decode_image(&self, bytes: &[u8], budget: &MemoryBudget) -> Result<Image> {
        let raw = decode(bytes, Transformations::IDENTITY, 4, budget)?;
        if (raw.color, raw.depth) != (ColorType::Grayscale, BitDepth::Sixteen) {
            return Err(Error::Unsupported {
                format: FORMAT,
                detail: format!(
                    "{:?} {:?}-bit image; CT images are 16-bit grayscale (HU + 1024)",
                    raw.color, raw.depth as u8
                ),
            });
        }
        let hu = raw
            .pixels
            .chunks_exact(2)
            .map(|c| f32::from(u16::from_be_bytes([c[0], c[1]])) - HU_OFFSET)
            .collect();
        Ok(Grid::new(raw.shape, hu)?.with_spacing(raw.spacing))
    }

    fn encode_image(&self, image: &Image) -> Result<Vec<u8>> {
        let mut pixels = Vec::with_capacity(image.voxels().len() * 2);
        for &hu in image.voxels() {
            let stored = stored_value(hu)?;
            pixels.extend_from_slice(&stored.to_be_bytes());
        }
        encode(image.shape(), image.spacing(), BitDepth::Sixteen, &pixels)
    }

    fn decode_mask(&self, bytes: &[u8], budget: &MemoryBudget) -> Result<Mask> {
        let raw = decode(bytes, Transformations::EXPAND, 1, budget)?;
        let inside: Vec<bool> = match (raw.color, raw.depth) {
            (ColorType::Grayscale, BitDepth::Eight) => raw.pixels.iter().map(|&v| v != 0).collect(),
            (ColorType::Grayscale, BitDepth::Sixteen) => {
                raw.pixels.chunks_exact(2).map(|c| c != [0, 0]).collect()
            }
            (color, depth) => {
                return Err(Error::Unsupported {
                    format: FORMAT,
                    detail: format!("{color:?} {}-bit mask; masks are grayscale", depth as u8),
                });
            }
        };
        Ok(Grid::new(raw.shape, inside)?.with_spacing(raw.spacing))
    }

    fn encode_mask(&self, mask: &Mask) -> Result<Vec<u8>> {
        let pixels: Vec<u8> = mask
            .voxels()
            .iter()
            .map(|&m| if m { 255 } else { 0 })
            .collect();
        encode(mask.shape(), mask.spacing(), BitDepth::Eight, &pixels)
    }
}

/// The 16-bit sample stored for `hu`: `round(hu + 1024)` clamped to `0..=65535`.
pub fn stored_value(hu: f32) -> Result<u16> {
    if !hu.is_finite() {
        return Err(Error::NonFinite {
            format: FORMAT,
            value: hu,
        });
    }
    // Clamped to the u16 range first, so the cast is exact.
    Ok((hu + HU_OFFSET).round().clamp(0.0, 65535.0) as u16)
}

struct Raw {
    shape: Shape,
    spacing: Spacing,
    color: ColorType,
    depth: BitDepth,
    pixels: Vec<u8>,
}

/// Decodes the pixels; `out_bytes_per_pixel` is what the caller allocates per pixel for its
/// grid (4 for an `f32` image, 1 for a mask), counted with the decoder's buffer in `budget`.
fn decode(
    bytes: &[u8],
    transformations: Transformations,
    out_bytes_per_pixel: u64,
    budget: &MemoryBudget,
) -> Result<Raw> {
    if !bytes.starts_with(SIGNATURE) {
        return Err(Error::WrongMagic {
            format: FORMAT,
            detail: format!("starts with {:02x?}", &bytes[..bytes.len().min(8)]),
        });
    }
    // Room for the largest image we accept at 16 bits plus the decoder's own buffers, and
    // never more than the budget.
    let limits = Limits {
        bytes: MAX_VOXELS
            .saturating_mul(4)
            .min(usize::try_from(budget.limit()).unwrap_or(usize::MAX)),
    };
    let mut decoder = Decoder::new_with_limits(Cursor::new(bytes), limits);
    decoder.set_transformations(transformations);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let (width, height) = (reader.info().width, reader.info().height);
    let count = sample::claimed_count(&[u128::from(width), u128::from(height)], FORMAT)?;
    let (color, depth) = reader.output_color_type();
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt("image size overflows"))?;
    // size ≤ 8 bytes × MAX_VOXELS: the sum cannot overflow.
    budget.check(
        format_args!("decoding a {FORMAT} image of {count} pixels"),
        size as u64 + count as u64 * out_bytes_per_pixel,
    )?;
    let mut pixels = vec![0; size];
    let frame = reader.next_frame(&mut pixels).map_err(corrupt)?;
    pixels.truncate(frame.buffer_size());
    // Read through IEND so a file cut after its pixel data is still an error.
    reader.finish().map_err(corrupt)?;
    let spacing = match reader
        .info()
        .uncompressed_latin1_text
        .iter()
        .find(|t| t.keyword == SPACING_KEYWORD)
    {
        Some(chunk) => parse_spacing(&chunk.text)?,
        None => Spacing::default(),
    };
    Ok(Raw {
        // Bounded by MAX_VOXELS above, so the u32 → usize casts are exact.
        shape: Shape::d2(height as usize, width as usize),
        spacing,
        color,
        depth,
        pixels,
    })
}

fn parse_spacing(text: &str) -> Result<Spacing> {
    let mm: Vec<f32> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| corrupt(format!("{SPACING_KEYWORD} is not numbers: {text:?}")))?;
    match mm[..] {
        [z, y, x] if mm.iter().all(|v| v.is_finite() && *v > 0.0) => Ok(Spacing::new(z, y, x)),
        _ => Err(corrupt(format!(
            "{SPACING_KEYWORD} must be three positive mm values, got {text:?}"
        ))),
    }
}

fn encode(shape: Shape, spacing: Spacing, depth: BitDepth, pixels: &[u8]) -> Result<Vec<u8>> {
    if shape.dims() != 2 {
        return Err(Error::Unsupported {
            format: FORMAT,
            detail: format!("a {:?} grid; PNG holds 2D images only", shape.as_slice()),
        });
    }
    let too_wide =
        || Error::InvalidShape(format!("{:?} exceeds PNG's u32 extents", shape.as_slice()));
    let width = u32::try_from(shape.x()).map_err(|_| too_wide())?;
    let height = u32::try_from(shape.y()).map_err(|_| too_wide())?;
    let mut out = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut out, width, height);
    encoder.set_color(ColorType::Grayscale);
    encoder.set_depth(depth);
    encoder.set_compression(Compression::Fast);
    let text = format!("{} {} {}", spacing.z, spacing.y, spacing.x);
    encoder
        .add_text_chunk(SPACING_KEYWORD.to_owned(), text)
        .map_err(corrupt)?;
    let mut writer = encoder.write_header().map_err(corrupt)?;
    writer.write_image_data(pixels).map_err(corrupt)?;
    writer.finish().map_err(corrupt)?;
    Ok(out)
}

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        format: FORMAT,
        detail: e.to_string(),
    }
}
