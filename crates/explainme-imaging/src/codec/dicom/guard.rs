//! A structural pass over a DICOM file before dicom-rs parses it.
//!
//! Why: dicom-parser sizes each value buffer by the length its element header declares and
//! fills it with zeros before reading (`try_reserve_exact(len)` then `resize(len, 0)` in
//! `stateful::decode`), so a 200-byte file whose header claims a 4 GiB element makes it touch
//! 4 GiB; and it recurses once per nested sequence, so a file of ten thousand nested
//! sequences could exhaust the stack. This pass walks element headers only (no values are
//! copied) and proves, before anything is allocated, that every declared length fits inside
//! the bytes actually present, that sequences nest at most [`MAX_SEQUENCE_DEPTH`] deep, and
//! that a deflated dataset inflates to no more than the memory budget allows. It also reads
//! the transfer syntax, so unsupported ones are refused by name before parsing.

use std::io::Read;

use dicom_core::VR;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_dictionary_std::StandardDataDictionary;

use crate::{Error, Format, MemoryBudget, Result};

use super::syntax::TransferSyntax;

const FORMAT: Format = Format::Dicom;
pub(super) const PREAMBLE: usize = 128;
const MAX_SEQUENCE_DEPTH: usize = 32;
const UNDEFINED: u32 = 0xFFFF_FFFF;

type Tag = (u16, u16);
const TRANSFER_SYNTAX: Tag = (0x0002, 0x0010);
const ITEM: Tag = (0xFFFE, 0xE000);
const ITEM_END: Tag = (0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = (0xFFFE, 0xE0DD);
const PIXEL_DATA: Tag = (0x7FE0, 0x0010);

/// Checks the file's structure and returns its transfer syntax.
pub(super) fn check(bytes: &[u8], budget: &MemoryBudget) -> Result<TransferSyntax> {
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
    // The file meta group is Explicit VR Little Endian and, as dicom-object reads it, spans
    // the bytes its group length (0002,0000) announces, whatever tags they hold.
    let group_length = reader.header(true)?;
    if group_length.tag != (0x0002, 0x0000) || group_length.len != Some(4) {
        return Err(corrupt(
            "the file meta information does not start with its group length".into(),
        ));
    }
    let meta_len = reader.u32()? as usize;
    let meta_end = reader.pos.saturating_add(meta_len);
    let mut uid = None;
    while reader.pos < meta_end {
        let element = reader.header(true)?;
        let len = element
            .len
            .ok_or_else(|| corrupt("a file meta element of undefined length".into()))?;
        let value = reader.take(len as usize)?;
        if element.tag == TRANSFER_SYNTAX {
            uid = Some(
                String::from_utf8_lossy(value)
                    .trim_matches(|c: char| c == '\0' || c == ' ')
                    .to_owned(),
            );
        }
    }
    let uid =
        uid.ok_or_else(|| corrupt("file meta information lacks a Transfer Syntax UID".into()))?;
    let syntax = TransferSyntax::from_uid(&uid)?;
    let rest = &bytes[reader.pos..];
    if syntax.deflated() {
        let inflated = inflate(rest, budget)?;
        walk(&inflated, true)?;
    } else {
        walk(rest, syntax.explicit())?;
    }
    Ok(syntax)
}

/// Inflates a deflated dataset (raw deflate, PS3.5 A.5), refusing output beyond `budget`.
fn inflate(bytes: &[u8], budget: &MemoryBudget) -> Result<Vec<u8>> {
    let limit = budget.limit();
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| corrupt(format!("deflated dataset: {e}")))?;
    budget.check("inflating a deflated DICOM dataset", out.len() as u64)?;
    Ok(out)
}

/// Walks a dataset to its end.
fn walk(bytes: &[u8], explicit: bool) -> Result<()> {
    Reader { bytes, pos: 0 }.elements(explicit, 0)
}

/// The VR dicom-parser gives an Implicit VR element: the standard dictionary's, when exact.
fn implicit_vr(tag: Tag) -> Option<VR> {
    match StandardDataDictionary
        .by_tag(dicom_core::Tag(tag.0, tag.1))?
        .vr()
    {
        VirtualVr::Exact(vr) => Some(vr),
        _ => None,
    }
}

/// Bytes per value of the binary VRs. dicom-parser reads `length / width` values of these
/// but advances by the whole length, so a length that is no multiple of the width leaves it
/// reading the following headers out of step with this pass (a fuzzed `UL` of 26 bytes made
/// it take pixel bytes for a 775 MB length).
fn value_width(vr: VR) -> Option<u32> {
    match vr {
        VR::SS | VR::US | VR::OW => Some(2),
        VR::SL | VR::UL | VR::FL | VR::AT | VR::OF | VR::OL => Some(4),
        VR::FD | VR::OD | VR::OV | VR::SV | VR::UV => Some(8),
        _ => None,
    }
}

/// VRs whose explicit encoding has a 16-bit length (PS3.5 table 7.1-2). Every other VR,
/// unknown ones included, has 2 reserved bytes and a 32-bit length: dicom-encoding reads
/// them so, and this pass must split the file where dicom-rs will.
fn short_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

