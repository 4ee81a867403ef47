//! The model under explanation and the one image being explained.
//!
//! Every method perturbs the model-ready input and reads one class's probability per
//! forward pass; [`Subject`] owns what they share: the ONNX Runtime sessions (one that
//! returns only the prediction, plus one per layer that Score-CAM reads), the batch size
//! that fits the memory budget, and the scoring. [`Prepared`] is one image with its
//! *baseline*: the same image heavily blurred, which stands for "this region carries no
//! information" in RISE, Score-CAM and the deletion / insertion curves (a blurred copy keeps
//! the local tissue level, where a zero input would be fat or air in Hounsfield terms and
//! would itself change the verdict).
//!
//! Perturbations are made in Hounsfield units, `baseline + m · (image − baseline)` or a
//! patch fill, one value per voxel; each perturbed image then goes through the card's
//! recipe for every input channel (three windows for an ImageNet backbone, one for the demo
//! CNN) straight into the batch, so every method works on one spatial map whatever the
//! channel count and layout.
//!
//! A second stand-in for "no information" is the image's *median*, one constant of the
//! image's own dominant tissue: occlusion fills patches with it, and the deletion curve
//! replaces voxels by it, as Petsiuk et al.'s reference code deletes to a constant (zero on
//! a mean-centred input) and inserts from a blur.

use std::sync::{Arc, Mutex};

use explainme_budget::MemoryBudget;
use explainme_imaging::{Image, Shape};
use explainme_onnx::{Activation, Layout, Model, ModelCard, Prediction, Session, Tensor};

use crate::{Error, Result};

/// The most cases one batch holds, whatever the budget allows: beyond it ONNX Runtime gains
/// little per case, and masks are generated per batch, so this bounds their memory too.
pub const MAX_BATCH: usize = 64;

/// A model with its card, ready to be perturbed and scored.
#[derive(Debug)]
pub struct Subject {
    model: Model,
    card: ModelCard,
    budget: MemoryBudget,
    scorer: Session,
    layered: Mutex<Vec<(String, Arc<Session>)>>,
    batch: usize,
}

/// One image (`x`, Hounsfield units), its blurred baseline (`b`) and its grid.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The spatial grid (`[y, x]` or `[z, y, x]`).
    pub shape: Shape,
    /// The image, one value per voxel (C order).
    pub input: Vec<f32>,
    /// The blurred copy that stands for "no information".
    pub baseline: Vec<f32>,
    /// The image's median (numpy's: the mean of the two middle values for an even count).
    pub median: f32,
}

