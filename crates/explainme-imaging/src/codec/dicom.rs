//! DICOM Part 10 files: a careful hand-written reader of the subset CT slices use, and a
//! minimal writer for tests and exports.
//!
//! Why hand-written: the full `dicom-rs` stack is a large compile on the project's 2 cores
//! for what is, here, a dozen attributes and one uncompressed pixel buffer. The price is
//! scope, stated plainly:
//!
//! * **Read:** the 128-byte preamble and `DICM`, the file meta group (always Explicit VR
//!   Little Endian), then the dataset in **Explicit VR Little Endian**
//!   (`1.2.840.10008.1.2.1`) or **Implicit VR Little Endian** (`1.2.840.10008.1.2`). Every
//!   other transfer syntax is refused with [`Error::UnsupportedTransferSyntax`], naming it:
//!   Explicit VR Big Endian, Deflated, JPEG Baseline/Extended/Lossless, JPEG-LS, JPEG 2000,
//!   HTJ2K, RLE. Sequences (defined or undefined length, nested up to 16 deep) are skipped;
//!   only top-level attributes are read. Encapsulated pixel data is refused.
//! * **Pixels:** Samples per Pixel 1, MONOCHROME1 or MONOCHROME2 (the photometric
//!   interpretation changes display, not HU), Bits Allocated 8 or 16, Bits Stored ≤ Bits
//!   Allocated (high bits masked off, sign-extended when Pixel Representation is 1),
//!   Number of Frames → a 3D `[frames, rows, columns]` grid; a file without Number of
//!   Frames is a 2D slice. HU = stored × Rescale Slope + Rescale Intercept (defaults 1, 0).
//! * **Spacing:** Pixel Spacing (row spacing → y, column spacing → x), z from Spacing Between
//!   Slices, else Slice Thickness, else 1 mm.
//! * **Write:** a minimal CT Image Storage object (meta group, SOP class/instance UIDs,
//!   modality, geometry, rescale 1/0, signed 16-bit pixels); HU are rounded to integers and
//!   must fit int16, NaN is refused. 3D grids are written as multi-frame pixel data in the
//!   same object: readable by this crate and by pydicom, but not a conformant Enhanced CT
//!   object. The SOP Instance UID is derived from the content (`2.25.` + a hash), so equal
//!   images give byte-identical files.
//!
//! Every offset and length read from the file is bounds-checked; running out of bytes is
//! [`Error::Truncated`], an impossible value is [`Error::Corrupt`].

use super::{Codec, Format};
use crate::sample::{self, Endian, Sample};
use crate::{Error, Grid, Image, MemoryBudget, Result, Shape, Spacing};

const FORMAT: Format = Format::Dicom;
const PREAMBLE: usize = 128;
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Implementation Class UID of files this crate writes (a fixed UUID-derived `2.25` UID).
const IMPLEMENTATION_UID: &str = "2.25.302052826370446432447185963779123520329";
const MAX_SEQUENCE_DEPTH: usize = 16;

/// The transfer syntaxes this crate reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferSyntax {
    /// `1.2.840.10008.1.2.1`, the default for new files.
    ExplicitVrLittleEndian,
    /// `1.2.840.10008.1.2`, the DICOM default transfer syntax.
    ImplicitVrLittleEndian,
}

