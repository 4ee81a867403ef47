//! DICOM Part 10 files and series, read and written with dicom-rs.
//!
//! * **Read** ([`decode`], [`decode_instance`]): parsing by `dicom-object`, pixel data by
//!   `dicom-pixeldata` in pure Rust, for the transfer syntaxes of [`TransferSyntax::READ`]
//!   (Explicit/Implicit VR Little Endian, Deflated, RLE Lossless, JPEG Baseline, Extended and
//!   Lossless, JPEG 2000 lossless and lossy); every other syntax is refused by name
//!   ([`Error::UnsupportedTransferSyntax`]) before parsing. Samples per Pixel 1 (MONOCHROME1
//!   or MONOCHROME2; the photometric interpretation changes display, not HU), HU = stored ×
//!   Rescale Slope + Rescale Intercept (dicom-pixeldata's modality LUT; defaults 1 and 0).
//!   Number of Frames > 1 gives a 3D `[frames, rows, columns]` grid, else a 2D slice.
//!   Pixel Spacing (row spacing → y, column spacing → x) from the dataset or an enhanced
//!   object's shared Pixel Measures; z from Spacing Between Slices, else Slice Thickness,
//!   else 1 mm. Missing or empty optional attributes are not errors.
//! * **Identity and geometry** ([`Header`]): the UIDs, patient and study attributes and the
//!   slice's position and orientation, kept so that what explainme writes back (an SR, a
//!   Parametric Map) refers to the source and lands in its frame of reference.
//! * **Series** ([`series`]): slices grouped by Series Instance UID, ordered along the slice
//!   normal, into one volume.
//! * **Write** ([`encode`]): a minimal CT Image Storage object in Explicit or Implicit VR
//!   Little Endian (signed 16-bit pixels, rescale 1/0; HU rounded, must fit int16, NaN
//!   refused); 3D grids as multi-frame pixel data. The SOP Instance UID is derived from the
//!   content, so equal images give byte-identical files.
//!
//! Before dicom-rs sees a file, a structural pass (`guard.rs`) proves its declared lengths fit
//! the bytes present (dicom-parser would otherwise allocate what a header claims); the decoded
//! voxel count is checked against [`crate::MAX_VOXELS`] and the memory budget before pixel
//! data is decoded.

mod codestream;
mod guard;
pub mod series;
mod syntax;

use std::panic::AssertUnwindSafe;

use dicom_core::header::HasLength;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::mem::InMemElement;
use dicom_object::{DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder, PixelRepresentation};

pub use series::{Series, SeriesFiles, assemble, read_dir, read_files, scan_dir};
pub use syntax::TransferSyntax;

use super::{Codec, Format};
use crate::sample;
use crate::{Error, Grid, Image, MemoryBudget, Result, Shape, Spacing};

const FORMAT: Format = Format::Dicom;
const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Implementation Class UID of files this crate writes (a fixed UUID-derived `2.25` UID).
const IMPLEMENTATION_UID: &str = "2.25.302052826370446432447185963779123520329";

/// The DICOM row of the registry.
pub struct DicomCodec;

impl Codec for DicomCodec {
    fn format(&self) -> Format {
        FORMAT
    }
    fn name(&self) -> &'static str {
        "DICOM"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &[".dcm", ".dicom"]
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.get(guard::PREAMBLE..guard::PREAMBLE + 4) == Some(b"DICM")
    }
    fn decode_image(&self, bytes: &[u8], budget: &MemoryBudget) -> Result<Image> {
        decode(bytes, budget)
    }
    fn encode_image(&self, image: &Image) -> Result<Vec<u8>> {
        encode(image, TransferSyntax::ExplicitVrLittleEndian)
    }
}

/// Who the patient is, as the source wrote it (empty when absent). Never logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patient {
    pub name: String,
    pub id: String,
    pub birth_date: String,
    pub sex: String,
}

/// The study an instance belongs to, as the source wrote it (empty when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Study {
    pub instance_uid: String,
    pub date: String,
    pub time: String,
    pub id: String,
    pub accession_number: String,
    pub referring_physician_name: String,
    pub description: String,
}

/// What explainme keeps of a DICOM instance besides its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub modality: String,
    pub series_number: String,
    pub series_description: String,
    pub body_part_examined: String,
    pub instance_number: Option<i64>,
    pub patient: Patient,
    pub study: Study,
    /// Image Position (Patient): the centre of the first voxel, in mm.
    pub position: Option<[f64; 3]>,
    /// Image Orientation (Patient): row then column direction cosines.
    pub orientation: Option<[f64; 6]>,
    pub transfer_syntax: TransferSyntax,
}