impl Subject {
    /// Starts a prediction-only session (the card is validated against the graph) and sizes
    /// batches: at most [`MAX_BATCH`] cases and what [`Session::cases_per_run`] allows.
    /// The caller initialises ONNX Runtime (`explainme_onnx::init_runtime_within`).
    pub fn new(model: &Model, card: &ModelCard, budget: MemoryBudget) -> Result<Subject> {
        let scorer = Session::new(model, card, &[])?;
        let batch = scorer.cases_per_run().clamp(1, MAX_BATCH);
        let voxels = card
            .input_size
            .iter()
            .map(|&n| n as u64)
            .collect::<Vec<_>>();
        // A batch of inputs (every channel), a batch of masks and a few whole-image maps.
        let copies = batch as u64 * (card.channel_count() as u64 + 1) + 8;
        budget.check_elements(
            "a batch of perturbed inputs and masks",
            &[&voxels[..], &[copies]].concat(),
            4,
        )?;
        Ok(Subject {
            model: model.clone(),
            card: card.clone(),
            budget,
            scorer,
            layered: Mutex::new(Vec::new()),
            batch,
        })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// The memory budget allocations are checked against.
    pub fn budget(&self) -> MemoryBudget {
        self.budget
    }

    /// Cases per forward batch.
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// Checks the image against the card's input size and makes its baseline (a separable
    /// box blur applied three times, ≈ a Gaussian of σ ≈ side / 12).
    pub fn prepare(&self, image: &Image) -> Result<Prepared> {
        let shape = image.shape();
        if shape.as_slice() != self.card.input_size.as_slice() {
            return Err(Error::ShapeMismatch {
                what: "image",
                expected: self.card.input_size.clone(),
                got: shape.as_slice().to_vec(),
            });
        }
        if let Some(index) = image.voxels().iter().position(|v| !v.is_finite()) {
            return Err(explainme_onnx::Error::NonFinite {
                tensor: "image".into(),
                count: image.voxels().iter().filter(|v| !v.is_finite()).count(),
                first_index: index,
            }
            .into());
        }
        let input = image.voxels().to_vec();
        let side = shape.as_slice().iter().copied().min().unwrap_or(1);
        let radius = (side as f32 / 12.0).round().max(1.0) as usize;
        let mut baseline = input.clone();
        for _ in 0..3 {
            box_blur(&mut baseline, shape.zyx(), radius);
        }
        Ok(Prepared {
            shape,
            median: median(&input),
            input,
            baseline,
        })
    }

    /// The class index a heatmap explains: `class` when given (checked), else the predicted
    /// class of `input`. Returns it with the probability of that class, from one pass.
    pub fn resolve_class(&self, input: &Prepared, class: Option<usize>) -> Result<(usize, f32)> {
        let classes = self.card.class_names.len();
        if let Some(class) = class.filter(|&c| c >= classes) {
            return Err(Error::NoSuchClass { class, classes });
        }
        let prediction = self.scorer.predict(&self.model_input(input)?)?;
        self.pick_class(&prediction, class)
    }

    /// The class to explain from a one-case prediction (`class`, checked, else the
    /// predicted one) and its probability.
    pub(crate) fn pick_class(
        &self,
        prediction: &Prediction,
        class: Option<usize>,
    ) -> Result<(usize, f32)> {
        let classes = self.card.class_names.len();
        if let Some(class) = class.filter(|&c| c >= classes) {
            return Err(Error::NoSuchClass { class, classes });
        }
        let class = class.unwrap_or(prediction.classes[0]);
        Ok((class, prediction.class_probabilities[0][class]))
    }

    /// The unperturbed image as a one-case model input.
    fn model_input(&self, input: &Prepared) -> Result<Tensor> {
        let hu = Tensor::new(input.shape.as_slice().to_vec(), input.input.clone())?;
        Ok(self.card.preprocess_within(&[hu], &self.budget)?)
    }

    /// A reusable buffer of [`batch_size`](Self::batch_size) inputs.
    pub(crate) fn batch_buffer(&self) -> Result<Batch> {
        let shape = self.card.input_shape(self.batch);
        let total = shape.iter().product::<usize>();
        Ok(Batch {
            tensor: Tensor::new(shape, vec![0.0; total])?,
            voxels: self.card.input_size.iter().product(),
            capacity: self.batch,
            card: self.card.clone(),
            scratch: vec![0.0; self.card.input_size.iter().product()],
        })
    }

    /// The probability of `class` for the first `cases` inputs of `batch`.
    pub(crate) fn scores(&self, batch: &mut Batch, cases: usize, class: usize) -> Result<Vec<f32>> {
        let full = batch.tensor.data.len();
        let keep = batch.voxels * batch.card.channel_count() * cases;
        batch.tensor.shape[0] = cases;
        batch.tensor.data.truncate(keep);
        let result = self.scorer.predict(&batch.tensor);
        batch.tensor.data.resize(full, 0.0);
        batch.tensor.shape[0] = batch.capacity;
        Ok(result?
            .class_probabilities
            .iter()
            .map(|p| p[class])
            .collect())
    }

    /// One layer's activations for the (unperturbed) input, from a session that exposes
    /// that layer, started on first use and kept for the next image.
    pub fn activations(&self, layer: &str, input: &Prepared) -> Result<Activation> {
        let mut prediction = self.layer_prediction(layer, input)?;
        prediction
            .activations
            .pop()
            .ok_or_else(|| Error::UnusableLayer {
                layer: layer.to_owned(),
                problem: "ONNX Runtime returned no activations".into(),
            })
    }

    /// The prediction of the unperturbed input with `layer`'s activations (one pass).
    pub(crate) fn layer_prediction(&self, layer: &str, input: &Prepared) -> Result<Prediction> {
        let session = {
            let mut cache = self.layered.lock().map_err(|_| Error::UnusableLayer {
                layer: layer.to_owned(),
                problem: "an earlier run panicked while starting its session".into(),
            })?;
            match cache.iter().find(|(name, _)| name == layer) {
                Some((_, session)) => Arc::clone(session),
                None => {
                    let session =
                        Arc::new(Session::new(&self.model, &self.card, &[layer.to_owned()])?);
                    cache.push((layer.to_owned(), Arc::clone(&session)));
                    session
                }
            }
        };
        Ok(session.predict(&self.model_input(input)?)?)
    }
}

/// A batch of model inputs filled case by case and reused from batch to batch; a case is
/// written as one perturbed HU image through the card's channel recipes.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) tensor: Tensor,
    pub(crate) voxels: usize,
    pub(crate) capacity: usize,
    card: ModelCard,
    /// One HU image, for the method to write before [`Batch::commit`].
    pub(crate) scratch: Vec<f32>,
}

