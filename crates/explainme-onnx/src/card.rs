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
    /// How Hounsfield units become input values.
    pub preprocessing: Preprocessing,
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

/// Intensity handling, applied in order: clip to a HU range, then normalise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessing {
    /// The HU range kept; values outside are clipped to its ends.
    pub intensity: Intensity,
    /// How the clipped HU values are scaled.
    pub normalisation: Normalisation,
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

    /// Shape of a batch of `batch` preprocessed images: `[N, 1, H, W]` or `[N, H, W, 1]`
    /// (and the 3D analogues).
    pub fn input_shape(&self, batch: usize) -> Vec<usize> {
        batch_shape(self.layout, &self.input_size, batch)
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
    /// preprocessing bounds, `input` is a float graph input of rank `dims + 2` whose fixed
    /// axes agree with `layout`, one channel and `input_size`, the prediction output's
    /// last axis matches `output` and the classes, and every feature layer is a tensor of
    /// the graph.
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
            let fits = |layout| {
                let expected = batch_shape(layout, &self.input_size, 0);
                dims.len() == expected.len()
                    && dims
                        .iter()
                        .zip(&expected)
                        .skip(1)
                        .all(|(dim, &want)| !matches!(dim, Dim::Fixed(n) if *n != want as i64))
            };
            if !fits(self.layout) {
                let other = match self.layout {
                    Layout::Nchw => Layout::Nhwc,
                    Layout::Nhwc => Layout::Nchw,
                };
                let field = if dims.len() != self.dims.count() + 2 {
                    "dims"
                } else if fits(other) {
                    "layout"
                } else {
                    "input_size"
                };
                return mismatch(
                    field,
                    format!(
                        "the card implies input shape [N, {}] ({}D, {:?}, one channel) but the graph's `{}` is {}",
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
        let per_case = match self.output {
            OutputKind::SigmoidProbability | OutputKind::SigmoidLogit => 1,
            OutputKind::Softmax => self.class_names.len() as i64,
        };
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
        let (low, high) = self.preprocessing.intensity.bounds();
        if !(low.is_finite() && high.is_finite() && low < high) {
            return mismatch(
                "preprocessing.intensity",
                format!("needs a finite, non-empty HU range, got [{low}, {high}]"),
            );
        }
        if let Normalisation::MeanStd { mean, std } = self.preprocessing.normalisation
            && !(mean.is_finite() && std.is_finite() && std > 0.0)
        {
            return mismatch(
                "preprocessing.normalisation",
                format!("needs a finite mean and a positive std, got mean {mean}, std {std}"),
            );
        }
        Ok(())
    }

    /// The range of values [`preprocess`](Self::preprocess) produces: `[0, 1]` for unit
    /// normalisation, the clipped HU range standardised or as it is otherwise.
    pub fn input_range(&self) -> (f32, f32) {
        let (low, high) = self.preprocessing.intensity.bounds();
        match self.preprocessing.normalisation {
            Normalisation::Unit => (0.0, 1.0),
            Normalisation::MeanStd { mean, std } => ((low - mean) / std, (high - mean) / std),
            Normalisation::None => (low, high),
        }
    }

    /// Turns HU images into one model input batch, following the card.
    ///
    /// Each image is `input_size` (`[H, W]` or `[D, H, W]`, already resampled: resizing is
    /// the imaging crate's job). Values are clipped to the HU range, normalised, and laid
    /// out as `[N, 1, …]` or `[N, …, 1]`; with one channel both layouts share the same
    /// memory order, only the shape differs. Non-finite HU values are rejected.
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
        self.validate_self()?;
        let (low, high) = self.preprocessing.intensity.bounds();
        let mut data = Vec::with_capacity(images.len() * self.input_size.iter().product::<usize>());
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
            data.extend(image.data.iter().map(|&hu| {
                let hu = hu.clamp(low, high);
                match self.preprocessing.normalisation {
                    Normalisation::Unit => (hu - low) / (high - low),
                    Normalisation::MeanStd { mean, std } => (hu - mean) / std,
                    Normalisation::None => hu,
                }
            }));
        }
        Ok(Tensor::new(self.input_shape(images.len()), data)?)
    }
}

/// `[batch, 1, spatial…]` or `[batch, spatial…, 1]`.
fn batch_shape(layout: Layout, spatial: &[usize], batch: usize) -> Vec<usize> {
    let mut shape = vec![batch];
    match layout {
        Layout::Nchw => {
            shape.push(1);
            shape.extend(spatial);
        }
        Layout::Nhwc => {
            shape.extend(spatial);
            shape.push(1);
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