impl TransferSyntax {
    /// The UID.
    pub fn uid(self) -> &'static str {
        match self {
            TransferSyntax::ExplicitVrLittleEndian => EXPLICIT_LE,
            TransferSyntax::ImplicitVrLittleEndian => IMPLICIT_LE,
        }
    }

    fn explicit(self) -> bool {
        self == TransferSyntax::ExplicitVrLittleEndian
    }

    fn from_uid(uid: &str) -> Result<TransferSyntax> {
        let name = match uid {
            EXPLICIT_LE => return Ok(TransferSyntax::ExplicitVrLittleEndian),
            IMPLICIT_LE => return Ok(TransferSyntax::ImplicitVrLittleEndian),
            "1.2.840.10008.1.2.2" => "Explicit VR Big Endian",
            "1.2.840.10008.1.2.1.99" => "Deflated Explicit VR Little Endian",
            "1.2.840.10008.1.2.5" => "RLE Lossless",
            "1.2.840.10008.1.2.4.50" => "JPEG Baseline",
            "1.2.840.10008.1.2.4.51" => "JPEG Extended",
            "1.2.840.10008.1.2.4.57" | "1.2.840.10008.1.2.4.70" => "JPEG Lossless",
            "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => "JPEG-LS",
            "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.91" => "JPEG 2000",
            "1.2.840.10008.1.2.4.201" | "1.2.840.10008.1.2.4.202" | "1.2.840.10008.1.2.4.203" => {
                "HTJ2K"
            }
            _ => "unknown",
        };
        Err(Error::UnsupportedTransferSyntax {
            uid: uid.to_owned(),
            name,
        })
    }
}

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
        head.get(PREAMBLE..PREAMBLE + 4) == Some(b"DICM")
    }
    fn decode_image(&self, bytes: &[u8], budget: &MemoryBudget) -> Result<Image> {
        decode(bytes, budget)
    }
    fn encode_image(&self, image: &Image) -> Result<Vec<u8>> {
        encode(image, TransferSyntax::ExplicitVrLittleEndian)
    }
}

type Tag = (u16, u16);

const TRANSFER_SYNTAX: Tag = (0x0002, 0x0010);
const SAMPLES_PER_PIXEL: Tag = (0x0028, 0x0002);
const PHOTOMETRIC: Tag = (0x0028, 0x0004);
const NUMBER_OF_FRAMES: Tag = (0x0028, 0x0008);
const ROWS: Tag = (0x0028, 0x0010);
const COLUMNS: Tag = (0x0028, 0x0011);
const PIXEL_SPACING: Tag = (0x0028, 0x0030);
const BITS_ALLOCATED: Tag = (0x0028, 0x0100);
const BITS_STORED: Tag = (0x0028, 0x0101);
const PIXEL_REPRESENTATION: Tag = (0x0028, 0x0103);
const RESCALE_INTERCEPT: Tag = (0x0028, 0x1052);
const RESCALE_SLOPE: Tag = (0x0028, 0x1053);
const SLICE_THICKNESS: Tag = (0x0018, 0x0050);
const SPACING_BETWEEN_SLICES: Tag = (0x0018, 0x0088);
const PIXEL_DATA: Tag = (0x7FE0, 0x0010);
const ITEM: Tag = (0xFFFE, 0xE000);
const ITEM_END: Tag = (0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = (0xFFFE, 0xE0DD);
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// The attributes decoding needs, as raw value bytes borrowed from the file.
const WANTED: [Tag; 14] = [
    TRANSFER_SYNTAX,
    SAMPLES_PER_PIXEL,
    PHOTOMETRIC,
    NUMBER_OF_FRAMES,
    ROWS,
    COLUMNS,
    PIXEL_SPACING,
    BITS_ALLOCATED,
    BITS_STORED,
    PIXEL_REPRESENTATION,
    RESCALE_INTERCEPT,
    RESCALE_SLOPE,
    SLICE_THICKNESS,
    SPACING_BETWEEN_SLICES,
];

/// VRs whose explicit encoding has 2 reserved bytes and a 32-bit length.
fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

/// One element header: its tag, and the value length (`None` = undefined length).
struct ElementHeader {
    tag: Tag,
    len: Option<u32>,
    /// Whether nested items are explicit VR: a UN element of undefined length holds
    /// Implicit VR Little Endian content even in an explicit dataset (PS3.5 6.2.2).
    nested_explicit: bool,
}

/// A bounds-checked cursor over the file.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let out = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => Err(Error::Truncated {
                format: FORMAT,
                needed: self.pos as u64 + n as u64,
                available: self.bytes.len() as u64,
            }),
        }
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn peek_tag(&self) -> Option<Tag> {
        let b = self.bytes.get(self.pos..self.pos + 4)?;
        Some((
            u16::from_le_bytes([b[0], b[1]]),
            u16::from_le_bytes([b[2], b[3]]),
        ))
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn header(&mut self, explicit: bool) -> Result<ElementHeader> {
        let tag = (self.u16()?, self.u16()?);
        let mut nested_explicit = explicit;
        // Item and delimiter tags carry no VR in any transfer syntax.
        let len = if tag.0 == 0xFFFE || !explicit {
            self.u32()?
        } else {
            let vr = self.take(2)?;
            let vr = [vr[0], vr[1]];
            nested_explicit = &vr != b"UN";
            if long_vr(vr) {
                self.take(2)?;
                self.u32()?
            } else {
                u32::from(self.u16()?)
            }
        };
        Ok(ElementHeader {
            tag,
            len: (len != UNDEFINED).then_some(len),
            nested_explicit,
        })
    }

    /// Skips a sequence of undefined length, up to and including its delimiter.
    fn skip_sequence(&mut self, explicit: bool, depth: usize) -> Result<()> {
        if depth > MAX_SEQUENCE_DEPTH {
            return Err(corrupt(format!(
                "sequences nested deeper than {MAX_SEQUENCE_DEPTH}"
            )));
        }
        loop {
            let item = self.header(explicit)?;
            match (item.tag, item.len) {
                (SEQUENCE_END, _) => return Ok(()),
                (ITEM, Some(len)) => {
                    self.take(len as usize)?;
                }
                (ITEM, None) => self.skip_item(explicit, depth)?,
                (tag, _) => {
                    return Err(corrupt(format!(
                        "({:04X},{:04X}) inside a sequence where an item was expected",
                        tag.0, tag.1
                    )));
                }
            }
        }
    }

    /// Skips the elements of an item of undefined length, up to its delimiter.
    fn skip_item(&mut self, explicit: bool, depth: usize) -> Result<()> {
        loop {
            let element = self.header(explicit)?;
            match (element.tag, element.len) {
                (ITEM_END, _) => return Ok(()),
                (_, Some(len)) => {
                    self.take(len as usize)?;
                }
                (_, None) => self.skip_sequence(element.nested_explicit, depth + 1)?,
            }
        }
    }
}

