//! Agreement with independent implementations, through committed fixtures made by
//! `tests/fixtures/peers/make_fixtures.py` (numpy, nibabel, pydicom, Pillow; pinned in
//! `requirements-imaging.txt`). Tests only read the fixtures.
//!
//! * `peers.json`: files the peers wrote, and the HU their own readers see in them. We must
//!   decode the same shape, spacing and values — exactly, as `f32`.
//! * `ours.json`: files our encoders wrote (`ours/`), read back by the peers. Our encoders
//!   must still produce those very bytes, and the peers must have seen our source voxels.

mod common;

use std::path::{Path, PathBuf};

use common::{ct_image, disc_mask, float_image};
use explainme_imaging::codec::{dicom, nifti};
use explainme_imaging::{Format, Shape, encode_image, encode_mask, read_image, read_mask};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/peers")
}

struct Expected {
    file: String,
    shape: Vec<usize>,
    spacing: [f32; 3],
    values: Vec<f64>,
}

fn expected(json: &str) -> Vec<Expected> {
    let text = std::fs::read_to_string(fixtures().join(json)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let nums = |key: &str| -> Vec<f64> {
                f[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            let s = nums("spacing_zyx");
            Expected {
                file: f["file"].as_str().unwrap().to_owned(),
                shape: nums("shape").iter().map(|&n| n as usize).collect(),
                spacing: [s[0] as f32, s[1] as f32, s[2] as f32],
                values: nums("values"),
            }
        })
        .collect()
}

fn is_mask(file: &str) -> bool {
    file.contains("mask")
}

/// Decodes `file` with our codecs and checks it against what the peer saw.
fn check(e: &Expected) {
    let path = fixtures().join(&e.file);
    let (shape, spacing, values): (Shape, _, Vec<f32>) = if is_mask(&e.file) {
        let m = read_mask(&path).unwrap();
        let v = m.voxels().iter().map(|&b| f32::from(u8::from(b))).collect();
        (m.shape(), m.spacing(), v)
    } else {
        let i = read_image(&path).unwrap_or_else(|err| panic!("{}: {err}", e.file));
        (i.shape(), i.spacing(), i.voxels().to_vec())
    };
    assert_eq!(shape.as_slice(), e.shape.as_slice(), "{}", e.file);
    assert_eq!(spacing.zyx(), e.spacing, "{}", e.file);
    assert_eq!(values.len(), e.values.len(), "{}", e.file);
    for (k, (&ours, &peer)) in values.iter().zip(&e.values).enumerate() {
        assert_eq!(ours, peer as f32, "{} voxel {k}", e.file);
    }
}

#[test]
fn files_written_by_numpy_nibabel_pydicom_and_pillow_decode_like_they_read_them() {
    let all = expected("peers.json");
    assert_eq!(all.len(), 21);
    for e in &all {
        // .npy and plain PNGs carry no spacing; the peers' records say 1 mm like ours.
        check(e);
    }
}

/// The files our encoders contribute to `ours/`, built from seeded images.
fn our_files() -> Vec<(&'static str, Vec<u8>)> {
    let explicit = dicom::TransferSyntax::ExplicitVrLittleEndian;
    let implicit = dicom::TransferSyntax::ImplicitVrLittleEndian;
    let ct2 = ct_image(Shape::d2(6, 7), 21);
    let ct3 = ct_image(Shape::d3(3, 5, 4), 22);
    vec![
        ("ct_2d.png", encode_image(&ct2, Format::Png).unwrap()),
        (
            "lesion_mask_2d.png",
            encode_mask(&disc_mask(Shape::d2(6, 7)), Format::Png).unwrap(),
        ),
        (
            "float_3d.npy",
            encode_image(&float_image(Shape::d3(2, 3, 4), 23), Format::Npy).unwrap(),
        ),
        (
            "float_3d.nii",
            encode_image(&float_image(Shape::d3(4, 3, 5), 24), Format::Nifti).unwrap(),
        ),
        (
            "ct_int16_3d.nii.gz",
            nifti::encode(&ct3, nifti::Datatype::Int16, true).unwrap(),
        ),
        (
            "lesion_mask_3d.nii.gz",
            encode_mask(&disc_mask(Shape::d3(3, 5, 4)), Format::NiftiGz).unwrap(),
        ),
        ("ct_explicit_2d.dcm", dicom::encode(&ct2, explicit).unwrap()),
        ("ct_implicit_3d.dcm", dicom::encode(&ct3, implicit).unwrap()),
    ]
}

#[test]
#[ignore = "rewrites tests/fixtures/peers/ours/; then run make_fixtures.py ours"]
fn regenerate_our_files() {
    let dir = fixtures().join("ours");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in our_files() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn peers_read_our_files_as_we_wrote_them() {
    let ours = our_files();
    for (name, bytes) in &ours {
        let committed = std::fs::read(fixtures().join("ours").join(name)).unwrap();
        assert!(
            committed == *bytes,
            "{name}: encoder output changed; regenerate fixtures"
        );
    }
    let seen = expected("ours.json");
    assert_eq!(seen.len(), ours.len());
    for e in &seen {
        // What the peer saw equals what we decode, which round-trip tests tie to the source.
        check(e);
    }
}