/// One element header: its tag, and the value length (`None` = undefined length).
struct ElementHeader {
    tag: Tag,
    len: Option<u32>,
    /// A sequence: its value is items of elements, each with a length of its own that
    /// dicom-parser trusts as it trusts a top-level one, so they are walked too.
    sequence: bool,
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

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn header(&mut self, explicit: bool) -> Result<ElementHeader> {
        let tag = (self.u16()?, self.u16()?);
        let mut nested_explicit = explicit;
        let known_vr;
        // Item and delimiter tags carry no VR in any transfer syntax.
        let len = if tag.0 == 0xFFFE || !explicit {
            known_vr = (tag.0 != 0xFFFE).then(|| implicit_vr(tag)).flatten();
            self.u32()?
        } else {
            let vr = self.take(2)?;
            let vr = [vr[0], vr[1]];
            nested_explicit = &vr != b"UN";
            known_vr = VR::from_binary(vr);
            if short_vr(vr) {
                u32::from(self.u16()?)
            } else {
                self.take(2)?;
                self.u32()?
            }
        };
        if let Some(width) = known_vr.and_then(value_width)
            && len != UNDEFINED
            && len % width != 0
        {
            return Err(corrupt(format!(
                "({:04X},{:04X}) holds {len} bytes, not a whole number of {width}-byte values",
                tag.0, tag.1
            )));
        }
        Ok(ElementHeader {
            tag,
            len: (len != UNDEFINED).then_some(len),
            sequence: known_vr == Some(VR::SQ),
            nested_explicit,
        })
    }

    /// Walks elements to the end of this reader's bytes (a dataset, or an item of defined
    /// length), at nesting `depth`.
    fn elements(&mut self, explicit: bool, depth: usize) -> Result<()> {
        while !self.at_end() {
            let element = self.header(explicit)?;
            self.value(&element, depth)?;
        }
        Ok(())
    }

    /// Skips `element`'s value, walking into it when it is a sequence.
    fn value(&mut self, element: &ElementHeader, depth: usize) -> Result<()> {
        match element.len {
            Some(len) => {
                let value = self.take(len as usize)?;
                if element.sequence {
                    Reader {
                        bytes: value,
                        pos: 0,
                    }
                    .items(element.nested_explicit, depth + 1)?;
                }
                Ok(())
            }
            None => self.skip_sequence(
                element.nested_explicit,
                depth + 1,
                element.tag == PIXEL_DATA,
            ),
        }
    }

    /// Walks the items of a sequence of defined length (this reader's bytes).
    fn items(&mut self, explicit: bool, depth: usize) -> Result<()> {
        if depth > MAX_SEQUENCE_DEPTH {
            return Err(corrupt(format!(
                "sequences nested deeper than {MAX_SEQUENCE_DEPTH}"
            )));
        }
        while !self.at_end() {
            let item = self.header(explicit)?;
            match (item.tag, item.len) {
                (ITEM, Some(len)) => Reader {
                    bytes: self.take(len as usize)?,
                    pos: 0,
                }
                .elements(explicit, depth)?,
                (ITEM, None) => self.skip_item(explicit, depth)?,
                (tag, _) => {
                    return Err(corrupt(format!(
                        "({:04X},{:04X}) inside a sequence where an item was expected",
                        tag.0, tag.1
                    )));
                }
            }
        }
        Ok(())
    }

    /// Skips a sequence of undefined length, up to and including its delimiter, walking
    /// its items; or encapsulated pixel data (`fragments`), whose items are compressed bytes.
    fn skip_sequence(&mut self, explicit: bool, depth: usize, fragments: bool) -> Result<()> {
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
                    let item = self.take(len as usize)?;
                    if !fragments {
                        Reader {
                            bytes: item,
                            pos: 0,
                        }
                        .elements(explicit, depth)?;
                    }
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
            if element.tag == ITEM_END {
                return Ok(());
            }
            self.value(&element, depth)?;
        }
    }
}

fn corrupt(detail: String) -> Error {
    Error::Corrupt {
        format: FORMAT,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_length(bytes: &mut Vec<u8>, len: usize) {
        bytes.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
        bytes.extend_from_slice(&(len as u32).to_le_bytes());
    }

    /// A file whose only dataset element claims 4 GiB is refused as truncated, before
    /// dicom-parser would allocate the claim.
    #[test]
    fn a_length_beyond_the_file_is_truncation() {
        let mut bytes = vec![0u8; PREAMBLE];
        bytes.extend_from_slice(b"DICM");
        let uid = b"1.2.840.10008.1.2.1\0";
        meta_length(&mut bytes, 8 + uid.len());
        bytes.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        bytes.extend_from_slice(&(uid.len() as u16).to_le_bytes());
        bytes.extend_from_slice(uid);
        bytes.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        bytes.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        bytes.extend_from_slice(&[0; 16]);
        match check(&bytes, &MemoryBudget::default()) {
            Err(Error::Truncated { needed, .. }) => assert!(needed > 0xFFFF_0000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut bytes = vec![0u8; PREAMBLE];
        bytes.extend_from_slice(b"DICM");
        let uid = b"1.2.840.10008.1.2\0";
        meta_length(&mut bytes, 8 + uid.len());
        bytes.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        bytes.extend_from_slice(&(uid.len() as u16).to_le_bytes());
        bytes.extend_from_slice(uid);
        for _ in 0..1000 {
            // (0008,1115) SQ of undefined length holding an item of undefined length.
            bytes.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
            bytes.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let err = check(&bytes, &MemoryBudget::default()).unwrap_err();
        assert!(err.to_string().contains("nested deeper"), "{err}");
    }
}
