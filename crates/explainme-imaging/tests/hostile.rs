//! Regressions from a hostile run (issue 8): files that decoded to non-finite voxels, and
//! small files whose headers made a decoder allocate or inflate gigabytes. Each test fails
//! on the code before the fix.

mod common;

use std::io::Write;
use std::path::Path;

use common::{ct_image, float_image};
use explainme_imaging::codec::{nifti, npy};
use explainme_imaging::{
    Error, Format, MemoryBudget, Shape, Tensor, decode_image, decode_image_within,
    decode_mask_within, encode_image,
};

fn set(bytes: &mut [u8], at: usize, value: &[u8]) {
    bytes[at..at + value.len()].copy_from_slice(value);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn npy_and_nifti_with_nan_voxels_are_refused_naming_the_first() {
    let mut image = float_image(Shape::d3(3, 4, 5), 7);
    image.voxels_mut()[17] = f32::NAN;
    for format in [Format::Npy, Format::Nifti, Format::NiftiGz] {
        let bytes = encode_image(&image, format).unwrap();
        match decode_image(&bytes, None) {
            Err(Error::NonFiniteVoxel {
                index: 17, value, ..
            }) => assert!(value.is_nan()),
            other => panic!("{format}: {other:?}"),
        }
    }
    let tensor = Tensor::new(vec![1, 2, 2, 1], vec![0.0, f32::INFINITY, 0.0, 0.0]).unwrap();
    assert!(matches!(
        npy::decode_tensor(&npy::encode_tensor(&tensor)),
        Err(Error::NonFiniteVoxel { index: 1, .. })
    ));
}

#[test]
fn nifti_scale_slope_overflowing_to_infinity_is_refused() {
    // int16 voxels × scl_slope 1e38 = ±∞ for every voxel but zero.
    let mut bytes = nifti::encode(
        &ct_image(Shape::d3(2, 3, 3), 3),
        nifti::Datatype::Int16,
        false,
    )
    .unwrap();
    set(&mut bytes, 112, &1e38f32.to_le_bytes());
    let err = decode_image(&bytes, Some(Format::Nifti)).unwrap_err();
    assert!(matches!(err, Error::NonFiniteVoxel { .. }), "{err:?}");
    assert!(err.to_string().contains("non-finite voxel (inf"), "{err}");
}

/// A 16-bit grayscale PNG whose header claims `side × side` pixels, followed by the first
/// compressed rows only: what the decoder sees before it allocates (a real 16384² PNG of
/// zeros is about 520 KB; encoding one in a debug test takes many seconds).
fn png_claiming(side: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[16, 0, 0, 0, 0]); // 16-bit grayscale, deflate, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&vec![0u8; (side as usize * 2 + 1) * 4])
        .unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn a_png_at_the_voxel_limit_is_refused_by_the_budget_before_decoding() {
    // 16384² = 2^28 pixels: 512 MiB of 16-bit pixels plus 1 GiB of f32 before the fix.
    let out = png_claiming(16384);
    let err = decode_image(&out, None).unwrap_err();
    assert!(matches!(err, Error::OverBudget(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "decoding a PNG image of 268435456 pixels would need 1.5 GiB, over the memory budget of 1 GiB"
    );
    // Masks count one byte per pixel for their grid: 512 MiB + 256 MiB, over 700 MiB.
    let budget = MemoryBudget::new(700 << 20);
    assert!(matches!(
        decode_mask_within(&out, Some(Format::Png), &budget),
        Err(Error::OverBudget(_))
    ));
}

#[test]
fn every_codec_honours_an_explicit_budget() {
    let image = ct_image(Shape::d3(4, 8, 8), 5); // 256 voxels: 1 KiB of f32
    for format in Format::all() {
        let shape = if format == Format::Png {
            Shape::d2(16, 16)
        } else {
            image.shape()
        };
        let image = ct_image(shape, 5);
        let bytes = encode_image(&image, format).unwrap();
        assert!(decode_image_within(&bytes, Some(format), &MemoryBudget::new(1 << 20)).is_ok());
        match decode_image_within(&bytes, Some(format), &MemoryBudget::new(1000)) {
            Err(Error::OverBudget(e)) => assert_eq!(e.limit(), 1000, "{format}"),
            other => panic!("{format}: {other:?}"),
        }
    }
}

#[test]
fn nifti_gz_with_a_4_gb_vox_offset_is_refused_without_inflating_it() {
    let mut plain = nifti::encode(
        &ct_image(Shape::d3(2, 3, 3), 3),
        nifti::Datatype::Int16,
        false,
    )
    .unwrap();
    set(&mut plain, 108, &4.0e9f32.to_le_bytes());
    // 64 MiB of zeros after the header (a real attack would carry 4 GB; 64 MiB keeps the test
    // fast and is already past any extension we skip).
    plain.resize(plain.len() + (64 << 20), 0);
    let gz = gzip(&plain);
    let err = decode_image(&gz, Some(Format::NiftiGz)).unwrap_err();
    assert!(
        err.to_string()
            .contains("more than 16 MiB of header extensions"),
        "{err}"
    );
}

#[test]
fn nifti_extensions_before_the_voxels_are_skipped_not_kept() {
    let image = ct_image(Shape::d3(2, 3, 3), 9);
    let mut plain = nifti::encode(&image, nifti::Datatype::Int16, false).unwrap();
    // Move the voxels 1 KiB further: a header extension the decoder must skip.
    let voxels = plain.split_off(352);
    plain.resize(352 + 1024, 0);
    plain.extend_from_slice(&voxels);
    set(&mut plain, 108, &(352.0f32 + 1024.0).to_le_bytes());
    for bytes in [plain.clone(), gzip(&plain)] {
        assert_eq!(decode_image(&bytes, None).unwrap(), image);
    }
}

#[test]
fn a_negative_npy_extent_is_called_negative() {
    let mut bytes = npy::encode_tensor(&Tensor::new(vec![4, 4], vec![0.0; 16]).unwrap());
    let at = bytes.windows(6).position(|w| w == b"(4, 4)").unwrap();
    set(&mut bytes, at, b"(-1,4)");
    let err = npy::decode_tensor(&bytes).unwrap_err();
    assert!(err.to_string().contains("negative extent"), "{err}");
}

/// A file `fuzz/run.sh` found, kept under `tests/fixtures/fuzz/`.
fn fuzz_fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Found by `fuzz/run.sh` (target `images`): an RLE Lossless file whose segment runs past its
/// end makes dicom-transfer-syntax-registry 0.10.1's decoder index out of bounds
/// (`rle_lossless.rs:119`). The panic is caught around the third-party decoder and the file
/// is refused as corrupt.
#[test]
fn an_rle_segment_running_past_its_end_is_corrupt_not_a_panic() {
    let bytes = fuzz_fixture("rle_segment_overrun.dcm");
    let error =
        decode_image_within(&bytes, Some(Format::Dicom), &MemoryBudget::default()).unwrap_err();
    assert!(matches!(error, Error::Corrupt { .. }), "{error:?}");
    assert!(decode_mask_within(&bytes, Some(Format::Dicom), &MemoryBudget::default()).is_err());
}

/// Found by `fuzz/run.sh` (target `images`, 4.2 GB peak under a 64 MiB budget): an element
/// claiming 4 GiB inside an item of defined length inside a sequence of defined length. The
/// structural pass skipped such items whole; dicom-parser reads their elements and zero-fills
/// each one's claimed length. The pass now walks into sequences of defined length (the
/// dictionary says which Implicit VR tags are sequences) and refuses the claim.
#[test]
fn a_length_claimed_inside_a_defined_length_sequence_is_truncation() {
    let bytes = fuzz_fixture("nested_length_4gib.dcm");
    match decode_image_within(&bytes, Some(Format::Dicom), &MemoryBudget::new(64 << 20)) {
        Err(Error::Truncated { needed, .. }) => assert!(needed > 4_000_000_000, "{needed}"),
        other => panic!("{other:?}"),
    }
}

/// Found by `fuzz/run.sh` (target `images`, 789 MB peak under a 64 MiB budget, from a
/// 1.7 KB file): SOP Class UID re-typed `UL` with 26 bytes. dicom-parser reads six values
/// and advances by 26, so it reads the rest of the file out of step with the structural pass
/// and takes pixel bytes for a 775 MB length. Binary values whose length is no multiple of
/// their width are now refused by the pass.
#[test]
fn a_binary_value_of_a_ragged_length_is_refused_before_parsing() {
    let bytes = fuzz_fixture("ul_of_26_bytes.dcm");
    let error =
        decode_image_within(&bytes, Some(Format::Dicom), &MemoryBudget::new(64 << 20)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("(0008,0016) holds 26 bytes, not a whole number of 4-byte values"),
        "{error}"
    );
}

/// Found by `fuzz/run.sh` (target `images`, 1.27 GB peak under a 64 MiB budget, from a 6 KB
/// file): a JPEG 2000 frame whose codestream (SIZ) declares a larger image than the DICOM
/// header's Rows and Columns, which the budget was checked against; openjp2 allocates what
/// the codestream says. Such frames are now refused before decoding.
#[test]
fn a_codestream_larger_than_its_header_is_refused_before_decoding() {
    let bytes = fuzz_fixture("j2k_larger_than_header.dcm");
    let error =
        decode_image_within(&bytes, Some(Format::Dicom), &MemoryBudget::new(64 << 20)).unwrap_err();
    assert!(error.to_string().contains("the header says"), "{error}");
}
