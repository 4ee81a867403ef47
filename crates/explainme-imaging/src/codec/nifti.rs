//! NIfTI-1 single-file volumes, `.nii` and gzip-compressed `.nii.gz` (flate2).
//!
//! **Read:** magic `n+1`, either byte order (detected from `sizeof_hdr`), `dim[0]` 2–7 with
//! every extent beyond the third equal to 1, datatypes uint8, int8, int16, uint16, int32,
//! uint32, float32 and float64. Stored values are scaled by `scl_slope`/`scl_inter` when
//! `scl_slope` is finite and non-zero (the NIfTI rule); `pixdim[1..=3]` gives the x, y, z
//! spacing in mm (absolute value; 0 or non-finite → 1 mm). Refused with a typed error:
//! NIfTI-2, the two-file `.hdr`/`.img` pair (`ni1`), 4D series with more than one volume,
//! complex/RGB/64-bit-integer datatypes.
//!
//! **Axes.** Volumes are oriented as explainme reads DICOM: x toward the patient's left, y
//! toward posterior, z toward superior (DICOM's LPS, what a DICOM axial series read along its
//! slice normal gives), so the same scan read from DICOM or NIfTI is the same grid. The
//! orientation comes from the sform when `sform_code` > 0, else from the qform (quaternion,
//! `qfac` = `pixdim[0]`) when `qform_code` > 0; each voxel axis is assigned the world axis its
//! direction is closest to, then axes are permuted and flipped into LPS order (nibabel's
//! `as_closest_canonical`, aimed at LPS instead of RAS; an oblique volume is not resampled).
//! A 2D image is only flipped, never permuted. Without either transform (`*_code` 0, the old
//! ANALYZE convention), or when the directions are degenerate, voxels stay in stored order:
//! NIfTI's fastest index i is our x, j is y, k is z. Writers here emit the sform of stored
//! order in LPS (`srow` = diag(−x, −y, z) in NIfTI's RAS), so writing then reading is the
//! identity and nibabel sees the patient the right way round.
//!
//! **Write:** `float32` (exact) or `int16` (rounded; NaN and values outside ±32767 refused),
//! masks as `uint8` 0/1, `scl_slope` 1, `vox_offset` 352. Gzip output carries no timestamp,
//! so equal images give byte-identical files.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use super::{Codec, Format};
use crate::sample::{self, Endian, Sample};
use crate::{Error, Grid, Image, Mask, MemoryBudget, Result, Shape, Spacing};

const HEADER_LEN: usize = 348;
/// Header plus the 4-byte extension flag: where voxel data starts in files we write.
const VOX_OFFSET: usize = 352;
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// Inflated bytes tolerated after the voxel data of a `.nii.gz` (some writers pad).
const MAX_TRAILING: u64 = 1 << 20;
/// The most header-extension bytes (between the header and `vox_offset`) we skip: real
/// extensions (DICOM or AFNI headers) take kilobytes; a `vox_offset` of 4 GB would make a
/// `.nii.gz` inflate gigabytes before its voxels.
const MAX_EXTENSIONS: usize = 16 << 20;

/// The stored datatype used when writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datatype {
    /// NIFTI_TYPE_FLOAT32 (16): exact for any `f32`, NaN included.
    Float32,
    /// NIFTI_TYPE_INT16 (4): HU rounded to integers; half the size of float32.
    Int16,
    /// NIFTI_TYPE_UINT8 (2): masks, 0/1.
    Uint8,
}

impl Datatype {
    fn code_and_bits(self) -> (i16, i16) {
        match self {
            Datatype::Float32 => (16, 32),
            Datatype::Int16 => (4, 16),
            Datatype::Uint8 => (2, 8),
        }
    }
}

/// The NIfTI rows of the registry: `gzip` selects `.nii.gz` over `.nii`.
pub struct NiftiCodec {
    /// Whether files are gzip-compressed.
    pub gzip: bool,
}

impl NiftiCodec {
    fn format_(&self) -> Format {
        if self.gzip {
            Format::NiftiGz
        } else {
            Format::Nifti
        }
    }
}

