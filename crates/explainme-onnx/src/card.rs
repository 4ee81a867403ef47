//! The model card: what the graph alone does not say about a CNN.
//!
//! An ONNX graph names its input but not whether it is channels-first, how Hounsfield units
//! were windowed and scaled in training, what the output means or which class is
//! "malignant". The card says so, in JSON, and [`ModelCard::validate`] checks it against the
//! graph so that a wrong card is rejected at registration instead of giving wrong numbers.
//!
//! ```json
//! {
//!   "input": "input_1",
//!   "layout": "NHWC",
//!   "dims": 2,
//!   "input_size": [64, 64],
//!   "preprocessing": {
//!     "intensity": { "window": { "centre": 40.0, "width": 400.0 } },
//!     "normalisation": "unit"
//!   },
//!   "output": "softmax",
//!   "class_names": ["benign", "malignant"],
//!   "positive_class": "malignant",
//!   "feature_layers": ["functional_1/conv3_1/Relu:0"]
//! }
//! ```
//!
//! A model of several input channels (an ImageNet backbone fine-tuned on CT, fed three HU
//! windows as RGB) lists one recipe per channel, in channel order, and may output raw
//! logits over K classes (the softmax is then applied here):
//!
//! ```json
//! "preprocessing": { "channels": [
//!   { "intensity": { "window": { "centre": 40, "width": 400 } }, "normalisation": "unit" },
//!   { "intensity": { "window": { "centre": -600, "width": 1500 } }, "normalisation": "unit" },
//!   { "intensity": { "window": { "centre": 400, "width": 1800 } }, "normalisation": "unit" }
//! ] },
//! "output": "softmax_logits",
//! "class_names": ["cyst", "benign", "malignant"]
//! ```

use explainme_budget::MemoryBudget;
use serde::{Deserialize, Serialize};

use crate::{Dim, Error, Layout, Model, Result, Tensor, TensorInfo};

/// Everything needed to feed a CNN and read its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Name of the graph input that takes the image.
    pub input: String,
    /// Graph output holding the prediction; the first graph output when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_name: Option<String>,
    /// Where the channel axis is.
    pub layout: Layout,
    /// 2D slices or 3D volumes.
    pub dims: SpatialDims,
    /// Spatial extent the CNN takes: `[H, W]` in 2D, `[D, H, W]` in 3D.
    pub input_size: Vec<usize>,
    /// How Hounsfield units become each input channel's values.
    pub preprocessing: InputChannels,
    /// What the prediction output holds.
    pub output: OutputKind,
    /// Class names in output order. Sigmoid outputs have two, the sigmoid being the
    /// probability of the second.
    pub class_names: Vec<String>,
    /// The class whose probability is reported (e.g. `malignant`).
    pub positive_class: String,
    /// Intermediate tensors used as features unless a request names others.
    #[serde(default)]
    pub feature_layers: Vec<String>,
}

/// Number of spatial axes; written `2` or `3` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum SpatialDims {
    /// Images `H × W`.
    Two,
    /// Volumes `D × H × W`.
    Three,
}

/// How HU become one input channel, applied in order: clip to a HU range, then normalise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessing {
    /// The HU range kept; values outside are clipped to its ends.
    pub intensity: Intensity,
    /// How the clipped HU values are scaled.
    pub normalisation: Normalisation,
}

/// How HU become the model's input channels: one [`Preprocessing`] per channel, in channel
/// order, never none.
///
/// In JSON a one-channel model writes its recipe as it always did,
/// `{"intensity": …, "normalisation": …}`; a model of C channels writes
/// `{"channels": [{"intensity": …, "normalisation": …}, …]}`. Each channel is computed from
/// the same HU image, so three windows (soft tissue, lung, bone) become the R, G and B of an
/// ImageNet backbone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ChannelsJson", into = "ChannelsJson")]
pub struct InputChannels(Vec<Preprocessing>);

/// The JSON of [`InputChannels`]: either the one-channel fields or `channels`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelsJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    intensity: Option<Intensity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    normalisation: Option<Normalisation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channels: Option<Vec<Preprocessing>>,
}

