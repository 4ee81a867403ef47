//! Real ONNX Runtime on small models built in Rust, checked against hand arithmetic.
//!
//! Both models compute the same thing on a 3×3 one-channel image, once channels-first and
//! once the way tf2onnx exports Keras (NHWC input, transposes around the convolution,
//! `functional_1/...:0` names, softmax head):
//!
//! ```text
//! conv 2×2, no padding:  channel 0 kernel [[1, 0], [0, 1]], bias 0
//!                        channel 1 kernel [[0, -1], [-1, 0]], bias 10
//! ReLU, global average pool, dense head
//! ```
//!
//! Case A is the image 1..9 row by row, case B is all zeros:
//!
//! ```text
//! A: conv ch0 = [1+5, 2+6, 4+8, 5+9] = [6, 8, 12, 14]          ReLU same, mean 10,  max 14
//!    conv ch1 = 10 - [2+4, 3+5, 5+7, 6+8] = [4, 2, -2, -4]      ReLU [4, 2, 0, 0], mean 1.5, max 4
//! B: conv ch0 = 0,  ch1 = 10                                    means [0, 10]
//! ```

use explainme_onnx::builder::{GraphBuilder, int, ints};
use explainme_onnx::{
    Dim, Error, Layout, Model, ModelCard, Session, ShapeSource, Tensor, builder, channel_stats,
};

const CASE_A: [f32; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
const CASE_B: [f32; 9] = [0.0; 9];
const KERNELS: [f32; 8] = [1.0, 0.0, 0.0, 1.0, 0.0, -1.0, -1.0, 0.0];
const KERNEL_BIAS: [f32; 2] = [0.0, 10.0];

fn n() -> Dim {
    Dim::Symbolic("N".into())
}

fn fixed(dims: &[i64]) -> Vec<Dim> {
    std::iter::once(n())
        .chain(dims.iter().map(|&d| Dim::Fixed(d)))
        .collect()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn batch_of_two(shape_after_n: &[usize]) -> Tensor {
    let mut shape = vec![2];
    shape.extend(shape_after_n);
    Tensor::new(shape, CASE_A.iter().chain(&CASE_B).copied().collect()).unwrap()
}

/// NCHW: Conv → Relu → GlobalAveragePool → Flatten → Gemm → Sigmoid, with `value_info`.
fn nchw_model() -> Model {
    let mut g = GraphBuilder::new("nchw");
    g.input("x", &fixed(&[1, 3, 3]))
        .weight("w", &[2, 1, 2, 2], KERNELS.to_vec())
        .weight("b", &[2], KERNEL_BIAS.to_vec())
        .node(
            "Conv",
            &["x", "w", "b"],
            &["conv"],
            vec![ints("kernel_shape", &[2, 2])],
        )
        .node("Relu", &["conv"], &["relu"], vec![])
        .node("GlobalAveragePool", &["relu"], &["gap"], vec![])
        .node("Flatten", &["gap"], &["flat"], vec![int("axis", 1)])
        // logit = 0.1 * mean0 - 0.2 * mean1 - 0.5
        .weight("dense_w", &[2, 1], vec![0.1, -0.2])
        .weight("dense_b", &[1], vec![-0.5])
        .node("Gemm", &["flat", "dense_w", "dense_b"], &["logit"], vec![])
        .node("Sigmoid", &["logit"], &["prob"], vec![])
        .output("prob", &fixed(&[1]))
        .value_info("conv", &fixed(&[2, 2, 2]))
        .value_info("relu", &fixed(&[2, 2, 2]))
        .value_info("gap", &fixed(&[2, 1, 1]))
        .value_info("flat", &fixed(&[2]))
        .value_info("logit", &fixed(&[1]));
    g.model().unwrap()
}

/// tf2onnx style, no `value_info`: NHWC input → Transpose → Conv → Transpose back → Relu →
/// ReduceMean over H, W → MatMul → Add → Softmax over 2 classes.
fn nhwc_model() -> Model {
    let mut g = GraphBuilder::new("tf2onnx");
    g.input("input_1", &fixed(&[3, 3, 1]))
        .node(
            "Transpose",
            &["input_1"],
            &["functional_1/conv1/Conv2D__6:0"],
            vec![ints("perm", &[0, 3, 1, 2])],
        )
        .weight(
            "functional_1/conv1/Conv2D/ReadVariableOp:0",
            &[2, 1, 2, 2],
            KERNELS.to_vec(),
        )
        .weight(
            "functional_1/conv1/BiasAdd/ReadVariableOp:0",
            &[2],
            KERNEL_BIAS.to_vec(),
        )
        .node(
            "Conv",
            &[
                "functional_1/conv1/Conv2D__6:0",
                "functional_1/conv1/Conv2D/ReadVariableOp:0",
                "functional_1/conv1/BiasAdd/ReadVariableOp:0",
            ],
            &["functional_1/conv1/BiasAdd:0"],
            vec![ints("kernel_shape", &[2, 2])],
        )
        .node(
            "Transpose",
            &["functional_1/conv1/BiasAdd:0"],
            &["functional_1/conv1/BiasAdd__8:0"],
            vec![ints("perm", &[0, 2, 3, 1])],
        )
        .node(
            "Relu",
            &["functional_1/conv1/BiasAdd__8:0"],
            &["functional_1/conv1/Relu:0"],
            vec![],
        )
        .node(
            "ReduceMean",
            &["functional_1/conv1/Relu:0"],
            &["functional_1/gap/Mean:0"],
            vec![ints("axes", &[1, 2]), int("keepdims", 0)],
        )
        // z = [0.1 m0, -0.1 m0 + 0.4 m1] + [0, 0.2]
        .weight(
            "functional_1/dense/MatMul/ReadVariableOp:0",
            &[2, 2],
            vec![0.1, -0.1, 0.0, 0.4],
        )
        .weight(
            "functional_1/dense/BiasAdd/ReadVariableOp:0",
            &[2],
            vec![0.0, 0.2],
        )
        .node(
            "MatMul",
            &[
                "functional_1/gap/Mean:0",
                "functional_1/dense/MatMul/ReadVariableOp:0",
            ],
            &["functional_1/dense/MatMul:0"],
            vec![],
        )
        .node(
            "Add",
            &[
                "functional_1/dense/MatMul:0",
                "functional_1/dense/BiasAdd/ReadVariableOp:0",
            ],
            &["functional_1/dense/BiasAdd:0"],
            vec![],
        )
        .node(
            "Softmax",
            &["functional_1/dense/BiasAdd:0"],
            &["dense"],
            vec![int("axis", -1)],
        )
        .output("dense", &[n(), Dim::Unknown]);
    g.model().unwrap()
}

fn card(json: &str) -> ModelCard {
    ModelCard::from_json(json).unwrap()
}

fn nchw_card() -> ModelCard {
    card(
        r#"{ "input": "x", "layout": "NCHW", "dims": 2, "input_size": [3, 3],
             "preprocessing": { "intensity": { "range": { "min": -1000, "max": 1000 } }, "normalisation": "none" },
             "output": "sigmoid_probability", "class_names": ["benign", "malignant"],
             "positive_class": "malignant", "feature_layers": ["relu", "gap"] }"#,
    )
}

fn nhwc_card() -> ModelCard {
    card(
        r#"{ "input": "input_1", "layout": "NHWC", "dims": 2, "input_size": [3, 3],
             "preprocessing": { "intensity": { "window": { "centre": 0, "width": 2000 } }, "normalisation": "none" },
             "output": "softmax", "class_names": ["benign", "malignant"],
             "positive_class": "malignant", "feature_layers": ["functional_1/conv1/Relu:0"] }"#,
    )
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
    }
}

