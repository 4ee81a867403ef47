//! A small ONNX graph builder, for models written in Rust.
//!
//! Tests need models whose every weight they know, benchmarks need a CNN of a given size,
//! and neither should depend on Python or on files of unknown provenance. [`GraphBuilder`]
//! writes [`proto::ModelProto`]s with float inputs, initializers and nodes; it checks
//! nothing (ONNX Runtime does, when a session is made). [`seeded_cnn`] is the one
//! benchmark / demo CNN, built here so that tests and benches share it.
//!
//! It is not an exporter: no shape inference, no function bodies, no sub-graphs.

mod foreign;

pub use foreign::{DENSE, SIDE, batch_folding_head, residual_block, softmax_head, three_windows};

use crate::card::{Intensity, Normalisation, OutputKind, Preprocessing, SpatialDims};
use crate::model::value_info;
use crate::proto::{self, attribute_proto::AttributeType, tensor_proto::DataType};
use crate::{Dim, InputChannels, Layout, Model, ModelCard, Result};

/// Accumulates nodes, weights and graph inputs/outputs, then builds a model.
///
/// ```
/// use explainme_onnx::builder::GraphBuilder;
/// use explainme_onnx::Dim;
///
/// let mut g = GraphBuilder::new("double");
/// g.input("x", &[Dim::Symbolic("N".into()), Dim::Fixed(2)])
///     .weight("two", &[1], vec![2.0])
///     .node("Mul", &["x", "two"], &["y"], vec![])
///     .output("y", &[Dim::Symbolic("N".into()), Dim::Fixed(2)]);
/// let model = g.model()?;
/// assert_eq!(model.summary().nodes[0].op_type, "Mul");
/// # Ok::<(), explainme_onnx::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GraphBuilder {
    graph: proto::GraphProto,
    opset: i64,
}

impl GraphBuilder {
    /// An empty graph using the `ai.onnx` operator set 13 (the tf2onnx default).
    pub fn new(name: &str) -> GraphBuilder {
        GraphBuilder {
            graph: proto::GraphProto {
                name: Some(name.to_owned()),
                ..Default::default()
            },
            opset: 13,
        }
    }

    /// Uses another `ai.onnx` operator set version.
    pub fn opset(&mut self, version: i64) -> &mut Self {
        self.opset = version;
        self
    }

    /// Declares a float graph input.
    pub fn input(&mut self, name: &str, dims: &[Dim]) -> &mut Self {
        self.graph
            .input
            .push(value_info(name, DataType::Float as i32, dims, None));
        self
    }

    /// Declares a float graph output.
    pub fn output(&mut self, name: &str, dims: &[Dim]) -> &mut Self {
        self.graph
            .output
            .push(value_info(name, DataType::Float as i32, dims, None));
        self
    }

    /// Declares the shape of an intermediate float tensor (`value_info`).
    pub fn value_info(&mut self, name: &str, dims: &[Dim]) -> &mut Self {
        self.graph
            .value_info
            .push(value_info(name, DataType::Float as i32, dims, None));
        self
    }

    /// Adds a float initializer (weights), row-major.
    pub fn weight(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> &mut Self {
        self.graph.initializer.push(proto::TensorProto {
            name: Some(name.to_owned()),
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: Some(DataType::Float as i32),
            float_data: values,
            ..Default::default()
        });
        self
    }

    /// Adds an `int64` initializer, such as a `Reshape` target shape or `Squeeze` axes.
    pub fn int64s(&mut self, name: &str, shape: &[usize], values: &[i64]) -> &mut Self {
        self.graph.initializer.push(proto::TensorProto {
            name: Some(name.to_owned()),
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: Some(DataType::Int64 as i32),
            int64_data: values.to_vec(),
            ..Default::default()
        });
        self
    }

    /// Appends a node; it is named after its first output.
    pub fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        outputs: &[&str],
        attributes: Vec<proto::AttributeProto>,
    ) -> &mut Self {
        self.graph.node.push(proto::NodeProto {
            name: outputs.first().map(|o| (*o).to_owned()),
            op_type: Some(op_type.to_owned()),
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: outputs.iter().map(|s| (*s).to_owned()).collect(),
            attribute: attributes,
            ..Default::default()
        });
        self
    }

