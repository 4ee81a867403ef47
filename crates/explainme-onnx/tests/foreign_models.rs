//! Models nobody here trained: a fixed batch of 1, three input channels, softmax and logit
//! heads over three classes, tf2onnx names, and a graph whose batch cannot be made symbolic.
//! Real ONNX Runtime on the graphs of `explainme_onnx::builder`, checked against hand
//! arithmetic and against single runs.

use explainme_onnx::builder::{self, DENSE, GraphBuilder, SIDE};
use explainme_onnx::{
    Batching, Dim, Error, Intensity, Layout, Model, ModelCard, Normalisation, OutputKind,
    Preprocessing, Session, Tensor, draft_card,
};

/// Seeded HU images (soft tissue to bone, some air), distinct per case.
fn hu_images(count: usize, side: usize) -> Vec<Tensor> {
    (0..count)
        .map(|case| {
            let values = builder::seeded_weights(case as u64 + 11, side * side, 1.0)
                .into_iter()
                .map(|u| u * 700.0 + 100.0 * case as f32)
                .collect();
            Tensor::new(vec![side, side], values).unwrap()
        })
        .collect()
}

fn uniform(hu: f32) -> Tensor {
    Tensor::new(vec![SIDE, SIDE], vec![hu; SIDE * SIDE]).unwrap()
}

fn assert_close(got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tolerance, "{got:?} vs {want:?}");
    }
}

/// One case per run, concatenated: what a batch must equal.
fn single_runs(session: &Session, batch: &Tensor) -> (Vec<f32>, Vec<usize>, Vec<f32>) {
    let cases = batch.shape[0];
    let per_case = batch.len() / cases;
    let (mut probabilities, mut classes, mut activations) = (vec![], vec![], vec![]);
    for values in batch.data.chunks(per_case) {
        let mut shape = batch.shape.clone();
        shape[0] = 1;
        let one = session
            .predict(&Tensor::new(shape, values.to_vec()).unwrap())
            .unwrap();
        probabilities.extend(one.probabilities);
        classes.extend(one.classes);
        activations.extend(&one.activations[0].tensor.data);
    }
    (probabilities, classes, activations)
}

#[test]
fn a_residual_block_with_a_fixed_batch_of_one_is_made_symbolic_and_batches_exactly() {
    let (fixed, card) = builder::residual_block(5, true).unwrap();
    assert_eq!(fixed.summary().inputs[0].shape_text(), "[1, 3, 8, 8]");
    let session = Session::new(&fixed, &card, &card.feature_layers).unwrap();
    assert_eq!(session.batching(), &Batching::MadeSymbolic);

    let batch = card.preprocess(&hu_images(4, SIDE)).unwrap();
    assert_eq!(batch.shape, [4, 3, SIDE, SIDE]);
    let together = session.predict(&batch).unwrap();
    assert_eq!(together.activations[0].tensor.shape, [4, 4, SIDE, SIDE]);
    let (probabilities, classes, activations) = single_runs(&session, &batch);
    assert_close(&together.probabilities, &probabilities, 1e-6);
    assert_eq!(together.classes, classes);
    assert_close(&together.activations[0].tensor.data, &activations, 1e-5);
    // The cases differ, so equality above is not four copies of one answer.
    assert!(
        probabilities.windows(2).all(|w| (w[0] - w[1]).abs() > 1e-4),
        "{probabilities:?}"
    );

    // The same function exported with a symbolic batch and a Flatten agrees.
    let (native, _) = builder::residual_block(5, false).unwrap();
    let native = Session::new(&native, &card, &card.feature_layers).unwrap();
    assert_eq!(native.batching(), &Batching::Native);
    assert_close(
        &native.predict(&batch).unwrap().probabilities,
        &probabilities,
        1e-6,
    );

    // The rewrite made the reshape copy the batch instead of hard-coding it.
    let (_, rewritten) = fixed.symbolic_batch("input").unwrap();
    let rewritten = rewritten.unwrap();
    assert_eq!(
        rewritten.tensor("res/relu2").unwrap().shape_text(),
        "[N, 4, 8, 8]"
    );
    assert_eq!(rewritten.summary().outputs[0].shape_text(), "[N, 1]");
}

