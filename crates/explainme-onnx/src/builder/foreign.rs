//! Small graphs shaped like real exports from elsewhere: a fixed batch of 1, three input
//! channels, softmax or logit heads over three classes, tf2onnx names with slashes and
//! colons, and a `Reshape` that folds the batch away. Tests of the card, the batch surgery
//! and `explainme models card` share them; each comes with the card its "trainer" would
//! write.

use super::{GraphBuilder, int, ints, seeded_weights, sigmoid_card, window};
use crate::card::OutputKind;
use crate::{Dim, InputChannels, Layout, Model, ModelCard, Result};

/// Side of the square inputs of these graphs.
pub const SIDE: usize = 8;

/// Three HU windows as RGB, each scaled to `[0, 1]`: soft tissue (40/400), lung
/// (-600/1500) and bone (400/1800).
pub fn three_windows() -> InputChannels {
    InputChannels::new(vec![
        window(40.0, 400.0),
        window(-600.0, 1500.0),
        window(400.0, 1800.0),
    ])
    .expect("three channels")
}

/// A residual block on a 3-channel NCHW `8 × 8` input, as PyTorch exports it: 3×3 conv →
/// ReLU → 3×3 conv, plus a 1×1 projection of the input, added, ReLU, global average pool,
/// `Reshape` to `[1, -1]` (`x.view(1, -1)`), `Gemm`, sigmoid; weights drawn from `seed`.
///
/// With `fixed_batch` every declared shape has a batch of 1 (no `dynamic_axes`); without,
/// the batch is symbolic and the reshape is a `Flatten`, so both compute the same function.
/// The card reads `res/relu2` and names the classes `benign`/`malignant`.
pub fn residual_block(seed: u64, fixed_batch: bool) -> Result<(Model, ModelCard)> {
    let b = || {
        if fixed_batch {
            Dim::Fixed(1)
        } else {
            Dim::Symbolic("N".into())
        }
    };
    let side = SIDE as i64;
    let map = |c: i64| vec![b(), Dim::Fixed(c), Dim::Fixed(side), Dim::Fixed(side)];
    let conv_weights = |g: &mut GraphBuilder, name: &str, [cout, cin, k]: [usize; 3], salt: u64| {
        let fan_in = (cin * k * k) as f32;
        g.weight(
            &format!("{name}/weight"),
            &[cout, cin, k, k],
            seeded_weights(seed ^ salt, cout * cin * k * k, (6.0 / fan_in).sqrt()),
        )
        .weight(
            &format!("{name}/bias"),
            &[cout],
            seeded_weights(seed ^ (salt + 100), cout, 0.1),
        );
    };
    let mut g = GraphBuilder::new("residual_block");
    g.input("input", &map(3));
    conv_weights(&mut g, "res/conv1", [4, 3, 3], 1);
    conv_weights(&mut g, "res/conv2_", [4, 4, 3], 2);
    conv_weights(&mut g, "res/skip", [4, 3, 1], 3);
    let pads = || ints("pads", &[1, 1, 1, 1]);
    g.node(
        "Conv",
        &["input", "res/conv1/weight", "res/conv1/bias"],
        &["res/conv1"],
        vec![ints("kernel_shape", &[3, 3]), pads()],
    )
    .node("Relu", &["res/conv1"], &["res/relu1"], vec![])
    .node(
        "Conv",
        &["res/relu1", "res/conv2_/weight", "res/conv2_/bias"],
        &["res/conv2"],
        vec![ints("kernel_shape", &[3, 3]), pads()],
    )
    .node(
        "Conv",
        &["input", "res/skip/weight", "res/skip/bias"],
        &["res/skip"],
        vec![ints("kernel_shape", &[1, 1])],
    )
    .node("Add", &["res/conv2", "res/skip"], &["res/add"], vec![])
    .node("Relu", &["res/add"], &["res/relu2"], vec![])
    .node("GlobalAveragePool", &["res/relu2"], &["head/pool"], vec![]);
    if fixed_batch {
        g.int64s("head/shape", &[2], &[1, -1]).node(
            "Reshape",
            &["head/pool", "head/shape"],
            &["head/flat"],
            vec![],
        );
    } else {
        g.node(
            "Flatten",
            &["head/pool"],
            &["head/flat"],
            vec![int("axis", 1)],
        );
    }
    g.weight("head/weight", &[4, 1], seeded_weights(seed ^ 7, 4, 1.0))
        .weight("head/bias", &[1], vec![0.0])
        .node(
            "Gemm",
            &["head/flat", "head/weight", "head/bias"],
            &["head/logit"],
            vec![],
        )
        .node("Sigmoid", &["head/logit"], &["prob"], vec![])
        .output("prob", &[b(), Dim::Fixed(1)])
        .value_info("res/relu1", &map(4))
        .value_info("res/add", &map(4))
        .value_info("res/relu2", &map(4))
        .value_info(
            "head/pool",
            &[b(), Dim::Fixed(4), Dim::Fixed(1), Dim::Fixed(1)],
        )
        .value_info("head/flat", &[b(), Dim::Fixed(4)])
        .value_info("head/logit", &[b(), Dim::Fixed(1)]);
    let card = sigmoid_card(
        "input",
        Layout::Nchw,
        vec![SIDE, SIDE],
        three_windows(),
        vec!["res/relu2".into()],
    );
    Ok((g.model()?, card))
}

/// Logit weights of [`softmax_head`]: class `k`'s logit is `DENSE[k]` times the mean of
/// input channel `k`.
pub const DENSE: [f32; 3] = [10.0, 8.0, 13.0];

