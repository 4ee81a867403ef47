//! Drafting a model card from the graph alone, for models nobody here trained.
//!
//! A graph says its input's name and shape, what its last operator is and where its
//! activations are; it does not say how Hounsfield units were windowed in training or what
//! the classes are called. [`draft_card`] reads what the graph says, guesses what it only
//! suggests (the layout from the first operator or the input's shape, the output kind from
//! the last operator), fills the rest with defaults that run (an abdominal window 40/400
//! scaled to `[0, 1]`, classes `benign`/`malignant` or `class_0…`), and lists each field
//! with where its value came from, so the user knows what to check. The draft always
//! validates against the graph it came from.
//!
//! Deliberately not done: guessing the HU windows or normalisation from the weights, or
//! class names from anything; those must come from whoever trained the model.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::card::{Intensity, Normalisation, OutputKind, Preprocessing, SpatialDims};
use crate::model::ACTIVATION_OPS;
use crate::{Dim, Error, InputChannels, Layout, Model, ModelCard, Result};

/// A drafted card and how each field was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The card; it validates against the graph and runs as it is.
    pub card: ModelCard,
    /// One note per card field, in card order.
    pub notes: Vec<DraftNote>,
    /// Every activation output of a convolutional block, in graph order; the card's
    /// `feature_layers` are the last of each spatial resolution among them.
    pub candidate_layers: Vec<String>,
}

/// Where one card field's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftNote {
    /// The card field, e.g. `layout`.
    pub field: String,
    /// Read from the graph, guessed from it, or a default.
    pub source: DraftSource,
    /// Why this value, in words.
    pub note: String,
}

/// How sure a drafted value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftSource {
    /// The graph states it.
    Graph,
    /// Inferred from the graph; likely right, worth a look.
    Guess,
    /// The graph cannot say; a value that runs, to be replaced by the real one.
    Default,
}

/// Operators looked through when following the output back to its last meaningful op.
const PASS_THROUGH_OPS: &[&str] = &[
    "Identity",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Cast",
    "Dropout",
];

/// The abdominal window every drafted channel starts from, unless three channels suggest
/// the usual CT-as-RGB triple.
const SOFT_TISSUE: (f32, f32) = (40.0, 400.0);

/// Soft tissue, lung and bone: the common choice for feeding CT to an ImageNet backbone.
const THREE_WINDOWS: [(f32, f32); 3] = [SOFT_TISSUE, (-600.0, 1500.0), (400.0, 1800.0)];

/// Extent used for a spatial axis the graph leaves symbolic.
const DEFAULT_SIDE: usize = 64;

/// Drafts a card for `model` and starts an ONNX Runtime session with it (its feature layers
/// exposed), then runs it on `trial_cases` blank cases: the draft is only worth handing out if
/// it runs as it is. `explainme models card` and the DraftModelCard RPC both call this.
pub fn draft_and_try(
    model: &Model,
    trial_cases: usize,
) -> Result<(Draft, crate::Session, crate::Prediction)> {
    let draft = draft_card(model)?;
    let session = crate::Session::new(model, &draft.card, &draft.card.feature_layers)?;
    let prediction = session.predict(&draft.card.blank_input(trial_cases)?)?;
    Ok((draft, session, prediction))
}

