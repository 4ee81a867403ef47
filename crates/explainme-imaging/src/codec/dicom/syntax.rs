//! The transfer syntaxes explainme reads, and the names of those it refuses.

use crate::{Error, Result};

/// A transfer syntax this crate reads (all of them) or writes (the two uncompressed ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferSyntax {
    /// `1.2.840.10008.1.2.1`, the default for new files.
    ExplicitVrLittleEndian,
    /// `1.2.840.10008.1.2`, the DICOM default transfer syntax.
    ImplicitVrLittleEndian,
    /// `1.2.840.10008.1.2.1.99`: the dataset after the meta group is raw deflate.
    DeflatedExplicitVrLittleEndian,
    /// `1.2.840.10008.1.2.5`.
    RleLossless,
    /// `1.2.840.10008.1.2.4.50` (8-bit lossy).
    JpegBaseline,
    /// `1.2.840.10008.1.2.4.51` (12-bit lossy).
    JpegExtended,
    /// `1.2.840.10008.1.2.4.57` (process 14).
    JpegLossless,
    /// `1.2.840.10008.1.2.4.70` (process 14, first-order prediction).
    JpegLosslessSv1,
    /// `1.2.840.10008.1.2.4.90`.
    Jpeg2000Lossless,
    /// `1.2.840.10008.1.2.4.91`.
    Jpeg2000,
}

impl TransferSyntax {
    /// Every syntax read, in the order the error message lists them.
    pub const READ: [TransferSyntax; 10] = [
        TransferSyntax::ExplicitVrLittleEndian,
        TransferSyntax::ImplicitVrLittleEndian,
        TransferSyntax::DeflatedExplicitVrLittleEndian,
        TransferSyntax::RleLossless,
        TransferSyntax::JpegBaseline,
        TransferSyntax::JpegExtended,
        TransferSyntax::JpegLossless,
        TransferSyntax::JpegLosslessSv1,
        TransferSyntax::Jpeg2000Lossless,
        TransferSyntax::Jpeg2000,
    ];

    /// The UID.
    pub fn uid(self) -> &'static str {
        match self {
            TransferSyntax::ExplicitVrLittleEndian => "1.2.840.10008.1.2.1",
            TransferSyntax::ImplicitVrLittleEndian => "1.2.840.10008.1.2",
            TransferSyntax::DeflatedExplicitVrLittleEndian => "1.2.840.10008.1.2.1.99",
            TransferSyntax::RleLossless => "1.2.840.10008.1.2.5",
            TransferSyntax::JpegBaseline => "1.2.840.10008.1.2.4.50",
            TransferSyntax::JpegExtended => "1.2.840.10008.1.2.4.51",
            TransferSyntax::JpegLossless => "1.2.840.10008.1.2.4.57",
            TransferSyntax::JpegLosslessSv1 => "1.2.840.10008.1.2.4.70",
            TransferSyntax::Jpeg2000Lossless => "1.2.840.10008.1.2.4.90",
            TransferSyntax::Jpeg2000 => "1.2.840.10008.1.2.4.91",
        }
    }

    /// The standard's name.
    pub fn name(self) -> &'static str {
        match self {
            TransferSyntax::ExplicitVrLittleEndian => "Explicit VR Little Endian",
            TransferSyntax::ImplicitVrLittleEndian => "Implicit VR Little Endian",
            TransferSyntax::DeflatedExplicitVrLittleEndian => "Deflated Explicit VR Little Endian",
            TransferSyntax::RleLossless => "RLE Lossless",
            TransferSyntax::JpegBaseline => "JPEG Baseline (Process 1)",
            TransferSyntax::JpegExtended => "JPEG Extended (Process 2 & 4)",
            TransferSyntax::JpegLossless => "JPEG Lossless (Process 14)",
            TransferSyntax::JpegLosslessSv1 => "JPEG Lossless SV1 (Process 14, selection value 1)",
            TransferSyntax::Jpeg2000Lossless => "JPEG 2000 Lossless",
            TransferSyntax::Jpeg2000 => "JPEG 2000",
        }
    }

    /// Whether the dataset is Explicit VR (all but Implicit VR Little Endian).
    pub(crate) fn explicit(self) -> bool {
        self != TransferSyntax::ImplicitVrLittleEndian
    }

    pub(crate) fn deflated(self) -> bool {
        self == TransferSyntax::DeflatedExplicitVrLittleEndian
    }

    /// The syntax of `uid`, or [`Error::UnsupportedTransferSyntax`] naming it.
    pub fn from_uid(uid: &str) -> Result<TransferSyntax> {
        if let Some(syntax) = Self::READ.into_iter().find(|s| s.uid() == uid) {
            return Ok(syntax);
        }
        let name = match uid {
            "1.2.840.10008.1.2.2" => "Explicit VR Big Endian (retired)",
            "1.2.840.10008.1.2.1.98" => "Encapsulated Uncompressed Explicit VR Little Endian",
            "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => {
                "JPEG-LS (would need the CharLS C++ library)"
            }
            "1.2.840.10008.1.2.4.92" | "1.2.840.10008.1.2.4.93" => {
                "JPEG 2000 Part 2 multi-component"
            }
            "1.2.840.10008.1.2.4.94" | "1.2.840.10008.1.2.4.95" => "JPIP",
            "1.2.840.10008.1.2.4.201" | "1.2.840.10008.1.2.4.202" | "1.2.840.10008.1.2.4.203" => {
                "HTJ2K"
            }
            "1.2.840.10008.1.2.4.110" | "1.2.840.10008.1.2.4.111" | "1.2.840.10008.1.2.4.112" => {
                "JPEG XL"
            }
            u if u.starts_with("1.2.840.10008.1.2.4.10") => "MPEG-2/MPEG-4/HEVC video",
            u if u.starts_with("1.2.840.10008.1.2.4.5")
                || u.starts_with("1.2.840.10008.1.2.4.6") =>
            {
                "a retired JPEG process"
            }
            _ => "unknown",
        };
        Err(Error::UnsupportedTransferSyntax {
            uid: uid.to_owned(),
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_syntax_round_trips_its_uid_and_others_are_named() {
        for s in TransferSyntax::READ {
            assert_eq!(TransferSyntax::from_uid(s.uid()).unwrap(), s);
        }
        let err = TransferSyntax::from_uid("1.2.840.10008.1.2.4.80").unwrap_err();
        assert!(err.to_string().contains("JPEG-LS"), "{err}");
        assert!(err.to_string().contains("JPEG 2000"), "{err}");
    }
}
