//! Reading an ONNX model and describing its graph; editing it to expose intermediate tensors.
//!
//! Parsing uses the prost types generated from the vendored official `onnx.proto`
//! ([`crate::proto`]), so everything ONNX stores is reachable. The [`ModelSummary`] is what a
//! person needs to choose feature layers: inputs, outputs, nodes and every intermediate
//! tensor with its shape. Shapes come from the graph's `value_info`; exporters often omit
//! it, and then [`Model::discover_shapes`](crate::Model::discover_shapes) finds them by one
//! run (see the `session` module). This module needs no ONNX Runtime.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use prost::Message;
use serde::{Deserialize, Serialize};

use crate::proto::{self, tensor_shape_proto::dimension, type_proto};
use crate::{Error, Layout, Result};

/// `doc_string` stamped on `value_info` entries that [`Model::discover_shapes`] adds, so the
/// summary can say where a shape came from even after the model was saved and reloaded.
///
/// [`Model::discover_shapes`]: crate::Model::discover_shapes
pub(crate) const DISCOVERED_MARK: &str =
    "shape discovered by explainme-onnx from one run with batch size 1";

/// A parsed ONNX model and its summary.
#[derive(Debug, Clone)]
pub struct Model {
    proto: proto::ModelProto,
    summary: ModelSummary,
}

/// What the graph consumes, produces and computes in between.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Graph inputs that are fed at run time (initializers listed as inputs are left out).
    pub inputs: Vec<TensorInfo>,
    /// Graph outputs.
    pub outputs: Vec<TensorInfo>,
    /// Nodes in graph order.
    pub nodes: Vec<NodeInfo>,
    /// Every tensor produced by a node that is not a graph output: the candidate feature
    /// layers, in graph order.
    pub tensors: Vec<TensorInfo>,
    /// Number of weights: values held by all initializers.
    pub parameters: u64,
    /// Version of the default (`ai.onnx`) operator set.
    pub opset: i64,
    /// Producer name and version, e.g. `tf2onnx 1.16.1`.
    pub producer: String,
}

/// A named tensor of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// Tensor name as in the graph, e.g. `functional_1/conv1/Relu:0`.
    pub name: String,
    /// ONNX element type in lower case (`float`, `int64`, …), `unknown` when not declared.
    pub elem_type: String,
    /// One entry per axis; `None` when not even the rank is known.
    pub shape: Option<Vec<Dim>>,
    /// Where [`shape`](Self::shape) came from.
    pub shape_source: ShapeSource,
    /// Operator type of the node that produces it (`Relu`, `Conv`, …); `None` for graph inputs.
    pub producer_op: Option<String>,
}

/// One axis of a tensor shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dim {
    /// A known extent.
    Fixed(i64),
    /// A named extent fixed at run time, typically the batch (`N`, `unk__12`, …).
    Symbolic(String),
    /// An axis whose extent is not declared.
    Unknown,
}

/// Where a [`TensorInfo`] shape comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeSource {
    /// Declared in the model (graph input/output or `value_info`).
    Declared,
    /// Measured by one run with a batch of one (so the batch axis reads 1).
    Discovered,
    /// Not known.
    Unknown,
}