/// Drafts a card for `model` (see the module docs); call
/// [`Model::discover_shapes`](crate::Model::discover_shapes) first so that feature layers
/// can be grouped by resolution.
///
/// Fails with [`Error::Unsupported`] when no card could describe the graph: not exactly one
/// float input of rank 4 or 5, a multi-label sigmoid head or a one-class softmax.
///
/// ```
/// use explainme_onnx::{Layout, OutputKind, builder, draft_card};
///
/// let (model, card) = builder::seeded_cnn(7)?;
/// let draft = draft_card(&model)?;
/// assert_eq!(draft.card.layout, Layout::Nchw);
/// assert_eq!(draft.card.input_size, [64, 64]);
/// assert_eq!(draft.card.output, OutputKind::SigmoidProbability);
/// assert_eq!(draft.card.feature_layers, card.feature_layers);
/// # Ok::<(), explainme_onnx::Error>(())
/// ```
pub fn draft_card(model: &Model) -> Result<Draft> {
    let summary = model.summary();
    let mut notes = Vec::new();
    let mut note = |field: &str, source, text: String| {
        notes.push(DraftNote {
            field: field.to_owned(),
            source,
            note: text,
        })
    };

    let [input] = summary.inputs.as_slice() else {
        return Err(Error::Unsupported(format!(
            "explainme feeds one image input; the graph has {} inputs",
            summary.inputs.len()
        )));
    };
    if !matches!(input.elem_type.as_str(), "float" | "unknown") {
        return Err(Error::Unsupported(format!(
            "`{}` holds {}, only float inputs are supported",
            input.name, input.elem_type
        )));
    }
    let dims = match input.shape.as_deref() {
        Some(dims) if matches!(dims.len(), 4 | 5) => dims,
        _ => {
            return Err(Error::Unsupported(format!(
                "`{}` is {}; an image input has rank 4 ([N, C, H, W] or [N, H, W, C]) or 5 (3D)",
                input.name,
                input.shape_text()
            )));
        }
    };
    note(
        "input",
        DraftSource::Graph,
        format!("the graph's only input, shape {}", input.shape_text()),
    );

    let rank = dims.len();
    let spatial_dims = if rank == 4 {
        SpatialDims::Two
    } else {
        SpatialDims::Three
    };
    let (layout, layout_source, why) = match first_layout_evidence(model, &input.name, dims) {
        Some((layout, why)) => (layout, DraftSource::Graph, why),
        None => {
            let (layout, why) = layout_from_shape(dims);
            (layout, DraftSource::Guess, why)
        }
    };
    note("layout", layout_source, why);
    note(
        "dims",
        DraftSource::Graph,
        format!("rank {rank} input: {}D", spatial_dims.count()),
    );

    let (channel_axis, spatial_axes) = match layout {
        Layout::Nchw => (1, 2..rank),
        Layout::Nhwc => (rank - 1, 1..rank - 1),
    };
    let fixed = |d: &Dim| match d {
        Dim::Fixed(n) if *n > 0 => usize::try_from(*n).ok(),
        _ => None,
    };
    let input_size: Vec<usize> = dims[spatial_axes.clone()]
        .iter()
        .map(|d| fixed(d).unwrap_or(DEFAULT_SIDE))
        .collect();
    if dims[spatial_axes].iter().all(|d| fixed(d).is_some()) {
        note(
            "input_size",
            DraftSource::Graph,
            "the input's fixed spatial extents".into(),
        );
    } else {
        note(
            "input_size",
            DraftSource::Default,
            format!(
                "the graph leaves some spatial extents open; {DEFAULT_SIDE} used there, set \
                 the size the model was trained at"
            ),
        );
    }

    let channels = fixed(&dims[channel_axis]);
    let count = channels.unwrap_or(1);
    let window = |(centre, width): (f32, f32)| Preprocessing {
        intensity: Intensity::Window { centre, width },
        normalisation: Normalisation::Unit,
    };
    let recipes: Vec<Preprocessing> = if count == 3 {
        THREE_WINDOWS.into_iter().map(window).collect()
    } else {
        (0..count).map(|_| window(SOFT_TISSUE)).collect()
    };
    let preprocessing =
        InputChannels::new(recipes).map_err(|e| Error::Unsupported(e.to_string()))?;
    note(
        "preprocessing",
        DraftSource::Default,
        match (channels, count) {
            (None, _) => "the graph leaves the channel axis open; one channel assumed, with \
                          the abdominal window (centre 40, width 400) scaled to [0, 1]: set \
                          the training windows and normalisation"
                .into(),
            (Some(_), 3) => "3 input channels: soft-tissue (40/400), lung (-600/1500) and bone \
                             (400/1800) windows, each scaled to [0, 1], the usual CT-as-RGB \
                             triple; the graph cannot say which windows training used, nor an \
                             ImageNet mean/std (write it as mean_std in HU: mean = low + m·width, \
                             std = s·width)"
                .into(),
            (Some(_), n) => format!(
                "{n} input channel(s), each the abdominal window (centre 40, width 400) scaled \
                 to [0, 1]; the graph cannot say how training windowed HU"
            ),
        },
    );

    let output = summary
        .outputs
        .first()
        .ok_or_else(|| Error::MalformedModel("the graph has no outputs".into()))?;
    let width = match output.shape.as_deref() {
        Some([_]) => Some(1),
        Some(dims) if dims.len() >= 2 => dims.last().and_then(fixed),
        _ => None,
    };
    let last_op = last_meaningful_op(model, &output.name);
    let (kind, source, why) = match (last_op.as_deref(), width) {
        (Some("Sigmoid"), Some(1) | None) => (
            OutputKind::SigmoidProbability,
            DraftSource::Graph,
            "the output comes from a Sigmoid over one value".to_owned(),
        ),
        (Some("Sigmoid"), Some(k)) => {
            return Err(Error::Unsupported(format!(
                "`{}` holds {k} independent sigmoids (a multi-label head); explainme reads one \
                 sigmoid or a softmax over classes",
                output.name
            )));
        }
        (Some("Softmax"), Some(k)) if k >= 2 => (
            OutputKind::Softmax,
            DraftSource::Graph,
            format!("the output comes from a Softmax over {k} classes"),
        ),
        (Some("Softmax"), _) => {
            return Err(Error::Unsupported(format!(
                "`{}` is a softmax over {} value(s); a softmax needs at least two classes",
                output.name,
                width.map_or("an unknown number of".into(), |k| k.to_string())
            )));
        }
        // A LogSoftmax lands here too: softmax(log_softmax(x)) = softmax(x).
        (op, Some(k)) if k >= 2 => (
            OutputKind::SoftmaxLogits,
            DraftSource::Guess,
            format!(
                "{} values per case from {}: read as logits, softmax applied here",
                k,
                op.unwrap_or("the graph")
            ),
        ),
        (op, w) => (
            OutputKind::SigmoidLogit,
            if w.is_some() {
                DraftSource::Guess
            } else {
                DraftSource::Default
            },
            format!(
                "{} from {}: read as a logit, sigmoid applied here",
                if w.is_some() {
                    "one value per case"
                } else {
                    "an output of undeclared width, assumed one value per case,"
                },
                op.unwrap_or("the graph")
            ),
        ),
    };
    note("output", source, why);
    let classes = kind.values_per_case(width.unwrap_or(2)).max(2);
    let class_names: Vec<String> = if classes == 2 {
        vec!["benign".into(), "malignant".into()]
    } else {
        (0..classes).map(|k| format!("class_{k}")).collect()
    };
    let positive_class = class_names.last().cloned().unwrap_or_default();
    note(
        "class_names",
        DraftSource::Default,
        format!(
            "placeholders {class_names:?} in output order; the graph does not name its classes"
        ),
    );
    note(
        "positive_class",
        DraftSource::Default,
        format!("`{positive_class}`, the last class; set the class whose probability to report"),
    );

    let layouts = model.channel_layouts(layout);
    let candidates: Vec<(&str, Option<Vec<i64>>)> = summary
        .tensors
        .iter()
        .filter(|t| {
            t.producer_op
                .as_deref()
                .is_some_and(|op| ACTIVATION_OPS.contains(&op))
                && matches!(t.elem_type.as_str(), "float" | "unknown")
                && t.shape.as_ref().is_none_or(|s| s.len() == rank)
        })
        .filter_map(|t| {
            let layout = *layouts.get(&t.name)?;
            let extents = t.shape.as_ref().and_then(|s| {
                let axes = match layout {
                    Layout::Nchw => 2..s.len(),
                    Layout::Nhwc => 1..s.len() - 1,
                };
                s[axes]
                    .iter()
                    .map(|d| fixed(d).map(|n| n as i64))
                    .collect::<Option<Vec<_>>>()
            });
            // Pooled gates (squeeze-and-excitation sigmoids) have no spatial extent.
            match &extents {
                Some(e) if e.iter().all(|&n| n == 1) => None,
                _ => Some((t.name.as_str(), extents)),
            }
        })
        .collect();
    let feature_layers: Vec<String> = candidates
        .iter()
        .enumerate()
        .filter(|(i, (_, extents))| {
            extents.is_none()
                || candidates
                    .get(i + 1)
                    .is_none_or(|(_, next)| next != extents)
        })
        .map(|(_, (name, _))| (*name).to_owned())
        .collect();
    note(
        "feature_layers",
        DraftSource::Guess,
        if feature_layers.is_empty() {
            "no activation output of a convolutional block found; add the tensors to read".into()
        } else {
            format!(
                "the last activation at each spatial resolution ({} of {} candidates)",
                feature_layers.len(),
                candidates.len()
            )
        },
    );

    let card = ModelCard {
        input: input.name.clone(),
        output_name: None,
        layout,
        dims: spatial_dims,
        input_size,
        preprocessing,
        output: kind,
        class_names,
        positive_class,
        feature_layers,
    };
    card.validate(model)?;
    Ok(Draft {
        card,
        notes,
        candidate_layers: candidates.iter().map(|(n, _)| (*n).to_owned()).collect(),
    })
}

