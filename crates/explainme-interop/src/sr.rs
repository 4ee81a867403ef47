//! The explanation of one case as a DICOM Comprehensive 3D SR following TID 1500
//! ("Measurement Report"), as the IHE AI Results profile asks of an AI result: the CNN's
//! verdict as a qualitative evaluation with its SNOMED CT code, the probability (and the
//! network's) as numeric measurements, the findings and the surrogate tree's rule that
//! support it, the algorithm in the Contributing Equipment Sequence and as the device
//! observer, and `VerificationFlag` UNVERIFIED: no clinician has signed it.
//!
//! Identifiers (patient, study) come from the caller ([`SrSubject`]); the SR gets its own
//! series and instance UIDs, derived from the explanation so the same explanation gives the
//! same object. Written with dicom-rs (explicit VR little endian).

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use explainme_explain::{Explainer, Explanation};
use sha2::{Digest, Sha256};

/// Comprehensive 3D SR Storage.
pub const COMPREHENSIVE_3D_SR: &str = "1.2.840.10008.5.1.4.1.1.88.34";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
/// The coding scheme of figures no public terminology names (a private designator starts
/// with `99`), declared in the Coding Scheme Identification Sequence.
const PRIVATE_SCHEME: &str = "99EXPLAINME";
/// explainme's UID root under the UUID-derived `2.25` arc (ITU-T X.667).
const IMPLEMENTATION_CLASS_UID: &str = "2.25.176437359217431549046178350052128961091";

/// Who and what the SR is about: copied from the source series (synthetic for phantoms).
#[derive(Debug, Clone)]
pub struct SrSubject {
    pub patient_name: String,
    pub patient_id: String,
    pub study_instance_uid: String,
    pub study_date: String,
    pub study_time: String,
    pub accession_number: String,
    /// The source image the explanation read, when it is a DICOM instance:
    /// (SOP Class UID, SOP Instance UID).
    pub source_image: Option<(String, String)>,
}

impl SrSubject {
    /// Synthetic identifiers for a case known only by its id (a phantom, a cohort case
    /// stored without DICOM): the id as patient id, a study UID derived from it, the study
    /// dated `issued` (RFC 3339).
    pub fn synthetic(case_id: &str, issued: &str) -> SrSubject {
        let (date, time) = dicom_date_time(issued);
        SrSubject {
            patient_name: format!("CASE^{case_id}"),
            patient_id: case_id.to_owned(),
            study_instance_uid: derived_uid(&["explainme study", case_id]),
            study_date: date,
            study_time: time,
            accession_number: String::new(),
            source_image: None,
        }
    }
}

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

type Item = InMemDicomObject;