impl Codec for NiftiCodec {
    fn format(&self) -> Format {
        self.format_()
    }
    fn name(&self) -> &'static str {
        if self.gzip {
            "NIfTI-1 (gzip)"
        } else {
            "NIfTI-1"
        }
    }
    fn extensions(&self) -> &'static [&'static str] {
        if self.gzip { &[".nii.gz"] } else { &[".nii"] }
    }
    fn sniff(&self, head: &[u8]) -> bool {
        if self.gzip {
            head.starts_with(GZIP_MAGIC)
        } else {
            head.get(344..348) == Some(b"n+1\0") || head.get(344..348) == Some(b"ni1\0")
        }
    }
    fn decode_image(&self, bytes: &[u8], budget: &MemoryBudget) -> Result<Image> {
        decode(bytes, self.format_(), budget)
    }
    fn encode_image(&self, image: &Image) -> Result<Vec<u8>> {
        encode(image, Datatype::Float32, self.gzip)
    }
    fn encode_mask(&self, mask: &Mask) -> Result<Vec<u8>> {
        encode(
            &mask.map(|&m| f32::from(u8::from(m))),
            Datatype::Uint8,
            self.gzip,
        )
    }
}

/// Decodes `.nii` bytes, or `.nii.gz` bytes when `format` is [`Format::NiftiGz`], allocating
/// no more than `budget` allows.
pub fn decode(bytes: &[u8], format: Format, budget: &MemoryBudget) -> Result<Image> {
    if format != Format::NiftiGz {
        let header = Header::parse(bytes, format)?;
        // The stored bytes are already in memory; decoding allocates the f32 voxels.
        sample::within_budget(
            header.count,
            header.decoded_bytes_per_voxel(),
            format,
            budget,
        )?;
        let data = bytes.get(header.vox_offset..).ok_or(Error::Truncated {
            format,
            needed: header.vox_offset as u64,
            available: bytes.len() as u64,
        })?;
        return header.image(data, format);
    }
    if !bytes.starts_with(GZIP_MAGIC) {
        return Err(Error::WrongMagic {
            format,
            detail: format!("no gzip signature: {:02x?}", &bytes[..bytes.len().min(4)]),
        });
    }
    // Inflate the header first, then only as many bytes as the checked header announces:
    // a header claiming gigabytes cannot make us inflate or allocate them.
    // Extensions between the header and `vox_offset` are skipped as they inflate, never kept,
    // and the inflated voxel bytes plus the f32 image must fit the budget.
    let mut gz = MultiGzDecoder::new(bytes);
    let mut head = Vec::with_capacity(HEADER_LEN);
    inflate(&mut gz, HEADER_LEN, &mut head, format)?;
    let header = Header::parse(&head, format)?;
    let per_voxel = header.sample.size() as u64 + header.decoded_bytes_per_voxel();
    sample::within_budget(header.count, per_voxel, format, budget)?;
    skip(&mut gz, header.vox_offset - HEADER_LEN, format)?;
    let mut data = Vec::new();
    inflate(&mut gz, header.data_len(), &mut data, format)?;
    let image = header.image(&data, format)?;
    // Inflate what follows so the gzip trailer (CRC-32 and length) is verified: a cut or
    // damaged stream is an error even when the voxels themselves arrived intact.
    let trailing =
        std::io::copy(&mut gz.take(MAX_TRAILING + 1), &mut std::io::sink()).map_err(|e| {
            Error::Corrupt {
                format,
                detail: format!("gzip stream: {e}"),
            }
        })?;
    if trailing > MAX_TRAILING {
        return Err(Error::Corrupt {
            format,
            detail: format!("more than {MAX_TRAILING} bytes after the voxel data"),
        });
    }
    Ok(image)
}

/// Inflates and discards exactly `n` bytes (NIfTI extensions we do not read).
fn skip(gz: &mut impl Read, n: usize, format: Format) -> Result<()> {
    let skipped = std::io::copy(&mut gz.take(n as u64), &mut std::io::sink()).map_err(|e| {
        Error::Corrupt {
            format,
            detail: format!("gzip stream: {e}"),
        }
    })?;
    if skipped < n as u64 {
        return Err(Error::Truncated {
            format,
            needed: (HEADER_LEN + n) as u64,
            available: (HEADER_LEN as u64) + skipped,
        });
    }
    Ok(())
}

/// Appends exactly `n` inflated bytes to `out`, growing it only as data actually arrives.
fn inflate(gz: &mut impl Read, n: usize, out: &mut Vec<u8>, format: Format) -> Result<()> {
    let before = out.len();
    gz.take(n as u64)
        .read_to_end(out)
        .map_err(|e| Error::Corrupt {
            format,
            detail: format!("gzip stream: {e}"),
        })?;
    if out.len() - before < n {
        return Err(Error::Truncated {
            format,
            needed: (before + n) as u64,
            available: out.len() as u64,
        });
    }
    Ok(())
}