/// A tf2onnx-style export of a Keras head over three classes: NHWC input
/// `serving_default_image:0` `[1, 8, 8, 3]` (fixed batch), transposed to NCHW, a 1×1
/// identity convolution, ReLU, global average pooling, `Flatten`, a dense layer with
/// weights `diag(DENSE)` and no bias, then a `Softmax` (or, with `logits`, nothing: the
/// output is raw logits), and an `Identity:0` output. No `value_info`, as tf2onnx writes.
///
/// So for a uniform HU image `h`, class `k`'s logit is `DENSE[k] × window_k(h)` under the
/// card's [`three_windows`]. Classes are `cyst`, `benign`, `malignant` (positive).
pub fn softmax_head(logits: bool) -> Result<(Model, ModelCard)> {
    let mut g = GraphBuilder::new("tf2onnx");
    let mut identity = vec![0.0; 9];
    let mut dense = vec![0.0; 9];
    for k in 0..3 {
        identity[k * 4] = 1.0;
        dense[k * 4] = DENSE[k];
    }
    g.input(
        "serving_default_image:0",
        &[1, SIDE as i64, SIDE as i64, 3].map(Dim::Fixed),
    )
    .node(
        "Transpose",
        &["serving_default_image:0"],
        &["model/conv1/Conv2D__6:0"],
        vec![ints("perm", &[0, 3, 1, 2])],
    )
    .weight(
        "model/conv1/Conv2D/ReadVariableOp:0",
        &[3, 3, 1, 1],
        identity,
    )
    .weight("model/conv1/BiasAdd/ReadVariableOp:0", &[3], vec![0.0; 3])
    .node(
        "Conv",
        &[
            "model/conv1/Conv2D__6:0",
            "model/conv1/Conv2D/ReadVariableOp:0",
            "model/conv1/BiasAdd/ReadVariableOp:0",
        ],
        &["model/conv1/BiasAdd:0"],
        vec![ints("kernel_shape", &[1, 1])],
    )
    .node(
        "Relu",
        &["model/conv1/BiasAdd:0"],
        &["model/conv1/Relu:0"],
        vec![],
    )
    .node(
        "GlobalAveragePool",
        &["model/conv1/Relu:0"],
        &["model/gap/Mean:0"],
        vec![],
    )
    .node(
        "Flatten",
        &["model/gap/Mean:0"],
        &["model/flatten/Reshape:0"],
        vec![int("axis", 1)],
    )
    .weight("model/dense/MatMul/ReadVariableOp:0", &[3, 3], dense)
    .node(
        "MatMul",
        &[
            "model/flatten/Reshape:0",
            "model/dense/MatMul/ReadVariableOp:0",
        ],
        &["model/dense/MatMul:0"],
        vec![],
    )
    .weight("model/dense/BiasAdd/ReadVariableOp:0", &[3], vec![0.0; 3])
    .node(
        "Add",
        &[
            "model/dense/MatMul:0",
            "model/dense/BiasAdd/ReadVariableOp:0",
        ],
        &["model/dense/BiasAdd:0"],
        vec![],
    );
    let last = if logits {
        "model/dense/BiasAdd:0"
    } else {
        g.node(
            "Softmax",
            &["model/dense/BiasAdd:0"],
            &["model/dense/Softmax:0"],
            vec![int("axis", -1)],
        );
        "model/dense/Softmax:0"
    };
    g.node("Identity", &[last], &["Identity:0"], vec![])
        .output("Identity:0", &[Dim::Fixed(1), Dim::Fixed(3)]);
    let mut card = sigmoid_card(
        "serving_default_image:0",
        Layout::Nhwc,
        vec![SIDE, SIDE],
        three_windows(),
        vec!["model/conv1/Relu:0".into()],
    );
    card.output = if logits {
        OutputKind::SoftmaxLogits
    } else {
        OutputKind::Softmax
    };
    card.class_names = vec!["cyst".into(), "benign".into(), "malignant".into()];
    Ok((g.model()?, card))
}

/// An export whose batch of 1 is hard-coded away: one-channel NCHW `[1, 1, 4, 4]` →
/// ReLU (`features/relu`) → `Reshape` to `[16]` (a vector: no batch axis left) → `MatMul`
/// with 1/16 everywhere (the mean) → sigmoid, output `[1]`. It cannot be made symbolic, so
/// sessions run it one case at a time. For input `x` the probability is
/// `sigmoid(mean(relu(x)))`; the card feeds HU through the 40/400 window scaled to `[0, 1]`.
pub fn batch_folding_head() -> Result<(Model, ModelCard)> {
    let mut g = GraphBuilder::new("batch folded");
    g.input("x", &[1, 1, 4, 4].map(Dim::Fixed))
        .node("Relu", &["x"], &["features/relu"], vec![])
        .int64s("vector", &[1], &[16])
        .node("Reshape", &["features/relu", "vector"], &["flat"], vec![])
        .weight("mean", &[16, 1], vec![1.0 / 16.0; 16])
        .node("MatMul", &["flat", "mean"], &["logit"], vec![])
        .node("Sigmoid", &["logit"], &["prob"], vec![])
        .output("prob", &[Dim::Fixed(1)])
        .value_info("features/relu", &[1, 1, 4, 4].map(Dim::Fixed));
    let card = sigmoid_card(
        "x",
        Layout::Nchw,
        vec![4, 4],
        window(40.0, 400.0).into(),
        vec!["features/relu".into()],
    );
    Ok((g.model()?, card))
}
