//! DICOM files written by other software (pydicom's test files, DCMTK, GDCM; see
//! `data/dicom-fixtures/PROVENANCE.md`) decode to the values pydicom gives
//! (`benches/peers/dicom_fixtures.py` wrote `golden.json`), a shuffled series folder
//! reassembles in spatial order, and no prefix of any fixture decodes or panics.

use std::path::{Path, PathBuf};

use explainme_imaging::codec::dicom::{self, TransferSyntax};
use explainme_imaging::{Error, MemoryBudget};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/dicom-fixtures")
}

fn golden() -> Value {
    let text = std::fs::read_to_string(fixtures().join("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn fixtures_decode_to_the_values_pydicom_gives() {
    let golden = golden();
    let budget = MemoryBudget::default();
    let mut checked = Vec::new();
    for entry in golden["files"].as_array().unwrap() {
        let name = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        if let Some(why) = entry.get("explainme_refuses").and_then(Value::as_str) {
            // pydicom decodes it; explainme says plainly that it does not.
            match dicom::decode(&bytes, &budget) {
                Err(e @ Error::Unsupported { .. }) => {
                    assert!(e.to_string().contains(why), "{name}: {e}")
                }
                other => panic!("{name}: {other:?}"),
            }
            continue;
        }
        let instance =
            dicom::decode_instance(&bytes, &budget).unwrap_or_else(|e| panic!("{name}: {e}"));
        let image = &instance.image;
        let uid = entry["transfer_syntax_uid"].as_str().unwrap();
        assert_eq!(instance.header.transfer_syntax.uid(), uid, "{name}");

        let shape: Vec<usize> = f64s(&entry["shape"]).iter().map(|&n| n as usize).collect();
        let expected_shape = if shape[0] == 1 {
            &shape[1..]
        } else {
            &shape[..]
        };
        assert_eq!(image.shape().as_slice(), expected_shape, "{name}");
        if let Some(spacing) = entry["pixel_spacing"].as_array() {
            let (row, column) = (spacing[0].as_f64().unwrap(), spacing[1].as_f64().unwrap());
            assert!((f64::from(image.spacing().y) - row).abs() < 1e-5, "{name}");
            assert!(
                (f64::from(image.spacing().x) - column).abs() < 1e-5,
                "{name}"
            );
        }

        let tolerance = entry["tolerance"].as_f64().unwrap();
        let voxels = image.voxels();
        let pairs: Vec<(usize, f64)> = match entry.get("values") {
            Some(values) => f64s(values).into_iter().enumerate().collect(),
            None => f64s(&entry["sample_indices"])
                .into_iter()
                .map(|i| i as usize)
                .zip(f64s(&entry["sample_values"]))
                .collect(),
        };
        assert!(!pairs.is_empty(), "{name}");
        let worst = pairs
            .iter()
            .map(|&(i, want)| (f64::from(voxels[i]) - want).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= tolerance + 1e-6,
            "{name}: largest difference from pydicom {worst}, tolerance {tolerance}"
        );
        let mean = voxels.iter().map(|&v| f64::from(v)).sum::<f64>() / voxels.len() as f64;
        let want_mean = entry["mean"].as_f64().unwrap();
        assert!(
            (mean - want_mean).abs() <= tolerance + 1e-6 * want_mean.abs().max(1.0),
            "{name}: mean {mean} vs pydicom {want_mean}"
        );
        checked.push(instance.header.transfer_syntax);
    }
    // Every syntax the reader claims is exercised by a file some other software wrote, except
    // JPEG Lossless process 14 with a selection value other than 1 (1.2.840.10008.1.2.4.57),
    // of which no small grayscale sample is at hand.
    for syntax in TransferSyntax::READ {
        if syntax != TransferSyntax::JpegLossless {
            assert!(
                checked.contains(&syntax),
                "no fixture for {}",
                syntax.name()
            );
        }
    }
}

#[test]
fn refused_fixtures_name_their_transfer_syntax() {
    for entry in golden()["refused"].as_array().unwrap() {
        let name = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        match dicom::decode(&bytes, &MemoryBudget::default()) {
            Err(Error::UnsupportedTransferSyntax { uid, name: why }) => {
                assert_eq!(uid, entry["transfer_syntax_uid"].as_str().unwrap());
                assert_ne!(why, "unknown", "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn a_shuffled_series_folder_reassembles_in_spatial_order() {
    let golden = golden();
    let want = &golden["series"];
    let order: Vec<&str> = want["sop_instance_uids_in_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // The committed folder, and a copy under fresh shuffled names in nested folders.
    let copy = tempfile::tempdir().unwrap();
    let source = fixtures().join("series");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&source)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for (i, path) in names.iter().enumerate() {
        let dir = copy.path().join(format!("sub{}", i % 2));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = std::fs::read(path).unwrap();
        std::fs::write(dir.join(format!("{}", (i * 7919) % 13)), bytes).unwrap();
    }
    std::fs::write(copy.path().join("notes.txt"), "not DICOM").unwrap();
    for folder in [source.as_path(), copy.path()] {
        let all = dicom::read_dir(folder, &MemoryBudget::default()).unwrap();
        assert_eq!(all.len(), 2, "the slices and the localizer");
        let series = all
            .iter()
            .find(|s| s.uid() == want["series_instance_uid"].as_str().unwrap())
            .unwrap();
        let uids: Vec<&str> = series
            .instances
            .iter()
            .map(|h| h.sop_instance_uid.as_str())
            .collect();
        assert_eq!(uids, order);
        let rows = want["rows"].as_u64().unwrap() as usize;
        let columns = want["columns"].as_u64().unwrap() as usize;
        assert_eq!(
            series.image.shape().as_slice(),
            &[order.len(), rows, columns]
        );
        let spacing = series.image.spacing();
        assert!((f64::from(spacing.z) - 2.5).abs() < 1e-4, "{spacing:?}");
        assert!((spacing.y - 0.7).abs() < 1e-6 && (spacing.x - 0.8).abs() < 1e-6);
        // HU = -500 + 300 k + 12 row + column for the k-th slice along the normal.
        let image = &series.image;
        for k in 0..order.len() {
            for (row, column) in [(0, 0), (3, 5), (rows - 1, columns - 1)] {
                let want = -500.0 + 300.0 * k as f32 + 12.0 * row as f32 + column as f32;
                assert_eq!(image.get(k, row, column), Some(&want), "slice {k}");
            }
        }
        assert_eq!(series.positions.len(), order.len());
    }
}

#[test]
fn every_truncated_prefix_of_every_fixture_is_an_error() {
    let budget = MemoryBudget::default();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    paths.extend(
        std::fs::read_dir(fixtures().join("series"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    let mut prefixes = 0;
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        // Data Set Trailing Padding (FFFC,FFFC), which DCMTK appends, carries nothing: the
        // file cut just before it is complete. Every shorter prefix must fail.
        // Likewise bytes after the end of a deflated dataset's stream (pydicom's
        // image_dfl.dcm has 8): no DICOM reader sees them.
        let content = match find(&bytes, &[0xFC, 0xFF, 0xFC, 0xFF, b'O', b'B']) {
            Some(at) => at,
            None => deflate_end(&bytes).unwrap_or(bytes.len()),
        };
        for len in 0..content {
            assert!(
                dicom::decode(&bytes[..len], &budget).is_err(),
                "{}: a prefix of {len}/{} bytes decoded",
                path.display(),
                bytes.len()
            );
            prefixes += 1;
        }
    }
    assert!(prefixes > 100_000, "{prefixes}");
}

/// Where the raw deflate stream of a Deflated Explicit VR Little Endian file ends.
fn deflate_end(bytes: &[u8]) -> Option<usize> {
    let deflated = b"1.2.840.10008.1.2.1.99";
    bytes[..bytes.len().min(1024)]
        .windows(deflated.len())
        .position(|w| w == deflated)?;
    // The meta group: 128 + "DICM" + (0002,0000) UL of 12 bytes, then its length.
    let length = u32::from_le_bytes(bytes[140..144].try_into().ok()?) as usize;
    let start = 144 + length;
    let mut inflater = flate2::Decompress::new(false);
    let mut out = vec![0u8; 1 << 20];
    loop {
        let before = inflater.total_in() as usize;
        let status = inflater
            .decompress(
                &bytes[start + before..],
                &mut out,
                flate2::FlushDecompress::None,
            )
            .ok()?;
        if status == flate2::Status::StreamEnd {
            return Some(start + inflater.total_in() as usize);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[test]
fn an_instance_written_reads_back_with_its_header() {
    let budget = MemoryBudget::default();
    let dir = fixtures().join("series");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let instance = dicom::decode_instance(&bytes, &budget).unwrap();
        for syntax in [
            TransferSyntax::ExplicitVrLittleEndian,
            TransferSyntax::ImplicitVrLittleEndian,
        ] {
            let written = dicom::encode_instance(&instance, syntax).unwrap();
            let back = dicom::decode_instance(&written, &budget).unwrap();
            assert_eq!(back.image, instance.image);
            let mut expected = instance.header.clone();
            expected.transfer_syntax = syntax;
            // Positions and orientations are written as 16-character decimals.
            let (p, o) = (
                back.header.position.unwrap(),
                back.header.orientation.unwrap(),
            );
            for (a, b) in p.iter().zip(&expected.position.unwrap()) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
            for (a, b) in o.iter().zip(&expected.orientation.unwrap()) {
                assert!((a - b).abs() < 1e-6, "{a} vs {b}");
            }
            expected.position = back.header.position;
            expected.orientation = back.header.orientation;
            assert_eq!(back.header, expected);
        }
    }
}