/// Encodes an image (`gzip` for `.nii.gz`).
pub fn encode(image: &Image, datatype: Datatype, gzip: bool) -> Result<Vec<u8>> {
    let format = if gzip { Format::NiftiGz } else { Format::Nifti };
    let mut out = header_bytes(image.shape(), image.spacing(), datatype, format)?;
    match datatype {
        Datatype::Float32 => sample::push_f32_le(&mut out, image.voxels()),
        Datatype::Int16 => sample::push_i16_le(&mut out, image.voxels(), format)?,
        Datatype::Uint8 => {
            for &v in image.voxels() {
                out.push(sample::quantise(v, 0.0, 255.0, format, "uint8 0..=255")? as u8);
            }
        }
    }
    if !gzip {
        return Ok(out);
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    let io = |e: std::io::Error| Error::Corrupt {
        format,
        detail: format!("gzip: {e}"),
    };
    gz.write_all(&out).map_err(io)?;
    gz.finish().map_err(io)
}

fn header_bytes(
    shape: Shape,
    spacing: Spacing,
    datatype: Datatype,
    format: Format,
) -> Result<Vec<u8>> {
    let extent = |n: usize| {
        i16::try_from(n).map_err(|_| Error::Unsupported {
            format,
            detail: format!(
                "extent {n} in {:?}; NIfTI-1 holds at most 32767",
                shape.as_slice()
            ),
        })
    };
    let [nz, ny, nx] = shape.zyx();
    let dims = [
        shape.dims() as i16,
        extent(nx)?,
        extent(ny)?,
        extent(nz)?,
        1,
        1,
        1,
        1,
    ];
    let mut h = vec![0u8; VOX_OFFSET];
    let mut put = |at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &(HEADER_LEN as i32).to_le_bytes());
    for (k, d) in dims.iter().enumerate() {
        put(40 + 2 * k, &d.to_le_bytes());
    }
    let (code, bits) = datatype.code_and_bits();
    put(70, &code.to_le_bytes());
    put(72, &bits.to_le_bytes());
    let pixdim = [1.0, spacing.x, spacing.y, spacing.z, 1.0, 1.0, 1.0, 1.0];
    for (k, p) in pixdim.iter().enumerate() {
        put(76 + 4 * k, &p.to_le_bytes());
    }
    put(108, &(VOX_OFFSET as f32).to_le_bytes());
    put(112, &1.0f32.to_le_bytes()); // scl_slope
    put(123, &[2]); // xyzt_units: NIFTI_UNITS_MM
    put(254, &1i16.to_le_bytes()); // sform_code: NIFTI_XFORM_SCANNER_ANAT
    // Stored order is LPS (x toward left, y posterior, z superior); NIfTI's world is RAS.
    for (row, mm) in [-spacing.x, -spacing.y, spacing.z].iter().enumerate() {
        put(280 + 16 * row + 4 * row, &mm.to_le_bytes());
    }
    put(344, b"n+1\0");
    Ok(h)
}

/// The parts of a checked header that decoding needs.
struct Header {
    endian: Endian,
    /// The shape as stored.
    shape: Shape,
    count: usize,
    sample: Sample,
    /// Spacing of the stored axes.
    spacing: Spacing,
    vox_offset: usize,
    slope: f32,
    inter: f32,
    /// How to reorder the stored voxels into LPS order; `None` keeps them.
    orientation: Option<Orientation>,
}

/// A permutation and flips of the voxel axes (0 = i = x, 1 = j = y, 2 = k = z).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Orientation {
    /// `from[o]`: the stored axis that becomes output axis `o`.
    from: [usize; 3],
    /// Whether output axis `o` runs the stored axis backwards.
    flip: [bool; 3],
}

impl Orientation {
    const IDENTITY: Orientation = Orientation {
        from: [0, 1, 2],
        flip: [false; 3],
    };

    /// From the 3×3 direction-and-scale part of the affine in NIfTI's RAS (rows x, y, z;
    /// columns i, j, k); `None` when a direction is degenerate.
    fn from_affine(ras: [[f64; 3]; 3], dims: usize) -> Option<Orientation> {
        // RAS → LPS: the first two world axes change sign.
        let lps = [ras[0].map(|v| -v), ras[1].map(|v| -v), ras[2]];
        let mut world = [0usize; 3];
        let mut positive = [true; 3];
        for axis in 0..3 {
            let column = [lps[0][axis], lps[1][axis], lps[2][axis]];
            if column.iter().any(|v| !v.is_finite()) || column.iter().all(|v| *v == 0.0) {
                return None;
            }
            let (w, v) = column
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
            world[axis] = w;
            positive[axis] = *v > 0.0;
        }
        let mut out = Orientation::IDENTITY;
        let permutes = dims == 3 && {
            let mut seen = [false; 3];
            world
                .iter()
                .all(|&w| !std::mem::replace(&mut seen[w], true))
        };
        if permutes {
            for axis in 0..3 {
                out.from[world[axis]] = axis;
                out.flip[world[axis]] = !positive[axis];
            }
        } else {
            // A 2D image (or directions two axes share): flips only, in-plane.
            for (flip, positive) in out.flip.iter_mut().zip(positive).take(dims.min(3)) {
                *flip = !positive;
            }
        }
        Some(out)
    }