/// Class probabilities of a uniform HU image under the three windows, by hand.
fn expected_probabilities(hu: f32) -> Vec<f32> {
    let unit = |low: f32, high: f32| (hu.clamp(low, high) - low) / (high - low);
    let means = [
        unit(-160.0, 240.0),
        unit(-1350.0, 150.0),
        unit(-500.0, 1300.0),
    ];
    let logits: Vec<f32> = means.iter().zip(DENSE).map(|(m, w)| m * w).collect();
    let sum: f32 = logits.iter().map(|l| l.exp()).sum();
    logits.iter().map(|l| l.exp() / sum).collect()
}

#[test]
fn three_windows_feed_a_three_class_softmax_or_logit_head_with_tf2onnx_names() {
    let hu = [200.0, 100.0, 1000.0, -1000.0];
    for logits in [false, true] {
        let (model, card) = builder::softmax_head(logits).unwrap();
        let mut layers = card.feature_layers.clone();
        layers.push("model/dense/BiasAdd:0".into());
        let session = Session::new(&model, &card, &layers).unwrap();
        assert_eq!(
            session.batching(),
            &Batching::MadeSymbolic,
            "logits {logits}"
        );

        let images: Vec<Tensor> = hu.iter().map(|&h| uniform(h)).collect();
        let batch = card.preprocess(&images).unwrap();
        // NHWC: the three windows of one pixel sit together. 200 HU: 360/400, 1, 700/1800.
        assert_eq!(batch.shape, [4, SIDE, SIDE, 3]);
        assert_close(&batch.data[..3], &[0.9, 1.0, 700.0 / 1800.0], 1e-6);

        let prediction = session.predict(&batch).unwrap();
        let want: Vec<Vec<f32>> = hu.iter().map(|&h| expected_probabilities(h)).collect();
        assert_eq!(prediction.classes, [0, 1, 2, 1], "logits {logits}");
        let malignant: Vec<f32> = want.iter().map(|p| p[2]).collect();
        assert_close(&prediction.probabilities, &malignant, 1e-5);

        // The logits layer, through the card's output kind, gives distributions that sum
        // to 1 and whose argmax is the predicted class.
        let raw = &prediction.activations[1].tensor;
        assert_eq!(raw.shape, [4, 3]);
        for (case, row) in raw.data.chunks(3).enumerate() {
            let p = OutputKind::SoftmaxLogits.class_probabilities(row);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert_close(&p, &want[case], 1e-5);
            let argmax = (0..3).fold(0, |b, k| if p[k] > p[b] { k } else { b });
            assert_eq!(argmax, prediction.classes[case]);
        }
        // Channel statistics of the ReLU (NCHW inside the NHWC model) are the windows.
        let stats = prediction.activations[0].channel_stats().unwrap();
        assert_eq!(prediction.activations[0].layout, Layout::Nchw);
        assert_close(
            &stats[0].iter().map(|s| s.mean).collect::<Vec<_>>(),
            &[0.9, 1.0, 700.0 / 1800.0],
            1e-6,
        );
    }
}

#[test]
fn a_batch_folded_into_a_reshape_runs_one_by_one_and_says_why() {
    let (model, card) = builder::batch_folding_head().unwrap();
    let session = Session::new(&model, &card, &card.feature_layers).unwrap();
    let Batching::OneByOne { reason } = session.batching() else {
        panic!("{:?}", session.batching());
    };
    assert!(
        reason.contains("Reshape node `flat`") && reason.contains("[16]"),
        "{reason}"
    );
    assert_eq!(session.cases_per_run(), 1);

    let images = hu_images(3, 4);
    let batch = card.preprocess(&images).unwrap();
    let prediction = session.predict(&batch).unwrap();
    // sigmoid(mean(relu(x))) per case, by hand
    let want: Vec<f32> = batch
        .data
        .chunks(16)
        .map(|x| {
            let mean = x.iter().map(|v| v.max(0.0)).sum::<f32>() / 16.0;
            1.0 / (1.0 + (-mean).exp())
        })
        .collect();
    assert_close(&prediction.probabilities, &want, 1e-6);
    assert_eq!(prediction.activations[0].tensor.shape, [3, 1, 4, 4]);
    assert!(
        want.windows(2).all(|w| (w[0] - w[1]).abs() > 1e-3),
        "{want:?}"
    );
}

