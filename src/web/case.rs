//! What a case view shows, gathered by the RPCs a hospital tool would call: the explainer,
//! the case with its schema and label history, and its explanation with the heatmap. The
//! CT and the heatmap travel to the viewer script compactly — HU as 16-bit integers, the
//! heatmap scaled to 0–255 over its own range — so the browser redraws the window, the
//! overlay opacity and the slice without asking the server again.

use base64::Engine;
use explainme_imaging::{Image, Window};
use explainme_report::heatmap::{MapScale, Overlay};
use serde::Serialize;
use tonic::{Request, Status};

use crate::api::Api;
use crate::convert::cases::inline_image;
use crate::pb;
use crate::pb::explainer_service_server::ExplainerService;

/// Everything a case view renders.
#[derive(Debug)]
pub struct CaseView {
    pub info: pb::ExplainerInfo,
    pub case: pb::Case,
    pub schema: pb::FeatureSchema,
    pub explanation: explainme_explain::Explanation,
    pub history: pb::LabelHistory,
    /// The viewer script's data, as JSON.
    pub viewer: Viewer,
}

impl CaseView {
    pub async fn gather(api: &Api, explainer: &str, case_id: &str) -> Result<CaseView, Status> {
        let info = super::explainer_info(api, explainer).await?;
        let case = super::stored_case(api, &info.cohort, case_id).await?;
        let schema = super::schema_of(api, &case.schema).await?;
        let answer = api
            .explain(Request::new(pb::ExplainRequest {
                explainer_id: explainer.to_owned(),
                targets: vec![pb::ExplainTarget {
                    target: Some(pb::explain_target::Target::CaseId(case_id.to_owned())),
                }],
                include_heatmap: true,
                fast: true,
            }))
            .await?
            .into_inner();
        let json = answer
            .explanations
            .first()
            .map(|e| e.explanation_json.as_str())
            .ok_or_else(|| Status::internal("Explain answered no explanation"))?;
        let explanation: explainme_explain::Explanation = serde_json::from_str(json)
            .map_err(|e| Status::internal(format!("unreadable explanation: {e}")))?;
        let history = api
            .get_label_history(Request::new(pb::GetLabelHistoryRequest {
                cohort: info.cohort.clone(),
                case_id: case_id.to_owned(),
            }))
            .await?
            .into_inner();
        let image = inline_image("image", case.image.clone(), api.budget())?;
        let viewer = Viewer::new(&image, explanation.heatmap.as_ref())?;
        Ok(CaseView {
            info,
            case,
            schema,
            explanation,
            history,
            viewer,
        })
    }
}

/// The viewer script's input (see `web/workbench.js`).
#[derive(Debug, Serialize)]
pub struct Viewer {
    /// `[D, H, W]`; D = 1 for a 2D image.
    pub shape: [usize; 3],
    /// Voxel spacing in mm, `[z, y, x]`: the canvas keeps the pixel aspect.
    pub spacing: [f32; 3],
    /// HU rounded to 16-bit little-endian integers, base64.
    pub hounsfield: String,
    /// The window the page opens in (abdominal soft tissue).
    pub window: [f32; 2],
    pub heatmap: Option<ViewerHeatmap>,
    /// 256 colours of the reports' colormap, `rrggbb` each, low end first.
    pub colormap: String,
}

/// The heatmap as the viewer draws it.
#[derive(Debug, Serialize)]
pub struct ViewerHeatmap {
    /// `[D, H, W]` of the model's input grid, which the viewer stretches over the image.
    pub shape: [usize; 3],
    /// `round(255 · (v − low) / (high − low))` per voxel, base64.
    pub levels: String,
    pub low: f32,
    pub high: f32,
    /// Levels at or below `255 · threshold` are not painted, as in the reports.
    pub threshold: f32,
    /// The slice of the map's first maximal voxel, where the viewer opens.
    pub peak_slice: usize,
}

/// `[D, H, W]` of a 2D (`D = 1`) or 3D shape.
fn depth_height_width(dims: &[usize]) -> Result<[usize; 3], Status> {
    match *dims {
        [h, w] => Ok([1, h, w]),
        [d, h, w] => Ok([d, h, w]),
        _ => Err(Status::internal(format!(
            "cannot show a grid of {} axes",
            dims.len()
        ))),
    }
}