    fn is_identity(&self) -> bool {
        *self == Orientation::IDENTITY
    }
}

impl Header {
    fn parse(bytes: &[u8], format: Format) -> Result<Header> {
        let h = bytes.get(..HEADER_LEN).ok_or(Error::Truncated {
            format,
            needed: HEADER_LEN as u64,
            available: bytes.len() as u64,
        })?;
        let corrupt = |detail: String| Error::Corrupt { format, detail };
        let endian = match (
            i32::from_le_bytes([h[0], h[1], h[2], h[3]]),
            i32::from_be_bytes([h[0], h[1], h[2], h[3]]),
        ) {
            (348, _) => Endian::Little,
            (_, 348) => Endian::Big,
            (540, _) | (_, 540) => {
                return Err(Error::Unsupported {
                    format,
                    detail: "NIfTI-2 header (only NIfTI-1 is read)".into(),
                });
            }
            (n, _) => {
                return Err(Error::WrongMagic {
                    format,
                    detail: format!("sizeof_hdr is {n}, not 348"),
                });
            }
        };
        match &h[344..348] {
            b"n+1\0" => {}
            b"ni1\0" => {
                return Err(Error::Unsupported {
                    format,
                    detail: "two-file .hdr/.img pair (magic ni1); use a single .nii".into(),
                });
            }
            other => {
                return Err(Error::WrongMagic {
                    format,
                    detail: format!("magic {other:02x?}, not \"n+1\""),
                });
            }
        }
        let i16_at = |at: usize| {
            let a = [h[at], h[at + 1]];
            match endian {
                Endian::Little => i16::from_le_bytes(a),
                Endian::Big => i16::from_be_bytes(a),
            }
        };
        let f32_at = |at: usize| {
            let a = [h[at], h[at + 1], h[at + 2], h[at + 3]];
            match endian {
                Endian::Little => f32::from_le_bytes(a),
                Endian::Big => f32::from_be_bytes(a),
            }
        };
        let dim: Vec<i16> = (0..8).map(|k| i16_at(40 + 2 * k)).collect();
        let rank = dim[0];
        if !(2..=7).contains(&rank) {
            return Err(corrupt(format!("dim[0] = {rank}; images have 2 to 7")));
        }
        let extents = &dim[1..=rank as usize];
        if extents.iter().any(|&n| n < 1) {
            return Err(corrupt(format!("non-positive extent in dim {extents:?}")));
        }
        if extents.iter().skip(3).any(|&n| n != 1) {
            return Err(Error::Unsupported {
                format,
                detail: format!("dim {extents:?}: more than one volume (4D series)"),
            });
        }
        let ext = |k: usize| extents.get(k).map_or(1, |&n| n as usize);
        let shape = if rank == 2 {
            Shape::d2(ext(1), ext(0))
        } else {
            Shape::d3(ext(2), ext(1), ext(0))
        };
        let count = sample::claimed_count(
            &shape
                .as_slice()
                .iter()
                .map(|&n| n as u128)
                .collect::<Vec<_>>(),
            format,
        )?;
        let datatype = i16_at(70);
        let sample = match datatype {
            2 => Sample::U8,
            4 => Sample::I16,
            8 => Sample::I32,
            16 => Sample::F32,
            64 => Sample::F64,
            256 => Sample::I8,
            512 => Sample::U16,
            768 => Sample::U32,
            other => {
                return Err(Error::Unsupported {
                    format,
                    detail: format!(
                        "datatype {other} (read: uint8, int8, int16, uint16, int32, uint32, \
                         float32, float64)"
                    ),
                });
            }
        };
        let vox = f32_at(108);
        if !(vox.is_finite() && vox >= HEADER_LEN as f32 && vox <= u32::MAX as f32) {
            return Err(corrupt(format!("vox_offset {vox}")));
        }
        if vox as usize > VOX_OFFSET + MAX_EXTENSIONS {
            return Err(Error::Unsupported {
                format,
                detail: format!(
                    "vox_offset {vox}: more than {} MiB of header extensions",
                    MAX_EXTENSIONS >> 20
                ),
            });
        }
        let slope = f32_at(112);
        let inter = f32_at(116);
        let (slope, inter) = if slope.is_finite() && slope != 0.0 {
            (slope, if inter.is_finite() { inter } else { 0.0 })
        } else {
            (1.0, 0.0)
        };
        let mm = |k: usize| sample::sane_spacing(f32_at(76 + 4 * k));
        let pixdim = |k: usize| f64::from(f32_at(76 + 4 * k));
        let affine = if i16_at(254) > 0 {
            let row = |at: usize| [0, 1, 2].map(|c| f64::from(f32_at(at + 4 * c)));
            Some([row(280), row(296), row(312)])
        } else if i16_at(252) > 0 {
            let (b, c, d) = (
                f64::from(f32_at(256)),
                f64::from(f32_at(260)),
                f64::from(f32_at(264)),
            );
            let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
            let rotation = [
                [
                    a * a + b * b - c * c - d * d,
                    2.0 * (b * c - a * d),
                    2.0 * (b * d + a * c),
                ],
                [
                    2.0 * (b * c + a * d),
                    a * a + c * c - b * b - d * d,
                    2.0 * (c * d - a * b),
                ],
                [
                    2.0 * (b * d - a * c),
                    2.0 * (c * d + a * b),
                    a * a + d * d - c * c - b * b,
                ],
            ];
            let qfac = if pixdim(0) < 0.0 { -1.0 } else { 1.0 };
            let scale = [pixdim(1), pixdim(2), qfac * pixdim(3)];
            Some(rotation.map(|row| [0, 1, 2].map(|k| row[k] * scale[k])))
        } else {
            None
        };
        let orientation = affine
            .and_then(|m| Orientation::from_affine(m, shape.dims()))
            .filter(|o| !o.is_identity());
        Ok(Header {
            endian,
            shape,
            count,
            sample,
            spacing: Spacing::new(mm(3), mm(2), mm(1)),
            vox_offset: vox as usize,
            slope,
            inter,
            orientation,
        })
    }