/// A fixed-batch graph `x [1, 16] → Reshape(target) → y`, for the Reshape rule alone.
fn reshape_to(target: &[i64], declared_output: Option<&[i64]>) -> Model {
    let mut g = GraphBuilder::new("reshape");
    g.input("x/in:0", &[1, 16].map(Dim::Fixed))
        .int64s("target", &[target.len()], target)
        .node("Reshape", &["x/in:0", "target"], &["y/out:0"], vec![]);
    match declared_output {
        Some(dims) => g.output(
            "y/out:0",
            &dims.iter().map(|&d| Dim::Fixed(d)).collect::<Vec<_>>(),
        ),
        None => g.output("y/out:0", &vec![Dim::Unknown; target.len()]),
    };
    g.model().unwrap()
}

#[test]
fn reshapes_are_rewritten_only_when_the_batch_provably_stays_on_axis_0() {
    let kind = |target: &[i64], declared: Option<&[i64]>| match reshape_to(target, declared)
        .symbolic_batch("x/in:0")
        .unwrap()
        .0
    {
        Batching::MadeSymbolic => "symbolic".to_owned(),
        Batching::OneByOne { reason } => reason,
        Batching::Native => "native".to_owned(),
    };
    assert_eq!(kind(&[0, -1], None), "symbolic");
    assert_eq!(kind(&[1, -1], None), "symbolic");
    assert_eq!(kind(&[1, 4, 4], None), "symbolic");
    // -1 first is the batch when the per-case size says so (16 = 16) or the export
    // declared the output's batch as 1; not when it could absorb other axes.
    assert_eq!(kind(&[-1, 16], None), "symbolic");
    assert_eq!(kind(&[-1, 4], Some(&[1, 4])), "symbolic");
    assert!(kind(&[-1, 4], None).contains("nothing shows that its -1 is the batch"));
    assert!(kind(&[4, 4], None).contains("folding the batch axis into a fixed extent"));
    assert!(kind(&[16], None).contains("[16]"));

    // The rewritten target copies the batch; the original initializer is left alone.
    let (_, rewritten) = reshape_to(&[1, -1], None).symbolic_batch("x/in:0").unwrap();
    let rewritten = rewritten.unwrap();
    let graph = rewritten.proto().graph.as_ref().unwrap();
    assert_eq!(
        graph.node[0].input[1],
        "target/explainme_symbolic_batch_shape"
    );
    let new = graph
        .initializer
        .iter()
        .find(|t| t.name() == graph.node[0].input[1])
        .unwrap();
    assert_eq!(new.int64_data, [0, -1]);
    assert_eq!(rewritten.summary().inputs[0].shape_text(), "[N, 16]");

    // A target stored as tf2onnx writes it, little-endian `raw_data` in a `Constant` node,
    // reads the same.
    use explainme_onnx::proto;
    let raw: Vec<u8> = [1i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut g = GraphBuilder::new("constant target");
    g.input("x", &[1, 16].map(Dim::Fixed))
        .node(
            "Constant",
            &[],
            &["functional_1/flatten/Const:0"],
            vec![proto::AttributeProto {
                name: Some("value".into()),
                r#type: Some(proto::attribute_proto::AttributeType::Tensor as i32),
                t: Some(proto::TensorProto {
                    dims: vec![2],
                    data_type: Some(proto::tensor_proto::DataType::Int64 as i32),
                    raw_data: Some(raw),
                    ..Default::default()
                }),
                ..Default::default()
            }],
        )
        .node(
            "Reshape",
            &["x", "functional_1/flatten/Const:0"],
            &["y"],
            vec![],
        )
        .output("y", &[1, 16].map(Dim::Fixed));
    let (batching, rewritten) = g.model().unwrap().symbolic_batch("x").unwrap();
    assert_eq!(batching, Batching::MadeSymbolic);
    let rewritten = rewritten.unwrap();
    assert_eq!(rewritten.summary().outputs[0].shape_text(), "[N, 16]");
    assert_eq!(
        rewritten.proto().graph.as_ref().unwrap().node[1].input[1],
        "functional_1/flatten/Const:0/explainme_symbolic_batch_shape"
    );

    // Operators that read the batch and are not known to keep cases apart refuse.
    let mut g = GraphBuilder::new("shape op");
    g.input("x", &[1, 16].map(Dim::Fixed))
        .node("Shape", &["x"], &["s"], vec![])
        .output("s", &[Dim::Fixed(2)]);
    let (batching, _) = g.model().unwrap().symbolic_batch("x").unwrap();
    assert!(
        matches!(&batching, Batching::OneByOne { reason } if reason.starts_with("Shape node `s`")),
        "{batching:?}"
    );
    // One operator on `x [1, 16]`: which keep cases apart, and why the others do not.
    let one_op = |op: &str, attributes: Vec<explainme_onnx::proto::AttributeProto>| {
        let mut g = GraphBuilder::new("one op");
        g.input("x", &[1, 16].map(Dim::Fixed))
            .node(op, &["x"], &["y"], attributes)
            .output("y", &[Dim::Unknown, Dim::Unknown]);
        match g.model().unwrap().symbolic_batch("x").unwrap().0 {
            Batching::MadeSymbolic => "symbolic".to_owned(),
            Batching::OneByOne { reason } => reason,
            Batching::Native => "native".to_owned(),
        }
    };
    use explainme_onnx::builder::{int, ints};
    assert_eq!(one_op("Softmax", vec![int("axis", 1)]), "symbolic");
    assert_eq!(one_op("Softmax", vec![int("axis", -1)]), "symbolic");
    assert_eq!(
        one_op("Softmax", vec![int("axis", -2)]),
        "Softmax node `y` works along the batch axis"
    );
    assert_eq!(one_op("ReduceMean", vec![ints("axes", &[1])]), "symbolic");
    assert_eq!(
        one_op("ReduceMean", vec![ints("axes", &[0])]),
        "ReduceMean node `y` reduces over the batch axis"
    );
    assert!(one_op("ReduceMean", vec![]).contains("reduces over all axes"));
    assert_eq!(one_op("Transpose", vec![ints("perm", &[0, 1])]), "symbolic");
    assert!(one_op("Transpose", vec![ints("perm", &[1, 0])]).contains("moves the batch axis"));
    assert!(one_op("Gemm", vec![int("transA", 1)]).contains("transA"));
    assert!(
        one_op("BatchNormalization", vec![int("training_mode", 1)])
            .contains("statistics of the batch")
    );
    assert!(one_op("Expand", vec![]).contains("cannot prove that it keeps cases apart"));

    // A fixed batch above one is neither.
    let mut g = GraphBuilder::new("batch of two");
    g.input("x", &[2, 16].map(Dim::Fixed))
        .node("Relu", &["x"], &["y"], vec![])
        .output("y", &[2, 16].map(Dim::Fixed));
    assert!(matches!(
        g.model().unwrap().symbolic_batch("x"),
        Err(Error::Unsupported(_))
    ));
}

#[test]
fn cards_with_channels_round_trip_validate_and_check_ranges_per_channel() {
    let (model, card) = builder::residual_block(5, true).unwrap();
    let json = card.to_json();
    assert!(json.contains("\"channels\""), "{json}");
    assert_eq!(ModelCard::from_json(&json).unwrap(), card);
    assert_eq!(card.channel_count(), 3);
    assert_eq!(card.input_shape(2), [2, 3, SIDE, SIDE]);

    // The committed one-channel card reads and writes exactly as before.
    let committed = include_str!("../../../data/models/renal_cnn.card.json");
    let parsed = ModelCard::from_json(committed).unwrap();
    assert_eq!(parsed.channel_count(), 1);
    let value = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(value(&parsed.to_json()), value(committed));

    for bad in [
        r#"{ "channels": [] }"#,
        r#"{ "intensity": { "window": { "centre": 40, "width": 400 } }, "normalisation": "unit", "channels": [] }"#,
        r#"{ "normalisation": "unit" }"#,
    ] {
        let text = committed.replace(
            r#"{
    "intensity": {
      "window": {
        "centre": 60.0,
        "width": 500.0
      }
    },
    "normalisation": "unit"
  }"#,
            bad,
        );
        assert_ne!(text, committed);
        assert!(
            matches!(ModelCard::from_json(&text), Err(Error::CardSyntax(_))),
            "{bad}"
        );
    }

    // One channel on a three-channel graph names the preprocessing.
    let mut one = card.clone();
    one.preprocessing = Preprocessing {
        intensity: Intensity::Window {
            centre: 40.0,
            width: 400.0,
        },
        normalisation: Normalisation::Unit,
    }
    .into();
    match one.validate(&model) {
        Err(Error::CardMismatch { field, problem }) => {
            assert_eq!(field, "preprocessing");
            assert!(problem.contains("1 channel"), "{problem}");
        }
        other => panic!("{other:?}"),
    }

    // Ranges are per channel: HU in the lung channel is refused even though 0.5 is fine.
    let mut mixed = card.clone();
    mixed.preprocessing.channels_mut()[2].normalisation = Normalisation::None;
    assert_eq!(mixed.channel_ranges()[2], (-500.0, 1300.0));
    assert_eq!(mixed.input_range(), (-500.0, 1300.0));
    let plane = SIDE * SIDE;
    let mut values = vec![0.5; 3 * plane];
    values[2 * plane..].fill(1000.0); // bone channel in HU: its range
    let ok = Tensor::new(vec![1, 3, SIDE, SIDE], values.clone()).unwrap();
    assert!(mixed.check_range(&ok).is_ok());
    values[plane + 5] = 1000.0; // lung channel: unit range
    match mixed.check_range(&Tensor::new(vec![1, 3, SIDE, SIDE], values).unwrap()) {
        Err(Error::OutOfRange {
            index, low, high, ..
        }) => assert_eq!((index, low, high), (plane + 5, 0.0, 1.0)),
        other => panic!("{other:?}"),
    }
    // The same check channels-last: the lung channel of pixel 5.
    let mut last = mixed.clone();
    last.layout = Layout::Nhwc;
    let mut values: Vec<f32> = (0..plane).flat_map(|_| [0.5, 0.5, 1000.0]).collect();
    let ok = Tensor::new(vec![1, SIDE, SIDE, 3], values.clone()).unwrap();
    assert!(last.check_range(&ok).is_ok());
    values[5 * 3 + 1] = 1000.0;
    match last.check_range(&Tensor::new(vec![1, SIDE, SIDE, 3], values).unwrap()) {
        Err(Error::OutOfRange {
            index, low, high, ..
        }) => assert_eq!((index, low, high), (5 * 3 + 1, 0.0, 1.0)),
        other => panic!("{other:?}"),
    }
    let blank = mixed.blank_input(2).unwrap();
    assert_eq!(blank.shape, [2, 3, SIDE, SIDE]);
    assert_eq!(
        (blank.data[0], blank.data[plane], blank.data[2 * plane]),
        (0.0, 0.0, -500.0)
    );
}