    /// The model protobuf (IR version 8, producer `explainme-onnx builder`).
    pub fn build(&self) -> proto::ModelProto {
        proto::ModelProto {
            ir_version: Some(8),
            producer_name: Some("explainme-onnx builder".into()),
            opset_import: vec![proto::OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(self.opset),
            }],
            graph: Some(self.graph.clone()),
            ..Default::default()
        }
    }

    /// The built model, parsed.
    pub fn model(&self) -> Result<Model> {
        Model::from_proto(self.build())
    }
}

/// An integer-list attribute such as `kernel_shape` or `perm`.
pub fn ints(name: &str, values: &[i64]) -> proto::AttributeProto {
    proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// An integer attribute such as `axis` or `keepdims`.
pub fn int(name: &str, value: i64) -> proto::AttributeProto {
    proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(value),
        ..Default::default()
    }
}

/// A float attribute such as `alpha` or `epsilon`.
pub fn float(name: &str, value: f32) -> proto::AttributeProto {
    proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(value),
        ..Default::default()
    }
}

/// Deterministic weights in `[-scale, scale)` from a seed (SplitMix64), so benchmarks and
/// demos need no random-number crate and give the same model everywhere.
pub fn seeded_weights(seed: u64, count: usize, scale: f32) -> Vec<f32> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // top 24 bits → [0, 1) exactly representable in f32
            let unit = (z >> 40) as f32 / (1u64 << 24) as f32;
            (2.0 * unit - 1.0) * scale
        })
        .collect()
}

/// The benchmark / demo CNN: a 64×64 one-channel NCHW input, three blocks of 3×3
/// convolution (16, 32, 64 channels), ReLU and 2×2 max-pooling, then a dense layer of 19
/// units with ReLU and one sigmoid unit: 101 159 parameters, all drawn from `seed`.
///
/// Its card names the three ReLU outputs `block1/relu`, `block2/relu`, `block3/relu` as
/// feature layers; the output is `probability` (`sigmoid_probability`, classes
/// `benign`/`malignant`), and the preprocessing is an abdominal window (40/400) scaled to
/// `[0, 1]`.
pub fn seeded_cnn(seed: u64) -> Result<(Model, ModelCard)> {
    const SIZE: usize = 64;
    const CHANNELS: [usize; 4] = [1, 16, 32, 64];
    const HIDDEN: usize = 19;
    let batch = || Dim::Symbolic("N".into());
    let mut g = GraphBuilder::new("seeded_cnn");
    g.input(
        "image",
        &[
            batch(),
            Dim::Fixed(1),
            Dim::Fixed(SIZE as i64),
            Dim::Fixed(SIZE as i64),
        ],
    );
    let mut x = "image".to_owned();
    let mut side = SIZE;
    let mut layers = Vec::new();
    for (block, pair) in CHANNELS.windows(2).enumerate() {
        let (cin, cout) = (pair[0], pair[1]);
        let p = format!("block{}", block + 1);
        let fan_in = (cin * 9) as f32;
        g.weight(
            &format!("{p}/w"),
            &[cout, cin, 3, 3],
            seeded_weights(
                seed ^ (block as u64 + 1),
                cout * cin * 9,
                (6.0 / fan_in).sqrt(),
            ),
        )
        .weight(
            &format!("{p}/b"),
            &[cout],
            seeded_weights(seed ^ (block as u64 + 101), cout, 0.1),
        )
        .node(
            "Conv",
            &[&x, &format!("{p}/w"), &format!("{p}/b")],
            &[&format!("{p}/conv")],
            vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
        )
        .node(
            "Relu",
            &[&format!("{p}/conv")],
            &[&format!("{p}/relu")],
            vec![],
        )
        .node(
            "MaxPool",
            &[&format!("{p}/relu")],
            &[&format!("{p}/pool")],
            vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
        )
        .value_info(
            &format!("{p}/relu"),
            &[
                batch(),
                Dim::Fixed(cout as i64),
                Dim::Fixed(side as i64),
                Dim::Fixed(side as i64),
            ],
        );
        layers.push(format!("{p}/relu"));
        side /= 2;
        x = format!("{p}/pool");
    }
    let flat = CHANNELS[3] * side * side;
    g.node("Flatten", &[&x], &["flat"], vec![int("axis", 1)])
        .weight(
            "dense/w",
            &[flat, HIDDEN],
            seeded_weights(seed ^ 201, flat * HIDDEN, (6.0 / flat as f32).sqrt()),
        )
        .weight(
            "dense/b",
            &[HIDDEN],
            seeded_weights(seed ^ 202, HIDDEN, 0.1),
        )
        .node("Gemm", &["flat", "dense/w", "dense/b"], &["dense"], vec![])
        .node("Relu", &["dense"], &["dense/relu"], vec![])
        .weight(
            "head/w",
            &[HIDDEN, 1],
            seeded_weights(seed ^ 301, HIDDEN, (6.0 / HIDDEN as f32).sqrt()),
        )
        .weight("head/b", &[1], vec![0.0])
        .node(
            "Gemm",
            &["dense/relu", "head/w", "head/b"],
            &["logit"],
            vec![],
        )
        .node("Sigmoid", &["logit"], &["probability"], vec![])
        .output("probability", &[batch(), Dim::Fixed(1)]);
    let card = sigmoid_card(
        "image",
        Layout::Nchw,
        vec![SIZE, SIZE],
        window(40.0, 400.0).into(),
        layers,
    );
    Ok((g.model()?, card))
}

