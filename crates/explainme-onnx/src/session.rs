//! Running a model with ONNX Runtime: batched prediction plus intermediate activations.
//!
//! A [`Session`] is built from a [`Model`], its [`ModelCard`] and the layers whose
//! activations are wanted: the model is edited so those layers are graph outputs
//! ([`Model::expose`]), then handed to ONNX Runtime from memory. One session serves many
//! batches; ONNX Runtime needs exclusive access while running, so calls are serialised by
//! a mutex and a `Session` can be shared between threads.
//!
//! [`Model::discover_shapes`] lives here too, because it needs one run.

use ort::value::{TensorRef, ValueType};

use crate::card::OutputKind;
use crate::model::{DISCOVERED_MARK, value_info};
use explainme_budget::MemoryBudget;

use crate::{
    Batching, ChannelStat, Dim, Error, Layout, Model, ModelCard, Result, Tensor, TensorInfo,
    pool::Runners, runtime,
};

/// A model ready to run, with its feature layers exposed.
#[derive(Debug)]
pub struct Session {
    runners: Runners,
    card: ModelCard,
    input_dims: Option<Vec<Dim>>,
    output: String,
    positive: usize,
    layers: Vec<String>,
    layouts: Vec<Layout>,
    /// Bytes one case costs while running: every tensor of the graph at batch 1 (an upper
    /// bound, since ONNX Runtime reuses buffers), from the declared or discovered shapes.
    case_bytes: u64,
    /// Bytes one case's returned activations take.
    activation_bytes: u64,
    /// The runtime's memory budget, which batches are split to fit.
    budget: MemoryBudget,
    /// How batches reach the graph (a fixed batch of 1 made symbolic, or one case per run).
    batching: Batching,
}

/// What a batch run returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Probability of the card's positive class, one per case.
    pub probabilities: Vec<f32>,
    /// Predicted class index into the card's `class_names`, one per case (argmax for
    /// softmax outputs, probability ≥ 0.5 for sigmoid outputs).
    pub classes: Vec<usize>,
    /// Every class's probability, one row per case in the card's `class_names` order (for
    /// sigmoid outputs `[1 - p, p]` with `p` the probability of `class_names[1]`), so a
    /// caller can follow any class of a K-class softmax, not only the positive one.
    pub class_probabilities: Vec<Vec<f32>>,
    /// The requested layers' activations for the whole batch, in request order.
    pub activations: Vec<Activation>,
}

/// One layer's activations for a batch (axis 0 is the case).
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// Tensor name in the graph.
    pub layer: String,
    /// Where this tensor's channel axis is, from [`Model::channel_layout`]; the card's
    /// layout when the graph does not say. Not necessarily the input's layout: in a
    /// tf2onnx export of an NHWC Keras model, convolution outputs are NCHW.
    pub layout: Layout,
    /// The values.
    pub tensor: Tensor,
}

impl Activation {
    /// Per-case, per-channel mean and maximum along this tensor's own channel axis
    /// (see [`channel_stats`](crate::channel_stats)).
    pub fn channel_stats(&self) -> Result<Vec<Vec<ChannelStat>>> {
        crate::channel_stats(&self.tensor, self.layout)
    }
}