#[test]
fn three_channel_volumes_preprocess_channels_first_and_last() {
    let (_, mut card) = builder::residual_block(5, true).unwrap();
    card.dims = explainme_onnx::SpatialDims::Three;
    card.input_size = vec![1, 1, 2];
    let volume = Tensor::new(vec![1, 1, 2], vec![-160.0, 240.0]).unwrap();
    // soft tissue [-160, 240], lung [-1350, 150], bone [-500, 1300]
    let lung = |hu: f32| (hu.min(150.0) + 1350.0) / 1500.0;
    let bone = |hu: f32| (hu + 500.0) / 1800.0;
    let first = card.preprocess(std::slice::from_ref(&volume)).unwrap();
    assert_eq!(first.shape, [1, 3, 1, 1, 2]);
    assert_close(
        &first.data,
        &[
            0.0,
            1.0,
            lung(-160.0),
            lung(240.0),
            bone(-160.0),
            bone(240.0),
        ],
        1e-6,
    );
    card.layout = Layout::Nhwc;
    let last = card.preprocess(&[volume]).unwrap();
    assert_eq!(last.shape, [1, 1, 1, 2, 3]);
    assert_close(
        &last.data,
        &[
            0.0,
            lung(-160.0),
            bone(-160.0),
            1.0,
            lung(240.0),
            bone(240.0),
        ],
        1e-6,
    );
}

