//! Every codec gives back exactly what it was given, in 2D and (where the format allows) 3D.

mod common;

use common::{ct_image, disc_mask, float_image};
use explainme_imaging::codec::{dicom, nifti, npy, png};
use explainme_imaging::{
    Error, Format, Image, Shape, Spacing, Tensor, decode_image, decode_mask, encode_image,
    encode_mask, read_image, read_mask, write_image, write_mask,
};

fn same_bits(a: &Image, b: &Image) {
    assert_eq!(a.shape(), b.shape());
    assert_eq!(a.spacing(), b.spacing());
    let bits = |i: &Image| i.voxels().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(a), bits(b));
}

#[test]
fn npy_round_trips_float_images_bit_for_bit_in_2d_and_3d() {
    for shape in [Shape::d2(17, 23), Shape::d3(5, 7, 9)] {
        let image = float_image(shape, 1);
        let back = decode_image(&encode_image(&image, Format::Npy).unwrap(), None).unwrap();
        // .npy carries no spacing: it comes back as 1 mm.
        same_bits(&back, &image.clone().with_spacing(Spacing::default()));
    }
}

#[test]
fn npy_tensor_keeps_model_layout() {
    let data: Vec<f32> = (0..64).map(|i| i as f32 * 0.5 - 3.0).collect();
    let tensor = Tensor::new(vec![1, 4, 4, 4], data).unwrap();
    let bytes = npy::encode_tensor(&tensor);
    assert_eq!(npy::decode_tensor(&bytes).unwrap(), tensor);
    // As an image, leading singleton axes are dropped: [1, 4, 4, 4] is a 4×4×4 volume.
    let image = decode_image(&bytes, Some(Format::Npy)).unwrap();
    assert_eq!(image.shape(), Shape::d3(4, 4, 4));
    let flat = Tensor::new(vec![1, 1, 3, 5], vec![0.0; 15]).unwrap();
    let image = decode_image(&npy::encode_tensor(&flat), None).unwrap();
    assert_eq!(image.shape(), Shape::d2(3, 5));
}

#[test]
fn npy_masks_are_stored_as_u1() {
    let mask = disc_mask(Shape::d3(3, 8, 8)).with_spacing(Spacing::default());
    let bytes = encode_mask(&mask, Format::Npy).unwrap();
    assert!(
        std::str::from_utf8(&bytes[10..64])
            .unwrap()
            .contains("'|u1'")
    );
    // The header dict of a 3-axis shape pads to 128 bytes, as NumPy pads it.
    assert_eq!(bytes.len(), 128 + 3 * 8 * 8);
    assert_eq!(decode_mask(&bytes, None).unwrap(), mask);
}

#[test]
fn png_round_trips_integer_hu_and_spacing_exactly() {
    let image = ct_image(Shape::d2(31, 29), 2);
    let bytes = encode_image(&image, Format::Png).unwrap();
    same_bits(&decode_image(&bytes, None).unwrap(), &image);
}

#[test]
fn png_stores_hu_plus_1024_rounded_and_clamped() {
    let cases = [
        (-1000.0, 24),
        (0.0, 1024),
        (3000.0, 4024),
        (-2000.0, 0),
        (70000.0, 65535),
        (12.4, 1036),
        (12.6, 1037),
    ];
    for (hu, stored) in cases {
        assert_eq!(png::stored_value(hu).unwrap(), stored, "{hu} HU");
    }
    let image = Image::new(Shape::d2(1, 3), vec![-2000.0, 12.6, 70000.0]).unwrap();
    let back = decode_image(&encode_image(&image, Format::Png).unwrap(), None).unwrap();
    assert_eq!(back.voxels(), &[-1024.0, 13.0, 64511.0]);
}