/// Top-level attributes found in the file.
#[derive(Default)]
struct Attributes<'a> {
    values: Vec<(Tag, &'a [u8])>,
    pixel_data: Option<&'a [u8]>,
}

impl<'a> Attributes<'a> {
    fn get(&self, tag: Tag) -> Option<&'a [u8]> {
        self.values.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v)
    }

    fn text(&self, tag: Tag) -> Option<&'a str> {
        let raw = self.get(tag)?;
        let text = std::str::from_utf8(raw).ok()?;
        Some(text.trim_matches(|c: char| c == '\0' || c == ' '))
    }

    fn us(&self, tag: Tag, name: &str) -> Result<Option<u16>> {
        match self.get(tag) {
            None => Ok(None),
            Some(&[a, b]) => Ok(Some(u16::from_le_bytes([a, b]))),
            Some(v) => Err(corrupt(format!("{name} has {} bytes, not 2", v.len()))),
        }
    }

    /// A decimal/integer string attribute (DS/IS), possibly multi-valued (`a\b`).
    fn numbers(&self, tag: Tag, name: &str) -> Result<Option<Vec<f64>>> {
        let Some(raw) = self.get(tag) else {
            return Ok(None);
        };
        let bad = || corrupt(format!("{name} is not a number: {raw:02x?}"));
        let text = std::str::from_utf8(raw).map_err(|_| bad())?;
        text.trim_matches(|c: char| c == '\0' || c == ' ')
            .split('\\')
            .map(|v| v.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect::<Option<Vec<f64>>>()
            .map(Some)
            .ok_or_else(bad)
    }

    fn number(&self, tag: Tag, name: &str) -> Result<Option<f64>> {
        Ok(self.numbers(tag, name)?.and_then(|v| v.first().copied()))
    }

    /// Reads elements until the reader ends, or while `group` matches (for the meta group).
    fn collect(&mut self, r: &mut Reader<'a>, explicit: bool, group: Option<u16>) -> Result<()> {
        while !r.at_end() {
            if let (Some(g), Some(tag)) = (group, r.peek_tag())
                && tag.0 != g
            {
                break;
            }
            let element = r.header(explicit)?;
            match element.len {
                Some(len) => {
                    let value = r.take(len as usize)?;
                    if element.tag == PIXEL_DATA {
                        self.pixel_data = Some(value);
                    } else if WANTED.contains(&element.tag) {
                        self.values.push((element.tag, value));
                    }
                }
                None if element.tag == PIXEL_DATA => {
                    return Err(Error::Unsupported {
                        format: FORMAT,
                        detail: "encapsulated (compressed) pixel data".into(),
                    });
                }
                None => r.skip_sequence(element.nested_explicit, 1)?,
            }
        }
        Ok(())
    }
}