/// One decoded instance: its pixels in HU and its header.
#[derive(Debug, Clone)]
pub struct Instance {
    pub header: Header,
    pub image: Image,
}

/// Decodes a DICOM Part 10 file to an image in HU, allocating no more than `budget` allows.
pub fn decode(bytes: &[u8], budget: &MemoryBudget) -> Result<Image> {
    decode_instance(bytes, budget).map(|instance| instance.image)
}

/// Decodes a DICOM Part 10 file to its image and header.
pub fn decode_instance(bytes: &[u8], budget: &MemoryBudget) -> Result<Instance> {
    let object = open(bytes, budget)?;
    let header = header(&object)?;
    let image = pixels(&object, budget)?;
    Ok(Instance { header, image })
}

/// Parses a file (after [`guard::check`]) without decoding its pixel data.
fn open(bytes: &[u8], budget: &MemoryBudget) -> Result<DefaultDicomObject> {
    guard::check(bytes, budget)?;
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .from_reader(bytes)
        .map_err(|e| corrupt(chain(&e)))
}

/// Reads the header of a file, skipping its pixel data: for grouping a folder into series.
pub fn decode_header(bytes: &[u8], budget: &MemoryBudget) -> Result<(Header, bool)> {
    let object = open(bytes, budget)?;
    let has_pixels = object.get(tags::PIXEL_DATA).is_some();
    Ok((header(&object)?, has_pixels))
}

fn header(object: &DefaultDicomObject) -> Result<Header> {
    let transfer_syntax = TransferSyntax::from_uid(object.meta().transfer_syntax())?;
    let position = match numbers(object, tags::IMAGE_POSITION_PATIENT, "Image Position")? {
        None => None,
        Some(v) => Some(
            <[f64; 3]>::try_from(v.as_slice())
                .map_err(|_| corrupt(format!("Image Position (Patient) has {} values", v.len())))?,
        ),
    };
    let orientation = match numbers(object, tags::IMAGE_ORIENTATION_PATIENT, "Orientation")? {
        None => None,
        Some(v) => Some(<[f64; 6]>::try_from(v.as_slice()).map_err(|_| {
            corrupt(format!(
                "Image Orientation (Patient) has {} values",
                v.len()
            ))
        })?),
    };
    let instance_number = number(object, tags::INSTANCE_NUMBER, "Instance Number")?
        .filter(|n| n.fract() == 0.0 && n.abs() < 1e15)
        .map(|n| n as i64);
    Ok(Header {
        sop_class_uid: text(object, tags::SOP_CLASS_UID),
        sop_instance_uid: text(object, tags::SOP_INSTANCE_UID),
        series_instance_uid: text(object, tags::SERIES_INSTANCE_UID),
        frame_of_reference_uid: text(object, tags::FRAME_OF_REFERENCE_UID),
        modality: text(object, tags::MODALITY),
        series_number: text(object, tags::SERIES_NUMBER),
        series_description: text(object, tags::SERIES_DESCRIPTION),
        body_part_examined: text(object, tags::BODY_PART_EXAMINED),
        instance_number,
        patient: Patient {
            name: text(object, tags::PATIENT_NAME),
            id: text(object, tags::PATIENT_ID),
            birth_date: text(object, tags::PATIENT_BIRTH_DATE),
            sex: text(object, tags::PATIENT_SEX),
        },
        study: Study {
            instance_uid: text(object, tags::STUDY_INSTANCE_UID),
            date: text(object, tags::STUDY_DATE),
            time: text(object, tags::STUDY_TIME),
            id: text(object, tags::STUDY_ID),
            accession_number: text(object, tags::ACCESSION_NUMBER),
            referring_physician_name: text(object, tags::REFERRING_PHYSICIAN_NAME),
            description: text(object, tags::STUDY_DESCRIPTION),
        },
        position,
        orientation,
        transfer_syntax,
    })
}

