//! NumPy `.npy` arrays: the raw tensors models consume and Python tools exchange.
//!
//! Reads format versions 1, 2 and 3 with dtypes `f4 f8 i1 i2 i4 u1 u2 u4 b1` in either byte
//! order, C order only (`fortran_order: True` is refused, not transposed), any rank; every
//! value becomes `f32`. Writes version 1, `<f4` (tensors and images) or `|u1` (masks, 0/1).
//! The header dictionary is parsed by a small strict parser; the data must be exactly as long
//! as the shape says. An `.npy` carries no spacing: images decode with 1 mm spacing.

use std::path::Path;

use super::{Codec, Format};
use crate::sample::{self, Endian, Sample};
use crate::{Error, Image, Mask, MemoryBudget, Result, Tensor};

const MAGIC: &[u8] = b"\x93NUMPY";
const FORMAT: Format = Format::Npy;

/// The `.npy` row of the registry.
pub struct NpyCodec;

impl Codec for NpyCodec {
    fn format(&self) -> Format {
        FORMAT
    }
    fn name(&self) -> &'static str {
        "NumPy .npy"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &[".npy"]
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(MAGIC)
    }
    fn decode_image(&self, bytes: &[u8], budget: &MemoryBudget) -> Result<Image> {
        Image::try_from(decode_tensor_within(bytes, budget)?)
    }
    fn encode_image(&self, image: &Image) -> Result<Vec<u8>> {
        let mut out = header("<f4", image.shape().as_slice());
        sample::push_f32_le(&mut out, image.voxels());
        Ok(out)
    }
    fn encode_mask(&self, mask: &Mask) -> Result<Vec<u8>> {
        let mut out = header("|u1", mask.shape().as_slice());
        out.extend(mask.voxels().iter().map(|&m| u8::from(m)));
        Ok(out)
    }
}

/// Decodes an `.npy` array of any rank and supported dtype to `f32`, within the default
/// [`MemoryBudget`]. NaN and infinite values are refused ([`Error::NonFiniteVoxel`]).
pub fn decode_tensor(bytes: &[u8]) -> Result<Tensor> {
    decode_tensor_within(bytes, &MemoryBudget::default())
}

/// [`decode_tensor`] under an explicit budget.
pub fn decode_tensor_within(bytes: &[u8], budget: &MemoryBudget) -> Result<Tensor> {
    if !bytes.starts_with(MAGIC) {
        return Err(wrong_magic(bytes));
    }
    let (header_len, header_start) = match bytes.get(6..12) {
        Some([1, _, a, b, ..]) => (usize::from(u16::from_le_bytes([*a, *b])), 10),
        Some([2 | 3, _, a, b, c, d]) => (u32::from_le_bytes([*a, *b, *c, *d]) as usize, 12),
        Some([major, ..]) => {
            return Err(Error::Unsupported {
                format: FORMAT,
                detail: format!("format version {major}"),
            });
        }
        _ => return Err(truncated(12, bytes.len())),
    };
    let data_start = header_start + header_len;
    let text = bytes
        .get(header_start..data_start)
        .ok_or_else(|| truncated(data_start as u64, bytes.len()))?;
    let text = std::str::from_utf8(text).map_err(|_| corrupt("header is not UTF-8".into()))?;
    let header = Header::parse(text)?;
    // The stored bytes are already in memory; decoding allocates the f32 values.
    let count = sample::claimed_count(&header.shape, FORMAT)?;
    sample::within_budget(count, 4, FORMAT, budget)?;
    let data = &bytes[data_start..];
    let values = header.sample.decode(data, count, header.endian, FORMAT)?;
    if data.len() != count * header.sample.size() {
        return Err(corrupt(format!(
            "{} bytes of data after the header, shape needs {}",
            data.len(),
            count * header.sample.size()
        )));
    }
    sample::all_finite(&values, FORMAT)?;
    // Each extent is at most MAX_VOXELS here, so the casts are exact.
    Tensor::new(header.shape.iter().map(|&n| n as usize).collect(), values)
}

/// Encodes a tensor as a version 1 `.npy` of `<f4`.
pub fn encode_tensor(tensor: &Tensor) -> Vec<u8> {
    let mut out = header("<f4", &tensor.shape);
    sample::push_f32_le(&mut out, &tensor.data);
    out
}

/// Reads an `.npy` file as a tensor (e.g. a model input `[1, 64, 64, 1]`) within the default
/// [`MemoryBudget`].
pub fn read_tensor(path: impl AsRef<Path>) -> Result<Tensor> {
    read_tensor_within(path, &MemoryBudget::default())
}

/// [`read_tensor`] under an explicit budget.
pub fn read_tensor_within(path: impl AsRef<Path>, budget: &MemoryBudget) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    decode_tensor_within(&bytes, budget)
}

/// Writes a tensor as an `.npy` file of `<f4`.
pub fn write_tensor(path: impl AsRef<Path>, tensor: &Tensor) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, encode_tensor(tensor)).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// Magic, version 1.0, and the header dictionary padded with spaces and a newline so the
/// data starts on a 64-byte boundary, as NumPy does.
fn header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = MAGIC.len() + 4 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // Headers we write are a few dozen bytes, far below u16::MAX.
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

struct Header {
    sample: Sample,
    endian: Endian,
    shape: Vec<u128>,
}

