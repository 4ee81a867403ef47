//! A case's heatmap as a DICOM Parametric Map (PS3.3 A.75): float saliency values on the
//! source grid, in the frame of reference of the source series, one frame per source slice,
//! each frame derived from (and positioned as) its slice, so a viewer overlays it on the CT.
//!
//! The heatmap lies on the model's input grid; it is resampled (bilinear / trilinear) to the
//! source's rows × columns (× slices). Values keep their unit-less scale; the Real World Value
//! Mapping says so (UCUM `1`) and spans their range. Attribute choices follow highdicom
//! 0.28's Parametric Map, with three changes that take dciodvfy from one error and three
//! warnings to none: image and frame type `DERIVED\PRIMARY\VOLUME\NONE` (dciodvfy does not
//! know `QUANTITY`), the anatomy as a Frame Anatomy Sequence (kidney, laterality unknown:
//! otherwise Laterality is required), and no Quantity Definition in a private scheme.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use explainme_explain::{Explainer, Explanation, HeatmapReading};
use explainme_imaging::{Image, Shape, resize};

use crate::DicomSource;
use crate::dataset::{
    Item, algorithm_equipment, code, derived_uid, dicom_date_time, model_version, part10,
    patient_and_study, referenced_series, sequence, sop_reference, text,
};

/// Parametric Map Storage.
pub const PARAMETRIC_MAP: &str = "1.2.840.10008.5.1.4.1.1.30";
const IMAGE_TYPE: &str = "DERIVED\\PRIMARY\\VOLUME\\NONE";