/// `channel_stats` flattened as `[mean, max]` per case and channel.
fn flat_stats(stats: &[Vec<explainme_onnx::ChannelStat>]) -> Vec<f32> {
    stats
        .iter()
        .flatten()
        .flat_map(|s| [s.mean, s.max])
        .collect()
}

fn assert_stats(tensor: &Tensor, layout: Layout, want: &[f32]) {
    assert_close(&flat_stats(&channel_stats(tensor, layout).unwrap()), want);
}

#[test]
fn nchw_prediction_and_activations_match_hand_arithmetic() {
    let model = nchw_model();
    let layers = ["relu".to_owned(), "gap".to_owned()];
    let session = Session::new(&model, &nchw_card(), &layers).unwrap();
    let prediction = session.predict(&batch_of_two(&[1, 3, 3])).unwrap();

    // A: logit = 0.1*10 - 0.2*1.5 - 0.5 = 0.2;  B: logit = 0 - 0.2*10 - 0.5 = -2.5
    assert_close(&prediction.probabilities, &[sigmoid(0.2), sigmoid(-2.5)]);
    assert_eq!(prediction.classes, [1, 0]);

    let relu = &prediction.activations[0];
    assert_eq!(relu.layer, "relu");
    assert_eq!(relu.tensor.shape, [2, 2, 2, 2]);
    assert_close(
        &relu.tensor.data,
        &[
            6.0, 8.0, 12.0, 14.0, 4.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 10.0,
        ],
    );
    let gap = &prediction.activations[1];
    assert_eq!(gap.tensor.shape, [2, 2, 1, 1]);
    assert_close(&gap.tensor.data, &[10.0, 1.5, 0.0, 10.0]);

    // per case, per channel: (mean, max)
    assert_stats(
        &relu.tensor,
        Layout::Nchw,
        &[10.0, 14.0, 1.5, 4.0, 0.0, 0.0, 10.0, 10.0],
    );
}