impl TryFrom<ChannelsJson> for InputChannels {
    type Error = String;
    fn try_from(json: ChannelsJson) -> std::result::Result<Self, String> {
        match json {
            ChannelsJson {
                intensity: Some(intensity),
                normalisation: Some(normalisation),
                channels: None,
            } => Ok(InputChannels::one(Preprocessing {
                intensity,
                normalisation,
            })),
            ChannelsJson {
                intensity: None,
                normalisation: None,
                channels: Some(channels),
            } => InputChannels::new(channels),
            ChannelsJson {
                channels: Some(_), ..
            } => Err("preprocessing takes either `channels` or `intensity` and \
                      `normalisation` (one channel), not both"
                .into()),
            _ => Err(
                "preprocessing needs `intensity` and `normalisation` (one channel) or \
                      `channels` (one entry per input channel)"
                    .into(),
            ),
        }
    }
}

impl From<InputChannels> for ChannelsJson {
    fn from(channels: InputChannels) -> ChannelsJson {
        match <[Preprocessing; 1]>::try_from(channels.0) {
            Ok([one]) => ChannelsJson {
                intensity: Some(one.intensity),
                normalisation: Some(one.normalisation),
                channels: None,
            },
            Err(many) => ChannelsJson {
                intensity: None,
                normalisation: None,
                channels: Some(many),
            },
        }
    }
}

impl InputChannels {
    /// One channel.
    pub fn one(channel: Preprocessing) -> InputChannels {
        InputChannels(vec![channel])
    }

    /// Channels in channel order; an empty list is refused.
    pub fn new(channels: Vec<Preprocessing>) -> std::result::Result<InputChannels, String> {
        if channels.is_empty() {
            return Err("`channels` needs at least one entry".into());
        }
        Ok(InputChannels(channels))
    }

    /// The recipes, in channel order (at least one).
    pub fn channels(&self) -> &[Preprocessing] {
        &self.0
    }

    /// The recipes, to edit in place (their number is fixed).
    pub fn channels_mut(&mut self) -> &mut [Preprocessing] {
        &mut self.0
    }

    /// Number of input channels.
    pub fn count(&self) -> usize {
        self.0.len()
    }
}

impl From<Preprocessing> for InputChannels {
    fn from(channel: Preprocessing) -> InputChannels {
        InputChannels::one(channel)
    }
}

impl Preprocessing {
    /// The range of values this recipe produces: `[0, 1]` for unit normalisation, the
    /// clipped HU range standardised or as it is otherwise.
    pub fn output_range(&self) -> (f32, f32) {
        let (low, high) = self.intensity.bounds();
        match self.normalisation {
            Normalisation::Unit => (0.0, 1.0),
            Normalisation::MeanStd { mean, std } => ((low - mean) / std, (high - mean) / std),
            Normalisation::None => (low, high),
        }
    }

    /// One HU value through the recipe.
    pub fn apply(&self, hu: f32) -> f32 {
        let (low, high) = self.intensity.bounds();
        let hu = hu.clamp(low, high);
        match self.normalisation {
            Normalisation::Unit => (hu - low) / (high - low),
            Normalisation::MeanStd { mean, std } => (hu - mean) / std,
            Normalisation::None => hu,
        }
    }
}

/// A Hounsfield-unit range, given either way radiologists and code write it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intensity {
    /// A display window: `[centre - width/2, centre + width/2]`.
    Window {
        /// Window level (HU).
        centre: f32,
        /// Window width (HU), positive.
        width: f32,
    },
    /// Explicit bounds `[min, max]`.
    Range {
        /// Lower bound (HU).
        min: f32,
        /// Upper bound (HU), above `min`.
        max: f32,
    },
}

/// How clipped HU values become model input values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Map the HU range linearly onto `[0, 1]`.
    Unit,
    /// `(hu - mean) / std`, on clipped HU values.
    MeanStd {
        /// Subtracted first (HU).
        mean: f32,
        /// Divided by, positive (HU).
        std: f32,
    },
    /// Feed the clipped HU values as they are.
    None,
}

/// What the prediction output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// One value per case, already a probability (sigmoid applied in the graph).
    SigmoidProbability,
    /// One value per case, a logit (the sigmoid is applied here).
    SigmoidLogit,
    /// One probability per class per case (softmax applied in the graph).
    Softmax,
    /// One logit per class per case (the softmax is applied here).
    SoftmaxLogits,
}

impl OutputKind {
    /// Values the output holds per case: 1 for sigmoid outputs, one per class otherwise.
    pub fn values_per_case(self, classes: usize) -> usize {
        match self {
            OutputKind::SigmoidProbability | OutputKind::SigmoidLogit => 1,
            OutputKind::Softmax | OutputKind::SoftmaxLogits => classes,
        }
    }