/// One operator node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node name (may be empty in ONNX).
    pub name: String,
    /// Operator type, e.g. `Conv`.
    pub op_type: String,
    /// Names of consumed tensors (empty string = omitted optional input).
    pub inputs: Vec<String>,
    /// Names of produced tensors.
    pub outputs: Vec<String>,
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbolic(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

impl TensorInfo {
    /// The shape as text, e.g. `[N, 8, 32, 32]`, or `unknown`.
    pub fn shape_text(&self) -> String {
        match &self.shape {
            None => "unknown".into(),
            Some(dims) => format!(
                "[{}]",
                dims.iter()
                    .map(Dim::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl Model {
    /// Decodes an ONNX model; fails with [`Error::MalformedModel`] when the bytes are not one.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let proto =
            proto::ModelProto::decode(bytes).map_err(|e| Error::MalformedModel(e.to_string()))?;
        Model::from_proto(proto)
    }

    /// Reads and decodes an `.onnx` file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Model::from_bytes(&bytes)
    }

    /// Wraps an already decoded model (e.g. one made with [`crate::builder`]).
    pub fn from_proto(proto: proto::ModelProto) -> Result<Model> {
        let summary = summarise(&proto)?;
        Ok(Model { proto, summary })
    }

    /// The graph's inputs, outputs, nodes and intermediate tensors.
    pub fn summary(&self) -> &ModelSummary {
        &self.summary
    }

    /// The decoded protobuf, for callers who need more than the summary.
    pub fn proto(&self) -> &proto::ModelProto {
        &self.proto
    }

    /// Encodes the model back to ONNX bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.proto.encode_to_vec()
    }

    /// Looks a tensor up by name among inputs, outputs and intermediate tensors.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        let s = &self.summary;
        s.inputs
            .iter()
            .chain(&s.outputs)
            .chain(&s.tensors)
            .find(|t| t.name == name)
    }

    /// A copy of the model in which the named intermediate tensors are also graph outputs.
    ///
    /// ONNX Runtime returns only graph outputs, so this is how activations become visible.
    /// Each tensor is appended to `graph.output` with its declared type and shape when the
    /// graph has them, and with an empty type otherwise (ONNX Runtime then infers it).
    /// Names that already are graph outputs are left as they are; a name that no node
    /// produces is an [`Error::UnknownTensor`].
    pub fn expose(&self, layers: &[String]) -> Result<Model> {
        let mut proto = self.proto.clone();
        let graph = proto
            .graph
            .as_mut()
            .ok_or_else(|| Error::MalformedModel("no graph".into()))?;
        let declared: HashMap<&str, &proto::ValueInfoProto> =
            graph.value_info.iter().map(|v| (v.name(), v)).collect();
        let outputs: HashSet<&str> = graph.output.iter().map(|v| v.name()).collect();
        let mut added = Vec::new();
        for layer in layers {
            if outputs.contains(layer.as_str())
                || added
                    .iter()
                    .any(|v: &proto::ValueInfoProto| v.name() == layer)
            {
                continue;
            }
            if !self.summary.tensors.iter().any(|t| &t.name == layer) {
                return Err(Error::UnknownTensor(layer.clone()));
            }
            let info = declared
                .get(layer.as_str())
                .map(|&v| v.clone())
                .unwrap_or_else(|| proto::ValueInfoProto {
                    name: Some(layer.clone()),
                    ..Default::default()
                });
            added.push(info);
        }
        graph.output.extend(added);
        Model::from_proto(proto)
    }

    /// Where the channel axis of a tensor is, followed through the graph from inputs laid
    /// out as `input_layout`; `None` when the graph does not say.
    ///
    /// Keras exports keep NHWC inputs but ONNX convolutions and pools work channels-first,
    /// so tf2onnx wraps them in transposes and a model's tensors mix both layouts: the
    /// card's layout describes the input only. The rules: graph inputs have
    /// `input_layout`; outputs of ONNX's channels-first operators (`Conv`, pooling,
    /// normalisation, …) are NCHW; `Transpose` moves the channel axis by its `perm`;
    /// element-wise operators keep the layout of their first input that has one;
    /// anything else (`Reshape`, `MatMul`, reductions, …) loses it.
    pub fn channel_layout(&self, tensor: &str, input_layout: Layout) -> Option<Layout> {
        self.channel_layouts(input_layout).remove(tensor)
    }

    /// [`channel_layout`](Self::channel_layout) of every tensor that has one, in one pass
    /// over the nodes (ONNX stores them in topological order).
    pub(crate) fn channel_layouts(&self, input_layout: Layout) -> HashMap<String, Layout> {
        let mut layouts: HashMap<String, Layout> = self
            .summary
            .inputs
            .iter()
            .map(|i| (i.name.clone(), input_layout))
            .collect();
        let Some(graph) = &self.proto.graph else {
            return layouts;
        };
        for node in &graph.node {
            let first_known = || node.input.iter().find_map(|i| layouts.get(i).copied());
            let layout = match node.op_type() {
                op if CHANNELS_FIRST_OPS.contains(&op) => Some(Layout::Nchw),
                op if ACTIVATION_OPS.contains(&op)
                    || BROADCAST_OPS.contains(&op)
                    || UNARY_OPS.contains(&op)
                    || LAYOUT_PRESERVING_OPS.contains(&op) =>
                {
                    first_known()
                }
                "Transpose" => first_known().and_then(|from| transposed(from, node)),
                _ => None,
            };
            if let Some(layout) = layout {
                for output in node.output.iter().filter(|o| !o.is_empty()) {
                    layouts.insert(output.clone(), layout);
                }
            }
        }
        layouts
    }

    /// Replaces the summary-relevant `value_info` entries; used after shape discovery.
    pub(crate) fn with_value_info(&self, infos: Vec<proto::ValueInfoProto>) -> Result<Model> {
        let mut proto = self.proto.clone();
        let graph = proto
            .graph
            .as_mut()
            .ok_or_else(|| Error::MalformedModel("no graph".into()))?;
        let replaced: HashSet<&str> = infos.iter().map(|v| v.name()).collect();
        graph.value_info.retain(|v| !replaced.contains(v.name()));
        graph.value_info.extend(infos);
        Model::from_proto(proto)
    }
}

/// Builds the summary, rejecting protobufs that decode but hold no usable graph (random
/// bytes often decode as an empty message).
fn summarise(model: &proto::ModelProto) -> Result<ModelSummary> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| Error::MalformedModel("the model has no graph".into()))?;
    if graph.node.is_empty() || graph.output.is_empty() {
        return Err(Error::MalformedModel(
            "the graph has no nodes or no outputs".into(),
        ));
    }
    let opset = model
        .opset_import
        .iter()
        .find(|o| matches!(o.domain(), "" | "ai.onnx"))
        .map(|o| o.version())
        .ok_or_else(|| Error::MalformedModel("the model imports no ai.onnx operator set".into()))?;

    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name()).collect();
    let producers: HashMap<&str, &str> = graph
        .node
        .iter()
        .flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n.op_type())))
        .collect();
    let describe = |v: &proto::ValueInfoProto| {
        let mut info = tensor_info(v);
        info.producer_op = producers.get(v.name()).map(|op| (*op).to_owned());
        info
    };
    let declared: HashMap<&str, &proto::ValueInfoProto> =
        graph.value_info.iter().map(|v| (v.name(), v)).collect();
    let outputs: HashSet<&str> = graph.output.iter().map(|v| v.name()).collect();

    let tensors = graph
        .node
        .iter()
        .flat_map(|n| n.output.iter())
        .filter(|name| !name.is_empty() && !outputs.contains(name.as_str()))
        .map(|name| match declared.get(name.as_str()) {
            Some(v) => describe(v),
            None => TensorInfo {
                name: name.clone(),
                elem_type: "unknown".into(),
                shape: None,
                shape_source: ShapeSource::Unknown,
                producer_op: producers.get(name.as_str()).map(|op| (*op).to_owned()),
            },
        })
        .collect();

    Ok(ModelSummary {
        inputs: graph
            .input
            .iter()
            .filter(|v| !initializers.contains(v.name()))
            .map(describe)
            .collect(),
        outputs: graph.output.iter().map(describe).collect(),
        nodes: graph
            .node
            .iter()
            .map(|n| NodeInfo {
                name: n.name().to_owned(),
                op_type: n.op_type().to_owned(),
                inputs: n.input.clone(),
                outputs: n.output.clone(),
            })
            .collect(),
        tensors,
        parameters: graph
            .initializer
            .iter()
            .map(|t| t.dims.iter().map(|&d| d.max(0) as u64).product::<u64>())
            .sum(),
        opset,
        producer: format!("{} {}", model.producer_name(), model.producer_version())
            .trim()
            .to_owned(),
    })
}

