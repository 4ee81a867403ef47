//! What a DICOM answer copies from the images it explains: the patient, the study, the source
//! series' instances and their geometry. Read from a DICOM series ([`DicomSource::from_series`]),
//! or made up for a case known only by its id and image ([`DicomSource::synthetic`]: phantoms,
//! PNG cohorts). [`DicomSource::deidentified`] applies the PS3.15 Basic Application Level
//! Confidentiality Profile for research exports.
//!
//! Identifiers never reach a log: nothing here prints, and the types do not implement
//! `Display`.

use explainme_imaging::Image;
use explainme_imaging::codec::dicom::{Patient, Series, Study};

use crate::dataset::{derived_uid, dicom_date_time};

/// CT Image Storage, the class of the synthetic source.
const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

/// One source image: its SOP class and instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInstance {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
}

/// The source of an explanation in DICOM terms.
#[derive(Debug, Clone, PartialEq)]
pub struct DicomSource {
    pub patient: Patient,
    pub study: Study,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub modality: String,
    pub body_part_examined: String,
    /// The instances the explained image was read from, in volume order (one per slice, or
    /// one multi-frame instance); empty when the source was not DICOM.
    pub instances: Vec<SourceInstance>,
    /// Whether the instances are real DICOM images a PACS holds (else the source is
    /// synthetic and nothing can be referenced).
    pub referenceable: bool,
    /// Row then column direction cosines.
    pub orientation: [f64; 6],
    /// Image Position (Patient) of each slice, in volume order.
    pub positions: Vec<[f64; 3]>,
    /// The grid: `[slices, rows, columns]`.
    pub shape: [usize; 3],
    /// Spacing in mm: between slices, between rows, between columns.
    pub spacing: [f64; 3],
    /// Whether [`DicomSource::deidentified`] made it.
    pub deidentified: bool,
}

impl DicomSource {
    /// The source of an image read from a DICOM series.
    pub fn from_series(series: &Series) -> DicomSource {
        let first = series.header();
        let [slices, rows, columns] = series.image.shape().zyx();
        let spacing = series.image.spacing();
        let positions = if series.positions.len() == slices {
            series.positions.clone()
        } else {
            // A multi-frame instance (or slices without positions): stacked along the normal
            // from the first position, as the volume's spacing says.
            let origin = first.position.unwrap_or([0.0; 3]);
            let orientation = first.orientation.unwrap_or(AXIAL);
            let normal = normal(&orientation);
            (0..slices)
                .map(|k| {
                    let d = k as f64 * f64::from(spacing.z);
                    [
                        origin[0] + d * normal[0],
                        origin[1] + d * normal[1],
                        origin[2] + d * normal[2],
                    ]
                })
                .collect()
        };
        DicomSource {
            patient: first.patient.clone(),
            study: first.study.clone(),
            series_instance_uid: first.series_instance_uid.clone(),
            frame_of_reference_uid: match first.frame_of_reference_uid.as_str() {
                // A Parametric Map needs one; a source without shares a derived one.
                "" => derived_uid(&["explainme frame of reference", &first.series_instance_uid]),
                uid => uid.to_owned(),
            },
            modality: first.modality.clone(),
            body_part_examined: first.body_part_examined.clone(),
            instances: series
                .instances
                .iter()
                .map(|h| SourceInstance {
                    sop_class_uid: h.sop_class_uid.clone(),
                    sop_instance_uid: h.sop_instance_uid.clone(),
                })
                .collect(),
            referenceable: true,
            orientation: first.orientation.unwrap_or(AXIAL),
            positions,
            shape: [slices, rows, columns],
            spacing: [
                f64::from(spacing.z),
                f64::from(spacing.y),
                f64::from(spacing.x),
            ],
            deidentified: false,
        }
    }

    /// Synthetic identifiers for a case known only by its id and image (a phantom, a PNG
    /// cohort): the id as patient id, study and series UIDs derived from it, the study dated
    /// `issued` (RFC 3339), an axial grid with its first voxel at the origin.
    pub fn synthetic(case_id: &str, image: &Image, issued: &str) -> DicomSource {
        let (date, time) = dicom_date_time(issued);
        let [slices, rows, columns] = image.shape().zyx();
        let spacing = image.spacing();
        let dz = f64::from(spacing.z);
        DicomSource {
            patient: Patient {
                name: format!("CASE^{case_id}"),
                id: case_id.to_owned(),
                ..Patient::default()
            },
            study: Study {
                instance_uid: derived_uid(&["explainme study", case_id]),
                date,
                time,
                id: "1".into(),
                ..Study::default()
            },
            series_instance_uid: derived_uid(&["explainme source series", case_id]),
            frame_of_reference_uid: derived_uid(&["explainme frame of reference", case_id]),
            modality: "CT".into(),
            body_part_examined: "KIDNEY".into(),
            instances: (0..slices)
                .map(|k| SourceInstance {
                    sop_class_uid: CT_IMAGE_STORAGE.into(),
                    sop_instance_uid: derived_uid(&["explainme source", case_id, &k.to_string()]),
                })
                .collect(),
            referenceable: false,
            orientation: AXIAL,
            positions: (0..slices).map(|k| [0.0, 0.0, k as f64 * dz]).collect(),
            shape: [slices, rows, columns],
            spacing: [dz, f64::from(spacing.y), f64::from(spacing.x)],
            deidentified: false,
        }
    }

