//! A small DICOM study for the tests: cohort images written as the slices of one CT series
//! (with identifiers, shuffled names), and the ecosystem's checks of what explainme writes
//! (dciodvfy, tools/validate_*.py, installed by `bash tools/setup.sh`).
//!
//! Use it from a test file in `tests/` with `mod dicom_support;`.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::process::Command;

use explainme_imaging::codec::dicom::{self, Header, Instance, Patient, Study, TransferSyntax};

/// The slices: the cohort images (PNG) they hold, their file names and Instance Numbers,
/// in spatial order (z = 0, 2.5, 5 mm). Neither names nor numbers follow that order.
const SLICES: [(&str, &str, i64); 3] = [
    ("case_00003", "b.dcm", 3),
    ("case_00004", "c.dcm", 1),
    ("case_00005", "a.dcm", 2),
];

/// The identifiers the series carries; none may leak from a de-identified document.
pub const PATIENT_ID: &str = "PID-4711";
pub const SECRETS: [&str; 4] = [PATIENT_ID, "DOE^JANE", "19610203", "ACC-99"];

/// The series' files as (name, bytes), in spatial order, with their SOP Instance UIDs.
pub fn series_files(cohort: &Path) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    let mut files = Vec::new();
    let mut uids = Vec::new();
    for (k, (case, name, number)) in SLICES.into_iter().enumerate() {
        let image =
            explainme_imaging::read_image(cohort.join(format!("images/{case}.png"))).unwrap();
        let uid = format!("2.25.4711900{k}");
        let header = Header {
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance_uid: uid.clone(),
            series_instance_uid: "2.25.47110".into(),
            frame_of_reference_uid: "2.25.47111".into(),
            modality: "CT".into(),
            series_number: "3".into(),
            series_description: "abdomen venous".into(),
            body_part_examined: "ABDOMEN".into(),
            instance_number: Some(number),
            patient: Patient {
                name: "DOE^JANE".into(),
                id: PATIENT_ID.into(),
                birth_date: "19610203".into(),
                sex: "F".into(),
            },
            study: Study {
                instance_uid: "2.25.47112".into(),
                date: "20261130".into(),
                time: "101500".into(),
                id: "S1".into(),
                accession_number: "ACC-99".into(),
                referring_physician_name: String::new(),
                description: "CT abdomen".into(),
            },
            position: Some([-20.0, -20.0, 2.5 * k as f64]),
            orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            transfer_syntax: TransferSyntax::ExplicitVrLittleEndian,
        };
        let bytes = dicom::encode_instance(
            &Instance { header, image },
            TransferSyntax::ExplicitVrLittleEndian,
        )
        .unwrap();
        files.push((name.to_owned(), bytes));
        uids.push(uid);
    }
    (files, uids)
}

/// Writes the series into `dir`; returns the SOP Instance UIDs in spatial order (the middle
/// one is the slice a 2D model reads by default: case_00004).
pub fn write_series(cohort: &Path, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let (files, uids) = series_files(cohort);
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    uids
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn assert_no_dciodvfy_errors(path: &Path) {
    let checked = Command::new("dciodvfy")
        .arg("-new")
        .arg(path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&checked.stderr).into_owned()
        + &String::from_utf8_lossy(&checked.stdout);
    assert!(
        !report.lines().any(|l| l.starts_with("Error")),
        "dciodvfy errors in {}: {report}",
        path.display()
    );
}

/// Runs one of tools/validate_*.py (installed by tools/setup.sh) on `files`.
pub fn validate(script: &str, files: &[&str], source: Option<&Path>) {
    let mut command = Command::new("python3");
    command.arg(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tools")
            .join(script),
    );
    if let Some(source) = source {
        command.arg("--source").arg(source);
    }
    let validated = command.args(files).output().unwrap();
    assert!(
        validated.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
}