fn pixels(object: &DefaultDicomObject, budget: &MemoryBudget) -> Result<Image> {
    if object.get(tags::PIXEL_DATA).is_none() {
        return Err(corrupt("no Pixel Data (7FE0,0010)".into()));
    }
    let samples = us(object, tags::SAMPLES_PER_PIXEL, "Samples per Pixel")?.unwrap_or(1);
    if samples != 1 {
        return Err(unsupported(format!("{samples} samples per pixel (colour)")));
    }
    let photometric = text(object, tags::PHOTOMETRIC_INTERPRETATION);
    if !matches!(photometric.as_str(), "" | "MONOCHROME1" | "MONOCHROME2") {
        return Err(unsupported(format!(
            "photometric interpretation {photometric}"
        )));
    }
    let required = |v: Option<u16>, name: &str| v.ok_or_else(|| corrupt(format!("missing {name}")));
    let rows = required(us(object, tags::ROWS, "Rows")?, "Rows")?;
    let columns = required(us(object, tags::COLUMNS, "Columns")?, "Columns")?;
    let allocated = required(
        us(object, tags::BITS_ALLOCATED, "Bits Allocated")?,
        "Bits Allocated",
    )?;
    if !matches!(allocated, 8 | 16 | 32) {
        return Err(unsupported(format!(
            "{allocated} bits allocated (read: 8, 16, 32)"
        )));
    }
    let stored = us(object, tags::BITS_STORED, "Bits Stored")?.unwrap_or(allocated);
    let syntax = TransferSyntax::from_uid(object.meta().transfer_syntax())?;
    if matches!(
        syntax,
        TransferSyntax::JpegBaseline | TransferSyntax::JpegExtended
    ) && stored > 8
    {
        return Err(unsupported(format!(
            "{stored}-bit JPEG ({}); the pure-Rust JPEG decoder reads 8-bit lossy JPEG only \
             (lossless JPEG and JPEG 2000 of any depth are read)",
            syntax.name()
        )));
    }
    if syntax == TransferSyntax::RleLossless && allocated == 32 {
        return Err(unsupported(
            "32-bit RLE; the RLE decoder reads 8 and 16 bits allocated (uncompressed 32-bit \
             samples are read)"
                .into(),
        ));
    }
    let frames = match number(object, tags::NUMBER_OF_FRAMES, "Number of Frames")? {
        None => 1,
        Some(f) if f >= 1.0 && f.fract() == 0.0 && f <= f64::from(u32::MAX) => f as u32,
        Some(f) => return Err(corrupt(format!("Number of Frames {f}"))),
    };
    let count = sample::claimed_count(
        &[u128::from(frames), u128::from(rows), u128::from(columns)],
        FORMAT,
    )?;
    // Decoding holds the native samples (compressed syntaxes: a decoded copy) and the f32
    // voxels at once.
    sample::within_budget(count, u64::from(allocated / 8) + 4, FORMAT, budget)?;
    // Native pixel data must hold every sample the header announces (dicom-pixeldata would
    // otherwise convert a short buffer before noticing).
    if let Some(pixel_data) = object.get(tags::PIXEL_DATA)
        && pixel_data.value().primitive().is_some()
    {
        let needed = count as u64 * u64::from(allocated / 8);
        let available = u64::from(pixel_data.length().get().unwrap_or(0));
        if available < needed {
            return Err(Error::Truncated {
                format: FORMAT,
                needed,
                available,
            });
        }
    }
    // The JPEG and JPEG 2000 decoders allocate what each codestream's own frame header says.
    if let Some(fragments) = object
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().fragments())
    {
        for fragment in fragments {
            if let Some(frame) = codestream::frame_header(syntax, fragment)?
                && (frame.columns, frame.rows, frame.components)
                    != (u32::from(columns), u32::from(rows), 1)
            {
                return Err(corrupt(format!(
                    "pixel data: a {} frame of {}×{} with {} components, the header says                      {columns}×{rows} with 1",
                    syntax.name(),
                    frame.columns,
                    frame.rows,
                    frame.components
                )));
            }
        }
    }
    // The decoders are third-party code fed hostile bytes: a panic in one is this file's
    // error, not the caller's crash.
    let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let decoded = object
            .decode_pixel_data()
            .map_err(|e| corrupt(format!("pixel data: {}", chain(&e))))?;
        if decoded.number_of_frames() != frames
            || decoded.rows() != u32::from(rows)
            || decoded.columns() != u32::from(columns)
        {
            return Err(corrupt(format!(
                "pixel data decodes to {}×{}×{}, the header says {frames}×{rows}×{columns}",
                decoded.number_of_frames(),
                decoded.rows(),
                decoded.columns()
            )));
        }
        // Stored values, rescaled below with the slope and intercept read (and checked) here.
        if allocated == 32 {
            // dicom-pixeldata converts 8 and 16 bits only; 32-bit samples (dose grids,
            // some PET) are read from the native little-endian bytes.
            let signed = decoded.pixel_representation() == PixelRepresentation::Signed;
            return Ok(decoded
                .data()
                .chunks_exact(4)
                .map(|b| {
                    let b = [b[0], b[1], b[2], b[3]];
                    if signed {
                        f64::from(i32::from_le_bytes(b))
                    } else {
                        f64::from(u32::from_le_bytes(b))
                    }
                })
                .collect());
        }
        decoded
            .to_vec_with_options::<f64>(
                &ConvertOptions::new().with_modality_lut(ModalityLutOption::None),
            )
            .map_err(|e| corrupt(format!("pixel data: {}", chain(&e))))
    }))
    .map_err(|_| corrupt("the pixel data decoder failed on this file".into()))??;
    if decoded.len() != count {
        return Err(corrupt(format!(
            "pixel data holds {} samples, the header says {count}",
            decoded.len()
        )));
    }
    let slope = number(object, tags::RESCALE_SLOPE, "Rescale Slope")?.unwrap_or(1.0);
    let intercept = number(object, tags::RESCALE_INTERCEPT, "Rescale Intercept")?.unwrap_or(0.0);
    let decoded: Vec<f32> = decoded
        .into_iter()
        .map(|v| (v * slope + intercept) as f32)
        .collect();
    let (rows, columns) = (usize::from(rows), usize::from(columns));
    let shape = if frames > 1 {
        Shape::d3(frames as usize, rows, columns)
    } else {
        Shape::d2(rows, columns)
    };
    let (y, x) = pixel_spacing(object)?;
    let z = number(
        object,
        tags::SPACING_BETWEEN_SLICES,
        "Spacing Between Slices",
    )?
    .or(number(object, tags::SLICE_THICKNESS, "Slice Thickness")?)
    .unwrap_or(1.0);
    let mm = |v: f64| sample::sane_spacing(v as f32);
    let image = Grid::new(shape, decoded)?.with_spacing(Spacing::new(mm(z), mm(y), mm(x)));
    sample::finite(image, FORMAT)
}