impl Header {
    fn parse(text: &str) -> Result<Header> {
        let mut p = Cursor {
            s: text.as_bytes(),
            i: 0,
        };
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        p.expect(b'{')?;
        loop {
            if p.eat(b'}') {
                break;
            }
            let key = p.string()?;
            p.expect(b':')?;
            match key.as_str() {
                "descr" => descr = Some(p.string()?),
                "fortran_order" => fortran = Some(p.boolean()?),
                "shape" => shape = Some(p.tuple()?),
                other => return Err(corrupt(format!("unexpected header key '{other}'"))),
            }
            if !p.eat(b',') {
                p.expect(b'}')?;
                break;
            }
        }
        let missing = |k: &str| corrupt(format!("header lacks '{k}'"));
        let descr = descr.ok_or_else(|| missing("descr"))?;
        if fortran.ok_or_else(|| missing("fortran_order"))? {
            return Err(Error::Unsupported {
                format: FORMAT,
                detail: "fortran_order: True (only C-order arrays are read)".into(),
            });
        }
        let (sample, endian) = dtype(&descr)?;
        Ok(Header {
            sample,
            endian,
            shape: shape.ok_or_else(|| missing("shape"))?,
        })
    }
}

/// `'<f4'` → (F32, little). `|` (not applicable) and `=` (native) are read as little endian.
fn dtype(descr: &str) -> Result<(Sample, Endian)> {
    let unsupported = || Error::Unsupported {
        format: FORMAT,
        detail: format!("dtype '{descr}' (read: f4 f8 i1 i2 i4 u1 u2 u4 b1)"),
    };
    let mut chars = descr.chars();
    let endian = match chars.next() {
        Some('<' | '|' | '=') => Endian::Little,
        Some('>') => Endian::Big,
        _ => return Err(unsupported()),
    };
    let sample = match chars.as_str() {
        "f4" => Sample::F32,
        "f8" => Sample::F64,
        "i1" => Sample::I8,
        "i2" => Sample::I16,
        "i4" => Sample::I32,
        "u1" | "b1" => Sample::U8,
        "u2" => Sample::U16,
        "u4" => Sample::U32,
        _ => return Err(unsupported()),
    };
    Ok((sample, endian))
}

/// A strict reader for the Python-literal subset NumPy headers use.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        let hit = self.s.get(self.i) == Some(&c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(corrupt(format!(
                "header: expected '{}' at byte {}",
                char::from(c),
                self.i
            )))
        }
    }

    fn string(&mut self) -> Result<String> {
        self.skip_space();
        let quote = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(corrupt(format!(
                    "header: expected a string at byte {}",
                    self.i
                )));
            }
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote)
            .ok_or_else(|| corrupt("header: unterminated string".into()))?;
        self.i = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    fn boolean(&mut self) -> Result<bool> {
        self.skip_space();
        for (word, value) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(value);
            }
        }
        Err(corrupt("header: expected True or False".into()))
    }

    /// `()`, `(3,)`, `(3, 4)`; extents saturate at `u128::MAX` (then refused as too large).
    fn tuple(&mut self) -> Result<Vec<u128>> {
        self.expect(b'(')?;
        let mut out = Vec::new();
        loop {
            if self.eat(b')') {
                return Ok(out);
            }
            self.skip_space();
            let start = self.i;
            let mut n: u128 = 0;
            while let Some(d) = self.s.get(self.i).filter(|c| c.is_ascii_digit()) {
                n = n.saturating_mul(10).saturating_add(u128::from(d - b'0'));
                self.i += 1;
            }
            if self.i == start {
                return Err(corrupt(
                    match self.s.get(self.i) {
                        Some(b'-') => "header: shape holds a negative extent (NumPy writes none)",
                        _ => "header: shape holds a non-integer",
                    }
                    .into(),
                ));
            }
            if out.len() == 32 {
                return Err(corrupt("header: shape has more than 32 axes".into()));
            }
            out.push(n);
            if !self.eat(b',') {
                self.expect(b')')?;
                return Ok(out);
            }
        }
    }
}

fn corrupt(detail: String) -> Error {
    Error::Corrupt {
        format: FORMAT,
        detail,
    }
}

fn truncated(needed: u64, available: usize) -> Error {
    Error::Truncated {
        format: FORMAT,
        needed,
        available: available as u64,
    }
}

fn wrong_magic(bytes: &[u8]) -> Error {
    Error::WrongMagic {
        format: FORMAT,
        detail: format!("starts with {:02x?}", &bytes[..bytes.len().min(6)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_padded_to_64_bytes_like_numpy() {
        let h = header("<f4", &[2, 3]);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(h.last(), Some(&b'\n'));
        let text = std::str::from_utf8(&h[10..]).unwrap();
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert_eq!(
            std::str::from_utf8(&header("|u1", &[5])[10..])
                .unwrap()
                .trim_end(),
            "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }"
        );
    }

    #[test]
    fn header_parser_reads_numpy_variants() {
        let h = Header::parse("{\"shape\": (4,), \"descr\": \">i2\", \"fortran_order\": False}")
            .unwrap();
        assert_eq!(
            (h.sample, h.endian, h.shape),
            (Sample::I16, Endian::Big, vec![4])
        );
        let scalar =
            Header::parse("{'descr': '<f8', 'fortran_order': False, 'shape': (), }").unwrap();
        assert!(scalar.shape.is_empty());
    }
}
