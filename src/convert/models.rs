//! Models: registration input, listings, graph descriptions, predictions, and the mapping
//! of `explainme_onnx::Error` to status codes.

use explainme_onnx::{
    Batching, Dim, Layout, ModelCard, ModelSummary, Prediction, ShapeSource, Tensor,
};
use explainme_store::ModelRecord;
use tonic::Status;

use super::common::identifier;
use crate::pb;

/// A registration request, parsed: the model decoded and the card read, not yet checked
/// against each other (that needs ONNX Runtime, see `api::models`).
pub struct Registration {
    pub name: String,
    pub onnx: Vec<u8>,
    pub model: explainme_onnx::Model,
    pub card: ModelCard,
}

impl TryFrom<pb::RegisterModelRequest> for Registration {
    type Error = Status;

    fn try_from(value: pb::RegisterModelRequest) -> Result<Self, Status> {
        let pb::RegisterModelRequest {
            name,
            onnx,
            card_json,
        } = value;
        if onnx.is_empty() {
            return Err(Status::invalid_argument(
                "onnx: empty; send the .onnx file's bytes",
            ));
        }
        let model = explainme_onnx::Model::from_bytes(&onnx)
            .map_err(|e| Status::invalid_argument(format!("onnx: {e}")))?;
        let card = ModelCard::from_json(&card_json)
            .map_err(|e| Status::invalid_argument(format!("card_json: {e}")))?;
        // Names are logged and shown in reports: the rule of case ids keeps them one short line.
        let name = identifier("name", name)?;
        Ok(Registration {
            name,
            onnx,
            model,
            card,
        })
    }
}

/// A model problem found while loading or running: INVALID_ARGUMENT for the caller's
/// mistakes (bad model, card, tensor), FAILED_PRECONDITION when the server has no ONNX
/// Runtime, INTERNAL otherwise. `field` names the request field the problem traces to.
pub fn onnx_status(field: &str, error: explainme_onnx::Error) -> Status {
    use explainme_onnx::Error as E;
    match error {
        E::RuntimeMissing(_) => Status::failed_precondition(error.to_string()),
        E::OverBudget(_) => Status::resource_exhausted(format!("{field}: {error}")),
        E::MalformedModel(_)
        | E::CardSyntax(_)
        | E::CardMismatch { .. }
        | E::UnknownTensor(_)
        | E::ShapeMismatch { .. }
        | E::NonFinite { .. }
        | E::OutOfRange { .. }
        | E::Tensor(_)
        | E::Unsupported(_) => Status::invalid_argument(format!("{field}: {error}")),
        _ => {
            tracing::error!(error = ?error.to_string(), "model failure");
            Status::internal(error.to_string())
        }
    }
}

impl From<ModelRecord> for pb::ModelInfo {
    fn from(value: ModelRecord) -> Self {
        let ModelRecord {
            id,
            name,
            onnx_sha256,
            onnx_bytes,
            card_json,
            created_at,
        } = value;
        pb::ModelInfo {
            model_id: id,
            name,
            onnx_sha256,
            onnx_bytes,
            card_json,
            created_at,
        }
    }
}

