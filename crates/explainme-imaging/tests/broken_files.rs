//! Broken external bytes give a typed `Err`, never a panic: every truncated prefix of a valid
//! file, seeded random garbage (with and without a valid signature), random header
//! mutations, and targeted header corruptions (huge sizes, unsupported types).

mod common;

use common::{Rng, ct_image, disc_mask};
use explainme_imaging::codec::{dicom, nifti};
use explainme_imaging::{
    Error, Format, Shape, decode_image, decode_mask, encode_image, encode_mask,
};

/// Valid files of every format: (format, bytes, is it a mask file).
fn valid_files() -> Vec<(Format, Vec<u8>, bool)> {
    let mut files = Vec::new();
    for format in Format::all() {
        let shapes: &[Shape] = if format == Format::Png {
            &[Shape::d2(9, 7)]
        } else {
            &[Shape::d2(9, 7), Shape::d3(3, 5, 4)]
        };
        for &shape in shapes {
            let image = ct_image(shape, 11);
            files.push((format, encode_image(&image, format).unwrap(), false));
            files.push((
                format,
                encode_mask(&disc_mask(shape), format).unwrap(),
                true,
            ));
        }
    }
    let implicit = dicom::encode(
        &ct_image(Shape::d2(6, 5), 12),
        dicom::TransferSyntax::ImplicitVrLittleEndian,
    )
    .unwrap();
    files.push((Format::Dicom, implicit, false));
    let int16 = nifti::encode(
        &ct_image(Shape::d3(2, 4, 4), 13),
        nifti::Datatype::Int16,
        true,
    );
    files.push((Format::NiftiGz, int16.unwrap(), false));
    files
}

fn decode(format: Format, bytes: &[u8], mask: bool) -> Result<(), Error> {
    if mask {
        decode_mask(bytes, Some(format)).map(drop)
    } else {
        decode_image(bytes, Some(format)).map(drop)
    }
}

#[test]
fn every_truncated_prefix_is_an_error() {
    let mut checked = 0;
    for (format, bytes, mask) in valid_files() {
        decode(format, &bytes, mask).unwrap();
        for len in 0..bytes.len() {
            let result = decode(format, &bytes[..len], mask);
            assert!(
                result.is_err(),
                "{format:?} (mask: {mask}) accepted a prefix of {len}/{} bytes",
                bytes.len()
            );
            checked += 1;
        }
    }
    assert!(checked > 5_000, "only {checked} prefixes checked");
}

#[test]
fn random_garbage_is_an_error_with_or_without_a_valid_signature() {
    let mut rng = Rng::new(0xBAD5EED);
    let signatures: Vec<Vec<u8>> = valid_files()
        .into_iter()
        .map(|(_, bytes, _)| bytes[..bytes.len().min(132)].to_vec())
        .collect();
    for round in 0..3000 {
        let len = rng.below(2048);
        let mut garbage = rng.bytes(len);
        if round % 2 == 1 {
            // Keep a real signature/header start so decoders get past their magic check.
            let sig = &signatures[rng.below(signatures.len())];
            let keep = rng.below(sig.len() + 1);
            garbage.splice(0..0, sig[..keep].iter().copied());
        }
        for format in Format::all() {
            for mask in [false, true] {
                assert!(
                    decode(format, &garbage, mask).is_err(),
                    "{format:?} accepted garbage round {round}"
                );
            }
        }
        // Sniffing must not panic either.
        let _ = decode_image(&garbage, None);
    }
}

#[test]
fn mutated_headers_never_panic() {
    let mut rng = Rng::new(42);
    let mut errors = 0;
    let mut total = 0;
    for (format, bytes, mask) in valid_files() {
        // The header region (and for gzip, the compressed stream's start).
        let span = bytes.len().min(400);
        for _ in 0..400 {
            let mut broken = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(span);
                broken[at] = match rng.below(4) {
                    0 => 0,
                    1 => 0xFF,
                    2 => broken[at] ^ (1 << rng.below(8)),
                    _ => rng.next_u64() as u8,
                };
            }
            // Either outcome is legitimate (a changed description byte still decodes);
            // what matters is returning at all.
            total += 1;
            errors += usize::from(decode(format, &broken, mask).is_err());
        }
    }
    assert!(errors > total / 4, "{errors}/{total} mutations rejected");
}