/// The layout the graph itself shows: the input (through element-wise operators) reaching
/// a channels-first operator means NCHW; reaching a `Transpose` that moves the last axis to
/// position 1 (tf2onnx's NHWC → NCHW), or a `Reshape` that does the same to a one-channel
/// input (what tf2onnx's optimiser makes of that transpose), means NHWC.
fn first_layout_evidence(model: &Model, input: &str, dims: &[Dim]) -> Option<(Layout, String)> {
    let graph = model.proto().graph.as_ref()?;
    let constants = crate::surgery::constants(graph);
    let mut readers: HashMap<&str, Vec<&crate::proto::NodeProto>> = HashMap::new();
    for node in &graph.node {
        for i in &node.input {
            readers.entry(i.as_str()).or_default().push(node);
        }
    }
    let rank = dims.len();
    let fixed: Vec<Option<i64>> = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Some(*n),
            _ => None,
        })
        .collect();
    // The input's extents with the last axis moved to position 1.
    let mut channels_first = fixed.clone();
    let last = channels_first.remove(rank - 1);
    channels_first.insert(1, last);
    let mut frontier = vec![input];
    for _ in 0..8 {
        let mut next = Vec::new();
        for tensor in frontier {
            for node in readers.get(tensor).into_iter().flatten() {
                let elementwise = matches!(
                    node.op_type(),
                    "Add" | "Sub" | "Mul" | "Div" | "Identity" | "Cast"
                );
                if node.input.first().map(String::as_str) != Some(tensor) && !elementwise {
                    continue;
                }
                match node.op_type() {
                    "Conv" | "MaxPool" | "AveragePool" | "BatchNormalization" => {
                        return Some((
                            Layout::Nchw,
                            format!(
                                "the input feeds `{}` ({}), which is channels-first",
                                node.name(),
                                node.op_type()
                            ),
                        ));
                    }
                    "Transpose" => {
                        let perm = &node.attribute.iter().find(|a| a.name() == "perm")?.ints;
                        return (perm.len() == rank && perm.get(1) == Some(&(rank as i64 - 1)))
                            .then(|| {
                                (
                                    Layout::Nhwc,
                                    format!(
                                        "the input is transposed channels-last to channels-first \
                                         by `{}` (perm {perm:?}), as tf2onnx does for Keras models",
                                        node.name()
                                    ),
                                )
                            });
                    }
                    "Reshape" => {
                        let target = constants.get(node.input.get(1)?)?.ints.as_ref()?;
                        let moves_last_to_1 = target.len() == rank
                            && fixed[rank - 1] == Some(1)
                            && fixed[1] != Some(1)
                            && target[1..]
                                .iter()
                                .zip(&channels_first[1..])
                                .all(|(&t, &d)| d == Some(t));
                        return moves_last_to_1.then(|| {
                            (
                                Layout::Nhwc,
                                format!(
                                    "the one-channel input is reshaped channels-last to \
                                     channels-first by `{}` (to {target:?}), as tf2onnx does for \
                                     Keras models",
                                    node.name()
                                ),
                            )
                        });
                    }
                    _ if elementwise => next.extend(node.output.iter().map(String::as_str)),
                    _ => {}
                }
            }
        }
        frontier = next;
    }
    None
}

