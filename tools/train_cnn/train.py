"""Train the demo renal-mass CNN on a phantom cohort and export it to ONNX with its model card.

This script is documentation and reproduction of `data/models/renal_cnn.onnx`; the Rust tests
never run it. Usage (from the repository root):

    cargo run --release -- phantom --cases 12000 --seed 1 --out /tmp/cohort-train
    python3 tools/train_cnn/train.py --cohort /tmp/cohort-train --out data/models

It reads the cohort folder explainme writes (cases.csv + 16-bit PNGs holding HU + 1024),
holds out a share of the cases, trains a small CNN (about 100k parameters) to predict
`malignant`, prints held-out metrics, and writes `renal_cnn.onnx` (opset 17, NHWC input,
sigmoid probability output) and `renal_cnn.card.json` (the model card explainme-onnx reads).
With `--attend W`, training also penalises the last feature layer's activation outside the
lesion mask, so that the CNN's evidence, and its channels, sit on the lesion (a variant, see
data/models/README.md).
"""

import argparse
import csv
import json
import os
import time

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import tf2onnx  # noqa: E402

HU_OFFSET = 1024
WINDOW = {"centre": 60.0, "width": 500.0}  # clipped to [-190, 310] HU, then scaled to [0, 1]
SIZE = 64


def load_cohort(folder):
    with open(os.path.join(folder, "cases.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    low = WINDOW["centre"] - WINDOW["width"] / 2
    images = np.empty((len(rows), SIZE, SIZE, 1), dtype=np.float32)
    for i, row in enumerate(rows):
        pixels = np.asarray(Image.open(os.path.join(folder, row["image"])), dtype=np.float32)
        hu = pixels - HU_OFFSET
        images[i, :, :, 0] = (np.clip(hu, low, low + WINDOW["width"]) - low) / WINDOW["width"]
    labels = np.array([1.0 if r["malignant"] == "yes" else 0.0 for r in rows], dtype=np.float32)
    subtypes = np.array([r["subtype"] for r in rows])
    lesions = np.empty((len(rows), SIZE, SIZE, 1), dtype=np.float32)
    for i, row in enumerate(rows):
        path = os.path.join(folder, "masks", row["case_id"], "lesion.png")
        lesions[i, :, :, 0] = np.asarray(Image.open(path)) > 0
    return images, labels, subtypes, lesions


def build_model(pools=3, attend=False):
    inputs = keras.Input((SIZE, SIZE, 1), name="input")
    x = inputs
    for block, (filters, convs) in enumerate([(16, 2), (32, 2), (64, 2), (64, 1)], start=1):
        for c in range(1, convs + 1):
            # Batch normalisation makes training converge in a few minutes on CPU; the ReLU
            # carries the conv's name so the exported tensors read `.../conv3_1/Relu:0`.
            x = keras.layers.Conv2D(
                filters, 3, padding="same", use_bias=False, name=f"conv{block}_{c}_linear"
            )(x)
            x = keras.layers.BatchNormalization(name=f"bn{block}_{c}")(x)
            x = keras.layers.Activation("relu", name=f"conv{block}_{c}")(x)
        if block <= pools:
            x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    features = x
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    x = keras.layers.Dense(32, activation="relu", name="dense")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="malignant")(x)
    if attend:
        return keras.Model(inputs, [outputs, features], name="functional_1")
    return keras.Model(inputs, outputs, name="functional_1")


def outside_share(outside, features):
    """The share of the last feature layer's activation that lies outside the lesion."""
    total = tf.reduce_sum(features, axis=[1, 2, 3]) + 1e-6
    return tf.reduce_sum(features * outside, axis=[1, 2, 3]) / total


def augment(*stacks):
    """Random flips and quarter turns: a phantom patch has no preferred orientation. The same
    transform is applied to each stack (images, and their lesion masks)."""
    flip = np.random.rand(len(stacks[0]), 1, 1, 1) < 0.5
    turns = np.random.randint(0, 4, len(stacks[0]))
    out = []
    for stack in stacks:
        flipped = np.where(flip, stack[:, :, ::-1], stack)
        out.append(np.stack([np.rot90(img, k) for img, k in zip(flipped, turns)]))
    return out


def auc(scores, labels):
    """Exact ROC AUC with midranks for ties (Mann-Whitney U)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", required=True)
    parser.add_argument("--out", default="data/models")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--held-out", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    # 2x2 max-pools after the first `pools` conv blocks: 3 gives the committed 8x8 last
    # feature layer, 2 a 16x16 one, 1 a 32x32 one (see data/models/README.md).
    parser.add_argument("--pools", type=int, default=3)
    # Weight of the attention loss: the share of the last feature layer's activation that lies
    # in cells holding no lesion pixel (mask-supervised attention, "right for the right
    # reasons"). 0 (the committed model) trains on the verdict alone; data/models/README.md
    # gives the variants' figures.
    parser.add_argument("--attend", type=float, default=0.0)
    args = parser.parse_args()

    np.random.seed(args.seed)
    keras.utils.set_random_seed(args.seed)
    started = time.time()
    images, labels, subtypes, lesions = load_cohort(args.cohort)
    n_held = int(len(images) * args.held_out)
    order = np.random.permutation(len(images))
    held, train = order[:n_held], order[n_held:]

    attend = args.attend > 0
    model = build_model(args.pools, attend)
    model.summary()
    if attend:
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=["binary_crossentropy", outside_share],
            loss_weights=[1.0, args.attend],
        )
    else:
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="binary_crossentropy",
            metrics=[keras.metrics.AUC(name="auc")],
        )
    grid = SIZE // 2**args.pools

    def outside(masks):
        """1 on the feature grid's cells that hold no lesion pixel."""
        cell = SIZE // grid
        cells = masks.reshape(len(masks), grid, cell, grid, cell, 1).max(axis=(2, 4))
        return 1.0 - cells

    # Benign cases are ~20%: weight them so the 0.5 threshold stays meaningful.
    positive = labels[train].mean()
    class_weight = {0: 0.5 / (1 - positive), 1: 0.5 / positive}
    x_held, y_held = images[held], labels[held]
    if attend:
        # Two outputs take per-sample weights instead of class_weight.
        y = labels[train]
        weights = np.where(y == 1, class_weight[1], class_weight[0]).astype(np.float32)
        held_outside = outside(lesions[held])
    for epoch in range(args.epochs):
        if epoch == int(args.epochs * 0.6):
            model.optimizer.learning_rate.assign(3e-4)
        if epoch == int(args.epochs * 0.85):
            model.optimizer.learning_rate.assign(1e-4)
        if attend:
            x, m = augment(images[train], lesions[train])
            model.fit(
                x,
                [y, outside(m)],
                batch_size=64,
                epochs=1,
                sample_weight=[weights, np.ones_like(weights)],
                validation_data=(x_held, [y_held, held_outside]),
                verbose=2,
            )
        else:
            (x,) = augment(images[train])
            model.fit(
                x,
                labels[train],
                batch_size=64,
                epochs=1,
                class_weight=class_weight,
                validation_data=(x_held, y_held),
                verbose=2,
            )
    train_seconds = time.time() - started

    # The exported model keeps only the verdict, under the name (and so the tensor names) of
    # the plain recipe.
    predictor = model
    if attend:
        predictor = keras.Model(model.input, model.outputs[0], name="functional_1")
    scores = predictor.predict(x_held, batch_size=256, verbose=0)[:, 0]
    predicted = scores >= 0.5
    truth = y_held == 1
    report = {
        "cohort": os.path.abspath(args.cohort),
        "cases": int(len(images)),
        "held_out_cases": int(n_held),
        "training_seconds": round(train_seconds, 1),
        "parameters": int(model.count_params()),
        "held_out_auc": float(auc(scores, y_held)),
        "held_out_sensitivity": float((predicted & truth).sum() / truth.sum()),
        "held_out_specificity": float((~predicted & ~truth).sum() / (~truth).sum()),
        "held_out_error_by_subtype": {
            s: float((predicted[subtypes[held] == s] != truth[subtypes[held] == s]).mean())
            for s in sorted(set(subtypes[held]))
        },
    }
    print(json.dumps(report, indent=2))

    spec = (tf.TensorSpec((None, SIZE, SIZE, 1), tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def serve(x):
        return predictor(x, training=False)

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "renal_cnn.onnx")
    onnx_model, _ = tf2onnx.convert.from_function(
        serve, input_signature=spec, opset=17, output_path=onnx_path
    )
    relus = [o for n in onnx_model.graph.node if n.op_type == "Relu" for o in n.output]
    conv_blocks = [r for r in relus if any(f"conv{b}_" in r for b in range(1, 5))]
    block_outputs = [
        max((r for r in conv_blocks if f"conv{b}_" in r), key=lambda r: r.split("conv")[1])
        for b in range(1, 5)
    ]
    card = {
        "input": onnx_model.graph.input[0].name,
        "layout": "NHWC",
        "dims": 2,
        "input_size": [SIZE, SIZE],
        "preprocessing": {"intensity": {"window": WINDOW}, "normalisation": "unit"},
        "output": "sigmoid_probability",
        "class_names": ["benign", "malignant"],
        "positive_class": "malignant",
        "feature_layers": block_outputs,
    }
    with open(os.path.join(args.out, "renal_cnn.card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "training_report.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print("relu outputs:", relus)
    print("wrote", onnx_path, "and the card; feature layers:", block_outputs)


if __name__ == "__main__":
    main()