/// The explanation's heatmap as the bytes of a Parametric Map on `source`'s grid, dated
/// `issued` (RFC 3339). Fails when the explanation has no heatmap or its dimensionality
/// differs from the source's (a 2D heatmap goes on one slice: [`DicomSource::slice`]).
pub fn parametric_map(
    explainer: &Explainer,
    explanation: &Explanation,
    source: &DicomSource,
    issued: &str,
) -> Result<Vec<u8>, String> {
    let heatmap = explanation.heatmap.as_ref().ok_or(
        "the explanation has no heatmap to store as a Parametric Map (explain with the heatmap)",
    )?;
    let [slices, rows, columns] = source.shape;
    let map = Image::new(
        Shape::from_slice(&heatmap.shape).map_err(|e| e.to_string())?,
        heatmap.values.clone(),
    )
    .map_err(|e| e.to_string())?;
    let target = match (map.dims(), slices) {
        (2, 1) => Shape::d2(rows, columns),
        (3, n) if n > 1 => Shape::d3(n, rows, columns),
        (d, n) => {
            return Err(format!(
                "a {d}D heatmap cannot lie on a source of {n} slice(s): choose the slice the \
                 model read"
            ));
        }
    };
    let map = resize(&map, target).map_err(|e| e.to_string())?;
    let values = map.voxels();
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(format!("the heatmap holds {bad}"));
    }
    if source.positions.len() != slices {
        return Err(format!(
            "the source has {} slice positions for {slices} slices",
            source.positions.len()
        ));
    }
    let (lowest, highest) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(f64::from(v)), hi.max(f64::from(v)))
        });
    // A constant map still needs a window of positive width.
    let width = (highest - lowest).max(1e-6);

    let key = [
        explainer.model_sha256.as_str(),
        explanation.case_ref.as_str(),
        issued,
        "parametric map",
    ];
    let (date, time) = dicom_date_time(issued);
    let series_uid = derived_uid(&[&key[..], &["series"]].concat());
    let instance_uid = derived_uid(&[&key[..], &["instance"]].concat());
    let dimension_uid = derived_uid(&[&key[..], &["dimensions"]].concat());
    let referenced = source.referenceable && source.instances.len() == slices;

    let ds = |v: f64| format!("{}", (v * 1e6).round() / 1e6);
    let multi = |v: &[f64]| v.iter().map(|x| ds(*x)).collect::<Vec<_>>().join("\\");
    let shared = InMemDicomObject::from_element_iter([
        sequence(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([text(
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                &multi(&source.orientation),
            )])],
        ),
        sequence(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::SLICE_THICKNESS, VR::DS, &ds(source.spacing[0])),
                text(tags::SPACING_BETWEEN_SLICES, VR::DS, &ds(source.spacing[0])),
                text(
                    tags::PIXEL_SPACING,
                    VR::DS,
                    &multi(&[source.spacing[1], source.spacing[2]]),
                ),
            ])],
        ),
        sequence(
            tags::FRAME_VOILUT_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::WINDOW_CENTER, VR::DS, &ds(lowest + width / 2.0)),
                text(tags::WINDOW_WIDTH, VR::DS, &ds(width)),
                // Saliency spans less than one unit: LINEAR_EXACT admits a width below 1.
                text(tags::VOILUT_FUNCTION, VR::CS, "LINEAR_EXACT"),
            ])],
        ),
        // The identity Pixel Value Transformation the IOD requires; the scale is in the
        // Real World Value Mapping.
        sequence(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::RESCALE_INTERCEPT, VR::DS, "0"),
                text(tags::RESCALE_SLOPE, VR::DS, "1"),
                text(tags::RESCALE_TYPE, VR::LO, "US"),
            ])],
        ),
        sequence(
            tags::PARAMETRIC_MAP_FRAME_TYPE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([text(
                tags::FRAME_TYPE,
                VR::CS,
                IMAGE_TYPE,
            )])],
        ),
        sequence(
            tags::FRAME_ANATOMY_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                sequence(
                    tags::ANATOMIC_REGION_SEQUENCE,
                    vec![code("64033007", "SCT", "Kidney")],
                ),
                text(tags::FRAME_LATERALITY, VR::CS, "U"),
            ])],
        ),
        sequence(
            tags::REAL_WORLD_VALUE_MAPPING_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(
                    tags::LUT_EXPLANATION,
                    VR::LO,
                    &long_string(heatmap, |method| {
                        format!("{method} saliency of the CNN's verdict")
                    }),
                ),
                sequence(
                    tags::MEASUREMENT_UNITS_CODE_SEQUENCE,
                    vec![code("1", "UCUM", "no units")],
                ),
                text(tags::LUT_LABEL, VR::SH, "saliency"),
                DataElement::new(
                    tags::DOUBLE_FLOAT_REAL_WORLD_VALUE_LAST_VALUE_MAPPED,
                    VR::FD,
                    PrimitiveValue::from(highest),
                ),
                DataElement::new(
                    tags::DOUBLE_FLOAT_REAL_WORLD_VALUE_FIRST_VALUE_MAPPED,
                    VR::FD,
                    PrimitiveValue::from(lowest),
                ),
                DataElement::new(
                    tags::REAL_WORLD_VALUE_INTERCEPT,
                    VR::FD,
                    PrimitiveValue::from(0.0f64),
                ),
                DataElement::new(
                    tags::REAL_WORLD_VALUE_SLOPE,
                    VR::FD,
                    PrimitiveValue::from(1.0f64),
                ),
            ])],
        ),
    ]);

    let frames: Vec<Item> = (0..slices)
        .map(|k| {
            let mut frame = InMemDicomObject::from_element_iter([
                sequence(
                    tags::FRAME_CONTENT_SEQUENCE,
                    vec![InMemDicomObject::from_element_iter([DataElement::new(
                        tags::DIMENSION_INDEX_VALUES,
                        VR::UL,
                        PrimitiveValue::from(k as u32 + 1),
                    )])],
                ),
                sequence(
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![InMemDicomObject::from_element_iter([text(
                        tags::IMAGE_POSITION_PATIENT,
                        VR::DS,
                        &multi(&source.positions[k]),
                    )])],
                ),
            ]);
            if referenced {
                let slice = &source.instances[k];
                let mut reference = sop_reference(&slice.sop_class_uid, &slice.sop_instance_uid);
                reference.put(text(tags::SPATIAL_LOCATIONS_PRESERVED, VR::CS, "YES"));
                reference.put(sequence(
                    tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                    vec![code(
                        "121322",
                        "DCM",
                        "Source image for image processing operation",
                    )],
                ));
                frame.put(sequence(
                    tags::DERIVATION_IMAGE_SEQUENCE,
                    vec![InMemDicomObject::from_element_iter([
                        sequence(tags::SOURCE_IMAGE_SEQUENCE, vec![reference]),
                        sequence(
                            tags::DERIVATION_CODE_SEQUENCE,
                            vec![code("112187", "DCM", "Unspecified method of calculation")],
                        ),
                    ])],
                ));
            }
            frame
        })
        .collect();

    let version = model_version(explainer);
    let modality = match source.modality.as_str() {
        m @ ("CT" | "MR" | "PT") => m,
        _ => "OT",
    };
    let mut obj = InMemDicomObject::from_element_iter([
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        text(tags::IMAGE_TYPE, VR::CS, IMAGE_TYPE),
        text(tags::INSTANCE_CREATION_DATE, VR::DA, &date),
        text(tags::INSTANCE_CREATION_TIME, VR::TM, &time),
        text(tags::SOP_CLASS_UID, VR::UI, PARAMETRIC_MAP),
        text(tags::SOP_INSTANCE_UID, VR::UI, &instance_uid),
        text(tags::CONTENT_DATE, VR::DA, &date),
        text(tags::CONTENT_TIME, VR::TM, &time),
        text(tags::MODALITY, VR::CS, modality),
        text(tags::MANUFACTURER, VR::LO, "explainme"),
        text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "explainme Explainer"),
        text(tags::PIXEL_PRESENTATION, VR::CS, "MONOCHROME"),
        text(tags::DEVICE_SERIAL_NUMBER, VR::LO, version),
        text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
        text(tags::CONTENT_QUALIFICATION, VR::CS, "RESEARCH"),
        sequence(
            tags::CONTRIBUTING_EQUIPMENT_SEQUENCE,
            vec![algorithm_equipment(explainer, &date, &time)],
        ),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid),
        DataElement::new(tags::SERIES_NUMBER, VR::IS, PrimitiveValue::from("9002")),
        DataElement::new(tags::INSTANCE_NUMBER, VR::IS, PrimitiveValue::from("1")),
        text(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &source.frame_of_reference_uid,
        ),
        text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        sequence(
            tags::DIMENSION_ORGANIZATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([text(
                tags::DIMENSION_ORGANIZATION_UID,
                VR::UI,
                &dimension_uid,
            )])],
        ),
        sequence(
            tags::DIMENSION_INDEX_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dimension_uid),
                DataElement::new(
                    tags::DIMENSION_INDEX_POINTER,
                    VR::AT,
                    PrimitiveValue::from(tags::IMAGE_POSITION_PATIENT),
                ),
                DataElement::new(
                    tags::FUNCTIONAL_GROUP_POINTER,
                    VR::AT,
                    PrimitiveValue::from(tags::PLANE_POSITION_SEQUENCE),
                ),
                text(
                    tags::DIMENSION_DESCRIPTION_LABEL,
                    VR::LO,
                    "Image Position Patient",
                ),
            ])],
        ),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(slices.to_string()),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows as u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(columns as u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(32u16)),
        text(tags::BURNED_IN_ANNOTATION, VR::CS, "NO"),
        text(tags::RECOGNIZABLE_VISUAL_FEATURES, VR::CS, "NO"),
        text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        sequence(tags::ACQUISITION_CONTEXT_SEQUENCE, Vec::new()),
        text(tags::CONTENT_LABEL, VR::CS, "SALIENCY"),
        text(
            tags::CONTENT_DESCRIPTION,
            VR::LO,
            &long_string(heatmap, |method| {
                format!(
                    "{method} heatmap of the CNN's {} verdict",
                    explanation.verdict
                )
            }),
        ),
        text(tags::PRESENTATION_LUT_SHAPE, VR::CS, "IDENTITY"),
        sequence(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
        sequence(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, frames),
        DataElement::new(
            tags::FLOAT_PIXEL_DATA,
            VR::OF,
            PrimitiveValue::F32(values.iter().copied().collect()),
        ),
    ]);
    if slices > 1 {
        obj.put(text(tags::DIMENSION_ORGANIZATION_TYPE, VR::CS, "3D"));
    }
    if referenced {
        // Common Instance Reference: the source series and every slice the frames derive from.
        obj.put(sequence(
            tags::REFERENCED_SERIES_SEQUENCE,
            vec![referenced_series(
                &source.series_instance_uid,
                tags::REFERENCED_INSTANCE_SEQUENCE,
                &source.instances,
            )],
        ));
    }
    if rows > usize::from(u16::MAX) || columns > usize::from(u16::MAX) {
        return Err(format!(
            "a {rows}×{columns} grid does not fit DICOM's 16-bit Rows and Columns"
        ));
    }
    for element in patient_and_study(source) {
        obj.put(element);
    }
    part10(obj, PARAMETRIC_MAP, &instance_uid)
}

