//! From a DICOM series to what a model reads, and from an explanation to the documents a
//! hospital stores: the one path the CLI (`explain --dicom`, `demo`) and the gRPC service
//! (Explain with an inline series, ExplainSeries, Export) share.

use explainme_explain::{Explainer, Explanation};
use explainme_imaging::codec::dicom::Series;
use explainme_imaging::{Image, Shape, Spacing};
use serde_json::Value;

use crate::{DicomSource, Subject, dicom_sr, fhir_bundle, parametric_map};

/// A series made ready for a model.
#[derive(Debug, Clone)]
pub struct SeriesCase {
    /// The image the model reads: the whole volume for a 3D model, one slice for a 2D one.
    pub image: Image,
    /// The DICOM source of exactly that image (one slice's instance and position for a 2D
    /// model), for the SR's references and the Parametric Map's grid.
    pub source: DicomSource,
    /// The slice read (0-based along the slice normal), for a 2D model on a volume.
    pub slice: Option<usize>,
    /// How many slices the series has.
    pub slices: usize,
}

/// Prepares `series` for a model that reads `model_dims`-D images (2 or 3). A 2D model on a
/// volume reads slice `slice` (0-based along the normal), by default the middle one; the
/// answer says which.
pub fn series_case(
    series: &Series,
    model_dims: usize,
    slice: Option<usize>,
) -> Result<SeriesCase, String> {
    let source = DicomSource::from_series(series);
    let image = &series.image;
    let [slices, rows, columns] = image.shape().zyx();
    match (model_dims, image.dims()) {
        (2, 2) => Ok(SeriesCase {
            image: image.clone(),
            source,
            slice: None,
            slices: 1,
        }),
        (2, _) => {
            let k = slice.unwrap_or(slices / 2);
            if k >= slices {
                return Err(format!(
                    "slice {k} asked of a series of {slices} slices (0 to {})",
                    slices - 1
                ));
            }
            let plane = rows * columns;
            let voxels = image.voxels()[k * plane..(k + 1) * plane].to_vec();
            let spacing = image.spacing();
            let one = Image::new(Shape::d2(rows, columns), voxels)
                .map_err(|e| e.to_string())?
                .with_spacing(Spacing::new(spacing.z, spacing.y, spacing.x));
            let source = source
                .slice(k)
                .ok_or_else(|| format!("the series has no position for slice {k}"))?;
            Ok(SeriesCase {
                image: one,
                source,
                slice: Some(k),
                slices,
            })
        }
        (3, 3) => Ok(SeriesCase {
            image: image.clone(),
            source,
            slice: None,
            slices,
        }),
        (3, _) => Err("the model reads volumes and the series has a single slice".into()),
        (d, _) => Err(format!("a model of {d} image dimensions")),
    }
}

/// The case reference of a series: `series-` and 12 digits of a UID derived from its Series
/// Instance UID. Never a folder or file name (PACS exports name folders after patients), and
/// the same for `explain --dicom`, `import dicom` and ExplainSeries.
pub fn series_reference(series: &Series) -> String {
    format!("series-{}", &crate::derived_uid(&[series.uid()])[5..17])
}

/// A document a hospital system stores for one explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// FHIR R4 Bundle: DiagnosticReport (the HTML report inside), Observations, Device.
    FhirBundle,
    /// DICOM Comprehensive 3D SR, TID 1500.
    DicomSr,
    /// DICOM Parametric Map of the heatmap.
    ParametricMap,
}

impl Document {
    /// All three, in the order they are written.
    pub const ALL: [Document; 3] = [
        Document::FhirBundle,
        Document::DicomSr,
        Document::ParametricMap,
    ];

    /// The end of the file name (`case-<id>` + suffix).
    pub fn suffix(self) -> &'static str {
        match self {
            Document::FhirBundle => ".fhir.json",
            Document::DicomSr => ".sr.dcm",
            Document::ParametricMap => ".pm.dcm",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Document::FhirBundle => "application/fhir+json",
            Document::DicomSr | Document::ParametricMap => "application/dicom",
        }
    }

    /// The document's bytes. `report_html` goes into the FHIR bundle's `presentedForm`; the
    /// Parametric Map needs the explanation's heatmap.
    pub fn render(
        self,
        explainer: &Explainer,
        explanation: &Explanation,
        source: &DicomSource,
        subject: Subject<'_>,
        issued: &str,
        report_html: &str,
    ) -> Result<Vec<u8>, String> {
        match self {
            Document::FhirBundle => {
                let bundle: Value =
                    fhir_bundle(explainer, explanation, subject, issued, report_html);
                serde_json::to_vec_pretty(&bundle).map_err(|e| e.to_string())
            }
            Document::DicomSr => dicom_sr(explainer, explanation, source, issued),
            Document::ParametricMap => parametric_map(explainer, explanation, source, issued),
        }
    }
}
