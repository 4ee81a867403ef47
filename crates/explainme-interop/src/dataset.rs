//! The pieces every DICOM object explainme writes shares: element and code builders, derived
//! UIDs, the patient and study modules copied from the source, the algorithm as contributing
//! equipment, and the Part 10 encoding.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use explainme_explain::Explainer;
use sha2::{Digest, Sha256};

use crate::DicomSource;

pub(crate) type Item = InMemDicomObject;

const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
/// explainme's UID root under the UUID-derived `2.25` arc (ITU-T X.667).
const IMPLEMENTATION_CLASS_UID: &str = "2.25.176437359217431549046178350052128961091";

/// DICOM's DA and TM of an RFC 3339 instant: `2026-12-01T12:00:00Z` → (`20261201`, `120000`).
pub(crate) fn dicom_date_time(rfc3339: &str) -> (String, String) {
    let date: String = rfc3339.chars().take(10).filter(|c| *c != '-').collect();
    let time: String = rfc3339
        .chars()
        .skip(11)
        .take(8)
        .filter(|c| *c != ':')
        .collect();
    (date, time)
}

/// A UID `2.25.<decimal of 128 bits of SHA-256(parts)>`.
pub fn derived_uid(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    let mut value: u128 = 0;
    for b in &digest[..16] {
        value = (value << 8) | u128::from(*b);
    }
    format!("2.25.{value}")
}

pub(crate) fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

pub(crate) fn sequence(tag: Tag, items: Vec<Item>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// A code: (value, scheme, meaning).
pub(crate) fn code(value: &str, scheme: &str, meaning: &str) -> Item {
    InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

/// The model's short version: the first 16 hex digits of its SHA-256.
pub(crate) fn model_version(explainer: &Explainer) -> &str {
    &explainer.model_sha256[..16.min(explainer.model_sha256.len())]
}

/// Patient, General Study and (for a de-identified source) the de-identification
/// attributes, copied from the source. Type 2 attributes stay present when empty.
pub(crate) fn patient_and_study(source: &DicomSource) -> Vec<DataElement<InMemDicomObject>> {
    let mut elements = vec![
        text(tags::PATIENT_NAME, VR::PN, &source.patient.name),
        text(tags::PATIENT_ID, VR::LO, &source.patient.id),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, &source.patient.birth_date),
        text(tags::PATIENT_SEX, VR::CS, &source.patient.sex),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &source.study.instance_uid),
        text(tags::STUDY_DATE, VR::DA, &source.study.date),
        text(tags::STUDY_TIME, VR::TM, &source.study.time),
        text(tags::STUDY_ID, VR::SH, &source.study.id),
        text(
            tags::ACCESSION_NUMBER,
            VR::SH,
            &source.study.accession_number,
        ),
        text(
            tags::REFERRING_PHYSICIAN_NAME,
            VR::PN,
            &source.study.referring_physician_name,
        ),
    ];
    if source.deidentified {
        elements.push(text(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES"));
        elements.push(text(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            "PS3.15 Basic Application Level Confidentiality Profile",
        ));
        elements.push(sequence(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            vec![code(
                "113100",
                "DCM",
                "Basic Application Confidentiality Profile",
            )],
        ));
    }
    elements
}

/// The algorithm as an item of the Contributing Equipment Sequence (IHE AIR: algorithm
/// identification), contributing at `date` `time`.
pub(crate) fn algorithm_equipment(explainer: &Explainer, date: &str, time: &str) -> Item {
    InMemDicomObject::from_element_iter([
        text(tags::MANUFACTURER, VR::LO, "explainme"),
        text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "explainme Explainer"),
        text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
        text(tags::DEVICE_SERIAL_NUMBER, VR::LO, model_version(explainer)),
        sequence(
            tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
            vec![code("109103", "DCM", "Modifying Equipment")],
        ),
        text(
            tags::CONTRIBUTION_DATE_TIME,
            VR::DT,
            &format!("{date}{time}"),
        ),
        text(
            tags::CONTRIBUTION_DESCRIPTION,
            VR::ST,
            "AI explanation of the CNN's verdict",
        ),
    ])
}

/// One SOP reference (class and instance), as Referenced SOP / Instance items hold it.
pub(crate) fn sop_reference(class: &str, instance: &str) -> Item {
    InMemDicomObject::from_element_iter([
        text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
        text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance),
    ])
}

/// One item of a Referenced Series Sequence: the source series' UID and its instances, under
/// `instances_tag` (Referenced Instance Sequence in the Common Instance Reference module,
/// Referenced SOP Sequence in the SR's evidence).
pub(crate) fn referenced_series(
    series_uid: &str,
    instances_tag: Tag,
    instances: &[crate::SourceInstance],
) -> Item {
    InMemDicomObject::from_element_iter([
        text(tags::SERIES_INSTANCE_UID, VR::UI, series_uid),
        sequence(
            instances_tag,
            instances
                .iter()
                .map(|i| sop_reference(&i.sop_class_uid, &i.sop_instance_uid))
                .collect(),
        ),
    ])
}

/// The object as the bytes of a Part 10 file in Explicit VR Little Endian.
pub(crate) fn part10(object: Item, sop_class: &str, sop_instance: &str) -> Result<Vec<u8>, String> {
    let file = object
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_VR_LE)
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid(sop_instance)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID),
        )
        .map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}