/// A graph whose one `Expand` grows its `[N, 1, 1, 1]` input to `[1, 1, side, side]` floats
/// (then mean, sigmoid), with a card that validates: a few hundred bytes that only a run shows
/// to need `4 × side²` bytes. Memory-budget tests and `examples/write_expanding_model` use it;
/// the builder is returned so a test can add to the graph before `model()`.
pub fn expanding(side: i64) -> (GraphBuilder, ModelCard) {
    let batch = || Dim::Symbolic("N".into());
    let mut g = GraphBuilder::new("expand");
    g.input("x", &[batch(), Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(1)])
        .int64s("shape", &[4], &[1, 1, side, side])
        .int64s("axes", &[2], &[2, 3])
        .node("Expand", &["x", "shape"], &["big"], vec![])
        .node(
            "ReduceMean",
            &["big", "axes"],
            &["mean"],
            vec![int("keepdims", 0)],
        )
        .node("Sigmoid", &["mean"], &["prob"], vec![])
        .output("prob", &[batch(), Dim::Fixed(1)])
        .opset(18);
    let range = Preprocessing {
        intensity: Intensity::Range {
            min: -1000.0,
            max: 1000.0,
        },
        normalisation: Normalisation::Unit,
    };
    let card = sigmoid_card("x", Layout::Nchw, vec![1, 1], range.into(), Vec::new());
    (g, card)
}

/// A HU window scaled to `[0, 1]`.
pub fn window(centre: f32, width: f32) -> Preprocessing {
    Preprocessing {
        intensity: Intensity::Window { centre, width },
        normalisation: Normalisation::Unit,
    }
}

/// The card of a 2D model with one sigmoid probability of `malignant` (classes
/// `benign`/`malignant`), as the graphs built here have unless they say otherwise.
fn sigmoid_card(
    input: &str,
    layout: Layout,
    input_size: Vec<usize>,
    preprocessing: InputChannels,
    feature_layers: Vec<String>,
) -> ModelCard {
    ModelCard {
        input: input.into(),
        output_name: None,
        layout,
        dims: SpatialDims::Two,
        input_size,
        preprocessing,
        output: OutputKind::SigmoidProbability,
        class_names: vec!["benign".into(), "malignant".into()],
        positive_class: "malignant".into(),
        feature_layers,
    }
}