impl Viewer {
    pub fn new(
        image: &Image,
        heatmap: Option<&explainme_explain::HeatmapReading>,
    ) -> Result<Viewer, Status> {
        let overlay = Overlay::params()
            .check()
            .map_err(|e| Status::internal(e.to_string()))?;
        let base64 = base64::engine::general_purpose::STANDARD;
        let hounsfield: Vec<u8> = image
            .voxels()
            .iter()
            .flat_map(|hu| {
                // `as` saturates, and sends NaN to 0.
                (hu.round() as i16).to_le_bytes()
            })
            .collect();
        let colormap = overlay.colormap();
        let colours: String = (0..256)
            .map(|i| {
                let [r, g, b] = colormap.rgb(i as f32 / 255.0);
                format!("{r:02x}{g:02x}{b:02x}")
            })
            .collect();
        let heatmap = heatmap
            .map(|h| ViewerHeatmap::new(&h.shape, &h.values, overlay.threshold()))
            .transpose()?;
        let window: Window = Window::ABDOMEN;
        Ok(Viewer {
            shape: depth_height_width(image.shape().as_slice())?,
            spacing: image.spacing().zyx(),
            hounsfield: base64.encode(hounsfield),
            window: [window.centre(), window.width()],
            heatmap,
            colormap: colours,
        })
    }

    /// The JSON for a `<script type="application/json">`: `<` is written `\u003c`, so no
    /// value can close the script element.
    pub fn json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| "null".to_owned())
            .replace('<', "\\u003c")
    }
}

impl ViewerHeatmap {
    /// The map on the reports' colour scale ([`MapScale`]): the same value, the same colour.
    fn new(shape: &[usize], values: &[f32], threshold: f32) -> Result<ViewerHeatmap, Status> {
        let shape = depth_height_width(shape)?;
        let scale = MapScale::of(values);
        let levels: Vec<u8> = values
            .iter()
            .map(|&v| (255.0 * scale.position(v)).round() as u8)
            .collect();
        Ok(ViewerHeatmap {
            shape,
            levels: base64::engine::general_purpose::STANDARD.encode(levels),
            low: scale.low,
            high: scale.high,
            threshold,
            peak_slice: scale.peak / (shape[1] * shape[2]).max(1),
        })
    }
}

/// A cohort case's thumbnail PNG in the abdominal window (similar cases).
pub async fn thumbnail(api: &Api, cohort: &str, case_id: &str) -> Result<Vec<u8>, Status> {
    let case = super::stored_case(api, cohort, case_id).await?;
    let image = inline_image("image", case.image, api.budget())?;
    explainme_report::document::thumbnail(&image, Window::ABDOMEN)
        .map_err(|e| Status::internal(format!("cannot draw the thumbnail: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_levels_span_the_map_and_the_peak_slice_is_found() {
        // Two 1×2 slices; the peak (4.0) is in slice 1.
        let map = ViewerHeatmap::new(&[2, 1, 2], &[0.0, 1.0, 4.0, f32::NAN], 0.1).unwrap();
        assert_eq!((map.low, map.high, map.peak_slice), (0.0, 4.0, 1));
        let levels = base64::engine::general_purpose::STANDARD
            .decode(&map.levels)
            .unwrap();
        assert_eq!(levels, [0, 64, 255, 0]);
        let flat = ViewerHeatmap::new(&[2, 2], &[3.0; 4], 0.1).unwrap();
        assert_eq!(flat.shape, [1, 2, 2]);
        let levels = base64::engine::general_purpose::STANDARD
            .decode(&flat.levels)
            .unwrap();
        assert_eq!(levels, [0; 4], "a constant map paints nothing");
    }

    #[test]
    fn viewer_json_cannot_close_its_script() {
        let image = Image::new(explainme_imaging::Shape::d2(1, 2), vec![-1000.4, 40.6]).unwrap();
        let viewer = Viewer::new(&image, None).unwrap();
        assert_eq!(viewer.shape, [1, 1, 2]);
        let hu = base64::engine::general_purpose::STANDARD
            .decode(&viewer.hounsfield)
            .unwrap();
        assert_eq!(hu, [(-1000i16).to_le_bytes(), 41i16.to_le_bytes()].concat());
        assert_eq!(viewer.colormap.len(), 256 * 6);
        assert!(!viewer.json().contains('<'));
    }
}