/// Pixel Spacing from the dataset, else from an enhanced object's shared Pixel Measures.
fn pixel_spacing(object: &DefaultDicomObject) -> Result<(f64, f64)> {
    let top = numbers(object, tags::PIXEL_SPACING, "Pixel Spacing")?;
    let shared = || -> Option<Vec<f64>> {
        let groups = object
            .get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)?
            .items()?;
        let measures = groups
            .first()?
            .get(tags::PIXEL_MEASURES_SEQUENCE)?
            .items()?;
        let spacing = measures.first()?.get(tags::PIXEL_SPACING)?;
        spacing.to_multi_float64().ok()
    };
    match top.or_else(shared).as_deref() {
        None => Ok((1.0, 1.0)),
        Some(&[row, column]) => Ok((row, column)),
        Some(other) => Err(corrupt(format!("Pixel Spacing has {} values", other.len()))),
    }
}

/// A text attribute, trimmed; empty when absent, empty or not text.
fn text(object: &InMemDicomObject, tag: Tag) -> String {
    object
        .get(tag)
        .and_then(element_text)
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' ').to_owned())
        .unwrap_or_default()
}

/// An element's value as text. Some converters (gdcmconv among them) write known attributes
/// with VR UN, whose value dicom-rs keeps as bytes: those are the text of the real VR.
fn element_text(element: &InMemElement) -> Option<String> {
    if element.vr() == VR::UN {
        let bytes = element.to_bytes().ok()?;
        return Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    element.to_str().ok().map(|s| s.into_owned())
}

/// A numeric attribute (DS, IS, or a binary VR), possibly multi-valued; `None` when absent
/// or empty, an error when present but not numbers. A UN-encoded value is read as the
/// text of its real (DS or IS) VR.
fn numbers(object: &InMemDicomObject, tag: Tag, name: &str) -> Result<Option<Vec<f64>>> {
    let Some(element) = object.get(tag) else {
        return Ok(None);
    };
    if element.is_empty() {
        return Ok(None);
    }
    let values = if element.vr() == VR::UN {
        let text = element_text(element).unwrap_or_default();
        text.trim_matches(|c: char| c == '\0' || c == ' ')
            .split('\\')
            .map(|v| v.trim().parse::<f64>())
            .collect::<std::result::Result<Vec<f64>, _>>()
            .map_err(|e| corrupt(format!("{name}: {e}")))?
    } else {
        if element.to_str().is_ok_and(|s| s.trim().is_empty()) {
            return Ok(None);
        }
        element
            .to_multi_float64()
            .map_err(|e| corrupt(format!("{name}: {e}")))?
    };
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(corrupt(format!("{name} is {bad}")));
    }
    Ok(Some(values))
}

