//! Hospital formats out: one case's explanation as a FHIR R4 (R4B) `Bundle` of type
//! `collection` that an EHR can store beside the imaging report ([`fhir_bundle`]), as a
//! DICOM Comprehensive 3D SR with TID 1500 as root that a PACS stores beside the images
//! ([`dicom_sr`]), and its heatmap as a DICOM Parametric Map on the source grid
//! ([`parametric_map`]). [`DicomSource`] carries what the DICOM objects copy from the
//! images (or makes it up for a phantom); [`series_case`] prepares a DICOM series for a
//! model and [`Document`] names the three outputs, so every caller writes them alike.
//!
//! The mapping follows the HL7 "DICOM SR to FHIR Resource Mapping" guide for an AI result
//! (TID 1500): the algorithm is a `Device`; the qualitative evaluation (benign or
//! malignant, SNOMED CT 20376005 / 363346000) is an `Observation` whose code is DCM 121071
//! "Finding" with the value as a `CodeableConcept`; the probability is an `Observation`
//! with a `valueQuantity` of unit `1`; the network's P(malignant | findings, CNN verdict) a
//! third one; a `DiagnosticReport` (LOINC 18748-4 "Diagnostic imaging study") gathers them,
//! with the narrative as `conclusion` and the HTML report as `presentedForm`. Every result
//! is `preliminary`: no clinician has verified it (DICOM's VerificationFlag UNVERIFIED).
//!
//! The subject is a logical reference (an identifier, no Patient resource): the caller
//! decides what identifies a case outside the service. Ids inside the bundle are `urn:uuid`s
//! derived from the explanation, so the same explanation gives the same bundle.
//!
//! The crate knows nothing of gRPC or files; it returns JSON and Part 10 bytes.

mod dataset;
mod pm;
mod series;
mod source;
mod sr;

pub use dataset::derived_uid;
pub use pm::{PARAMETRIC_MAP, parametric_map};
pub use series::{Document, SeriesCase, series_case, series_reference};
pub use source::{DicomSource, SourceInstance};
pub use sr::{COMPREHENSIVE_3D_SR, dicom_sr};

use base64::Engine;
use explainme_explain::{Explainer, Explanation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Code systems the mapping uses.
const SNOMED: &str = "http://snomed.info/sct";
const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
/// explainme's own codes, for figures no public terminology names.
const EXPLAINME: &str = "urn:explainme:codes";

/// The current instant in RFC 3339 (UTC, seconds), as [`fhir_bundle`] and [`dicom_sr`]
/// take `issued`.
pub fn issued_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Who the case is, for the bundle's references.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The identifier's system, e.g. a hospital's MRN namespace or `urn:explainme:case`.
    pub system: &'a str,
    pub value: &'a str,
}