fn tensor_info(value: &proto::ValueInfoProto) -> TensorInfo {
    let (elem_type, shape) = match value.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => (
            t.elem_type
                .map_or_else(|| "unknown".to_owned(), elem_type_name),
            t.shape
                .as_ref()
                .map(|s| s.dim.iter().map(dim).collect::<Vec<_>>()),
        ),
        Some(type_proto::Value::SequenceType(_)) => ("sequence".to_owned(), None),
        Some(type_proto::Value::MapType(_)) => ("map".to_owned(), None),
        Some(_) => ("other".to_owned(), None),
        None => ("unknown".to_owned(), None),
    };
    let shape_source = match (&shape, value.doc_string()) {
        (None, _) => ShapeSource::Unknown,
        (Some(_), DISCOVERED_MARK) => ShapeSource::Discovered,
        (Some(_), _) => ShapeSource::Declared,
    };
    TensorInfo {
        name: value.name().to_owned(),
        elem_type,
        shape,
        shape_source,
        producer_op: None,
    }
}

/// The declared dims of a tensor value; `None` when it declares no shape.
pub(crate) fn tensor_dims(value: &proto::ValueInfoProto) -> Option<Vec<Dim>> {
    match value.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => {
            t.shape.as_ref().map(|s| s.dim.iter().map(dim).collect())
        }
        _ => None,
    }
}