#[test]
fn spliced_files_never_panic() {
    // Whole-file damage: a random range deleted, duplicated or overwritten with garbage,
    // anywhere (pixel data, sequences, gzip stream, PNG chunks).
    let mut rng = Rng::new(7);
    let mut rejected = 0;
    let mut total = 0;
    for (format, bytes, mask) in valid_files() {
        for _ in 0..300 {
            let a = rng.below(bytes.len());
            let b = (a + 1 + rng.below(64)).min(bytes.len());
            let mut broken = bytes.clone();
            match rng.below(3) {
                0 => {
                    broken.drain(a..b);
                }
                1 => {
                    let copy = bytes[a..b].to_vec();
                    broken.splice(a..a, copy);
                }
                _ => {
                    let junk = rng.bytes(b - a);
                    broken.splice(a..b, junk);
                }
            }
            total += 1;
            rejected += usize::from(decode(format, &broken, mask).is_err());
        }
    }
    // Deletions and insertions change lengths, which every format notices; overwrites of
    // pixel values in uncompressed formats are legitimately undetectable.
    assert!(rejected > total / 2, "{rejected}/{total} splices rejected");
}

fn set(bytes: &mut [u8], at: usize, value: &[u8]) {
    bytes[at..at + value.len()].copy_from_slice(value);
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn npy_header_corruptions_are_typed() {
    let good = encode_image(&ct_image(Shape::d2(4, 4), 1), Format::Npy).unwrap();
    let with_header = |from: &str, to: &str| {
        let mut b = good.clone();
        let at = find(&b, from.as_bytes());
        b.splice(at..at + from.len(), to.bytes());
        b
    };
    let mut claim = good.clone();
    let at = find(&claim, b"(4, 4)");
    set(&mut claim, at, b"(9, 9)");
    assert!(matches!(
        decode_image(&claim, None),
        Err(Error::Truncated { .. })
    ));
    for (from, to) in [("'<f4'", "'<c8'"), ("False", "True ")] {
        assert!(matches!(
            decode_image(&with_header(from, to), None),
            Err(Error::Unsupported {
                format: Format::Npy,
                ..
            })
        ));
    }
    let mut version = good.clone();
    version[6] = 9;
    assert!(matches!(
        decode_image(&version, None),
        Err(Error::Unsupported { .. })
    ));
    let mut long = good.clone();
    set(&mut long, 8, &u16::MAX.to_le_bytes());
    assert!(matches!(
        decode_image(&long, None),
        Err(Error::Truncated { .. })
    ));
    let mut extra = good.clone();
    extra.extend_from_slice(&[0; 4]);
    assert!(matches!(
        decode_image(&extra, None),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn huge_npy_shape_is_refused_before_allocating() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    assert!(matches!(
        decode_image(&bytes, None),
        Err(Error::TooLarge { format: Format::Npy, claimed, .. }) if claimed == 1u128 << 48
    ));
}

fn nifti_with(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = encode_image(&ct_image(Shape::d3(2, 3, 4), 2), Format::Nifti).unwrap();
    edit(&mut b);
    b
}

#[test]
fn nifti_header_corruptions_are_typed() {
    let huge = nifti_with(|b| {
        for k in 1..4 {
            set(b, 40 + 2 * k, &32767i16.to_le_bytes());
        }
    });
    assert!(matches!(
        decode_image(&huge, Some(Format::Nifti)),
        Err(Error::TooLarge {
            format: Format::Nifti,
            ..
        })
    ));
    let rgb = nifti_with(|b| set(b, 70, &128i16.to_le_bytes()));
    assert!(matches!(
        decode_image(&rgb, None),
        Err(Error::Unsupported { .. })
    ));
    let far = nifti_with(|b| set(b, 108, &4096.0f32.to_le_bytes()));
    assert!(matches!(
        decode_image(&far, None),
        Err(Error::Truncated { .. })
    ));
    let gigabyte_offset = nifti_with(|b| set(b, 108, &1.0e9f32.to_le_bytes()));
    assert!(matches!(
        decode_image(&gigabyte_offset, None),
        Err(Error::Unsupported { .. })
    ));
    let nan_offset = nifti_with(|b| set(b, 108, &f32::NAN.to_le_bytes()));
    assert!(matches!(
        decode_image(&nan_offset, None),
        Err(Error::Corrupt { .. })
    ));
    let rank = nifti_with(|b| set(b, 40, &9i16.to_le_bytes()));
    assert!(matches!(
        decode_image(&rank, None),
        Err(Error::Corrupt { .. })
    ));
    let negative = nifti_with(|b| set(b, 44, &(-3i16).to_le_bytes()));
    assert!(matches!(
        decode_image(&negative, None),
        Err(Error::Corrupt { .. })
    ));
    let series = nifti_with(|b| {
        set(b, 40, &4i16.to_le_bytes());
        set(b, 48, &5i16.to_le_bytes());
    });
    assert!(matches!(
        decode_image(&series, None),
        Err(Error::Unsupported { .. })
    ));
    let sizeof = nifti_with(|b| set(b, 0, &349i32.to_le_bytes()));
    assert!(matches!(
        decode_image(&sizeof, Some(Format::Nifti)),
        Err(Error::WrongMagic { .. })
    ));
    let nifti2 = nifti_with(|b| set(b, 0, &540i32.to_le_bytes()));
    assert!(matches!(
        decode_image(&nifti2, Some(Format::Nifti)),
        Err(Error::Unsupported { .. })
    ));
    let pair = nifti_with(|b| set(b, 344, b"ni1\0"));
    assert!(matches!(
        decode_image(&pair, None),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn nifti_gz_claiming_a_huge_volume_fails_without_inflating_it() {
    // Header claims 400×400×400 float32 (256 MB, within the default budget with its f32
    // copy) but carries 96 bytes.
    let plain = nifti_with(|b| {
        for k in 1..4 {
            set(b, 40 + 2 * k, &400i16.to_le_bytes());
        }
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &plain).unwrap();
    let gz = gz.finish().unwrap();
    assert!(matches!(
        decode_image(&gz, None),
        Err(Error::Truncated {
            format: Format::NiftiGz,
            ..
        })
    ));
}

fn dicom_with(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = encode_image(&ct_image(Shape::d2(4, 5), 3), Format::Dicom).unwrap();
    edit(&mut b);
    b
}

/// Offset of the value of a short-VR explicit element (tag + VR + 2-byte length).
fn value_of(b: &[u8], group: u16, element: u16, vr: &[u8; 2]) -> usize {
    let mut needle = group.to_le_bytes().to_vec();
    needle.extend_from_slice(&element.to_le_bytes());
    needle.extend_from_slice(vr);
    find(b, &needle) + 8
}

#[test]
fn dicom_refuses_big_endian_by_name() {
    // JPEG-LS, 12-bit JPEG and 32-bit RLE are refused on real files in tests/fixtures.rs.
    let uid = "1.2.840.10008.1.2.2";
    let b = dicom_with(|b| {
        let at = find(b, b"1.2.840.10008.1.2.1\0");
        set(b, at, uid.as_bytes());
    });
    match decode_image(&b, None) {
        Err(Error::UnsupportedTransferSyntax { uid: found, name }) => {
            assert_eq!(
                (found.as_str(), name),
                (uid, "Explicit VR Big Endian (retired)")
            );
        }
        other => panic!("{uid}: {other:?}"),
    }
}

#[test]
fn dicom_header_corruptions_are_typed() {
    let huge = dicom_with(|b| {
        let rows = value_of(b, 0x0028, 0x0010, b"US");
        set(b, rows, &u16::MAX.to_le_bytes());
        let cols = value_of(b, 0x0028, 0x0011, b"US");
        set(b, cols, &u16::MAX.to_le_bytes());
    });
    // 65535² = 4.3e9 voxels > MAX_VOXELS.
    assert!(matches!(
        decode_image(&huge, None),
        Err(Error::TooLarge {
            format: Format::Dicom,
            ..
        })
    ));
    let more_rows = dicom_with(|b| {
        let rows = value_of(b, 0x0028, 0x0010, b"US");
        set(b, rows, &40u16.to_le_bytes());
    });
    assert!(matches!(
        decode_image(&more_rows, None),
        Err(Error::Truncated { .. })
    ));
    let bits = dicom_with(|b| {
        let at = value_of(b, 0x0028, 0x0100, b"US");
        set(b, at, &12u16.to_le_bytes());
    });
    assert!(matches!(
        decode_image(&bits, None),
        Err(Error::Unsupported { .. })
    ));
    let colour = dicom_with(|b| {
        let at = value_of(b, 0x0028, 0x0002, b"US");
        set(b, at, &3u16.to_le_bytes());
    });
    assert!(matches!(
        decode_image(&colour, None),
        Err(Error::Unsupported { .. })
    ));
    let slope = dicom_with(|b| {
        let at = value_of(b, 0x0028, 0x1053, b"DS");
        set(b, at, b"x ");
    });
    assert!(matches!(
        decode_image(&slope, None),
        Err(Error::Corrupt { .. })
    ));
    let long_pixels = dicom_with(|b| {
        let at = find(b, &[0xE0, 0x7F, 0x10, 0x00, b'O', b'W']) + 8;
        set(b, at, &0xFFFF_FFF0u32.to_le_bytes());
    });
    assert!(matches!(
        decode_image(&long_pixels, None),
        Err(Error::Truncated { .. })
    ));
    let encapsulated = dicom_with(|b| {
        let at = find(b, &[0xE0, 0x7F, 0x10, 0x00, b'O', b'W']) + 8;
        set(b, at, &u32::MAX.to_le_bytes());
    });
    // Native OW pixel data of undefined length is read as fragments, which these are not.
    assert!(matches!(
        decode_image(&encapsulated, None),
        Err(Error::Corrupt { .. } | Error::Truncated { .. })
    ));
    let no_magic = dicom_with(|b| set(b, 128, b"DICN"));
    assert!(matches!(
        decode_image(&no_magic, Some(Format::Dicom)),
        Err(Error::WrongMagic { .. })
    ));
}

#[test]
fn deeply_nested_dicom_sequences_are_refused_not_recursed_forever() {
    // A valid file with an undefined-length sequence nested 10,000 deep spliced in before
    // the pixel module: each level is SQ (undefined) → item (undefined) → SQ ...
    let mut b = dicom_with(|_| {});
    let at = find(&b, &[0x08, 0x00, 0x60, 0x00, b'C', b'S']);
    let mut nest = Vec::new();
    for _ in 0..10_000 {
        nest.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0]);
        nest.extend_from_slice(&u32::MAX.to_le_bytes());
        nest.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        nest.extend_from_slice(&u32::MAX.to_le_bytes());
    }
    b.splice(at..at, nest);
    assert!(matches!(decode_image(&b, None), Err(Error::Corrupt { .. })));
}

#[test]
fn dicom_sequences_are_skipped() {
    // One defined-length and one undefined-length sequence with nested items, spliced in
    // before Modality: the image must still decode exactly.
    let image = ct_image(Shape::d2(4, 5), 3);
    let mut b = encode_image(&image, Format::Dicom).unwrap();
    let at = find(&b, &[0x08, 0x00, 0x60, 0x00, b'C', b'S']);
    let mut seq = Vec::new();
    // (0008,1115) SQ, undefined length; item of undefined length holding a short element
    // and a nested defined-length sequence; then item and sequence delimiters.
    seq.extend_from_slice(&[
        0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    seq.extend_from_slice(&[
        0x08, 0x00, 0x50, 0x11, b'U', b'I', 4, 0, b'1', b'.', b'2', 0,
    ]);
    seq.extend_from_slice(&[0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0, 18, 0, 0, 0]);
    seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 10, 0, 0, 0]);
    seq.extend_from_slice(&[0x28, 0x00, 0x10, 0x00, b'U', b'S', 2, 0, 0xFF, 0x7F]);
    seq.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    seq.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    b.splice(at..at, seq);
    assert_eq!(decode_image(&b, None).unwrap(), image);
}