/// Decodes a DICOM Part 10 file to an image in HU, allocating no more than `budget` allows.
pub fn decode(bytes: &[u8], budget: &MemoryBudget) -> Result<Image> {
    match bytes.get(PREAMBLE..PREAMBLE + 4) {
        Some(b"DICM") => {}
        Some(other) => {
            return Err(Error::WrongMagic {
                format: FORMAT,
                detail: format!("{other:02x?} at offset 128, not \"DICM\""),
            });
        }
        None => {
            return Err(Error::Truncated {
                format: FORMAT,
                needed: PREAMBLE as u64 + 4,
                available: bytes.len() as u64,
            });
        }
    }
    let mut reader = Reader {
        bytes,
        pos: PREAMBLE + 4,
    };
    let mut attributes = Attributes::default();
    attributes.collect(&mut reader, true, Some(0x0002))?;
    let uid = attributes
        .text(TRANSFER_SYNTAX)
        .ok_or_else(|| corrupt("file meta information lacks a Transfer Syntax UID".into()))?;
    let syntax = TransferSyntax::from_uid(uid)?;
    attributes.collect(&mut reader, syntax.explicit(), None)?;
    pixels(&attributes, budget)
}

fn pixels(a: &Attributes<'_>, budget: &MemoryBudget) -> Result<Image> {
    let required = |v: Option<u16>, name: &str| v.ok_or_else(|| corrupt(format!("missing {name}")));
    let samples = a.us(SAMPLES_PER_PIXEL, "Samples per Pixel")?.unwrap_or(1);
    if samples != 1 {
        return Err(unsupported(format!("{samples} samples per pixel (colour)")));
    }
    if let Some(p) = a.text(PHOTOMETRIC)
        && p != "MONOCHROME1"
        && p != "MONOCHROME2"
    {
        return Err(unsupported(format!("photometric interpretation {p}")));
    }
    let rows = required(a.us(ROWS, "Rows")?, "Rows")?;
    let columns = required(a.us(COLUMNS, "Columns")?, "Columns")?;
    let allocated = required(a.us(BITS_ALLOCATED, "Bits Allocated")?, "Bits Allocated")?;
    let stored = a.us(BITS_STORED, "Bits Stored")?.unwrap_or(allocated);
    let signed = match a
        .us(PIXEL_REPRESENTATION, "Pixel Representation")?
        .unwrap_or(0)
    {
        0 => false,
        1 => true,
        other => return Err(corrupt(format!("Pixel Representation {other}"))),
    };
    let sample = match (allocated, signed) {
        (8, false) => Sample::U8,
        (8, true) => Sample::I8,
        (16, false) => Sample::U16,
        (16, true) => Sample::I16,
        _ => {
            return Err(unsupported(format!(
                "{allocated} bits allocated (read: 8, 16)"
            )));
        }
    };
    if stored == 0 || stored > allocated {
        return Err(corrupt(format!(
            "Bits Stored {stored} with Bits Allocated {allocated}"
        )));
    }
    let frames = match a.number(NUMBER_OF_FRAMES, "Number of Frames")? {
        None => None,
        Some(f) if f >= 1.0 && f.fract() == 0.0 && f <= u32::MAX as f64 => Some(f as u32),
        Some(f) => return Err(corrupt(format!("Number of Frames {f}"))),
    };
    let z = frames.unwrap_or(1);
    let count = sample::claimed_count(
        &[u128::from(z), u128::from(rows), u128::from(columns)],
        FORMAT,
    )?;
    // The pixel data is already in memory; decoding allocates the f32 voxels.
    sample::within_budget(count, 4, FORMAT, budget)?;
    let data = a
        .pixel_data
        .ok_or_else(|| corrupt("no Pixel Data (7FE0,0010)".into()))?;
    let mut values = sample.decode(data, count, Endian::Little, FORMAT)?;
    if stored < allocated {
        for v in &mut values {
            *v = mask_bits(*v, stored, allocated, signed);
        }
    }
    let slope = a.number(RESCALE_SLOPE, "Rescale Slope")?.unwrap_or(1.0);
    let intercept = a
        .number(RESCALE_INTERCEPT, "Rescale Intercept")?
        .unwrap_or(0.0);
    for v in &mut values {
        *v = (f64::from(*v) * slope + intercept) as f32;
    }
    let (rows, columns) = (usize::from(rows), usize::from(columns));
    let shape = match frames {
        None => Shape::d2(rows, columns),
        Some(z) => Shape::d3(z as usize, rows, columns),
    };
    let in_plane = a.numbers(PIXEL_SPACING, "Pixel Spacing")?;
    let (y, x) = match in_plane.as_deref() {
        None => (1.0, 1.0),
        Some(&[row, column]) => (row, column),
        Some(other) => return Err(corrupt(format!("Pixel Spacing has {} values", other.len()))),
    };
    let z = a
        .number(SPACING_BETWEEN_SLICES, "Spacing Between Slices")?
        .or(a.number(SLICE_THICKNESS, "Slice Thickness")?)
        .unwrap_or(1.0);
    let mm = |v: f64| sample::sane_spacing(v as f32);
    Ok(Grid::new(shape, values)?.with_spacing(Spacing::new(mm(z), mm(y), mm(x))))
}