    /// One case's output values as class probabilities in class order: a sigmoid output
    /// `s` becomes `[1 - s, s]`, logits go through the sigmoid or a softmax (computed with
    /// the maximum subtracted, so large logits do not overflow), probabilities stay.
    ///
    /// ```
    /// use explainme_onnx::OutputKind;
    /// let p = OutputKind::SoftmaxLogits.class_probabilities(&[0.0, 0.0, 1000.0]);
    /// assert_eq!(p, [0.0, 0.0, 1.0]);
    /// assert_eq!(OutputKind::SigmoidLogit.class_probabilities(&[0.0]), [0.5, 0.5]);
    /// ```
    pub fn class_probabilities(self, row: &[f32]) -> Vec<f32> {
        match self {
            OutputKind::Softmax => row.to_vec(),
            OutputKind::SoftmaxLogits => {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exp: Vec<f32> = row.iter().map(|&v| (v - max).exp()).collect();
                let sum: f32 = exp.iter().sum();
                exp.iter().map(|&e| e / sum).collect()
            }
            OutputKind::SigmoidProbability | OutputKind::SigmoidLogit => {
                let value = row.first().copied().unwrap_or(f32::NAN);
                let second = if self == OutputKind::SigmoidLogit {
                    1.0 / (1.0 + (-value).exp())
                } else {
                    value
                };
                vec![1.0 - second, second]
            }
        }
    }
}

impl TryFrom<u8> for SpatialDims {
    type Error = String;
    fn try_from(n: u8) -> std::result::Result<Self, String> {
        match n {
            2 => Ok(SpatialDims::Two),
            3 => Ok(SpatialDims::Three),
            _ => Err(format!("dims must be 2 or 3, not {n}")),
        }
    }
}

impl From<SpatialDims> for u8 {
    fn from(d: SpatialDims) -> u8 {
        match d {
            SpatialDims::Two => 2,
            SpatialDims::Three => 3,
        }
    }
}

impl SpatialDims {
    /// Number of spatial axes.
    pub fn count(self) -> usize {
        usize::from(u8::from(self))
    }
}

impl Intensity {
    /// The HU bounds `(low, high)`.
    pub fn bounds(self) -> (f32, f32) {
        match self {
            Intensity::Window { centre, width } => (centre - width / 2.0, centre + width / 2.0),
            Intensity::Range { min, max } => (min, max),
        }
    }
}

impl ModelCard {
    /// Parses a card from JSON; syntax errors and unknown fields are [`Error::CardSyntax`].
    pub fn from_json(text: &str) -> Result<ModelCard> {
        serde_json::from_str(text).map_err(|e| Error::CardSyntax(e.to_string()))
    }