fn dim(d: &proto::tensor_shape_proto::Dimension) -> Dim {
    match &d.value {
        Some(dimension::Value::DimValue(n)) => Dim::Fixed(*n),
        Some(dimension::Value::DimParam(s)) if !s.is_empty() => Dim::Symbolic(s.clone()),
        _ => Dim::Unknown,
    }
}

/// `1` → `float`, `7` → `int64`, as ONNX names them.
pub(crate) fn elem_type_name(code: i32) -> String {
    proto::tensor_proto::DataType::try_from(code).map_or_else(
        |_| format!("type {code}"),
        |t| t.as_str_name().to_lowercase(),
    )
}

/// ONNX operators whose spatial inputs and outputs are channels-first by definition.
pub(crate) const CHANNELS_FIRST_OPS: &[&str] = &[
    "Conv",
    "ConvTranspose",
    "ConvInteger",
    "QLinearConv",
    "MaxPool",
    "AveragePool",
    "LpPool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GlobalLpPool",
    "MaxUnpool",
    "BatchNormalization",
    "InstanceNormalization",
    "LRN",
    "DepthToSpace",
    "SpaceToDepth",
];

/// Activation functions: element-wise, so the output keeps the input's axes; their outputs
/// are the candidate feature layers of a drafted card.
pub(crate) const ACTIVATION_OPS: &[&str] = &[
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Elu",
    "Selu",
    "Celu",
    "Gelu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Softplus",
    "Softsign",
    "Mish",
    "Clip",
];

/// Arithmetic with multidirectional broadcasting: the output keeps the input's axes.
pub(crate) const BROADCAST_OPS: &[&str] = &[
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean",
];

/// Unary element-wise operators other than activations: the output keeps the input's axes.
pub(crate) const UNARY_OPS: &[&str] = &[
    "Neg",
    "Abs",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Erf",
    "Identity",
    "Dropout",
    "Cast",
    "QuantizeLinear",
    "DequantizeLinear",
];

/// Padding and concatenation keep the input's axes too.
const LAYOUT_PRESERVING_OPS: &[&str] = &["Pad", "Concat"];

/// The layout after a `Transpose`: output axis `j` is input axis `perm[j]`.
fn transposed(from: Layout, node: &proto::NodeProto) -> Option<Layout> {
    let perm = &node.attribute.iter().find(|a| a.name() == "perm")?.ints;
    let rank = perm.len();
    if rank < 3 {
        return None;
    }
    let channel = match from {
        Layout::Nchw => 1,
        Layout::Nhwc => rank - 1,
    };
    match perm.iter().position(|&axis| axis == channel as i64)? {
        1 => Some(Layout::Nchw),
        j if j == rank - 1 => Some(Layout::Nhwc),
        _ => None,
    }
}

/// A tensor `ValueInfoProto` with a concrete element type and shape.
pub(crate) fn value_info(
    name: &str,
    elem_type: i32,
    dims: &[Dim],
    doc: Option<&str>,
) -> proto::ValueInfoProto {
    let dim = |d: &Dim| proto::tensor_shape_proto::Dimension {
        value: match d {
            Dim::Fixed(n) => Some(dimension::Value::DimValue(*n)),
            Dim::Symbolic(s) => Some(dimension::Value::DimParam(s.clone())),
            Dim::Unknown => None,
        },
        ..Default::default()
    };
    proto::ValueInfoProto {
        name: Some(name.to_owned()),
        r#type: Some(proto::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type),
                shape: Some(proto::TensorShapeProto {
                    dim: dims.iter().map(dim).collect(),
                }),
            })),
            ..Default::default()
        }),
        doc_string: doc.map(str::to_owned),
        ..Default::default()
    }
}