    /// Who the FHIR documents are about: the source's patient id (a pseudonym once
    /// [`DicomSource::deidentified`]), else `fallback` (the case reference) when the source
    /// carries none.
    pub fn subject<'a>(&'a self, fallback: &'a str) -> crate::Subject<'a> {
        crate::Subject {
            system: "urn:explainme:dicom-patient-id",
            value: if self.patient.id.is_empty() {
                fallback
            } else {
                &self.patient.id
            },
        }
    }

    /// The source restricted to one slice (a 2D model explains one slice of a series).
    pub fn slice(&self, k: usize) -> Option<DicomSource> {
        let position = *self.positions.get(k)?;
        let mut one = self.clone();
        one.positions = vec![position];
        if self.instances.len() == self.shape[0] {
            one.instances = vec![self.instances[k].clone()];
        }
        one.shape[0] = 1;
        Some(one)
    }

    /// The PS3.15 Basic Application Level Confidentiality Profile (table E.1-1) applied to
    /// what explainme copies: names, birth date, sex, accession number, study id, referring
    /// physician and the study's date and time emptied (action Z: the attributes are Type 2
    /// and stay, empty); the patient id replaced by a pseudonym; every UID (study, series,
    /// frame of reference, instances) replaced by a UID derived from it (action U), so one
    /// export refers to itself consistently. A derived UID can be matched by whoever holds
    /// the original: send de-identified exports outside the hospital, not back into it.
    pub fn deidentified(&self) -> DicomSource {
        let remap = |uid: &str| match uid {
            "" => String::new(),
            uid => derived_uid(&["explainme deidentified", uid]),
        };
        let pseudonym = remap(&self.patient.id);
        DicomSource {
            patient: Patient {
                name: String::new(),
                id: format!("ANON-{}", &pseudonym[pseudonym.len().saturating_sub(12)..]),
                birth_date: String::new(),
                sex: String::new(),
            },
            study: Study {
                instance_uid: remap(&self.study.instance_uid),
                ..Study::default()
            },
            series_instance_uid: remap(&self.series_instance_uid),
            frame_of_reference_uid: remap(&self.frame_of_reference_uid),
            instances: self
                .instances
                .iter()
                .map(|i| SourceInstance {
                    sop_class_uid: i.sop_class_uid.clone(),
                    sop_instance_uid: remap(&i.sop_instance_uid),
                })
                .collect(),
            deidentified: true,
            ..self.clone()
        }
    }
}

const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

/// The slice normal: row direction × column direction.
pub(crate) fn normal(o: &[f64; 6]) -> [f64; 3] {
    [
        o[1] * o[5] - o[2] * o[4],
        o[2] * o[3] - o[0] * o[5],
        o[0] * o[4] - o[1] * o[3],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use explainme_imaging::{Shape, Spacing};

    #[test]
    fn deidentification_empties_names_and_remaps_uids_consistently() {
        let image = Image::from_fn(Shape::d3(2, 4, 4), |_, _, _| 0.0)
            .unwrap()
            .with_spacing(Spacing::new(2.0, 1.0, 1.0));
        let mut source = DicomSource::synthetic("case_007", &image, "2026-12-01T12:00:00Z");
        source.patient.birth_date = "19600101".into();
        source.study.accession_number = "A123".into();
        let anon = source.deidentified();
        assert!(anon.deidentified);
        assert!(anon.patient.name.is_empty() && anon.patient.birth_date.is_empty());
        assert!(anon.study.accession_number.is_empty() && anon.study.date.is_empty());
        assert!(!anon.patient.id.contains("case_007"));
        assert_ne!(anon.study.instance_uid, source.study.instance_uid);
        assert_ne!(anon.instances[0], source.instances[0]);
        // Consistent: the same source de-identifies to the same UIDs.
        assert_eq!(anon, source.deidentified());
        assert_eq!(anon.positions, source.positions);
    }

    #[test]
    fn a_slice_keeps_its_own_instance_and_position() {
        let image = Image::from_fn(Shape::d3(3, 2, 2), |_, _, _| 0.0)
            .unwrap()
            .with_spacing(Spacing::new(2.5, 1.0, 1.0));
        let source = DicomSource::synthetic("c", &image, "2026-12-01T12:00:00Z");
        let one = source.slice(2).unwrap();
        assert_eq!(one.shape, [1, 2, 2]);
        assert_eq!(one.positions, vec![[0.0, 0.0, 5.0]]);
        assert_eq!(one.instances, vec![source.instances[2].clone()]);
        assert!(source.slice(3).is_none());
    }
}