/// Layout from the input's shape alone: the channel axis is the small one (≤ 4) of axis 1
/// and the last axis; channels-first (ONNX's own convention) when both or neither are.
fn layout_from_shape(dims: &[Dim]) -> (Layout, String) {
    let small = |d: &Dim| matches!(d, Dim::Fixed(n) if (1..=4).contains(n));
    let (first, last) = (&dims[1], &dims[dims.len() - 1]);
    match (small(first), small(last)) {
        (false, true) => (
            Layout::Nhwc,
            format!("guessed from the input shape: the last axis ({last}) looks like channels"),
        ),
        (true, false) => (
            Layout::Nchw,
            format!("guessed from the input shape: axis 1 ({first}) looks like channels"),
        ),
        _ => (
            Layout::Nchw,
            "the input shape does not show the channel axis; channels-first assumed (ONNX's \
             convention)"
                .into(),
        ),
    }
}

/// The operator that gives the output its meaning: the producer of `output`, looking
/// through reshapes, identities and casts.
fn last_meaningful_op(model: &Model, output: &str) -> Option<String> {
    let graph = model.proto().graph.as_ref()?;
    let producer: HashMap<&str, &crate::proto::NodeProto> = graph
        .node
        .iter()
        .flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n)))
        .collect();
    let mut tensor = output;
    for _ in 0..16 {
        let node = producer.get(tensor)?;
        match node.op_type() {
            op if PASS_THROUGH_OPS.contains(&op) => tensor = node.input.first()?.as_str(),
            op => return Some(op.to_owned()),
        }
    }
    None
}
