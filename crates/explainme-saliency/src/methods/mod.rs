//! The registry of saliency methods: one [`Method`] entry per method in [`METHODS`], tract
//! style, so a new method is a new module and one more line in the table, and the CLI, the
//! server and the benchmarks find it by name.
//!
//! Each entry carries its full variant and its fast variant. Every method reads the
//! probability of one class per forward pass and works batch by batch
//! ([`Subject::batch_size`] cases), so what it holds in memory does not grow with the
//! number of masks or patches.

mod occlusion;
mod rise;
mod scorecam;

use crate::{Error, Prepared, Result, SaliencyParams, Subject};

/// What a method is given: the subject, the prepared image, the parameters, the class to
/// explain with its unperturbed probability, and where to report forward passes.
pub struct Job<'a> {
    /// The model.
    pub subject: &'a Subject,
    /// The image as model input, with its baseline.
    pub input: &'a Prepared,
    /// All hyperparameters (each method reads its own).
    pub params: &'a SaliencyParams,
    /// The class explained.
    pub class: usize,
    /// Its probability on the unperturbed image.
    pub score: f32,
    /// The chosen layer's activations on the unperturbed image, for methods that read one
    /// (read in the same pass as the prediction).
    pub activation: Option<&'a explainme_onnx::Activation>,
    /// Hears forward passes as they happen.
    pub progress: &'a dyn Fn(u64),
}

/// A method's computation: the map (one value per voxel) and the forward passes it made.
pub type Explain = fn(&Job) -> Result<(Vec<f32>, usize)>;

/// One registered method.
#[derive(Debug)]
pub struct Method {
    /// The name users type (`--method`).
    pub name: &'static str,
    /// One line for help texts.
    pub summary: &'static str,
    /// The full method.
    pub full: Explain,
    /// The fast variant (its trade-off is documented in the method's module).
    pub fast: Explain,
    /// The most forward passes the full method makes on a subject, without the first.
    pub planned_passes: fn(&SaliencyParams, &Subject) -> usize,
    /// Whether the method reads a layer's activations (`SaliencyParams::layer`, else the
    /// card's last feature layer) in the unperturbed pass.
    pub reads_layer: bool,
    /// Whether what the method hides is replaced by `SaliencyParams::fill` (else it is
    /// blended towards the image's blurred baseline).
    pub fills: bool,
}

/// The layer a method reads: `params.layer`, else the card's last feature layer.
pub(crate) fn chosen_layer(
    params: &SaliencyParams,
    card: &explainme_onnx::ModelCard,
) -> Result<String> {
    match &params.layer {
        Some(layer) => Ok(layer.clone()),
        None => card
            .feature_layers
            .last()
            .cloned()
            .ok_or_else(|| Error::InvalidParameter {
                name: "layer",
                problem: "the card names no feature layer; choose one".into(),
            }),
    }
}

/// Every method, by name.
pub static METHODS: &[Method] = &[occlusion::METHOD, rise::METHOD, scorecam::METHOD];

/// The method called `name`.
pub fn find(name: &str) -> Result<&'static Method> {
    METHODS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| Error::UnknownMethod {
            name: name.to_owned(),
            known: METHODS
                .iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Scores `n` perturbed images, batch by batch: `fill(i, out)` writes image `i` (HU).
///
/// The batches are of near-equal size (65 images at a capacity of 64 run as 33 + 32, not
/// 64 + 1): a lone last image would run at batch-1 latency on one core while the other
/// idles (ONNX Runtime sessions split a batch across the cores, `explainme_onnx::Session`).
pub(crate) fn score_all(
    subject: &Subject,
    class: usize,
    n: usize,
    progress: &dyn Fn(u64),
    mut fill: impl FnMut(usize, &mut [f32]) -> Result<()>,
) -> Result<Vec<f32>> {
    let mut batch = subject.batch_buffer()?;
    let mut scores = Vec::with_capacity(n);
    let mut batches_left = n.div_ceil(batch.capacity);
    let mut start = 0;
    while start < n {
        let cases = (n - start).div_ceil(batches_left);
        batches_left -= 1;
        for slot in 0..cases {
            fill(start + slot, &mut batch.scratch)?;
            batch.commit(slot);
        }
        scores.extend(subject.scores(&mut batch, cases, class)?);
        progress(cases as u64);
        start += cases;
    }
    Ok(scores)
}