fn number(object: &InMemDicomObject, tag: Tag, name: &str) -> Result<Option<f64>> {
    Ok(numbers(object, tag, name)?.and_then(|v| v.first().copied()))
}

/// An unsigned short; a UN-encoded one is its 2 little-endian bytes.
fn us(object: &InMemDicomObject, tag: Tag, name: &str) -> Result<Option<u16>> {
    if let Some(element) = object.get(tag)
        && element.vr() == VR::UN
    {
        let bytes = element.to_bytes().unwrap_or_default();
        return match bytes.as_ref() {
            [] => Ok(None),
            [a, b] => Ok(Some(u16::from_le_bytes([*a, *b]))),
            other => Err(corrupt(format!("{name} has {} bytes", other.len()))),
        };
    }
    match number(object, tag, name)? {
        None => Ok(None),
        Some(v) if (0.0..=65535.0).contains(&v) && v.fract() == 0.0 => Ok(Some(v as u16)),
        Some(v) => Err(corrupt(format!("{name} is {v}"))),
    }
}

/// Encodes an image as a minimal CT DICOM file (see the module docs for what it contains).
pub fn encode(image: &Image, syntax: TransferSyntax) -> Result<Vec<u8>> {
    encode_object(image, None, syntax)
}

/// Encodes an instance: its image as [`encode`] does, with its header's identity (UIDs,
/// patient, study, series) and geometry (position, orientation), so that a folder of such
/// files reads back ([`read_dir`]) as the series they came from. Empty header values are
/// written as empty Type 2 attributes or left out.
pub fn encode_instance(instance: &Instance, syntax: TransferSyntax) -> Result<Vec<u8>> {
    encode_object(&instance.image, Some(&instance.header), syntax)
}