#[test]
fn sigmoid_probability_follows_the_positive_class() {
    let mut benign_card = nchw_card();
    benign_card.positive_class = "benign".into();
    let session = Session::new(&nchw_model(), &benign_card, &[]).unwrap();
    let prediction = session.predict(&batch_of_two(&[1, 3, 3])).unwrap();
    assert_close(
        &prediction.probabilities,
        &[1.0 - sigmoid(0.2), 1.0 - sigmoid(-2.5)],
    );
    // classes are indices into class_names, whatever the positive class
    assert_eq!(prediction.classes, [1, 0]);
    assert!(prediction.activations.is_empty());
    // every class's probability, in class_names order: [benign, malignant]
    assert_close(
        &prediction.class_probabilities.concat(),
        &[
            1.0 - sigmoid(0.2),
            sigmoid(0.2),
            1.0 - sigmoid(-2.5),
            sigmoid(-2.5),
        ],
    );
}

#[test]
fn sigmoid_logit_output_gets_the_sigmoid_applied() {
    let mut g = GraphBuilder::new("logit");
    g.input("x", &fixed(&[1, 1, 2]))
        .weight("w", &[1, 1, 1, 2], vec![1.0, -2.0])
        .node(
            "Conv",
            &["x", "w"],
            &["conv"],
            vec![ints("kernel_shape", &[1, 2])],
        )
        .node("Flatten", &["conv"], &["logit"], vec![int("axis", 1)])
        .output("logit", &fixed(&[1]));
    let mut logit_card = nchw_card();
    logit_card.input_size = vec![1, 2];
    logit_card.output = explainme_onnx::OutputKind::SigmoidLogit;
    logit_card.feature_layers = vec!["conv".into()];
    let session = Session::new(&g.model().unwrap(), &logit_card, &[]).unwrap();
    // logit = 3 - 2*1 = 1 and 0 - 2*2 = -4
    let batch = Tensor::new(vec![2, 1, 1, 2], vec![3.0, 1.0, 0.0, 2.0]).unwrap();
    let prediction = session.predict(&batch).unwrap();
    assert_close(&prediction.probabilities, &[sigmoid(1.0), sigmoid(-4.0)]);
    assert_eq!(prediction.classes, [1, 0]);
}

#[test]
fn nhwc_tf2onnx_prediction_and_activations_match_hand_arithmetic() {
    let model = nhwc_model();
    let card = nhwc_card();
    let layers = vec![
        "functional_1/conv1/Relu:0".to_owned(),
        "functional_1/gap/Mean:0".to_owned(),
    ];
    // no value_info: the layers are exposed with an empty type and ONNX Runtime infers it
    let session = Session::new(&model, &card, &layers).unwrap();
    let prediction = session.predict(&batch_of_two(&[3, 3, 1])).unwrap();

    // A: z = [1.0, -1.0 + 0.6 + 0.2] = [1.0, -0.2];  B: z = [0, 4.0 + 0.2]
    let softmax_1 = |z0: f32, z1: f32| z1.exp() / (z0.exp() + z1.exp());
    assert_close(
        &prediction.probabilities,
        &[softmax_1(1.0, -0.2), softmax_1(0.0, 4.2)],
    );
    assert_eq!(prediction.classes, [0, 1]);
    assert_close(
        &prediction.class_probabilities.concat(),
        &[
            softmax_1(-0.2, 1.0),
            softmax_1(1.0, -0.2),
            softmax_1(4.2, 0.0),
            softmax_1(0.0, 4.2),
        ],
    );

    let relu = &prediction.activations[0].tensor;
    assert_eq!(relu.shape, [2, 2, 2, 2]); // N, H, W, C
    assert_close(
        &relu.data,
        &[
            6.0, 4.0, 8.0, 2.0, 12.0, 0.0, 14.0, 0.0, 0.0, 10.0, 0.0, 10.0, 0.0, 10.0, 0.0, 10.0,
        ],
    );
    // per case, per channel: (mean, max)
    assert_stats(
        relu,
        Layout::Nhwc,
        &[10.0, 14.0, 1.5, 4.0, 0.0, 0.0, 10.0, 10.0],
    );

    let mean = &prediction.activations[1].tensor;
    assert_eq!(mean.shape, [2, 2]);
    assert_close(&mean.data, &[10.0, 1.5, 0.0, 10.0]);
    // a dense [N, F] layer has one "channel" per feature, whose mean and max are the value
    let dense_stats = channel_stats(mean, Layout::Nhwc).unwrap();
    assert_eq!((dense_stats[0][1].mean, dense_stats[0][1].max), (1.5, 1.5));
}

