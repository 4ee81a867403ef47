//! The explanation of one case as a DICOM Comprehensive 3D SR following TID 1500
//! ("Measurement Report"), as the IHE AI Results profile asks of an AI result: the CNN's
//! verdict as a qualitative evaluation with its SNOMED CT code, the probability (and the
//! network's) as numeric measurements, the findings and the surrogate tree's rule that
//! support it, the algorithm in the Contributing Equipment Sequence and as the device
//! observer, and `VerificationFlag` UNVERIFIED: no clinician has signed it.
//!
//! Identifiers (patient, study) are copied from the source ([`DicomSource`]); a source read
//! from DICOM is referenced image by image (Image Library and Current Requested Procedure
//! Evidence). The SR gets its own series and instance UIDs, derived from the explanation so
//! the same explanation gives the same object. Written with dicom-rs (explicit VR little
//! endian).

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use explainme_explain::{Explainer, Explanation};

use crate::DicomSource;
use crate::dataset::{
    Item, algorithm_equipment, code, derived_uid, dicom_date_time, model_version, part10,
    patient_and_study, referenced_series, sequence, sop_reference, text,
};

/// Comprehensive 3D SR Storage.
pub const COMPREHENSIVE_3D_SR: &str = "1.2.840.10008.5.1.4.1.1.88.34";
/// The coding scheme of figures no public terminology names (a private designator starts
/// with `99`), declared in the Coding Scheme Identification Sequence.
const PRIVATE_SCHEME: &str = "99EXPLAINME";
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
    source: &DicomSource,
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
    let version = model_version(explainer);
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

    let references: &[crate::SourceInstance] = if source.referenceable {
        &source.instances
    } else {
        &[]
    };
    let library_entries: Vec<Item> = references
        .iter()
        .map(|instance| {
            let mut image = item("CONTAINS", "IMAGE", code("260753009", "SCT", "Source"));
            image.remove_element(tags::CONCEPT_NAME_CODE_SEQUENCE);
            image.put(sequence(
                tags::REFERENCED_SOP_SEQUENCE,
                vec![sop_reference(
                    &instance.sop_class_uid,
                    &instance.sop_instance_uid,
                )],
            ));
            image
        })
        .collect();
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

    let equipment = algorithm_equipment(explainer, &date, &time);

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
        text(tags::CONTENT_DATE, VR::DA, &date),
        text(tags::CONTENT_TIME, VR::TM, &time),
        text(tags::MODALITY, VR::CS, "SR"),
        text(tags::MANUFACTURER, VR::LO, "explainme"),
        sequence(tags::CONTRIBUTING_EQUIPMENT_SEQUENCE, vec![equipment]),
        text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "explainme Explainer"),
        sequence(
            tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
            Vec::new(),
        ),
        text(tags::DEVICE_SERIAL_NUMBER, VR::LO, version),
        text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid),
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
    let mut obj = obj;
    for element in patient_and_study(source) {
        obj.put(element);
    }
    if !references.is_empty() {
        // SR Document General: the evidence the report was made from (Type 1C when it
        // references instances).
        obj.put(sequence(
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::STUDY_INSTANCE_UID, VR::UI, &source.study.instance_uid),
                sequence(
                    tags::REFERENCED_SERIES_SEQUENCE,
                    vec![referenced_series(
                        &source.series_instance_uid,
                        tags::REFERENCED_SOP_SEQUENCE,
                        references,
                    )],
                ),
            ])],
        ));
    }
    part10(obj, COMPREHENSIVE_3D_SR, &instance_uid)
}