    /// The card as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model card always serialises")
    }

    /// Index of [`positive_class`](Self::positive_class) in [`class_names`](Self::class_names).
    pub fn positive_index(&self) -> Result<usize> {
        self.class_names
            .iter()
            .position(|c| c == &self.positive_class)
            .ok_or_else(|| Error::CardMismatch {
                field: "positive_class",
                problem: format!(
                    "`{}` is not one of class_names {:?}",
                    self.positive_class, self.class_names
                ),
            })
    }

    /// The name of "not the positive class" for two-outcome summaries (surrogate trees,
    /// verdicts at 0.5): the first other class name, `negative` when the card has none.
    pub fn negative_class(&self) -> &str {
        self.class_names
            .iter()
            .find(|c| **c != self.positive_class)
            .map_or("negative", String::as_str)
    }

    /// Shape of a batch of `batch` preprocessed images: `[N, C, H, W]` or `[N, H, W, C]`
    /// (and the 3D analogues), `C` being [`channel_count`](Self::channel_count).
    pub fn input_shape(&self, batch: usize) -> Vec<usize> {
        batch_shape(self.layout, &self.input_size, self.channel_count(), batch)
    }

    /// Number of input channels the card feeds (one per preprocessing recipe).
    pub fn channel_count(&self) -> usize {
        self.preprocessing.count()
    }

    /// The graph output that holds the prediction: `output_name`, else the first output.
    pub fn prediction_output<'m>(&self, model: &'m Model) -> Result<&'m TensorInfo> {
        let outputs = &model.summary().outputs;
        match &self.output_name {
            None => outputs
                .first()
                .ok_or_else(|| Error::MalformedModel("the graph has no outputs".into())),
            Some(name) => {
                outputs
                    .iter()
                    .find(|o| &o.name == name)
                    .ok_or_else(|| Error::CardMismatch {
                        field: "output_name",
                        problem: format!(
                            "the graph has no output `{name}` (outputs: {})",
                            names(outputs)
                        ),
                    })
            }
        }
    }

    /// Checks the card against itself and the graph; the error names the field at fault.
    ///
    /// Checked: classes (the positive one among them, two for sigmoid outputs), the
    /// preprocessing bounds of every channel, `input` is a float graph input of rank
    /// `dims + 2` whose fixed axes agree with `layout`, the channel count and `input_size`
    /// (the batch axis is not checked: a fixed batch is the session's business, see
    /// [`Batching`](crate::Batching)), the prediction output's last axis matches `output`
    /// and the classes, and every feature layer is a tensor of the graph.
    pub fn validate(&self, model: &Model) -> Result<()> {
        let mismatch = |field, problem: String| Err(Error::CardMismatch { field, problem });
        self.validate_self()?;

        let summary = model.summary();
        if summary.inputs.len() > 1 {
            return mismatch(
                "input",
                format!(
                    "the graph has {} inputs ({}); explainme feeds one image input, so every \
                     other input would be missing at run time",
                    summary.inputs.len(),
                    names(&summary.inputs)
                ),
            );
        }
        let Some(input) = summary.inputs.iter().find(|i| i.name == self.input) else {
            return mismatch(
                "input",
                format!(
                    "the graph has no input `{}` (inputs: {})",
                    self.input,
                    names(&summary.inputs)
                ),
            );
        };
        if !matches!(input.elem_type.as_str(), "float" | "unknown") {
            return mismatch(
                "input",
                format!(
                    "`{}` holds {}, only float inputs are supported",
                    input.name, input.elem_type
                ),
            );
        }
        if let Some(dims) = &input.shape {
            let channels = self.channel_count();
            // `None` channels: any channel count fits.
            let fits =
                |layout, channels: Option<usize>| {
                    let expected = batch_shape(layout, &self.input_size, channels.unwrap_or(0), 0);
                    let channel_axis = match layout {
                        Layout::Nchw => 1,
                        Layout::Nhwc => expected.len() - 1,
                    };
                    dims.len() == expected.len()
                        && dims.iter().zip(&expected).enumerate().skip(1).all(
                            |(axis, (dim, &want))| {
                                (channels.is_none() && axis == channel_axis)
                                    || !matches!(dim, Dim::Fixed(n) if *n != want as i64)
                            },
                        )
                };
            if !fits(self.layout, Some(channels)) {
                let other = match self.layout {
                    Layout::Nchw => Layout::Nhwc,
                    Layout::Nhwc => Layout::Nchw,
                };
                let field = if dims.len() != self.dims.count() + 2 {
                    "dims"
                } else if fits(other, Some(channels)) {
                    "layout"
                } else if fits(self.layout, None) {
                    "preprocessing"
                } else {
                    "input_size"
                };
                let plural = if channels == 1 { "" } else { "s" };
                return mismatch(
                    field,
                    format!(
                        "the card implies input shape [N, {}] ({}D, {:?}, {channels} channel{plural}) but the graph's `{}` is {}",
                        join(&self.input_shape(0)[1..]),
                        self.dims.count(),
                        self.layout,
                        input.name,
                        input.shape_text()
                    ),
                );
            }
        }

        let output = self.prediction_output(model)?;
        let per_case = self.output.values_per_case(self.class_names.len()) as i64;
        if let Some(dims) = &output.shape {
            let last = dims.last().filter(|_| dims.len() >= 2);
            let fits = match last {
                Some(Dim::Fixed(n)) => *n == per_case,
                Some(_) => true,
                None => dims.len() == 1 && per_case == 1,
            };
            if !fits {
                return mismatch(
                    "output",
                    format!(
                        "{:?} over {} classes needs output shape [N, {per_case}], the graph's `{}` is {}",
                        self.output,
                        self.class_names.len(),
                        output.name,
                        output.shape_text()
                    ),
                );
            }
        }

        let produced = |name: &String| {
            summary
                .tensors
                .iter()
                .chain(&summary.outputs)
                .any(|t| &t.name == name)
        };
        if let Some(layer) = self.feature_layers.iter().find(|l| !produced(l)) {
            return mismatch(
                "feature_layers",
                format!("the graph produces no tensor `{layer}`"),
            );
        }
        Ok(())
    }

    /// The checks that need no graph.
    fn validate_self(&self) -> Result<()> {
        let mismatch = |field, problem: String| Err(Error::CardMismatch { field, problem });
        if self.class_names.len() < 2 {
            return mismatch(
                "class_names",
                format!("needs at least two classes, got {:?}", self.class_names),
            );
        }
        if matches!(
            self.output,
            OutputKind::SigmoidLogit | OutputKind::SigmoidProbability
        ) && self.class_names.len() != 2
        {
            return mismatch(
                "class_names",
                format!(
                    "a sigmoid output separates two classes, got {:?}",
                    self.class_names
                ),
            );
        }
        if let Some((i, name)) = self
            .class_names
            .iter()
            .enumerate()
            .find(|(i, name)| self.class_names[..*i].contains(name))
        {
            return mismatch(
                "class_names",
                format!(
                    "`{name}` is listed twice (again at position {i}); class names must be distinct"
                ),
            );
        }
        self.positive_index()?;
        if self.input_size.len() != self.dims.count() || self.input_size.contains(&0) {
            return mismatch(
                "input_size",
                format!(
                    "needs {} non-zero extents for dims {}, got {:?}",
                    self.dims.count(),
                    self.dims.count(),
                    self.input_size
                ),
            );
        }
        let channels = self.preprocessing.channels();
        for (i, channel) in channels.iter().enumerate() {
            let which = if channels.len() == 1 {
                String::new()
            } else {
                format!("channel {i} ")
            };
            let (low, high) = channel.intensity.bounds();
            if !(low.is_finite() && high.is_finite() && low < high) {
                return mismatch(
                    "preprocessing.intensity",
                    format!("{which}needs a finite, non-empty HU range, got [{low}, {high}]"),
                );
            }
            if let Normalisation::MeanStd { mean, std } = channel.normalisation
                && !(mean.is_finite() && std.is_finite() && std > 0.0)
            {
                return mismatch(
                    "preprocessing.normalisation",
                    format!(
                        "{which}needs a finite mean and a positive std, got mean {mean}, std {std}"
                    ),
                );
            }
        }
        Ok(())
    }

    /// The range of values [`preprocess`](Self::preprocess) produces, over all channels
    /// (the union of [`channel_ranges`](Self::channel_ranges)).
    pub fn input_range(&self) -> (f32, f32) {
        self.channel_ranges()
            .into_iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (l, h)| {
                (lo.min(l), hi.max(h))
            })
    }

    /// The range of values each channel's recipe produces, in channel order (see
    /// [`Preprocessing::output_range`]).
    pub fn channel_ranges(&self) -> Vec<(f32, f32)> {
        self.preprocessing
            .channels()
            .iter()
            .map(Preprocessing::output_range)
            .collect()
    }

    /// Index of the channel that holds flat value `index` of a batch in the card's shape.
    fn channel_of(&self, index: usize) -> usize {
        let channels = self.channel_count();
        match self.layout {
            Layout::Nhwc => index % channels,
            Layout::Nchw => (index / self.input_size.iter().product::<usize>().max(1)) % channels,
        }
    }

    /// Fails with [`Error::OutOfRange`] when a value of a model-ready batch (in the card's
    /// shape) is outside its channel's range by more than half that range's width:
    /// Hounsfield units fed where `[0, 1]` is expected give confident nonsense.
    pub fn check_range(&self, batch: &Tensor) -> Result<()> {
        let ranges = self.channel_ranges();
        let bounds: Vec<(f32, f32)> = ranges
            .iter()
            .map(|&(low, high)| {
                let margin = (high - low) / 2.0;
                (low - margin, high + margin)
            })
            .collect();
        let outside = |value: f32, (low, high): (f32, f32)| value < low || value > high;
        // Every pass of an explainer checks a whole batch, so this walks runs of one channel
        // rather than working out each value's channel.
        let first = match self.layout {
            Layout::Nhwc => {
                batch
                    .data
                    .chunks(bounds.len())
                    .enumerate()
                    .find_map(|(pixel, values)| {
                        values
                            .iter()
                            .zip(&bounds)
                            .position(|(&v, &b)| outside(v, b))
                            .map(|c| pixel * bounds.len() + c)
                    })
            }
            Layout::Nchw => {
                let plane = self.input_size.iter().product::<usize>().max(1);
                batch
                    .data
                    .chunks(plane)
                    .enumerate()
                    .find_map(|(run, values)| {
                        let b = bounds[run % bounds.len()];
                        values
                            .iter()
                            .position(|&v| outside(v, b))
                            .map(|i| run * plane + i)
                    })
            }
        };
        match first {
            None => Ok(()),
            Some(index) => {
                let (low, high) = ranges[self.channel_of(index)];
                Err(Error::OutOfRange {
                    tensor: self.input.clone(),
                    index,
                    value: batch.data[index],
                    low,
                    high,
                })
            }
        }
    }

    /// A model-ready batch of `cases` blank images: every channel at the low end of its
    /// range (what air or the window's floor becomes), for trial runs. Checked against the
    /// default [`MemoryBudget`].
    pub fn blank_input(&self, cases: usize) -> Result<Tensor> {
        self.validate_self()?;
        let shape = self.input_shape(cases);
        let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        MemoryBudget::default().check_elements("a blank input batch", &dims, 4)?;
        let ranges = self.channel_ranges();
        let len = shape.iter().product::<usize>();
        Ok(Tensor::new(
            shape,
            (0..len).map(|i| ranges[self.channel_of(i)].0).collect(),
        )?)
    }

    /// Turns HU images into one model input batch, following the card.
    ///
    /// Each image is `input_size` (`[H, W]` or `[D, H, W]`, already resampled: resizing is
    /// the imaging crate's job). Each channel's recipe clips and normalises the same HU
    /// values; the channels are laid out as `[N, C, …]` or `[N, …, C]` (with one channel
    /// both layouts share the same memory order, only the shape differs). Non-finite HU
    /// values are rejected; the batch is checked against the default [`MemoryBudget`]
    /// first (see [`preprocess_within`](Self::preprocess_within)).
    ///
    /// ```
    /// # use explainme_onnx::ModelCard;
    /// let card = ModelCard::from_json(r#"{
    ///     "input": "x", "layout": "NHWC", "dims": 2, "input_size": [1, 2],
    ///     "preprocessing": { "intensity": { "window": { "centre": 40, "width": 400 } },
    ///                        "normalisation": "unit" },
    ///     "output": "sigmoid_probability", "class_names": ["benign", "malignant"],
    ///     "positive_class": "malignant" }"#)?;
    /// let hu = explainme_onnx::Tensor::new(vec![1, 2], vec![-1000.0, 90.0])?;
    /// let batch = card.preprocess(&[hu])?;
    /// assert_eq!(batch.shape, [1, 1, 2, 1]);
    /// assert_eq!(batch.data, [0.0, 0.625]); // -1000 clips to -160; 90 is 250/400 of the way
    /// # Ok::<(), explainme_onnx::Error>(())
    /// ```
    pub fn preprocess(&self, images: &[Tensor]) -> Result<Tensor> {
        self.preprocess_within(images, &MemoryBudget::default())
    }

    /// [`preprocess`](Self::preprocess) with the batch (`N × C` times an image) checked
    /// against `budget` before it is allocated.
    pub fn preprocess_within(&self, images: &[Tensor], budget: &MemoryBudget) -> Result<Tensor> {
        self.validate_self()?;
        let shape = self.input_shape(images.len());
        let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        budget.check_elements(
            format_args!("the preprocessed batch of {} images", images.len()),
            &dims,
            4,
        )?;
        let channels = self.preprocessing.channels();
        let mut data = Vec::with_capacity(shape.iter().product());
        for (i, image) in images.iter().enumerate() {
            let name = format!("image {i}");
            crate::tensor::check_len(image, &name)?;
            if image.shape != self.input_size {
                return Err(Error::ShapeMismatch {
                    tensor: name,
                    expected: format!("{:?} (input_size)", self.input_size),
                    got: image.shape.clone(),
                });
            }
            crate::tensor::check_finite(image, &name)?;
            match self.layout {
                Layout::Nchw => {
                    for channel in channels {
                        data.extend(image.data.iter().map(|&hu| channel.apply(hu)));
                    }
                }
                Layout::Nhwc => {
                    for &hu in &image.data {
                        data.extend(channels.iter().map(|channel| channel.apply(hu)));
                    }
                }
            }
        }
        Ok(Tensor::new(shape, data)?)
    }
}

/// `[batch, channels, spatial…]` or `[batch, spatial…, channels]`.
fn batch_shape(layout: Layout, spatial: &[usize], channels: usize, batch: usize) -> Vec<usize> {
    let mut shape = vec![batch];
    match layout {
        Layout::Nchw => {
            shape.push(channels);
            shape.extend(spatial);
        }
        Layout::Nhwc => {
            shape.extend(spatial);
            shape.push(channels);
        }
    }
    shape
}
fn names(infos: &[TensorInfo]) -> String {
    infos
        .iter()
        .map(|t| format!("`{}`", t.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join(values: &[usize]) -> String {
    values
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