    fn data_len(&self) -> usize {
        // count ≤ MAX_VOXELS and sample size ≤ 8: no overflow.
        self.count * self.sample.size()
    }

    fn image(&self, data: &[u8], format: Format) -> Result<Image> {
        let mut values = self.sample.decode(data, self.count, self.endian, format)?;
        if (self.slope, self.inter) != (1.0, 0.0) {
            // In f64 with one final rounding, as nibabel scales: results match it exactly.
            let (slope, inter) = (f64::from(self.slope), f64::from(self.inter));
            for v in &mut values {
                *v = (f64::from(*v) * slope + inter) as f32;
            }
        }
        let image = Grid::new(self.shape, values)?.with_spacing(self.spacing);
        Ok(match self.orientation {
            Some(o) => reorient(&image, o)?,
            None => image,
        })
    }

    /// Bytes per voxel decoding allocates beyond the stored samples: the f32 image, and a
    /// second one when the voxels are reordered.
    fn decoded_bytes_per_voxel(&self) -> u64 {
        if self.orientation.is_some() { 8 } else { 4 }
    }
}

/// The image's voxels permuted and flipped by `o` (axes 0 = x, 1 = y, 2 = z).
fn reorient(image: &Image, o: Orientation) -> Result<Image> {
    let [nz, ny, nx] = image.shape().zyx();
    let stored = [nx, ny, nz];
    let extent = o.from.map(|axis| stored[axis]);
    let spacing = image.spacing();
    let mm = [spacing.x, spacing.y, spacing.z];
    let out_mm = o.from.map(|axis| mm[axis]);
    let voxels = image.voxels();
    let mut out = Vec::with_capacity(voxels.len());
    let mut at = [0usize; 3];
    for z in 0..extent[2] {
        for y in 0..extent[1] {
            for x in 0..extent[0] {
                for (axis, index) in [x, y, z].into_iter().enumerate() {
                    at[o.from[axis]] = if o.flip[axis] {
                        extent[axis] - 1 - index
                    } else {
                        index
                    };
                }
                out.push(voxels[(at[2] * ny + at[1]) * nx + at[0]]);
            }
        }
    }
    let shape = if image.dims() == 2 {
        Shape::d2(extent[1], extent[0])
    } else {
        Shape::d3(extent[2], extent[1], extent[0])
    };
    Ok(Grid::new(shape, out)?.with_spacing(Spacing::new(out_mm[2], out_mm[1], out_mm[0])))
}