#[test]
fn png_refuses_nan_and_3d() {
    let mut image = ct_image(Shape::d2(4, 4), 3);
    image.voxels_mut()[5] = f32::NAN;
    assert!(matches!(
        encode_image(&image, Format::Png),
        Err(Error::NonFinite {
            format: Format::Png,
            ..
        })
    ));
    let volume = ct_image(Shape::d3(2, 4, 4), 3);
    assert!(matches!(
        encode_image(&volume, Format::Png),
        Err(Error::Unsupported {
            format: Format::Png,
            ..
        })
    ));
}

#[test]
fn png_masks_are_8_bit_0_255() {
    let mask = disc_mask(Shape::d2(16, 20));
    let bytes = encode_mask(&mask, Format::Png).unwrap();
    assert_eq!(decode_mask(&bytes, None).unwrap(), mask);
    // An 8-bit grayscale PNG is a mask, not a CT image.
    assert!(matches!(
        decode_image(&bytes, None),
        Err(Error::Unsupported {
            format: Format::Png,
            ..
        })
    ));
}

#[test]
fn files_are_written_and_read_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let image = ct_image(Shape::d2(12, 10), 4);
    let mask = disc_mask(Shape::d2(12, 10));
    for ext in ["png", "npy", "nii", "nii.gz", "dcm"] {
        let path = dir.path().join(format!("case.{ext}"));
        write_image(&path, &image).unwrap();
        let back = read_image(&path).unwrap();
        assert_eq!(back.voxels(), image.voxels(), "{ext}");
        let mpath = dir.path().join(format!("lesion.{ext}"));
        write_mask(&mpath, &mask).unwrap();
        assert_eq!(read_mask(&mpath).unwrap().voxels(), mask.voxels(), "{ext}");
    }
    assert!(matches!(
        write_image(dir.path().join("case.tiff"), &image),
        Err(Error::UnknownFormat(_))
    ));
    assert!(matches!(
        read_image(dir.path().join("missing.png")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn nifti_float32_round_trips_2d_and_3d_bit_for_bit_plain_and_gzipped() {
    for format in [Format::Nifti, Format::NiftiGz] {
        for shape in [Shape::d2(13, 11), Shape::d3(6, 9, 7)] {
            let image = float_image(shape, 5);
            let bytes = encode_image(&image, format).unwrap();
            same_bits(&decode_image(&bytes, None).unwrap(), &image);
        }
    }
}

#[test]
fn nifti_3d_voxel_order_is_x_fastest_with_dim_x_y_z() {
    // A 2×3×4 volume whose voxel value encodes its own (z, y, x).
    let image = Image::from_fn(Shape::d3(2, 3, 4), |z, y, x| (100 * z + 10 * y + x) as f32)
        .unwrap()
        .with_spacing(Spacing::new(3.0, 0.7, 0.6));
    let bytes = encode_image(&image, Format::Nifti).unwrap();
    let dim: Vec<i16> = (0..5)
        .map(|k| i16::from_le_bytes([bytes[40 + 2 * k], bytes[41 + 2 * k]]))
        .collect();
    assert_eq!(dim, [3, 4, 3, 2, 1]);
    let pixdim: Vec<f32> = (1..4)
        .map(|k| f32::from_le_bytes(bytes[76 + 4 * k..80 + 4 * k].try_into().unwrap()))
        .collect();
    assert_eq!(pixdim, [0.6, 0.7, 3.0]);
    let first: Vec<f32> = (0..6)
        .map(|k| f32::from_le_bytes(bytes[352 + 4 * k..356 + 4 * k].try_into().unwrap()))
        .collect();
    assert_eq!(first, [0.0, 1.0, 2.0, 3.0, 10.0, 11.0]);
    let back = decode_image(&bytes, None).unwrap();
    assert_eq!(back.get(1, 2, 3), Some(&123.0));
    assert_eq!(back, image);
}

#[test]
fn nifti_int16_rounds_and_refuses_what_does_not_fit() {
    let image = ct_image(Shape::d3(4, 8, 8), 6);
    for gzip in [false, true] {
        let bytes = nifti::encode(&image, nifti::Datatype::Int16, gzip).unwrap();
        same_bits(&decode_image(&bytes, None).unwrap(), &image);
    }
    let plain = nifti::encode(&image, nifti::Datatype::Int16, false).unwrap();
    assert_eq!(plain.len(), 352 + 2 * 4 * 8 * 8);
    let mut wide = image.clone();
    wide.voxels_mut()[9] = 40000.0;
    assert!(matches!(
        nifti::encode(&wide, nifti::Datatype::Int16, false),
        Err(Error::OutOfRange {
            format: Format::Nifti,
            ..
        })
    ));
    wide.voxels_mut()[9] = f32::NAN;
    assert!(matches!(
        nifti::encode(&wide, nifti::Datatype::Int16, true),
        Err(Error::NonFinite {
            format: Format::NiftiGz,
            ..
        })
    ));
}

#[test]
fn nifti_gz_output_is_deterministic() {
    let image = float_image(Shape::d3(3, 5, 5), 7);
    let a = encode_image(&image, Format::NiftiGz).unwrap();
    let b = encode_image(&image, Format::NiftiGz).unwrap();
    assert_eq!(a, b);
    assert_eq!(&a[4..8], &[0, 0, 0, 0], "gzip MTIME must be zero");
}

#[test]
fn nifti_masks_are_uint8_in_3d() {
    let mask = disc_mask(Shape::d3(4, 10, 12));
    for format in [Format::Nifti, Format::NiftiGz] {
        let bytes = encode_mask(&mask, format).unwrap();
        assert_eq!(decode_mask(&bytes, None).unwrap(), mask);
    }
    let plain = encode_mask(&mask, Format::Nifti).unwrap();
    assert_eq!(
        i16::from_le_bytes([plain[70], plain[71]]),
        2,
        "NIFTI_TYPE_UINT8"
    );
    assert_eq!(plain.len(), 352 + 4 * 10 * 12);
}

#[test]
fn dicom_round_trips_2d_and_3d_in_both_transfer_syntaxes() {
    for syntax in [
        dicom::TransferSyntax::ExplicitVrLittleEndian,
        dicom::TransferSyntax::ImplicitVrLittleEndian,
    ] {
        for shape in [Shape::d2(16, 12), Shape::d3(3, 10, 14)] {
            let image = ct_image(shape, 8);
            let bytes = dicom::encode(&image, syntax).unwrap();
            assert_eq!(&bytes[128..132], b"DICM");
            same_bits(&decode_image(&bytes, None).unwrap(), &image);
        }
    }
}

#[test]
fn dicom_rounds_hu_and_refuses_nan_and_int16_overflow() {
    let image = Image::new(Shape::d2(1, 4), vec![-1000.4, 0.5, 39.6, 3071.0]).unwrap();
    let back = decode_image(&encode_image(&image, Format::Dicom).unwrap(), None).unwrap();
    assert_eq!(back.voxels(), &[-1000.0, 1.0, 40.0, 3071.0]);
    let nan = Image::new(Shape::d2(1, 2), vec![0.0, f32::NAN]).unwrap();
    assert!(matches!(
        encode_image(&nan, Format::Dicom),
        Err(Error::NonFinite {
            format: Format::Dicom,
            ..
        })
    ));
    let big = Image::new(Shape::d2(1, 2), vec![0.0, 33000.0]).unwrap();
    assert!(matches!(
        encode_image(&big, Format::Dicom),
        Err(Error::OutOfRange {
            format: Format::Dicom,
            ..
        })
    ));
}

#[test]
fn dicom_masks_round_trip_through_0_1_pixels() {
    let mask = disc_mask(Shape::d2(9, 9));
    let bytes = encode_mask(&mask, Format::Dicom).unwrap();
    assert_eq!(decode_mask(&bytes, None).unwrap(), mask);
}