fn text(tag: dicom_core::Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn sequence(tag: dicom_core::Tag, items: Vec<Item>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// A code: (value, scheme, meaning).
fn code(value: &str, scheme: &str, meaning: &str) -> Item {
    InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

/// One SR content item with `relationship` to its parent.
fn item(relationship: &str, value_type: &str, concept: Item) -> Item {
    InMemDicomObject::from_element_iter([
        text(tags::RELATIONSHIP_TYPE, VR::CS, relationship),
        text(tags::VALUE_TYPE, VR::CS, value_type),
        sequence(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![concept]),
    ])
}

fn code_item(relationship: &str, concept: Item, value: Item) -> Item {
    let mut it = item(relationship, "CODE", concept);
    it.put(sequence(tags::CONCEPT_CODE_SEQUENCE, vec![value]));
    it
}

fn text_item(relationship: &str, concept: Item, value: &str) -> Item {
    let mut it = item(relationship, "TEXT", concept);
    it.put(text(tags::TEXT_VALUE, VR::UT, value));
    it
}

fn uid_item(relationship: &str, concept: Item, value: &str) -> Item {
    let mut it = item(relationship, "UIDREF", concept);
    it.put(text(tags::UID, VR::UI, value));
    it
}

fn num_item(relationship: &str, concept: Item, value: f64, unit: Item) -> Item {
    let mut it = item(relationship, "NUM", concept);
    let measured = InMemDicomObject::from_element_iter([
        text(tags::NUMERIC_VALUE, VR::DS, &format!("{:.6}", value)),
        sequence(tags::MEASUREMENT_UNITS_CODE_SEQUENCE, vec![unit]),
    ]);
    it.put(sequence(tags::MEASURED_VALUE_SEQUENCE, vec![measured]));
    it
}

fn container(relationship: &str, concept: Item, children: Vec<Item>) -> Item {
    let mut it = item(relationship, "CONTAINER", concept);
    it.put(text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"));
    it.put(sequence(tags::CONTENT_SEQUENCE, children));
    it
}

/// The SR as the bytes of a DICOM Part 10 file, its content dated `issued` (RFC 3339, as
/// [`crate::fhir_bundle`] takes it).
pub fn dicom_sr(
    explainer: &Explainer,
    explanation: &Explanation,
    subject: &SrSubject,
    issued: &str,
) -> Result<Vec<u8>, String> {
    let key = [
        explainer.model_sha256.as_str(),
        explanation.case_ref.as_str(),
        issued,
    ];
    let (date, time) = dicom_date_time(issued);
    let series_uid = derived_uid(&[&key[..], &["series"]].concat());
    let instance_uid = derived_uid(&[&key[..], &["instance"]].concat());
    let device_uid = derived_uid(&[explainer.model_sha256.as_str(), "device"]);
    let tracking_uid = derived_uid(&[&key[..], &["tracking"]].concat());
    let version = &explainer.model_sha256[..16.min(explainer.model_sha256.len())];
    let malignant = explanation.verdict == explainer.card.positive_class;
    let (finding_code, finding_meaning) = if malignant {
        ("363346000", "Malignant neoplastic disease")
    } else {
        ("20376005", "Benign neoplastic disease")
    };
    let unity = code("1", "UCUM", "no units");

    // TID 1411 measurement group: the lesion, its evaluation and the figures behind it.
    let mut group = vec![
        text_item(
            "CONTAINS",
            code("112039", "DCM", "Tracking Identifier"),
            &format!("lesion of {}", explanation.case_ref),
        ),
        uid_item(
            "CONTAINS",
            code("112040", "DCM", "Tracking Unique Identifier"),
            &tracking_uid,
        ),
        code_item(
            "CONTAINS",
            code("121071", "DCM", "Finding"),
            code("108369006", "SCT", "Neoplasm"),
        ),
        num_item(
            "CONTAINS",
            code(
                "p-malignant",
                PRIVATE_SCHEME,
                "CNN probability of malignancy",
            ),
            f64::from(explanation.probability),
            unity.clone(),
        ),
        num_item(
            "CONTAINS",
            code(
                "p-net-malignant",
                PRIVATE_SCHEME,
                "Network P(malignant | findings, verdict)",
            ),
            explanation.network.p_malignant,
            unity.clone(),
        ),
        code_item(
            "CONTAINS",
            code("C0034375", "UMLS", "Qualitative Evaluations"),
            code(finding_code, "SCT", finding_meaning),
        ),
    ];
    if !explanation.tree.conditions.is_empty() {
        group.push(text_item(
            "CONTAINS",
            code("121106", "DCM", "Comment"),
            &format!(
                "surrogate tree: IF {} THEN {}",
                explanation.tree.conditions.join(" AND "),
                explanation.tree.verdict
            ),
        ));
    }
    for finding in &explanation.network.evidence {
        group.push(text_item(
            "CONTAINS",
            code("121071", "DCM", "Finding"),
            finding,
        ));
    }
    let measurements = container(
        "CONTAINS",
        code("126010", "DCM", "Imaging Measurements"),
        vec![container(
            "CONTAINS",
            code("125007", "DCM", "Measurement Group"),
            group,
        )],
    );

    let mut library_entries = Vec::new();
    if let Some((class, instance)) = &subject.source_image {
        let mut image = item("CONTAINS", "IMAGE", code("260753009", "SCT", "Source"));
        image.remove_element(tags::CONCEPT_NAME_CODE_SEQUENCE);
        image.put(sequence(
            tags::REFERENCED_SOP_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
                text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance),
            ])],
        ));
        library_entries.push(image);
    }
    // An Image Library Group needs at least one image: without a DICOM source (a phantom's
    // PNG) the library is left out, a documented gap in TID 1500 conformance.
    let library = (!library_entries.is_empty()).then(|| {
        container(
            "CONTAINS",
            code("111028", "DCM", "Image Library"),
            vec![container(
                "CONTAINS",
                code("126200", "DCM", "Image Library Group"),
                library_entries,
            )],
        )
    });

    let mut content = vec![
        code_item(
            "HAS CONCEPT MOD",
            code("121049", "DCM", "Language of Content Item and Descendants"),
            code("en-US", "RFC5646", "English (United States)"),
        ),
        code_item(
            "HAS OBS CONTEXT",
            code("121005", "DCM", "Observer Type"),
            code("121007", "DCM", "Device"),
        ),
        uid_item(
            "HAS OBS CONTEXT",
            code("121012", "DCM", "Device Observer UID"),
            &device_uid,
        ),
        text_item(
            "HAS OBS CONTEXT",
            code("121013", "DCM", "Device Observer Name"),
            "explainme",
        ),
        text_item(
            "HAS OBS CONTEXT",
            code("121015", "DCM", "Device Observer Model Name"),
            &format!("renal CNN {version}"),
        ),
        code_item(
            "HAS CONCEPT MOD",
            code("121058", "DCM", "Procedure reported"),
            code("77477000", "SCT", "Computed Tomography"),
        ),
    ];
    content.extend(library);
    content.push(measurements);
    content.push(text_item(
        "CONTAINS",
        code("121106", "DCM", "Comment"),
        &explanation.narrative,
    ));

    let equipment = InMemDicomObject::from_element_iter([
        text(tags::MANUFACTURER, VR::LO, "explainme"),
        text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "explainme Explainer"),
        text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
        text(tags::DEVICE_SERIAL_NUMBER, VR::LO, version),
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
    ]);

    let obj = InMemDicomObject::from_element_iter([
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        text(tags::SOP_CLASS_UID, VR::UI, COMPREHENSIVE_3D_SR),
        text(tags::SOP_INSTANCE_UID, VR::UI, &instance_uid),
        sequence(
            tags::CODING_SCHEME_IDENTIFICATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, PRIVATE_SCHEME),
                text(tags::CODING_SCHEME_NAME, VR::ST, "explainme measurements"),
                text(
                    tags::CODING_SCHEME_RESPONSIBLE_ORGANIZATION,
                    VR::ST,
                    "explainme",
                ),
            ])],
        ),
        text(tags::STUDY_DATE, VR::DA, &subject.study_date),
        text(tags::CONTENT_DATE, VR::DA, &date),
        text(tags::STUDY_TIME, VR::TM, &subject.study_time),
        text(tags::CONTENT_TIME, VR::TM, &time),
        text(tags::ACCESSION_NUMBER, VR::SH, &subject.accession_number),
        text(tags::MODALITY, VR::CS, "SR"),
        text(tags::MANUFACTURER, VR::LO, "explainme"),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        sequence(tags::CONTRIBUTING_EQUIPMENT_SEQUENCE, vec![equipment]),
        text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "explainme Explainer"),
        sequence(
            tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
            Vec::new(),
        ),
        text(tags::PATIENT_NAME, VR::PN, &subject.patient_name),
        text(tags::PATIENT_ID, VR::LO, &subject.patient_id),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        text(tags::PATIENT_SEX, VR::CS, ""),
        text(tags::DEVICE_SERIAL_NUMBER, VR::LO, version),
        text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
        text(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            &subject.study_instance_uid,
        ),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid),
        text(tags::STUDY_ID, VR::SH, "1"),
        DataElement::new(tags::SERIES_NUMBER, VR::IS, PrimitiveValue::from("9001")),
        DataElement::new(tags::INSTANCE_NUMBER, VR::IS, PrimitiveValue::from("1")),
        text(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        sequence(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("126000", "DCM", "Imaging Measurement Report")],
        ),
        sequence(
            tags::CONTENT_TEMPLATE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::MAPPING_RESOURCE, VR::CS, "DCMR"),
                text(tags::TEMPLATE_IDENTIFIER, VR::CS, "1500"),
            ])],
        ),
        text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
        text(tags::COMPLETION_FLAG, VR::CS, "COMPLETE"),
        text(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"),
        sequence(tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, Vec::new()),
        sequence(tags::CONTENT_SEQUENCE, content),
    ]);
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_VR_LE)
                .media_storage_sop_class_uid(COMPREHENSIVE_3D_SR)
                .media_storage_sop_instance_uid(&instance_uid)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID),
        )
        .map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}