#[test]
fn missing_shapes_are_discovered_by_one_run_and_survive_a_round_trip() {
    let mut model = nhwc_model();
    let relu_name = "functional_1/conv1/Relu:0";
    let before = model.tensor(relu_name).unwrap();
    assert_eq!(
        (before.shape.clone(), before.shape_source),
        (None, ShapeSource::Unknown)
    );
    assert_eq!(before.producer_op.as_deref(), Some("Relu"));

    let found = model.discover_shapes().unwrap();
    assert_eq!(found, 7, "every intermediate tensor of the tf2onnx model");
    let shape_of = |m: &Model, name: &str| m.tensor(name).unwrap().shape_text();
    assert_eq!(
        shape_of(&model, "functional_1/conv1/Conv2D__6:0"),
        "[1, 1, 3, 3]"
    );
    assert_eq!(
        shape_of(&model, "functional_1/conv1/BiasAdd:0"),
        "[1, 2, 2, 2]"
    );
    assert_eq!(shape_of(&model, relu_name), "[1, 2, 2, 2]");
    assert_eq!(shape_of(&model, "functional_1/gap/Mean:0"), "[1, 2]");
    assert_eq!(model.tensor(relu_name).unwrap().elem_type, "float");

    let reloaded = Model::from_bytes(&model.to_bytes()).unwrap();
    let relu = reloaded.tensor(relu_name).unwrap();
    assert_eq!(
        (relu.shape_text(), relu.shape_source),
        ("[1, 2, 2, 2]".to_owned(), ShapeSource::Discovered)
    );
    // a model whose shapes are all known is not run again
    let mut again = reloaded;
    assert_eq!(again.discover_shapes().unwrap(), 0);
}

#[test]
fn summary_lists_inputs_outputs_nodes_and_declared_shapes() {
    let model = nchw_model();
    let summary = model.summary();
    assert_eq!(summary.inputs.len(), 1, "initializers are not inputs");
    assert_eq!(
        (
            summary.inputs[0].name.as_str(),
            summary.inputs[0].shape_text()
        ),
        ("x", "[N, 1, 3, 3]".to_owned())
    );
    assert_eq!(summary.outputs[0].shape_text(), "[N, 1]");
    let ops: Vec<&str> = summary.nodes.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(
        ops,
        [
            "Conv",
            "Relu",
            "GlobalAveragePool",
            "Flatten",
            "Gemm",
            "Sigmoid"
        ]
    );
    assert_eq!(summary.nodes[0].inputs, ["x", "w", "b"]);
    let tensors: Vec<(String, String, ShapeSource)> = summary
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape_text(), t.shape_source))
        .collect();
    assert_eq!(
        tensors[1],
        (
            "relu".to_owned(),
            "[N, 2, 2, 2]".to_owned(),
            ShapeSource::Declared
        )
    );
    assert_eq!(
        tensors.len(),
        5,
        "every node output except the graph output"
    );
    assert_eq!(summary.parameters, 8 + 2 + 2 + 1);
    assert_eq!(summary.opset, 13);
}

#[test]
fn malformed_bytes_are_rejected() {
    for bytes in [
        &b"definitely not protobuf \xff\xff\xff"[..],
        b"",
        &[0x0a, 0x02, 0x08],
    ] {
        assert!(
            matches!(Model::from_bytes(bytes), Err(Error::MalformedModel(_))),
            "{bytes:?}"
        );
    }
    let missing = Model::from_path("/nonexistent/model.onnx");
    assert!(matches!(missing, Err(Error::Io { .. })));
}