/// Keeps the low `stored` bits of a sample and sign-extends them when `signed`.
fn mask_bits(v: f32, stored: u16, allocated: u16, signed: bool) -> f32 {
    // `v` came from an integer of `allocated` bits; reinterpret its bit pattern.
    let raw = (v as i64) & ((1i64 << allocated) - 1);
    let low = raw & ((1i64 << stored) - 1);
    let value = if signed && low & (1i64 << (stored - 1)) != 0 {
        low - (1i64 << stored)
    } else {
        low
    };
    value as f32
}

/// Encodes an image as a minimal CT DICOM file (see the module docs for what it contains).
pub fn encode(image: &Image, syntax: TransferSyntax) -> Result<Vec<u8>> {
    let [nz, ny, nx] = image.shape().zyx();
    let extent =
        |n: usize| u16::try_from(n).map_err(|_| unsupported(format!("extent {n} exceeds 65535")));
    let (rows, columns) = (extent(ny)?, extent(nx)?);
    let mut pixels = Vec::with_capacity(image.voxels().len() * 2);
    sample::push_i16_le(&mut pixels, image.voxels(), FORMAT)?;
    let instance = format!("2.25.{}", fnv1a(&pixels, image.shape().as_slice()));
    let spacing = image.spacing();

    let mut meta = Writer::new(true);
    meta.element((0x0002, 0x0001), b"OB", &[0, 1]);
    meta.text((0x0002, 0x0002), b"UI", CT_IMAGE_STORAGE);
    meta.text((0x0002, 0x0003), b"UI", &instance);
    meta.text(TRANSFER_SYNTAX, b"UI", syntax.uid());
    meta.text((0x0002, 0x0012), b"UI", IMPLEMENTATION_UID);
    let mut out = vec![0u8; PREAMBLE];
    out.extend_from_slice(b"DICM");
    let mut group_length = Writer::new(true);
    // The meta group is a few hundred bytes.
    group_length.element(
        (0x0002, 0x0000),
        b"UL",
        &(meta.out.len() as u32).to_le_bytes(),
    );
    out.extend_from_slice(&group_length.out);
    out.extend_from_slice(&meta.out);

    let mut d = Writer::new(syntax.explicit());
    d.text((0x0008, 0x0016), b"UI", CT_IMAGE_STORAGE);
    d.text((0x0008, 0x0018), b"UI", &instance);
    d.text((0x0008, 0x0060), b"CS", "CT");
    d.text(SLICE_THICKNESS, b"DS", &decimal(spacing.z));
    if image.dims() == 3 {
        d.text(SPACING_BETWEEN_SLICES, b"DS", &decimal(spacing.z));
    }
    d.us(SAMPLES_PER_PIXEL, 1);
    d.text(PHOTOMETRIC, b"CS", "MONOCHROME2");
    if image.dims() == 3 {
        d.text(NUMBER_OF_FRAMES, b"IS", &nz.to_string());
    }
    d.us(ROWS, rows);
    d.us(COLUMNS, columns);
    d.text(
        PIXEL_SPACING,
        b"DS",
        &format!("{}\\{}", decimal(spacing.y), decimal(spacing.x)),
    );
    d.us(BITS_ALLOCATED, 16);
    d.us(BITS_STORED, 16);
    d.us((0x0028, 0x0102), 15); // High Bit
    d.us(PIXEL_REPRESENTATION, 1);
    d.text(RESCALE_INTERCEPT, b"DS", "0");
    d.text(RESCALE_SLOPE, b"DS", "1");
    d.element(PIXEL_DATA, b"OW", &pixels);
    out.extend_from_slice(&d.out);
    Ok(out)
}