/// A model's graph for DescribeModel.
pub fn description(model: pb::ModelInfo, summary: &ModelSummary) -> pb::DescribeModelResponse {
    let ModelSummary {
        inputs,
        outputs,
        nodes,
        tensors,
        parameters,
        opset,
        producer,
    } = summary;
    let layers = tensors
        .iter()
        .map(|tensor| {
            let node = nodes.iter().find(|n| n.outputs.contains(&tensor.name));
            pb::LayerInfo {
                tensor: Some(tensor_info(tensor)),
                node_name: node.map(|n| n.name.clone()).unwrap_or_default(),
                op_type: node
                    .map(|n| n.op_type.clone())
                    .or_else(|| tensor.producer_op.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    pb::DescribeModelResponse {
        model: Some(model),
        inputs: inputs.iter().map(tensor_info).collect(),
        outputs: outputs.iter().map(tensor_info).collect(),
        layers,
        parameters: *parameters,
        opset: *opset,
        producer: producer.clone(),
    }
}

fn tensor_info(tensor: &explainme_onnx::TensorInfo) -> pb::TensorInfo {
    let explainme_onnx::TensorInfo {
        name,
        elem_type,
        shape,
        shape_source,
        producer_op: _, // reported as the layer's op_type
    } = tensor;
    let dims = shape.iter().flatten().map(|dim| match dim {
        Dim::Fixed(n) => *n,
        Dim::Symbolic(_) | Dim::Unknown => -1,
    });
    let shape_source = match shape_source {
        ShapeSource::Declared => pb::ShapeSource::Declared,
        ShapeSource::Discovered => pb::ShapeSource::Discovered,
        ShapeSource::Unknown => pb::ShapeSource::Unknown,
    };
    pb::TensorInfo {
        name: name.clone(),
        element_type: elem_type.clone(),
        shape: dims.collect(),
        shape_text: tensor.shape_text(),
        shape_source: shape_source.into(),
    }
}

/// Which intermediate layers a Predict call wants summarised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LayerChoice {
    /// The card's default feature layers.
    CardDefaults,
    /// Exactly these, in this order; empty for the verdict alone.
    Only(Vec<String>),
}

/// A Predict request, parsed.
pub struct PredictInput {
    pub model_id: String,
    pub batch: Tensor,
    pub layers: LayerChoice,
}

impl TryFrom<pb::PredictRequest> for PredictInput {
    type Error = Status;

    fn try_from(value: pb::PredictRequest) -> Result<Self, Status> {
        let pb::PredictRequest {
            model_id,
            input,
            layers,
            prediction_only,
        } = value;
        let layers = match (prediction_only, layers.is_empty()) {
            (true, false) => {
                return Err(Status::invalid_argument(
                    "layers: must be empty when prediction_only is set",
                ));
            }
            (true, true) => LayerChoice::Only(Vec::new()),
            (false, true) => LayerChoice::CardDefaults,
            (false, false) => LayerChoice::Only(layers),
        };
        let (shape, data) = super::common::tensor("input", input)?;
        let batch = Tensor::new(shape, data).map_err(|e| onnx_status("input", e.into()))?;
        Ok(PredictInput {
            model_id,
            batch,
            layers,
        })
    }
}

/// The Predict answer: per batch item, the verdict and each layer's per-channel statistics.
pub fn prediction(
    card: &ModelCard,
    batching: &Batching,
    prediction: Prediction,
) -> Result<pb::PredictResponse, Status> {
    let Prediction {
        probabilities,
        classes,
        class_probabilities: _,
        activations,
    } = prediction;
    // Each activation knows its own layout: tf2onnx keeps NHWC inputs but its convolutions
    // produce NCHW tensors, so the card's input layout would average the wrong axis.
    let stats = activations
        .iter()
        .map(|a| a.channel_stats().map_err(|e| onnx_status(&a.layer, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let items = probabilities
        .iter()
        .zip(&classes)
        .enumerate()
        .map(|(item, (&probability, &class_index))| pb::ItemPrediction {
            probability,
            class_name: card
                .class_names
                .get(class_index)
                .cloned()
                .unwrap_or_default(),
            class_index: u32::try_from(class_index).unwrap_or(u32::MAX),
            layers: activations
                .iter()
                .zip(&stats)
                .map(|(activation, per_item)| {
                    let channels = per_item.get(item).map(Vec::as_slice).unwrap_or_default();
                    pb::LayerActivation {
                        layer: activation.layer.clone(),
                        shape: activation.tensor.shape[1..]
                            .iter()
                            .map(|&d| d as u64)
                            .collect(),
                        channel_mean: channels.iter().map(|s| s.mean).collect(),
                        channel_max: channels.iter().map(|s| s.max).collect(),
                        layout: match activation.layout {
                            Layout::Nchw => pb::ChannelLayout::Nchw,
                            Layout::Nhwc => pb::ChannelLayout::Nhwc,
                        }
                        .into(),
                    }
                })
                .collect(),
        })
        .collect();
    Ok(pb::PredictResponse {
        items,
        batching: Some(self::batching(batching)),
    })
}

/// How the batch reached the graph, for the Predict answer.
pub fn batching(batching: &Batching) -> pb::Batching {
    let (mode, reason) = match batching {
        Batching::Native => (pb::BatchingMode::Native, String::new()),
        Batching::MadeSymbolic => (pb::BatchingMode::MadeSymbolic, String::new()),
        Batching::OneByOne { reason } => (pb::BatchingMode::OneByOne, reason.clone()),
    };
    pb::Batching {
        mode: mode as i32,
        reason,
    }
}