#[test]
fn drafted_cards_match_what_the_graph_says_and_run() {
    let cases: Vec<(Model, ModelCard)> = vec![
        builder::residual_block(5, true).unwrap(),
        builder::softmax_head(false).unwrap(),
        builder::softmax_head(true).unwrap(),
        builder::batch_folding_head().unwrap(),
    ];
    for (mut model, truth) in cases {
        model.discover_shapes().unwrap();
        let draft = draft_card(&model).unwrap();
        let card = &draft.card;
        assert_eq!(
            (&card.input, card.layout, card.dims, &card.input_size),
            (&truth.input, truth.layout, truth.dims, &truth.input_size)
        );
        assert_eq!(card.channel_count(), truth.channel_count());
        assert_eq!(card.output, truth.output);
        assert_eq!(card.class_names.len(), truth.class_names.len());
        assert_eq!(card.feature_layers, truth.feature_layers, "{}", truth.input);
        let fields: Vec<&str> = draft.notes.iter().map(|n| n.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "input",
                "layout",
                "dims",
                "input_size",
                "preprocessing",
                "output",
                "class_names",
                "positive_class",
                "feature_layers"
            ]
        );
        let session = Session::new(&model, card, &card.feature_layers).unwrap();
        let trial = session.predict(&card.blank_input(2).unwrap()).unwrap();
        assert_eq!(trial.probabilities.len(), 2);
    }
    // A 3D export with a fixed batch: [1, 1, 4, 4, 4] → 1×1×1 conv → ReLU → pool → dense.
    let mut g = GraphBuilder::new("volume");
    g.input("volume", &[1, 1, 4, 4, 4].map(Dim::Fixed))
        .weight("w", &[2, 1, 1, 1, 1], vec![1.0, -1.0])
        .node(
            "Conv",
            &["volume", "w"],
            &["conv3d/out"],
            vec![builder::ints("kernel_shape", &[1, 1, 1])],
        )
        .node("Relu", &["conv3d/out"], &["conv3d/relu"], vec![])
        .node("GlobalAveragePool", &["conv3d/relu"], &["pool"], vec![])
        .node(
            "Flatten",
            &["pool"],
            &["flat"],
            vec![builder::int("axis", 1)],
        )
        .weight("dense", &[2, 1], vec![1.0, 1.0])
        .node("Gemm", &["flat", "dense"], &["logit"], vec![])
        .output("logit", &[1, 1].map(Dim::Fixed));
    let mut volume = g.model().unwrap();
    volume.discover_shapes().unwrap();
    let draft = draft_card(&volume).unwrap();
    assert_eq!(draft.card.dims, explainme_onnx::SpatialDims::Three);
    assert_eq!(draft.card.input_size, [4, 4, 4]);
    assert_eq!(draft.card.layout, Layout::Nchw);
    assert_eq!(draft.card.output, OutputKind::SigmoidLogit);
    assert_eq!(draft.card.feature_layers, ["conv3d/relu"]);
    let session = Session::new(&volume, &draft.card, &[]).unwrap();
    assert_eq!(session.batching(), &Batching::MadeSymbolic);
    // logit = mean(relu(x)) + mean(relu(-x)) = mean(|x|) = 0.5 on a uniform unit input
    let half = Tensor::new(vec![2, 1, 4, 4, 4], vec![0.5; 128]).unwrap();
    let p = session.predict(&half).unwrap().probabilities;
    assert_close(&p, &[1.0 / (1.0 + (-0.5f32).exp()); 2], 1e-6);

    // The residual block's first ReLU is a candidate, not a feature layer: the second one
    // has the same resolution.
    let (mut model, _) = builder::residual_block(5, true).unwrap();
    model.discover_shapes().unwrap();
    let draft = draft_card(&model).unwrap();
    assert_eq!(draft.candidate_layers, ["res/relu1", "res/relu2"]);
}