impl Session {
    /// Validates the card against the model, exposes `layers` and starts ONNX Runtime.
    ///
    /// `layers` may be empty (prediction only); pass `&card.feature_layers` for the
    /// card's defaults. An export with a fixed batch of 1 is made batchable by graph
    /// surgery where the graph allows, else run one case at a time
    /// ([`Model::symbolic_batch`]; [`batching`](Self::batching) says which). Fails with
    /// [`Error::CardMismatch`], [`Error::UnknownTensor`], [`Error::Unsupported`] (a batch
    /// fixed above 1), [`Error::RuntimeMissing`] or [`Error::Runtime`].
    pub fn new(model: &Model, card: &ModelCard, layers: &[String]) -> Result<Session> {
        card.validate(model)?;
        let output = card.prediction_output(model)?.name.clone();
        let (mut batching, rewritten) = model.symbolic_batch(&card.input)?;
        let known = model.channel_layouts(card.layout);
        let layouts = layers
            .iter()
            .map(|l| known.get(l).copied().unwrap_or(card.layout))
            .collect();
        let mut runs = rewritten.as_ref().unwrap_or(model);
        let runners = match Runners::new(runs.expose(layers)?.to_bytes()) {
            // ONNX Runtime checks the rewritten graph again; if it disagrees, the original
            // still runs, one case at a time.
            Err(Error::Runtime { message, .. }) if rewritten.is_some() => {
                batching = Batching::OneByOne {
                    reason: format!(
                        "ONNX Runtime refused the graph with a symbolic batch ({message})"
                    ),
                };
                runs = model;
                Runners::new(model.expose(layers)?.to_bytes())?
            }
            runners => runners?,
        };
        let mut input_dims = runs.tensor(&card.input).and_then(|t| t.shape.clone());
        if let (Batching::OneByOne { .. }, Some(Some(first))) =
            (&batching, input_dims.as_mut().map(|d| d.first_mut()))
        {
            // Any batch is accepted and fed case by case.
            *first = Dim::Symbolic("N".into());
        }
        let summary = model.summary();
        let all = summary
            .inputs
            .iter()
            .chain(&summary.tensors)
            .chain(&summary.outputs);
        let activation_bytes = layers
            .iter()
            .filter_map(|l| model.tensor(l))
            .map(case_tensor_bytes)
            .sum();
        Ok(Session {
            runners,
            positive: card.positive_index()?,
            card: card.clone(),
            input_dims,
            output,
            layers: layers.to_vec(),
            layouts,
            case_bytes: all.map(case_tensor_bytes).sum::<u64>() + activation_bytes,
            activation_bytes,
            budget: runtime::runtime()?.budget,
            batching,
        })
    }

    /// How batches reach the graph: [`Batching::Native`], [`Batching::MadeSymbolic`] (an
    /// export with a fixed batch of 1, rewritten) or [`Batching::OneByOne`] (with the
    /// reason), for answers to say which.
    pub fn batching(&self) -> &Batching {
        &self.batching
    }

    /// The layers whose activations every prediction returns.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }

