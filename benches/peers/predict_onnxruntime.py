#!/usr/bin/env python3
"""onnxruntime's side of benches/predict.rs (run by the bench binary; one JSON document on stdout).

  python3 benches/peers/predict_onnxruntime.py MODEL.onnx LAYERS RUNS BATCH=INPUT.f32 ...

MODEL.onnx is the seeded CNN the bench wrote, LAYERS a comma-separated list of tensors to
expose (appended to graph.output with an empty type, as explainme-onnx does when no
value_info is declared), RUNS the number of timed runs per configuration, and each
BATCH=INPUT.f32 a preprocessed batch as little-endian float32 in the model's input shape
[BATCH, 1, 64, 64]. For 0 and for all LAYERS exposed, and every batch, prints the median and
mean latency of InferenceSession.run (after 3 warm-up runs), the sigmoid outputs, and the
per-channel means of the exposed layers.

Versions: benches/peers/requirements-onnx.txt (onnxruntime 1.31.1, onnx 1.23.2).
"""

import json
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort


def session(model, layers):
    edited = onnx.ModelProto()
    edited.CopyFrom(model)
    for name in layers:
        edited.graph.output.append(onnx.ValueInfoProto(name=name))
    return ort.InferenceSession(edited.SerializeToString(), providers=["CPUExecutionProvider"])


def timings_ms(run, runs):
    for _ in range(3):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return {"median_ms": float(np.median(times) * 1e3), "mean_ms": float(np.mean(times) * 1e3)}


def main():
    model_path, layer_list, runs, *batches = sys.argv[1:]
    model = onnx.load(model_path)
    input_name = model.graph.input[0].name
    layers = [name for name in layer_list.split(",") if name]
    results = []
    for exposed in ([], layers):
        sess = session(model, exposed)
        outputs = [o.name for o in sess.get_outputs()]
        for spec in batches:
            cases, path = spec.split("=", 1)
            batch = np.fromfile(path, dtype="<f4").reshape(int(cases), 1, 64, 64)
            feed = {input_name: batch}
            values = sess.run(outputs, feed)
            results.append({
                "layers": len(exposed),
                "batch": int(cases),
                **timings_ms(lambda: sess.run(outputs, feed), int(runs)),
                "probabilities": values[0].reshape(-1).tolist(),
                "channel_means": {
                    name: value.mean(axis=(2, 3)).tolist() for name, value in zip(outputs[1:], values[1:])
                },
            })
    json.dump({"onnxruntime": ort.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