fn encode_object(
    image: &Image,
    header: Option<&Header>,
    syntax: TransferSyntax,
) -> Result<Vec<u8>> {
    if !matches!(
        syntax,
        TransferSyntax::ExplicitVrLittleEndian | TransferSyntax::ImplicitVrLittleEndian
    ) {
        return Err(unsupported(format!(
            "writing {} (written: Explicit and Implicit VR Little Endian)",
            syntax.name()
        )));
    }
    let [nz, ny, nx] = image.shape().zyx();
    let extent =
        |n: usize| u16::try_from(n).map_err(|_| unsupported(format!("extent {n} exceeds 65535")));
    let (rows, columns) = (extent(ny)?, extent(nx)?);
    let mut bytes = Vec::with_capacity(image.voxels().len() * 2);
    sample::push_i16_le(&mut bytes, image.voxels(), FORMAT)?;
    let pixels: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    let instance = match header.map(|h| h.sop_instance_uid.as_str()) {
        Some(uid) if !uid.is_empty() => uid.to_owned(),
        _ => format!("2.25.{}", fnv1a(&bytes, image.shape().as_slice())),
    };
    let spacing = image.spacing();
    let put = |object: &mut InMemDicomObject, tag: Tag, vr: VR, value: PrimitiveValue| {
        object.put(DataElement::new(tag, vr, value));
    };
    let mut d = InMemDicomObject::new_empty();
    let class = match header.map(|h| h.sop_class_uid.as_str()) {
        Some(class) if !class.is_empty() => class,
        _ => CT_IMAGE_STORAGE,
    };
    put(&mut d, tags::SOP_CLASS_UID, VR::UI, class.into());
    put(
        &mut d,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        instance.as_str().into(),
    );
    put(&mut d, tags::MODALITY, VR::CS, "CT".into());
    put(
        &mut d,
        tags::SLICE_THICKNESS,
        VR::DS,
        decimal(spacing.z).as_str().into(),
    );
    if image.dims() == 3 {
        put(
            &mut d,
            tags::SPACING_BETWEEN_SLICES,
            VR::DS,
            decimal(spacing.z).as_str().into(),
        );
        put(
            &mut d,
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            nz.to_string().into(),
        );
    }
    put(
        &mut d,
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1u16),
    );
    put(
        &mut d,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2".into(),
    );
    put(&mut d, tags::ROWS, VR::US, PrimitiveValue::from(rows));
    put(&mut d, tags::COLUMNS, VR::US, PrimitiveValue::from(columns));
    let in_plane = format!("{}\\{}", decimal(spacing.y), decimal(spacing.x));
    put(&mut d, tags::PIXEL_SPACING, VR::DS, in_plane.into());
    put(
        &mut d,
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(16u16),
    );
    put(
        &mut d,
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(16u16),
    );
    put(&mut d, tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16));
    put(
        &mut d,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(1u16),
    );
    put(&mut d, tags::RESCALE_INTERCEPT, VR::DS, "0".into());
    put(&mut d, tags::RESCALE_SLOPE, VR::DS, "1".into());
    put(
        &mut d,
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels.into()),
    );
    if let Some(h) = header {
        let texts = [
            (tags::SERIES_INSTANCE_UID, VR::UI, &h.series_instance_uid),
            (
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                &h.frame_of_reference_uid,
            ),
            (tags::SERIES_NUMBER, VR::IS, &h.series_number),
            (tags::SERIES_DESCRIPTION, VR::LO, &h.series_description),
            (tags::BODY_PART_EXAMINED, VR::CS, &h.body_part_examined),
            (tags::PATIENT_NAME, VR::PN, &h.patient.name),
            (tags::PATIENT_ID, VR::LO, &h.patient.id),
            (tags::PATIENT_BIRTH_DATE, VR::DA, &h.patient.birth_date),
            (tags::PATIENT_SEX, VR::CS, &h.patient.sex),
            (tags::STUDY_INSTANCE_UID, VR::UI, &h.study.instance_uid),
            (tags::STUDY_DATE, VR::DA, &h.study.date),
            (tags::STUDY_TIME, VR::TM, &h.study.time),
            (tags::STUDY_ID, VR::SH, &h.study.id),
            (tags::ACCESSION_NUMBER, VR::SH, &h.study.accession_number),
            (
                tags::REFERRING_PHYSICIAN_NAME,
                VR::PN,
                &h.study.referring_physician_name,
            ),
            (tags::STUDY_DESCRIPTION, VR::LO, &h.study.description),
        ];
        for (tag, vr, value) in texts {
            put(&mut d, tag, vr, value.as_str().into());
        }
        if !h.modality.is_empty() {
            put(&mut d, tags::MODALITY, VR::CS, h.modality.as_str().into());
        }
        if let Some(n) = h.instance_number {
            put(
                &mut d,
                tags::INSTANCE_NUMBER,
                VR::IS,
                n.to_string().as_str().into(),
            );
        }
        let decimals = |v: &[f64]| {
            v.iter()
                .map(|x| decimal(*x as f32))
                .collect::<Vec<_>>()
                .join("\\")
        };
        if let Some(p) = h.position {
            let value = decimals(&p);
            put(
                &mut d,
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                value.as_str().into(),
            );
        }
        if let Some(o) = h.orientation {
            let value = decimals(&o);
            put(
                &mut d,
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                value.as_str().into(),
            );
        }
    }
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(syntax.uid())
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(instance.as_str())
        .implementation_class_uid(IMPLEMENTATION_UID);
    let file = d
        .with_meta(meta)
        .map_err(|e| corrupt(format!("file meta: {e}")))?;
    let mut out = Vec::new();
    file.write_all(&mut out)
        .map_err(|e| corrupt(format!("writing: {e}")))?;
    Ok(out)
}

/// A DS value: the shortest exact decimal, in exponent form if that is shorter than the
/// 16-character limit requires.
fn decimal(v: f32) -> String {
    let plain = v.to_string();
    if plain.len() <= 16 {
        plain
    } else {
        format!("{v:e}")
    }
}

/// FNV-1a over the pixel bytes and the shape: a stable, content-derived UID component.
fn fnv1a(pixels: &[u8], shape: &[usize]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let shape_bytes = shape.iter().flat_map(|n| (*n as u64).to_le_bytes());
    for b in pixels.iter().copied().chain(shape_bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// An error and its causes, `outer: inner: innermost` (dicom-rs errors say little at the top).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn corrupt(detail: String) -> Error {
    Error::Corrupt {
        format: FORMAT,
        detail,
    }
}

fn unsupported(detail: String) -> Error {
    Error::Unsupported {
        format: FORMAT,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_values_fit_16_characters() {
        assert_eq!(decimal(0.75), "0.75");
        assert_eq!(decimal(2.5), "2.5");
        assert!(decimal(1.234_567_9e-7).len() <= 16);
        assert_eq!(
            decimal(1.234_567_9e-7).parse::<f32>().unwrap(),
            1.234_567_9e-7
        );
    }
}