    /// The card this session was built with.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Runs one batch of preprocessed input (see [`ModelCard::preprocess`]).
    ///
    /// The batch must have the card's input shape with any batch size ≥ 1
    /// ([`Error::ShapeMismatch`] otherwise), only finite values ([`Error::NonFinite`]) and
    /// values in the range the card's preprocessing produces, give or take half its width
    /// ([`Error::OutOfRange`]: Hounsfield units fed as model-ready input give confident
    /// nonsense). A batch larger than the memory budget allows at once is run in chunks that
    /// fit, with the same results; one whose activations alone exceed the budget, or whose
    /// single case does, is refused with [`Error::OverBudget`] before running.
    pub fn predict(&self, batch: &Tensor) -> Result<Prediction> {
        let cases = self.check_batch(batch)?;
        self.budget.check_elements(
            format_args!("the activations of {cases} cases"),
            &[cases as u64],
            self.activation_bytes,
        )?;
        self.budget.check(
            "running one case through the model (all its tensors at batch 1)",
            self.case_bytes,
        )?;
        // Chunks that fit the budget, and at least one per pooled session so every core
        // works on a large batch.
        let chunk = self
            .cases_per_run()
            .min(cases.div_ceil(self.runners.limit()))
            .max(1);
        if chunk == cases {
            return self.run(batch, cases);
        }
        let per_case = batch.len() / cases;
        let parts: Vec<&[f32]> = batch.data.chunks(chunk * per_case).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::Mutex::new(Vec::with_capacity(parts.len()));
        let work = || -> Result<()> {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(values) = parts.get(i) else {
                    return Ok(());
                };
                let n = values.len() / per_case;
                let mut shape = batch.shape.clone();
                shape[0] = n;
                let part = self.run(&Tensor::new(shape, values.to_vec())?, n)?;
                done.lock().map_err(|_| pool_poisoned())?.push((i, part));
            }
        };
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..self.runners.limit().min(parts.len()))
                .map(|_| scope.spawn(work))
                .collect();
            let mine = work();
            helpers
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(pool_poisoned())))
                .fold(mine, Result::and)
        })?;
        let mut done = done.into_inner().map_err(|_| pool_poisoned())?;
        done.sort_unstable_by_key(|(i, _)| *i);
        let mut parts = done.into_iter().map(|(_, part)| part);
        let mut whole = parts.next().ok_or_else(|| Error::Runtime {
            context: "predicting",
            message: "an empty batch reached the runner".into(),
        })?;
        parts.for_each(|part| whole.append(part));
        Ok(whole)
    }

    /// How many cases one ONNX Runtime run takes at most: a quarter of the memory budget's
    /// worth (leaving the rest of the shared, capped arena to other requests), at least one;
    /// exactly one with [`Batching::OneByOne`].
    pub fn cases_per_run(&self) -> usize {
        if matches!(self.batching, Batching::OneByOne { .. }) {
            return 1;
        }
        let cases = self
            .budget
            .items_within(self.case_bytes.saturating_mul(4))
            .max(1);
        usize::try_from(cases).unwrap_or(usize::MAX)
    }

    /// Runs a checked batch of `cases` that fits the budget in one go.
    fn run(&self, batch: &Tensor, cases: usize) -> Result<Prediction> {
        let mut runner = self.runners.lease()?;
        let input = TensorRef::from_array_view((batch.shape.clone(), batch.data.as_slice()))
            .map_err(Error::runtime("creating the input tensor"))?;
        let inputs = ort::inputs![self.card.input.as_str() => input];
        // A large run hands its arena memory back when it ends, so one big request does not
        // leave the process holding its peak for good.
        let shrink;
        let outputs = if (cases as u64).saturating_mul(self.case_bytes) > SHRINK_AFTER_BYTES {
            let mut options =
                ort::session::RunOptions::new().map_err(Error::runtime("configuring the run"))?;
            options
                .set("memory.enable_memory_arena_shrinkage", "cpu:0")
                .map_err(Error::runtime("configuring the run"))?;
            shrink = options;
            runner.run_with_options(inputs, &shrink)
        } else {
            runner.run(inputs)
        }
        .map_err(Error::runtime("running the model"))?;

        let read = |name: &str| -> Result<Tensor> {
            let value = outputs.get(name).ok_or_else(|| Error::Runtime {
                context: "reading outputs",
                message: format!("ONNX Runtime returned no `{name}`"),
            })?;
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| {
                Error::Unsupported(format!("output `{name}` is not a float tensor: {e}"))
            })?;
            Ok(Tensor::new(
                shape.iter().map(|&d| d.max(0) as usize).collect(),
                data.to_vec(),
            )?)
        };
        let scores = read(&self.output)?;
        let (probabilities, classes, class_probabilities) = self.interpret(&scores, cases)?;
        let activations = self
            .layers
            .iter()
            .zip(&self.layouts)
            .map(|(layer, &layout)| {
                Ok(Activation {
                    layer: layer.clone(),
                    layout,
                    tensor: read(layer)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Prediction {
            probabilities,
            classes,
            class_probabilities,
            activations,
        })
    }

    /// Checks the batch against the card and the graph's fixed axes; returns the batch size.
    fn check_batch(&self, batch: &Tensor) -> Result<usize> {
        crate::tensor::check_len(batch, &self.card.input)?;
        let cases = batch.shape.first().copied().unwrap_or(0);
        let expected = self.card.input_shape(cases);
        let graph_fits = self.input_dims.as_ref().is_none_or(|dims| {
            dims.len() == batch.shape.len()
                && dims
                    .iter()
                    .zip(&batch.shape)
                    .all(|(d, &n)| !matches!(d, Dim::Fixed(f) if *f != n as i64))
        });
        if cases == 0 || batch.shape != expected || !graph_fits {
            // The card's shape with any batch size, or the graph's own when it is stricter
            // (e.g. an export with a fixed batch of 1).
            let (axes, qualifier): (Vec<String>, &str) = match &self.input_dims {
                Some(dims) if cases > 0 && batch.shape == expected => (
                    dims.iter().map(Dim::to_string).collect(),
                    " (the graph's input)",
                ),
                _ => (
                    std::iter::once("N".to_owned())
                        .chain(expected[1..].iter().map(usize::to_string))
                        .collect(),
                    " with N ≥ 1",
                ),
            };
            return Err(Error::ShapeMismatch {
                tensor: self.card.input.clone(),
                expected: format!("[{}]{qualifier}", axes.join(", ")),
                got: batch.shape.clone(),
            });
        }
        crate::tensor::check_finite(batch, &self.card.input)?;
        self.card.check_range(batch)?;
        Ok(cases)
    }

    /// Turns the prediction output into positive-class probabilities, class indices and
    /// every class's probability.
    fn interpret(&self, scores: &Tensor, cases: usize) -> Result<Interpreted> {
        interpret(&self.card, self.positive, &self.output, scores, cases)
    }
}

/// Turns the prediction output `scores` (tensor `output`) of `cases` cases into
/// positive-class probabilities, class indices and every class's probability, following
/// the card; shared with the tails of [`crate::TailSession`].
pub(crate) fn interpret(
    card: &ModelCard,
    positive: usize,
    output: &str,
    scores: &Tensor,
    cases: usize,
) -> Result<Interpreted> {
    let per_case = card.output.values_per_case(card.class_names.len());
    if scores.len() != cases * per_case || scores.shape.first() != Some(&cases) {
        return Err(Error::ShapeMismatch {
            tensor: output.to_owned(),
            expected: format!("[{cases}, {per_case}]"),
            got: scores.shape.clone(),
        });
    }
    crate::tensor::check_finite(scores, output)?;
    let mut interpreted: Interpreted = (Vec::new(), Vec::new(), Vec::new());
    for row in scores.data.chunks_exact(per_case) {
        // Sigmoid outputs: the sigmoid is the probability of class_names[1], and a tie goes
        // to it.
        let p = card.output.class_probabilities(row);
        let best = match card.output {
            OutputKind::SigmoidProbability | OutputKind::SigmoidLogit => usize::from(p[1] >= 0.5),
            OutputKind::Softmax | OutputKind::SoftmaxLogits => {
                (0..p.len()).fold(0, |best, k| if p[k] > p[best] { k } else { best })
            }
        };
        interpreted.0.push(p[positive]);
        interpreted.1.push(best);
        interpreted.2.push(p);
    }
    Ok(interpreted)
}

/// Positive-class probabilities, predicted classes and every class's probability.
pub(crate) type Interpreted = (Vec<f32>, Vec<usize>, Vec<Vec<f32>>);

impl Prediction {
    /// Appends the next chunk's cases.
    fn append(&mut self, next: Prediction) {
        self.probabilities.extend(next.probabilities);
        self.classes.extend(next.classes);
        self.class_probabilities.extend(next.class_probabilities);
        for (mine, theirs) in self.activations.iter_mut().zip(next.activations) {
            if let Some(n) = mine.tensor.shape.first_mut() {
                *n += theirs.tensor.shape.first().copied().unwrap_or(0);
            }
            mine.tensor.data.extend(theirs.tensor.data);
        }
    }
}

/// Runs estimated above this many bytes give their arena memory back when they end; smaller
/// ones keep it for the next run, which is faster.
const SHRINK_AFTER_BYTES: u64 = 64 << 20;

/// Bytes of one case of a tensor: its fixed extents, symbolic and unknown ones (the batch)
/// counted as 1, times its element size (4 when not declared). A tensor of unknown rank
/// counts nothing; the capped arena still bounds it.
fn case_tensor_bytes(tensor: &TensorInfo) -> u64 {
    let element: u64 = match tensor.elem_type.as_str() {
        "double" | "int64" | "uint64" | "complex64" => 8,
        "float16" | "bfloat16" | "int16" | "uint16" => 2,
        "int8" | "uint8" | "bool" => 1,
        _ => 4,
    };
    tensor.shape.as_ref().map_or(0, |dims| {
        dims.iter()
            .map(|d| match d {
                Dim::Fixed(n) => u64::try_from(*n).unwrap_or(0).max(1),
                Dim::Symbolic(_) | Dim::Unknown => 1,
            })
            .try_fold(element, |acc, n| acc.checked_mul(n))
            .unwrap_or(u64::MAX)
    })
}

impl Model {
    /// Fills in the shapes the graph does not declare by one run; returns how many it found.
    ///
    /// Every intermediate tensor without a shape is exposed as an output, each graph input
    /// is fed zeros of its declared shape (symbolic or unknown axes set to 1, so the batch
    /// axis of the discovered shapes reads 1), and the element types and shapes ONNX
    /// Runtime returns are written into the graph's `value_info`, marked
    /// [`ShapeSource::Discovered`](crate::ShapeSource::Discovered). They are therefore kept
    /// by [`Model::to_bytes`]. A model whose shapes are all declared is not run.
    pub fn discover_shapes(&mut self) -> Result<usize> {
        let missing: Vec<String> = self
            .summary()
            .tensors
            .iter()
            .filter(|t| t.shape.is_none())
            .map(|t| t.name.clone())
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        // The session first: it loads ONNX Runtime, which every other ort call needs.
        let mut runner = crate::pool::session(&self.expose(&missing)?.to_bytes())?;
        let mut feeds = Vec::new();
        for input in &self.summary().inputs {
            let shape: Vec<usize> = match (&input.shape, input.elem_type.as_str()) {
                (Some(dims), "float") => dims
                    .iter()
                    .map(|d| {
                        if let Dim::Fixed(n) = d {
                            (*n).max(1) as usize
                        } else {
                            1
                        }
                    })
                    .collect(),
                _ => {
                    return Err(Error::Unsupported(format!(
                        "shape discovery feeds float inputs of known rank; `{}` is {} {}",
                        input.name,
                        input.elem_type,
                        input.shape_text()
                    )));
                }
            };
            let count = shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .filter(|&n| n <= MAX_DUMMY_VALUES)
                .ok_or_else(|| {
                    Error::Unsupported(format!(
                        "shape discovery would feed `{}` a dummy of shape {shape:?}, over {MAX_DUMMY_VALUES} values",
                        input.name
                    ))
                })?;
            let zeros = vec![0f32; count];
            let value = ort::value::Tensor::from_array((shape, zeros))
                .map_err(Error::runtime("creating a dummy input"))?;
            feeds.push((input.name.clone(), value));
        }
        let outputs = runner
            .run(feeds)
            .map_err(Error::runtime("running the model on a dummy input"))?;
        let mut found = Vec::new();
        for name in &missing {
            if let Some(ValueType::Tensor { ty, shape, .. }) = outputs.get(name).map(|v| v.dtype())
            {
                let code = ort::sys::ONNXTensorElementDataType::from(*ty) as i32;
                let dims: Vec<Dim> = shape.iter().map(|&n| Dim::Fixed(n)).collect();
                found.push(value_info(name, code, &dims, Some(DISCOVERED_MARK)));
            }
        }
        drop(outputs);
        let count = found.len();
        *self = self.with_value_info(found)?;
        Ok(count)
    }
}

/// Largest dummy input (values per graph input) shape discovery allocates: 2^28 floats
/// (1 GiB), far above any CT volume, so a corrupt declared shape cannot exhaust memory.
const MAX_DUMMY_VALUES: usize = 1 << 28;

/// A worker thread of a split batch panicked, or a lock it held was poisoned.
fn pool_poisoned() -> Error {
    Error::Runtime {
        context: "predicting",
        message: "a run of a split batch panicked".into(),
    }
}
