//! The frame size a compressed pixel-data fragment declares for itself, read from its own
//! header before any decoder runs.
//!
//! Why: the JPEG and JPEG 2000 decoders size their buffers by the codestream's frame header
//! (JPEG's SOF, JPEG 2000's SIZ), not by the DICOM Rows and Columns the memory budget was
//! checked against. A fuzzed 6 KB file whose JPEG 2000 codestream claimed a larger image made
//! openjp2 allocate 755 MB under a 64 MiB budget. A frame whose codestream disagrees with the
//! DICOM header is corrupt anyway, so it is refused before decoding.

use crate::{Error, Format, Result};

use super::syntax::TransferSyntax;

/// Width, height and components a codestream declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameHeader {
    pub columns: u32,
    pub rows: u32,
    pub components: u32,
}

/// The frame header of `fragment` when it starts a frame of `syntax` (a JPEG SOI or a
/// JPEG 2000 SOC); `None` for fragments continuing a frame, and for uncompressed or RLE
/// syntaxes (whose decoders size buffers by the DICOM header).
pub(super) fn frame_header(syntax: TransferSyntax, fragment: &[u8]) -> Result<Option<FrameHeader>> {
    match syntax {
        TransferSyntax::JpegBaseline
        | TransferSyntax::JpegExtended
        | TransferSyntax::JpegLossless
        | TransferSyntax::JpegLosslessSv1 => {
            if !fragment.starts_with(&[0xFF, 0xD8]) {
                return Ok(None);
            }
            jpeg(fragment).map(Some)
        }
        TransferSyntax::Jpeg2000Lossless | TransferSyntax::Jpeg2000 => {
            if !fragment.starts_with(&[0xFF, 0x4F]) {
                return Ok(None);
            }
            jpeg2000(fragment).map(Some)
        }
        _ => Ok(None),
    }
}

/// JPEG (ITU T.81): the first SOFn segment after SOI.
fn jpeg(bytes: &[u8]) -> Result<FrameHeader> {
    let mut pos = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if bytes.get(pos) != Some(&0xFF) {
            return Err(corrupt(
                "a JPEG fragment whose markers end before its frame header",
            ));
        }
        let marker = *bytes
            .get(pos + 1)
            .ok_or_else(|| corrupt("a JPEG fragment cut in a marker"))?;
        match marker {
            // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let segment = bytes
                    .get(pos + 4..pos + 10)
                    .ok_or_else(|| corrupt("a JPEG frame header cut short"))?;
                return Ok(FrameHeader {
                    rows: u32::from(u16::from_be_bytes([segment[1], segment[2]])),
                    columns: u32::from(u16::from_be_bytes([segment[3], segment[4]])),
                    components: u32::from(segment[5]),
                });
            }
            0xD9 | 0xDA => {
                return Err(corrupt(
                    "a JPEG fragment with a scan before its frame header",
                ));
            }
            // Markers without a length: TEM, RST0–7.
            0x01 | 0xD0..=0xD7 => pos += 2,
            _ => {
                let length = bytes
                    .get(pos + 2..pos + 4)
                    .ok_or_else(|| corrupt("a JPEG segment cut in its length"))?;
                pos += 2 + usize::from(u16::from_be_bytes([length[0], length[1]]));
            }
        }
    }
}

/// JPEG 2000 (ITU T.800): the SIZ segment that must follow SOC.
fn jpeg2000(bytes: &[u8]) -> Result<FrameHeader> {
    let siz = bytes
        .get(2..42)
        .filter(|s| s.starts_with(&[0xFF, 0x51]))
        .ok_or_else(|| corrupt("a JPEG 2000 codestream without its SIZ segment after SOC"))?;
    let u32_at = |at: usize| u32::from_be_bytes([siz[at], siz[at + 1], siz[at + 2], siz[at + 3]]);
    let (width, height) = (u32_at(6), u32_at(10));
    let (x_offset, y_offset) = (u32_at(14), u32_at(18));
    Ok(FrameHeader {
        columns: width.saturating_sub(x_offset),
        rows: height.saturating_sub(y_offset),
        components: u32::from(u16::from_be_bytes([siz[38], siz[39]])),
    })
}

fn corrupt(detail: &str) -> Error {
    Error::Corrupt {
        format: Format::Dicom,
        detail: format!("pixel data: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_frame_headers_are_found_after_other_segments() {
        // SOI, APP0 (length 4), SOF0: 8-bit, 3 rows, 5 columns, 1 component.
        let bytes = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 8, 0, 3, 0, 5,
            1,
        ];
        let header = frame_header(TransferSyntax::JpegBaseline, &bytes).unwrap();
        assert_eq!(
            header,
            Some(FrameHeader {
                columns: 5,
                rows: 3,
                components: 1
            })
        );
        assert!(frame_header(TransferSyntax::JpegBaseline, &bytes[..12]).is_err());
        // A fragment continuing a frame declares nothing.
        assert_eq!(
            frame_header(TransferSyntax::JpegBaseline, &bytes[2..]).unwrap(),
            None
        );
    }

    #[test]
    fn jpeg2000_sizes_subtract_the_image_offset() {
        let mut bytes = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00];
        for value in [100_u32, 60, 20, 10, 100, 60, 0, 0] {
            bytes.extend_from_slice(&value.to_be_bytes());
        }
        bytes.extend_from_slice(&1_u16.to_be_bytes());
        let header = frame_header(TransferSyntax::Jpeg2000, &bytes).unwrap();
        assert_eq!(
            header,
            Some(FrameHeader {
                columns: 80,
                rows: 50,
                components: 1
            })
        );
        assert!(frame_header(TransferSyntax::Jpeg2000, &bytes[..20]).is_err());
    }
}