impl Batch {
    /// Writes [`scratch`](Self::scratch) as case `slot`, each channel by its recipe.
    pub(crate) fn commit(&mut self, slot: usize) {
        let channels = self.card.preprocessing.channels();
        let c = channels.len();
        let case = &mut self.tensor.data[slot * self.voxels * c..(slot + 1) * self.voxels * c];
        match self.card.layout {
            Layout::Nchw => {
                for (k, recipe) in channels.iter().enumerate() {
                    let plane = &mut case[k * self.voxels..(k + 1) * self.voxels];
                    for (o, &hu) in plane.iter_mut().zip(&self.scratch) {
                        *o = recipe.apply(hu);
                    }
                }
            }
            Layout::Nhwc => {
                for (pixel, &hu) in case.chunks_exact_mut(c).zip(&self.scratch) {
                    for (o, recipe) in pixel.iter_mut().zip(channels) {
                        *o = recipe.apply(hu);
                    }
                }
            }
        }
    }
}

/// The median of `values`, numpy's; `values` is finite (checked) and not empty (an image).
pub(crate) fn median(values: &[f32]) -> f32 {
    let mut values = values.to_vec();
    let (middle, even) = (values.len() / 2, values.len().is_multiple_of(2));
    let (below, &mut upper, _) = values.select_nth_unstable_by(middle, f32::total_cmp);
    match below.iter().copied().max_by(f32::total_cmp) {
        Some(lower) if even => (lower + upper) / 2.0,
        _ => upper,
    }
}

impl Prepared {
    /// Writes `baseline + m · (input − baseline)` into `out`.
    pub(crate) fn blend(&self, mask: &[f32], out: &mut [f32]) {
        for (((o, &x), &b), &m) in out
            .iter_mut()
            .zip(&self.input)
            .zip(&self.baseline)
            .zip(mask)
        {
            *o = b + m * (x - b);
        }
    }
}

/// In-place box blur of half-width `radius` along every axis longer than one voxel; the
/// window shrinks at the edges (a mean of the voxels that exist).
pub(crate) fn box_blur(data: &mut [f32], zyx: [usize; 3], radius: usize) {
    let [nz, ny, nx] = zyx;
    let strides = [ny * nx, nx, 1];
    let mut line = Vec::new();
    let mut prefix = Vec::new();
    for axis in 0..3 {
        let n = zyx[axis];
        if n < 2 {
            continue;
        }
        let stride = strides[axis];
        // every line along `axis`: its first index
        let starts: Vec<usize> = (0..nz * ny * nx)
            .filter(|&i| (i / stride) % n == 0)
            .collect();
        for start in starts {
            line.clear();
            line.extend((0..n).map(|k| data[start + k * stride]));
            prefix.clear();
            prefix.push(0.0f64);
            let mut acc = 0.0f64;
            for &v in &line {
                acc += f64::from(v);
                prefix.push(acc);
            }
            for k in 0..n {
                let lo = k.saturating_sub(radius);
                let hi = (k + radius + 1).min(n);
                data[start + k * stride] = ((prefix[hi] - prefix[lo]) / (hi - lo) as f64) as f32;
            }
        }
    }
}
