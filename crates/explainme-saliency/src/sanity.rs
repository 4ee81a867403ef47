//! The model-randomisation sanity check (Adebayo et al., NeurIPS 2018), cascading from the
//! top: randomise the last weighted layer, then the last two, … down to all of them
//! ([`Model::with_randomised_weights`]), recompute the map with the same method, parameters
//! and class each time, and report its Spearman rank correlation with the original map. A
//! map that explains the model must decorrelate as the model is destroyed; one that stays
//! put is an edge detector of the image.

use explainme_imaging::Image;
use explainme_onnx::Model;
use serde::Serialize;

use crate::metrics::spearman;
use crate::{CheckedSaliency, Heatmap, Result, Subject};

/// One step of the cascade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SanityStep {
    /// How many weighted layers, counted from the output, are random.
    pub layers_randomised: usize,
    /// The deepest layer randomised at this step.
    pub layer: String,
    /// Spearman rank correlation of this step's map with the original map.
    pub rank_correlation: f64,
}

/// Runs the cascade over every weighted layer of `subject`'s model; `original` is the map
/// `params` gave on the intact model (its class is kept). `seed` draws the weights.
pub fn cascading_randomisation(
    subject: &Subject,
    image: &Image,
    params: &CheckedSaliency,
    original: &Heatmap,
    seed: u64,
) -> Result<Vec<SanityStep>> {
    let layers = subject.model().weighted_layers();
    let same_class = params.with_class(original.class);
    (1..=layers.len())
        .map(|k| {
            let model: Model = subject.model().with_randomised_weights(k, seed)?;
            let randomised = Subject::new(&model, subject.card(), subject.budget())?;
            let map = same_class.explain(&randomised, image, &|_| {})?;
            Ok(SanityStep {
                layers_randomised: k,
                layer: layers[layers.len() - k].clone(),
                rank_correlation: spearman(original.map.voxels(), map.map.voxels()),
            })
        })
        .collect()
}