#[test]
fn bad_batches_are_rejected_before_running() {
    let session = Session::new(&nchw_model(), &nchw_card(), &[]).unwrap();
    let wrong = Tensor::new(vec![1, 1, 4, 4], vec![0.0; 16]).unwrap();
    match session.predict(&wrong) {
        Err(Error::ShapeMismatch { expected, got, .. }) => assert_eq!(
            (expected.as_str(), got),
            ("[N, 1, 3, 3] with N ≥ 1", vec![1, 1, 4, 4])
        ),
        other => panic!("{other:?}"),
    }
    let empty = Tensor::new(vec![0, 1, 3, 3], vec![]).unwrap();
    assert!(matches!(
        session.predict(&empty),
        Err(Error::ShapeMismatch { .. })
    ));
    let inconsistent = Tensor {
        shape: vec![1, 1, 3, 3],
        data: vec![0.0; 8],
    };
    assert!(matches!(
        session.predict(&inconsistent),
        Err(Error::ShapeMismatch { .. })
    ));

    let mut values = vec![0.0; 18];
    values[4] = f32::NAN;
    values[11] = f32::INFINITY;
    match session.predict(&Tensor::new(vec![2, 1, 3, 3], values).unwrap()) {
        Err(Error::NonFinite {
            count, first_index, ..
        }) => assert_eq!((count, first_index), (2, 4)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn card_mismatches_name_the_field() {
    let model = nchw_model();
    let field_of = |edit: &dyn Fn(&mut ModelCard)| {
        let mut card = nchw_card();
        edit(&mut card);
        match card.validate(&model) {
            Err(Error::CardMismatch { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(field_of(&|c| c.input = "image".into()), "input");
    assert_eq!(field_of(&|c| c.layout = Layout::Nhwc), "layout");
    assert_eq!(field_of(&|c| c.input_size = vec![4, 4]), "input_size");
    assert_eq!(field_of(&|c| c.input_size = vec![3]), "input_size");
    assert_eq!(
        field_of(&|c| {
            c.dims = explainme_onnx::SpatialDims::Three;
            c.input_size = vec![3, 3, 3];
        }),
        "dims"
    );
    assert_eq!(
        field_of(&|c| c.output = explainme_onnx::OutputKind::Softmax),
        "output"
    );
    assert_eq!(
        field_of(&|c| c.output_name = Some("logits".into())),
        "output_name"
    );
    assert_eq!(
        field_of(&|c| c.feature_layers.push("conv9".into())),
        "feature_layers"
    );
    assert_eq!(
        field_of(&|c| c.feature_layers.push("x".into())),
        "feature_layers"
    );
    assert_eq!(
        field_of(&|c| c.positive_class = "cancer".into()),
        "positive_class"
    );
    assert_eq!(
        field_of(&|c| c.class_names.push("cyst".into())),
        "class_names"
    );
    assert_eq!(
        field_of(&|c| c.preprocessing.channels_mut()[0].intensity =
            explainme_onnx::Intensity::Window {
                centre: 40.0,
                width: -1.0
            }),
        "preprocessing.intensity"
    );
    assert!(nchw_card().validate(&model).is_ok());
    // the tf2onnx model takes the NHWC card and refuses the NCHW one
    assert!(nhwc_card().validate(&nhwc_model()).is_ok());
    let mut nchw_on_nhwc = nhwc_card();
    nchw_on_nhwc.layout = Layout::Nchw;
    assert!(matches!(
        nchw_on_nhwc.validate(&nhwc_model()),
        Err(Error::CardMismatch {
            field: "layout",
            ..
        })
    ));
}

#[test]
fn session_refuses_bad_cards_and_unknown_layers() {
    let model = nchw_model();
    let mut bad = nchw_card();
    bad.input = "image".into();
    assert!(matches!(
        Session::new(&model, &bad, &[]),
        Err(Error::CardMismatch { field: "input", .. })
    ));
    match Session::new(&model, &nchw_card(), &["relu".into(), "conv7".into()]) {
        Err(Error::UnknownTensor(name)) => assert_eq!(name, "conv7"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn card_json_errors_and_round_trip() {
    for text in [
        "{",
        r#"{"input": "x"}"#,
        &nchw_card()
            .to_json()
            .replace(r#""dims": 2"#, r#""dims": 4"#),
        &nchw_card()
            .to_json()
            .replace(r#""input": "x""#, r#""input": "x", "colour": "red""#),
    ] {
        assert!(
            matches!(ModelCard::from_json(text), Err(Error::CardSyntax(_))),
            "{text}"
        );
    }
    assert_eq!(
        ModelCard::from_json(&nhwc_card().to_json()).unwrap(),
        nhwc_card()
    );
}

#[test]
fn preprocessing_windows_normalises_and_lays_out() {
    let mut card = nchw_card();
    card.input_size = vec![1, 3];
    card.preprocessing.channels_mut()[0].intensity = explainme_onnx::Intensity::Window {
        centre: 40.0,
        width: 400.0,
    }; // [-160, 240]
    card.preprocessing.channels_mut()[0].normalisation = explainme_onnx::Normalisation::MeanStd {
        mean: 40.0,
        std: 100.0,
    };
    let images = [
        Tensor::new(vec![1, 3], vec![-1000.0, 40.0, 3000.0]).unwrap(),
        Tensor::new(vec![1, 3], vec![140.0, -60.0, 0.0]).unwrap(),
    ];
    let batch = card.preprocess(&images).unwrap();
    assert_eq!(batch.shape, [2, 1, 1, 3]);
    assert_close(&batch.data, &[-2.0, 0.0, 2.0, 1.0, -1.0, -0.4]);

    card.layout = Layout::Nhwc;
    card.preprocessing.channels_mut()[0].normalisation = explainme_onnx::Normalisation::Unit;
    let batch = card.preprocess(&images[..1]).unwrap();
    assert_eq!(batch.shape, [1, 1, 3, 1]);
    assert_close(&batch.data, &[0.0, 0.5, 1.0]);

    let wrong = Tensor::new(vec![3, 1], vec![0.0; 3]).unwrap();
    assert!(matches!(
        card.preprocess(&[wrong]),
        Err(Error::ShapeMismatch { .. })
    ));
    let nan = Tensor::new(vec![1, 3], vec![0.0, f32::NAN, 0.0]).unwrap();
    assert!(matches!(
        card.preprocess(&[nan]),
        Err(Error::NonFinite { first_index: 1, .. })
    ));
}

#[test]
fn seeded_cnn_is_deterministic_and_batch_consistent() {
    let (model, card) = builder::seeded_cnn(42).unwrap();
    assert_eq!(model.summary().parameters, 101_159);
    assert_eq!(
        model.to_bytes(),
        builder::seeded_cnn(42).unwrap().0.to_bytes()
    );
    assert_ne!(
        model.to_bytes(),
        builder::seeded_cnn(43).unwrap().0.to_bytes()
    );
    card.validate(&model).unwrap();

    let session = Session::new(&model, &card, &card.feature_layers).unwrap();
    // two different synthetic slices: a ramp and a bright disc on soft tissue
    let ramp: Vec<f32> = (0..64 * 64)
        .map(|i| -200.0 + (i % 64) as f32 * 6.0)
        .collect();
    let disc: Vec<f32> = (0..64 * 64_i32)
        .map(|i| {
            if (i / 64 - 32).pow(2) + (i % 64 - 32).pow(2) < 100 {
                150.0
            } else {
                30.0
            }
        })
        .collect();
    let images = [
        Tensor::new(vec![64, 64], ramp).unwrap(),
        Tensor::new(vec![64, 64], disc).unwrap(),
    ];
    let both = session.predict(&card.preprocess(&images).unwrap()).unwrap();
    let shapes: Vec<&[usize]> = both
        .activations
        .iter()
        .map(|a| a.tensor.shape.as_slice())
        .collect();
    assert_eq!(
        shapes,
        [&[2, 16, 64, 64][..], &[2, 32, 32, 32], &[2, 64, 16, 16]]
    );
    assert!(both.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
    assert_ne!(both.probabilities[0], both.probabilities[1]);

    // each case alone gives what it gave inside the batch
    for (i, image) in images.iter().enumerate() {
        let alone = session
            .predict(&card.preprocess(std::slice::from_ref(image)).unwrap())
            .unwrap();
        assert!((alone.probabilities[0] - both.probabilities[i]).abs() < 1e-5);
        let per_case = both.activations[2].tensor.len() / 2;
        assert_close(
            &alone.activations[2].tensor.data,
            &both.activations[2].tensor.data[i * per_case..(i + 1) * per_case],
        );
    }
}

#[test]
fn shape_discovery_refuses_absurd_declared_inputs() {
    let mut g = GraphBuilder::new("huge");
    g.input("x", &fixed(&[1 << 20, 1 << 20]))
        .node("Relu", &["x"], &["r"], vec![])
        .node("Relu", &["r"], &["y"], vec![])
        .output("y", &fixed(&[1 << 20, 1 << 20]));
    let mut model = g.model().unwrap();
    assert!(matches!(
        model.discover_shapes(),
        Err(Error::Unsupported(_))
    ));
}

#[test]
fn sessions_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Session>();
    shareable::<Model>();

    let session = Session::new(&nchw_model(), &nchw_card(), &["relu".into()]).unwrap();
    let input = batch_of_two(&[1, 3, 3]);
    let results: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| session.predict(&input).unwrap().probabilities))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for probabilities in results {
        assert_close(&probabilities, &[sigmoid(0.2), sigmoid(-2.5)]);
    }
}

#[test]
fn volumes_run_in_3d() {
    // ch0 = x, ch1 = 1 - x (1×1×1 kernels), ReLU, mean over the 2×2×2 volume, logit = sum
    let mut g = GraphBuilder::new("volume");
    g.input("x", &fixed(&[1, 2, 2, 2]))
        .weight("w", &[2, 1, 1, 1, 1], vec![1.0, -1.0])
        .weight("b", &[2], vec![0.0, 1.0])
        .node(
            "Conv",
            &["x", "w", "b"],
            &["conv"],
            vec![ints("kernel_shape", &[1, 1, 1])],
        )
        .node("Relu", &["conv"], &["relu"], vec![])
        .node("GlobalAveragePool", &["relu"], &["gap"], vec![])
        .node("Flatten", &["gap"], &["flat"], vec![int("axis", 1)])
        .weight("ones", &[2, 1], vec![1.0, 1.0])
        .weight("zero", &[1], vec![0.0])
        .node("Gemm", &["flat", "ones", "zero"], &["logit"], vec![])
        .node("Sigmoid", &["logit"], &["prob"], vec![])
        .output("prob", &fixed(&[1]));
    let mut card = nchw_card();
    card.dims = explainme_onnx::SpatialDims::Three;
    card.input_size = vec![2, 2, 2];
    card.feature_layers = vec!["relu".into()];
    let model = g.model().unwrap();
    card.validate(&model).unwrap();
    let session = Session::new(&model, &card, &card.feature_layers).unwrap();

    let volume = [0.0, 0.5, 1.0, 2.0, -1.0, 0.25, 0.75, 3.0];
    let prediction = session
        .predict(&Tensor::new(vec![1, 1, 2, 2, 2], volume.to_vec()).unwrap())
        .unwrap();
    // ReLU(x) sums to 7.5, ReLU(1 - x) = [1, .5, 0, 0, 2, .75, .25, 0] sums to 4.5
    assert_close(&prediction.probabilities, &[sigmoid(7.5 / 8.0 + 4.5 / 8.0)]);
    let relu = &prediction.activations[0].tensor;
    assert_eq!(relu.shape, [1, 2, 2, 2, 2]);
    assert_stats(relu, Layout::Nchw, &[0.9375, 3.0, 0.5625, 2.0]);

    // a 2D card does not fit a volume model
    assert!(matches!(
        nchw_card().validate(&model),
        Err(Error::CardMismatch { field: "dims", .. })
    ));
}

#[test]
fn a_graph_with_a_fixed_batch_is_made_symbolic_and_says_so() {
    let mut g = GraphBuilder::new("batch of one");
    let one = [1, 1, 3, 3].map(Dim::Fixed);
    g.input("x", &one)
        .node("Relu", &["x"], &["relu"], vec![])
        .node("Flatten", &["relu"], &["gap"], vec![int("axis", 1)]);
    g.node("ReduceMean", &["gap"], &["prob"], vec![ints("axes", &[1])])
        .output("prob", &[Dim::Fixed(1), Dim::Fixed(1)]);
    let session = Session::new(&g.model().unwrap(), &nchw_card(), &[]).unwrap();
    assert_eq!(session.batching(), &explainme_onnx::Batching::MadeSymbolic);
    // mean of ReLU(0.1..0.9) = 0.5, alone and beside a blank case in one run
    let one_case =
        Tensor::new(vec![1, 1, 3, 3], CASE_A.iter().map(|v| v / 10.0).collect()).unwrap();
    assert_close(&session.predict(&one_case).unwrap().probabilities, &[0.5]);
    let two = Tensor::new(
        vec![2, 1, 3, 3],
        CASE_A.iter().map(|v| v / 10.0).chain(CASE_B).collect(),
    )
    .unwrap();
    assert_eq!(session.cases_per_run().min(2), 2);
    assert_close(&session.predict(&two).unwrap().probabilities, &[0.5, 0.0]);
}

#[test]
fn activations_know_their_own_channel_axis() {
    let model = nhwc_model();
    let layout_of = |name: &str| model.channel_layout(name, Layout::Nhwc);
    assert_eq!(layout_of("input_1"), Some(Layout::Nhwc));
    assert_eq!(
        layout_of("functional_1/conv1/Conv2D__6:0"),
        Some(Layout::Nchw)
    ); // perm 0,3,1,2
    assert_eq!(
        layout_of("functional_1/conv1/BiasAdd:0"),
        Some(Layout::Nchw)
    ); // Conv
    assert_eq!(
        layout_of("functional_1/conv1/BiasAdd__8:0"),
        Some(Layout::Nhwc)
    ); // perm 0,2,3,1
    assert_eq!(layout_of("functional_1/conv1/Relu:0"), Some(Layout::Nhwc)); // element-wise
    assert_eq!(layout_of("functional_1/gap/Mean:0"), None); // a reduction
    assert_eq!(
        nchw_model().channel_layout("relu", Layout::Nchw),
        Some(Layout::Nchw)
    );
    assert_eq!(nchw_model().channel_layout("flat", Layout::Nchw), None);

    // the card says NHWC, yet the convolution output is read channels-first
    let layers = [
        "functional_1/conv1/BiasAdd:0".to_owned(),
        "functional_1/conv1/Relu:0".to_owned(),
    ];
    let session = Session::new(&model, &nhwc_card(), &layers).unwrap();
    let prediction = session.predict(&batch_of_two(&[3, 3, 1])).unwrap();
    let [conv, relu] = &prediction.activations[..] else {
        panic!("two activations")
    };
    assert_eq!((conv.layout, relu.layout), (Layout::Nchw, Layout::Nhwc));
    // before ReLU channel 1 of case A is [4, 2, -2, -4]: mean 0, max 4
    assert_close(
        &flat_stats(&conv.channel_stats().unwrap()),
        &[10.0, 14.0, 0.0, 4.0, 0.0, 0.0, 10.0, 10.0],
    );
    assert_close(
        &flat_stats(&relu.channel_stats().unwrap()),
        &[10.0, 14.0, 1.5, 4.0, 0.0, 0.0, 10.0, 10.0],
    );
}

/// A graph that expands its input to `side²` floats (`builder::expanding`): nothing but a run
/// reveals the size (issue 8, item 9).
fn expanding_model(side: i64) -> Model {
    builder::expanding(side).0.model().unwrap()
}

#[test]
fn shape_discovery_of_an_expanding_graph_is_refused_within_the_memory_budget() {
    // 60000² floats = 14.4 GB: ONNX Runtime's capped arena refuses instead of hanging.
    let mut model = expanding_model(60_000);
    let err = model.discover_shapes().unwrap_err();
    assert!(matches!(err, Error::OverBudget(_)), "{err:?}");
    assert!(err.to_string().contains("memory budget of 1 GiB"), "{err}");
    // A small expansion still runs and finds the shapes of its two undeclared tensors.
    let mut small = expanding_model(64);
    assert_eq!(small.discover_shapes().unwrap(), 2, "`big` and `mean`");
    assert_eq!(small.tensor("big").unwrap().shape_text(), "[1, 1, 64, 64]");
}

#[test]
fn hounsfield_units_fed_as_model_ready_input_are_refused() {
    // The seeded CNN's card windows HU to [0, 1]: a CT slice in HU fed as model-ready input
    // gave "malignant 1.000000" before; now it names the range.
    let (model, card) = builder::seeded_cnn(7).unwrap();
    let session = Session::new(&model, &card, &[]).unwrap();
    let hu = Tensor::new(card.input_shape(1), vec![40.0; 64 * 64]).unwrap();
    let err = session.predict(&hu).unwrap_err();
    assert!(matches!(err, Error::OutOfRange { index: 0, .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is this unpreprocessed (Hounsfield-unit) input?")
    );
    // Slightly outside [0, 1] (a resampling overshoot) is still accepted.
    let near = Tensor::new(card.input_shape(1), vec![1.2; 64 * 64]).unwrap();
    assert!(session.predict(&near).is_ok());
}

#[test]
fn a_batch_over_the_budget_runs_in_chunks_with_identical_results() {
    let (model, card) = builder::seeded_cnn(7).unwrap();
    let layers = vec!["block2/relu".to_owned()];
    let session = Session::new(&model, &card, &layers).unwrap();
    let per_run = session.cases_per_run();
    let cases = per_run + 3;
    assert!(
        per_run < 1000,
        "{per_run} cases per run under the default budget"
    );
    let images: Vec<Tensor> = (0..cases)
        .map(|i| Tensor::new(vec![64, 64], vec![-100.0 + (i % 50) as f32 * 6.0; 4096]).unwrap())
        .collect();
    let batch = card.preprocess(&images).unwrap();
    let whole = session.predict(&batch).unwrap();
    assert_eq!(whole.probabilities.len(), cases);
    assert_eq!(whole.activations[0].tensor.shape[0], cases);
    // The last case, run on its own, gives the same numbers as inside the chunked batch.
    let last = session
        .predict(&card.preprocess(&images[cases - 1..]).unwrap())
        .unwrap();
    assert_eq!(whole.probabilities[cases - 1], last.probabilities[0]);
    let per_case = last.activations[0].tensor.len();
    assert_eq!(
        &whole.activations[0].tensor.data[(cases - 1) * per_case..],
        &last.activations[0].tensor.data[..]
    );
}

#[test]
fn cards_that_can_never_run_are_refused_at_validation() {
    let (model, card) = builder::seeded_cnn(7).unwrap();
    let mut twice = card.clone();
    twice.class_names = vec!["malignant".into(), "malignant".into()];
    let err = twice.validate(&model).unwrap_err();
    assert!(
        err.to_string().contains("`malignant` is listed twice"),
        "{err}"
    );

    let mut g = GraphBuilder::new("two inputs");
    g.input("x", &fixed(&[1, 3, 3]))
        .input("y", &fixed(&[1, 3, 3]))
        .node("Add", &["x", "y"], &["s"], vec![])
        .node("GlobalAveragePool", &["s"], &["p"], vec![])
        .node("Flatten", &["p"], &["z"], vec![])
        .node("Sigmoid", &["z"], &["out"], vec![])
        .output("out", &[n(), Dim::Fixed(1)]);
    let two = g.model().unwrap();
    let err = nchw_card().validate(&two).unwrap_err();
    assert!(
        err.to_string()
            .contains("the graph has 2 inputs (`x`, `y`)"),
        "{err}"
    );
}
