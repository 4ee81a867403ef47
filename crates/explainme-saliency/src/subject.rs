//! The model under explanation and the one image being explained.
//!
//! Every method perturbs the model-ready input and reads one class's probability per
//! forward pass; [`Subject`] owns what they share: the ONNX Runtime sessions (one that
//! returns only the prediction, plus one per layer that Score-CAM reads), the batch size
//! that fits the memory budget, and the scoring. [`Prepared`] is one image turned into
//! model input once, with its *baseline*: the same image heavily blurred, which stands for
//! "this region carries no information" in RISE, Score-CAM and the deletion / insertion
//! curves (a blurred copy keeps the local tissue level, where a zero input would be fat or
//! air in Hounsfield terms and would itself change the verdict).
//!
//! Perturbations are blends in model-ready space, `baseline + m · (image − baseline)`: the
//! card's preprocessing is a clip and an affine map, so this is the same blend of clipped
//! Hounsfield units, and the input stays in the range the session accepts.

use std::sync::{Arc, Mutex};

use explainme_budget::MemoryBudget;
use explainme_imaging::{Image, Shape};
use explainme_onnx::{Activation, Model, ModelCard, Session, Tensor};

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

/// One image as model input (`x`), its blurred baseline (`b`) and its grid.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The spatial grid (`[y, x]` or `[z, y, x]`).
    pub shape: Shape,
    /// Model-ready values, one per voxel (one channel: both layouts share this order).
    pub input: Vec<f32>,
    /// The blurred copy that stands for "no information".
    pub baseline: Vec<f32>,
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
        // A batch of inputs, a batch of masks and a few whole-image maps.
        budget.check_elements(
            "a batch of perturbed inputs and masks",
            &[&voxels[..], &[batch as u64 * 2 + 8]].concat(),
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

    /// Checks the image against the card's input size and turns it into model input plus
    /// baseline (a separable box blur applied three times, ≈ a Gaussian of σ ≈ side / 12).
    pub fn prepare(&self, image: &Image) -> Result<Prepared> {
        let shape = image.shape();
        if shape.as_slice() != self.card.input_size.as_slice() {
            return Err(Error::ShapeMismatch {
                what: "image",
                expected: self.card.input_size.clone(),
                got: shape.as_slice().to_vec(),
            });
        }
        let hu = Tensor::new(shape.as_slice().to_vec(), image.voxels().to_vec())?;
        let input = self.card.preprocess(&[hu])?.data;
        let side = shape.as_slice().iter().copied().min().unwrap_or(1);
        let radius = (side as f32 / 12.0).round().max(1.0) as usize;
        let mut baseline = input.clone();
        for _ in 0..3 {
            box_blur(&mut baseline, shape.zyx(), radius);
        }
        Ok(Prepared {
            shape,
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
        let batch = Tensor::new(self.card.input_shape(1), input.input.clone())?;
        let prediction = self.scorer.predict(&batch)?;
        let class = class.unwrap_or(prediction.classes[0]);
        Ok((class, prediction.class_probabilities[0][class]))
    }

    /// A reusable buffer of [`batch_size`](Self::batch_size) inputs.
    pub(crate) fn batch_buffer(&self) -> Result<Batch> {
        Batch::new(self.card.input_shape(self.batch), self.batch)
    }

    /// The probability of `class` for the first `cases` inputs of `batch`.
    pub(crate) fn scores(&self, batch: &mut Batch, cases: usize, class: usize) -> Result<Vec<f32>> {
        let full = batch.tensor.data.len();
        let keep = batch.voxels * cases;
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
        let batch = Tensor::new(self.card.input_shape(1), input.input.clone())?;
        let mut prediction = session.predict(&batch)?;
        prediction
            .activations
            .pop()
            .ok_or_else(|| Error::UnusableLayer {
                layer: layer.to_owned(),
                problem: "ONNX Runtime returned no activations".into(),
            })
    }
}

/// A batch of model inputs filled case by case and reused from batch to batch.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) tensor: Tensor,
    pub(crate) voxels: usize,
    pub(crate) capacity: usize,
}

impl Batch {
    fn new(shape: Vec<usize>, capacity: usize) -> Result<Batch> {
        let voxels = shape[1..].iter().product::<usize>();
        Ok(Batch {
            tensor: Tensor::new(shape, vec![0.0; voxels * capacity])?,
            voxels,
            capacity,
        })
    }

    /// Case `i`'s values.
    pub(crate) fn case_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.tensor.data[i * self.voxels..(i + 1) * self.voxels]
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
