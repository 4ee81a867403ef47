//! Gradient-free heatmaps of ONNX CNNs, with the figures that say whether to trust them.
//!
//! An ONNX model carries no gradients, so every method here works from forward passes
//! through ONNX Runtime (`explainme_onnx::Session`) and, for Score-CAM, one layer's
//! activations. Methods are registered in one table, [`METHODS`] (a new method is one entry):
//!
//! | method | what it does | fast variant |
//! |---|---|---|
//! | `occlusion` | patches filled with the image's dominant tissue (or a ring around them); saliency = drop in probability | coarse to fine |
//! | `rise` | N seeded random smooth masks (ChaCha8), probability-weighted mean | stop when two halves agree |
//! | `scorecam` | a layer's channels upsampled into masks, weighted by the probability they add | top-k channels |
//!
//! Each module documents its conventions and what its fast variant gives up. Every method
//! works in 2D and 3D, on sigmoid and softmax models, explains a chosen class (default: the
//! predicted one), and runs batch by batch ([`Subject::batch_size`], within the memory
//! budget), generating masks per batch so memory does not grow with their number.
//!
//! With every map come its faithfulness figures ([`faithfulness`]): deletion and insertion
//! AUC against a random map's, the share of saliency inside the lesion, the pointing game;
//! and the sanity check of Adebayo et al. ([`cascading_randomisation`]): randomise the
//! weights layer by layer from the top and watch the rank correlation with the original map
//! fall. Drawing the map (overlays, colour bars) is explainme-report's job, not this crate's.
//!
//! ```
//! use explainme_imaging::{Image, Shape};
//! use explainme_saliency::{Saliency, Subject, faithfulness};
//!
//! let (model, card) = explainme_onnx::builder::seeded_cnn(7)?;
//! let subject = Subject::new(&model, &card, Default::default())?;
//! // A bright disc on soft tissue, in Hounsfield units.
//! let image = Image::from_fn(Shape::d2(64, 64), |_, y, x| {
//!     if (y as f32 - 32.0).hypot(x as f32 - 32.0) < 10.0 { 150.0 } else { 30.0 }
//! })?;
//! let heatmap = Saliency::params().method("occlusion").fast(true).explain(&subject, &image)?;
//! assert_eq!(heatmap.map.shape(), image.shape());
//! assert!(heatmap.forward_passes < 226); // the full method makes 225 + 1
//! let figures = faithfulness(&subject, &image, &heatmap, None, 16, 0)?;
//! assert!((0.0..=1.0).contains(&figures.deletion_auc));
//! # Ok::<(), explainme_saliency::Error>(())
//! ```

mod error;
mod methods;
mod metrics;
mod params;
mod sanity;
mod subject;

pub use error::{Error, Result};
pub use methods::{Explain, Job, METHODS, Method, find as find_method};
pub use metrics::{
    DEFAULT_STEPS, Faithfulness, faithfulness, lesion_mass, pearson, pointing_game,
    positive_voxels, spearman,
};
pub use params::{CheckedSaliency, Fill, MAX_PASSES, SOFT_TISSUE_HU, Saliency, SaliencyParams};
pub use sanity::{SanityStep, cascading_randomisation};
pub use subject::{MAX_BATCH, Prepared, Subject};

use explainme_imaging::Image;

/// A saliency map and how it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// The method's registered name.
    pub method: &'static str,
    /// Whether the fast variant made it.
    pub fast: bool,
    /// What hidden input was replaced with, for a method that fills (occlusion): the
    /// question the map answers depends on it.
    pub fill: Option<Fill>,
    /// The class explained (index into the card's `class_names`).
    pub class: usize,
    /// That class's probability on the unperturbed image.
    pub score: f32,
    /// One value per voxel, on the image's grid; higher = more evidence for the class.
    pub map: Image,
    /// Forward passes, counted per image (the first, unperturbed one included).
    pub forward_passes: usize,
    /// Wall time, seconds.
    pub seconds: f64,
}