/// The method as the map's descriptions name it, with occlusion's fill: "occlusion (median
/// fill)", "rise". A viewer shows these in place of the explanation that says it in full.
fn method_words(heatmap: &HeatmapReading, with_fill: bool) -> String {
    match &heatmap.fill {
        Some(fill) if with_fill => format!("{} ({fill} fill)", heatmap.method),
        _ => heatmap.method.clone(),
    }
}

/// The characters a DICOM LO holds.
const LO_CHARACTERS: usize = 64;

/// `describe(method_words)` as a DICOM LO: with occlusion's fill where it fits in 64
/// characters, else without it, and a name too long even then cut after its last whole
/// word (a long class name must not make the object invalid).
fn long_string(heatmap: &HeatmapReading, describe: impl Fn(String) -> String) -> String {
    let full = describe(method_words(heatmap, true));
    if full.chars().count() <= LO_CHARACTERS {
        return full;
    }
    let short = describe(method_words(heatmap, false));
    match short.char_indices().nth(LO_CHARACTERS) {
        None => short,
        Some((end, _)) => {
            let cut = &short[..end];
            cut.rfind(' ').map_or(cut, |space| &cut[..space]).to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occlusion() -> HeatmapReading {
        serde_json::from_value(serde_json::json!({
            "method": "occlusion",
            "fast": false,
            "fill": "median",
            "shape": [1, 1],
            "values": [0.0],
            "faithfulness": {
                "deletion_auc": 0.1,
                "insertion_auc": 0.9,
                "random_deletion_auc": 0.2,
                "random_insertion_auc": 0.5,
                "lesion_mass": null,
                "pointing_game": null,
                "forward_passes": 1
            },
            "forward_passes": 1
        }))
        .unwrap()
    }

    #[test]
    fn a_description_keeps_the_fill_where_it_fits_and_whole_words_where_it_does_not() {
        let heatmap = occlusion();
        let verdict = |class: &str| {
            let class = class.to_owned();
            move |method: String| format!("{method} heatmap of the CNN's {class} verdict")
        };
        assert_eq!(
            long_string(&heatmap, verdict("malignant")),
            "occlusion (median fill) heatmap of the CNN's malignant verdict"
        );
        assert_eq!(
            long_string(&heatmap, verdict("renal cell carcinoma")),
            "occlusion heatmap of the CNN's renal cell carcinoma verdict"
        );
        let long = long_string(
            &heatmap,
            verdict("clear cell renal cell carcinoma, grade 3"),
        );
        assert!(long.chars().count() <= LO_CHARACTERS, "{long}");
        assert_eq!(
            long,
            "occlusion heatmap of the CNN's clear cell renal cell carcinoma,"
        );
    }
}
