//! Splitting a graph at a layer: the tail, run on the layer's activations through real ONNX
//! Runtime, gives the whole model's output; a cut that a skip connection jumps over is a
//! typed error.

use explainme_onnx::builder::{self, GraphBuilder};
use explainme_onnx::{Dim, Error, Session, TailSession, Tensor};

fn n() -> Dim {
    Dim::Symbolic("N".into())
}

/// Eight seeded 64×64 CT-like slices (Hounsfield units within the abdominal window).
fn slices() -> Vec<Tensor> {
    (0..8u64)
        .map(|i| {
            let hu = builder::seeded_weights(100 + i, 64 * 64, 150.0);
            Tensor::new(vec![64, 64], hu.into_iter().map(|v| v + 40.0).collect()).unwrap()
        })
        .collect()
}

#[test]
fn the_tail_on_the_cut_activation_gives_the_whole_models_output() {
    let (model, card) = builder::seeded_cnn(3).unwrap();
    let batch = card.preprocess(&slices()).unwrap();
    for layer in &card.feature_layers {
        let whole = Session::new(&model, &card, std::slice::from_ref(layer)).unwrap();
        let prediction = whole.predict(&batch).unwrap();
        let tail = TailSession::new(&model, &card, layer).unwrap();
        assert_eq!(tail.cut(), layer);
        let from_tail = tail
            .probabilities(&prediction.activations[0].tensor)
            .unwrap();
        assert_eq!(from_tail.len(), 8);
        for (a, b) in prediction.probabilities.iter().zip(&from_tail) {
            assert!((a - b).abs() < 1e-6, "{layer}: {a} vs {b}");
        }
        // The probabilities are not all equal, so the comparison can fail.
        let spread = prediction
            .probabilities
            .iter()
            .fold(0f32, |m, p| m.max((p - prediction.probabilities[0]).abs()));
        assert!(spread > 1e-4, "{layer}: every case gives the same output");
    }
}

#[test]
fn the_tail_keeps_only_what_follows_the_cut() {
    let (model, card) = builder::seeded_cnn(3).unwrap();
    let tail = model
        .tail("block3/relu", &["probability".to_owned()])
        .unwrap();
    let summary = tail.summary();
    assert_eq!(summary.inputs.len(), 1);
    assert_eq!(summary.inputs[0].name, "block3/relu");
    assert_eq!(
        summary.inputs[0].shape,
        Some(vec![n(), Dim::Fixed(64), Dim::Fixed(16), Dim::Fixed(16)])
    );
    let ops: Vec<&str> = summary.nodes.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(
        ops,
        ["MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Sigmoid"]
    );
    // Only the dense and head weights remain: 64·8·8·19 + 19 + 19 + 1.
    assert_eq!(summary.parameters, 64 * 8 * 8 * 19 + 19 + 19 + 1);
    assert_eq!(
        summary.outputs[0].name,
        card.prediction_output(&model).unwrap().name
    );
}

#[test]
fn a_skip_connection_over_the_cut_cannot_be_split() {
    // y = relu(x · 2) + x: cutting after the Relu leaves the Add without `x`.
    let dims = [n(), Dim::Fixed(3)];
    let mut g = GraphBuilder::new("residual");
    g.input("x", &dims)
        .weight("two", &[1], vec![2.0])
        .node("Mul", &["x", "two"], &["m"], vec![])
        .node("Relu", &["m"], &["r"], vec![])
        .node("Add", &["r", "x"], &["y"], vec![])
        .output("y", &dims);
    let model = g.model().unwrap();
    match model.tail("r", &["y".to_owned()]) {
        Err(Error::Unsplittable { cut, tensor, node }) => {
            assert_eq!(
                (cut.as_str(), tensor.as_str(), node.as_str()),
                ("r", "x", "y")
            );
        }
        other => panic!("expected Unsplittable, got {other:?}"),
    }
    // Any cut inside the block lacks `x`.
    let tail = model.tail("m", &["y".to_owned()]);
    assert!(
        matches!(tail, Err(Error::Unsplittable { ref tensor, .. }) if tensor == "x"),
        "{tail:?}"
    );
    assert!(matches!(
        model.tail("nope", &["y".to_owned()]),
        Err(Error::UnknownTensor(name)) if name == "nope"
    ));
}

/// An export with a fixed batch of 1 and a `Reshape` to `[1, -1]` after the cut: the tail is
/// made batchable as the whole model is, and gives each case's own answer.
#[test]
fn a_tail_of_a_fixed_batch_export_runs_any_batch() {
    let mut g = GraphBuilder::new("fixed");
    g.input("x", &[1, 1, 4, 4].map(Dim::Fixed))
        .node("Relu", &["x"], &["features/Relu:0"], vec![])
        .value_info("features/Relu:0", &[1, 1, 4, 4].map(Dim::Fixed))
        .node(
            "GlobalAveragePool",
            &["features/Relu:0"],
            &["pooled"],
            vec![],
        )
        .int64s("shape", &[2], &[1, -1])
        .node("Reshape", &["pooled", "shape"], &["mean"], vec![])
        .node("Sigmoid", &["mean"], &["y"], vec![])
        .output("y", &[1, 1].map(Dim::Fixed));
    let model = g.model().unwrap();
    let card = explainme_onnx::ModelCard::from_json(
        r#"{ "input": "x", "layout": "NCHW", "dims": 2, "input_size": [4, 4],
             "preprocessing": { "intensity": { "range": { "min": 0, "max": 1 } },
                                "normalisation": "none" },
             "output": "sigmoid_probability", "class_names": ["benign", "malignant"],
             "positive_class": "malignant" }"#,
    )
    .unwrap();
    let tail = TailSession::new(&model, &card, "features/Relu:0").unwrap();
    assert_eq!(tail.batching(), &explainme_onnx::Batching::MadeSymbolic);
    // Three cases whose maps average 0, 1 and 2.
    let values: Vec<f32> = (0..3).flat_map(|k| vec![k as f32; 16]).collect();
    let batch = Tensor::new(vec![3, 1, 4, 4], values).unwrap();
    let p = tail.probabilities(&batch).unwrap();
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    for (k, p) in p.iter().enumerate() {
        assert!((p - sigmoid(k as f32)).abs() < 1e-6, "case {k}: {p}");
    }
}