/// A deterministic `urn:uuid` (RFC 9562 version 8 layout) for `parts`.
fn uuid(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn probability(value: f64) -> Value {
    json!({"value": (value * 1e6).round() / 1e6, "unit": "probability", "system": UCUM, "code": "1"})
}

/// The explanation of one case as a FHIR R4 Bundle; `issued` is an RFC 3339 instant,
/// `report_html` the case's HTML report (base64 in `presentedForm`).
pub fn fhir_bundle(
    explainer: &Explainer,
    explanation: &Explanation,
    subject: Subject<'_>,
    issued: &str,
    report_html: &str,
) -> Value {
    let key = [
        explainer.model_sha256.as_str(),
        explanation.case_ref.as_str(),
        issued,
    ];
    let id = |kind: &str| uuid(&[&key[..], &[kind]].concat());
    let (device, verdict, prob, network, report) = (
        id("device"),
        id("verdict"),
        id("probability"),
        id("network"),
        id("report"),
    );
    let subject = json!({"identifier": {"system": subject.system, "value": subject.value}});
    let device_ref = json!({"reference": device});
    let malignant = explanation.verdict == explainer.card.positive_class;
    let (code, display) = if malignant {
        ("363346000", "Malignant neoplastic disease")
    } else {
        ("20376005", "Benign neoplastic disease")
    };
    let category = json!([{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": "imaging",
        "display": "Imaging"
    }]}]);
    let rule = explanation.tree.conditions.join(" AND ");
    let observation = |full_url: &str, code: Value, value: (&str, Value), note: String| {
        let mut resource = json!({
            "resourceType": "Observation",
            "status": "preliminary",
            "category": category,
            "code": code,
            "subject": subject,
            "issued": issued,
            "device": device_ref,
            "note": [{"text": note}],
        });
        resource[value.0] = value.1;
        json!({"fullUrl": full_url, "resource": resource})
    };
    let entries = vec![
        json!({"fullUrl": device, "resource": {
            "resourceType": "Device",
            "identifier": [{"system": "urn:explainme:model-sha256", "value": explainer.model_sha256}],
            "deviceName": [{"name": "explainme explainer of a renal-mass CNN", "type": "model-name"}],
            "version": [{"value": explainer.model_sha256[..16.min(explainer.model_sha256.len())].to_owned()}],
            "type": {"text": "AI algorithm (CNN with explainme explanations)"},
        }}),
        observation(
            &verdict,
            json!({"coding": [{"system": DCM, "code": "121071", "display": "Finding"}], "text": "CNN verdict"}),
            (
                "valueCodeableConcept",
                json!({"coding": [{"system": SNOMED, "code": code, "display": display}], "text": explanation.verdict}),
            ),
            if rule.is_empty() {
                "surrogate tree: one leaf".to_owned()
            } else {
                format!(
                    "surrogate tree: IF {rule} THEN {}",
                    explanation.tree.verdict
                )
            },
        ),
        observation(
            &prob,
            json!({"coding": [{"system": EXPLAINME, "code": "probability-of-malignancy", "display": "CNN probability of malignancy"}], "text": "CNN probability of malignancy"}),
            (
                "valueQuantity",
                probability(f64::from(explanation.probability)),
            ),
            format!(
                "calibrated {:.3}; {:.0}% conformal prediction set {{{}}}",
                explanation.calibrated_probability,
                100.0 * explanation.coverage,
                explanation.prediction_set.join(", ")
            ),
        ),
        observation(
            &network,
            json!({"coding": [{"system": EXPLAINME, "code": "network-probability-of-malignancy", "display": "Bayesian network P(malignant | findings, CNN verdict)"}], "text": "Bayesian network P(malignant | findings, CNN verdict)"}),
            (
                "valueQuantity",
                probability(explanation.network.p_malignant),
            ),
            format!(
                "evidence: {}",
                if explanation.network.evidence.is_empty() {
                    "none".to_owned()
                } else {
                    explanation.network.evidence.join(", ")
                }
            ),
        ),
        json!({"fullUrl": report, "resource": {
            "resourceType": "DiagnosticReport",
            "status": "preliminary",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD", "display": "Radiology"}]}],
            "code": {"coding": [{"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}], "text": "AI explanation of a renal mass on CT"},
            "subject": subject,
            "issued": issued,
            "result": [{"reference": verdict}, {"reference": prob}, {"reference": network}],
            "conclusion": explanation.narrative,
            "presentedForm": [{
                "contentType": "text/html",
                "title": format!("explainme report of case {}", explanation.case_ref),
                "data": base64::engine::general_purpose::STANDARD.encode(report_html.as_bytes()),
            }],
        }}),
    ];
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": issued,
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::uuid;

    #[test]
    fn uuids_are_deterministic_version_8() {
        let a = uuid(&["m", "case_1", "device"]);
        assert_eq!(a, uuid(&["m", "case_1", "device"]));
        assert_ne!(a, uuid(&["m", "case_1", "report"]));
        let hex = a.trim_start_matches("urn:uuid:");
        assert_eq!(hex.len(), 36);
        assert_eq!(&hex[14..15], "8");
        assert!(matches!(&hex[19..20], "8" | "9" | "a" | "b"));
    }
}