/// Serialises elements in one transfer syntax.
struct Writer {
    explicit: bool,
    out: Vec<u8>,
}

impl Writer {
    fn new(explicit: bool) -> Writer {
        Writer {
            explicit,
            out: Vec::new(),
        }
    }

    /// One element; `value` must have even length (callers pad).
    fn element(&mut self, tag: Tag, vr: &[u8; 2], value: &[u8]) {
        self.out.extend_from_slice(&tag.0.to_le_bytes());
        self.out.extend_from_slice(&tag.1.to_le_bytes());
        // Values are at most 2^28 × 2 bytes (MAX_VOXELS of int16): they fit u32.
        let len = value.len() as u32;
        if !self.explicit {
            self.out.extend_from_slice(&len.to_le_bytes());
        } else if long_vr(*vr) {
            self.out.extend_from_slice(vr);
            self.out.extend_from_slice(&[0, 0]);
            self.out.extend_from_slice(&len.to_le_bytes());
        } else {
            self.out.extend_from_slice(vr);
            // Short-VR values we write are a few dozen bytes.
            self.out.extend_from_slice(&(len as u16).to_le_bytes());
        }
        self.out.extend_from_slice(value);
    }

    /// A text element padded to even length (NUL for UIDs, space otherwise).
    fn text(&mut self, tag: Tag, vr: &[u8; 2], value: &str) {
        let mut bytes = value.as_bytes().to_vec();
        if bytes.len() % 2 == 1 {
            bytes.push(if vr == b"UI" { 0 } else { b' ' });
        }
        self.element(tag, vr, &bytes);
    }

    fn us(&mut self, tag: Tag, value: u16) {
        self.element(tag, b"US", &value.to_le_bytes());
    }
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
    fn bits_stored_are_masked_and_sign_extended() {
        // 12 bits stored in 16: 0x0FFF is −1 when signed, 4095 when not; high junk ignored.
        assert_eq!(mask_bits(f32::from(0xF_FFFu16 as i16), 12, 16, true), -1.0);
        assert_eq!(mask_bits(f32::from(0x0FFFu16), 12, 16, false), 4095.0);
        assert_eq!(mask_bits(f32::from(0xF800u16), 12, 16, false), 2048.0);
        assert_eq!(mask_bits(f32::from(0x0800u16), 12, 16, true), -2048.0);
    }

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
